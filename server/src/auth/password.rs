//! Password hashing with Argon2id (default parameters: 19 MiB, 2 passes, OWASP's baseline).
//!
//! Hashing is CPU- and memory-heavy, so it runs on the blocking pool behind a semaphore: a burst
//! of logins queues instead of starving the async workers or exhausting memory.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use thiserror::Error;
use tokio::sync::Semaphore;

#[derive(Debug, Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("a stored password hash is malformed: {0}")]
    StoredHash(argon2::password_hash::Error),
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("password hashing is shutting down")]
    Closed(#[from] tokio::sync::AcquireError),
}

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when the account is unknown, so both cases take the same time.
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// Prepares the dummy hash from a random password, so nothing about it is in the binary.
    pub async fn new() -> Result<Passwords, PasswordError> {
        let parallel = std::thread::available_parallelism().map_or(2, usize::from);
        let mut passwords = Passwords {
            permits: Arc::new(Semaphore::new(parallel)),
            dummy_hash: Arc::from(""),
        };
        let throwaway = crate::ids::hex(&crate::ids::random_bytes::<16>());
        passwords.dummy_hash = Arc::from(passwords.hash(throwaway).await?);
        Ok(passwords)
    }

    /// A PHC string (`$argon2id$v=19$…`) with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(PasswordError::Hash)
        })
        .await?
    }

    /// True when `password` matches `stored`. With no stored hash (unknown account, or one
    /// without a password) it still does the full work against the dummy hash, then says no.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<bool, PasswordError> {
        let _permit = self.permits.acquire().await?;
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (self.dummy_hash.to_string(), false),
        };
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash).map_err(PasswordError::StoredHash)?;
            match Argon2::default().verify_password(password.as_bytes(), &parsed) {
                Ok(()) => Ok(real),
                Err(argon2::password_hash::Error::Password) => Ok(false),
                Err(other) => Err(PasswordError::StoredHash(other)),
            }
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let passwords = Passwords::new().await.expect("init");
        let first = passwords.hash("correct horse".into()).await.expect("hash");
        let second = passwords.hash("correct horse".into()).await.expect("hash");
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second, "each hash has its own salt");
        assert!(!first.contains("correct horse"));
        assert!(passwords
            .verify("correct horse".into(), Some(first.clone()))
            .await
            .expect("verify"));
        assert!(!passwords
            .verify("wrong horse".into(), Some(first))
            .await
            .expect("verify"));
    }

    #[tokio::test]
    async fn no_stored_hash_never_verifies() {
        let passwords = Passwords::new().await.expect("init");
        assert!(!passwords.verify("".into(), None).await.expect("verify"));
        assert!(!passwords
            .verify("anything".into(), None)
            .await
            .expect("verify"));
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_an_error_not_a_match() {
        let passwords = Passwords::new().await.expect("init");
        assert!(passwords
            .verify("x".into(), Some("not a phc string".into()))
            .await
            .is_err());
    }
}
