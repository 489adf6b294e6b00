//! `consult-server check-jitsi`: does the configured deployment accept the tokens this server
//! mints? Current Jitsi checks `sub` against its XMPP domain by default, and that domain is often
//! not the public host (docker-jitsi-meet's default is `meet.jitsi`): then every token is refused
//! at join. The deployment names its XMPP domain in `config.js` (`hosts.domain`), so this reads
//! it, compares it with the `sub` the server mints, checks that `external_api.js` is served, and
//! says what to set. The server also runs it once in the background at start-up, as a warning.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use super::config::{JitsiConfig, JitsiConfigError, JitsiFlavor};
// reqwest's own message is only "error sending request"; the cause (DNS, refused, certificate)
// is what an administrator needs.
use crate::error::error_chain;

/// The start-up check must never hold anything up: a slow or absent deployment is a warning.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(5);
/// An administrator running the command can wait a little longer for a slow server.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

/// The global `external_api.js` defines; a page without it is not Jitsi's IFrame API.
const EXTERNAL_API_MARKER: &str = "JitsiMeetExternalAPI";

/// How one check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(String),
    /// What is wrong, and exactly what to do about it.
    Problem {
        what: String,
        fix: String,
    },
    /// Not applicable to this deployment (JaaS), with why.
    Skipped(String),
}

/// One named check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
}

/// Everything `check-jitsi` found about one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub server_url: String,
    pub checks: Vec<Check>,
}

impl Report {
    /// No check found a problem (skipped ones are fine).
    pub fn is_ok(&self) -> bool {
        !self
            .checks
            .iter()
            .any(|check| matches!(check.outcome, Outcome::Problem { .. }))
    }

    pub fn problems(&self) -> impl Iterator<Item = (&'static str, &str, &str)> {
        self.checks.iter().filter_map(|check| match &check.outcome {
            Outcome::Problem { what, fix } => Some((check.name, what.as_str(), fix.as_str())),
            _ => None,
        })
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Jitsi deployment {}", self.server_url)?;
        for check in &self.checks {
            match &check.outcome {
                Outcome::Ok(detail) => writeln!(f, "  OK       {}: {detail}", check.name)?,
                Outcome::Skipped(why) => writeln!(f, "  SKIPPED  {}: {why}", check.name)?,
                Outcome::Problem { what, fix } => {
                    writeln!(f, "  PROBLEM  {}: {what}", check.name)?;
                    writeln!(f, "           Fix: {fix}")?;
                }
            }
        }
        let problems = self.problems().count();
        match problems {
            0 => writeln!(
                f,
                "Verdict: OK, the deployment should accept this server's tokens."
            ),
            1 => writeln!(f, "Verdict: NOT OK, 1 problem."),
            n => writeln!(f, "Verdict: NOT OK, {n} problems."),
        }
    }
}

/// Why the deployment could not be checked at all.
#[derive(Debug, Error)]
pub enum CheckError {
    #[error(transparent)]
    Config(#[from] JitsiConfigError),
    #[error("cannot set up an HTTPS client: {0}")]
    Client(String),
}

/// Why a file of the deployment could not be read.
#[derive(Debug, Error)]
enum FetchError {
    #[error("no answer within {0} s")]
    Timeout(u64),
    #[error("cannot reach it: {0}")]
    Unreachable(String),
    #[error("it answered HTTP {0}")]
    Status(u16),
}

/// What is wrong with a `config.js` that was read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigJsError {
    #[error("it sets no hosts.domain")]
    NoDomain,
    #[error("its hosts.domain is not a plain string but `{0}`")]
    NotALiteral(String),
    #[error("its hosts.domain {0:?} is not a domain name")]
    NotADomain(String),
}

/// Checks the deployment `config` names, each request bounded by `timeout`.
pub async fn check(config: &JitsiConfig, timeout: Duration) -> Result<Report, CheckError> {
    let base = config.normalized_server_url()?;
    let subject = config.effective_subject()?;
    let client = https_client(timeout)?;
    let config_js_url = format!("{base}/config.js");
    let external_api_url = format!("{base}/external_api.js");
    let jaas = config.flavor == JitsiFlavor::Jaas;
    // JaaS's sub is the tenant, not an XMPP domain: its config.js would tell nothing.
    let (config_js, external_api) = tokio::join!(
        async {
            if jaas {
                None
            } else {
                Some(fetch(&client, &config_js_url, timeout).await)
            }
        },
        fetch(&client, &external_api_url, timeout),
    );
    let subject_check = match config_js {
        None => Outcome::Skipped(format!(
            "on JaaS sub is the tenant {subject:?}, which 8x8 checks against the key"
        )),
        Some(config_js) => subject_outcome(config, &subject, &config_js_url, config_js.as_deref()),
    };
    let external_api_check = match external_api {
        Ok(body) if body.contains(EXTERNAL_API_MARKER) => {
            Outcome::Ok(format!("served at {external_api_url}"))
        }
        Ok(_) => Outcome::Problem {
            what: format!(
                "{external_api_url} is not Jitsi's IFrame API (it does not define \
                 {EXTERNAL_API_MARKER}), so the desktop app cannot open calls"
            ),
            fix: "point [jitsi] server_url at the Jitsi Meet web server itself (the address \
                  people open meetings at), not at another site or a proxy's error page"
                .to_owned(),
        },
        Err(error) => Outcome::Problem {
            what: format!(
                "cannot read {external_api_url}: {error}; the desktop app loads it for every call"
            ),
            fix: "check that [jitsi] server_url is the Jitsi Meet web address and that this \
                  machine reaches it over HTTPS with a certificate the system trusts"
                .to_owned(),
        },
    };
    Ok(Report {
        server_url: base,
        checks: vec![
            Check {
                name: "sub (XMPP domain)",
                outcome: subject_check,
            },
            Check {
                name: "external_api.js",
                outcome: external_api_check,
            },
        ],
    })
}

/// What the `sub` the server mints means against the deployment's `config.js`.
fn subject_outcome(
    config: &JitsiConfig,
    subject: &str,
    config_js_url: &str,
    config_js: Result<&str, &FetchError>,
) -> Outcome {
    let source = if config.subject.is_some() {
        "[jitsi] subject"
    } else {
        "the host of [jitsi] server_url, since subject is not set"
    };
    let body = match config_js {
        Ok(body) => body,
        Err(error) => {
            return Outcome::Problem {
                what: format!(
                    "cannot read {config_js_url} ({error}), so the deployment's XMPP domain is \
                     unknown; the server mints sub = {subject:?} ({source})"
                ),
                fix: "check that [jitsi] server_url is the Jitsi Meet web address \
                      (docker-jitsi-meet's web container serves config.js at its root) and \
                      reachable from here; or set [jitsi] subject to the deployment's XMPP domain \
                      yourself (Prosody's VirtualHost; docker-jitsi-meet's XMPP_DOMAIN, default \
                      \"meet.jitsi\") and run check-jitsi again"
                    .to_owned(),
            };
        }
    };
    let domain = match xmpp_domain(body) {
        Ok(domain) => domain,
        Err(error) => {
            return Outcome::Problem {
                what: format!(
                    "{config_js_url} was read but {error}, so the deployment's XMPP domain is \
                     unknown; the server mints sub = {subject:?} ({source})"
                ),
                fix: "check that [jitsi] server_url is the Jitsi Meet web address; or set \
                      [jitsi] subject to the deployment's XMPP domain (Prosody's VirtualHost; \
                      docker-jitsi-meet's XMPP_DOMAIN)"
                    .to_owned(),
            };
        }
    };
    if domain.eq_ignore_ascii_case(subject) {
        return Outcome::Ok(format!(
            "the server mints sub = {subject:?} ({source}), the deployment's XMPP domain \
             (hosts.domain in {config_js_url})"
        ));
    }
    Outcome::Problem {
        what: format!(
            "the server mints sub = {subject:?} ({source}) but the deployment's XMPP domain is \
             {domain:?} (hosts.domain in {config_js_url}); Jitsi checks sub against it by default \
             and refuses every token at join (\"Room and token mismatched\")"
        ),
        fix: format!(
            "set [jitsi] subject = \"{domain}\" (or CONSULT_SERVER_JITSI__SUBJECT={domain}) and \
             restart the server"
        ),
    }
}

/// An HTTPS client that trusts the system's certificate store only (`SSL_CERT_FILE` /
/// `SSL_CERT_DIR` override it, as for OpenSSL), like the browsers that open the calls.
fn https_client(timeout: Duration) -> Result<reqwest::Client, CheckError> {
    let loaded = rustls_native_certs::load_native_certs();
    for error in &loaded.errors {
        tracing::debug!(%error, "a system certificate could not be loaded");
    }
    let mut roots = rustls::RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        return Err(CheckError::Client(
            "the system's certificate store holds no usable certificate (is ca-certificates \
             installed?)"
                .to_owned(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| CheckError::Client(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .https_only(true)
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!(
            "consult-server/",
            env!("CARGO_PKG_VERSION"),
            " check-jitsi"
        ))
        .build()
        .map_err(|error| CheckError::Client(error_chain(&error)))
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<String, FetchError> {
    let failed = |error: reqwest::Error| {
        if error.is_timeout() {
            FetchError::Timeout(timeout.as_secs())
        } else {
            FetchError::Unreachable(error_chain(&error))
        }
    };
    let response = client.get(url).send().await.map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    response.text().await.map_err(failed)
}

/// Runs the check in the background with a short timeout and logs what it finds: problems as
/// warnings with their fix, never stopping or delaying the server.
pub fn spawn_startup_check(config: JitsiConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match check(&config, STARTUP_TIMEOUT).await {
            Ok(report) if report.is_ok() => {
                tracing::info!(server_url = %report.server_url, "Jitsi deployment checked: OK");
            }
            Ok(report) => {
                for (check, what, fix) in report.problems() {
                    tracing::warn!(
                        check,
                        "Jitsi deployment: {what}. Fix: {fix} (`consult-server check-jitsi` \
                         checks again)"
                    );
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot check the Jitsi deployment");
            }
        }
    })
}

/// The XMPP domain a Jitsi Meet `config.js` names in `hosts.domain`.
///
/// It is JavaScript, not JSON: jitsi-meet's own file and Debian's `<domain>-config.js` write
/// `var config = { hosts: { domain: '…', … }, … }` among comments, while docker-jitsi-meet's
/// generated one assigns `config.hosts.domain = '…';`. Both forms are found, in either quote
/// style, among comments; as in JavaScript, the last assignment wins. A value that is an
/// expression (`domain: base + '.x'`, `domain,`) cannot be known without running it.
pub fn xmpp_domain(config_js: &str) -> Result<String, ConfigJsError> {
    let tokens = lex(config_js);
    let mut found: Option<Result<String, ConfigJsError>> = None;
    let mut i = 0;
    while i < tokens.len() {
        // `….hosts.domain = value`
        if tokens[i].is_name("hosts")
            && tokens.get(i + 1) == Some(&Token::Punct('.'))
            && tokens.get(i + 2).is_some_and(|t| t.is_name("domain"))
            && tokens.get(i + 3) == Some(&Token::Punct('='))
            && tokens.get(i + 4) != Some(&Token::Punct('='))
        {
            found = Some(value_at(&tokens, i + 4));
            i += 4;
            continue;
        }
        // `hosts: { … }` in an object literal, or `….hosts = { … }`
        if tokens[i].is_key("hosts")
            && matches!(tokens.get(i + 1), Some(Token::Punct(':' | '=')))
            && tokens.get(i + 2) == Some(&Token::Punct('{'))
        {
            let mut depth = 0usize;
            let mut j = i + 2;
            while j < tokens.len() {
                match &tokens[j] {
                    Token::Punct('{' | '[' | '(') => depth += 1,
                    Token::Punct('}' | ']' | ')') => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    token
                        if depth == 1
                            && token.is_key("domain")
                            && matches!(tokens.get(j - 1), Some(Token::Punct('{' | ',')))
                            && matches!(tokens.get(j + 1), Some(Token::Punct(':' | ',' | '}'))) =>
                    {
                        found = Some(if tokens.get(j + 1) == Some(&Token::Punct(':')) {
                            value_at(&tokens, j + 2)
                        } else {
                            // The shorthand `{ domain }` names a variable.
                            Err(ConfigJsError::NotALiteral("domain".to_owned()))
                        });
                    }
                    _ => {}
                }
                j += 1;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    found.unwrap_or(Err(ConfigJsError::NoDomain))
}

/// The value starting at `tokens[at]`: a string literal not continued by `+`.
fn value_at(tokens: &[Token], at: usize) -> Result<String, ConfigJsError> {
    let describe = |token: Option<&Token>| match token {
        Some(Token::Name(name)) => name.clone(),
        Some(Token::Str(text)) => format!("{text:?} + …"),
        Some(Token::Punct(c)) => c.to_string(),
        None => "nothing".to_owned(),
    };
    match tokens.get(at) {
        Some(Token::Str(value)) if tokens.get(at + 1) != Some(&Token::Punct('+')) => {
            let value = value.trim();
            let is_domain = !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if is_domain {
                Ok(value.to_ascii_lowercase())
            } else {
                Err(ConfigJsError::NotADomain(value.to_owned()))
            }
        }
        other => Err(ConfigJsError::NotALiteral(describe(other))),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An identifier, keyword or number.
    Name(String),
    /// A string literal, escapes resolved.
    Str(String),
    Punct(char),
}

impl Token {
    fn is_name(&self, name: &str) -> bool {
        matches!(self, Token::Name(n) if n == name)
    }

    /// An object key: `name` bare or quoted.
    fn is_key(&self, name: &str) -> bool {
        match self {
            Token::Name(n) | Token::Str(n) => n == name,
            Token::Punct(_) => false,
        }
    }
}

/// Just enough of a JavaScript lexer for configuration files: comments skipped, strings in all
/// three quotes, names, and everything else one character at a time.
fn lex(source: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
            }
            '\'' | '"' | '`' => {
                let quote = c;
                let mut text = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some('n') => text.push('\n'),
                            Some('t') => text.push('\t'),
                            // A line continuation adds nothing.
                            Some('\n') | None => {}
                            Some(other) => text.push(other),
                        },
                        c if c == quote => break,
                        c => text.push(c),
                    }
                }
                tokens.push(Token::Str(text));
            }
            c if c.is_alphanumeric() || c == '_' || c == '$' => {
                let mut name = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_alphanumeric() || next == '_' || next == '$' {
                        name.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Name(name));
            }
            c => tokens.push(Token::Punct(c)),
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The head of jitsi-meet's own `config.js` (also Debian's `/etc/jitsi/meet/<domain>-config.js`),
    /// as the web server serves it.
    const JITSI_MEET_CONFIG_JS: &str = include_str!("../../tests/fixtures/jitsi-meet-config.js");

    /// docker-jitsi-meet's generated `config.js` (web/rootfs/defaults/system-config.js rendered
    /// with the defaults and ENABLE_AUTH=1), which its web container serves at `/config.js`.
    const DOCKER_CONFIG_JS: &str = include_str!("../../tests/fixtures/docker-jitsi-meet-config.js");

    #[test]
    fn finds_the_domain_in_jitsi_meets_config_js() {
        assert_eq!(
            xmpp_domain(JITSI_MEET_CONFIG_JS).as_deref(),
            Ok("jitsi-meet.example.com")
        );
    }

    #[test]
    fn finds_the_domain_in_docker_jitsi_meets_config_js() {
        assert_eq!(xmpp_domain(DOCKER_CONFIG_JS).as_deref(), Ok("meet.jitsi"));
    }

    #[test]
    fn quotes_comments_and_order_are_javascripts() {
        for (source, expected) in [
            (r#"var config = { "hosts": { "domain": "Meet.Example.org" } };"#, "meet.example.org"),
            ("var config = { hosts: { muc: 'conference.x', domain: `x.org` } }", "x.org"),
            // A commented-out domain is not the domain.
            ("var config = { hosts: {\n// domain: 'old.org',\n/* domain: 'older.org', */ domain: 'new.org' } }", "new.org"),
            // anonymousdomain and authdomain are other keys.
            ("var config = { hosts: { anonymousdomain: 'guest.x', authdomain: 'auth.x', domain: 'x' } }", "x"),
            // A later assignment overrides the literal, as it would in the browser.
            ("var config = { hosts: { domain: 'first.org' } };\nconfig.hosts.domain = 'second.org';", "second.org"),
            ("config.hosts = { domain: 'assigned.org' };", "assigned.org"),
            // A nested object's domain is not hosts.domain.
            ("var config = { hosts: { x: { domain: 'nested.org' }, domain: 'top.org' } }", "top.org"),
        ] {
            assert_eq!(xmpp_domain(source).as_deref(), Ok(expected), "{source}");
        }
    }

    #[test]
    fn what_cannot_be_known_is_said() {
        assert_eq!(xmpp_domain(""), Err(ConfigJsError::NoDomain));
        assert_eq!(
            xmpp_domain("<!DOCTYPE html><html><body>Not Found</body></html>"),
            Err(ConfigJsError::NoDomain)
        );
        assert_eq!(
            xmpp_domain("var config = { hosts: { muc: 'conference.x' } };"),
            Err(ConfigJsError::NoDomain)
        );
        assert_eq!(
            xmpp_domain("var config = { hosts: { domain: base + '.org' } };"),
            Err(ConfigJsError::NotALiteral("base".to_owned()))
        );
        assert!(matches!(
            xmpp_domain("var config = { hosts: { domain: 'meet.' + suffix } };"),
            Err(ConfigJsError::NotALiteral(_))
        ));
        assert_eq!(
            xmpp_domain("var config = { hosts: { domain, muc: 'm' } };"),
            Err(ConfigJsError::NotALiteral("domain".to_owned()))
        );
        assert_eq!(
            xmpp_domain("config.hosts.domain = '<!--# echo var=\"host\" -->';"),
            Err(ConfigJsError::NotADomain(
                "<!--# echo var=\"host\" -->".to_owned()
            ))
        );
    }

    fn report(outcomes: Vec<Outcome>) -> Report {
        Report {
            server_url: "https://meet.example.com".to_owned(),
            checks: outcomes
                .into_iter()
                .map(|outcome| Check { name: "x", outcome })
                .collect(),
        }
    }

    #[test]
    fn the_verdict_counts_problems_only() {
        let ok = report(vec![Outcome::Ok("a".into()), Outcome::Skipped("b".into())]);
        assert!(ok.is_ok());
        assert!(ok.to_string().contains("Verdict: OK"), "{ok}");
        let bad = report(vec![
            Outcome::Ok("a".into()),
            Outcome::Problem {
                what: "w".into(),
                fix: "f".into(),
            },
        ]);
        assert!(!bad.is_ok());
        let text = bad.to_string();
        assert!(text.contains("PROBLEM  x: w\n           Fix: f"), "{text}");
        assert!(text.contains("Verdict: NOT OK, 1 problem."), "{text}");
    }
}
