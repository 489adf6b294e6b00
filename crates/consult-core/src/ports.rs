//! The ports through which the core's [`Desktop`](crate::desktop::Desktop) reaches the outside:
//! the UI, native notifications, the call's window, what a kiosk keeps across restarts and the
//! updater. The Tauri shell implements them; the core's tests implement them with recorders.
//! Each returns at once: a port hands work to its own task and never calls back into the core
//! while the core waits on it. [`KioskMemory`] writes a small file before it returns, and the
//! [`Updater`]'s futures are the work itself, run by the core (with its blocking `install`) on
//! a task of their own.

use std::future::Future;
use std::pin::Pin;

use url::Url;

use consult_types::{
    AppError, CallScreen, Dashboard, Decision, FocusAppointment, KioskStatus, Revised, RoomMessage,
    SessionEnded, UpdateBanner,
};

use crate::alerts::Alert;
use crate::call::deployment::Deployment;
use crate::heal::KeptConsent;

/// The UI: what it is told. State reaches it only through these events; commands that change
/// state answer nothing, so a reply can never bring back an older state than an event did.
pub trait Ui: Send + Sync + 'static {
    /// The doctor's whole dashboard after any change.
    fn dashboard_changed(&self, dashboard: &Revised<Dashboard>);
    /// The call's whole state after any change; `None` once the call is over.
    fn call_changed(&self, call: &Revised<Option<CallScreen>>);
    /// The session ended without the user signing out: back to sign-in, with the reason.
    fn session_ended(&self, ended: &SessionEnded);
    /// Kiosk mode's own sign-in changed (signing in, ready, switched off, a problem).
    fn kiosk_changed(&self, status: &Revised<KioskStatus>);
    /// Show this appointment (a notification was clicked or a link opened).
    fn focus_appointment(&self, focus: &FocusAppointment);
    /// Bring the main window to the front.
    fn show(&self);
    /// Load the main window's page again (a kiosk's maintenance screen offers it).
    fn reload(&self);
    /// Kiosk mode's administrator exit, after a right PIN: end the app with the exit code the
    /// kiosk's service does not restart.
    fn leave_kiosk(&self);
    /// Kiosk mode, a remote `restart`: end the app with the exit code its service restarts.
    fn restart_kiosk(&self);
    /// Kiosk mode: the message the clinic sent to the room, or `None` once it is gone.
    fn kiosk_message(&self, message: &Revised<Option<RoomMessage>>);
    /// The in-app update banner after any change.
    fn update_changed(&self, banner: &UpdateBanner);
}

/// What a kiosk keeps across the app's restarts (the shell: a key of its settings file, which
/// holds nothing secret): the patient's camera and microphone choice for the visit under way.
pub trait KioskMemory: Send + Sync + 'static {
    /// What was kept, if anything (an unreadable entry is nothing).
    fn kept_consent(&self) -> Option<KeptConsent>;
    /// Keeps `consent`, or forgets what was kept (`None`).
    fn keep_consent(&self, consent: Option<&KeptConsent>) -> Result<(), AppError>;
}

/// A future the [`Updater`] port returns.
pub type UpdateFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, UpdateError>> + Send + 'a>>;

/// In-app updates: the shell's updater (Tauri's plugin: the endpoint over HTTPS with the app's
/// trusted roots and `server_ca_file`, minisign signatures). The core decides when each runs
/// ([`crate::updates`]); one call at a time.
pub trait Updater: Send + Sync + 'static {
    /// Asks the endpoint whether a newer version than this one is offered: its version.
    fn check(&self) -> UpdateFuture<'_, Option<String>>;
    /// Downloads what the last check offered and verifies its signature with the app's public
    /// key; the verified bytes are kept for [`Updater::install`]. Returns their version.
    fn download(&self) -> UpdateFuture<'_, String>;
    /// Installs the verified download (a `.deb`: `dpkg -i` through pkexec or sudo). The bytes
    /// are verified again first. Blocks until the installer is done.
    fn install(&self) -> Result<(), UpdateError>;
    /// Ends the app and starts the installed version.
    fn restart(&self);
}

/// Why an update step failed, in words for the log, the diagnostics and the banner (never a
/// secret: no key, no URL query).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error("the update server could not be reached: {0}")]
    Unreachable(String),
    #[error("the update server's answer was not usable: {0}")]
    BadAnswer(String),
    #[error("the update's signature does not match (not installed): {0}")]
    BadSignature(String),
    #[error("the update could not be installed: {0}")]
    Install(String),
    #[error("{0}")]
    Other(String),
}

/// Native notifications.
pub trait Notifier: Send + Sync + 'static {
    fn show(&self, alert: &Alert);
    /// Takes back the notification shown for `alert_id` (what it asked about is settled);
    /// nothing happens if it is not on screen.
    fn withdraw(&self, alert_id: &str);
}

/// The main window's part in an embedded call: framing the call page and the Jitsi origin,
/// trusting the deployment's pinned certificate, granting media, and taking all that back.
pub trait CallWindow: Send + Sync + 'static {
    fn open_embedded(&self, call_page: &Url, deployment: &Deployment);
    fn close_embedded(&self);
    /// Clears what the main webview kept (cookies, storage, caches): a kiosk does it after
    /// each visit, so nothing of one patient's call stays for the next.
    fn forget_visit(&self);
}

/// What a click on a native notification asks for; the shell maps the platform's action keys
/// to these, and the core carries them out ([`Desktop::act`](crate::desktop::Desktop::act)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationAction {
    /// Show the main window on this appointment.
    Open {
        appointment_id: String,
        session_id: Option<String>,
    },
    /// Admit or decline a join request without opening the app.
    Decide {
        join_request_id: String,
        decision: Decision,
    },
    /// Admit or deny someone knocking in the running call's lobby.
    AnswerKnocking {
        participant_id: String,
        approved: bool,
    },
}
