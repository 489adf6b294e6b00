//! Access tokens: short-lived HS256 JWTs. Validation pins the algorithm, requires every claim
//! the server sets, and checks issuer and audience with no leeway.

use consult_types::api::{Role, User};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::signing_key::SigningKey;

pub const ISSUER: &str = "consult-server";
pub const AUDIENCE: &str = "consult-api";

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub role: Role,
    /// The refresh-token family (the session); revoking it ends this token too.
    pub sid: String,
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
}

#[derive(Debug, Error)]
pub enum AccessTokenError {
    #[error("cannot sign an access token: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// Why a presented token was refused; the API maps these to its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Expired,
    Invalid,
}

pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
}

impl AccessTokens {
    pub fn new(key: &SigningKey, ttl_secs: u64) -> AccessTokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 0;
        // Expiry is checked in `verify` against the server's clock, not the system's.
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        AccessTokens {
            encoding: EncodingKey::from_secret(key.as_bytes()),
            decoding: DecodingKey::from_secret(key.as_bytes()),
            validation,
            ttl_secs,
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Signs a token for `user` in session `family_id`, valid from `now` for the configured TTL.
    pub fn issue(
        &self,
        user: &User,
        family_id: &str,
        now: u64,
    ) -> Result<String, AccessTokenError> {
        let claims = Claims {
            sub: user.id.clone(),
            role: user.role,
            sid: family_id.to_owned(),
            iat: now,
            exp: now.saturating_add(self.ttl_secs),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AccessTokenError::Sign)
    }

    /// The claims of a genuine token that is current at `now` (unix seconds); anything else is
    /// refused.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, Rejection> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| Rejection::Invalid)?;
        // jsonwebtoken's rule with no leeway: expired once `exp` is in the past.
        if i64::try_from(claims.exp).is_ok_and(|exp| exp < now) {
            return Err(Rejection::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(key: &str) -> AccessTokens {
        crate::auth::install_crypto_provider();
        let key = crate::auth::signing_key::load_or_create(Some(key), std::path::Path::new("/"))
            .expect("configured key");
        AccessTokens::new(&key, 900)
    }

    fn user() -> User {
        User {
            id: "usr_1".into(),
            email: "a@b.c".into(),
            first_name: None,
            last_name: None,
            role: Role::Patient,
        }
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn now_i64() -> i64 {
        i64::try_from(now()).expect("fits")
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        let tokens = tokens(&"a".repeat(32));
        let token = tokens.issue(&user(), "fam_1", now()).expect("sign");
        let claims = tokens.verify(&token, now_i64()).expect("valid");
        assert_eq!(claims.sub, "usr_1");
        assert_eq!(claims.sid, "fam_1");
        assert_eq!(claims.role, Role::Patient);
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(
            (claims.iss.as_str(), claims.aud.as_str()),
            (ISSUER, AUDIENCE)
        );
    }

    #[test]
    fn tokens_expire_by_the_given_time() {
        let tokens = tokens(&"a".repeat(32));
        let issued = 1_800_000_000;
        let token = tokens.issue(&user(), "fam_1", issued).expect("sign");
        let at = |secs: u64| tokens.verify(&token, i64::try_from(secs).expect("fits"));
        // Valid through its `exp` second, expired after it: no leeway.
        assert!(at(issued + 900).is_ok());
        assert_eq!(at(issued + 901), Err(Rejection::Expired));
        // Expiry is decided by the time given, not the system clock.
        let old = tokens.issue(&user(), "fam_1", now() - 901).expect("sign");
        assert_eq!(tokens.verify(&old, now_i64()), Err(Rejection::Expired));
        assert!(tokens.verify(&old, now_i64() - 60).is_ok());
    }

    #[test]
    fn other_keys_and_garbage_are_invalid() {
        let ours = tokens(&"a".repeat(32));
        let theirs = tokens(&"b".repeat(32));
        let forged = theirs.issue(&user(), "fam_1", now()).expect("sign");
        assert_eq!(ours.verify(&forged, now_i64()), Err(Rejection::Invalid));
        assert_eq!(ours.verify("not.a.jwt", now_i64()), Err(Rejection::Invalid));
        assert_eq!(ours.verify("", now_i64()), Err(Rejection::Invalid));
    }

    #[test]
    fn wrong_audience_issuer_or_algorithm_is_invalid() {
        let key = "a".repeat(32);
        let ours = tokens(&key);
        let sign = |claims: serde_json::Value, alg: Algorithm| {
            jsonwebtoken::encode(
                &Header::new(alg),
                &claims,
                &EncodingKey::from_secret(key.as_bytes()),
            )
            .expect("sign")
        };
        let claims = |iss: &str, aud: &str| {
            serde_json::json!({
                "sub": "usr_1", "role": "admin", "sid": "fam_1",
                "iat": now(), "exp": now() + 60, "iss": iss, "aud": aud
            })
        };
        assert!(ours
            .verify(&sign(claims(ISSUER, AUDIENCE), Algorithm::HS256), now_i64())
            .is_ok());
        assert_eq!(
            ours.verify(
                &sign(claims(ISSUER, "other-api"), Algorithm::HS256),
                now_i64()
            ),
            Err(Rejection::Invalid)
        );
        assert_eq!(
            ours.verify(
                &sign(claims("someone-else", AUDIENCE), Algorithm::HS256),
                now_i64()
            ),
            Err(Rejection::Invalid)
        );
        assert_eq!(
            ours.verify(&sign(claims(ISSUER, AUDIENCE), Algorithm::HS512), now_i64()),
            Err(Rejection::Invalid)
        );
        // A string `exp` must not slip past validation (the jsonwebtoken < 10.3 type confusion).
        let mut stringly = claims(ISSUER, AUDIENCE);
        stringly["exp"] = serde_json::json!("9999999999");
        assert_eq!(
            ours.verify(&sign(stringly, Algorithm::HS256), now_i64()),
            Err(Rejection::Invalid)
        );
    }
}
