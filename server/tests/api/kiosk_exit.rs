//! The kiosks' administrator exit: PUT and GET /kiosk/exit-pin, POST /kiosk/exit-pin/check.

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::accounts::{
    assert_rate_limited, audit, device_login, post_as, sign_in, Caller, DEMO_DEVICE_ID,
    DEMO_DEVICE_SECRET,
};
use crate::common::{Reply, TestServer};

/// Published with the demo, like its password.
const DEMO_EXIT_PIN: &str = "135790";

async fn kiosk(server: &TestServer) -> String {
    device_login(server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET)
        .await
        .access_token()
}

async fn set_pin(server: &TestServer, token: &str, pin: &str) -> Reply {
    server
        .send(
            server
                .client
                .put(format!("{}/kiosk/exit-pin", server.url))
                .bearer_auth(token)
                .json(&json!({ "pin": pin })),
        )
        .await
}

async fn check(server: &TestServer, kiosk: &str, pin: &str) -> Reply {
    post_as(
        server,
        Some(kiosk),
        "/kiosk/exit-pin/check",
        json!({ "pin": pin }),
    )
    .await
}

fn verdict(reply: &Reply) -> (bool, u64) {
    assert_eq!(reply.status, StatusCode::OK, "body: {}", reply.body);
    let data = reply.data();
    (
        data["granted"].as_bool().expect("granted"),
        data["triesLeft"].as_u64().expect("triesLeft"),
    )
}

/// The outcomes of the kiosk's exit attempts, oldest first.
async fn outcomes(server: &TestServer, admin: &str) -> Vec<String> {
    let mut entries = audit(server, admin, "?action=kiosk.exit_attempt").await;
    entries.reverse();
    entries
        .iter()
        .map(|entry| {
            entry["detail"]["outcome"]
                .as_str()
                .expect("outcome")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn an_administrator_sets_the_pin_and_a_kiosk_checks_it_online_and_offline() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let kiosk = kiosk(&server).await;

    assert_eq!(
        verdict(&check(&server, &kiosk, DEMO_EXIT_PIN).await),
        (true, 5)
    );
    for bad in ["12345", "1234567890123", "12345a", ""] {
        set_pin(&server, &admin, bad)
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
    let reply = set_pin(&server, &admin, "24681357").await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "body: {}", reply.body);
    assert_eq!(
        verdict(&check(&server, &kiosk, DEMO_EXIT_PIN).await),
        (false, 4)
    );
    assert_eq!(
        verdict(&check(&server, &kiosk, "24681357").await),
        (true, 5)
    );

    // What a kiosk keeps for checking offline: the hash of the new PIN, never the PIN.
    let policy = server.get("/kiosk/exit-pin", Some(&kiosk)).await;
    assert_eq!(policy.status, StatusCode::OK, "body: {}", policy.body);
    let data = policy.data();
    assert_eq!(
        (data["maxFailures"].clone(), data["lockoutSecs"].clone()),
        (json!(5), json!(900))
    );
    let hash = data["pinHash"].as_str().expect("pinHash");
    assert!(!hash.contains("24681357"));
    let parsed = PasswordHash::new(hash).expect("a PHC string");
    assert!(Argon2::default()
        .verify_password(b"24681357", &parsed)
        .is_ok());
    assert!(Argon2::default()
        .verify_password(DEMO_EXIT_PIN.as_bytes(), &parsed)
        .is_err());

    let set = audit(&server, &admin, "?action=kiosk.exit_pin_set").await;
    assert_eq!(set.len(), 1, "{set:?}");
    assert!(!set[0].to_string().contains("24681357"));
    assert_eq!(
        outcomes(&server, &admin).await,
        ["granted", "wrong", "granted"]
    );
    server.stop().await;
}

#[tokio::test]
async fn five_wrong_pins_lock_the_exit_even_to_the_right_one_and_each_try_is_audited() {
    // A lockout shorter than the access token's life, so one sign-in sees it end.
    let server = TestServer::start_with(|config| {
        config.demo = true;
        config.kiosk_exit_lockout_secs = 120;
    })
    .await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let kiosk = kiosk(&server).await;

    for left in [4, 3, 2, 1] {
        assert_eq!(
            verdict(&check(&server, &kiosk, "000000").await),
            (false, left)
        );
    }
    let locked = check(&server, &kiosk, "000000").await;
    assert_eq!(assert_rate_limited(&locked), 120);
    server.clock().advance(Duration::from_secs(60));
    let still = check(&server, &kiosk, DEMO_EXIT_PIN).await;
    assert!((59..=60).contains(&assert_rate_limited(&still)));

    server.clock().advance(Duration::from_secs(61));
    assert_eq!(
        verdict(&check(&server, &kiosk, DEMO_EXIT_PIN).await),
        (true, 5)
    );
    // The count starts again after a right PIN.
    assert_eq!(verdict(&check(&server, &kiosk, "000000").await), (false, 4));

    assert_eq!(
        outcomes(&server, &admin).await,
        [
            "wrong",
            "wrong",
            "wrong",
            "wrong",
            "wrong_and_locked",
            "locked",
            "granted",
            "wrong"
        ]
    );
    let entries = audit(&server, &admin, "?action=kiosk.exit_attempt").await;
    let kiosk_id = server.me(&kiosk).await.data()["id"].clone();
    assert!(entries.iter().all(|entry| entry["actorUserId"] == kiosk_id));
    assert!(!Value::Array(entries).to_string().contains("000000"));
    server.stop().await;
}

#[tokio::test]
async fn without_a_pin_the_exit_says_who_can_set_one() {
    let server = TestServer::demo().await;
    let kiosk = kiosk(&server).await;
    sqlx::query("DELETE FROM kiosk_exit_pin")
        .execute(&server.db().await)
        .await
        .expect("delete");
    let reply = check(&server, &kiosk, DEMO_EXIT_PIN).await;
    reply.assert_error(StatusCode::CONFLICT, "conflict");
    assert!(reply.body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("administrator")));
    server
        .get("/kiosk/exit-pin", Some(&kiosk))
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    server.stop().await;
}
