//! Login rate limits per client IP and per account: 429 `rate_limited` with `Retry-After`,
//! other addresses and accounts unaffected, recovery after the window, audit of refusals.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::accounts::{
    assert_rate_limited, audit, client_from, device_login, login_via, register_or_login, ADMIN,
    DEMO_DEVICE_ID, DEMO_DEVICE_SECRET,
};
use crate::common::{TestServer, DEMO_PASSWORD, DOCTOR, PATIENT};

async fn server_with_limits(per_ip: u32, per_account: u32) -> TestServer {
    TestServer::start_with(|config| {
        config.demo = true;
        config.login_attempts_per_minute_per_ip = per_ip;
        config.login_attempts_per_minute_per_account = per_account;
    })
    .await
}

#[tokio::test]
async fn logins_are_limited_per_ip_and_other_addresses_still_get_in() {
    let server = server_with_limits(3, 100).await;
    for n in 0..3 {
        server
            .login(&format!("nobody{n}@demo.clinic"), "wrong")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // Now even the right password is refused, without being checked.
    let refused = server.login(DOCTOR, DEMO_PASSWORD).await;
    let retry_after = assert_rate_limited(&refused);
    assert!(
        retry_after <= 20,
        "3 a minute refill one every 20 s: {retry_after}"
    );
    // The kiosk and register-or-login endpoints count against the same address.
    assert_rate_limited(&device_login(&server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET).await);
    assert_rate_limited(
        &register_or_login(
            &server,
            json!({"userId": "U1", "email": "new@demo.clinic", "role": "patient"}),
        )
        .await,
    );

    // Another address has a budget of its own.
    let other = client_from("127.0.0.2");
    let signed_in = login_via(&server, &other, DOCTOR, DEMO_PASSWORD).await;
    signed_in.data();
    // Refreshing has a bucket of its own too, so the limited address can still refresh.
    server.refresh(&signed_in.refresh_token()).await.data();

    let admin = login_via(&server, &client_from("127.0.0.3"), ADMIN, DEMO_PASSWORD)
        .await
        .access_token();
    let limited = audit(&server, &admin, "?action=auth.rate_limited").await;
    assert_eq!(limited.len(), 3, "{limited:?}");
    assert_eq!(
        limited[2]["detail"],
        json!({"endpoint": "login", "scope": "ip", "email": DOCTOR})
    );
    assert_eq!(
        limited[1]["detail"],
        json!({"endpoint": "device_login", "scope": "ip", "deviceId": DEMO_DEVICE_ID})
    );
    assert_eq!(limited[0]["detail"]["endpoint"], "register_or_login");
    for entry in &limited {
        assert_eq!(entry["ip"], "127.0.0.1");
        assert_eq!(entry["actorUserId"], json!(null));
    }
    // The refused attempts never reached the account: no failure was recorded for them.
    let failed = audit(&server, &admin, "?action=auth.login_failed").await;
    assert_eq!(
        failed.len(),
        3,
        "only the three allowed attempts: {failed:?}"
    );
    assert!(failed
        .iter()
        .all(|entry| entry["detail"]["email"] != DOCTOR));
    server.stop().await;
}

#[tokio::test]
async fn logins_are_limited_per_account_across_addresses() {
    let server = server_with_limits(100, 2).await;
    let elsewhere = client_from("127.0.0.2");
    server
        .login(PATIENT, "wrong")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // The same account however it is spelled, from another address.
    login_via(&server, &elsewhere, "  Patient@Demo.CLINIC ", "wrong")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let refused = login_via(&server, &elsewhere, PATIENT, DEMO_PASSWORD).await;
    let retry_after = assert_rate_limited(&refused);
    assert!(
        retry_after <= 30,
        "2 a minute refill one every 30 s: {retry_after}"
    );
    assert_rate_limited(
        &register_or_login(
            &server,
            json!({"userId": "U1", "email": PATIENT, "role": "patient"}),
        )
        .await,
    );

    // Other accounts, from the same addresses, are unaffected.
    server.login(DOCTOR, DEMO_PASSWORD).await.data();
    let admin = login_via(&server, &elsewhere, ADMIN, DEMO_PASSWORD)
        .await
        .access_token();
    let limited = audit(&server, &admin, "?action=auth.rate_limited").await;
    assert_eq!(limited.len(), 2, "{limited:?}");
    assert_eq!(
        limited[1]["detail"],
        json!({"endpoint": "login", "scope": "account", "email": PATIENT})
    );
    assert_eq!(limited[1]["ip"], "127.0.0.2");
    server.stop().await;
}

#[tokio::test]
async fn refreshes_are_limited_per_ip_and_work_again_after_the_window() {
    // 60 a minute: a burst of 60, then one more each second.
    let server = server_with_limits(60, 0).await;
    let session = server.login(DOCTOR, DEMO_PASSWORD).await;
    for _ in 0..60 {
        server
            .refresh(&"0".repeat(64))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    let refused = server.refresh(&session.refresh_token()).await;
    let retry_after = assert_rate_limited(&refused);
    assert_eq!(retry_after, 1);
    // Logging in is counted apart from refreshing.
    server.login(PATIENT, DEMO_PASSWORD).await.data();

    // The window passes on the server's clock, not the test's.
    server.clock().advance(Duration::from_secs(retry_after));
    server.refresh(&session.refresh_token()).await.data();
    server.stop().await;
}

#[tokio::test]
async fn device_logins_are_limited_per_device_and_work_again_after_the_window() {
    let server = server_with_limits(0, 60).await;
    for _ in 0..60 {
        device_login(&server, DEMO_DEVICE_ID, "not-the-secret")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let refused = device_login(&server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET).await;
    let retry_after = assert_rate_limited(&refused);
    assert_eq!(retry_after, 1);
    // Another account is unaffected.
    server.login(DOCTOR, DEMO_PASSWORD).await.data();

    // The window passes on the server's clock, not the test's.
    server.clock().advance(Duration::from_secs(retry_after));
    device_login(&server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET)
        .await
        .data();
    server.stop().await;
}

#[tokio::test]
async fn zero_turns_the_limits_off() {
    let server = server_with_limits(0, 0).await;
    for _ in 0..80 {
        device_login(&server, DEMO_DEVICE_ID, "not-the-secret")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        server
            .refresh("unknown")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    server.login(DOCTOR, DEMO_PASSWORD).await.data();
    server.stop().await;
}

#[tokio::test]
async fn the_defaults_allow_a_normal_sign_in_flow() {
    let server = TestServer::demo().await;
    assert_eq!(server.config().login_attempts_per_minute_per_ip, 30);
    assert_eq!(server.config().login_attempts_per_minute_per_account, 10);
    // A typo or two, then the right password, then a few refreshes.
    for _ in 0..2 {
        server
            .login(DOCTOR, "typo")
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let mut session = server.login(DOCTOR, DEMO_PASSWORD).await;
    for _ in 0..5 {
        session = server.refresh(&session.refresh_token()).await;
        session.data();
    }
    server.stop().await;
}

/// A failed password login with a made-up account (so only the IP limit counts).
async fn bad_login_from(
    server: &TestServer,
    client: &reqwest::Client,
    forwarded: &str,
    n: u32,
) -> u16 {
    server
        .send(
            client
                .post(format!("{}/auth/login", server.url))
                .header("X-Forwarded-For", forwarded)
                .json(&json!({"email": format!("nobody{n}@demo.clinic"), "password": "wrong"})),
        )
        .await
        .status
        .as_u16()
}

/// Per IP per minute in the proxy tests: one refill every 6 s, slower than the attempts run
/// even on a loaded machine (the default 30 refills every 2 s).
const PER_IP: u32 = 10;

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    // The test's own address (127.0.0.1) is the clinic's reverse proxy.
    let server = TestServer::start_with(|config| {
        config.demo = true;
        config.login_attempts_per_minute_per_ip = PER_IP;
        config.trusted_proxies = vec!["127.0.0.0/30".parse().expect("cidr")];
    })
    .await;
    let proxy = client_from("127.0.0.1");
    for n in 0..PER_IP {
        // A client's own claim on the left is ignored; the proxy appended what it saw.
        let status = bad_login_from(&server, &proxy, "192.0.2.99, 198.51.100.7", n).await;
        assert_eq!(status, 401, "attempt {n}");
    }
    assert_eq!(
        bad_login_from(&server, &proxy, "198.51.100.7", PER_IP).await,
        429
    );
    // Another client through the same proxy still gets in.
    let other = server
        .send(
            proxy
                .post(format!("{}/auth/login", server.url))
                .header("X-Forwarded-For", "198.51.100.8")
                .json(&json!({"email": ADMIN, "password": DEMO_PASSWORD})),
        )
        .await;
    let admin = other.access_token();
    // The audit trail names the client, not the proxy.
    let limited = audit(&server, &admin, "?action=auth.rate_limited").await;
    assert_eq!(limited.len(), 1, "{limited:?}");
    assert_eq!(limited[0]["ip"], "198.51.100.7");
    let logins = audit(&server, &admin, "?action=auth.login_succeeded").await;
    assert_eq!(logins[0]["ip"], "198.51.100.8");
    server.stop().await;
}

#[tokio::test]
async fn an_untrusted_peer_cannot_choose_its_address() {
    let server = TestServer::start_with(|config| {
        config.demo = true;
        config.login_attempts_per_minute_per_ip = PER_IP;
        config.trusted_proxies = vec!["10.0.0.1".parse().expect("addr")];
    })
    .await;
    let peer = client_from("127.0.0.1");
    for n in 0..PER_IP {
        let forged = format!("198.51.100.{n}");
        assert_eq!(bad_login_from(&server, &peer, &forged, n).await, 401);
    }
    // A fresh forged address does not buy a fresh budget.
    assert_eq!(
        bad_login_from(&server, &peer, "203.0.113.1", PER_IP).await,
        429
    );
    let admin = login_via(&server, &client_from("127.0.0.2"), ADMIN, DEMO_PASSWORD)
        .await
        .access_token();
    let failed = audit(&server, &admin, "?action=auth.login_failed").await;
    assert!(
        failed.iter().all(|entry| entry["ip"] == "127.0.0.1"),
        "{failed:?}"
    );
    server.stop().await;
}
