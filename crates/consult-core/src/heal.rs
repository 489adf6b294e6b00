//! A kiosk's call healing itself, without I/O: what a dying call window means, when to join
//! again after it, when the room is told the connection is lost, and what the consent
//! countdown turns on after a rejoin. The kiosk's visits driver (`desktop::kiosk_life`) feeds
//! it what happened and the time; [`crate::visits::decide`] joins at the moment it gives.
//!
//! Rules:
//! - A kiosk's call window that ends by itself (killed, crashed, closed) while its conference
//!   is not over is a lost call, joined again at once while the visit is live; a window ended
//!   by the app (hang-up, `readyToClose`, leave) or after the conference ended is an end, as is
//!   any other user's window closing (their hang-up).
//! - Deaths in a row back off: the first rejoin is at once, then after 5 s, 10 s, 20 s, 40 s,
//!   60 s at most; deaths older than 10 minutes are forgotten.
//! - The offline screen is shown only while a visit is live and no call runs (none, or one
//!   that failed), and then only when something says the connection is gone: the call was
//!   lost or could not be joined, or the clinic server's stream is offline. A running call is
//!   never torn down or covered because the clinic server is away: the call goes to Jitsi, not
//!   to the clinic server, and may well go on.
//! - When the clinic server's stream comes back after being offline, a join is tried at once
//!   (not after the retry time).
//! - After a rejoin the kiosk is muted again and the consent countdown runs again when the
//!   doctor is seen; it then turns on only what the patient had on when the call was lost (or
//!   both, if the first countdown had not ended).
//! - The same holds across the app's own restarts (the watchdog's, a crash, a remote restart):
//!   what the countdown would turn on for the visit under way is kept ([`KeptConsent`], in the
//!   shell's settings file) whenever it changes, and forgotten when the kiosk leaves the visit.

use std::time::Duration;

use time::OffsetDateTime;

use consult_types::{CallPhase, Connection};

/// What a call window's own exit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowExit {
    /// The call ends, as if hung up (a user's window closed, or the conference was over).
    HangUp,
    /// A kiosk's call was lost: it is joined again while its visit is live.
    Lost,
}

/// The browser window of a call ended without the app ending it; `kiosk`: a kiosk device's
/// call; `phase`: the call's phase when it did.
pub fn window_exit(kiosk: bool, phase: &CallPhase) -> WindowExit {
    if kiosk && !matches!(phase, CallPhase::Ended { .. }) {
        WindowExit::Lost
    } else {
        WindowExit::HangUp
    }
}

/// Deaths older than this no longer slow a rejoin down.
const FORGET_DEATHS_AFTER: Duration = Duration::from_secs(10 * 60);
/// The wait before the second rejoin in a row; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// What the consent countdown turns on when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Wanted {
    pub audio: bool,
    pub video: bool,
}

impl Default for Wanted {
    fn default() -> Wanted {
        Wanted {
            audio: true,
            video: true,
        }
    }
}

/// A kiosk's call as it was when its window died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostCall {
    pub session_id: String,
    pub audio_muted: bool,
    pub video_muted: bool,
}

/// What the countdown turns on after a rejoin of `lost`: what the patient had on if the
/// countdown had ended (`consent_done`), else what it would have turned on (`before`).
pub fn wanted_after_rejoin(consent_done: bool, before: Wanted, lost: &LostCall) -> Wanted {
    if consent_done {
        Wanted {
            audio: !lost.audio_muted,
            video: !lost.video_muted,
        }
    } else {
        before
    }
}

/// What a kiosk keeps across its own restarts for the visit under way: the call it is for, and
/// what the consent countdown turns on once that call is joined again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptConsent {
    pub session_id: String,
    pub wanted: Wanted,
}

impl KeptConsent {
    /// What to keep while `call` runs: what a rejoin of it would turn on, were it lost now.
    pub fn of(consent_done: bool, before: Wanted, call: &LostCall) -> KeptConsent {
        KeptConsent {
            session_id: call.session_id.clone(),
            wanted: wanted_after_rejoin(consent_done, before, call),
        }
    }
}

/// One life's healing: recent deaths, a rejoin due, and whether the call is known lost.
#[derive(Debug, Default)]
pub struct Heal {
    deaths: Vec<OffsetDateTime>,
    rejoin: Option<(String, OffsetDateTime)>,
    /// The call was lost or could not be joined, and no call has been joined since.
    lost: bool,
    /// The clinic server's stream was offline when last seen.
    server_was_offline: bool,
}

impl Heal {
    /// `session_id`'s call window died at `now`: when to join it again.
    pub fn window_died(&mut self, session_id: &str, now: OffsetDateTime) -> OffsetDateTime {
        self.deaths
            .retain(|at| now - *at < FORGET_DEATHS_AFTER && *at <= now);
        let delay = match self.deaths.len() {
            0 => Duration::ZERO,
            n => {
                let doublings = u32::try_from(n - 1).unwrap_or(u32::MAX).min(16);
                FIRST_BACKOFF
                    .saturating_mul(1 << doublings)
                    .min(MAX_BACKOFF)
            }
        };
        self.deaths.push(now);
        self.lost = true;
        let at = now + delay;
        self.rejoin = Some((session_id.to_owned(), at));
        at
    }

    /// The rejoin due, if any: which visit, from when.
    pub fn rejoin(&self) -> Option<(&str, OffsetDateTime)> {
        self.rejoin.as_ref().map(|(id, at)| (id.as_str(), *at))
    }

    /// A join was tried: the rejoin is used up (a failure follows the retry rule).
    pub fn attempted(&mut self) {
        self.rejoin = None;
    }

    /// A join failed, or the call failed (Jitsi or the network away).
    pub fn call_failed(&mut self) {
        self.lost = true;
    }

    /// The call's phase now, and the clinic server's stream: `true` when the stream just came
    /// back after being offline (a join may be tried at once).
    pub fn observe(&mut self, call: Option<&CallPhase>, server: &Connection) -> bool {
        if call == Some(&CallPhase::Joined) {
            self.lost = false;
        }
        let offline = matches!(server, Connection::Offline { .. });
        let back = self.server_was_offline && *server == Connection::Online;
        if offline || *server == Connection::Online {
            self.server_was_offline = offline;
        }
        back
    }

    /// Whether the room is told the connection is lost: `visit_live`, a visit is due now.
    pub fn offline(&self, visit_live: bool, call: Option<&CallPhase>, server: &Connection) -> bool {
        if !visit_live {
            return false;
        }
        match call {
            // Joining, joined or rejoining: whatever the clinic server does, it is not shown.
            Some(phase) if !phase.is_over() => false,
            _ => self.lost || matches!(server, Connection::Offline { .. }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_types::EndReason;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-03 10:05 UTC);

    fn secs(n: i64) -> time::Duration {
        time::Duration::seconds(n)
    }

    fn offline_server() -> Connection {
        Connection::Offline {
            reason: "The clinic server cannot be reached".into(),
            retry_in_secs: 4,
        }
    }

    #[test]
    fn a_kiosks_window_killed_during_the_call_is_a_lost_call() {
        for phase in [
            CallPhase::Joined,
            CallPhase::Joining,
            CallPhase::Rejoining,
            CallPhase::Failed {
                message: "Jitsi cannot be reached".into(),
            },
        ] {
            assert_eq!(window_exit(true, &phase), WindowExit::Lost, "{phase:?}");
        }
    }

    #[test]
    fn a_window_closing_after_the_conference_ended_or_a_doctors_window_is_a_hang_up() {
        let ended = CallPhase::Ended {
            reason: EndReason::Left,
        };
        assert_eq!(window_exit(true, &ended), WindowExit::HangUp);
        assert_eq!(window_exit(false, &CallPhase::Joined), WindowExit::HangUp);
        assert_eq!(window_exit(false, &ended), WindowExit::HangUp);
    }

    #[test]
    fn the_first_death_rejoins_now_and_the_next_ones_back_off_up_to_a_minute() {
        let mut heal = Heal::default();
        assert_eq!(heal.window_died("ses_a", NOW), NOW);
        assert_eq!(heal.rejoin(), Some(("ses_a", NOW)));
        heal.attempted();
        assert_eq!(heal.rejoin(), None);
        let mut at = NOW;
        let mut waits = Vec::new();
        for _ in 0..6 {
            at += secs(1);
            waits.push((heal.window_died("ses_a", at) - at).whole_seconds());
            heal.attempted();
        }
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
    }

    #[test]
    fn deaths_long_ago_are_forgotten() {
        let mut heal = Heal::default();
        heal.window_died("ses_a", NOW);
        heal.window_died("ses_a", NOW + secs(10));
        let later = NOW + secs(11 * 60);
        assert_eq!(heal.window_died("ses_a", later), later);
    }

    #[test]
    fn a_lost_call_shows_the_offline_screen_until_a_call_is_joined_again() {
        let mut heal = Heal::default();
        let online = Connection::Online;
        assert!(!heal.offline(true, None, &online), "nothing lost yet");
        heal.window_died("ses_a", NOW);
        assert!(heal.offline(true, None, &online));
        heal.observe(Some(&CallPhase::Joining), &online);
        assert!(!heal.offline(true, Some(&CallPhase::Joining), &online));
        heal.observe(Some(&CallPhase::Joined), &online);
        assert!(!heal.offline(true, None, &online), "joined since");
    }

    #[test]
    fn a_running_call_is_never_covered_when_the_clinic_server_is_away() {
        let mut heal = Heal::default();
        let away = offline_server();
        heal.observe(Some(&CallPhase::Joined), &away);
        assert!(!heal.offline(true, Some(&CallPhase::Joined), &away));
        // The call is gone too: now the room is told.
        assert!(heal.offline(true, None, &away));
        let failed = CallPhase::Failed {
            message: "Jitsi cannot be reached".into(),
        };
        assert!(heal.offline(true, Some(&failed), &away));
    }

    #[test]
    fn a_failed_join_shows_the_offline_screen_but_only_during_a_visit() {
        let mut heal = Heal::default();
        heal.call_failed();
        assert!(heal.offline(true, None, &Connection::Online));
        assert!(!heal.offline(false, None, &Connection::Online));
        assert!(!heal.offline(false, None, &offline_server()));
    }

    #[test]
    fn the_server_coming_back_after_being_offline_says_so_once() {
        let mut heal = Heal::default();
        assert!(!heal.observe(None, &Connection::Online));
        assert!(!heal.observe(None, &offline_server()));
        // Connecting again is not back yet.
        assert!(!heal.observe(None, &Connection::Connecting));
        assert!(heal.observe(None, &Connection::Online));
        assert!(!heal.observe(None, &Connection::Online));
    }

    #[test]
    fn after_a_rejoin_the_countdown_turns_on_only_what_the_patient_had_on() {
        let lost = LostCall {
            session_id: "ses_a".into(),
            audio_muted: false,
            video_muted: true,
        };
        assert_eq!(
            wanted_after_rejoin(true, Wanted::default(), &lost),
            Wanted {
                audio: true,
                video: false
            }
        );
        // Lost before the first countdown ended: it turns on what it would have.
        assert_eq!(
            wanted_after_rejoin(false, Wanted::default(), &lost),
            Wanted::default()
        );
    }

    #[test]
    fn what_is_kept_for_a_restart_is_what_a_rejoin_would_turn_on() {
        let running = LostCall {
            session_id: "ses_a".into(),
            audio_muted: false,
            video_muted: true,
        };
        let kept = KeptConsent::of(true, Wanted::default(), &running);
        assert_eq!(kept.session_id, "ses_a");
        assert_eq!(
            kept.wanted,
            Wanted {
                audio: true,
                video: false
            }
        );
        // Before the first countdown ended: what it would turn on, whatever Jitsi shows now.
        let restored = Wanted {
            audio: true,
            video: false,
        };
        let muted = LostCall {
            audio_muted: true,
            video_muted: true,
            ..running
        };
        assert_eq!(KeptConsent::of(false, restored, &muted).wanted, restored);
        // The settings file's form: read back as written.
        let text = serde_json::to_string(&kept).unwrap();
        assert_eq!(
            text,
            r#"{"sessionId":"ses_a","wanted":{"audio":true,"video":false}}"#
        );
        assert_eq!(serde_json::from_str::<KeptConsent>(&text).unwrap(), kept);
    }
}
