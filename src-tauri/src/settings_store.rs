//! `settings.json` in the app's data dir (tauri-plugin-store): the user's non-secret settings
//! for the core's [`SettingsStore`], the main window's place, and a kiosk's consent for the
//! visit under way ([`KioskMemory`]). Never a token or password.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use tauri::{AppHandle, Runtime};
use tauri_plugin_store::{Store, StoreExt};

use consult_core::heal::KeptConsent;
use consult_core::ports::KioskMemory;
use consult_core::settings::{SettingsStore, UserSettings};
use consult_types::AppError;

pub const FILE: &str = "settings.json";
/// The [`UserSettings`] fields, each a top-level key of the file.
const USER_KEYS: [&str; 3] = ["serverUrl", "notifications", "idleLogoffSecs"];
/// A kiosk's [`KeptConsent`].
const KIOSK_CONSENT: &str = "kioskConsent";

pub struct PluginSettingsStore<R: Runtime> {
    store: Arc<Store<R>>,
}

impl<R: Runtime> PluginSettingsStore<R> {
    pub fn open(app: &AppHandle<R>) -> Result<PluginSettingsStore<R>, AppError> {
        let store = app.store(FILE).map_err(|error| AppError::Internal {
            detail: format!("the settings file cannot be opened: {error}"),
        })?;
        Ok(PluginSettingsStore { store })
    }

    /// A value of its own key (e.g. the window's place); `None` when absent or unreadable.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let value = self.store.get(key)?;
        match serde_json::from_value(value) {
            Ok(value) => Some(value),
            Err(error) => {
                tracing::warn!(key, %error, "ignored an unreadable value in the settings file");
                None
            }
        }
    }

    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), AppError> {
        let value = serde_json::to_value(value).map_err(internal)?;
        self.store.set(key, value);
        self.store.save().map_err(internal)
    }
}

impl<R: Runtime> SettingsStore for PluginSettingsStore<R> {
    fn load(&self) -> Result<UserSettings, AppError> {
        let fields: Map<String, Value> = USER_KEYS
            .iter()
            .filter_map(|key| Some(((*key).to_owned(), self.store.get(key)?)))
            .collect();
        serde_json::from_value(Value::Object(fields)).map_err(|error| AppError::Config {
            detail: format!("the saved settings ({FILE}) are not readable: {error}"),
        })
    }

    fn save(&self, settings: &UserSettings) -> Result<(), AppError> {
        let Value::Object(fields) = serde_json::to_value(settings).map_err(internal)? else {
            return Err(AppError::Internal {
                detail: "settings did not serialize to an object".into(),
            });
        };
        for key in USER_KEYS {
            match fields.get(key) {
                Some(value) if !value.is_null() => self.store.set(key, value.clone()),
                _ => {
                    self.store.delete(key);
                }
            }
        }
        self.store.save().map_err(internal)
    }
}

impl<R: Runtime> KioskMemory for PluginSettingsStore<R> {
    fn kept_consent(&self) -> Option<KeptConsent> {
        self.get(KIOSK_CONSENT)
    }

    fn keep_consent(&self, consent: Option<&KeptConsent>) -> Result<(), AppError> {
        match consent {
            Some(consent) => self.put(KIOSK_CONSENT, consent),
            None => {
                self.store.delete(KIOSK_CONSENT);
                self.store.save().map_err(internal)
            }
        }
    }
}

fn internal(error: impl std::fmt::Display) -> AppError {
    AppError::Internal {
        detail: format!("the settings file could not be written: {error}"),
    }
}
