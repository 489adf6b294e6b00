//! Kiosk mode (issue 13), real all the way through: the app binary under Xvfb with the
//! administrator's `[kiosk]` settings in its environment and the demo kiosk's secret in a file
//! only its account can read, against the demo clinic server. No login form, ever.
//!
//! DOM contract: docs/desktop-contracts.md.

use std::time::Duration;

use consult_e2e::axe::{assert_accessible, wcag_violations};
use consult_e2e::clinic::{
    id_of, Actor, DemoKioskSecret, DEMO_ADMIN_EMAIL, DEMO_DEVICE_SECRET, DEMO_PATIENT_NAME,
};
use consult_e2e::jitsi::{JitsiStandIn, StandInOptions};
use consult_e2e::{App, AppLaunch, ClinicApi, ClinicServer, IsolatedSession, NotificationDaemon};
use serde_json::Value;

/// WCAG 2.2's resize-text and reflow criteria on the screen shown now, at 200 % zoom. Page zoom
/// at 200 % lays a page out exactly as a viewport of half the width and height at 100 % (each
/// CSS pixel twice as large). A kiosk's window cannot be resized, so the screen's DOM, with the
/// app's own style sheets (frames left out), is laid out in a frame of half the window's size:
/// nothing there may need scrolling sideways, and each of `visible` must be shown whole.
async fn assert_usable_at_200_percent(app: &App, screen: &str, visible: &[&str]) {
    let problems = reflow_problems(app, visible).await;
    assert!(
        problems.is_empty(),
        "the {screen} screen at 200 %: {problems:?}"
    );
}

/// What [`assert_usable_at_200_percent`] finds wrong.
async fn reflow_problems(app: &App, visible: &[&str]) -> Vec<String> {
    let found = app
        .client()
        .execute_async(
            r#"const [selectors, done] = arguments;
            const width = Math.floor(window.innerWidth / 2), height = Math.floor(window.innerHeight / 2);
            const copy = document.body.cloneNode(true);
            for (const frame of copy.querySelectorAll("iframe")) {
                const stand = document.createElement("div");
                stand.id = frame.id; stand.className = frame.className;
                frame.replaceWith(stand);
            }
            const sheets = [...document.querySelectorAll('link[rel="stylesheet"]')]
                .map((link) => `<link rel="stylesheet" href="${link.href}">`).join("");
            const frame = document.createElement("iframe");
            frame.style.cssText = `position:fixed;left:0;top:0;width:${width}px;height:${height}px;border:0;visibility:hidden`;
            document.body.appendChild(frame);
            // about:blank: same origin, no navigation for the content policy to refuse.
            const doc = frame.contentDocument, root = doc.documentElement;
            const loads = [...document.querySelectorAll('link[rel="stylesheet"]')].map((link) =>
                new Promise((resolve) => {
                    const sheet = doc.createElement("link");
                    sheet.rel = "stylesheet"; sheet.href = link.href;
                    sheet.onload = sheet.onerror = resolve;
                    doc.head.appendChild(sheet);
                }));
            doc.body.innerHTML = copy.innerHTML;
            Promise.all(loads).then(() => {
                const problems = [];
                if (loads.length === 0) problems.push("no style sheet found");
                if (root.clientWidth !== width) problems.push(`laid out ${root.clientWidth} px wide, not ${width}`);
                if (root.scrollWidth > root.clientWidth + 1) {
                    problems.push(`scrolls sideways: ${root.scrollWidth} > ${root.clientWidth}`);
                }
                for (const selector of selectors) {
                    const element = doc.querySelector(selector);
                    if (!element) { problems.push(`${selector} is missing`); continue; }
                    const box = element.getBoundingClientRect();
                    if (box.width === 0 || box.height === 0) problems.push(`${selector} is not shown`);
                    if (box.left < -1 || box.right > root.clientWidth + 1) {
                        problems.push(`${selector} is cut off: ${box.left}..${box.right} of ${root.clientWidth}`);
                    }
                }
                frame.remove();
                done(problems);
            });"#,
            vec![serde_json::json!(visible)],
        )
        .await
        .expect("the check runs");
    serde_json::from_value(found).expect("a list of problems")
}

/// One kiosk app with its server and a Jitsi stand-in. Field order is drop order.
struct Kiosk {
    app: App,
    api: ClinicApi,
    admin: Actor,
    _secret: DemoKioskSecret,
    server: ClinicServer,
    jitsi: JitsiStandIn,
    _daemon: NotificationDaemon,
    _session: IsolatedSession,
}

impl Kiosk {
    /// The demo kiosk, joining a visit `lead` before its start.
    async fn open(label: &str, lead: Duration) -> Kiosk {
        Kiosk::open_with(label, lead, "", false).await
    }

    /// With more top-level server settings (`server_toml`), and the app's exit status recorded
    /// when `record_exit` is set.
    async fn open_with(label: &str, lead: Duration, server_toml: &str, record_exit: bool) -> Kiosk {
        let session = IsolatedSession::start();
        let daemon = NotificationDaemon::start(&session).await;
        let jitsi = JitsiStandIn::start(StandInOptions::hs256(
            "consult-e2e",
            "e2e-only-jitsi-app-secret-0123456789abcdef",
        ));
        // Top-level settings before the `[jitsi]` table.
        let server = ClinicServer::start_demo_with_config(
            label,
            &format!("{server_toml}\n{}", jitsi.server_config_toml()),
        );
        let api = ClinicApi::new(server.url());
        let secret = DemoKioskSecret::write();
        let launch = AppLaunch {
            session: &session,
            server_url: server.url().to_owned(),
            label: label.to_owned(),
            env: secret
                .env()
                .into_iter()
                .chain([
                    (
                        "CONSULT_KIOSK__CLINIC_NAME".into(),
                        "Harbour Street Clinic".into(),
                    ),
                    // Switched back on, it is back within the test's patience.
                    ("CONSULT_KIOSK__RETRY_SECS".into(), "2".into()),
                    (
                        "CONSULT_KIOSK__JOIN_LEAD_SECS".into(),
                        lead.as_secs().to_string(),
                    ),
                ])
                .chain(jitsi.app_env("embedded"))
                .collect(),
        };
        let app = if record_exit {
            App::launch_recording_exit(launch).await
        } else {
            App::launch(launch).await
        };
        let admin = api.login_demo(DEMO_ADMIN_EMAIL).await;
        Kiosk {
            app,
            api,
            admin,
            _secret: secret,
            server,
            jitsi,
            _daemon: daemon,
            _session: session,
        }
    }

    /// The doctor books a visit in this kiosk's room starting in 5 minutes; its id.
    async fn book_visit(&self, doctor: &Actor, waiting_room: bool) -> String {
        let kiosk_id = self.kiosk_user_id().await;
        let patient = self.api.patient().await;
        let (id, _) = self
            .api
            .book_kiosk_visit(
                doctor,
                &patient,
                &kiosk_id,
                Duration::from_secs(5 * 60),
                waiting_room,
            )
            .await;
        id
    }

    async fn wait_state(&self, state: &str) {
        self.app
            .wait_for(&format!("#kiosk[data-state=\"{state}\"]"))
            .await;
    }

    async fn kiosk_user_id(&self) -> String {
        self.api.kiosk_user_id(&self.admin).await
    }

    async fn set_enabled(&self, enabled: bool) {
        let id = self.kiosk_user_id().await;
        let action = if enabled { "enable" } else { "disable" };
        self.api
            .post(&format!("/users/{id}/{action}"), &self.admin, None)
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kiosk_starts_signed_in_without_a_login_form_and_follows_its_switch() {
    let mut kiosk = Kiosk::open("kiosk-start", Duration::from_secs(60)).await;
    kiosk.wait_state("ready").await;
    assert!(!kiosk.app.is_present("#email").await, "no login form");
    assert!(!kiosk.app.is_present("#schedule").await, "no schedule");
    let clock = kiosk
        .app
        .wait_for_text("#kiosk-clock", |time| time.len() == 5)
        .await;
    assert!(clock.contains(':'), "{clock}");
    kiosk
        .app
        .wait_for_text("#kiosk-clinic", |name| name == "Harbour Street Clinic")
        .await;
    assert_accessible(&kiosk.app, "idle").await;
    assert_usable_at_200_percent(
        &kiosk.app,
        "idle",
        &["#kiosk-clinic", "#kiosk-clock", "#kiosk-status"],
    )
    .await;
    kiosk.app.screenshot("kiosk-idle").await;
    // The check can fail: a button without a name, put on the screen, is found.
    kiosk
        .app
        .client()
        .execute(
            "const b = document.createElement('button'); b.id = 'nameless'; document.body.appendChild(b);",
            vec![],
        )
        .await
        .expect("the probe is added");
    let (found, _) = wcag_violations(&kiosk.app).await;
    assert!(
        found.iter().any(|v| v["id"] == "button-name"),
        "axe-core missed a nameless button: {found:?}"
    );
    kiosk
        .app
        .client()
        .execute("document.getElementById('nameless').remove();", vec![])
        .await
        .expect("the probe is removed");

    // The server recorded a sign-in by the device grant, not by password.
    let audit = kiosk.api.get("/audit", &kiosk.admin).await;
    let device_grants = audit
        .as_array()
        .into_iter()
        .flatten()
        .filter(|row: &&Value| {
            row["action"] == "auth.login_succeeded" && row["detail"]["grant"] == "device"
        })
        .count();
    assert!(device_grants >= 1, "{audit}");

    kiosk.set_enabled(false).await;
    kiosk.wait_state("switched-off").await;
    kiosk
        .app
        .wait_for_text("#kiosk-status", |text| {
            text.contains("This kiosk has been switched off by the clinic.")
        })
        .await;
    assert!(!kiosk.app.is_present("#email").await, "still no login form");
    assert_accessible(&kiosk.app, "switched-off").await;
    kiosk.app.screenshot("kiosk-switched-off").await;

    kiosk.set_enabled(true).await;
    kiosk.wait_state("ready").await;

    // The server restarts with a new signing key: the kiosk's access token is refused from now
    // on, and it gets a new one by itself. Its schedule is live again: a visit booked after the
    // restart is announced on the idle screen.
    let last_before_restart = kiosk.api.get("/audit?limit=1", &kiosk.admin).await[0]["id"]
        .as_i64()
        .expect("an audit row");
    kiosk.server.restart_with_new_signing_key();
    kiosk.admin = kiosk.api.login_demo(DEMO_ADMIN_EMAIL).await;
    let doctor = kiosk.api.doctor().await;
    kiosk.book_visit(&doctor, false).await;
    kiosk.wait_state("visit-soon").await;
    assert!(!kiosk.app.is_present("#email").await, "still no login form");
    // It got its new token from the restarted server (a refresh, or a new device sign-in).
    let kiosk_id = Value::from(kiosk.kiosk_user_id().await);
    let audit = kiosk.api.get("/audit", &kiosk.admin).await;
    let renewed = audit.as_array().into_iter().flatten().any(|row: &Value| {
        row["action"] == "auth.token_issued"
            && row["actorUserId"] == kiosk_id
            && row["id"].as_i64() > Some(last_before_restart)
    });
    assert!(
        renewed,
        "no token issued to the kiosk after the restart: {audit}"
    );
    // Nothing secret reached the app's log.
    assert!(!kiosk.app.logs().contains(DEMO_DEVICE_SECRET));
    kiosk.app.quit().await;
}

/// Staff leave a kiosk with the exit PIN, typed on a PIN pad that a hidden gesture opens
/// (five taps on the clock). Wrong PINs lock the exit and every try is audited; the right one
/// opens the maintenance screen, whose Exit ends the app with the code its service does not
/// restart.
#[tokio::test(flavor = "multi_thread")]
async fn the_exit_pin_locks_after_wrong_tries_and_the_right_one_leads_to_maintenance_and_exit() {
    /// Published with the demo (server/src/demo.rs), like its password.
    const DEMO_EXIT_PIN: &str = "135790";
    /// kiosk_shell::ADMINISTRATOR_EXIT_CODE, documented in the README's kiosk section.
    const ADMINISTRATOR_EXIT_CODE: i32 = 64;
    // The server's lockout made short, so the test sees it end.
    let kiosk = Kiosk::open_with(
        "kiosk-exit",
        Duration::from_secs(60),
        "kiosk_exit_lockout_secs = 3",
        true,
    )
    .await;
    kiosk.wait_state("ready").await;
    assert!(!kiosk.app.is_present("#pin-pad").await);
    for _ in 0..5 {
        kiosk.app.click("#kiosk-clock").await;
    }
    kiosk.app.wait_for("#pin-pad").await;
    assert_accessible(&kiosk.app, "PIN pad").await;
    assert_usable_at_200_percent(
        &kiosk.app,
        "PIN pad",
        &["#pin-1", "#pin-submit", "#pin-cancel"],
    )
    .await;
    let type_pin = |pin: &'static str| {
        let app = &kiosk.app;
        async move {
            for digit in pin.chars() {
                app.click(&format!("#pin-{digit}")).await;
            }
            app.click("#pin-submit").await;
        }
    };
    for left in [4, 3, 2, 1] {
        type_pin("000000").await;
        kiosk
            .app
            .wait_for_text("#pin-message", |text| {
                text.contains(&format!("{left} more wrong PINs lock the exit"))
            })
            .await;
    }
    type_pin("000000").await;
    kiosk
        .app
        .wait_for_text("#pin-message", |text| text.contains("Too many attempts"))
        .await;
    kiosk.app.screenshot("kiosk-pin-locked").await;
    // Locked: even the right PIN is refused, and said so.
    kiosk.app.click("#pin-cancel").await;
    kiosk.app.wait_gone("#pin-pad").await;
    for _ in 0..5 {
        kiosk.app.click("#kiosk-clock").await;
    }
    kiosk.app.wait_for("#pin-pad").await;
    type_pin(DEMO_EXIT_PIN).await;
    kiosk
        .app
        .wait_for_text("#pin-message", |text| text.contains("Too many attempts"))
        .await;
    let outcomes = |audit: Value| -> Vec<String> {
        let mut rows: Vec<String> = audit
            .as_array()
            .into_iter()
            .flatten()
            .filter(|row| row["action"] == "kiosk.exit_attempt")
            .map(|row| row["detail"]["outcome"].as_str().unwrap_or("?").to_owned())
            .collect();
        rows.reverse();
        rows
    };
    assert_eq!(
        outcomes(kiosk.api.get("/audit", &kiosk.admin).await),
        [
            "wrong",
            "wrong",
            "wrong",
            "wrong",
            "wrong_and_locked",
            "locked"
        ]
    );

    // The lockout (3 s here) passes; the right PIN opens maintenance.
    tokio::time::sleep(Duration::from_secs(4)).await;
    type_pin(DEMO_EXIT_PIN).await;
    kiosk.wait_state("maintenance").await;
    assert!(!kiosk.app.is_present("#pin-pad").await);
    kiosk.app.click("#maintenance-self-test").await;
    kiosk
        .app
        .wait_for_text("#self-test", |text| text.contains("Clinic server: OK"))
        .await;
    assert_accessible(&kiosk.app, "maintenance").await;
    kiosk.app.screenshot("kiosk-maintenance").await;
    assert!(
        !kiosk.app.logs().contains(DEMO_EXIT_PIN),
        "no PIN in the log"
    );

    // The app ends while the click is answered: a click by script, whose answer may be lost.
    let _ = kiosk
        .app
        .client()
        .execute(
            "document.getElementById('maintenance-exit').click();",
            vec![],
        )
        .await;
    assert_eq!(kiosk.app.exit_code().await, ADMINISTRATOR_EXIT_CODE);
    assert_eq!(
        outcomes(kiosk.api.get("/audit", &kiosk.admin).await)
            .last()
            .map(String::as_str),
        Some("granted")
    );
}

/// The kiosk follows its own schedule: a visit inside the lead is joined with no one touching
/// the kiosk, and the end of the meeting brings the idle screen back.
#[tokio::test(flavor = "multi_thread")]
async fn a_kiosk_joins_its_visit_by_itself_and_returns_to_idle_when_the_meeting_ends() {
    let kiosk = Kiosk::open("kiosk-visit", Duration::from_secs(10 * 60)).await;
    kiosk.wait_state("ready").await;
    let doctor = kiosk.api.doctor().await;
    let visit = kiosk.book_visit(&doctor, false).await;

    // Nobody clicks: the kiosk joins by itself.
    kiosk.app.wait_for("#kiosk-call").await;
    let join = tokio::task::block_in_place(|| {
        kiosk
            .jitsi
            .wait_for_joins(1, Duration::from_secs(30))
            .remove(0)
    });
    assert!(join.accepted, "{join:?}");
    assert!(!join.moderator, "a kiosk does not moderate");

    // Consent before the camera: joined with both off, nothing turned on while alone.
    assert_eq!(join.config["startWithAudioMuted"], serde_json::json!(true));
    assert_eq!(join.config["startWithVideoMuted"], serde_json::json!(true));
    assert!(
        kiosk.jitsi.commands().is_empty(),
        "{:?}",
        kiosk.jitsi.commands()
    );
    // The tones the page plays, as the webview's Web Audio starts them.
    kiosk
        .app
        .client()
        .execute(
            "const start = OscillatorNode.prototype.start; window.__tones = [];
             OscillatorNode.prototype.start = function (when) {
                 window.__tones.push(this.frequency.value); return start.call(this, when); };",
            vec![],
        )
        .await
        .expect("the tone recorder is set");
    // The doctor comes in: a chime and a countdown, and only then the microphone and camera.
    kiosk.jitsi.send_event(
        &join.room,
        serde_json::json!({"name": "participant-joined", "id": "doctor1", "displayName": "Ada Lovelace"}),
    );
    kiosk
        .app
        .wait_for_text("#consent-countdown", |text| {
            text.starts_with("Ada Lovelace is joining — camera on in")
        })
        .await;
    let counting_since = std::time::Instant::now();
    assert!(
        kiosk.jitsi.commands().is_empty(),
        "nothing before the countdown ends: {:?}",
        kiosk.jitsi.commands()
    );
    let tones = kiosk
        .app
        .client()
        .execute("return window.__tones;", vec![])
        .await
        .expect("the tones played");
    assert_eq!(
        tones.as_array().map(Vec::len),
        Some(2),
        "a two-tone chime: {tones}"
    );
    assert_accessible(&kiosk.app, "call, counting down").await;
    kiosk.app.screenshot("kiosk-consent-countdown").await;
    tokio::task::block_in_place(|| {
        kiosk
            .jitsi
            .wait_for_command("toggle-audio", Duration::from_secs(15));
        kiosk
            .jitsi
            .wait_for_command("toggle-video", Duration::from_secs(15));
    });
    // Timed from the countdown's appearance, not after the checks above (slow under load).
    assert!(
        counting_since.elapsed() >= Duration::from_secs(3),
        "the countdown was not waited for: {:?}",
        counting_since.elapsed()
    );
    kiosk.app.wait_gone("#consent-countdown").await;
    // The patient's three controls show Jitsi's state: both on now.
    kiosk
        .app
        .wait_for_attr(
            "#kiosk-mic",
            "aria-pressed",
            Duration::from_secs(10),
            |on| on == "true",
        )
        .await;
    assert_accessible(&kiosk.app, "call").await;
    assert_usable_at_200_percent(
        &kiosk.app,
        "call",
        &[
            "#kiosk-mic",
            "#kiosk-camera",
            "#kiosk-help",
            "#kiosk-call-status",
        ],
    )
    .await;
    kiosk.app.screenshot("kiosk-call").await;

    // The doctor's side of the meeting, as the doctor's app does it.
    for step in ["start", "end"] {
        kiosk
            .api
            .post(
                &format!("/appointments/{visit}/meeting/{step}"),
                &doctor,
                None,
            )
            .await;
    }
    kiosk.app.wait_gone("#kiosk-call").await;
    kiosk.wait_state("thank-you").await;
    assert_accessible(&kiosk.app, "thank-you").await;
    kiosk.app.screenshot("kiosk-thank-you").await;
    // Privacy between patients: the patient's name is on no screen and in no log line.
    let page = kiosk
        .app
        .client()
        .source()
        .await
        .expect("the page's source");
    assert!(!page.contains(DEMO_PATIENT_NAME), "{page}");
    assert!(!kiosk.app.logs().contains(DEMO_PATIENT_NAME));
    assert!(
        kiosk
            .app
            .logs()
            .contains("the webview's data of the visit was cleared"),
        "the webview's data is cleared after the visit"
    );
    kiosk.app.quit().await;
}

/// Behind the waiting room the kiosk asks by itself, says who will let the patient in, and
/// joins with no one touching it once the doctor approves.
#[tokio::test(flavor = "multi_thread")]
async fn behind_the_waiting_room_the_kiosk_asks_and_joins_once_let_in() {
    let kiosk = Kiosk::open("kiosk-waiting", Duration::from_secs(10 * 60)).await;
    kiosk.wait_state("ready").await;
    let doctor = kiosk.api.doctor().await;
    let visit = kiosk.book_visit(&doctor, true).await;

    kiosk.wait_state("waiting").await;
    kiosk
        .app
        .wait_for_text("#kiosk-status", |text| {
            text == "Ada Lovelace will let you in. Please wait here."
        })
        .await;
    assert_accessible(&kiosk.app, "waiting").await;
    kiosk.app.screenshot("kiosk-waiting").await;
    assert!(
        kiosk.jitsi.joins().is_empty(),
        "not before the doctor says so"
    );
    let pending = kiosk.api.pending_join_requests(&doctor, &visit).await;
    assert_eq!(pending.len(), 1, "asked once: {pending:?}");
    assert_eq!(pending[0]["requesterRole"], "kiosk");

    kiosk.api.approve(&doctor, &id_of(&pending[0])).await;
    kiosk.app.wait_for("#kiosk-call").await;
    let join = tokio::task::block_in_place(|| {
        kiosk
            .jitsi
            .wait_for_joins(1, Duration::from_secs(30))
            .remove(0)
    });
    assert!(join.accepted, "{join:?}");
    kiosk.app.quit().await;
}
