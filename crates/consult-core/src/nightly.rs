//! A kiosk's nightly restart (`[kiosk] nightly_restart_hour`), I/O-free: once a night, at the
//! configured local hour or as soon after it as no visit is near, the app ends with the restart
//! code and its service starts it afresh (memory, a webview that grew slow, an update installed).
//!
//! The rule, [`next`]: the night's moment is the latest `hour:00` local time; a kiosk started
//! before it restarts, unless a call runs or a (not cancelled) visit starts or ends within
//! [`CLEAR_OF_VISITS`], in which case it looks again when that visit is far enough behind. A
//! night's chance lasts [`WINDOW`]; a night busy all through it is skipped, never a restart in
//! the middle of the day.

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use time::OffsetDateTime;

use consult_types::{Appointment, AppointmentStatus};

/// No restart this close to a visit's start or end.
pub const CLEAR_OF_VISITS: time::Duration = time::Duration::minutes(30);
/// How long after the hour a night's restart may still happen.
pub const WINDOW: time::Duration = time::Duration::hours(4);
/// While a call runs, how soon to look again.
pub const DURING_A_CALL: time::Duration = time::Duration::minutes(1);

/// What the nightly restart does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nightly {
    RestartNow,
    LookAgainAt(OffsetDateTime),
}

/// The rule: see the module's text. `started` is when this run of the app began.
pub fn next(
    now: OffsetDateTime,
    zone: &TimeZone,
    hour: u8,
    started: OffsetDateTime,
    appointments: &[Appointment],
    in_call: bool,
) -> Nightly {
    let Some(slot) = latest_slot(now, zone, hour) else {
        // A zone without this hour today and yesterday: nothing sensible to do but wait.
        return Nightly::LookAgainAt(now + WINDOW);
    };
    let following = following_slot(slot, zone).unwrap_or(slot + time::Duration::days(1));
    if started >= slot || now >= slot + WINDOW {
        return Nightly::LookAgainAt(following);
    }
    if in_call {
        return Nightly::LookAgainAt(now + DURING_A_CALL);
    }
    let clear_at = appointments
        .iter()
        .filter(|visit| visit.status != AppointmentStatus::Cancelled)
        .filter(|visit| {
            visit.start_time - CLEAR_OF_VISITS <= now && now < visit.end_time + CLEAR_OF_VISITS
        })
        .map(|visit| visit.end_time + CLEAR_OF_VISITS)
        .max();
    match clear_at {
        None => Nightly::RestartNow,
        Some(at) if at < slot + WINDOW => Nightly::LookAgainAt(at),
        // Busy until the night's chance is over: tomorrow night.
        Some(_) => Nightly::LookAgainAt(following),
    }
}

/// The latest `hour:00` in `zone` at or before `now` (today's, or yesterday's before the hour).
fn latest_slot(now: OffsetDateTime, zone: &TimeZone, hour: u8) -> Option<OffsetDateTime> {
    let local = Timestamp::from_second(now.unix_timestamp())
        .ok()?
        .to_zoned(zone.clone());
    let time = Time::new(i8::try_from(hour).ok()?, 0, 0, 0).ok()?;
    let today = local.date().to_datetime(time).to_zoned(zone.clone()).ok()?;
    let slot = if today.timestamp() <= local.timestamp() {
        today
    } else {
        today.checked_sub(1.day()).ok()?
    };
    OffsetDateTime::from_unix_timestamp(slot.timestamp().as_second()).ok()
}

/// The same hour the next day, in local time (23 or 25 hours later across a DST change).
fn following_slot(slot: OffsetDateTime, zone: &TimeZone) -> Option<OffsetDateTime> {
    let zoned = Timestamp::from_second(slot.unix_timestamp())
        .ok()?
        .to_zoned(zone.clone());
    let next = zoned.checked_add(1.day()).ok()?;
    OffsetDateTime::from_unix_timestamp(next.timestamp().as_second()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_types::{CallType, MeetingStatus};
    use time::macros::datetime;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn visit(start: OffsetDateTime, minutes: i64, status: AppointmentStatus) -> Appointment {
        Appointment {
            id: "a1".into(),
            appointment_code: "CODE".into(),
            session_id: "s1".into(),
            doctor_id: "d".into(),
            patient_id: "p".into(),
            agency_id: None,
            kiosk_id: Some("k".into()),
            room_name: "room".into(),
            call_type: CallType::Video,
            status,
            meeting_status: MeetingStatus::Created,
            waiting_room: false,
            start_time: start,
            end_time: start + time::Duration::minutes(minutes),
            doctor_name: "Dr".into(),
            patient_name: "P".into(),
            agency_name: None,
        }
    }

    const STARTED_YESTERDAY: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

    #[test]
    fn a_quiet_kiosk_restarts_at_the_hour() {
        let now = datetime!(2026-12-04 03:00:20 UTC);
        assert_eq!(
            next(now, &utc(), 3, STARTED_YESTERDAY, &[], false),
            Nightly::RestartNow
        );
    }

    #[test]
    fn before_the_hour_it_waits_for_the_hour() {
        let now = datetime!(2026-12-04 02:10 UTC);
        // Started on the 3rd at 10:00, after that night's 03:00: the next chance is tonight's.
        assert_eq!(
            next(now, &utc(), 3, STARTED_YESTERDAY, &[], false),
            Nightly::LookAgainAt(datetime!(2026-12-04 03:00 UTC))
        );
    }

    #[test]
    fn a_kiosk_that_restarted_tonight_does_not_restart_again() {
        let now = datetime!(2026-12-04 03:05 UTC);
        let restarted = datetime!(2026-12-04 03:00:30 UTC);
        assert_eq!(
            next(now, &utc(), 3, restarted, &[], false),
            Nightly::LookAgainAt(datetime!(2026-12-05 03:00 UTC))
        );
    }

    #[test]
    fn never_within_half_an_hour_of_a_visit() {
        let now = datetime!(2026-12-04 03:00 UTC);
        // Starts in 20 minutes, lasts 15: clear 30 minutes after its end.
        let soon = visit(
            datetime!(2026-12-04 03:20 UTC),
            15,
            AppointmentStatus::Scheduled,
        );
        assert_eq!(
            next(
                now,
                &utc(),
                3,
                STARTED_YESTERDAY,
                std::slice::from_ref(&soon),
                false
            ),
            Nightly::LookAgainAt(datetime!(2026-12-04 04:05 UTC))
        );
        // Ended 20 minutes ago: clear 10 minutes from now.
        let just_over = visit(
            datetime!(2026-12-04 02:25 UTC),
            15,
            AppointmentStatus::Completed,
        );
        assert_eq!(
            next(now, &utc(), 3, STARTED_YESTERDAY, &[just_over], false),
            Nightly::LookAgainAt(datetime!(2026-12-04 03:10 UTC))
        );
        // Once clear, it restarts.
        let later = datetime!(2026-12-04 04:05 UTC);
        assert_eq!(
            next(later, &utc(), 3, STARTED_YESTERDAY, &[soon], false),
            Nightly::RestartNow
        );
    }

    #[test]
    fn a_cancelled_visit_or_one_far_away_does_not_hold_it_up() {
        let now = datetime!(2026-12-04 03:00 UTC);
        let cancelled = visit(
            datetime!(2026-12-04 03:10 UTC),
            15,
            AppointmentStatus::Cancelled,
        );
        let morning = visit(
            datetime!(2026-12-04 08:00 UTC),
            15,
            AppointmentStatus::Scheduled,
        );
        assert_eq!(
            next(
                now,
                &utc(),
                3,
                STARTED_YESTERDAY,
                &[cancelled, morning],
                false
            ),
            Nightly::RestartNow
        );
    }

    #[test]
    fn never_during_a_call() {
        let now = datetime!(2026-12-04 03:00 UTC);
        assert_eq!(
            next(now, &utc(), 3, STARTED_YESTERDAY, &[], true),
            Nightly::LookAgainAt(now + DURING_A_CALL)
        );
    }

    #[test]
    fn a_night_busy_through_its_window_is_skipped() {
        let now = datetime!(2026-12-04 03:00 UTC);
        let long = visit(
            datetime!(2026-12-04 02:00 UTC),
            300,
            AppointmentStatus::InProgress,
        );
        assert_eq!(
            next(now, &utc(), 3, STARTED_YESTERDAY, &[long], false),
            Nightly::LookAgainAt(datetime!(2026-12-05 03:00 UTC))
        );
        // And past the window, no restart in the middle of the day.
        let noon = datetime!(2026-12-04 12:00 UTC);
        assert_eq!(
            next(noon, &utc(), 3, STARTED_YESTERDAY, &[], false),
            Nightly::LookAgainAt(datetime!(2026-12-05 03:00 UTC))
        );
    }

    #[test]
    fn the_hour_is_the_kiosks_local_hour_across_a_dst_change() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        // 03:00 in Berlin in winter is 02:00 UTC.
        let now = datetime!(2026-12-04 02:00:10 UTC);
        assert_eq!(
            next(now, &berlin, 3, STARTED_YESTERDAY, &[], false),
            Nightly::RestartNow
        );
        // The night clocks go back (25 October 2026): the next 03:00 is 25 hours later.
        let restarted = datetime!(2026-10-24 01:00:30 UTC);
        assert_eq!(
            next(
                datetime!(2026-10-24 01:05 UTC),
                &berlin,
                3,
                restarted,
                &[],
                false
            ),
            Nightly::LookAgainAt(datetime!(2026-10-25 02:00 UTC))
        );
    }
}
