//! A clinic to test against: a demo server with a Jitsi deployment configured, signed-in demo
//! accounts, and helpers to book appointments and call the API as someone.

use std::time::Duration;

use consult_server::jitsi::JitsiConfig;
use consult_server::ServerConfig;
use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::common::{Reply, TestServer, DEMO_PASSWORD, DOCTOR, PATIENT};

pub const JITSI_URL: &str = "https://meet.clinic.test";
pub const JITSI_APP_ID: &str = "consult-tests";
pub const JITSI_SECRET: &str = "jitsi-test-app-secret-0123456789abcdef0123";
pub const AGENCY: &str = "agency@demo.clinic";
pub const ADMIN: &str = "admin@demo.clinic";

/// Someone signed in.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub email: String,
    pub token: String,
}

pub struct Clinic {
    pub server: TestServer,
    pub doctor: Actor,
    pub patient: Actor,
    pub agency: Actor,
    pub admin: Actor,
}

/// What the clinic's tests configure on top of the demo server.
pub fn configure(config: &mut ServerConfig) {
    config.demo = true;
    // Tests book what they need; the demo schedule would only add noise.
    config.demo_appointments = false;
    config.jitsi = Some(JitsiConfig::hs256(JITSI_URL, JITSI_APP_ID, JITSI_SECRET));
    // The tests log in more often than a person would.
    config.login_attempts_per_minute_per_ip = 0;
    config.login_attempts_per_minute_per_account = 0;
}

impl Clinic {
    pub async fn start() -> Clinic {
        Clinic::start_with(|_| {}).await
    }

    pub async fn start_with(extra: impl FnOnce(&mut ServerConfig)) -> Clinic {
        let server = TestServer::start_with(|config| {
            configure(config);
            extra(config);
        })
        .await;
        Clinic::around(server).await
    }

    /// Signs the demo accounts in on `server`.
    pub async fn around(server: TestServer) -> Clinic {
        let doctor = sign_in(&server, DOCTOR).await;
        let patient = sign_in(&server, PATIENT).await;
        let agency = sign_in(&server, AGENCY).await;
        let admin = sign_in(&server, ADMIN).await;
        Clinic {
            server,
            doctor,
            patient,
            agency,
            admin,
        }
    }

    /// A further account with `role`, through the demo mode's password-less flow.
    pub async fn newcomer(&self, role: &str) -> Actor {
        let email = format!("{role}-{}@demo.clinic", unique());
        let reply = self
            .server
            .post(
                "/auth/register-or-login",
                json!({"userId": email, "email": email, "role": role}),
            )
            .await;
        actor(&reply, &email)
    }

    /// Calls the API as `who` (anonymous with `None`).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: Option<&Actor>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .server
            .client
            .request(method, format!("{}{path}", self.server.url));
        if let Some(who) = who {
            request = request.bearer_auth(&who.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.server.send(request).await
    }

    pub async fn get(&self, path: &str, who: &Actor) -> Reply {
        self.call(Method::GET, path, Some(who), None).await
    }

    pub async fn post(&self, path: &str, who: &Actor) -> Reply {
        self.call(Method::POST, path, Some(who), None).await
    }

    /// The doctor books a video appointment with the demo patient and agency, starting in
    /// `starts_in` and lasting 30 minutes; `extra` fields override the defaults.
    pub async fn book(&self, starts_in: Duration, extra: Value) -> Value {
        let mut body = self.booking(starts_in);
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (key, value) in extra {
                body.insert(key.clone(), value.clone());
            }
        }
        let reply = self
            .call(
                Method::POST,
                "/appointments",
                Some(&self.doctor),
                Some(body),
            )
            .await;
        reply.data().clone()
    }

    /// A valid booking body.
    pub fn booking(&self, starts_in: Duration) -> Value {
        let start = OffsetDateTime::now_utc() + starts_in;
        json!({
            "doctorId": self.doctor.id,
            "patientId": self.patient.id,
            "agencyId": self.agency.id,
            "startTime": rfc3339(start),
            "endTime": rfc3339(start + Duration::from_secs(30 * 60)),
            "callType": "video",
        })
    }

    /// The kinds of `who`'s notifications, newest first.
    pub async fn notification_kinds(&self, who: &Actor) -> Vec<String> {
        let reply = self.get("/notifications", who).await;
        reply
            .data()
            .as_array()
            .expect("a list")
            .iter()
            .map(|n| n["kind"].as_str().expect("kind").to_owned())
            .collect()
    }
}

/// Whole seconds: the API keeps times to the second.
pub fn rfc3339(time: OffsetDateTime) -> String {
    time.replace_nanosecond(0)
        .expect("zero is valid")
        .format(&Rfc3339)
        .expect("format")
}

pub async fn sign_in(server: &TestServer, email: &str) -> Actor {
    let reply = server.login(email, DEMO_PASSWORD).await;
    actor(&reply, email)
}

fn actor(reply: &Reply, email: &str) -> Actor {
    let data = reply.data();
    Actor {
        id: data["user"]["id"].as_str().expect("user id").to_owned(),
        email: email.to_owned(),
        token: reply.access_token(),
    }
}

/// A short random string for unique emails.
pub fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    format!(
        "{:x}{}",
        nanos & 0xffff_ffff,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
