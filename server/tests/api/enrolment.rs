//! Kiosk enrolment: POST /devices/enrolments, /devices/enrolments/{id}/pickup, /devices/claims.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::accounts::{
    actions, assert_rate_limited, audit, client_from, created, device_login, post_as, sign_in,
    Caller,
};
use crate::common::{Reply, TestServer};

/// A kiosk's side: its pickup key and the code it shows.
struct Kiosk {
    pickup_key: String,
    enrolment_id: String,
    code: String,
}

impl Kiosk {
    async fn asks_for_a_code(server: &TestServer, key_byte: u8) -> Kiosk {
        let pickup_key = format!("{key_byte:02x}").repeat(32);
        let reply = server
            .post("/devices/enrolments", json!({"pickupKey": pickup_key}))
            .await;
        let data = created(&reply).clone();
        Kiosk {
            pickup_key,
            enrolment_id: data["enrolmentId"].as_str().expect("id").to_owned(),
            code: data["code"].as_str().expect("code").to_owned(),
        }
    }

    async fn picks_up_with(&self, server: &TestServer, key: &str) -> Reply {
        server
            .post(
                &format!("/devices/enrolments/{}/pickup", self.enrolment_id),
                json!({"pickupKey": key}),
            )
            .await
    }

    async fn picks_up(&self, server: &TestServer) -> Reply {
        self.picks_up_with(server, &self.pickup_key).await
    }
}

async fn claim(server: &TestServer, admin: &str, code: &str, location: &str) -> Reply {
    post_as(
        server,
        Some(admin),
        "/devices/claims",
        json!({"code": code, "location": location}),
    )
    .await
}

#[tokio::test]
async fn a_kiosk_shows_a_code_an_admin_claims_it_and_the_kiosk_takes_a_secret_nobody_saw() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let kiosk = Kiosk::asks_for_a_code(&server, 0x5a).await;
    assert_eq!(kiosk.code.len(), 9, "{}", kiosk.code);
    assert_eq!(&kiosk.code[4..5], "-");

    let waiting = kiosk.picks_up(&server).await;
    assert_eq!(waiting.data()["state"], "waiting");

    // Typed in lower case and without the dash.
    let typed = kiosk.code.replace('-', "").to_lowercase();
    let reply = claim(&server, &admin, &typed, "Exam room 4").await;
    let device = created(&reply).clone();
    let device_id = device["deviceId"].as_str().expect("device id").to_owned();
    assert_eq!(device["location"], "Exam room 4");
    assert_eq!(device["user"]["role"], "kiosk");
    assert!(
        !reply.body.to_string().contains("ecret"),
        "the administrator sees no secret: {}",
        reply.body
    );

    // Someone else's key learns nothing, not even that the enrolment exists.
    let foreign = kiosk.picks_up_with(&server, &"77".repeat(32)).await;
    foreign.assert_error(StatusCode::NOT_FOUND, "not_found");

    let enrolled = kiosk.picks_up(&server).await;
    let data = enrolled.data().clone();
    assert_eq!(data["state"], "enrolled");
    assert_eq!(data["deviceId"], device_id.as_str());
    assert_eq!(data["location"], "Exam room 4");
    let secret = data["deviceSecret"].as_str().expect("secret").to_owned();
    assert_eq!(secret.len(), 64);
    let signed_in = device_login(&server, &device_id, &secret).await;
    assert_eq!(signed_in.data()["user"]["role"], "kiosk");
    assert_eq!(signed_in.data()["user"]["lastName"], "Exam room 4");

    // A second pickup (the first answer lost on the way) makes a new secret; the old one stops.
    let again = kiosk.picks_up(&server).await;
    let newer = again.data()["deviceSecret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert_ne!(newer, secret);
    device_login(&server, &device_id, &secret)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(
        device_login(&server, &device_id, &newer).await.data()["user"]["role"],
        "kiosk"
    );

    let trail = audit(&server, &admin, "?limit=1000").await;
    let steps: Vec<&str> = actions(&trail)
        .into_iter()
        .filter(|action| action.starts_with("device."))
        .collect();
    assert_eq!(
        steps,
        [
            "device.enrolment_picked_up",
            "device.enrolment_picked_up",
            "device.enrolment_claimed",
            "device.created",
            "device.enrolment_started",
        ],
        "newest first"
    );
    let written = Value::Array(trail).to_string();
    for kept_back in [&secret, &newer, &kiosk.pickup_key] {
        assert!(
            !written.contains(kept_back.as_str()),
            "the audit holds a secret"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_code_is_claimed_once_and_not_after_ten_minutes() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let kiosk = Kiosk::asks_for_a_code(&server, 0x11).await;
    created(&claim(&server, &admin, &kiosk.code, "Lobby").await);
    claim(&server, &admin, &kiosk.code, "Lobby")
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");

    let late = Kiosk::asks_for_a_code(&server, 0x22).await;
    server.clock().advance(Duration::from_secs(10 * 60));
    claim(&server, &admin, &late.code, "Lobby")
        .await
        .assert_error(StatusCode::GONE, "gone");
    late.picks_up(&server)
        .await
        .assert_error(StatusCode::GONE, "gone");
    // The claimed kiosk did not pick up within ten minutes of its claim either.
    kiosk
        .picks_up(&server)
        .await
        .assert_error(StatusCode::GONE, "gone");

    claim(&server, &admin, "ABCD-EFGH", "Lobby")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    claim(&server, &admin, "ABCD-EFG0", "Lobby")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    let fresh = Kiosk::asks_for_a_code(&server, 0x33).await;
    claim(&server, &admin, &fresh.code, "  ")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    server.stop().await;
}

#[tokio::test]
async fn only_administrators_claim_codes() {
    let server = TestServer::demo().await;
    let kiosk = Kiosk::asks_for_a_code(&server, 0x44).await;
    for caller in Caller::ALL {
        if caller == Caller::Admin {
            continue;
        }
        let token = sign_in(&server, caller).await;
        let reply = claim_as(&server, token.as_deref(), &kiosk.code).await;
        let expected = match caller {
            Caller::Anonymous => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            _ => (StatusCode::FORBIDDEN, "forbidden"),
        };
        reply.assert_error(expected.0, expected.1);
    }
    assert_eq!(kiosk.picks_up(&server).await.data()["state"], "waiting");
    server.stop().await;
}

async fn claim_as(server: &TestServer, token: Option<&str>, code: &str) -> Reply {
    post_as(
        server,
        token,
        "/devices/claims",
        json!({"code": code, "location": "Lobby"}),
    )
    .await
}

#[tokio::test]
async fn guessing_codes_and_asking_for_many_are_rate_limited() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    for _ in 0..10 {
        claim(&server, &admin, "ABCD-EFGH", "Lobby")
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    let kiosk = Kiosk::asks_for_a_code(&server, 0x55).await;
    // Even the right code, once the administrator's tries are used up.
    assert_rate_limited(&claim(&server, &admin, &kiosk.code, "Lobby").await);
    server.clock().advance(Duration::from_secs(60));
    created(&claim(&server, &admin, &kiosk.code, "Lobby").await);

    // Codes asked for from one address (the kiosk above was the first of ten).
    let from = client_from("127.0.0.7");
    let ask = || async {
        let response = from
            .post(format!("{}/devices/enrolments", server.url))
            .json(&json!({"pickupKey": "ab".repeat(32)}))
            .send()
            .await
            .expect("sent");
        response.status()
    };
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(ask().await);
    }
    assert!(
        statuses[..10]
            .iter()
            .all(|status| *status == StatusCode::CREATED),
        "{statuses:?}"
    );
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    server.stop().await;
}
