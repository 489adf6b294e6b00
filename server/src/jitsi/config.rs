//! The `[jitsi]` table: which Jitsi deployment the server mints meeting tokens for, and with
//! which key. See `shared/spec/jitsi.md` §3 and the README's "Jitsi tokens" section.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use url::Url;

use crate::config::lenient;

/// Environment variables for the table are `CONSULT_SERVER_JITSI__<FIELD>`.
pub const ENV_PREFIX: &str = "CONSULT_SERVER_JITSI__";

/// The fields the environment may set (lowercase, as figment emits them after the prefix).
pub const ENV_FIELDS: [&str; 12] = [
    "server_url",
    "algorithm",
    "app_id",
    "app_secret",
    "private_key_file",
    "key_id",
    "issuer",
    "audience",
    "subject",
    "flavor",
    "grace_secs",
    "nbf_backdate_secs",
];

/// HS256 secrets shorter than the hash output weaken the MAC (RFC 7518 §3.2).
pub const MIN_APP_SECRET_BYTES: usize = 32;
/// `grace_secs` stretches `exp` past the appointment's end; more than this is a standing pass.
pub const MAX_GRACE_SECS: u64 = 4 * 60 * 60;
/// `nbf` only absorbs clock skew between this server and Prosody (checked with zero leeway).
pub const MAX_NBF_BACKDATE_SECS: u64 = 300;
pub const DEFAULT_GRACE_SECS: u64 = 15 * 60;
pub const DEFAULT_NBF_BACKDATE_SECS: u64 = 30;
pub const DEFAULT_AUDIENCE: &str = "jitsi";
/// JaaS tenants are named `vpaas-magic-cookie-<appId>`.
pub const JAAS_TENANT_PREFIX: &str = "vpaas-magic-cookie-";
/// The issuer JaaS expects.
pub const JAAS_ISSUER: &str = "chat";

/// The `algorithm` key: how tokens are signed; Prosody accepts exactly one algorithm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JitsiAlgorithm {
    /// HMAC with the shared `app_secret` (Prosody's default).
    #[default]
    Hs256,
    /// RSA with `private_key_file`; Prosody finds the public key by the `kid` header.
    Rs256,
}

impl JitsiAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            JitsiAlgorithm::Hs256 => "hs256",
            JitsiAlgorithm::Rs256 => "rs256",
        }
    }
}

/// The algorithm with the key it signs with: a secret with RS256, or a key file with HS256,
/// cannot be configured.
#[derive(Clone, PartialEq, Eq)]
pub enum JitsiSigning {
    /// HMAC with Prosody's `app_secret` (at least 32 bytes).
    Hs256 { app_secret: String },
    /// RSA with the PEM key (PKCS#8 or PKCS#1) in `private_key_file`. `key_id` is the `kid`
    /// header; on JaaS either the full `vpaas-magic-cookie-<appId>/<keyId>` or just `<keyId>`.
    Rs256 {
        private_key_file: PathBuf,
        key_id: String,
    },
}

impl JitsiSigning {
    pub fn algorithm(&self) -> JitsiAlgorithm {
        match self {
            JitsiSigning::Hs256 { .. } => JitsiAlgorithm::Hs256,
            JitsiSigning::Rs256 { .. } => JitsiAlgorithm::Rs256,
        }
    }
}

// The app secret must never reach a log line.
impl fmt::Debug for JitsiSigning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JitsiSigning::Hs256 { .. } => f
                .debug_struct("Hs256")
                .field("app_secret", &"<redacted>")
                .finish(),
            JitsiSigning::Rs256 {
                private_key_file,
                key_id,
            } => f
                .debug_struct("Rs256")
                .field("private_key_file", private_key_file)
                .field("key_id", key_id)
                .finish(),
        }
    }
}

/// Which kind of deployment reads the tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JitsiFlavor {
    /// A self-hosted Jitsi Meet with Prosody's `token` authentication.
    #[default]
    Prosody,
    /// 8x8 Jitsi as a Service: tenant rooms, `sub` = tenant, string-valued moderator flag.
    Jaas,
}

impl JitsiFlavor {
    pub fn as_str(self) -> &'static str {
        match self {
            JitsiFlavor::Prosody => "prosody",
            JitsiFlavor::Jaas => "jaas",
        }
    }
}

/// The `[jitsi]` table, parsed. Absent means the server mints no meeting tokens.
///
/// It is read from the flat table of the README (`algorithm`, `app_secret`, `private_key_file`,
/// `key_id` side by side); a combination that does not fit [`JitsiSigning`] is refused while
/// parsing, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "JitsiTable", into = "JitsiTable")]
pub struct JitsiConfig {
    /// The deployment's base URL, `https://host[:port]` (e.g. `https://meet.example.com`).
    pub server_url: String,
    /// Prosody's `app_id`; on JaaS the AppID (`vpaas-magic-cookie-…`, with or without the prefix).
    pub app_id: String,
    pub signing: JitsiSigning,
    /// `iss`; default `app_id` (on JaaS `"chat"`).
    pub issuer: Option<String>,
    /// `aud`; Prosody should be configured with the same value in `asap_accepted_audiences`.
    pub audience: String,
    /// `sub`; default the server URL's host (the XMPP domain). Not settable on JaaS, where it is
    /// always the tenant.
    pub subject: Option<String>,
    pub flavor: JitsiFlavor,
    /// Added to the appointment's end for `exp`.
    pub grace_secs: u64,
    /// `nbf` is this many seconds before the moment of minting.
    pub nbf_backdate_secs: u64,
}

/// The `[jitsi]` table as written: every key of the README, each optional where it may be.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JitsiTable {
    server_url: String,
    #[serde(default)]
    algorithm: JitsiAlgorithm,
    #[serde(deserialize_with = "lenient::string")]
    app_id: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::option"
    )]
    app_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    private_key_file: Option<PathBuf>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::option"
    )]
    key_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::option"
    )]
    issuer: Option<String>,
    #[serde(default = "default_audience", deserialize_with = "lenient::string")]
    audience: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::option"
    )]
    subject: Option<String>,
    #[serde(default)]
    flavor: JitsiFlavor,
    #[serde(default = "default_grace_secs")]
    grace_secs: u64,
    #[serde(default = "default_nbf_backdate_secs")]
    nbf_backdate_secs: u64,
}

impl TryFrom<JitsiTable> for JitsiConfig {
    type Error = JitsiConfigError;

    fn try_from(table: JitsiTable) -> Result<JitsiConfig, JitsiConfigError> {
        let algorithm = table.algorithm.as_str();
        let missing = |field| JitsiConfigError::Missing { field, algorithm };
        let not_used = |field| JitsiConfigError::NotUsed { field, algorithm };
        let signing = match table.algorithm {
            JitsiAlgorithm::Hs256 => {
                if table.private_key_file.is_some() {
                    return Err(not_used("private_key_file"));
                }
                if table.key_id.is_some() {
                    return Err(not_used("key_id"));
                }
                JitsiSigning::Hs256 {
                    app_secret: table.app_secret.ok_or_else(|| missing("app_secret"))?,
                }
            }
            JitsiAlgorithm::Rs256 => {
                if table.app_secret.is_some() {
                    return Err(not_used("app_secret"));
                }
                JitsiSigning::Rs256 {
                    private_key_file: table
                        .private_key_file
                        .filter(|path| !path.as_os_str().is_empty())
                        .ok_or_else(|| missing("private_key_file"))?,
                    key_id: table.key_id.ok_or_else(|| missing("key_id"))?,
                }
            }
        };
        Ok(JitsiConfig {
            server_url: table.server_url,
            app_id: table.app_id,
            signing,
            issuer: table.issuer,
            audience: table.audience,
            subject: table.subject,
            flavor: table.flavor,
            grace_secs: table.grace_secs,
            nbf_backdate_secs: table.nbf_backdate_secs,
        })
    }
}

impl From<JitsiConfig> for JitsiTable {
    fn from(config: JitsiConfig) -> JitsiTable {
        let algorithm = config.signing.algorithm();
        let (app_secret, private_key_file, key_id) = match config.signing {
            JitsiSigning::Hs256 { app_secret } => (Some(app_secret), None, None),
            JitsiSigning::Rs256 {
                private_key_file,
                key_id,
            } => (None, Some(private_key_file), Some(key_id)),
        };
        JitsiTable {
            server_url: config.server_url,
            algorithm,
            app_id: config.app_id,
            app_secret,
            private_key_file,
            key_id,
            issuer: config.issuer,
            audience: config.audience,
            subject: config.subject,
            flavor: config.flavor,
            grace_secs: config.grace_secs,
            nbf_backdate_secs: config.nbf_backdate_secs,
        }
    }
}

fn default_audience() -> String {
    DEFAULT_AUDIENCE.to_owned()
}

fn default_grace_secs() -> u64 {
    DEFAULT_GRACE_SECS
}

fn default_nbf_backdate_secs() -> u64 {
    DEFAULT_NBF_BACKDATE_SECS
}

/// What is wrong with a `[jitsi]` table.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JitsiConfigError {
    #[error("jitsi.server_url {0}")]
    ServerUrl(&'static str),
    #[error("jitsi.{0} must not be empty or contain whitespace")]
    Blank(&'static str),
    #[error("jitsi.app_secret must be at least {MIN_APP_SECRET_BYTES} bytes")]
    AppSecretTooShort,
    #[error("jitsi.{field} is required with algorithm = \"{algorithm}\"")]
    Missing {
        field: &'static str,
        algorithm: &'static str,
    },
    #[error(
        "jitsi.{field} is not used with algorithm = \"{algorithm}\" (hs256 signs with \
         app_secret, rs256 with private_key_file and key_id); remove it or change algorithm"
    )]
    NotUsed {
        field: &'static str,
        algorithm: &'static str,
    },
    #[error("jitsi.flavor = \"jaas\" requires algorithm = \"rs256\" (JaaS accepts only RS256)")]
    JaasNeedsRs256,
    #[error("jitsi.subject cannot be set with flavor = \"jaas\": sub is always the tenant")]
    JaasSubject,
    #[error("jitsi.key_id names another JaaS tenant than jitsi.app_id")]
    JaasKeyIdTenant,
    #[error("jitsi.{field} must be at most {max} seconds")]
    TooLong { field: &'static str, max: u64 },
}

impl JitsiConfig {
    /// A minimal HS256 configuration for a self-hosted deployment; what tests start from.
    pub fn hs256(
        server_url: impl Into<String>,
        app_id: impl Into<String>,
        app_secret: impl Into<String>,
    ) -> JitsiConfig {
        JitsiConfig {
            server_url: server_url.into(),
            app_id: app_id.into(),
            signing: JitsiSigning::Hs256 {
                app_secret: app_secret.into(),
            },
            issuer: None,
            audience: default_audience(),
            subject: None,
            flavor: JitsiFlavor::Prosody,
            grace_secs: DEFAULT_GRACE_SECS,
            nbf_backdate_secs: DEFAULT_NBF_BACKDATE_SECS,
        }
    }

    /// A minimal RS256 configuration for a self-hosted deployment with a key server.
    pub fn rs256(
        server_url: impl Into<String>,
        app_id: impl Into<String>,
        private_key_file: impl Into<PathBuf>,
        key_id: impl Into<String>,
    ) -> JitsiConfig {
        JitsiConfig {
            signing: JitsiSigning::Rs256 {
                private_key_file: private_key_file.into(),
                key_id: key_id.into(),
            },
            ..JitsiConfig::hs256(server_url, app_id, String::new())
        }
    }

    /// A JaaS configuration (`https://8x8.vc`, RS256, tenant rooms).
    pub fn jaas(
        app_id: impl Into<String>,
        private_key_file: impl Into<PathBuf>,
        key_id: impl Into<String>,
    ) -> JitsiConfig {
        JitsiConfig {
            flavor: JitsiFlavor::Jaas,
            ..JitsiConfig::rs256("https://8x8.vc", app_id, private_key_file, key_id)
        }
    }

    /// Checks what the types alone cannot. Pure: the key file is read by
    /// [`JitsiTokens::from_config`](super::JitsiTokens::from_config).
    pub fn validate(&self) -> Result<(), JitsiConfigError> {
        self.base_url()?;
        check_word("app_id", &self.app_id)?;
        check_word("audience", &self.audience)?;
        for (field, value) in [("issuer", &self.issuer), ("subject", &self.subject)] {
            if let Some(value) = value {
                check_word(field, value)?;
            }
        }
        match &self.signing {
            JitsiSigning::Hs256 { app_secret } => {
                if app_secret.len() < MIN_APP_SECRET_BYTES {
                    return Err(JitsiConfigError::AppSecretTooShort);
                }
            }
            JitsiSigning::Rs256 {
                private_key_file,
                key_id,
            } => {
                if private_key_file.as_os_str().is_empty() {
                    return Err(JitsiConfigError::Missing {
                        field: "private_key_file",
                        algorithm: JitsiAlgorithm::Rs256.as_str(),
                    });
                }
                check_word("key_id", key_id)?;
            }
        }
        if self.flavor == JitsiFlavor::Jaas {
            if self.signing.algorithm() != JitsiAlgorithm::Rs256 {
                return Err(JitsiConfigError::JaasNeedsRs256);
            }
            if self.subject.is_some() {
                return Err(JitsiConfigError::JaasSubject);
            }
            self.kid()?;
        }
        if self.grace_secs > MAX_GRACE_SECS {
            return Err(JitsiConfigError::TooLong {
                field: "grace_secs",
                max: MAX_GRACE_SECS,
            });
        }
        if self.nbf_backdate_secs > MAX_NBF_BACKDATE_SECS {
            return Err(JitsiConfigError::TooLong {
                field: "nbf_backdate_secs",
                max: MAX_NBF_BACKDATE_SECS,
            });
        }
        Ok(())
    }

    /// `server_url` parsed: https, a host, nothing after it but an optional `/`.
    pub fn base_url(&self) -> Result<Url, JitsiConfigError> {
        let url = Url::parse(self.server_url.trim())
            .map_err(|_| JitsiConfigError::ServerUrl("is not a valid URL"))?;
        // Jitsi's iframe and the browser link are always https; a token over http leaks.
        if url.scheme() != "https" {
            return Err(JitsiConfigError::ServerUrl("must use https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(JitsiConfigError::ServerUrl("must name a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(JitsiConfigError::ServerUrl("must not carry credentials"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(JitsiConfigError::ServerUrl(
                "must be the deployment's base URL (https://host[:port]) without a path, query \
                 or fragment; JaaS tenants come from app_id",
            ));
        }
        Ok(url)
    }

    /// `https://host[:port]`, without a trailing slash.
    pub fn normalized_server_url(&self) -> Result<String, JitsiConfigError> {
        let url = self.base_url()?;
        Ok(url.as_str().trim_end_matches('/').to_owned())
    }

    /// The JaaS tenant `vpaas-magic-cookie-<appId>`, for the JaaS flavor only.
    pub fn tenant(&self) -> Option<String> {
        match self.flavor {
            JitsiFlavor::Prosody => None,
            JitsiFlavor::Jaas if self.app_id.starts_with(JAAS_TENANT_PREFIX) => {
                Some(self.app_id.clone())
            }
            JitsiFlavor::Jaas => Some(format!("{JAAS_TENANT_PREFIX}{}", self.app_id)),
        }
    }

    /// The `iss` claim: `issuer`, else `"chat"` on JaaS, else `app_id`.
    pub fn effective_issuer(&self) -> String {
        match (&self.issuer, self.flavor) {
            (Some(issuer), _) => issuer.clone(),
            (None, JitsiFlavor::Jaas) => JAAS_ISSUER.to_owned(),
            (None, JitsiFlavor::Prosody) => self.app_id.clone(),
        }
    }

    /// The `sub` claim: the tenant on JaaS, else `subject`, else the server URL's host (the
    /// XMPP domain, without a port), lowercase as Prosody compares it.
    pub fn effective_subject(&self) -> Result<String, JitsiConfigError> {
        if let Some(tenant) = self.tenant() {
            return Ok(tenant);
        }
        match &self.subject {
            Some(subject) => Ok(subject.to_lowercase()),
            None => {
                let url = self.base_url()?;
                Ok(url.host_str().unwrap_or_default().to_owned())
            }
        }
    }

    /// The `kid` header (RS256 only). On JaaS a bare key id gets the `<tenant>/` prefix.
    pub fn kid(&self) -> Result<Option<String>, JitsiConfigError> {
        let JitsiSigning::Rs256 { key_id, .. } = &self.signing else {
            return Ok(None);
        };
        let Some(tenant) = self.tenant() else {
            return Ok(Some(key_id.clone()));
        };
        match key_id.split_once('/') {
            Some((prefix, _)) if prefix == tenant => Ok(Some(key_id.clone())),
            Some(_) => Err(JitsiConfigError::JaasKeyIdTenant),
            None if key_id.starts_with(JAAS_TENANT_PREFIX) => {
                Err(JitsiConfigError::JaasKeyIdTenant)
            }
            None => Ok(Some(format!("{tenant}/{key_id}"))),
        }
    }
}

fn check_word(field: &'static str, value: &str) -> Result<(), JitsiConfigError> {
    if value.is_empty() || value.chars().any(char::is_whitespace) {
        return Err(JitsiConfigError::Blank(field));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use figment::providers::{Format, Toml};
    use figment::Figment;

    use super::*;

    const SECRET: &str = "an-hs256-app-secret-of-at-least-32-bytes";

    fn hs() -> JitsiConfig {
        JitsiConfig::hs256("https://meet.example.com", "consult", SECRET)
    }

    fn jaas() -> JitsiConfig {
        JitsiConfig::jaas("vpaas-magic-cookie-abc123", "/keys/jaas.pem", "key1")
    }

    #[test]
    fn defaults_follow_the_deployment() {
        let config = hs();
        config.validate().expect("valid");
        assert_eq!(config.effective_issuer(), "consult");
        assert_eq!(config.audience, "jitsi");
        assert_eq!(
            config.effective_subject().as_deref(),
            Ok("meet.example.com")
        );
        assert_eq!(config.kid(), Ok(None));
        assert_eq!(config.tenant(), None);

        let ported = JitsiConfig {
            server_url: "https://Meet.Example.com:8443/".into(),
            ..hs()
        };
        ported.validate().expect("a port is fine");
        assert_eq!(
            ported.normalized_server_url().as_deref(),
            Ok("https://meet.example.com:8443")
        );
        // The XMPP domain has no port.
        assert_eq!(
            ported.effective_subject().as_deref(),
            Ok("meet.example.com")
        );

        let explicit = JitsiConfig {
            issuer: Some("clinic".into()),
            subject: Some("Meet.Internal".into()),
            ..hs()
        };
        assert_eq!(explicit.effective_issuer(), "clinic");
        assert_eq!(explicit.effective_subject().as_deref(), Ok("meet.internal"));
    }

    #[test]
    fn jaas_uses_the_tenant_for_sub_and_kid() {
        let config = jaas();
        config.validate().expect("valid");
        let tenant = "vpaas-magic-cookie-abc123";
        assert_eq!(config.tenant().as_deref(), Some(tenant));
        assert_eq!(config.effective_subject().as_deref(), Ok(tenant));
        assert_eq!(config.effective_issuer(), "chat");
        assert_eq!(
            config.kid(),
            Ok(Some("vpaas-magic-cookie-abc123/key1".into()))
        );
        // The bare AppID and the full kid work as well.
        let bare = JitsiConfig::jaas("abc123", "/keys/jaas.pem", "vpaas-magic-cookie-abc123/key1");
        bare.validate().expect("valid");
        assert_eq!(bare.tenant().as_deref(), Some(tenant));
        assert_eq!(bare.kid(), config.kid());

        let foreign = JitsiConfig::jaas(
            "vpaas-magic-cookie-abc123",
            "/keys/jaas.pem",
            "vpaas-magic-cookie-other/key1",
        );
        assert_eq!(foreign.validate(), Err(JitsiConfigError::JaasKeyIdTenant));
    }

    #[test]
    fn server_url_must_be_an_https_base_url() {
        for (url, expected) in [
            ("http://meet.example.com", "must use https"),
            ("meet.example.com", "is not a valid URL"),
            ("", "is not a valid URL"),
            (
                "https://user:pw@meet.example.com",
                "must not carry credentials",
            ),
        ] {
            let config = JitsiConfig {
                server_url: url.into(),
                ..hs()
            };
            assert_eq!(
                config.validate(),
                Err(JitsiConfigError::ServerUrl(expected)),
                "{url}"
            );
        }
        for url in [
            "https://meet.example.com/room",
            "https://meet.example.com/?a=b",
            "https://meet.example.com/#x",
        ] {
            let config = JitsiConfig {
                server_url: url.into(),
                ..hs()
            };
            assert!(
                matches!(config.validate(), Err(JitsiConfigError::ServerUrl(_))),
                "{url}"
            );
        }
    }

    /// Parses a `[jitsi]` table as the configuration file spells it.
    fn parse(table: &str) -> Result<JitsiConfig, String> {
        let text =
            format!("server_url = \"https://meet.example.com\"\napp_id = \"consult\"\n{table}");
        Figment::from(Toml::string(&text))
            .extract::<JitsiConfig>()
            .map_err(|error| error.to_string())
    }

    #[test]
    fn the_signing_keys_are_parsed_with_their_algorithm() {
        let parsed = parse(&format!("app_secret = \"{SECRET}\"")).expect("hs256 is the default");
        assert_eq!(parsed, hs());
        let rs = parse("algorithm = \"rs256\"\nprivate_key_file = \"/k.pem\"\nkey_id = \"kid1\"")
            .expect("rs256");
        assert_eq!(
            rs.signing,
            JitsiSigning::Rs256 {
                private_key_file: "/k.pem".into(),
                key_id: "kid1".into()
            }
        );
        rs.validate().expect("valid");
        assert_eq!(rs.kid(), Ok(Some("kid1".into())));
        // What is parsed serializes back to the same table.
        let table = toml_of(&rs);
        assert!(table.contains("algorithm = \"rs256\""), "{table}");
        assert_eq!(parse(&table), Ok(rs));
    }

    fn toml_of(config: &JitsiConfig) -> String {
        let value = serde_json::to_value(config).expect("serializes");
        value
            .as_object()
            .expect("a table")
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "server_url" | "app_id"))
            .map(|(key, value)| format!("{key} = {value}\n"))
            .collect()
    }

    #[test]
    fn keys_that_do_not_fit_the_algorithm_are_refused_naming_them() {
        let key_file = "private_key_file = \"/k.pem\"\nkey_id = \"kid1\"";
        for (table, field, algorithm) in [
            ("", "app_secret", "hs256"),
            (key_file, "private_key_file", "hs256"),
            (
                &format!("app_secret = \"{SECRET}\"\nkey_id = \"k\"") as &str,
                "key_id",
                "hs256",
            ),
            (
                "algorithm = \"rs256\"\nkey_id = \"kid1\"",
                "private_key_file",
                "rs256",
            ),
            (
                "algorithm = \"rs256\"\nprivate_key_file = \"\"\nkey_id = \"kid1\"",
                "private_key_file",
                "rs256",
            ),
            (
                "algorithm = \"rs256\"\nprivate_key_file = \"/k.pem\"",
                "key_id",
                "rs256",
            ),
            (
                &format!("algorithm = \"rs256\"\n{key_file}\napp_secret = \"{SECRET}\""),
                "app_secret",
                "rs256",
            ),
        ] {
            let error = parse(table).expect_err(table);
            let expected = [
                JitsiConfigError::Missing { field, algorithm },
                JitsiConfigError::NotUsed { field, algorithm },
            ]
            .map(|error| error.to_string());
            assert!(
                expected
                    .iter()
                    .any(|message| error.contains(message.as_str())),
                "{table}: {error}"
            );
        }
    }

    #[test]
    fn other_keys_are_checked_against_the_algorithm_by_validate() {
        let short = JitsiConfig::hs256("https://meet.example.com", "consult", "x".repeat(31));
        assert_eq!(short.validate(), Err(JitsiConfigError::AppSecretTooShort));
        let blank_kid = JitsiConfig::rs256("https://meet.example.com", "consult", "/k.pem", "a b");
        assert_eq!(blank_kid.validate(), Err(JitsiConfigError::Blank("key_id")));
        let jaas_hs = JitsiConfig {
            flavor: JitsiFlavor::Jaas,
            ..hs()
        };
        assert_eq!(jaas_hs.validate(), Err(JitsiConfigError::JaasNeedsRs256));
        let jaas_sub = JitsiConfig {
            subject: Some("meet.example.com".into()),
            ..jaas()
        };
        assert_eq!(jaas_sub.validate(), Err(JitsiConfigError::JaasSubject));
    }

    #[test]
    fn blank_values_and_long_windows_are_refused() {
        for (config, field) in [
            (
                JitsiConfig {
                    app_id: String::new(),
                    ..hs()
                },
                "app_id",
            ),
            (
                JitsiConfig {
                    audience: " ".into(),
                    ..hs()
                },
                "audience",
            ),
            (
                JitsiConfig {
                    issuer: Some("two words".into()),
                    ..hs()
                },
                "issuer",
            ),
        ] {
            assert_eq!(config.validate(), Err(JitsiConfigError::Blank(field)));
        }
        let at_limit = JitsiConfig {
            grace_secs: MAX_GRACE_SECS,
            nbf_backdate_secs: MAX_NBF_BACKDATE_SECS,
            ..hs()
        };
        at_limit.validate().expect("limits are inclusive");
        let grace = JitsiConfig {
            grace_secs: MAX_GRACE_SECS + 1,
            ..hs()
        };
        assert_eq!(
            grace.validate(),
            Err(JitsiConfigError::TooLong {
                field: "grace_secs",
                max: 4 * 3600
            })
        );
        let backdate = JitsiConfig {
            nbf_backdate_secs: 301,
            ..hs()
        };
        assert_eq!(
            backdate.validate().map_err(|e| e.to_string()),
            Err("jitsi.nbf_backdate_secs must be at most 300 seconds".into())
        );
    }

    #[test]
    fn debug_output_redacts_the_secret() {
        let shown = format!("{:?}", hs());
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
