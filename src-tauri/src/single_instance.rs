//! One running app per user: a second launch (e.g. a `consult://join/…` link opened on Linux)
//! hands its arguments to the first and exits; the first comes to the front and opens the link.
//! Links that reach the first launch itself come through tauri-plugin-deep-link.

use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_deep_link::DeepLinkExt;

use consult_core::desktop::Desktop;
use consult_core::ports::Ui;
use consult_types::FocusAppointment;

use crate::deep_link;
use crate::ui::MainWindow;

/// The plugin; register it before the others, so a second launch stops before doing anything.
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_single_instance::init(|app, argv, _cwd| {
        tracing::info!(
            args = argv.len().saturating_sub(1),
            "a second launch was forwarded"
        );
        let links = deep_link::focus_requests(argv.get(1..).unwrap_or_default());
        if links.is_empty() {
            MainWindow::new(app).show();
        }
        focus_all(app, links);
    })
}

/// Wires the deep-link plugin: the link this launch was started with (Linux, Windows) and
/// links the OS opens later (macOS).
pub fn listen_for_links<R: Runtime>(app: &AppHandle<R>) {
    let deep_links = app.deep_link();
    // An AppImage is not installed: register the scheme for the user at run time.
    #[cfg(target_os = "linux")]
    if std::env::var_os("APPIMAGE").is_some() {
        if let Err(error) = deep_links.register_all() {
            tracing::warn!(%error, "the consult:// scheme could not be registered");
        }
    }
    if let Ok(Some(urls)) = deep_links.get_current() {
        let urls: Vec<String> = urls.iter().map(ToString::to_string).collect();
        focus_all(app, deep_link::focus_requests(&urls));
    }
    let handle = app.clone();
    deep_links.on_open_url(move |event| {
        let urls: Vec<String> = event.urls().iter().map(ToString::to_string).collect();
        focus_all(&handle, deep_link::focus_requests(&urls));
    });
}

fn focus_all<R: Runtime>(app: &AppHandle<R>, requests: Vec<FocusAppointment>) {
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    let desktop = desktop.inner().clone();
    tauri::async_runtime::spawn(async move {
        for request in requests {
            desktop.focus(request).await;
        }
    });
}
