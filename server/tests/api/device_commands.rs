//! Remote commands to kiosks (POST and GET /devices/{deviceId}/commands, acknowledged in the
//! heartbeat) and secret rotation (POST /devices/me/secret).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::accounts::{
    actions, audit, created, device_login, post_as, sign_in, Caller, DEMO_DEVICE_ID,
    DEMO_DEVICE_SECRET,
};
use crate::common::{Reply, TestServer};
use crate::sse::EventStream;

async fn send(server: &TestServer, token: Option<&str>, device_id: &str, body: Value) -> Reply {
    post_as(
        server,
        token,
        &format!("/devices/{device_id}/commands"),
        body,
    )
    .await
}

/// A second kiosk, made by the administrator, signed in.
async fn other_kiosk(server: &TestServer, admin: &str) -> (String, String) {
    let reply = post_as(
        server,
        Some(admin),
        "/devices",
        json!({"location": "Room 9"}),
    )
    .await;
    let device = created(&reply).clone();
    let id = device["deviceId"].as_str().expect("id").to_owned();
    let secret = device["deviceSecret"].as_str().expect("secret").to_owned();
    let token = device_login(server, &id, &secret).await.access_token();
    (id, token)
}

#[tokio::test]
async fn a_message_reaches_only_its_kiosk_and_its_heartbeat_acknowledges_it() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let kiosk = sign_in(&server, Caller::Kiosk).await.expect("kiosk");
    let (other_id, other) = other_kiosk(&server, &admin).await;
    let mut its_stream = EventStream::open(&server.url, &kiosk, None).await;
    let mut other_stream = EventStream::open(&server.url, &other, None).await;
    for stream in [&mut its_stream, &mut other_stream] {
        stream
            .next_event(Duration::from_secs(5))
            .await
            .expect("ready");
    }

    let reply = send(
        &server,
        Some(&admin),
        DEMO_DEVICE_ID,
        json!({"command": "showMessage", "message": "  The doctor is running 10 minutes late. "}),
    )
    .await;
    let sent = created(&reply).clone();
    assert_eq!(sent["message"], "The doctor is running 10 minutes late.");
    assert_eq!(sent["acknowledgedAt"], Value::Null);

    let (_, event, data) = its_stream
        .next_event(Duration::from_secs(5))
        .await
        .expect("open");
    assert_eq!(event, "device_command");
    let delivered: Value = serde_json::from_str(&data).expect("json");
    assert_eq!(delivered["id"], sent["id"]);
    assert_eq!(delivered["command"], "showMessage");
    other_stream.assert_quiet(Duration::from_millis(500)).await;

    // Another kiosk cannot acknowledge it; this one can, once.
    let id = sent["id"].as_str().expect("id");
    let beat = |ack: &str| json!({"version": "0.1.0", "state": "idle", "callPath": "browser", "acknowledged": [ack]});
    post_as(&server, Some(&other), "/devices/me/heartbeat", beat(id))
        .await
        .data();
    let listed = server
        .get(&format!("/devices/{DEMO_DEVICE_ID}/commands"), Some(&admin))
        .await;
    assert_eq!(listed.data()[0]["acknowledgedAt"], Value::Null);
    post_as(&server, Some(&kiosk), "/devices/me/heartbeat", beat(id))
        .await
        .data();
    post_as(&server, Some(&kiosk), "/devices/me/heartbeat", beat(id))
        .await
        .data();
    let listed = server
        .get(&format!("/devices/{DEMO_DEVICE_ID}/commands"), Some(&admin))
        .await;
    assert!(
        listed.data()[0]["acknowledgedAt"].is_string(),
        "{}",
        listed.body
    );
    let other_list = server
        .get(&format!("/devices/{other_id}/commands"), Some(&admin))
        .await;
    assert_eq!(other_list.data(), &json!([]));

    let trail = audit(&server, &admin, "?limit=1000").await;
    let steps: Vec<&str> = actions(&trail)
        .into_iter()
        .filter(|action| action.starts_with("device.command"))
        .collect();
    assert_eq!(
        steps,
        ["device.command_acknowledged", "device.command_sent"]
    );
    server.stop().await;
}

#[tokio::test]
async fn only_administrators_send_commands_and_only_from_the_list() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    for caller in [Caller::Doctor, Caller::Patient, Caller::Kiosk] {
        let token = sign_in(&server, caller).await;
        send(
            &server,
            token.as_deref(),
            DEMO_DEVICE_ID,
            json!({"command": "reload"}),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    send(&server, None, DEMO_DEVICE_ID, json!({"command": "reload"}))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    for bad in [
        json!({"command": "openUrl", "url": "https://evil.example/"}),
        json!({"command": "shell", "message": "rm -rf /"}),
        json!({"command": "showMessage"}),
        json!({"command": "showMessage", "message": "   "}),
        json!({"command": "showMessage", "message": "x".repeat(281)}),
        json!({"command": "reload", "message": "hello"}),
    ] {
        send(&server, Some(&admin), DEMO_DEVICE_ID, bad)
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
    send(
        &server,
        Some(&admin),
        "dev_nobody",
        json!({"command": "reload"}),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    for command in ["reload", "restart", "selfTest", "leaveCall", "rotateSecret"] {
        created(
            &send(
                &server,
                Some(&admin),
                DEMO_DEVICE_ID,
                json!({"command": command}),
            )
            .await,
        );
    }
    let listed = server
        .get(&format!("/devices/{DEMO_DEVICE_ID}/commands"), Some(&admin))
        .await;
    // Sent within one second, so in no particular order among themselves.
    let mut kinds: Vec<&str> = listed
        .data()
        .as_array()
        .expect("list")
        .iter()
        .map(|command| command["command"].as_str().expect("kind"))
        .collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["leaveCall", "reload", "restart", "rotateSecret", "selfTest"]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_when_the_kiosk_first_uses_it() {
    let server = TestServer::demo().await;
    let kiosk = sign_in(&server, Caller::Kiosk).await.expect("kiosk");
    let reply = post_as(&server, Some(&kiosk), "/devices/me/secret", json!({})).await;
    let new_secret = reply.data()["deviceSecret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert_eq!(new_secret.len(), 64);
    assert_ne!(new_secret, DEMO_DEVICE_SECRET);

    // Until the new one is used, the old one still works (a kiosk that failed to store the
    // new one is not locked out).
    device_login(&server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET)
        .await
        .data();
    device_login(&server, DEMO_DEVICE_ID, &new_secret)
        .await
        .data();
    device_login(&server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    device_login(&server, DEMO_DEVICE_ID, &new_secret)
        .await
        .data();

    let doctor = sign_in(&server, Caller::Doctor).await.expect("doctor");
    post_as(&server, Some(&doctor), "/devices/me/secret", json!({}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let trail = audit(&server, &admin, "?action=device.secret_issued").await;
    assert_eq!(trail.len(), 1);
    assert!(!Value::Array(trail).to_string().contains(&new_secret));
    server.stop().await;
}
