//! What a native notification says, and whether one is shown at all.
//!
//! The texts are built here from the appointment and the join request, never taken from the
//! server's notification, so that `show_patient_names = false` can hide names and times are in
//! the computer's own time zone.
//!
//! Names: with `show_patient_names` off, the patient's name becomes "a patient", and so does a
//! requester who is the patient (or the patient's exam-room kiosk). A care agency's name stays:
//! it names an organisation or its staff, not the patient, and the doctor needs it to decide.
//!
//! Kinds that raise an alert: `join_request_created` and, for the one who asked,
//! `join_request_decided` (pref `join_requests`), `video_call_ready` and `video_call_starting`
//! (`calls`), `video_call_reminder` (`reminders`). The others (`appointment_created`,
//! `meeting_ended`) only change the schedule, which the dashboard shows.
//!
//! Sides: the doctor (and an administrator) reads about the patient ("with Grace Hopper");
//! a participant (the patient, their agency or kiosk) reads about the doctor ("with Ada
//! Lovelace"), and is told when their own request to join is decided.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use consult_types::{
    Appointment, CallType, JoinRequest, JoinRequestStatus, Notification, NotificationKind,
    NotificationPrefs, Role,
};

/// Notifications this much older than the sign-in still count: the server's and this
/// computer's clocks may differ a little.
pub const CLOCK_SKEW: Duration = Duration::from_secs(120);

/// One native notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// The server notification's id: the dedupe key.
    pub id: String,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    pub appointment_id: String,
    pub session_id: Option<String>,
    /// Set for join requests: the notification offers Admit and Decline.
    pub join_request_id: Option<String>,
    /// Set for someone knocking in a running call's lobby: it offers Admit and Deny.
    pub lobby_participant_id: Option<String>,
}

/// The id of the lobby alert about `participant_id` knocking in the call of `session_id`: how it
/// is withdrawn once the knock is answered, the knocker left or the call ended.
pub fn lobby_knock_id(session_id: &str, participant_id: &str) -> String {
    format!("lobby:{session_id}:{participant_id}")
}

/// The alert for someone knocking in the lobby of the running call (moderators only, jitsi.md
/// §4). Names follow `show_patient_names` like every other alert; the dedupe id is per knocker.
pub fn lobby_knock(
    knocker: &consult_types::KnockingParticipant,
    appointment_id: Option<&str>,
    session_id: &str,
    show_names: bool,
) -> Alert {
    let who = match (&knocker.name, show_names) {
        (Some(name), true) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => "Someone".to_owned(),
    };
    Alert {
        id: lobby_knock_id(session_id, &knocker.id),
        kind: NotificationKind::JoinRequestCreated,
        title: "Waiting in the lobby".into(),
        body: format!("{who} is waiting in the lobby of your call."),
        appointment_id: appointment_id.unwrap_or_default().to_owned(),
        session_id: Some(session_id.to_owned()),
        join_request_id: None,
        lobby_participant_id: Some(knocker.id.clone()),
    }
}

/// Whether a notification of `kind` is shown at all with these preferences.
pub fn wanted(kind: NotificationKind, prefs: &NotificationPrefs) -> bool {
    prefs.enabled
        && match kind {
            NotificationKind::JoinRequestCreated | NotificationKind::JoinRequestDecided => {
                prefs.join_requests
            }
            NotificationKind::VideoCallReady
            | NotificationKind::VideoCallStarting
            | NotificationKind::KioskUnavailable => prefs.calls,
            NotificationKind::VideoCallReminder => prefs.reminders,
            NotificationKind::AppointmentCreated | NotificationKind::MeetingEnded => false,
        }
}

/// Whose point of view an alert is written from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Runs the appointment: reads about the patient and decides who joins.
    Doctor,
    /// Is on the appointment (patient, agency, kiosk): reads about the doctor.
    Participant,
}

impl Side {
    pub fn of(role: Role) -> Side {
        match role {
            Role::Doctor | Role::Admin => Side::Doctor,
            Role::Patient | Role::Agency | Role::Kiosk => Side::Participant,
        }
    }
}

/// Whether `notification` is new enough: created after the sign-in (less [`CLOCK_SKEW`]).
pub fn is_since(notification: &Notification, signed_in_at: OffsetDateTime) -> bool {
    notification.created_at >= signed_in_at - CLOCK_SKEW
}

/// True the first time an id is seen in this process, false ever after: reconnects, replays,
/// resyncs and a second sign-in never show one notification twice.
pub fn first_time(notification_id: &str) -> bool {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    seen.insert(notification_id.to_owned())
}

/// The alert for `notification`, or `None` when its kind is not shown with `prefs`. The
/// appointment and join request supply names and times; without them the text stays generic.
pub fn compose(
    notification: &Notification,
    appointment: Option<&Appointment>,
    join_request: Option<&JoinRequest>,
    prefs: &NotificationPrefs,
    zone: &TimeZone,
    side: Side,
) -> Option<Alert> {
    if !wanted(notification.kind, prefs) {
        return None;
    }
    let names = prefs.show_patient_names;
    let patient = match appointment {
        Some(appointment) if names => appointment.patient_name.clone(),
        _ => "a patient".to_owned(),
    };
    let doctor = appointment.map_or("the doctor".to_owned(), |appointment| {
        appointment.doctor_name.clone()
    });
    let call = appointment.map_or("consultation", |appointment| {
        call_words(appointment.call_type)
    });
    let at = appointment
        .map(|appointment| format!(" at {}", local_hh_mm(appointment.start_time, zone)))
        .unwrap_or_default();
    let consultation = format!("{} with {patient}{at}", capitalize(call));
    let (title, body) = match (side, notification.kind) {
        (Side::Participant, kind) => {
            let with_doctor = format!("{} with {doctor}{at}", capitalize(call));
            match kind {
                NotificationKind::VideoCallReady => (
                    "Your call is ready".to_owned(),
                    format!("{doctor} started the {call}{at}. You can join now."),
                ),
                NotificationKind::VideoCallStarting => ("Starting now".to_owned(), with_doctor),
                NotificationKind::VideoCallReminder => {
                    (reminder_title(call, appointment, notification), with_doctor)
                }
                NotificationKind::JoinRequestDecided => match join_request.map(|r| r.status) {
                    Some(JoinRequestStatus::Approved) => (
                        format!("{} let you in", capitalize(&doctor)),
                        format!("{with_doctor}: the call opens in Consult."),
                    ),
                    Some(JoinRequestStatus::Rejected) => (
                        format!("{} declined your request to join", capitalize(&doctor)),
                        format!("{with_doctor}. You can ask again in Consult."),
                    ),
                    // Withdrawn, or not known: nothing to tell.
                    _ => return None,
                },
                NotificationKind::JoinRequestCreated
                | NotificationKind::AppointmentCreated
                | NotificationKind::MeetingEnded
                | NotificationKind::KioskUnavailable => return None,
            }
        }
        (Side::Doctor, NotificationKind::JoinRequestCreated) => {
            let who = match join_request {
                Some(request) => requester(request, names),
                None => "Someone".to_owned(),
            };
            (format!("{who} asks to join"), consultation)
        }
        (Side::Doctor, NotificationKind::VideoCallReady) => (
            "Call ready".to_owned(),
            format!("The {call} with {patient}{at} can be joined now."),
        ),
        (Side::Doctor, NotificationKind::VideoCallStarting) => {
            ("Starting now".to_owned(), consultation)
        }
        // Which kiosk and what is wrong are in the server's text and the fleet view; the alert
        // is written here like every other, so the patient's name follows the preference.
        (Side::Doctor, NotificationKind::KioskUnavailable) => (
            "A visit's kiosk needs attention".to_owned(),
            format!("{consultation}: its kiosk is offline or failed its self-test, so the patient may not be able to join."),
        ),
        (Side::Doctor, NotificationKind::VideoCallReminder) => (
            reminder_title(call, appointment, notification),
            consultation,
        ),
        (
            Side::Doctor,
            NotificationKind::AppointmentCreated
            | NotificationKind::JoinRequestDecided
            | NotificationKind::MeetingEnded,
        ) => return None,
    };
    Some(Alert {
        id: notification.id.clone(),
        kind: notification.kind,
        title,
        body,
        appointment_id: notification.appointment_id.clone(),
        session_id: notification
            .session_id
            .clone()
            .or_else(|| appointment.map(|appointment| appointment.session_id.clone())),
        join_request_id: match notification.kind {
            NotificationKind::JoinRequestCreated => notification
                .join_request_id
                .clone()
                .or_else(|| join_request.map(|request| request.id.clone())),
            _ => None,
        },
        lobby_participant_id: None,
    })
}

/// "Reminder: video consultation in 5 minutes" (the lead as the server sent it, rounded).
fn reminder_title(
    call: &str,
    appointment: Option<&Appointment>,
    notification: &Notification,
) -> String {
    match appointment
        .map(|appointment| lead_words(appointment.start_time - notification.created_at))
    {
        Some(lead) => format!("Reminder: {call} in {lead}"),
        None => format!("Reminder: {call}"),
    }
}

/// "Sam Carer (care agency)", or "A patient" when names are hidden and the patient asks.
fn requester(request: &JoinRequest, show_patient_names: bool) -> String {
    let role = match request.requester_role {
        Role::Agency => "care agency",
        Role::Patient => "patient",
        Role::Kiosk => "exam-room kiosk",
        Role::Doctor => "doctor",
        Role::Admin => "administrator",
    };
    let is_patient_side = matches!(request.requester_role, Role::Patient | Role::Kiosk);
    if is_patient_side && !show_patient_names {
        "A patient".to_owned()
    } else {
        format!("{} ({role})", request.requester_name)
    }
}

fn call_words(call_type: CallType) -> &'static str {
    match call_type {
        CallType::Video => "video consultation",
        CallType::Audio => "audio consultation",
    }
}

/// How long before the start a reminder came: "24 hours", "5 minutes" (rounded, since the
/// server's scheduler claims reminders on its polling interval).
fn lead_words(lead: time::Duration) -> String {
    let secs = lead.whole_seconds().max(0);
    let (count, unit) = if secs >= 3600 {
        ((secs + 1800) / 3600, "hour")
    } else {
        (((secs + 30) / 60).max(1), "minute")
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

/// "HH:MM" in `zone`.
pub fn local_hh_mm(time: OffsetDateTime, zone: &TimeZone) -> String {
    match jiff::Timestamp::from_second(time.unix_timestamp()) {
        Ok(timestamp) => timestamp
            .to_zoned(zone.clone())
            .strftime("%H:%M")
            .to_string(),
        // Out of jiff's range (years beyond ±9999): not a real appointment; show UTC.
        Err(_) => format!("{:02}:{:02} UTC", time.hour(), time.minute()),
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_types::{AppointmentStatus, JoinRequestStatus, MeetingStatus};
    use time::macros::datetime;

    fn appointment() -> Appointment {
        Appointment {
            id: "apt_1".into(),
            appointment_code: "ABC".into(),
            session_id: "ses_1".into(),
            doctor_id: "usr_d".into(),
            patient_id: "usr_p".into(),
            agency_id: Some("usr_a".into()),
            kiosk_id: None,
            room_name: "room".into(),
            call_type: CallType::Video,
            status: AppointmentStatus::Scheduled,
            meeting_status: MeetingStatus::Created,
            waiting_room: false,
            start_time: datetime!(2030-03-04 13:30 UTC),
            end_time: datetime!(2030-03-04 14:00 UTC),
            doctor_name: "Ada Lovelace".into(),
            patient_name: "Grace Hopper".into(),
            agency_name: Some("Sunrise Care".into()),
        }
    }

    fn notification(kind: NotificationKind, created_at: OffsetDateTime) -> Notification {
        Notification {
            id: "ntf_1".into(),
            kind,
            title: "server text Grace Hopper".into(),
            body: "server body Grace Hopper".into(),
            appointment_id: "apt_1".into(),
            session_id: Some("ses_1".into()),
            join_request_id: Some("jrq_1".into()),
            created_at,
            read_at: None,
        }
    }

    fn request(role: Role, name: &str) -> JoinRequest {
        JoinRequest {
            id: "jrq_1".into(),
            appointment_id: "apt_1".into(),
            session_id: "ses_1".into(),
            requester_id: "usr_x".into(),
            requester_name: name.into(),
            requester_role: role,
            status: JoinRequestStatus::Pending,
            requested_at: datetime!(2030-03-04 13:20 UTC),
            decided_at: None,
        }
    }

    fn zone() -> TimeZone {
        // UTC+1, so the test shows the conversion to local time.
        TimeZone::fixed(jiff::tz::offset(1))
    }

    fn hidden() -> NotificationPrefs {
        NotificationPrefs {
            show_patient_names: false,
            ..NotificationPrefs::default()
        }
    }

    #[test]
    fn a_join_request_says_who_for_whom_and_when_in_local_time() {
        let created = notification(
            NotificationKind::JoinRequestCreated,
            datetime!(2030-03-04 13:20 UTC),
        );
        let agency = request(Role::Agency, "Sam Carer");
        let alert = compose(
            &created,
            Some(&appointment()),
            Some(&agency),
            &NotificationPrefs::default(),
            &zone(),
            Side::Doctor,
        )
        .unwrap();
        assert_eq!(alert.title, "Sam Carer (care agency) asks to join");
        assert_eq!(alert.body, "Video consultation with Grace Hopper at 14:30");
        assert_eq!(alert.join_request_id.as_deref(), Some("jrq_1"));
        assert_eq!(alert.session_id.as_deref(), Some("ses_1"));

        let alert = compose(
            &created,
            Some(&appointment()),
            Some(&agency),
            &hidden(),
            &zone(),
            Side::Doctor,
        )
        .unwrap();
        assert_eq!(alert.title, "Sam Carer (care agency) asks to join");
        assert_eq!(alert.body, "Video consultation with a patient at 14:30");
        assert!(!format!("{alert:?}").contains("Grace"));

        let patient = request(Role::Patient, "Grace Hopper");
        let shown = compose(
            &created,
            Some(&appointment()),
            Some(&patient),
            &NotificationPrefs::default(),
            &zone(),
            Side::Doctor,
        )
        .unwrap();
        assert_eq!(shown.title, "Grace Hopper (patient) asks to join");
        let alert = compose(
            &created,
            Some(&appointment()),
            Some(&patient),
            &hidden(),
            &zone(),
            Side::Doctor,
        )
        .unwrap();
        assert_eq!(alert.title, "A patient asks to join");
        assert!(!format!("{alert:?}").contains("Grace"));
    }

    #[test]
    fn reminders_say_how_long_before() {
        let apt = appointment();
        let day = notification(
            NotificationKind::VideoCallReminder,
            datetime!(2030-03-03 13:30:20 UTC),
        );
        let alert = compose(
            &day,
            Some(&apt),
            None,
            &NotificationPrefs::default(),
            &zone(),
            Side::Doctor,
        )
        .unwrap();
        assert_eq!(alert.title, "Reminder: video consultation in 24 hours");
        assert_eq!(alert.body, "Video consultation with Grace Hopper at 14:30");
        assert_eq!(alert.join_request_id, None);
        let soon = notification(
            NotificationKind::VideoCallReminder,
            datetime!(2030-03-04 13:25:10 UTC),
        );
        let alert = compose(&soon, Some(&apt), None, &hidden(), &zone(), Side::Doctor).unwrap();
        assert_eq!(alert.title, "Reminder: video consultation in 5 minutes");
        assert_eq!(alert.body, "Video consultation with a patient at 14:30");
    }

    #[test]
    fn calls_ready_and_starting() {
        let apt = appointment();
        let ready = notification(
            NotificationKind::VideoCallReady,
            datetime!(2030-03-04 13:29 UTC),
        );
        let alert = compose(
            &ready,
            Some(&apt),
            None,
            &NotificationPrefs::default(),
            &zone(),
            Side::Doctor,
        )
        .unwrap();
        assert_eq!(alert.title, "Call ready");
        assert_eq!(
            alert.body,
            "The video consultation with Grace Hopper at 14:30 can be joined now."
        );
        let starting = notification(
            NotificationKind::VideoCallStarting,
            datetime!(2030-03-04 13:30 UTC),
        );
        let alert = compose(
            &starting,
            Some(&apt),
            None,
            &hidden(),
            &zone(),
            Side::Doctor,
        )
        .unwrap();
        assert_eq!(alert.title, "Starting now");
        assert_eq!(alert.body, "Video consultation with a patient at 14:30");
    }

    #[test]
    fn prefs_filter_by_kind_and_server_texts_are_never_used() {
        let apt = appointment();
        let at = datetime!(2030-03-04 13:00 UTC);
        let off = NotificationPrefs {
            enabled: false,
            ..NotificationPrefs::default()
        };
        let no_reminders = NotificationPrefs {
            reminders: false,
            ..NotificationPrefs::default()
        };
        let reminder = notification(NotificationKind::VideoCallReminder, at);
        assert!(compose(&reminder, Some(&apt), None, &off, &zone(), Side::Doctor).is_none());
        assert!(compose(
            &reminder,
            Some(&apt),
            None,
            &no_reminders,
            &zone(),
            Side::Doctor
        )
        .is_none());
        let join = notification(NotificationKind::JoinRequestCreated, at);
        assert!(compose(
            &join,
            Some(&apt),
            None,
            &no_reminders,
            &zone(),
            Side::Doctor
        )
        .is_some());
        for kind in [
            NotificationKind::AppointmentCreated,
            NotificationKind::MeetingEnded,
            NotificationKind::JoinRequestDecided,
        ] {
            let quiet = notification(kind, at);
            assert!(compose(
                &quiet,
                Some(&apt),
                None,
                &NotificationPrefs::default(),
                &zone(),
                Side::Doctor
            )
            .is_none());
        }
        // Without context nothing names the patient, even with names on.
        let alert = compose(
            &join,
            None,
            None,
            &NotificationPrefs::default(),
            &zone(),
            Side::Doctor,
        )
        .unwrap();
        assert_eq!(alert.title, "Someone asks to join");
        assert_eq!(alert.body, "Consultation with a patient");
    }

    #[test]
    fn a_kiosk_in_trouble_before_a_visit_is_told_to_the_doctor_only() {
        let apt = appointment();
        let at = datetime!(2030-03-04 13:20 UTC);
        let trouble = notification(NotificationKind::KioskUnavailable, at);
        let alert = compose(&trouble, Some(&apt), None, &hidden(), &zone(), Side::Doctor)
            .expect("the doctor is told");
        assert_eq!(alert.title, "A visit's kiosk needs attention");
        assert_eq!(
            alert.body,
            "Video consultation with a patient at 14:30: its kiosk is offline or failed its self-test, so the patient may not be able to join."
        );
        let no_calls = NotificationPrefs {
            calls: false,
            ..NotificationPrefs::default()
        };
        assert!(compose(&trouble, Some(&apt), None, &no_calls, &zone(), Side::Doctor).is_none());
        assert!(compose(
            &trouble,
            Some(&apt),
            None,
            &NotificationPrefs::default(),
            &zone(),
            Side::Participant
        )
        .is_none());
    }

    #[test]
    fn only_new_notifications_and_each_once() {
        let signed_in = datetime!(2030-03-04 12:00 UTC);
        let old = notification(
            NotificationKind::VideoCallReady,
            datetime!(2030-03-04 11:00 UTC),
        );
        let skewed = notification(
            NotificationKind::VideoCallReady,
            datetime!(2030-03-04 11:59 UTC),
        );
        assert!(!is_since(&old, signed_in));
        assert!(is_since(&skewed, signed_in));
        let id = format!("ntf_unit_{}", std::process::id());
        assert!(first_time(&id));
        assert!(!first_time(&id));
    }

    #[test]
    fn a_lobby_knock_names_the_knocker_only_when_names_may_show() {
        let knocker = consult_types::KnockingParticipant {
            id: "p1".into(),
            name: Some("Grace Hopper".into()),
        };
        let shown = lobby_knock(&knocker, Some("a1"), "s1", true);
        assert_eq!(
            shown.body,
            "Grace Hopper is waiting in the lobby of your call."
        );
        assert_eq!(shown.lobby_participant_id.as_deref(), Some("p1"));
        assert_eq!(shown.id, lobby_knock_id("s1", "p1"));
        assert_eq!(shown.join_request_id, None);
        let hidden = lobby_knock(&knocker, Some("a1"), "s1", false);
        assert!(!hidden.body.contains("Grace"), "{}", hidden.body);
        let nameless = consult_types::KnockingParticipant {
            id: "p2".into(),
            name: Some("  ".into()),
        };
        assert!(lobby_knock(&nameless, None, "s1", true)
            .body
            .starts_with("Someone"));
        assert_ne!(shown.id, lobby_knock(&nameless, None, "s1", true).id);
    }

    #[test]
    fn a_participant_reads_about_the_doctor() {
        let prefs = NotificationPrefs::default();
        let compose_for = |kind, created_at| {
            compose(
                &notification(kind, created_at),
                Some(&appointment()),
                None,
                &prefs,
                &zone(),
                Side::Participant,
            )
            .unwrap()
        };
        let ready = compose_for(
            NotificationKind::VideoCallReady,
            datetime!(2030-03-04 13:25 UTC),
        );
        assert_eq!(ready.title, "Your call is ready");
        assert_eq!(
            ready.body,
            "Ada Lovelace started the video consultation at 14:30. You can join now."
        );
        let starting = compose_for(
            NotificationKind::VideoCallStarting,
            datetime!(2030-03-04 13:30 UTC),
        );
        assert_eq!(
            starting.body,
            "Video consultation with Ada Lovelace at 14:30"
        );
        let reminder = compose_for(
            NotificationKind::VideoCallReminder,
            datetime!(2030-03-04 13:25 UTC),
        );
        assert_eq!(reminder.title, "Reminder: video consultation in 5 minutes");
        assert_eq!(
            reminder.body,
            "Video consultation with Ada Lovelace at 14:30"
        );
        for alert in [ready, starting, reminder] {
            assert!(alert.join_request_id.is_none(), "nothing to decide");
        }
    }

    #[test]
    fn a_requester_is_told_the_decision_and_nothing_of_a_withdrawal() {
        let decided = notification(
            NotificationKind::JoinRequestDecided,
            datetime!(2030-03-04 13:28 UTC),
        );
        let with_status = |status| {
            let mut request = request(Role::Agency, "Sam Carer");
            request.status = status;
            compose(
                &decided,
                Some(&appointment()),
                Some(&request),
                &NotificationPrefs::default(),
                &zone(),
                Side::Participant,
            )
        };
        let approved = with_status(JoinRequestStatus::Approved).unwrap();
        assert_eq!(approved.title, "Ada Lovelace let you in");
        assert!(
            approved.join_request_id.is_none(),
            "no Admit/Decline buttons"
        );
        let declined = with_status(JoinRequestStatus::Rejected).unwrap();
        assert_eq!(declined.title, "Ada Lovelace declined your request to join");
        assert!(with_status(JoinRequestStatus::Withdrawn).is_none());
        // The doctor is never told of their own decision.
        let mut request = request(Role::Agency, "Sam Carer");
        request.status = JoinRequestStatus::Approved;
        let doctor = compose(
            &decided,
            Some(&appointment()),
            Some(&request),
            &NotificationPrefs::default(),
            &zone(),
            Side::Doctor,
        );
        assert!(doctor.is_none());
    }
}
