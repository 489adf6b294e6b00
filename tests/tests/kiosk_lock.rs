//! The kiosk's locked shell (issue 13 item 2), on a real window manager: the demo kiosk's app
//! under Xvfb with openbox, poked at the way a passer-by or the window manager would (keys,
//! the window manager's close, leaving fullscreen, iconifying, another window taking the
//! focus). The kiosk stays fullscreen, focused and running; a doctor's app is not locked.

use std::time::{Duration, Instant};

use consult_e2e::clinic::DemoKioskSecret;
use consult_e2e::{
    App, AppLaunch, ClinicServer, IsolatedSession, NotificationDaemon, WindowManager,
};

/// The main window's title.
const TITLE: &str = "Consult";
/// How long a close or an exit gets to happen before the window is looked at again: the
/// doctor's app below is gone well within it.
const SETTLE: Duration = Duration::from_millis(1200);
/// How long the kiosk gets to put its window back.
const PATIENCE: Duration = Duration::from_secs(6);

/// Whether a `type` event dispatched on the page's body was let through (not prevented).
async fn event_allowed(app: &App, kind: &str) -> bool {
    let script = format!(
        "return document.body.dispatchEvent(new Event('{kind}', {{bubbles: true, cancelable: true}}));"
    );
    app.client()
        .execute(&script, vec![])
        .await
        .unwrap_or_else(|error| panic!("cannot dispatch {kind}: {error}"))
        .as_bool()
        .unwrap_or_else(|| panic!("{kind}: no boolean answer"))
}

/// Waits until the window is there, fullscreen and focused; panics with `after` otherwise.
async fn assert_locked(wm: &WindowManager, app: &App, id: &str, after: &str) {
    tokio::time::sleep(SETTLE).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let window = wm.window(TITLE);
        let fullscreen = window.as_deref().is_some_and(|w| wm.is_fullscreen(w));
        let focused = wm.active_window().as_deref() == Some(id);
        if window.as_deref() == Some(id) && fullscreen && focused {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after {after}: window {window:?} (was {id}), fullscreen {fullscreen}, focused {focused}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The app itself still runs and still shows the kiosk screen.
    assert!(
        app.is_present("#kiosk[data-state=\"ready\"]").await,
        "after {after}: the kiosk screen is gone"
    );
}

const REFUSED: &str = "kiosk: a request to close the window was refused";

/// How many close requests the app has refused so far (its log says each).
fn refusals(app: &App) -> usize {
    app.logs().matches(REFUSED).count()
}

/// Waits until the app has refused `count` close requests: the request did reach it.
async fn wait_refusals(app: &App, count: usize) {
    let deadline = Instant::now() + PATIENCE;
    while refusals(app) < count {
        assert!(
            Instant::now() < deadline,
            "the close request never reached the app"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kiosk_window_stays_fullscreen_focused_and_open() {
    let session = IsolatedSession::start();
    let wm = WindowManager::start(&session);
    let _daemon = NotificationDaemon::start(&session).await;
    let server = ClinicServer::start_demo("kiosk-lock");
    let secret = DemoKioskSecret::write();
    let app = App::launch(AppLaunch {
        session: &session,
        server_url: server.url().to_owned(),
        label: "kiosk-lock".to_owned(),
        env: secret.env(),
    })
    .await;
    app.wait_for("#kiosk[data-state=\"ready\"]").await;
    let id = wm.wait_window(TITLE, Duration::from_secs(10));
    assert_locked(&wm, &app, &id, "start").await;

    // The app's own page: no context menu, no selecting its text.
    assert!(!event_allowed(&app, "contextmenu").await, "context menu");
    assert!(!event_allowed(&app, "selectstart").await, "text selection");

    // Openbox closes the focused window on Alt+F4; the app refuses (and says so).
    let refused = refusals(&app);
    wm.key("alt+F4");
    wait_refusals(&app, refused + 1).await;
    assert_locked(&wm, &app, &id, "alt+F4").await;
    // Other keys a passer-by tries.
    for keys in ["ctrl+q", "Escape", "F11", "ctrl+w"] {
        wm.key(keys);
        assert_locked(&wm, &app, &id, keys).await;
    }
    // The window manager's own requests.
    let refused = refusals(&app);
    wm.close(&id);
    wait_refusals(&app, refused + 1).await;
    assert_locked(&wm, &app, &id, "the window manager's close").await;
    wm.leave_fullscreen(&id);
    assert_locked(&wm, &app, &id, "leaving fullscreen").await;
    wm.minimize(&id);
    assert_locked(&wm, &app, &id, "iconifying").await;
    // Another window takes the focus; the kiosk takes it back.
    let _other = wm.other_window("Intruder");
    let other = wm.wait_window("Intruder", Duration::from_secs(10));
    wm.activate(&other);
    assert_locked(&wm, &app, &id, "another window taking the focus").await;

    assert!(app
        .logs()
        .contains("kiosk: a request to close the window was refused"));
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_doctors_window_is_not_locked() {
    let session = IsolatedSession::start();
    let wm = WindowManager::start(&session);
    let _daemon = NotificationDaemon::start(&session).await;
    let server = ClinicServer::start_demo("kiosk-lock-doctor");
    let app = App::launch(AppLaunch {
        session: &session,
        server_url: server.url().to_owned(),
        label: "kiosk-lock-doctor".to_owned(),
        env: vec![],
    })
    .await;
    app.wait_for("#email").await;
    let id = wm.wait_window(TITLE, Duration::from_secs(10));
    tokio::time::sleep(SETTLE).await;
    assert!(
        !wm.is_fullscreen(&id),
        "a doctor's window is not fullscreen"
    );
    assert!(
        event_allowed(&app, "contextmenu").await,
        "the page is not locked"
    );
    assert!(
        event_allowed(&app, "selectstart").await,
        "the page is not locked"
    );

    // The window manager's close ends the app.
    wm.close(&id);
    let deadline = Instant::now() + Duration::from_secs(10);
    while wm.window(TITLE).is_some() {
        assert!(
            Instant::now() < deadline,
            "a doctor's window did not close on the window manager's request"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !app.is_present("#email").await,
        "the doctor's app still answers after its window closed"
    );
}
