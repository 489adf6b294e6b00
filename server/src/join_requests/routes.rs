//! `/appointments/{id}/join-requests` and `/join-requests/{id}`.

use std::net::IpAddr;

use axum::extract::State;
use axum::Json;
use consult_types::api::Envelope;
use consult_types::clinic::{JoinRequest, JoinRequestStatus, PushEvent};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{self, JoinRequestRecord};
use crate::app::AppState;
use crate::appointments::{access, store as appointments, Party};
use crate::audit::{self, AuditEvent};
use crate::auth::AuthSession;
use crate::db::StoreError;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, ClientIp};
use crate::notifications::{self, texts};
use crate::push::Outbox;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list, create))
        .routes(routes!(fetch))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(withdraw))
}

#[utoipa::path(
    post,
    path = "/appointments/{id}/join-requests",
    operation_id = "createJoinRequest",
    tag = "join-requests",
    summary = "Ask to join the call",
    description = "The agency on the appointment; its patient or kiosk too while the waiting \
        room is on. At most one pending request per user and appointment: asking again returns \
        the pending one, or the approval already given; after a rejection or a withdrawal it \
        makes a new request. Notifies the doctor (`join_request_created`).",
    params(("id" = String, Path, description = "The appointment's `id`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The pending (or already approved) request", body = crate::openapi::JoinRequestEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the doctor and administrators join without \
            asking", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such appointment, or the caller is not on \
            it", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the waiting room is off (patients and kiosks \
            join directly), or the appointment is cancelled or over", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn create(
    State(state): State<AppState>,
    session: AuthSession,
    ApiPath(appointment_id): ApiPath<String>,
) -> Result<Json<Envelope<JoinRequest>>, ApiError> {
    let now = state.clock.now_unix();
    let mut tx = state.db.begin_write().await?;
    let appointment = appointments::find_for_update(&mut tx, state.db.backend(), &appointment_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    match access::require_party(&session, &appointment)? {
        Party::Agency => {}
        Party::Patient | Party::Kiosk if appointment.waiting_room => {}
        Party::Patient | Party::Kiosk => {
            return Err(ApiError::Conflict(
                "The waiting room is off: join the call directly".to_owned(),
            ))
        }
        Party::Doctor | Party::Admin => {
            return Err(ApiError::Forbidden(
                "The doctor and administrators join without asking",
            ))
        }
    }
    if appointment.is_closed() {
        return Err(ApiError::Conflict(format!(
            "The appointment is {}",
            appointment.status.as_str()
        )));
    }
    // Asking again returns the pending request, or the approval already given.
    if let Some(existing) = store::find_approved(&mut tx, &appointment.id, &session.user_id).await?
    {
        return Ok(Json(Envelope::ok(existing.to_api()?)));
    }
    let Some(id) = store::insert_pending(&mut tx, &appointment.id, &session.user_id, now).await?
    else {
        let pending = store::find_pending(&mut tx, &appointment.id, &session.user_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a pending request vanished".to_owned()))?;
        return Ok(Json(Envelope::ok(pending.to_api()?)));
    };
    let request = store::find(&mut tx, &id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a new request vanished".to_owned()))?;
    let mut outbox = Outbox::default();
    let draft = texts::join_request_created(&appointment, &request.id, &request.requester_name);
    notifications::notify(&mut tx, &mut outbox, &[&appointment.doctor_id], &draft, now).await?;
    let api = request.to_api()?;
    outbox.push_to(
        [
            appointment.doctor_id.as_str(),
            request.requester_id.as_str(),
        ],
        &PushEvent::JoinRequest(api.clone()),
    );
    outbox.commit(tx, &state.db, &state.hub, now).await?;
    tracing::info!(join_request_id = %api.id, appointment_id = %api.appointment_id, "join request created");
    Ok(Json(Envelope::ok(api)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only requests with this status.
    #[serde(default)]
    status: Option<JoinRequestStatus>,
}

#[utoipa::path(
    get,
    path = "/appointments/{id}/join-requests",
    operation_id = "listJoinRequests",
    tag = "join-requests",
    summary = "List an appointment's join requests",
    description = "The appointment's doctor or an administrator.",
    params(("id" = String, Path, description = "The appointment's `id`"), ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The requests", body = crate::openapi::JoinRequestListEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: a party other than the doctor", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such appointment, or the caller is not on \
            it", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "`invalid_value`: an unknown query key or status", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn list(
    State(state): State<AppState>,
    session: AuthSession,
    ApiPath(appointment_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Envelope<Vec<JoinRequest>>>, ApiError> {
    let mut conn = state.db.pool().acquire().await.map_err(StoreError::from)?;
    let appointment = appointments::find_by_id(&mut conn, &appointment_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    drop(conn);
    access::require_runner(&session, &appointment)?;
    let requests = store::list(&state.db, &appointment.id, query.status).await?;
    let requests = requests
        .iter()
        .map(JoinRequestRecord::to_api)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Envelope::ok(requests)))
}

#[utoipa::path(
    get,
    path = "/join-requests/{id}",
    operation_id = "getJoinRequest",
    tag = "join-requests",
    summary = "Get a join request",
    description = "The requester (to see the decision), or the appointment's doctor or an \
        administrator.",
    params(("id" = String, Path, description = "The join request's `id`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request and its current status", body = crate::openapi::JoinRequestEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "`not_found`: no such request, or not the caller's to see", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn fetch(
    State(state): State<AppState>,
    session: AuthSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Envelope<JoinRequest>>, ApiError> {
    let mut conn = state.db.pool().acquire().await.map_err(StoreError::from)?;
    let request = store::find(&mut conn, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if request.requester_id != session.user_id {
        let appointment = appointments::find_by_id(&mut conn, &request.appointment_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        // Other guests on the appointment do not see each other's requests.
        if !access::party(&session, &appointment).is_some_and(Party::runs_it) {
            return Err(ApiError::NotFound);
        }
    }
    Ok(Json(Envelope::ok(request.to_api()?)))
}

#[utoipa::path(
    post,
    path = "/join-requests/{id}/approve",
    operation_id = "approveJoinRequest",
    tag = "join-requests",
    summary = "Approve a join request",
    description = "The appointment's doctor or an administrator. The requester is notified (`join_request_decided`) and may then fetch a meeting token. Repeating the same \
        decision is harmless.",
    params(("id" = String, Path, description = "The join request's `id`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request, `approved`", body = crate::openapi::JoinRequestEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the requester or another guest on the \
            appointment", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such request, or the caller is not on its \
            appointment", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the request was already decided the other way, or withdrawn", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn approve(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Envelope<JoinRequest>>, ApiError> {
    let request = decide(&state, &session, ip, &id, JoinRequestStatus::Approved).await?;
    Ok(Json(Envelope::ok(request)))
}

#[utoipa::path(
    post,
    path = "/join-requests/{id}/reject",
    operation_id = "rejectJoinRequest",
    tag = "join-requests",
    summary = "Reject a join request",
    description = "The appointment's doctor or an administrator. The requester is notified (`join_request_decided`). Repeating the same \
        decision is harmless.",
    params(("id" = String, Path, description = "The join request's `id`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request, `rejected`", body = crate::openapi::JoinRequestEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the requester or another guest on the \
            appointment", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such request, or the caller is not on its \
            appointment", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the request was already decided the other way, or withdrawn", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn reject(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Envelope<JoinRequest>>, ApiError> {
    let request = decide(&state, &session, ip, &id, JoinRequestStatus::Rejected).await?;
    Ok(Json(Envelope::ok(request)))
}

async fn decide(
    state: &AppState,
    session: &AuthSession,
    ip: Option<IpAddr>,
    id: &str,
    decision: JoinRequestStatus,
) -> Result<JoinRequest, ApiError> {
    let now = state.clock.now_unix();
    let mut tx = state.db.begin_write().await?;
    let request = store::find(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
    let appointment = appointments::find_by_id(&mut tx, &request.appointment_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    match access::party(session, &appointment) {
        Some(party) if party.runs_it() => {}
        Some(_) => {
            return Err(ApiError::Forbidden(
                "Only the appointment's doctor or an administrator decides join requests",
            ))
        }
        None if request.requester_id == session.user_id => {
            return Err(ApiError::Forbidden(
                "Only the appointment's doctor or an administrator decides join requests",
            ))
        }
        None => return Err(ApiError::NotFound),
    }
    if !store::decide(&mut tx, id, decision, &session.user_id, now).await? {
        // Decided before (by a repeat of this call or by a racing one): re-read the outcome.
        let current = store::find(&mut tx, id).await?.ok_or(ApiError::NotFound)?;
        return if current.status == decision {
            Ok(current.to_api()?)
        } else {
            Err(ApiError::Conflict(format!(
                "The request was already {}",
                current.status.as_str()
            )))
        };
    }
    let decided = store::find(&mut tx, id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a decided request vanished".to_owned()))?;
    let event = AuditEvent::JoinRequestDecided {
        user_id: &session.user_id,
        join_request_id: id,
        appointment_id: &appointment.id,
        requester_id: &decided.requester_id,
        decision: decision.as_str(),
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    let mut outbox = Outbox::default();
    if let Some(draft) = texts::join_request_decided(&appointment, id, decision) {
        notifications::notify(&mut tx, &mut outbox, &[&decided.requester_id], &draft, now).await?;
    }
    let api = decided.to_api()?;
    outbox.push_to(
        [
            appointment.doctor_id.as_str(),
            decided.requester_id.as_str(),
        ],
        &PushEvent::JoinRequest(api.clone()),
    );
    outbox.commit(tx, &state.db, &state.hub, now).await?;
    tracing::info!(join_request_id = %id, decision = decision.as_str(), "join request decided");
    Ok(api)
}

#[utoipa::path(
    post,
    path = "/join-requests/{id}/withdraw",
    operation_id = "withdrawJoinRequest",
    tag = "join-requests",
    summary = "Withdraw a join request",
    description = "The requester, while the request is pending: it becomes `withdrawn` for good \
        (asking again makes a new request). The doctor and the requester receive the withdrawn \
        request on their event streams (`join_request`); nobody is notified. Repeating it is \
        harmless.",
    params(("id" = String, Path, description = "The join request's `id`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The request, `withdrawn`", body = crate::openapi::JoinRequestEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: someone else on the appointment (its doctor, \
            an administrator, another guest)", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such request, or the caller is neither its \
            requester nor on its appointment", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the request was already approved or rejected", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn withdraw(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Envelope<JoinRequest>>, ApiError> {
    let now = state.clock.now_unix();
    let mut tx = state.db.begin_write().await?;
    let request = store::find(&mut tx, &id).await?.ok_or(ApiError::NotFound)?;
    let appointment = appointments::find_by_id(&mut tx, &request.appointment_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if request.requester_id != session.user_id {
        return Err(match access::party(&session, &appointment) {
            Some(_) => ApiError::Forbidden("Only the requester may withdraw a join request"),
            None => ApiError::NotFound,
        });
    }
    let withdrawn = JoinRequestStatus::Withdrawn;
    // The same conditional update as a decision: of a withdrawal and a racing decision exactly
    // one changes the row.
    if !store::decide(&mut tx, &id, withdrawn, &session.user_id, now).await? {
        let current = store::find(&mut tx, &id).await?.ok_or(ApiError::NotFound)?;
        return if current.status == withdrawn {
            Ok(Json(Envelope::ok(current.to_api()?)))
        } else {
            Err(ApiError::Conflict(format!(
                "The request was already {}",
                current.status.as_str()
            )))
        };
    }
    let request = store::find(&mut tx, &id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a withdrawn request vanished".to_owned()))?;
    let event = AuditEvent::JoinRequestWithdrawn {
        user_id: &session.user_id,
        join_request_id: &id,
        appointment_id: &appointment.id,
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    // No notification: the doctor's app drops the request (and takes back its alert) on the
    // event.
    let api = request.to_api()?;
    let mut outbox = Outbox::default();
    outbox.push_to(
        [
            appointment.doctor_id.as_str(),
            request.requester_id.as_str(),
        ],
        &PushEvent::JoinRequest(api.clone()),
    );
    outbox.commit(tx, &state.db, &state.hub, now).await?;
    tracing::info!(join_request_id = %id, "join request withdrawn");
    Ok(Json(Envelope::ok(api)))
}
