//! A kiosk's call in a Chromium window stays locked (issue 13 item 2), on a real window manager:
//! the demo kiosk joins its visit by itself on the browser path under Xvfb with openbox, and the
//! keys that open browser windows (Ctrl+N, Ctrl+T, Ctrl+Shift+N) are pressed in the call window
//! as a patient would. What they open is closed at once by the app's window watch: one Chromium
//! window is left, the call's, fullscreen and focused, and the call goes on.
//!
//! The managed policy (`consult --kiosk-chromium-policy`) is machine-wide, in
//! `/etc/chromium/policies/managed/`, where it would reach the browsers of the tests running
//! beside these. So the first test runs without it (Ctrl+Shift+N then opens an incognito
//! window, which the watch closes too), and the second gives its browser alone the policy: the
//! app's `browser` is a wrapper that runs Chromium in a mount namespace of its own (`unshare
//! -m`, root only) where the test's directory is bound over `/etc/chromium`.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use consult_e2e::clinic::{Actor, DemoKioskSecret, DEMO_ADMIN_EMAIL};
use consult_e2e::jitsi::{JitsiStandIn, StandInOptions};
use consult_e2e::{paths, process};
use consult_e2e::{
    App, AppLaunch, ClinicApi, ClinicServer, IsolatedSession, NotificationDaemon, WindowManager,
};

/// What the app logs for each window it closes (call/x11_watch.rs).
const CLOSED: &str = "kiosk: closed a browser window other than the call's";
/// How long a key gets to open its window (and the watch to close it) before the windows are
/// looked at: a window that stays is there by then.
const SETTLE: Duration = Duration::from_secs(3);
/// How long the lock gets to put things right.
const PATIENCE: Duration = Duration::from_secs(10);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The main Chromium processes of this app's calls.
fn call_browser_pids(app: &App) -> Vec<u32> {
    process::call_browsers_below(app.driver_pid())
}

/// The Chromium windows of `pids`, whether the first is fullscreen, and the focused window.
fn look(wm: &WindowManager, pids: &[u32]) -> (Vec<String>, bool, Option<String>) {
    let windows = wm.windows_of(pids);
    let fullscreen = windows.first().is_some_and(|id| wm.is_fullscreen(id));
    (windows, fullscreen, wm.active_window())
}

/// Waits until `call` is the one Chromium window, fullscreen and focused; panics with `after`.
async fn assert_call_alone(wm: &WindowManager, pids: &[u32], call: &str, after: &str) {
    tokio::time::sleep(SETTLE).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (windows, fullscreen, active) = look(wm, pids);
        if windows == [call] && fullscreen && active.as_deref() == Some(call) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after {after}: Chromium windows {windows:?} (the call's is {call}), fullscreen {fullscreen}, focused {active:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn kiosk_user_id(api: &ClinicApi, admin: &Actor) -> String {
    api.kiosk_user_id(admin).await
}

/// The doctor books a visit in the kiosk's room starting in 5 minutes.
async fn book_visit(api: &ClinicApi, doctor: &Actor, kiosk_id: &str) -> String {
    let patient = api.patient().await;
    let (id, _) = api
        .book_kiosk_visit(
            doctor,
            &patient,
            kiosk_id,
            Duration::from_secs(5 * 60),
            false,
        )
        .await;
    id
}

/// A kiosk in a visit on the browser path, its Chromium and its call window. Field order is
/// drop order.
struct KioskCall {
    app: App,
    jitsi: JitsiStandIn,
    /// The call's main Chromium process.
    pids: Vec<u32>,
    /// The call's window, as `xdotool` numbers it.
    call: String,
    wm: WindowManager,
    _dirs: Vec<tempfile::TempDir>,
    _secret: DemoKioskSecret,
    _server: ClinicServer,
    _daemon: NotificationDaemon,
    _session: IsolatedSession,
}

impl KioskCall {
    /// The demo kiosk joins a visit by itself, its call in a Chromium window; `browser` is
    /// added to the stand-in's browser-path environment (later entries win).
    async fn open(
        label: &str,
        jitsi: JitsiStandIn,
        browser: Vec<(String, String)>,
        dirs: Vec<tempfile::TempDir>,
    ) -> KioskCall {
        let session = IsolatedSession::start();
        let wm = WindowManager::start(&session);
        let daemon = NotificationDaemon::start(&session).await;
        let server = ClinicServer::start_demo_with_config(label, &jitsi.server_config_toml());
        let api = ClinicApi::new(server.url());
        let secret = DemoKioskSecret::write();
        let app = App::launch(AppLaunch {
            session: &session,
            server_url: server.url().to_owned(),
            label: label.to_owned(),
            env: secret
                .env()
                .into_iter()
                .chain([("CONSULT_KIOSK__JOIN_LEAD_SECS".into(), "600".into())])
                .chain(jitsi.app_env("browser"))
                .chain(browser)
                .collect(),
        })
        .await;
        app.wait_for("#kiosk[data-state=\"ready\"]").await;
        let admin = api.login_demo(DEMO_ADMIN_EMAIL).await;
        let kiosk_id = kiosk_user_id(&api, &admin).await;
        let doctor = api.doctor().await;
        book_visit(&api, &doctor, &kiosk_id).await;

        // Nobody clicks: the kiosk joins in a Chromium window.
        app.wait_for("#call-in-browser").await;
        let join = tokio::task::block_in_place(|| jitsi.wait_for_joins(1, CALL_TIMEOUT).remove(0));
        assert!(join.accepted, "{join:?}");
        let pids = call_browser_pids(&app);
        assert_eq!(pids.len(), 1, "one call browser: {pids:?}");
        let deadline = Instant::now() + CALL_TIMEOUT;
        let call = loop {
            if let Some(id) = wm.windows_of(&pids).first() {
                break id.clone();
            }
            assert!(Instant::now() < deadline, "no Chromium window");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_call_alone(&wm, &pids, &call, "the call opened").await;
        KioskCall {
            app,
            jitsi,
            pids,
            call,
            wm,
            _dirs: dirs,
            _secret: secret,
            _server: server,
            _daemon: daemon,
            _session: session,
        }
    }

    /// Presses `keys` in the call window; the call window is left alone, fullscreen and focused.
    /// How many windows the app closed meanwhile.
    async fn press(&self, keys: &str) -> usize {
        let closed = self.app.logs().matches(CLOSED).count();
        self.wm.key(keys);
        assert_call_alone(&self.wm, &self.pids, &self.call, keys).await;
        self.app.logs().matches(CLOSED).count() - closed
    }

    /// The call goes on: the same browser, still joined, not joined again.
    async fn assert_call_goes_on(&self) {
        assert_eq!(
            call_browser_pids(&self.app),
            self.pids,
            "the call's browser was replaced"
        );
        assert_eq!(
            self.app.attr("#kiosk-call", "data-phase").await.as_deref(),
            Some("joined")
        );
        assert_eq!(self.jitsi.joins().len(), 1, "{:?}", self.jitsi.joins());
    }
}

fn stand_in() -> JitsiStandIn {
    JitsiStandIn::start(StandInOptions::hs256(
        "consult-e2e",
        "e2e-only-jitsi-app-secret-0123456789abcdef",
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_that_open_browser_windows_leave_the_kiosks_call_alone_fullscreen_and_focused() {
    let kiosk = KioskCall::open("kiosk-call-lock", stand_in(), vec![], vec![]).await;
    kiosk.app.screenshot("kiosk-call-lock-call").await;
    for keys in ["ctrl+n", "ctrl+t", "ctrl+shift+n"] {
        // The key did open a window (so this test can fail: without the app's watch it stays),
        // and the app closed it.
        assert!(
            kiosk.press(keys).await > 0,
            "after {keys}: the app closed no window (did the key open one?)"
        );
    }
    kiosk.assert_call_goes_on().await;
    kiosk.app.screenshot("kiosk-call-lock-after-keys").await;
    kiosk.app.quit().await;
}

/// The generated policy, given to this test's browser alone: the call still loads (its start
/// page, the loopback call page and the Jitsi server are allowed) and gets the camera and the
/// microphone without a prompt (no `--use-fake-ui-for-media-stream` here: only the policy
/// grants them), and the keys that open Chromium's own pages leave the call alone.
#[tokio::test(flavor = "multi_thread")]
async fn under_the_kiosk_policy_the_call_gets_its_media_and_stays_alone() {
    let jitsi = stand_in();
    let output = std::process::Command::new(paths::binary("consult"))
        .args(["--kiosk-chromium-policy", &jitsi.base_url()])
        .env_remove("TMPDIR")
        .output()
        .expect("consult runs");
    assert!(output.status.success(), "{output:?}");
    let policy: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the policy is JSON");

    // /etc/chromium for this browser only: the package's preferences and the policy.
    let root = tempfile::tempdir().expect("a temp dir");
    let managed = root.path().join("policies/managed");
    std::fs::create_dir_all(&managed).expect("the policy directory");
    std::fs::write(managed.join("consult-kiosk.json"), policy.to_string()).expect("the policy");
    if let Ok(preferences) = std::fs::read("/etc/chromium/master_preferences") {
        std::fs::write(root.path().join("master_preferences"), preferences)
            .expect("the preferences");
    }
    let wrapper = root.path().join("chromium-with-policy");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec unshare --mount --propagation private sh -c 'mount --bind \"$0\" /etc/chromium && exec /usr/bin/chromium \"$@\"' '{}' \"$@\"\n",
            root.path().display()
        ),
    )
    .expect("the wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("mode 755");

    let kiosk = KioskCall::open(
        "kiosk-call-policy",
        jitsi,
        vec![
            ("CONSULT_BROWSER".into(), wrapper.display().to_string()),
            (
                "CONSULT_BROWSER_ARGS".into(),
                r#"["--use-fake-device-for-media-stream"]"#.into(),
            ),
        ],
        vec![root],
    )
    .await;
    let media = tokio::task::block_in_place(|| kiosk.jitsi.wait_for_media_report(CALL_TIMEOUT));
    assert_eq!(media["supported"], serde_json::json!(true), "{media}");
    assert!(
        media["framesDecoded"].as_f64().unwrap_or(0.0) > 0.0,
        "{media}"
    );
    // History, downloads, the Task Manager, a new window or tab: none stays.
    for keys in [
        "ctrl+h",
        "ctrl+j",
        "shift+Escape",
        "ctrl+n",
        "ctrl+t",
        "ctrl+shift+n",
    ] {
        kiosk.press(keys).await;
    }
    kiosk.assert_call_goes_on().await;
    kiosk.app.quit().await;
}
