//! The lobby: agencies (and patients while the waiting room is on) ask, the doctor decides.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::clinic::{Actor, Clinic};

/// Inside the window in which meeting tokens are issued (from 15 minutes before the start).
const SOON: Duration = Duration::from_secs(10 * 60);

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

async fn decision_audit_rows(clinic: &Clinic, request_id: &str) -> i64 {
    let db = clinic.server.db().await;
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'join_request.decided' AND detail LIKE $1",
    )
    .bind(format!("%{request_id}%"))
    .fetch_one(&db)
    .await
    .expect("count");
    db.close().await;
    count
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
