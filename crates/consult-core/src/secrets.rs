//! Where the refresh token lives between runs: the OS keychain, never a file.

use consult_types::AppError;

/// Keeps one secret. Implementations block (D-Bus, Keychain Services), so async callers run
/// them on a blocking thread.
pub trait SecretStore: Send + Sync {
    fn load(&self) -> Result<Option<String>, AppError>;
    fn save(&self, secret: &str) -> Result<(), AppError>;
    fn delete(&self) -> Result<(), AppError>;
}

/// The OS keychain: Secret Service on Linux (GNOME Keyring, KWallet), Keychain on macOS,
/// Credential Manager on Windows. One entry per clinic server.
pub struct KeychainStore {
    service: String,
    account: String,
}

impl KeychainStore {
    /// `service` names the app (its bundle identifier); `account` the clinic server's origin,
    /// so signing in to two clinics keeps two separate entries.
    pub fn new(service: impl Into<String>, account: impl Into<String>) -> KeychainStore {
        KeychainStore {
            service: service.into(),
            account: account.into(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, AppError> {
        keyring::Entry::new(&self.service, &self.account).map_err(keychain_error)
    }
}

impl SecretStore for KeychainStore {
    fn load(&self) -> Result<Option<String>, AppError> {
        match self.entry()?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(keychain_error(error)),
        }
    }

    fn save(&self, secret: &str) -> Result<(), AppError> {
        self.entry()?.set_password(secret).map_err(keychain_error)
    }

    fn delete(&self) -> Result<(), AppError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(error) => Err(keychain_error(error)),
        }
    }
}

fn keychain_error(error: keyring::Error) -> AppError {
    let detail = match error {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            format!(
                "no usable keychain ({inner}). On Linux a Secret Service provider such as GNOME Keyring or KWallet must be running and unlocked"
            )
        }
        other => other.to_string(),
    };
    AppError::Keychain { detail }
}
