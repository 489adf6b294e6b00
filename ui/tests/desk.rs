//! The signed-in screen rendered through Yew's server-side renderer, with a fixed clock.
#![cfg(not(target_arch = "wasm32"))]

use consult_types::{
    Appointment, AppointmentStatus, CallType, Connection, Dashboard, FocusAppointment, JoinRequest,
    JoinRequestStatus, MeetingStatus, Role, SessionView, User,
};
use consult_ui::clock::{Clock, Zone};
use consult_ui::pages::desk::{find_focused, DeskView, DeskViewProps};
use time::macros::{datetime, offset};
use time::{Duration, OffsetDateTime};
use yew::{Callback, LocalServerRenderer};

const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

fn clock() -> Clock {
    Clock {
        now: NOW,
        zone: Zone::Fixed(offset!(+1)),
    }
}

fn session() -> SessionView {
    SessionView {
        user: User {
            id: "usr_doc".into(),
            email: "doctor@demo.clinic".into(),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            role: Role::Doctor,
        },
        display_name: "Ada Lovelace".into(),
        remembered: true,
        remember_problem: None,
    }
}

fn appointment(id: &str, starts_in: Duration, call_type: CallType) -> Appointment {
    let start = NOW + starts_in;
    Appointment {
        id: id.into(),
        appointment_code: format!("CODE-{id}"),
        session_id: format!("ses_{id}"),
        doctor_id: "usr_doc".into(),
        patient_id: "usr_pat".into(),
        agency_id: Some("usr_agency".into()),
        kiosk_id: None,
        room_name: format!("room-{id}"),
        call_type,
        status: AppointmentStatus::Scheduled,
        meeting_status: MeetingStatus::Created,
        waiting_room: false,
        start_time: start,
        end_time: start + Duration::minutes(30),
        doctor_name: "Ada Lovelace".into(),
        patient_name: "Grace Hopper".into(),
        agency_name: Some("Sunrise Care".into()),
    }
}

fn join_request(id: &str, appointment_id: &str, waiting: Duration) -> JoinRequest {
    JoinRequest {
        id: id.into(),
        appointment_id: appointment_id.into(),
        session_id: format!("ses_{appointment_id}"),
        requester_id: "usr_agency".into(),
        requester_name: "Sunrise Care".into(),
        requester_role: Role::Agency,
        status: JoinRequestStatus::Pending,
        requested_at: NOW - waiting,
        decided_at: None,
    }
}

fn dashboard(
    appointments: Vec<Appointment>,
    join_requests: Vec<JoinRequest>,
    connection: Connection,
) -> Dashboard {
    Dashboard {
        appointments,
        join_requests,
        own_requests: Vec::new(),
        connection,
        kiosks: None,
    }
}

fn props(dashboard: Option<Dashboard>) -> DeskViewProps {
    DeskViewProps {
        session: session(),
        dashboard,
        load_error: None,
        clock: clock(),
        selected: None,
        action_error: None,
        deciding: false,
        signing_out: false,
        on_sign_out: Callback::noop(),
        on_open_settings: Callback::noop(),
        on_open_kiosks: None,
        on_open: Callback::noop(),
        on_close_detail: Callback::noop(),
        on_decide: Callback::noop(),
        on_admit_all: Callback::noop(),
        on_dismiss_error: Callback::noop(),
        support: None,
        joining: false,
        join_error: None,
        on_join: Callback::noop(),
    }
}

async fn render(props: DeskViewProps) -> String {
    LocalServerRenderer::<DeskView>::with_props(props)
        .render()
        .await
}

/// The HTML of the first element that starts with `opening` (up to its closing `</li>`).
fn item<'a>(html: &'a str, opening: &str) -> &'a str {
    let start = html
        .find(opening)
        .unwrap_or_else(|| panic!("{opening} not in {html}"));
    let end = html[start..]
        .find("</li>")
        .map_or(html.len(), |end| start + end);
    &html[start..end]
}

/// The `<button …>` tag with `class` inside `html`.
fn button<'a>(html: &'a str, class: &str) -> &'a str {
    tag(html, &format!(r#"class="{class}"#))
}

/// The whole opening tag that contains `marker`.
fn tag<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {html}"));
    let start = html[..at].rfind('<').unwrap_or(0);
    let end = html[at..].find('>').map_or(html.len(), |end| at + end);
    &html[start..end]
}

#[tokio::test]
async fn join_opens_fifteen_minutes_before_the_start() {
    let html = render(props(Some(dashboard(
        vec![
            appointment("apt_soon", Duration::minutes(10), CallType::Video),
            appointment("apt_later", Duration::minutes(20), CallType::Video),
        ],
        vec![],
        Connection::Online,
    ))))
    .await;
    let soon = item(&html, r#"data-appointment-id="apt_soon""#);
    let later = item(&html, r#"data-appointment-id="apt_later""#);
    assert!(!button(soon, "join").contains("disabled"), "{soon}");
    assert!(button(later, "join").contains("disabled"), "{later}");
    assert!(soon.contains(r#"data-session-id="ses_apt_soon""#), "{soon}");
    // 12:10 UTC is 13:10 at +01:00.
    assert!(
        soon.contains(r#"<span class="time">13:10</span>"#),
        "{soon}"
    );
    assert!(soon.contains("Grace Hopper"), "{soon}");
    assert!(soon.contains(r#"class="status""#), "{soon}");
    assert!(!html.contains("schedule-empty"), "{html}");
}

#[tokio::test]
async fn call_types_have_their_badge() {
    let html = render(props(Some(dashboard(
        vec![
            appointment("apt_video", Duration::hours(1), CallType::Video),
            appointment("apt_audio", Duration::hours(26), CallType::Audio),
        ],
        vec![],
        Connection::Online,
    ))))
    .await;
    let audio = item(&html, r#"data-appointment-id="apt_audio""#);
    assert!(audio.contains(r#"data-call-type="audio""#), "{audio}");
    assert!(audio.contains(">Audio<"), "{audio}");
    assert!(!audio.contains(">Video<"), "{audio}");
    // Not today: the day is named.
    assert!(audio.contains("Tomorrow 15:00"), "{audio}");
    let video = item(&html, r#"data-appointment-id="apt_video""#);
    assert!(video.contains(r#"data-call-type="video""#), "{video}");
    assert!(video.contains(">Video<"), "{video}");
}

#[tokio::test]
async fn empty_schedule_and_panel_say_so() {
    let html = render(props(Some(dashboard(vec![], vec![], Connection::Online)))).await;
    assert!(html.contains(r#"id="schedule""#), "{html}");
    assert!(html.contains(r#"id="schedule-empty""#), "{html}");
    assert!(html.contains(r#"id="join-requests-empty""#), "{html}");
    assert!(!html.contains("admit-all"), "nothing to admit: {html}");
    assert!(!html.contains(r#"class="appointment""#), "{html}");
}

#[tokio::test]
async fn before_the_first_dashboard_nothing_claims_to_be_empty() {
    let html = render(props(None)).await;
    assert!(html.contains(r#"id="schedule""#), "{html}");
    assert!(!html.contains("schedule-empty"), "{html}");
    assert!(!html.contains("join-requests-empty"), "{html}");
    assert!(html.contains(r#"data-state="connecting""#), "{html}");
}

#[tokio::test]
async fn join_requests_show_who_for_what_and_since_when() {
    let html = render(props(Some(dashboard(
        vec![appointment("apt_1", Duration::minutes(5), CallType::Video)],
        vec![join_request("jr_1", "apt_1", Duration::minutes(3))],
        Connection::Online,
    ))))
    .await;
    let row = item(&html, r#"data-join-request-id="jr_1""#);
    assert!(
        row.contains(r#"<span class="requester-name">Sunrise Care</span>"#),
        "{row}"
    );
    assert!(row.contains("requester-role"), "{row}");
    assert!(row.contains(">Agency<"), "{row}");
    assert!(
        row.contains(r#"<div class="appointment">Grace Hopper, 13:05</div>"#),
        "{row}"
    );
    assert!(row.contains("waiting 3 min"), "{row}");
    assert!(!button(row, "admit").contains("disabled"), "{row}");
    assert!(row.contains(r#"class="decline"#), "{row}");
    assert!(html.contains(r#"id="admit-all""#), "{html}");
    assert!(!html.contains("join-requests-empty"), "{html}");
}

#[tokio::test]
async fn decisions_in_flight_disable_the_buttons() {
    let mut props = props(Some(dashboard(
        vec![appointment("apt_1", Duration::minutes(5), CallType::Video)],
        vec![join_request("jr_1", "apt_1", Duration::minutes(1))],
        Connection::Online,
    )));
    props.deciding = true;
    let html = render(props).await;
    let row = item(&html, r#"data-join-request-id="jr_1""#);
    assert!(button(row, "admit").contains("disabled"), "{row}");
}

#[tokio::test]
async fn offline_says_why_and_when_it_retries() {
    let html = render(props(Some(dashboard(
        vec![],
        vec![],
        Connection::Offline {
            reason: "The clinic server cannot be reached.".into(),
            retry_in_secs: 7,
        },
    ))))
    .await;
    assert!(html.contains(r#"data-state="offline""#), "{html}");
    assert!(
        html.contains("The clinic server cannot be reached"),
        "{html}"
    );
    assert!(html.contains("retrying in "), "{html}");
    assert!(
        html.contains(r#"<span class="countdown">7</span>"#),
        "{html}"
    );

    let online = render(props(Some(dashboard(vec![], vec![], Connection::Online)))).await;
    assert!(online.contains(r#"data-state="online""#), "{online}");
    assert!(!online.contains("retrying"), "{online}");
}

#[tokio::test]
async fn the_detail_shows_the_selected_appointment() {
    let chosen = appointment("apt_2", Duration::hours(3), CallType::Audio);
    let board = dashboard(vec![chosen.clone()], vec![], Connection::Online);
    let without = render(props(Some(board.clone()))).await;
    assert!(!without.contains("appointment-detail"), "{without}");
    let mut props = props(Some(board));
    props.selected = Some(chosen);
    let html = render(props).await;
    assert!(
        html.contains(r#"id="appointment-detail""#)
            && html.contains(r#"data-appointment-id="apt_2""#),
        "{html}"
    );
    assert!(html.contains(r#"id="close-detail""#), "{html}");
    assert!(html.contains(r#"id="join-call""#), "{html}");
    assert!(html.contains("CODE-apt_2"), "{html}");
}

#[tokio::test]
async fn failed_actions_are_shown_as_alerts() {
    let mut props = props(Some(dashboard(vec![], vec![], Connection::Online)));
    props.action_error = Some("The clinic server refused the request: already decided".into());
    let html = render(props).await;
    assert!(
        tag(&html, r#"id="action-error""#).contains(r#"role="alert""#),
        "{html}"
    );
    assert!(html.contains("already decided"), "{html}");
}

#[test]
fn focus_finds_appointments_by_id_or_session() {
    let list = vec![
        appointment("apt_1", Duration::hours(1), CallType::Video),
        appointment("apt_2", Duration::hours(2), CallType::Audio),
    ];
    let by_session = FocusAppointment {
        appointment_id: None,
        session_id: Some("ses_apt_2".into()),
    };
    assert_eq!(
        find_focused(&list, &by_session).map(|a| a.id.as_str()),
        Some("apt_2")
    );
    let by_id = FocusAppointment {
        appointment_id: Some("apt_1".into()),
        session_id: None,
    };
    assert_eq!(
        find_focused(&list, &by_id).map(|a| a.id.as_str()),
        Some("apt_1")
    );
    let unknown = FocusAppointment {
        appointment_id: Some("apt_9".into()),
        session_id: Some("ses_9".into()),
    };
    assert!(find_focused(&list, &unknown).is_none());
}

#[tokio::test]
async fn agencies_and_waiting_patients_ask_to_join() {
    let mut behind_waiting_room = appointment("apt_waiting", Duration::minutes(5), CallType::Video);
    behind_waiting_room.waiting_room = true;
    let direct = appointment("apt_direct", Duration::minutes(10), CallType::Video);
    let board = dashboard(
        vec![behind_waiting_room, direct],
        vec![],
        Connection::Online,
    );
    let label = |html: &str, id: &str| {
        let row = item(html, &format!(r#"data-appointment-id="{id}""#)).to_owned();
        row.contains(">Ask to join<")
    };

    let as_role = |role: Role| {
        let mut props = props(Some(board.clone()));
        props.session.user.role = role;
        props
    };
    let doctor = render(as_role(Role::Doctor)).await;
    assert!(!label(&doctor, "apt_waiting") && !label(&doctor, "apt_direct"));
    let agency = render(as_role(Role::Agency)).await;
    assert!(label(&agency, "apt_waiting") && label(&agency, "apt_direct"));
    let patient = render(as_role(Role::Patient)).await;
    assert!(label(&patient, "apt_waiting"), "{patient}");
    assert!(!label(&patient, "apt_direct"), "{patient}");
}
