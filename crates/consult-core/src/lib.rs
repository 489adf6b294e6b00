//! The desktop app's core: everything the app does that is not drawing or hosting a webview.
//!
//! The Tauri crate (`src-tauri`) is a thin shell that turns IPC commands into calls on this
//! crate, so all of it is tested with plain `cargo test`, against a real clinic server.
//!
//! - [`config`]: where the clinic server is, from a file and the environment.
//! - [`machine_policy`]: the machine-wide configuration of Windows' registry and macOS' managed
//!   preferences.
//! - [`clinic`]: the HTTP client for the clinic API and how its failures map to [`AppError`].
//! - [`secrets`]: the OS keychain that holds the refresh token.
//! - [`session`]: sign-in, restore on start, refresh, sign-out; the access token lives only here.
//! - [`settings`]: the user's settings under the administrator's presets.
//! - [`push`]: the `GET /events` stream: reconnects, resumes, detects stalls.
//! - [`desk`]: the live schedule, the join requests to decide and the user's own requests to
//!   join, fed by the push stream.
//! - [`waiting`]: the participant's side of the waiting room: own requests and when one lets the
//!   user in.
//! - [`alerts`]: the texts of native notifications and when to show one.
//! - [`idle`]: the idle sign-out timer.
//! - [`diagnostics`]: the plain-text report "Copy diagnostics" gives IT support.
//! - [`logfile`]: the rotating log file in the platform's log directory.
//! - [`visits`]: when a kiosk joins and leaves its visits' calls by itself (I/O-free).
//! - [`kiosk`]: kiosk mode's device credential (file or keychain, never configuration) and what
//!   its own sign-in shows.
//! - [`nightly`]: when a kiosk restarts itself at night, clear of visits (I/O-free).
//! - [`call`]: the video call: its state, built from Jitsi's events, its controls, the hub that
//!   runs it, and which path carries it here (webview, browser window, or none and why).
//! - [`updates`]: in-app updates: when to check, when to ask, never during a call or on a kiosk
//!   (I/O-free; the shell's updater behind the [`ports::Updater`] port does the rest).
//! - [`watchdog`]: a service manager's watchdog, fed only while the page is alive.
//! - [`desktop`]: the one service the shell talks to: the signed-in life (sign-in or restore,
//!   desk, idle sign-out, the call, sign-out and its reasons), reaching the shell only through
//!   the [`ports`].

pub mod alerts;
pub mod call;
pub mod clinic;
pub mod config;
pub mod desk;
pub mod desktop;
pub mod device_commands;
pub mod diagnostics;
pub mod enrolment;
pub mod fleet;
pub mod heal;
pub mod idle;
pub mod kiosk;
pub mod kiosk_exit;
pub mod logfile;
pub mod machine_policy;
pub mod nightly;
pub mod ports;
pub mod push;
pub mod secrets;
pub mod self_test;
pub mod session;
pub mod settings;
pub mod startup;
pub mod tls;
pub mod updates;
pub mod visits;
pub mod waiting;
pub mod watchdog;

pub use consult_types::AppError;
