//! The participant's waiting room rendered through Yew's server-side renderer: what each state of
//! the user's own request says and offers.
#![cfg(not(target_arch = "wasm32"))]

use consult_types::{
    Appointment, AppointmentStatus, CallType, JoinRequest, JoinRequestStatus, MeetingStatus,
    OwnRequest, Role,
};
use consult_ui::pages::waiting::{WaitingView, WaitingViewProps};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use yew::LocalServerRenderer;

const NOW: OffsetDateTime = datetime!(2026-12-03 09:00 UTC);

fn appointment() -> Appointment {
    Appointment {
        id: "apt_1".into(),
        appointment_code: "CODE-1".into(),
        session_id: "ses_1".into(),
        doctor_id: "usr_doc".into(),
        patient_id: "usr_pat".into(),
        agency_id: Some("usr_agency".into()),
        kiosk_id: None,
        room_name: "room-1".into(),
        call_type: CallType::Video,
        status: AppointmentStatus::Scheduled,
        meeting_status: MeetingStatus::Started,
        waiting_room: false,
        start_time: NOW,
        end_time: NOW + Duration::minutes(30),
        doctor_name: "Ada Lovelace".into(),
        patient_name: "Grace Hopper".into(),
        agency_name: Some("Sunrise Care".into()),
    }
}

fn own(status: JoinRequestStatus, join_failed: Option<&str>) -> OwnRequest {
    OwnRequest {
        request: JoinRequest {
            id: "jr_1".into(),
            appointment_id: "apt_1".into(),
            session_id: "ses_1".into(),
            requester_id: "usr_agency".into(),
            requester_name: "Sunrise Care".into(),
            requester_role: Role::Agency,
            status,
            requested_at: NOW,
            decided_at: None,
        },
        join_failed: join_failed.map(str::to_owned),
    }
}

async fn render(own: OwnRequest, busy: bool) -> String {
    LocalServerRenderer::<WaitingView>::with_props(WaitingViewProps {
        own,
        appointment: Some(appointment()),
        busy,
        error: None,
        on_action: Default::default(),
        on_join: Default::default(),
    })
    .render()
    .await
}

fn has_button(html: &str, id: &str) -> bool {
    html.contains(&format!(r#"id="{id}""#))
}

#[tokio::test]
async fn waiting_names_the_doctor_and_offers_only_to_cancel() {
    let html = render(own(JoinRequestStatus::Pending, None), false).await;
    assert!(html.contains(r#"data-state="waiting""#), "{html}");
    assert!(html.contains("Ada Lovelace will let you in"), "{html}");
    assert!(html.contains("Appointment for Grace Hopper"), "{html}");
    assert!(html.contains(r#"aria-live="polite""#), "{html}");
    assert!(has_button(&html, "withdraw-request"), "{html}");
    assert!(!has_button(&html, "ask-again") && !has_button(&html, "join-again"));
}

#[tokio::test]
async fn a_decline_says_so_and_offers_to_ask_again() {
    let html = render(own(JoinRequestStatus::Rejected, None), false).await;
    assert!(html.contains(r#"data-state="declined""#), "{html}");
    assert!(
        html.contains("Ada Lovelace declined your request"),
        "{html}"
    );
    assert!(has_button(&html, "ask-again") && has_button(&html, "back-to-schedule"));
    assert!(!has_button(&html, "withdraw-request"));
}

#[tokio::test]
async fn let_in_opens_the_call_or_says_why_it_did_not() {
    let opening = render(own(JoinRequestStatus::Approved, None), false).await;
    assert!(opening.contains(r#"data-state="admitted""#), "{opening}");
    assert!(opening.contains("Opening the call"), "{opening}");
    assert!(!opening.contains("<button"), "nothing to click: {opening}");

    let failed = render(
        own(JoinRequestStatus::Approved, Some("No browser here")),
        false,
    )
    .await;
    assert!(failed.contains(r#"data-state="join-failed""#), "{failed}");
    assert!(
        failed.contains("The call could not open: No browser here"),
        "{failed}"
    );
    assert!(has_button(&failed, "join-again") && has_button(&failed, "back-to-schedule"));
}

#[tokio::test]
async fn actions_in_flight_disable_the_buttons() {
    let html = render(own(JoinRequestStatus::Pending, None), true).await;
    let at = html.find(r#"id="withdraw-request""#).unwrap();
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    assert!(html[start..end].contains("disabled"), "{html}");
}
