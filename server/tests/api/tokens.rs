//! Bearer tokens on GET /me, refresh-token rotation and reuse detection, logout.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::{TestServer, DEMO_PASSWORD, DOCTOR, PATIENT, SIGNING_KEY};

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// The claims of a genuine token; each forgery below changes exactly one thing.
fn genuine_claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

fn sign(claims: &Value, key: &str) -> String {
    consult_server::auth::install_crypto_provider();
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("sign")
}

#[tokio::test]
async fn me_requires_a_genuine_current_token() {
    let server = TestServer::demo().await;
    let login = server.login(DOCTOR, DEMO_PASSWORD).await;
    let claims = genuine_claims(&login.access_token());
    assert_eq!(claims["iss"], "consult-server");
    assert_eq!(claims["aud"], "consult-api");
    assert_eq!(claims["role"], "doctor");
    assert_eq!(claims["sub"], login.data()["user"]["id"]);

    // Control: re-signing the genuine claims with the server's key is accepted, so each
    // rejection below is caused by the one thing that differs.
    server.me(&sign(&claims, SIGNING_KEY)).await.data();

    let missing = server.get("/me", None).await;
    missing.assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert!(missing.headers.contains_key("www-authenticate"));

    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30."] {
        server
            .me(garbage)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }

    let mut expired = claims.clone();
    expired["iat"] = json!(now() - 3600);
    expired["exp"] = json!(now() - 60);
    server
        .me(&sign(&expired, SIGNING_KEY))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_expired");

    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    server
        .me(&unsigned)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    let mut wrong_audience = claims.clone();
    wrong_audience["aud"] = json!("some-other-api");
    server
        .me(&sign(&wrong_audience, SIGNING_KEY))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    server
        .me(&sign(&claims, "a-different-key-that-is-32-bytes-long!!"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    let mut other_session = claims.clone();
    other_session["sid"] = json!("fam_00000000000000000000000000000000");
    server
        .me(&sign(&other_session, SIGNING_KEY))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server.stop().await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let server = TestServer::demo().await;
    let login = server.login(PATIENT, DEMO_PASSWORD).await;
    let first_refresh = login.refresh_token();
    let first_access = login.access_token();

    let rotated = server.refresh(&first_refresh).await;
    let second_refresh = rotated.refresh_token();
    let second_access = rotated.access_token();
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(rotated.data()["user"]["email"], PATIENT);
    assert_eq!(
        genuine_claims(&second_access)["sid"],
        genuine_claims(&first_access)["sid"],
        "same session"
    );
    server.me(&second_access).await.data();

    // The used token comes back after the few seconds a lost reply is retried in: theft is
    // assumed and the whole family ends.
    server.clock().advance(Duration::from_secs(11));
    server
        .refresh(&first_refresh)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    server
        .refresh(&second_refresh)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server
        .me(&second_access)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server
        .me(&first_access)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    // Another session of the same account is untouched.
    let other = server.login(PATIENT, DEMO_PASSWORD).await;
    server.me(&other.access_token()).await.data();
    server.refresh(&other.refresh_token()).await.data();
    server.stop().await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_rotate_it_once() {
    let server = TestServer::demo().await;
    let login = server.login(DOCTOR, DEMO_PASSWORD).await;
    let token = login.refresh_token();
    let (a, b) = tokio::join!(server.refresh(&token), server.refresh(&token));
    // Whichever lands second is a retry within the grace: the same successor, one rotation.
    assert_eq!(a.refresh_token(), b.refresh_token());
    let next = server.refresh(&a.refresh_token()).await;
    next.data();
    server.stop().await;
}

#[tokio::test]
async fn a_refresh_whose_reply_was_lost_can_be_retried_briefly() {
    let server = TestServer::demo().await;
    let login = server.login(PATIENT, DEMO_PASSWORD).await;
    let used = login.refresh_token();
    let rotated = server.refresh(&used).await;
    let successor = rotated.refresh_token();
    // The reply never arrived; the client retries with the token it still holds.
    server.clock().advance(Duration::from_secs(9));
    let retried = server.refresh(&used).await;
    assert_eq!(retried.refresh_token(), successor, "the same successor");
    server.me(&retried.access_token()).await.data();
    // The successor works (once), and the chain moves on.
    let next = server.refresh(&successor).await;
    let third = next.refresh_token();
    // Now the first token is not the immediately previous one any more: real reuse.
    server
        .refresh(&used)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    server
        .refresh(&third)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    // Past the grace, the immediately previous token is reuse too.
    let login = server.login(PATIENT, DEMO_PASSWORD).await;
    let used = login.refresh_token();
    let successor = server.refresh(&used).await.refresh_token();
    server.clock().advance(Duration::from_secs(11));
    server
        .refresh(&used)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    server
        .refresh(&successor)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server.stop().await;
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_whatever_the_rotations() {
    let server = TestServer::start_with(|config| {
        config.demo = true;
        config.max_session_secs = 3600;
    })
    .await;
    let login = server.login(DOCTOR, DEMO_PASSWORD).await;
    let mut refresh = login.refresh_token();
    let mut access = login.access_token();
    // Rotations every 10 minutes keep it going, but only for the hour.
    for _ in 0..5 {
        server.clock().advance(Duration::from_secs(600));
        let rotated = server.refresh(&refresh).await;
        refresh = rotated.refresh_token();
        access = rotated.access_token();
    }
    server.me(&access).await.data();
    server.clock().advance(Duration::from_secs(601));
    server
        .refresh(&refresh)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_expired");
    // Its last access token, not yet expired by itself, ends with it.
    server
        .me(&access)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server.stop().await;
}

#[tokio::test]
async fn unknown_and_expired_refresh_tokens_are_refused() {
    let server = TestServer::start_with(|config| {
        config.demo = true;
        config.refresh_token_ttl_secs = 60;
    })
    .await;
    server
        .refresh(&"0".repeat(64))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server
        .refresh("")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    let login = server.login(DOCTOR, DEMO_PASSWORD).await;
    let fresh = server.login(DOCTOR, DEMO_PASSWORD).await;
    // Margins of seconds, not one: logins on a busy machine take real time too.
    server.clock().advance(Duration::from_secs(50));
    server.refresh(&fresh.refresh_token()).await.data();
    server.clock().advance(Duration::from_secs(11));
    server
        .refresh(&login.refresh_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_expired");
    server.stop().await;
}

#[tokio::test]
async fn access_tokens_expire_on_the_servers_clock() {
    let server = TestServer::start_with(|config| {
        config.demo = true;
        config.access_token_ttl_secs = 60;
    })
    .await;
    let login = server.login(DOCTOR, DEMO_PASSWORD).await;
    let access = login.access_token();
    server.clock().advance(Duration::from_secs(59));
    server.me(&access).await.data();
    server.clock().advance(Duration::from_secs(2));
    server
        .me(&access)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_expired");
    // A refresh then gives a token that is current on that clock.
    let before = now();
    let refreshed = server.refresh(&login.refresh_token()).await;
    let claims = genuine_claims(&refreshed.access_token());
    let iat = claims["iat"].as_u64().expect("iat");
    assert!(iat >= before + 61, "iat {iat} is on the server's clock");
    server.me(&refreshed.access_token()).await.data();
    server.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session_and_only_that_one() {
    let server = TestServer::demo().await;
    let session = server.login(DOCTOR, DEMO_PASSWORD).await;
    let other = server.login(DOCTOR, DEMO_PASSWORD).await;
    let access = session.access_token();

    let reply = server.logout(&access).await;
    assert_eq!(reply.body, json!({"success": true, "data": null}));

    server
        .me(&access)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server
        .refresh(&session.refresh_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server
        .logout(&access)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server
        .post("/auth/logout", json!({}))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    server.me(&other.access_token()).await.data();
    server.stop().await;
}
