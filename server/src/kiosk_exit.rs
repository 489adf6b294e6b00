//! The kiosks' administrator exit. An administrator sets one PIN for the clinic's kiosks
//! (`PUT /kiosk/exit-pin`), kept only as an Argon2id hash. A kiosk checks a PIN typed on its
//! screen (`POST /kiosk/exit-pin/check`): every attempt is audited, and [`MAX_FAILURES`] wrong
//! ones in a row lock that kiosk's exit for `kiosk_exit_lockout_secs`. A kiosk also fetches the
//! hash and the rule (`GET /kiosk/exit-pin`), so staff can open it while the server is away.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use consult_types::api::Envelope;
use consult_types::clinic::{ExitPin, ExitPinPolicy, ExitPinVerdict};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::audit::{self, AuditEvent, ExitOutcome};
use crate::auth::{AdminSession, KioskSession};
use crate::db::{Db, StoreError};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp};

/// Wrong PINs in a row that lock a kiosk's exit.
pub const MAX_FAILURES: u32 = 5;
const MIN_PIN_DIGITS: usize = 6;
const MAX_PIN_DIGITS: usize = 12;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(set_pin, get_policy))
        .routes(routes!(check_pin))
}

/// 6 to 12 ASCII digits: what a PIN pad can type.
fn validate_pin(pin: &str) -> Result<(), ApiError> {
    let digits = pin.len();
    if !pin.bytes().all(|b| b.is_ascii_digit())
        || !(MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&digits)
    {
        return Err(ApiError::InvalidValue(format!(
            "The PIN must be {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits"
        )));
    }
    Ok(())
}

fn no_pin_set() -> ApiError {
    ApiError::Conflict(
        "No exit PIN has been set for this clinic's kiosks: an administrator sets one \
         (PUT /kiosk/exit-pin)"
            .to_owned(),
    )
}

#[utoipa::path(
    put,
    path = "/kiosk/exit-pin",
    operation_id = "setKioskExitPin",
    tag = "kiosk",
    summary = "Set the kiosks' exit PIN",
    description = "Administrators. One PIN for all the clinic's kiosks, stored only as an \
        Argon2id hash; it replaces the previous one. Kiosks pick it up when they next sign in.",
    request_body = ExitPin,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Set"),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: not 6 to 12 digits", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn set_pin(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AdminSession(admin): AdminSession,
    ApiJson(request): ApiJson<ExitPin>,
) -> Result<StatusCode, ApiError> {
    validate_pin(&request.pin)?;
    let hash = state.auth.passwords.hash(request.pin).await?;
    let now = state.clock.now_unix();
    let mut tx = state.db.pool().begin().await.map_err(StoreError::from)?;
    store_hash(&mut tx, &hash, &admin.user_id, now, true).await?;
    let event = AuditEvent::KioskExitPinSet {
        admin_id: &admin.user_id,
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(admin_id = %admin.user_id, "kiosk exit PIN set");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/kiosk/exit-pin",
    operation_id = "getKioskExitPin",
    tag = "kiosk",
    summary = "The exit PIN's hash, for checking offline",
    description = "Kiosks. The PIN's Argon2id hash and the lockout rule, so a kiosk can let \
        staff out while the server cannot be reached. Never the PIN.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The hash and the rule", body = crate::openapi::ExitPinPolicyEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not a kiosk", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: no exit PIN has been set", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn get_policy(
    State(state): State<AppState>,
    KioskSession(_kiosk): KioskSession,
) -> Result<Json<Envelope<ExitPinPolicy>>, ApiError> {
    let pin_hash = stored_hash(&state.db).await?.ok_or_else(no_pin_set)?;
    Ok(Json(Envelope::ok(ExitPinPolicy {
        pin_hash,
        max_failures: MAX_FAILURES,
        lockout_secs: state.kiosk_exit_lockout_secs,
    })))
}

#[utoipa::path(
    post,
    path = "/kiosk/exit-pin/check",
    operation_id = "checkKioskExitPin",
    tag = "kiosk",
    summary = "Check a PIN typed on the kiosk",
    description = "Kiosks. Every attempt is audited (`kiosk.exit_attempt`). Five wrong PINs in a \
        row lock this kiosk's exit for `kiosk_exit_lockout_secs` (15 minutes by default); while \
        locked, no PIN is checked.",
    request_body = ExitPin,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Granted, or wrong with the tries left", body = crate::openapi::ExitPinVerdictEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not a kiosk", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: no exit PIN has been set", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: a body of the wrong shape", body = crate::openapi::ErrorEnvelope),
        (status = 429, description = "`rate_limited`: the exit is locked; `Retry-After` says for how long", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn check_pin(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    KioskSession(kiosk): KioskSession,
    ApiJson(request): ApiJson<ExitPin>,
) -> Result<Json<Envelope<ExitPinVerdict>>, ApiError> {
    let user_id = kiosk.user_id.as_str();
    let stored = stored_hash(&state.db).await?.ok_or_else(no_pin_set)?;
    let now = state.clock.now_unix();
    let record = |outcome| AuditEvent::KioskExitAttempt { user_id, outcome };

    if let Some(until) = locked_until(&state.db, user_id, now).await? {
        audit::record(&state.db, record(ExitOutcome::Locked), ip, now).await?;
        return Err(locked(until - now));
    }
    // Hashing is slow: done outside any transaction. Two wrong PINs racing both count, since
    // the count below is one atomic increment.
    if state
        .auth
        .passwords
        .verify(request.pin, Some(stored))
        .await?
    {
        let mut tx = state.db.pool().begin().await.map_err(StoreError::from)?;
        sqlx::query("DELETE FROM kiosk_exit_failures WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        audit::record_in(&mut tx, record(ExitOutcome::Granted), ip, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        tracing::info!(%user_id, "kiosk exit granted");
        return Ok(Json(Envelope::ok(ExitPinVerdict {
            granted: true,
            tries_left: MAX_FAILURES,
        })));
    }

    let mut tx = state.db.pool().begin().await.map_err(StoreError::from)?;
    let (failures,): (i64,) = sqlx::query_as(
        "INSERT INTO kiosk_exit_failures (user_id, failures, locked_until) VALUES ($1, 1, NULL) \
         ON CONFLICT (user_id) DO UPDATE SET failures = kiosk_exit_failures.failures + 1 \
         RETURNING failures",
    )
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    let used = u32::try_from(failures).unwrap_or(u32::MAX);
    if used >= MAX_FAILURES {
        let lockout = i64::try_from(state.kiosk_exit_lockout_secs).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE kiosk_exit_failures SET failures = 0, locked_until = $2 WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(now.saturating_add(lockout))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        audit::record_in(&mut tx, record(ExitOutcome::WrongAndLocked), ip, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        tracing::warn!(%user_id, "kiosk exit locked after {MAX_FAILURES} wrong PINs");
        return Err(locked(lockout));
    }
    audit::record_in(&mut tx, record(ExitOutcome::Wrong), ip, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(%user_id, "kiosk exit: a wrong PIN");
    Ok(Json(Envelope::ok(ExitPinVerdict {
        granted: false,
        tries_left: MAX_FAILURES - used,
    })))
}

fn locked(seconds: i64) -> ApiError {
    ApiError::RateLimited {
        retry_after_secs: u64::try_from(seconds).unwrap_or(1).max(1),
    }
}

/// Stores the PIN's hash; an existing one is replaced only when `replace` is set (the demo
/// seeds one only where none is).
pub async fn store_hash(
    conn: &mut sqlx::AnyConnection,
    hash: &str,
    set_by: &str,
    now: i64,
    replace: bool,
) -> Result<(), StoreError> {
    let on_conflict = if replace {
        "DO UPDATE SET pin_hash = excluded.pin_hash, set_by = excluded.set_by, \
         set_at = excluded.set_at"
    } else {
        "DO NOTHING"
    };
    sqlx::query(&format!(
        "INSERT INTO kiosk_exit_pin (id, pin_hash, set_by, set_at) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) {on_conflict}"
    ))
    .bind(hash)
    .bind(set_by)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The PIN's hash, if an administrator (or the demo) set one.
pub async fn stored_hash(db: &Db) -> Result<Option<String>, StoreError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT pin_hash FROM kiosk_exit_pin WHERE id = 1")
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|(hash,)| hash))
}

/// When this kiosk's exit unlocks, if it is locked now.
async fn locked_until(db: &Db, user_id: &str, now: i64) -> Result<Option<i64>, StoreError> {
    let row: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT locked_until FROM kiosk_exit_failures WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.and_then(|(until,)| until).filter(|until| *until > now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_six_to_twelve_digits() {
        for good in ["123456", "000000", "123456789012"] {
            assert!(validate_pin(good).is_ok(), "{good}");
        }
        for bad in ["12345", "1234567890123", "12345a", "١٢٣٤٥٦", " 123456", ""] {
            assert!(validate_pin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_lock_says_how_long_and_never_zero() {
        assert!(matches!(
            locked(900),
            ApiError::RateLimited {
                retry_after_secs: 900
            }
        ));
        assert!(matches!(
            locked(0),
            ApiError::RateLimited {
                retry_after_secs: 1
            }
        ));
    }
}
