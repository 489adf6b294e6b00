//! The service manager's watchdog (systemd's `WatchdogSec=`, on a kiosk's unit): fed only
//! while the UI is alive, so a frozen webview is restarted like a crashed process.
//!
//! The page says it is alive every [`UI_PULSE`] (an IPC round trip, so a page stuck in a loop or
//! an IPC path that stopped both fall silent); the core pings the service manager every half of
//! its timeout while the last pulse is fresher than [`FRESH`], and says `READY=1` at the first
//! pulse. Before any pulse the app is starting, given [`START_GRACE`]. The rule is [`ui_alive`];
//! [`Watchdog`] holds the clock readings and sends the datagrams.
//!
//! systemd's own helpers check `WATCHDOG_PID` against the process; here the app is not the
//! service's main process (cage is, then the kiosk's wrapper), so that variable is ignored and
//! the unit says `NotifyAccess=all`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often the page says it is alive.
pub const UI_PULSE: Duration = Duration::from_secs(2);
/// A pulse older than this means the page is stuck: the pings stop and the service manager's
/// timeout (30 s on the kiosk's unit) runs out.
pub const FRESH: Duration = Duration::from_secs(10);
/// How long a starting app is alive without a pulse (its window and page are loading).
pub const START_GRACE: Duration = Duration::from_secs(60);

/// Whether the UI counts as alive, `since_start` after the app started and `since_pulse` after
/// its last pulse (`None`: none yet).
pub fn ui_alive(since_start: Duration, since_pulse: Option<Duration>) -> bool {
    match since_pulse {
        Some(age) => age <= FRESH,
        None => since_start <= START_GRACE,
    }
}

/// How often to ping for the service manager's `WATCHDOG_USEC` (half its timeout, as
/// `sd_watchdog_enabled(3)` advises); `None` when it is absent, malformed or zero.
pub fn ping_every(watchdog_usec: Option<&str>) -> Option<Duration> {
    let usec: u64 = watchdog_usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// Where the service manager listens and how often it wants to hear from the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervisor {
    /// `NOTIFY_SOCKET`: a path, or an abstract name written `@name`.
    pub socket: String,
    pub ping_every: Duration,
}

impl Supervisor {
    /// From `NOTIFY_SOCKET` and `WATCHDOG_USEC`; `None` unless both say a watchdog runs.
    pub fn from_env() -> Option<Supervisor> {
        let socket = std::env::var("NOTIFY_SOCKET").ok()?;
        let ping_every = ping_every(std::env::var("WATCHDOG_USEC").ok().as_deref())?;
        (!socket.is_empty()).then_some(Supervisor { socket, ping_every })
    }
}

/// The watchdog's clock readings: when the app started, the page's last pulse.
#[derive(Debug)]
pub struct Watchdog {
    supervisor: Supervisor,
    started: Instant,
    last_pulse: Mutex<Option<Instant>>,
}

/// What one look at the clock does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    /// The page's first pulse: ready, and alive.
    ReadyAndAlive,
    Alive,
    /// The page is silent: nothing is sent.
    Withhold,
}

impl Watchdog {
    pub fn new(supervisor: Supervisor) -> Watchdog {
        Watchdog {
            supervisor,
            started: Instant::now(),
            last_pulse: Mutex::new(None),
        }
    }

    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// The page is alive (the `ui_pulse` command).
    pub fn pulse(&self) {
        *self
            .last_pulse
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    /// What to send now; `ready_said` is whether `READY=1` went out already.
    pub fn look(&self, ready_said: bool) -> Ping {
        let last = *self
            .last_pulse
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let alive = ui_alive(self.started.elapsed(), last.map(|pulse| pulse.elapsed()));
        match (alive, last.is_some() && !ready_said) {
            (false, _) => Ping::Withhold,
            (true, true) => Ping::ReadyAndAlive,
            (true, false) => Ping::Alive,
        }
    }

    /// Pings for as long as the app runs (a task of its own).
    pub async fn run(&self) {
        let mut ready_said = false;
        let mut silent = false;
        loop {
            let message = match self.look(ready_said) {
                Ping::ReadyAndAlive => Some("READY=1\nWATCHDOG=1"),
                Ping::Alive => Some("WATCHDOG=1"),
                Ping::Withhold => None,
            };
            match message {
                Some(message) => {
                    if silent {
                        tracing::info!("watchdog: the page is alive again; pinging again");
                        silent = false;
                    }
                    match send(&self.supervisor.socket, message) {
                        Ok(()) => ready_said |= message.starts_with("READY"),
                        Err(error) => tracing::warn!(%error, "watchdog: the ping was not sent"),
                    }
                }
                None if !silent => {
                    silent = true;
                    tracing::error!(
                        "watchdog: the page has not said it is alive for {} s; no more pings, \
                         so the service manager restarts the app",
                        FRESH.as_secs()
                    );
                }
                None => {}
            }
            tokio::time::sleep(self.supervisor.ping_every).await;
        }
    }
}

/// One datagram to the service manager's socket.
#[cfg(target_os = "linux")]
fn send(socket: &str, message: &str) -> std::io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};

    let address = match socket.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes())?,
        None => SocketAddr::from_pathname(std::path::Path::new(socket))?,
    };
    let sender = UnixDatagram::unbound()?;
    sender.send_to_addr(message.as_bytes(), &address)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn send(_socket: &str, _message: &str) -> std::io::Result<()> {
    Err(std::io::Error::other("no service manager's watchdog here"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_starting_app_is_alive_until_the_grace_runs_out() {
        assert!(ui_alive(Duration::ZERO, None));
        assert!(ui_alive(START_GRACE, None));
        assert!(!ui_alive(START_GRACE + SECOND, None));
    }

    #[test]
    fn a_fresh_pulse_keeps_it_alive_and_a_stale_one_does_not() {
        assert!(ui_alive(Duration::from_secs(3600), Some(UI_PULSE)));
        assert!(ui_alive(Duration::from_secs(3600), Some(FRESH)));
        assert!(!ui_alive(Duration::from_secs(3600), Some(FRESH + SECOND)));
    }

    #[test]
    fn a_page_that_froze_right_after_start_is_not_saved_by_the_grace() {
        // One pulse, then silence: the pulse's age decides, not the start's.
        assert!(!ui_alive(Duration::from_secs(15), Some(FRESH + SECOND)));
    }

    #[test]
    fn the_ping_interval_is_half_the_timeout() {
        assert_eq!(ping_every(Some("30000000")), Some(Duration::from_secs(15)));
        assert_eq!(ping_every(Some(" 4000000\n")), Some(Duration::from_secs(2)));
        assert_eq!(ping_every(Some("0")), None);
        assert_eq!(ping_every(Some("soon")), None);
        assert_eq!(ping_every(None), None);
    }

    #[test]
    fn ready_goes_out_with_the_first_pulse_only() {
        let watchdog = Watchdog::new(Supervisor {
            socket: "@unused".into(),
            ping_every: SECOND,
        });
        assert_eq!(
            watchdog.look(false),
            Ping::Alive,
            "starting: alive, not ready"
        );
        watchdog.pulse();
        assert_eq!(watchdog.look(false), Ping::ReadyAndAlive);
        assert_eq!(watchdog.look(true), Ping::Alive);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn pings_reach_a_datagram_socket_at_a_path_and_an_abstract_name() {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixDatagram};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        send(path.to_str().unwrap(), "WATCHDOG=1").unwrap();
        let mut buffer = [0; 64];
        let read = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..read], b"WATCHDOG=1");

        let name = format!("consult-watchdog-test-{}", std::process::id());
        let abstract_listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        send(&format!("@{name}"), "READY=1").unwrap();
        let read = abstract_listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..read], b"READY=1");
    }
}
