//! Kiosk devices: POST /auth/device-login, POST and GET /devices.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::accounts::{
    audit, created, device_login, post_as, sign_in, Caller, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET,
};
use crate::common::TestServer;

#[tokio::test]
async fn the_demo_kiosk_signs_in_with_its_published_credential() {
    let server = TestServer::demo().await;
    let reply = device_login(&server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET).await;
    let user = &reply.data()["user"];
    assert_eq!(user["role"], "kiosk");
    assert_eq!(user["email"], "kiosk@demo.clinic");
    assert_eq!(
        (&user["firstName"], &user["lastName"]),
        (&json!("Kiosk"), &json!("Demo clinic lobby"))
    );
    assert_eq!(reply.data()["tokens"]["expiresIn"], 900);
    assert_eq!(server.me(&reply.access_token()).await.data(), user);
    let rotated = server.refresh(&reply.refresh_token()).await;
    assert_eq!(rotated.data()["user"], *user);

    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let succeeded = audit(&server, &admin, "?action=auth.login_succeeded").await;
    let kiosk_login = succeeded
        .iter()
        .find(|entry| entry["actorUserId"] == user["id"])
        .expect("the kiosk's login is audited");
    assert_eq!(kiosk_login["detail"]["grant"], "device");
    let issued = audit(&server, &admin, "?action=auth.token_issued").await;
    let grants: Vec<&Value> = issued
        .iter()
        .filter(|entry| entry["actorUserId"] == user["id"])
        .map(|entry| &entry["detail"]["grant"])
        .collect();
    assert_eq!(grants, [&json!("refresh_token"), &json!("device")]);
    server.stop().await;
}

#[tokio::test]
async fn admins_create_devices_and_see_the_secret_only_once() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let reply = post_as(
        &server,
        Some(&admin),
        "/devices",
        json!({"location": "  Exam room 3 ", "name": "Tablet"}),
    )
    .await;
    let device = created(&reply).clone();
    let device_id = device["deviceId"].as_str().expect("id").to_owned();
    let secret = device["deviceSecret"].as_str().expect("secret").to_owned();
    assert!(device_id.starts_with("dev_"), "{device_id}");
    assert_eq!(secret.len(), 64, "256 bits in hex");
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(device["location"], "Exam room 3");
    let user = &device["user"];
    assert_eq!(user["role"], "kiosk");
    assert_eq!(user["disabled"], false);
    assert_eq!(
        (&user["firstName"], &user["lastName"]),
        (&json!("Tablet"), &json!("Exam room 3"))
    );

    let signed_in = device_login(&server, &device_id, &secret).await;
    assert_eq!(signed_in.data()["user"]["id"], user["id"]);
    server.me(&signed_in.access_token()).await.data();

    // Wrong secrets and unknown devices answer alike.
    let wrong = device_login(&server, &device_id, &secret.to_uppercase()).await;
    wrong.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let unknown = device_login(&server, "dev_00000000000000000000000000000000", &secret).await;
    unknown.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);
    device_login(&server, DEMO_DEVICE_ID, &secret)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    device_login(&server, &device_id, "")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");

    // The list shows both devices and no secret.
    let listed = server.get("/devices", Some(&admin)).await;
    let devices = listed.data().as_array().expect("array");
    let mut ids: Vec<&str> = devices
        .iter()
        .map(|d| d["deviceId"].as_str().expect("id"))
        .collect();
    ids.sort_unstable();
    let mut expected = [DEMO_DEVICE_ID, device_id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert!(devices.iter().all(|d| d.get("deviceSecret").is_none()));
    let listed_new = devices
        .iter()
        .find(|d| d["deviceId"] == device_id)
        .expect("listed");
    assert!(listed_new["createdAt"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert_eq!(listed_new["location"], "Exam room 3");
    assert_eq!(listed_new["user"], *user);
    let text = listed.body.to_string();
    assert!(!text.contains(&secret) && !text.contains(DEMO_DEVICE_SECRET));

    let trail = audit(&server, &admin, "?limit=1000").await;
    let creation = trail
        .iter()
        .find(|entry| entry["action"] == "device.created")
        .expect("audited");
    assert_eq!(
        creation["detail"],
        json!({"deviceId": device_id, "userId": user["id"], "location": "Exam room 3"})
    );
    let failures: Vec<&Value> = trail
        .iter()
        .filter(|e| e["action"] == "auth.login_failed")
        .map(|e| &e["detail"]["reason"])
        .collect();
    assert_eq!(
        failures,
        [
            &json!("wrong_secret"),
            &json!("wrong_secret"),
            &json!("unknown_device"),
            &json!("wrong_secret")
        ]
    );
    let text = serde_json::to_string(&trail).expect("json");
    assert!(!text.contains(&secret), "no device secret in the trail");
    assert!(!text.contains(&secret.to_uppercase()));
    server.stop().await;
}

#[tokio::test]
async fn device_requests_are_validated() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    for body in [
        json!({"location": ""}),
        json!({"location": "   "}),
        json!({"location": "x".repeat(201)}),
        json!({"location": "Lobby", "name": "n".repeat(101)}),
        json!({"name": "Tablet"}),
        json!({"location": "Lobby", "secret": "mine"}),
    ] {
        post_as(&server, Some(&admin), "/devices", body.clone())
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
    server
        .post("/auth/device-login", json!({"deviceId": DEMO_DEVICE_ID}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    server.stop().await;
}

#[tokio::test]
async fn a_disabled_device_is_refused_and_its_sessions_end() {
    let server = TestServer::demo().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let reply = post_as(
        &server,
        Some(&admin),
        "/devices",
        json!({"location": "Lobby"}),
    )
    .await;
    let device = created(&reply).clone();
    assert_eq!(device["user"]["firstName"], "Kiosk");
    let device_id = device["deviceId"].as_str().expect("id");
    let secret = device["deviceSecret"].as_str().expect("secret");
    let user_id = device["user"]["id"].as_str().expect("user id");
    let session = device_login(&server, device_id, secret).await;
    server.me(&session.access_token()).await.data();

    let disabled = post_as(
        &server,
        Some(&admin),
        &format!("/users/{user_id}/disable"),
        json!({}),
    )
    .await;
    assert_eq!(disabled.data()["disabled"], true);
    server
        .me(&session.access_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server
        .refresh(&session.refresh_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    device_login(&server, device_id, secret)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    // Only the holder of the secret learns that the device is disabled.
    device_login(&server, device_id, "wrong")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let listed = server.get("/devices", Some(&admin)).await;
    let entry = listed
        .data()
        .as_array()
        .expect("array")
        .iter()
        .find(|d| d["deviceId"] == device_id)
        .expect("listed")
        .clone();
    assert_eq!(entry["user"]["disabled"], true);

    post_as(
        &server,
        Some(&admin),
        &format!("/users/{user_id}/enable"),
        json!({}),
    )
    .await
    .data();
    device_login(&server, device_id, secret).await.data();
    server.stop().await;
}
