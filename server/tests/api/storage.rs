//! What the server keeps: demo seeding, restarts, the audit trail, and no secrets at rest.

use std::path::Path;

use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::common::{self, TestServer, DEMO_PASSWORD, DOCTOR, PATIENT};

async fn count_users(server: &TestServer) -> i64 {
    let db = server.database().await;
    let count = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db)
        .await
        .expect("count");
    db.close().await;
    count
}

#[tokio::test]
async fn demo_accounts_exist_only_in_demo_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(common::config(dir.path())).await;
    server
        .login(DOCTOR, DEMO_PASSWORD)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(count_users(&server).await, 0);
    server.stop().await;

    // The same directory in demo mode gets the four accounts, once, however often it starts.
    for _ in 0..2 {
        let mut config = common::config(dir.path());
        config.demo = true;
        let server = TestServer::start(config).await;
        assert_eq!(count_users(&server).await, 4);
        server.login(DOCTOR, DEMO_PASSWORD).await.data();
        server.stop().await;
    }
}

#[tokio::test]
async fn a_restart_keeps_accounts_sessions_and_the_generated_key() {
    let parent = tempfile::tempdir().expect("tempdir");
    // Not created yet: the server makes it, owner-only.
    let data_dir = parent.path().join("data");
    let config = |demo: bool| {
        let mut config = common::config(&data_dir);
        // No configured key: the server must generate one and keep it.
        config.jwt_signing_key = None;
        config.demo = demo;
        config
    };

    let first = TestServer::start(config(true)).await;
    let login = first.login(PATIENT, DEMO_PASSWORD).await;
    first.stop().await;

    let key_path = data_dir.join("jwt-signing-key");
    let key_before = std::fs::read(&key_path).expect("key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "signing key is private");
        let dir_mode = std::fs::metadata(&data_dir)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o077, 0, "data dir is private");
    }

    // Not in demo mode now: the accounts are there because they were stored, not seeded.
    let second = TestServer::start(config(false)).await;
    let me = second.me(&login.access_token()).await;
    assert_eq!(me.data()["email"], PATIENT);
    second.refresh(&login.refresh_token()).await.data();
    second.login(PATIENT, DEMO_PASSWORD).await.data();
    second.stop().await;
    assert_eq!(std::fs::read(&key_path).expect("key file"), key_before);
}

#[tokio::test]
async fn logins_are_audited_without_secrets() {
    let server = TestServer::demo().await;
    let good = server.login(DOCTOR, DEMO_PASSWORD).await;
    let user_id = good.data()["user"]["id"].as_str().expect("id").to_owned();
    server
        .login(DOCTOR, "Wrong-Password-123")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    server
        .login("Stranger@Example.org", "Another-Secret-456")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");

    let db = server.database().await;
    let rows: Vec<(String, Option<String>, String, Option<String>)> =
        sqlx::query_as("SELECT action, actor_user_id, detail, ip FROM audit_events ORDER BY id")
            .fetch_all(&db)
            .await
            .expect("audit rows");
    db.close().await;

    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "auth.login_succeeded",
            "auth.token_issued",
            "auth.login_failed",
            "auth.login_failed"
        ]
    );
    assert_eq!(rows[0].1.as_deref(), Some(user_id.as_str()));
    assert_eq!(rows[0].3.as_deref(), Some("127.0.0.1"));
    let wrong: serde_json::Value = serde_json::from_str(&rows[2].2).expect("json");
    assert_eq!(wrong["email"], DOCTOR);
    assert_eq!(wrong["reason"], "wrong_password");
    assert_eq!(rows[2].1.as_deref(), Some(user_id.as_str()));
    let unknown: serde_json::Value = serde_json::from_str(&rows[3].2).expect("json");
    assert_eq!(unknown["email"], "stranger@example.org");
    assert_eq!(unknown["reason"], "unknown_email");
    assert_eq!(rows[3].1, None);

    let all = format!("{rows:?}");
    for secret in [
        DEMO_PASSWORD,
        "Wrong-Password-123",
        "Another-Secret-456",
        &good.access_token(),
        &good.refresh_token(),
    ] {
        assert!(!all.contains(secret), "audit trail contains a secret");
    }
    server.stop().await;
}

#[tokio::test]
async fn no_token_or_password_is_stored_in_plain_text() {
    let server = TestServer::demo().await;
    let mut secrets = vec![DEMO_PASSWORD.to_owned(), "Typo-Password-789".to_owned()];
    let login = server.login(DOCTOR, DEMO_PASSWORD).await;
    server
        .login(DOCTOR, "Typo-Password-789")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let rotated = server.refresh(&login.refresh_token()).await;
    server
        .refresh(&login.refresh_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    let second = server.login(PATIENT, DEMO_PASSWORD).await;
    server.logout(&second.access_token()).await.data();
    for reply in [&login, &rotated, &second] {
        secrets.push(reply.access_token());
        secrets.push(reply.refresh_token());
    }

    // What is stored instead of the refresh token is its SHA-256.
    let db = server.database().await;
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens")
        .fetch_all(&db)
        .await
        .expect("hashes");
    db.close().await;
    assert_eq!(hashes.len(), 3);
    let expected = hex(&Sha256::digest(login.refresh_token().as_bytes()));
    assert!(hashes.contains(&expected));

    let data_dir = server.data_dir.clone();
    let _kept = server.stop().await;
    assert_no_secret_in_files(&data_dir, &secrets);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file the server wrote (database, WAL) except the signing key, byte by byte.
fn assert_no_secret_in_files(data_dir: &Path, secrets: &[String]) {
    let mut scanned = 0;
    for entry in std::fs::read_dir(data_dir).expect("list") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n == "jwt-signing-key") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        for secret in secrets {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{} contains a secret in plain text",
                path.display()
            );
        }
        scanned += 1;
    }
    assert!(scanned >= 1, "the database file was scanned");
}
