//! The Jitsi deployment a call goes to: checked before the call page tries it, so a server that
//! is down, untrusted or not Jitsi gets its own clear message instead of a blank screen.
//!
//! A clinic whose Jitsi uses a private certificate authority configures that CA
//! (`jitsi_ca_file`); the check verifies the server's certificate against it, and the verified
//! certificate is then trusted for that one host in the webview or browser. TLS checks are never
//! turned off.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use url::Url;

use crate::tls::{refused_certificate, CaFile};

/// Where the genuine IFrame API lives on every deployment (jitsi.md §1).
const SCRIPT_PATH: &str = "external_api.js";
/// The IFrame API defines this global; anything without it is not Jitsi's script.
const SCRIPT_MARKER: &str = "JitsiMeetExternalAPI";

/// A deployment that answered with its IFrame API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// `https://host[:port]`.
    pub origin: Url,
    /// `host[:port]`: the `domain` argument of `JitsiMeetExternalAPI`.
    pub domain: String,
    pub script_url: Url,
    /// The server's certificate (DER), when it was verified against the clinic's private CA:
    /// the webview or browser is told to trust exactly this certificate for this host.
    pub pinned_certificate: Option<Vec<u8>>,
}

impl Deployment {
    /// Chromium's `--ignore-certificate-errors-spki-list` value for the pinned certificate:
    /// base64 of the SHA-256 of its SubjectPublicKeyInfo.
    pub fn pinned_spki_sha256(&self) -> Option<String> {
        let der = self.pinned_certificate.as_ref()?;
        let certificate = CertificateDer::from(der.as_slice());
        let parsed = webpki::EndEntityCert::try_from(&certificate).ok()?;
        let spki = parsed.subject_public_key_info();
        Some(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki.as_ref())))
    }
}

/// Why the deployment cannot be used, in words for the call screen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeploymentError {
    #[error("The video server address {url} is not an https address, and Jitsi Meet only works over https. Tell your clinic's IT.")]
    NotHttps { url: String },

    #[error("Cannot reach the video server at {origin}. Check your network connection, then press Retry; if it keeps failing, tell your clinic's IT.")]
    Unreachable { origin: String },

    #[error("The video server at {origin} did not answer within {seconds} seconds. Press Retry; if it keeps happening, tell your clinic's IT.")]
    Timeout { origin: String, seconds: u64 },

    #[error("The video server at {origin} presented a certificate this computer does not trust. If your clinic runs its own certificate authority, your IT must set jitsi_ca_file to it; do not work around this warning.")]
    Untrusted { origin: String },

    #[error("The video server at {origin} did not provide its call library (HTTP {status}). Press Retry in a moment; if it keeps failing, tell your clinic's IT.")]
    NoScript { origin: String, status: u16 },

    #[error("The server at {origin} answered, but it is not a Jitsi Meet server (no external_api.js). Check the video server address with your clinic's IT.")]
    NotJitsi { origin: String },

    #[error("The certificate authority file {path} could not be used: {detail}. Fix or remove jitsi_ca_file in the app's configuration.")]
    BadCaFile { path: String, detail: String },
}

/// The trust settings for the check beyond the built-in and the system's roots (see
/// [`crate::tls`]): the clinic's private CA, if any.
#[derive(Clone, Default)]
pub struct Trust {
    file: Option<CaFile>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("private_ca", &self.file.is_some())
            .finish()
    }
}

impl Trust {
    /// Reads the configured CA file (`None`: the built-in and the system's roots only).
    pub fn load(ca_file: Option<&Path>) -> Result<Trust, DeploymentError> {
        let Some(path) = ca_file else {
            return Ok(Trust::default());
        };
        let file = CaFile::read(path).map_err(|detail| DeploymentError::BadCaFile {
            path: path.display().to_string(),
            detail,
        })?;
        Ok(Trust { file: Some(file) })
    }
}

/// Fetches `<server_url>/external_api.js` and checks it is Jitsi's.
pub async fn check(
    server_url: &str,
    trust: &Trust,
    timeout: Duration,
) -> Result<Deployment, DeploymentError> {
    let base = Url::parse(server_url)
        .ok()
        .filter(|url| url.scheme() == "https" && url.host_str().is_some())
        .ok_or_else(|| DeploymentError::NotHttps {
            url: server_url.to_owned(),
        })?;
    let origin_text = base.origin().ascii_serialization();
    let origin = Url::parse(&origin_text).map_err(|_| DeploymentError::NotHttps {
        url: server_url.to_owned(),
    })?;
    let domain = match (origin.host_str(), origin.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => {
            return Err(DeploymentError::NotHttps {
                url: server_url.to_owned(),
            })
        }
    };
    let script_url = origin
        .join(SCRIPT_PATH)
        .map_err(|_| DeploymentError::NotHttps {
            url: server_url.to_owned(),
        })?;

    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_info(true);
    if let Some(file) = &trust.file {
        for ca in &file.certificates {
            builder = builder.add_root_certificate(ca.clone());
        }
    }
    let client = builder.build().map_err(|_| DeploymentError::Unreachable {
        origin: origin_text.clone(),
    })?;
    let response = client
        .get(script_url.clone())
        .send()
        .await
        .map_err(|error| transport_error(&error, &origin_text, timeout))?;
    let status = response.status();
    let peer = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .map(<[u8]>::to_vec);
    if !status.is_success() {
        return Err(DeploymentError::NoScript {
            origin: origin_text,
            status: status.as_u16(),
        });
    }
    let body = response
        .text()
        .await
        .map_err(|error| transport_error(&error, &origin_text, timeout))?;
    if !body.contains(SCRIPT_MARKER) {
        return Err(DeploymentError::NotJitsi {
            origin: origin_text,
        });
    }
    Ok(Deployment {
        origin,
        domain,
        script_url,
        // Only a certificate that chained to the clinic's own CA is pinned; publicly trusted
        // ones need nothing.
        pinned_certificate: trust.file.as_ref().and(peer),
    })
}

fn transport_error(error: &reqwest::Error, origin: &str, timeout: Duration) -> DeploymentError {
    if error.is_timeout() {
        return DeploymentError::Timeout {
            origin: origin.to_owned(),
            seconds: timeout.as_secs(),
        };
    }
    if refused_certificate(error).is_some() {
        return DeploymentError::Untrusted {
            origin: origin.to_owned(),
        };
    }
    DeploymentError::Unreachable {
        origin: origin.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_http_and_nonsense_are_refused_before_any_request() {
        let trust = Trust::default();
        for url in ["http://meet.example", "meet.example", "https://"] {
            let error = check(url, &trust, Duration::from_secs(1))
                .await
                .unwrap_err();
            assert!(
                matches!(error, DeploymentError::NotHttps { .. }),
                "{url}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_with_its_origin() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let error = check(
            &format!("https://127.0.0.1:{port}"),
            &Trust::default(),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert_eq!(
            error,
            DeploymentError::Unreachable {
                origin: format!("https://127.0.0.1:{port}")
            }
        );
        assert!(error.to_string().contains("Retry"));
    }

    #[test]
    fn a_missing_or_broken_ca_file_is_named() {
        let missing = Trust::load(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/ca.pem"));
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("ca.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(matches!(
            Trust::load(Some(&broken)),
            Err(DeploymentError::BadCaFile { .. })
        ));
    }
}
