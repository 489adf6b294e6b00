//! Server configuration, layered as defaults < TOML file < environment (`CONSULT_SERVER_*`)
//! < command-line flags.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::client_ip::TrustedProxy;
use crate::jitsi::config::{self as jitsi_config, JitsiConfig, JitsiConfigError};
use crate::tls::{self, TlsConfig};

/// Every environment variable of the server starts with this.
pub const ENV_PREFIX: &str = "CONSULT_SERVER_";

/// Fields the environment may set; anything else under the prefix (such as `CONSULT_SERVER_CONFIG`,
/// which names the file) is not a field and must not trip `deny_unknown_fields`.
const ENV_FIELDS: [&str; 17] = [
    "bind",
    "data_dir",
    "database_url",
    "demo",
    "demo_appointments",
    "access_token_ttl_secs",
    "refresh_token_ttl_secs",
    "jwt_signing_key",
    "log",
    "sse_heartbeat_secs",
    "reminder_poll_secs",
    "login_attempts_per_minute_per_ip",
    "login_attempts_per_minute_per_account",
    "trusted_proxies",
    "max_session_secs",
    "kiosk_exit_lockout_secs",
    "device_check_secs",
];

const DEFAULT_PORT: u16 = 8080;
const DEFAULT_ACCESS_TTL_SECS: u64 = 15 * 60;
const DEFAULT_REFRESH_TTL_SECS: u64 = 30 * 24 * 60 * 60;
/// A working day: a clinic computer left signed in does not stay so for a month.
const DEFAULT_MAX_SESSION_SECS: u64 = 12 * 60 * 60;
/// Below common proxy idle timeouts (often 30-60 s), so idle event streams stay open.
const DEFAULT_SSE_HEARTBEAT_SECS: u64 = 15;
const DEFAULT_REMINDER_POLL_SECS: u64 = 30;
/// How soon a kiosk that stopped beating is seen offline, after its 90 seconds of missed beats:
/// at most 95 s in all, inside the 100 s the fleet view promises.
const DEFAULT_DEVICE_CHECK_SECS: u64 = 5;
/// Heartbeat and scheduler intervals above an hour defeat their purpose.
const MAX_INTERVAL_SECS: u64 = 60 * 60;
const DEFAULT_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP: u32 = 30;
const DEFAULT_LOGIN_ATTEMPTS_PER_MINUTE_PER_ACCOUNT: u32 = 10;
/// A kiosk's exit stays locked this long after five wrong PINs in a row: long enough to make
/// guessing a six-digit PIN hopeless (five tries per quarter hour), short enough for staff.
const DEFAULT_KIOSK_EXIT_LOCKOUT_SECS: u64 = 15 * 60;
/// Longer lifetimes buy nothing and would overflow the unix-second arithmetic of the store.
const MAX_TTL_SECS: u64 = 10 * 365 * 24 * 60 * 60;
/// HS256 keys shorter than the hash output weaken the MAC (RFC 7518 §3.2).
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

/// Everything the server needs to start.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Holds the SQLite database and the generated signing key.
    pub data_dir: PathBuf,
    /// `postgres://…` (or `sqlite:…`) instead of `<data_dir>/consult.db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Seeds the well-known demo accounts.
    pub demo: bool,
    /// With `demo`: also books a few appointments for the demo doctor whenever none are upcoming,
    /// so a schedule has something to show.
    pub demo_appointments: bool,
    /// Lifetime of access tokens.
    pub access_token_ttl_secs: u64,
    /// Lifetime of each refresh token.
    pub refresh_token_ttl_secs: u64,
    /// Absolute lifetime of a session (a login), however often its refresh token rotates.
    pub max_session_secs: u64,
    /// HS256 key for access tokens (at least 32 bytes); generated into the data dir when absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::option"
    )]
    pub jwt_signing_key: Option<String>,
    /// The `[jitsi]` table: the deployment meeting tokens are minted for; none without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitsi: Option<JitsiConfig>,
    /// The `[tls]` table: serve HTTPS with this certificate and key; plain HTTP without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// `tracing` filter directives, e.g. `info` or `consult_server=debug,sqlx=warn`.
    pub log: String,
    /// Seconds between heartbeat comments on idle `GET /events` streams.
    pub sse_heartbeat_secs: u64,
    /// Seconds between the reminder scheduler's passes (it also runs when an appointment is
    /// booked or moved); a reminder goes out at most this late.
    pub reminder_poll_secs: u64,
    /// Seconds between checks for kiosks that missed three heartbeats (they turn offline then).
    pub device_check_secs: u64,
    /// Login attempts (password, device, register-or-login) per client IP per minute, and
    /// refreshes per IP per minute in a bucket of their own; 0 turns the limit off (benchmarks).
    /// Counted in this instance's memory: limits are per server instance.
    pub login_attempts_per_minute_per_ip: u32,
    /// Login attempts per account (normalized email or device id) per minute; 0 turns it off.
    pub login_attempts_per_minute_per_account: u32,
    /// Reverse proxies (addresses or CIDRs) whose `Forwarded` / `X-Forwarded-For` headers name
    /// the client; from any other peer those headers are ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<TrustedProxy>,
    /// How long a kiosk's administrator exit stays locked after too many wrong PINs.
    pub kiosk_exit_lockout_secs: u64,
}

// The signing key and a database URL's password must never reach a log line.
impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "<redacted>"),
            )
            .field("demo", &self.demo)
            .field("demo_appointments", &self.demo_appointments)
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("refresh_token_ttl_secs", &self.refresh_token_ttl_secs)
            .field("max_session_secs", &self.max_session_secs)
            .field(
                "jwt_signing_key",
                &self.jwt_signing_key.as_ref().map(|_| "<redacted>"),
            )
            // JitsiConfig's own Debug redacts the app secret.
            .field("jitsi", &self.jitsi)
            .field("tls", &self.tls)
            .field("log", &self.log)
            .field("sse_heartbeat_secs", &self.sse_heartbeat_secs)
            .field("reminder_poll_secs", &self.reminder_poll_secs)
            .field("device_check_secs", &self.device_check_secs)
            .field(
                "login_attempts_per_minute_per_ip",
                &self.login_attempts_per_minute_per_ip,
            )
            .field(
                "login_attempts_per_minute_per_account",
                &self.login_attempts_per_minute_per_account,
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("kiosk_exit_lockout_secs", &self.kiosk_exit_lockout_secs)
            .finish()
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    FileNotFound(PathBuf),
    #[error(transparent)]
    Figment(Box<figment::Error>),
    #[error(
        "no data directory: set --data-dir (or XDG_DATA_HOME / HOME for the default location)"
    )]
    NoDataDir,
    #[error("{field} must be between 1 and {MAX_TTL_SECS} seconds")]
    Ttl { field: &'static str },
    #[error("jwt_signing_key must be at least {MIN_SIGNING_KEY_BYTES} bytes")]
    SigningKeyTooShort,
    #[error("{field} must be between 1 and {MAX_INTERVAL_SECS} seconds")]
    Interval { field: &'static str },
    #[error(transparent)]
    Jitsi(#[from] JitsiConfigError),
}

impl From<figment::Error> for ConfigError {
    fn from(error: figment::Error) -> Self {
        ConfigError::Figment(Box::new(error))
    }
}

impl ServerConfig {
    /// Defaults with the given data directory; what tests and embedders start from.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        ServerConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            data_dir: data_dir.into(),
            database_url: None,
            demo: false,
            demo_appointments: true,
            access_token_ttl_secs: DEFAULT_ACCESS_TTL_SECS,
            refresh_token_ttl_secs: DEFAULT_REFRESH_TTL_SECS,
            max_session_secs: DEFAULT_MAX_SESSION_SECS,
            jwt_signing_key: None,
            jitsi: None,
            tls: None,
            log: "info".to_owned(),
            sse_heartbeat_secs: DEFAULT_SSE_HEARTBEAT_SECS,
            reminder_poll_secs: DEFAULT_REMINDER_POLL_SECS,
            device_check_secs: DEFAULT_DEVICE_CHECK_SECS,
            login_attempts_per_minute_per_ip: DEFAULT_LOGIN_ATTEMPTS_PER_MINUTE_PER_IP,
            login_attempts_per_minute_per_account: DEFAULT_LOGIN_ATTEMPTS_PER_MINUTE_PER_ACCOUNT,
            trusted_proxies: Vec::new(),
            kiosk_exit_lockout_secs: DEFAULT_KIOSK_EXIT_LOCKOUT_SECS,
        }
    }

    /// Loads the layers in order: defaults, the TOML file named by `--config` or
    /// `CONSULT_SERVER_CONFIG`, `CONSULT_SERVER_<FIELD>` variables, then the flags.
    pub fn load(cli: &Cli) -> Result<ServerConfig, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(ServerConfig::with_data_dir(
            default_data_dir().unwrap_or_default(),
        )));
        if let Some(path) = &cli.config {
            if !path.is_file() {
                return Err(ConfigError::FileNotFound(path.clone()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment
            .merge(Env::prefixed(ENV_PREFIX).only(&ENV_FIELDS))
            // `CONSULT_SERVER_JITSI__APP_SECRET` and friends fill the `[jitsi]` table.
            .merge(
                Env::prefixed(jitsi_config::ENV_PREFIX)
                    .only(&jitsi_config::ENV_FIELDS)
                    .map(|field| format!("jitsi.{field}").into()),
            )
            .merge(
                Env::prefixed(tls::ENV_PREFIX)
                    .only(&tls::ENV_FIELDS)
                    .map(|field| format!("tls.{field}").into()),
            )
            .merge(Serialized::defaults(CliOverrides::from(cli)));
        // Not lossy: a boolean is `true` or `false`, never "yes" or "1".
        let config: ServerConfig = figment.extract()?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::NoDataDir);
        }
        for (field, value) in [
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            ("refresh_token_ttl_secs", self.refresh_token_ttl_secs),
            ("max_session_secs", self.max_session_secs),
            ("kiosk_exit_lockout_secs", self.kiosk_exit_lockout_secs),
        ] {
            if value == 0 || value > MAX_TTL_SECS {
                return Err(ConfigError::Ttl { field });
            }
        }
        if let Some(key) = &self.jwt_signing_key {
            if key.len() < MIN_SIGNING_KEY_BYTES {
                return Err(ConfigError::SigningKeyTooShort);
            }
        }
        for (field, value) in [
            ("sse_heartbeat_secs", self.sse_heartbeat_secs),
            ("reminder_poll_secs", self.reminder_poll_secs),
            ("device_check_secs", self.device_check_secs),
        ] {
            if !(1..=MAX_INTERVAL_SECS).contains(&value) {
                return Err(ConfigError::Interval { field });
            }
        }
        if let Some(jitsi) = &self.jitsi {
            jitsi.validate()?;
        }
        Ok(())
    }

    /// Where the SQLite database lives when no `database_url` is configured.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("consult.db")
    }
}

/// `$XDG_DATA_HOME/consult-server`, else `~/.local/share/consult-server`.
fn default_data_dir() -> Option<PathBuf> {
    // The XDG spec says relative values are invalid and must be ignored.
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    absolute("XDG_DATA_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".local").join("share")))
        .map(|base| base.join("consult-server"))
}

/// The command line. Each flag also reads its `CONSULT_SERVER_*` variable, shown in `--help`.
#[derive(Debug, Default, Parser)]
#[command(
    name = "consult-server",
    version,
    about = "The Consult clinic server: accounts and sessions behind the clinic API.",
    after_help = "Precedence: built-in defaults < config file < CONSULT_SERVER_* variables < flags.\n\
                  The access-token signing key is set only in the config file (jwt_signing_key)\n\
                  or CONSULT_SERVER_JWT_SIGNING_KEY, never as a flag: command lines are visible\n\
                  to every local user. Without one, a key is generated into the data directory.\n\
                  Jitsi meeting tokens are configured the same way: a [jitsi] table in the file or\n\
                  CONSULT_SERVER_JITSI__<KEY> variables (e.g. CONSULT_SERVER_JITSI__APP_SECRET)."
)]
pub struct Cli {
    /// Without one, the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// TOML file with any of the settings below (snake_case keys).
    // Global, so `consult-server check-jitsi --config FILE` reads the same file the server does.
    #[arg(
        long,
        value_name = "PATH",
        env = "CONSULT_SERVER_CONFIG",
        global = true
    )]
    pub config: Option<PathBuf>,

    /// Address and port to listen on; port 0 picks a free one [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR", env = "CONSULT_SERVER_BIND")]
    pub bind: Option<SocketAddr>,

    /// Directory for the SQLite database and the generated signing key
    /// [default: $XDG_DATA_HOME/consult-server or ~/.local/share/consult-server].
    #[arg(long, value_name = "DIR", env = "CONSULT_SERVER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// PostgreSQL URL (postgres://…) to use instead of SQLite in the data directory.
    #[arg(
        long,
        value_name = "URL",
        env = "CONSULT_SERVER_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Seed the demo accounts (password "consult-demo"); never for real patients.
    // Strictly `true` or `false` in the variable too: "yes" or a typo must not switch it on.
    #[arg(
        long,
        env = "CONSULT_SERVER_DEMO",
        value_parser = clap::builder::BoolValueParser::new()
    )]
    pub demo: bool,

    /// Lifetime of access tokens in seconds [default: 900].
    #[arg(
        long,
        value_name = "SECS",
        env = "CONSULT_SERVER_ACCESS_TOKEN_TTL_SECS"
    )]
    pub access_token_ttl_secs: Option<u64>,

    /// Lifetime of refresh tokens in seconds [default: 2592000, 30 days].
    #[arg(
        long,
        value_name = "SECS",
        env = "CONSULT_SERVER_REFRESH_TOKEN_TTL_SECS"
    )]
    pub refresh_token_ttl_secs: Option<u64>,

    /// Log filter for stderr, e.g. "info" or "consult_server=debug,sqlx=warn" [default: info].
    #[arg(long, value_name = "FILTER", env = "CONSULT_SERVER_LOG")]
    pub log: Option<String>,
}

/// What the binary does instead of serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Check the [jitsi] deployment: reads its config.js (hosts.domain, the XMPP domain Jitsi
    /// checks `sub` against) and external_api.js over HTTPS, and says what to set. Exit status 0
    /// when all is well, 1 when a check failed, 2 when the configuration cannot be used.
    CheckJitsi,
}

/// The flags that were given, as the top configuration layer.
#[derive(Serialize)]
struct CliOverrides<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<&'a Path>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<&'a str>,
    // Only a given `--demo` overrides; its absence must not undo a file or variable saying true.
    #[serde(skip_serializing_if = "Option::is_none")]
    demo: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token_ttl_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token_ttl_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<&'a str>,
}

impl<'a> From<&'a Cli> for CliOverrides<'a> {
    fn from(cli: &'a Cli) -> Self {
        CliOverrides {
            bind: cli.bind,
            data_dir: cli.data_dir.as_deref(),
            database_url: cli.database_url.as_deref(),
            demo: cli.demo.then_some(true),
            access_token_ttl_secs: cli.access_token_ttl_secs,
            refresh_token_ttl_secs: cli.refresh_token_ttl_secs,
            log: cli.log.as_deref(),
        }
    }
}

/// Environment values are parsed as TOML-ish literals, so a key, id or secret of digits arrives
/// as a number: these deserializers take it back as the string it was.
pub(crate) mod lenient {
    use std::fmt;

    use serde::{Deserialize, Deserializer};

    /// A string, or an integer read as its digits.
    struct Lenient(String);

    impl<'de> Deserialize<'de> for Lenient {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visitor;

            impl serde::de::Visitor<'_> for Visitor {
                type Value = Lenient;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a string")
                }

                fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Lenient, E> {
                    Ok(Lenient(value.to_owned()))
                }

                fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Lenient, E> {
                    Ok(Lenient(value.to_string()))
                }

                fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Lenient, E> {
                    Ok(Lenient(value.to_string()))
                }
            }

            deserializer.deserialize_any(Visitor)
        }
    }

    /// For `deserialize_with` on a `String`.
    pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        Lenient::deserialize(deserializer).map(|lenient| lenient.0)
    }

    /// For `deserialize_with` on an `Option<String>` (with `#[serde(default)]`).
    pub fn option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        Option::<Lenient>::deserialize(deserializer).map(|lenient| lenient.map(|l| l.0))
    }
}

#[cfg(test)]
// figment::Jail fixes the closures' error type to figment::Error, large or not.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use crate::jitsi::JitsiSigning;
    use figment::Jail;

    fn parse(args: &[&str]) -> Cli {
        let mut argv = vec!["consult-server"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).expect("valid flags")
    }

    fn load(args: &[&str]) -> Result<ServerConfig, ConfigError> {
        ServerConfig::load(&parse(args))
    }

    fn as_figment(error: ConfigError) -> figment::Error {
        figment::Error::from(error.to_string())
    }

    #[test]
    fn defaults_apply_without_file_env_or_flags() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("HOME", "/home/tester");
            let config = load(&[]).map_err(as_figment)?;
            assert_eq!(config.bind, "127.0.0.1:8080".parse().expect("addr"));
            assert_eq!(
                config.data_dir,
                PathBuf::from("/home/tester/.local/share/consult-server")
            );
            assert_eq!(config.access_token_ttl_secs, 900);
            assert_eq!(config.refresh_token_ttl_secs, 30 * 24 * 3600);
            assert_eq!(config.max_session_secs, 12 * 3600);
            assert!(!config.demo);
            assert_eq!(config.database_url, None);
            assert_eq!(config.jwt_signing_key, None);
            assert_eq!(config.log, "info");
            assert_eq!(config.login_attempts_per_minute_per_ip, 30);
            assert_eq!(config.login_attempts_per_minute_per_account, 10);
            Ok(())
        });
    }

    #[test]
    fn xdg_data_home_wins_over_home_and_relative_values_are_ignored() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("HOME", "/home/tester");
            jail.set_env("XDG_DATA_HOME", "/xdg");
            assert_eq!(
                load(&[]).map_err(as_figment)?.data_dir,
                PathBuf::from("/xdg/consult-server")
            );
            jail.set_env("XDG_DATA_HOME", "relative/dir");
            assert_eq!(
                load(&[]).map_err(as_figment)?.data_dir,
                PathBuf::from("/home/tester/.local/share/consult-server")
            );
            Ok(())
        });
    }

    #[test]
    fn no_home_and_no_flag_is_an_error() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            assert!(matches!(load(&[]), Err(ConfigError::NoDataDir)));
            Ok(())
        });
    }

    #[test]
    fn file_then_env_then_flags_take_precedence() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "server.toml",
                r#"
                    bind = "127.0.0.1:1001"
                    data_dir = "/from/file"
                    access_token_ttl_secs = 111
                    refresh_token_ttl_secs = 222
                    log = "debug"
                "#,
            )?;

            // The file alone beats the defaults.
            let config = load(&["--config", "server.toml"]).map_err(as_figment)?;
            assert_eq!(config.bind.port(), 1001);
            assert_eq!(config.data_dir, PathBuf::from("/from/file"));
            assert_eq!(config.access_token_ttl_secs, 111);
            assert_eq!(config.log, "debug");

            // The environment beats the file, field by field.
            jail.set_env("CONSULT_SERVER_BIND", "127.0.0.1:2002");
            jail.set_env("CONSULT_SERVER_ACCESS_TOKEN_TTL_SECS", "333");
            let config = load(&["--config", "server.toml"]).map_err(as_figment)?;
            assert_eq!(config.bind.port(), 2002);
            assert_eq!(config.access_token_ttl_secs, 333);
            assert_eq!(config.refresh_token_ttl_secs, 222);
            assert_eq!(config.data_dir, PathBuf::from("/from/file"));

            // Flags beat the environment.
            let config = load(&[
                "--config",
                "server.toml",
                "--bind",
                "127.0.0.1:3003",
                "--data-dir",
                "/from/flag",
            ])
            .map_err(as_figment)?;
            assert_eq!(config.bind.port(), 3003);
            assert_eq!(config.data_dir, PathBuf::from("/from/flag"));
            assert_eq!(config.access_token_ttl_secs, 333);
            Ok(())
        });
    }

    #[test]
    fn config_file_can_come_from_the_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("env.toml", "data_dir = \"/d\"\ndemo = true\n")?;
            jail.set_env("CONSULT_SERVER_CONFIG", "env.toml");
            let config = load(&[]).map_err(as_figment)?;
            assert!(config.demo);
            assert_eq!(config.data_dir, PathBuf::from("/d"));
            Ok(())
        });
    }

    #[test]
    fn demo_from_env_is_true_or_false_and_false_overrides_the_file() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("demo.toml", "data_dir = \"/d\"\ndemo = true\n")?;
            jail.set_env("CONSULT_SERVER_DEMO", "false");
            assert!(!load(&["--config", "demo.toml"]).map_err(as_figment)?.demo);
            jail.set_env("CONSULT_SERVER_DEMO", "true");
            assert!(load(&["--data-dir", "/d"]).map_err(as_figment)?.demo);
            Ok(())
        });
    }

    #[test]
    fn booleans_are_only_true_or_false() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            // A typo or "yes" must not switch demo mode (public credentials) on.
            for loose in ["yes", "1", "on", "True"] {
                jail.set_env("CONSULT_SERVER_DEMO", loose);
                let refused = Cli::try_parse_from(["consult-server", "--data-dir", "/d"])
                    .expect_err("the flag's variable is parsed strictly");
                assert!(refused.to_string().contains("true, false"), "{refused}");
                // The same variable read as a configuration field (no flag parsing).
                let error = ServerConfig::load(&Cli::default()).expect_err(loose);
                let shown = error.to_string();
                assert!(
                    shown.contains("\"DEMO\"") && shown.contains("boolean"),
                    "{shown}"
                );
            }
            jail.clear_env();
            jail.create_file(
                "loose.toml",
                "data_dir = \"/d\"\ndemo_appointments = \"no\"\n",
            )?;
            let error = load(&["--config", "loose.toml"]).expect_err("a string is no boolean");
            assert!(error.to_string().contains("demo_appointments"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn login_rate_limits_come_from_file_and_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "limits.toml",
                "data_dir = \"/d\"\nlogin_attempts_per_minute_per_ip = 5\n",
            )?;
            jail.set_env("CONSULT_SERVER_LOGIN_ATTEMPTS_PER_MINUTE_PER_ACCOUNT", "0");
            let config = load(&["--config", "limits.toml"]).map_err(as_figment)?;
            assert_eq!(config.login_attempts_per_minute_per_ip, 5);
            assert_eq!(config.login_attempts_per_minute_per_account, 0);
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_are_addresses_or_cidrs() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "proxies.toml",
                "data_dir = \"/d\"\ntrusted_proxies = [\"10.0.0.1\", \"fd00::/8\"]\n",
            )?;
            let config = load(&["--config", "proxies.toml"]).map_err(as_figment)?;
            let shown: Vec<String> = config
                .trusted_proxies
                .iter()
                .map(|p| p.to_string())
                .collect();
            assert_eq!(shown, ["10.0.0.1/32", "fd00::/8"]);
            jail.set_env("CONSULT_SERVER_TRUSTED_PROXIES", "[\"192.168.0.0/16\"]");
            let config = load(&["--config", "proxies.toml"]).map_err(as_figment)?;
            assert_eq!(config.trusted_proxies.len(), 1);
            jail.set_env("CONSULT_SERVER_TRUSTED_PROXIES", "[\"proxy.local\"]");
            let error = load(&["--config", "proxies.toml"]).expect_err("not an address");
            assert!(error.to_string().contains("proxy.local"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn signing_key_comes_from_the_environment_even_when_all_digits() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let digits = "1234567890".repeat(4);
            jail.set_env("CONSULT_SERVER_JWT_SIGNING_KEY", &digits);
            let config = load(&["--data-dir", "/d"]).map_err(as_figment)?;
            assert_eq!(config.jwt_signing_key.as_deref(), Some(digits.as_str()));
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_rejected() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("typo.toml", "data_dir = \"/d\"\nbnid = \"x\"\n")?;
            assert!(matches!(
                load(&["--config", "typo.toml"]),
                Err(ConfigError::Figment(_))
            ));
            assert!(matches!(
                load(&["--config", "missing.toml"]),
                Err(ConfigError::FileNotFound(_))
            ));
            jail.set_env("CONSULT_SERVER_JWT_SIGNING_KEY", "short");
            assert!(matches!(
                load(&["--data-dir", "/d"]),
                Err(ConfigError::SigningKeyTooShort)
            ));
            jail.set_env("CONSULT_SERVER_JWT_SIGNING_KEY", "k".repeat(32));
            assert!(matches!(
                load(&["--data-dir", "/d", "--access-token-ttl-secs", "0"]),
                Err(ConfigError::Ttl {
                    field: "access_token_ttl_secs"
                })
            ));
            Ok(())
        });
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let mut config = ServerConfig::with_data_dir("/d");
        config.jwt_signing_key = Some("super-secret-signing-key-material!!".into());
        config.database_url = Some("postgres://user:hunter2@db/consult".into());
        let shown = format!("{config:?}");
        assert!(!shown.contains("super-secret") && !shown.contains("hunter2"));
    }

    const JITSI_SECRET: &str = "jitsi-app-secret-with-32-or-more-bytes";

    #[test]
    fn jitsi_is_off_by_default_and_read_from_a_table() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            assert_eq!(load(&["--data-dir", "/d"]).map_err(as_figment)?.jitsi, None);
            jail.create_file(
                "jitsi.toml",
                &format!(
                    "data_dir = \"/d\"\n\
                     [jitsi]\n\
                     server_url = \"https://meet.example.com\"\n\
                     app_id = \"consult\"\n\
                     app_secret = \"{JITSI_SECRET}\"\n\
                     grace_secs = 600\n"
                ),
            )?;
            let jitsi = load(&["--config", "jitsi.toml"])
                .map_err(as_figment)?
                .jitsi
                .expect("a [jitsi] table");
            assert_eq!(
                jitsi,
                JitsiConfig {
                    grace_secs: 600,
                    ..JitsiConfig::hs256("https://meet.example.com", "consult", JITSI_SECRET)
                }
            );
            Ok(())
        });
    }

    #[test]
    fn jitsi_settings_come_from_the_environment() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            // The environment alone can configure it, and all-digit values stay strings.
            jail.set_env("CONSULT_SERVER_JITSI__SERVER_URL", "https://8x8.vc");
            jail.set_env("CONSULT_SERVER_JITSI__FLAVOR", "jaas");
            jail.set_env("CONSULT_SERVER_JITSI__ALGORITHM", "rs256");
            jail.set_env("CONSULT_SERVER_JITSI__APP_ID", "123456");
            jail.set_env("CONSULT_SERVER_JITSI__PRIVATE_KEY_FILE", "/keys/jaas.pem");
            jail.set_env("CONSULT_SERVER_JITSI__KEY_ID", "789");
            jail.set_env("CONSULT_SERVER_JITSI__NBF_BACKDATE_SECS", "10");
            let jitsi = load(&["--data-dir", "/d"])
                .map_err(as_figment)?
                .jitsi
                .expect("configured from the environment");
            assert_eq!(
                jitsi,
                JitsiConfig {
                    nbf_backdate_secs: 10,
                    ..JitsiConfig::jaas("123456", "/keys/jaas.pem", "789")
                }
            );

            // A variable beats the file, key by key.
            jail.clear_env();
            jail.create_file(
                "jitsi.toml",
                "data_dir = \"/d\"\n[jitsi]\nserver_url = \"https://meet.example.com\"\n\
                 app_id = \"consult\"\napp_secret = \"from-the-file-but-long-enough-000000\"\n",
            )?;
            let digits = "1234567890".repeat(4);
            jail.set_env("CONSULT_SERVER_JITSI__APP_SECRET", &digits);
            let jitsi = load(&["--config", "jitsi.toml"])
                .map_err(as_figment)?
                .jitsi
                .expect("a [jitsi] table");
            assert_eq!(
                jitsi.signing,
                JitsiSigning::Hs256 {
                    app_secret: digits.clone()
                }
            );
            assert_eq!(jitsi.app_id, "consult");
            Ok(())
        });
    }

    #[test]
    fn bad_jitsi_settings_are_rejected() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "typo.toml",
                "data_dir = \"/d\"\n[jitsi]\nserver_url = \"https://meet.example.com\"\n\
                 app_id = \"consult\"\napp_secert = \"x\"\n",
            )?;
            assert!(matches!(
                load(&["--config", "typo.toml"]),
                Err(ConfigError::Figment(_))
            ));
            jail.create_file(
                "http.toml",
                &format!(
                    "data_dir = \"/d\"\n[jitsi]\nserver_url = \"http://meet.example.com\"\n\
                     app_id = \"consult\"\napp_secret = \"{JITSI_SECRET}\"\n"
                ),
            )?;
            let error = load(&["--config", "http.toml"]).expect_err("http is refused");
            assert!(matches!(
                error,
                ConfigError::Jitsi(JitsiConfigError::ServerUrl(_))
            ));
            assert_eq!(error.to_string(), "jitsi.server_url must use https");
            // A key of the other algorithm is refused while parsing, by name.
            jail.create_file(
                "mixed.toml",
                &format!(
                    "data_dir = \"/d\"\n[jitsi]\nserver_url = \"https://meet.example.com\"\n\
                     app_id = \"consult\"\napp_secret = \"{JITSI_SECRET}\"\nkey_id = \"k1\"\n"
                ),
            )?;
            let error = load(&["--config", "mixed.toml"]).expect_err("key_id without rs256");
            assert!(matches!(error, ConfigError::Figment(_)), "{error:?}");
            assert!(
                error
                    .to_string()
                    .contains("jitsi.key_id is not used with algorithm = \"hs256\""),
                "{error}"
            );
            jail.set_env("CONSULT_SERVER_JITSI__ALGORITHM", "rs256");
            let error = load(&["--config", "mixed.toml"]).expect_err("app_secret with rs256");
            assert!(
                error
                    .to_string()
                    .contains("jitsi.app_secret is not used with algorithm = \"rs256\""),
                "{error}"
            );
            jail.clear_env();
            jail.set_env(
                "CONSULT_SERVER_JITSI__SERVER_URL",
                "https://meet.example.com",
            );
            jail.set_env("CONSULT_SERVER_JITSI__GRACE_SECS", "86400");
            assert!(matches!(
                load(&["--config", "http.toml"]),
                Err(ConfigError::Jitsi(JitsiConfigError::TooLong {
                    field: "grace_secs",
                    ..
                }))
            ));
            Ok(())
        });
    }

    #[test]
    fn debug_output_redacts_the_jitsi_secret() {
        let mut config = ServerConfig::with_data_dir("/d");
        config.jitsi = Some(JitsiConfig::hs256(
            "https://meet.example.com",
            "consult",
            JITSI_SECRET,
        ));
        let shown = format!("{config:?}");
        assert!(!shown.contains(JITSI_SECRET), "{shown}");
        assert!(shown.contains("meet.example.com"), "{shown}");
    }
}
