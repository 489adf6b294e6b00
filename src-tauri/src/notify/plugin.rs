//! Windows and macOS: tauri-plugin-notification, with an action type for join requests and the
//! alert's ids carried in the notification's `extra` so a click can be acted on. A withdrawn
//! alert's notification is removed with the plugin's `remove_active` (which, as of 2.8, can
//! remove it only where notify-rust can: not on macOS and Windows, so there it stays on screen
//! and a click on it meets a request that is already decided).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, PoisonError};

use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::{Action, ActionType, NotificationExt};

use consult_core::alerts::Alert;

use super::{
    intent, IntentHandler, Notifier, Target, ACTION_ADMIT, ACTION_DECLINE, ACTION_LOBBY_ADMIT,
    ACTION_LOBBY_DENY,
};

/// The action type of join-request notifications: Admit and Decline buttons.
const JOIN_REQUEST_ACTIONS: &str = "join-request";
const EXTRA_APPOINTMENT: &str = "appointmentId";
const EXTRA_SESSION: &str = "sessionId";
const EXTRA_JOIN_REQUEST: &str = "joinRequestId";
const EXTRA_LOBBY_PARTICIPANT: &str = "lobbyParticipantId";
const LOBBY_ACTIONS: &str = "lobby-knock";

pub struct PluginNotifier<R: Runtime> {
    app: AppHandle<R>,
    next_id: AtomicI32,
    /// The plugin's id of each alert shown and not withdrawn. The plugin does not say when the
    /// user dismisses one, so an entry goes only with its withdrawal (alerts about appointments
    /// are withdrawn when those end, which bounds it).
    shown: Mutex<HashMap<String, i32>>,
}

impl<R: Runtime> PluginNotifier<R> {
    pub fn new(app: &AppHandle<R>, on_intent: IntentHandler) -> PluginNotifier<R> {
        let notifications = app.notification();
        let types = vec![
            ActionType::builder(JOIN_REQUEST_ACTIONS)
                .actions(vec![
                    Action::builder(ACTION_ADMIT, "Admit").build(),
                    Action::builder(ACTION_DECLINE, "Decline").build(),
                ])
                .build(),
            ActionType::builder(LOBBY_ACTIONS)
                .actions(vec![
                    Action::builder(ACTION_LOBBY_ADMIT, "Admit").build(),
                    Action::builder(ACTION_LOBBY_DENY, "Deny").build(),
                ])
                .build(),
        ];
        if let Err(error) = notifications.register_action_types(types) {
            tracing::warn!(%error, "notification actions could not be registered");
        }
        let registered = notifications.on_action(move |performed| {
            let Some(notification) = performed.notification() else {
                return;
            };
            let extra = notification.extra();
            let text = |key: &str| extra.get(key).and_then(|v| v.as_str()).map(str::to_owned);
            let Some(appointment_id) = text(EXTRA_APPOINTMENT) else {
                return;
            };
            let target = Target {
                appointment_id,
                session_id: text(EXTRA_SESSION),
                join_request_id: text(EXTRA_JOIN_REQUEST),
                lobby_participant_id: text(EXTRA_LOBBY_PARTICIPANT),
            };
            if let Some(intent) = intent(performed.action_id(), &target) {
                on_intent(intent);
            }
        });
        if let Err(error) = registered {
            tracing::warn!(%error, "notification clicks will not be handled");
        }
        PluginNotifier {
            app: app.clone(),
            next_id: AtomicI32::new(1),
            shown: Mutex::new(HashMap::new()),
        }
    }
}

impl<R: Runtime> Notifier for PluginNotifier<R> {
    fn show(&self, alert: &Alert) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut builder = self
            .app
            .notification()
            .builder()
            .id(id)
            .title(&alert.title)
            .body(&alert.body)
            .extra(EXTRA_APPOINTMENT, &alert.appointment_id);
        if let Some(session_id) = &alert.session_id {
            builder = builder.extra(EXTRA_SESSION, session_id);
        }
        if let Some(join_request_id) = &alert.join_request_id {
            builder = builder
                .extra(EXTRA_JOIN_REQUEST, join_request_id)
                .action_type_id(JOIN_REQUEST_ACTIONS);
        }
        if let Some(participant_id) = &alert.lobby_participant_id {
            builder = builder
                .extra(EXTRA_LOBBY_PARTICIPANT, participant_id)
                .action_type_id(LOBBY_ACTIONS);
        }
        if let Err(error) = builder.show() {
            tracing::warn!(%error, "a notification could not be shown");
            return;
        }
        self.shown().insert(alert.id.clone(), id);
    }

    fn withdraw(&self, alert_id: &str) {
        let Some(id) = self.shown().remove(alert_id) else {
            return;
        };
        if let Err(error) = self.app.notification().remove_active(vec![id]) {
            tracing::debug!(%error, "a notification could not be withdrawn");
        }
    }
}

impl<R: Runtime> PluginNotifier<R> {
    fn shown(&self) -> std::sync::MutexGuard<'_, HashMap<String, i32>> {
        // Single inserts and removals: a panic elsewhere leaves the map whole.
        self.shown.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
