//! A kiosk's visits: when it joins a call by itself and when it leaves, decided from its own
//! schedule (the desk's appointments, all of them this kiosk's), the call that runs and the
//! time. No I/O and no clock of its own: [`decide`] is fed what is, the kiosk's driver
//! (`desktop::visits`) carries out what it says and asks again when something changes.
//!
//! Rules:
//! - A visit is due from its start minus the lead, or at once when the doctor started its
//!   meeting ("video call ready"), until its end plus the grace; never once cancelled or its
//!   meeting ended (those leave the schedule). (The server mints meeting tokens only from 15
//!   minutes before the start: an attempt before that fails and is retried.)
//! - The earliest due visit is joined; behind the waiting room the kiosk asks to join instead
//!   (the approval then opens the call), and does not ask again while it waits, nor after the
//!   doctor declined (nobody at the kiosk asked to be asked again).
//! - A running call is left when its visit is no longer due (cancelled, moved away, its meeting
//!   ended, past its end plus the grace), its conference ended or it failed (a failed call is
//!   then joined again, after `retry`: nobody is at a kiosk to press Retry).
//! - After a failed attempt the same visit is tried again only after `retry`; a visit whose
//!   call was lost (its window died: [`crate::heal`]) is joined again from the moment given.

use std::time::Duration;

use time::OffsetDateTime;

use consult_types::{Appointment, CallPhase, CallScreen, JoinRequestStatus, OwnRequest, Role};

/// How the kiosk times its visits (`[kiosk] join_lead_secs`, `leave_grace_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitTiming {
    /// Joined this long before the start.
    pub lead: Duration,
    /// Left this long after the end at the latest.
    pub grace: Duration,
    /// A failed join of a visit is tried again after this.
    pub retry: Duration,
}

impl Default for VisitTiming {
    fn default() -> VisitTiming {
        VisitTiming {
            lead: Duration::from_secs(60),
            grace: Duration::from_secs(10 * 60),
            retry: Duration::from_secs(30),
        }
    }
}

/// What the kiosk knows at one moment.
pub struct Situation<'a> {
    pub now: OffsetDateTime,
    /// The kiosk's schedule (cancelled and ended visits already left out by the desk).
    pub appointments: &'a [Appointment],
    /// Its own requests to join (behind a waiting room).
    pub own_requests: &'a [OwnRequest],
    pub call: Option<&'a CallScreen>,
    /// The last attempt to join, by session id, and when it was made.
    pub last_attempt: Option<(&'a str, OffsetDateTime)>,
    /// A lost call to join again (by session id), from when ([`crate::heal::Heal::rejoin`]).
    pub rejoin: Option<(&'a str, OffsetDateTime)>,
}

/// What to do now, and when to look again if nothing else happens first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Join this visit's call.
    Join(Appointment),
    /// Ask the doctor to let the kiosk in (waiting room on).
    AskToJoin(Appointment),
    /// Leave the running call.
    Leave,
    /// Nothing; look again at `wake` (a visit becomes due or ends) if given.
    Wait { wake: Option<OffsetDateTime> },
}

pub fn decide(situation: &Situation<'_>, timing: VisitTiming) -> Step {
    let now = situation.now;
    let due = |appointment: &Appointment| is_due(appointment, now, timing);
    if let Some(call) = situation.call {
        let visit = situation
            .appointments
            .iter()
            .find(|appointment| appointment.session_id == call.session_id);
        // A failed call is left too: the next look joins it again (after `retry`).
        let conference_over = call.view.phase.is_over();
        return match visit {
            Some(visit) if due(visit) && !conference_over => Step::Wait {
                wake: Some(leave_at(visit, timing)),
            },
            _ => Step::Leave,
        };
    }
    let Some(visit) = live_visit(situation.appointments, now, timing) else {
        return Step::Wait {
            wake: situation
                .appointments
                .iter()
                .map(|appointment| join_from(appointment, timing))
                .filter(|from| *from > now)
                .min(),
        };
    };
    if let Some((session_id, at)) = situation.rejoin {
        if session_id == visit.session_id {
            if now < at {
                return Step::Wait { wake: Some(at) };
            }
            // Even behind the waiting room: the kiosk was in this call already.
            return Step::Join(visit.clone());
        }
    }
    if let Some((session_id, at)) = situation.last_attempt {
        let again = at + timing.retry;
        if session_id == visit.session_id && now < again {
            return Step::Wait { wake: Some(again) };
        }
    }
    if visit.asks_to_join(Role::Kiosk) {
        let waiting = situation.own_requests.iter().any(|own| {
            own.request.appointment_id == visit.id
                && matches!(
                    own.request.status,
                    JoinRequestStatus::Pending
                        | JoinRequestStatus::Approved
                        | JoinRequestStatus::Rejected
                )
        });
        if waiting {
            return Step::Wait {
                wake: Some(leave_at(visit, timing)),
            };
        }
        return Step::AskToJoin(visit.clone());
    }
    Step::Join(visit.clone())
}

/// Consent before the camera: a kiosk joins muted; once the doctor is in the call, a countdown
/// says so, and only when it ends are the microphone and camera turned on. Once per call: what
/// the patient chooses after that stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// Nobody to show the patient to yet, or done: nothing to do.
    Idle,
    /// The doctor is in: start the countdown now.
    Start,
    /// Counting down until then.
    Counting { until: OffsetDateTime },
    /// The countdown is over: turn on what is still off.
    TurnOn,
}

/// `countdown_since`: when this call's countdown started; `done`: it turned media on already.
pub fn consent(
    call: &CallScreen,
    countdown_since: Option<OffsetDateTime>,
    done: bool,
    now: OffsetDateTime,
    countdown: Duration,
) -> Consent {
    let someone_in = call.view.phase == CallPhase::Joined && !call.view.participants.is_empty();
    match (done, someone_in, countdown_since) {
        (true, _, _) | (false, false, _) => Consent::Idle,
        (false, true, None) => Consent::Start,
        (false, true, Some(since)) => {
            let until = since + countdown;
            if now >= until {
                Consent::TurnOn
            } else {
                Consent::Counting { until }
            }
        }
    }
}

/// Whether any visit is due at `now`: the kiosk is in a visit's time, in its call or not (the
/// heartbeat's `visit` state when no call runs).
pub fn any_due(appointments: &[Appointment], now: OffsetDateTime, timing: VisitTiming) -> bool {
    live_visit(appointments, now, timing).is_some()
}

/// The visit the kiosk is due in now (the earliest), if any.
pub fn live_visit(
    appointments: &[Appointment],
    now: OffsetDateTime,
    timing: VisitTiming,
) -> Option<&Appointment> {
    appointments
        .iter()
        .filter(|appointment| is_due(appointment, now, timing))
        .min_by_key(|appointment| (appointment.start_time, appointment.id.clone()))
}

fn is_due(appointment: &Appointment, now: OffsetDateTime, timing: VisitTiming) -> bool {
    let started = appointment.meeting_status == consult_types::MeetingStatus::Started;
    (started || now >= join_from(appointment, timing)) && now < leave_at(appointment, timing)
}

fn join_from(appointment: &Appointment, timing: VisitTiming) -> OffsetDateTime {
    appointment.start_time - timing.lead
}

fn leave_at(appointment: &Appointment, timing: VisitTiming) -> OffsetDateTime {
    appointment.end_time + timing.grace
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_types::{
        AppointmentStatus, CallPathKind, CallRole, CallSupport, CallType, CallView, EndReason,
        JoinRequest, MeetingStatus,
    };
    use time::macros::datetime;

    const START: OffsetDateTime = datetime!(2026-12-03 10:00 UTC);

    fn visit(id: &str, start: OffsetDateTime) -> Appointment {
        Appointment {
            id: id.into(),
            appointment_code: "C".into(),
            session_id: format!("ses_{id}"),
            doctor_id: "usr_doc".into(),
            patient_id: "usr_pat".into(),
            agency_id: None,
            kiosk_id: Some("usr_kiosk".into()),
            room_name: "room".into(),
            call_type: CallType::Video,
            status: AppointmentStatus::Scheduled,
            meeting_status: MeetingStatus::Created,
            waiting_room: false,
            start_time: start,
            end_time: start + time::Duration::minutes(30),
            doctor_name: "Ada Lovelace".into(),
            patient_name: "Grace Hopper".into(),
            agency_name: None,
        }
    }

    #[test]
    fn a_visit_is_on_from_its_lead_until_its_grace_is_over() {
        let timing = VisitTiming::default();
        let schedule = [visit("a", START)];
        let at = |minutes: i64| START + time::Duration::minutes(minutes);
        assert!(!any_due(&schedule, at(-2), timing), "before the lead");
        assert!(any_due(&schedule, at(0), timing));
        assert!(any_due(&schedule, at(35), timing), "inside the grace");
        assert!(!any_due(&schedule, at(41), timing), "after the grace");
        assert!(!any_due(&[], at(0), timing));
    }

    fn call(session_id: &str, phase: CallPhase) -> CallScreen {
        let view = CallView {
            phase,
            ..CallView::joining("Room 3", false, false)
        };
        CallScreen {
            session_id: session_id.into(),
            appointment_id: None,
            support: CallSupport {
                path: CallPathKind::Embedded,
                forced: false,
                browser: None,
                reason: None,
                install_hint: None,
            },
            frame_url: None,
            room_name: "room".into(),
            audio_only: false,
            view,
        }
    }

    fn at(now: OffsetDateTime, appointments: &[Appointment]) -> Step {
        decide(
            &Situation {
                now,
                appointments,
                own_requests: &[],
                call: None,
                last_attempt: None,
                rejoin: None,
            },
            VisitTiming::default(),
        )
    }

    #[test]
    fn a_visit_is_joined_from_its_start_minus_the_lead_and_not_before() {
        let visits = [visit("a", START)];
        assert_eq!(
            at(START - time::Duration::minutes(5), &visits),
            Step::Wait {
                wake: Some(START - time::Duration::minutes(1))
            }
        );
        assert_eq!(
            at(START - time::Duration::minutes(1), &visits),
            Step::Join(visits[0].clone())
        );
    }

    #[test]
    fn a_started_meeting_is_joined_at_once_whatever_the_time() {
        let mut early = visit("a", START);
        early.meeting_status = MeetingStatus::Started;
        let visits = [early];
        assert_eq!(
            at(START - time::Duration::minutes(20), &visits),
            Step::Join(visits[0].clone())
        );
    }

    #[test]
    fn the_earliest_due_visit_goes_first_and_none_after_the_grace() {
        let visits = [
            visit("later", START + time::Duration::minutes(30)),
            visit("first", START),
        ];
        let step = at(START + time::Duration::minutes(29), &visits);
        assert_eq!(step, Step::Join(visits[1].clone()));
        let long_after = START + time::Duration::hours(3);
        assert_eq!(at(long_after, &visits), Step::Wait { wake: None });
    }

    #[test]
    fn behind_the_waiting_room_the_kiosk_asks_once_and_waits() {
        let mut behind = visit("a", START);
        behind.waiting_room = true;
        let visits = [behind];
        assert_eq!(at(START, &visits), Step::AskToJoin(visits[0].clone()));
        let own = [OwnRequest {
            request: JoinRequest {
                id: "jr".into(),
                appointment_id: "a".into(),
                session_id: "ses_a".into(),
                requester_id: "usr_kiosk".into(),
                requester_name: "Room 3".into(),
                requester_role: Role::Kiosk,
                status: JoinRequestStatus::Pending,
                requested_at: START,
                decided_at: None,
            },
            join_failed: None,
        }];
        let step = decide(
            &Situation {
                now: START,
                appointments: &visits,
                own_requests: &own,
                call: None,
                last_attempt: None,
                rejoin: None,
            },
            VisitTiming::default(),
        );
        assert!(matches!(step, Step::Wait { .. }), "{step:?}");
        // Declined: it does not ask again by itself.
        let mut declined = own.clone();
        declined[0].request.status = JoinRequestStatus::Rejected;
        let step = decide(
            &Situation {
                now: START + time::Duration::minutes(5),
                appointments: &visits,
                own_requests: &declined,
                call: None,
                last_attempt: None,
                rejoin: None,
            },
            VisitTiming::default(),
        );
        assert!(matches!(step, Step::Wait { .. }), "{step:?}");
    }

    #[test]
    fn a_running_call_is_left_when_its_visit_is_gone_over_or_its_conference_ended() {
        let visits = [visit("a", START)];
        let running = call("ses_a", CallPhase::Joined);
        let with_call = |appointments: &[Appointment], call: &CallScreen, now| {
            decide(
                &Situation {
                    now,
                    appointments,
                    own_requests: &[],
                    call: Some(call),
                    last_attempt: None,
                    rejoin: None,
                },
                VisitTiming::default(),
            )
        };
        assert!(matches!(
            with_call(&visits, &running, START),
            Step::Wait { .. }
        ));
        // Cancelled or its meeting ended: the desk dropped it.
        assert_eq!(with_call(&[], &running, START), Step::Leave);
        // Past its end plus the grace.
        let late = START + time::Duration::minutes(41);
        assert_eq!(with_call(&visits, &running, late), Step::Leave);
        let ended = call(
            "ses_a",
            CallPhase::Ended {
                reason: EndReason::Left,
            },
        );
        assert_eq!(with_call(&visits, &ended, START), Step::Leave);
        let failed = call(
            "ses_a",
            CallPhase::Failed {
                message: "Jitsi cannot be reached".into(),
            },
        );
        assert_eq!(with_call(&visits, &failed, START), Step::Leave);
    }

    #[test]
    fn the_camera_waits_for_the_doctor_and_the_countdown() {
        let countdown = Duration::from_secs(5);
        let mut joined = call("ses_a", CallPhase::Joined);
        // Alone in the call: nobody to show the patient to.
        assert_eq!(
            consent(&joined, None, false, START, countdown),
            Consent::Idle
        );
        joined
            .view
            .participants
            .push(consult_types::CallParticipant {
                id: "doc".into(),
                display_name: Some("Ada Lovelace".into()),
                role: CallRole::Moderator,
                hand_raised: false,
            });
        assert_eq!(
            consent(&joined, None, false, START, countdown),
            Consent::Start
        );
        let since = Some(START);
        assert_eq!(
            consent(
                &joined,
                since,
                false,
                START + time::Duration::seconds(4),
                countdown
            ),
            Consent::Counting {
                until: START + time::Duration::seconds(5)
            }
        );
        assert_eq!(
            consent(
                &joined,
                since,
                false,
                START + time::Duration::seconds(5),
                countdown
            ),
            Consent::TurnOn
        );
        // Once: after that the patient's choices stand.
        assert_eq!(
            consent(&joined, since, true, START, countdown),
            Consent::Idle
        );
        let joining = call("ses_a", CallPhase::Joining);
        assert_eq!(
            consent(&joining, None, false, START, countdown),
            Consent::Idle
        );
    }

    #[test]
    fn a_failed_attempt_is_retried_only_after_the_retry_time() {
        let visits = [visit("a", START)];
        let attempt = |at_time| {
            decide(
                &Situation {
                    now: START,
                    appointments: &visits,
                    own_requests: &[],
                    call: None,
                    last_attempt: Some(("ses_a", at_time)),
                    rejoin: None,
                },
                VisitTiming::default(),
            )
        };
        assert_eq!(
            attempt(START - time::Duration::seconds(10)),
            Step::Wait {
                wake: Some(START + time::Duration::seconds(20))
            }
        );
        assert_eq!(
            attempt(START - time::Duration::seconds(30)),
            Step::Join(visits[0].clone())
        );
    }

    fn after_a_death(
        now: OffsetDateTime,
        appointments: &[Appointment],
        rejoin_at: OffsetDateTime,
    ) -> Step {
        decide(
            &Situation {
                now,
                appointments,
                own_requests: &[],
                call: None,
                // Joined 10 s ago: the retry time alone would wait 20 s more.
                last_attempt: Some(("ses_a", now - time::Duration::seconds(10))),
                rejoin: Some(("ses_a", rejoin_at)),
            },
            VisitTiming::default(),
        )
    }

    #[test]
    fn a_call_whose_window_was_killed_during_the_visit_is_joined_again_at_once() {
        let visits = [visit("a", START)];
        let now = START + time::Duration::minutes(5);
        assert_eq!(
            after_a_death(now, &visits, now),
            Step::Join(visits[0].clone())
        );
        // Behind the waiting room too: the kiosk had been let in.
        let mut behind = visit("a", START);
        behind.waiting_room = true;
        let behind = [behind];
        assert_eq!(
            after_a_death(now, &behind, now),
            Step::Join(behind[0].clone())
        );
    }

    #[test]
    fn a_backed_off_rejoin_waits_for_its_moment() {
        let visits = [visit("a", START)];
        let now = START + time::Duration::minutes(5);
        let later = now + time::Duration::seconds(5);
        assert_eq!(
            after_a_death(now, &visits, later),
            Step::Wait { wake: Some(later) }
        );
    }

    #[test]
    fn no_rejoin_once_the_doctor_ended_the_visit_or_after_it() {
        // The doctor ended the meeting: the desk dropped the visit.
        let now = START + time::Duration::minutes(5);
        assert_eq!(after_a_death(now, &[], now), Step::Wait { wake: None });
        // Past its end plus the grace.
        let visits = [visit("a", START)];
        let late = START + time::Duration::minutes(41);
        assert_eq!(
            after_a_death(late, &visits, late),
            Step::Wait { wake: None }
        );
    }
}
