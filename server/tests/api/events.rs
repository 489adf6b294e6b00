//! `GET /events`: live delivery, resume with `Last-Event-ID`, heartbeats, and clean ends.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::clinic::{self, Clinic};
use crate::common::{require_postgres, TestServer};
use crate::sse::{EventStream, Message};

const HOUR: Duration = Duration::from_secs(3600);
const SOON: Duration = Duration::from_secs(5);

fn seq(id: &Option<String>) -> i64 {
    id.as_deref().expect("an id").parse().expect("a number")
}

async fn ready(stream: &mut EventStream) -> Value {
    let (_, event, data) = stream.next_event(SOON).await.expect("ready");
    assert_eq!(event, "ready");
    serde_json::from_str(&data).expect("json")
}

#[tokio::test]
async fn a_join_request_reaches_the_doctors_stream_at_once_in_order() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(HOUR, json!({})).await;
    let mut stream = EventStream::open(&clinic.server.url, &clinic.doctor.token, None).await;
    let start = ready(&mut stream).await["lastEventId"]
        .as_i64()
        .expect("number");
    assert!(start >= 2, "booking already produced events: {start}");

    let request = clinic
        .post(
            &format!(
                "/appointments/{}/join-requests",
                appointment["id"].as_str().expect("id")
            ),
            &clinic.agency,
        )
        .await;
    let (id1, event1, data1) = stream.next_event(SOON).await.expect("notification");
    let (id2, event2, data2) = stream.next_event(SOON).await.expect("join request");
    assert_eq!((seq(&id1), seq(&id2)), (start + 1, start + 2));
    let mut by_type = [(event1, data1), (event2, data2)];
    by_type.sort();
    let [(_, join_request), (_, notification)] = by_type;
    let notification: Value = serde_json::from_str(&notification).expect("json");
    assert_eq!(notification["kind"], "join_request_created");
    assert_eq!(notification["joinRequestId"], request.data()["id"]);
    assert!(notification["title"]
        .as_str()
        .expect("title")
        .contains("Sunrise Care"));
    let join_request: Value = serde_json::from_str(&join_request).expect("json");
    assert_eq!(join_request["status"], "pending");
    stream.assert_quiet(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn resuming_with_last_event_id_delivers_what_was_missed_once_in_order() {
    let clinic = Clinic::start().await;
    let mut stream = EventStream::open(&clinic.server.url, &clinic.doctor.token, None).await;
    let start = ready(&mut stream).await["lastEventId"]
        .as_i64()
        .expect("number");
    clinic.book(HOUR, json!({})).await;
    // Booking tells the doctor twice: a notification and the appointment itself.
    let (first, ..) = stream.next_event(SOON).await.expect("event");
    let (second, ..) = stream.next_event(SOON).await.expect("event");
    assert_eq!((seq(&first), seq(&second)), (start + 1, start + 2));
    drop(stream);

    // Missed while disconnected.
    clinic.book(HOUR, json!({})).await;
    clinic.book(HOUR, json!({"callType": "audio"})).await;

    let last_seen = second.expect("id");
    let mut resumed =
        EventStream::open(&clinic.server.url, &clinic.doctor.token, Some(&last_seen)).await;
    let hello = ready(&mut resumed).await;
    assert_eq!(hello, json!({"lastEventId": start + 2, "resync": false}));
    let mut ids = Vec::new();
    let mut types = Vec::new();
    for _ in 0..4 {
        let (id, event, _) = resumed.next_event(SOON).await.expect("missed event");
        ids.push(seq(&id));
        types.push(event);
    }
    assert_eq!(ids, [start + 3, start + 4, start + 5, start + 6]);
    assert_eq!(types.iter().filter(|t| *t == "notification").count(), 2);
    assert_eq!(types.iter().filter(|t| *t == "appointment").count(), 2);
    resumed.assert_quiet(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn odd_last_event_ids_are_refused_or_answered_with_a_resync() {
    let clinic = Clinic::start().await;
    let refused =
        EventStream::request(&clinic.server.url, &clinic.doctor.token, Some("banana")).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"]["code"], "malformed_request");

    let mut ahead =
        EventStream::open(&clinic.server.url, &clinic.doctor.token, Some("999999")).await;
    assert_eq!(ready(&mut ahead).await["resync"], true);

    let anonymous = reqwest::Client::new()
        .get(format!("{}/events", clinic.server.url))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn idle_streams_get_heartbeats_and_end_when_the_session_does() {
    let clinic = Clinic::start_with(|config| config.sse_heartbeat_secs = 1).await;
    let mut stream = EventStream::open(&clinic.server.url, &clinic.doctor.token, None).await;
    ready(&mut stream).await;
    let heartbeat = stream.next(Duration::from_secs(3)).await.expect("open");
    assert_eq!(heartbeat, Message::Comment("heartbeat".to_owned()));

    clinic.server.logout(&clinic.doctor.token).await.data();
    let (_, event, data) = stream
        .next_event(Duration::from_secs(4))
        .await
        .expect("end");
    assert_eq!(event, "end");
    assert_eq!(
        serde_json::from_str::<Value>(&data).expect("json")["reason"],
        "session_ended"
    );
    assert_eq!(
        stream.next(SOON).await,
        None,
        "closed after the end message"
    );
}

#[tokio::test]
async fn a_stream_ends_cleanly_when_its_token_expires() {
    let clinic = Clinic::start().await;
    // Opened a second before its token's end (on the server's clock), the stream's own timer
    // ends it a second later.
    let ttl = clinic.server.config().access_token_ttl_secs;
    clinic.server.clock().advance(Duration::from_secs(ttl - 1));
    let mut stream = EventStream::open(&clinic.server.url, &clinic.doctor.token, None).await;
    ready(&mut stream).await;
    let (_, event, data) = stream
        .next_event(Duration::from_secs(5))
        .await
        .expect("end");
    assert_eq!(event, "end");
    assert_eq!(
        serde_json::from_str::<Value>(&data).expect("json")["reason"],
        "token_expired"
    );
    assert_eq!(stream.next(SOON).await, None);
}

#[tokio::test]
async fn a_stream_ends_when_the_servers_clock_passes_its_token() {
    let clinic = Clinic::start_with(|config| config.sse_heartbeat_secs = 1).await;
    let mut stream = EventStream::open(&clinic.server.url, &clinic.doctor.token, None).await;
    ready(&mut stream).await;
    // The token's lifetime passes on the server's clock; the stream notices within a heartbeat.
    let ttl = clinic.server.config().access_token_ttl_secs;
    clinic.server.clock().advance(Duration::from_secs(ttl + 1));
    let (_, event, data) = stream
        .next_event(Duration::from_secs(5))
        .await
        .expect("end");
    assert_eq!(event, "end");
    assert_eq!(
        serde_json::from_str::<Value>(&data).expect("json")["reason"],
        "token_expired"
    );
    assert_eq!(stream.next(SOON).await, None);
}

#[tokio::test]
async fn shutting_down_ends_open_streams_instead_of_hanging() {
    let clinic = Clinic::start().await;
    let mut stream = EventStream::open(&clinic.server.url, &clinic.doctor.token, None).await;
    ready(&mut stream).await;
    tokio::time::timeout(Duration::from_secs(10), clinic.server.stop())
        .await
        .expect("shutdown does not wait for event streams");
    let (_, event, _) = stream.next_event(SOON).await.expect("end");
    assert_eq!(event, "end");
}

#[tokio::test]
async fn postgres_two_instances_behave_as_one() {
    require_postgres();
    let clinic = Clinic::start().await;
    let second = TestServer::start_sharing_db(&clinic.server).await;
    let doctor_there = clinic::sign_in(&second, crate::common::DOCTOR).await;
    let appointment = clinic.book(HOUR, json!({})).await;
    let mut stream = EventStream::open(&second.url, &doctor_there.token, None).await;
    let start = ready(&mut stream).await["lastEventId"]
        .as_i64()
        .expect("number");

    // Asked through the first instance, seen on the stream held by the second.
    clinic
        .post(
            &format!(
                "/appointments/{}/join-requests",
                appointment["id"].as_str().expect("id")
            ),
            &clinic.agency,
        )
        .await
        .data();
    let (id, ..) = stream
        .next_event(SOON)
        .await
        .expect("event from the other instance");
    assert_eq!(seq(&id), start + 1);
    let (id, ..) = stream
        .next_event(SOON)
        .await
        .expect("event from the other instance");
    assert_eq!(seq(&id), start + 2);
    second.stop().await;
}

#[tokio::test]
async fn resuming_past_pruned_events_asks_the_client_to_resync() {
    let clinic = Clinic::start().await;
    clinic.book(HOUR, json!({})).await;
    clinic.book(HOUR, json!({})).await;
    // Still kept: resuming from 1 replays 2..4.
    let mut kept = EventStream::open(&clinic.server.url, &clinic.doctor.token, Some("1")).await;
    assert_eq!(ready(&mut kept).await["resync"], false);
    drop(kept);
    let db = consult_server::db::Db::open(clinic.server.config())
        .await
        .expect("db");
    let pruned = consult_server::push::log::prune(&db, i64::MAX)
        .await
        .expect("prune");
    assert!(pruned >= 4, "{pruned}");
    db.close().await;
    let mut gone = EventStream::open(&clinic.server.url, &clinic.doctor.token, Some("1")).await;
    assert_eq!(
        ready(&mut gone).await,
        json!({"lastEventId": 1, "resync": true})
    );
    // Numbering goes on after pruning.
    clinic.book(HOUR, json!({})).await;
    let (id, ..) = gone.next_event(SOON).await.expect("event");
    assert_eq!(seq(&id), 5);
}
