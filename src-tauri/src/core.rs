//! The core as managed Tauri state: a session manager for the configured clinic server, or the
//! configuration error that stops the app from having one.

use std::path::Path;
use std::sync::Arc;

use consult_core::clinic::ClinicClient;
use consult_core::config::AppConfig;
use consult_core::secrets::KeychainStore;
use consult_core::session::SessionManager;
use consult_types::AppError;

/// The keychain service name: the app's bundle identifier.
const KEYCHAIN_SERVICE: &str = "app.consult.desktop";

pub enum Core {
    Ready {
        config: AppConfig,
        session: SessionManager,
    },
    /// The app still starts, so the user sees what is wrong instead of nothing.
    Misconfigured(AppError),
}

impl Core {
    pub fn load(config_dir: &Path) -> Core {
        let file = AppConfig::file_location(config_dir);
        let loaded = AppConfig::load(&file).and_then(|config| {
            let client = ClinicClient::new(config.server_url.clone(), config.request_timeout())?;
            let store = KeychainStore::new(KEYCHAIN_SERVICE, config.server_origin());
            let session = SessionManager::new(client, Arc::new(store));
            Ok((config, session))
        });
        match loaded {
            Ok((config, session)) => {
                tracing::info!(server = %config.server_origin(), config_file = %file.display(), "configured");
                Core::Ready { config, session }
            }
            Err(error) => {
                tracing::error!(%error, config_file = %file.display(), "configuration is not usable");
                Core::Misconfigured(error)
            }
        }
    }

    pub fn ready(&self) -> Result<(&AppConfig, &SessionManager), AppError> {
        match self {
            Core::Ready { config, session } => Ok((config, session)),
            Core::Misconfigured(error) => Err(error.clone()),
        }
    }
}
