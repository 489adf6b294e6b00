//! Idle sign-out: waits on the core's [`IdleTimer`] while a session is live.

use std::sync::Arc;

use tauri::async_runtime::JoinHandle;

use consult_core::idle::IdleTimer;

/// Calls `on_idle` once the timer expires. Abort the handle when the session ends otherwise.
/// `on_idle` should hand its work to another task: it usually ends the session, which aborts
/// this one.
pub fn watch(timer: Arc<IdleTimer>, on_idle: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        timer.expired().await;
        tracing::info!(
            timeout_secs = timer.timeout().as_secs(),
            "idle: signing out"
        );
        on_idle();
    })
}
