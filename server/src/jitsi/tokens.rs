//! Minting Jitsi meeting tokens (Prosody `token` auth, or JaaS) and personalized browser links.
//!
//! The rules they must pass are in `shared/spec/jitsi.md` §3; `tests/api/prosody.rs` checks
//! them independently of this code.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::Serialize;
use thiserror::Error;
use url::Url;

use super::config::{JitsiConfig, JitsiConfigError, JitsiFlavor, JitsiSigning};
use crate::ids;

/// Smaller RSA keys are breakable; JaaS and most libraries refuse them as well.
pub const MIN_RSA_BITS: usize = 2048;
/// ring's limit for signing keys; JaaS hands out 2048-bit keys.
pub const MAX_RSA_BITS: usize = 4096;
/// No token lives longer than this after its issue, however long the appointment: a token cannot
/// be revoked, so a long one would outlive a cancellation or a removed participant.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 4 * 60 * 60;
/// Room names longer than this are not ones this server makes.
pub const MAX_ROOM_LEN: usize = 128;

#[derive(Debug, Error)]
pub enum JitsiError {
    #[error(transparent)]
    Config(#[from] JitsiConfigError),
    #[error("cannot read the Jitsi private key {path}: {source}")]
    ReadKey {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the Jitsi private key {path} is not an RSA private key in PEM (PKCS#8 or PKCS#1)")]
    InvalidKey { path: PathBuf },
    #[error(
        "the Jitsi private key {path} is refused ({reason}): RSA keys of {MIN_RSA_BITS} to \
         {MAX_RSA_BITS} bits are accepted"
    )]
    KeyRejected { path: PathBuf, reason: String },
    #[error("room name must be 1 to {MAX_ROOM_LEN} characters of lowercase a-z, 0-9, '-' and '_'")]
    InvalidRoom,
    #[error("the token would already be expired (exp {exp} is not after now {now})")]
    AlreadyExpired { exp: i64, now: i64 },
    #[error("cannot sign a Jitsi token: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
    #[error("cannot sign a Jitsi token: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("cannot sign a Jitsi token with the RSA key")]
    RsaSign,
}

/// Who joins which room until when. The caller decides `moderator` from the user's role.
#[derive(Debug, Clone, Copy)]
pub struct TokenGrant<'a> {
    /// The bare room name, lowercase `[a-z0-9-_]`.
    pub room: &'a str,
    pub user_id: &'a str,
    pub display_name: &'a str,
    /// Left out of the token when empty.
    pub email: &'a str,
    pub moderator: bool,
    /// Unix seconds; `exp` is this plus the configured grace.
    pub appointment_end: i64,
    /// Unix seconds.
    pub now: i64,
}

/// A signed token and what the client needs with it.
#[derive(Clone, PartialEq, Eq)]
pub struct MintedToken {
    pub token: String,
    /// What the client passes to `JitsiMeetExternalAPI` as `roomName` (`<tenant>/<room>` on JaaS).
    pub room_name: String,
    /// The token's `exp`, unix seconds.
    pub expires_at: i64,
}

// A token is a credential for the meeting: never in a log line.
impl fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedToken")
            .field("token", &"<redacted>")
            .field("room_name", &self.room_name)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The signing key of the configured algorithm.
enum Signer {
    Hs256(EncodingKey),
    /// RS256 is signed with ring, whose RSA private-key operations are constant-time, not with
    /// the `rsa` crate (RUSTSEC-2023-0071, a timing side channel on the private key).
    Rs256(Box<RsaKeyPair>),
}

/// Mints tokens for the one configured deployment. Built once at startup.
pub struct JitsiTokens {
    algorithm: Algorithm,
    signer: Signer,
    kid: Option<String>,
    issuer: String,
    audience: String,
    subject: String,
    tenant: Option<String>,
    flavor: JitsiFlavor,
    /// `https://host[:port]`, no trailing slash.
    server_url: String,
    /// The same, parsed, for building links.
    base_url: Url,
    grace_secs: i64,
    nbf_backdate_secs: i64,
}

impl fmt::Debug for JitsiTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitsiTokens")
            .field("algorithm", &self.algorithm)
            .field("key", &"<redacted>")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("subject", &self.subject)
            .field("flavor", &self.flavor)
            .field("server_url", &self.server_url)
            .finish()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    room: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    /// 128 random bits, so a token fetched again in the same second (a retry after a refusal)
    /// is a new token, not a byte-identical copy of the refused one. Prosody and JaaS ignore it.
    jti: String,
    context: Context<'a>,
}

#[derive(Serialize)]
struct Context<'a> {
    user: User<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    features: Option<Features>,
}

#[derive(Serialize)]
struct User<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    email: &'a str,
    moderator: Moderator,
}

/// Prosody's `mod_token_affiliation` takes `true` or `"true"`; JaaS documents the strings.
#[derive(Serialize)]
#[serde(untagged)]
enum Moderator {
    Bool(bool),
    Text(&'static str),
}

/// JaaS features, all off: a consultation is not recorded, streamed, transcribed or dialled out.
#[derive(Serialize)]
struct Features {
    livestreaming: &'static str,
    recording: &'static str,
    transcription: &'static str,
    #[serde(rename = "outbound-call")]
    outbound_call: &'static str,
    #[serde(rename = "sip-outbound-call")]
    sip_outbound_call: &'static str,
}

impl Features {
    const NONE: Features = Features {
        livestreaming: "false",
        recording: "false",
        transcription: "false",
        outbound_call: "false",
        sip_outbound_call: "false",
    };
}

impl JitsiTokens {
    /// Validates the configuration and loads the signing key.
    pub fn from_config(config: &JitsiConfig) -> Result<JitsiTokens, JitsiError> {
        config.validate()?;
        let (algorithm, signer) = match &config.signing {
            JitsiSigning::Hs256 { app_secret } => (
                Algorithm::HS256,
                Signer::Hs256(EncodingKey::from_secret(app_secret.as_bytes())),
            ),
            JitsiSigning::Rs256 {
                private_key_file, ..
            } => (
                Algorithm::RS256,
                Signer::Rs256(Box::new(load_rsa_key(private_key_file)?)),
            ),
        };
        let tokens = JitsiTokens {
            algorithm,
            signer,
            kid: config.kid()?,
            issuer: config.effective_issuer(),
            audience: config.audience.clone(),
            subject: config.effective_subject()?,
            tenant: config.tenant(),
            flavor: config.flavor,
            server_url: config.normalized_server_url()?,
            base_url: config.base_url()?,
            // Validated to at most a few hours.
            grace_secs: i64::try_from(config.grace_secs).unwrap_or(i64::MAX),
            nbf_backdate_secs: i64::try_from(config.nbf_backdate_secs).unwrap_or(i64::MAX),
        };
        tracing::info!(
            server_url = %tokens.server_url,
            algorithm = config.signing.algorithm().as_str(),
            flavor = config.flavor.as_str(),
            "Jitsi meeting tokens enabled"
        );
        Ok(tokens)
    }

    /// `https://host[:port]`, no trailing slash.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// Signs a token for one user and one room, valid from shortly before `now` until the
    /// appointment's end plus the grace period, but at most [`MAX_TOKEN_LIFETIME_SECS`] from now.
    pub fn mint(&self, grant: &TokenGrant<'_>) -> Result<MintedToken, JitsiError> {
        if !is_room_name(grant.room) {
            return Err(JitsiError::InvalidRoom);
        }
        let exp = grant.appointment_end.saturating_add(self.grace_secs);
        if exp <= grant.now {
            return Err(JitsiError::AlreadyExpired {
                exp,
                now: grant.now,
            });
        }
        let exp = exp.min(grant.now.saturating_add(MAX_TOKEN_LIFETIME_SECS));
        let jaas = self.flavor == JitsiFlavor::Jaas;
        let moderator = match (jaas, grant.moderator) {
            (false, moderator) => Moderator::Bool(moderator),
            (true, true) => Moderator::Text("true"),
            (true, false) => Moderator::Text("false"),
        };
        let claims = Claims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: &self.subject,
            room: grant.room,
            iat: grant.now,
            nbf: grant.now.saturating_sub(self.nbf_backdate_secs),
            exp,
            jti: ids::hex(&ids::random_bytes::<16>()),
            context: Context {
                user: User {
                    id: grant.user_id,
                    name: grant.display_name,
                    email: grant.email,
                    moderator,
                },
                features: jaas.then_some(Features::NONE),
            },
        };
        let mut header = Header::new(self.algorithm);
        header.typ = Some("JWT".to_owned());
        header.kid = self.kid.clone();
        let token = match &self.signer {
            Signer::Hs256(key) => {
                jsonwebtoken::encode(&header, &claims, key).map_err(JitsiError::Sign)?
            }
            Signer::Rs256(key) => sign_rs256(key, &header, &claims)?,
        };
        let room_name = match &self.tenant {
            Some(tenant) => format!("{tenant}/{}", grant.room),
            None => grant.room.to_owned(),
        };
        Ok(MintedToken {
            token,
            room_name,
            expires_at: exp,
        })
    }

    /// A personalized link for a browser: `https://<domain>/<room>?jwt=<token>` with the display
    /// name and "no prejoin screen" in the hash, each value `encodeURIComponent(JSON.stringify(…))`
    /// as Jitsi Meet reads them. It carries the token: never log or persist it.
    pub fn meeting_url(&self, room_name: &str, token: &str, display_name: &str) -> String {
        let display_name = serde_json::Value::from(display_name).to_string();
        let fragment = format!(
            "userInfo.displayName={}&config.prejoinConfig.enabled=false",
            encode_uri_component(&display_name)
        );
        let mut url = self.base_url.clone();
        // Err only for URLs that cannot be a base, and https URLs always can.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.clear().extend(room_name.split('/'));
        }
        url.query_pairs_mut().append_pair("jwt", token);
        url.set_fragment(Some(&fragment));
        url.into()
    }
}

/// `header.claims.signature` as JWS compact serialization, signed RSASSA-PKCS1-v1_5 SHA-256 by
/// ring (deterministic, so the same bytes jsonwebtoken would make, but in constant time).
fn sign_rs256(
    key: &RsaKeyPair,
    header: &Header,
    claims: &Claims<'_>,
) -> Result<String, JitsiError> {
    let mut message = base64_json(header)?;
    message.push('.');
    message.push_str(&base64_json(claims)?);
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .map_err(|_| JitsiError::RsaSign)?;
    message.push('.');
    message.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(message)
}

/// A token part: JSON, base64url without padding.
fn base64_json(value: &impl Serialize) -> Result<String, JitsiError> {
    let json = serde_json::to_vec(value).map_err(JitsiError::Encode)?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// Reads a PKCS#8 (`BEGIN PRIVATE KEY`, as JaaS hands out) or PKCS#1 (`BEGIN RSA PRIVATE KEY`)
/// PEM file into ring, which checks the key (2048 to 4096 bits, consistent components).
fn load_rsa_key(path: &Path) -> Result<RsaKeyPair, JitsiError> {
    let pem = std::fs::read(path).map_err(|source| JitsiError::ReadKey {
        path: path.to_owned(),
        source,
    })?;
    let invalid = || JitsiError::InvalidKey {
        path: path.to_owned(),
    };
    let (label, der) = pem_rfc7468::decode_vec(&pem).map_err(|_| invalid())?;
    let parsed = match label {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        _ => return Err(invalid()),
    };
    parsed.map_err(|rejected| match rejected.to_string().as_str() {
        // Well-formed, but a size ring (and we) will not sign with.
        reason @ ("TooSmall" | "TooLarge") => JitsiError::KeyRejected {
            path: path.to_owned(),
            reason: reason.to_owned(),
        },
        _ => invalid(),
    })
}

/// Lowercase `[a-z0-9-_]`: what Prosody compares without surprises (never `*`).
fn is_room_name(room: &str) -> bool {
    !room.is_empty()
        && room.len() <= MAX_ROOM_LEN
        && room
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// JavaScript's `encodeURIComponent`: everything but `A-Za-z0-9-_.!~*'()` percent-encoded as UTF-8.
fn encode_uri_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::{json, Value};

    use super::*;

    const SECRET: &str = "an-hs256-app-secret-of-at-least-32-bytes";
    const NOW: i64 = 1_800_000_000;
    const END: i64 = NOW + 1800;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    fn tokens(config: &JitsiConfig) -> JitsiTokens {
        crate::auth::install_crypto_provider();
        JitsiTokens::from_config(config).expect("valid configuration")
    }

    fn hs_config() -> JitsiConfig {
        JitsiConfig::hs256("https://meet.example.com", "consult", SECRET)
    }

    fn jaas_config() -> JitsiConfig {
        JitsiConfig::jaas(
            "vpaas-magic-cookie-abc123",
            fixture("test-only-jitsi-rsa-a.pkcs8.pem"),
            "key1",
        )
    }

    fn grant(moderator: bool) -> TokenGrant<'static> {
        TokenGrant {
            room: "appt-0123_abc",
            user_id: "usr_1",
            display_name: "Dr. Zoë \"Z\" Müller",
            email: "zoe@clinic.example",
            moderator,
            appointment_end: END,
            now: NOW,
        }
    }

    fn part(token: &str, index: usize) -> Value {
        let segment = token.split('.').nth(index).expect("segment");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("json")
    }

    /// The claims without `jti`, which is random; checked to be 32 hex digits.
    fn fixed_claims(token: &str) -> Value {
        let mut claims = part(token, 1);
        let jti = claims
            .as_object_mut()
            .and_then(|claims| claims.remove("jti"))
            .expect("a jti claim");
        let jti = jti.as_str().expect("jti is a string");
        assert!(
            jti.len() == 32 && jti.bytes().all(|b| b.is_ascii_hexdigit()),
            "{jti}"
        );
        claims
    }

    #[test]
    fn hs256_tokens_have_the_prosody_shape() {
        let tokens = tokens(&hs_config());
        let minted = tokens.mint(&grant(true)).expect("mint");
        assert_eq!(minted.room_name, "appt-0123_abc");
        assert_eq!(minted.expires_at, END + 900);
        assert_eq!(
            part(&minted.token, 0),
            json!({"typ": "JWT", "alg": "HS256"})
        );
        assert_eq!(
            fixed_claims(&minted.token),
            json!({
                "iss": "consult",
                "aud": "jitsi",
                "sub": "meet.example.com",
                "room": "appt-0123_abc",
                "iat": NOW,
                "nbf": NOW - 30,
                "exp": END + 900,
                "context": {"user": {
                    "id": "usr_1",
                    "name": "Dr. Zoë \"Z\" Müller",
                    "email": "zoe@clinic.example",
                    "moderator": true
                }}
            })
        );
        let guest = tokens
            .mint(&TokenGrant {
                email: "",
                ..grant(false)
            })
            .expect("mint");
        let claims = part(&guest.token, 1);
        assert_eq!(claims["context"]["user"]["moderator"], json!(false));
        assert!(claims["context"]["user"].get("email").is_none());
        assert!(claims["context"].get("features").is_none());
    }

    #[test]
    fn rs256_tokens_carry_the_kid_and_configured_claims() {
        let config = JitsiConfig {
            issuer: Some("clinic-issuer".into()),
            audience: "meet-audience".into(),
            grace_secs: 60,
            nbf_backdate_secs: 0,
            ..JitsiConfig::rs256(
                "https://meet.example.com:8443",
                "consult",
                fixture("test-only-jitsi-rsa-b.pkcs1.pem"),
                "consult-key-1",
            )
        };
        let tokens = tokens(&config);
        assert_eq!(tokens.server_url(), "https://meet.example.com:8443");
        let minted = tokens.mint(&grant(false)).expect("mint");
        assert_eq!(
            part(&minted.token, 0),
            json!({"typ": "JWT", "alg": "RS256", "kid": "consult-key-1"})
        );
        let claims = part(&minted.token, 1);
        assert_eq!(claims["iss"], "clinic-issuer");
        assert_eq!(claims["aud"], "meet-audience");
        assert_eq!(claims["sub"], "meet.example.com");
        assert_eq!(claims["nbf"], NOW);
        assert_eq!(claims["exp"], END + 60);
    }

    #[test]
    fn jaas_tokens_use_the_tenant_and_string_flags() {
        let tokens = tokens(&jaas_config());
        let tenant = "vpaas-magic-cookie-abc123";
        for (moderator, flag) in [(true, "true"), (false, "false")] {
            let minted = tokens.mint(&grant(moderator)).expect("mint");
            assert_eq!(minted.room_name, format!("{tenant}/appt-0123_abc"));
            assert_eq!(
                part(&minted.token, 0),
                json!({"typ": "JWT", "alg": "RS256", "kid": format!("{tenant}/key1")})
            );
            let claims = part(&minted.token, 1);
            assert_eq!(claims["iss"], "chat");
            assert_eq!(claims["aud"], "jitsi");
            assert_eq!(claims["sub"], tenant);
            // The room claim is the bare room; the tenant travels in `sub`.
            assert_eq!(claims["room"], "appt-0123_abc");
            assert_eq!(claims["context"]["user"]["moderator"], json!(flag));
            assert_eq!(
                claims["context"]["features"],
                json!({
                    "livestreaming": "false", "recording": "false", "transcription": "false",
                    "outbound-call": "false", "sip-outbound-call": "false"
                })
            );
        }
    }

    #[test]
    fn tokens_minted_in_the_same_second_differ() {
        for config in [hs_config(), jaas_config()] {
            let tokens = tokens(&config);
            let first = tokens.mint(&grant(false)).expect("mint");
            let again = tokens.mint(&grant(false)).expect("mint");
            // Same grant, same `now`: only the jti tells them apart.
            assert_eq!(fixed_claims(&first.token), fixed_claims(&again.token));
            assert_ne!(part(&first.token, 1)["jti"], part(&again.token, 1)["jti"]);
            assert_ne!(first.token, again.token);
        }
    }

    #[test]
    fn bad_rooms_and_past_appointments_are_refused() {
        let tokens = tokens(&hs_config());
        for room in [
            "",
            "*",
            "Room",
            "a b",
            "a/b",
            "räum",
            "a.b",
            &"a".repeat(129),
        ] {
            assert!(
                matches!(
                    tokens.mint(&TokenGrant {
                        room,
                        ..grant(false)
                    }),
                    Err(JitsiError::InvalidRoom)
                ),
                "{room:?}"
            );
        }
        // exp = end + grace must be after now.
        let ended = TokenGrant {
            appointment_end: NOW - 900,
            ..grant(false)
        };
        assert!(matches!(
            tokens.mint(&ended),
            Err(JitsiError::AlreadyExpired { exp: NOW, now: NOW })
        ));
        let in_grace = TokenGrant {
            appointment_end: NOW - 899,
            ..grant(false)
        };
        assert_eq!(tokens.mint(&in_grace).expect("mint").expires_at, NOW + 1);
    }

    /// RUSTSEC-2023-0071: the `rsa` crate's private-key operations leak timing. The server signs
    /// RS256 with ring; `rsa` stays a test-only dependency, for verifying (public key only).
    #[test]
    fn rs256_is_not_signed_with_the_rsa_crate() {
        let manifest = include_str!("../../Cargo.toml");
        let runtime = manifest
            .split("\n[dependencies]\n")
            .nth(1)
            .and_then(|rest| rest.split("\n[").next())
            .expect("a [dependencies] table");
        let names: Vec<&str> = runtime
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split('=').next())
            .map(str::trim)
            .collect();
        assert!(names.contains(&"ring"), "{names:?}");
        assert!(!names.contains(&"rsa"), "{names:?}");
    }

    #[test]
    fn keys_are_checked_at_startup() {
        crate::auth::install_crypto_provider();
        let with_key = |name: &str| JitsiConfig {
            signing: JitsiSigning::Rs256 {
                private_key_file: fixture(name),
                key_id: "key1".into(),
            },
            ..jaas_config()
        };
        assert!(matches!(
            JitsiTokens::from_config(&with_key("missing.pem")),
            Err(JitsiError::ReadKey { .. })
        ));
        assert!(matches!(
            JitsiTokens::from_config(&with_key("README.md")),
            Err(JitsiError::InvalidKey { .. })
        ));
        assert!(matches!(
            JitsiTokens::from_config(&with_key("test-only-jitsi-rsa-1024.pkcs1.pem")),
            Err(JitsiError::KeyRejected { ref reason, .. }) if reason == "TooSmall"
        ));
        assert!(matches!(
            JitsiTokens::from_config(&JitsiConfig::hs256(
                "https://meet.example.com",
                "consult",
                "short"
            )),
            Err(JitsiError::Config(JitsiConfigError::AppSecretTooShort))
        ));
    }

    #[test]
    fn meeting_urls_follow_the_iframe_api_encoding() {
        let tokens = tokens(&hs_config());
        let url = tokens.meeting_url("appt-1", "h.p.s", "Zoë \"Z\" & Co #1");
        assert_eq!(
            url,
            "https://meet.example.com/appt-1?jwt=h.p.s\
             #userInfo.displayName=%22Zo%C3%AB%20%5C%22Z%5C%22%20%26%20Co%20%231%22\
             &config.prejoinConfig.enabled=false"
        );
        let jaas = self::tokens(&jaas_config());
        assert_eq!(jaas.server_url(), "https://8x8.vc");
        assert!(jaas
            .meeting_url("vpaas-magic-cookie-abc123/appt-1", "h.p.s", "A")
            .starts_with("https://8x8.vc/vpaas-magic-cookie-abc123/appt-1?jwt=h.p.s#"));
    }

    #[test]
    fn encode_uri_component_matches_javascript() {
        assert_eq!(
            encode_uri_component("aZ09-_.!~*'() \"/?#&=+%é"),
            "aZ09-_.!~*'()%20%22%2F%3F%23%26%3D%2B%25%C3%A9"
        );
    }

    #[test]
    fn debug_output_hides_tokens_and_keys() {
        let tokens = tokens(&hs_config());
        let minted = tokens.mint(&grant(true)).expect("mint");
        let shown = format!("{minted:?} {tokens:?}");
        assert!(!shown.contains(&minted.token), "{shown}");
        assert!(!shown.contains(SECRET), "{shown}");
    }
}
