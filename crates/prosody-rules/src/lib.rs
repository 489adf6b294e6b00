//! A verifier for Jitsi meeting tokens, written from jitsi-meet's Prosody token code
//! (`resources/prosody-plugins/luajwtjitsi.lib.lua` `verify`, and `token/util.lib.lua`
//! `process_and_verify_token`, `verify_token`, `verify_room`), for a deployment configured as
//! Consult expects:
//!
//! - one algorithm (`HS256` with `app_secret`, or `RS256` with a key server that knows one `kid`);
//! - `asap_accepted_issuers` and `asap_accepted_audiences` set explicitly;
//! - domain verification on (`enable_domain_verification`, the default of current Jitsi), so
//!   `sub` must name the XMPP domain (`room`) or the tenant (`tenant/room`, as on JaaS, where
//!   the key also belongs to one tenant).
//!
//! **It is stricter than Jitsi, so it is not Prosody.** Checked on 2026-12-02 against
//! jitsi-meet's own token code under Prosody 0.12 (`shared/spec/jitsi.md` §3), Jitsi
//! **accepts** a token without `exp` (it checks `exp` and `nbf` only when present) and a `room`
//! or `sub` of `"*"` (the wildcards "any room", "any domain"). This verifier refuses all three
//! ([`Rejection::MissingExp`], [`Rejection::Wildcard`]) on purpose: Consult's own tokens must
//! always expire and name one room and one domain, and a test that passes here proves that of
//! them. A token this verifier refuses for those reasons may still get into a real deployment;
//! anything else it refuses, a deployment configured as above refuses too.
//!
//! Nor does it decide who moderates: it reports `context.user.moderator`, which Jitsi's token
//! code only attaches to the session. Whether that makes someone moderator, or whether someone
//! without it becomes one anyway, is the deployment's Prosody modules and Jicofo settings (see
//! the server README, "Who moderates").
//!
//! It shares no code with the server's minting: headers and claims are read as plain JSON,
//! HS256 is checked with `hmac` and RS256 with `rsa`, not jsonwebtoken.
//!
//! Use it from any test: build one with [`ProsodyVerifier::hs256`] or [`ProsodyVerifier::rs256`]
//! (plus [`ProsodyVerifier::tenant`] for JaaS) and call [`ProsodyVerifier::verify`] with the
//! token, the room name the client joins (as passed to `JitsiMeetExternalAPI`, `tenant/room` on
//! JaaS) and the time.
//!
//! Used by the clinic server's API tests and by the end-to-end Jitsi stand-in
//! (`tests/src/jitsi`), so both apply the same rules.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde_json::{Map, Value};

/// Why Prosody would refuse the token, or, for [`Rejection::MissingExp`] and
/// [`Rejection::Wildcard`], why this stricter verifier does although Jitsi would not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not three non-empty base64url segments, or a header or body that is not a JSON object
    /// ("Invalid token", "Invalid header", "Invalid body", "Invalid signature", "bad token format").
    Malformed(&'static str),
    /// Header `typ` is not exactly `"JWT"` ("Invalid typ").
    BadType,
    /// Header `alg` is not the one configured algorithm, `none` included ("Invalid or incorrect alg").
    AlgorithmMismatch {
        found: Option<String>,
    },
    /// RS256: no `kid` header, so no public key to fetch ("'kid' claim is missing").
    MissingKid,
    /// RS256: the key server has no key for this `kid` ("could not obtain public key").
    UnknownKid(String),
    /// "Invalid signature".
    BadSignature,
    /// `exp` or `nbf` present but not a number ("exp must be number").
    NotANumber(&'static str),
    /// No `exp` at all. Stricter than Jitsi, which accepts a token that never expires; Consult
    /// never issues one.
    MissingExp,
    /// `now >= exp` ("Not acceptable by exp"); zero leeway.
    Expired,
    /// `now < nbf` ("Not acceptable by nbf"); zero leeway.
    NotYetValid,
    MissingIssuer,
    /// "Invalid issuer ('iss' claim)".
    WrongIssuer,
    /// `asap_require_room_claim` (on by default).
    MissingRoom,
    MissingAudience,
    /// "Invalid audience ('aud' claim)".
    WrongAudience,
    /// `sub` is not the domain (bare room) or the joined tenant (`tenant/room`), or the tenant is
    /// not the one the key belongs to: MUC join denied.
    WrongSubject,
    /// `room`, lowercased, is not the room being joined: MUC join denied.
    WrongRoom,
    /// `room` or `sub` is the wildcard `*`. Stricter than Jitsi, which accepts it as "any room"
    /// or "any domain"; Consult never issues it.
    Wildcard(&'static str),
}

/// What a token that passed says, as Prosody's session would hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// `context.user.moderator` is `true` or `"true"` (what `mod_token_affiliation` checks). It
    /// grants nothing by itself: the deployment decides who moderates.
    pub moderator: bool,
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub room: String,
    pub subject: String,
    pub issuer: String,
    pub audience: String,
    pub exp: f64,
    pub nbf: Option<f64>,
    pub kid: Option<String>,
    pub features: Option<Value>,
    pub header: Value,
    pub claims: Value,
}

enum Key {
    Hs256(Vec<u8>),
    Rs256 { kid: String, key: RsaPublicKey },
}

/// One deployment's token rules; see the crate documentation.
pub struct ProsodyVerifier {
    key: Key,
    accepted_issuers: Vec<String>,
    accepted_audiences: Vec<String>,
    /// The XMPP domain (`sub` for bare rooms); lowercase.
    domain: String,
    /// The only tenant the key may join (`sub` for `tenant/room`); lowercase.
    tenant: Option<String>,
}

impl ProsodyVerifier {
    /// `app_secret` mode: HS256 only.
    pub fn hs256(app_secret: &[u8], issuer: &str, audience: &str, domain: &str) -> Self {
        Self::new(Key::Hs256(app_secret.to_vec()), issuer, audience, domain)
    }

    /// Key-server mode: RS256 only, and the server knows one key, `kid`. `public_pem` is SPKI
    /// (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
    ///
    /// # Panics
    /// On a key that is not an RSA public key in PEM (test setup); see [`Self::try_rs256`].
    pub fn rs256(public_pem: &str, kid: &str, issuer: &str, audience: &str, domain: &str) -> Self {
        match Self::try_rs256(public_pem, kid, issuer, audience, domain) {
            Ok(verifier) => verifier,
            Err(error) => panic!("an RSA public key in PEM: {error}"),
        }
    }

    /// [`Self::rs256`] that reports a bad key instead of panicking.
    pub fn try_rs256(
        public_pem: &str,
        kid: &str,
        issuer: &str,
        audience: &str,
        domain: &str,
    ) -> Result<Self, String> {
        let key = RsaPublicKey::from_public_key_pem(public_pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(public_pem))
            .map_err(|error| error.to_string())?;
        let key = Key::Rs256 {
            kid: kid.to_owned(),
            key,
        };
        Ok(Self::new(key, issuer, audience, domain))
    }

    fn new(key: Key, issuer: &str, audience: &str, domain: &str) -> Self {
        ProsodyVerifier {
            key,
            accepted_issuers: vec![issuer.to_owned()],
            accepted_audiences: vec![audience.to_owned()],
            domain: domain.to_lowercase(),
            tenant: None,
        }
    }

    /// Tenant rooms (`tenant/room`) of this one tenant only, as on JaaS, where `sub` is the
    /// tenant and the key belongs to it.
    pub fn tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_lowercase());
        self
    }

    /// Another entry in `asap_accepted_issuers`.
    pub fn accept_issuer(mut self, issuer: &str) -> Self {
        self.accepted_issuers.push(issuer.to_owned());
        self
    }

    /// Another entry in `asap_accepted_audiences`.
    pub fn accept_audience(mut self, audience: &str) -> Self {
        self.accepted_audiences.push(audience.to_owned());
        self
    }

    /// The one algorithm this deployment accepts.
    pub fn algorithm(&self) -> &'static str {
        match self.key {
            Key::Hs256(_) => "HS256",
            Key::Rs256 { .. } => "RS256",
        }
    }

    /// Authenticates `token` at unix time `now` and joins `room` (`name` or `tenant/name`, as the
    /// client passes it to `JitsiMeetExternalAPI`), in Prosody's order of checks.
    pub fn verify(&self, token: &str, room: &str, now: i64) -> Result<VerifiedToken, Rejection> {
        // process_and_verify_token: with a key server, the kid picks the public key first.
        if let Key::Rs256 { kid, .. } = &self.key {
            let first = token.split('.').next().unwrap_or_default();
            let header = decode_object(first).ok_or(Rejection::Malformed("bad token format"))?;
            match header.get("kid") {
                None | Some(Value::Null) => return Err(Rejection::MissingKid),
                Some(Value::String(found)) if found == kid => {}
                Some(other) => return Err(Rejection::UnknownKid(other.to_string())),
            }
        }

        // luajwtjitsi: parse_token. Its split skips empty segments, so "h.p." has two.
        let segments: Vec<&str> = token.split('.').filter(|s| !s.is_empty()).collect();
        let [header_b64, body_b64, signature_b64] = segments[..] else {
            return Err(Rejection::Malformed("Invalid token"));
        };
        let header = decode_object(header_b64).ok_or(Rejection::Malformed("Invalid header"))?;
        let claims = decode_object(body_b64).ok_or(Rejection::Malformed("Invalid body"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| Rejection::Malformed("Invalid signature"))?;

        // Header.
        if header.get("typ") != Some(&Value::from("JWT")) {
            return Err(Rejection::BadType);
        }
        match header.get("alg") {
            Some(Value::String(alg)) if alg == self.algorithm() => {}
            other => {
                return Err(Rejection::AlgorithmMismatch {
                    found: other
                        .map(|alg| alg.as_str().map_or_else(|| alg.to_string(), str::to_owned)),
                })
            }
        }

        // Signature over the first two segments as they were sent.
        let signing_input = format!("{header_b64}.{body_b64}");
        if !self.signature_matches(signing_input.as_bytes(), &signature) {
            return Err(Rejection::BadSignature);
        }

        // Body: exp and nbf, zero leeway.
        let number = |claim: &'static str| match claims.get(claim) {
            None => Ok(None),
            Some(value) => value.as_f64().map(Some).ok_or(Rejection::NotANumber(claim)),
        };
        let exp = number("exp")?;
        let nbf = number("nbf")?;
        let exp = exp.ok_or(Rejection::MissingExp)?;
        let now = now as f64;
        if now >= exp {
            return Err(Rejection::Expired);
        }
        if nbf.is_some_and(|nbf| now < nbf) {
            return Err(Rejection::NotYetValid);
        }

        // util.verify_token: iss, room, aud.
        let issuer = match claims.get("iss") {
            None | Some(Value::Null) => return Err(Rejection::MissingIssuer),
            Some(Value::String(iss)) if self.accepted_issuers.contains(iss) => iss.clone(),
            Some(_) => return Err(Rejection::WrongIssuer),
        };
        let room_claim = match claims.get("room") {
            None | Some(Value::Null) => return Err(Rejection::MissingRoom),
            Some(room) => room,
        };
        let audience = match claims.get("aud") {
            None | Some(Value::Null) => return Err(Rejection::MissingAudience),
            Some(Value::String(aud)) if self.accepted_audiences.contains(aud) => aud.clone(),
            Some(_) => return Err(Rejection::WrongAudience),
        };

        // util.verify_room with domain verification: the room address must be
        // [lower(sub)]lower(room)@conference.<domain>, or lower(room)@conference.<lower(sub)>.
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if sub == "*" => return Err(Rejection::Wildcard("sub")),
            Some(Value::String(sub)) => sub.clone(),
            _ => return Err(Rejection::WrongSubject),
        };
        let (expected_subject, joined_room) = match room.split_once('/') {
            Some((tenant, name)) => {
                let tenant = tenant.to_lowercase();
                if self.tenant.as_ref().is_some_and(|own| *own != tenant) {
                    return Err(Rejection::WrongSubject);
                }
                (tenant, name)
            }
            None => (self.domain.clone(), room),
        };
        if subject.to_lowercase() != expected_subject {
            return Err(Rejection::WrongSubject);
        }
        let room_claim = match room_claim {
            Value::String(r) if r == "*" => return Err(Rejection::Wildcard("room")),
            Value::String(r) => r.clone(),
            _ => return Err(Rejection::WrongRoom),
        };
        // Jitsi lowercases the room it joins; Prosody lowercases the claim.
        if room_claim.to_lowercase() != joined_room.to_lowercase() {
            return Err(Rejection::WrongRoom);
        }

        let context = claims.get("context");
        let user = context.and_then(|c| c.get("user"));
        let text = |field: &str| {
            user.and_then(|u| u.get(field))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let moderator = user.and_then(|u| u.get("moderator"));
        let moderator =
            moderator == Some(&Value::Bool(true)) || moderator == Some(&Value::from("true"));
        Ok(VerifiedToken {
            moderator,
            user_id: text("id"),
            name: text("name"),
            email: text("email"),
            room: room_claim,
            subject,
            issuer,
            audience,
            exp,
            nbf,
            kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
            features: context.and_then(|c| c.get("features")).cloned(),
            header: Value::Object(header),
            claims: Value::Object(claims),
        })
    }

    fn signature_matches(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        match &self.key {
            Key::Hs256(secret) => {
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                    return false;
                };
                mac.update(signing_input);
                // Constant-time, unlike luajwtjitsi's string comparison; same verdict.
                mac.verify_slice(signature).is_ok()
            }
            Key::Rs256 { key, .. } => {
                let Ok(signature) = Signature::try_from(signature) else {
                    return false;
                };
                VerifyingKey::<Sha256>::new(key.clone())
                    .verify(signing_input, &signature)
                    .is_ok()
            }
        }
    }
}

fn decode_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"prosody-rules-unit-test-secret-of-32-bytes";
    const NOW: i64 = 1_800_000_000;

    fn verifier() -> ProsodyVerifier {
        ProsodyVerifier::hs256(SECRET, "consult", "jitsi", "meet.example.com")
    }

    fn sign(claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).expect("any key length");
        mac.update(format!("{header}.{body}").as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{header}.{body}.{signature}")
    }

    fn claims() -> Value {
        json!({
            "iss": "consult",
            "aud": "jitsi",
            "sub": "meet.example.com",
            "room": "visit-1",
            "exp": NOW + 60,
            "context": {"user": {"id": "u1", "moderator": false}},
        })
    }

    #[test]
    fn a_token_of_consults_shape_passes() {
        let verified = verifier()
            .verify(&sign(&claims()), "visit-1", NOW)
            .expect("valid");
        assert!(!verified.moderator);
        assert_eq!(verified.subject, "meet.example.com");
    }

    /// Jitsi (Prosody 0.12 with jitsi-meet's token code, checked 2026-12-02) accepts each of
    /// these; this verifier refuses them on purpose, since Consult's tokens must never be such.
    #[test]
    fn stricter_than_jitsi_where_it_protects_consults_tokens() {
        let mut no_exp = claims();
        no_exp.as_object_mut().expect("object").remove("exp");
        let mut any_room = claims();
        any_room["room"] = json!("*");
        let mut any_domain = claims();
        any_domain["sub"] = json!("*");
        for (claims, expected) in [
            (no_exp, Rejection::MissingExp),
            (any_room, Rejection::Wildcard("room")),
            (any_domain, Rejection::Wildcard("sub")),
        ] {
            assert_eq!(
                verifier().verify(&sign(&claims), "visit-1", NOW),
                Err(expected),
                "{claims}"
            );
        }
    }
}
