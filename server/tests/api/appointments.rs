//! Booking, seeing, changing, cancelling, and the doctor starting and ending the meeting.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::clinic::{rfc3339, Clinic};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_booked_appointment_has_separate_ids_and_an_unguessable_lowercase_room() {
    let clinic = Clinic::start().await;
    let first = clinic.book(HOUR, json!({})).await;
    let second = clinic.book(HOUR, json!({"callType": "audio"})).await;

    assert_ne!(first["id"], first["sessionId"]);
    assert_eq!(first["status"], "scheduled");
    assert_eq!(first["meetingStatus"], "created");
    assert_eq!(first["callType"], "video");
    assert_eq!(second["callType"], "audio");
    assert_eq!(first["doctorName"], "Ada Lovelace");
    assert_eq!(first["patientName"], "Grace Hopper");
    for appointment in [&first, &second] {
        let room = appointment["roomName"].as_str().expect("room");
        assert!(
            room.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{room}"
        );
        let random_hex = room.rsplit('-').next().expect("suffix");
        assert!(
            random_hex.len() * 4 >= 128,
            "at least 128 random bits: {room}"
        );
    }
    assert_ne!(first["roomName"], second["roomName"]);
    assert_ne!(first["sessionId"], second["sessionId"]);
    assert_ne!(first["appointmentCode"], second["appointmentCode"]);
}

#[tokio::test]
async fn everyone_on_it_sees_it_and_nobody_else_learns_it_exists() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(HOUR, json!({})).await;
    let path = format!("/appointments/{}", appointment["id"].as_str().expect("id"));
    for who in [
        &clinic.doctor,
        &clinic.patient,
        &clinic.agency,
        &clinic.admin,
    ] {
        assert_eq!(clinic.get(&path, who).await.data()["id"], appointment["id"]);
        let listed = clinic.get("/appointments", who).await;
        let ids: Vec<_> = listed
            .data()
            .as_array()
            .expect("list")
            .iter()
            .map(|a| a["id"].clone())
            .collect();
        assert!(ids.contains(&appointment["id"]), "{} lists it", who.email);
    }
    let stranger = clinic.newcomer("patient").await;
    clinic
        .get(&path, &stranger)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let listed = clinic.get("/appointments", &stranger).await;
    assert_eq!(listed.data(), &json!([]));
    let other_doctor = clinic.newcomer("doctor").await;
    clinic
        .get(&path, &other_doctor)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    clinic
        .call(Method::GET, &path, None, None)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn listing_filters_by_time_window() {
    let clinic = Clinic::start().await;
    let soon = clinic.book(HOUR, json!({})).await;
    let later = clinic.book(HOUR * 48, json!({})).await;
    let now = time::OffsetDateTime::now_utc();
    let path = format!(
        "/appointments?from={}&to={}",
        rfc3339(now),
        rfc3339(now + HOUR * 24)
    );
    let listed = clinic.get(&path, &clinic.doctor).await;
    let ids: Vec<_> = listed
        .data()
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, vec![soon["id"].clone()]);
    assert!(!ids.contains(&later["id"]));
    clinic
        .get("/appointments?from=yesterday", &clinic.doctor)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
    clinic
        .get("/appointments?colour=red", &clinic.doctor)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value");
}

#[tokio::test]
async fn only_doctors_for_themselves_and_admins_book() {
    let clinic = Clinic::start().await;
    let body = clinic.booking(HOUR);
    for who in [&clinic.patient, &clinic.agency] {
        clinic
            .call(Method::POST, "/appointments", Some(who), Some(body.clone()))
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    let other_doctor = clinic.newcomer("doctor").await;
    clinic
        .call(
            Method::POST,
            "/appointments",
            Some(&other_doctor),
            Some(body.clone()),
        )
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let booked = clinic
        .call(
            Method::POST,
            "/appointments",
            Some(&clinic.admin),
            Some(body),
        )
        .await;
    assert_eq!(booked.data()["doctorId"], clinic.doctor.id);
}

#[tokio::test]
async fn bad_bookings_are_refused_and_nothing_is_stored() {
    let clinic = Clinic::start().await;
    let good = clinic.booking(HOUR);
    let mut cases = Vec::new();
    let mut swapped = good.clone();
    swapped["endTime"] = good["startTime"].clone();
    cases.push((swapped, StatusCode::UNPROCESSABLE_ENTITY));
    let mut past = good.clone();
    past["startTime"] = json!("2020-01-01T10:00:00Z");
    past["endTime"] = json!("2020-01-01T10:30:00Z");
    cases.push((past, StatusCode::UNPROCESSABLE_ENTITY));
    let mut wrong_role = good.clone();
    wrong_role["patientId"] = json!(clinic.doctor.id);
    cases.push((wrong_role, StatusCode::UNPROCESSABLE_ENTITY));
    let mut unknown_agency = good.clone();
    unknown_agency["agencyId"] = json!("usr_nobody");
    cases.push((unknown_agency, StatusCode::UNPROCESSABLE_ENTITY));
    let mut bad_type = good.clone();
    bad_type["callType"] = json!("hologram");
    cases.push((bad_type, StatusCode::UNPROCESSABLE_ENTITY));
    let mut extra = good.clone();
    extra["moderator"] = json!(true);
    cases.push((extra, StatusCode::UNPROCESSABLE_ENTITY));
    let mut bad_time = good.clone();
    bad_time["startTime"] = json!("next tuesday");
    cases.push((bad_time, StatusCode::UNPROCESSABLE_ENTITY));
    for (body, status) in cases {
        let reply = clinic
            .call(
                Method::POST,
                "/appointments",
                Some(&clinic.doctor),
                Some(body.clone()),
            )
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(reply.body["success"], false);
    }
    let listed = clinic.get("/appointments", &clinic.doctor).await;
    assert_eq!(listed.data(), &json!([]), "nothing half-written");
}

#[tokio::test]
async fn the_doctor_changes_and_cancels_and_guests_cannot() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(HOUR, json!({})).await;
    let path = format!("/appointments/{}", appointment["id"].as_str().expect("id"));
    let moved = rfc3339(time::OffsetDateTime::now_utc() + HOUR * 2);
    let patch = json!({"startTime": moved, "endTime": rfc3339(time::OffsetDateTime::now_utc() + HOUR * 3), "callType": "audio", "agencyId": null});
    for who in [&clinic.patient, &clinic.agency] {
        clinic
            .call(Method::PATCH, &path, Some(who), Some(patch.clone()))
            .await
            .assert_error(StatusCode::FORBIDDEN, "forbidden");
    }
    let changed = clinic
        .call(Method::PATCH, &path, Some(&clinic.doctor), Some(patch))
        .await;
    let changed = changed.data();
    assert_eq!(changed["callType"], "audio");
    assert_eq!(changed["agencyId"], json!(null));
    assert_eq!(changed["startTime"], json!(moved));
    // The agency is no longer on it.
    clinic
        .get(&path, &clinic.agency)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");

    let cancelled = clinic
        .call(Method::DELETE, &path, Some(&clinic.doctor), None)
        .await;
    assert_eq!(cancelled.data()["status"], "cancelled");
    let again = clinic
        .call(Method::DELETE, &path, Some(&clinic.doctor), None)
        .await;
    assert_eq!(
        again.data()["status"],
        "cancelled",
        "cancelling twice is harmless"
    );
    clinic
        .call(
            Method::PATCH,
            &path,
            Some(&clinic.doctor),
            Some(json!({"callType": "video"})),
        )
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    clinic
        .post(&format!("{path}/meeting/start"), &clinic.doctor)
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn starting_and_ending_the_meeting_moves_the_status_and_tells_the_guests() {
    let clinic = Clinic::start().await;
    let appointment = clinic.book(HOUR, json!({})).await;
    let path = format!("/appointments/{}", appointment["id"].as_str().expect("id"));
    clinic
        .post(&format!("{path}/meeting/end"), &clinic.doctor)
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
    clinic
        .post(&format!("{path}/meeting/start"), &clinic.patient)
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
    let started = clinic
        .post(&format!("{path}/meeting/start"), &clinic.doctor)
        .await;
    assert_eq!(started.data()["status"], "in_progress");
    assert_eq!(started.data()["meetingStatus"], "started");
    let repeated = clinic
        .post(&format!("{path}/meeting/start"), &clinic.doctor)
        .await;
    assert_eq!(repeated.data()["meetingStatus"], "started");
    clinic
        .call(Method::DELETE, &path, Some(&clinic.doctor), None)
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");

    let ended = clinic
        .post(&format!("{path}/meeting/end"), &clinic.doctor)
        .await;
    assert_eq!(ended.data()["status"], "completed");
    assert_eq!(ended.data()["meetingStatus"], "ended");

    let patient_kinds = clinic.notification_kinds(&clinic.patient).await;
    assert_eq!(
        patient_kinds,
        ["meeting_ended", "video_call_ready", "appointment_created"],
        "exactly one of each, newest first"
    );
    let doctor_kinds = clinic.notification_kinds(&clinic.doctor).await;
    assert_eq!(doctor_kinds, ["meeting_ended", "appointment_created"]);
}

#[tokio::test]
async fn notifications_are_marked_read_by_their_owner_only() {
    let clinic = Clinic::start().await;
    clinic.book(HOUR, json!({})).await;
    let unread = clinic
        .get("/notifications?unread=true", &clinic.patient)
        .await;
    let id = unread.data()[0]["id"].as_str().expect("id").to_owned();
    clinic
        .post(&format!("/notifications/{id}/read"), &clinic.doctor)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let read = clinic
        .post(&format!("/notifications/{id}/read"), &clinic.patient)
        .await;
    assert!(read.data()["readAt"].is_string());
    let again = clinic
        .post(&format!("/notifications/{id}/read"), &clinic.patient)
        .await;
    assert_eq!(
        again.data()["readAt"],
        read.data()["readAt"],
        "reading twice is harmless"
    );
    let unread = clinic
        .get("/notifications?unread=true", &clinic.patient)
        .await;
    assert_eq!(unread.data(), &json!([]));
    let all = clinic.get("/notifications", &clinic.patient).await;
    assert_eq!(all.data().as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn demo_mode_books_a_schedule_once() {
    let server = crate::common::TestServer::demo().await;
    let doctor = crate::clinic::sign_in(&server, crate::common::DOCTOR).await;
    let listed = server.get("/appointments", Some(&doctor.token)).await;
    let appointments = listed.data().as_array().expect("list").clone();
    assert_eq!(appointments.len(), 4);
    let types: Vec<_> = appointments.iter().map(|a| a["callType"].clone()).collect();
    assert!(types.contains(&json!("audio")) && types.contains(&json!("video")));
    let server = server.restart().await;
    let doctor = crate::clinic::sign_in(&server, crate::common::DOCTOR).await;
    let listed = server.get("/appointments", Some(&doctor.token)).await;
    assert_eq!(
        listed.data().as_array().map(Vec::len),
        Some(4),
        "not booked twice"
    );
}
