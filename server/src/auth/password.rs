//! Password hashing with Argon2id (default parameters: 19 MiB, 2 passes, OWASP's baseline).
//!
//! Hashing is CPU- and memory-heavy, so it runs on a few threads of its own (one per core): a
//! burst of logins queues instead of starving the async workers, and at most that many 19 MiB
//! blocks exist at once. On Tokio's blocking pool, whose threads come and go, the blocks were
//! left behind in many allocator arenas (RSS 6 times larger after 400 logins than before them);
//! the binary also has the allocator return them to the system when freed (`src/main.rs`).

use std::sync::{mpsc, Arc, Mutex, PoisonError};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use thiserror::Error;
use tokio::sync::oneshot;

#[derive(Debug, Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("a stored password hash is malformed: {0}")]
    StoredHash(argon2::password_hash::Error),
    #[error("password hashing threads could not start: {0}")]
    Start(std::io::Error),
    #[error("password hashing has stopped")]
    Stopped,
}

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    workers: Arc<Workers>,
    /// Verified against when the account is unknown, so both cases take the same time.
    dummy_hash: Arc<str>,
}

impl Passwords {
    /// Starts the hashing threads and prepares the dummy hash from a random password, so nothing
    /// about it is in the binary.
    pub async fn new() -> Result<Passwords, PasswordError> {
        let parallel = std::thread::available_parallelism().map_or(2, usize::from);
        let mut passwords = Passwords {
            workers: Arc::new(Workers::start(parallel)?),
            dummy_hash: Arc::from(""),
        };
        let throwaway = crate::ids::hex(&crate::ids::random_bytes::<16>());
        passwords.dummy_hash = Arc::from(passwords.hash(throwaway).await?);
        Ok(passwords)
    }

    /// A PHC string (`$argon2id$v=19$…`) with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.workers
            .run(move || {
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
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (self.dummy_hash.to_string(), false),
        };
        self.workers
            .run(move || {
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

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs from one queue, first come first served. They end when
/// the last [`Passwords`] clone is dropped (the queue closes).
struct Workers {
    jobs: mpsc::Sender<Job>,
}

impl Workers {
    fn start(count: usize) -> Result<Workers, PasswordError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..count.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || loop {
                    // One thread waits in `recv` while holding the lock, the others for the lock.
                    let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    match job {
                        Ok(job) => job(),
                        Err(mpsc::RecvError) => return,
                    }
                })
                .map_err(PasswordError::Start)?;
        }
        Ok(Workers { jobs })
    }

    /// Runs `work` on one of the threads and awaits its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                // The caller may have gone (a dropped request); the result is then not needed.
                let _ = reply.send(work());
            }))
            .map_err(|_| PasswordError::Stopped)?;
        answer.await.map_err(|_| PasswordError::Stopped)
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
    async fn hashes_run_on_their_own_threads_one_per_core_and_a_burst_queues() {
        let passwords = Passwords::new().await.expect("init");
        let names = futures_util::future::join_all((0..8).map(|_| {
            passwords
                .workers
                .run(|| std::thread::current().name().unwrap_or_default().to_owned())
        }))
        .await;
        let parallel = std::thread::available_parallelism().map_or(2, usize::from);
        let distinct: std::collections::BTreeSet<_> =
            names.into_iter().map(|name| name.expect("ran")).collect();
        assert!(distinct
            .iter()
            .all(|name| name.starts_with("password-hash-")));
        assert!(distinct.len() <= parallel, "{distinct:?}");
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
