//! Harness for end-to-end tests. Each test gets its own world: a temporary HOME, a virtual
//! display (Xvfb), a private D-Bus session bus with an unlocked GNOME Keyring on it, a real
//! clinic server on a free port, and the built desktop app driven through `tauri-driver`.
//! Everything is torn down when the test's [`Desktop`] is dropped.
//!
//! The binaries under test must be built first (`scripts/test` does it):
//! `target/debug/consult` (the app, with its UI embedded) and `target/debug/consult-server`.

pub mod app;
pub mod axe;
pub mod bench;
pub mod clinic;
pub mod jitsi;
pub mod notifications;
pub mod paths;
pub mod process;
pub mod screensaver;
pub mod server;
pub mod session;
pub mod updates;
pub mod xwindow;

pub use app::{App, AppLaunch};
pub use clinic::ClinicApi;
pub use notifications::NotificationDaemon;
pub use screensaver::ScreenSaver;
pub use server::ClinicServer;
pub use session::IsolatedSession;
pub use xwindow::WindowManager;

/// The demo doctor seeded by `consult-server --demo`.
pub const DEMO_DOCTOR_EMAIL: &str = "doctor@demo.clinic";
pub const DEMO_DOCTOR_NAME: &str = "Ada Lovelace";
pub const DEMO_PASSWORD: &str = "consult-demo";
