//! POST /auth/login.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestServer, DEMO_PASSWORD, DOCTOR, PATIENT};

#[tokio::test]
async fn login_returns_the_user_and_tokens_that_work() {
    let server = TestServer::demo().await;
    let reply = server.login(DOCTOR, DEMO_PASSWORD).await;
    let data = reply.data();

    let user = &data["user"];
    assert!(user["id"].as_str().is_some_and(|id| id.starts_with("usr_")));
    assert_eq!(user["email"], DOCTOR);
    assert_eq!(user["firstName"], "Ada");
    assert_eq!(user["lastName"], "Lovelace");
    assert_eq!(user["role"], "doctor");
    assert_eq!(data["tokens"]["expiresIn"], 900);
    let refresh = reply.refresh_token();
    assert!(refresh.len() >= 43, "at least 256 bits");
    assert!(refresh
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    let me = server.me(&reply.access_token()).await;
    assert_eq!(me.data(), user);
    server.stop().await;
}

#[tokio::test]
async fn expires_in_follows_the_configured_lifetime() {
    let server = TestServer::start_with(|config| {
        config.demo = true;
        config.access_token_ttl_secs = 120;
    })
    .await;
    let reply = server.login(PATIENT, DEMO_PASSWORD).await;
    assert_eq!(reply.data()["tokens"]["expiresIn"], 120);
    server.stop().await;
}

#[tokio::test]
async fn every_demo_account_logs_in_with_its_name_and_role() {
    let server = TestServer::demo().await;
    for (email, first, last, role) in [
        ("doctor@demo.clinic", "Ada", "Lovelace", "doctor"),
        ("patient@demo.clinic", "Grace", "Hopper", "patient"),
        ("agency@demo.clinic", "Sunrise", "Care", "agency"),
        ("admin@demo.clinic", "Alan", "Turing", "admin"),
    ] {
        let reply = server.login(email, DEMO_PASSWORD).await;
        let user = &reply.data()["user"];
        assert_eq!(
            (&user["firstName"], &user["lastName"], &user["role"]),
            (&json!(first), &json!(last), &json!(role)),
            "{email}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_alike() {
    let server = TestServer::demo().await;
    let wrong_password = server.login(DOCTOR, "not-the-password").await;
    let unknown_email = server.login("nobody@demo.clinic", DEMO_PASSWORD).await;
    wrong_password.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    unknown_email.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong_password.body, unknown_email.body);
    let empty = server.login("", "").await;
    empty.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    server.stop().await;
}

#[tokio::test]
async fn emails_are_case_insensitive() {
    let server = TestServer::demo().await;
    let reply = server.login("  Doctor@DEMO.Clinic ", DEMO_PASSWORD).await;
    assert_eq!(reply.data()["user"]["email"], DOCTOR);
    // The password, unlike the email, is exact.
    server
        .login(DOCTOR, "CONSULT-DEMO")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    server.stop().await;
}

#[tokio::test]
async fn disabled_accounts_cannot_log_in_and_their_sessions_end() {
    let server = TestServer::demo().await;
    let before = server.login(PATIENT, DEMO_PASSWORD).await;
    let access = before.access_token();
    server.me(&access).await.data();

    let db = server.database().await;
    sqlx::query("UPDATE users SET disabled_at = 1 WHERE email = $1")
        .bind(PATIENT)
        .execute(&db)
        .await
        .expect("disable");

    server
        .login(PATIENT, DEMO_PASSWORD)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    // Without the password nobody learns the account exists, disabled or not.
    server
        .login(PATIENT, "wrong")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    server
        .me(&access)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server
        .refresh(&before.refresh_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    db.close().await;
    server.stop().await;
}
