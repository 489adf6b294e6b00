//! The desktop app's core: everything the app does that is not drawing or hosting a webview.
//!
//! The Tauri crate (`src-tauri`) is a thin shell that turns IPC commands into calls on this
//! crate, so all of it is tested with plain `cargo test`, against a real clinic server.
//!
//! - [`config`]: where the clinic server is, from a file and the environment.
//! - [`clinic`]: the HTTP client for the clinic API and how its failures map to [`AppError`].
//! - [`secrets`]: the OS keychain that holds the refresh token.
//! - [`session`]: sign-in, restore on start, refresh, sign-out; the access token lives only here.

pub mod clinic;
pub mod config;
pub mod secrets;
pub mod session;

pub use consult_types::AppError;
