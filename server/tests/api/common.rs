//! A server per test, plus small helpers for requests, envelopes and the database.

use std::path::{Path, PathBuf};

use consult_server::{serve, RunningServer, ServerConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use tempfile::TempDir;

/// Known to the tests so they can forge tokens that differ from genuine ones in one way only.
pub const SIGNING_KEY: &str = "integration-test-signing-key-0123456789abcdef";
pub const DEMO_PASSWORD: &str = "consult-demo";
pub const DOCTOR: &str = "doctor@demo.clinic";
pub const PATIENT: &str = "patient@demo.clinic";

pub struct TestServer {
    pub url: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
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

pub fn config(data_dir: &Path) -> ServerConfig {
    let mut config = ServerConfig::with_data_dir(data_dir);
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.jwt_signing_key = Some(SIGNING_KEY.to_owned());
    config
}

impl TestServer {
    /// A demo-mode server with the known signing key in a fresh directory.
    pub async fn demo() -> TestServer {
        TestServer::start_with(|config| config.demo = true).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = config(dir.path());
        configure(&mut config);
        let mut server = TestServer::start(config).await;
        server._owned_dir = Some(dir);
        server
    }

    /// A server on a directory the caller owns (for restarts).
    pub async fn start(config: ServerConfig) -> TestServer {
        let data_dir = config.data_dir.clone();
        let server = serve(config).await.expect("server starts");
        TestServer {
            url: server.base_url(),
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
            data_dir,
            server,
            _owned_dir: None,
        }
    }

    /// Stops the server; returns the directory it owned, so files can be inspected afterwards.
    pub async fn stop(self) -> Option<TempDir> {
        self.server.shutdown().await.expect("clean shutdown");
        self._owned_dir
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

    /// The server's SQLite database, opened beside it (WAL allows that).
    pub async fn database(&self) -> SqlitePool {
        database(&self.data_dir).await
    }
}

pub async fn database(data_dir: &Path) -> SqlitePool {
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(data_dir.join("consult.db")))
        .await
        .expect("open sqlite")
}
