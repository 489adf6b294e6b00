//! The administrator's exit from kiosk mode, the kiosk's half. A PIN typed on the kiosk's PIN
//! pad is checked by the server, which audits every attempt and locks the exit after too many
//! wrong ones. When the server cannot be reached, the [`ExitGate`] checks it against the hash
//! the kiosk fetched at its last sign-in, under the same rule (counted here, in memory). A right
//! PIN opens the maintenance screen; the self-test it offers is [`crate::self_test`]'s.

use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;

use consult_types::{AppError, ExitPinPolicy};

/// How long the maintenance screen stays open without being closed: staff who walk away do not
/// leave the kiosk's exit open for the next patient.
pub const MAINTENANCE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The offline check's memory: the server's hash and rule, and the wrong PINs typed since.
#[derive(Debug, Default)]
pub struct ExitGate {
    policy: Option<ExitPinPolicy>,
    failures: u32,
    locked_until: Option<Instant>,
}

impl ExitGate {
    /// Keeps the hash and rule the server gave at sign-in.
    pub fn learn(&mut self, policy: ExitPinPolicy) {
        self.policy = Some(policy);
    }

    /// The hash to check a PIN against at `now`, or why no PIN can be checked.
    pub fn hash(&self, now: Instant) -> Result<String, AppError> {
        if let Some(until) = self.locked_until.filter(|until| *until > now) {
            return Err(AppError::RateLimited {
                retry_after_secs: (until - now).as_secs().max(1),
            });
        }
        self.policy
            .as_ref()
            .map(|policy| policy.pin_hash.clone())
            .ok_or(AppError::ExitPinUnknown)
    }

    /// Counts a checked PIN: a right one clears the count; the rule's last wrong one locks.
    pub fn record(&mut self, right: bool, now: Instant) -> Result<(), AppError> {
        if right {
            self.failures = 0;
            self.locked_until = None;
            return Ok(());
        }
        let Some(policy) = &self.policy else {
            return Err(AppError::ExitPinUnknown);
        };
        self.failures += 1;
        if self.failures >= policy.max_failures {
            self.failures = 0;
            let lockout = Duration::from_secs(policy.lockout_secs);
            self.locked_until = Some(now + lockout);
            return Err(AppError::RateLimited {
                retry_after_secs: lockout.as_secs().max(1),
            });
        }
        Err(AppError::WrongPin {
            tries_left: policy.max_failures - self.failures,
        })
    }
}

/// Whether `pin` matches the Argon2 PHC string `hash`. Slow on purpose: call it off the
/// runtime's threads. A hash that does not parse matches nothing.
pub fn matches(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Whether a device is listed, and what was found or what to do.
pub type Found = (bool, String);

/// Whether the system lists a camera and a sound card (Linux: `/dev/video*`,
/// `/proc/asound/cards`): what the self-test says when it cannot look through them
/// ([`crate::self_test::Media::NotRun`]). Blocking file reads.
#[cfg(target_os = "linux")]
pub fn devices() -> (Found, Found) {
    let cameras = std::fs::read_dir("/dev")
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| entry.file_name().to_string_lossy().starts_with("video"))
                .count()
        })
        .unwrap_or(0);
    let cards = std::fs::read_to_string("/proc/asound/cards").unwrap_or_default();
    (camera_found(cameras), microphone_found(&cards))
}

#[cfg(not(target_os = "linux"))]
pub fn devices() -> (Found, Found) {
    let unchecked = || (true, "Not checked on this system".to_owned());
    (unchecked(), unchecked())
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn camera_found(devices: usize) -> Found {
    match devices {
        0 => (
            false,
            "No camera found: check its cable, then run the self-test again".into(),
        ),
        n => (true, format!("{n} video device(s) found")),
    }
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn microphone_found(asound_cards: &str) -> Found {
    if asound_cards.trim().is_empty() || asound_cards.contains("no soundcards") {
        (
            false,
            "No sound card found: check the microphone's cable, then run the self-test again"
                .into(),
        )
    } else {
        (true, "A sound card is present".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hash: &str) -> ExitPinPolicy {
        ExitPinPolicy {
            pin_hash: hash.to_owned(),
            max_failures: 3,
            lockout_secs: 60,
        }
    }

    #[test]
    fn without_the_servers_hash_no_pin_can_be_checked() {
        let mut gate = ExitGate::default();
        let now = Instant::now();
        assert_eq!(gate.hash(now), Err(AppError::ExitPinUnknown));
        assert_eq!(gate.record(false, now), Err(AppError::ExitPinUnknown));
    }

    #[test]
    fn the_last_wrong_pin_locks_even_the_right_one_out_until_the_lockout_ends() {
        let mut gate = ExitGate::default();
        gate.learn(policy("$argon2id$hash"));
        let now = Instant::now();
        assert_eq!(
            gate.record(false, now),
            Err(AppError::WrongPin { tries_left: 2 })
        );
        assert_eq!(
            gate.record(false, now),
            Err(AppError::WrongPin { tries_left: 1 })
        );
        assert_eq!(
            gate.record(false, now),
            Err(AppError::RateLimited {
                retry_after_secs: 60
            })
        );
        let later = now + Duration::from_secs(20);
        assert_eq!(
            gate.hash(later),
            Err(AppError::RateLimited {
                retry_after_secs: 40
            })
        );
        let after = now + Duration::from_secs(61);
        assert_eq!(gate.hash(after).as_deref(), Ok("$argon2id$hash"));
        // A fresh count after the lockout.
        assert_eq!(
            gate.record(false, after),
            Err(AppError::WrongPin { tries_left: 2 })
        );
    }

    #[test]
    fn a_right_pin_clears_the_count() {
        let mut gate = ExitGate::default();
        gate.learn(policy("h"));
        let now = Instant::now();
        let _ = gate.record(false, now);
        let _ = gate.record(false, now);
        assert_eq!(gate.record(true, now), Ok(()));
        assert_eq!(
            gate.record(false, now),
            Err(AppError::WrongPin { tries_left: 2 })
        );
    }

    #[test]
    fn pins_match_only_their_own_argon2_hash() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"sixteen byte salt").expect("salt");
        let hash = Argon2::default()
            .hash_password(b"135790", &salt)
            .expect("hash")
            .to_string();
        assert!(matches("135790", &hash));
        assert!(!matches("135791", &hash));
        assert!(!matches("135790", "not a phc string"));
    }

    #[test]
    fn devices_are_found_or_the_fix_is_named() {
        assert!(!camera_found(0).0 && camera_found(0).1.contains("cable"));
        assert!(camera_found(2).0);
        assert!(!microphone_found("--- no soundcards ---\n").0);
        assert!(!microphone_found("").0);
        assert!(microphone_found(" 0 [PCH ]: HDA-Intel - HDA Intel PCH\n").0);
    }
}
