//! Built-in HTTPS (`[tls]`): the binary announces `https://`, answers a client that trusts the
//! certificate's CA, is refused by one that does not, and a missing or unusable file is a
//! start-up error that names it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use consult_server::tls::TlsConfig;
use consult_server::{serve, ServerConfig};
use tokio::io::{AsyncBufReadExt, BufReader};

mod support;
use support::{assert_healthy, listening_url, server_command, TestPki};

/// A CA, and a certificate it signed for 127.0.0.1 and localhost, written as PEM files.
struct Pki {
    ca_pem: String,
    cert_file: PathBuf,
    key_file: PathBuf,
}

fn pki(dir: &Path, name: &str) -> Pki {
    let pki = TestPki::generate();
    let cert_file = dir.join(format!("{name}-cert.pem"));
    let key_file = dir.join(format!("{name}-key.pem"));
    std::fs::write(&cert_file, &pki.leaf_pem).expect("write cert");
    std::fs::write(&key_file, &pki.leaf_key_pem).expect("write key");
    Pki {
        ca_pem: pki.ca_pem,
        cert_file,
        key_file,
    }
}

fn client(trusted_ca: Option<&str>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10));
    if let Some(ca) = trusted_ca {
        builder = builder
            .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("CA"));
    }
    builder.build().expect("client")
}

fn quote(path: &Path) -> String {
    serde_json::to_string(&path.display().to_string()).expect("quote")
}

#[tokio::test]
async fn the_binary_serves_https_to_clients_that_trust_its_ca_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = pki(dir.path(), "server");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "bind = \"127.0.0.1:0\"\n[tls]\ncert_file = {}\nkey_file = {}\n",
            quote(&pki.cert_file),
            quote(&pki.key_file)
        ),
    )
    .expect("write config");
    let data = dir.path().join("data");
    let mut child = server_command(&[
        "--config",
        &config.to_string_lossy(),
        "--data-dir",
        &data.to_string_lossy(),
        // Its administrator reads the audit trail below.
        "--demo",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .kill_on_drop(true)
    .spawn()
    .expect("spawn");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = listening_url(&mut stdout).await;
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let trusting = client(Some(&pki.ca_pem));
    assert_healthy(&trusting, &url).await;
    // The client's address reaches the handlers over TLS too (ConnectInfo): the audit trail
    // records it for a failed login.
    let failed = trusting
        .post(format!("{url}/auth/login"))
        .json(&serde_json::json!({"email": "nobody@example.org", "password": "not-the-password"}))
        .send()
        .await
        .expect("POST /auth/login");
    assert_eq!(failed.status(), reqwest::StatusCode::UNAUTHORIZED);
    let admin: serde_json::Value = trusting
        .post(format!("{url}/auth/login"))
        .json(&serde_json::json!({"email": "admin@demo.clinic", "password": "consult-demo"}))
        .send()
        .await
        .expect("admin login")
        .json()
        .await
        .expect("JSON");
    let token = admin["data"]["tokens"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token: {admin}"));
    let audit: serde_json::Value = trusting
        .get(format!("{url}/audit?action=auth.login_failed"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /audit")
        .json()
        .await
        .expect("JSON");
    assert_eq!(audit["data"][0]["ip"], "127.0.0.1", "{audit}");

    // Only the built-in roots: the private CA is not among them.
    let refused = client(None)
        .get(format!("{url}/health"))
        .send()
        .await
        .expect_err("a client that does not trust the CA is refused");
    let chain = error_chain(&refused);
    assert!(
        chain.contains("certificate") || chain.contains("UnknownIssuer"),
        "{chain}"
    );
    // Plain HTTP gets no answer from the HTTPS port.
    let plain = url.replacen("https://", "http://", 1);
    assert!(client(None)
        .get(format!("{plain}/health"))
        .send()
        .await
        .is_err());
    // The server survives a refused handshake and plain HTTP.
    trusting
        .get(format!("{url}/health"))
        .send()
        .await
        .expect("still serving")
        .error_for_status()
        .expect("200");
    child.kill().await.expect("stop");
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Starts the server in-process with this `[tls]` table; the error's text.
async fn start_error(dir: &Path, tls: TlsConfig) -> String {
    let mut config = ServerConfig::with_data_dir(dir.join("data"));
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.tls = Some(tls);
    match serve(config).await {
        Ok(server) => {
            let url = server.base_url();
            server.shutdown().await.expect("shutdown");
            panic!("started on {url} with unusable TLS files")
        }
        Err(error) => consult_server::error::error_chain(&error),
    }
}

#[tokio::test]
async fn unusable_tls_files_are_start_up_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = pki(dir.path(), "good");
    let other = pki(dir.path(), "other");
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a PEM file\n").expect("write");

    // (cert_file, key_file, what the error says, the file it must name)
    let cases = [
        (
            &missing,
            &good.key_file,
            "cannot read the TLS certificate file",
            &missing,
        ),
        (
            &good.cert_file,
            &missing,
            "cannot read the TLS key file",
            &missing,
        ),
        (
            &garbage,
            &good.key_file,
            "holds no usable PEM certificate",
            &garbage,
        ),
        // A key where the certificate belongs holds no CERTIFICATE block.
        (
            &good.key_file,
            &good.key_file,
            "holds no usable PEM certificate",
            &good.key_file,
        ),
        (
            &good.cert_file,
            &garbage,
            "holds no usable PEM private key",
            &garbage,
        ),
        (
            &good.cert_file,
            &other.key_file,
            "does not go with the certificate file",
            &other.key_file,
        ),
    ];
    for (cert_file, key_file, expected, named) in cases {
        let error = start_error(
            dir.path(),
            TlsConfig {
                cert_file: cert_file.clone(),
                key_file: key_file.clone(),
            },
        )
        .await;
        assert!(error.contains(expected), "{error}");
        assert!(
            error.contains(&named.display().to_string()),
            "the error names {}: {error}",
            named.display()
        );
    }
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created before the TLS files are checked"
    );

    // The binary says so on stderr and exits non-zero, with nothing on stdout.
    let output = server_command(&["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("CONSULT_SERVER_TLS__CERT_FILE", &missing)
        .env("CONSULT_SERVER_TLS__KEY_FILE", &good.key_file)
        .output()
        .await
        .expect("run");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "no listening line");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&missing.display().to_string()) && stderr.contains("certificate"),
        "{stderr}"
    );
}
