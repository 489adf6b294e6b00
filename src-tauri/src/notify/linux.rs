//! Linux: `org.freedesktop.Notifications` over the session bus (Desktop Notifications
//! Specification 1.2), with the app name, actions and `x-consult-*` hints of docs/desktop-contracts.md.
//!
//! One connection sends every `Notify` and `CloseNotification` and receives `ActionInvoked` /
//! `NotificationClosed`: some daemons (dunst) signal only the connection that sent the
//! notification. Shows and withdrawals run one at a time in the order they were asked for, so a
//! withdrawal always finds the daemon's id of the notification it takes back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::{mpsc, Mutex, OnceCell};
use zbus::zvariant::Value;
use zbus::{Connection, MatchRule, MessageStream};

use consult_core::alerts::Alert;

use super::{dbus_actions, dbus_body, dbus_hints, intent, IntentHandler, Notifier, Target};

const BUS_NAME: &str = "org.freedesktop.Notifications";
const OBJECT_PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";
/// `app_name` of every notification.
const APP_NAME: &str = "Consult";
/// Let the daemon decide how long a notification stays.
const DEFAULT_EXPIRY: i32 = -1;

pub struct DbusNotifier {
    /// To the task that talks to the daemon, in order.
    requests: mpsc::UnboundedSender<Request>,
}

enum Request {
    Show(Box<Alert>),
    Withdraw(String),
}

struct Inner {
    /// The connection, once tried; `None` when there is no session bus.
    connection: OnceCell<Option<Connection>>,
    /// Held while a `Notify` call is in flight, so an early signal for it waits until its id is
    /// recorded.
    shown: Mutex<OnScreen>,
    on_intent: IntentHandler,
    /// A failure to notify is logged once, then only at debug level.
    warned: AtomicBool,
    /// Whether the daemon renders body markup (`GetCapabilities`); assumed until it says not.
    body_markup: AtomicBool,
}

/// Our notifications on screen: what each is about, by the daemon's id, and the daemon's id of
/// each alert. Entries go when the daemon says it closed one, or when we withdraw it.
#[derive(Default)]
struct OnScreen {
    targets: HashMap<u32, Target>,
    ids: HashMap<String, u32>,
}

impl OnScreen {
    fn insert(&mut self, id: u32, alert: &Alert) {
        self.targets.insert(id, Target::from(alert));
        self.ids.insert(alert.id.clone(), id);
    }

    fn closed(&mut self, id: u32) {
        self.targets.remove(&id);
        self.ids.retain(|_, shown| *shown != id);
    }

    /// Forgets the alert's notification and returns the daemon's id for it, if it is shown.
    fn take(&mut self, alert_id: &str) -> Option<u32> {
        let id = self.ids.remove(alert_id)?;
        self.targets.remove(&id);
        Some(id)
    }
}

impl DbusNotifier {
    pub fn new(on_intent: IntentHandler) -> DbusNotifier {
        let inner = Arc::new(Inner {
            connection: OnceCell::new(),
            shown: Mutex::new(OnScreen::default()),
            on_intent,
            warned: AtomicBool::new(false),
            body_markup: AtomicBool::new(true),
        });
        let (requests, mut queue) = mpsc::unbounded_channel();
        // Ends when the notifier is dropped (its sender with it).
        tauri::async_runtime::spawn(async move {
            while let Some(request) = queue.recv().await {
                match request {
                    Request::Show(alert) => {
                        if let Err(error) = inner.show(&alert).await {
                            inner.failed(&error);
                        }
                    }
                    Request::Withdraw(alert_id) => inner.withdraw(&alert_id).await,
                }
            }
        });
        DbusNotifier { requests }
    }

    fn send(&self, request: Request) {
        if self.requests.send(request).is_err() {
            tracing::debug!("the notification task is gone");
        }
    }
}

impl Notifier for DbusNotifier {
    fn show(&self, alert: &Alert) {
        self.send(Request::Show(Box::new(alert.clone())));
    }

    fn withdraw(&self, alert_id: &str) {
        self.send(Request::Withdraw(alert_id.to_owned()));
    }
}

impl Inner {
    async fn show(self: &Arc<Self>, alert: &Alert) -> zbus::Result<()> {
        let Some(connection) = self.connection().await else {
            return Ok(());
        };
        let hints: HashMap<&str, Value<'_>> = dbus_hints(alert)
            .into_iter()
            .map(|(key, value)| (key, Value::from(value)))
            .collect();
        let mut shown = self.shown.lock().await;
        let reply = connection
            .call_method(
                Some(BUS_NAME),
                OBJECT_PATH,
                Some(INTERFACE),
                "Notify",
                &(
                    APP_NAME,
                    0u32,
                    "",
                    alert.title.as_str(),
                    dbus_body(&alert.body, self.body_markup.load(Ordering::Relaxed)).as_ref(),
                    dbus_actions(alert),
                    hints,
                    DEFAULT_EXPIRY,
                ),
            )
            .await?;
        let id: u32 = reply.body().deserialize()?;
        shown.insert(id, alert);
        tracing::debug!(id, kind = ?alert.kind, "notification shown");
        Ok(())
    }

    /// `CloseNotification` for the alert's notification, if it is still on screen. Forgotten
    /// first: a click on it from now on asks about something already settled.
    async fn withdraw(self: &Arc<Self>, alert_id: &str) {
        let Some(id) = self.shown.lock().await.take(alert_id) else {
            return;
        };
        let Some(connection) = self.connection().await else {
            return;
        };
        let closed = connection
            .call_method(
                Some(BUS_NAME),
                OBJECT_PATH,
                Some(INTERFACE),
                "CloseNotification",
                &(id,),
            )
            .await;
        match closed {
            Ok(_) => tracing::debug!(id, "notification withdrawn"),
            // The daemon may have closed it meanwhile (a click, expiry); it then answers with
            // an error, as the specification says.
            Err(error) => tracing::debug!(id, %error, "a notification could not be withdrawn"),
        }
    }

    /// The shared connection, with the signal listener running; `None` without a session bus.
    async fn connection(self: &Arc<Self>) -> Option<&Connection> {
        self.connection
            .get_or_init(|| async {
                match self.connect().await {
                    Ok(connection) => Some(connection),
                    Err(error) => {
                        tracing::warn!(%error, "native notifications are unavailable: no session bus");
                        None
                    }
                }
            })
            .await
            .as_ref()
    }

    async fn connect(self: &Arc<Self>) -> zbus::Result<Connection> {
        let connection = Connection::session().await?;
        self.read_capabilities(&connection).await;
        // Only the daemon's signals: any other client on the bus could send an `ActionInvoked`
        // of its own, and "admit" lets someone into a consultation.
        let rule = MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(BUS_NAME)?
            .interface(INTERFACE)?
            .path(OBJECT_PATH)?
            .build();
        let mut signals = MessageStream::for_match_rule(rule, &connection, None).await?;
        let inner = Arc::downgrade(self);
        tauri::async_runtime::spawn(async move {
            while let Some(message) = signals.next().await {
                let Some(inner) = inner.upgrade() else { return };
                match message {
                    Ok(message) => inner.on_signal(&message).await,
                    Err(error) => tracing::debug!(%error, "unreadable D-Bus message"),
                }
            }
        });
        Ok(connection)
    }

    /// Learns whether the daemon renders body markup. Unknown (no answer) counts as yes:
    /// escaping then at worst shows `&amp;` where a daemon shows text as sent.
    async fn read_capabilities(&self, connection: &Connection) {
        let capabilities = async {
            let reply = connection
                .call_method(
                    Some(BUS_NAME),
                    OBJECT_PATH,
                    Some(INTERFACE),
                    "GetCapabilities",
                    &(),
                )
                .await?;
            reply.body().deserialize::<Vec<String>>()
        };
        match capabilities.await {
            Ok(capabilities) => {
                let markup = capabilities.iter().any(|c| c == "body-markup");
                self.body_markup.store(markup, Ordering::Relaxed);
                tracing::debug!(?capabilities, "notification daemon capabilities");
            }
            Err(error) => {
                tracing::debug!(%error, "no notification capabilities: escaping body markup")
            }
        }
    }

    async fn on_signal(&self, message: &zbus::Message) {
        let header = message.header();
        let body = message.body();
        match header.member().map(|member| member.as_str()) {
            Some("ActionInvoked") => {
                let Ok((id, key)) = body.deserialize::<(u32, String)>() else {
                    return;
                };
                // Unknown ids are other apps' notifications, ours from before a restart, or
                // withdrawn ones.
                let target = self.shown.lock().await.targets.get(&id).cloned();
                if let Some(intent) = target.and_then(|target| intent(&key, &target)) {
                    tracing::info!(id, action = %key, "notification action");
                    (self.on_intent)(intent);
                }
            }
            Some("NotificationClosed") => {
                if let Ok((id, _reason)) = body.deserialize::<(u32, u32)>() {
                    self.shown.lock().await.closed(id);
                }
            }
            _ => {}
        }
    }

    fn failed(&self, error: &zbus::Error) {
        if self.warned.swap(true, Ordering::Relaxed) {
            tracing::debug!(%error, "a notification could not be shown");
        } else {
            tracing::warn!(%error, "a notification could not be shown (is a notification daemon running?); further failures are logged at debug level");
        }
    }
}

// Tested end to end: tests/tests/doctor_desk.rs runs the app against a notification daemon the
// test owns on a private session bus, clicks Admit, Decline and Open on its notifications, and
// waits for `CloseNotification` once a request is decided elsewhere (tests/tests/call.rs: lobby).
