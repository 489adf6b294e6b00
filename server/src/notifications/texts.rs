//! What notifications say. Times are written in UTC with the zone named; clients that know the
//! reader's zone can rebuild the text from the appointment.

use consult_types::clinic::{CallType, JoinRequestStatus, NotificationKind};
use time::macros::format_description;

use super::store::Draft;
use crate::appointments::AppointmentRecord;
use crate::db;

fn when(unix: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    db::to_datetime(unix)
        .ok()
        .and_then(|time| time.format(&format).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn call(appointment: &AppointmentRecord) -> &'static str {
    match appointment.call_type {
        CallType::Video => "video consultation",
        CallType::Audio => "audio consultation",
    }
}

pub fn appointment_created(appointment: &AppointmentRecord) -> Draft<'_> {
    Draft {
        kind: NotificationKind::AppointmentCreated,
        title: "New appointment".to_owned(),
        body: format!(
            "{} with {} and {} at {}",
            capitalize(call(appointment)),
            appointment.doctor_name,
            appointment.patient_name,
            when(appointment.start_time)
        ),
        appointment,
        join_request_id: None,
    }
}

pub fn video_call_ready(appointment: &AppointmentRecord) -> Draft<'_> {
    Draft {
        kind: NotificationKind::VideoCallReady,
        title: "Your call is ready".to_owned(),
        body: format!(
            "{} has started the {}. You can join now.",
            appointment.doctor_name,
            call(appointment)
        ),
        appointment,
        join_request_id: None,
    }
}

pub fn video_call_starting(appointment: &AppointmentRecord) -> Draft<'_> {
    Draft {
        kind: NotificationKind::VideoCallStarting,
        title: "Starting now".to_owned(),
        body: format!(
            "The {} of {} with {} starts now.",
            call(appointment),
            appointment.patient_name,
            appointment.doctor_name
        ),
        appointment,
        join_request_id: None,
    }
}

/// `lead` is how long before the start, in words ("24 hours", "5 minutes").
pub fn video_call_reminder<'a>(appointment: &'a AppointmentRecord, lead: &str) -> Draft<'a> {
    Draft {
        kind: NotificationKind::VideoCallReminder,
        title: format!("In {lead}: {}", call(appointment)),
        body: format!(
            "{} with {} and {} at {}",
            capitalize(call(appointment)),
            appointment.doctor_name,
            appointment.patient_name,
            when(appointment.start_time)
        ),
        appointment,
        join_request_id: None,
    }
}

pub fn join_request_created<'a>(
    appointment: &'a AppointmentRecord,
    join_request_id: &'a str,
    requester_name: &str,
) -> Draft<'a> {
    Draft {
        kind: NotificationKind::JoinRequestCreated,
        title: format!("{requester_name} asks to join"),
        body: format!(
            "{requester_name} asks to join the {} with {} at {}",
            call(appointment),
            appointment.patient_name,
            when(appointment.start_time)
        ),
        appointment,
        join_request_id: Some(join_request_id),
    }
}

/// What the requester is told of the doctor's decision; `None` for a status that is no decision
/// of the doctor's (a withdrawal is the requester's own, and nobody is told of it).
pub fn join_request_decided<'a>(
    appointment: &'a AppointmentRecord,
    join_request_id: &'a str,
    decision: JoinRequestStatus,
) -> Option<Draft<'a>> {
    let (title, verb) = match decision {
        JoinRequestStatus::Approved => ("You were admitted", "admitted you to"),
        JoinRequestStatus::Rejected => {
            ("Your request was declined", "declined your request to join")
        }
        JoinRequestStatus::Pending | JoinRequestStatus::Withdrawn => return None,
    };
    Some(Draft {
        kind: NotificationKind::JoinRequestDecided,
        title: title.to_owned(),
        body: format!(
            "{} {verb} the {} at {}",
            appointment.doctor_name,
            call(appointment),
            when(appointment.start_time)
        ),
        appointment,
        join_request_id: Some(join_request_id),
    })
}

pub fn meeting_ended(appointment: &AppointmentRecord) -> Draft<'_> {
    Draft {
        kind: NotificationKind::MeetingEnded,
        title: "Call ended".to_owned(),
        body: format!(
            "{} ended the {}.",
            appointment.doctor_name,
            call(appointment)
        ),
        appointment,
        join_request_id: None,
    }
}

/// The kiosk a visit in the next 15 minutes joins from is offline or failed its self-test
/// (`why`: "is offline", "failed its self-test"). No patient name: the desktop writes the
/// body by its user's preference.
pub fn kiosk_unavailable<'a>(
    appointment: &'a AppointmentRecord,
    location: &str,
    why: &str,
) -> Draft<'a> {
    Draft {
        kind: NotificationKind::KioskUnavailable,
        title: format!("The kiosk in {location} {why}"),
        body: format!(
            "{} at {}: the patient may not be able to join. Check the kiosk.",
            capitalize(call(appointment)),
            when(appointment.start_time)
        ),
        appointment,
        join_request_id: None,
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

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(when(1_800_000_000), "2027-01-15 08:00 UTC");
        assert_eq!(capitalize("video"), "Video");
    }
}
