//! A kiosk's screen stays awake while a visit's call runs (issue 13 item 5): no blanking, no
//! lock screen in the middle of a consultation.
//!
//! The shell learns the call's state through the core's `Ui::call_changed` port (`ui.rs`).
//! [`keep_awake`] says whether the call shown needs the screen, and [`Awake`] what to do about
//! the session's inhibition; both are pure. The I/O is one task that carries the steps out in
//! the order they were asked for, so an inhibition is never taken twice: on Linux the
//! freedesktop idle-inhibit interface on the session bus, `org.freedesktop.ScreenSaver`
//! `Inhibit(application_name, reason) → cookie` and `UnInhibit(cookie)` at
//! `/org/freedesktop/ScreenSaver` (GNOME, KDE, Xfce and others implement it). It is released
//! when the call ends and when the app exits ([`on_run_event`]). The connection that took it
//! stays open while it is held: services may drop an inhibition whose owner left the bus, which
//! is all that releases it after a crash or a kill (not checked against each desktop here).
//!
//! A session without that service (cage has none) is logged once at info and is not an error:
//! cage blanks nothing by itself (README, "Installing a kiosk"). Only a kiosk keeps its screen
//! awake (the state is managed in kiosk mode only); a doctor's computer keeps its own settings.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use tauri::{AppHandle, Manager, RunEvent, Runtime};
use tokio::sync::mpsc;

use consult_types::CallScreen;

/// `application_name` of the inhibition, as the desktop lists it.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // the D-Bus inhibitor's
pub const APPLICATION_NAME: &str = "Consult";
/// `reason` of the inhibition.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub const REASON: &str = "A video visit is in progress";
/// How long the app's exit waits for the inhibition's release.
const EXIT_PATIENCE: Duration = Duration::from_secs(2);

/// Whether the call shown needs the screen awake: from joining until it ended or failed, on
/// either carrier (the embedded frame or the browser window).
pub fn keep_awake(call: Option<&CallScreen>) -> bool {
    call.is_some_and(|screen| !screen.view.phase.is_over())
}

/// What to do about the session's inhibition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Nothing,
    /// Ask the session for an inhibition; report its cookie with [`Awake::taken`].
    Take,
    /// Give back the inhibition of this cookie.
    Release(u32),
}

/// The screen's wish and the inhibition held, one at most.
#[derive(Debug, Default)]
pub struct Awake {
    /// Whether the screen should stay awake, as last told.
    wished: bool,
    /// The cookie of the inhibition held.
    held: Option<u32>,
}

impl Awake {
    /// The wish is now `wish`: what to do. An inhibition is asked for once per call (when the
    /// wish begins), so a session that refused or lacks the service is not asked again at every
    /// change of the call, only at the next call. A release counts as done once asked for: a
    /// session that fails it has no inhibition of ours to keep either.
    pub fn wish(&mut self, wish: bool) -> Step {
        let begins = wish && !self.wished;
        self.wished = wish;
        match (wish, self.held) {
            (true, None) if begins => Step::Take,
            (false, Some(cookie)) => {
                self.held = None;
                Step::Release(cookie)
            }
            _ => Step::Nothing,
        }
    }

    /// The session answered a [`Step::Take`] with `cookie`.
    pub fn taken(&mut self, cookie: u32) {
        debug_assert!(self.held.is_none(), "an inhibition is never held twice");
        self.held = Some(cookie);
    }

    /// The cookie of the inhibition held, if any.
    #[cfg(test)]
    pub fn held(&self) -> Option<u32> {
        self.held
    }
}

/// Why the session could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No session bus, or no idle-inhibit service on it: nothing to keep awake with, and nothing
    /// that blanks by that route either.
    Missing(String),
    /// The service is there and refused, or the bus failed.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Other(String),
}

/// The D-Bus error names that mean "no such service here" rather than a failure of one: no
/// owner of the name (and none to activate), or an owner without that object or interface.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub fn missing_service(error_name: &str) -> bool {
    matches!(
        error_name,
        "org.freedesktop.DBus.Error.ServiceUnknown"
            | "org.freedesktop.DBus.Error.NameHasNoOwner"
            | "org.freedesktop.DBus.Error.UnknownObject"
            | "org.freedesktop.DBus.Error.UnknownInterface"
            | "org.freedesktop.DBus.Error.UnknownMethod"
    )
}

enum Request {
    Wish(bool),
    /// Release whatever is held, answer, and stop: nothing is taken after the app's exit.
    Exit(std_mpsc::Sender<()>),
}

/// Managed in kiosk mode only: keeps the screen awake while a call runs.
pub struct StayAwake {
    /// To the task that talks to the session, in order.
    requests: mpsc::UnboundedSender<Request>,
}

impl StayAwake {
    /// Starts the task; it connects to the session bus at the first call.
    pub fn start() -> StayAwake {
        let (requests, mut queue) = mpsc::unbounded_channel();
        tauri::async_runtime::spawn(async move {
            let mut awake = Awake::default();
            let mut session = Session::default();
            while let Some(request) = queue.recv().await {
                match request {
                    Request::Wish(wish) => session.carry_out(&mut awake, wish).await,
                    Request::Exit(done) => {
                        session.carry_out(&mut awake, false).await;
                        let _ = done.send(());
                        return;
                    }
                }
            }
        });
        StayAwake { requests }
    }

    /// The call shown changed. Returns at once: the core calls its ports with the call's state
    /// locked.
    pub fn call_changed(&self, call: Option<&CallScreen>) {
        if self.requests.send(Request::Wish(keep_awake(call))).is_err() {
            tracing::debug!("kiosk: the screen's task is gone (the app is exiting)");
        }
    }

    /// Releases the inhibition held, if any, waiting at most [`EXIT_PATIENCE`].
    pub fn release_before_exit(&self) {
        let (done, finished) = std_mpsc::channel();
        if self.requests.send(Request::Exit(done)).is_err() {
            return;
        }
        if finished.recv_timeout(EXIT_PATIENCE).is_err() {
            tracing::warn!(
                "kiosk: the screen's inhibition was not released before the exit; it ends with \
                 the app's bus connection, where the session drops such inhibitions"
            );
        }
    }
}

/// The app's run events: its exit releases the inhibition held.
pub fn on_run_event<R: Runtime>(app: &AppHandle<R>, event: &RunEvent) {
    if let RunEvent::Exit = event {
        if let Some(awake) = app.try_state::<StayAwake>() {
            awake.release_before_exit();
        }
    }
}

/// The task's side: the bus, and whether a missing service was already said.
#[derive(Default)]
struct Session {
    bus: bus::Bus,
    missing_told: bool,
}

impl Session {
    async fn carry_out(&mut self, awake: &mut Awake, wish: bool) {
        match awake.wish(wish) {
            Step::Nothing => {}
            Step::Take => match self.bus.inhibit().await {
                Ok(cookie) => {
                    awake.taken(cookie);
                    tracing::info!(cookie, "kiosk: the screen stays awake during the call");
                }
                Err(Failure::Missing(why)) if !self.missing_told => {
                    self.missing_told = true;
                    tracing::info!(
                        %why,
                        "kiosk: the session has no screen saver to hold off \
                         (org.freedesktop.ScreenSaver); nothing to do"
                    );
                }
                Err(Failure::Missing(why)) => {
                    tracing::debug!(%why, "kiosk: still no screen saver service")
                }
                Err(Failure::Other(error)) => {
                    tracing::warn!(%error, "kiosk: the screen could not be kept awake")
                }
            },
            Step::Release(cookie) => match self.bus.uninhibit(cookie).await {
                Ok(()) => tracing::info!(cookie, "kiosk: the screen may sleep again"),
                Err(Failure::Missing(error) | Failure::Other(error)) => {
                    tracing::warn!(cookie, %error, "kiosk: the screen's inhibition could not be released")
                }
            },
        }
    }
}

#[cfg(target_os = "linux")]
mod bus {
    use zbus::Connection;

    use super::{missing_service, Failure, APPLICATION_NAME, REASON};

    const BUS_NAME: &str = "org.freedesktop.ScreenSaver";
    const OBJECT_PATH: &str = "/org/freedesktop/ScreenSaver";
    const INTERFACE: &str = "org.freedesktop.ScreenSaver";

    /// The session bus, once connected; kept while the app runs, so an inhibition's owner stays.
    #[derive(Default)]
    pub struct Bus {
        connection: Option<Connection>,
    }

    impl Bus {
        pub async fn inhibit(&mut self) -> Result<u32, Failure> {
            let connection = self.connection().await?;
            let reply = connection
                .call_method(
                    Some(BUS_NAME),
                    OBJECT_PATH,
                    Some(INTERFACE),
                    "Inhibit",
                    &(APPLICATION_NAME, REASON),
                )
                .await
                .map_err(failure)?;
            reply
                .body()
                .deserialize::<u32>()
                .map_err(|error| Failure::Other(format!("Inhibit answered: {error}")))
        }

        pub async fn uninhibit(&mut self, cookie: u32) -> Result<(), Failure> {
            let connection = self.connection().await?;
            connection
                .call_method(
                    Some(BUS_NAME),
                    OBJECT_PATH,
                    Some(INTERFACE),
                    "UnInhibit",
                    &(cookie,),
                )
                .await
                .map(drop)
                .map_err(failure)
        }

        async fn connection(&mut self) -> Result<Connection, Failure> {
            if let Some(connection) = &self.connection {
                return Ok(connection.clone());
            }
            let connection = Connection::session()
                .await
                .map_err(|error| Failure::Missing(format!("no session bus: {error}")))?;
            self.connection = Some(connection.clone());
            Ok(connection)
        }
    }

    fn failure(error: zbus::Error) -> Failure {
        match &error {
            zbus::Error::MethodError(name, _, _) if missing_service(name.as_str()) => {
                Failure::Missing(error.to_string())
            }
            _ => Failure::Other(error.to_string()),
        }
    }
}

/// Elsewhere (Windows' `SetThreadExecutionState`, macOS' power assertions) not done yet: kiosks
/// run on Linux.
#[cfg(not(target_os = "linux"))]
mod bus {
    use super::Failure;

    #[derive(Default)]
    pub struct Bus;

    impl Bus {
        pub async fn inhibit(&mut self) -> Result<u32, Failure> {
            Err(Failure::Missing(
                "keeping the screen awake is implemented on Linux only".into(),
            ))
        }

        pub async fn uninhibit(&mut self, _cookie: u32) -> Result<(), Failure> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kiosk_shell::test_call as call;
    use consult_types::{CallPathKind, CallPhase, EndReason};

    #[test]
    fn a_running_call_on_either_carrier_keeps_the_screen_awake() {
        assert!(!keep_awake(None));
        for path in [CallPathKind::Embedded, CallPathKind::Browser] {
            for phase in [CallPhase::Joining, CallPhase::Joined, CallPhase::Rejoining] {
                assert!(keep_awake(Some(&call(path, phase.clone()))), "{phase:?}");
            }
            for over in [
                CallPhase::Ended {
                    reason: EndReason::Left,
                },
                CallPhase::Failed {
                    message: "no".into(),
                },
            ] {
                assert!(!keep_awake(Some(&call(path, over.clone()))), "{over:?}");
            }
        }
    }

    #[test]
    fn a_call_takes_one_inhibition_and_its_end_releases_it() {
        let mut awake = Awake::default();
        assert_eq!(awake.wish(false), Step::Nothing, "no call, nothing held");
        assert_eq!(awake.wish(true), Step::Take);
        awake.taken(7);
        // Every later change of the running call (joined, muted, a participant…).
        for _ in 0..3 {
            assert_eq!(awake.wish(true), Step::Nothing, "never held twice");
        }
        assert_eq!(awake.held(), Some(7));
        assert_eq!(awake.wish(false), Step::Release(7));
        assert_eq!(awake.held(), None);
        assert_eq!(awake.wish(false), Step::Nothing, "released once");
        // The next visit takes a new one.
        assert_eq!(awake.wish(true), Step::Take);
        awake.taken(8);
        assert_eq!(awake.wish(false), Step::Release(8));
    }

    #[test]
    fn a_session_without_the_service_is_asked_once_per_call() {
        let mut awake = Awake::default();
        assert_eq!(awake.wish(true), Step::Take);
        // The take failed: nothing is recorded, and the call's changes do not ask again.
        assert_eq!(awake.wish(true), Step::Nothing);
        assert_eq!(awake.wish(false), Step::Nothing, "nothing to release");
        assert_eq!(awake.wish(true), Step::Take, "the next call asks again");
    }

    #[test]
    fn a_call_ending_while_the_take_is_under_way_still_releases() {
        // The task carries steps out in order: the end's wish is read after the take answered.
        let mut awake = Awake::default();
        assert_eq!(awake.wish(true), Step::Take);
        awake.taken(3);
        assert_eq!(awake.wish(false), Step::Release(3));
    }

    #[test]
    fn only_an_absent_service_is_missing() {
        for name in [
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
            "org.freedesktop.DBus.Error.UnknownObject",
            "org.freedesktop.DBus.Error.UnknownInterface",
            "org.freedesktop.DBus.Error.UnknownMethod",
        ] {
            assert!(missing_service(name), "{name}");
        }
        for name in [
            "org.freedesktop.DBus.Error.AccessDenied",
            "org.freedesktop.DBus.Error.InvalidArgs",
            "org.freedesktop.DBus.Error.Failed",
            "org.freedesktop.DBus.Error.NoReply",
        ] {
            assert!(!missing_service(name), "{name}");
        }
    }
}
