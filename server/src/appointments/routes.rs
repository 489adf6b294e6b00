//! `/appointments` and the doctor's meeting start and end.

use std::net::IpAddr;

use axum::extract::State;
use axum::Json;
use consult_types::api::{Envelope, Role};
use consult_types::clinic::{
    Appointment, AppointmentPatch, AppointmentStatus, MeetingStatus, NewAppointment, PushEvent,
};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::access;
use super::store::{self, AppointmentRecord, NewRecord, Scope};
use crate::app::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::AuthSession;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientIp};
use crate::notifications::{self, texts};
use crate::push::Outbox;
use crate::users;

/// The longest appointment the server books; longer ones are a typo.
const MAX_DURATION_SECS: i64 = 12 * 60 * 60;
/// A listing returns at most this many appointments; narrow `from`/`to` for more.
const LIST_LIMIT: i64 = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list, create))
        .routes(routes!(fetch, change, cancel))
        .routes(routes!(start_meeting))
        .routes(routes!(end_meeting))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only appointments that end after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    from: Option<OffsetDateTime>,
    /// Only appointments that start before this time (RFC 3339); after `from`.
    #[serde(default, with = "time::serde::rfc3339::option")]
    to: Option<OffsetDateTime>,
}

#[utoipa::path(
    get,
    path = "/appointments",
    operation_id = "listAppointments",
    tag = "appointments",
    summary = "List appointments",
    description = "The caller's appointments (every appointment for administrators), at most \
        500; narrow `from`/`to` for more.",
    params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The appointments", body = crate::openapi::AppointmentListEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 422, description = "`invalid_value`: an unknown query key, a time that is not \
            RFC 3339, or `to` not after `from`", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn list(
    State(state): State<AppState>,
    session: AuthSession,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Envelope<Vec<Appointment>>>, ApiError> {
    let scope = if session.role == Role::Admin {
        Scope::All
    } else {
        Scope::Participant(&session.user_id)
    };
    let from = query.from.map(OffsetDateTime::unix_timestamp);
    let to = query.to.map(OffsetDateTime::unix_timestamp);
    if let (Some(from), Some(to)) = (from, to) {
        if to <= from {
            return Err(ApiError::InvalidValue(
                "`to` must be after `from`".to_owned(),
            ));
        }
    }
    let records = store::list(&state.db, scope, from, to, LIST_LIMIT).await?;
    let appointments = records
        .iter()
        .map(AppointmentRecord::to_api)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Envelope::ok(appointments)))
}

#[utoipa::path(
    get,
    path = "/appointments/{id}",
    operation_id = "getAppointment",
    tag = "appointments",
    summary = "Get an appointment",
    params(("id" = String, Path, description = "The appointment's `id` (not its `sessionId`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The appointment", body = crate::openapi::AppointmentEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "`not_found`: no such appointment, or the caller is not on \
            it and not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn fetch(
    State(state): State<AppState>,
    session: AuthSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Envelope<Appointment>>, ApiError> {
    let mut conn = state
        .db
        .pool()
        .acquire()
        .await
        .map_err(crate::db::StoreError::from)?;
    let record = store::find_by_id(&mut conn, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    access::require_party(&session, &record)?;
    Ok(Json(Envelope::ok(record.to_api()?)))
}

#[utoipa::path(
    post,
    path = "/appointments",
    operation_id = "createAppointment",
    tag = "appointments",
    summary = "Book an appointment",
    description = "Doctors book for themselves, administrators for any doctor. The room name \
        and session id are generated. Notifies the parties (`appointment_created`).",
    request_body = NewAppointment,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The booked appointment", body = crate::openapi::AppointmentEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is neither an administrator nor \
            the appointment's doctor", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: a body of the wrong shape, `endTime` not \
            after `startTime`, longer than 12 hours or already over, or an id that does not name \
            an active account of the right role", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn create(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    ApiJson(new): ApiJson<NewAppointment>,
) -> Result<Json<Envelope<Appointment>>, ApiError> {
    match session.role {
        Role::Admin => {}
        Role::Doctor if new.doctor_id == session.user_id => {}
        Role::Doctor => {
            return Err(ApiError::Forbidden(
                "Doctors book appointments for themselves",
            ))
        }
        _ => {
            return Err(ApiError::Forbidden(
                "Only doctors and administrators book appointments",
            ))
        }
    }
    let now = state.clock.now_unix();
    let start_time = new.start_time.unix_timestamp();
    let end_time = new.end_time.unix_timestamp();
    check_times(start_time, end_time, now)?;
    require_account(&state, "doctorId", &new.doctor_id, Role::Doctor).await?;
    require_account(&state, "patientId", &new.patient_id, Role::Patient).await?;
    if let Some(agency_id) = &new.agency_id {
        require_account(&state, "agencyId", agency_id, Role::Agency).await?;
    }
    if let Some(kiosk_id) = &new.kiosk_id {
        require_account(&state, "kioskId", kiosk_id, Role::Kiosk).await?;
    }

    let mut tx = state.db.begin_write().await?;
    let record = NewRecord {
        doctor_id: &new.doctor_id,
        patient_id: &new.patient_id,
        agency_id: new.agency_id.as_deref(),
        kiosk_id: new.kiosk_id.as_deref(),
        call_type: new.call_type,
        waiting_room: new.waiting_room,
        start_time,
        end_time,
    };
    let id = store::insert(&mut tx, &record, now).await?;
    let record = store::find_by_id(&mut tx, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let event = AuditEvent::AppointmentCreated {
        user_id: &session.user_id,
        appointment_id: &record.id,
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    let mut outbox = Outbox::default();
    let parties = record.parties();
    notifications::notify(
        &mut tx,
        &mut outbox,
        &parties,
        &texts::appointment_created(&record),
        now,
    )
    .await?;
    let appointment = record.to_api()?;
    outbox.push_to(parties, &PushEvent::Appointment(appointment.clone()));
    outbox.commit(tx, &state.db, &state.hub, now).await?;
    state.reminders.notify_one();
    tracing::info!(appointment_id = %appointment.id, "appointment booked");
    Ok(Json(Envelope::ok(appointment)))
}

#[utoipa::path(
    patch,
    path = "/appointments/{id}",
    operation_id = "updateAppointment",
    tag = "appointments",
    summary = "Change an appointment",
    description = "Only the fields present change; `agencyId: null` removes the agency. The \
        appointment's doctor or an administrator, while it is scheduled.",
    params(("id" = String, Path, description = "The appointment's `id` (not its `sessionId`)")),
    request_body = AppointmentPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The changed appointment", body = crate::openapi::AppointmentEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: a party other than the doctor", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such appointment, or the caller is not on \
            it", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the appointment is no longer scheduled", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: a body of the wrong shape, invalid times, \
            or an `agencyId` that does not name an active agency account", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn change(
    State(state): State<AppState>,
    session: AuthSession,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<AppointmentPatch>,
) -> Result<Json<Envelope<Appointment>>, ApiError> {
    let now = state.clock.now_unix();
    if let Some(Some(agency_id)) = &patch.agency_id {
        require_account(&state, "agencyId", agency_id, Role::Agency).await?;
    }
    let mut tx = state.db.begin_write().await?;
    let mut record = store::find_for_update(&mut tx, state.db.backend(), &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    access::require_runner(&session, &record)?;
    if record.status != AppointmentStatus::Scheduled {
        return Err(ApiError::Conflict(format!(
            "The appointment is {}; only scheduled appointments can be changed",
            record.status.as_str()
        )));
    }
    let previous_parties: Vec<String> = record.parties().into_iter().map(str::to_owned).collect();
    let start_time = patch
        .start_time
        .map_or(record.start_time, OffsetDateTime::unix_timestamp);
    let end_time = patch
        .end_time
        .map_or(record.end_time, OffsetDateTime::unix_timestamp);
    let start_moved = start_time != record.start_time;
    if start_moved || end_time != record.end_time {
        check_times(start_time, end_time, now)?;
    }
    record.start_time = start_time;
    record.end_time = end_time;
    if let Some(call_type) = patch.call_type {
        record.call_type = call_type;
    }
    if let Some(waiting_room) = patch.waiting_room {
        record.waiting_room = waiting_room;
    }
    if let Some(agency_id) = patch.agency_id {
        record.agency_id = agency_id;
    }
    store::update(&mut tx, &record, start_moved, now).await?;
    let record = store::find_by_id(&mut tx, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let appointment = record.to_api()?;
    let mut outbox = Outbox::default();
    let mut audience: Vec<&str> = record.parties();
    audience.extend(previous_parties.iter().map(String::as_str));
    audience.sort_unstable();
    audience.dedup();
    outbox.push_to(audience, &PushEvent::Appointment(appointment.clone()));
    outbox.commit(tx, &state.db, &state.hub, now).await?;
    state.reminders.notify_one();
    Ok(Json(Envelope::ok(appointment)))
}

#[utoipa::path(
    delete,
    path = "/appointments/{id}",
    operation_id = "cancelAppointment",
    tag = "appointments",
    summary = "Cancel an appointment",
    description = "The appointment's doctor or an administrator. Repeating it is harmless.",
    params(("id" = String, Path, description = "The appointment's `id` (not its `sessionId`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The cancelled appointment (`status: cancelled`)", body = crate::openapi::AppointmentEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: a party other than the doctor", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such appointment, or the caller is not on \
            it", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the meeting is running, over, or the appointment changed meanwhile", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn cancel(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Envelope<Appointment>>, ApiError> {
    let appointment = move_status(&state, &session, ip, &id, Move::Cancel).await?;
    Ok(Json(Envelope::ok(appointment)))
}

#[utoipa::path(
    post,
    path = "/appointments/{id}/meeting/start",
    operation_id = "startMeeting",
    tag = "appointments",
    summary = "Start the meeting",
    description = "The appointment's doctor or an administrator. Guests are notified (`video_call_ready`). \
        Repeating it is harmless.",
    params(("id" = String, Path, description = "The appointment's `id` (not its `sessionId`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The appointment, `in_progress` / `started`", body = crate::openapi::AppointmentEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: a party other than the doctor", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such appointment, or the caller is not on \
            it", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the appointment was cancelled, is over, or changed meanwhile", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn start_meeting(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Envelope<Appointment>>, ApiError> {
    let appointment = move_status(&state, &session, ip, &id, Move::Start).await?;
    Ok(Json(Envelope::ok(appointment)))
}

#[utoipa::path(
    post,
    path = "/appointments/{id}/meeting/end",
    operation_id = "endMeeting",
    tag = "appointments",
    summary = "End the meeting",
    description = "The appointment's doctor or an administrator. The parties are notified (`meeting_ended`). \
        Repeating it is harmless.",
    params(("id" = String, Path, description = "The appointment's `id` (not its `sessionId`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The appointment, `completed` / `ended`", body = crate::openapi::AppointmentEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: a party other than the doctor", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such appointment, or the caller is not on \
            it", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the meeting has not started, the appointment was cancelled, or it changed meanwhile", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn end_meeting(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Envelope<Appointment>>, ApiError> {
    let appointment = move_status(&state, &session, ip, &id, Move::End).await?;
    Ok(Json(Envelope::ok(appointment)))
}

/// The three status changes the doctor makes; each is harmless to repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    Cancel,
    Start,
    End,
}

type State2 = (AppointmentStatus, MeetingStatus);

impl Move {
    /// The state this move goes from and to, or why it cannot be made from `current`.
    /// `Ok(None)`: already done, nothing to change.
    fn plan(self, current: State2) -> Result<Option<(State2, State2)>, ApiError> {
        use AppointmentStatus as S;
        use MeetingStatus as M;
        let target = match self {
            Move::Cancel => (S::Cancelled, M::Created),
            Move::Start => (S::InProgress, M::Started),
            Move::End => (S::Completed, M::Ended),
        };
        if current == target {
            return Ok(None);
        }
        let allowed = match self {
            Move::Cancel | Move::Start => current == (S::Scheduled, M::Created),
            Move::End => current == (S::InProgress, M::Started),
        };
        if allowed {
            Ok(Some((current, target)))
        } else {
            let why = match (self, current.0) {
                (Move::Cancel, S::InProgress) => "The meeting is running; end it instead",
                (Move::End, S::Scheduled) => "The meeting has not started",
                (_, S::Cancelled) => "The appointment was cancelled",
                (_, S::Completed) => "The appointment is over",
                _ => "The appointment is not in a state that allows this",
            };
            Err(ApiError::Conflict(why.to_owned()))
        }
    }
}

async fn move_status(
    state: &AppState,
    session: &AuthSession,
    ip: Option<IpAddr>,
    id: &str,
    action: Move,
) -> Result<Appointment, ApiError> {
    let now = state.clock.now_unix();
    let mut tx = state.db.begin_write().await?;
    let record = store::find_for_update(&mut tx, state.db.backend(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    access::require_runner(session, &record)?;
    let Some((from, to)) = action.plan((record.status, record.meeting_status))? else {
        return Ok(record.to_api()?);
    };
    if !store::transition(&mut tx, id, from, to, now).await? {
        return Err(ApiError::Conflict(
            "The appointment changed meanwhile; reload it".to_owned(),
        ));
    }
    let record = store::find_by_id(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (event, notice) = match action {
        Move::Cancel => (
            AuditEvent::AppointmentCancelled {
                user_id: &session.user_id,
                appointment_id: id,
            },
            None,
        ),
        Move::Start => (
            AuditEvent::MeetingStarted {
                user_id: &session.user_id,
                appointment_id: id,
            },
            Some((record.guests(), texts::video_call_ready(&record))),
        ),
        Move::End => (
            AuditEvent::MeetingEnded {
                user_id: &session.user_id,
                appointment_id: id,
            },
            Some((record.parties(), texts::meeting_ended(&record))),
        ),
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    let mut outbox = Outbox::default();
    if let Some((recipients, draft)) = notice {
        notifications::notify(&mut tx, &mut outbox, &recipients, &draft, now).await?;
    }
    let appointment = record.to_api()?;
    outbox.push_to(
        record.parties(),
        &PushEvent::Appointment(appointment.clone()),
    );
    outbox.commit(tx, &state.db, &state.hub, now).await?;
    tracing::info!(appointment_id = %id, action = ?action, "appointment status changed");
    Ok(appointment)
}

fn check_times(start_time: i64, end_time: i64, now: i64) -> Result<(), ApiError> {
    if end_time <= start_time {
        return Err(ApiError::InvalidValue(
            "endTime must be after startTime".to_owned(),
        ));
    }
    if end_time - start_time > MAX_DURATION_SECS {
        return Err(ApiError::InvalidValue(
            "An appointment lasts at most 12 hours".to_owned(),
        ));
    }
    if end_time <= now {
        return Err(ApiError::InvalidValue(
            "The appointment would already be over".to_owned(),
        ));
    }
    Ok(())
}

/// `id` names an active account with `role`; otherwise 422 naming the field.
async fn require_account(
    state: &AppState,
    field: &str,
    id: &str,
    role: Role,
) -> Result<(), ApiError> {
    match users::find_by_id(&state.db, id).await? {
        Some(record) if record.user.role == role && !record.disabled => Ok(()),
        _ => Err(ApiError::InvalidValue(format!(
            "{field} does not name an active {} account",
            role_name(role)
        ))),
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Doctor => "doctor",
        Role::Patient => "patient",
        Role::Agency => "agency",
        Role::Admin => "admin",
        Role::Kiosk => "kiosk",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppointmentStatus as S;
    use MeetingStatus as M;

    #[test]
    fn moves_are_idempotent_and_refuse_the_impossible() {
        let scheduled = (S::Scheduled, M::Created);
        let running = (S::InProgress, M::Started);
        let over = (S::Completed, M::Ended);
        let cancelled = (S::Cancelled, M::Created);
        assert!(matches!(Move::Start.plan(scheduled), Ok(Some(_))));
        assert!(matches!(Move::Start.plan(running), Ok(None)));
        assert!(matches!(Move::End.plan(running), Ok(Some(_))));
        assert!(matches!(Move::End.plan(over), Ok(None)));
        assert!(matches!(Move::Cancel.plan(cancelled), Ok(None)));
        assert!(matches!(
            Move::End.plan(scheduled),
            Err(ApiError::Conflict(_))
        ));
        assert!(matches!(
            Move::Cancel.plan(running),
            Err(ApiError::Conflict(_))
        ));
        assert!(matches!(
            Move::Start.plan(cancelled),
            Err(ApiError::Conflict(_))
        ));
        assert!(matches!(Move::Start.plan(over), Err(ApiError::Conflict(_))));
    }
}
