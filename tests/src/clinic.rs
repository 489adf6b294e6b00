//! The clinic API as the other people in a scenario use it: the agency asks to join, an
//! administrator or a second device of the doctor books, the test reads back what the server
//! recorded. Plain HTTP with reqwest; every call must succeed unless said otherwise.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::{DEMO_DOCTOR_EMAIL, DEMO_PASSWORD};

/// The demo agency and patient seeded by `consult-server --demo`.
pub const DEMO_AGENCY_EMAIL: &str = "agency@demo.clinic";
pub const DEMO_AGENCY_NAME: &str = "Sunrise Care";
pub const DEMO_PATIENT_EMAIL: &str = "patient@demo.clinic";
pub const DEMO_PATIENT_NAME: &str = "Grace Hopper";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.clinic";
/// The demo kiosk's published device credential (server/src/demo.rs).
pub const DEMO_DEVICE_ID: &str = "dev_demo_kiosk";
pub const DEMO_DEVICE_SECRET: &str = "consult-demo-kiosk";

/// The demo kiosk's secret in a file only this account can read, as an administrator sets a
/// kiosk up; the file goes when this is dropped.
pub struct DemoKioskSecret {
    _dir: tempfile::TempDir,
    file: std::path::PathBuf,
}

impl DemoKioskSecret {
    pub fn write() -> DemoKioskSecret {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("device-secret");
        std::fs::write(&file, DEMO_DEVICE_SECRET).expect("the secret file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("mode 600");
        DemoKioskSecret { _dir: dir, file }
    }

    /// What makes the app the demo kiosk: `[kiosk] device_id` and `secret_file`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("CONSULT_KIOSK__DEVICE_ID".into(), DEMO_DEVICE_ID.into()),
            (
                "CONSULT_KIOSK__SECRET_FILE".into(),
                self.file.display().to_string(),
            ),
        ]
    }
}

/// Someone signed in through the API.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A failed call: the HTTP status and the envelope's body.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub body: Value,
}

#[derive(Clone)]
pub struct ClinicApi {
    base: String,
    client: Client,
}

impl ClinicApi {
    pub fn new(base_url: &str) -> ClinicApi {
        ClinicApi {
            base: base_url.trim_end_matches('/').to_owned(),
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap_or_else(|error| panic!("cannot build an HTTP client: {error}")),
        }
    }

    /// Calls the API and returns `data`, or the failure.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Value, ApiFailure> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{path}: {error}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() && body["success"] == true {
            Ok(body["data"].clone())
        } else {
            Err(ApiFailure { status, body })
        }
    }

    /// Like [`ClinicApi::try_call`]; panics on failure.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        self.try_call(method.clone(), path, token, body)
            .await
            .unwrap_or_else(|failure| {
                panic!("{method} {path}: {} {}", failure.status, failure.body)
            })
    }

    pub async fn get(&self, path: &str, who: &Actor) -> Value {
        self.call(Method::GET, path, Some(&who.access_token), None)
            .await
    }

    pub async fn post(&self, path: &str, who: &Actor, body: Option<Value>) -> Value {
        self.call(Method::POST, path, Some(&who.access_token), body)
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Actor {
        let data = self
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        actor(&data, email)
    }

    pub async fn login_demo(&self, email: &str) -> Actor {
        self.login(email, DEMO_PASSWORD).await
    }

    pub async fn doctor(&self) -> Actor {
        self.login_demo(DEMO_DOCTOR_EMAIL).await
    }

    pub async fn agency(&self) -> Actor {
        self.login_demo(DEMO_AGENCY_EMAIL).await
    }

    pub async fn patient(&self) -> Actor {
        self.login_demo(DEMO_PATIENT_EMAIL).await
    }

    /// A new account with `role`, through demo mode's password-less register-or-login.
    pub async fn register(&self, role: &str, email: &str) -> Actor {
        let data = self
            .call(
                Method::POST,
                "/auth/register-or-login",
                None,
                Some(json!({"userId": email, "email": email, "role": role})),
            )
            .await;
        actor(&data, email)
    }

    /// The doctor's appointments as the server lists them.
    pub async fn appointments(&self, who: &Actor) -> Vec<Value> {
        array(self.get("/appointments", who).await)
    }

    /// [`ClinicApi::appointments`], earliest start first.
    pub async fn appointments_earliest_first(&self, who: &Actor) -> Vec<Value> {
        let mut list = self.appointments(who).await;
        list.sort_by(|a, b| {
            a["startTime"]
                .as_str()
                .unwrap_or_default()
                .cmp(b["startTime"].as_str().unwrap_or_default())
        });
        list
    }

    /// `doctor` books an appointment starting in `starts_in`, lasting 30 minutes.
    pub async fn book(
        &self,
        doctor: &Actor,
        patient_id: &str,
        agency_id: Option<&str>,
        starts_in: Duration,
        call_type: &str,
        waiting_room: bool,
    ) -> Value {
        let start = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("zero nanoseconds are valid")
            + starts_in;
        let end = start + Duration::from_secs(30 * 60);
        self.post(
            "/appointments",
            doctor,
            Some(json!({
                "doctorId": doctor.id,
                "patientId": patient_id,
                "agencyId": agency_id,
                "startTime": start.format(&Rfc3339).expect("format"),
                "endTime": end.format(&Rfc3339).expect("format"),
                "callType": call_type,
                "waitingRoom": waiting_room,
            })),
        )
        .await
    }

    /// The demo kiosk's account id, as the administrator `admin` lists it.
    pub async fn kiosk_user_id(&self, admin: &Actor) -> String {
        let users = self.get("/users", admin).await;
        users
            .as_array()
            .and_then(|users| users.iter().find(|user| user["role"] == "kiosk"))
            .and_then(|kiosk| kiosk["id"].as_str())
            .expect("the demo kiosk's account")
            .to_owned()
    }

    /// `doctor` books a 30-minute video visit with `patient` in the room of the kiosk
    /// `kiosk_id`, starting in `starts_in` (whole seconds); its id and start.
    pub async fn book_kiosk_visit(
        &self,
        doctor: &Actor,
        patient: &Actor,
        kiosk_id: &str,
        starts_in: Duration,
        waiting_room: bool,
    ) -> (String, OffsetDateTime) {
        let start = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("zero nanoseconds are valid")
            + starts_in;
        let end = start + Duration::from_secs(30 * 60);
        let booked = self
            .post(
                "/appointments",
                doctor,
                Some(json!({
                    "doctorId": doctor.id,
                    "patientId": patient.id,
                    "kioskId": kiosk_id,
                    "startTime": start.format(&Rfc3339).expect("format"),
                    "endTime": end.format(&Rfc3339).expect("format"),
                    "callType": "video",
                    "waitingRoom": waiting_room,
                })),
            )
            .await;
        (id_of(&booked), start)
    }

    /// `who` asks to join `appointment_id`; the pending request (or the one already there).
    pub async fn ask_to_join(&self, who: &Actor, appointment_id: &str) -> Value {
        self.post(
            &format!("/appointments/{appointment_id}/join-requests"),
            who,
            None,
        )
        .await
    }

    pub async fn join_request(&self, who: &Actor, id: &str) -> Value {
        self.get(&format!("/join-requests/{id}"), who).await
    }

    /// The join request's status as the server recorded it (`pending`, `approved`, `rejected`).
    pub async fn join_request_status(&self, who: &Actor, id: &str) -> String {
        self.join_request(who, id).await["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the server has recorded `status` for the join request: what the app does
    /// after its screen has moved on (a withdrawal leaves the screen before the server hears
    /// of it). Panics with the last status seen after `timeout`.
    pub async fn wait_for_join_request_status(
        &self,
        who: &Actor,
        id: &str,
        status: &str,
        timeout: Duration,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let now = self.join_request_status(who, id).await;
            if now == status {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("join request {id} never became {status} within {timeout:?}; last: {now}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn pending_join_requests(&self, who: &Actor, appointment_id: &str) -> Vec<Value> {
        array(
            self.get(
                &format!("/appointments/{appointment_id}/join-requests?status=pending"),
                who,
            )
            .await,
        )
    }

    pub async fn reject(&self, doctor: &Actor, id: &str) -> Value {
        self.post(&format!("/join-requests/{id}/reject"), doctor, None)
            .await
    }

    pub async fn approve(&self, doctor: &Actor, id: &str) -> Value {
        self.post(&format!("/join-requests/{id}/approve"), doctor, None)
            .await
    }

    /// The doctor cancels an appointment (`DELETE /appointments/{id}`); the cancelled
    /// appointment.
    pub async fn cancel(&self, doctor: &Actor, appointment_id: &str) -> Value {
        self.call(
            Method::DELETE,
            &format!("/appointments/{appointment_id}"),
            Some(&doctor.access_token),
            None,
        )
        .await
    }

    /// `who`'s notifications, newest first.
    pub async fn notifications(&self, who: &Actor) -> Vec<Value> {
        array(self.get("/notifications", who).await)
    }
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => panic!("expected a list, got {other}"),
    }
}

fn actor(data: &Value, email: &str) -> Actor {
    let text = |value: &Value, what: &str| {
        value
            .as_str()
            .unwrap_or_else(|| panic!("no {what} in {data}"))
            .to_owned()
    };
    Actor {
        id: text(&data["user"]["id"], "user id"),
        email: email.to_owned(),
        access_token: text(&data["tokens"]["accessToken"], "access token"),
        refresh_token: text(&data["tokens"]["refreshToken"], "refresh token"),
    }
}

/// The `id` field of an API object.
pub fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_owned()
}

/// An unenrolled kiosk as the fleet sees it: it asks for a code, picks up its credential once an
/// administrator claimed it, signs in with it and beats. What the kiosk app does (issue 14),
/// played through the API.
pub struct EnrollingKiosk {
    pub enrolment_id: String,
    /// The code the kiosk would show, `ABCD-EFGH`.
    pub code: String,
    pickup_key: String,
}

impl ClinicApi {
    /// `POST /devices/enrolments` with a fresh pickup key (64 hex characters).
    pub async fn start_enrolment(&self) -> EnrollingKiosk {
        let pickup_key: String = rand::random::<[u8; 32]>()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let data = self
            .call(
                Method::POST,
                "/devices/enrolments",
                None,
                Some(json!({ "pickupKey": pickup_key })),
            )
            .await;
        EnrollingKiosk {
            enrolment_id: data["enrolmentId"]
                .as_str()
                .expect("enrolmentId")
                .to_owned(),
            code: data["code"].as_str().expect("code").to_owned(),
            pickup_key,
        }
    }

    /// `POST /devices/enrolments/{id}/pickup`: `(device id, device secret)` once claimed, else
    /// `None` (still waiting).
    pub async fn pick_up(&self, kiosk: &EnrollingKiosk) -> Option<(String, String)> {
        let data = self
            .call(
                Method::POST,
                &format!("/devices/enrolments/{}/pickup", kiosk.enrolment_id),
                None,
                Some(json!({ "pickupKey": kiosk.pickup_key })),
            )
            .await;
        (data["state"] == "enrolled").then(|| {
            (
                data["deviceId"].as_str().expect("deviceId").to_owned(),
                data["deviceSecret"]
                    .as_str()
                    .expect("deviceSecret")
                    .to_owned(),
            )
        })
    }

    /// Signs a kiosk in with its device credential.
    pub async fn device_login(&self, device_id: &str, secret: &str) -> Actor {
        let data = self
            .call(
                Method::POST,
                "/auth/device-login",
                None,
                Some(json!({ "deviceId": device_id, "deviceSecret": secret })),
            )
            .await;
        actor(&data, device_id)
    }

    /// `POST /devices/me/heartbeat` as `kiosk`, with `fields` over an idle, healthy-looking beat
    /// (e.g. `{"selfTest": …}` or `{"state": "inCall"}`).
    pub async fn heartbeat(&self, kiosk: &Actor, fields: Value) -> Value {
        let mut beat = json!({
            "version": "0.0.0-e2e",
            "state": "idle",
            "callPath": "browser",
        });
        if let (Some(beat), Some(fields)) = (beat.as_object_mut(), fields.as_object()) {
            beat.extend(fields.clone());
        }
        self.post("/devices/me/heartbeat", kiosk, Some(beat)).await
    }

    /// `GET /devices/{id}/commands` as an administrator: the commands sent to that kiosk.
    pub async fn device_commands(&self, admin: &Actor, device_id: &str) -> Vec<Value> {
        array(
            self.get(&format!("/devices/{device_id}/commands"), admin)
                .await,
        )
    }
}
