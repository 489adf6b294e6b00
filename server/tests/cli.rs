//! The `consult-server` binary as a process: its flags, its startup line on stdout, logs on
//! stderr that never carry a secret, and a clean exit on SIGTERM.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Child;

mod support;
use support::server_command as command;

const DEMO_PASSWORD: &str = "consult-demo";

#[tokio::test]
async fn help_describes_every_flag_and_its_variable() {
    let output = command(&["--help"]).output().await.expect("run --help");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("utf-8");
    for (flag, variable) in [
        ("--config", "CONSULT_SERVER_CONFIG"),
        ("--bind", "CONSULT_SERVER_BIND"),
        ("--data-dir", "CONSULT_SERVER_DATA_DIR"),
        ("--database-url", "CONSULT_SERVER_DATABASE_URL"),
        ("--demo", "CONSULT_SERVER_DEMO"),
        (
            "--access-token-ttl-secs",
            "CONSULT_SERVER_ACCESS_TOKEN_TTL_SECS",
        ),
        (
            "--refresh-token-ttl-secs",
            "CONSULT_SERVER_REFRESH_TOKEN_TTL_SECS",
        ),
        ("--log", "CONSULT_SERVER_LOG"),
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
        assert!(help.contains(variable), "--help lacks {variable}:\n{help}");
    }
    assert!(help.contains("CONSULT_SERVER_JWT_SIGNING_KEY"));
    assert!(
        help.contains("check-jitsi"),
        "--help lacks check-jitsi:\n{help}"
    );
}

#[tokio::test]
async fn bad_configuration_exits_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.toml");
    let output = command(&["--config", &missing.to_string_lossy()])
        .output()
        .await
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        output.stdout.is_empty(),
        "nothing on stdout when not listening"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.toml"), "stderr: {stderr}");
}

#[tokio::test]
async fn announces_serves_and_stops_on_sigterm_without_logging_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = command(&[
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        &dir.path().to_string_lossy(),
        "--demo",
        "--log",
        "debug",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true)
    .spawn()
    .expect("spawn");

    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stderr = child.stderr.take().expect("stderr");
    let logs = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.map(|_| text)
    });

    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .expect("startup line within 30 s")
        .expect("read stdout")
        .expect("a line");
    let url = line
        .strip_prefix("consult-server listening on http://127.0.0.1:")
        .map(|port| {
            assert!(port.parse::<u16>().is_ok_and(|p| p != 0), "line: {line}");
            format!("http://127.0.0.1:{port}")
        })
        .unwrap_or_else(|| panic!("unexpected startup line: {line}"));

    let secrets = exercise(&url).await;

    terminate(&child);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits within 30 s of SIGTERM")
        .expect("wait");
    assert!(status.success(), "exit status {status}");
    assert_eq!(
        stdout.next_line().await.expect("read stdout"),
        None,
        "exactly one line on stdout"
    );

    let logs = logs.await.expect("join").expect("read stderr");
    assert!(logs.contains("login succeeded"), "logs: {logs}");
    assert!(logs.contains("refresh token reused"), "logs: {logs}");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
    }
    assert_no_password_hash(&logs);
    assert_key_not_logged(dir.path(), &logs);
}

/// Logs in, fails a login, rotates, reuses and logs out; returns every secret seen or sent.
async fn exercise(url: &str) -> Vec<String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let post = |path: &str, body: Value, token: Option<&str>| {
        let mut request = client.post(format!("{url}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        }
    };
    let tokens = |body: &Value| {
        let field = |name: &str| {
            body["data"]["tokens"][name]
                .as_str()
                .expect("token")
                .to_owned()
        };
        (field("accessToken"), field("refreshToken"))
    };

    let health = client
        .get(format!("{url}/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status().as_u16(), 200);

    let credentials = json!({"email": "doctor@demo.clinic", "password": DEMO_PASSWORD});
    let (status, login) = post("/auth/login", credentials.clone(), None).await;
    assert_eq!(status, 200, "{login}");
    let (access, refresh) = tokens(&login);

    let wrong = json!({"email": "doctor@demo.clinic", "password": "Wrong-Pass-Unique-42"});
    assert_eq!(post("/auth/login", wrong, None).await.0, 401);

    let (status, rotated) = post("/auth/refresh", json!({"refreshToken": refresh}), None).await;
    assert_eq!(status, 200, "{rotated}");
    let (rotated_access, rotated_refresh) = tokens(&rotated);
    // Once its successor is used too, the first token coming back is reuse (no retry grace).
    let (status, third) = post(
        "/auth/refresh",
        json!({"refreshToken": rotated_refresh}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{third}");
    let (third_access, third_refresh) = tokens(&third);
    let (status, reused) = post("/auth/refresh", json!({"refreshToken": refresh}), None).await;
    assert_eq!(
        (status, &reused["error"]["code"]),
        (401, &json!("refresh_token_reused"))
    );

    let (status, second) = post("/auth/login", credentials, None).await;
    assert_eq!(status, 200);
    let (second_access, second_refresh) = tokens(&second);
    let (status, _) = post("/auth/logout", json!({}), Some(&second_access)).await;
    assert_eq!(status, 200);

    vec![
        DEMO_PASSWORD.to_owned(),
        "Wrong-Pass-Unique-42".to_owned(),
        access,
        refresh,
        rotated_access,
        rotated_refresh,
        third_access,
        third_refresh,
        second_access,
        second_refresh,
    ]
}

fn terminate(child: &Child) {
    let pid = child.id().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(sent.success());
}

fn assert_no_password_hash(logs: &str) {
    assert!(
        !logs.contains("$argon2"),
        "a password hash reached the logs"
    );
}

fn assert_key_not_logged(data_dir: &Path, logs: &str) {
    let key = std::fs::read_to_string(data_dir.join("jwt-signing-key")).expect("key");
    assert!(
        !logs.contains(key.trim()),
        "the signing key reached the logs"
    );
}
