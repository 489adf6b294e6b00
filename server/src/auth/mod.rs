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

pub use session::AuthSession;

/// Pins jsonwebtoken to its pure-Rust backend. Its automatic choice gives up if another crate in
/// the same build also enables the aws-lc backend; an explicit install cannot be ambiguous.
pub fn install_crypto_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}
