//! The same flows on PostgreSQL. Needs a server, so it is opt-in:
//! `CONSULT_TEST_POSTGRES_URL=postgres://user@host/db cargo test -p consult-server -- --ignored`.
//! Each run works in a schema of its own and drops it afterwards.

use reqwest::StatusCode;
use sqlx::postgres::PgPool;

use crate::common::{self, TestServer, DEMO_PASSWORD, DOCTOR, PATIENT};

#[tokio::test]
#[ignore = "needs CONSULT_TEST_POSTGRES_URL pointing at a PostgreSQL database"]
async fn auth_flows_work_on_postgres() {
    let base = std::env::var("CONSULT_TEST_POSTGRES_URL")
        .expect("CONSULT_TEST_POSTGRES_URL must name a PostgreSQL database");
    let schema = format!("consult_test_{}", std::process::id());
    let admin = PgPool::connect(&base).await.expect("connect");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create schema");

    let dir = tempfile::tempdir().expect("tempdir");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");
    let config = |demo: bool| {
        let mut config = common::config(dir.path());
        config.database_url = Some(url.clone());
        config.demo = demo;
        config
    };

    let server = TestServer::start(config(true)).await;
    let login = server.login("Doctor@Demo.Clinic", DEMO_PASSWORD).await;
    assert_eq!(login.data()["user"]["email"], DOCTOR);
    server.me(&login.access_token()).await.data();
    server
        .login(DOCTOR, "wrong")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");

    let rotated = server.refresh(&login.refresh_token()).await;
    let token = rotated.refresh_token();
    let (a, b) = tokio::join!(server.refresh(&token), server.refresh(&token));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
    server
        .me(&rotated.access_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");

    let patient = server.login(PATIENT, DEMO_PASSWORD).await;
    server.logout(&patient.access_token()).await.data();
    server
        .me(&patient.access_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server.stop().await;

    // A restart finds the schema migrated and the accounts kept, and seeds nothing twice.
    let server = TestServer::start(config(true)).await;
    server.login(PATIENT, DEMO_PASSWORD).await.data();
    server.stop().await;
    let users: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {schema}.users"))
        .fetch_one(&admin)
        .await
        .expect("count");
    assert_eq!(users, 4);
    let audited: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {schema}.audit_events WHERE action = 'auth.login_failed'"
    ))
    .fetch_one(&admin)
    .await
    .expect("count");
    assert_eq!(audited, 1);

    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await
        .expect("drop schema");
    admin.close().await;
}
