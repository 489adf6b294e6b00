//! What several of the core's integration tests share.
//!
//! Each test binary that says `mod support;` compiles this; not every one uses all of it.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;

use consult_core::settings::{SettingsStore, UserSettings};
use consult_types::AppError;

/// The `external_api.js` the fake serves: enough for the deployment check.
pub const SCRIPT: &str = "/* stand-in */ var JitsiMeetExternalAPI = function () {};";

/// An HTTPS server on loopback answering every request with an `external_api.js` (HTTP 503
/// while down), under a private CA written to `ca_file` for the call's [`Trust`].
pub struct FakeJitsi {
    pub origin: String,
    pub ca_file: PathBuf,
    up: Arc<AtomicBool>,
    _dir: TempDir,
}

impl FakeJitsi {
    pub async fn start() -> FakeJitsi {
        let pki = TestPki::generate();
        let acceptor = pki.acceptor();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let serving = up.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let up = serving.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let Ok(mut stream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|end| end == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => request.extend_from_slice(&buffer[..read]),
                        }
                    }
                    let (status, body) = if up {
                        ("200 OK", SCRIPT)
                    } else {
                        ("503 Service Unavailable", "down")
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/javascript\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem).unwrap();
        FakeJitsi {
            origin: format!("https://127.0.0.1:{port}"),
            ca_file,
            up,
            _dir: dir,
        }
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

/// A private certificate authority made for one test, and a certificate it signed for
/// 127.0.0.1.
pub struct TestPki {
    /// The CA's certificate (PEM), for a CA file or a system bundle.
    pub ca_pem: String,
    tls: Arc<rustls::ServerConfig>,
}

impl TestPki {
    pub fn generate() -> TestPki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let mut leaf_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        leaf_params.subject_alt_names =
            vec![rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        let chain = vec![leaf.der().clone(), ca_cert.der().clone()];
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
        );
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        TestPki {
            ca_pem: ca_cert.pem(),
            tls: Arc::new(tls),
        }
    }

    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.tls.clone())
    }

    /// Serves HTTPS on loopback under this PKI's certificate, passing each connection's
    /// decrypted bytes on to `backend` (a plain HTTP server of the test's own); returns
    /// `https://127.0.0.1:<port>/`.
    pub async fn front(&self, backend: SocketAddr) -> String {
        let acceptor = self.acceptor();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends here.
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        format!("https://127.0.0.1:{port}/")
    }
}

/// A clinic server answering `GET /me` behind HTTPS under `pki`; its base URL.
pub async fn clinic_behind(pki: &TestPki) -> url::Url {
    let router = axum::Router::new().route(
        "/me",
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({"success": true, "data": {
                "id": "u1", "email": "doctor@clinic.example", "firstName": null,
                "lastName": null, "role": "doctor"}}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url::Url::parse(&pki.front(backend).await).unwrap()
}

/// The user's settings in memory, as the shell's settings file keeps them.
#[derive(Default)]
pub struct MemorySettings(std::sync::Mutex<UserSettings>);

impl SettingsStore for MemorySettings {
    fn load(&self) -> Result<UserSettings, AppError> {
        Ok(self.0.lock().unwrap().clone())
    }
    fn save(&self, settings: &UserSettings) -> Result<(), AppError> {
        *self.0.lock().unwrap() = settings.clone();
        Ok(())
    }
}
