//! The service manager's watchdog (issue 14): the real app, started as systemd starts a kiosk's
//! unit with `WatchdogSec=` (`NOTIFY_SOCKET` and `WATCHDOG_USEC` in its environment), says
//! `READY=1` once its page is up and `WATCHDOG=1` while the page lives; a page frozen by a busy
//! loop (injected here) stops the pings, so systemd would restart the app. The socket is a real
//! datagram socket, read as systemd reads it.

use std::os::unix::net::UnixDatagram;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consult_e2e::process::{descendants, name_of};
use consult_e2e::{App, AppLaunch, ClinicServer, IsolatedSession};

/// The app's watchdog timeout in this test: pings every 2 s.
const WATCHDOG_USEC: &str = "4000000";
/// The page's pulse may be this old before the pings stop (`consult_core::watchdog::FRESH`).
const FRESH: Duration = Duration::from_secs(10);

/// Every datagram the app sent, with when it arrived.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<(Instant, String)>>>);

impl Heard {
    fn listen(socket: UnixDatagram) -> Heard {
        let heard = Heard::default();
        let log = heard.clone();
        std::thread::spawn(move || {
            let mut buffer = [0; 512];
            while let Ok(read) = socket.recv(&mut buffer) {
                let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
                log.0.lock().unwrap().push((Instant::now(), text));
            }
        });
        heard
    }

    fn pings(&self) -> Vec<Instant> {
        let log = self.0.lock().unwrap();
        log.iter()
            .filter(|(_, text)| text.lines().any(|line| line == "WATCHDOG=1"))
            .map(|(at, _)| *at)
            .collect()
    }

    fn readies(&self) -> usize {
        let log = self.0.lock().unwrap();
        log.iter()
            .filter(|(_, text)| text.lines().any(|line| line == "READY=1"))
            .count()
    }
}

async fn wait_until(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watchdog_is_fed_while_the_page_lives_and_starves_when_it_freezes() {
    let session = IsolatedSession::start();
    let server = ClinicServer::start_demo("watchdog");
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let heard = Heard::listen(UnixDatagram::bind(&socket_path).unwrap());
    let app = App::launch(AppLaunch {
        session: &session,
        server_url: server.url().to_owned(),
        label: "watchdog".into(),
        env: vec![
            (
                "NOTIFY_SOCKET".into(),
                socket_path.to_str().unwrap().to_owned(),
            ),
            ("WATCHDOG_USEC".into(), WATCHDOG_USEC.into()),
            // What systemd sets: the service's main process, which the app is not.
            ("WATCHDOG_PID".into(), "1".into()),
        ],
    })
    .await;
    app.wait_for("#email").await;

    // Ready once, after the page's first pulse; then pings at the 2 s rhythm.
    wait_until("READY=1", Duration::from_secs(30), || heard.readies() == 1).await;
    let counted = heard.pings().len();
    wait_until("three more pings", Duration::from_secs(15), || {
        heard.pings().len() >= counted + 3
    })
    .await;
    let pings = heard.pings();
    let widest = pings
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap();
    assert!(
        widest < Duration::from_secs(4),
        "pings {widest:?} apart while the page lives: systemd would have restarted the app"
    );

    // The page's event loop is stuck half a second from now (a busy loop, as a hung webview's
    // would be): late enough for this script's answer to leave the page first.
    let injected = tokio::time::timeout(
        Duration::from_secs(10),
        app.client().execute(
            "window.setTimeout(function () { for (;;) {} }, 500); return true;",
            Vec::new(),
        ),
    )
    .await;
    assert!(
        matches!(injected, Ok(Ok(_))),
        "the busy loop is injected: {injected:?}"
    );
    let frozen_at = Instant::now();

    // Pings go on while the last pulse is fresh, then stop for good: well past the 4 s timeout.
    tokio::time::sleep(FRESH + Duration::from_secs(12)).await;
    let last = *heard.pings().last().unwrap();
    assert!(
        last < frozen_at + FRESH + Duration::from_secs(3),
        "pings went on {:?} after the page froze",
        last - frozen_at
    );
    assert!(
        last.elapsed() > Duration::from_secs(8),
        "the last ping came {:?} ago: the watchdog (4 s) is still fed",
        last.elapsed()
    );
    assert!(
        app.logs()
            .contains("watchdog: the page has not said it is alive"),
        "the app says in its log why it stopped pinging"
    );
    assert_eq!(heard.readies(), 1, "READY=1 is said once");

    // A frozen page may not answer WebDriver: the app is ended first.
    for pid in descendants(app.driver_pid()) {
        if name_of(pid) == "consult" {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(20), app.quit()).await;
}
