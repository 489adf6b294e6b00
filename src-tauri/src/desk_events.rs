//! The core's [`DeskEvents`] for this shell: dashboards and session ends go to the main window,
//! alerts become native notifications. The desk calls these with its state locked, so nothing
//! here calls back into it: a session end is handled on a task of its own.

use std::sync::Arc;

use consult_core::alerts::Alert;
use consult_core::desk::DeskEvents;
use consult_types::{Dashboard, SessionEnded};

use crate::events::Ui;
use crate::live::Live;
use crate::notify::Notifier;

pub struct ShellDeskEvents {
    pub ui: Arc<dyn Ui>,
    pub notifier: Arc<dyn Notifier>,
    /// To end the session this desk belongs to (and only that one).
    pub live: Live,
    pub generation: u64,
}

impl DeskEvents for ShellDeskEvents {
    fn dashboard_changed(&self, dashboard: &Dashboard) {
        self.ui.dashboard_changed(dashboard);
    }

    fn session_ended(&self, ended: &SessionEnded) {
        let live = self.live.clone();
        let (generation, ended) = (self.generation, ended.clone());
        tauri::async_runtime::spawn(async move { live.end(generation, ended).await });
    }

    fn alert(&self, alert: &Alert) {
        self.notifier.show(alert);
    }

    fn alert_withdrawn(&self, alert_id: &str) {
        self.notifier.withdraw(alert_id);
    }
}
