//! No token or secret in any log line, nor anywhere else the server writes: the real
//! `consult-server` binary runs with debug logging and a Jitsi deployment configured with a
//! known secret, a full flow drives it over HTTP (logins, a refresh, a kiosk's device login, a
//! booking, a join request and its approval, meeting tokens, a meeting link, an event stream, a
//! logout, a failed login), and afterwards its stdout, its stderr, every file in its data
//! directory (the SQLite database, WAL and shared-memory files, read as bytes) and the audit
//! trail are searched for every access token, refresh token, meeting token, password and secret
//! the run saw. (What is stored at rest in general is `tests/api/storage.rs`'s business.)

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

mod support;
use support::server_command;

const DEMO_PASSWORD: &str = "consult-demo";
const WRONG_PASSWORD: &str = "Wrong-Password-For-The-Log-Scan-8812";
const DEMO_DEVICE_ID: &str = "dev_demo_kiosk";
const DEMO_DEVICE_SECRET: &str = "consult-demo-kiosk";
const JITSI_SECRET: &str = "log-scan-jitsi-app-secret-5f0c2a9e7d41b3860e";
const SIGNING_KEY: &str = "log-scan-access-token-signing-key-7b1e94c0d2";

/// A secret and where it came from, for the failure message.
struct Secret {
    what: String,
    value: String,
}

#[derive(Default)]
struct Secrets(Vec<Secret>);

impl Secrets {
    fn add(&mut self, what: impl Into<String>, value: &str) {
        assert!(value.len() >= 12, "too short to search for: {value:?}");
        let what = what.into();
        // A JWT's signature alone is as good as a secret too (its header and claims are not).
        let parts: Vec<&str> = value.split('.').collect();
        if parts.len() == 3 && parts[2].len() >= 16 {
            self.0.push(Secret {
                what: format!("{what} (signature)"),
                value: parts[2].to_owned(),
            });
        }
        self.0.push(Secret {
            what,
            value: value.to_owned(),
        });
    }

    /// Every secret found in `haystack`, as "what in where".
    fn find_in(&self, place: &str, haystack: &[u8]) -> Vec<String> {
        self.0
            .iter()
            .filter(|secret| contains(haystack, secret.value.as_bytes()))
            .map(|secret| format!("{} in {place}", secret.what))
            .collect()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The demo server at debug level, with only this test's configuration.
fn command(data_dir: &Path) -> Command {
    let mut command = server_command(&[
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir.to_string_lossy(),
        "--demo",
        "--log",
        "debug",
    ]);
    command
        .env("CONSULT_SERVER_JWT_SIGNING_KEY", SIGNING_KEY)
        .env(
            "CONSULT_SERVER_JITSI__SERVER_URL",
            "https://meet.logscan.test",
        )
        .env("CONSULT_SERVER_JITSI__APP_ID", "consult-log-scan")
        .env("CONSULT_SERVER_JITSI__APP_SECRET", JITSI_SECRET)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

struct Api {
    url: String,
    client: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let (status, body) = self
            .call(reqwest::Method::POST, path, token, Some(body))
            .await;
        assert_eq!(status, 200, "POST {path}: {body}");
        body["data"].clone()
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let (status, body) = self
            .call(reqwest::Method::GET, path, Some(token), None)
            .await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body["data"].clone()
    }
}

/// Signs in and records the pair.
async fn login(api: &Api, secrets: &mut Secrets, email: &str) -> (String, String, String) {
    let data = api
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": DEMO_PASSWORD}),
        )
        .await;
    session(secrets, &format!("login of {email}"), &data)
}

/// (user id, access token, refresh token) of a login answer, recorded as secrets.
fn session(secrets: &mut Secrets, what: &str, data: &Value) -> (String, String, String) {
    let field = |name: &str| {
        data["tokens"][name]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no {name} in {data}"))
            .to_owned()
    };
    let (access, refresh) = (field("accessToken"), field("refreshToken"));
    secrets.add(format!("access token of {what}"), &access);
    secrets.add(format!("refresh token of {what}"), &refresh);
    let user = data["user"]["id"].as_str().expect("user id").to_owned();
    (user, access, refresh)
}

/// The whole flow; returns every secret it saw or sent, and the audit trail as text.
async fn exercise(api: &Api) -> (Secrets, String) {
    let mut secrets = Secrets::default();
    secrets.add("the demo password", DEMO_PASSWORD);
    secrets.add("the wrong password", WRONG_PASSWORD);
    secrets.add("the demo kiosk's device secret", DEMO_DEVICE_SECRET);
    secrets.add("the Jitsi app secret", JITSI_SECRET);
    secrets.add("the access-token signing key", SIGNING_KEY);

    let (doctor_id, _, doctor_refresh) = login(api, &mut secrets, "doctor@demo.clinic").await;
    let (patient_id, patient, _) = login(api, &mut secrets, "patient@demo.clinic").await;
    let (agency_id, agency, _) = login(api, &mut secrets, "agency@demo.clinic").await;
    let (_, admin, _) = login(api, &mut secrets, "admin@demo.clinic").await;

    // The doctor's session rotates; the new pair is the one used from here on.
    let rotated = api
        .post(
            "/auth/refresh",
            None,
            json!({"refreshToken": doctor_refresh}),
        )
        .await;
    let (_, doctor, _) = session(&mut secrets, "the doctor's refresh", &rotated);

    let kiosk = api
        .post(
            "/auth/device-login",
            None,
            json!({"deviceId": DEMO_DEVICE_ID, "deviceSecret": DEMO_DEVICE_SECRET}),
        )
        .await;
    let (_, kiosk, _) = session(&mut secrets, "the kiosk's device login", &kiosk);
    api.get("/me", &kiosk).await;

    let start =
        OffsetDateTime::now_utc().replace_nanosecond(0).expect("ns") + Duration::from_secs(600);
    let appointment = api
        .post(
            "/appointments",
            Some(&doctor),
            json!({
                "doctorId": doctor_id,
                "patientId": patient_id,
                "agencyId": agency_id,
                "startTime": start.format(&Rfc3339).expect("time"),
                "endTime": (start + Duration::from_secs(1800)).format(&Rfc3339).expect("time"),
                "callType": "video",
            }),
        )
        .await;
    let appointment_id = appointment["id"].as_str().expect("id").to_owned();
    let session_id = appointment["sessionId"].as_str().expect("sid").to_owned();

    let request = api
        .post(
            &format!("/appointments/{appointment_id}/join-requests"),
            Some(&agency),
            json!({}),
        )
        .await;
    let request_id = request["id"].as_str().expect("id").to_owned();
    let approved = api
        .post(
            &format!("/join-requests/{request_id}/approve"),
            Some(&doctor),
            json!({}),
        )
        .await;
    assert_eq!(approved["status"], "approved");

    for (who, token) in [
        ("doctor", &doctor),
        ("agency", &agency),
        ("patient", &patient),
    ] {
        let call = api.get(&format!("/sessions/{session_id}/jwt"), token).await;
        let jwt = call["jitsiToken"].as_str().expect("jitsi token");
        secrets.add(format!("the {who}'s meeting token"), jwt);
    }
    let link = api
        .get(&format!("/meetings/{appointment_id}/link"), &patient)
        .await;
    let meeting_url = link["meetingUrl"].as_str().expect("meeting url");
    let jwt = url::Url::parse(meeting_url)
        .expect("url")
        .query_pairs()
        .find(|(name, _)| name == "jwt")
        .map(|(_, value)| value.into_owned())
        .expect("the link carries a token");
    secrets.add("the patient's meeting link token", &jwt);
    secrets.add("the patient's meeting link", meeting_url);

    // An event stream: read its first message, then hang up.
    let mut stream = api
        .client
        .get(format!("{}/events", api.url))
        .bearer_auth(&agency)
        .send()
        .await
        .expect("events");
    assert_eq!(stream.status().as_u16(), 200);
    let first = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
        .await
        .expect("a first event within 10 s")
        .expect("read")
        .expect("a chunk");
    assert!(
        String::from_utf8_lossy(&first).contains("ready"),
        "{first:?}"
    );
    drop(stream);

    api.get("/notifications", &agency).await;

    let (status, failed) = api
        .call(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": "doctor@demo.clinic", "password": WRONG_PASSWORD})),
        )
        .await;
    assert_eq!(status, 401, "{failed}");
    // A forged token and a garbage refresh token are refused; their text is no secret.
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refreshToken": "not-a-real-refresh-token"})),
        )
        .await;
    assert_eq!(status, 401);

    let (status, out) = api
        .call(reqwest::Method::POST, "/auth/logout", Some(&doctor), None)
        .await;
    assert_eq!(status, 200, "{out}");
    let (status, _) = api
        .call(reqwest::Method::GET, "/me", Some(&doctor), None)
        .await;
    assert_eq!(status, 401, "a logged-out token is refused");

    let audit = api.get("/audit?limit=1000", &admin).await;
    let actions: Vec<&str> = audit
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|row| row["action"].as_str())
        .collect();
    for action in [
        "auth.login_succeeded",
        "auth.login_failed",
        "auth.token_issued",
        "auth.logout",
        "join_request.decided",
        "jitsi.token_issued",
    ] {
        assert!(
            actions.contains(&action),
            "no {action} in the audit trail: {actions:?}"
        );
    }
    (secrets, audit.to_string())
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn no_secret_reaches_the_logs_the_data_directory_or_the_audit_trail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = command(dir.path()).spawn().expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr = tokio::spawn(async move {
        let mut bytes = Vec::new();
        stderr.read_to_end(&mut bytes).await.map(|_| bytes)
    });

    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line))
        .await
        .expect("startup line within 30 s")
        .expect("read stdout");
    let url = line
        .trim()
        .strip_prefix("consult-server listening on ")
        .unwrap_or_else(|| panic!("unexpected startup line: {line}"))
        .to_owned();
    let api = Api {
        url,
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
    };

    let (secrets, audit) = exercise(&api).await;

    let pid = child.id().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits within 30 s of SIGTERM")
        .expect("wait");
    assert!(status.success(), "exit status {status}");
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).await.expect("read stdout");
    let stdout = [line.as_bytes(), &rest].concat();
    let stderr = stderr.await.expect("join").expect("read stderr");

    // The scan must see what it scans: debug logging is on, and requests were logged.
    let logs = String::from_utf8_lossy(&stderr);
    assert!(logs.contains("DEBUG"), "no debug lines: {logs}");
    assert!(
        logs.contains("/join-requests/"),
        "requests are not logged: {logs}"
    );

    let mut found = Vec::new();
    found.extend(secrets.find_in("stdout", &stdout));
    found.extend(secrets.find_in("stderr", &stderr));
    found.extend(secrets.find_in("the audit trail (GET /audit)", audit.as_bytes()));
    let files = files_under(dir.path());
    assert!(
        files
            .iter()
            .any(|f| f.file_name().is_some_and(|n| n == "consult.db")),
        "no database in {files:?}"
    );
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        found.extend(secrets.find_in(&file.display().to_string(), &bytes));
    }
    // Positive control: the search does find what is there.
    assert!(!secrets
        .find_in("a control", format!("x{JITSI_SECRET}x").as_bytes())
        .is_empty());
    assert!(found.is_empty(), "secrets found:\n{}", found.join("\n"));
}
