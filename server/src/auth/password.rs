//! Password hashing with Argon2id (default parameters: 19 MiB, 2 passes, OWASP's baseline).
//!
//! Hashing is CPU- and memory-heavy, so it runs on a few threads of its own (one per core), and
//! each thread owns its 19 MiB of Argon2 memory for its whole life, taken at start and reused
//! by every hash: a burst of logins queues instead of starving the async workers, the server's
//! memory for hashing is fixed (cores × 19 MiB), and no hash waits for fresh pages. A block
//! allocated per hash was left behind in allocator arenas (RSS 6 times larger after 400 logins
//! than before them), or, returned to the system at once, cost a quarter of the login rate in
//! page faults.
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
            .run(move |memory| {
                let salt = SaltString::generate(&mut OsRng);
                memory
                    .hash(
                        Algorithm::default(),
                        Version::default(),
                        Params::default(),
                        password.as_bytes(),
                        salt.as_salt(),
                    )
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
            .run(move |memory| {
                let parsed = PasswordHash::new(&hash).map_err(PasswordError::StoredHash)?;
                Ok(memory.verify(password.as_bytes(), &parsed)? && real)
            })
            .await?
    }
}

/// One hashing thread's Argon2 memory, reused by each of its hashes. Argon2 writes every block
/// before it reads it, so what a previous hash left there does not matter.
struct Memory {
    blocks: Vec<Block>,
}

impl Memory {
    /// Memory for the default parameters, written once so that it is resident from the start.
    fn new() -> Memory {
        Memory {
            blocks: vec![Block::default(); Params::default().block_count()],
        }
    }

    /// What `argon2`'s `PasswordHasher::hash_password` makes, in this thread's memory (grown
    /// when a stored hash asks for more than the default).
    fn hash<'a>(
        &mut self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        password: &[u8],
        salt: Salt<'a>,
    ) -> argon2::password_hash::Result<PasswordHash<'a>> {
        let needed = params.block_count();
        if self.blocks.len() < needed {
            self.blocks.resize(needed, Block::default());
        }
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let output = Output::init_with(output_len, |out| {
            Ok(argon2.hash_password_into_with_memory(
                password,
                salt_bytes,
                out,
                &mut self.blocks,
            )?)
        })?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(output),
        })
    }

    /// Whether `password` gives `stored`'s hash with `stored`'s algorithm, version, parameters
    /// and salt (`Output` compares in constant time), as `PasswordVerifier` does.
    fn verify(
        &mut self,
        password: &[u8],
        stored: &PasswordHash<'_>,
    ) -> Result<bool, PasswordError> {
        let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
            return Err(PasswordError::StoredHash(
                argon2::password_hash::Error::PhcStringField,
            ));
        };
        let algorithm = Algorithm::try_from(stored.algorithm).map_err(PasswordError::StoredHash)?;
        let version = stored
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(|error| PasswordError::StoredHash(error.into()))?
            .unwrap_or_default();
        let mut params = Params::try_from(stored).map_err(PasswordError::StoredHash)?;
        if params.output_len() != Some(expected.len()) {
            params = Params::new(
                params.m_cost(),
                params.t_cost(),
                params.p_cost(),
                Some(expected.len()),
            )
            .map_err(|error| PasswordError::StoredHash(error.into()))?;
        }
        let computed = self
            .hash(algorithm, version, params, password, salt)
            .map_err(PasswordError::Hash)?;
        Ok(computed.hash == Some(expected))
    }
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// A fixed set of threads taking jobs from one queue, first come first served, each with its
/// own [`Memory`]. They end when the last [`Passwords`] clone is dropped (the queue closes).
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
                .spawn(move || {
                    let mut memory = Memory::new();
                    loop {
                        // One thread waits in `recv` while holding the lock, the others for it.
                        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(mpsc::RecvError) => return,
                        }
                    }
                })
                .map_err(PasswordError::Start)?;
        }
        Ok(Workers { jobs })
    }

    /// Runs `work` on one of the threads, with its memory, and awaits its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |memory: &mut Memory| {
                // The caller may have gone (a dropped request); the result is then not needed.
                let _ = reply.send(work(memory));
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
                .run(|_| std::thread::current().name().unwrap_or_default().to_owned())
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

    /// The reused memory must give what the `argon2` crate gives: hashes made here verify with
    /// its verifier, and its hashes (also with other parameters, as older rows may have) verify
    /// here, right and wrong passwords alike, and twice in a row on the same thread's memory.
    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crate_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let passwords = Passwords::new().await.expect("init");
        let ours = passwords.hash("s3cret pass".into()).await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert!(Argon2::default()
            .verify_password(b"s3cret pass", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"s3cret pasS", &parsed)
            .is_err());

        let small = Params::new(8 * 1024, 3, 1, Some(24)).expect("params");
        let big = Params::new(24 * 1024, 1, 1, None).expect("params");
        for params in [Params::default(), small, big] {
            let salt = SaltString::generate(&mut OsRng);
            let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(b"other pass", &salt)
                .expect("hash")
                .to_string();
            for _ in 0..2 {
                assert!(passwords
                    .verify("other pass".into(), Some(theirs.clone()))
                    .await
                    .expect("verify"));
                assert!(!passwords
                    .verify("other pasz".into(), Some(theirs.clone()))
                    .await
                    .expect("verify"));
            }
        }
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
