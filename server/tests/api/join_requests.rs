//! The lobby: agencies (and patients while the waiting room is on) ask, the doctor decides, or
//! the requester stops waiting and withdraws.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::clinic::{Actor, Clinic};
use crate::sse::EventStream;

/// Inside the window in which meeting tokens are issued (from 15 minutes before the start).
const SOON: Duration = Duration::from_secs(10 * 60);
/// How long an event may take to reach an open stream.
const PROMPTLY: Duration = Duration::from_secs(5);

fn id(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

async fn ask(clinic: &Clinic, appointment: &Value, who: &Actor) -> crate::common::Reply {
    clinic
        .post(
            &format!("/appointments/{}/join-requests", id(appointment)),
            who,
        )
        .await
}

async fn withdraw(clinic: &Clinic, request: &Value, who: &Actor) -> crate::common::Reply {
    clinic
        .post(&format!("/join-requests/{}/withdraw", id(request)), who)
        .await
}

async fn audit_rows(clinic: &Clinic, action: &str, request_id: &str) -> i64 {
    let db = clinic.server.db().await;
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = $1 AND detail LIKE $2",
    )
    .bind(action)
    .bind(format!("%{request_id}%"))
    .fetch_one(&db)
    .await
    .expect("count");
    db.close().await;
    count
}

async fn decision_audit_rows(clinic: &Clinic, request_id: &str) -> i64 {
    audit_rows(clinic, "join_request.decided", request_id).await
}

/// The appointment's requests with `status`, as the doctor lists them.
async fn listed(clinic: &Clinic, appointment: &Value, status: &str) -> Vec<Value> {
    let reply = clinic
        .get(
            &format!(
                "/appointments/{}/join-requests?status={status}",
                id(appointment)
            ),
            &clinic.doctor,
        )
        .await;
    reply.data().as_array().expect("a list").clone()
}

/// The next event on `stream`, as (type, JSON data).
async fn next_event(stream: &mut EventStream) -> (String, Value) {
    let (_, event, data) = stream.next_event(PROMPTLY).await.expect("an event");
    (event, serde_json::from_str(&data).expect("json"))
}

/// How many `join_request_decided` notifications `who` has about `request`.
async fn decision_notices(clinic: &Clinic, who: &Actor, request: &Value) -> usize {
    let reply = clinic.get("/notifications", who).await;
    reply
        .data()
        .as_array()
        .expect("a list")
        .iter()
        .filter(|n| n["kind"] == "join_request_decided" && n["joinRequestId"] == request["id"])
        .count()
}

/// The error message of a failed reply.
fn message(reply: &crate::common::Reply) -> &str {
    reply.body["error"]["message"].as_str().expect("a message")
}

#[tokio::test]
async fn an_agency_asks_once_is_admitted_and_then_gets_a_token() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({})).await;
    let session_path = format!(
        "/sessions/{}/jwt",
        appointment["sessionId"].as_str().expect("sid")
    );
    clinic
        .get(&session_path, &clinic.agency)
        .await
        .assert_error(StatusCode::FORBIDDEN, "approval_required");

    let first = ask(&clinic, &appointment, &clinic.agency).await;
    let request = first.data().clone();
    assert_eq!(request["status"], "pending");
    assert_eq!(request["requesterName"], "Sunrise Care");
    assert!(request["requestedAt"].is_string());
    let again = ask(&clinic, &appointment, &clinic.agency).await;
    assert_eq!(
        again.data()["id"],
        request["id"],
        "asking again returns the pending one"
    );

    let pending = clinic
        .get(
            &format!(
                "/appointments/{}/join-requests?status=pending",
                id(&appointment)
            ),
            &clinic.doctor,
        )
        .await;
    assert_eq!(pending.data().as_array().map(Vec::len), Some(1));
    assert_eq!(
        clinic.notification_kinds(&clinic.doctor).await[0],
        "join_request_created"
    );

    let approved = clinic
        .post(
            &format!("/join-requests/{}/approve", id(&request)),
            &clinic.doctor,
        )
        .await;
    assert_eq!(approved.data()["status"], "approved");
    let status = clinic
        .get(&format!("/join-requests/{}", id(&request)), &clinic.agency)
        .await;
    assert_eq!(status.data()["status"], "approved");
    assert_eq!(
        clinic.notification_kinds(&clinic.agency).await[0],
        "join_request_decided"
    );

    let token = clinic.get(&session_path, &clinic.agency).await;
    assert_eq!(token.data()["moderator"], false);
    // Asking after admission returns the approval rather than a new request.
    let after = ask(&clinic, &appointment, &clinic.agency).await;
    assert_eq!(after.data()["id"], request["id"]);
    assert_eq!(after.data()["status"], "approved");
}

#[tokio::test]
async fn repeating_a_decision_is_harmless_and_reversing_it_is_a_conflict() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({})).await;
    let request = ask(&clinic, &appointment, &clinic.agency)
        .await
        .data()
        .clone();
    let approve = format!("/join-requests/{}/approve", id(&request));
    let reject = format!("/join-requests/{}/reject", id(&request));
    assert_eq!(
        clinic.post(&approve, &clinic.doctor).await.data()["status"],
        "approved"
    );
    assert_eq!(
        clinic.post(&approve, &clinic.doctor).await.data()["status"],
        "approved"
    );
    clinic
        .post(&reject, &clinic.doctor)
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    assert_eq!(decision_audit_rows(&clinic, &id(&request)).await, 1);

    // A rejected requester may ask again: a new pending request.
    let other = clinic.book(SOON, json!({})).await;
    let first = ask(&clinic, &other, &clinic.agency).await.data().clone();
    let rejected = clinic
        .post(
            &format!("/join-requests/{}/reject", id(&first)),
            &clinic.doctor,
        )
        .await;
    assert_eq!(rejected.data()["status"], "rejected");
    clinic
        .post(
            &format!("/join-requests/{}/approve", id(&first)),
            &clinic.doctor,
        )
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    let second = ask(&clinic, &other, &clinic.agency).await.data().clone();
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["status"], "pending");
}

#[tokio::test]
async fn approve_racing_reject_yields_one_decision_and_one_audit_row() {
    let clinic = Clinic::start().await;
    for _ in 0..8 {
        let appointment = clinic.book(SOON, json!({})).await;
        let request = ask(&clinic, &appointment, &clinic.agency)
            .await
            .data()
            .clone();
        let approve = format!("/join-requests/{}/approve", id(&request));
        let reject = format!("/join-requests/{}/reject", id(&request));
        let (a, r) = tokio::join!(
            clinic.post(&approve, &clinic.doctor),
            clinic.post(&reject, &clinic.admin)
        );
        let outcomes = [a.status, r.status];
        assert!(
            outcomes.contains(&StatusCode::OK) && outcomes.contains(&StatusCode::CONFLICT),
            "exactly one wins: {outcomes:?} {} {}",
            a.body,
            r.body
        );
        let winner = if a.status == StatusCode::OK { &a } else { &r };
        let stored = clinic
            .get(&format!("/join-requests/{}", id(&request)), &clinic.agency)
            .await;
        assert_eq!(stored.data()["status"], winner.data()["status"]);
        assert_eq!(decision_audit_rows(&clinic, &id(&request)).await, 1);
    }
}

#[tokio::test]
async fn who_may_ask_see_and_decide() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({})).await;
    clinic
        .post(
            &format!("/appointments/{}/join-requests", id(&appointment)),
            &clinic.doctor,
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    // Without the waiting room the patient joins directly.
    ask(&clinic, &appointment, &clinic.patient)
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    let stranger = clinic.newcomer("agency").await;
    ask(&clinic, &appointment, &stranger)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");

    let request = ask(&clinic, &appointment, &clinic.agency)
        .await
        .data()
        .clone();
    let path = format!("/join-requests/{}", id(&request));
    clinic
        .get(&path, &stranger)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    clinic
        .get(&path, &clinic.patient)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        clinic.get(&path, &clinic.doctor).await.data()["id"],
        request["id"]
    );
    for who in [&clinic.agency, &clinic.patient] {
        clinic
            .post(&format!("{path}/approve"), who)
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    clinic
        .post(&format!("{path}/approve"), &stranger)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    clinic
        .get(
            &format!("/appointments/{}/join-requests", id(&appointment)),
            &clinic.agency,
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    clinic
        .get(
            &format!(
                "/appointments/{}/join-requests?status=maybe",
                id(&appointment)
            ),
            &clinic.doctor,
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
}

#[tokio::test]
async fn with_the_waiting_room_on_the_patient_must_be_admitted_too() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({"waitingRoom": true})).await;
    let session_path = format!(
        "/sessions/{}/jwt",
        appointment["sessionId"].as_str().expect("sid")
    );
    clinic
        .get(&session_path, &clinic.patient)
        .await
        .assert_error(StatusCode::FORBIDDEN, "approval_required");
    let request = ask(&clinic, &appointment, &clinic.patient)
        .await
        .data()
        .clone();
    clinic
        .post(
            &format!("/join-requests/{}/approve", id(&request)),
            &clinic.doctor,
        )
        .await
        .data();
    assert_eq!(
        clinic.get(&session_path, &clinic.patient).await.data()["moderator"],
        false
    );
    // Turning the waiting room off lets the patient in without asking.
    let other = clinic.book(SOON, json!({"waitingRoom": true})).await;
    let path = format!("/appointments/{}", id(&other));
    clinic
        .call(
            Method::PATCH,
            &path,
            Some(&clinic.doctor),
            Some(json!({"waitingRoom": false})),
        )
        .await
        .data();
    clinic
        .get(
            &format!(
                "/sessions/{}/jwt",
                other["sessionId"].as_str().expect("sid")
            ),
            &clinic.patient,
        )
        .await
        .data();
}

#[tokio::test]
async fn no_asking_into_a_cancelled_appointment() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({})).await;
    clinic
        .call(
            Method::DELETE,
            &format!("/appointments/{}", id(&appointment)),
            Some(&clinic.doctor),
            None,
        )
        .await
        .data();
    ask(&clinic, &appointment, &clinic.agency)
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn an_agency_withdraws_its_request_and_may_ask_again() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({})).await;
    let mut doctor_stream = EventStream::open(&clinic.server.url, &clinic.doctor.token, None).await;
    assert_eq!(next_event(&mut doctor_stream).await.0, "ready");

    // The agency asks; the doctor is told and sees it waiting.
    let request = ask(&clinic, &appointment, &clinic.agency)
        .await
        .data()
        .clone();
    let mut created = [
        next_event(&mut doctor_stream).await.0,
        next_event(&mut doctor_stream).await.0,
    ];
    created.sort();
    assert_eq!(created, ["join_request", "notification"]);
    assert_eq!(listed(&clinic, &appointment, "pending").await.len(), 1);

    // The agency stops waiting.
    let withdrawn = withdraw(&clinic, &request, &clinic.agency).await;
    let withdrawn = withdrawn.data();
    assert_eq!(withdrawn["id"], request["id"]);
    assert_eq!(withdrawn["status"], "withdrawn");
    assert!(withdrawn["decidedAt"].is_string(), "{withdrawn}");
    assert_eq!(
        clinic
            .get(&format!("/join-requests/{}", id(&request)), &clinic.agency)
            .await
            .data()["status"],
        "withdrawn"
    );

    // The doctor's app learns of it at once, from the withdrawn request alone: no notification.
    let (event, data) = next_event(&mut doctor_stream).await;
    assert_eq!(event, "join_request");
    assert_eq!(data["id"], request["id"]);
    assert_eq!(data["status"], "withdrawn");
    doctor_stream.assert_quiet(Duration::from_millis(500)).await;
    assert!(listed(&clinic, &appointment, "pending").await.is_empty());
    assert_eq!(listed(&clinic, &appointment, "withdrawn").await.len(), 1);
    assert_eq!(
        clinic.notification_kinds(&clinic.doctor).await[0],
        "join_request_created"
    );
    // Nobody declined anything: the agency is told nothing.
    assert_eq!(decision_notices(&clinic, &clinic.agency, &request).await, 0);
    assert_eq!(
        audit_rows(&clinic, "join_request.withdrawn", &id(&request)).await,
        1
    );
    assert_eq!(decision_audit_rows(&clinic, &id(&request)).await, 0);
    // A withdrawn request admits no one.
    clinic
        .get(
            &format!(
                "/sessions/{}/jwt",
                appointment["sessionId"].as_str().expect("sid")
            ),
            &clinic.agency,
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "approval_required");

    // Withdrawing again is harmless and changes nothing.
    let again = withdraw(&clinic, &request, &clinic.agency).await;
    assert_eq!(again.data()["status"], "withdrawn");
    assert_eq!(again.data()["decidedAt"], withdrawn["decidedAt"]);
    assert_eq!(
        audit_rows(&clinic, "join_request.withdrawn", &id(&request)).await,
        1
    );
    doctor_stream.assert_quiet(Duration::from_millis(500)).await;

    // Asking again makes a new pending request, which the doctor sees waiting.
    let second = ask(&clinic, &appointment, &clinic.agency)
        .await
        .data()
        .clone();
    assert_ne!(second["id"], request["id"]);
    assert_eq!(second["status"], "pending");
    let pending = listed(&clinic, &appointment, "pending").await;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["id"], second["id"]);
    assert_eq!(
        ask(&clinic, &appointment, &clinic.agency).await.data()["id"],
        second["id"],
        "asking once more returns the new pending one"
    );
    let approved = clinic
        .post(
            &format!("/join-requests/{}/approve", id(&second)),
            &clinic.doctor,
        )
        .await;
    assert_eq!(approved.data()["status"], "approved");
}

#[tokio::test]
async fn only_the_requester_withdraws() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({"waitingRoom": true})).await;
    let request = ask(&clinic, &appointment, &clinic.agency)
        .await
        .data()
        .clone();
    // Others on the appointment are told no: the doctor, an administrator, another guest.
    for who in [&clinic.doctor, &clinic.admin, &clinic.patient] {
        withdraw(&clinic, &request, who)
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    // Someone not on it does not learn that it exists.
    let stranger = clinic.newcomer("agency").await;
    withdraw(&clinic, &request, &stranger)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    clinic
        .post("/join-requests/jrq_none/withdraw", &clinic.agency)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        clinic
            .get(&format!("/join-requests/{}", id(&request)), &clinic.doctor)
            .await
            .data()["status"],
        "pending"
    );
    assert_eq!(
        audit_rows(&clinic, "join_request.withdrawn", &id(&request)).await,
        0
    );

    // The patient, asking while the waiting room is on, withdraws its own request.
    let own = ask(&clinic, &appointment, &clinic.patient)
        .await
        .data()
        .clone();
    assert_eq!(
        withdraw(&clinic, &own, &clinic.patient).await.data()["status"],
        "withdrawn"
    );
    withdraw(&clinic, &own, &clinic.agency)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn a_decision_stands_against_a_withdrawal_and_a_withdrawal_against_a_decision() {
    let clinic = Clinic::start().await;

    // Withdrawing after approval or rejection is too late.
    for (verb, decided) in [("approve", "approved"), ("reject", "rejected")] {
        let appointment = clinic.book(SOON, json!({})).await;
        let request = ask(&clinic, &appointment, &clinic.agency)
            .await
            .data()
            .clone();
        clinic
            .post(
                &format!("/join-requests/{}/{verb}", id(&request)),
                &clinic.doctor,
            )
            .await
            .data();
        let late = withdraw(&clinic, &request, &clinic.agency).await;
        late.assert_error(StatusCode::CONFLICT, "conflict");
        assert!(message(&late).contains(decided), "{}", late.body);
        assert_eq!(
            clinic
                .get(&format!("/join-requests/{}", id(&request)), &clinic.agency)
                .await
                .data()["status"],
            decided
        );
        assert_eq!(
            audit_rows(&clinic, "join_request.withdrawn", &id(&request)).await,
            0
        );
    }

    // Deciding after a withdrawal is too late too.
    let other = clinic.book(SOON, json!({})).await;
    let request = ask(&clinic, &other, &clinic.agency).await.data().clone();
    withdraw(&clinic, &request, &clinic.agency).await.data();
    for verb in ["approve", "reject"] {
        let late = clinic
            .post(
                &format!("/join-requests/{}/{verb}", id(&request)),
                &clinic.doctor,
            )
            .await;
        late.assert_error(StatusCode::CONFLICT, "conflict");
        assert!(message(&late).contains("withdrawn"), "{}", late.body);
    }
    assert_eq!(decision_audit_rows(&clinic, &id(&request)).await, 0);
    assert_eq!(decision_notices(&clinic, &clinic.agency, &request).await, 0);
}

#[tokio::test]
async fn withdraw_racing_approve_settles_the_request_once() {
    let clinic = Clinic::start().await;
    for _ in 0..8 {
        let appointment = clinic.book(SOON, json!({})).await;
        let request = ask(&clinic, &appointment, &clinic.agency)
            .await
            .data()
            .clone();
        let approve = format!("/join-requests/{}/approve", id(&request));
        let (w, a) = tokio::join!(
            withdraw(&clinic, &request, &clinic.agency),
            clinic.post(&approve, &clinic.doctor)
        );
        let outcomes = [w.status, a.status];
        assert!(
            outcomes.contains(&StatusCode::OK) && outcomes.contains(&StatusCode::CONFLICT),
            "exactly one wins: {outcomes:?} {} {}",
            w.body,
            a.body
        );
        let winner = if w.status == StatusCode::OK { &w } else { &a };
        let stored = clinic
            .get(&format!("/join-requests/{}", id(&request)), &clinic.agency)
            .await;
        assert_eq!(stored.data()["status"], winner.data()["status"]);
        let withdrawals = audit_rows(&clinic, "join_request.withdrawn", &id(&request)).await;
        let decisions = decision_audit_rows(&clinic, &id(&request)).await;
        assert_eq!(withdrawals + decisions, 1, "one audit row of the winner");
    }
}

#[tokio::test]
async fn the_database_keeps_to_the_known_statuses() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(SOON, json!({})).await;
    let request = ask(&clinic, &appointment, &clinic.agency)
        .await
        .data()
        .clone();
    let db = clinic.server.db().await;
    let set = |status: &'static str| {
        sqlx::query("UPDATE join_requests SET status = $1 WHERE id = $2")
            .bind(status)
            .bind(id(&request))
            .execute(&db)
    };
    assert!(set("maybe").await.is_err(), "an unknown status is refused");
    set("withdrawn").await.expect("withdrawn is a status");
    db.close().await;
    assert_eq!(
        clinic
            .get(&format!("/join-requests/{}", id(&request)), &clinic.agency)
            .await
            .data()["status"],
        "withdrawn"
    );
}
