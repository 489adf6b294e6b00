//! The administrator's exit from kiosk mode, the kiosk's half. A PIN typed on the kiosk's PIN
//! pad is checked by the server, which audits every attempt and locks the exit after too many
//! wrong ones. When the server cannot be reached, the [`ExitGate`] checks it against the hash
//! the kiosk fetched at its last sign-in, under the same rule (counted here, in memory). A right
//! PIN opens the maintenance screen; the self-test it offers is [`self_test`].

use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;

use consult_types::{AppError, CallPathKind, CallSupport, ExitPinPolicy, SelfTestCheck};

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

/// What the self-test found out before it looks at the devices: the sign-in (`Ok` with who and
/// where, or why not) and how calls run here.
pub struct Findings {
    pub sign_in: Result<String, AppError>,
    pub calls: Result<CallSupport, AppError>,
}

/// The self-test's checks, in the order the maintenance screen lists them.
pub fn self_test(findings: Findings) -> Vec<SelfTestCheck> {
    let check = |name: &str, passed: bool, detail: String| SelfTestCheck {
        name: name.to_owned(),
        passed,
        detail,
    };
    let mut checks = vec![match findings.sign_in {
        Ok(who) => check("Clinic server", true, who),
        Err(error) => check("Clinic server", false, error.to_string()),
    }];
    checks.push(match findings.calls {
        Ok(support) => match support.path {
            CallPathKind::Embedded => check("Video calls", true, "In the kiosk's window".into()),
            CallPathKind::Browser => check(
                "Video calls",
                true,
                format!(
                    "In a {} window",
                    support.browser.as_deref().unwrap_or("browser")
                ),
            ),
            CallPathKind::None => check(
                "Video calls",
                false,
                [support.reason, support.install_hint]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        },
        Err(error) => check("Video calls", false, error.to_string()),
    });
    let (camera, microphone) = devices();
    checks.push(check("Camera", camera.0, camera.1));
    checks.push(check("Microphone", microphone.0, microphone.1));
    checks
}

type Found = (bool, String);

/// Whether the system lists a camera and a sound card (Linux: `/dev/video*`,
/// `/proc/asound/cards`). Elsewhere the webview's own prompt is the check.
#[cfg(target_os = "linux")]
fn devices() -> (Found, Found) {
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
fn devices() -> (Found, Found) {
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
    fn the_self_test_names_what_failed_and_what_to_do() {
        let checks = self_test(Findings {
            sign_in: Err(AppError::ServerUnreachable {
                server: "https://clinic.example".into(),
            }),
            calls: Ok(CallSupport {
                path: CallPathKind::None,
                browser: None,
                forced: false,
                reason: Some("This webview has no WebRTC.".into()),
                install_hint: Some("Install Chromium.".into()),
            }),
        });
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["Clinic server", "Video calls", "Camera", "Microphone"]
        );
        assert!(!checks[0].passed && checks[0].detail.contains("https://clinic.example"));
        assert!(!checks[1].passed && checks[1].detail.contains("Install Chromium."));
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
