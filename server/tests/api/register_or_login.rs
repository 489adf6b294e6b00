//! POST /auth/register-or-login: the seeds' password-less flow, in demo mode only.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::accounts::{audit, post_as, register_or_login, sign_in, Caller};
use crate::common::{TestServer, DEMO_PASSWORD, DOCTOR, PATIENT};

fn body(user_id: &str, email: &str, role: &str) -> Value {
    json!({"userId": user_id, "email": email, "role": role})
}

#[tokio::test]
async fn outside_demo_mode_it_is_an_unknown_route() {
    let server = TestServer::start_with(|_| {}).await;
    let unknown = server.post("/auth/no-such-route", json!({})).await;
    unknown.assert_error(StatusCode::NOT_FOUND, "not_found");

    let valid = register_or_login(&server, body("U1", "new@example.org", "patient")).await;
    valid.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(valid.body, unknown.body);
    // Neither the body nor the method is looked at.
    for reply in [
        server
            .post_raw("/auth/register-or-login", None, b"not json".to_vec())
            .await,
        server.get("/auth/register-or-login", None).await,
        register_or_login(&server, json!({"role": "admin"})).await,
    ] {
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert_eq!(reply.body, unknown.body);
    }
    server.stop().await;
}

#[tokio::test]
async fn it_registers_once_then_logs_in() {
    let server = TestServer::demo().await;
    let first = register_or_login(
        &server,
        body("USR-CLIENT-001", "  New.Patient@Example.org ", "patient"),
    )
    .await;
    let user = first.data()["user"].clone();
    assert_eq!(user["email"], "new.patient@example.org");
    assert_eq!(user["role"], "patient");
    assert_eq!(user["firstName"], json!(null));
    assert_eq!(server.me(&first.access_token()).await.data(), &user);
    server.refresh(&first.refresh_token()).await.data();

    let again = register_or_login(
        &server,
        body("USR-CLIENT-001", "new.patient@example.org", "client"),
    )
    .await;
    assert_eq!(
        again.data()["user"],
        user,
        "the seeds' `client` is a patient"
    );
    // The account has no password, so password login cannot open it.
    server
        .login("new.patient@example.org", "")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");

    // The seeds' `therapist` is a doctor.
    let therapist = register_or_login(
        &server,
        body("USR-THERAPIST-001", "therapist001@example.com", "therapist"),
    )
    .await;
    assert_eq!(therapist.data()["user"]["role"], "doctor");

    // Seeded accounts are found by email too.
    let seeded = register_or_login(&server, body("D1", DOCTOR, "doctor")).await;
    let by_password = server.login(DOCTOR, DEMO_PASSWORD).await;
    assert_eq!(seeded.data()["user"], by_password.data()["user"]);

    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let registered = audit(&server, &admin, "?action=user.registered").await;
    assert_eq!(registered.len(), 2, "{registered:?}");
    assert_eq!(
        registered[1]["detail"],
        json!({"userId": user["id"], "role": "patient", "externalUserId": "USR-CLIENT-001"})
    );
    assert_eq!(registered[1]["actorUserId"], user["id"]);
    let logins = audit(&server, &admin, "?action=auth.login_succeeded").await;
    let grants = logins
        .iter()
        .filter(|entry| entry["detail"]["grant"] == "register_or_login")
        .count();
    assert_eq!(grants, 4);
    server.stop().await;
}

#[tokio::test]
async fn it_refuses_privileged_roles_other_roles_and_bad_input() {
    let server = TestServer::demo().await;
    for role in ["admin", "kiosk"] {
        register_or_login(&server, body("U1", "someone@example.org", role))
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
    // Not even an existing administrator's email opens the account.
    register_or_login(&server, body("U1", "admin@demo.clinic", "admin"))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    // An existing account with another role.
    register_or_login(&server, body("U1", PATIENT, "doctor"))
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    register_or_login(&server, body("U1", "admin@demo.clinic", "patient"))
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    for bad in [
        body("U1", "not-an-email", "patient"),
        body("", "someone@example.org", "patient"),
        body(&"u".repeat(257), "someone@example.org", "patient"),
        body("U1", "someone@example.org", "root"),
        json!({"email": "someone@example.org", "role": "patient"}),
        json!({"userId": "U1", "email": "someone@example.org", "role": "patient", "x": 1}),
    ] {
        register_or_login(&server, bad.clone())
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
    server
        .post_raw(
            "/auth/register-or-login",
            Some("text/plain"),
            b"{}".to_vec(),
        )
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "malformed_request");
    server
        .get("/auth/register-or-login", None)
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    server.stop().await;
}

#[tokio::test]
async fn disabled_accounts_are_refused() {
    let server = TestServer::demo().await;
    let first = register_or_login(&server, body("U1", "gone@example.org", "agency")).await;
    let user_id = first.data()["user"]["id"].as_str().expect("id").to_owned();
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    post_as(
        &server,
        Some(&admin),
        &format!("/users/{user_id}/disable"),
        json!({}),
    )
    .await
    .data();
    register_or_login(&server, body("U1", "gone@example.org", "agency"))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    server
        .me(&first.access_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server.stop().await;
}
