//! The app's configuration: defaults < `config.toml` < `CONSULT_*` environment variables <
//! the machine-wide file (`/etc/consult/config.toml` on Linux), which a clinic's IT manages and
//! which neither the user's file nor the environment can override.
//!
//! Administrators preset the clinic server for their users with any of the three; nothing here
//! is secret, and nothing secret may be added here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use url::{Host, Url};

use consult_types::AppError;

use crate::machine_policy::Policy;

/// Environment variable naming a config file to use instead of the default location.
pub const CONFIG_FILE_ENV: &str = "CONSULT_CONFIG";
/// The machine-wide configuration file that wins over everything else (Linux). Windows and
/// macOS have their policy stores instead ([`crate::machine_policy`]).
#[cfg(all(unix, not(target_os = "macos")))]
pub const MACHINE_FILE: Option<&str> = Some("/etc/consult/config.toml");
#[cfg(not(all(unix, not(target_os = "macos"))))]
pub const MACHINE_FILE: Option<&str> = None;
/// Prefix of environment variables overriding single settings, e.g. `CONSULT_SERVER_URL`.
pub const ENV_PREFIX: &str = "CONSULT_";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// Base URL of the clinic server. HTTPS, except for a server on this machine.
    pub server_url: Url,
    /// How long one request to the clinic server may take.
    pub request_timeout_secs: u64,
    /// Sign out after this long without activity; 0 turns it off.
    pub idle_logoff_secs: u64,
    /// Notification settings an administrator fixes; unset ones are the user's choice.
    #[serde(default)]
    pub notifications: NotificationPresets,
    /// Where sign-ins are remembered between runs.
    #[serde(default)]
    pub keychain: KeychainMode,
    /// How calls are carried; see [`crate::call::path`].
    #[serde(default)]
    pub call_path: CallPathChoice,
    /// A specific browser program for the browser call path, instead of searching `PATH`.
    #[serde(default)]
    pub browser: Option<PathBuf>,
    /// Extra command-line flags for that browser (e.g. a proxy), added before the call page.
    #[serde(default)]
    pub browser_args: Vec<String>,
    /// Open the call's browser even when the app runs as root, where Chromium must run without
    /// its sandbox. Off unless an administrator turns it on (kiosks, test machines).
    #[serde(default)]
    pub browser_allow_root: bool,
    /// A PEM file with certificate authorities trusted for the clinic server, besides the
    /// built-in and the system's roots (a clinic's own CA, a TLS-inspecting proxy's).
    #[serde(default)]
    pub server_ca_file: Option<PathBuf>,
    /// A PEM file with the clinic's private certificate authority, trusted only for the Jitsi
    /// deployment (its certificate is verified against it and then trusted for that host).
    #[serde(default)]
    pub jitsi_ca_file: Option<PathBuf>,
    /// Kiosk mode: the app signs in as this clinic device by itself, never with a password.
    /// Only an administrator's file or environment sets it; a doctor's install has none.
    #[serde(default)]
    pub kiosk: Option<KioskConfig>,
    /// `[updates]`: in-app updates (see [`crate::updates`]).
    #[serde(default)]
    pub updates: UpdatesConfig,
    /// Settings (in [`SettingsView`](consult_types::SettingsView) naming) set by the file or
    /// the environment, filled in by [`AppConfig::load`].
    #[serde(skip)]
    preset: Vec<String>,
}

/// One configured setting: its dotted key, its value as JSON, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingOrigin {
    pub key: String,
    pub value: String,
    pub source: String,
}

fn flatten(prefix: &str, dict: &figment::value::Dict, out: &mut Vec<(String, String)>) {
    for (key, value) in dict {
        let key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            figment::value::Value::Dict(_, inner) => flatten(&key, inner, out),
            value => out.push((
                key,
                serde_json::to_string(value).unwrap_or_else(|_| "?".to_owned()),
            )),
        }
    }
}

/// `[notifications]` in the file (`CONSULT_NOTIFICATIONS__<KEY>` in the environment): each
/// key set here is fixed for the user; see [`NotificationPrefs`](consult_types::NotificationPrefs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationPresets {
    pub enabled: Option<bool>,
    pub join_requests: Option<bool>,
    pub calls: Option<bool>,
    pub reminders: Option<bool>,
    pub show_patient_names: Option<bool>,
}

/// `[kiosk]` (`CONSULT_KIOSK__DEVICE_ID`, `CONSULT_KIOSK__SECRET_FILE`): which device this
/// kiosk is. The device secret is never here: see [`crate::kiosk`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskConfig {
    /// The device id the clinic's administrator registered (public, like a user name). Unset:
    /// the kiosk enrols itself (it shows a one-time code an administrator claims) and keeps the
    /// id and secret it receives where `secret_file` says, or in the OS keychain.
    #[serde(default)]
    pub device_id: Option<String>,
    /// A file holding the device secret, readable by the kiosk's account only. Without it the
    /// secret is read from the OS keychain. For an enrolled kiosk (no `device_id`) the app
    /// writes it (its directory must be the kiosk account's).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Seconds between sign-in attempts while the kiosk cannot sign in (switched off by the
    /// clinic, server unreachable); 30 when unset.
    #[serde(default)]
    pub retry_secs: Option<u64>,
    /// Seconds before a visit's start the kiosk joins its call (60 when unset); at once when
    /// the doctor starts the meeting earlier.
    #[serde(default)]
    pub join_lead_secs: Option<u64>,
    /// Seconds after a visit's end the kiosk leaves its call at the latest (600 when unset).
    #[serde(default)]
    pub leave_grace_secs: Option<u64>,
    /// Greet the patient of a visit about to start by first name on the idle screen (off
    /// unless the clinic allows it).
    #[serde(default)]
    pub show_first_name: bool,
    /// The clinic's name, shown on the idle screen (nothing when unset).
    #[serde(default)]
    pub clinic_name: Option<String>,
    /// The Jitsi deployment the kiosk's calls use (the one given to `--kiosk-chromium-policy`),
    /// checked by the self-test before any visit tells it; unset, that check is skipped.
    #[serde(default)]
    pub jitsi_url: Option<Url>,
    /// The local hour (0-23) at which the kiosk restarts itself each night, or as soon after
    /// it as no visit is within 30 minutes and no call runs (see `nightly.rs`); unset: never.
    #[serde(default)]
    pub nightly_restart_hour: Option<u8>,
}

/// `[updates]` (`CONSULT_UPDATES__ENABLED`, `…__ENDPOINT`, `…__CHECK_INTERVAL_HOURS`): in-app
/// updates. `public_key` is accepted only from the machine-wide file (see [`AppConfig::load`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatesConfig {
    /// In-app updates on (the default) or off: managed installs update through their package
    /// manager, and IT turns this off for them.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The update endpoint, `https://…` only; `{{target}}`, `{{arch}}` and
    /// `{{current_version}}` are replaced by the updater. Unset: no in-app updates.
    #[serde(default)]
    pub endpoint: Option<Url>,
    /// Hours between two checks (the first comes some seconds after the first screen).
    #[serde(default = "default_check_interval_hours")]
    pub check_interval_hours: u64,
    /// The minisign public key (the contents of `tauri signer generate`'s `.pub` file) of a
    /// clinic's own update channel, replacing the one built into the app. Machine-wide file only.
    #[serde(default)]
    pub public_key: Option<String>,
}

impl Default for UpdatesConfig {
    fn default() -> UpdatesConfig {
        UpdatesConfig {
            enabled: true,
            endpoint: None,
            check_interval_hours: DEFAULT_CHECK_INTERVAL_HOURS,
            public_key: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_check_interval_hours() -> u64 {
    DEFAULT_CHECK_INTERVAL_HOURS
}

/// Hours between update checks when `[updates] check_interval_hours` is unset.
pub const DEFAULT_CHECK_INTERVAL_HOURS: u64 = 6;
/// The longest interval a setting may ask for: a week.
pub const MAX_CHECK_INTERVAL_HOURS: u64 = 24 * 7;

/// `keychain = "os" | "none"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeychainMode {
    /// The OS keychain keeps the refresh token, so the next start signs in silently.
    #[default]
    Os,
    /// Nothing is remembered: every start asks for the password (shared or locked-down
    /// computers). Never a plaintext file instead.
    None,
}

/// `call_path = "auto" | "embedded" | "browser"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallPathChoice {
    /// The webview if it has WebRTC, else a Chromium-family browser, else say what to install.
    #[default]
    Auto,
    /// Always the webview; a webview without WebRTC means no call rather than a fallback.
    Embedded,
    /// Always a browser window in app mode, even where the webview could carry the call.
    Browser,
}

/// The clinic server's own default address, so a local demo needs no set-up.
pub const DEFAULT_SERVER_URL: &str = "http://127.0.0.1:8080/";
const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 15;
pub const DEFAULT_IDLE_LOGOFF_SECS: u64 = 900;
/// The longest idle time a setting may ask for (0, off, is allowed too).
pub const MAX_IDLE_LOGOFF_SECS: u64 = 24 * 60 * 60;
/// Settings that `CONSULT_<KEY>` environment variables may override (`__` nests a table).
const ENV_KEYS: &[&str] = &[
    "server_url",
    "request_timeout_secs",
    "idle_logoff_secs",
    "keychain",
    "call_path",
    "browser",
    "browser_args",
    "browser_allow_root",
    "server_ca_file",
    "jitsi_ca_file",
    "kiosk__device_id",
    "kiosk__secret_file",
    "kiosk__retry_secs",
    "kiosk__join_lead_secs",
    "kiosk__leave_grace_secs",
    "kiosk__show_first_name",
    "kiosk__clinic_name",
    "kiosk__jitsi_url",
    "kiosk__nightly_restart_hour",
    "notifications__enabled",
    "notifications__join_requests",
    "notifications__calls",
    "notifications__reminders",
    "notifications__show_patient_names",
    "updates__enabled",
    "updates__endpoint",
    "updates__check_interval_hours",
    // Read only to be refused with a clear error: the key belongs in the machine-wide file.
    "updates__public_key",
];
/// Config keys the user could otherwise change, with their names in `SettingsView`.
const USER_FACING: &[(&str, &str)] = &[
    ("server_url", "serverUrl"),
    ("idle_logoff_secs", "idleLogoffSecs"),
    ("notifications.enabled", "notifications.enabled"),
    ("notifications.join_requests", "notifications.joinRequests"),
    ("notifications.calls", "notifications.calls"),
    ("notifications.reminders", "notifications.reminders"),
    (
        "notifications.show_patient_names",
        "notifications.showPatientNames",
    ),
];

fn defaults() -> Figment {
    Figment::new()
        .merge(Serialized::default("server_url", DEFAULT_SERVER_URL))
        .merge(Serialized::default(
            "request_timeout_secs",
            DEFAULT_REQUEST_TIMEOUT_SECS,
        ))
        .merge(Serialized::default(
            "idle_logoff_secs",
            DEFAULT_IDLE_LOGOFF_SECS,
        ))
}

fn environment() -> Env {
    // Only known keys: other CONSULT_* variables belong to other tools.
    Env::prefixed(ENV_PREFIX).only(ENV_KEYS).split("__")
}

/// Where the machine-wide configuration comes from.
#[derive(Debug, Clone, Copy)]
pub enum Machine<'a> {
    None,
    /// A TOML file (Linux: [`MACHINE_FILE`]).
    File(&'a Path),
    /// The platform's policy store (Windows' registry, macOS' managed preferences).
    Policy(&'a Policy),
}

impl Machine<'_> {
    fn merge_into(self, figment: Figment) -> Figment {
        match self {
            Machine::None => figment,
            Machine::File(path) => figment.merge(Toml::file(path)),
            Machine::Policy(policy) => figment.merge(policy.clone()),
        }
    }

    fn describe(self) -> String {
        match self {
            Machine::None => String::new(),
            Machine::File(path) => format!(" {}", path.display()),
            Machine::Policy(policy) => format!(" ({})", policy.source),
        }
    }
}

impl AppConfig {
    /// Loads the configuration: `file` if it exists (a missing file is not an error, a broken
    /// one is), then the `CONSULT_*` environment variables, then the machine-wide policy
    /// (Windows, macOS) or file (Linux).
    pub fn load(file: &Path) -> Result<AppConfig, AppError> {
        match crate::machine_policy::read()? {
            Some(policy) => AppConfig::load_with_source(file, Machine::Policy(&policy)),
            None => AppConfig::load_with_machine(file, MACHINE_FILE.map(Path::new)),
        }
    }

    /// [`AppConfig::load`] with the machine-wide file at `machine` (tests use their own).
    pub fn load_with_machine(file: &Path, machine: Option<&Path>) -> Result<AppConfig, AppError> {
        AppConfig::load_with_source(file, machine.map_or(Machine::None, Machine::File))
    }

    /// [`AppConfig::load`] with the machine-wide configuration from `machine`.
    pub fn load_with_source(file: &Path, machine: Machine<'_>) -> Result<AppConfig, AppError> {
        let mut admin = Figment::new().merge(Toml::file(file)).merge(environment());
        if admin.find_value("updates.public_key").is_ok() {
            // Whoever can write the user's file or environment must not choose whose updates
            // the app installs.
            return Err(AppError::Config {
                detail: format!(
                    "[updates] public_key is accepted only in the machine-wide configuration{}, which only an administrator can change; remove it from the user's configuration file and the environment (CONSULT_UPDATES__PUBLIC_KEY)",
                    machine.describe()
                ),
            });
        }
        // Last, so what it sets wins over the user's file and the environment.
        admin = machine.merge_into(admin);
        let mut config = Self::from_figment(defaults().merge(admin.clone()))?;
        // What the administrator set is what the file and environment alone contain.
        config.preset = USER_FACING
            .iter()
            .filter(|(key, _)| admin.find_value(key).is_ok())
            .map(|(_, name)| (*name).to_owned())
            .collect();
        Ok(config)
    }

    /// Every setting the defaults, `file`, the environment and `machine` give, with the value
    /// and where it came from (the diagnostics report). Works on a broken configuration too:
    /// what cannot be read is left out.
    pub fn origins(file: &Path, machine: Option<&Path>) -> Vec<SettingOrigin> {
        match (machine, crate::machine_policy::read()) {
            (None, Ok(Some(policy))) => {
                AppConfig::origins_with_source(file, Machine::Policy(&policy))
            }
            _ => AppConfig::origins_with_source(file, machine.map_or(Machine::None, Machine::File)),
        }
    }

    /// [`AppConfig::origins`] with the machine-wide configuration from `machine`.
    pub fn origins_with_source(file: &Path, machine: Machine<'_>) -> Vec<SettingOrigin> {
        let machine_file = match machine {
            Machine::File(path) => Some(path),
            _ => None,
        };
        let figment = machine.merge_into(defaults().merge(Toml::file(file)).merge(environment()));
        let mut leaves = Vec::new();
        if let Ok(dict) = figment.extract::<figment::value::Dict>() {
            flatten("", &dict, &mut leaves);
        }
        leaves
            .into_iter()
            .map(|(key, value)| {
                let source = match figment.find_metadata(&key) {
                    Some(meta) => match &meta.source {
                        // figment makes a relative path absolute.
                        Some(figment::Source::File(path))
                            if machine_file.is_some_and(|machine| path.ends_with(machine)) =>
                        {
                            format!("machine-wide file {}", path.display())
                        }
                        Some(figment::Source::File(path)) => format!("file {}", path.display()),
                        _ if meta.name.starts_with("machine-wide policy") => meta.name.to_string(),
                        _ if meta.name.contains("environment") => format!(
                            "environment {ENV_PREFIX}{}",
                            key.replace('.', "__").to_uppercase()
                        ),
                        _ => "default".to_owned(),
                    },
                    None => "default".to_owned(),
                };
                SettingOrigin { key, value, source }
            })
            .collect()
    }

    /// Names (as in `SettingsView`: `serverUrl`, `idleLogoffSecs`,
    /// `notifications.showPatientNames`, …) of the settings the file or the environment set:
    /// the user cannot change those.
    pub fn presets(&self) -> Vec<String> {
        self.preset.clone()
    }

    pub fn is_preset(&self, name: &str) -> bool {
        self.preset.iter().any(|preset| preset == name)
    }

    /// The config file: `$CONSULT_CONFIG` if set, else `config.toml` in `config_dir`.
    pub fn file_location(config_dir: &Path) -> PathBuf {
        match std::env::var_os(CONFIG_FILE_ENV) {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => config_dir.join("config.toml"),
        }
    }

    fn from_figment(figment: Figment) -> Result<AppConfig, AppError> {
        let config: AppConfig = figment.extract().map_err(|error| AppError::Config {
            detail: error.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), AppError> {
        validate_server_url(&self.server_url)?;
        if self.request_timeout_secs == 0 {
            return Err(AppError::Config {
                detail: "request_timeout_secs must be at least 1".into(),
            });
        }
        validate_idle_logoff_secs(self.idle_logoff_secs)?;
        if let Some(kiosk) = &self.kiosk {
            if kiosk
                .device_id
                .as_ref()
                .is_some_and(|id| id.trim().is_empty())
            {
                return Err(AppError::Config {
                    detail: "[kiosk] device_id is empty: set the device id the clinic's administrator registered for this kiosk, or leave it out to enrol the kiosk with a code".into(),
                });
            }
            if kiosk.nightly_restart_hour.is_some_and(|hour| hour > 23) {
                return Err(AppError::Config {
                    detail: "[kiosk] nightly_restart_hour must be an hour of the day, 0 to 23"
                        .into(),
                });
            }
            if kiosk.retry_secs == Some(0) {
                return Err(AppError::Config {
                    detail: "[kiosk] retry_secs must be at least 1".into(),
                });
            }
            if kiosk
                .secret_file
                .as_ref()
                .is_some_and(|file| !file.is_absolute())
            {
                return Err(AppError::Config {
                    detail: "[kiosk] secret_file must be an absolute path".into(),
                });
            }
        }
        validate_updates(&self.updates)?;
        if let Some(browser) = &self.browser {
            // A relative path would depend on the directory the app was started from.
            if !browser.is_absolute() {
                return Err(AppError::Config {
                    detail: format!(
                        "browser must be the absolute path of a Chromium-family browser program (e.g. /usr/bin/chromium), not {:?}",
                        browser.display().to_string()
                    ),
                });
            }
        }
        Ok(())
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The server's origin (`scheme://host:port`), used to key the keychain entry.
    pub fn server_origin(&self) -> String {
        self.server_url.origin().ascii_serialization()
    }
}

/// 0 (off), or between one minute and a day.
pub fn validate_idle_logoff_secs(secs: u64) -> Result<(), AppError> {
    if secs == 0 || (60..=MAX_IDLE_LOGOFF_SECS).contains(&secs) {
        Ok(())
    } else {
        Err(AppError::Config {
            detail: format!(
                "idle_logoff_secs must be 0 (off) or between 60 and {MAX_IDLE_LOGOFF_SECS} seconds, not {secs}"
            ),
        })
    }
}

/// `[updates]`: the endpoint is HTTPS with a host, the interval between an hour and a week, a
/// public key is not empty.
pub fn validate_updates(updates: &UpdatesConfig) -> Result<(), AppError> {
    if let Some(endpoint) = &updates.endpoint {
        if endpoint.scheme() != "https" {
            return Err(AppError::Config {
                detail: format!(
                    "[updates] endpoint {endpoint} must use https:// (updates are never fetched over plain HTTP, not even from this machine)"
                ),
            });
        }
        if endpoint.cannot_be_a_base() || endpoint.host().is_none() {
            return Err(AppError::Config {
                detail: format!("[updates] endpoint {endpoint} has no host"),
            });
        }
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            // It would end up in logs and the diagnostics; the channel is public anyway.
            return Err(AppError::Config {
                detail: "[updates] endpoint must not carry a user name or password".into(),
            });
        }
    }
    if !(1..=MAX_CHECK_INTERVAL_HOURS).contains(&updates.check_interval_hours) {
        return Err(AppError::Config {
            detail: format!(
                "[updates] check_interval_hours must be between 1 and {MAX_CHECK_INTERVAL_HOURS}, not {}",
                updates.check_interval_hours
            ),
        });
    }
    if updates
        .public_key
        .as_deref()
        .is_some_and(|key| key.trim().is_empty())
    {
        return Err(AppError::Config {
            detail: "[updates] public_key is empty: set the contents of the update key's .pub file, or remove the line to use the key built into the app".into(),
        });
    }
    Ok(())
}

/// HTTPS, or plain HTTP to this machine only; with a host.
pub fn validate_server_url(url: &Url) -> Result<(), AppError> {
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(url) => {}
        "http" => {
            return Err(AppError::Config {
                detail: format!(
                    "server_url {url} uses plain HTTP; use https:// (plain HTTP is only allowed for a server on this machine)"
                ),
            })
        }
        other => {
            return Err(AppError::Config {
                detail: format!("server_url {url} has scheme {other}; use https://"),
            })
        }
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(AppError::Config {
            detail: format!("server_url {url} has no host"),
        });
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
// figment's Jail closures return its own (large) error type; only tests use it.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use crate::machine_policy;
    use figment::Jail;

    #[test]
    fn defaults_point_at_a_local_server() {
        let config = AppConfig::from_figment(defaults()).unwrap();
        assert_eq!(config.server_url.as_str(), DEFAULT_SERVER_URL);
        assert_eq!(config.request_timeout_secs, DEFAULT_REQUEST_TIMEOUT_SECS);
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "config.toml",
                "server_url = \"https://clinic.example\"\nrequest_timeout_secs = 7\n",
            )?;
            let from_file =
                AppConfig::load_with_machine(&jail.directory().join("config.toml"), None).unwrap();
            assert_eq!(from_file.server_url.as_str(), "https://clinic.example/");
            assert_eq!(from_file.request_timeout_secs, 7);

            jail.set_env("CONSULT_SERVER_URL", "https://other.example:8443");
            let from_env =
                AppConfig::load_with_machine(&jail.directory().join("config.toml"), None).unwrap();
            assert_eq!(from_env.server_url.as_str(), "https://other.example:8443/");
            assert_eq!(from_env.request_timeout_secs, 7);
            assert_eq!(from_env.server_origin(), "https://other.example:8443");
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_is_fine_but_a_broken_one_is_reported() {
        Jail::expect_with(|jail| {
            let missing =
                AppConfig::load_with_machine(&jail.directory().join("absent.toml"), None).unwrap();
            assert_eq!(missing, AppConfig::from_figment(defaults()).unwrap());

            jail.create_file("config.toml", "server_url = 42\n")?;
            let broken = AppConfig::load_with_machine(&jail.directory().join("config.toml"), None);
            assert!(matches!(broken, Err(AppError::Config { .. })), "{broken:?}");

            jail.create_file("config.toml", "sever_url = \"https://typo.example\"\n")?;
            let typo = AppConfig::load_with_machine(&jail.directory().join("config.toml"), None);
            assert!(matches!(typo, Err(AppError::Config { .. })), "{typo:?}");
            Ok(())
        });
    }

    #[test]
    fn plain_http_is_refused_except_on_this_machine() {
        Jail::expect_with(|jail| {
            let file = jail.directory().join("config.toml");
            for allowed in [
                "http://127.0.0.1:9000",
                "http://localhost:1",
                "http://[::1]:2",
            ] {
                jail.set_env("CONSULT_SERVER_URL", allowed);
                assert!(
                    AppConfig::load_with_machine(&file, None).is_ok(),
                    "{allowed} should be allowed"
                );
            }
            for refused in ["http://clinic.example", "ftp://clinic.example", "not a url"] {
                jail.set_env("CONSULT_SERVER_URL", refused);
                let result = AppConfig::load_with_machine(&file, None);
                assert!(
                    matches!(result, Err(AppError::Config { .. })),
                    "{refused}: {result:?}"
                );
            }
            Ok(())
        });
    }

    #[test]
    fn presets_name_what_the_file_or_environment_set() {
        Jail::expect_with(|jail| {
            let file = jail.directory().join("config.toml");
            let none = AppConfig::load_with_machine(&file, None).unwrap();
            assert!(none.presets().is_empty(), "{:?}", none.presets());
            assert_eq!(none.idle_logoff_secs, DEFAULT_IDLE_LOGOFF_SECS);
            assert_eq!(none.keychain, KeychainMode::Os);
            assert_eq!(none.notifications, NotificationPresets::default());

            jail.create_file(
                "config.toml",
                "idle_logoff_secs = 300\nkeychain = \"none\"\n[notifications]\nshow_patient_names = false\n",
            )?;
            jail.set_env("CONSULT_SERVER_URL", "https://clinic.example");
            jail.set_env("CONSULT_NOTIFICATIONS__REMINDERS", "false");
            jail.set_env("CONSULT_UNRELATED", "x");
            let config = AppConfig::load_with_machine(&file, None).unwrap();
            assert_eq!(config.idle_logoff_secs, 300);
            assert_eq!(config.keychain, KeychainMode::None);
            assert_eq!(config.notifications.show_patient_names, Some(false));
            assert_eq!(config.notifications.reminders, Some(false));
            assert_eq!(config.notifications.calls, None);
            let mut presets = config.presets();
            presets.sort();
            assert_eq!(
                presets,
                [
                    "idleLogoffSecs",
                    "notifications.reminders",
                    "notifications.showPatientNames",
                    "serverUrl"
                ]
            );
            assert!(config.is_preset("serverUrl") && !config.is_preset("notifications.calls"));
            Ok(())
        });
    }

    #[test]
    fn call_path_and_browser_come_from_the_file_or_the_environment() {
        Jail::expect_with(|jail| {
            let file = jail.directory().join("config.toml");
            let default = AppConfig::load_with_machine(&file, None).unwrap();
            assert_eq!(default.call_path, CallPathChoice::Auto);
            assert_eq!(default.browser, None);
            assert!(
                !default.browser_allow_root,
                "root is refused unless allowed"
            );

            jail.create_file(
                "config.toml",
                "call_path = \"embedded\"\nbrowser = \"/opt/chromium/chrome\"\n",
            )?;
            let from_file = AppConfig::load_with_machine(&file, None).unwrap();
            assert_eq!(from_file.call_path, CallPathChoice::Embedded);
            assert_eq!(
                from_file.browser.as_deref(),
                Some(Path::new("/opt/chromium/chrome"))
            );
            // Administrator-only: not a user setting, so not listed among presets.
            assert!(from_file.presets().is_empty(), "{:?}", from_file.presets());

            jail.set_env("CONSULT_CALL_PATH", "browser");
            jail.set_env("CONSULT_BROWSER", "/usr/bin/brave-browser");
            let from_env = AppConfig::load_with_machine(&file, None).unwrap();
            assert_eq!(from_env.call_path, CallPathChoice::Browser);
            assert_eq!(
                from_env.browser.as_deref(),
                Some(Path::new("/usr/bin/brave-browser"))
            );
            jail.set_env("CONSULT_BROWSER_ALLOW_ROOT", "true");
            assert!(
                AppConfig::load_with_machine(&file, None)
                    .unwrap()
                    .browser_allow_root
            );
            Ok(())
        });
    }

    #[test]
    fn bad_call_path_or_browser_is_refused_clearly() {
        Jail::expect_with(|jail| {
            let file = jail.directory().join("config.toml");
            jail.create_file("config.toml", "call_path = \"iframe\"\n")?;
            match AppConfig::load_with_machine(&file, None) {
                Err(AppError::Config { detail }) => {
                    assert!(detail.contains("iframe"), "{detail}");
                    assert!(detail.contains("call_path"), "{detail}");
                    assert!(detail.contains("embedded"), "{detail}");
                }
                other => panic!("expected a config error, got {other:?}"),
            }

            jail.create_file("config.toml", "")?;
            jail.set_env("CONSULT_CALL_PATH", "webview");
            let from_env = AppConfig::load_with_machine(&file, None);
            assert!(
                matches!(&from_env, Err(AppError::Config { detail }) if detail.contains("webview")),
                "{from_env:?}"
            );

            jail.set_env("CONSULT_CALL_PATH", "auto");
            jail.set_env("CONSULT_BROWSER", "chromium");
            match AppConfig::load_with_machine(&file, None) {
                Err(AppError::Config { detail }) => {
                    assert!(detail.contains("absolute path"), "{detail}");
                }
                other => panic!("expected a config error, got {other:?}"),
            }
            Ok(())
        });
    }

    #[test]
    fn bad_new_keys_are_refused() {
        Jail::expect_with(|jail| {
            let file = jail.directory().join("config.toml");
            for bad in [
                "keychain = \"file\"\n",
                "idle_logoff_secs = 5\n",
                "[notifications]\nshow_names = false\n",
            ] {
                jail.create_file("config.toml", bad)?;
                let result = AppConfig::load_with_machine(&file, None);
                assert!(
                    matches!(result, Err(AppError::Config { .. })),
                    "{bad}: {result:?}"
                );
            }
            Ok(())
        });
    }

    #[test]
    fn the_machine_wide_file_wins_over_the_users_file_and_the_environment() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "config.toml",
                "server_url = \"https://users-choice.example\"\nrequest_timeout_secs = 7\n",
            )?;
            jail.create_file(
                "machine.toml",
                "server_url = \"https://clinic.example\"\nidle_logoff_secs = 300\n",
            )?;
            jail.set_env("CONSULT_SERVER_URL", "https://environment.example");
            let file = jail.directory().join("config.toml");
            let machine = jail.directory().join("machine.toml");
            let config = AppConfig::load_with_machine(&file, Some(&machine)).unwrap();
            assert_eq!(config.server_url.as_str(), "https://clinic.example/");
            assert_eq!(config.idle_logoff_secs, 300);
            // What the machine file leaves alone, the user's file still sets.
            assert_eq!(config.request_timeout_secs, 7);
            // Shown read-only.
            assert!(config.is_preset("serverUrl") && config.is_preset("idleLogoffSecs"));
            // Without one, the environment wins again.
            let absent = jail.directory().join("absent.toml");
            let config = AppConfig::load_with_machine(&file, Some(&absent)).unwrap();
            assert_eq!(config.server_url.as_str(), "https://environment.example/");
            Ok(())
        });
    }

    #[test]
    fn ca_files_come_from_the_file_the_environment_or_the_machine() {
        Jail::expect_with(|jail| {
            let file = jail.directory().join("config.toml");
            let none = AppConfig::load_with_machine(&file, None).unwrap();
            assert_eq!((none.server_ca_file, none.jitsi_ca_file), (None, None));

            jail.create_file(
                "config.toml",
                "server_ca_file = \"/home/me/ca.pem\"\njitsi_ca_file = \"/home/me/jitsi.pem\"\n",
            )?;
            let from_file = AppConfig::load_with_machine(&file, None).unwrap();
            assert_eq!(
                from_file.server_ca_file.as_deref(),
                Some(Path::new("/home/me/ca.pem"))
            );
            // Administrator-only: not a user setting, so not listed among presets.
            assert!(from_file.presets().is_empty(), "{:?}", from_file.presets());

            jail.set_env("CONSULT_SERVER_CA_FILE", "/etc/ssl/clinic.pem");
            let from_env = AppConfig::load_with_machine(&file, None).unwrap();
            assert_eq!(
                from_env.server_ca_file.as_deref(),
                Some(Path::new("/etc/ssl/clinic.pem"))
            );

            jail.create_file(
                "machine.toml",
                "server_ca_file = \"/etc/consult/clinic-ca.pem\"\n",
            )?;
            let machine = jail.directory().join("machine.toml");
            let config = AppConfig::load_with_machine(&file, Some(&machine)).unwrap();
            assert_eq!(
                config.server_ca_file.as_deref(),
                Some(Path::new("/etc/consult/clinic-ca.pem"))
            );
            assert_eq!(
                config.jitsi_ca_file.as_deref(),
                Some(Path::new("/home/me/jitsi.pem"))
            );
            Ok(())
        });
    }

    #[test]
    fn origins_say_where_each_setting_came_from() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "config.toml",
                "idle_logoff_secs = 60\n[notifications]\ncalls = false\n",
            )?;
            jail.create_file("machine.toml", "call_path = \"browser\"\n")?;
            jail.set_env("CONSULT_SERVER_URL", "https://clinic.example/");
            let origins =
                AppConfig::origins(Path::new("config.toml"), Some(Path::new("machine.toml")));
            let find = |key: &str| {
                origins
                    .iter()
                    .find(|origin| origin.key == key)
                    .map(|origin| (origin.value.as_str(), origin.source.as_str()))
            };
            assert_eq!(find("request_timeout_secs"), Some(("15", "default")));
            let idle = find("idle_logoff_secs").unwrap();
            assert_eq!(idle.0, "60");
            assert!(
                idle.1.starts_with("file ") && idle.1.ends_with("config.toml"),
                "{idle:?}"
            );
            assert_eq!(find("notifications.calls").unwrap().0, "false");
            assert_eq!(
                find("server_url"),
                Some((
                    "\"https://clinic.example/\"",
                    "environment CONSULT_SERVER_URL"
                ))
            );
            let path = find("call_path").unwrap();
            assert!(path.1.starts_with("machine-wide file "), "{path:?}");
            Ok(())
        });
    }

    #[test]
    fn updates_default_to_on_every_six_hours_without_an_endpoint() {
        Jail::expect_with(|jail| {
            let file = jail.directory().join("config.toml");
            let config = AppConfig::load_with_machine(&file, None).unwrap();
            assert_eq!(config.updates, UpdatesConfig::default());
            assert!(config.updates.enabled);
            assert_eq!(config.updates.check_interval_hours, 6);
            assert_eq!(config.updates.endpoint, None);

            jail.create_file(
                "config.toml",
                "[updates]\nendpoint = \"https://updates.clinic.example/{{target}}/{{arch}}/{{current_version}}\"\ncheck_interval_hours = 2\n",
            )?;
            jail.set_env("CONSULT_UPDATES__ENABLED", "false");
            let config = AppConfig::load_with_machine(&file, None).unwrap();
            assert!(!config.updates.enabled);
            assert_eq!(config.updates.check_interval_hours, 2);
            // The placeholders survive parsing (percent-encoded in the path; the updater
            // replaces either spelling).
            let endpoint = config.updates.endpoint.clone().unwrap().to_string();
            assert!(endpoint.contains("target"), "{endpoint}");
            assert!(config.presets().is_empty(), "administrator-only settings");
            Ok(())
        });
    }

    #[test]
    fn an_update_endpoint_must_be_https_and_the_interval_sane() {
        Jail::expect_with(|jail| {
            let file = jail.directory().join("config.toml");
            for bad in [
                "[updates]\nendpoint = \"http://updates.clinic.example/latest.json\"\n",
                "[updates]\nendpoint = \"http://127.0.0.1:9/latest.json\"\n",
                "[updates]\nendpoint = \"file:///tmp/latest.json\"\n",
                "[updates]\nendpoint = \"https://user:secret@updates.clinic.example/latest.json\"\n",
                "[updates]\ncheck_interval_hours = 0\n",
                "[updates]\ncheck_interval_hours = 1000\n",
                "[updates]\nchannel = \"beta\"\n",
            ] {
                jail.create_file("config.toml", bad)?;
                let result = AppConfig::load_with_machine(&file, None);
                assert!(
                    matches!(result, Err(AppError::Config { .. })),
                    "{bad}: {result:?}"
                );
            }
            jail.create_file(
                "config.toml",
                "[updates]\nendpoint = \"http://updates.clinic.example/latest.json\"\n",
            )?;
            match AppConfig::load_with_machine(&file, None) {
                Err(AppError::Config { detail }) => assert!(detail.contains("https"), "{detail}"),
                other => panic!("expected a config error, got {other:?}"),
            }
            Ok(())
        });
    }

    #[test]
    fn an_update_public_key_is_taken_from_the_machine_wide_file_only() {
        Jail::expect_with(|jail| {
            let file = jail.directory().join("config.toml");
            let machine = jail.directory().join("machine.toml");
            jail.create_file(
                "machine.toml",
                "[updates]\npublic_key = \"dW50cnVzdGVkIGNvbW1lbnQ6IG1pbmlzaWduIHB1YmxpYyBrZXk=\"\n",
            )?;
            let config = AppConfig::load_with_machine(&file, Some(&machine)).unwrap();
            assert_eq!(
                config.updates.public_key.as_deref(),
                Some("dW50cnVzdGVkIGNvbW1lbnQ6IG1pbmlzaWduIHB1YmxpYyBrZXk=")
            );

            // From the user's file: refused, even when the machine file sets one too.
            jail.create_file("config.toml", "[updates]\npublic_key = \"users-own-key\"\n")?;
            for machine in [None, Some(machine.as_path())] {
                match AppConfig::load_with_machine(&file, machine) {
                    Err(AppError::Config { detail }) => {
                        assert!(detail.contains("public_key"), "{detail}");
                        assert!(detail.contains("machine-wide configuration"), "{detail}");
                    }
                    other => panic!("expected a config error, got {other:?}"),
                }
            }

            // From the environment: refused too.
            jail.create_file("config.toml", "")?;
            jail.set_env("CONSULT_UPDATES__PUBLIC_KEY", "environment-key");
            let from_env = AppConfig::load_with_machine(&file, Some(&machine));
            assert!(
                matches!(&from_env, Err(AppError::Config { detail }) if detail.contains("CONSULT_UPDATES__PUBLIC_KEY")),
                "{from_env:?}"
            );
            Ok(())
        });
    }

    #[test]
    fn a_broken_machine_wide_file_is_an_error_not_ignored() {
        Jail::expect_with(|jail| {
            jail.create_file("machine.toml", "server_url = [")?;
            let file = jail.directory().join("config.toml");
            let machine = jail.directory().join("machine.toml");
            let error = AppConfig::load_with_machine(&file, Some(&machine)).unwrap_err();
            assert!(matches!(error, AppError::Config { .. }), "{error:?}");
            Ok(())
        });
    }

    fn policy_text(value: &str) -> machine_policy::PolicyValue {
        machine_policy::PolicyValue::Text(value.into())
    }

    #[test]
    fn a_policy_wins_over_the_users_file_and_shows_where_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "idle_logoff_secs = 600\nserver_url = \"https://mine.example\"\n",
        )
        .unwrap();
        let policy = Policy {
            source: r"HKLM\Software\Policies\Consult".into(),
            settings: machine_policy::to_dict(vec![
                (
                    "idle_logoff_secs".into(),
                    machine_policy::PolicyValue::Integer(300),
                ),
                (
                    "kiosk".into(),
                    machine_policy::PolicyValue::Table(vec![
                        ("clinic_name".into(), policy_text("Harbour Street")),
                        (
                            "nightly_restart_hour".into(),
                            machine_policy::PolicyValue::Integer(3),
                        ),
                    ]),
                ),
            ]),
        };
        let config = AppConfig::load_with_source(&file, Machine::Policy(&policy)).unwrap();
        assert_eq!(config.idle_logoff_secs, 300);
        assert_eq!(config.server_url.as_str(), "https://mine.example/");
        let kiosk = config.kiosk.as_ref().unwrap();
        assert_eq!(kiosk.clinic_name.as_deref(), Some("Harbour Street"));
        assert_eq!(kiosk.nightly_restart_hour, Some(3));
        assert!(config.is_preset("idleLogoffSecs"));
        let origins = AppConfig::origins_with_source(&file, Machine::Policy(&policy));
        let idle = origins
            .iter()
            .find(|origin| origin.key == "idle_logoff_secs")
            .unwrap();
        assert_eq!(
            idle.source,
            r"machine-wide policy HKLM\Software\Policies\Consult"
        );
    }

    #[test]
    fn a_policy_may_hold_the_update_key_the_users_file_may_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "").unwrap();
        let policy = Policy {
            source: "test".into(),
            settings: machine_policy::to_dict(vec![(
                "updates".into(),
                machine_policy::PolicyValue::Table(vec![(
                    "public_key".into(),
                    policy_text("dW50cnVzdGVk"),
                )]),
            )]),
        };
        let config = AppConfig::load_with_source(&file, Machine::Policy(&policy)).unwrap();
        assert_eq!(config.updates.public_key.as_deref(), Some("dW50cnVzdGVk"));
    }
}
