//! Kiosk mode's life: the sign-in loop (sign in with the device secret, live, sign in again;
//! say why while it cannot) and, for each signed-in life, the visits driver that joins and
//! leaves calls as [`visits::decide`] says, looking again whenever the desk or the call changes
//! or a visit's moment comes, and the heartbeat that tells the clinic's fleet view the kiosk is
//! alive and what it is doing.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{oneshot, Notify};

use consult_types::{
    AppError, CallControl, CallPhase, Heartbeat, JoinCallArgs, KioskActivity, KioskStatus,
};

use super::{kiosk_commands, lock, Desktop, End, Inner, KIOSK_RETRY};
use crate::heal::{self, Heal, KeptConsent, LostCall, Wanted};
use crate::kiosk;
use crate::session::SessionManager;
use crate::visits::{self, Consent, Situation, Step, VisitTiming};

/// Between heartbeats when the server's answer did not say (it says 30 s).
const BEAT: Duration = Duration::from_secs(30);
/// The longest the visits driver sleeps without being woken: a missed wake-up costs no more.
const MAX_NAP: Duration = Duration::from_secs(60);
/// How long the patient is told before the microphone and camera go on.
pub const CONSENT_COUNTDOWN: Duration = Duration::from_secs(5);

/// Consent before the camera, for one call (by session id).
#[derive(Default)]
struct ConsentState {
    session_id: String,
    since: Option<OffsetDateTime>,
    done: bool,
    /// What the countdown turns on (after a rejoin, only what the patient had on).
    wanted: Wanted,
}

/// What the visits driver remembers between looks, for one life.
#[derive(Default)]
struct VisitsState {
    last_attempt: Option<(String, OffsetDateTime)>,
    consent: ConsentState,
    heal: Heal,
    /// The nightly restart was asked for (`nightly.rs`): not again.
    restart_asked: bool,
    /// What the kiosk's memory holds for a restart (written only when it changes).
    kept: Option<KeptConsent>,
}

impl VisitsState {
    /// A life's start: consent as the app kept it before a restart, if it did.
    fn recalled(kept: Option<KeptConsent>) -> VisitsState {
        let consent = kept.as_ref().map_or_else(ConsentState::default, |kept| {
            tracing::info!("kiosk: the visit's consent was kept from before the restart");
            ConsentState {
                session_id: kept.session_id.clone(),
                wanted: kept.wanted,
                ..ConsentState::default()
            }
        });
        VisitsState {
            consent,
            kept,
            ..VisitsState::default()
        }
    }
}

impl Desktop {
    /// Sends the kiosk's status to the UI again (a page that just started listening).
    pub fn republish_kiosk(&self) {
        self.change_kiosk(|_| {});
        self.republish_room_message();
    }

    /// What the sign-in loop and the visits say (under the maintenance screen, if open).
    pub(super) fn set_kiosk(&self, status: KioskStatus) {
        self.change_kiosk(|shown| shown.status = status);
    }

    /// Starts the kiosk's sign-in loop, once per app.
    pub(super) fn start_kiosk(&self) {
        if !self.0.kiosk_running.swap(true, Ordering::SeqCst) {
            tokio::spawn(kiosk_run(Arc::downgrade(&self.0)));
        }
    }

    /// Signs in as the kiosk device (enrolling it first when it has no credential) and starts
    /// its life; the returned receiver resolves when that life (its generation returned too) is
    /// over.
    pub(super) async fn kiosk_sign_in(&self) -> Result<(oneshot::Receiver<()>, u64), AppError> {
        let setup = self.setup()?;
        let config = setup.kiosk().cloned().ok_or_else(|| AppError::Internal {
            detail: "kiosk sign-in without kiosk mode".into(),
        })?;
        let session = setup.session();
        let store = kiosk::CredentialStore::of(&config, session.client().base_url());
        let credential = match blocking(store.clone(), |store| store.load()).await? {
            Some(credential) => credential,
            None => self.enrol(session.client(), &store).await?,
        };
        self.set_kiosk(KioskStatus::SigningIn);
        match session
            .device_login(&credential.device_id, &credential.secret)
            .await
        {
            Ok(_) => {}
            // The server no longer knows this enrolled kiosk (removed from the fleet): it forgets
            // the credential, and the next try shows a new code.
            Err(AppError::InvalidCredentials) if store.enrols() => {
                tracing::warn!("the clinic server no longer knows this kiosk; it enrols again");
                blocking(store.clone(), |store| store.forget()).await?;
                return Err(AppError::InvalidCredentials);
            }
            Err(error) => return Err(error),
        }
        let device_id = credential.device_id.clone();
        drop(credential);
        lock(&self.0.device).signed_in = Some((device_id, store));
        let learner = self.clone();
        let learned = Arc::clone(&session);
        tokio::spawn(async move { learner.learn_exit_pin(learned).await });
        let mut life = self.0.life.write().await;
        if let Some(earlier) = life.take() {
            let _ = self.finish(earlier, End::Replaced).await;
        }
        let (over, ended) = oneshot::channel();
        let mut signed_in = self.begin(session, &setup.settings()).await;
        signed_in.over = Some(over);
        let generation = signed_in.generation;
        if let Some(commands) = signed_in.desk.device_commands() {
            tokio::spawn(kiosk_commands::commands_run(
                Arc::downgrade(&self.0),
                generation,
                commands,
            ));
        }
        *life = Some(signed_in);
        Ok((ended, generation))
    }

    /// The session of life `generation`, while it lasts.
    pub(super) async fn life_session(&self, generation: u64) -> Option<Arc<SessionManager>> {
        let guard = self.0.life.read().await;
        guard
            .as_ref()
            .filter(|life| life.generation == generation)
            .map(|life| Arc::clone(&life.session))
    }

    pub(super) fn kiosk_retry(&self) -> Duration {
        let configured = self
            .setup()
            .ok()
            .and_then(|setup| setup.kiosk())
            .and_then(|kiosk| kiosk.retry_secs)
            .map(Duration::from_secs);
        self.0
            .options
            .kiosk_retry
            .or(configured)
            .unwrap_or(KIOSK_RETRY)
    }

    /// The kiosk's visit timing: `[kiosk] join_lead_secs` and `leave_grace_secs` over the
    /// defaults, retried like its sign-in.
    fn visit_timing(&self) -> VisitTiming {
        let defaults = VisitTiming::default();
        let kiosk = self.setup().ok().and_then(|setup| setup.kiosk().cloned());
        let seconds =
            |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_secs);
        VisitTiming {
            lead: seconds(kiosk.as_ref().and_then(|k| k.join_lead_secs), defaults.lead),
            grace: seconds(
                kiosk.as_ref().and_then(|k| k.leave_grace_secs),
                defaults.grace,
            ),
            retry: self.kiosk_retry(),
        }
    }

    /// One look at the kiosk's visits for life `generation`, and what it did; `None` when that
    /// life is over.
    async fn visits_step(
        &self,
        generation: u64,
        state: &mut VisitsState,
    ) -> Option<Option<OffsetDateTime>> {
        let guard = self.0.life.read().await;
        let life = guard
            .as_ref()
            .filter(|life| life.generation == generation)?;
        let dashboard = life.desk.dashboard().await;
        let call = self.0.calls.screen().await;
        let now = OffsetDateTime::now_utc();
        let timing = self.visit_timing();
        let VisitsState {
            last_attempt,
            consent,
            heal,
            kept,
            ..
        } = state;
        if let Some(lost) = self.0.calls.take_lost() {
            let at = heal.window_died(&lost.session_id, now);
            tracing::warn!(
                in_secs = (at - now).whole_seconds(),
                "kiosk: the call was lost; joining it again"
            );
            // Muted again, and the countdown runs again before anything goes on.
            let wanted = if consent.session_id == lost.session_id {
                heal::wanted_after_rejoin(consent.done, consent.wanted, &lost)
            } else {
                Wanted::default()
            };
            *consent = ConsentState {
                session_id: lost.session_id.clone(),
                wanted,
                ..ConsentState::default()
            };
        }
        let phase = call.as_ref().map(|call| &call.view.phase);
        if heal.observe(phase, &dashboard.connection) {
            tracing::info!("kiosk: the clinic server is back; joining may be tried at once");
            *last_attempt = None;
        }
        let live = visits::live_visit(&dashboard.appointments, now, timing).is_some();
        self.show_offline(heal.offline(live, phase, &dashboard.connection));
        let situation = Situation {
            now,
            appointments: &dashboard.appointments,
            own_requests: &dashboard.own_requests,
            call: call.as_ref(),
            last_attempt: last_attempt.as_ref().map(|(id, at)| (id.as_str(), *at)),
            rejoin: heal.rejoin(),
        };
        match visits::decide(&situation, timing) {
            Step::Wait { wake } => {
                let Some(call) = call.as_ref() else {
                    // A countdown whose call is gone says nothing any more.
                    let counting =
                        matches!(lock(&self.0.kiosk).status, KioskStatus::CameraSoon { .. });
                    if counting {
                        self.set_kiosk(KioskStatus::Ready);
                    }
                    return Some(wake);
                };
                if consent.session_id != call.session_id {
                    *consent = ConsentState {
                        session_id: call.session_id.clone(),
                        ..ConsentState::default()
                    };
                }
                let wanted = consent.wanted;
                let step =
                    visits::consent(call, consent.since, consent.done, now, CONSENT_COUNTDOWN);
                let doctor = || {
                    dashboard
                        .appointments
                        .iter()
                        .find(|visit| visit.session_id == call.session_id)
                        .map_or_else(
                            || "The doctor".to_owned(),
                            |visit| visit.doctor_name.clone(),
                        )
                };
                let next = match step {
                    Consent::Idle => {
                        // The doctor left before the countdown ended: it starts again when
                        // they are back, and the screen stops counting.
                        if consent.since.take().is_some() && !consent.done {
                            self.set_kiosk(KioskStatus::Ready);
                        }
                        None
                    }
                    Consent::Start => {
                        consent.since = Some(now);
                        tracing::info!("kiosk: the doctor is in; media on after the countdown");
                        self.set_kiosk(KioskStatus::CameraSoon {
                            doctor: doctor(),
                            seconds: CONSENT_COUNTDOWN.as_secs(),
                        });
                        Some(now + CONSENT_COUNTDOWN)
                    }
                    Consent::Counting { until } => Some(until),
                    Consent::TurnOn => {
                        consent.done = true;
                        let view = &call.view;
                        let mut controls = Vec::new();
                        if view.audio_muted && wanted.audio {
                            controls.push(CallControl::ToggleAudio);
                        }
                        if view.video_muted && wanted.video && !call.audio_only {
                            controls.push(CallControl::ToggleVideo);
                        }
                        for control in controls {
                            if let Err(error) = self.0.calls.control(control).await {
                                tracing::warn!(%error, "kiosk: media could not be turned on");
                            }
                        }
                        self.set_kiosk(KioskStatus::Ready);
                        None
                    }
                };
                let keep = KeptConsent::of(
                    consent.done,
                    consent.wanted,
                    &LostCall {
                        session_id: call.session_id.clone(),
                        audio_muted: call.view.audio_muted,
                        video_muted: call.view.video_muted,
                    },
                );
                self.keep_consent(kept, Some(keep));
                Some(match (wake, next) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                })
            }
            Step::Leave => {
                if phase.is_some_and(|phase| matches!(phase, CallPhase::Failed { .. })) {
                    // Joined again later (after `retry`); meanwhile the room is told.
                    heal.call_failed();
                }
                tracing::info!(
                    "kiosk: leaving the call (its visit is over, or it ended or failed)"
                );
                self.0.calls.leave().await;
                // Between patients: nothing of this visit stays in the webview or the memory.
                self.0.ports.call_window.forget_visit();
                self.keep_consent(kept, None);
                Some(None)
            }
            Step::AskToJoin(visit) | Step::Join(visit)
                if self.left_by_clinic(&visit.session_id) =>
            {
                // The clinic sent the kiosk out of this visit: it stays out.
                Some(Some(now + MAX_NAP))
            }
            Step::AskToJoin(visit) => {
                *last_attempt = Some((visit.session_id.clone(), now));
                tracing::info!(appointment_id = %visit.id, "kiosk: asking to join its visit");
                if let Err(error) = life.desk.ask_to_join(&visit.id).await {
                    tracing::warn!(%error, "kiosk: asking to join failed; trying again later");
                    self.kiosk_error(&error);
                }
                Some(None)
            }
            Step::Join(visit) => {
                *last_attempt = Some((visit.session_id.clone(), now));
                heal.attempted();
                tracing::info!(appointment_id = %visit.id, "kiosk: joining its visit");
                let session = Arc::clone(&life.session);
                // Not holding the life across the join, which takes seconds: an end can come.
                drop(dashboard);
                drop(guard);
                let args = JoinCallArgs {
                    session_id: visit.session_id.clone(),
                    appointment_id: Some(visit.id.clone()),
                };
                if let Err(error) = self.open_call(session, args).await {
                    tracing::warn!(%error, "kiosk: joining its visit failed; trying again later");
                    self.kiosk_error(&error);
                    heal.call_failed();
                    // Said at once, not at the next look.
                    self.show_offline(true);
                }
                Some(None)
            }
        }
    }
}

impl Desktop {
    /// The offline screen on or off; it replaces the countdown (whose call is gone) but not
    /// the sign-in loop's statuses.
    fn show_offline(&self, offline: bool) {
        let status = lock(&self.0.kiosk).status.clone();
        match (offline, status) {
            (true, KioskStatus::Ready | KioskStatus::CameraSoon { .. }) => {
                tracing::info!("kiosk: the visit's call is lost; the room is told");
                self.set_kiosk(KioskStatus::Offline);
            }
            (false, KioskStatus::Offline) => self.set_kiosk(KioskStatus::Ready),
            _ => {}
        }
    }

    /// One heartbeat for life `generation`: what the kiosk is doing, sent with its session.
    /// `None` when that life is over; else when to beat next. A beat that fails makes the next
    /// one say `offlineRecovered`.
    async fn heartbeat_step(&self, generation: u64, failed_last: &mut bool) -> Option<Duration> {
        let (session, due) = {
            let guard = self.0.life.read().await;
            let life = guard
                .as_ref()
                .filter(|life| life.generation == generation)?;
            let dashboard = life.desk.dashboard().await;
            let due = visits::any_due(
                &dashboard.appointments,
                OffsetDateTime::now_utc(),
                self.visit_timing(),
            );
            (Arc::clone(&life.session), due)
        };
        let call_path = self.setup().ok()?.call_support().path;
        let state = if *failed_last {
            KioskActivity::OfflineRecovered
        } else if self.0.calls.screen().await.is_some() {
            KioskActivity::InCall
        } else if due {
            KioskActivity::Visit
        } else {
            KioskActivity::Idle
        };
        // Taken now, given back if the beat does not arrive: each is acknowledged once.
        let (acknowledged, last_error) = {
            let mut device = lock(&self.0.device);
            (
                std::mem::take(&mut device.acknowledged),
                device.last_error.clone(),
            )
        };
        let beat = Heartbeat {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            state,
            call_path,
            self_test: self.last_self_test(),
            last_error,
            acknowledged,
        };
        let client = session.client().clone();
        let sent = session
            .authorized(|token| {
                let (client, beat) = (client.clone(), beat.clone());
                async move { client.heartbeat(&token, &beat).await }
            })
            .await;
        match sent {
            Ok(answer) => {
                *failed_last = false;
                let secs = u64::try_from(answer.next_beat_secs)
                    .unwrap_or(0)
                    .clamp(5, 300);
                Some(Duration::from_secs(secs))
            }
            Err(error) => {
                tracing::warn!(%error, "kiosk: the heartbeat did not reach the server");
                let mut device = lock(&self.0.device);
                let mut unsent = beat.acknowledged;
                unsent.append(&mut device.acknowledged);
                device.acknowledged = unsent;
                *failed_last = true;
                Some(BEAT)
            }
        }
    }

    /// One heartbeat out of turn (a command that must be acknowledged before the app ends).
    pub(super) async fn send_heartbeat_now(&self, generation: u64) {
        let mut failed_last = false;
        let _ = self.heartbeat_step(generation, &mut failed_last).await;
    }
}

impl Desktop {
    fn left_by_clinic(&self, session_id: &str) -> bool {
        lock(&self.0.device).left_by_clinic.contains(session_id)
    }

    /// Gives the kiosk's memory `now` if it differs from what it holds (`kept`).
    fn keep_consent(&self, kept: &mut Option<KeptConsent>, now: Option<KeptConsent>) {
        if *kept == now {
            return;
        }
        match self.0.ports.memory.keep_consent(now.as_ref()) {
            Ok(()) => *kept = now,
            // Tried again at the next look; meanwhile a restart would start from what was kept
            // before (or, with nothing kept, both on after the countdown, as on a first join).
            Err(error) => tracing::warn!(%error, "kiosk: the visit's consent could not be kept"),
        }
    }
}

/// Runs `work` on `store` off the runtime's threads (the keychain and files block).
async fn blocking<T: Send + 'static>(
    store: kiosk::CredentialStore,
    work: impl FnOnce(&kiosk::CredentialStore) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(move || work(&store))
        .await
        .map_err(|error| AppError::Internal {
            detail: format!("reading the device credential failed: {error}"),
        })?
}

/// Kiosk mode's heartbeat for life `generation`: at once, then as the server says; ends with
/// the life.
async fn heartbeat_run(desktop: Weak<Inner>, generation: u64, beat_now: Arc<Notify>) {
    let mut failed_last = false;
    loop {
        let Some(inner) = desktop.upgrade() else {
            return;
        };
        let Some(next) = Desktop(inner)
            .heartbeat_step(generation, &mut failed_last)
            .await
        else {
            return;
        };
        // Early when a command was carried out: the clinic sees it acknowledged at once.
        tokio::select! {
            () = tokio::time::sleep(next) => {}
            () = beat_now.notified() => {}
        }
    }
}

/// Kiosk mode's sign-in, for the app's lifetime: sign in with the device secret, live until
/// that life is over, sign in again; while a sign-in fails, say why and try again later.
async fn kiosk_run(desktop: Weak<Inner>) {
    loop {
        let Some(inner) = desktop.upgrade() else {
            return;
        };
        let desktop_now = Desktop(inner);
        desktop_now.set_kiosk(KioskStatus::SigningIn);
        match desktop_now.kiosk_sign_in().await {
            Ok((over, generation)) => {
                desktop_now.set_kiosk(KioskStatus::Ready);
                tokio::spawn(visits_run(
                    Arc::downgrade(&desktop_now.0),
                    generation,
                    Arc::clone(&desktop_now.0.kiosk_wake),
                ));
                tokio::spawn(heartbeat_run(
                    Arc::downgrade(&desktop_now.0),
                    generation,
                    Arc::clone(&desktop_now.0.kiosk_beat),
                ));
                tokio::spawn(super::self_test::self_test_run(
                    Arc::downgrade(&desktop_now.0),
                    generation,
                ));
                tracing::info!("kiosk signed in");
                let (retry, since) = (desktop_now.kiosk_retry(), std::time::Instant::now());
                drop(desktop_now);
                // Resolves (with an error: the sender is dropped) when the life is over.
                let _ = over.await;
                tracing::info!("the kiosk's session ended; signing in again");
                // A life that ends as soon as it starts is not retried in a tight loop.
                if since.elapsed() < retry {
                    tokio::time::sleep(retry).await;
                }
            }
            Err(error) => {
                let retry = desktop_now.kiosk_retry();
                tracing::warn!(%error, retry_secs = retry.as_secs(), "the kiosk cannot sign in");
                desktop_now.kiosk_error(&error);
                desktop_now.set_kiosk(kiosk::status_after(&error, retry));
                drop(desktop_now);
                tokio::time::sleep(retry).await;
            }
        }
    }
}

/// Kiosk mode's visits for life `generation`: look, act, sleep until something changes or the
/// next moment comes; end with the life.
async fn visits_run(desktop: Weak<Inner>, generation: u64, wake: Arc<Notify>) {
    let Some(inner) = desktop.upgrade() else {
        return;
    };
    let mut state = VisitsState::recalled(inner.ports.memory.kept_consent());
    drop(inner);
    loop {
        let Some(inner) = desktop.upgrade() else {
            return;
        };
        let desktop_now = Desktop(inner);
        let Some(next) = desktop_now.visits_step(generation, &mut state).await else {
            return;
        };
        let nightly = desktop_now
            .nightly_step(generation, &mut state.restart_asked)
            .await;
        drop(desktop_now);
        let next = match (next, nightly) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let nap = next
            .map(|at| (at - OffsetDateTime::now_utc()).max(time::Duration::ZERO))
            .and_then(|left| Duration::try_from(left).ok())
            .map_or(MAX_NAP, |left| left.min(MAX_NAP));
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(nap) => {}
        }
    }
}
