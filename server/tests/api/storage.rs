//! What the server keeps: demo seeding, restarts, instances sharing a database, the audit
//! trail, and no secrets at rest. On either backend, except the `sqlite` module.

use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::common::{self, Reply, TestServer, DEMO_PASSWORD, DEMO_USERS, DOCTOR, PATIENT};

async fn count_users(server: &TestServer) -> i64 {
    let db = server.db().await;
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

    // The same directory in demo mode gets the four accounts and the demo kiosk's account, once,
    // however often it starts.
    for _ in 0..2 {
        let mut config = common::config(dir.path());
        config.demo = true;
        let server = TestServer::start(config).await;
        assert_eq!(count_users(&server).await, DEMO_USERS);
        server.login(DOCTOR, DEMO_PASSWORD).await.data();
        server.stop().await;
    }
}

#[tokio::test]
async fn a_database_with_demo_accounts_does_not_start_without_demo_mode() {
    let server = TestServer::demo().await;
    let mut config = server.config().clone();
    let clock = server.clock().clone();
    let dir = server.stop().await;
    config.demo = false;
    // Public credentials must not outlive the demo: the server refuses and says how to go on.
    let error = match consult_server::serve_with_clock(config.clone(), clock.clone()).await {
        Ok(running) => {
            running.shutdown().await.expect("clean shutdown");
            panic!("a server without --demo served the demo accounts");
        }
        Err(error) => consult_server::error::error_chain(&error),
    };
    assert!(error.contains("admin@demo.clinic"), "{error}");
    assert!(error.contains("--demo"), "{error}");
    assert!(error.contains("fresh"), "{error}");
    // In demo mode the same database still starts.
    config.demo = true;
    let server = TestServer::start_on_clock(config, clock).await;
    server.login(DOCTOR, DEMO_PASSWORD).await.data();
    server.stop().await;
    drop(dir);
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
    // The database of a stopped server can be opened too.
    let db = common::database(&data_dir).await;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db)
        .await
        .expect("count");
    db.close().await;
    assert_eq!(users, DEMO_USERS);

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

    // Seeding again changes nothing: the accounts and sessions are the stored ones.
    let second = TestServer::start(config(true)).await;
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

    let db = server.db().await;
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
async fn two_instances_on_one_database_behave_as_one() {
    let a = TestServer::demo().await;
    let b = TestServer::start_sharing_db(&a).await;
    assert_ne!(a.url, b.url);

    // A session begun on one instance is the same session on the other.
    let login = a.login(DOCTOR, DEMO_PASSWORD).await;
    assert_eq!(b.me(&login.access_token()).await.data()["email"], DOCTOR);
    let rotated = b.refresh(&login.refresh_token()).await;
    a.me(&rotated.access_token()).await.data();

    // Reuse (past the retry grace) is detected whichever instance saw the first use, and ends
    // the session on both.
    a.clock().advance(std::time::Duration::from_secs(11));
    a.refresh(&login.refresh_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "refresh_token_reused");
    for server in [&a, &b] {
        server
            .me(&rotated.access_token())
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }

    // One token refreshed on both at once: it rotates once, and every other request within the
    // retry grace gets the same successor.
    let token = a.login(PATIENT, DEMO_PASSWORD).await.refresh_token();
    let replies: Vec<Reply> = futures_util::future::join_all((0..8).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        server.refresh(&token)
    }))
    .await;
    let successors: std::collections::BTreeSet<String> =
        replies.iter().map(Reply::refresh_token).collect();
    assert_eq!(successors.len(), 1, "one rotation: {successors:?}");

    // Logout on one instance ends the session on the other.
    let session = b.login(PATIENT, DEMO_PASSWORD).await;
    a.logout(&session.access_token()).await.data();
    b.me(&session.access_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(
        count_users(&b).await,
        DEMO_USERS,
        "seeded once, not per instance"
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_restarted_server_keeps_its_database_and_configuration() {
    let server = TestServer::start_with(|config| {
        config.demo = true;
        config.access_token_ttl_secs = 120;
    })
    .await;
    let login = server.login(PATIENT, DEMO_PASSWORD).await;
    let server = server.restart().await;
    server.me(&login.access_token()).await.data();
    let rotated = server.refresh(&login.refresh_token()).await;
    assert_eq!(rotated.data()["tokens"]["expiresIn"], 120);

    let server = server
        .restart_with(|config| config.demo_appointments = false)
        .await;
    assert_eq!(count_users(&server).await, DEMO_USERS);
    server.me(&rotated.access_token()).await.data();
    server.stop().await;
}

/// Logs in, fails a login, rotates, reuses and logs out; returns every password and token
/// involved, and the first login.
async fn exercise_secrets(server: &TestServer) -> (Vec<String>, Reply) {
    let mut secrets = vec![DEMO_PASSWORD.to_owned(), "Typo-Password-789".to_owned()];
    let login = server.login(DOCTOR, DEMO_PASSWORD).await;
    server
        .login(DOCTOR, "Typo-Password-789")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let rotated = server.refresh(&login.refresh_token()).await;
    // Past the few seconds a lost reply may be retried in.
    server.clock().advance(std::time::Duration::from_secs(11));
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
    (secrets, login)
}

#[tokio::test]
async fn no_token_or_password_is_stored_in_plain_text() {
    let server = TestServer::demo().await;
    let (secrets, login) = exercise_secrets(&server).await;

    // What is stored instead of the refresh token is its SHA-256.
    let db = server.db().await;
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens")
        .fetch_all(&db)
        .await
        .expect("hashes");
    assert_eq!(hashes.len(), 3);
    let expected = hex(&Sha256::digest(login.refresh_token().as_bytes()));
    assert!(hashes.contains(&expected));

    // Every value of every column of every table, read as text.
    let stored = common::stored_values(&db).await;
    db.close().await;
    assert!(stored
        .iter()
        .any(|(column, _)| column == "users.password_hash"));
    for (column, value) in &stored {
        for secret in &secrets {
            assert!(!value.contains(secret.as_str()), "{column} holds a secret");
        }
    }
    server.stop().await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What only SQLite has: a database file in the data directory.
mod sqlite {
    use std::path::Path;

    use crate::common::{require_sqlite, TestServer};

    #[tokio::test]
    async fn the_database_is_a_wal_file_in_the_data_dir() {
        require_sqlite();
        let server = TestServer::demo().await;
        assert_eq!(server.config().database_url, None);
        let db = server.db().await;
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&db)
            .await
            .expect("journal mode");
        db.close().await;
        assert_eq!(mode, "wal");
        assert!(server.data_dir.join("consult.db").is_file());
        server.stop().await;
    }

    #[tokio::test]
    async fn no_secret_is_in_the_database_files() {
        require_sqlite();
        let server = TestServer::demo().await;
        let (secrets, _) = super::exercise_secrets(&server).await;
        let data_dir = server.data_dir.clone();
        let _kept = server.stop().await;
        assert_no_secret_in_files(&data_dir, &secrets);
    }

    /// Every file the server wrote (database, WAL) except the signing key, byte by byte: freed
    /// pages and the WAL must not keep what the tables do not.
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
}
