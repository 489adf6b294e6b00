//! What the caller is to an appointment, which decides what they may see and do.

use consult_types::api::Role;

use super::store::AppointmentRecord;
use crate::auth::AuthSession;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Doctor,
    Patient,
    Agency,
    Kiosk,
    /// Not on the appointment, but an administrator.
    Admin,
}

impl Party {
    /// Jitsi moderators: the appointment's doctor and administrators, nobody else. Derived from
    /// who the caller is, never from anything in a request.
    pub fn is_moderator(self) -> bool {
        matches!(self, Party::Doctor | Party::Admin)
    }

    /// May change, cancel, start or end the appointment and decide join requests.
    pub fn runs_it(self) -> bool {
        matches!(self, Party::Doctor | Party::Admin)
    }
}

/// The caller's part in `appointment`, if any.
pub fn party(session: &AuthSession, appointment: &AppointmentRecord) -> Option<Party> {
    let me = session.user_id.as_str();
    if appointment.doctor_id == me {
        Some(Party::Doctor)
    } else if appointment.patient_id == me {
        Some(Party::Patient)
    } else if appointment.agency_id.as_deref() == Some(me) {
        Some(Party::Agency)
    } else if appointment.kiosk_id.as_deref() == Some(me) {
        Some(Party::Kiosk)
    } else if session.role == Role::Admin {
        Some(Party::Admin)
    } else {
        None
    }
}

/// The caller's part, or 404: people not on an appointment do not learn that it exists.
pub fn require_party(
    session: &AuthSession,
    appointment: &AppointmentRecord,
) -> Result<Party, ApiError> {
    party(session, appointment).ok_or(ApiError::NotFound)
}

/// The doctor or an administrator; other parties get 403, strangers 404.
pub fn require_runner(
    session: &AuthSession,
    appointment: &AppointmentRecord,
) -> Result<Party, ApiError> {
    let party = require_party(session, appointment)?;
    if party.runs_it() {
        Ok(party)
    } else {
        Err(ApiError::Forbidden(
            "Only the appointment's doctor or an administrator may do this",
        ))
    }
}
