//! A fake desktop notification daemon that the test owns, on the [`IsolatedSession`]'s private
//! bus: it owns `org.freedesktop.Notifications` (Desktop Notifications Specification 1.2),
//! records every `Notify` and `CloseNotification` call (closing a live one emits
//! `NotificationClosed` with reason 3, as a real daemon does), and can act as the user by
//! emitting `ActionInvoked` and `NotificationClosed`, the way GNOME Shell or dunst would after a
//! click.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{OwnedValue, Value};
use zbus::{interface, Connection};

use crate::session::IsolatedSession;

pub const BUS_NAME: &str = "org.freedesktop.Notifications";
pub const OBJECT_PATH: &str = "/org/freedesktop/Notifications";

/// `NotificationClosed` reasons from the specification.
pub mod close_reason {
    pub const EXPIRED: u32 = 1;
    pub const DISMISSED: u32 = 2;
    pub const CLOSED_BY_CALL: u32 = 3;
}

/// One `Notify` call as the daemon received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The id the daemon answered with (a new one, or `replaces_id` when that was live).
    pub id: u32,
    pub app_name: String,
    pub replaces_id: u32,
    pub app_icon: String,
    pub summary: String,
    pub body: String,
    /// Flat `[key, label, key, label, …]` as on the wire.
    pub actions: Vec<String>,
    /// String hints as strings; other hint types in their `Debug` form.
    pub hints: BTreeMap<String, String>,
    pub expire_timeout: i32,
    /// When the call reached the daemon.
    pub received: Instant,
}

impl Recorded {
    pub fn hint(&self, key: &str) -> Option<&str> {
        self.hints.get(key).map(String::as_str)
    }

    /// The action keys (`default`, `admit`, …), without their labels.
    pub fn action_keys(&self) -> Vec<&str> {
        self.actions.iter().step_by(2).map(String::as_str).collect()
    }

    /// `(key, label)` pairs.
    pub fn action_pairs(&self) -> Vec<(&str, &str)> {
        self.actions
            .chunks(2)
            .map(|pair| (pair[0].as_str(), pair.get(1).map_or("", String::as_str)))
            .collect()
    }
}

#[derive(Default)]
struct State {
    notifications: Vec<Recorded>,
    /// `CloseNotification` calls by the client, in order.
    close_calls: Vec<u32>,
    /// Ids shown and not yet closed.
    live: Vec<u32>,
    next_id: u32,
}

struct Daemon {
    state: Arc<Mutex<State>>,
    changed: watch::Sender<u64>,
}

impl Daemon {
    fn bump(&self) {
        self.changed.send_modify(|count| *count += 1);
    }
}

#[interface(name = "org.freedesktop.Notifications")]
impl Daemon {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedValue>,
        expire_timeout: i32,
    ) -> u32 {
        let received = Instant::now();
        let hints = hints
            .into_iter()
            .map(|(key, value)| (key, hint_text(&value)))
            .collect();
        let id = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let id = if replaces_id != 0 && state.live.contains(&replaces_id) {
                replaces_id
            } else {
                state.next_id += 1;
                let id = state.next_id;
                state.live.push(id);
                id
            };
            state.notifications.push(Recorded {
                id,
                app_name,
                replaces_id,
                app_icon,
                summary,
                body,
                actions,
                hints,
                expire_timeout,
                received,
            });
            id
        };
        self.bump();
        id
    }

    async fn close_notification(
        &self,
        id: u32,
        #[zbus(signal_emitter)] context: SignalEmitter<'_>,
    ) -> zbus::fdo::Result<()> {
        let was_live = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.close_calls.push(id);
            let was_live = state.live.contains(&id);
            state.live.retain(|live| *live != id);
            was_live
        };
        self.bump();
        if was_live {
            Daemon::notification_closed(&context, id, close_reason::CLOSED_BY_CALL).await?;
        }
        Ok(())
    }

    async fn get_capabilities(&self) -> Vec<String> {
        ["actions", "body", "body-markup", "persistence"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    async fn get_server_information(&self) -> (String, String, String, String) {
        (
            "consult-e2e-notifications".into(),
            "consult".into(),
            env!("CARGO_PKG_VERSION").into(),
            "1.2".into(),
        )
    }

    #[zbus(signal)]
    async fn action_invoked(
        context: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn notification_closed(
        context: &SignalEmitter<'_>,
        id: u32,
        reason: u32,
    ) -> zbus::Result<()>;
}

fn hint_text(value: &Value<'_>) -> String {
    match value {
        Value::Str(text) => text.as_str().to_owned(),
        other => format!("{other:?}"),
    }
}

/// The daemon, serving until dropped.
pub struct NotificationDaemon {
    connection: Connection,
    state: Arc<Mutex<State>>,
    changed: watch::Receiver<u64>,
}

impl NotificationDaemon {
    /// Connects to the session's private bus and owns `org.freedesktop.Notifications` there.
    /// Fails the test if another process already owns it.
    pub async fn start(session: &IsolatedSession) -> NotificationDaemon {
        NotificationDaemon::start_on(session.bus_address()).await
    }

    /// Like [`NotificationDaemon::start`], on any bus address.
    pub async fn start_on(bus_address: &str) -> NotificationDaemon {
        let state = Arc::new(Mutex::new(State::default()));
        let (sender, changed) = watch::channel(0);
        let daemon = Daemon {
            state: Arc::clone(&state),
            changed: sender,
        };
        let connection = zbus::connection::Builder::address(bus_address)
            .and_then(|builder| builder.serve_at(OBJECT_PATH, daemon))
            .and_then(|builder| builder.name(BUS_NAME))
            .unwrap_or_else(|error| panic!("cannot set up the notification daemon: {error}"))
            .build()
            .await
            .unwrap_or_else(|error| panic!("cannot own {BUS_NAME} on the private bus: {error}"));
        NotificationDaemon {
            connection,
            state,
            changed,
        }
    }

    /// Every notification received so far, oldest first.
    pub fn all(&self) -> Vec<Recorded> {
        self.lock().notifications.clone()
    }

    /// Ids the client asked to close (`CloseNotification`), in order.
    pub fn close_calls(&self) -> Vec<u32> {
        self.lock().close_calls.clone()
    }

    /// Waits until a received notification (already received or arriving later) satisfies
    /// `predicate`, and returns the first that does. Panics with everything received when the
    /// deadline passes.
    pub async fn wait_for(
        &self,
        predicate: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Recorded {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changed = self.changed.clone();
        loop {
            changed.borrow_and_update();
            if let Some(found) = self.lock().notifications.iter().find(|n| predicate(n)) {
                return found.clone();
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => panic!("the notification daemon stopped"),
                Err(_) => panic!(
                    "no matching notification within {timeout:?}; received: {:#?}",
                    self.all()
                ),
            }
        }
    }

    /// Waits until the client asked to close notification `id` (`CloseNotification`, already or
    /// later). Panics with the close calls received when the deadline passes.
    pub async fn wait_for_close(&self, id: u32, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changed = self.changed.clone();
        loop {
            changed.borrow_and_update();
            if self.lock().close_calls.contains(&id) {
                return;
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => panic!("the notification daemon stopped"),
                Err(_) => panic!(
                    "notification {id} was not closed within {timeout:?}; close calls: {:?}",
                    self.close_calls()
                ),
            }
        }
    }

    /// Waits until `count` notifications satisfy `predicate` in total, and returns them.
    pub async fn wait_for_count(
        &self,
        count: usize,
        predicate: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changed = self.changed.clone();
        loop {
            changed.borrow_and_update();
            let matching: Vec<Recorded> = self
                .lock()
                .notifications
                .iter()
                .filter(|n| predicate(n))
                .cloned()
                .collect();
            if matching.len() >= count {
                return matching;
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => panic!("the notification daemon stopped"),
                Err(_) => panic!(
                    "{} of {count} matching notifications within {timeout:?}; received: {:#?}",
                    matching.len(),
                    self.all()
                ),
            }
        }
    }

    /// Acts as the user clicking an action button (or the body, `"default"`): emits
    /// `ActionInvoked(id, key)`, then `NotificationClosed(id, dismissed)` as desktop daemons do
    /// for non-resident notifications.
    pub async fn invoke_action(&self, id: u32, key: &str) {
        let context = self.signal_context().await;
        Daemon::action_invoked(&context, id, key)
            .await
            .unwrap_or_else(|error| panic!("cannot emit ActionInvoked: {error}"));
        self.close(id, close_reason::DISMISSED).await;
    }

    /// Closes a notification as the daemon would (expiry, dismissal): `NotificationClosed`.
    pub async fn close(&self, id: u32, reason: u32) {
        self.lock().live.retain(|live| *live != id);
        let context = self.signal_context().await;
        Daemon::notification_closed(&context, id, reason)
            .await
            .unwrap_or_else(|error| panic!("cannot emit NotificationClosed: {error}"));
    }

    /// The daemon's own connection (its unique name is the signals' sender).
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    async fn signal_context(&self) -> SignalEmitter<'static> {
        let interface = self
            .connection
            .object_server()
            .interface::<_, Daemon>(OBJECT_PATH)
            .await
            .unwrap_or_else(|error| panic!("the daemon's interface is gone: {error}"));
        interface.signal_emitter().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
