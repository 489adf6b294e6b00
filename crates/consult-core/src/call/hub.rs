//! The running call: fetches the caller's Jitsi token, checks the deployment, serves the call
//! page, opens it on the chosen path, and keeps [`CallState`] in step with Jitsi's events.
//!
//! Every control, whoever asks (the call screen's buttons over IPC, a notification, a keyboard
//! shortcut, the browser window's own buttons, later a kiosk), goes through [`CallHub::control`],
//! so there is one call state and one path to Jitsi.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, Mutex, MutexGuard};
use url::Url;

use consult_types::{
    AppError, CallControl, CallError, CallPathKind, CallPhase, CallScreen, CallSupport, CallType,
    JitsiSession, JoinCallArgs, KnockingParticipant,
};

use super::browser::{BrowserLaunch, BrowserWindow};
use super::channel::{CallChannel, ChannelEvent, CoreMessage, PageMessage, PageMode};
use super::deployment::{self, Deployment, Trust};
use super::{CallAction, CallState, InboundEvent};
use crate::session::SessionManager;

/// What the shell does for a call: draw it, tell the user, and open the embedded frame.
pub trait CallHost: Send + Sync + 'static {
    /// The call's state changed (emitted whole).
    fn changed(&self, screen: &CallScreen);
    /// The call is over and disposed; the UI goes back to the schedule.
    fn closed(&self);
    /// Someone knocks in the lobby (moderators only): a native notification.
    fn knocking(&self, knocker: &KnockingParticipant, screen: &CallScreen);
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
    pub trust: Trust,
    pub timeout: Duration,
}

#[derive(Clone)]
pub struct CallHub(Arc<Inner>);

struct Inner {
    host: Arc<dyn CallHost>,
    active: Mutex<Option<ActiveCall>>,
    next_id: AtomicU64,
}

struct ActiveCall {
    id: u64,
    session: Arc<SessionManager>,
    args: JoinCallArgs,
    options: CallOptions,
    state: CallState,
    jitsi: JitsiSession,
    email: Option<String>,
    deployment: Option<Deployment>,
    channel: Option<CallChannel>,
    browser: Option<BrowserWindow>,
    frame_url: Option<String>,
}

impl ActiveCall {
    fn audio_only(&self) -> bool {
        self.jitsi.call_type == CallType::Audio
    }

    fn screen(&self) -> CallScreen {
        CallScreen {
            session_id: self.args.session_id.clone(),
            appointment_id: self.args.appointment_id.clone(),
            support: self.options.support.clone(),
            frame_url: self.frame_url.clone(),
            room_name: self.jitsi.room_name.clone(),
            audio_only: self.audio_only(),
            view: self.state.view().clone(),
        }
    }

    /// The `JitsiMeetExternalAPI` options (jitsi.md §1), without `parentNode`.
    fn conference_options(&self) -> Value {
        let audio_only = self.audio_only();
        json!({
            "roomName": self.jitsi.room_name,
            "jwt": self.jitsi.jitsi_token,
            "lang": "en",
            "userInfo": {"displayName": self.jitsi.display_name, "email": self.email},
            "configOverwrite": {
                // `prejoinPageEnabled` no longer exists; this is the switch now.
                "prejoinConfig": {"enabled": false},
                "startWithAudioMuted": false,
                "startWithVideoMuted": audio_only,
                "startAudioOnly": audio_only,
                "disableDeepLinking": true,
                // Only what the app's own controls do not offer.
                "toolbarButtons": ["chat", "participants-pane", "settings", "fullscreen", "select-background"],
            },
            "interfaceConfigOverwrite": {"SHOW_JITSI_WATERMARK": false, "SHOW_WATERMARK_FOR_GUESTS": false},
        })
    }

    fn load_message(&self) -> Option<CoreMessage> {
        let deployment = self.deployment.as_ref()?;
        Some(CoreMessage::Load {
            script_url: deployment.script_url.to_string(),
            domain: deployment.domain.clone(),
            options: self.conference_options(),
            events: InboundEvent::NAMES.map(str::to_owned).to_vec(),
        })
    }

    fn send(&self, message: &CoreMessage) -> bool {
        self.channel
            .as_ref()
            .is_some_and(|channel| channel.send(message))
    }
}

impl CallHub {
    pub fn new(host: Arc<dyn CallHost>) -> CallHub {
        CallHub(Arc::new(Inner {
            host,
            active: Mutex::new(None),
            next_id: AtomicU64::new(1),
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
        let email = session.current().await.map(|view| view.user.email);
        let state = CallState::new(
            &jitsi.display_name,
            false,
            jitsi.call_type == CallType::Audio,
        );
        let call = ActiveCall {
            id: self.0.next_id.fetch_add(1, Ordering::Relaxed),
            session,
            args,
            options,
            state,
            jitsi,
            email,
            deployment: None,
            channel: None,
            browser: None,
            frame_url: None,
        };
        let mut active = self.0.active.lock().await;
        if active.is_some() {
            return Err(AppError::CallUnavailable {
                detail: "Another call was opened meanwhile. Hang up there first.".into(),
            });
        }
        *active = Some(call);
        self.open_and_show(active, checked).await
    }

    /// [`CallHub::open`], then shows the call and returns its screen.
    async fn open_and_show(
        &self,
        mut active: MutexGuard<'_, Option<ActiveCall>>,
        checked: Result<Deployment, deployment::DeploymentError>,
    ) -> Result<CallScreen, AppError> {
        self.open(&mut active, checked).await;
        let screen = active
            .as_ref()
            .map(ActiveCall::screen)
            .ok_or_else(|| AppError::Internal {
                detail: "the call vanished while opening".into(),
            })?;
        drop(active);
        self.0.host.changed(&screen);
        Ok(screen)
    }

    /// Opens the call page on the call's path for a checked deployment. Failures end up in the
    /// call's state (shown with Retry), not as an error of the command.
    async fn open(
        &self,
        active: &mut Option<ActiveCall>,
        checked: Result<Deployment, deployment::DeploymentError>,
    ) {
        let Some(call) = active.as_mut() else {
            return;
        };
        let deployment = match checked {
            Ok(deployment) => deployment,
            Err(error) => {
                tracing::warn!(%error, "the Jitsi deployment cannot be used");
                call.state.fail(error.to_string());
                return;
            }
        };
        if call.channel.is_none() {
            let (events, received) = mpsc::unbounded_channel();
            match CallChannel::start(&deployment.origin, events).await {
                Ok(channel) => call.channel = Some(channel),
                Err(error) => {
                    call.state.fail(format!("The call could not be opened on this computer: {error}. Restart the app and try again."));
                    return;
                }
            }
            self.pump(call.id, received);
        }
        let Some(channel) = call.channel.as_ref() else {
            return;
        };
        let page_origin = channel.origin().clone();
        call.deployment = Some(deployment);
        match call.options.support.path {
            CallPathKind::Embedded => {
                if let Some(deployment) = &call.deployment {
                    self.0.host.open_embedded(&page_origin, deployment);
                }
                call.frame_url = Some(channel.page_url(PageMode::Embedded));
            }
            CallPathKind::Browser if call.browser.is_none() => {
                self.open_browser(call);
            }
            CallPathKind::Browser => {}
            CallPathKind::None => call
                .state
                .fail("Nothing on this computer can carry the call."),
        }
        // A page still connected from before (Retry) loads again at once; a new page loads
        // when it connects.
        if let Some(load) = call.load_message() {
            call.send(&load);
        }
    }

    fn open_browser(&self, call: &mut ActiveCall) {
        let (Some(program), Some(channel)) =
            (call.options.browser_program.clone(), call.channel.as_ref())
        else {
            call.state.fail("No browser was found to hold the call. Install Chromium or Google Chrome, then join again.");
            return;
        };
        let page_url = channel.page_url(PageMode::Browser);
        let spki = call
            .deployment
            .as_ref()
            .and_then(Deployment::pinned_spki_sha256);
        let launch = BrowserLaunch {
            program: &program,
            page_url: &page_url,
            pinned_spki: spki.as_deref(),
            extra_args: &call.options.browser_args,
        };
        match BrowserWindow::open(&launch) {
            Ok(window) => {
                call.browser = Some(window);
                self.watch_browser(call.id);
            }
            Err(error) => call.state.fail(error.to_string()),
        }
    }

    /// Ends the call when the user closes the browser window.
    fn watch_browser(&self, id: u64) {
        let hub = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let mut active = hub.0.active.lock().await;
                let Some(call) = active.as_mut().filter(|call| call.id == id) else {
                    return;
                };
                let exited = match call.browser.as_mut() {
                    Some(window) => window.has_exited(),
                    None => return,
                };
                if exited {
                    tracing::info!("the call's browser window was closed");
                    call.browser = None;
                    drop(active);
                    hub.close(id).await;
                    return;
                }
            }
        });
    }

    /// Feeds the channel's events into the call, in order.
    fn pump(&self, id: u64, mut received: mpsc::UnboundedReceiver<ChannelEvent>) {
        let hub = self.clone();
        tokio::spawn(async move {
            while let Some(event) = received.recv().await {
                if !hub.on_channel_event(id, event).await {
                    return;
                }
            }
        });
    }

    /// `false` once the call is gone.
    async fn on_channel_event(&self, id: u64, event: ChannelEvent) -> bool {
        let mut active = self.0.active.lock().await;
        let Some(call) = active.as_mut().filter(|call| call.id == id) else {
            return false;
        };
        let mut action = None;
        let knockers_before = call.state.view().knocking.len();
        match event {
            ChannelEvent::Connected => {
                tracing::info!("call page connected");
                if let Some(load) = call.load_message() {
                    call.send(&load);
                }
            }
            ChannelEvent::Refused { reason } => {
                tracing::warn!(reason, "refused a connection to the call page channel");
                return true;
            }
            ChannelEvent::Disconnected | ChannelEvent::Message(PageMessage::Closing) => {
                tracing::info!("call page disconnected");
                return true;
            }
            ChannelEvent::Message(PageMessage::Hello { .. }) => return true,
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
        let screen = call.screen();
        let new_knockers: Vec<KnockingParticipant> = screen
            .view
            .knocking
            .iter()
            .skip(knockers_before)
            .cloned()
            .collect();
        if call.browser.is_some() {
            call.send(&CoreMessage::View {
                view: Box::new(screen.view.clone()),
            });
        }
        drop(active);
        self.0.host.changed(&screen);
        for knocker in &new_knockers {
            self.0.host.knocking(knocker, &screen);
        }
        match action {
            Some(CallAction::Dispose) => self.close(id).await,
            Some(CallAction::RejoinWithFreshToken) => self.rejoin(id).await,
            None => {}
        }
        true
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
        match fresh {
            Ok(jitsi) => {
                call.jitsi = jitsi;
                if let Some(load) = call.load_message() {
                    call.send(&load);
                }
            }
            Err(error) => call.state.fail(format!(
                "The video server refused this call's access, and a fresh one could not be fetched: {error}"
            )),
        }
        let screen = call.screen();
        drop(active);
        self.0.host.changed(&screen);
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
        let command = call.state.command(control)?;
        let sent = call.send(&CoreMessage::Command {
            name: command.name.to_owned(),
            args: command.args.clone(),
        });
        if !sent {
            if hang_up {
                // Nothing to tell Jitsi (the page never connected): just close.
                let id = call.id;
                drop(active);
                self.close(id).await;
                return Ok(());
            }
            return Err(CallError::NotJoined {
                action: "do that while the call is reconnecting".into(),
            }
            .into());
        }
        tracing::debug!(command = command.name, "call command sent");
        // Answering a knocker changes the view at once (Jitsi sends no event for it).
        let screen = call.screen();
        drop(active);
        self.0.host.changed(&screen);
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
        match active.as_mut().filter(|call| call.id == id) {
            Some(call) => {
                let audio_only = jitsi.call_type == CallType::Audio;
                call.state = CallState::new(&jitsi.display_name, false, audio_only);
                call.jitsi = jitsi;
            }
            None => {
                return Err(AppError::CallUnavailable {
                    detail: "The call was closed meanwhile. Join it again from the schedule."
                        .into(),
                })
            }
        }
        self.open_and_show(active, checked).await
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

    /// Disposes the conference, the page, the browser window; the UI goes back.
    async fn close(&self, id: u64) {
        let call = {
            let mut active = self.0.active.lock().await;
            if active.as_ref().is_none_or(|call| call.id != id) {
                return;
            }
            active.take()
        };
        let Some(call) = call else {
            return;
        };
        call.send(&CoreMessage::Dispose);
        if call.options.support.path == CallPathKind::Embedded {
            self.0.host.close_embedded();
        }
        tracing::info!("call closed");
        // Give the page a moment to dispose before the channel (and a browser) go away.
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(call);
        self.0.host.closed();
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
