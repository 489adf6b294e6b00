//! The UI port: the core's events as Tauri events on the main window (names in
//! `consult_types::events`), and bringing that window to the front.

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use consult_core::ports::Ui;
use consult_types::{
    events, CallScreen, Dashboard, FocusAppointment, KioskStatus, Revised, RoomMessage,
    SessionEnded, UpdateBanner,
};

use crate::kiosk_shell;
use crate::stay_awake::StayAwake;

/// The main window's label: the only window there is, and the only one that hears the app.
pub const MAIN_LABEL: &str = "main";

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
    fn dashboard_changed(&self, dashboard: &Revised<Dashboard>) {
        self.emit(events::DASHBOARD_CHANGED, dashboard);
    }

    fn call_changed(&self, call: &Revised<Option<CallScreen>>) {
        if let Some(window) = self.app.get_webview_window(MAIN_LABEL) {
            let open = kiosk_shell::call_in_browser_window(call.value.as_ref());
            kiosk_shell::yield_to_call_window(&window, open);
        }
        if let Some(awake) = self.app.try_state::<StayAwake>() {
            awake.call_changed(call.value.as_ref());
        }
        self.emit(events::CALL_CHANGED, call);
    }

    fn session_ended(&self, ended: &SessionEnded) {
        self.emit(events::SESSION_ENDED, ended);
    }

    fn kiosk_changed(&self, status: &Revised<KioskStatus>) {
        self.emit(events::KIOSK_CHANGED, status);
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

    fn reload(&self) {
        let Some(window) = self.app.get_webview_window(MAIN_LABEL) else {
            return;
        };
        if let Err(error) = window.reload() {
            tracing::warn!(%error, "the main window could not be reloaded");
        }
    }

    fn leave_kiosk(&self) {
        kiosk_shell::administrator_exit(&self.app);
    }

    fn restart_kiosk(&self) {
        kiosk_shell::restart(&self.app);
    }

    fn kiosk_message(&self, message: &Revised<Option<RoomMessage>>) {
        self.emit(events::KIOSK_MESSAGE, message);
    }

    fn update_changed(&self, banner: &UpdateBanner) {
        self.emit(events::UPDATE_CHANGED, banner);
    }
}
