//! Kiosk mode's identity: the device credential a kiosk signs in with, and what its own sign-in
//! shows. The device id is configuration (`[kiosk]`); the secret never is. It is read from a
//! file only the kiosk's account can read, or from the OS keychain, and lives in memory only
//! while a sign-in needs it: never in the settings store, a log or the webview.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use consult_types::{AppError, KioskStatus};

use crate::config::KioskConfig;
use crate::secrets::{KeychainStore, SecretStore};

/// The keychain service of device secrets (the account is the device id).
pub const KEYCHAIN_SERVICE: &str = "app.consult.kiosk";

/// A device secret. `Debug` never shows it.
pub struct DeviceSecret(String);

impl DeviceSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DeviceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceSecret(<redacted>)")
    }
}

/// The device secret for `config`: from its `secret_file`, else from the OS keychain.
pub fn load_secret(config: &KioskConfig) -> Result<DeviceSecret, AppError> {
    match &config.secret_file {
        Some(file) => read_secret_file(file),
        None => {
            let keychain = KeychainStore::new(KEYCHAIN_SERVICE, config.device_id.as_str());
            match keychain.load()? {
                Some(secret) => non_empty(secret, "the keychain entry"),
                None => Err(AppError::Config {
                    detail: format!(
                        "no device secret for kiosk {} in the keychain (service {KEYCHAIN_SERVICE}); store the secret the administrator was given there, or set [kiosk] secret_file",
                        config.device_id
                    ),
                }),
            }
        }
    }
}

/// Reads the secret file, refusing one another account could read or replace: group and
/// others have no access, and the kiosk's own account owns it.
fn read_secret_file(file: &Path) -> Result<DeviceSecret, AppError> {
    let shown = file.display();
    let metadata = std::fs::metadata(file).map_err(|error| AppError::Config {
        detail: format!("the kiosk's secret file {shown} cannot be read: {error}"),
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = metadata.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(AppError::Config {
                detail: format!(
                    "the kiosk's secret file {shown} can be read by other accounts (mode {mode:03o}); make it the kiosk account's only: chmod 600 {shown}"
                ),
            });
        }
        let me = rustix::process::geteuid().as_raw();
        if metadata.uid() != me {
            return Err(AppError::Config {
                detail: format!(
                    "the kiosk's secret file {shown} belongs to another account (uid {}); it must belong to the account the kiosk runs as (uid {me})",
                    metadata.uid()
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    let secret = std::fs::read_to_string(file).map_err(|error| AppError::Config {
        detail: format!("the kiosk's secret file {shown} cannot be read: {error}"),
    })?;
    non_empty(secret.trim().to_owned(), "the secret file")
}

fn non_empty(secret: String, source: &str) -> Result<DeviceSecret, AppError> {
    if secret.is_empty() {
        return Err(AppError::Config {
            detail: format!("{source} of the kiosk's device secret is empty"),
        });
    }
    Ok(DeviceSecret(secret))
}

/// What a failed device sign-in shows: switched off, or what happened and what to do; either
/// way the kiosk tries again after `retry`.
pub fn status_after(error: &AppError, retry: Duration) -> KioskStatus {
    let retry_in_secs = retry.as_secs().max(1);
    match error {
        // A device sign-in is refused with 403 for one reason only: the kiosk's account is
        // disabled.
        AppError::Rejected { status: 403, .. } => KioskStatus::SwitchedOff { retry_in_secs },
        AppError::InvalidCredentials => KioskStatus::Problem {
            message: "The clinic server does not accept this kiosk's device id and secret. Ask the clinic's IT to check the kiosk's registration.".into(),
            retry_in_secs,
        },
        other => KioskStatus::Problem {
            message: other.to_string(),
            retry_in_secs,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn config(file: &Path) -> KioskConfig {
        KioskConfig {
            device_id: "dev_1".into(),
            secret_file: Some(file.to_owned()),
            retry_secs: None,
            join_lead_secs: None,
            leave_grace_secs: None,
            show_first_name: false,
            clinic_name: None,
            jitsi_url: None,
        }
    }

    #[test]
    fn a_secret_file_only_the_kiosk_can_read_is_used_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let secret = load_secret(&config(&file)).unwrap();
        assert_eq!(secret.expose(), "s3cret");
        assert_eq!(format!("{secret:?}"), "DeviceSecret(<redacted>)");
    }

    #[test]
    fn a_secret_file_others_can_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "s3cret").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let refused = load_secret(&config(&file)).unwrap_err().to_string();
        assert!(refused.contains("mode 640"), "{refused}");
        assert!(refused.contains("chmod 600"), "{refused}");
        assert!(!refused.contains("s3cret"), "{refused}");
    }

    #[test]
    fn a_missing_or_empty_secret_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent");
        let refused = load_secret(&config(&missing)).unwrap_err().to_string();
        assert!(refused.contains("cannot be read"), "{refused}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o600)).unwrap();
        let refused = load_secret(&config(&empty)).unwrap_err().to_string();
        assert!(refused.contains("empty"), "{refused}");
    }

    #[test]
    fn a_disabled_device_is_switched_off_and_other_refusals_say_what_to_do() {
        let retry = Duration::from_secs(30);
        let disabled = AppError::Rejected {
            status: 403,
            reason: "forbidden".into(),
            message: "This account is disabled".into(),
        };
        assert_eq!(
            status_after(&disabled, retry),
            KioskStatus::SwitchedOff { retry_in_secs: 30 }
        );
        let KioskStatus::Problem { message, .. } =
            status_after(&AppError::InvalidCredentials, retry)
        else {
            panic!("a refused credential is a problem to fix");
        };
        assert!(message.contains("clinic's IT"), "{message}");
    }
}
