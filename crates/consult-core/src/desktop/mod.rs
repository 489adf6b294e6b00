//! The desktop app's one service: it owns the signed-in life from sign-in (or a restored
//! session) to sign-out and its reason, with the desk, the idle sign-out and the call. The shell
//! calls one method per IPC command and implements the [`ports`](crate::ports); nothing here
//! knows Tauri.
//!
//! Rules kept here, and only here:
//! - A life ends once, for one reason: the user signs out, the idle timer expires, or the desk's
//!   session is over (refresh refused, account disabled). Every end leaves the call, stops the
//!   desk and wipes the session; only the ones the user did not ask for are told to the UI.
//! - A late end of an earlier life cannot end a newer one (each life has a generation).
//! - An approval of the user's own request to join opens its call without a click, within the
//!   life that asked ([`Desktop::join_admitted`]).
//! - A running call keeps idle sign-out away (an [`IdleHold`](crate::idle::IdleHold) in
//!   [`relay::CallRelay`]), and a call does not outlive its session.
//! - A kiosk (kiosk mode, set by the administrator) signs itself in with its device secret,
//!   never with a password and never idle-signed-out; when its session ends it signs in again,
//!   and while it cannot it says why and keeps trying ([`Desktop::startup`], `kiosk_run`).
//! - The clinic server can change only while nobody is signed in ([`Setup::save_settings`]).
//! - State reaches the UI only as numbered events; commands that change state answer nothing.

mod enrolment;
mod fleet;
mod kiosk_commands;
mod kiosk_life;
mod maintenance;
mod nightly;
mod relay;
mod self_test;
pub mod setup;
mod updates;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{oneshot, RwLock, RwLockReadGuard};
use tokio::task::JoinHandle;

use consult_types::{
    AdmitAllArgs, AppError, CallControl, CallSupport, DecideArgs, FocusAppointment, JoinCallArgs,
    JoinRequest, KioskSetup, LoginArgs, SessionEnded, SessionView, SettingsChange, SettingsView,
    StartupState, WaitingRoomAction,
};

use crate::call::CallHub;
use crate::desk::{Desk, DeskOptions};
use crate::idle::{idle_reason, IdleTimer, SleepClock};
use crate::ports::{CallWindow, KioskMemory, NotificationAction, Notifier, Ui};
use crate::session::{Restored, SessionManager};
use crate::settings::SettingsStore;
use relay::{CallRelay, DeskRelay, OnScreen, Revisions};
pub use setup::Setup;
pub use updates::{UpdateSource, UPDATE_TIMEOUT};

/// The shell's side of the core.
#[derive(Clone)]
pub struct Ports {
    pub ui: Arc<dyn Ui>,
    pub notifier: Arc<dyn Notifier>,
    pub call_window: Arc<dyn CallWindow>,
    /// A kiosk's consent for the visit under way, across restarts (unused on other devices).
    pub memory: Arc<dyn KioskMemory>,
}

/// Knobs for tests and special set-ups; [`Desktop::load`] uses the defaults.
#[derive(Clone, Default)]
pub struct DesktopOptions {
    /// The desk's push options and time zone (its sign-in time is set per life).
    pub desk: DeskOptions,
    /// Replaces the `idle_logoff_secs` setting's length when set (tests cannot wait minutes).
    pub idle_timeout: Option<Duration>,
    /// Replaces the wall clock the idle timer counts time asleep on (tests suspend with it).
    pub idle_clock: Option<Arc<dyn SleepClock>>,
    /// How long a kiosk waits before trying to sign in again (over `[kiosk] retry_secs`, else
    /// [`KIOSK_RETRY`]).
    pub kiosk_retry: Option<Duration>,
    /// Where the log file is (`logfile`), for the diagnostics report.
    pub log_dir: Option<PathBuf>,
    /// The user's (or `--config`'s) configuration file, for the diagnostics report.
    pub config_file: Option<PathBuf>,
    /// Replaces [`crate::updates::FIRST_CHECK_DELAY`] (tests cannot wait).
    pub update_first_delay: Option<Duration>,
    /// When this run of the app began, for a kiosk's nightly restart; now when unset (tests
    /// pretend the kiosk has run since yesterday).
    pub started_at: Option<OffsetDateTime>,
}

/// How long a kiosk that cannot sign in waits before it tries again.
pub const KIOSK_RETRY: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Desktop(Arc<Inner>);

struct Inner {
    /// The configuration, or why the app has none (it still starts and says so).
    setup: Result<Arc<Setup>, AppError>,
    ports: Ports,
    options: DesktopOptions,
    /// One timer for the app's life, watched only while signed in.
    idle: Arc<IdleTimer>,
    calls: CallHub,
    /// The notifications shown, so an end can take them back.
    on_screen: Arc<OnScreen>,
    revisions: Arc<Revisions>,
    life: RwLock<Option<SignedIn>>,
    generation: AtomicU64,
    /// A focus request (deep link) that came while signed out, delivered after the sign-in.
    pending_focus: Mutex<Option<FocusAppointment>>,
    /// Kiosk mode's status and maintenance screen, and whether its sign-in loop runs.
    kiosk: Mutex<maintenance::KioskShown>,
    /// Kiosk mode's exit PIN check while the server is away.
    exit: Mutex<maintenance::ExitState>,
    kiosk_running: AtomicBool,
    /// Kiosk mode's device side: its credential's store, commands carried out, the last error,
    /// the room message.
    device: Mutex<kiosk_commands::DeviceState>,
    /// Wakes a kiosk's heartbeat before its time (a command to acknowledge).
    kiosk_beat: Arc<tokio::sync::Notify>,
    /// Woken by every dashboard and call change: a kiosk's visits driver looks again.
    kiosk_wake: Arc<tokio::sync::Notify>,
    /// The keychain read begun at launch ([`Desktop::restore_early`]), for the first `startup`.
    early: tokio::sync::Mutex<EarlyRestore>,
    /// In-app updates ([`crate::updates`], carried out by `updates.rs`).
    updates: updates::UpdatesLink,
    /// A kiosk's self-test: the last outcome, for the heartbeat and the maintenance screen.
    self_test: self_test::SelfTestSlot,
    /// When this run of the app began (a kiosk restarts once a night, not again after it).
    started_at: OffsetDateTime,
}

/// The saved sign-in read before the page asks for it: the page takes the result once; a later
/// `startup` (a reload) reads again.
enum EarlyRestore {
    NotBegun,
    Done(Restored),
    Taken,
}

/// One signed-in life.
struct SignedIn {
    generation: u64,
    session: Arc<SessionManager>,
    desk: Desk,
    /// Awaits the desk's end and the idle timer; hands the end to a task of its own.
    watch: JoinHandle<()>,
    /// Joins the calls the desk's admissions open.
    admit: JoinHandle<()>,
    /// Dropped with the life: a kiosk's sign-in loop awaits it to sign in again.
    over: Option<oneshot::Sender<()>>,
}

/// How a life ends.
enum End {
    /// The user signed out: the server is told, nothing is shown.
    SignedOut,
    /// The app ended it (idle, refused refresh): the UI shows why.
    Ended(SessionEnded),
    /// A new sign-in took its place: the session goes on in the new life.
    Replaced,
}

impl Desktop {
    /// The desktop with the configuration in `config_dir` and the user's `store`.
    pub fn load(
        config_dir: &Path,
        log_dir: Option<PathBuf>,
        store: Arc<dyn SettingsStore>,
        ports: Ports,
    ) -> Desktop {
        Desktop::new(
            Setup::load(config_dir, store),
            ports,
            DesktopOptions {
                log_dir,
                config_file: Some(crate::config::AppConfig::file_location(config_dir)),
                ..DesktopOptions::default()
            },
        )
    }

    pub fn new(setup: Result<Setup, AppError>, ports: Ports, options: DesktopOptions) -> Desktop {
        let setup = setup.map(Arc::new);
        let idle = Arc::new(match &options.idle_clock {
            Some(clock) => IdleTimer::with_clock(Duration::ZERO, Arc::clone(clock)),
            None => IdleTimer::new(Duration::ZERO),
        });
        let revisions = Arc::new(Revisions::default());
        let on_screen = Arc::new(OnScreen::new(Arc::clone(&ports.notifier)));
        let kiosk_wake = Arc::new(tokio::sync::Notify::new());
        let updates = updates::UpdatesLink::default();
        let calls = CallHub::new(Arc::new(CallRelay {
            ui: Arc::clone(&ports.ui),
            notifier: on_screen.clone(),
            window: Arc::clone(&ports.call_window),
            revisions: Arc::clone(&revisions),
            idle: Arc::clone(&idle),
            hold: Mutex::new(None),
            setup: setup.as_ref().ok().cloned(),
            changed: Arc::clone(&kiosk_wake),
            updates_wake: Arc::clone(&updates.wake),
        }));
        let started_at = options.started_at.unwrap_or_else(OffsetDateTime::now_utc);
        Desktop(Arc::new(Inner {
            setup,
            ports,
            options,
            idle,
            calls,
            on_screen,
            revisions,
            life: RwLock::new(None),
            generation: AtomicU64::new(0),
            pending_focus: Mutex::new(None),
            kiosk: Mutex::new(maintenance::KioskShown::default()),
            exit: Mutex::new(maintenance::ExitState::default()),
            kiosk_running: AtomicBool::new(false),
            device: Mutex::default(),
            kiosk_beat: Arc::default(),
            kiosk_wake,
            early: tokio::sync::Mutex::new(EarlyRestore::NotBegun),
            updates,
            self_test: self_test::SelfTestSlot::default(),
            started_at,
        }))
    }

    fn setup(&self) -> Result<&Arc<Setup>, AppError> {
        self.0.setup.as_ref().map_err(Clone::clone)
    }

    /// What the first screen needs, in one reply: the settings, and the session restored from
    /// the keychain if any (which starts its life). A reload of the page finds the life running.
    pub async fn startup(&self) -> Result<StartupState, AppError> {
        self.touch();
        let setup = self.setup()?;
        let (session, settings) = (setup.session(), setup.settings());
        if let Some(kiosk) = setup.kiosk() {
            let kiosk = KioskSetup {
                shows_first_name: kiosk.show_first_name,
                clinic_name: kiosk
                    .clinic_name
                    .as_deref()
                    .map(str::trim)
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned),
            };
            self.start_kiosk();
            return Ok(StartupState {
                settings,
                session: None,
                notice: None,
                kiosk: Some(kiosk),
            });
        }
        let early = std::mem::replace(&mut *self.0.early.lock().await, EarlyRestore::Taken);
        let restored = match early {
            EarlyRestore::Done(restored) => restored,
            EarlyRestore::NotBegun | EarlyRestore::Taken => {
                crate::startup::step("startup: keychain read begins");
                session.restore().await
            }
        };
        let (view, notice) = match restored {
            Restored::SignedIn(view) => (Some(view), None),
            Restored::NothingSaved => (None, None),
            Restored::KeychainUnavailable(error) => (
                None,
                Some(format!(
                    "Your sign-in will not be remembered on this computer. {error}"
                )),
            ),
            Restored::Failed(error) => (
                None,
                Some(format!("Your saved sign-in could not be used. {error}")),
            ),
        };
        crate::startup::step("startup: the saved sign-in is known");
        if view.is_some() {
            let mut life = self.0.life.write().await;
            if life.is_none() {
                *life = Some(self.begin(session, &settings).await);
            }
        }
        Ok(StartupState {
            settings,
            session: view,
            notice,
            kiosk: None,
        })
    }

    /// Reads the saved sign-in (the keychain, and the server's refresh if one is saved) while the
    /// window and its page load, so that the page's `startup` finds it done: the shell calls this
    /// at launch. Does nothing for a kiosk, or once the page has asked.
    pub async fn restore_early(&self) {
        let Ok(setup) = self.setup() else { return };
        if setup.kiosk().is_some() {
            return;
        }
        // Held while reading: a `startup` arriving meanwhile waits for this result.
        let mut early = self.0.early.lock().await;
        if matches!(*early, EarlyRestore::NotBegun) {
            crate::startup::step("keychain read begins (before the page asks)");
            *early = EarlyRestore::Done(setup.session().restore().await);
            crate::startup::step("keychain read (and the session refreshed, if saved)");
        }
    }

    /// Signs in with email and password and starts the signed-in life.
    pub async fn login(&self, args: LoginArgs) -> Result<SessionView, AppError> {
        self.touch();
        let setup = self.setup()?;
        if setup.kiosk().is_some() {
            return Err(AppError::Config {
                detail: "This app runs as a kiosk: it signs in by itself with its device credential, never with a password.".into(),
            });
        }
        let session = setup.session();
        let view = session.login(&args.email, &args.password).await?;
        let mut life = self.0.life.write().await;
        if let Some(earlier) = life.take() {
            // Nothing to report: the session itself goes on.
            let _ = self.finish(earlier, End::Replaced).await;
        }
        *life = Some(self.begin(session, &setup.settings()).await);
        Ok(view)
    }

    /// Signs out: the call is left, the desk stops, the server is told, the keychain entry and
    /// memory are wiped (locally even when the server cannot be told).
    pub async fn logout(&self) -> Result<(), AppError> {
        let life = self.0.life.write().await.take();
        match life {
            Some(life) => self.finish(life, End::SignedOut).await,
            // Not signed in here, yet a saved sign-in may be left: wipe it too.
            None => self.setup()?.session().logout().await,
        }
    }

    /// Whether the administrator's configuration makes this app a kiosk (the shell locks its
    /// window then).
    pub fn is_kiosk(&self) -> bool {
        self.setup().is_ok_and(|setup| setup.kiosk().is_some())
    }

    /// Sends the dashboard to the UI again (a page that just started listening).
    pub async fn republish_dashboard(&self) -> Result<(), AppError> {
        self.touch();
        self.desk().await?.republish();
        self.deliver_pending_focus();
        Ok(())
    }

    /// The user's side of the waiting room: ask to join, stop waiting, put a decline away. The
    /// dashboard follows as an event, and an approval opens the call by itself.
    pub async fn waiting_room(&self, action: WaitingRoomAction) -> Result<(), AppError> {
        self.touch();
        let desk = self.desk().await?;
        match action {
            WaitingRoomAction::Ask { appointment_id } => desk.ask_to_join(&appointment_id).await,
            WaitingRoomAction::Withdraw { join_request_id } => {
                desk.withdraw(&join_request_id).await
            }
            WaitingRoomAction::Dismiss { join_request_id } => {
                desk.dismiss(&join_request_id);
                Ok(())
            }
        }
    }

    /// Admits or declines one join request; the dashboard follows as an event.
    pub async fn decide(&self, args: DecideArgs) -> Result<(), AppError> {
        self.touch();
        let desk = self.desk().await?;
        desk.decide(&args.join_request_id, args.decision).await?;
        Ok(())
    }

    pub async fn admit_all(&self, args: AdmitAllArgs) -> Result<(), AppError> {
        self.touch();
        let desk = self.desk().await?;
        desk.admit_all(args.appointment_id.as_deref()).await?;
        Ok(())
    }

    /// The user did something: the idle countdown starts again.
    pub fn touch(&self) {
        self.0.idle.touch();
    }

    pub fn settings(&self) -> Result<SettingsView, AppError> {
        self.touch();
        Ok(self.setup()?.settings())
    }

    /// Saves the user's change and applies it to the running life.
    pub async fn save_settings(&self, change: SettingsChange) -> Result<SettingsView, AppError> {
        self.touch();
        let life = self.0.life.read().await;
        let view = self.setup()?.save_settings(change, life.is_some())?;
        if let Some(life) = life.as_ref() {
            self.0.idle.set_timeout(self.idle_timeout(&view));
            life.desk.set_prefs(view.notifications.clone());
        }
        Ok(view)
    }

    /// How a call would be carried on this machine.
    pub fn call_support(&self) -> Result<CallSupport, AppError> {
        Ok(self.setup()?.call_support())
    }

    /// The diagnostics report for IT support ("Copy diagnostics"); nothing secret in it.
    pub fn diagnostics(&self) -> String {
        let options = &self.0.options;
        let setup = self.setup().map_err(|error| error.to_string());
        let config_file = options.config_file.clone().unwrap_or_default();
        crate::diagnostics::report(&crate::diagnostics::gather(
            &config_file,
            crate::config::MACHINE_FILE.map(Path::new),
            setup
                .as_ref()
                .map(|setup| setup.settings())
                .map_err(Clone::clone),
            setup.map(|setup| setup.call_support()),
            self.update_lines(),
            options.log_dir.as_deref(),
        ))
    }

    /// Joins an appointment's call with the signed-in session; its state follows as events.
    pub async fn join_call(&self, args: JoinCallArgs) -> Result<(), AppError> {
        self.touch();
        let session = self.session().await?;
        self.open_call(session, args).await
    }

    /// Joins a call with `session` and the configuration's call options; its state follows as
    /// events. Whoever asks: the user, an approval, a kiosk's visit.
    async fn open_call(
        &self,
        session: Arc<SessionManager>,
        args: JoinCallArgs,
    ) -> Result<(), AppError> {
        let options = self.setup()?.call_options()?;
        self.0.calls.join(session, args, options).await?;
        Ok(())
    }

    /// One control of the running call; the new state follows once Jitsi confirms it.
    pub async fn call_control(&self, control: CallControl) -> Result<(), AppError> {
        self.touch();
        self.0.calls.control(control).await
    }

    /// Sends the call's state to the UI again (a page that just started listening).
    pub async fn republish_call(&self) {
        self.0.calls.republish().await;
    }

    /// Loads a failed call again with a fresh token.
    pub async fn retry_call(&self) -> Result<(), AppError> {
        self.touch();
        self.0.calls.retry().await?;
        Ok(())
    }

    pub async fn leave_call(&self) {
        self.touch();
        self.0.calls.leave().await;
    }

    /// Shows the appointment (notification click, deep link). While signed out the window comes
    /// to the front and the request waits for the sign-in.
    pub async fn focus(&self, focus: FocusAppointment) {
        if self.0.life.read().await.is_some() {
            self.0.ports.ui.focus_appointment(&focus);
        } else {
            self.0.ports.ui.show();
            *self
                .0
                .pending_focus
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(focus);
        }
    }

    /// Carries out a click on a native notification. Failures are logged: there is no screen
    /// to show them on.
    pub async fn act(&self, action: NotificationAction) {
        self.touch();
        match action {
            NotificationAction::Open {
                appointment_id,
                session_id,
            } => {
                self.focus(FocusAppointment {
                    appointment_id: Some(appointment_id),
                    session_id,
                })
                .await
            }
            NotificationAction::Decide {
                join_request_id,
                decision,
            } => {
                let args = DecideArgs {
                    join_request_id,
                    decision,
                };
                match self.decide(args).await {
                    Ok(()) => tracing::info!(?decision, "join request decided from a notification"),
                    Err(error) => {
                        tracing::warn!(?decision, %error, "a decision from a notification failed")
                    }
                }
            }
            NotificationAction::AnswerKnocking {
                participant_id,
                approved,
            } => {
                let control = CallControl::AnswerKnocking {
                    participant_id,
                    approved,
                };
                match self.0.calls.control(control).await {
                    Ok(()) => tracing::info!(approved, "lobby answered from a notification"),
                    Err(error) => {
                        tracing::warn!(%error, "a lobby answer from a notification failed")
                    }
                }
            }
        }
    }

    /// Starts a life for the signed-in `session`. The caller holds the life lock.
    async fn begin(&self, session: Arc<SessionManager>, settings: &SettingsView) -> SignedIn {
        let generation = self.0.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.idle.set_timeout(self.idle_timeout(settings));
        // Not touch(): an expiry of the life before must not carry over to this one.
        self.0.idle.restart();
        let relay = Arc::new(DeskRelay {
            ui: Arc::clone(&self.0.ports.ui),
            notifier: self.0.on_screen.clone(),
            revisions: Arc::clone(&self.0.revisions),
            changed: Arc::clone(&self.0.kiosk_wake),
        });
        let options = DeskOptions {
            signed_in_at: OffsetDateTime::now_utc(),
            ..self.0.options.desk.clone()
        };
        let desk = Desk::start_with(
            Arc::clone(&session),
            settings.notifications.clone(),
            relay,
            options,
        );
        let watch = tokio::spawn(watch(
            Arc::downgrade(&self.0),
            generation,
            desk.ended(),
            Arc::clone(&self.0.idle),
        ));
        let admit = tokio::spawn(admit(
            Arc::downgrade(&self.0),
            generation,
            desk.admissions(),
        ));
        tracing::info!(
            generation,
            idle_logoff_secs = settings.idle_logoff_secs,
            "signed in: desk started"
        );
        SignedIn {
            generation,
            session,
            desk,
            watch,
            admit,
            over: None,
        }
    }

    /// Joins the call the user was just let into, if life `generation` still runs; the waiting
    /// room then closes, or says why the call did not open. Not user activity: the idle timer
    /// is not touched.
    async fn join_admitted(&self, generation: u64, request: JoinRequest) {
        let session = {
            let life = self.0.life.read().await;
            match life.as_ref() {
                Some(life) if life.generation == generation => Arc::clone(&life.session),
                _ => return,
            }
        };
        let args = JoinCallArgs {
            session_id: request.session_id.clone(),
            appointment_id: Some(request.appointment_id.clone()),
        };
        let joined = self.open_call(session, args).await;
        let life = self.0.life.read().await;
        let Some(life) = life.as_ref().filter(|life| life.generation == generation) else {
            drop(life);
            if joined.is_ok() {
                // The session it was opened with is over: no call outlives its session.
                self.0.calls.leave().await;
            }
            return;
        };
        match joined {
            Ok(()) => life.desk.joined(&request.id),
            Err(error) => {
                tracing::warn!(%error, "let in, but the call did not open");
                life.desk.join_failed(&request.id, error.to_string());
            }
        }
    }

    /// Ends life `generation` if it is still the current one.
    async fn end(&self, generation: u64, ended: SessionEnded) {
        let life = self
            .0
            .life
            .write()
            .await
            .take_if(|life| life.generation == generation);
        if let Some(life) = life {
            // Errors of an end the user did not ask for are logged inside.
            let _ = self.finish(life, End::Ended(ended)).await;
        }
    }

    /// Everything an end does, in this order: no call outlives its session, the desk emits
    /// nothing after it stopped, then the session is wiped.
    async fn finish(&self, life: SignedIn, end: End) -> Result<(), AppError> {
        life.watch.abort();
        // Not aborted mid-join: it ends with the desk's admissions, and leaves a call that
        // opened for a life already over.
        drop(life.admit);
        self.0.calls.leave().await;
        life.desk.stop().await;
        // What the life showed may name patients: nothing of it stays on screen.
        self.0.on_screen.withdraw_all();
        let generation = life.generation;
        match end {
            End::Replaced => Ok(()),
            End::SignedOut => {
                tracing::info!(generation, "signed out");
                life.session.logout().await
            }
            End::Ended(ended) => {
                if let Err(error) = life.session.logout().await {
                    tracing::warn!(%error, "the ended session could not be wiped completely");
                }
                tracing::info!(generation, "session ended");
                // A kiosk has no sign-in screen to go back to: its loop signs in again.
                if !self.is_kiosk() {
                    self.0.ports.ui.session_ended(&ended);
                }
                Ok(())
            }
        }
    }

    fn idle_timeout(&self, settings: &SettingsView) -> Duration {
        if self.is_kiosk() {
            // Nobody signs a kiosk in again by hand: idle sign-out does not apply.
            return Duration::ZERO;
        }
        match (self.0.options.idle_timeout, settings.idle_logoff_secs) {
            (_, 0) => Duration::ZERO,
            (Some(timeout), _) => timeout,
            (None, secs) => Duration::from_secs(secs),
        }
    }

    /// The running desk, read-locked so an end waits until the command is done.
    async fn desk(&self) -> Result<RwLockReadGuard<'_, Desk>, AppError> {
        RwLockReadGuard::try_map(self.0.life.read().await, |life| {
            life.as_ref().map(|life| &life.desk)
        })
        .map_err(|_| AppError::NotSignedIn)
    }

    async fn session(&self) -> Result<Arc<SessionManager>, AppError> {
        self.0
            .life
            .read()
            .await
            .as_ref()
            .map(|life| Arc::clone(&life.session))
            .ok_or(AppError::NotSignedIn)
    }

    fn deliver_pending_focus(&self) {
        let pending = self
            .0
            .pending_focus
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(focus) = pending {
            self.0.ports.ui.focus_appointment(&focus);
        }
    }
}

/// Joins each call the desk's admissions open, one after the other, for life `generation`.
async fn admit(
    desktop: Weak<Inner>,
    generation: u64,
    admissions: Option<tokio::sync::mpsc::UnboundedReceiver<JoinRequest>>,
) {
    let Some(mut admissions) = admissions else {
        return;
    };
    while let Some(request) = admissions.recv().await {
        let Some(inner) = desktop.upgrade() else {
            return;
        };
        Desktop(inner).join_admitted(generation, request).await;
    }
}

/// Waits for whichever comes first, the desk's end or idleness, and ends life `generation`
/// with that reason. The end runs on a task of its own: it aborts this one.
async fn watch(
    desktop: Weak<Inner>,
    generation: u64,
    desk_ended: impl std::future::Future<Output = SessionEnded>,
    idle: Arc<IdleTimer>,
) {
    let ended = tokio::select! {
        ended = desk_ended => ended,
        () = idle.expired() => {
            tracing::info!(timeout_secs = idle.timeout().as_secs(), "idle: signing out");
            SessionEnded { reason: idle_reason(idle.timeout()) }
        }
    };
    if let Some(inner) = desktop.upgrade() {
        tokio::spawn(async move { Desktop(inner).end(generation, ended).await });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
