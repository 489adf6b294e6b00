//! Kiosk enrolment without a secret on screen. An unenrolled kiosk asks for a short one-time
//! code (`POST /devices/enrolments`), sending a pickup key only it knows (kept here as its
//! SHA-256 digest), and shows the code. An administrator claims the code with the kiosk's
//! location (`POST /devices/claims`): the kiosk's account and device are made then, with a
//! secret nobody knows. The kiosk, asking meanwhile (`POST /devices/enrolments/{id}/pickup`),
//! then gets its device id and a secret made at that moment and stored only as its digest, so
//! nobody sees it and nothing the kiosk receives is kept by the server.
//!
//! A code lives [`CODE_LIFETIME_SECS`] and is claimed once: a second claim is 409, a late one
//! 410. Addresses asking for codes and administrators trying them are rate-limited (429). A
//! kiosk may pick up again within [`PICKUP_WINDOW_SECS`] of the claim (its answer may have been
//! lost): each pickup makes a new secret, and only the latest works. Every step is audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use consult_types::api::Envelope;
use consult_types::clinic::{
    ClaimRequest, DeviceStatus, Enrolment, Pickup, PickupRequest, StartEnrolment,
};

use crate::admin::{create_kiosk, DeviceView, KioskPlace};
use crate::app::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::device::DeviceSecret;
use crate::auth::refresh_token;
use crate::auth::AdminSession;
use crate::db::{self, StoreError};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp};
use crate::ids;

/// How long a code can be claimed.
pub const CODE_LIFETIME_SECS: i64 = 10 * 60;
/// How long after the claim the kiosk can pick up its credential.
pub const PICKUP_WINDOW_SECS: i64 = 10 * 60;
/// Code characters: capitals and digits without look-alikes (no I, L, O, 0, 1).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_CHARS: usize = 8;
/// 64 hex characters: 256 bits the kiosk made.
const PICKUP_KEY_CHARS: usize = 64;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(start))
        .routes(routes!(pick_up))
        .routes(routes!(claim))
}

#[utoipa::path(
    post,
    path = "/devices/enrolments",
    operation_id = "startEnrolment",
    tag = "kiosk",
    summary = "Ask for an enrolment code (an unenrolled kiosk)",
    description = "No sign-in. A one-time code for an administrator to claim within ten \
        minutes. The pickup key is kept only as its digest. Ten codes a minute per address.",
    request_body = StartEnrolment,
    responses(
        (status = 201, description = "The code", body = crate::openapi::EnrolmentEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: the pickup key is not 64 hex characters", body = crate::openapi::ErrorEnvelope),
        (status = 429, response = crate::openapi::RateLimited),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn start(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<StartEnrolment>,
) -> Result<(StatusCode, Json<Envelope<Enrolment>>), ApiError> {
    state.auth.rate_limits.check_enrolment(ip)?;
    let pickup_hash = pickup_digest(&request.pickup_key)?;
    let now = state.clock.now_unix();
    let expires_at = now + CODE_LIFETIME_SECS;
    let id = ids::new_id("enr");
    let mut tx = state.db.begin_write().await?;
    // 40 bits a code: a collision with any code ever given is rare, and then another is drawn.
    let mut code = new_code();
    for _ in 0..4 {
        let inserted = sqlx::query(
            "INSERT INTO device_enrolments (id, code, pickup_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING",
        )
        .bind(&id)
        .bind(&code)
        .bind(&pickup_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if inserted.rows_affected() == 1 {
            break;
        }
        code = new_code();
    }
    let event = AuditEvent::EnrolmentStarted { enrolment_id: &id };
    audit::record_in(&mut tx, event, ip, now).await?;
    tx.commit().await?;
    tracing::info!(enrolment_id = %id, "kiosk enrolment code issued");
    let enrolment = Enrolment {
        enrolment_id: id,
        code: shown(&code),
        expires_at: db::to_datetime(expires_at)?,
    };
    Ok((StatusCode::CREATED, Json(Envelope::ok(enrolment))))
}

/// `(pickup_hash, expires_at, device_id, claimed_at, location)`
type EnrolmentRow = (String, i64, Option<String>, Option<i64>, Option<String>);

#[utoipa::path(
    post,
    path = "/devices/enrolments/{enrolmentId}/pickup",
    operation_id = "pickUpEnrolment",
    tag = "kiosk",
    summary = "Ask whether the code was claimed, and take the credential (the kiosk)",
    description = "No sign-in; the pickup key given at the start proves the caller. `waiting` \
        until an administrator claims the code; then `enrolled` with the device id and a new \
        secret, shown this once (a later pickup within ten minutes of the claim makes another, \
        and only the latest works).",
    params(("enrolmentId" = String, Path, description = "From the start")),
    request_body = PickupRequest,
    responses(
        (status = 200, description = "Waiting, or enrolled with the credential", body = crate::openapi::PickupEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 404, description = "`not_found`: no such enrolment, or not with this pickup key", body = crate::openapi::ErrorEnvelope),
        (status = 410, description = "`gone`: the code expired unclaimed, or the claim is more than ten minutes old", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: the pickup key is not 64 hex characters", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn pick_up(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<PickupRequest>,
) -> Result<Json<Envelope<Pickup>>, ApiError> {
    let presented = pickup_digest(&request.pickup_key)?;
    let now = state.clock.now_unix();
    let mut tx = state.db.begin_write().await?;
    let row: Option<EnrolmentRow> = sqlx::query_as(
        "SELECT e.pickup_hash, e.expires_at, e.device_id, e.claimed_at, d.location \
         FROM device_enrolments e LEFT JOIN devices d ON d.id = e.device_id WHERE e.id = $1",
    )
    .bind(&id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    let Some((pickup_hash, expires_at, device_id, claimed_at, location)) = row else {
        return Err(ApiError::NotFound);
    };
    // The same answer as for an unknown id: a wrong key learns nothing.
    if !bool::from(presented.as_bytes().ct_eq(pickup_hash.as_bytes())) {
        return Err(ApiError::NotFound);
    }
    let (Some(device_id), Some(claimed_at), Some(location)) = (device_id, claimed_at, location)
    else {
        if now >= expires_at {
            return Err(ApiError::Gone(
                "The code expired before anyone claimed it: the kiosk asks for a new one".into(),
            ));
        }
        return Ok(Json(Envelope::ok(Pickup::Waiting {
            expires_at: db::to_datetime(expires_at)?,
        })));
    };
    if now >= claimed_at + PICKUP_WINDOW_SECS {
        return Err(ApiError::Gone(
            "The code was claimed more than ten minutes ago: an administrator gives this kiosk \
             a new code, or a secret (POST /devices)"
                .into(),
        ));
    }
    let secret = DeviceSecret::generate();
    sqlx::query("UPDATE devices SET secret_hash = $1 WHERE id = $2")
        .bind(secret.digest())
        .bind(&device_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    sqlx::query("UPDATE device_enrolments SET picked_up_at = $1 WHERE id = $2")
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    let event = AuditEvent::EnrolmentPickedUp {
        enrolment_id: &id,
        device_id: &device_id,
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    tx.commit().await?;
    tracing::info!(enrolment_id = %id, %device_id, "kiosk took its credential");
    Ok(Json(Envelope::ok(Pickup::Enrolled {
        device_id,
        device_secret: secret.into_string(),
        location,
    })))
}

#[utoipa::path(
    post,
    path = "/devices/claims",
    operation_id = "claimEnrolment",
    tag = "admin",
    summary = "Claim a kiosk's enrolment code",
    description = "Administrators. Creates the kiosk's account and device for the code the \
        kiosk shows (as `POST /devices` does, but no secret is shown to anyone: the kiosk \
        picks its credential up). Ten tries a minute per administrator.",
    request_body = ClaimRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The device", body = crate::openapi::DeviceEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no kiosk shows this code", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: the code was already claimed", body = crate::openapi::ErrorEnvelope),
        (status = 410, description = "`gone`: the code expired", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: not a code's shape, an empty location or one over 200 characters, or a name over 100", body = crate::openapi::ErrorEnvelope),
        (status = 429, response = crate::openapi::RateLimited),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn claim(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AdminSession(admin): AdminSession,
    ApiJson(request): ApiJson<ClaimRequest>,
) -> Result<(StatusCode, Json<Envelope<DeviceView>>), ApiError> {
    state.auth.rate_limits.check_claim(&admin.user_id)?;
    let code = normalized(&request.code)?;
    let kiosk = KioskPlace::new(request.location, request.name)?;
    let now = state.clock.now_unix();
    let mut tx = state.db.begin_write().await?;
    let row: Option<(String, i64, Option<String>)> =
        sqlx::query_as("SELECT id, expires_at, device_id FROM device_enrolments WHERE code = $1")
            .bind(&code)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
    let Some((enrolment_id, expires_at, claimed)) = row else {
        return Err(ApiError::NotFound);
    };
    if claimed.is_some() {
        return Err(ApiError::Conflict(
            "This code was already claimed: the kiosk is enrolled".into(),
        ));
    }
    if now >= expires_at {
        return Err(ApiError::Gone(
            "This code expired: the kiosk shows a new one; claim that".into(),
        ));
    }
    // A secret nobody ever sees: the device cannot sign in until the kiosk picks up its own.
    let unknown = DeviceSecret::generate();
    let (device_id, user) =
        create_kiosk(&mut tx, &admin.user_id, &kiosk, &unknown, ip, now).await?;
    sqlx::query(
        "UPDATE device_enrolments SET device_id = $1, claimed_by = $2, claimed_at = $3 \
         WHERE id = $4",
    )
    .bind(&device_id)
    .bind(&admin.user_id)
    .bind(now)
    .bind(&enrolment_id)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    let event = AuditEvent::EnrolmentClaimed {
        admin_id: &admin.user_id,
        enrolment_id: &enrolment_id,
        device_id: &device_id,
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    tx.commit().await?;
    tracing::info!(admin_id = %admin.user_id, %enrolment_id, %device_id, "kiosk enrolment claimed");
    let device = DeviceView {
        // No heartbeat yet: offline, health unknown.
        status: DeviceStatus::new(device_id, kiosk.location, false, None, None),
        created_at: db::to_datetime(now)?,
        user: crate::admin::AccountView {
            user,
            disabled: false,
        },
    };
    Ok((StatusCode::CREATED, Json(Envelope::ok(device))))
}

/// The digest of a well-formed pickup key.
fn pickup_digest(key: &str) -> Result<String, ApiError> {
    if key.len() != PICKUP_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::InvalidValue(
            "pickupKey must be 64 hex characters".into(),
        ));
    }
    Ok(refresh_token::digest(&key.to_ascii_lowercase()))
}

/// Eight characters of [`CODE_ALPHABET`], uniformly (bytes past the last whole round of the
/// alphabet are drawn again).
fn new_code() -> String {
    let limit = 256 - 256 % CODE_ALPHABET.len();
    let mut code = String::with_capacity(CODE_CHARS);
    while code.len() < CODE_CHARS {
        for byte in ids::random_bytes::<16>() {
            if usize::from(byte) < limit && code.len() < CODE_CHARS {
                code.push(char::from(
                    CODE_ALPHABET[usize::from(byte) % CODE_ALPHABET.len()],
                ));
            }
        }
    }
    code
}

/// `ABCDEFGH` as the kiosk shows it: `ABCD-EFGH`.
fn shown(code: &str) -> String {
    let (first, second) = code.split_at(CODE_CHARS / 2);
    format!("{first}-{second}")
}

/// What an administrator typed, as stored: capitals, without dashes or spaces.
fn normalized(typed: &str) -> Result<String, ApiError> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if code.len() != CODE_CHARS || !code.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return Err(ApiError::InvalidValue(
            "A code is eight letters and digits, as the kiosk shows it (ABCD-EFGH)".into(),
        ));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_unambiguous_characters_shown_with_a_dash_and_typed_any_way() {
        let code = new_code();
        assert_eq!(code.len(), CODE_CHARS);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
        let shown = shown(&code);
        assert_eq!(shown.len(), 9);
        assert_eq!(normalized(&shown).expect("typed as shown"), code);
        let typed = format!(" {} ", shown.to_lowercase().replace('-', " "));
        assert_eq!(normalized(&typed).expect("lower case, spaces"), code);
        assert!(normalized("ABCD-EFG0").is_err(), "0 is not in the alphabet");
        assert!(normalized("ABCD-EFG").is_err());
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn pickup_keys_are_64_hex_characters() {
        assert!(pickup_digest(&"ab".repeat(32)).is_ok());
        assert_eq!(
            pickup_digest(&"AB".repeat(32)).expect("upper case"),
            pickup_digest(&"ab".repeat(32)).expect("lower case")
        );
        assert!(pickup_digest(&"ab".repeat(31)).is_err());
        assert!(pickup_digest(&"zz".repeat(32)).is_err());
    }
}
