//! The database: one `AnyPool` over SQLite (default) or PostgreSQL, migrated at startup with the
//! backend's own embedded migrations.

use std::borrow::Cow;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, ConnectOptions};
use thiserror::Error;
use time::OffsetDateTime;

use crate::config::ServerConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A cheap handle to the pool.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: whose turn it is to write (see [`Db::begin_write`]).
    writers: Arc<tokio::sync::Mutex<()>>,
}

/// A write transaction from [`Db::begin_write`]. It derefs to its connection as sqlx's
/// transaction does; [`WriteTx::commit`] ends it, and dropping it rolls back.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    /// SQLite: this transaction's turn to write, passed on after the commit.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Failures while opening or migrating the database.
#[derive(Debug, Error)]
pub enum DbError {
    #[error("database_url must start with postgres://, postgresql:// or sqlite:")]
    UnsupportedUrl,
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Failures of queries made while serving.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// PostgreSQL refused text it cannot store (SQLSTATE 22021, `character_not_in_repertoire`):
    /// a NUL character from the request, say. Bad input, not a server fault.
    pub fn is_unstorable_text(&self) -> bool {
        match self {
            StoreError::Query(sqlx::Error::Database(error)) => {
                error.code().as_deref() == Some("22021")
            }
            _ => false,
        }
    }
}

/// A stored unix time as the API's RFC 3339 time.
pub fn to_datetime(unix: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| StoreError::Corrupt(format!("time {unix} is out of range")))
}

/// Like [`to_datetime`], for optional columns.
pub fn to_datetime_opt(unix: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    unix.map(to_datetime).transpose()
}

/// (version, description, SQL); the files stay plain so `sqlx migrate` can run them too.
type EmbeddedMigration = (i64, &'static str, &'static str);

const SQLITE_MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "clinic",
        include_str!("../migrations/sqlite/0002_clinic.sql"),
    ),
    (
        3,
        "refresh retry",
        include_str!("../migrations/sqlite/0003_refresh_retry.sql"),
    ),
    (
        4,
        "join request withdrawn",
        include_str!("../migrations/sqlite/0004_join_request_withdrawn.sql"),
    ),
    (
        5,
        "kiosk exit",
        include_str!("../migrations/sqlite/0005_kiosk_exit.sql"),
    ),
    (
        6,
        "device enrolment",
        include_str!("../migrations/sqlite/0006_device_enrolment.sql"),
    ),
    (
        7,
        "device health",
        include_str!("../migrations/sqlite/0007_device_health.sql"),
    ),
    (
        8,
        "device commands",
        include_str!("../migrations/sqlite/0008_device_commands.sql"),
    ),
];

const POSTGRES_MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "clinic",
        include_str!("../migrations/postgres/0002_clinic.sql"),
    ),
    (
        3,
        "refresh retry",
        include_str!("../migrations/postgres/0003_refresh_retry.sql"),
    ),
    (
        4,
        "join request withdrawn",
        include_str!("../migrations/postgres/0004_join_request_withdrawn.sql"),
    ),
    (
        5,
        "kiosk exit",
        include_str!("../migrations/postgres/0005_kiosk_exit.sql"),
    ),
    (
        6,
        "device enrolment",
        include_str!("../migrations/postgres/0006_device_enrolment.sql"),
    ),
    (
        7,
        "device health",
        include_str!("../migrations/postgres/0007_device_health.sql"),
    ),
    (
        8,
        "device commands",
        include_str!("../migrations/postgres/0008_device_commands.sql"),
    ),
];

// SQLite serializes writers; a few connections let readers proceed during a write.
const SQLITE_MAX_CONNECTIONS: u32 = 5;
const POSTGRES_MAX_CONNECTIONS: u32 = 10;

impl Db {
    /// Connects (creating the SQLite file if missing) and applies pending migrations.
    pub async fn open(config: &ServerConfig) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let (backend, options) = connect_options(config)?;
        let max_connections = match backend {
            Backend::Sqlite => SQLITE_MAX_CONNECTIONS,
            Backend::Postgres => POSTGRES_MAX_CONNECTIONS,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        if backend == Backend::Sqlite {
            enable_wal(&pool).await?;
        }
        let migrations = match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        Migrator::new(Embedded(migrations))
            .await
            .map_err(DbError::Migrate)?
            .run(&pool)
            .await
            .map_err(DbError::Migrate)?;
        tracing::info!(?backend, "database ready");
        Ok(Db {
            pool,
            backend,
            writers: Arc::default(),
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a transaction that reads before it writes then cannot fail with
    /// `SQLITE_BUSY` when it upgrades. Writers also take turns in this process first, in arrival
    /// order: SQLite lets one write at a time anyway, and the others would wait in its busy
    /// handler, whose growing sleeps (1, 2, 5 … 100 ms) let one waiter lose again and again.
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        match self.backend {
            Backend::Sqlite => {
                let turn = Arc::clone(&self.writers).lock_owned().await;
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx {
                    tx,
                    _turn: Some(turn),
                })
            }
            Backend::Postgres => Ok(WriteTx {
                tx: self.pool.begin().await?,
                _turn: None,
            }),
        }
    }

    /// Waits for checked-out connections, so SQLite checkpoints its WAL before exit.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn connect_options(config: &ServerConfig) -> Result<(Backend, AnyConnectOptions), DbError> {
    match config.database_url.as_deref() {
        None => {
            // Built through SqliteConnectOptions so odd characters in the path are encoded.
            let url = SqliteConnectOptions::new()
                .filename(config.sqlite_path())
                .create_if_missing(true)
                .to_url_lossy();
            let options = AnyConnectOptions::from_url(&url).map_err(DbError::Connect)?;
            Ok((Backend::Sqlite, options))
        }
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let options = url.parse().map_err(DbError::Connect)?;
            Ok((Backend::Postgres, options))
        }
        Some(url) if url.starts_with("sqlite:") => {
            let options = url.parse().map_err(DbError::Connect)?;
            Ok((Backend::Sqlite, options))
        }
        Some(_) => Err(DbError::UnsupportedUrl),
    }
}

/// WAL lets readers run during a write. It is a property of the file, so setting it once at
/// startup covers every later connection.
async fn enable_wal(pool: &AnyPool) -> Result<(), DbError> {
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
        .fetch_one(pool)
        .await
        .map_err(DbError::Connect)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "SQLite did not switch to WAL mode");
    }
    Ok(())
}

/// Migrations compiled into the binary, so no migrations directory has to ship with it.
#[derive(Debug)]
struct Embedded(&'static [EmbeddedMigration]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migration_versions() {
        let versions = |list: &[EmbeddedMigration]| list.iter().map(|m| m.0).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE_MIGRATIONS), versions(POSTGRES_MIGRATIONS));
    }

    #[test]
    fn unknown_url_schemes_are_refused() {
        let mut config = ServerConfig::with_data_dir("/d");
        config.database_url = Some("mysql://db/consult".into());
        assert!(matches!(
            connect_options(&config),
            Err(DbError::UnsupportedUrl)
        ));
        config.database_url = Some("postgres://user:pw@localhost/consult".into());
        assert!(matches!(
            connect_options(&config),
            Ok((Backend::Postgres, _))
        ));
    }

    #[tokio::test]
    async fn opens_migrates_and_reopens_a_sqlite_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = ServerConfig::with_data_dir(dir.path());
        let db = Db::open(&config).await.expect("first open");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(db.pool())
            .await
            .expect("journal mode");
        assert_eq!(mode, "wal");
        db.close().await;
        // A second start finds the migrations applied and changes nothing.
        let db = Db::open(&config).await.expect("second open");
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN \
             ('users', 'refresh_token_families', 'refresh_tokens', 'audit_events')",
        )
        .fetch_one(db.pool())
        .await
        .expect("count");
        assert_eq!(tables, 4);
        db.close().await;
    }

    async fn run(pool: &AnyPool, sql: &str) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query(sql).execute(pool).await?.rows_affected())
    }

    #[tokio::test]
    async fn rebuilding_join_requests_for_withdrawn_keeps_rows_indexes_and_references() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = ServerConfig::with_data_dir(dir.path());
        sqlx::any::install_default_drivers();
        let (_, options) = connect_options(&config).expect("options");
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .expect("connect");
        // A database as version 3 left it, with a decided and a pending request.
        Migrator::new(Embedded(&SQLITE_MIGRATIONS[..3]))
            .await
            .expect("migrator")
            .run(&pool)
            .await
            .expect("migrate to version 3");
        for statement in [
            "INSERT INTO users (id, email, role, created_at) VALUES \
             ('usr_d', 'd@x.test', 'doctor', 0), ('usr_p', 'p@x.test', 'patient', 0), \
             ('usr_a', 'a@x.test', 'agency', 0)",
            "INSERT INTO appointments (id, appointment_code, session_id, doctor_id, patient_id, \
             agency_id, room_name, call_type, status, meeting_status, start_time, end_time, \
             created_at, updated_at) VALUES ('apt_1', 'C1', 'ses_1', 'usr_d', 'usr_p', 'usr_a', \
             'room-1', 'video', 'scheduled', 'created', 100, 200, 0, 0)",
            "INSERT INTO join_requests (id, appointment_id, requester_id, status, requested_at, \
             decided_at, decided_by) VALUES ('jrq_1', 'apt_1', 'usr_a', 'rejected', 10, 20, \
             'usr_d'), ('jrq_2', 'apt_1', 'usr_a', 'pending', 30, NULL, NULL)",
        ] {
            run(&pool, statement).await.expect(statement);
        }
        pool.close().await;

        let db = Db::open(&config)
            .await
            .expect("migrate to the latest version");
        let pool = db.pool();
        type Row = (String, String, i64, Option<i64>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, status, requested_at, decided_at, decided_by FROM join_requests \
             ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .expect("rows");
        assert_eq!(
            rows,
            [
                (
                    "jrq_1".into(),
                    "rejected".into(),
                    10,
                    Some(20),
                    Some("usr_d".into())
                ),
                ("jrq_2".into(), "pending".into(), 30, None, None),
            ]
        );
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'join_requests' \
             AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name",
        )
        .fetch_all(pool)
        .await
        .expect("indexes");
        assert_eq!(
            indexes,
            ["join_requests_appointment", "join_requests_one_pending"]
        );
        let violations = sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(pool)
            .await
            .expect("check");
        assert!(violations.is_empty(), "{} violations", violations.len());

        // Still one pending request per requester; 'withdrawn' is a status, 'maybe' is not.
        let ask = "INSERT INTO join_requests (id, appointment_id, requester_id, status, \
                   requested_at) VALUES ('jrq_3', 'apt_1', 'usr_a', 'pending', 40)";
        assert!(run(pool, ask).await.is_err(), "a second pending request");
        let withdraw = "UPDATE join_requests SET status = 'withdrawn' WHERE id = 'jrq_2'";
        assert_eq!(run(pool, withdraw).await.expect("withdraw"), 1);
        assert_eq!(run(pool, ask).await.expect("ask again"), 1);
        let unknown = "UPDATE join_requests SET status = 'maybe' WHERE id = 'jrq_3'";
        assert!(run(pool, unknown).await.is_err(), "an unknown status");
        // The references hold: no unknown requester, and a deleted appointment takes its
        // requests along.
        let stranger = "INSERT INTO join_requests (id, appointment_id, requester_id, status, \
                        requested_at) VALUES ('jrq_4', 'apt_1', 'usr_none', 'withdrawn', 50)";
        assert!(run(pool, stranger).await.is_err(), "an unknown requester");
        run(pool, "DELETE FROM appointments WHERE id = 'apt_1'")
            .await
            .expect("delete");
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM join_requests")
            .fetch_one(pool)
            .await
            .expect("count");
        assert_eq!(left, 0);
        db.close().await;
    }
}
