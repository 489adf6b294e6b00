//! The signed-in part of the app: the core's [`Desk`] and the idle sign-out, started after a
//! sign-in or a restored session and stopped on sign-out, idle, or when the session ends.
//!
//! Each start has a generation number; a late "session ended" from an earlier desk or idle
//! timer cannot end a newer session.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tauri::async_runtime::JoinHandle;
use tokio::sync::{RwLock, RwLockReadGuard};

use consult_core::desk::Desk;
use consult_core::idle::{idle_reason, IdleTimer};
use consult_core::session::SessionManager;
use consult_types::{AppError, Dashboard, Decision, FocusAppointment, SessionEnded, SettingsView};

use crate::desk_events::ShellDeskEvents;
use crate::events::Ui;
use crate::idle;
use crate::notify::Notifier;

#[derive(Clone)]
pub struct Live(Arc<Inner>);

struct Inner {
    ui: Arc<dyn Ui>,
    notifier: Arc<dyn Notifier>,
    /// One timer for the app's life; only watched while signed in.
    idle: Arc<IdleTimer>,
    running: RwLock<Option<Running>>,
    generation: AtomicU64,
    /// A focus request (deep link) that came while signed out, delivered after the sign-in.
    pending_focus: Mutex<Option<FocusAppointment>>,
}

struct Running {
    generation: u64,
    desk: Desk,
    session: Arc<SessionManager>,
    idle_watch: JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        self.idle_watch.abort();
        self.desk.stop().await;
    }
}

impl Live {
    pub fn new(ui: Arc<dyn Ui>, notifier: Arc<dyn Notifier>) -> Live {
        Live(Arc::new(Inner {
            ui,
            notifier,
            idle: Arc::new(IdleTimer::new(Duration::ZERO)),
            running: RwLock::new(None),
            generation: AtomicU64::new(0),
            pending_focus: Mutex::new(None),
        }))
    }

    /// Starts the desk and the idle timer for a signed-in `session`, replacing any earlier one.
    pub async fn start(&self, session: Arc<SessionManager>, settings: &SettingsView) {
        let mut running = self.0.running.write().await;
        if let Some(old) = running.take() {
            old.stop().await;
        }
        let generation = self.0.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let timeout = Duration::from_secs(settings.idle_logoff_secs);
        self.0.idle.set_timeout(timeout);
        self.0.idle.touch();
        let events = Arc::new(ShellDeskEvents {
            ui: Arc::clone(&self.0.ui),
            notifier: Arc::clone(&self.0.notifier),
            live: self.clone(),
            generation,
        });
        let desk = Desk::start(Arc::clone(&session), settings.notifications.clone(), events);
        let live = self.clone();
        let idle_watch = idle::watch(Arc::clone(&self.0.idle), move || {
            tauri::async_runtime::spawn(async move {
                let reason = idle_reason(live.0.idle.timeout());
                live.end(generation, SessionEnded { reason }).await;
            });
        });
        *running = Some(Running {
            generation,
            desk,
            session,
            idle_watch,
        });
        tracing::info!(
            generation,
            idle_logoff_secs = settings.idle_logoff_secs,
            "desk started"
        );
    }

    pub async fn is_running(&self) -> bool {
        self.0.running.read().await.is_some()
    }

    /// Stops the desk and the idle timer (the user signs out; the caller signs the session out).
    pub async fn stop(&self) {
        let running = self.0.running.write().await.take();
        if let Some(running) = running {
            let generation = running.generation;
            running.stop().await;
            tracing::info!(generation, "desk stopped");
        }
    }

    /// Ends session `generation` without the user signing out (idle, refused refresh, disabled
    /// account): stops the desk, signs out locally (memory and keychain), tells the UI why.
    pub async fn end(&self, generation: u64, ended: SessionEnded) {
        let mut running = self.0.running.write().await;
        let Some(current) = running.take_if(|current| current.generation == generation) else {
            return;
        };
        let session = Arc::clone(&current.session);
        current.stop().await;
        if let Err(error) = session.logout().await {
            tracing::warn!(%error, "the ended session could not be wiped completely");
        }
        drop(running);
        tracing::info!(generation, "session ended");
        self.0.ui.session_ended(&ended);
    }

    /// A call is not idleness: keeps the idle sign-out away while `calls` has a call open.
    pub fn stay_active_during_call(&self, calls: consult_core::call::CallHub) {
        let live = self.clone();
        tauri::async_runtime::spawn(async move {
            while calls.screen().await.is_some() {
                live.touch();
                tokio::time::sleep(Duration::from_secs(20)).await;
            }
        });
    }

    /// The user did something: restarts the idle countdown.
    pub fn touch(&self) {
        self.0.idle.touch();
    }

    /// Applies changed settings to the running session.
    pub async fn apply_settings(&self, settings: &SettingsView) {
        if let Some(running) = self.0.running.read().await.as_ref() {
            self.0
                .idle
                .set_timeout(Duration::from_secs(settings.idle_logoff_secs));
            running.desk.set_prefs(settings.notifications.clone());
        }
    }

    pub async fn dashboard(&self) -> Result<Dashboard, AppError> {
        Ok(self.desk_read().await?.dashboard().await)
    }

    pub async fn decide(&self, id: &str, decision: Decision) -> Result<Dashboard, AppError> {
        self.desk_read().await?.decide(id, decision).await
    }

    pub async fn admit_all(&self, appointment_id: Option<&str>) -> Result<Dashboard, AppError> {
        self.desk_read().await?.admit_all(appointment_id).await
    }

    /// Shows the appointment (notification click, deep link). While signed out the window comes
    /// to the front and the request waits for the sign-in ([`Live::take_pending_focus`]).
    pub async fn focus(&self, focus: FocusAppointment) {
        if self.is_running().await {
            self.0.ui.focus_appointment(&focus);
        } else {
            self.0.ui.show();
            *self
                .0
                .pending_focus
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(focus);
        }
    }

    /// Emits a focus request that waited for the sign-in; called when the UI loads its dashboard.
    pub fn deliver_pending_focus(&self) {
        let pending = self
            .0
            .pending_focus
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(focus) = pending {
            self.0.ui.focus_appointment(&focus);
        }
    }

    /// The running desk, read-locked so `stop`/`end` wait until the call is done.
    async fn desk_read(&self) -> Result<RwLockReadGuard<'_, Desk>, AppError> {
        RwLockReadGuard::try_map(self.0.running.read().await, |running| {
            running.as_ref().map(|running| &running.desk)
        })
        .map_err(|_| AppError::NotSignedIn)
    }
}
