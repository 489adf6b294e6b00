//! A fake screen saver that the test owns, on the [`IsolatedSession`]'s private bus: it owns
//! `org.freedesktop.ScreenSaver` and serves its idle-inhibit methods at
//! `/org/freedesktop/ScreenSaver`, as GNOME, KDE and Xfce do. `Inhibit(application_name,
//! reason)` answers a fresh cookie, `UnInhibit(cookie)` releases that inhibition, and a cookie
//! that is not held (unknown, or already released) is answered with an error. Every call is
//! recorded with its sender, and how many inhibitions were ever held at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use zbus::message::Header;
use zbus::{interface, Connection};

use crate::session::IsolatedSession;

pub const BUS_NAME: &str = "org.freedesktop.ScreenSaver";
pub const OBJECT_PATH: &str = "/org/freedesktop/ScreenSaver";

/// One call as the screen saver received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Inhibit {
        application_name: String,
        reason: String,
        /// The cookie answered.
        cookie: u32,
        /// The caller's unique name on the bus.
        sender: String,
    },
    UnInhibit {
        cookie: u32,
        /// Whether the cookie was held (otherwise the call was answered with an error).
        held: bool,
        sender: String,
    },
}

/// An inhibition in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inhibition {
    pub cookie: u32,
    pub application_name: String,
    pub reason: String,
    pub sender: String,
}

/// What the screen saver has seen and holds.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub received: Vec<Received>,
    /// Inhibitions in force, by cookie.
    pub held: BTreeMap<u32, Inhibition>,
    /// The most inhibitions held at any one time.
    pub most_held: usize,
}

impl Snapshot {
    /// The `Inhibit` calls received.
    pub fn inhibits(&self) -> Vec<&Received> {
        self.received
            .iter()
            .filter(|call| matches!(call, Received::Inhibit { .. }))
            .collect()
    }

    /// The `UnInhibit` calls received.
    pub fn uninhibits(&self) -> Vec<&Received> {
        self.received
            .iter()
            .filter(|call| matches!(call, Received::UnInhibit { .. }))
            .collect()
    }
}

#[derive(Default)]
struct State {
    snapshot: Snapshot,
    /// The last cookie given; cookies are never reused.
    last_cookie: u32,
}

struct Service {
    state: Arc<Mutex<State>>,
    changed: watch::Sender<u64>,
}

impl Service {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|count| *count += 1);
    }
}

fn sender_of(header: &Header<'_>) -> String {
    header
        .sender()
        .map(|sender| sender.to_string())
        .unwrap_or_default()
}

#[interface(name = "org.freedesktop.ScreenSaver")]
impl Service {
    async fn inhibit(
        &self,
        application_name: String,
        reason: String,
        #[zbus(header)] header: Header<'_>,
    ) -> u32 {
        let sender = sender_of(&header);
        let cookie = {
            let mut state = self.lock();
            // Fresh and not guessable from zero, as real services' are.
            state.last_cookie = state.last_cookie.max(4100) + 1;
            let cookie = state.last_cookie;
            let snapshot = &mut state.snapshot;
            snapshot.received.push(Received::Inhibit {
                application_name: application_name.clone(),
                reason: reason.clone(),
                cookie,
                sender: sender.clone(),
            });
            snapshot.held.insert(
                cookie,
                Inhibition {
                    cookie,
                    application_name,
                    reason,
                    sender,
                },
            );
            snapshot.most_held = snapshot.most_held.max(snapshot.held.len());
            cookie
        };
        self.bump();
        cookie
    }

    async fn un_inhibit(
        &self,
        cookie: u32,
        #[zbus(header)] header: Header<'_>,
    ) -> zbus::fdo::Result<()> {
        let sender = sender_of(&header);
        let held = {
            let mut state = self.lock();
            let held = state.snapshot.held.remove(&cookie).is_some();
            state.snapshot.received.push(Received::UnInhibit {
                cookie,
                held,
                sender,
            });
            held
        };
        self.bump();
        if held {
            Ok(())
        } else {
            Err(zbus::fdo::Error::InvalidArgs(format!(
                "no inhibition with cookie {cookie}"
            )))
        }
    }

    /// Whether the screen saver is active: never, here.
    async fn get_active(&self) -> bool {
        false
    }
}

/// The screen saver, serving until dropped.
pub struct ScreenSaver {
    _connection: Connection,
    state: Arc<Mutex<State>>,
    changed: watch::Receiver<u64>,
}

impl ScreenSaver {
    /// Connects to the session's private bus and owns `org.freedesktop.ScreenSaver` there.
    /// Fails the test if another process already owns it.
    pub async fn start(session: &IsolatedSession) -> ScreenSaver {
        let state = Arc::new(Mutex::new(State::default()));
        let (sender, changed) = watch::channel(0);
        let service = Service {
            state: Arc::clone(&state),
            changed: sender,
        };
        let connection = zbus::connection::Builder::address(session.bus_address())
            .and_then(|builder| builder.serve_at(OBJECT_PATH, service))
            .and_then(|builder| builder.name(BUS_NAME))
            .unwrap_or_else(|error| panic!("cannot set up the screen saver: {error}"))
            .build()
            .await
            .unwrap_or_else(|error| panic!("cannot own {BUS_NAME} on the private bus: {error}"));
        ScreenSaver {
            _connection: connection,
            state,
            changed,
        }
    }

    /// What it has seen and holds now.
    pub fn snapshot(&self) -> Snapshot {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .snapshot
            .clone()
    }

    /// Waits until what it has seen satisfies `done` (now or later), and returns that. Panics
    /// with everything seen when the deadline passes.
    pub async fn wait_until(
        &self,
        what: &str,
        done: impl Fn(&Snapshot) -> bool,
        timeout: Duration,
    ) -> Snapshot {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changed = self.changed.clone();
        loop {
            changed.borrow_and_update();
            let snapshot = self.snapshot();
            if done(&snapshot) {
                return snapshot;
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => panic!("the screen saver stopped"),
                Err(_) => {
                    panic!("not within {timeout:?}: {what}; the screen saver saw {snapshot:#?}")
                }
            }
        }
    }
}
