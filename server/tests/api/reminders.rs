//! Reminders 24 hours and 5 minutes before, and "starting now": each exactly once, across
//! restarts and instances. Passes are driven with a chosen clock through the library, plus one
//! run of the real scheduler across a restart.

use std::time::Duration;

use consult_server::db::Db;
use consult_server::push::EventHub;
use consult_server::reminders::run_pass;
use reqwest::Method;
use serde_json::{json, Value};

use crate::clinic::{Actor, Clinic};
use crate::common::TestServer;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: i64 = 24 * 3600;

fn start_of(appointment: &Value) -> i64 {
    let text = appointment["startTime"].as_str().expect("start");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .expect("rfc3339")
        .unix_timestamp()
}

async fn notifications(clinic: &Clinic, who: &Actor) -> Vec<(String, String)> {
    let reply = clinic.get("/notifications", who).await;
    reply
        .data()
        .as_array()
        .expect("list")
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().expect("kind").to_owned(),
                n["title"].as_str().expect("title").to_owned(),
            )
        })
        .collect()
}

fn kinds(list: &[(String, String)]) -> Vec<&str> {
    list.iter().map(|(kind, _)| kind.as_str()).collect()
}

#[tokio::test]
async fn each_reminder_goes_out_once_whatever_passes_and_instances_run() {
    let clinic = Clinic::start_with(|config| config.reminder_poll_secs = 3600).await;
    let appointment = clinic.book(HOUR * 48, json!({})).await;
    let start = start_of(&appointment);
    let first = Db::open(clinic.server.config()).await.expect("db");
    let second = Db::open(clinic.server.config()).await.expect("db");
    let hub = EventHub::default();

    assert_eq!(
        run_pass(&first, &hub, start - DAY - 60)
            .await
            .expect("pass"),
        0,
        "not yet"
    );
    assert_eq!(
        run_pass(&first, &hub, start - DAY + 1).await.expect("pass"),
        3,
        "doctor, patient, agency"
    );
    assert_eq!(
        run_pass(&first, &hub, start - DAY + 2).await.expect("pass"),
        0,
        "not twice"
    );
    assert_eq!(
        run_pass(&second, &hub, start - DAY + 3)
            .await
            .expect("pass"),
        0,
        "not by another instance"
    );

    // Two instances racing for the 5-minute reminder: one sends it.
    let at = start - 300 + 1;
    let (a, b) = tokio::join!(run_pass(&first, &hub, at), run_pass(&second, &hub, at));
    assert_eq!(a.expect("pass") + b.expect("pass"), 3);

    assert_eq!(
        run_pass(&second, &hub, start + 1).await.expect("pass"),
        3,
        "starting now"
    );
    assert_eq!(run_pass(&first, &hub, start + 2).await.expect("pass"), 0);

    let patient = notifications(&clinic, &clinic.patient).await;
    assert_eq!(
        kinds(&patient),
        [
            "video_call_starting",
            "video_call_reminder",
            "video_call_reminder",
            "appointment_created"
        ]
    );
    assert!(patient[1].1.starts_with("In 5 minutes"), "{}", patient[1].1);
    assert!(patient[2].1.starts_with("In 24 hours"), "{}", patient[2].1);
    first.close().await;
    second.close().await;
}

#[tokio::test]
async fn a_late_booking_gets_no_stale_reminders_and_a_cancelled_one_gets_none() {
    let clinic = Clinic::start_with(|config| config.reminder_poll_secs = 3600).await;
    let late = clinic.book(Duration::from_secs(120), json!({})).await;
    let cancelled = clinic.book(HOUR * 30, json!({})).await;
    clinic
        .call(
            Method::DELETE,
            &format!("/appointments/{}", cancelled["id"].as_str().expect("id")),
            Some(&clinic.doctor),
            None,
        )
        .await
        .data();
    let db = Db::open(clinic.server.config()).await.expect("db");
    let hub = EventHub::default();
    let start = start_of(&late);
    // The 24-hour and 5-minute moments passed before it was booked: the booking was the notice.
    assert_eq!(run_pass(&db, &hub, start - 60).await.expect("pass"), 0);
    assert_eq!(
        run_pass(&db, &hub, start).await.expect("pass"),
        3,
        "starting now still goes out"
    );
    let cancelled_start = start_of(&cancelled);
    for at in [
        cancelled_start - DAY + 1,
        cancelled_start - 299,
        cancelled_start + 1,
    ] {
        assert_eq!(run_pass(&db, &hub, at).await.expect("pass"), 0);
    }
    db.close().await;
}

#[tokio::test]
async fn a_reminder_due_while_the_server_was_down_goes_out_once_after_the_restart() {
    let clinic = Clinic::start_with(|config| config.reminder_poll_secs = 1).await;
    // The 5-minute reminder falls due three seconds from now, while the server is down.
    clinic.book(Duration::from_secs(300 + 3), json!({})).await;
    let Clinic {
        server, patient, ..
    } = clinic;
    let config = server.config().clone();
    let clock = server.clock().clone();
    let _dir = server.stop().await;
    clock.advance(Duration::from_secs(4));

    let server = TestServer::start_on_clock(config, clock).await;
    let clinic = Clinic::around(server).await;
    let reminders = || async {
        let list = notifications(&clinic, &patient).await;
        kinds(&list)
            .iter()
            .filter(|k| **k == "video_call_reminder")
            .count()
    };
    // The scheduler's first pass runs as the server starts; wait for that task, not the time.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while reminders().await == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reminders().await, 1, "sent after the restart");
    // More passes, later on the server's clock and from another instance, change nothing.
    let db = Db::open(clinic.server.config()).await.expect("db");
    let hub = EventHub::default();
    let now = clinic.server.clock().now_unix();
    for at in [now, now + 1, now + 60] {
        assert_eq!(run_pass(&db, &hub, at).await.expect("pass"), 0, "at {at}");
    }
    db.close().await;
    assert_eq!(reminders().await, 1, "and only once");
}
