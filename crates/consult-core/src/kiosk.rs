//! Kiosk mode's identity: the device credential a kiosk signs in with, and what its own sign-in
//! shows. The device id is configuration (`[kiosk]`); the secret never is. It is read from a
//! file only the kiosk's account can read, or from the OS keychain, and lives in memory only
//! while a sign-in needs it: never in the settings store, a log or the webview.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

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

/// A device secret from a string the server or the store gave.
impl From<String> for DeviceSecret {
    fn from(secret: String) -> Self {
        DeviceSecret(secret)
    }
}

/// What a kiosk signs in with.
#[derive(Debug)]
pub struct Credential {
    pub device_id: String,
    pub secret: DeviceSecret,
}

/// An enrolled kiosk's credential as its file or keychain entry holds it (JSON).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    device_id: String,
    device_secret: String,
}

/// Where this kiosk's credential lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialStore {
    /// Registered by an administrator: the id is configuration, the secret is in `secret_file`
    /// (the secret alone) or the keychain (account: the device id). Rotation writes it back.
    Registered {
        device_id: String,
        secret_file: Option<PathBuf>,
    },
    /// Enrolled with a code: id and secret together, in `secret_file` or the keychain (account:
    /// `enrolled@<server origin>`, so a kiosk moved to another clinic server enrols again).
    Enrolled {
        file: Option<PathBuf>,
        keychain_account: String,
    },
}

impl CredentialStore {
    /// The store `config` names for the clinic server at `server`.
    pub fn of(config: &KioskConfig, server: &Url) -> CredentialStore {
        match &config.device_id {
            Some(device_id) => CredentialStore::Registered {
                device_id: device_id.clone(),
                secret_file: config.secret_file.clone(),
            },
            None => CredentialStore::Enrolled {
                file: config.secret_file.clone(),
                keychain_account: format!("enrolled@{}", server.origin().ascii_serialization()),
            },
        }
    }

    /// Whether a missing credential means "enrol": only for a kiosk without a configured id.
    pub fn enrols(&self) -> bool {
        matches!(self, CredentialStore::Enrolled { .. })
    }

    /// The credential, or `None` for an enrolling kiosk that has none yet. A registered kiosk
    /// without its secret is a configuration error that says where to put it.
    pub fn load(&self) -> Result<Option<Credential>, AppError> {
        match self {
            CredentialStore::Registered {
                device_id,
                secret_file: Some(file),
            } => Ok(Some(Credential {
                device_id: device_id.clone(),
                secret: read_secret_file(file)?,
            })),
            CredentialStore::Registered {
                device_id,
                secret_file: None,
            } => match KeychainStore::new(KEYCHAIN_SERVICE, device_id.as_str()).load()? {
                Some(secret) => Ok(Some(Credential {
                    device_id: device_id.clone(),
                    secret: non_empty(secret, "the keychain entry")?,
                })),
                None => Err(AppError::Config {
                    detail: format!(
                        "no device secret for kiosk {device_id} in the keychain (service {KEYCHAIN_SERVICE}); store the secret the administrator was given there, or set [kiosk] secret_file"
                    ),
                }),
            },
            CredentialStore::Enrolled {
                file: Some(file),
                ..
            } => {
                if !file.exists() {
                    return Ok(None);
                }
                parse_stored(read_secret_file(file)?.expose(), "the secret file").map(Some)
            }
            CredentialStore::Enrolled {
                file: None,
                keychain_account,
            } => match KeychainStore::new(KEYCHAIN_SERVICE, keychain_account.as_str()).load()? {
                Some(stored) => parse_stored(&stored, "the keychain entry").map(Some),
                None => Ok(None),
            },
        }
    }

    /// Keeps `credential` (after enrolment, or a rotated secret) in place of the old one.
    pub fn save(&self, credential: &Credential) -> Result<(), AppError> {
        match self {
            CredentialStore::Registered {
                secret_file: Some(file),
                ..
            } => write_private(file, credential.secret.expose()),
            CredentialStore::Registered {
                secret_file: None, ..
            } => KeychainStore::new(KEYCHAIN_SERVICE, credential.device_id.as_str())
                .save(credential.secret.expose()),
            CredentialStore::Enrolled {
                file,
                keychain_account,
            } => {
                let stored = serde_json::to_string(&Stored {
                    device_id: credential.device_id.clone(),
                    device_secret: credential.secret.expose().to_owned(),
                })
                .map_err(|error| AppError::Internal {
                    detail: format!("the credential could not be written: {error}"),
                })?;
                match file {
                    Some(file) => write_private(file, &stored),
                    None => KeychainStore::new(KEYCHAIN_SERVICE, keychain_account.as_str())
                        .save(&stored),
                }
            }
        }
    }

    /// Forgets an enrolled kiosk's credential (the server no longer knows it: enrol again). A
    /// registered kiosk's secret is the administrator's and stays.
    pub fn forget(&self) -> Result<(), AppError> {
        match self {
            CredentialStore::Registered { .. } => Ok(()),
            CredentialStore::Enrolled {
                file: Some(file), ..
            } => match std::fs::remove_file(file) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    Err(AppError::Config {
                        detail: format!(
                            "the kiosk's secret file {} cannot be removed: {error}",
                            file.display()
                        ),
                    })
                }
                _ => Ok(()),
            },
            CredentialStore::Enrolled {
                file: None,
                keychain_account,
            } => KeychainStore::new(KEYCHAIN_SERVICE, keychain_account.as_str()).delete(),
        }
    }
}

fn parse_stored(text: &str, source: &str) -> Result<Credential, AppError> {
    let stored: Stored = serde_json::from_str(text).map_err(|_| AppError::Config {
        detail: format!(
            "{source} of this enrolled kiosk is not a credential the app wrote; remove it and the kiosk enrols again"
        ),
    })?;
    if stored.device_id.is_empty() {
        return Err(AppError::Config {
            detail: format!("{source} of this enrolled kiosk has no device id"),
        });
    }
    Ok(Credential {
        device_id: stored.device_id,
        secret: non_empty(stored.device_secret, source)?,
    })
}

/// Writes `contents` to `file`, readable by this account only, replacing it in one step (a
/// crash leaves the old file or the new one, never half of one).
fn write_private(file: &Path, contents: &str) -> Result<(), AppError> {
    use std::io::Write;
    let shown = file.display();
    let failed = |error: std::io::Error| {
        AppError::Config {
        detail: format!(
            "the kiosk's secret file {shown} cannot be written: {error}; its directory must belong to the kiosk's account"
        ),
    }
    };
    let directory = file.parent().unwrap_or(Path::new("."));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let draft = tempfile::Builder::new()
        .prefix(".consult-kiosk-")
        .make_in(directory, |path| options.open(path))
        .map_err(failed)?;
    let mut handle = draft.as_file();
    handle.write_all(contents.as_bytes()).map_err(failed)?;
    handle.sync_all().map_err(failed)?;
    draft.persist(file).map_err(|error| failed(error.error))?;
    Ok(())
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
            device_id: Some("dev_1".into()),
            secret_file: Some(file.to_owned()),
            retry_secs: None,
            join_lead_secs: None,
            leave_grace_secs: None,
            show_first_name: false,
            clinic_name: None,
            jitsi_url: None,
            nightly_restart_hour: None,
        }
    }

    fn server() -> Url {
        Url::parse("https://clinic.example:8443/api/").unwrap()
    }

    fn load_secret(config: &KioskConfig) -> Result<DeviceSecret, AppError> {
        CredentialStore::of(config, &server())
            .load()
            .map(|credential| credential.expect("a registered kiosk has one").secret)
    }

    fn enrolling(file: Option<PathBuf>) -> CredentialStore {
        let mut config = config(Path::new("/unused"));
        config.device_id = None;
        config.secret_file = file;
        CredentialStore::of(&config, &server())
    }

    #[test]
    fn an_enrolled_credential_is_kept_private_read_back_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credential");
        let store = enrolling(Some(file.clone()));
        assert!(store.enrols());
        assert!(store.load().unwrap().is_none(), "nothing yet: enrol");
        store
            .save(&Credential {
                device_id: "dev_9".into(),
                secret: DeviceSecret::from("fresh-secret".to_owned()),
            })
            .unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(loaded.device_id, "dev_9");
        assert_eq!(loaded.secret.expose(), "fresh-secret");
        assert!(!format!("{loaded:?}").contains("fresh-secret"));
        // Nothing else was left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        store.forget().unwrap();
        assert!(store.load().unwrap().is_none());
    }

    #[test]
    fn an_enrolled_kiosk_keys_its_keychain_entry_by_server() {
        let CredentialStore::Enrolled {
            keychain_account, ..
        } = enrolling(None)
        else {
            panic!("no device id: enrolled");
        };
        assert_eq!(keychain_account, "enrolled@https://clinic.example:8443");
    }

    #[test]
    fn a_file_that_is_not_a_credential_says_how_to_start_over() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credential");
        std::fs::write(&file, "just-a-secret").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let refused = enrolling(Some(file)).load().unwrap_err().to_string();
        assert!(refused.contains("enrols again"), "{refused}");
        assert!(!refused.contains("just-a-secret"), "{refused}");
    }

    #[test]
    fn a_rotated_secret_replaces_a_registered_kiosks_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let store = CredentialStore::of(&config(&file), &server());
        assert!(!store.enrols());
        store
            .save(&Credential {
                device_id: "dev_1".into(),
                secret: DeviceSecret::from("new".to_owned()),
            })
            .unwrap();
        assert_eq!(load_secret(&config(&file)).unwrap().expose(), "new");
        store.forget().unwrap();
        assert!(
            file.exists(),
            "an administrator's secret is never forgotten"
        );
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
