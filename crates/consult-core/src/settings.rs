//! The user's own settings, layered under the administrator's presets (config file and
//! environment): a preset always wins and cannot be changed from the app.

use serde::{Deserialize, Serialize};
use url::Url;

use consult_types::{AppError, NotificationPrefs, SettingsChange, SettingsView};

use crate::config::{validate_idle_logoff_secs, validate_server_url, AppConfig};

/// Where the user's settings are kept between runs (the shell uses tauri-plugin-store). Only
/// non-secret values ever pass through here.
pub trait SettingsStore: Send + Sync {
    fn load(&self) -> Result<UserSettings, AppError>;
    fn save(&self, settings: &UserSettings) -> Result<(), AppError>;
}

/// What the user chose; `None` means "the default (or the preset)".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserSettings {
    pub server_url: Option<String>,
    pub notifications: Option<NotificationPrefs>,
    pub idle_logoff_secs: Option<u64>,
}

const SERVER_URL: &str = "serverUrl";
const IDLE_LOGOFF_SECS: &str = "idleLogoffSecs";

/// The settings in force: presets, else the user's choice (if still valid), else defaults.
pub fn effective(config: &AppConfig, user: &UserSettings) -> SettingsView {
    let server_url = match &user.server_url {
        Some(url) if !config.is_preset(SERVER_URL) && parse_server_url(url).is_ok() => url.clone(),
        _ => config.server_url.to_string(),
    };
    let idle_logoff_secs = match user.idle_logoff_secs {
        Some(secs)
            if !config.is_preset(IDLE_LOGOFF_SECS) && validate_idle_logoff_secs(secs).is_ok() =>
        {
            secs
        }
        _ => config.idle_logoff_secs,
    };
    SettingsView {
        server_url,
        notifications: effective_prefs(config, user.notifications.as_ref()),
        idle_logoff_secs,
        preset: config.presets(),
    }
}

/// Applies a change from the settings dialog to `user`. Refuses (`AppError::Config`) a change
/// to a preset field or a bad value; sending a preset field back unchanged is fine, since the
/// dialog sends whole groups.
pub fn apply(
    config: &AppConfig,
    user: &mut UserSettings,
    change: SettingsChange,
) -> Result<(), AppError> {
    let current = effective(config, user);
    let mut next = user.clone();
    if let Some(url) = change.server_url {
        let url = parse_server_url(&url)?;
        if config.is_preset(SERVER_URL) {
            refuse_if_changed(SERVER_URL, &current.server_url, &url.to_string())?;
        } else {
            next.server_url = Some(url.to_string());
        }
    }
    if let Some(secs) = change.idle_logoff_secs {
        validate_idle_logoff_secs(secs)?;
        if config.is_preset(IDLE_LOGOFF_SECS) {
            refuse_if_changed(IDLE_LOGOFF_SECS, &current.idle_logoff_secs, &secs)?;
        } else {
            next.idle_logoff_secs = Some(secs);
        }
    }
    if let Some(prefs) = change.notifications {
        let fields = [
            ("enabled", current.notifications.enabled, prefs.enabled),
            (
                "joinRequests",
                current.notifications.join_requests,
                prefs.join_requests,
            ),
            ("calls", current.notifications.calls, prefs.calls),
            (
                "reminders",
                current.notifications.reminders,
                prefs.reminders,
            ),
            (
                "showPatientNames",
                current.notifications.show_patient_names,
                prefs.show_patient_names,
            ),
        ];
        for (field, now, wanted) in fields {
            let name = format!("notifications.{field}");
            if config.is_preset(&name) {
                refuse_if_changed(&name, &now, &wanted)?;
            }
        }
        // Preset fields are stored too, but `effective` always takes the preset over them.
        next.notifications = Some(prefs);
    }
    *user = next;
    Ok(())
}

fn effective_prefs(config: &AppConfig, user: Option<&NotificationPrefs>) -> NotificationPrefs {
    let base = user.cloned().unwrap_or_default();
    let presets = &config.notifications;
    NotificationPrefs {
        enabled: presets.enabled.unwrap_or(base.enabled),
        join_requests: presets.join_requests.unwrap_or(base.join_requests),
        calls: presets.calls.unwrap_or(base.calls),
        reminders: presets.reminders.unwrap_or(base.reminders),
        show_patient_names: presets
            .show_patient_names
            .unwrap_or(base.show_patient_names),
    }
}

fn parse_server_url(text: &str) -> Result<Url, AppError> {
    let url = Url::parse(text.trim()).map_err(|error| AppError::Config {
        detail: format!("the server URL {text:?} is not valid: {error}"),
    })?;
    validate_server_url(&url)?;
    Ok(url)
}

fn refuse_if_changed<T: PartialEq>(name: &str, current: &T, wanted: &T) -> Result<(), AppError> {
    if current == wanted {
        Ok(())
    } else {
        Err(AppError::Config {
            detail: format!("{name} is set by your administrator and cannot be changed in the app"),
        })
    }
}

#[cfg(test)]
// figment's Jail closures return its own (large) error type; only tests use it.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    fn config_with(toml: &str) -> AppConfig {
        let mut config = None;
        Jail::expect_with(|jail| {
            jail.create_file("config.toml", toml)?;
            config = Some(
                AppConfig::load_with_machine(&jail.directory().join("config.toml"), None).unwrap(),
            );
            Ok(())
        });
        config.unwrap()
    }

    #[test]
    fn user_choices_apply_where_nothing_is_preset() {
        let config = config_with("");
        let mut user = UserSettings::default();
        let view = effective(&config, &user);
        assert_eq!(view.idle_logoff_secs, 900);
        assert_eq!(view.notifications, NotificationPrefs::default());
        assert!(view.preset.is_empty());

        let quiet = NotificationPrefs {
            show_patient_names: false,
            ..NotificationPrefs::default()
        };
        apply(
            &config,
            &mut user,
            SettingsChange {
                server_url: Some("https://clinic.example".into()),
                notifications: Some(quiet.clone()),
                idle_logoff_secs: Some(600),
            },
        )
        .unwrap();
        let view = effective(&config, &user);
        assert_eq!(view.server_url, "https://clinic.example/");
        assert_eq!(view.notifications, quiet);
        assert_eq!(view.idle_logoff_secs, 600);
    }

    #[test]
    fn presets_win_and_cannot_be_changed() {
        let config = config_with(
            "server_url = \"https://preset.example\"\nidle_logoff_secs = 300\n[notifications]\nshow_patient_names = false\n",
        );
        // Settings saved before the administrator preset them do not count.
        let mut user = UserSettings {
            server_url: Some("https://mine.example".into()),
            notifications: Some(NotificationPrefs::default()),
            idle_logoff_secs: Some(1200),
        };
        let view = effective(&config, &user);
        assert_eq!(view.server_url, "https://preset.example/");
        assert_eq!(view.idle_logoff_secs, 300);
        assert!(!view.notifications.show_patient_names);
        assert!(view.notifications.calls);

        for change in [
            SettingsChange {
                server_url: Some("https://other.example".into()),
                ..SettingsChange::default()
            },
            SettingsChange {
                idle_logoff_secs: Some(600),
                ..SettingsChange::default()
            },
            SettingsChange {
                notifications: Some(NotificationPrefs::default()),
                ..SettingsChange::default()
            },
        ] {
            let before = user.clone();
            let result = apply(&config, &mut user, change.clone());
            assert!(matches!(result, Err(AppError::Config { .. })), "{change:?}");
            assert_eq!(user, before, "a refused change changes nothing");
        }

        // The dialog sends the preset fields back unchanged along with a real change.
        let mut prefs = view.notifications.clone();
        prefs.calls = false;
        apply(
            &config,
            &mut user,
            SettingsChange {
                server_url: Some("https://preset.example/".into()),
                notifications: Some(prefs),
                idle_logoff_secs: Some(300),
            },
        )
        .unwrap();
        let view = effective(&config, &user);
        assert!(!view.notifications.calls && !view.notifications.show_patient_names);
    }

    #[test]
    fn bad_values_are_refused() {
        let config = config_with("");
        let mut user = UserSettings::default();
        for change in [
            SettingsChange {
                server_url: Some("http://clinic.example".into()),
                ..SettingsChange::default()
            },
            SettingsChange {
                server_url: Some("not a url".into()),
                ..SettingsChange::default()
            },
            SettingsChange {
                idle_logoff_secs: Some(10),
                ..SettingsChange::default()
            },
        ] {
            assert!(
                matches!(
                    apply(&config, &mut user, change.clone()),
                    Err(AppError::Config { .. })
                ),
                "{change:?}"
            );
        }
        assert_eq!(user, UserSettings::default());
        apply(
            &config,
            &mut user,
            SettingsChange {
                idle_logoff_secs: Some(0),
                ..SettingsChange::default()
            },
        )
        .unwrap();
        assert_eq!(effective(&config, &user).idle_logoff_secs, 0);
    }
}
