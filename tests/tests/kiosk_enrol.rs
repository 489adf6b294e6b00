//! The kiosk fleet (issue 14), the kiosk's side, real all the way through: the app binary
//! under Xvfb in kiosk mode without a device id enrols itself with a code an administrator
//! claims (the secret goes from the server to the OS keychain, seen by nobody), signs in, and
//! signs in again after a restart without a code; a message an administrator sends shows on the
//! room's screen and is acknowledged.
//!
//! DOM contract: docs/desktop-contracts.md.

use std::time::{Duration, Instant};

use consult_e2e::axe::assert_accessible;
use consult_e2e::clinic::{Actor, DEMO_ADMIN_EMAIL};
use consult_e2e::{App, AppLaunch, ClinicApi, ClinicServer, IsolatedSession};
use serde_json::{json, Value};

/// A kiosk with nothing but `[kiosk]` settings and no device id: an unenrolled kiosk.
fn unenrolled_kiosk<'a>(
    session: &'a IsolatedSession,
    server: &ClinicServer,
    label: &str,
) -> AppLaunch<'a> {
    AppLaunch {
        session,
        server_url: server.url().to_owned(),
        label: label.to_owned(),
        env: vec![
            (
                "CONSULT_KIOSK__CLINIC_NAME".into(),
                "Harbour Street Clinic".into(),
            ),
            ("CONSULT_KIOSK__RETRY_SECS".into(), "2".into()),
        ],
    }
}

async fn wait_state(app: &App, state: &str) {
    app.wait_for(&format!("#kiosk[data-state=\"{state}\"]"))
        .await;
}

/// The administrators' view of one kiosk, waiting until `check` holds.
async fn device_until(
    api: &ClinicApi,
    admin: &Actor,
    device_id: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let devices = api.get("/devices", admin).await;
        let device = devices
            .as_array()
            .into_iter()
            .flatten()
            .find(|device| device["deviceId"] == device_id)
            .cloned()
            .unwrap_or(Value::Null);
        if check(&device) {
            return device;
        }
        assert!(
            Instant::now() < deadline,
            "the kiosk never got there: {device}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn audited(audit: &Value, action: &str) -> usize {
    audit
        .as_array()
        .into_iter()
        .flatten()
        .filter(|row| row["action"] == action)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_kiosk_shows_a_code_an_administrator_claims_and_a_restart_skips_enrolment() {
    let session = IsolatedSession::start();
    let server = ClinicServer::start_demo("kiosk-enrol");
    let api = ClinicApi::new(server.url());
    let app = App::launch(unenrolled_kiosk(&session, &server, "kiosk-enrol")).await;

    wait_state(&app, "enrolling").await;
    let code = app
        .wait_for_text("#kiosk-enrol-code", |code| code.len() == 9)
        .await;
    assert!(
        app.is_present("#kiosk-enrol-qr").await,
        "the code as a QR code"
    );
    assert!(!app.is_present("#email").await, "no login form");
    assert_accessible(&app, "enrolment").await;
    app.screenshot("kiosk-enrolment-code").await;

    // An administrator claims the code with the kiosk's place.
    let admin = api.login_demo(DEMO_ADMIN_EMAIL).await;
    let claimed = api
        .post(
            "/devices/claims",
            &admin,
            Some(json!({ "code": code, "location": "Exam room 4" })),
        )
        .await;
    let device_id = claimed["deviceId"]
        .as_str()
        .expect("a device id")
        .to_owned();
    assert_eq!(claimed["location"], "Exam room 4");

    // The kiosk picks up its credential, signs in and beats: online and idle for the clinic.
    wait_state(&app, "ready").await;
    device_until(&api, &admin, &device_id, |device| {
        device["online"] == true && device["lastReport"]["state"] == "idle"
    })
    .await;
    let audit = api.get("/audit", &admin).await;
    assert_eq!(audited(&audit, "device.enrolment_claimed"), 1, "{audit}");
    assert_eq!(audited(&audit, "device.enrolment_picked_up"), 1, "{audit}");

    // A message from the clinic shows on the room's screen, and is acknowledged.
    let sent = api
        .post(
            &format!("/devices/{device_id}/commands"),
            &admin,
            Some(json!({ "command": "showMessage", "message": "Dr Ames is running 5 minutes late." })),
        )
        .await;
    app.wait_for_text("#kiosk-message-text", |text| {
        text == "Dr Ames is running 5 minutes late."
    })
    .await;
    assert_accessible(&app, "room message").await;
    app.screenshot("kiosk-room-message").await;
    app.click("#kiosk-message-ok").await;
    app.wait_gone("#kiosk-message").await;
    let command_id = sent["id"].as_str().expect("a command id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let commands = api
            .get(&format!("/devices/{device_id}/commands"), &admin)
            .await;
        let acknowledged = commands.as_array().into_iter().flatten().any(|command| {
            command["id"] == command_id.as_str() && command["acknowledgedAt"].is_string()
        });
        if acknowledged {
            break;
        }
        assert!(Instant::now() < deadline, "not acknowledged: {commands}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !app.logs().contains("deviceSecret"),
        "nothing of the credential in the log"
    );
    app.quit().await;

    // Started again, it signs in with the credential it kept: no new code.
    let again = App::launch(unenrolled_kiosk(&session, &server, "kiosk-enrol-again")).await;
    wait_state(&again, "ready").await;
    assert!(!again.is_present("#kiosk-enrol-code").await);
    let audit = api.get("/audit", &admin).await;
    assert_eq!(
        audited(&audit, "device.enrolment_started"),
        1,
        "the restarted kiosk asked for no code: {audit}"
    );
    assert!(!again.logs().contains("showing a code"), "{}", again.logs());
    again.quit().await;
}
