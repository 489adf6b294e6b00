//! Where the refresh token lives between runs: the OS keychain, never a file.

use std::sync::Arc;

use consult_types::AppError;

use crate::config::{AppConfig, KeychainMode};

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

/// `keychain = "none"`: sign-ins are not remembered. The refresh token lives only in the
/// session's memory, so every start asks for the password; nothing is written anywhere (never a
/// plaintext file in place of the keychain). Saving "fails" with the reason, which the session
/// shows as `SessionView.remember_problem`.
pub struct MemoryOnlyStore;

/// Why nothing is remembered with [`MemoryOnlyStore`].
pub const NOT_REMEMBERED: &str = "sign-ins are not remembered on this computer (the app's configuration sets keychain = \"none\"); you will be asked for your password at the next start";

impl SecretStore for MemoryOnlyStore {
    fn load(&self) -> Result<Option<String>, AppError> {
        Ok(None)
    }

    fn save(&self, _secret: &str) -> Result<(), AppError> {
        Err(AppError::Keychain {
            detail: NOT_REMEMBERED.to_owned(),
        })
    }

    fn delete(&self) -> Result<(), AppError> {
        Ok(())
    }
}

/// The store the configuration asks for: the OS keychain entry for this server, or none. A
/// kiosk keeps nothing: it signs in with its device secret at every start.
pub fn store_for(config: &AppConfig, service: &str) -> Arc<dyn SecretStore> {
    if config.kiosk.is_some() {
        return Arc::new(MemoryOnlyStore);
    }
    match config.keychain {
        KeychainMode::Os => Arc::new(KeychainStore::new(service, config.server_origin())),
        KeychainMode::None => Arc::new(MemoryOnlyStore),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_only_remembers_nothing_and_says_why() {
        let store = MemoryOnlyStore;
        let refused = store.save("refresh-token").unwrap_err();
        assert!(
            refused.to_string().contains("keychain = \"none\""),
            "{refused}"
        );
        assert_eq!(store.load().unwrap(), None);
        assert!(store.delete().is_ok());
    }
}
