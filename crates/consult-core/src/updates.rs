//! In-app updates: when to look for a new version, when to ask the user, and what "Later" means,
//! without I/O. The desktop's driver (`desktop/updates.rs`) carries these decisions out through
//! the [`Updater`](crate::ports::Updater) port, which the shell implements with Tauri's updater
//! plugin (signed artifacts, minisign; the signature is checked before anything is offered).
//!
//! The rules, each with its test below:
//! - Updates are on only with an endpoint, a public key and `[updates] enabled` (the default);
//!   otherwise the app says once why they are off ([`plan`]).
//! - The first check comes [`FIRST_CHECK_DELAY`] after the first screen was painted, never
//!   before it; the next ones every `check_interval_hours`, counted from the last check's start.
//! - A check that finds nothing, or fails, shows nothing (it is logged and reported in the
//!   diagnostics as the last check).
//! - A kiosk never asks (kiosks update through their package manager or fleet tool): a newer
//!   version is logged, not downloaded.
//! - A downloaded, verified version is offered with a banner, never while a call runs: the
//!   banner waits for the call's end, and goes away if a call starts.
//! - "Later" hides the banner until the next check; a check that finds the same or a newer
//!   version asks again.
//! - "Restart to update" is refused during a call and while an install runs; an install that
//!   fails says so in the banner, and the running app keeps running.

use std::time::Duration;

use consult_types::UpdateBanner;

use crate::config::UpdatesConfig;

/// How long after the first painted screen the first check waits: the app's start-up (sign-in
/// restore, the desk's first load) goes first.
pub const FIRST_CHECK_DELAY: Duration = Duration::from_secs(10);

/// When and how updates run, from the configuration and the key the app was built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub interval: Duration,
    pub first_delay: Duration,
    /// A kiosk logs new versions and never asks.
    pub kiosk: bool,
}

/// Why in-app updates are off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Off {
    #[error("in-app updates are turned off by the configuration ([updates] enabled = false): this installation updates through its package manager")]
    Disabled,
    #[error("this build has no update key (tauri.conf.json plugins.updater.pubkey is empty) and the machine-wide file sets no [updates] public_key: in-app updates are off")]
    NoKey,
    #[error("no update endpoint is configured ([updates] endpoint): in-app updates are off")]
    NoEndpoint,
    #[error("this copy of the app was not installed from a package the updater can replace ({0}): in-app updates are off; update it the way it was installed")]
    NotInstalled(String),
}

/// Updates are on only when the administrator has not turned them off, an endpoint is set and a
/// public key is known (`built_in_key`: the app's own; the machine-wide file may set another).
pub fn plan(config: &UpdatesConfig, built_in_key: &str, kiosk: bool) -> Result<Plan, Off> {
    if !config.enabled {
        return Err(Off::Disabled);
    }
    let has_key = config
        .public_key
        .as_deref()
        .is_some_and(|key| !key.trim().is_empty())
        || !built_in_key.trim().is_empty();
    if !has_key {
        return Err(Off::NoKey);
    }
    if config.endpoint.is_none() {
        return Err(Off::NoEndpoint);
    }
    Ok(Plan {
        interval: Duration::from_secs(config.check_interval_hours.saturating_mul(3600)),
        first_delay: FIRST_CHECK_DELAY,
        kiosk,
    })
}

/// What one check found. Errors are the port's words, already free of secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The endpoint offers nothing newer than this version.
    UpToDate,
    /// A newer version was downloaded and its signature verified: it can be installed.
    Ready { version: String },
    /// A newer version is offered; a kiosk does not download it.
    OfferedToKiosk { version: String },
    /// The check, the download or the signature failed.
    Failed { error: String },
}

/// What the driver should do after a check found a newer version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOffer {
    Download,
    /// Log it only: kiosks update through their package manager.
    LogOnly,
}

/// Why "Restart to update" cannot run now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestartRefused {
    #[error("No update is ready to install.")]
    NothingReady,
    #[error("Consult cannot restart during a call. It will ask again when the call has ended.")]
    InCall,
    #[error("The update is being installed.")]
    Installing,
    #[error("A kiosk updates through its package manager, not from the app.")]
    Kiosk,
}

/// The updates' whole state, changed only by what happened (the driver's clock is a
/// [`Duration`] since the app started, so tests need no time).
#[derive(Debug, Clone)]
pub struct Updates {
    plan: Plan,
    painted_at: Option<Duration>,
    /// When the last check started.
    checked_at: Option<Duration>,
    checking: bool,
    last: Option<Checked>,
    ready: Option<String>,
    /// "Later" was clicked since the last check.
    later: bool,
    in_call: bool,
    installing: bool,
    install_failed: Option<String>,
}

impl Updates {
    pub fn new(plan: Plan) -> Updates {
        Updates {
            plan,
            painted_at: None,
            checked_at: None,
            checking: false,
            last: None,
            ready: None,
            later: false,
            in_call: false,
            installing: false,
            install_failed: None,
        }
    }

    /// The UI painted its first screen at `now` (later paints change nothing).
    pub fn painted(&mut self, now: Duration) {
        self.painted_at.get_or_insert(now);
    }

    /// A call started (`true`) or ended.
    pub fn call_running(&mut self, running: bool) {
        self.in_call = running;
    }

    /// How long until the next check is due: `None` before the first screen was painted or
    /// while a check runs, [`Duration::ZERO`] when it is due now.
    pub fn next_check(&self, now: Duration) -> Option<Duration> {
        if self.checking || self.installing {
            return None;
        }
        let due = match self.checked_at {
            Some(started) => started + self.plan.interval,
            None => self.painted_at? + self.plan.first_delay,
        };
        Some(due.saturating_sub(now))
    }

    /// A check starts at `now`.
    pub fn check_started(&mut self, now: Duration) {
        self.checking = true;
        self.checked_at = Some(now);
    }

    /// A check found a newer version: download it, or only log it on a kiosk.
    pub fn on_offer(&self) -> OnOffer {
        if self.plan.kiosk {
            OnOffer::LogOnly
        } else {
            OnOffer::Download
        }
    }

    /// The check that started last is over.
    pub fn checked(&mut self, outcome: Checked) {
        self.checking = false;
        match &outcome {
            Checked::Ready { version } => {
                self.ready = Some(version.clone());
                self.later = false;
                self.install_failed = None;
            }
            // An update already verified stays ready: a failed or empty check later does not
            // take back what can be installed, and "Later" still holds until a check finds one.
            Checked::UpToDate | Checked::OfferedToKiosk { .. } | Checked::Failed { .. } => {}
        }
        self.last = Some(outcome);
    }

    /// "Later": the banner goes until the next check that finds an update.
    pub fn later(&mut self) {
        self.later = true;
    }

    /// "Restart to update" may run now; the version it installs.
    pub fn may_restart(&self) -> Result<&str, RestartRefused> {
        if self.plan.kiosk {
            return Err(RestartRefused::Kiosk);
        }
        let Some(version) = self.ready.as_deref() else {
            return Err(RestartRefused::NothingReady);
        };
        if self.installing {
            return Err(RestartRefused::Installing);
        }
        if self.in_call {
            return Err(RestartRefused::InCall);
        }
        Ok(version)
    }

    /// The install starts.
    pub fn install_started(&mut self) {
        self.installing = true;
        self.install_failed = None;
    }

    /// The install failed (`error` in the port's words); the app keeps running.
    pub fn install_failed(&mut self, error: String) {
        self.installing = false;
        self.install_failed = Some(error);
    }

    /// What the UI shows.
    pub fn banner(&self) -> UpdateBanner {
        let Some(version) = self.ready.clone() else {
            return UpdateBanner::Hidden;
        };
        if self.plan.kiosk || self.in_call {
            return UpdateBanner::Hidden;
        }
        if self.installing {
            return UpdateBanner::Installing { version };
        }
        if let Some(error) = &self.install_failed {
            return UpdateBanner::InstallFailed {
                message: format!(
                    "Consult {version} could not be installed: {error}. Consult keeps running as it is. Try again later, or ask your clinic's IT to install Consult {version} for you."
                ),
                version,
            };
        }
        if self.later {
            return UpdateBanner::Hidden;
        }
        UpdateBanner::Ready { version }
    }

    /// The diagnostics report's line: "last update check: …".
    pub fn last_check(&self) -> String {
        match (&self.last, self.checking) {
            (_, true) => "running now".to_owned(),
            (None, false) => "none yet".to_owned(),
            (Some(Checked::UpToDate), _) => "up to date".to_owned(),
            (Some(Checked::Ready { version }), _) => {
                format!("Consult {version} downloaded and its signature verified; ready to install")
            }
            (Some(Checked::OfferedToKiosk { version }), _) => format!(
                "Consult {version} is available; a kiosk updates through its package manager"
            ),
            (Some(Checked::Failed { error }), _) => format!("failed: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn secs(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn config() -> UpdatesConfig {
        UpdatesConfig {
            endpoint: Some(
                "https://updates.clinic.example/latest.json"
                    .parse()
                    .unwrap(),
            ),
            ..UpdatesConfig::default()
        }
    }

    fn updates() -> Updates {
        Updates::new(plan(&config(), "built-in key", false).unwrap())
    }

    fn ready(version: &str) -> Checked {
        Checked::Ready {
            version: version.to_owned(),
        }
    }

    fn shown(version: &str) -> UpdateBanner {
        UpdateBanner::Ready {
            version: version.to_owned(),
        }
    }

    #[test]
    fn updates_are_on_with_an_endpoint_a_key_and_nobody_turning_them_off() {
        let plan = plan(&config(), "built-in key", false).unwrap();
        assert_eq!(plan.interval, 6 * HOUR);
        assert_eq!(plan.first_delay, FIRST_CHECK_DELAY);
        assert!(!plan.kiosk);
    }

    #[test]
    fn the_administrator_turns_updates_off() {
        let off = UpdatesConfig {
            enabled: false,
            ..config()
        };
        assert_eq!(plan(&off, "built-in key", false), Err(Off::Disabled));
    }

    #[test]
    fn a_build_without_a_key_has_no_updates_unless_the_machine_file_gives_one() {
        assert_eq!(plan(&config(), "", false), Err(Off::NoKey));
        assert_eq!(plan(&config(), "  \n", false), Err(Off::NoKey));
        let clinic_key = UpdatesConfig {
            public_key: Some("clinic key".into()),
            ..config()
        };
        assert!(plan(&clinic_key, "", false).is_ok());
    }

    #[test]
    fn no_endpoint_means_no_updates() {
        let none = UpdatesConfig {
            endpoint: None,
            ..config()
        };
        assert_eq!(plan(&none, "built-in key", false), Err(Off::NoEndpoint));
    }

    #[test]
    fn nothing_is_checked_before_the_first_screen_is_painted() {
        let mut updates = updates();
        assert_eq!(updates.next_check(secs(0)), None);
        assert_eq!(
            updates.next_check(secs(3600)),
            None,
            "however long it takes"
        );
        updates.painted(secs(2));
        assert_eq!(updates.next_check(secs(2)), Some(FIRST_CHECK_DELAY));
        assert_eq!(
            updates.next_check(secs(2) + FIRST_CHECK_DELAY),
            Some(Duration::ZERO)
        );
        // A reloaded page paints again: start-up is over, the first check does not move.
        updates.painted(secs(7));
        assert_eq!(updates.next_check(secs(7)), Some(secs(5)));
    }

    #[test]
    fn the_next_check_comes_an_interval_after_the_last_one_started() {
        let mut updates = updates();
        updates.painted(secs(0));
        updates.check_started(secs(10));
        assert_eq!(updates.next_check(secs(11)), None, "one check at a time");
        updates.checked(Checked::UpToDate);
        assert_eq!(
            updates.next_check(secs(70)),
            Some(6 * HOUR + secs(10) - secs(70))
        );
        assert_eq!(
            updates.next_check(6 * HOUR + secs(10)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn a_check_that_finds_nothing_or_fails_shows_nothing() {
        let mut updates = updates();
        updates.painted(secs(0));
        updates.check_started(secs(10));
        updates.checked(Checked::UpToDate);
        assert_eq!(updates.banner(), UpdateBanner::Hidden);
        assert_eq!(updates.last_check(), "up to date");
        updates.check_started(secs(20));
        updates.checked(Checked::Failed {
            error: "the signature does not match".into(),
        });
        assert_eq!(updates.banner(), UpdateBanner::Hidden);
        assert_eq!(updates.last_check(), "failed: the signature does not match");
    }

    #[test]
    fn a_verified_update_is_offered_when_no_call_runs() {
        let mut updates = updates();
        updates.check_started(secs(10));
        updates.checked(ready("0.2.0"));
        assert_eq!(updates.banner(), shown("0.2.0"));
        assert_eq!(updates.may_restart(), Ok("0.2.0"));
    }

    #[test]
    fn an_update_found_during_a_call_waits_for_its_end() {
        let mut updates = updates();
        updates.call_running(true);
        updates.checked(ready("0.2.0"));
        assert_eq!(updates.banner(), UpdateBanner::Hidden);
        assert_eq!(updates.may_restart(), Err(RestartRefused::InCall));
        updates.call_running(false);
        assert_eq!(updates.banner(), shown("0.2.0"));
    }

    #[test]
    fn a_call_that_starts_takes_the_banner_away_and_restart_is_refused() {
        let mut updates = updates();
        updates.checked(ready("0.2.0"));
        assert_eq!(updates.banner(), shown("0.2.0"));
        updates.call_running(true);
        assert_eq!(updates.banner(), UpdateBanner::Hidden);
        assert_eq!(updates.may_restart(), Err(RestartRefused::InCall));
    }

    #[test]
    fn a_kiosk_never_asks_and_does_not_download() {
        let mut kiosk = Updates::new(plan(&config(), "built-in key", true).unwrap());
        assert_eq!(kiosk.on_offer(), OnOffer::LogOnly);
        kiosk.checked(Checked::OfferedToKiosk {
            version: "0.2.0".into(),
        });
        assert_eq!(kiosk.banner(), UpdateBanner::Hidden);
        assert!(kiosk.last_check().contains("package manager"));
        // Even if something were ready, a kiosk is never asked nor restarted.
        kiosk.checked(ready("0.2.0"));
        assert_eq!(kiosk.banner(), UpdateBanner::Hidden);
        assert_eq!(kiosk.may_restart(), Err(RestartRefused::Kiosk));
        assert_eq!(updates().on_offer(), OnOffer::Download);
    }

    #[test]
    fn later_hides_the_banner_until_the_next_check_finds_an_update() {
        let mut updates = updates();
        updates.checked(ready("0.2.0"));
        updates.later();
        assert_eq!(updates.banner(), UpdateBanner::Hidden);
        // A check that finds nothing new keeps it hidden...
        updates.check_started(6 * HOUR);
        updates.checked(Checked::Failed {
            error: "unreachable".into(),
        });
        assert_eq!(updates.banner(), UpdateBanner::Hidden);
        // ...the next one that finds an update asks again.
        updates.check_started(12 * HOUR);
        updates.checked(ready("0.2.1"));
        assert_eq!(updates.banner(), shown("0.2.1"));
    }

    #[test]
    fn a_failed_check_does_not_take_back_a_verified_update() {
        let mut updates = updates();
        updates.checked(ready("0.2.0"));
        updates.checked(Checked::Failed {
            error: "unreachable".into(),
        });
        assert_eq!(updates.banner(), shown("0.2.0"));
        assert_eq!(updates.may_restart(), Ok("0.2.0"));
    }

    #[test]
    fn restart_needs_a_ready_update_and_runs_once() {
        let mut updates = updates();
        assert_eq!(updates.may_restart(), Err(RestartRefused::NothingReady));
        updates.checked(ready("0.2.0"));
        updates.install_started();
        assert_eq!(
            updates.banner(),
            UpdateBanner::Installing {
                version: "0.2.0".into()
            }
        );
        assert_eq!(updates.may_restart(), Err(RestartRefused::Installing));
        assert_eq!(
            updates.next_check(100 * HOUR),
            None,
            "no check while installing"
        );
    }

    #[test]
    fn a_failed_install_says_what_to_do_and_the_app_keeps_running() {
        let mut updates = updates();
        updates.checked(ready("0.2.0"));
        updates.install_started();
        updates.install_failed("dpkg refused the package".into());
        match updates.banner() {
            UpdateBanner::InstallFailed { version, message } => {
                assert_eq!(version, "0.2.0");
                assert!(message.contains("dpkg refused the package"), "{message}");
                assert!(message.contains("keeps running"), "{message}");
                assert!(message.contains("IT"), "{message}");
            }
            other => panic!("expected the failure, got {other:?}"),
        }
        // It may be tried again.
        assert_eq!(updates.may_restart(), Ok("0.2.0"));
        // A new check that finds it again starts over with the plain question.
        updates.checked(ready("0.2.0"));
        assert_eq!(updates.banner(), shown("0.2.0"));
    }
}
