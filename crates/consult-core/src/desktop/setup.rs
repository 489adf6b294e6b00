//! The configuration in force: the administrator's presets, the user's settings under them, and
//! the session manager for the effective clinic server.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use url::Url;

use consult_types::{AppError, CallSupport, SettingsChange, SettingsView};

use crate::call::deployment::Trust;
use crate::call::path as call_path;
use crate::call::CallOptions;
use crate::clinic::{ClinicClient, ServerTrust};
use crate::config::{AppConfig, KioskConfig};
use crate::secrets;
use crate::session::SessionManager;
use crate::settings::{self, SettingsStore, UserSettings};

/// The keychain service name: the app's bundle identifier.
pub const KEYCHAIN_SERVICE: &str = "app.consult.desktop";

pub struct Setup {
    config: AppConfig,
    store: Arc<dyn SettingsStore>,
    user: Mutex<UserSettings>,
    /// Replaced when the user changes the server while signed out.
    session: Mutex<Arc<SessionManager>>,
}

impl Setup {
    /// Reads the configuration file in `config_dir` (or `CONSULT_CONFIG`) and the environment,
    /// and the user's saved settings from `store` (unreadable ones are ignored, with a warning).
    pub fn load(config_dir: &Path, store: Arc<dyn SettingsStore>) -> Result<Setup, AppError> {
        let file = AppConfig::file_location(config_dir);
        let loaded = AppConfig::load(&file).and_then(|config| Setup::new(config, store));
        match &loaded {
            Ok(setup) => {
                tracing::info!(server = %setup.settings().server_url, keychain = ?setup.config.keychain, config_file = %file.display(), "configured")
            }
            Err(error) => {
                tracing::error!(%error, config_file = %file.display(), "configuration is not usable")
            }
        }
        loaded
    }

    pub fn new(config: AppConfig, store: Arc<dyn SettingsStore>) -> Result<Setup, AppError> {
        let user = store.load().unwrap_or_else(|error| {
            tracing::warn!(%error, "the saved settings are ignored");
            UserSettings::default()
        });
        let session = session_for(&config, &settings::effective(&config, &user))?;
        Ok(Setup {
            config,
            store,
            user: Mutex::new(user),
            session: Mutex::new(session),
        })
    }

    /// Kiosk mode's device, when the administrator turned kiosk mode on.
    pub fn kiosk(&self) -> Option<&KioskConfig> {
        self.config.kiosk.as_ref()
    }

    /// `[updates]`, and the CA file the clinic server's client trusts (the updater trusts it too).
    pub fn updates(&self) -> (&crate::config::UpdatesConfig, Option<&Path>) {
        (&self.config.updates, self.config.server_ca_file.as_deref())
    }

    /// The session manager for the server in force.
    pub fn session(&self) -> Arc<SessionManager> {
        Arc::clone(&lock(&self.session))
    }

    /// How a call would be carried here now (probed each time: a browser may be installed
    /// while the app runs).
    pub fn call_support(&self) -> CallSupport {
        call_path::detect(self.config.call_path, self.config.browser.as_deref())
    }

    /// Everything a call needs from the configuration.
    pub fn call_options(&self) -> Result<CallOptions, AppError> {
        let trust = Trust::load(self.config.jitsi_ca_file.as_deref()).map_err(|error| {
            AppError::Config {
                detail: error.to_string(),
            }
        })?;
        Ok(CallOptions {
            support: self.call_support(),
            browser_program: call_path::browser_program(self.config.browser.as_deref()),
            browser_args: self.config.browser_args.clone(),
            browser_allow_root: self.config.browser_allow_root,
            trust,
            timeout: self.config.request_timeout(),
            start_muted: self.config.kiosk.is_some(),
        })
    }

    /// The settings in force (presets over the user's choices over defaults).
    pub fn settings(&self) -> SettingsView {
        settings::effective(&self.config, &lock(&self.user))
    }

    /// Applies and saves the user's change. The clinic server can change only while nobody is
    /// signed in (`signed_in` false): a session belongs to the server that issued it. The next
    /// sign-in then goes to the new server.
    pub fn save_settings(
        &self,
        change: SettingsChange,
        signed_in: bool,
    ) -> Result<SettingsView, AppError> {
        let mut user = lock(&self.user);
        let before = settings::effective(&self.config, &user);
        let mut next = user.clone();
        settings::apply(&self.config, &mut next, change)?;
        let after = settings::effective(&self.config, &next);
        let new_server = after.server_url != before.server_url;
        if new_server && signed_in {
            return Err(AppError::Config {
                detail: "sign out before changing the clinic server".into(),
            });
        }
        let session = if new_server {
            Some(session_for(&self.config, &after)?)
        } else {
            None
        };
        self.store.save(&next)?;
        *user = next;
        if let Some(session) = session {
            tracing::info!(server = %after.server_url, "the clinic server changed");
            *lock(&self.session) = session;
        }
        Ok(after)
    }
}

/// A session manager for the effective server, remembering sign-ins as the config says
/// (`keychain = "none"`: the core's memory-only store).
fn session_for(config: &AppConfig, view: &SettingsView) -> Result<Arc<SessionManager>, AppError> {
    let server_url = Url::parse(&view.server_url).map_err(|error| AppError::Config {
        detail: format!("server URL {}: {error}", view.server_url),
    })?;
    let mut effective = config.clone();
    effective.server_url = server_url;
    let trust = ServerTrust::load(config.server_ca_file.as_deref())?;
    let client = ClinicClient::with_trust(
        effective.server_url.clone(),
        effective.request_timeout(),
        &trust,
    )?;
    // The keychain entry is keyed by the effective server's origin.
    let secrets = secrets::store_for(&effective, KEYCHAIN_SERVICE);
    Ok(Arc::new(SessionManager::new(client, secrets)))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain values; a panic elsewhere mid-assignment cannot leave them half-written.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
