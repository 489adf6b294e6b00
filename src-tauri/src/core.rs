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

/// Either a working core, or the configuration error that prevents one. The app still starts
/// when misconfigured, so the user sees what is wrong instead of nothing.
pub struct Core(Result<Ready, AppError>);

pub struct Ready {
    config: AppConfig,
    session: SessionManager,
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
        match &loaded {
            Ok((config, _)) => {
                tracing::info!(server = %config.server_origin(), config_file = %file.display(), "configured")
            }
            Err(error) => {
                tracing::error!(%error, config_file = %file.display(), "configuration is not usable")
            }
        }
        Core(loaded.map(|(config, session)| Ready { config, session }))
    }

    pub fn ready(&self) -> Result<(&AppConfig, &SessionManager), AppError> {
        match &self.0 {
            Ok(ready) => Ok((&ready.config, &ready.session)),
            Err(error) => Err(error.clone()),
        }
    }
}
