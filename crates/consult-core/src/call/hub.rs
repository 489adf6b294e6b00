//! The running call: fetches the caller's Jitsi token, checks the deployment, serves the call
//! page, opens it on the chosen path, and keeps [`CallState`] in step with Jitsi's events.
//!
//! Every control, whoever asks (the call screen's buttons over IPC, a notification, a keyboard
//! shortcut, the browser window's own buttons, later a kiosk), goes through [`CallHub::control`],
//! so there is one call state and one path to Jitsi.
//!
//! What a call holds is one [`PagePhase`]: no page (the opening failed; Retry opens one), or a
//! page served for a checked deployment and shown on exactly one carrier, the app's frame or a
//! browser window. Dropping the page takes everything back: the channel stops, the browser ends,
//! the embedded allowances go. The browser's exit is awaited by its own task, which reports it
//! here; events of a page that was replaced meanwhile are dropped by its id.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, Mutex};
use url::Url;

use consult_types::{
    AppError, CallControl, CallError, CallPathKind, CallPhase, CallScreen, CallSupport, CallType,
    JitsiSession, JoinCallArgs, KnockingParticipant, Role,
};

use super::browser::{BrowserError, BrowserExited, BrowserLaunch, BrowserWindow};
use super::channel::{CallChannel, ChannelError, ChannelEvent, CoreMessage, PageMessage, PageMode};
use super::deployment::{self, Deployment, DeploymentError, Trust};
use super::{CallAction, CallState, InboundEvent};
use crate::heal::{self, LostCall, WindowExit};
use crate::session::SessionManager;

/// What the shell does for a call: draw it, tell the user, and open the embedded frame. Called
/// with the hub's state locked, so states arrive in the order they were made: implementations
/// return at once and never call back into the hub.
pub trait CallHost: Send + Sync + 'static {
    /// The call's state changed (emitted whole).
    fn changed(&self, screen: &CallScreen);
    /// The call is over and disposed; the UI goes back to the schedule.
    fn closed(&self);
    /// Someone knocks in the lobby (moderators only): a native notification.
    fn knocking(&self, knocker: &KnockingParticipant, screen: &CallScreen);
    /// A knock told through [`CallHost::knocking`] is settled: the knocker was answered (here or
    /// by another moderator), is no longer for us to answer, or the call closed. Called once per
    /// knock, so its notification can be withdrawn.
    fn knock_settled(&self, participant_id: &str, screen: &CallScreen);
    /// Embedded path, before the frame URL reaches the UI: let the main window frame the call
    /// page and the Jitsi origin, trust the pinned certificate, allow media for Jitsi.
    fn open_embedded(&self, call_page: &Url, deployment: &Deployment);
    /// The embedded call is gone: take those allowances back.
    fn close_embedded(&self);
}

/// How calls are made on this machine, from the configuration.
#[derive(Debug, Clone)]
pub struct CallOptions {
    pub support: CallSupport,
    pub browser_program: Option<PathBuf>,
    pub browser_args: Vec<String>,
    /// `browser_allow_root`: the browser path may run as root (without Chromium's sandbox).
    pub browser_allow_root: bool,
    pub trust: Trust,
    pub timeout: Duration,
    /// Join with the microphone and camera off (a kiosk: consent before the camera goes
    /// live); a rejoin then keeps the choice the call last had.
    pub start_muted: bool,
}

#[derive(Clone)]
pub struct CallHub(Arc<Inner>);

struct Inner {
    host: Arc<dyn CallHost>,
    active: Mutex<Option<ActiveCall>>,
    /// Ids of calls and of their pages.
    next_id: AtomicU64,
    /// A kiosk's call closed because its window died, until its driver takes it.
    lost: std::sync::Mutex<Option<LostCall>>,
}

struct ActiveCall {
    id: u64,
    session: Arc<SessionManager>,
    args: JoinCallArgs,
    options: CallOptions,
    state: CallState,
    jitsi: JitsiSession,
    email: Option<String>,
    /// A kiosk device's call: its browser window is locked (see [`super::lockdown`]).
    kiosk: bool,
    page: PagePhase,
}

/// Where the call page is.
enum PagePhase {
    /// No page: the deployment check or the opening failed, and the state says why. Retry
    /// opens one.
    Unopened,
    /// Served for a checked deployment and shown on its carrier.
    Open(Box<CallPage>),
}

struct CallPage {
    /// The channel's events and the browser's exit carry it, so a replaced page's are dropped.
    id: u64,
    deployment: Deployment,
    channel: CallChannel,
    carrier: Carrier,
}

/// What shows the call page. Dropping it ends that.
enum Carrier {
    Frame(EmbeddedFrame),
    /// Held for its `Drop`, which ends the browser.
    Browser {
        _window: BrowserWindow,
    },
}

/// The call page in the app's call screen; dropping it takes the main window's allowances back.
struct EmbeddedFrame {
    /// The page's address with its key; only the call screen gets it.
    url: String,
    host: Arc<dyn CallHost>,
}

impl Drop for EmbeddedFrame {
    fn drop(&mut self) {
        self.host.close_embedded();
    }
}

/// Why the call page could not be opened, in words for the call screen.
#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error("The call could not be opened on this computer: {0}. Restart the app and try again.")]
    Channel(#[from] ChannelError),
    #[error("No browser was found to hold the call. Install Chromium or Google Chrome, then join again.")]
    NoBrowser,
    #[error(transparent)]
    Browser(#[from] BrowserError),
    #[error("Nothing on this computer can carry the call.")]
    NoPath,
}

/// What the host is told after a change: gathered under the call's lock, told after it.
struct News {
    screen: CallScreen,
    knocking: Vec<KnockingParticipant>,
    settled: Vec<String>,
}

impl ActiveCall {
    fn audio_only(&self) -> bool {
        self.jitsi.call_type == CallType::Audio
    }

    /// The state a rejoin starts in: a kiosk's (`start_muted`) as the call last had it, so the
    /// patient's choice survives; otherwise as a new call's.
    fn rejoin_state(&self) -> (bool, bool) {
        let audio_only = self.audio_only();
        if self.options.start_muted {
            let view = self.state.view();
            return (view.audio_muted, view.video_muted || audio_only);
        }
        (false, audio_only)
    }

    fn open_page(&self) -> Option<&CallPage> {
        match &self.page {
            PagePhase::Open(page) => Some(page),
            PagePhase::Unopened => None,
        }
    }

    fn screen(&self) -> CallScreen {
        let frame_url = match self.open_page().map(|page| &page.carrier) {
            Some(Carrier::Frame(frame)) => Some(frame.url.clone()),
            Some(Carrier::Browser { .. }) | None => None,
        };
        CallScreen {
            session_id: self.args.session_id.clone(),
            appointment_id: self.args.appointment_id.clone(),
            support: self.options.support.clone(),
            frame_url,
            room_name: self.jitsi.room_name.clone(),
            audio_only: self.audio_only(),
            view: self.state.view().clone(),
        }
    }

    fn knockers(&self) -> Vec<KnockingParticipant> {
        self.state.view().knocking.clone()
    }

    /// The screen and the knocks that came or were settled since `before`; a browser window's
    /// own buttons get the new view.
    fn news(&self, before: &[KnockingParticipant]) -> News {
        let screen = self.screen();
        if let Some(page) = self.open_page() {
            if matches!(page.carrier, Carrier::Browser { .. }) {
                page.channel.send(&CoreMessage::View {
                    view: Box::new(screen.view.clone()),
                });
            }
        }
        let now = &screen.view.knocking;
        let knocking = now
            .iter()
            .filter(|knocker| !before.iter().any(|old| old.id == knocker.id))
            .cloned()
            .collect();
        let settled = before
            .iter()
            .filter(|old| !now.iter().any(|knocker| knocker.id == old.id))
            .map(|old| old.id.clone())
            .collect();
        News {
            screen,
            knocking,
            settled,
        }
    }

    fn page_is(&self, page_id: u64) -> bool {
        self.open_page().is_some_and(|page| page.id == page_id)
    }

    /// The `JitsiMeetExternalAPI` options (jitsi.md §1), without `parentNode`.
    fn conference_options(&self) -> Value {
        let audio_only = self.audio_only();
        let view = self.state.view();
        json!({
            "roomName": self.jitsi.room_name,
            "jwt": self.jitsi.jitsi_token,
            "lang": "en",
            "userInfo": {"displayName": self.jitsi.display_name, "email": self.email},
            "configOverwrite": {
                // `prejoinPageEnabled` no longer exists; this is the switch now.
                "prejoinConfig": {"enabled": false},
                // What the state was created with (a kiosk's start muted; `rejoin_state`).
                "startWithAudioMuted": view.audio_muted,
                "startWithVideoMuted": view.video_muted,
                "startAudioOnly": audio_only,
                "disableDeepLinking": true,
                // Only what the app's own controls do not offer.
                "toolbarButtons": ["chat", "participants-pane", "settings", "fullscreen", "select-background"],
            },
            "interfaceConfigOverwrite": {"SHOW_JITSI_WATERMARK": false, "SHOW_WATERMARK_FOR_GUESTS": false},
        })
    }

    /// Loads the conference in the page; `false` when no page is connected (it loads when one
    /// connects).
    fn load(&self) -> bool {
        let Some(page) = self.open_page() else {
            return false;
        };
        page.channel.send(&CoreMessage::Load {
            script_url: page.deployment.script_url.to_string(),
            domain: page.deployment.domain.clone(),
            options: self.conference_options(),
            events: InboundEvent::NAMES.map(str::to_owned).to_vec(),
        })
    }

    fn send(&self, message: &CoreMessage) -> bool {
        self.open_page()
            .is_some_and(|page| page.channel.send(message))
    }
}

impl CallHub {
    pub fn new(host: Arc<dyn CallHost>) -> CallHub {
        CallHub(Arc::new(Inner {
            host,
            active: Mutex::new(None),
            next_id: AtomicU64::new(1),
            lost: std::sync::Mutex::new(None),
        }))
    }

    /// The running call, if any.
    pub async fn screen(&self) -> Option<CallScreen> {
        self.0.active.lock().await.as_ref().map(ActiveCall::screen)
    }

    /// Joins `args.session_id`'s conference. A second Join for the running call returns it; any
    /// other while a call runs is refused.
    pub async fn join(
        &self,
        session: Arc<SessionManager>,
        args: JoinCallArgs,
        options: CallOptions,
    ) -> Result<CallScreen, AppError> {
        if options.support.path == CallPathKind::None {
            let detail = [
                options.support.reason.clone(),
                options.support.install_hint.clone(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
            return Err(AppError::CallUnavailable { detail });
        }
        {
            let active = self.0.active.lock().await;
            if let Some(call) = active.as_ref() {
                if call.args.session_id == args.session_id {
                    return Ok(call.screen());
                }
                return Err(AppError::CallUnavailable {
                    detail: "Another call is still open. Hang up there first, then join this one."
                        .into(),
                });
            }
        }
        let jitsi = fetch_token(&session, &args.session_id).await?;
        // Network work before taking the lock, so the call's state stays readable meanwhile.
        let checked = deployment::check(&jitsi.server_url, &options.trust, options.timeout).await;
        let view = session.current().await;
        // Only kiosk mode signs in as a device (`Role::Kiosk`): its call window is locked.
        let kiosk = view
            .as_ref()
            .is_some_and(|view| view.user.role == Role::Kiosk);
        let email = view.map(|view| view.user.email);
        let audio_only = jitsi.call_type == CallType::Audio;
        let state = CallState::new(
            &jitsi.display_name,
            options.start_muted,
            options.start_muted || audio_only,
        );
        let mut active = self.0.active.lock().await;
        if active.is_some() {
            return Err(AppError::CallUnavailable {
                detail: "Another call was opened meanwhile. Hang up there first.".into(),
            });
        }
        let call = active.insert(ActiveCall {
            id: self.next_id(),
            session,
            args,
            options,
            state,
            jitsi,
            email,
            kiosk,
            page: PagePhase::Unopened,
        });
        self.open(call, checked).await;
        let news = call.news(&[]);
        let screen = news.screen.clone();
        self.tell(news);
        drop(active);
        Ok(screen)
    }

    fn next_id(&self) -> u64 {
        self.0.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Shows the call on its path for a checked deployment. Failures end up in the call's state
    /// (shown with Retry), not as an error of the command.
    async fn open(&self, call: &mut ActiveCall, checked: Result<Deployment, DeploymentError>) {
        let deployment = match checked {
            Ok(deployment) => deployment,
            Err(error) => {
                tracing::warn!(%error, "the Jitsi deployment cannot be used");
                call.state.fail(error.to_string());
                return;
            }
        };
        if let PagePhase::Open(page) = &mut call.page {
            if page.deployment.origin == deployment.origin {
                // Retry on a page that is still there: it loads again at once if connected,
                // else when it connects.
                if let Carrier::Frame(_) = page.carrier {
                    self.0
                        .host
                        .open_embedded(page.channel.origin(), &deployment);
                }
                page.deployment = deployment;
                call.load();
                return;
            }
            // The deployment moved: its page (whose policy names the old origin) goes.
            page.channel.send(&CoreMessage::Dispose);
        }
        call.page = PagePhase::Unopened;
        match self.open_page(&call.options, call.kiosk, deployment).await {
            // The new page loads when it connects.
            Ok(page) => call.page = PagePhase::Open(Box::new(page)),
            Err(error) => {
                tracing::warn!(%error, "the call page could not be opened");
                call.state.fail(error.to_string());
            }
        }
    }

    /// Serves a new call page and shows it on the call's path; a kiosk's browser window is
    /// locked.
    async fn open_page(
        &self,
        options: &CallOptions,
        kiosk: bool,
        deployment: Deployment,
    ) -> Result<CallPage, OpenError> {
        let id = self.next_id();
        let (events, received) = mpsc::unbounded_channel();
        let channel = CallChannel::start(&deployment.origin, events).await?;
        let carrier = match options.support.path {
            CallPathKind::Embedded => {
                self.0.host.open_embedded(channel.origin(), &deployment);
                Carrier::Frame(EmbeddedFrame {
                    url: channel.page_url(PageMode::Embedded),
                    host: self.0.host.clone(),
                })
            }
            CallPathKind::Browser => {
                let program = options
                    .browser_program
                    .as_deref()
                    .ok_or(OpenError::NoBrowser)?;
                let page_url = channel.page_url(PageMode::Browser);
                let spki = deployment.pinned_spki_sha256();
                let (window, exited) = BrowserWindow::open(&BrowserLaunch {
                    program,
                    page_url: &page_url,
                    pinned_spki: spki.as_deref(),
                    extra_args: &options.browser_args,
                    allow_root: options.browser_allow_root,
                    locked: kiosk,
                    headless: false,
                })?;
                self.watch_browser(id, exited);
                Carrier::Browser { _window: window }
            }
            CallPathKind::None => return Err(OpenError::NoPath),
        };
        self.pump(id, received);
        Ok(CallPage {
            id,
            deployment,
            channel,
            carrier,
        })
    }

    /// Ends the call when the user closes its browser window. A kiosk's window that dies
    /// during the call ends it too, but as a lost call ([`CallHub::take_lost`]), which the
    /// kiosk joins again ([`heal::window_exit`]).
    fn watch_browser(&self, page_id: u64, exited: BrowserExited) {
        let hub = self.clone();
        tokio::spawn(async move {
            if !exited.wait().await {
                return;
            }
            let id = {
                let active = hub.0.active.lock().await;
                let Some(call) = active.as_ref().filter(|call| call.page_is(page_id)) else {
                    return;
                };
                let view = call.state.view();
                match heal::window_exit(call.kiosk, &view.phase) {
                    WindowExit::HangUp => {
                        tracing::info!("the call's browser window was closed: the call ends");
                    }
                    WindowExit::Lost => {
                        tracing::warn!(
                            "the kiosk's call window died during the call: the call is lost"
                        );
                        *hub.lost() = Some(LostCall {
                            session_id: call.args.session_id.clone(),
                            audio_muted: view.audio_muted,
                            video_muted: view.video_muted,
                        });
                    }
                }
                call.id
            };
            hub.close(id).await;
        });
    }

    fn lost(&self) -> std::sync::MutexGuard<'_, Option<LostCall>> {
        self.0
            .lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The kiosk's call that was lost because its window died, once (told before the close
    /// that wakes the kiosk's driver).
    pub fn take_lost(&self) -> Option<LostCall> {
        self.lost().take()
    }

    /// Feeds a page's channel events into the call, in order, while it is the call's page.
    fn pump(&self, page_id: u64, mut received: mpsc::UnboundedReceiver<ChannelEvent>) {
        let hub = self.clone();
        tokio::spawn(async move {
            while let Some(event) = received.recv().await {
                if !hub.on_channel_event(page_id, event).await {
                    return;
                }
            }
        });
    }

    /// `false` once the page is no longer the call's.
    async fn on_channel_event(&self, page_id: u64, event: ChannelEvent) -> bool {
        let mut active = self.0.active.lock().await;
        let Some(call) = active.as_mut().filter(|call| call.page_is(page_id)) else {
            return false;
        };
        let before = call.knockers();
        let mut action = None;
        match event {
            ChannelEvent::Connected => {
                tracing::info!("call page connected");
                call.load();
            }
            ChannelEvent::Refused { reason } => {
                tracing::warn!(reason, "refused a connection to the call page channel");
                return true;
            }
            ChannelEvent::Disconnected | ChannelEvent::Message(PageMessage::Closing) => {
                tracing::info!("call page disconnected");
                return true;
            }
            // A self-test's report is no call's business.
            ChannelEvent::Message(PageMessage::Hello { .. } | PageMessage::SelfTest { .. }) => {
                return true
            }
            ChannelEvent::Message(PageMessage::LoadFailed { detail }) => {
                tracing::warn!(%detail, "external_api.js did not load in the call page");
                call.state.fail(format!("The video call could not start: {detail}. Check your network connection and press Retry; if it keeps failing, tell your clinic's IT."));
            }
            ChannelEvent::Message(PageMessage::Event { name, data }) => {
                tracing::debug!(name, "call event");
                match InboundEvent::parse(&name, &data) {
                    Ok(Some(event)) => action = call.state.apply(event),
                    Ok(None) => return true,
                    Err(error) => {
                        tracing::warn!(%error, "an event from the call page was not understood");
                        return true;
                    }
                }
            }
            ChannelEvent::Message(PageMessage::Control { control }) => {
                drop(active);
                if let Err(error) = self.control(control).await {
                    tracing::info!(%error, "a control from the call window was refused");
                }
                return true;
            }
        }
        let id = call.id;
        let news = call.news(&before);
        self.tell(news);
        drop(active);
        match action {
            Some(CallAction::Dispose) => self.close(id).await,
            Some(CallAction::RejoinWithFreshToken) => self.rejoin(id).await,
            None => {}
        }
        true
    }

    /// Tells the host what changed; callers hold the call's lock, so states arrive in order.
    fn tell(&self, news: News) {
        let host = &self.0.host;
        host.changed(&news.screen);
        for knocker in &news.knocking {
            host.knocking(knocker, &news.screen);
        }
        for participant_id in &news.settled {
            host.knock_settled(participant_id, &news.screen);
        }
    }

    /// Jitsi rejected the token once: fetch a fresh one and load the conference again.
    async fn rejoin(&self, id: u64) {
        let (session, session_id) = {
            let active = self.0.active.lock().await;
            let Some(call) = active.as_ref().filter(|call| call.id == id) else {
                return;
            };
            (call.session.clone(), call.args.session_id.clone())
        };
        tracing::info!("the video server rejected the call's token; fetching a fresh one");
        let fresh = fetch_token(&session, &session_id).await;
        let mut active = self.0.active.lock().await;
        let Some(call) = active.as_mut().filter(|call| call.id == id) else {
            return;
        };
        let before = call.knockers();
        match fresh {
            Ok(jitsi) => {
                call.jitsi = jitsi;
                call.load();
            }
            Err(error) => call.state.fail(format!(
                "The video server refused this call's access, and a fresh one could not be fetched: {error}"
            )),
        }
        let news = call.news(&before);
        self.tell(news);
        drop(active);
    }

    /// One control of the running call.
    pub async fn control(&self, control: CallControl) -> Result<(), AppError> {
        let mut active = self.0.active.lock().await;
        let Some(call) = active.as_mut() else {
            return Err(AppError::CallUnavailable {
                detail: "There is no call running.".into(),
            });
        };
        let hang_up = control == CallControl::HangUp;
        let before_state = call.state.clone();
        let before = call.knockers();
        let command = call.state.command(control)?;
        let sent = call.send(&CoreMessage::Command {
            name: command.name.to_owned(),
            args: command.args,
        });
        if !sent {
            if hang_up {
                // Nothing to tell Jitsi (the page never connected): just close.
                let id = call.id;
                drop(active);
                self.close(id).await;
                return Ok(());
            }
            // Jitsi never heard of it, so nothing changed.
            call.state = before_state;
            return Err(CallError::NotJoined {
                action: "do that while the call is reconnecting".into(),
            }
            .into());
        }
        tracing::debug!(command = command.name, "call command sent");
        // Answering a knocker changes the view at once (Jitsi sends no event for it).
        let news = call.news(&before);
        self.tell(news);
        drop(active);
        Ok(())
    }

    /// Loads a failed call again with a fresh token.
    pub async fn retry(&self) -> Result<CallScreen, AppError> {
        let (session, session_id, id, trust, timeout) = {
            let active = self.0.active.lock().await;
            let call = active.as_ref().ok_or_else(|| AppError::CallUnavailable {
                detail: "There is no call to retry. Join it again from the schedule.".into(),
            })?;
            (
                call.session.clone(),
                call.args.session_id.clone(),
                call.id,
                call.options.trust.clone(),
                call.options.timeout,
            )
        };
        let jitsi = fetch_token(&session, &session_id).await?;
        let checked = deployment::check(&jitsi.server_url, &trust, timeout).await;
        let mut active = self.0.active.lock().await;
        let Some(call) = active.as_mut().filter(|call| call.id == id) else {
            return Err(AppError::CallUnavailable {
                detail: "The call was closed meanwhile. Join it again from the schedule.".into(),
            });
        };
        let before = call.knockers();
        call.jitsi = jitsi;
        let (audio_muted, video_muted) = call.rejoin_state();
        call.state = CallState::new(&call.jitsi.display_name, audio_muted, video_muted);
        self.open(call, checked).await;
        let news = call.news(&before);
        let screen = news.screen.clone();
        self.tell(news);
        drop(active);
        Ok(screen)
    }

    /// Leaves the running call: hangs up in Jitsi if still in it, then disposes everything.
    pub async fn leave(&self) {
        let id = {
            let mut active = self.0.active.lock().await;
            let Some(call) = active.as_mut() else {
                return;
            };
            if call.state.view().phase == CallPhase::Joined {
                if let Ok(command) = call.state.command(CallControl::HangUp) {
                    call.send(&CoreMessage::Command {
                        name: command.name.to_owned(),
                        args: command.args,
                    });
                }
            }
            call.id
        };
        self.close(id).await;
    }

    /// Disposes the conference, the page and its carrier; open knocks are settled; the UI goes
    /// back.
    async fn close(&self, id: u64) {
        // Held to the end, so no other call's state reaches the host before this one's end.
        let mut active = self.0.active.lock().await;
        if active.as_ref().is_none_or(|call| call.id != id) {
            return;
        }
        let Some(call) = active.take() else {
            return;
        };
        if call.send(&CoreMessage::Dispose) {
            // Give the page a moment to dispose the conference before the channel (and a
            // browser) go away.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let screen = call.screen();
        drop(call);
        tracing::info!("call closed");
        for knocker in &screen.view.knocking {
            self.0.host.knock_settled(&knocker.id, &screen);
        }
        self.0.host.closed();
        drop(active);
    }

    /// Tells the host the current state again (a UI that just started listening): the call's
    /// screen, or that there is none. Under the lock, in order with the hub's own changes.
    pub async fn republish(&self) {
        let active = self.0.active.lock().await;
        match active.as_ref() {
            Some(call) => self.0.host.changed(&call.screen()),
            None => self.0.host.closed(),
        }
    }
}

async fn fetch_token(session: &SessionManager, session_id: &str) -> Result<JitsiSession, AppError> {
    let client = session.client().clone();
    session
        .authorized(|token| {
            let client = client.clone();
            let session_id = session_id.to_owned();
            async move { client.jitsi_session(&token, &session_id).await }
        })
        .await
}
