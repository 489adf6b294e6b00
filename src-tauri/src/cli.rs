//! The command line: `consult [--config PATH] [consult://join/<sessionId>]`, `--help`,
//! `--version`, `--kiosk-chromium-policy <Jitsi URL>`. Read before anything starts, so `--help` and `--version` work without a display.
//! A link argument is left to the deep-link plugin, which reads the process's arguments itself.

use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Start the app, with this configuration file instead of the default one.
    Run {
        config: Option<PathBuf>,
    },
    Help,
    Version,
    /// Print a kiosk's managed Chromium policy for the clinic's Jitsi server at this URL.
    KioskChromiumPolicy {
        jitsi_url: String,
    },
}

/// A command line the app does not understand: printed with a pointer to `--help`, exit 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("unknown option {0}")]
    UnknownOption(String),
    #[error("--config needs the path of a configuration file")]
    MissingConfigPath,
    #[error("the configuration file {0} does not exist")]
    NoSuchConfig(String),
    #[error(
        "--kiosk-chromium-policy needs the clinic's Jitsi server, e.g. https://meet.clinic.example"
    )]
    MissingJitsiUrl,
}

/// Parses the arguments after the program name. `exists` tells whether a path is a file (the
/// tests pass their own).
pub fn parse(
    args: impl IntoIterator<Item = String>,
    exists: impl Fn(&std::path::Path) -> bool,
) -> Result<Invocation, CliError> {
    let mut config = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Invocation::Help),
            "-V" | "--version" => return Ok(Invocation::Version),
            "--kiosk-chromium-policy" => {
                let jitsi_url = args
                    .next()
                    .filter(|url| !url.starts_with('-'))
                    .ok_or(CliError::MissingJitsiUrl)?;
                return Ok(Invocation::KioskChromiumPolicy { jitsi_url });
            }
            "--config" => {
                let path = args.next().ok_or(CliError::MissingConfigPath)?;
                config = Some(PathBuf::from(path));
            }
            other if other.starts_with("--config=") => {
                config = Some(PathBuf::from(&other["--config=".len()..]));
            }
            // A link (`consult://…`) and anything else that is not an option: the deep-link
            // plugin's.
            other if other.starts_with('-') => {
                return Err(CliError::UnknownOption(other.to_owned()))
            }
            _ => {}
        }
    }
    if let Some(path) = &config {
        if path.as_os_str().is_empty() {
            return Err(CliError::MissingConfigPath);
        }
        if !exists(path) {
            return Err(CliError::NoSuchConfig(path.display().to_string()));
        }
    }
    Ok(Invocation::Run { config })
}

/// `consult --version`.
pub fn version() -> String {
    format!("consult {}", env!("CARGO_PKG_VERSION"))
}

/// `consult --help`.
pub fn help() -> String {
    format!(
        "\
{version}
Video consultations on Jitsi Meet, for doctors, patients, care agencies and clinic kiosks.

Usage: consult [--config PATH] [consult://join/<sessionId>]
       consult --kiosk-chromium-policy <Jitsi URL>

Options:
  --config PATH   read the configuration from PATH instead of the default file
                  (~/.config/app.consult.desktop/config.toml on Linux; CONSULT_CONFIG does the same)
  --kiosk-chromium-policy <Jitsi URL>
                  print a kiosk's managed Chromium policy (JSON) allowing only the call and the
                  clinic's Jitsi server, for /etc/chromium/policies/managed/consult-kiosk.json
  -h, --help      print this help and exit
  -V, --version   print the version and exit

A consult://join/<sessionId> link opens that appointment (in the running app, if one is running).
Settings can also come from CONSULT_* environment variables (for example CONSULT_SERVER_URL);
what the file or the environment sets cannot be changed in the app. CONSULT_LOG sets the log filter.

Exit codes: 0 normal end, 1 the app could not start, 2 a command line it does not understand,
64 a kiosk's administrator exit.",
        version = version()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| (*arg).to_owned()).collect()
    }

    fn parsed(list: &[&str]) -> Result<Invocation, CliError> {
        parse(args(list), |path| path.ends_with("present.toml"))
    }

    #[test]
    fn help_and_version_win_over_everything_else() {
        assert_eq!(parsed(&["--config", "x", "--help"]), Ok(Invocation::Help));
        assert_eq!(parsed(&["-h"]), Ok(Invocation::Help));
        assert_eq!(parsed(&["--version"]), Ok(Invocation::Version));
        assert_eq!(parsed(&["-V"]), Ok(Invocation::Version));
    }

    #[test]
    fn a_config_file_must_exist_and_a_link_is_left_alone() {
        assert_eq!(
            parsed(&[
                "--config",
                "/etc/consult/present.toml",
                "consult://join/ses_1"
            ]),
            Ok(Invocation::Run {
                config: Some(PathBuf::from("/etc/consult/present.toml"))
            })
        );
        assert_eq!(
            parsed(&["--config=/etc/consult/present.toml"]),
            Ok(Invocation::Run {
                config: Some(PathBuf::from("/etc/consult/present.toml"))
            })
        );
        assert_eq!(
            parsed(&["--config", "/nowhere/absent.toml"]),
            Err(CliError::NoSuchConfig("/nowhere/absent.toml".into()))
        );
        assert_eq!(parsed(&["--config"]), Err(CliError::MissingConfigPath));
        assert_eq!(parsed(&["--config="]), Err(CliError::MissingConfigPath));
        assert_eq!(
            parsed(&["consult://join/ses_1"]),
            Ok(Invocation::Run { config: None })
        );
    }

    #[test]
    fn the_kiosk_policy_needs_the_jitsi_server() {
        assert_eq!(
            parsed(&["--kiosk-chromium-policy", "https://meet.clinic.example"]),
            Ok(Invocation::KioskChromiumPolicy {
                jitsi_url: "https://meet.clinic.example".into()
            })
        );
        assert_eq!(
            parsed(&["--kiosk-chromium-policy"]),
            Err(CliError::MissingJitsiUrl)
        );
        assert_eq!(
            parsed(&["--kiosk-chromium-policy", "--help"]),
            Err(CliError::MissingJitsiUrl)
        );
    }

    #[test]
    fn an_unknown_option_is_refused() {
        assert_eq!(
            parsed(&["--fullscreen"]),
            Err(CliError::UnknownOption("--fullscreen".into()))
        );
    }

    #[test]
    fn the_help_says_how_to_use_it() {
        let help = help();
        assert!(help.starts_with(&version()), "{help}");
        for part in [
            "--config PATH",
            "--kiosk-chromium-policy",
            "--help",
            "--version",
            "consult://join/",
            "Exit codes",
        ] {
            assert!(help.contains(part), "{part}: {help}");
        }
    }
}
