//! `consult-server check-jitsi` and the start-up check, as processes, against a fake Jitsi
//! deployment served over HTTPS by the test: a per-test CA the binary trusts through
//! `SSL_CERT_FILE` (the system store's override), `config.js` in jitsi-meet's or
//! docker-jitsi-meet's own format, and `external_api.js`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::Command;

mod support;
use support::{server_command, TestPki};

const APP_SECRET: &str = "check-jitsi-test-app-secret-of-32-bytes-or-more";

/// jitsi-meet's own `config.js` (as Debian ships it) for a deployment whose XMPP domain is its
/// public host, `localhost` here: the fixture's example domain replaced.
fn jitsi_meet_config_js() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        include_str!("fixtures/jitsi-meet-config.js").replace("jitsi-meet.example.com", "localhost")
    })
}

/// docker-jitsi-meet's generated `config.js` with its default XMPP domain, `meet.jitsi`.
const DOCKER_CONFIG_JS: &str = include_str!("fixtures/docker-jitsi-meet-config.js");

const EXTERNAL_API_JS: &str =
    "!function(e,t){\"object\"==typeof exports?module.exports=t():e.JitsiMeetExternalAPI=t()}(this,function(){});";

/// A fake deployment: `https://localhost:<port>` serving `files`, or answering nothing at all.
struct FakeJitsi {
    url: String,
    /// The CA's certificate, for `SSL_CERT_FILE`.
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

enum Serve {
    Files(Vec<(&'static str, &'static str)>),
    /// Accepts TLS and then never answers: a hung deployment.
    Silence,
}

impl FakeJitsi {
    async fn start(serve: Serve) -> FakeJitsi {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = TestPki::generate();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem).expect("write CA");

        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(pki.leaf_key_der),
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![pki.leaf_der.into(), pki.ca_der.into()], key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let silent = matches!(serve, Serve::Silence);
        let files: Arc<HashMap<&str, &str>> = Arc::new(match serve {
            Serve::Files(files) => files.into_iter().collect(),
            Serve::Silence => HashMap::new(),
        });
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let files = files.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    if silent {
                        tokio::time::sleep(Duration::from_secs(120)).await;
                        return;
                    }
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let request = String::from_utf8_lossy(&request);
                    let path = request.split_whitespace().nth(1).unwrap_or("/");
                    let (status, body) = match files.get(path) {
                        Some(body) => ("200 OK", *body),
                        None => ("404 Not Found", "<html><body>404 Not Found</body></html>"),
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/javascript\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        FakeJitsi {
            url: format!("https://localhost:{port}"),
            ca_file,
            _dir: dir,
        }
    }
}

/// The binary configured for `jitsi_url` through the environment, trusting `ca_file` as the
/// system store, with none of the developer's `CONSULT_SERVER_*`, certificate or proxy variables.
fn command(data_dir: &Path, jitsi_url: &str, ca_file: Option<&Path>) -> Command {
    let mut command = server_command(&[]);
    for (name, _) in std::env::vars_os() {
        let lower = name.to_string_lossy().to_ascii_lowercase();
        if lower.starts_with("ssl_cert") || lower.contains("proxy") {
            command.env_remove(name);
        }
    }
    if let Some(ca_file) = ca_file {
        command.env("SSL_CERT_FILE", ca_file);
    }
    command
        .env("CONSULT_SERVER_DATA_DIR", data_dir)
        .env("CONSULT_SERVER_JITSI__SERVER_URL", jitsi_url)
        .env("CONSULT_SERVER_JITSI__APP_ID", "consult")
        .env("CONSULT_SERVER_JITSI__APP_SECRET", APP_SECRET)
        .kill_on_drop(true);
    command
}

async fn check_jitsi(command: &mut Command) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = tokio::time::timeout(Duration::from_secs(60), command.arg("check-jitsi").output())
        .await
        .expect("check-jitsi within 60 s")
        .expect("run check-jitsi");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_deployment_whose_xmpp_domain_is_its_host_is_ok() {
    let jitsi = FakeJitsi::start(Serve::Files(vec![
        ("/config.js", jitsi_meet_config_js()),
        ("/external_api.js", EXTERNAL_API_JS),
    ]))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) =
        check_jitsi(&mut command(dir.path(), &jitsi.url, Some(&jitsi.ca_file))).await;
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("OK       sub (XMPP domain): the server mints sub = \"localhost\""),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "OK       external_api.js: served at {}/external_api.js",
            jitsi.url
        )),
        "{stdout}"
    );
    assert!(stdout.contains("Verdict: OK"), "{stdout}");
}

#[tokio::test]
async fn docker_jitsi_meets_default_domain_needs_subject_and_says_so() {
    let jitsi = FakeJitsi::start(Serve::Files(vec![
        ("/config.js", DOCKER_CONFIG_JS),
        ("/external_api.js", EXTERNAL_API_JS),
    ]))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) =
        check_jitsi(&mut command(dir.path(), &jitsi.url, Some(&jitsi.ca_file))).await;
    assert_eq!(code, Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains(
            "PROBLEM  sub (XMPP domain): the server mints sub = \"localhost\" (the host of \
             [jitsi] server_url, since subject is not set) but the deployment's XMPP domain is \
             \"meet.jitsi\""
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "Fix: set [jitsi] subject = \"meet.jitsi\" (or CONSULT_SERVER_JITSI__SUBJECT=meet.jitsi)"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("OK       external_api.js"), "{stdout}");
    assert!(stdout.contains("Verdict: NOT OK, 1 problem."), "{stdout}");
}

#[tokio::test]
async fn a_subject_set_to_the_xmpp_domain_is_ok_from_the_config_file() {
    let jitsi = FakeJitsi::start(Serve::Files(vec![
        ("/config.js", DOCKER_CONFIG_JS),
        ("/external_api.js", EXTERNAL_API_JS),
    ]))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("server.toml");
    std::fs::write(&file, "[jitsi]\nsubject = \"meet.jitsi\"\n").expect("write config");
    let mut command = command(dir.path(), &jitsi.url, Some(&jitsi.ca_file));
    // After the subcommand: --config is global.
    let (code, stdout, stderr) = tokio::time::timeout(
        Duration::from_secs(60),
        command
            .args(["check-jitsi", "--config"])
            .arg(&file)
            .output(),
    )
    .await
    .map(|output| {
        let output = output.expect("run");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .expect("within 60 s");
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains(
            "OK       sub (XMPP domain): the server mints sub = \"meet.jitsi\" ([jitsi] subject)"
        ),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_missing_config_js_is_said_with_what_to_check() {
    let jitsi = FakeJitsi::start(Serve::Files(vec![("/external_api.js", EXTERNAL_API_JS)])).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, _) =
        check_jitsi(&mut command(dir.path(), &jitsi.url, Some(&jitsi.ca_file))).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "PROBLEM  sub (XMPP domain): cannot read {}/config.js (it answered HTTP 404), so the \
             deployment's XMPP domain is unknown",
            jitsi.url
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("check that [jitsi] server_url is the Jitsi Meet web address"),
        "{stdout}"
    );
    assert!(
        stdout.contains("XMPP_DOMAIN, default \"meet.jitsi\""),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_missing_external_api_is_said() {
    let jitsi = FakeJitsi::start(Serve::Files(vec![("/config.js", jitsi_meet_config_js())])).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, _) =
        check_jitsi(&mut command(dir.path(), &jitsi.url, Some(&jitsi.ca_file))).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("OK       sub (XMPP domain)"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "PROBLEM  external_api.js: cannot read {}/external_api.js: it answered HTTP 404",
            jitsi.url
        )),
        "{stdout}"
    );
}

#[tokio::test]
async fn only_the_systems_trust_store_is_trusted() {
    let jitsi = FakeJitsi::start(Serve::Files(vec![
        ("/config.js", jitsi_meet_config_js()),
        ("/external_api.js", EXTERNAL_API_JS),
    ]))
    .await;
    // The system's store (SSL_CERT_FILE) holds another CA, not the deployment's: independent of
    // what this machine's own store holds.
    let other = FakeJitsi::start(Serve::Files(Vec::new())).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stdout, _) =
        check_jitsi(&mut command(dir.path(), &jitsi.url, Some(&other.ca_file))).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("certificate"), "{stdout}");
    assert!(stdout.contains("Verdict: NOT OK, 2 problems."), "{stdout}");
}

#[tokio::test]
async fn on_jaas_the_tenant_is_sub_and_only_external_api_is_checked() {
    // No config.js: on JaaS it is not read at all.
    let jitsi = FakeJitsi::start(Serve::Files(vec![("/external_api.js", EXTERNAL_API_JS)])).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = command(dir.path(), &jitsi.url, Some(&jitsi.ca_file));
    command
        .env_remove("CONSULT_SERVER_JITSI__APP_SECRET")
        .env("CONSULT_SERVER_JITSI__FLAVOR", "jaas")
        .env("CONSULT_SERVER_JITSI__ALGORITHM", "rs256")
        .env("CONSULT_SERVER_JITSI__APP_ID", "vpaas-magic-cookie-abc123")
        .env("CONSULT_SERVER_JITSI__KEY_ID", "key1")
        // Not read by the check.
        .env(
            "CONSULT_SERVER_JITSI__PRIVATE_KEY_FILE",
            "/nonexistent/jaas.pem",
        );
    let (code, stdout, stderr) = check_jitsi(&mut command).await;
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains(
            "SKIPPED  sub (XMPP domain): on JaaS sub is the tenant \"vpaas-magic-cookie-abc123\""
        ),
        "{stdout}"
    );
    assert!(stdout.contains("OK       external_api.js"), "{stdout}");
}

#[tokio::test]
async fn without_a_jitsi_table_there_is_nothing_to_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = command(dir.path(), "unused", None);
    command
        .env_remove("CONSULT_SERVER_JITSI__SERVER_URL")
        .env_remove("CONSULT_SERVER_JITSI__APP_ID")
        .env_remove("CONSULT_SERVER_JITSI__APP_SECRET");
    let (code, stdout, stderr) = check_jitsi(&mut command).await;
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stderr.contains("no [jitsi] table is configured"),
        "{stderr}"
    );
}

/// Starts the server once it prints its listening line; returns its stderr lines as they come.
async fn start_server(
    command: &mut Command,
) -> (
    tokio::process::Child,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let mut child = command
        .args(["--bind", "127.0.0.1:0", "--demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let (lines, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .expect("listening within 30 s")
        .expect("read stdout")
        .expect("a line");
    assert!(line.starts_with("consult-server listening on "), "{line}");
    (child, receiver)
}

/// Waits for a stderr line containing `needle`; returns it and the lines before it, or panics
/// with what was seen.
async fn wait_for_line(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    needle: &str,
    within: Duration,
) -> (String, Vec<String>) {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(within, async {
        while let Some(line) = lines.recv().await {
            if line.contains(needle) {
                return Some(line);
            }
            seen.push(line);
        }
        None
    })
    .await;
    match found {
        Ok(Some(line)) => (line, seen),
        _ => panic!(
            "no log line with {needle:?} within {within:?}; saw:\n{}",
            seen.join("\n")
        ),
    }
}

#[tokio::test]
async fn the_server_warns_at_start_up_with_what_to_set() {
    let jitsi = FakeJitsi::start(Serve::Files(vec![
        ("/config.js", DOCKER_CONFIG_JS),
        ("/external_api.js", EXTERNAL_API_JS),
    ]))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = command(dir.path(), &jitsi.url, Some(&jitsi.ca_file));
    let (_child, mut lines) = start_server(&mut command).await;
    let (warning, _) =
        wait_for_line(&mut lines, "Jitsi deployment:", Duration::from_secs(20)).await;
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("\"meet.jitsi\""), "{warning}");
    assert!(
        warning.contains("Fix: set [jitsi] subject = \"meet.jitsi\""),
        "{warning}"
    );
    assert!(!warning.contains(APP_SECRET), "{warning}");
}

#[tokio::test]
async fn a_hung_deployment_neither_delays_nor_stops_the_server() {
    let jitsi = FakeJitsi::start(Serve::Silence).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = command(dir.path(), &jitsi.url, Some(&jitsi.ca_file));
    let (_child, mut lines) = start_server(&mut command).await;
    // The server answers while the check still waits for the deployment.
    let (listening, before) = wait_for_line(&mut lines, "listening", Duration::from_secs(5)).await;
    assert!(
        !before.iter().any(|line| line.contains("Jitsi deployment")),
        "the check ran before the server listened:\n{}",
        before.join("\n")
    );
    let addr = listening
        .split("local_addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("local_addr in the log")
        .to_owned();
    let started = Instant::now();
    let health = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status().as_u16(), 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    // Then the check gives up after its short timeout, as a warning.
    let (warning, _) =
        wait_for_line(&mut lines, "Jitsi deployment:", Duration::from_secs(20)).await;
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains("no answer within 5 s"), "{warning}");
}
