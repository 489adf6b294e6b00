//! The role matrix: every operation of the contract, tried by everyone who might call it, with
//! the status the contract and the server's access rules (`appointments/access.rs`, `admin.rs`,
//! `calls.rs`, `join_requests/routes.rs`) give them.
//!
//! Callers: the appointment's doctor, patient, agency and kiosk; an administrator (on no
//! appointment, yet allowed to run every one); a doctor, patient, agency and kiosk who are not on
//! the appointment; and nobody (no bearer token). The table is data: a failure names the caller,
//! method, path, expected and actual status. A last test checks that the table covers every
//! operation of the server's OpenAPI document, so a new endpoint cannot go untried.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::calls::{new_kiosk, text};
use crate::clinic::{rfc3339, unique, Actor, Clinic, ADMIN, AGENCY};
use crate::common::{DEMO_PASSWORD, DOCTOR, PATIENT};

const HOUR: Duration = Duration::from_secs(3600);
/// Inside the window in which meeting tokens are issued (from 15 minutes before the start).
const SOON: Duration = Duration::from_secs(10 * 60);
/// No request of the matrix takes this long; a hung one fails rather than stalls the run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A status and, for failures, the contract's error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expect {
    status: u16,
    code: Option<&'static str>,
}

const OK: Expect = Expect {
    status: 200,
    code: None,
};
const NEW: Expect = Expect {
    status: 201,
    code: None,
};
const U401: Expect = Expect {
    status: 401,
    code: Some("unauthenticated"),
};
const F403: Expect = Expect {
    status: 403,
    code: Some("forbidden"),
};
/// 403 `approval_required`: the doctor has to admit the caller first.
const AR403: Expect = Expect {
    status: 403,
    code: Some("approval_required"),
};
const NC204: Expect = Expect {
    status: 204,
    code: None,
};
const NF404: Expect = Expect {
    status: 404,
    code: Some("not_found"),
};
const C409: Expect = Expect {
    status: 409,
    code: Some("conflict"),
};

/// The callers, in the order of the table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Doctor,
    Patient,
    Agency,
    Kiosk,
    Admin,
    OtherDoctor,
    OtherPatient,
    OtherAgency,
    OtherKiosk,
    Anonymous,
}

const ROLES: [Role; 10] = [
    Role::Doctor,
    Role::Patient,
    Role::Agency,
    Role::Kiosk,
    Role::Admin,
    Role::OtherDoctor,
    Role::OtherPatient,
    Role::OtherAgency,
    Role::OtherKiosk,
    Role::Anonymous,
];

/// What a case runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// One appointment (doctor, patient, agency with a pending join request, kiosk) shared by
    /// every caller of the row: for calls that change nothing, or nothing the next caller sees.
    Shared,
    /// A new such appointment (and refresh token, and account to disable) for every caller.
    Fresh,
    /// A new appointment whose meeting the doctor started.
    Started,
    /// A new appointment with the waiting room on.
    WaitingRoom,
    /// A new appointment whose agency the doctor admitted.
    Admitted,
    /// The shared appointment, and the caller signs in again first (for a call that ends the
    /// caller's session).
    NewSession,
}

/// One operation: method, path template, body template, setup, and the expected answer for
/// each role in [`ROLES`] order. Templates name the case's objects: `{appointmentId}`,
/// `{sessionId}`, `{joinRequestId}` (the agency's), `{notificationId}` (the patient's),
/// `{userId}` (an account to disable), `{doctorId}`, `{patientId}`, `{agencyId}`, `{kioskId}`,
/// `{deviceId}`, `{deviceSecret}`, `{refreshToken}`, `{start}`, `{end}`, `{unique}`.
struct Row {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    setup: Setup,
    expect: [Expect; 10],
}

const fn row(
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    setup: Setup,
    expect: [Expect; 10],
) -> Row {
    Row {
        method,
        path,
        body,
        setup,
        expect,
    }
}

use Setup::{Admitted, Fresh, NewSession, Shared, Started, WaitingRoom};

const BOOKING: &str = r#"{"doctorId": "{doctorId}", "patientId": "{patientId}", "agencyId": "{agencyId}", "kioskId": "{kioskId}", "startTime": "{start}", "endTime": "{end}", "callType": "video"}"#;

/// Authentication and the caller's account. The sign-in calls authenticate with their body,
/// so a bearer token (or none) changes nothing.
#[rustfmt::skip]
const AUTH: &[Row] = &[
    //                                                                               doctor patient agency kiosk admin  o.doc  o.pat  o.agcy o.kiosk nobody
    row("GET",  "/health", None, Shared,                                             [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    OK]),
    row("GET",  "/openapi.json", None, Shared,                                       [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    OK]),
    row("POST", "/auth/login", Some(r#"{"email": "patient@demo.clinic", "password": "consult-demo"}"#), Shared,
                                                                                     [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    OK]),
    row("POST", "/auth/device-login", Some(r#"{"deviceId": "{deviceId}", "deviceSecret": "{deviceSecret}"}"#), Shared,
                                                                                     [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    OK]),
    row("POST", "/auth/register-or-login", Some(r#"{"userId": "matrix@demo.clinic", "email": "matrix@demo.clinic", "role": "patient"}"#), Shared,
                                                                                     [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    OK]),
    row("POST", "/auth/refresh", Some(r#"{"refreshToken": "{refreshToken}"}"#), Fresh,
                                                                                     [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    OK]),
    row("POST", "/auth/logout", None, NewSession,                                    [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    U401]),
    row("GET",  "/me", None, Shared,                                                 [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    U401]),
];

/// Appointments: parties see, the doctor (or an administrator) runs, strangers get 404.
#[rustfmt::skip]
const APPOINTMENTS: &[Row] = &[
    //                                                                               doctor patient agency kiosk admin  o.doc  o.pat  o.agcy o.kiosk nobody
    row("GET",    "/appointments", None, Shared,                                     [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    U401]),
    row("GET",    "/appointments?from={start}", None, Shared,                        [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    U401]),
    // Doctors book for themselves: the other doctor may not book for this one.
    row("POST",   "/appointments", Some(BOOKING), Shared,                            [OK,   F403,   F403,  F403, OK,    F403,  F403,  F403,  F403,  U401]),
    row("GET",    "/appointments/{appointmentId}", None, Shared,                     [OK,   OK,     OK,    OK,   OK,    NF404, NF404, NF404, NF404, U401]),
    row("PATCH",  "/appointments/{appointmentId}", Some(r#"{"callType": "audio"}"#), Fresh,
                                                                                     [OK,   F403,   F403,  F403, OK,    NF404, NF404, NF404, NF404, U401]),
    row("DELETE", "/appointments/{appointmentId}", None, Fresh,                      [OK,   F403,   F403,  F403, OK,    NF404, NF404, NF404, NF404, U401]),
    row("POST",   "/appointments/{appointmentId}/meeting/start", None, Fresh,        [OK,   F403,   F403,  F403, OK,    NF404, NF404, NF404, NF404, U401]),
    row("POST",   "/appointments/{appointmentId}/meeting/end", None, Started,        [OK,   F403,   F403,  F403, OK,    NF404, NF404, NF404, NF404, U401]),
];

/// The lobby: guests ask (and withdraw), the doctor (or an administrator) decides.
#[rustfmt::skip]
const JOIN_REQUESTS: &[Row] = &[
    //                                                                               doctor patient agency kiosk admin  o.doc  o.pat  o.agcy o.kiosk nobody
    // Waiting room off: the agency asks; patient and kiosk join directly (409), runners never ask.
    row("POST", "/appointments/{appointmentId}/join-requests", None, Fresh,          [F403, C409,   OK,    C409, F403,  NF404, NF404, NF404, NF404, U401]),
    row("POST", "/appointments/{appointmentId}/join-requests", None, WaitingRoom,    [F403, OK,     OK,    OK,   F403,  NF404, NF404, NF404, NF404, U401]),
    row("GET",  "/appointments/{appointmentId}/join-requests?status=pending", None, Shared,
                                                                                     [OK,   F403,   F403,  F403, OK,    NF404, NF404, NF404, NF404, U401]),
    // The requester and the runners see a request; other guests do not learn it exists.
    row("GET",  "/join-requests/{joinRequestId}", None, Shared,                      [OK,   NF404,  OK,    NF404, OK,   NF404, NF404, NF404, NF404, U401]),
    row("POST", "/join-requests/{joinRequestId}/approve", None, Fresh,               [OK,   F403,   F403,  F403, OK,    NF404, NF404, NF404, NF404, U401]),
    row("POST", "/join-requests/{joinRequestId}/reject", None, Fresh,                [OK,   F403,   F403,  F403, OK,    NF404, NF404, NF404, NF404, U401]),
    // Only the requester (the agency) withdraws; others on the appointment are told no.
    row("POST", "/join-requests/{joinRequestId}/withdraw", None, Fresh,              [F403, F403,   OK,    F403, F403,  NF404, NF404, NF404, NF404, U401]),
];

/// Joining the call. The session token answers 403 to strangers (the contract); the link, by
/// appointment id, 404 (like every other appointment route).
#[rustfmt::skip]
const CALLS: &[Row] = &[
    //                                                                               doctor patient agency kiosk admin  o.doc  o.pat  o.agcy o.kiosk nobody
    row("GET", "/sessions/{sessionId}/jwt", None, Shared,                            [OK,   OK,     AR403, OK,   OK,    F403,  F403,  F403,  F403,  U401]),
    row("GET", "/sessions/{sessionId}/jwt", None, Admitted,                          [OK,   OK,     OK,    OK,   OK,    F403,  F403,  F403,  F403,  U401]),
    row("GET", "/sessions/{sessionId}/jwt", None, WaitingRoom,                       [OK,   AR403,  AR403, AR403, OK,   F403,  F403,  F403,  F403,  U401]),
    row("GET", "/meetings/{appointmentId}/link", None, Shared,                       [OK,   OK,     AR403, OK,   OK,    NF404, NF404, NF404, NF404, U401]),
    row("GET", "/meetings/{appointmentId}/link", None, Admitted,                     [OK,   OK,     OK,    OK,   OK,    NF404, NF404, NF404, NF404, U401]),
    row("GET", "/meetings/{appointmentId}/link", None, WaitingRoom,                  [OK,   AR403,  AR403, AR403, OK,   NF404, NF404, NF404, NF404, U401]),
];

/// Everyone's own notifications and events; another's notification is not found.
#[rustfmt::skip]
const NOTIFICATIONS: &[Row] = &[
    //                                                                               doctor patient agency kiosk admin  o.doc  o.pat  o.agcy o.kiosk nobody
    row("GET",  "/notifications", None, Shared,                                      [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    U401]),
    row("GET",  "/notifications?unread=true", None, Shared,                          [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    U401]),
    row("POST", "/notifications/{notificationId}/read", None, Shared,                [NF404, OK,    NF404, NF404, NF404, NF404, NF404, NF404, NF404, U401]),
    row("GET",  "/events", None, Shared,                                             [OK,   OK,     OK,    OK,   OK,    OK,    OK,    OK,    OK,    U401]),
];

/// Administration: administrators only, except that doctors list patient and agency accounts.
#[rustfmt::skip]
const ADMINISTRATION: &[Row] = &[
    //                                                                               doctor patient agency kiosk admin  o.doc  o.pat  o.agcy o.kiosk nobody
    row("POST", "/users", Some(r#"{"email": "matrix-{unique}@demo.clinic", "role": "patient"}"#), Shared,
                                                                                     [F403, F403,   F403,  F403, NEW,   F403,  F403,  F403,  F403,  U401]),
    row("GET",  "/users", None, Shared,                                              [OK,   F403,   F403,  F403, OK,    OK,    F403,  F403,  F403,  U401]),
    row("POST", "/users/{userId}/disable", None, Fresh,                              [F403, F403,   F403,  F403, OK,    F403,  F403,  F403,  F403,  U401]),
    row("POST", "/users/{userId}/enable", None, Fresh,                               [F403, F403,   F403,  F403, OK,    F403,  F403,  F403,  F403,  U401]),
    row("POST", "/devices", Some(r#"{"location": "Matrix room {unique}"}"#), Shared, [F403, F403,   F403,  F403, NEW,   F403,  F403,  F403,  F403,  U401]),
    row("GET",  "/devices", None, Shared,                                            [F403, F403,   F403,  F403, OK,    F403,  F403,  F403,  F403,  U401]),
    row("GET",  "/audit", None, Shared,                                              [F403, F403,   F403,  F403, OK,    F403,  F403,  F403,  F403,  U401]),
    // The kiosks' exit PIN: administrators set it (to the demo's, so the next rows still
    // hold); kiosks read its hash and check a PIN.
    row("PUT",  "/kiosk/exit-pin", Some(r#"{"pin": "135790"}"#), Shared,              [F403, F403,   F403,  F403, NC204, F403,  F403,  F403,  F403,  U401]),
    row("GET",  "/kiosk/exit-pin", None, Shared,                                     [F403, F403,   F403,  OK,   F403,  F403,  F403,  F403,  OK,    U401]),
    row("POST", "/kiosk/exit-pin/check", Some(r#"{"pin": "135790"}"#), Shared,        [F403, F403,   F403,  OK,   F403,  F403,  F403,  F403,  OK,    U401]),
    // Enrolment: an unenrolled kiosk has no account, so asking for a code and picking up are
    // open to anyone (the pickup key proves the caller); only administrators claim.
    row("POST", "/devices/enrolments", Some(r#"{"pickupKey": "abababababababababababababababababababababababababababababababab"}"#), Shared,
                                                                                     [NEW,  NEW,    NEW,   NEW,  NEW,   NEW,   NEW,   NEW,   NEW,   NEW]),
    row("POST", "/devices/enrolments/{unique}/pickup", Some(r#"{"pickupKey": "abababababababababababababababababababababababababababababababab"}"#), Shared,
                                                                                     [NF404, NF404, NF404, NF404, NF404, NF404, NF404, NF404, NF404, NF404]),
    row("POST", "/devices/me/heartbeat", Some(r#"{"version": "0.1.0", "state": "idle", "callPath": "browser"}"#), Shared,
                                                                                     [F403, F403,   F403,  OK,   F403,  F403,  F403,  F403,  OK,    U401]),
    row("POST", "/devices/{deviceId}/commands", Some(r#"{"command": "selfTest"}"#), Shared,
                                                                                     [F403, F403,   F403,  F403, NEW,   F403,  F403,  F403,  F403,  U401]),
    row("GET",  "/devices/{deviceId}/commands", None, Shared,                   [F403, F403,   F403,  F403, OK,    F403,  F403,  F403,  F403,  U401]),
    row("POST", "/devices/me/secret", None, Shared,                                  [F403, F403,   F403,  OK,   F403,  F403,  F403,  F403,  OK,    U401]),
    row("POST", "/devices/claims", Some(r#"{"code": "ABCD-EFGH", "location": "Matrix room"}"#), Shared,
                                                                                     [F403, F403,   F403,  F403, NF404, F403,  F403,  F403,  F403,  U401]),
];

const TABLES: [&[Row]; 6] = [
    AUTH,
    APPOINTMENTS,
    JOIN_REQUESTS,
    CALLS,
    NOTIFICATIONS,
    ADMINISTRATION,
];

/// How a caller signs in (again).
enum Credentials {
    Password(&'static str),
    /// The demo mode's password-less flow, with this role.
    Demo(&'static str),
    Device {
        id: String,
        secret: String,
    },
}

/// Everyone, signed in, plus the kiosk's device credential.
struct Cast {
    actors: Vec<(Role, Option<Actor>, Option<Credentials>)>,
    device_id: String,
    device_secret: String,
}

impl Cast {
    async fn new(clinic: &Clinic) -> Cast {
        let (kiosk, device_id, device_secret) = new_kiosk(clinic, "Matrix exam room").await;
        let (other_kiosk, other_id, other_secret) = new_kiosk(clinic, "Elsewhere").await;
        let other_doctor = clinic.newcomer("doctor").await;
        let other_patient = clinic.newcomer("patient").await;
        let other_agency = clinic.newcomer("agency").await;
        let actors = vec![
            (
                Role::Doctor,
                Some(clinic.doctor.clone()),
                Some(Credentials::Password(DOCTOR)),
            ),
            (
                Role::Patient,
                Some(clinic.patient.clone()),
                Some(Credentials::Password(PATIENT)),
            ),
            (
                Role::Agency,
                Some(clinic.agency.clone()),
                Some(Credentials::Password(AGENCY)),
            ),
            (
                Role::Kiosk,
                Some(kiosk),
                Some(Credentials::Device {
                    id: device_id.clone(),
                    secret: device_secret.clone(),
                }),
            ),
            (
                Role::Admin,
                Some(clinic.admin.clone()),
                Some(Credentials::Password(ADMIN)),
            ),
            (
                Role::OtherDoctor,
                Some(other_doctor),
                Some(Credentials::Demo("doctor")),
            ),
            (
                Role::OtherPatient,
                Some(other_patient),
                Some(Credentials::Demo("patient")),
            ),
            (
                Role::OtherAgency,
                Some(other_agency),
                Some(Credentials::Demo("agency")),
            ),
            (
                Role::OtherKiosk,
                Some(other_kiosk),
                Some(Credentials::Device {
                    id: other_id,
                    secret: other_secret,
                }),
            ),
            (Role::Anonymous, None, None),
        ];
        let roles: Vec<Role> = actors.iter().map(|(role, _, _)| *role).collect();
        assert_eq!(roles, ROLES, "the cast is in the table's column order");
        Cast {
            actors,
            device_id,
            device_secret,
        }
    }

    fn actor(&self, role: Role) -> Option<&Actor> {
        self.actors
            .iter()
            .find(|(r, _, _)| *r == role)
            .and_then(|(_, actor, _)| actor.as_ref())
    }

    /// A new session for `role` (none for the anonymous caller).
    async fn sign_in_again(&self, clinic: &Clinic, role: Role) -> Option<Actor> {
        let (_, actor, credentials) = self.actors.iter().find(|(r, _, _)| *r == role)?;
        let actor = actor.as_ref()?;
        let reply = match credentials.as_ref()? {
            Credentials::Password(email) => clinic.server.login(email, DEMO_PASSWORD).await,
            Credentials::Demo(role) => {
                clinic
                    .server
                    .post(
                        "/auth/register-or-login",
                        json!({"userId": actor.email, "email": actor.email, "role": role}),
                    )
                    .await
            }
            Credentials::Device { id, secret } => {
                clinic
                    .server
                    .post(
                        "/auth/device-login",
                        json!({"deviceId": id, "deviceSecret": secret}),
                    )
                    .await
            }
        };
        assert_eq!(reply.data()["user"]["id"], json!(actor.id));
        Some(Actor {
            token: reply.access_token(),
            ..actor.clone()
        })
    }
}

/// The objects one case runs against, as template values.
struct World {
    values: Vec<(&'static str, String)>,
}

impl World {
    async fn build(clinic: &Clinic, cast: &Cast, setup: Setup, row: &Row) -> World {
        let kiosk = cast.actor(Role::Kiosk).expect("kiosk");
        let mut extra = json!({"kioskId": kiosk.id});
        if setup == WaitingRoom {
            extra["waitingRoom"] = json!(true);
        }
        let appointment = clinic.book(SOON, extra).await;
        let appointment_id = text(&appointment, "id");
        assert_eq!(appointment["agencyId"], json!(clinic.agency.id));
        assert_eq!(appointment["kioskId"], json!(kiosk.id));

        // The agency's pending request.
        let asked = clinic
            .post(
                &format!("/appointments/{appointment_id}/join-requests"),
                &clinic.agency,
            )
            .await;
        let join_request_id = text(asked.data(), "id");
        if setup == Admitted {
            let approved = clinic
                .post(
                    &format!("/join-requests/{join_request_id}/approve"),
                    &clinic.doctor,
                )
                .await;
            assert_eq!(approved.data()["status"], "approved");
        }
        if setup == Started {
            let started = clinic
                .post(
                    &format!("/appointments/{appointment_id}/meeting/start"),
                    &clinic.doctor,
                )
                .await;
            assert_eq!(started.data()["meetingStatus"], "started");
        }

        // The patient's notification about this appointment.
        let notifications = clinic.get("/notifications", &clinic.patient).await;
        let notification_id = notifications
            .data()
            .as_array()
            .expect("a list")
            .iter()
            .find(|n| n["appointmentId"] == json!(appointment_id))
            .map(|n| text(n, "id"))
            .expect("the patient was notified of the booking");

        let uses = |name: &str| {
            row.path.contains(name) || row.body.is_some_and(|body| body.contains(name))
        };
        // An account to disable or enable, and a refresh token to rotate: only where needed.
        let user_id = if uses("{userId}") {
            let created = clinic
                .call(
                    Method::POST,
                    "/users",
                    Some(&clinic.admin),
                    Some(json!({"email": format!("victim-{}@demo.clinic", unique()), "role": "patient"})),
                )
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
            text(&created.body["data"], "id")
        } else {
            String::new()
        };
        let refresh_token = if uses("{refreshToken}") {
            let email = format!("refresher-{}@demo.clinic", unique());
            clinic
                .server
                .post(
                    "/auth/register-or-login",
                    json!({"userId": email, "email": email, "role": "patient"}),
                )
                .await
                .refresh_token()
        } else {
            String::new()
        };

        let start = OffsetDateTime::now_utc() + HOUR * 2;
        let values = vec![
            ("{appointmentId}", appointment_id),
            ("{sessionId}", text(&appointment, "sessionId")),
            ("{joinRequestId}", join_request_id),
            ("{notificationId}", notification_id),
            ("{userId}", user_id),
            ("{doctorId}", clinic.doctor.id.clone()),
            ("{patientId}", clinic.patient.id.clone()),
            ("{agencyId}", clinic.agency.id.clone()),
            ("{kioskId}", kiosk.id.clone()),
            ("{deviceId}", cast.device_id.clone()),
            ("{deviceSecret}", cast.device_secret.clone()),
            ("{refreshToken}", refresh_token),
            ("{start}", rfc3339(start)),
            ("{end}", rfc3339(start + HOUR / 2)),
        ];
        World { values }
    }

    fn fill(&self, template: &str) -> String {
        let mut out = template.replace("{unique}", &unique());
        for (name, value) in &self.values {
            out = out.replace(name, value);
        }
        assert!(
            !out.contains("{}") && !self.values.iter().any(|(name, _)| out.contains(name)),
            "unfilled template: {out}"
        );
        out
    }
}

/// `{start}` in a query string must be URL-encoded (`+` would read as a space).
fn fill_path(world: &World, template: &str) -> String {
    let filled = world.fill(template);
    match filled.split_once('?') {
        None => filled,
        Some((path, query)) => {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(url::form_urlencoded::parse(query.as_bytes()))
                .finish();
            format!("{path}?{query}")
        }
    }
}

/// Sends one request; event streams are judged by their status and content type only.
async fn send(
    clinic: &Clinic,
    method: Method,
    path: &str,
    who: Option<&Actor>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = clinic
        .server
        .client
        .request(method, format!("{}{path}", clinic.server.url))
        .timeout(REQUEST_TIMEOUT);
    if let Some(who) = who {
        request = request.bearer_auth(&who.token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("a response");
    let status = response.status();
    let streaming = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    if streaming {
        drop(response);
        return (status, json!({"stream": true}));
    }
    let bytes = response.bytes().await.expect("a body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Why the answer is not `expected`, if it is not.
fn mismatch(expected: Expect, status: StatusCode, body: &Value) -> Option<String> {
    if status.as_u16() != expected.status {
        return Some(format!("status {status}"));
    }
    match expected.code {
        // Success: the envelope, where the answer is one (not /openapi.json, not a stream).
        None if body.get("success").is_some_and(|s| s != true) => Some("not a success".into()),
        None => None,
        Some(code) if body["success"] != false || body["error"]["code"] != code => {
            Some(format!("code {}", body["error"]["code"]))
        }
        Some(_) => None,
    }
}

fn describe(expected: Expect) -> String {
    match expected.code {
        Some(code) => format!("{} {code}", expected.status),
        None => expected.status.to_string(),
    }
}

/// Runs every row for every role; panics listing every case that answered otherwise.
async fn run(rows: &[Row]) {
    let clinic = Clinic::start().await;
    let cast = Cast::new(&clinic).await;
    let shared_row = row("GET", "/health", None, Shared, [OK; 10]);
    let shared = World::build(&clinic, &cast, Shared, &shared_row).await;
    let mut failures = Vec::new();
    let mut cases = 0;
    for row in rows {
        let method = Method::from_bytes(row.method.as_bytes()).expect("method");
        for (role, expected) in ROLES.into_iter().zip(row.expect) {
            let fresh;
            let world = match row.setup {
                Shared | NewSession => &shared,
                setup => {
                    fresh = World::build(&clinic, &cast, setup, row).await;
                    &fresh
                }
            };
            let who = if row.setup == NewSession {
                cast.sign_in_again(&clinic, role).await
            } else {
                cast.actor(role).cloned()
            };
            let path = fill_path(world, row.path);
            let body = row.body.map(|template| {
                let filled = world.fill(template);
                serde_json::from_str::<Value>(&filled)
                    .unwrap_or_else(|error| panic!("body template {filled}: {error}"))
            });
            let (status, answer) = send(&clinic, method.clone(), &path, who.as_ref(), body).await;
            cases += 1;
            if let Some(why) = mismatch(expected, status, &answer) {
                failures.push(format!(
                    "{role:?} {} {} ({:?}, {path}): expected {}, got {why}: {answer}",
                    row.method,
                    row.path,
                    row.setup,
                    describe(expected),
                ));
            }
        }
    }
    assert_eq!(cases, rows.len() * ROLES.len());
    assert!(
        failures.is_empty(),
        "{} of {cases} cases answered otherwise:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn auth_and_account() {
    run(AUTH).await;
}

#[tokio::test]
async fn appointments() {
    run(APPOINTMENTS).await;
}

#[tokio::test]
async fn join_requests() {
    run(JOIN_REQUESTS).await;
}

#[tokio::test]
async fn calls() {
    run(CALLS).await;
}

#[tokio::test]
async fn notifications_and_events() {
    run(NOTIFICATIONS).await;
}

#[tokio::test]
async fn administration() {
    run(ADMINISTRATION).await;
}

/// `/appointments/{appointmentId}/join-requests?status=pending` → `/appointments/{}/join-requests`.
fn normalize(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('{');
            }
            '}' => {
                in_param = false;
                out.push('}');
            }
            _ if in_param => {}
            c => out.push(c),
        }
    }
    out
}

#[tokio::test]
async fn the_matrix_covers_every_documented_operation() {
    let clinic = Clinic::start().await;
    let reply = clinic.server.get("/openapi.json", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let mut documented = BTreeSet::new();
    for (path, item) in reply.body["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((method.to_uppercase(), normalize(path)));
            }
        }
    }
    assert!(documented.len() > 20, "{documented:?}");
    let tried: BTreeSet<(String, String)> = TABLES
        .iter()
        .flat_map(|rows| rows.iter())
        .map(|row| (row.method.to_owned(), normalize(row.path)))
        .collect();
    let untried: Vec<_> = documented.difference(&tried).collect();
    assert!(untried.is_empty(), "operations no role tries: {untried:?}");
    let undocumented: Vec<_> = tried.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "rows for operations the document does not have: {undocumented:?}"
    );
}
