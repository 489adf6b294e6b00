//! "Copy diagnostics": a plain-text report for IT support. The version, the OS, where the
//! configuration comes from and each setting's value and origin, how a call would be carried,
//! and the last log lines. Nothing secret: the configuration holds no secret by design, and
//! anything token-like is redacted anyway, in settings and log lines alike.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use consult_types::{CallPathKind, CallSupport, SettingsView};

use crate::config::{SettingOrigin, CONFIG_FILE_ENV, ENV_PREFIX};
use crate::logfile;

/// Log lines the report ends with.
pub const LOG_LINES: usize = 200;

/// What the report says, gathered by [`gather`] (tests feed their own).
#[derive(Debug, Clone)]
pub struct Inputs {
    pub version: String,
    pub os: String,
    /// The user's (or `--config`'s) file, and whether it exists.
    pub config_file: (PathBuf, bool),
    /// The file was named by `--config` or `CONSULT_CONFIG`, not the default location.
    pub config_file_chosen: bool,
    /// The machine-wide file on this OS, and whether it exists.
    pub machine_file: Option<(PathBuf, bool)>,
    /// Names (never values) of the `CONSULT_*` environment variables set.
    pub env_names: Vec<String>,
    pub settings: Vec<SettingOrigin>,
    /// The settings in force (the user's choices under the presets), or why there are none.
    pub in_force: Result<SettingsView, String>,
    pub call: Result<CallSupport, String>,
    /// In-app updates: on or off and why, and the last check ("last update check: …").
    pub updates: Vec<String>,
    pub log_file: Option<PathBuf>,
    pub log_lines: Vec<String>,
}

/// Reads what the report needs from this machine.
pub fn gather(
    config_file: &Path,
    machine_file: Option<&Path>,
    in_force: Result<SettingsView, String>,
    call: Result<CallSupport, String>,
    updates: Vec<String>,
    log_dir: Option<&Path>,
) -> Inputs {
    let mut env_names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with(ENV_PREFIX))
        .collect();
    env_names.sort();
    Inputs {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        config_file: (config_file.to_owned(), config_file.is_file()),
        config_file_chosen: std::env::var_os(CONFIG_FILE_ENV).is_some_and(|v| !v.is_empty()),
        machine_file: machine_file.map(|path| (path.to_owned(), path.is_file())),
        env_names,
        settings: crate::config::AppConfig::origins(config_file, machine_file),
        in_force,
        call,
        updates,
        log_file: log_dir.map(|dir| dir.join(logfile::FILE_NAME)),
        log_lines: log_dir.map_or_else(Vec::new, |dir| logfile::last_lines(dir, LOG_LINES)),
    }
}

/// The report as plain text.
pub fn report(inputs: &Inputs) -> String {
    let mut out = String::new();
    let present = |exists: bool| if exists { "present" } else { "absent" };
    // Writing to a String cannot fail.
    let _ = writeln!(out, "Consult diagnostics");
    let _ = writeln!(out, "Version: {}", inputs.version);
    let _ = writeln!(out, "OS: {}", inputs.os);
    let _ = writeln!(out, "\nConfiguration sources (later ones win):");
    let _ = writeln!(out, "  1. defaults");
    let (file, exists) = &inputs.config_file;
    let chosen = if inputs.config_file_chosen {
        " (chosen by --config or CONSULT_CONFIG)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "  2. user file {}{chosen}: {}",
        file.display(),
        present(*exists)
    );
    let names = if inputs.env_names.is_empty() {
        "none set".to_owned()
    } else {
        inputs.env_names.join(", ")
    };
    let _ = writeln!(out, "  3. environment: {names}");
    match &inputs.machine_file {
        Some((path, exists)) => {
            let _ = writeln!(
                out,
                "  4. machine-wide file {}: {}",
                path.display(),
                present(*exists)
            );
        }
        None => match crate::machine_policy::LOCATION {
            Some(policy) => {
                let _ = writeln!(out, "  4. machine-wide policy: {policy}");
            }
            None => {
                let _ = writeln!(out, "  4. machine-wide file: none on this OS");
            }
        },
    }
    let _ = writeln!(out, "\nConfigured settings:");
    for setting in &inputs.settings {
        let _ = writeln!(
            out,
            "  {} = {}  ({})",
            setting.key,
            redact_setting(&setting.key, &setting.value),
            setting.source
        );
    }
    let _ = writeln!(out, "  (settings not listed have their built-in defaults)");
    let _ = writeln!(
        out,
        "\nSettings in force (the user's choices under the presets):"
    );
    match &inputs.in_force {
        Ok(view) => {
            let n = &view.notifications;
            let _ = writeln!(out, "  server: {}", redact_tokens(&view.server_url));
            let _ = writeln!(out, "  idle sign-out: {} s", view.idle_logoff_secs);
            let _ = writeln!(
                out,
                "  notifications: enabled {}, join requests {}, calls {}, reminders {}, patient names {}",
                n.enabled, n.join_requests, n.calls, n.reminders, n.show_patient_names
            );
            let _ = writeln!(out, "  preset: {}", view.preset.join(", "));
        }
        Err(error) => {
            let _ = writeln!(out, "  none: {}", redact_tokens(error));
        }
    }
    let _ = writeln!(out, "\nCall path:");
    match &inputs.call {
        Ok(call) => {
            let path = match call.path {
                CallPathKind::Embedded => "embedded (the app's webview)".to_owned(),
                CallPathKind::Browser => format!(
                    "browser window ({})",
                    call.browser.as_deref().unwrap_or("unknown browser")
                ),
                CallPathKind::None => "none".to_owned(),
            };
            let how = if call.forced {
                "chosen by the administrator"
            } else {
                "detected"
            };
            let _ = writeln!(out, "  {path}, {how}");
            if let Some(reason) = &call.reason {
                let _ = writeln!(out, "  why: {reason}");
            }
            if let Some(hint) = &call.install_hint {
                let _ = writeln!(out, "  to install: {hint}");
            }
        }
        Err(error) => {
            let _ = writeln!(out, "  unknown: {}", redact_tokens(error));
        }
    }
    let _ = writeln!(out, "\nUpdates:");
    for line in &inputs.updates {
        let _ = writeln!(out, "  {}", redact_tokens(line));
    }
    match &inputs.log_file {
        Some(path) => {
            let _ = writeln!(
                out,
                "\nLast {} log lines of {}:",
                inputs.log_lines.len(),
                path.display()
            );
        }
        None => {
            let _ = writeln!(out, "\nNo log file.");
        }
    }
    for line in &inputs.log_lines {
        let _ = writeln!(out, "{}", redact_tokens(line));
    }
    out
}

/// A setting whose name says it is secret is never shown (none exists; this keeps it so).
fn redact_setting(key: &str, value: &str) -> String {
    let name = key.rsplit('.').next().unwrap_or(key);
    let secret = ["secret", "token", "password", "pin", "key"]
        .iter()
        .any(|word| name.split('_').any(|part| part == *word));
    if secret && !name.ends_with("_file") {
        "[redacted]".to_owned()
    } else {
        redact_tokens(value)
    }
}

/// Replaces JWT-shaped words (`eyJ…`) and long opaque strings by `[redacted]`.
pub fn redact_tokens(text: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let opaque = word.len() >= 32
            && word.chars().any(|c| c.is_ascii_digit())
            && word.chars().any(|c| c.is_ascii_uppercase())
            && word.chars().any(|c| c.is_ascii_lowercase());
        if word.starts_with("eyJ") || opaque {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use consult_types::NotificationPrefs;

    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlc2lnbmF0dXJl";

    fn inputs() -> Inputs {
        Inputs {
            version: "1.2.3".into(),
            os: "linux x86_64".into(),
            config_file: (
                "/home/u/.config/app.consult.desktop/config.toml".into(),
                true,
            ),
            config_file_chosen: false,
            machine_file: Some(("/etc/consult/config.toml".into(), false)),
            env_names: vec!["CONSULT_LOG".into(), "CONSULT_SERVER_URL".into()],
            settings: vec![
                SettingOrigin {
                    key: "server_url".into(),
                    value: "\"https://clinic.example/\"".into(),
                    source: "environment CONSULT_SERVER_URL".into(),
                },
                SettingOrigin {
                    key: "kiosk.secret_file".into(),
                    value: "\"/etc/consult/kiosk-secret\"".into(),
                    source: "machine-wide file /etc/consult/config.toml".into(),
                },
                SettingOrigin {
                    key: "kiosk.api_token".into(),
                    value: "\"hunter2\"".into(),
                    source: "file x".into(),
                },
            ],
            in_force: Ok(SettingsView {
                server_url: "https://clinic.example/".into(),
                notifications: NotificationPrefs {
                    enabled: true,
                    join_requests: true,
                    calls: false,
                    reminders: true,
                    show_patient_names: false,
                },
                idle_logoff_secs: 900,
                preset: vec!["serverUrl".into()],
            }),
            call: Ok(CallSupport {
                path: CallPathKind::Browser,
                browser: Some("Chromium".into()),
                forced: false,
                reason: Some("the webview has no WebRTC".into()),
                install_hint: None,
            }),
            updates: vec![
                "in-app updates: on".into(),
                "last update check: failed: the update server could not be reached: connection refused".into(),
            ],
            log_file: Some("/home/u/.local/share/app.consult.desktop/logs/consult.log".into()),
            log_lines: vec![
                "INFO signed in: desk started".into(),
                format!("WARN a token {JWT} leaked"),
            ],
        }
    }

    #[test]
    fn the_report_says_version_sources_settings_call_path_and_log_lines() {
        let text = report(&inputs());
        for expected in [
            "Version: 1.2.3",
            "OS: linux x86_64",
            "1. defaults",
            "2. user file /home/u/.config/app.consult.desktop/config.toml: present",
            "3. environment: CONSULT_LOG, CONSULT_SERVER_URL",
            "4. machine-wide file /etc/consult/config.toml: absent",
            "server_url = \"https://clinic.example/\"  (environment CONSULT_SERVER_URL)",
            "kiosk.secret_file = \"/etc/consult/kiosk-secret\"  (machine-wide file",
            "idle sign-out: 900 s",
            "preset: serverUrl",
            "browser window (Chromium), detected",
            "why: the webview has no WebRTC",
            "Updates:\n  in-app updates: on\n  last update check: failed: the update server could not be reached",
            "Last 2 log lines of /home/u/.local/share/app.consult.desktop/logs/consult.log:",
            "INFO signed in: desk started",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }

    #[test]
    fn nothing_secret_or_token_like_gets_in() {
        let text = report(&inputs());
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("kiosk.api_token = [redacted]"), "{text}");
        assert!(!text.contains("eyJ"), "{text}");
        assert!(text.contains("WARN a token [redacted] leaked"), "{text}");
        let opaque = "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";
        assert_eq!(redact_tokens(&format!("t={opaque};")), "t=[redacted];");
        // Ordinary words, paths and URLs stay.
        let plain = "https://clinic.example/ /etc/consult/config.toml request_timeout_secs";
        assert_eq!(redact_tokens(plain), plain);
    }

    #[test]
    fn a_broken_configuration_is_still_reported() {
        let mut broken = inputs();
        broken.in_force = Err("config error: bad server_url".into());
        broken.call = Err("config error: bad server_url".into());
        broken.log_file = None;
        broken.log_lines.clear();
        let text = report(&broken);
        assert!(
            text.contains("  none: config error: bad server_url"),
            "{text}"
        );
        assert!(text.contains("  unknown: config error"), "{text}");
        assert!(text.contains("No log file."), "{text}");
    }
}
