//! Authentication: passwords, access tokens (JWTs), rotating refresh tokens, and the
//! bearer-token extractor that guards authenticated routes.

pub mod access_token;
pub mod device;
pub mod password;
pub mod refresh_token;
pub mod routes;
pub mod service;
pub mod session;
pub mod signing_key;

use std::sync::Arc;

use axum::extract::FromRef;

use crate::app::AppState;
use crate::clock::Clock;
use crate::db::Db;
use crate::rate_limit::RateLimits;
use access_token::AccessTokens;
use password::Passwords;

pub use session::{AdminSession, AuthSession, KioskSession};

/// What the sign-in flows (`service`) need, and no more of the server: cheap to clone.
#[derive(Clone)]
pub struct AuthState {
    pub db: Db,
    pub passwords: Passwords,
    pub access_tokens: Arc<AccessTokens>,
    pub refresh_ttl_secs: i64,
    /// Absolute lifetime of a session, however often it rotates.
    pub max_session_secs: i64,
    /// Login attempt limits per IP and account (per instance, in memory).
    pub rate_limits: Arc<RateLimits>,
    /// Demo mode: enables `POST /auth/register-or-login`.
    pub demo: bool,
    pub clock: Clock,
}

impl FromRef<AppState> for AuthState {
    fn from_ref(state: &AppState) -> AuthState {
        state.auth.clone()
    }
}

/// What checking a bearer token needs: the key, the store (is its session live?) and the clock.
#[derive(Clone)]
pub struct Sessions {
    pub db: Db,
    pub access_tokens: Arc<AccessTokens>,
    pub clock: Clock,
    pub max_session_secs: i64,
}

impl Sessions {
    /// Sessions begun at or before this have outlived `max_session_secs`.
    pub fn born_by(&self) -> i64 {
        self.clock.now_unix().saturating_sub(self.max_session_secs)
    }
}

impl FromRef<AuthState> for Sessions {
    fn from_ref(auth: &AuthState) -> Sessions {
        Sessions {
            db: auth.db.clone(),
            access_tokens: auth.access_tokens.clone(),
            clock: auth.clock.clone(),
            max_session_secs: auth.max_session_secs,
        }
    }
}

impl FromRef<AppState> for Sessions {
    fn from_ref(state: &AppState) -> Sessions {
        Sessions::from_ref(&state.auth)
    }
}

/// Pins jsonwebtoken to its pure-Rust backend. Its automatic choice gives up if another crate in
/// the same build also enables the aws-lc backend; an explicit install cannot be ambiguous.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}
