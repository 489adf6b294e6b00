//! The participant's side of the waiting room: the user's own requests to join (an agency, or a
//! patient behind the doctor's waiting room), the latest per appointment, and the moment one of
//! them lets the user in. No I/O: the desk feeds it what the server says, and carries out the
//! one effect, joining the call, that an [`Outcome::admitted`] asks for.
//!
//! Rules:
//! - An approval joins the call only when it is the answer to a wait seen here (asked in this
//!   life, or seen pending): a replayed or stale approval never opens a call by itself.
//! - A newer request for an appointment replaces an older one; an older report changes nothing.
//! - A declined request stays until the user puts it away or asks again.

use std::collections::HashMap;

use consult_types::{JoinRequest, JoinRequestStatus, OwnRequest};

/// What a change did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The list the UI shows changed.
    pub changed: bool,
    /// This request was just approved while the user waited: join its call now.
    pub admitted: Option<JoinRequest>,
}

impl Outcome {
    pub fn changed(changed: bool) -> Outcome {
        Outcome {
            changed,
            admitted: None,
        }
    }
}

#[derive(Debug, Default)]
pub struct OwnRequests {
    /// By appointment id.
    latest: HashMap<String, OwnRequest>,
}

impl OwnRequests {
    /// The server's answer to asking: the pending request, or an approval given before, which
    /// lets the user in at once (they asked to be in).
    pub fn asked(&mut self, request: JoinRequest) -> Outcome {
        if request.status == JoinRequestStatus::Approved {
            return self.admit(request);
        }
        self.reported(request)
    }

    /// A request as the event stream or a fetch reports it.
    pub fn reported(&mut self, request: JoinRequest) -> Outcome {
        let known = self.latest.get(&request.appointment_id);
        if known.is_some_and(|known| is_newer(&known.request, &request)) {
            return Outcome::default();
        }
        let was_waiting = known.is_some_and(|known| {
            known.request.id == request.id && known.request.status == JoinRequestStatus::Pending
        });
        match request.status {
            JoinRequestStatus::Pending | JoinRequestStatus::Rejected => {
                let own = OwnRequest {
                    request,
                    join_failed: None,
                };
                let changed = known != Some(&own);
                self.latest.insert(own.request.appointment_id.clone(), own);
                Outcome::changed(changed)
            }
            JoinRequestStatus::Approved if was_waiting => self.admit(request),
            JoinRequestStatus::Approved | JoinRequestStatus::Withdrawn => {
                Outcome::changed(self.forget_appointment_of(&request))
            }
        }
    }

    /// The approved request's call opened: the wait is over.
    pub fn joined(&mut self, request_id: &str) -> bool {
        self.forget(request_id)
    }

    /// The approved request's call did not open: shown with why, until put away.
    pub fn join_failed(&mut self, request_id: &str, why: String) -> bool {
        match self.find_mut(request_id) {
            Some(own) if own.request.status == JoinRequestStatus::Approved => {
                own.join_failed = Some(why);
                true
            }
            _ => false,
        }
    }

    /// Removes the request, returning it: the user stops waiting.
    pub fn take(&mut self, request_id: &str) -> Option<JoinRequest> {
        let appointment_id = self
            .latest
            .iter()
            .find(|(_, own)| own.request.id == request_id)
            .map(|(appointment_id, _)| appointment_id.clone())?;
        self.latest.remove(&appointment_id).map(|own| own.request)
    }

    /// The user put the request away (or withdrew it).
    pub fn forget(&mut self, request_id: &str) -> bool {
        let before = self.latest.len();
        self.latest.retain(|_, own| own.request.id != request_id);
        before != self.latest.len()
    }

    /// Drops the requests of appointments no longer on the schedule (cancelled, over).
    pub fn retain_appointments(&mut self, on_schedule: impl Fn(&str) -> bool) -> bool {
        let before = self.latest.len();
        self.latest
            .retain(|appointment_id, _| on_schedule(appointment_id));
        before != self.latest.len()
    }

    /// The ids of the requests still waiting, to be fetched again after a gap in the stream.
    pub fn pending_ids(&self) -> Vec<String> {
        self.latest
            .values()
            .filter(|own| own.request.status == JoinRequestStatus::Pending)
            .map(|own| own.request.id.clone())
            .collect()
    }

    /// Oldest first, as the UI lists them.
    pub fn list(&self) -> Vec<OwnRequest> {
        let mut list: Vec<OwnRequest> = self.latest.values().cloned().collect();
        list.sort_by(|a, b| {
            (a.request.requested_at, &a.request.id).cmp(&(b.request.requested_at, &b.request.id))
        });
        list
    }

    fn admit(&mut self, request: JoinRequest) -> Outcome {
        self.latest.insert(
            request.appointment_id.clone(),
            OwnRequest {
                request: request.clone(),
                join_failed: None,
            },
        );
        Outcome {
            changed: true,
            admitted: Some(request),
        }
    }

    fn forget_appointment_of(&mut self, request: &JoinRequest) -> bool {
        let same = self
            .latest
            .get(&request.appointment_id)
            .is_some_and(|known| known.request.id == request.id);
        same && self.latest.remove(&request.appointment_id).is_some()
    }

    fn find_mut(&mut self, request_id: &str) -> Option<&mut OwnRequest> {
        self.latest
            .values_mut()
            .find(|own| own.request.id == request_id)
    }
}

/// Whether `known` was made after `reported` (so `reported` is an older request's news).
fn is_newer(known: &JoinRequest, reported: &JoinRequest) -> bool {
    known.id != reported.id && known.requested_at > reported.requested_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_types::Role;
    use time::macros::datetime;
    use time::OffsetDateTime;

    fn request(id: &str, status: JoinRequestStatus, at: OffsetDateTime) -> JoinRequest {
        JoinRequest {
            id: id.into(),
            appointment_id: "apt_1".into(),
            session_id: "ses_1".into(),
            requester_id: "usr_agency".into(),
            requester_name: "Care Agency".into(),
            requester_role: Role::Agency,
            status,
            requested_at: at,
            decided_at: None,
        }
    }

    const AT: OffsetDateTime = datetime!(2026-12-03 09:00 UTC);
    const LATER: OffsetDateTime = datetime!(2026-12-03 09:05 UTC);

    fn statuses(own: &OwnRequests) -> Vec<(String, JoinRequestStatus)> {
        own.list()
            .into_iter()
            .map(|own| (own.request.id, own.request.status))
            .collect()
    }

    #[test]
    fn an_approval_while_waiting_lets_the_user_in() {
        let mut own = OwnRequests::default();
        assert!(
            own.asked(request("jr_1", JoinRequestStatus::Pending, AT))
                .changed
        );
        let outcome = own.reported(request("jr_1", JoinRequestStatus::Approved, AT));
        assert_eq!(outcome.admitted.map(|r| r.id).as_deref(), Some("jr_1"));
        // Shown as let in until the call opened.
        assert_eq!(
            statuses(&own),
            [("jr_1".into(), JoinRequestStatus::Approved)]
        );
        assert!(own.joined("jr_1"));
        assert!(own.list().is_empty());
    }

    #[test]
    fn asking_after_an_earlier_approval_lets_the_user_in_at_once() {
        let mut own = OwnRequests::default();
        let outcome = own.asked(request("jr_1", JoinRequestStatus::Approved, AT));
        assert!(outcome.admitted.is_some());
    }

    #[test]
    fn an_approval_nobody_waited_for_opens_nothing() {
        let mut own = OwnRequests::default();
        // A replay after a restart: never seen pending in this life.
        let outcome = own.reported(request("jr_1", JoinRequestStatus::Approved, AT));
        assert_eq!(outcome, Outcome::default());
        assert!(own.list().is_empty());
    }

    #[test]
    fn a_decline_stays_until_put_away_or_asked_again() {
        let mut own = OwnRequests::default();
        own.asked(request("jr_1", JoinRequestStatus::Pending, AT));
        let outcome = own.reported(request("jr_1", JoinRequestStatus::Rejected, AT));
        assert!(outcome.changed && outcome.admitted.is_none());
        assert_eq!(
            statuses(&own),
            [("jr_1".into(), JoinRequestStatus::Rejected)]
        );

        own.asked(request("jr_2", JoinRequestStatus::Pending, LATER));
        assert_eq!(
            statuses(&own),
            [("jr_2".into(), JoinRequestStatus::Pending)]
        );
        assert!(own.forget("jr_2"));
        assert!(own.list().is_empty());
    }

    #[test]
    fn news_of_an_older_request_changes_nothing() {
        let mut own = OwnRequests::default();
        own.asked(request("jr_2", JoinRequestStatus::Pending, LATER));
        // The first request's approval arrives late: the new wait goes on, nothing opens.
        let outcome = own.reported(request("jr_1", JoinRequestStatus::Approved, AT));
        assert_eq!(outcome, Outcome::default());
        assert_eq!(
            statuses(&own),
            [("jr_2".into(), JoinRequestStatus::Pending)]
        );
    }

    #[test]
    fn a_withdrawal_ends_the_wait_and_a_later_approval_opens_nothing() {
        let mut own = OwnRequests::default();
        own.asked(request("jr_1", JoinRequestStatus::Pending, AT));
        assert!(
            own.reported(request("jr_1", JoinRequestStatus::Withdrawn, AT))
                .changed
        );
        let outcome = own.reported(request("jr_1", JoinRequestStatus::Approved, AT));
        assert!(outcome.admitted.is_none());
    }

    #[test]
    fn a_call_that_did_not_open_says_why_until_put_away() {
        let mut own = OwnRequests::default();
        own.asked(request("jr_1", JoinRequestStatus::Pending, AT));
        own.reported(request("jr_1", JoinRequestStatus::Approved, AT));
        assert!(own.join_failed("jr_1", "No browser".into()));
        assert_eq!(own.list()[0].join_failed.as_deref(), Some("No browser"));
        // Only an approval can fail to open.
        own.asked(request("jr_2", JoinRequestStatus::Pending, LATER));
        assert!(!own.join_failed("jr_2", "No browser".into()));
    }

    #[test]
    fn requests_of_appointments_off_the_schedule_are_dropped() {
        let mut own = OwnRequests::default();
        own.asked(request("jr_1", JoinRequestStatus::Pending, AT));
        assert_eq!(own.pending_ids(), ["jr_1"]);
        assert!(own.retain_appointments(|id| id != "apt_1"));
        assert!(own.pending_ids().is_empty());
    }
}
