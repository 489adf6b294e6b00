//! Helpers for the account, device, admin and rate-limit tests: signing in as each role, calls
//! with a bearer token, clients from other loopback addresses, reading the audit trail.

use std::net::IpAddr;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{Reply, TestServer, DEMO_PASSWORD, DOCTOR, PATIENT};

pub const AGENCY: &str = "agency@demo.clinic";
pub const ADMIN: &str = "admin@demo.clinic";
/// The demo kiosk's published credential.
pub const DEMO_DEVICE_ID: &str = "dev_demo_kiosk";
pub const DEMO_DEVICE_SECRET: &str = "consult-demo-kiosk";

/// Everyone an endpoint's access rules are tried with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Doctor,
    Patient,
    Agency,
    Kiosk,
    Admin,
    Anonymous,
}

impl Caller {
    pub const ALL: [Caller; 6] = [
        Caller::Doctor,
        Caller::Patient,
        Caller::Agency,
        Caller::Kiosk,
        Caller::Admin,
        Caller::Anonymous,
    ];
}

/// An access token for a demo caller (`None` for the anonymous one).
pub async fn sign_in(server: &TestServer, caller: Caller) -> Option<String> {
    let email = match caller {
        Caller::Doctor => DOCTOR,
        Caller::Patient => PATIENT,
        Caller::Agency => AGENCY,
        Caller::Admin => ADMIN,
        Caller::Kiosk => {
            let reply = device_login(server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET).await;
            return Some(reply.access_token());
        }
        Caller::Anonymous => return None,
    };
    Some(server.login(email, DEMO_PASSWORD).await.access_token())
}

pub async fn device_login(server: &TestServer, device_id: &str, secret: &str) -> Reply {
    server
        .post(
            "/auth/device-login",
            json!({"deviceId": device_id, "deviceSecret": secret}),
        )
        .await
}

pub async fn register_or_login(server: &TestServer, body: Value) -> Reply {
    server.post("/auth/register-or-login", body).await
}

/// `POST path` with a JSON body and, if given, a bearer token.
pub async fn post_as(server: &TestServer, token: Option<&str>, path: &str, body: Value) -> Reply {
    let mut request = server
        .client
        .post(format!("{}{path}", server.url))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    server.send(request).await
}

/// A created response's data (`201 Created` with the success envelope).
pub fn created(reply: &Reply) -> &Value {
    assert_eq!(reply.status, StatusCode::CREATED, "body: {}", reply.body);
    assert_eq!(reply.body["success"], true, "body: {}", reply.body);
    &reply.body["data"]
}

/// A client whose connections come from `ip` (any 127.x.y.z works on Linux loopback), so the
/// server sees another client address.
pub fn client_from(ip: &str) -> reqwest::Client {
    let ip: IpAddr = ip.parse().expect("ip");
    reqwest::Client::builder()
        .no_proxy()
        .local_address(ip)
        .build()
        .expect("client")
}

/// `POST /auth/login` through `client`.
pub async fn login_via(
    server: &TestServer,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> Reply {
    server
        .send(
            client
                .post(format!("{}/auth/login", server.url))
                .json(&json!({"email": email, "password": password})),
        )
        .await
}

/// The audit trail as an administrator sees it (`query` like `?action=…&limit=…`).
pub async fn audit(server: &TestServer, admin_token: &str, query: &str) -> Vec<Value> {
    let reply = server
        .get(&format!("/audit{query}"), Some(admin_token))
        .await;
    reply
        .data()
        .as_array()
        .unwrap_or_else(|| panic!("an array: {}", reply.body))
        .clone()
}

/// The actions of `entries`, in order.
pub fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|entry| entry["action"].as_str().expect("action"))
        .collect()
}

/// Asserts a 429 `rate_limited` with a `Retry-After` of at least one second; returns it.
pub fn assert_rate_limited(reply: &Reply) -> u64 {
    reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after: u64 = reply
        .headers
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("a Retry-After in seconds: {:?}", reply.headers));
    assert!(retry_after >= 1, "{retry_after}");
    retry_after
}
