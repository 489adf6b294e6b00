//! The machine-wide configuration an organisation's IT sets through the platform's own
//! management, with the keys of `config.toml` everywhere:
//! - Linux: the file `/etc/consult/config.toml` (`MACHINE_FILE`, read by the config module).
//! - Windows: the registry key `HKLM\Software\Policies\Consult` (where Group Policy writes): a
//!   setting is a value named as the key (`server_url`, a string; `idle_logoff_secs`, a DWORD or
//!   a string), a table a subkey (`HKLM\Software\Policies\Consult\kiosk` with `device_id`); a
//!   multi-string is a list (`browser_args`).
//! - macOS: the managed preferences of `app.consult.desktop` (a configuration profile writes
//!   `/Library/Managed Preferences/app.consult.desktop.plist`): a setting is a key of the
//!   dictionary, a table a dictionary inside it.
//!
//! Strings are read the way the `CONSULT_*` environment variables are (`"true"`, `"30"`, a TOML
//! array), so a policy written as text means the same as in the environment. What is read is a
//! figment [`Policy`] merged last, like the Linux file: it wins over the user's file and the
//! environment.

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use consult_types::AppError;

/// One value as the platform's store holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyValue {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    List(Vec<PolicyValue>),
    Table(Vec<(String, PolicyValue)>),
}

/// The settings `entries` hold, as configuration values.
pub fn to_dict(entries: Vec<(String, PolicyValue)>) -> Dict {
    entries
        .into_iter()
        .map(|(key, value)| (key, to_value(value)))
        .collect()
}

fn to_value(value: PolicyValue) -> Value {
    match value {
        PolicyValue::Text(text) => text.parse().unwrap_or_else(|never| match never {}),
        PolicyValue::Integer(number) => Value::from(number),
        PolicyValue::Float(number) => Value::from(number),
        PolicyValue::Bool(flag) => Value::from(flag),
        PolicyValue::List(items) => {
            Value::from(items.into_iter().map(to_value).collect::<Vec<_>>())
        }
        PolicyValue::Table(entries) => Value::from(to_dict(entries)),
    }
}

/// The machine's policy as a configuration source; `source` names where it was read (the
/// diagnostics report shows it).
#[derive(Debug, Clone)]
pub struct Policy {
    pub source: String,
    pub settings: Dict,
}

impl Provider for Policy {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("machine-wide policy {}", self.source))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.settings.clone()))
    }
}

/// Where this platform's policy lives, for messages.
#[cfg(windows)]
pub const LOCATION: Option<&str> = Some(r"HKLM\Software\Policies\Consult");
#[cfg(target_os = "macos")]
pub const LOCATION: Option<&str> = Some("/Library/Managed Preferences/app.consult.desktop.plist");
#[cfg(not(any(windows, target_os = "macos")))]
pub const LOCATION: Option<&str> = None;

/// This machine's policy: `None` when IT set none (or on Linux, whose policy is a file).
pub fn read() -> Result<Option<Policy>, AppError> {
    let entries = platform::read().map_err(|detail| AppError::Config {
        detail: format!(
            "the machine-wide policy {} cannot be read: {detail}",
            LOCATION.unwrap_or_default()
        ),
    })?;
    Ok(entries.map(|entries| Policy {
        source: LOCATION.unwrap_or_default().to_owned(),
        settings: to_dict(entries),
    }))
}

#[cfg(windows)]
mod platform {
    use super::PolicyValue;
    use windows_registry::{Key, Type, LOCAL_MACHINE};

    /// `ERROR_FILE_NOT_FOUND`: the key does not exist, so no policy is set.
    const NOT_FOUND: i32 = 0x8007_0002_u32 as i32;

    pub fn read() -> Result<Option<Vec<(String, PolicyValue)>>, String> {
        match LOCAL_MACHINE.open(r"Software\Policies\Consult") {
            Ok(key) => entries(&key).map(Some),
            Err(error) if error.code().0 == NOT_FOUND => Ok(None),
            Err(error) => Err(error.to_string()),
        }
    }

    fn entries(key: &Key) -> Result<Vec<(String, PolicyValue)>, String> {
        let mut read = Vec::new();
        for (name, _) in key.values().map_err(|error| error.to_string())? {
            let value = match key.get_type(&name).map_err(|error| error.to_string())? {
                Type::U32 => key.get_u32(&name).map(|n| PolicyValue::Integer(n.into())),
                Type::U64 => key
                    .get_u64(&name)
                    .map(|n| PolicyValue::Integer(i64::try_from(n).unwrap_or(i64::MAX))),
                Type::String | Type::ExpandString => key.get_string(&name).map(PolicyValue::Text),
                Type::MultiString => key.get_multi_string(&name).map(|items| {
                    PolicyValue::List(items.into_iter().map(PolicyValue::Text).collect())
                }),
                other => {
                    return Err(format!(
                        "{name}: values of type {other:?} mean nothing here"
                    ))
                }
            };
            read.push((
                name.clone(),
                value.map_err(|error| format!("{name}: {error}"))?,
            ));
        }
        for name in key.keys().map_err(|error| error.to_string())? {
            let table = key
                .open(&name)
                .map_err(|error| format!("{name}: {error}"))?;
            read.push((name, PolicyValue::Table(entries(&table)?)));
        }
        Ok(read)
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::PolicyValue;

    const FILE: &str = "/Library/Managed Preferences/app.consult.desktop.plist";

    pub fn read() -> Result<Option<Vec<(String, PolicyValue)>>, String> {
        match std::fs::metadata(FILE) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            _ => {}
        }
        let value = plist::Value::from_file(FILE).map_err(|error| error.to_string())?;
        super::from_plist(value).map(Some)
    }
}

#[cfg(not(any(windows, target_os = "macos")))]
mod platform {
    use super::PolicyValue;

    /// Linux and the BSDs: the policy is the machine-wide file, read as configuration.
    pub fn read() -> Result<Option<Vec<(String, PolicyValue)>>, String> {
        Ok(None)
    }
}

/// A managed-preferences dictionary's settings (macOS); tested here on every platform.
#[cfg(any(target_os = "macos", test))]
fn from_plist(value: plist::Value) -> Result<Vec<(String, PolicyValue)>, String> {
    fn convert(value: plist::Value) -> Result<PolicyValue, String> {
        Ok(match value {
            plist::Value::String(text) => PolicyValue::Text(text),
            plist::Value::Boolean(flag) => PolicyValue::Bool(flag),
            plist::Value::Integer(number) => PolicyValue::Integer(
                number
                    .as_signed()
                    .ok_or_else(|| format!("{number} is too large"))?,
            ),
            plist::Value::Real(number) => PolicyValue::Float(number),
            plist::Value::Array(items) => {
                PolicyValue::List(items.into_iter().map(convert).collect::<Result<_, _>>()?)
            }
            plist::Value::Dictionary(table) => PolicyValue::Table(entries(table)?),
            other => return Err(format!("values like {other:?} mean nothing here")),
        })
    }
    fn entries(table: plist::Dictionary) -> Result<Vec<(String, PolicyValue)>, String> {
        table
            .into_iter()
            // Keys a profile adds for its own bookkeeping.
            .filter(|(key, _)| !key.starts_with("PayloadUUID") && key != "PayloadType")
            .map(|(key, value)| {
                convert(value)
                    .map(|value| (key.clone(), value))
                    .map_err(|error| format!("{key}: {error}"))
            })
            .collect()
    }
    match value {
        plist::Value::Dictionary(table) => entries(table),
        _ => Err("the managed preferences are not a dictionary".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> PolicyValue {
        PolicyValue::Text(value.into())
    }

    #[test]
    fn text_means_what_it_means_in_the_environment() {
        let dict = to_dict(vec![
            ("server_url".into(), text("https://clinic.example")),
            ("idle_logoff_secs".into(), text("900")),
            ("keychain".into(), text("os")),
            (
                "notifications".into(),
                PolicyValue::Table(vec![("show_patient_names".into(), text("false"))]),
            ),
        ]);
        assert_eq!(dict["server_url"].as_str(), Some("https://clinic.example"));
        assert_eq!(dict["idle_logoff_secs"].to_u128(), Some(900));
        let notifications = dict["notifications"].as_dict().unwrap();
        assert_eq!(notifications["show_patient_names"].to_bool(), Some(false));
    }

    #[test]
    fn managed_preferences_become_settings_and_a_profiles_own_keys_are_left_out() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>PayloadUUID</key><string>8C0B2F0A-0000-4000-8000-000000000000</string>
  <key>server_url</key><string>https://clinic.example</string>
  <key>idle_logoff_secs</key><integer>300</integer>
  <key>browser_args</key><array><string>--disable-gpu</string></array>
  <key>notifications</key><dict><key>show_patient_names</key><false/></dict>
</dict></plist>"#;
        let value = plist::Value::from_reader_xml(xml.as_bytes()).unwrap();
        let entries = from_plist(value).unwrap();
        assert!(entries.iter().all(|(key, _)| key != "PayloadUUID"));
        let dict = to_dict(entries);
        assert_eq!(dict["idle_logoff_secs"].to_i128(), Some(300));
        assert_eq!(
            dict["browser_args"].as_array().unwrap()[0].as_str(),
            Some("--disable-gpu")
        );
        assert_eq!(
            dict["notifications"].as_dict().unwrap()["show_patient_names"].to_bool(),
            Some(false)
        );
        assert!(from_plist(plist::Value::Boolean(true)).is_err());
    }
}
