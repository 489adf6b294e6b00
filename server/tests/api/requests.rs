//! Bad input never yields a 500: every failure is an envelope with the contract's status.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestServer, DEMO_PASSWORD, DOCTOR};

#[tokio::test]
async fn health_answers_ok() {
    let server = TestServer::start_with(|_| {}).await;
    let reply = server.get("/health", None).await;
    assert_eq!(
        reply.body,
        json!({"success": true, "data": {"status": "ok"}})
    );
    assert_eq!(
        reply.headers.get("cache-control").map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    server.stop().await;
}

#[tokio::test]
async fn malformed_json_is_400() {
    let server = TestServer::demo().await;
    for body in [
        &b"{\"email\": "[..],
        b"not json",
        b"",
        b"{\"email\":\"a\",\"password\":\"b\"} trailing",
    ] {
        server
            .post_raw("/auth/login", Some("application/json"), body.to_vec())
            .await
            .assert_error(StatusCode::BAD_REQUEST, "malformed_request");
    }
    server.stop().await;
}

#[tokio::test]
async fn wrong_shapes_are_422() {
    let server = TestServer::demo().await;
    for body in [
        json!({"email": DOCTOR, "password": DEMO_PASSWORD, "role": "admin"}),
        json!({"email": DOCTOR, "password": 12345}),
        json!({"email": DOCTOR}),
        json!(null),
    ] {
        server
            .post("/auth/login", body.clone())
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
    server
        .post(
            "/auth/refresh",
            json!({"refresh_token": "snake_case is not the wire name"}),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    server.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let server = TestServer::demo().await;
    let huge = json!({"email": DOCTOR, "password": "x".repeat(100 * 1024)});
    server
        .post("/auth/login", huge)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Just under the limit is read (and then fails only on the password).
    let fits = json!({"email": DOCTOR, "password": "x".repeat(60 * 1024)});
    server
        .post("/auth/login", fits)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    server.stop().await;
}

#[tokio::test]
async fn non_json_content_types_are_415() {
    let server = TestServer::demo().await;
    let body =
        serde_json::to_vec(&json!({"email": DOCTOR, "password": DEMO_PASSWORD})).expect("json");
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        server
            .post_raw("/auth/login", content_type, body.clone())
            .await
            .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "malformed_request");
    }
    // The same bytes with the right type succeed, so the type alone made the difference.
    server
        .post_raw("/auth/login", Some("application/json; charset=utf-8"), body)
        .await
        .data();
    server.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_envelopes() {
    let server = TestServer::start_with(|_| {}).await;
    server
        .get("/no/such/route", None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    server
        .get("/auth/login", None)
        .await
        .assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    server.stop().await;
}
