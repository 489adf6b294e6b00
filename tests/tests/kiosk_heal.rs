//! A kiosk's call heals itself (issue 14), real all the way through: the app binary in kiosk
//! mode under Xvfb with openbox, its call in a locked Chromium window with fake media, the demo
//! clinic server and the Jitsi stand-in. The call's Chromium is killed (`kill -9`) during a
//! visit and the kiosk is back in the call by itself, muted until the consent countdown; the
//! clinic server is stopped for 20 s during a call and the call goes on with nothing shown to
//! the patient; the server is stopped and the call is lost too, and the room sees the offline
//! screen (checked by axe-core) until the server is back and the kiosk is in the call again.
//! The app killed with everything it started, as its service's watchdog would, starts again,
//! rejoins muted and turns on only what the patient had on.
//!
//! DOM contract: docs/desktop-contracts.md.

use std::time::{Duration, Instant, SystemTime};

use consult_e2e::axe::assert_accessible;
use consult_e2e::clinic::{DemoKioskSecret, DEMO_ADMIN_EMAIL};
use consult_e2e::jitsi::{JitsiStandIn, StandInOptions};
use consult_e2e::process;
use consult_e2e::{
    App, AppLaunch, ClinicApi, ClinicServer, IsolatedSession, NotificationDaemon, WindowManager,
};
use serde_json::Value;

const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The bound for "call browser killed → back in the call" (the goal is 10 s).
const REJOIN_WITHIN: Duration = Duration::from_secs(15);
/// How long the clinic server stays away.
const OUTAGE: Duration = Duration::from_secs(20);
const OFFLINE_SCREEN: &str = "#kiosk[data-state=\"offline\"]";

/// The main Chromium processes of this app's calls.
fn call_browser_pids(app: &App) -> Vec<u32> {
    process::call_browsers_below(app.driver_pid())
}

/// Kills the call's browser as a crash would: no hang-up, no `readyToClose`.
fn kill_call_browser(app: &App) -> SystemTime {
    let pids = call_browser_pids(app);
    assert_eq!(pids.len(), 1, "one call browser: {pids:?}");
    let killed = std::process::Command::new("kill")
        .args(["-9", &pids[0].to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success(), "kill -9 {}", pids[0]);
    SystemTime::now()
}

/// A kiosk in a visit on the browser path. Field order is drop order.
struct KioskCall {
    app: App,
    /// The app's environment, for a restart.
    env: Vec<(String, String)>,
    jitsi: JitsiStandIn,
    server: ClinicServer,
    _wm: WindowManager,
    _secret: DemoKioskSecret,
    _daemon: NotificationDaemon,
    _session: IsolatedSession,
}

impl KioskCall {
    /// The demo kiosk joins a visit by itself, its call in a Chromium window.
    async fn open(label: &str) -> KioskCall {
        let session = IsolatedSession::start();
        let wm = WindowManager::start(&session);
        let daemon = NotificationDaemon::start(&session).await;
        let jitsi = JitsiStandIn::start(StandInOptions::hs256(
            "consult-e2e",
            "e2e-only-jitsi-app-secret-0123456789abcdef",
        ));
        let server = ClinicServer::start_demo_with_config(label, &jitsi.server_config_toml());
        let api = ClinicApi::new(server.url());
        let secret = DemoKioskSecret::write();
        let env: Vec<(String, String)> = secret
            .env()
            .into_iter()
            .chain([
                ("CONSULT_KIOSK__JOIN_LEAD_SECS".into(), "600".into()),
                ("CONSULT_KIOSK__RETRY_SECS".into(), "2".into()),
            ])
            .chain(jitsi.app_env("browser"))
            .collect();
        let app = App::launch(AppLaunch {
            session: &session,
            server_url: server.url().to_owned(),
            label: label.to_owned(),
            env: env.clone(),
        })
        .await;
        app.wait_for("#kiosk[data-state=\"ready\"]").await;
        let admin = api.login_demo(DEMO_ADMIN_EMAIL).await;
        let kiosk_id = api.kiosk_user_id(&admin).await;
        let doctor = api.doctor().await;
        let patient = api.patient().await;
        api.book_kiosk_visit(
            &doctor,
            &patient,
            &kiosk_id,
            Duration::from_secs(5 * 60),
            false,
        )
        .await;
        // Nobody clicks: the kiosk joins in a Chromium window.
        app.wait_for("#call-in-browser").await;
        let join = tokio::task::block_in_place(|| jitsi.wait_for_joins(1, CALL_TIMEOUT).remove(0));
        assert!(join.accepted, "{join:?}");
        KioskCall {
            app,
            env,
            jitsi,
            server,
            _wm: wm,
            _secret: secret,
            _daemon: daemon,
            _session: session,
        }
    }

    /// The app dies as its service's watchdog would end it, everything it started with it
    /// (systemd stops the unit's whole control group), and starts again in the same session.
    async fn restart(&mut self, label: &str) {
        let doomed: Vec<u32> = process::descendants(self.app.driver_pid())
            .into_iter()
            .filter(|pid| process::name_of(*pid) == "consult")
            .flat_map(|pid| std::iter::once(pid).chain(process::descendants(pid)))
            .collect();
        assert!(!doomed.is_empty(), "the app is running");
        for pid in doomed {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
        let again = App::launch(AppLaunch {
            session: &self._session,
            server_url: self.server.url().to_owned(),
            label: label.to_owned(),
            env: self.env.clone(),
        })
        .await;
        // The killed app's WebDriver session and driver end with the old handle.
        std::mem::replace(&mut self.app, again).quit().await;
    }

    /// Waits until the stand-in has seen `count` joins, and returns the last.
    fn joined(&self, count: usize, timeout: Duration) -> consult_e2e::jitsi::JoinRecord {
        tokio::task::block_in_place(|| self.jitsi.wait_for_joins(count, timeout))
            .pop()
            .expect("a join")
    }

    /// The doctor comes in and the countdown turns the microphone and camera on.
    async fn doctor_comes_in(&self, room: &str) {
        self.jitsi.send_event(
            room,
            serde_json::json!({"name": "participant-joined", "id": "doctor1", "displayName": "Ada Lovelace"}),
        );
        let before = self.toggles();
        self.app.wait_for("#consent-countdown").await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.toggles() < before + 2 {
            assert!(
                Instant::now() < deadline,
                "the countdown turned nothing on: {:?}",
                self.jitsi.commands()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn toggles(&self) -> usize {
        self.jitsi
            .commands()
            .iter()
            .filter(|command| command.name.starts_with("toggle-"))
            .count()
    }
}

fn muted(join: &consult_e2e::jitsi::JoinRecord) -> (Value, Value) {
    (
        join.config["startWithAudioMuted"].clone(),
        join.config["startWithVideoMuted"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_call_browser_is_back_in_the_call_within_15_s_and_muted_until_the_countdown() {
    let kiosk = KioskCall::open("kiosk-heal-kill").await;
    let first = kiosk.joined(1, CALL_TIMEOUT);
    kiosk.doctor_comes_in(&first.room).await;
    let toggles_before = kiosk.toggles();
    let killed_browser = call_browser_pids(&kiosk.app);

    let killed_at = kill_call_browser(&kiosk.app);
    let again = kiosk.joined(2, REJOIN_WITHIN);
    let took = again
        .received_at
        .duration_since(killed_at)
        .unwrap_or_default();
    println!(
        "HEAL call browser killed -> back in the call: {} ms",
        took.as_millis()
    );
    assert!(again.accepted, "{again:?}");
    assert!(took <= REJOIN_WITHIN, "back in the call after {took:?}");
    assert_eq!(again.room, first.room, "the same visit's call");
    let browser = call_browser_pids(&kiosk.app);
    assert_eq!(browser.len(), 1, "one call browser: {browser:?}");
    assert_ne!(browser, killed_browser, "a new browser carries the call");
    assert!(
        kiosk.app.logs().contains("the call is lost"),
        "the app logged why it joined again"
    );

    // Consent survives the rejoin: muted again, nothing turned on until the doctor is seen
    // and the countdown ends.
    assert_eq!(muted(&again), (Value::Bool(true), Value::Bool(true)));
    kiosk
        .app
        .wait_for("#kiosk-call[data-phase=\"joined\"]")
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        kiosk.toggles(),
        toggles_before,
        "media went on by itself after the rejoin: {:?}",
        kiosk.jitsi.commands()
    );
    assert!(!kiosk.app.is_present(OFFLINE_SCREEN).await);
    kiosk.doctor_comes_in(&again.room).await;
    assert!(kiosk.toggles() >= toggles_before + 2);
    kiosk.app.screenshot("kiosk-heal-rejoined").await;
    kiosk.app.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kiosk_restarted_during_a_visit_turns_on_only_what_the_patient_had_on() {
    let mut kiosk = KioskCall::open("kiosk-heal-restart").await;
    let first = kiosk.joined(1, CALL_TIMEOUT);
    kiosk.doctor_comes_in(&first.room).await;
    // The patient turns the camera off; Jitsi says so.
    let pressed = |css: &'static str, on: &'static str| {
        let app = &kiosk.app;
        async move {
            app.wait_for_attr(css, "aria-pressed", Duration::from_secs(10), |value| {
                value == on
            })
            .await
        }
    };
    pressed("#kiosk-camera", "true").await;
    kiosk.app.click("#kiosk-camera").await;
    pressed("#kiosk-camera", "false").await;

    kiosk.restart("kiosk-heal-restart-again").await;
    let again = kiosk.joined(2, CALL_TIMEOUT);
    assert!(again.accepted, "{again:?}");
    assert_eq!(again.room, first.room, "the same visit's call");
    assert_eq!(muted(&again), (Value::Bool(true), Value::Bool(true)));
    assert!(
        kiosk
            .app
            .logs()
            .contains("consent was kept from before the restart"),
        "{}",
        kiosk.app.logs()
    );
    kiosk
        .app
        .wait_for("#kiosk-call[data-phase=\"joined\"]")
        .await;
    let commands_before = kiosk.jitsi.commands().len();
    kiosk.jitsi.send_event(
        &again.room,
        serde_json::json!({"name": "participant-joined", "id": "doctor1", "displayName": "Ada Lovelace"}),
    );
    kiosk.app.wait_for("#consent-countdown").await;
    kiosk.app.wait_gone("#consent-countdown").await;
    let app = &kiosk.app;
    app.wait_for_attr(
        "#kiosk-mic",
        "aria-pressed",
        Duration::from_secs(10),
        |on| on == "true",
    )
    .await;
    // Time for a second toggle, were one coming.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let toggled: Vec<String> = kiosk.jitsi.commands()[commands_before..]
        .iter()
        .filter(|command| command.name.starts_with("toggle-"))
        .map(|command| command.name.clone())
        .collect();
    assert_eq!(
        toggled,
        ["toggle-audio"],
        "only the microphone went on again"
    );
    assert_eq!(
        kiosk
            .app
            .attr("#kiosk-camera", "aria-pressed")
            .await
            .as_deref(),
        Some("false")
    );
    kiosk.app.screenshot("kiosk-heal-restarted").await;
    kiosk.app.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clinic_server_away_for_20_s_leaves_a_running_call_alone_with_nothing_shown() {
    let mut kiosk = KioskCall::open("kiosk-heal-server-away").await;
    kiosk
        .app
        .wait_for("#kiosk-call[data-phase=\"joined\"]")
        .await;
    let browser = call_browser_pids(&kiosk.app);
    kiosk.server.stop();
    let back_at = Instant::now() + OUTAGE;
    let mut looks = 0;
    while Instant::now() < back_at {
        assert!(
            !kiosk.app.is_present(OFFLINE_SCREEN).await,
            "the offline screen covered a running call"
        );
        assert!(
            !kiosk.app.is_present("[role=\"alert\"]").await,
            "an alert was shown to the patient"
        );
        assert_eq!(
            kiosk.app.attr("#kiosk-call", "data-phase").await.as_deref(),
            Some("joined")
        );
        assert_eq!(
            call_browser_pids(&kiosk.app),
            browser,
            "the call was torn down"
        );
        looks += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(looks > 10, "looked only {looks} times");
    kiosk.app.screenshot("kiosk-heal-server-away").await;
    kiosk.server.start_again();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(kiosk.jitsi.joins().len(), 1, "joined again needlessly");
    assert_eq!(call_browser_pids(&kiosk.app), browser);
    kiosk.app.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_lost_while_the_server_is_away_shows_the_offline_screen_then_rejoins() {
    let mut kiosk = KioskCall::open("kiosk-heal-offline").await;
    let first = kiosk.joined(1, CALL_TIMEOUT);
    kiosk
        .app
        .wait_for("#kiosk-call[data-phase=\"joined\"]")
        .await;
    kiosk.server.stop();
    let stopped = Instant::now();
    kill_call_browser(&kiosk.app);

    // No call and no server: the room is told, calmly, in a live region.
    kiosk.app.wait_for(OFFLINE_SCREEN).await;
    let said = kiosk
        .app
        .wait_for_text("#kiosk-status", |text| !text.is_empty())
        .await;
    assert!(
        said.contains("We lost the connection. Reconnecting"),
        "{said}"
    );
    assert_eq!(
        kiosk
            .app
            .attr("#kiosk-status", "aria-live")
            .await
            .as_deref(),
        Some("polite")
    );
    assert_accessible(&kiosk.app, "offline").await;
    kiosk.app.screenshot("kiosk-heal-offline").await;

    let left = OUTAGE.saturating_sub(stopped.elapsed());
    tokio::time::sleep(left).await;
    assert!(
        kiosk.app.is_present(OFFLINE_SCREEN).await,
        "the offline screen went while the server was still away"
    );
    assert_eq!(kiosk.jitsi.joins().len(), 1, "joined without the server?");
    kiosk.server.start_again();
    let back = Instant::now();
    let again = kiosk.joined(2, CALL_TIMEOUT);
    println!(
        "HEAL server back -> back in the call: {} ms",
        back.elapsed().as_millis()
    );
    assert!(again.accepted, "{again:?}");
    assert_eq!(again.room, first.room);
    kiosk.app.wait_gone(OFFLINE_SCREEN).await;
    kiosk
        .app
        .wait_for("#kiosk-call[data-phase=\"joined\"]")
        .await;
    kiosk.app.quit().await;
}
