//! A server per test on SQLite or PostgreSQL, plus small helpers for requests, envelopes and
//! the database.
//!
//! The backend comes from the environment, so one suite runs on both:
//! - `CONSULT_TEST_DATABASE` unset (or `sqlite`): SQLite in the test's data directory.
//! - `CONSULT_TEST_DATABASE=postgres`: a fresh PostgreSQL database per data directory, created
//!   through the superuser URL in `CONSULT_TEST_POSTGRES_URL`. `scripts/with-postgres` starts a
//!   throwaway server and sets that URL. A missing or unreachable URL fails the test; it never
//!   falls back to SQLite.
//!
//! SQL that tests run themselves goes through [`TestServer::db`], an `AnyPool` on the server's
//! own database, so it must suit both: `$1` placeholders, integers for times, `TEXT` columns.
//! A test that only makes sense on one backend lives in a module named `postgres` (or `sqlite`),
//! or has a name starting with `postgres_` (or `sqlite_`); it calls [`require_postgres`] (or
//! [`require_sqlite`]) first, so that it fails rather than passes on the other backend, and the
//! nextest profiles in `.config/nextest.toml` leave it out of the other backend's pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use consult_server::clock::Clock;
use consult_server::{serve_with_clock, RunningServer, ServerConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::any::AnyPoolOptions;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};
use tempfile::TempDir;

/// Known to the tests so they can forge tokens that differ from genuine ones in one way only.
pub const SIGNING_KEY: &str = "integration-test-signing-key-0123456789abcdef";
pub const DEMO_PASSWORD: &str = "consult-demo";
pub const DOCTOR: &str = "doctor@demo.clinic";
pub const PATIENT: &str = "patient@demo.clinic";
/// Users a demo-mode server seeds: the four demo people and the demo kiosk's account.
pub const DEMO_USERS: i64 = 5;

/// `sqlite` (the default) or `postgres`.
pub const DATABASE_ENV: &str = "CONSULT_TEST_DATABASE";
/// A superuser URL of the PostgreSQL server the `postgres` backend creates its databases on.
pub const POSTGRES_URL_ENV: &str = "CONSULT_TEST_POSTGRES_URL";
/// Every database the harness creates is named `consult_test_<unix seconds>_<random>`.
const DATABASE_PREFIX: &str = "consult_test_";
/// Databases older than this are left over from runs that died; the next run drops them.
const STALE_DATABASE_SECS: u64 = 6 * 60 * 60;
/// An unreachable server fails the test after this, rather than at nextest's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend this run tests, from `CONSULT_TEST_DATABASE`; anything unknown is an error.
pub fn backend() -> Backend {
    match std::env::var(DATABASE_ENV).as_deref() {
        Err(std::env::VarError::NotPresent) | Ok("" | "sqlite") => Backend::Sqlite,
        Ok("postgres" | "postgresql") => Backend::Postgres,
        Ok(other) => panic!("{DATABASE_ENV}={other:?}: expected \"sqlite\" or \"postgres\""),
        Err(error) => panic!("{DATABASE_ENV}: {error}"),
    }
}

/// First line of a PostgreSQL-only test: fails (never passes) when run on SQLite.
pub fn require_postgres() {
    assert_eq!(
        backend(),
        Backend::Postgres,
        "a PostgreSQL-only test: run it with {DATABASE_ENV}=postgres under scripts/with-postgres \
         (the default nextest profile leaves it out)"
    );
}

/// First line of an SQLite-only test: fails (never passes) when run on PostgreSQL.
pub fn require_sqlite() {
    assert_eq!(
        backend(),
        Backend::Sqlite,
        "an SQLite-only test: run it without {DATABASE_ENV}=postgres \
         (the postgres nextest profile leaves it out)"
    );
}

pub struct TestServer {
    pub url: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    /// What the server was started with, `database_url` included on PostgreSQL.
    config: ServerConfig,
    server: RunningServer,
    // Dropped last: the directory outlives the server that uses it.
    _owned_dir: Option<TempDir>,
}

/// A response: status, headers and the JSON body (Null when the body is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts the contract's failure envelope with this status and code.
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.body["success"], false, "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "a human message: {}",
            self.body
        );
        assert!(self.body.get("data").is_none(), "body: {}", self.body);
    }

    /// Asserts a success envelope and returns its data.
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        assert_eq!(self.body["success"], true, "body: {}", self.body);
        &self.body["data"]
    }

    pub fn access_token(&self) -> String {
        token_field(self.data(), "accessToken")
    }

    pub fn refresh_token(&self) -> String {
        token_field(self.data(), "refreshToken")
    }
}

fn token_field(data: &Value, name: &str) -> String {
    data["tokens"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {data}"))
        .to_owned()
}

/// The test configuration for a data directory: port 0, the known signing key. The database is
/// chosen when a server starts on it (see [`TestServer::start`]).
pub fn config(data_dir: &Path) -> ServerConfig {
    let mut config = ServerConfig::with_data_dir(data_dir);
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.jwt_signing_key = Some(SIGNING_KEY.to_owned());
    config
}

impl TestServer {
    /// A demo-mode server with the known signing key in a fresh directory and database.
    pub async fn demo() -> TestServer {
        TestServer::start_with(|config| config.demo = true).await
    }

    /// A server in a fresh directory (and, on PostgreSQL, a fresh database) it owns.
    pub async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = config(dir.path());
        configure(&mut config);
        let mut server = TestServer::start(config).await;
        server._owned_dir = Some(dir);
        server
    }

    /// A server on a directory the caller owns. On PostgreSQL without a `database_url` it gets
    /// the database of that directory: created at the first start, the same at every later
    /// start in this process, so stopping and starting on one directory is a restart on either
    /// backend.
    pub async fn start(config: ServerConfig) -> TestServer {
        TestServer::start_on_clock(config, Clock::system()).await
    }

    /// [`TestServer::start`] on a given clock, e.g. one a stopped server ran on and the test
    /// moved on while it was down.
    pub async fn start_on_clock(mut config: ServerConfig, clock: Clock) -> TestServer {
        if config.database_url.is_none() && backend() == Backend::Postgres {
            config.database_url = Some(postgres_database_for(&config.data_dir).await);
        }
        let server = serve_with_clock(config.clone(), clock)
            .await
            .expect("server starts");
        TestServer {
            url: server.base_url(),
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            data_dir: config.data_dir.clone(),
            config,
            server,
            _owned_dir: None,
        }
    }

    /// A second instance on this server's database (and data directory, so the same signing
    /// key), on a port of its own: two instances of one deployment. `first` must outlive it
    /// when it owns the directory.
    pub async fn start_sharing_db(first: &TestServer) -> TestServer {
        TestServer::start_sharing_db_with(first, |_| {}).await
    }

    /// [`TestServer::start_sharing_db`] with changes to the copied configuration.
    pub async fn start_sharing_db_with(
        first: &TestServer,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let mut config = first.config.clone();
        config.bind = "127.0.0.1:0".parse().expect("addr");
        configure(&mut config);
        // Two instances of one deployment tell the same time.
        TestServer::start_on_clock(config, first.clock().clone()).await
    }

    /// Stops the server and starts it again on the same directory and database, with the same
    /// configuration (a new port: use the returned server's `url`).
    pub async fn restart(self) -> TestServer {
        self.restart_with(|_| {}).await
    }

    /// [`TestServer::restart`] with changes to the configuration, e.g. `demo` off.
    pub async fn restart_with(self, configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let mut config = self.config.clone();
        let clock = self.clock().clone();
        let owned_dir = self.stop().await;
        configure(&mut config);
        let mut server = TestServer::start_on_clock(config, clock).await;
        server._owned_dir = owned_dir;
        server
    }

    /// Stops the server; returns the directory it owned, so files can be inspected afterwards.
    pub async fn stop(self) -> Option<TempDir> {
        self.server.shutdown().await.expect("clean shutdown");
        self._owned_dir
    }

    /// The server's clock: advance it to let time pass without waiting (token expiry, rate-limit
    /// windows, reminders). It stays with the server across restarts.
    pub fn clock(&self) -> &Clock {
        self.server.clock()
    }

    /// The configuration the server runs with; on PostgreSQL `database_url` names its database.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// A pool on the server's own database (SQLite file or PostgreSQL database), for tests that
    /// look at or change stored rows. Close it when done.
    pub async fn db(&self) -> AnyPool {
        connect(&self.config).await
    }

    /// The same as [`TestServer::db`]; the older name.
    pub async fn database(&self) -> AnyPool {
        self.db().await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.client.post(format!("{}{path}", self.url)).json(&body))
            .await
    }

    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
        let mut request = self.client.post(format!("{}{path}", self.url)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.client.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/auth/login", json!({"email": email, "password": password}))
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.post("/auth/refresh", json!({"refreshToken": refresh_token}))
            .await
    }

    pub async fn logout(&self, access_token: &str) -> Reply {
        self.send(
            self.client
                .post(format!("{}/auth/logout", self.url))
                .bearer_auth(access_token),
        )
        .await
    }

    pub async fn me(&self, access_token: &str) -> Reply {
        self.get("/me", Some(access_token)).await
    }
}

/// A pool on the database a server with this configuration uses, running or not.
pub async fn connect(config: &ServerConfig) -> AnyPool {
    match &config.database_url {
        Some(url) => connect_url(url).await,
        // The server creates the file; a pool for inspection must not.
        None => {
            let url = SqliteConnectOptions::new()
                .filename(config.sqlite_path())
                .to_url_lossy();
            connect_url(url.as_str()).await
        }
    }
}

/// A pool on the database at `url` (`postgres://…` or `sqlite:…`).
pub async fn connect_url(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(4)
        .connect(url)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "cannot open the test database {}: {error}",
                redact_password(url)
            )
        })
}

/// Every non-NULL value in every column of every table but sqlx's own bookkeeping, read as
/// text, as `("table.column", value)`: for asserting what is never stored.
pub async fn stored_values(db: &AnyPool) -> Vec<(String, String)> {
    let postgres = db.acquire().await.expect("connection").backend_name() == "PostgreSQL";
    let tables: Vec<String> = sqlx::query_scalar(if postgres {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations' ORDER BY 1"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite%' AND name <> '_sqlx_migrations' ORDER BY 1"
    })
    .fetch_all(db)
    .await
    .expect("tables");
    assert!(!tables.is_empty(), "no tables found");
    let mut values = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query_scalar(if postgres {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        } else {
            "SELECT name FROM pragma_table_info($1) ORDER BY cid"
        })
        .bind(&table)
        .fetch_all(db)
        .await
        .expect("columns");
        for column in columns {
            let as_text = if postgres {
                format!("CAST(\"{column}\" AS TEXT)")
            } else {
                // Blobs as hex, so every value decodes as UTF-8.
                format!(
                    "CASE typeof(\"{column}\") WHEN 'blob' THEN hex(\"{column}\") \
                     ELSE CAST(\"{column}\" AS TEXT) END"
                )
            };
            let rows: Vec<Option<String>> =
                sqlx::query_scalar(&format!("SELECT {as_text} FROM \"{table}\""))
                    .fetch_all(db)
                    .await
                    .unwrap_or_else(|error| panic!("reading {table}.{column}: {error}"));
            values.extend(
                rows.into_iter()
                    .flatten()
                    .map(|value| (format!("{table}.{column}"), value)),
            );
        }
    }
    values
}

/// The database of a server started with [`config`]`(data_dir)`, running or stopped.
pub async fn database(data_dir: &Path) -> AnyPool {
    let mut config = config(data_dir);
    if backend() == Backend::Postgres {
        let url = POSTGRES_DATABASES
            .lock()
            .expect("registry")
            .get(data_dir)
            .cloned();
        config.database_url =
            Some(url.unwrap_or_else(|| panic!("no server ran on {}", data_dir.display())));
    }
    connect(&config).await
}

/// Data directory → URL of its PostgreSQL database, for restarts within one test.
static POSTGRES_DATABASES: Mutex<BTreeMap<PathBuf, String>> = Mutex::new(BTreeMap::new());

async fn postgres_database_for(data_dir: &Path) -> String {
    let known = POSTGRES_DATABASES
        .lock()
        .expect("registry")
        .get(data_dir)
        .cloned();
    if let Some(url) = known {
        return url;
    }
    let url = create_postgres_database().await;
    POSTGRES_DATABASES
        .lock()
        .expect("registry")
        .entry(data_dir.to_owned())
        .or_insert(url)
        .clone()
}

/// Creates an empty database on the server named by `CONSULT_TEST_POSTGRES_URL` and returns a
/// URL for it (same user and password). Panics, loudly, when there is no such server.
pub async fn create_postgres_database() -> String {
    let admin_url = std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| {
        panic!(
            "{DATABASE_ENV}=postgres needs {POSTGRES_URL_ENV}, a superuser URL of a PostgreSQL \
             server; scripts/with-postgres starts one and sets it"
        )
    });
    let mut admin = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(&admin_url))
        .await
        .map_err(|_| format!("no answer in {CONNECT_TIMEOUT:?}"))
        .and_then(|connected| connected.map_err(|error| error.to_string()))
        .unwrap_or_else(|error| {
            panic!(
                "cannot connect to {POSTGRES_URL_ENV}={}: {error}",
                redact_password(&admin_url)
            )
        });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    drop_stale_databases(&mut admin, now).await;
    let name = format!("{DATABASE_PREFIX}{now}_{:016x}", rand::random::<u64>());
    // Copying the files of the pristine template0 is about twice as fast as the default
    // (template1 through the WAL); PostgreSQL 15 added the choice.
    let version: String = sqlx::query_scalar("SELECT current_setting('server_version_num')")
        .fetch_one(&mut admin)
        .await
        .expect("server version");
    let strategy = if version.parse::<u32>().is_ok_and(|v| v >= 150_000) {
        " STRATEGY FILE_COPY"
    } else {
        ""
    };
    admin
        .execute(format!("CREATE DATABASE {name} TEMPLATE template0{strategy}").as_str())
        .await
        .unwrap_or_else(|error| panic!("cannot create database {name}: {error}"));
    admin.close().await.ok();
    with_database(&admin_url, &name)
}

/// Best effort: drops databases of earlier runs that died before the cluster did (only matters
/// on a long-lived server; `scripts/with-postgres` deletes its whole cluster).
async fn drop_stale_databases(admin: &mut PgConnection, now: u64) {
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
    )
    .bind(DATABASE_PREFIX)
    .fetch_all(&mut *admin)
    .await
    else {
        return;
    };
    for name in names {
        let created = name[DATABASE_PREFIX.len()..]
            .split('_')
            .next()
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|created| created + STALE_DATABASE_SECS < now) {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// `url` with its database replaced by `name`; the rest (user, password, host, parameters)
/// stays.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |at| at + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |at| authority + at);
    let mut out = format!("{}/{name}", &base[..path]);
    let params: Vec<&str> = query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .filter(|param| !param.is_empty() && !param.starts_with("dbname="))
        .collect();
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// For messages: `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let authority = url.find("://").map_or(0, |at| at + 3);
    let Some(at) = url[authority..].find('@').map(|at| authority + at) else {
        return url.to_owned();
    };
    match url[authority..at].find(':') {
        Some(colon) => format!("{}:***{}", &url[..authority + colon], &url[at..]),
        None => url.to_owned(),
    }
}

#[test]
fn database_urls_are_rewritten_and_redacted() {
    assert_eq!(
        with_database("postgres://postgres:pw@127.0.0.1:5433/postgres", "db1"),
        "postgres://postgres:pw@127.0.0.1:5433/db1"
    );
    assert_eq!(
        with_database("postgresql://u@h?sslmode=disable&dbname=x", "db2"),
        "postgresql://u@h/db2?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres:///postgres?host=/run/postgresql", "db3"),
        "postgres:///db3?host=/run/postgresql"
    );
    assert_eq!(
        redact_password("postgres://postgres:secret@127.0.0.1:5433/postgres"),
        "postgres://postgres:***@127.0.0.1:5433/postgres"
    );
    assert_eq!(redact_password("postgres://u@h/db"), "postgres://u@h/db");
}

/// A proptest runner for the API's property tests: `default_cases` cases (`PROPTEST_CASES`
/// overrides it, for a longer run by hand), no failure files, shrinking capped because each
/// case is a series of HTTP requests.
pub fn proptest_runner(
    default_cases: u32,
    max_shrink_iters: u32,
) -> proptest::test_runner::TestRunner {
    proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(default_cases),
        failure_persistence: None,
        max_shrink_iters,
        ..proptest::test_runner::Config::default()
    })
}
