//! A clinic's update channel for the in-app update tests: a local HTTPS server (a private CA
//! made per server, trusted by the app through `server_ca_file`, as a clinic's own CA would be)
//! serving a `latest.json` manifest and a package, and a minisign key pair made per test with
//! the Tauri CLI that `scripts/package` uses (`tauri signer generate`, `tauri signer sign`). The
//! private key lives in the test's temporary directory only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{json, Value};
use tokio_rustls::TlsAcceptor;

use crate::jitsi::certs;
use crate::paths;

/// The Tauri CLI: the one `scripts/lib.sh` installs from `tools/package.json`, else `tauri` on
/// `PATH`.
pub fn tauri_cli() -> PathBuf {
    let pinned = paths::workspace_root().join("tools/node_modules/.bin/tauri");
    if pinned.is_file() {
        pinned
    } else {
        PathBuf::from("tauri")
    }
}

/// A minisign key pair made for one test (`tauri signer generate --ci -p ''`).
pub struct SigningKey {
    dir: tempfile::TempDir,
    private: PathBuf,
    /// The `.pub` file's contents: what `plugins.updater.pubkey` or `[updates] public_key` take.
    pub public: String,
}

impl SigningKey {
    pub fn generate() -> SigningKey {
        let dir = tempfile::Builder::new()
            .prefix("consult-update-key-")
            .tempdir()
            .expect("a temporary directory for the key");
        let private = dir.path().join("update.key");
        let generated = Command::new(tauri_cli())
            .args(["signer", "generate", "--ci", "-p", "", "-w"])
            .arg(&private)
            .output()
            .expect("the Tauri CLI runs (scripts/lib.sh installs it in tools/)");
        assert!(
            generated.status.success(),
            "tauri signer generate failed: {}",
            String::from_utf8_lossy(&generated.stderr)
        );
        let public = std::fs::read_to_string(private.with_extension("key.pub"))
            .expect("tauri signer generate writes the public key beside the private one");
        SigningKey {
            dir,
            private,
            public: public.trim().to_owned(),
        }
    }

    /// Signs `file` for `version` (`tauri signer sign --app-version`, as `tauri build` does):
    /// the `.sig` file's contents, which the manifest carries.
    pub fn sign(&self, file: &Path, version: &str) -> String {
        let signed = Command::new(tauri_cli())
            .args(["signer", "sign", "-p", "", "--app-version", version, "-f"])
            .arg(&self.private)
            .arg(file)
            .env_remove("TAURI_SIGNING_PRIVATE_KEY")
            .env_remove("TAURI_SIGNING_PRIVATE_KEY_PASSWORD")
            .output()
            .expect("the Tauri CLI runs");
        assert!(
            signed.status.success(),
            "tauri signer sign failed: {}",
            String::from_utf8_lossy(&signed.stderr)
        );
        let mut sig = file.as_os_str().to_owned();
        sig.push(".sig");
        let signature = std::fs::read_to_string(PathBuf::from(sig)).expect("the .sig file");
        signature.trim().to_owned()
    }

    /// The directory the key lives in (removed with the key).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// What the server answers.
#[derive(Default)]
struct Served {
    /// `latest.json`: `None` answers 404.
    manifest: Option<Value>,
    package: Vec<u8>,
    /// Request paths, in order.
    requests: Vec<String>,
}

/// The update channel on `https://127.0.0.1:PORT`.
pub struct UpdateServer {
    served: Arc<Mutex<Served>>,
    port: u16,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl UpdateServer {
    pub fn start() -> UpdateServer {
        let pki = certs::generate().expect("the update server's certificates");
        let dir = tempfile::Builder::new()
            .prefix("consult-update-server-")
            .tempdir()
            .expect("a temporary directory");
        let ca_file = dir.path().join("update-ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem).expect("the CA file");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder
                    .with_no_client_auth()
                    .with_single_cert(pki.chain.clone(), pki.leaf_key.clone_key())
            })
            .expect("the update server's TLS configuration");
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
            .expect("a listener");
        let port = listener.local_addr().expect("its address").port();
        let served = Arc::new(Mutex::new(Served::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&served);
        let thread = std::thread::Builder::new()
            .name("update-server".to_owned())
            .spawn(move || run(listener, Arc::new(tls), state, stopped))
            .expect("the update server's thread");
        UpdateServer {
            served,
            port,
            ca_file,
            _dir: dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Served> {
        self.served.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The endpoint for `[updates] endpoint`, with the updater's placeholders.
    pub fn endpoint(&self) -> String {
        format!(
            "https://127.0.0.1:{}/update/{{{{target}}}}/{{{{arch}}}}/{{{{current_version}}}}/latest.json",
            self.port
        )
    }

    /// The package's URL.
    pub fn package_url(&self) -> String {
        format!("https://127.0.0.1:{}/pkg/consult.deb", self.port)
    }

    /// The CA that signed the server's certificate (for `server_ca_file`).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Offers `version` with `signature`, for every Linux x86_64 bundle the updater may look for.
    pub fn offer(&self, version: &str, signature: &str, package: Vec<u8>) {
        let entry = json!({ "url": self.package_url(), "signature": signature });
        let manifest = json!({
            "version": version,
            "notes": "Test release",
            "pub_date": "2026-12-03T12:00:00Z",
            "platforms": {
                "linux-x86_64": entry,
                "linux-x86_64-deb": entry,
            }
        });
        let mut served = self.lock();
        served.manifest = Some(manifest);
        served.package = package;
    }

    /// Paths requested so far.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// Waits until a request's path contains `part` (the app checked, or downloaded).
    pub async fn wait_for_request(&self, part: &str, timeout: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.requests().into_iter().find(|path| path.contains(part)) {
                return found;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no request for {part} within {timeout:?}; requests: {:?}",
                self.requests()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

impl Drop for UpdateServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    served: Arc<Mutex<Served>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        let acceptor = TlsAcceptor::from(tls);
        let router = Router::new()
            .route("/pkg/consult.deb", get(package))
            .fallback(manifest)
            .with_state(served);
        let serve = async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = TowerToHyperService::new(router);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        };
        tokio::select! {
            _ = serve => {}
            _ = stopped => {}
        }
    });
}

async fn manifest(State(served): State<Arc<Mutex<Served>>>, uri: Uri) -> Response {
    let mut served = served.lock().unwrap_or_else(PoisonError::into_inner);
    served.requests.push(uri.path().to_owned());
    if !uri.path().ends_with("/latest.json") {
        return StatusCode::NOT_FOUND.into_response();
    }
    match &served.manifest {
        Some(manifest) => (
            [(header::CONTENT_TYPE, "application/json")],
            manifest.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn package(State(served): State<Arc<Mutex<Served>>>, uri: Uri) -> Response {
    let mut served = served.lock().unwrap_or_else(PoisonError::into_inner);
    served.requests.push(uri.path().to_owned());
    (
        [(
            header::CONTENT_TYPE,
            "application/vnd.debian.binary-package",
        )],
        served.package.clone(),
    )
        .into_response()
}
