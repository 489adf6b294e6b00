//! What the server's process-level tests share: the binary started without the developer's
//! environment, the URL from its listening line, and a private CA with a certificate for
//! 127.0.0.1 and localhost.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{BufReader, Lines};
use tokio::process::{ChildStdout, Command};

pub const BINARY: &str = env!("CARGO_BIN_EXE_consult-server");

/// The binary with `args` and none of the developer's `CONSULT_SERVER_*` variables, so only
/// what the test sets configures it.
pub fn server_command(args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CONSULT_SERVER_") {
            command.env_remove(name);
        }
    }
    command.args(args).stdin(Stdio::null());
    command
}

/// Waits up to 30 s for the server's first line on stdout and returns the URL it listens on.
pub async fn listening_url(stdout: &mut Lines<BufReader<ChildStdout>>) -> String {
    let line = tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
        .await
        .expect("listening within 30 s")
        .expect("read stdout")
        .expect("the listening line (stderr above says why not)");
    line.strip_prefix("consult-server listening on ")
        .unwrap_or_else(|| panic!("unexpected line: {line}"))
        .to_owned()
}

/// A CA made for one test, and a certificate it signed for 127.0.0.1 and localhost.
pub struct TestPki {
    pub ca_pem: String,
    pub ca_der: Vec<u8>,
    pub leaf_pem: String,
    pub leaf_der: Vec<u8>,
    pub leaf_key_pem: String,
    /// PKCS#8.
    pub leaf_key_der: Vec<u8>,
}

impl TestPki {
    pub fn generate() -> TestPki {
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let mut leaf_params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        leaf_params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf");
        TestPki {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().to_vec(),
            leaf_pem: leaf.pem(),
            leaf_der: leaf.der().to_vec(),
            leaf_key_pem: leaf_key.serialize_pem(),
            leaf_key_der: leaf_key.serialize_der(),
        }
    }
}

/// `GET {url}/health` through `client` answers 200 with status "ok" (the README's health check,
/// as `curl -fsS` does it).
pub async fn assert_healthy(client: &reqwest::Client, url: &str) {
    let health: serde_json::Value = client
        .get(format!("{url}/health"))
        .send()
        .await
        .expect("GET /health")
        .error_for_status()
        .expect("200")
        .json()
        .await
        .expect("JSON");
    assert_eq!(health["data"]["status"], "ok", "{health}");
}
