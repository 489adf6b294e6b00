//! Optional built-in HTTPS (`[tls]`), for a clinic without a reverse proxy: the certificate and
//! key are read once at start-up, and [`TlsListener`] hands axum connections whose handshake is
//! done, so a slow or silent client never holds up the next one.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// `CONSULT_SERVER_TLS__CERT_FILE` and `…__KEY_FILE` fill the `[tls]` table.
pub const ENV_PREFIX: &str = "CONSULT_SERVER_TLS__";
pub const ENV_FIELDS: [&str; 2] = ["cert_file", "key_file"];

/// A handshake not done by then is dropped, so idle sockets cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for axum to take them.
const ACCEPTED_QUEUE: usize = 64;

/// The `[tls]` table: PEM files, read once at start-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate first, then its intermediates.
    pub cert_file: PathBuf,
    /// Its private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key_file: PathBuf,
}

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read the TLS {what} file {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("the TLS certificate file {path} holds no usable PEM certificate: {reason}")]
    Certificate { path: PathBuf, reason: String },
    #[error(
        "the TLS key file {path} holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {reason}"
    )]
    Key { path: PathBuf, reason: String },
    #[error("the TLS key file {key} does not go with the certificate file {cert}: {source}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
}

impl TlsConfig {
    /// Reads both files into a rustls configuration (ring, TLS 1.2 and 1.3, HTTP/1.1).
    pub fn load(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let cert_pem = read(&self.cert_file, "certificate")?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, pem::Error>>()
            .map_err(|error| TlsError::Certificate {
                path: self.cert_file.clone(),
                reason: error.to_string(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Certificate {
                path: self.cert_file.clone(),
                reason: "no CERTIFICATE block".to_owned(),
            });
        }
        let key_pem = read(&self.key_file, "key")?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|error| TlsError::Key {
            path: self.key_file.clone(),
            reason: error.to_string(),
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mismatch = |source| TlsError::Mismatch {
            cert: self.cert_file.clone(),
            key: self.key_file.clone(),
            source,
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(mismatch)?
            .with_no_client_auth()
            // Also checks that the key is the certificate's.
            .with_single_cert(chain, key)
            .map_err(mismatch)?;
        // The router speaks HTTP/1.1 only (axum's `http1` feature).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// A TCP listener that yields connections after their TLS handshake, for `axum::serve`.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    acceptor: AbortOnDrop,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl TlsListener {
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (sender, accepted) = mpsc::channel(ACCEPTED_QUEUE);
        let acceptor = TlsAcceptor::from(config);
        let task = tokio::spawn(accept_loop(listener, acceptor, sender));
        Ok(TlsListener {
            accepted,
            local_addr,
            acceptor: AbortOnDrop(task),
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    accepted: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(connection) => connection,
            Err(error) => {
                // As axum's own listener: per-connection errors are the client's; others (such
                // as too many open files) are waited out rather than spun on.
                if !matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                ) {
                    tracing::error!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let accepted = accepted.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    // Fails only once the server stopped taking connections.
                    let _ = accepted.send((stream, peer)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(connection) => connection,
            // The accept loop ends only when aborted with this listener: nothing more comes.
            None => {
                tracing::error!(
                    finished = self.acceptor.0.is_finished(),
                    "TLS accept loop ended"
                );
                std::future::pending().await
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}
