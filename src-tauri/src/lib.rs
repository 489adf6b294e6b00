//! The Tauri shell: it creates the window, wires IPC commands to [`consult_core`], runs the
//! signed-in desk with its idle sign-out, shows native notifications, and owns nothing else.
//! Logic belongs in `consult-core`, where it is tested without a webview.

mod call;
mod commands;
mod core;
mod deep_link;
mod desk_events;
mod events;
mod idle;
mod live;
mod logging;
mod notify;
mod settings_store;
mod single_instance;
mod window;

use std::process::ExitCode;
use std::sync::Arc;

use tauri::{AppHandle, Manager, Runtime, WindowEvent};

use consult_core::call::CallHub;
use consult_types::CallControl;

use crate::call::{EmbeddedAccess, ShellCallHost};
pub use crate::core::Core;
use crate::events::MainWindow;
use crate::live::Live;
use crate::notify::Intent;
use crate::settings_store::PluginSettingsStore;
use crate::window::{WindowState, MAIN_LABEL, STATE_KEY};

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
    // First, so a second launch hands over its arguments before anything else starts.
    let mut builder = builder
        .plugin(single_instance::plugin())
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_store::Builder::new().build());
    if let Some(notifications) = notify::plugin() {
        builder = builder.plugin(notifications);
    }
    builder
        .invoke_handler(tauri::generate_handler![
            commands::startup,
            commands::login,
            commands::logout,
            commands::dashboard,
            commands::decide_join_request,
            commands::admit_all,
            commands::user_active,
            commands::settings,
            commands::save_settings,
            commands::call_support,
            commands::join_call,
            commands::call_control,
            commands::call_screen,
            commands::retry_call,
            commands::leave_call,
        ])
        .setup(|app| {
            let handle = app.handle();
            let store = Arc::new(PluginSettingsStore::open(handle)?);
            let config_dir = app.path().app_config_dir()?;
            app.manage(Core::load(&config_dir, store.clone()));

            let notifier = notify::notifier(handle, intent_handler(handle));
            app.manage(Live::new(
                Arc::new(MainWindow::new(handle)),
                notifier.clone(),
            ));
            let access = Arc::new(EmbeddedAccess::default());
            app.manage(ShellCallHost::hub(handle, notifier, Arc::clone(&access)));

            window::create_main(handle, store.get::<WindowState>(STATE_KEY), access)?;
            app.manage(store);
            single_instance::listen_for_links(handle);
            Ok(())
        })
        .on_window_event(|window, event| {
            if window.label() == MAIN_LABEL && matches!(event, WindowEvent::CloseRequested { .. }) {
                save_window_state(window);
            }
        })
}

/// What clicks on notifications do: Admit/Decline decide in the background (the window stays
/// as it is), Open brings the app to the front on the appointment.
fn intent_handler<R: Runtime>(app: &AppHandle<R>) -> notify::IntentHandler {
    let app = app.clone();
    Arc::new(move |intent| {
        let Some(live) = app.try_state::<Live>() else {
            return;
        };
        let live = live.inner().clone();
        let calls = app
            .try_state::<CallHub>()
            .map(|calls| calls.inner().clone());
        tauri::async_runtime::spawn(async move {
            live.touch();
            match intent {
                Intent::Decide {
                    join_request_id,
                    decision,
                } => match live.decide(&join_request_id, decision).await {
                    Ok(_) => tracing::info!(?decision, "join request decided from a notification"),
                    Err(error) => {
                        tracing::warn!(?decision, %error, "a decision from a notification failed")
                    }
                },
                Intent::AnswerKnocking {
                    participant_id,
                    approved,
                } => {
                    let Some(calls) = calls else {
                        return;
                    };
                    let control = CallControl::AnswerKnocking {
                        participant_id,
                        approved,
                    };
                    match calls.control(control).await {
                        Ok(()) => tracing::info!(approved, "lobby answered from a notification"),
                        Err(error) => {
                            tracing::warn!(%error, "a lobby answer from a notification failed")
                        }
                    }
                }
                Intent::Open {
                    appointment_id,
                    session_id,
                } => {
                    live.focus(consult_types::FocusAppointment {
                        appointment_id: Some(appointment_id),
                        session_id,
                    })
                    .await
                }
            }
        });
    })
}

fn save_window_state<R: Runtime>(window: &tauri::Window<R>) {
    let Some(store) = window.try_state::<Arc<PluginSettingsStore<R>>>() else {
        return;
    };
    let saved = window::current_state(window, store.get(STATE_KEY))
        .map_err(|error| error.to_string())
        .and_then(|state| {
            store
                .put(STATE_KEY, &state)
                .map_err(|error| error.to_string())
        });
    if let Err(error) = saved {
        tracing::warn!(%error, "the window's place could not be saved");
    }
}
