//! What the app's own HTTPS clients (the clinic server's and the Jitsi check's) trust, and how a
//! refused certificate is told apart from other failures.
//!
//! reqwest trusts the Mozilla roots built into it and the operating system's store, read by
//! rustls-native-certs each time a client is built (on Linux the bundle `SSL_CERT_FILE` or the
//! directories `SSL_CERT_DIR` name, else the system's, e.g. `/etc/ssl/certs`). A CA file an
//! administrator names (`server_ca_file`, `jitsi_ca_file`) is added to those. Verification is
//! never turned off.

use std::path::Path;

use rustls::CertificateError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// An administrator's PEM file of certificate authorities, read and checked whole.
#[derive(Clone)]
pub struct CaFile {
    pub certificates: Vec<reqwest::Certificate>,
}

impl CaFile {
    /// Reads `path`. The error says what is wrong with the file, for a message that names the
    /// setting; reqwest would parse lazily, and a broken file must never mean fewer roots.
    pub fn read(path: &Path) -> Result<CaFile, String> {
        let ders = read_ders(path)?;
        let certificates = ders
            .iter()
            .map(|der| reqwest::Certificate::from_der(der.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| error.to_string())?;
        Ok(CaFile { certificates })
    }
}

/// The certificates of an administrator's PEM file, DER-encoded, for a client of another TLS
/// stack (the updater's); the same checks as [`CaFile::read`].
pub fn read_ders(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|error| error.to_string())?;
    let ders = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| error.to_string())?;
    if ders.is_empty() {
        return Err("it holds no PEM certificate".into());
    }
    Ok(ders)
}

/// Why the server's certificate was refused, when that is why `error` happened: words that
/// finish "…does not trust: ".
pub fn refused_certificate(error: &reqwest::Error) -> Option<String> {
    // reqwest does not classify TLS failures; rustls' error sits inside io::Errors in the
    // chain (two deep with hyper-rustls), and io::Error's `source()` skips what it wraps, so
    // step into each io::Error's inner error instead.
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(rustls::Error::InvalidCertificate(refusal)) =
            error.downcast_ref::<rustls::Error>()
        {
            return Some(describe(refusal));
        }
        current = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static))
            .or_else(|| error.source());
    }
    None
}

fn describe(refusal: &CertificateError) -> String {
    match refusal {
        CertificateError::UnknownIssuer => {
            "it was issued by a certificate authority this computer does not know".into()
        }
        // A CA of the same name as the true issuer, but another key.
        CertificateError::BadSignature => {
            "it was not signed by a certificate authority this computer trusts".into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "it has expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet (check this computer's date and time)".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it was issued for another name".into()
        }
        CertificateError::Revoked => "it has been revoked".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_empty_or_broken_ca_file_is_refused() {
        assert!(CaFile::read(Path::new("/nonexistent/ca.pem")).is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, "").unwrap();
        assert_eq!(
            CaFile::read(&file).err().as_deref(),
            Some("it holds no PEM certificate")
        );
        std::fs::write(
            &file,
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(CaFile::read(&file).is_err());
    }

    #[test]
    fn refusals_are_said_in_words() {
        assert!(describe(&CertificateError::UnknownIssuer).contains("authority"));
        assert_eq!(describe(&CertificateError::Expired), "it has expired");
    }
}
