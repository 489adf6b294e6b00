//! The IPC surface between the Yew UI and the desktop core: command names, their replies and the
//! one error type every command can fail with. The UI deserializes a failed command into the same
//! [`AppError`] the core raised, and shows its `Display` text.

use serde::{Deserialize, Serialize};

use crate::api::User;
use crate::clinic::{Appointment, DeviceCommandKind, DeviceStatus, JoinRequest};

/// Names of the core's IPC commands, shared so a typo is a compile error in the UI.
///
/// [`commands::ALL`] is the one list of them: `src-tauri/build.rs` declares it to Tauri's
/// permission system, a test in `src-tauri` checks that the `generate_handler!` list matches it,
/// and `crates/consult-types/tests/commands.rs` checks the capability file and the UI against it.
pub mod commands {
    /// Defines each name as a constant and [`ALL`] from the same lines, so the two cannot drift.
    macro_rules! commands {
        ($($(#[$doc:meta])* $name:ident = $wire:literal;)+) => {
            $($(#[$doc])* pub const $name: &str = $wire;)+

            /// Every command, in declaration order. Each constant is its name in upper case
            /// (checked by the UI test, which looks for `commands::NAME`).
            pub const ALL: &[&str] = &[$($name),+];
        };
    }

    commands! {
        STARTUP = "startup";
        /// The first screen after start-up has been painted: [`crate::FirstPaintArgs`] → `()`.
        /// Logged with the time since the process started (start-up timing; `scripts/bench`
        /// reads it for the cold-start figure).
        FIRST_PAINT = "first_paint";
        LOGIN = "login";
        LOGOUT = "logout";
        /// The doctor's schedule, pending join requests and connection state: [`Dashboard`].
        ///
        /// [`Dashboard`]: crate::Dashboard
        DASHBOARD = "dashboard";
        /// Admit or decline one join request: [`DecideArgs`] → [`Dashboard`].
        ///
        /// [`DecideArgs`]: crate::DecideArgs
        /// [`Dashboard`]: crate::Dashboard
        DECIDE_JOIN_REQUEST = "decide_join_request";
        /// Admit every pending join request (optionally of one appointment): [`AdmitAllArgs`].
        ///
        /// [`AdmitAllArgs`]: crate::AdmitAllArgs
        ADMIT_ALL = "admit_all";
        /// Ask to join, stop waiting, or put a declined request away: [`WaitingRoomAction`] →
        /// `()`; the waiting room follows in the dashboard.
        ///
        /// [`WaitingRoomAction`]: crate::WaitingRoomAction
        WAITING_ROOM = "waiting_room";
        /// Kiosk mode: sends the kiosk's status again as a `kiosk-changed` event → `()`.
        KIOSK = "kiosk";
        /// Kiosk mode: a PIN typed on the administrator's PIN pad: [`crate::KioskUnlockArgs`] →
        /// `()`; a right one opens the maintenance screen (a `kiosk-changed` event).
        KIOSK_UNLOCK = "kiosk_unlock";
        /// Kiosk mode, maintenance screen open: [`crate::MaintenanceAction`] → `()`.
        KIOSK_MAINTENANCE = "kiosk_maintenance";
        /// Kiosk mode: the room message was tapped away → `()` (a `kiosk-message` event).
        KIOSK_DISMISS_MESSAGE = "kiosk_dismiss_message";
        /// The user did something (key, pointer); resets the idle sign-out timer. Throttled by the UI.
        USER_ACTIVE = "user_active";
        /// The page is alive (its event loop and IPC work) → `Option<u64>`: milliseconds until
        /// the next pulse while a service manager's watchdog watches the app, `None` to stop.
        UI_PULSE = "ui_pulse";
        /// The settings as the user may see and change them: [`SettingsView`].
        ///
        /// [`SettingsView`]: crate::SettingsView
        SETTINGS = "settings";
        /// Saves the user's changes: [`SettingsChange`] → [`SettingsView`].
        ///
        /// [`SettingsChange`]: crate::SettingsChange
        /// [`SettingsView`]: crate::SettingsView
        SAVE_SETTINGS = "save_settings";
        /// How this machine would carry a call, known before Join: [`crate::CallSupport`].
        CALL_SUPPORT = "call_support";
        /// The plain-text diagnostics report for IT support (no secret in it): → `String`.
        DIAGNOSTICS = "diagnostics";
        /// The update banner: [`crate::UpdateAction`] → `()`. `Show` sends it again as an
        /// `update-changed` event, `Later` hides it until the next check, `Restart` installs the
        /// verified update and restarts the app (refused during a call).
        UPDATE = "update";
        /// Joins an appointment's call: [`crate::JoinCallArgs`] → [`crate::CallScreen`].
        JOIN_CALL = "join_call";
        /// One control of the running call: [`crate::CallControl`] → `()`. The new state arrives as
        /// a `call-changed` event once Jitsi confirms it.
        CALL_CONTROL = "call_control";
        /// The running call, if any (after a reload of the page): `Option<`[`crate::CallScreen`]`>`.
        CALL_SCREEN = "call_screen";
        /// Loads a failed call again with a fresh token: → [`crate::CallScreen`].
        RETRY_CALL = "retry_call";
        /// Leaves the call (hangs up if still in it) and disposes it: → `()`.
        LEAVE_CALL = "leave_call";
        /// Administrators: claims the enrolment code a kiosk shows, naming its place:
        /// [`crate::ClaimKioskArgs`] → the enrolled kiosk, [`crate::DeviceStatus`]. The fleet
        /// (`Dashboard::kiosks`) follows as an event.
        CLAIM_KIOSK = "claim_kiosk";
        /// Administrators: one command to one kiosk, over its event stream:
        /// [`crate::KioskCommandArgs`] → the command's id, which the kiosk lists in its next
        /// heartbeat once carried out (`DeviceStatus::last_report`'s `acknowledged`).
        SEND_KIOSK_COMMAND = "send_kiosk_command";
    }
}

/// Events the core emits to the UI (Tauri events on the main window). The dashboard and the
/// call reach the UI only this way, as [`super::Revised`] states: the commands that change them
/// answer nothing.
pub mod events {
    /// Payload `Revised<`[`super::Dashboard`]`>`: the whole state after any change.
    pub const DASHBOARD_CHANGED: &str = "dashboard-changed";
    /// Payload `Revised<Option<`[`crate::CallScreen`]`>>`: the call's whole state after any
    /// change; `None` once it is over and disposed (the UI goes back to the schedule).
    pub const CALL_CHANGED: &str = "call-changed";
    /// Payload `Revised<`[`super::KioskStatus`]`>`: kiosk mode's own sign-in, after any change.
    pub const KIOSK_CHANGED: &str = "kiosk-changed";
    /// Payload [`super::SessionEnded`]: back to the login screen with the reason shown.
    pub const SESSION_ENDED: &str = "session-ended";
    /// Payload [`super::FocusAppointment`]: a notification or deep link asks for an appointment.
    pub const FOCUS_APPOINTMENT: &str = "focus-appointment";
    /// Payload [`super::UpdateBanner`]: the in-app update banner after any change.
    pub const UPDATE_CHANGED: &str = "update-changed";
    /// Payload `Revised<Option<`[`super::RoomMessage`]`>>`: kiosk mode, a message the clinic
    /// sent to the room (`showMessage`), or `None` once it is gone.
    pub const KIOSK_MESSAGE: &str = "kiosk-message";
}

/// The in-app update banner: hidden, or a verified update ready to install, being installed, or
/// whose install failed (the app keeps running). Never shown during a call or on a kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum UpdateBanner {
    Hidden,
    /// "Consult <version> is ready. Restart to update / Later".
    Ready {
        version: String,
    },
    Installing {
        version: String,
    },
    /// What went wrong and what to do.
    InstallFailed {
        version: String,
        message: String,
    },
}

/// Arguments of `update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UpdateAction {
    /// Send the banner again (a page that just started listening).
    Show,
    /// Hide the banner until the next check.
    Later,
    /// Install the verified update, then restart the app.
    Restart,
}

/// Arguments of the `login` command.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginArgs {
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for LoginArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginArgs")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Who is signed in, as the UI may know it: no tokens ever cross IPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub user: User,
    pub display_name: String,
    /// Whether the sign-in is kept in the OS keychain for the next start.
    pub remembered: bool,
    /// Why the sign-in is not remembered, when it is not.
    pub remember_problem: Option<String>,
}

/// What the UI needs to draw its first screen, in one reply, so the screen is drawn once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartupState {
    /// The settings in force, with what is preset (the sign-in card shows the clinic server
    /// field only when it is not).
    pub settings: SettingsView,
    /// Set when a saved sign-in was restored from the keychain.
    pub session: Option<SessionView>,
    /// Something the user should know before signing in (e.g. a saved sign-in that expired).
    pub notice: Option<String>,
    /// Kiosk mode (set by the administrator): no login form; the kiosk signs itself in and its
    /// status follows as `kiosk-changed` events. `None` for everyone else.
    pub kiosk: Option<KioskSetup>,
}

/// What a kiosk's screens need to know of its configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KioskSetup {
    /// `[kiosk] show_first_name`: the clinic lets the idle screen greet the patient of a visit
    /// about to start by first name (never more of the name).
    pub shows_first_name: bool,
    /// `[kiosk] clinic_name`: shown on the idle screen.
    #[serde(default)]
    pub clinic_name: Option<String>,
}

/// Kiosk mode's own sign-in, as its screen shows it. Nothing here names a patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum KioskStatus {
    /// Not enrolled yet: the one-time code an administrator claims in the app's Kiosks screen,
    /// and the same code as a QR code (rows of modules, `1` dark). Not a secret: the kiosk
    /// alone can pick up what the claim makes.
    #[serde(rename_all = "camelCase")]
    Enrolling {
        code: String,
        qr: Vec<String>,
        valid_for_secs: u64,
    },
    /// Signing in with the device's credential.
    SigningIn,
    /// Signed in: the kiosk waits for its visits, or is in one.
    Ready,
    /// In a visit's call, still muted: the doctor is in, and the microphone and camera go on
    /// when the countdown ends (consent before the camera).
    #[serde(rename_all = "camelCase")]
    CameraSoon { doctor: String, seconds: u64 },
    /// A visit is on but its call is lost (the network, the clinic server or Jitsi cannot be
    /// reached, or the call's window died) and no call runs: the kiosk joins again by itself
    /// as soon as it can, inside the visit's window. Never shown over a running call.
    Offline,
    /// The clinic switched this kiosk off; it tries again by itself.
    #[serde(rename_all = "camelCase")]
    SwitchedOff { retry_in_secs: u64 },
    /// It cannot sign in: what happened and what to do; it tries again by itself.
    #[serde(rename_all = "camelCase")]
    Problem { message: String, retry_in_secs: u64 },
    /// Staff typed the exit PIN: the maintenance screen (exit, reload, self-test), until it is
    /// closed or a few minutes pass. Visits go on behind it.
    #[serde(rename_all = "camelCase")]
    Maintenance {
        /// The PIN was checked on the kiosk, against the hash fetched from the server, because
        /// the server could not be reached.
        checked_offline: bool,
        /// The last self-test's results, once one ran.
        self_test: Option<Vec<SelfTestCheck>>,
    },
}

/// One check of the kiosk's self-test, as the maintenance screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelfTestCheck {
    pub name: String,
    pub passed: bool,
    /// Not tested (no such device, or the test could not run); `passed` is then true.
    #[serde(default)]
    pub skipped: bool,
    /// What was found, or what to do.
    pub detail: String,
}

/// Arguments of `first_paint`: the page's clock (`Date.now()`, milliseconds since the Unix epoch)
/// when the first screen's frame had been painted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirstPaintArgs {
    pub at_unix_ms: f64,
}

/// Arguments of `kiosk_unlock`. Debug never shows the PIN.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KioskUnlockArgs {
    pub pin: String,
}

impl std::fmt::Debug for KioskUnlockArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KioskUnlockArgs(<redacted>)")
    }
}

/// What staff chose on the maintenance screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceAction {
    /// End the app with the exit code the kiosk's service does not restart.
    Exit,
    /// Load the kiosk's screen again.
    Reload,
    /// Check the server, the sign-in, how calls run here, the camera and the microphone.
    SelfTest,
    /// Back to the patient's screens.
    Close,
}

/// A message the clinic sent to a kiosk's room (`showMessage`), shown over its screen until
/// someone taps it away or it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomMessage {
    /// The command's id: tells one message from the next with the same words.
    pub id: String,
    pub text: String,
}

impl KioskStatus {
    /// What the kiosk says while the clinic has it switched off.
    pub const SWITCHED_OFF: &'static str = "This kiosk has been switched off by the clinic.";
    /// What the kiosk says to the room while its visit's call is lost (calm: nothing to do).
    pub const OFFLINE: &'static str = "We lost the connection. Reconnecting…";
    /// Under it: the patient need not do anything.
    pub const OFFLINE_DETAIL: &'static str =
        "Please stay here. Your visit will continue on this screen by itself.";
}

/// A state the core sends as an event, numbered in the order the core changed it, so the UI can
/// drop one that arrives after a newer one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revised<T> {
    pub revision: u64,
    pub value: T,
}

/// The doctor's view of the clinic, rebuilt by the core from the API and the push stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Today's and upcoming appointments, earliest first (cancelled and ended ones left out).
    pub appointments: Vec<Appointment>,
    /// Pending join requests to decide (the doctor's), oldest first.
    pub join_requests: Vec<JoinRequest>,
    /// The user's own requests to join (an agency, or a patient behind the waiting room): the
    /// latest per appointment, until settled here. The UI shows the waiting room for them.
    pub own_requests: Vec<OwnRequest>,
    pub connection: Connection,
    /// The clinic's kiosks, for an administrator only (`None` for everyone else), by location:
    /// loaded with `GET /devices`, then kept live by `device_status` events.
    #[serde(default)]
    pub kiosks: Option<Vec<DeviceStatus>>,
}

/// One of the user's own requests to join, as the waiting room shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnRequest {
    /// `pending` (waiting), `rejected` (declined, until dismissed) or `approved` (let in; the
    /// call opens by itself, and the request leaves the list once it did).
    pub request: JoinRequest,
    /// Why the call did not open after the approval, when it did not.
    pub join_failed: Option<String>,
}

/// What the user does in the waiting room: the `waiting_room` command's argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum WaitingRoomAction {
    /// Ask the doctor to be let into this appointment's call.
    #[serde(rename_all = "camelCase")]
    Ask { appointment_id: String },
    /// Stop waiting: the request is withdrawn on the server.
    #[serde(rename_all = "camelCase")]
    Withdraw { join_request_id: String },
    /// Put a declined request (or an approval whose call did not open) away.
    #[serde(rename_all = "camelCase")]
    Dismiss { join_request_id: String },
}

/// The live connection to the clinic server's push stream, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Connection {
    Connecting,
    Online,
    /// Lost; the core retries by itself in `retry_in_secs`. `reason` says what happened.
    Offline {
        reason: String,
        retry_in_secs: u64,
    },
}

/// Arguments of `decide_join_request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecideArgs {
    pub join_request_id: String,
    pub decision: Decision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Admit,
    Decline,
}

/// Arguments of `admit_all`: every pending request, or only those of one appointment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmitAllArgs {
    pub appointment_id: Option<String>,
}

/// Arguments of `claim_kiosk`: the code the kiosk shows (dash and case do not matter) and where
/// the kiosk stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimKioskArgs {
    pub code: String,
    pub location: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// Arguments of `send_kiosk_command`: a command from the closed list, and for `showMessage`
/// the text to show the room (1 to 280 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KioskCommandArgs {
    pub device_id: String,
    pub command: DeviceCommandKind,
    #[serde(default)]
    pub message: Option<String>,
}

/// Why the session ended without the user signing out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEnded {
    /// Shown on the login screen, e.g. "Signed out after 15 minutes without activity."
    pub reason: String,
}

/// Which appointment to show, from a notification click or a `consult://join/<sessionId>` link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FocusAppointment {
    pub appointment_id: Option<String>,
    pub session_id: Option<String>,
}

/// The user's settings, non-secret only, with the ones an administrator preset (config file or
/// environment) listed in `preset`: the UI shows those read-only and never asks for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub server_url: String,
    pub notifications: NotificationPrefs,
    /// Sign out after this long without activity (the UI shows minutes); 0 turns it off.
    pub idle_logoff_secs: u64,
    /// Names of the fields above that are preset (`serverUrl`, `idleLogoffSecs`,
    /// `notifications.showPatientNames`, …).
    pub preset: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPrefs {
    /// Native notifications at all.
    pub enabled: bool,
    pub join_requests: bool,
    /// "Video call ready" and "starting now".
    pub calls: bool,
    pub reminders: bool,
    /// Off on shared screens: texts say "a patient" instead of the name.
    pub show_patient_names: bool,
}

impl Default for NotificationPrefs {
    fn default() -> NotificationPrefs {
        NotificationPrefs {
            enabled: true,
            join_requests: true,
            calls: true,
            reminders: true,
            show_patient_names: true,
        }
    }
}

/// Arguments of `save_settings`: only what the user changed; preset fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsChange {
    pub server_url: Option<String>,
    pub notifications: Option<NotificationPrefs>,
    pub idle_logoff_secs: Option<u64>,
}

/// Every way a command can fail, with a message that says what happened and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AppError {
    #[error("The email or password is not correct. Check them and try again.")]
    InvalidCredentials,

    #[error("Cannot reach the clinic server at {server}. Check your network connection; if it is working, ask your clinic's IT whether the server is running.")]
    ServerUnreachable { server: String },

    /// TLS verification refused the server's certificate (`reason` finishes the sentence).
    #[error("The clinic server at {server} presented a certificate this computer does not trust: {reason}. The app did not connect. Tell your clinic's IT: if the clinic uses its own certificate authority (or a network proxy that inspects HTTPS), they must install it in this computer's system certificate store or set server_ca_file in the app's configuration to it; otherwise the server's certificate must be fixed. Do not work around this warning.")]
    ServerUntrusted { server: String, reason: String },

    #[error("The clinic server at {server} did not answer within {seconds} seconds. Try again; if it keeps happening, tell your clinic's IT.")]
    ServerTimeout { server: String, seconds: u64 },

    #[error("The clinic server had an internal problem (HTTP {status}). Try again in a moment; if it keeps happening, tell your clinic's IT.")]
    ServerFailed { status: u16 },

    #[error("The clinic server sent an answer this app does not understand ({detail}). Check that the configured server URL points to a Consult clinic server.")]
    UnexpectedResponse { detail: String },

    #[error("Too many attempts. Wait {retry_after_secs} seconds and try again.")]
    RateLimited { retry_after_secs: u64 },

    /// Any other refusal, with the server's own error code (`reason`) and message.
    #[error("The clinic server refused the request: {message}")]
    Rejected {
        status: u16,
        reason: String,
        message: String,
    },

    #[error("Your session has ended. Please sign in again.")]
    SessionExpired,

    #[error("You are not signed in.")]
    NotSignedIn,

    /// Signed out on this computer, but the server may still hold the session (until it expires).
    #[error("The clinic server could not be told about the sign-out, so the session may stay valid there until it expires. {cause}")]
    SignOutNotConfirmed { cause: String },

    /// A wrong exit PIN on a kiosk.
    #[error("That PIN is not right. {tries_left} more wrong PINs lock the exit.")]
    WrongPin { tries_left: u32 },

    /// The exit PIN cannot be checked: no server, and no hash fetched from it yet.
    #[error("The PIN cannot be checked: the clinic server cannot be reached, and this kiosk has not fetched the exit PIN from it since it started. Check the kiosk's network, or ask the clinic's IT.")]
    ExitPinUnknown,

    #[error("The system keychain could not be used: {detail}")]
    Keychain { detail: String },

    #[error("The app's configuration is not valid: {detail}")]
    Config { detail: String },

    /// "Restart to update" cannot run now (`detail` says why).
    #[error("{detail}")]
    Update { detail: String },

    /// The core refused a call control (not joined yet, moderator only, …).
    #[error("{refusal}")]
    CallRefused { refusal: crate::CallError },

    /// No call can start: none running, one already running, or no way to carry it here.
    #[error("{detail}")]
    CallUnavailable { detail: String },

    /// The clinic server refused a fleet action (claiming a code, a command to a kiosk);
    /// `detail` says why and what to do.
    #[error("{detail}")]
    FleetRefused { detail: String },

    #[error("Something went wrong inside the app: {detail}")]
    Internal { detail: String },
}

impl From<crate::CallError> for AppError {
    fn from(refusal: crate::CallError) -> AppError {
        AppError::CallRefused { refusal }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_are_unique_and_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for name in commands::ALL {
            assert!(seen.insert(*name), "{name} is listed twice");
            // Tauri turns `decide_join_request` into the permission `allow-decide-join-request`.
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name} is not snake_case"
            );
        }
    }

    #[test]
    fn errors_cross_ipc_with_a_stable_code_and_round_trip() {
        let error = AppError::ServerUnreachable {
            server: "https://clinic.example".into(),
        };
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "server_unreachable", "server": "https://clinic.example"})
        );
        let back: AppError = serde_json::from_value(json).unwrap();
        assert_eq!(back, error);

        let unit = serde_json::to_value(AppError::InvalidCredentials).unwrap();
        assert_eq!(unit, serde_json::json!({"code": "invalid_credentials"}));
    }

    #[test]
    fn messages_say_what_to_do() {
        let text = AppError::ServerFailed { status: 500 }.to_string();
        assert!(text.contains("HTTP 500") && text.contains("Try again"));
        let text = AppError::ServerUnreachable {
            server: "https://x".into(),
        }
        .to_string();
        assert!(text.contains("https://x") && text.contains("network"));
        let text = AppError::ServerUntrusted {
            server: "https://x".into(),
            reason: "it has expired".into(),
        }
        .to_string();
        assert!(text.contains("https://x") && text.contains("it has expired"));
        assert!(text.contains("server_ca_file") && text.contains("system certificate store"));
    }

    #[test]
    fn login_args_debug_hides_the_password() {
        let args = LoginArgs {
            email: "a@b.c".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{args:?}").contains("hunter2"));
        let unlock = KioskUnlockArgs {
            pin: "135790".into(),
        };
        assert!(!format!("{unlock:?}").contains("135790"));
    }
}
