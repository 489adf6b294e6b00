//! The HS256 key for access tokens: the configured one, else one generated on first start and
//! kept in the data directory (mode 0600) so a restart does not log everybody out.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::config::MIN_SIGNING_KEY_BYTES;
use crate::ids;

/// File name inside the data directory.
pub const KEY_FILE: &str = "jwt-signing-key";

/// Key material; Debug never shows it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

#[derive(Debug, Error)]
pub enum SigningKeyError {
    #[error("cannot {action} the signing key file {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("the signing key file {0} holds fewer than {MIN_SIGNING_KEY_BYTES} bytes")]
    TooShort(PathBuf),
}

/// The configured key, else the one in `data_dir`, created if missing.
pub fn load_or_create(
    configured: Option<&str>,
    data_dir: &Path,
) -> Result<SigningKey, SigningKeyError> {
    if let Some(key) = configured {
        // Length was checked with the rest of the configuration.
        return Ok(SigningKey(key.as_bytes().to_vec()));
    }
    let path = data_dir.join(KEY_FILE);
    match read(&path) {
        Err(SigningKeyError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            create(&path)
        }
        other => other,
    }
}

fn read(path: &Path) -> Result<SigningKey, SigningKeyError> {
    let io_error = |source| SigningKeyError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let text = fs::read_to_string(path).map_err(io_error)?;
    warn_if_readable_by_others(path);
    let key = text.trim();
    if key.len() < MIN_SIGNING_KEY_BYTES {
        return Err(SigningKeyError::TooShort(path.to_owned()));
    }
    Ok(SigningKey(key.as_bytes().to_vec()))
}

/// Writes a fresh key to a private temporary file, then hard-links it into place: the link fails
/// if another process created the key meanwhile, and nobody ever sees a half-written key.
fn create(path: &Path) -> Result<SigningKey, SigningKeyError> {
    let io_error = |action, source| SigningKeyError::Io {
        action,
        path: path.to_owned(),
        source,
    };
    // 256 random bits, as 64 hex characters so the file is plain text.
    let key = ids::hex(&ids::random_bytes::<32>());
    let temporary = path.with_extension(format!("tmp-{}", ids::hex(&ids::random_bytes::<8>())));
    write_private(&temporary, key.as_bytes()).map_err(|source| io_error("write", source))?;
    let linked = fs::hard_link(&temporary, path);
    // The temporary name is never needed again, whatever happened.
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a new access-token signing key");
            Ok(SigningKey(key.into_bytes()))
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => read(path),
        Err(error) => Err(io_error("create", error)),
    }
}

fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(metadata) = fs::metadata(path) {
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the signing key file is accessible to other users; chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_key_is_used_as_is_and_nothing_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = load_or_create(Some("k".repeat(40).as_str()), dir.path()).expect("key");
        assert_eq!(key.as_bytes(), "k".repeat(40).as_bytes());
        assert!(!dir.path().join(KEY_FILE).exists());
    }

    #[test]
    fn generated_key_is_private_persistent_and_redacted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create(None, dir.path()).expect("create");
        assert_eq!(first.as_bytes().len(), 64);
        let second = load_or_create(None, dir.path()).expect("reload");
        assert_eq!(first.as_bytes(), second.as_bytes());
        assert_eq!(format!("{first:?}"), "SigningKey(<redacted>)");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary files are left behind.
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn a_truncated_key_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(KEY_FILE), "short\n").expect("write");
        assert!(matches!(
            load_or_create(None, dir.path()),
            Err(SigningKeyError::TooShort(_))
        ));
    }
}
