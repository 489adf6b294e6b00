//! Joining a call: `GET /sessions/{sessionId}/jwt` for the apps and
//! `GET /meetings/{appointmentId}/link` for people without one.
//!
//! Who may join, and as what, is decided here from the caller's part in the appointment; the
//! request carries nothing that could ask for more (no moderator flag, no room).

use std::net::IpAddr;

use axum::extract::State;
use axum::Json;
use consult_types::api::Envelope;
use consult_types::clinic::{JitsiSession, MeetingLink};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::appointments::{access, store as appointments, AppointmentRecord, Party};
use crate::audit::{self, AuditEvent};
use crate::auth::AuthSession;
use crate::db;
use crate::db::StoreError;
use crate::error::ApiError;
use crate::extract::{ApiPath, ClientIp};
use crate::jitsi::{JitsiError, MintedToken, TokenGrant};
use crate::join_requests::store as join_requests;
use crate::users;

/// Meeting tokens are issued from this long before the appointment's start.
pub const TOKEN_WINDOW_SECS: i64 = 15 * 60;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(session_token))
        .routes(routes!(meeting_link))
}

#[utoipa::path(
    get,
    path = "/sessions/{session_id}/jwt",
    operation_id = "getSessionJwt",
    tag = "calls",
    summary = "Get a Jitsi token for a call",
    description = "A Jitsi JWT for this caller and this appointment's room only, issued from 15 \
        minutes before the start and valid until the appointment's end plus a grace period, but \
        never more than 4 hours from its issue. Moderator rights for the doctor and \
        administrators only. Agencies (and patients and kiosks while the waiting room is on) \
        must have an approved join request first. Every issue is audited.",
    params(("session_id" = String, Path, description = "The appointment's `sessionId` (not its `id`)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token and what the client needs to join", body = crate::openapi::JitsiSessionEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: no appointment has this session id, or the \
            caller is not on it; `approval_required`: the caller must be admitted by the doctor \
            first (`POST /appointments/{id}/join-requests`)", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the appointment is cancelled, completed, or its \
            time is over; `too_early`: the call opens 15 minutes before the start", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
        (status = 503, description = "`jitsi_not_configured`: this server has no Jitsi \
            deployment configured", body = crate::openapi::ErrorEnvelope),
    ),
)]
async fn session_token(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    ApiPath(session_id): ApiPath<String>,
) -> Result<Json<Envelope<JitsiSession>>, ApiError> {
    let appointment = appointments::find_by_session(&state.db, &session_id)
        .await?
        // The contract answers 403 here: a session id is only ever handed to participants.
        .ok_or(ApiError::Forbidden("You are not on this appointment"))?;
    let party = access::party(&session, &appointment)
        .ok_or(ApiError::Forbidden("You are not on this appointment"))?;
    let issued = issue(&state, &session, ip, &appointment, party).await?;
    Ok(Json(Envelope::ok(JitsiSession {
        jitsi_token: issued.minted.token,
        server_url: issued.server_url,
        room_name: issued.minted.room_name,
        expires_at: db::to_datetime(issued.minted.expires_at)?,
        moderator: issued.moderator,
        display_name: issued.display_name,
        call_type: appointment.call_type,
    })))
}

#[utoipa::path(
    get,
    path = "/meetings/{appointment_id}/link",
    operation_id = "getMeetingLink",
    tag = "calls",
    summary = "Get a personalized meeting link",
    description = "A browser link to the appointment's room carrying the caller's Jitsi token and \
        display name, for people without the app. Same rules as the token. Treat the link like \
        a password.",
    params(("appointment_id" = String, Path, description = "The appointment's `id`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The link", body = crate::openapi::MeetingLinkEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`approval_required`: the caller must be admitted by the \
            doctor first", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such appointment, or the caller is not on \
            it", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the appointment is cancelled, completed, or its \
            time is over; `too_early`: the call opens 15 minutes before the start", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
        (status = 503, description = "`jitsi_not_configured`: this server has no Jitsi \
            deployment configured", body = crate::openapi::ErrorEnvelope),
    ),
)]
async fn meeting_link(
    State(state): State<AppState>,
    session: AuthSession,
    ClientIp(ip): ClientIp,
    ApiPath(appointment_id): ApiPath<String>,
) -> Result<Json<Envelope<MeetingLink>>, ApiError> {
    let mut conn = state.db.pool().acquire().await.map_err(StoreError::from)?;
    let appointment = appointments::find_by_id(&mut conn, &appointment_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    drop(conn);
    let party = access::require_party(&session, &appointment)?;
    let issued = issue(&state, &session, ip, &appointment, party).await?;
    let jitsi = state.jitsi.as_ref().ok_or(ApiError::JitsiNotConfigured)?;
    Ok(Json(Envelope::ok(MeetingLink {
        meeting_url: jitsi.meeting_url(
            &issued.minted.room_name,
            &issued.minted.token,
            &issued.display_name,
        ),
        display_name: issued.display_name,
        is_moderator: issued.moderator,
        scheduled_at: db::to_datetime(appointment.start_time)?,
        duration: (appointment.end_time - appointment.start_time) / 60,
        status: appointment.status,
    })))
}

struct Issued {
    minted: MintedToken,
    server_url: String,
    moderator: bool,
    display_name: String,
}

/// Checks that `party` may join now, mints their token and records the issue.
async fn issue(
    state: &AppState,
    session: &AuthSession,
    ip: Option<IpAddr>,
    appointment: &AppointmentRecord,
    party: Party,
) -> Result<Issued, ApiError> {
    if appointment.is_closed() {
        return Err(ApiError::Conflict(format!(
            "The appointment is {}; there is no call to join",
            appointment.status.as_str()
        )));
    }
    // Jitsi tokens cannot be revoked: none before the call opens, so a cancellation or a
    // removed agency in the meantime leaves nobody with room access.
    let now = state.clock.now_unix();
    if now < appointment.start_time.saturating_sub(TOKEN_WINDOW_SECS) {
        return Err(ApiError::TooEarly {
            minutes: TOKEN_WINDOW_SECS / 60,
        });
    }
    let must_be_admitted = match party {
        Party::Agency => true,
        Party::Patient | Party::Kiosk => appointment.waiting_room,
        Party::Doctor | Party::Admin => false,
    };
    if must_be_admitted
        && !join_requests::is_approved(&state.db, &appointment.id, &session.user_id).await?
    {
        return Err(ApiError::ApprovalRequired);
    }
    let jitsi = state.jitsi.as_ref().ok_or(ApiError::JitsiNotConfigured)?;
    let user = users::find_by_id(&state.db, &session.user_id)
        .await?
        .ok_or(ApiError::InvalidToken)?
        .user;
    let display_name = user.display_name();
    let moderator = party.is_moderator();
    let minted = jitsi
        .mint(&TokenGrant {
            room: &appointment.room_name,
            user_id: &user.id,
            display_name: &display_name,
            email: &user.email,
            moderator,
            appointment_end: appointment.end_time,
            now,
        })
        .map_err(|error| match error {
            JitsiError::AlreadyExpired { .. } => ApiError::Conflict(
                "The appointment's time is over; there is no call to join".to_owned(),
            ),
            other => ApiError::Internal(other.into()),
        })?;
    let event = AuditEvent::JitsiTokenIssued {
        user_id: &user.id,
        appointment_id: &appointment.id,
        moderator,
    };
    audit::record(&state.db, event, ip, now).await?;
    tracing::info!(appointment_id = %appointment.id, user_id = %user.id, moderator, "Jitsi token issued");
    Ok(Issued {
        minted,
        server_url: jitsi.server_url().to_owned(),
        moderator,
        display_name,
    })
}
