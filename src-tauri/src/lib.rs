//! The Tauri shell: it creates the window, wires IPC commands to [`consult_core`] and owns
//! nothing else. Logic belongs in `consult-core`, where it is tested without a webview.

mod commands;
mod core;
mod logging;
mod window;

use std::process::ExitCode;

use tauri::{Manager, Runtime};

pub use crate::core::Core;

/// Runs the desktop app until its last window closes.
pub fn run() -> ExitCode {
    logging::init();
    let app = build(tauri::Builder::default()).build(tauri::generate_context!());
    match app {
        Ok(app) => {
            app.run(|_, _| {});
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "the app could not start");
            ExitCode::FAILURE
        }
    }
}

/// All wiring, generic over the runtime so it can run on Tauri's mock runtime in tests.
pub fn build<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .invoke_handler(tauri::generate_handler![
            commands::startup,
            commands::login,
            commands::logout,
        ])
        .setup(|app| {
            let config_dir = app.path().app_config_dir()?;
            app.manage(Core::load(&config_dir));
            window::create_main(app.handle())?;
            Ok(())
        })
}
