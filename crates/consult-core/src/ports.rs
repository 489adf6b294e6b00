//! The ports through which the core's [`Desktop`](crate::desktop::Desktop) reaches the outside:
//! the UI, native notifications and the call's window. The Tauri shell implements them; the core's
//! tests implement them with recorders. Each returns at once: a port hands work to its own task
//! and never calls back into the core while the core waits on it.

use url::Url;

use consult_types::{
    CallScreen, Dashboard, Decision, FocusAppointment, KioskStatus, Revised, SessionEnded,
};

use crate::alerts::Alert;
use crate::call::deployment::Deployment;

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
