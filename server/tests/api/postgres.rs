//! What only PostgreSQL has. Every other test runs on PostgreSQL too, in the PostgreSQL pass:
//! `scripts/with-postgres env CONSULT_TEST_DATABASE=postgres cargo nextest run --profile postgres
//! -p consult-server --test api`. The default nextest profile leaves `postgres::` tests out; run
//! on SQLite anyway, each fails instead of passing without having run.

use reqwest::StatusCode;
use sqlx::AnyPool;

use crate::common::{
    self, require_postgres, TestServer, DEMO_PASSWORD, DEMO_USERS, DOCTOR, PATIENT,
};

async fn scalar_i64(db: &AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

async fn migration_versions(db: &AnyPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(db)
        .await
        .expect("migrations")
}

/// Guards the pass itself: a harness that quietly fell back to SQLite would fail here.
#[tokio::test]
async fn the_postgres_pass_runs_on_a_database_of_its_own() {
    require_postgres();
    let server = TestServer::demo().await;
    let url = server
        .config()
        .database_url
        .clone()
        .expect("a database URL");
    assert!(url.starts_with("postgres"), "not PostgreSQL");
    assert!(
        !server.data_dir.join("consult.db").exists(),
        "no SQLite file"
    );

    let db = server.db().await;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&db)
        .await
        .expect("version");
    assert!(version.starts_with("PostgreSQL "), "{version}");
    let name: String = sqlx::query_scalar("SELECT CAST(current_database() AS TEXT)")
        .fetch_one(&db)
        .await
        .expect("database name");
    assert!(name.starts_with("consult_test_"), "{name}");
    // The four demo accounts and the demo kiosk's.
    assert_eq!(
        scalar_i64(&db, "SELECT COUNT(*) FROM users").await,
        DEMO_USERS
    );
    db.close().await;

    // Another server gets another database.
    let other = TestServer::start_with(|_| {}).await;
    assert_ne!(other.config().database_url, server.config().database_url);
    let db = other.db().await;
    assert_eq!(scalar_i64(&db, "SELECT COUNT(*) FROM users").await, 0);
    db.close().await;
    other.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn migrations_apply_once_and_a_restart_changes_nothing() {
    require_postgres();
    let server = TestServer::demo().await;
    let db = server.db().await;
    let versions = migration_versions(&db).await;
    assert!(versions.len() >= 2, "{versions:?}");
    assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>());
    assert_eq!(
        scalar_i64(
            &db,
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE NOT success"
        )
        .await,
        0
    );
    let tables = scalar_i64(
        &db,
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' \
         AND table_name IN ('users', 'refresh_token_families', 'refresh_tokens', 'audit_events')",
    )
    .await;
    assert_eq!(tables, 4);
    db.close().await;

    let server = server.restart().await;
    server.login(DOCTOR, DEMO_PASSWORD).await.data();
    let db = server.db().await;
    assert_eq!(migration_versions(&db).await, versions);
    // The four demo accounts and the demo kiosk's.
    assert_eq!(
        scalar_i64(&db, "SELECT COUNT(*) FROM users").await,
        DEMO_USERS
    );
    db.close().await;
    server.stop().await;
}

/// `options[search_path]=<schema>` in the URL puts everything in that schema, as a clinic
/// sharing one database with other applications would configure it.
#[tokio::test]
async fn a_schema_named_in_the_url_holds_everything() {
    require_postgres();
    let base = common::create_postgres_database().await;
    let admin = common::connect_url(&base).await;
    sqlx::query("CREATE SCHEMA clinic")
        .execute(&admin)
        .await
        .expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]=clinic");

    let server = TestServer::start_with(|config| {
        config.demo = true;
        config.database_url = Some(url);
    })
    .await;
    let login = server.login("Doctor@Demo.Clinic", DEMO_PASSWORD).await;
    assert_eq!(login.data()["user"]["email"], DOCTOR);
    server
        .login(DOCTOR, "wrong")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let rotated = server.refresh(&login.refresh_token()).await;
    let patient = server.login(PATIENT, DEMO_PASSWORD).await;
    server.logout(&patient.access_token()).await.data();

    // A restart finds the schema migrated and the sessions kept, and seeds nothing twice.
    let server = server.restart().await;
    server.me(&rotated.access_token()).await.data();
    server
        .me(&patient.access_token())
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    server.stop().await;

    assert_eq!(
        scalar_i64(&admin, "SELECT COUNT(*) FROM clinic.users").await,
        DEMO_USERS
    );
    assert_eq!(
        scalar_i64(
            &admin,
            "SELECT COUNT(*) FROM clinic.audit_events WHERE action = 'auth.login_failed'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar_i64(
            &admin,
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        .await,
        0,
        "nothing outside the schema"
    );
    admin.close().await;
}
