//! The Tauri shell: wiring only. It creates the window, implements the core's ports (the UI,
//! native notifications, the embedded call's window) and turns each IPC command into one call on
//! the core's [`Desktop`], which owns everything else (`consult-core`, tested without a webview).

mod cli;
mod commands;
mod deep_link;
mod embedded;
mod kiosk_shell;
mod logging;
mod notify;
mod settings_store;
mod single_instance;
mod stay_awake;
mod ui;
mod updater;
mod window;

use std::process::ExitCode;
use std::sync::Arc;

use tauri::{AppHandle, Manager, Runtime, WindowEvent};

use consult_core::desktop::{Desktop, Ports};
use consult_core::watchdog::{Supervisor, Watchdog};

use crate::embedded::{EmbeddedAccess, ShellCallWindow};
use crate::kiosk_shell::KioskLock;
use crate::settings_store::PluginSettingsStore;
use crate::stay_awake::StayAwake;
use crate::ui::{MainWindow, MAIN_LABEL};
use crate::window::{WindowState, STATE_KEY};

/// Runs the desktop app until its last window closes.
pub fn run() -> ExitCode {
    consult_core::startup::mark_process_start();
    let args = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned());
    match cli::parse(args, std::path::Path::is_file) {
        Ok(cli::Invocation::Help) => {
            println!("{}", cli::help());
            return ExitCode::SUCCESS;
        }
        Ok(cli::Invocation::Version) => {
            println!("{}", cli::version());
            return ExitCode::SUCCESS;
        }
        Ok(cli::Invocation::KioskChromiumPolicy { jitsi_url }) => {
            // Where the app makes the call's profile, whose start page the policy allows.
            let policy = consult_core::call::chromium_policy::kiosk_policy(
                &jitsi_url,
                &std::env::temp_dir(),
            );
            return match policy {
                Ok(policy) => {
                    println!("{policy:#}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("consult: {error}");
                    ExitCode::from(2)
                }
            };
        }
        Ok(cli::Invocation::Run { config: Some(file) }) => {
            // The core reads its file from here (`AppConfig::file_location`); set before any
            // thread starts.
            std::env::set_var(consult_core::config::CONFIG_FILE_ENV, file);
        }
        Ok(cli::Invocation::Run { config: None }) => {}
        Err(error) => {
            eprintln!("consult: {error}. Try consult --help.");
            return ExitCode::from(2);
        }
    }
    logging::init();
    let app = build(tauri::Builder::default()).build(tauri::generate_context!());
    // Set-up (configuration, main window) runs after this, when the event loop starts.
    consult_core::startup::step("tauri built: plugins and the single-instance check");
    match app {
        Ok(app) => {
            app.run(|app, event| {
                kiosk_shell::on_run_event(app, &event);
                stay_awake::on_run_event(app, &event);
            });
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "the app could not start");
            ExitCode::FAILURE
        }
    }
}

/// All wiring, generic over the runtime.
pub fn build<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    // First, so a second launch hands over its arguments before anything else starts.
    let mut builder = builder
        .plugin(single_instance::plugin())
        .plugin(tauri_plugin_deep_link::init());
    if let Some(notifications) = notify::plugin() {
        builder = builder.plugin(notifications);
    }
    wire(builder, single_instance::listen_for_links)
}

/// The wiring that needs no desktop services (second launches, links and the notification
/// plugin are added by [`build`]), so it also runs on Tauri's mock runtime in tests.
/// `then` runs at the end of the app's set-up.
pub fn wire<R: Runtime>(builder: tauri::Builder<R>, then: fn(&AppHandle<R>)) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_store::Builder::new().build())
        // Used from Rust only (updater.rs): no capability grants the page its commands.
        .plugin(tauri_plugin_updater::Builder::new().build())
        .invoke_handler(tauri::generate_handler![
            commands::startup,
            commands::first_paint,
            commands::login,
            commands::logout,
            commands::dashboard,
            commands::decide_join_request,
            commands::admit_all,
            commands::waiting_room,
            commands::kiosk,
            commands::kiosk_unlock,
            commands::kiosk_maintenance,
            commands::kiosk_dismiss_message,
            commands::user_active,
            commands::ui_pulse,
            commands::settings,
            commands::save_settings,
            commands::call_support,
            commands::diagnostics,
            commands::update,
            commands::join_call,
            commands::call_control,
            commands::call_screen,
            commands::retry_call,
            commands::leave_call,
            commands::claim_kiosk,
            commands::send_kiosk_command,
        ])
        .setup(move |app| {
            consult_core::startup::step("set-up begins (plugins registered)");
            let handle = app.handle();
            let store = Arc::new(PluginSettingsStore::open(handle)?);
            let access = Arc::new(EmbeddedAccess::default());
            let ports = Ports {
                ui: Arc::new(MainWindow::new(handle)),
                notifier: notify::notifier(handle, act_on_clicks(handle)),
                call_window: Arc::new(ShellCallWindow::new(handle, Arc::clone(&access))),
                memory: store.clone(),
            };
            let config_dir = app.path().app_config_dir()?;
            // Without a log directory the app still runs, logging to stderr only.
            let log_dir = app.path().app_log_dir().ok();
            if let Some(dir) = &log_dir {
                if let Err(error) = logging::attach(dir) {
                    tracing::warn!(%error, "no log file");
                }
            }
            // A service manager's watchdog (the kiosk's unit) is fed while the page is alive.
            if let Some(supervisor) = Supervisor::from_env() {
                tracing::info!(every = ?supervisor.ping_every, "watchdog: pinging the service manager while the page is alive");
                let watchdog = Arc::new(Watchdog::new(supervisor));
                app.manage(Arc::clone(&watchdog));
                tauri::async_runtime::spawn(async move { watchdog.run().await });
            }
            if let Some(dev_server) = window::dev_server(handle) {
                tracing::info!(%dev_server, "a development build: the pages come from the dev server");
                consult_core::call::channel::allow_dev_app_origin(&dev_server);
            }
            let desktop = Desktop::load(&config_dir, log_dir, store.clone(), ports);
            consult_core::startup::step("configuration and settings loaded");
            let kiosk = desktop.is_kiosk();
            let early = desktop.clone();
            tauri::async_runtime::spawn(async move { early.restore_early().await });
            // The core waits for the first painted screen before it checks.
            let updates = desktop.clone();
            let updates_app = handle.clone();
            tauri::async_runtime::spawn(async move {
                let key = updater::built_in_key(&updates_app);
                updates.start_updates(&key, |source| {
                    updater::PluginUpdater::port(&updates_app, source)
                });
            });
            app.manage(desktop);
            if kiosk {
                tracing::info!("kiosk: the main window is locked");
                app.manage(KioskLock::default());
                // The screen stays awake while a visit's call runs.
                app.manage(StayAwake::start());
            }
            window::create_main(handle, store.get::<WindowState>(STATE_KEY), access, kiosk)?;
            consult_core::startup::step("main window created");
            app.manage(store);
            then(handle);
            Ok(())
        })
        .on_window_event(|window, event| {
            if window.label() != MAIN_LABEL {
                return;
            }
            if window.try_state::<KioskLock>().is_some() {
                kiosk_shell::on_window_event(window, event);
            } else if matches!(event, WindowEvent::CloseRequested { .. }) {
                save_window_state(window);
            }
        })
}

/// Clicks on native notifications go to the core, on a task: the notifier must not wait.
fn act_on_clicks<R: Runtime>(app: &AppHandle<R>) -> notify::IntentHandler {
    let app = app.clone();
    Arc::new(move |action| {
        if let Some(desktop) = app.try_state::<Desktop>() {
            let desktop = desktop.inner().clone();
            tauri::async_runtime::spawn(async move { desktop.act(action).await });
        }
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
