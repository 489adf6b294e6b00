//! The kiosk fleet's liveness: POST /devices/me/heartbeat, online and offline, `device_status`
//! events to administrators, and what GET /devices shows.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::accounts::{device_login, post_as, sign_in, Caller, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET};
use crate::clinic::Clinic;
use crate::common::{Reply, TestServer};
use crate::sse::EventStream;

/// Long enough for the server's once-a-second sweep (`device_check_secs = 1`) to have run.
const SWEEP: Duration = Duration::from_secs(3);

async fn fleet_server() -> TestServer {
    TestServer::start_with(|config| {
        config.demo = true;
        config.device_check_secs = 1;
    })
    .await
}

fn beat(state: &str, camera: &str) -> Value {
    json!({
        "version": "0.1.0",
        "state": state,
        "callPath": "browser",
        "selfTest": {
            "at": "2026-12-03T08:00:00Z",
            "camera": camera,
            "microphone": "passed",
            "speaker": "passed",
            "jitsi": "passed",
            "server": "passed",
        },
    })
}

async fn beats(server: &TestServer, kiosk: &str, body: Value) -> Reply {
    post_as(server, Some(kiosk), "/devices/me/heartbeat", body).await
}

/// The next `device_status` event's data, within a few seconds.
async fn next_status(stream: &mut EventStream) -> Value {
    let (_, event, data) = stream
        .next_event(Duration::from_secs(5))
        .await
        .expect("the stream is open");
    assert_eq!(event, "device_status", "{data}");
    serde_json::from_str(&data).expect("json")
}

async fn demo_kiosk_row(server: &TestServer, admin: &str) -> Value {
    let devices = server.get("/devices", Some(admin)).await;
    devices
        .data()
        .as_array()
        .expect("devices")
        .iter()
        .find(|device| device["deviceId"] == DEMO_DEVICE_ID)
        .expect("the demo kiosk")
        .clone()
}

#[tokio::test]
async fn a_kiosk_that_beats_is_online_and_administrators_hear_each_change_once() {
    let server = fleet_server().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let kiosk = device_login(&server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET)
        .await
        .access_token();
    let before = demo_kiosk_row(&server, &admin).await;
    assert_eq!(before["online"], false);
    assert_eq!(before["health"], "unknown");
    assert_eq!(before["lastSeen"], Value::Null);

    let mut stream = EventStream::open(&server.url, &admin, None).await;
    stream
        .next_event(Duration::from_secs(5))
        .await
        .expect("ready");

    let answer = beats(&server, &kiosk, beat("idle", "passed")).await;
    assert_eq!(answer.data()["nextBeatSecs"], 30);
    let online = next_status(&mut stream).await;
    assert_eq!(online["deviceId"], DEMO_DEVICE_ID);
    assert_eq!(online["online"], true);
    assert_eq!(online["health"], "healthy");
    assert_eq!(online["lastReport"]["state"], "idle");

    // The same report again changes nothing an administrator sees: no event.
    beats(&server, &kiosk, beat("idle", "passed")).await.data();
    stream.assert_quiet(Duration::from_millis(500)).await;

    // A visit, then a camera that fails its self-test: one event each.
    beats(&server, &kiosk, beat("inCall", "passed"))
        .await
        .data();
    assert_eq!(
        next_status(&mut stream).await["lastReport"]["state"],
        "inCall"
    );
    beats(&server, &kiosk, beat("inCall", "failed"))
        .await
        .data();
    let unhealthy = next_status(&mut stream).await;
    assert_eq!(unhealthy["health"], "unhealthy");
    assert_eq!(unhealthy["lastReport"]["selfTest"]["camera"], "failed");
    stream.assert_quiet(Duration::from_millis(500)).await;

    // A beat acknowledging a command is heard at once (the fleet view says it was done), and
    // the next plain one, which acknowledges nothing, once more.
    let mut acknowledging = beat("inCall", "failed");
    acknowledging["acknowledged"] = json!(["cmd_done"]);
    beats(&server, &kiosk, acknowledging).await.data();
    assert_eq!(
        next_status(&mut stream).await["lastReport"]["acknowledged"],
        json!(["cmd_done"])
    );
    beats(&server, &kiosk, beat("inCall", "failed"))
        .await
        .data();
    assert_eq!(
        next_status(&mut stream).await["lastReport"].get("acknowledged"),
        None
    );
    stream.assert_quiet(Duration::from_millis(500)).await;

    let row = demo_kiosk_row(&server, &admin).await;
    assert_eq!(row["online"], true);
    assert_eq!(row["health"], "unhealthy");
    assert_eq!(row["lastReport"]["callPath"], "browser");
    assert!(row["lastSeen"].is_string(), "{row}");
    server.stop().await;
}

#[tokio::test]
async fn three_missed_beats_make_a_kiosk_offline_once_and_a_beat_brings_it_back() {
    let server = fleet_server().await;
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    let kiosk = device_login(&server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET)
        .await
        .access_token();
    let mut stream = EventStream::open(&server.url, &admin, None).await;
    stream
        .next_event(Duration::from_secs(5))
        .await
        .expect("ready");
    beats(&server, &kiosk, beat("idle", "passed")).await.data();
    assert_eq!(next_status(&mut stream).await["online"], true);

    // Two missed beats are not three.
    server.clock().advance(Duration::from_secs(60));
    stream.assert_quiet(SWEEP).await;
    assert_eq!(demo_kiosk_row(&server, &admin).await["online"], true);

    server.clock().advance(Duration::from_secs(31));
    let offline = next_status(&mut stream).await;
    assert_eq!(offline["online"], false);
    assert_eq!(
        offline["lastReport"]["state"], "idle",
        "the last report stays"
    );
    // Later sweeps find it offline already: no second event.
    stream.assert_quiet(SWEEP).await;
    assert_eq!(demo_kiosk_row(&server, &admin).await["online"], false);

    // The kiosk's session outlived the gap (access tokens last 15 minutes).
    beats(&server, &kiosk, beat("offlineRecovered", "passed"))
        .await
        .data();
    let back = next_status(&mut stream).await;
    assert_eq!(back["online"], true);
    assert_eq!(back["lastReport"]["state"], "offlineRecovered");
    server.stop().await;
}

#[tokio::test]
async fn only_kiosks_beat_and_a_report_must_be_well_formed() {
    let server = fleet_server().await;
    for caller in [Caller::Doctor, Caller::Patient, Caller::Admin] {
        let token = sign_in(&server, caller).await.expect("signed in");
        beats(&server, &token, beat("idle", "passed"))
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    post_as(
        &server,
        None,
        "/devices/me/heartbeat",
        beat("idle", "passed"),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");

    let kiosk = sign_in(&server, Caller::Kiosk).await.expect("kiosk");
    for bad in [
        beat("asleep", "passed"),
        beat("idle", "blurry"),
        json!({"version": "", "state": "idle", "callPath": "browser"}),
        json!({"version": "0.1.0", "state": "idle", "callPath": "browser", "lastError": "x".repeat(501)}),
        json!({"version": "0.1.0", "state": "idle", "callPath": "browser", "shell": "rm -rf /"}),
    ] {
        beats(&server, &kiosk, bad)
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    }
    // Nothing of those reached the fleet view.
    let admin = sign_in(&server, Caller::Admin).await.expect("admin");
    assert_eq!(demo_kiosk_row(&server, &admin).await["online"], false);
    server.stop().await;
}

#[tokio::test]
async fn postgres_two_instances_tell_a_kiosk_offline_exactly_once() {
    crate::common::require_postgres();
    let first = fleet_server().await;
    let second = TestServer::start_sharing_db(&first).await;
    let admin = sign_in(&first, Caller::Admin).await.expect("admin");
    let kiosk = device_login(&second, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET)
        .await
        .access_token();
    let mut stream = EventStream::open(&first.url, &admin, None).await;
    stream
        .next_event(Duration::from_secs(5))
        .await
        .expect("ready");
    beats(&second, &kiosk, beat("idle", "passed")).await.data();
    assert_eq!(next_status(&mut stream).await["online"], true);

    // Both instances sweep every second on the same clock; one of them tells it.
    first.clock().advance(Duration::from_secs(91));
    assert_eq!(next_status(&mut stream).await["online"], false);
    stream.assert_quiet(SWEEP).await;
    second.stop().await;
    first.stop().await;
}

/// How many `kiosk_unavailable` notifications `who` has, with their titles.
async fn kiosk_alerts(clinic: &Clinic, who: &crate::clinic::Actor) -> Vec<String> {
    let reply = clinic.get("/notifications", who).await;
    reply
        .data()
        .as_array()
        .expect("a list")
        .iter()
        .filter(|n| n["kind"] == "kiosk_unavailable")
        .map(|n| n["title"].as_str().expect("title").to_owned())
        .collect()
}

/// Waits (a few sweeps at most) until `who` has an alert.
async fn first_kiosk_alert(clinic: &Clinic, who: &crate::clinic::Actor) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let alerts = kiosk_alerts(clinic, who).await;
        if !alerts.is_empty() || tokio::time::Instant::now() > deadline {
            return alerts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn clinic_with_kiosk() -> (Clinic, String, String) {
    let clinic = Clinic::start_with(|config| config.device_check_secs = 1).await;
    let login = device_login(&clinic.server, DEMO_DEVICE_ID, DEMO_DEVICE_SECRET).await;
    let kiosk_user = login.data()["user"]["id"].as_str().expect("id").to_owned();
    (clinic, kiosk_user, login.access_token())
}

#[tokio::test]
async fn a_visit_whose_kiosk_is_offline_is_told_to_the_doctor_and_admins_once_it_comes_near() {
    let (clinic, kiosk_user, kiosk) = clinic_with_kiosk().await;
    beats(&clinic.server, &kiosk, beat("idle", "passed"))
        .await
        .data();
    clinic
        .book(Duration::from_secs(20 * 60), json!({"kioskId": kiosk_user}))
        .await;

    // Offline, with the visit 18.5 minutes away: not yet.
    clinic.server.clock().advance(Duration::from_secs(91));
    tokio::time::sleep(SWEEP).await;
    assert!(kiosk_alerts(&clinic, &clinic.doctor).await.is_empty());

    // 12.5 minutes away: the doctor and the administrator are told, once.
    clinic.server.clock().advance(Duration::from_secs(6 * 60));
    let told = first_kiosk_alert(&clinic, &clinic.doctor).await;
    assert_eq!(told, ["The kiosk in Demo clinic lobby is offline"]);
    assert_eq!(kiosk_alerts(&clinic, &clinic.admin).await.len(), 1);
    assert!(kiosk_alerts(&clinic, &clinic.patient).await.is_empty());
    tokio::time::sleep(SWEEP).await;
    assert_eq!(kiosk_alerts(&clinic, &clinic.doctor).await.len(), 1);
    clinic.server.stop().await;
}

#[tokio::test]
async fn a_kiosk_that_fails_its_self_test_before_a_visit_is_told_and_a_healthy_one_is_not() {
    let (clinic, kiosk_user, kiosk) = clinic_with_kiosk().await;
    beats(&clinic.server, &kiosk, beat("idle", "passed"))
        .await
        .data();
    clinic
        .book(Duration::from_secs(10 * 60), json!({"kioskId": kiosk_user}))
        .await;
    tokio::time::sleep(SWEEP).await;
    assert!(
        kiosk_alerts(&clinic, &clinic.doctor).await.is_empty(),
        "healthy and online"
    );

    beats(&clinic.server, &kiosk, beat("visit", "failed"))
        .await
        .data();
    let told = first_kiosk_alert(&clinic, &clinic.doctor).await;
    assert_eq!(
        told,
        ["The kiosk in Demo clinic lobby failed its self-test"]
    );
    clinic.server.stop().await;
}
