//! What the shell tells the UI: Tauri events on the main window (names in
//! `consult_types::events`), and bringing that window to the front.

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use consult_types::{events, Dashboard, FocusAppointment, SessionEnded};

use crate::window::MAIN_LABEL;

/// The main window as the rest of the shell sees it; not generic, so it can live in state.
pub trait Ui: Send + Sync + 'static {
    fn dashboard_changed(&self, dashboard: &Dashboard);
    fn session_ended(&self, ended: &SessionEnded);
    fn focus_appointment(&self, focus: &FocusAppointment);
    /// Shows, un-minimizes and focuses the main window.
    fn show(&self);
}

pub struct MainWindow<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> MainWindow<R> {
    pub fn new(app: &AppHandle<R>) -> MainWindow<R> {
        MainWindow { app: app.clone() }
    }

    fn emit<T: Serialize + Clone>(&self, event: &str, payload: &T) {
        // Only the main window: no other webview ever hears the app's state.
        if let Err(error) = self.app.emit_to(MAIN_LABEL, event, payload.clone()) {
            tracing::warn!(event, %error, "an event could not be sent to the UI");
        }
    }
}

impl<R: Runtime> Ui for MainWindow<R> {
    fn dashboard_changed(&self, dashboard: &Dashboard) {
        self.emit(events::DASHBOARD_CHANGED, dashboard);
    }

    fn session_ended(&self, ended: &SessionEnded) {
        // A call does not outlive the session it was joined with.
        if let Some(calls) = self.app.try_state::<consult_core::call::CallHub>() {
            let calls = calls.inner().clone();
            tauri::async_runtime::spawn(async move { calls.leave().await });
        }
        self.emit(events::SESSION_ENDED, ended);
    }

    fn focus_appointment(&self, focus: &FocusAppointment) {
        self.show();
        self.emit(events::FOCUS_APPOINTMENT, focus);
    }

    fn show(&self) {
        let Some(window) = self.app.get_webview_window(MAIN_LABEL) else {
            return;
        };
        let shown = window
            .show()
            .and_then(|()| window.unminimize())
            .and_then(|()| window.set_focus());
        if let Err(error) = shown {
            tracing::warn!(%error, "the main window could not be brought to the front");
        }
    }
}
