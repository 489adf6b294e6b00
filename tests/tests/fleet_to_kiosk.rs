//! The kiosk fleet (issue 14) with both apps real: a new kiosk (the app binary in kiosk mode,
//! unenrolled, its self-test on Chromium's fake devices) shows its code; the clinic's
//! administrator (the app binary, signed in, on the Kiosks screen) types that code into the
//! claim form; the kiosk enrols, signs in and reports its self-test, which the administrator's
//! screen shows live; a message typed in the fleet view appears in the room, and the fleet view
//! says when the kiosk has carried it out. Each app has a desktop of its own (Xvfb, D-Bus,
//! keyring); one clinic server and the Jitsi stand-in serve both.
//!
//! DOM contract: docs/desktop-contracts.md.

use std::time::{Duration, Instant};

use consult_e2e::axe::assert_accessible;
use consult_e2e::clinic::DEMO_ADMIN_EMAIL;
use consult_e2e::jitsi::{JitsiStandIn, StandInOptions};
use consult_e2e::{
    App, AppLaunch, ClinicApi, ClinicServer, IsolatedSession, NotificationDaemon, DEMO_PASSWORD,
};

/// Sign-in, a self-test of 20 s at most, its report, with room for a busy machine.
const SELF_TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// `what` inside the fleet view's row of `device_id`.
fn row(device_id: &str, what: &str) -> String {
    format!(r#"li.kiosk-row[data-device-id="{device_id}"] {what}"#)
}

/// The text of `css` once `check` holds, waiting up to `timeout`.
async fn text_within(
    app: &App,
    css: &str,
    timeout: Duration,
    check: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + timeout;
    let script = format!(
        "return document.querySelector({})?.textContent ?? null;",
        serde_json::to_string(css).expect("JSON")
    );
    loop {
        let text = app
            .client()
            .execute(&script, vec![])
            .await
            .expect("the page answers");
        if let Some(text) = text.as_str().filter(|text| check(text)) {
            return text.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{css} never got there within {timeout:?}; last: {text}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kiosk_claimed_in_the_fleet_view_reports_there_and_shows_the_message_sent_from_it() {
    let jitsi = JitsiStandIn::start(StandInOptions::hs256(
        "consult-e2e",
        "e2e-only-jitsi-app-secret-0123456789abcdef",
    ));
    let server = ClinicServer::start_demo_with_config(
        "fleet-to-kiosk",
        // Top-level keys before the stand-in's `[jitsi]` table.
        &format!("device_check_secs = 1\n{}", jitsi.server_config_toml()),
    );

    // The room's kiosk: kiosk mode without a device id, calls and self-test in Chromium with
    // its fake camera and microphone.
    let kiosk_session = IsolatedSession::start();
    let browser_args = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
    ];
    let kiosk_env = jitsi
        .app_env("browser")
        .into_iter()
        .filter(|(key, _)| key != "CONSULT_BROWSER_ARGS")
        .chain([
            (
                "CONSULT_BROWSER_ARGS".into(),
                serde_json::to_string(&browser_args).expect("JSON"),
            ),
            ("CONSULT_KIOSK__JITSI_URL".into(), jitsi.base_url()),
            ("CONSULT_KIOSK__RETRY_SECS".into(), "2".into()),
        ])
        .collect();
    let kiosk = App::launch(AppLaunch {
        session: &kiosk_session,
        server_url: server.url().to_owned(),
        label: "fleet-to-kiosk-room".into(),
        env: kiosk_env,
    })
    .await;
    kiosk.wait_for(r#"#kiosk[data-state="enrolling"]"#).await;
    let code = kiosk
        .wait_for_text("#kiosk-enrol-code", |code| code.len() == 9)
        .await;

    // The administrator's desktop claims it from the Kiosks screen.
    let admin_session = IsolatedSession::start();
    let _daemon = NotificationDaemon::start(&admin_session).await;
    let admin = App::launch(AppLaunch {
        session: &admin_session,
        server_url: server.url().to_owned(),
        label: "fleet-to-kiosk-admin".into(),
        env: Vec::new(),
    })
    .await;
    admin.sign_in(DEMO_ADMIN_EMAIL, DEMO_PASSWORD).await;
    admin.signed_in_name().await;
    admin.click("#open-kiosks").await;
    admin.fill("#claim-code", &code).await;
    admin.fill("#claim-location", "Exam room 2").await;
    admin.click("#claim-submit").await;
    admin
        .wait_for_text("#claim-result", |text| text.contains("Exam room 2"))
        .await;

    // The kiosk takes its credential by itself and is ready for patients.
    kiosk.wait_for(r#"#kiosk[data-state="ready"]"#).await;
    let api = ClinicApi::new(server.url());
    let admin_api = api.login_demo(DEMO_ADMIN_EMAIL).await;
    let devices = api.get("/devices", &admin_api).await;
    let device_id = devices
        .as_array()
        .into_iter()
        .flatten()
        .find(|device| device["location"] == "Exam room 2")
        .and_then(|device| device["deviceId"].as_str())
        .unwrap_or_else(|| panic!("the claimed kiosk in the fleet: {devices}"))
        .to_owned();

    // Its row on the administrator's screen follows it live: online, idle, the self-test it ran
    // after signing in.
    admin
        .wait_for_text(&row(&device_id, ".kiosk-online"), |text| text == "Online")
        .await;
    admin
        .wait_for_text(&row(&device_id, ".kiosk-state"), |text| text == "Idle")
        .await;
    let self_test = text_within(
        &admin,
        &row(&device_id, ".kiosk-self-test"),
        SELF_TEST_TIMEOUT,
        |text| text != "Not run yet",
    )
    .await;
    assert!(
        self_test.starts_with("Passed"),
        "the self-test on Chromium's fake devices, as the fleet view shows it: {self_test}"
    );

    // A message typed in the fleet view appears in the room; the fleet view says it was done.
    let message = "The nurse will be with you in five minutes.";
    admin.fill(&format!("#message-{device_id}"), message).await;
    admin
        .click(&row(&device_id, r#"button[data-command="showMessage"]"#))
        .await;
    kiosk
        .wait_for_text("#kiosk-message-text", |text| text == message)
        .await;
    admin
        .wait_for_text("#command-result", |text| {
            text == "Done: Exam room 2 carried out \u{201c}Show message\u{201d}."
        })
        .await;
    assert_accessible(&admin, "Kiosks, a command done").await;
    admin.screenshot("fleet-to-kiosk-admin").await;
    kiosk.screenshot("fleet-to-kiosk-room").await;

    kiosk.quit().await;
    admin.quit().await;
}
