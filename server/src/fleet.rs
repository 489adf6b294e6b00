//! The kiosk fleet's liveness: heartbeats (`POST /devices/me/heartbeat`), online and offline
//! derived from them, and a `device_status` event to every administrator on each change.
//!
//! A kiosk beats every [`BEAT_SECS`]. After three missed beats ([`OFFLINE_AFTER_SECS`]) it is
//! offline, which a sweep every `device_check_secs` notices; its next beat brings it back. The
//! sweep flips `online` with one conditional `UPDATE … RETURNING`, so with several instances on
//! one database exactly one of them sees each kiosk go offline and tells it. A beat tells only
//! what administrators would see change: coming online, or another state, health, version,
//! call path or last error.
//!
//! Each sweep also looks at the visits starting within [`ALERT_LEAD_SECS`] whose kiosk is
//! offline or failed its last self-test, and tells the doctor and the administrators once per
//! appointment (a `kiosk_unavailable` notification), whenever the two meet: the kiosk failing
//! before the visit comes near, or after.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use consult_types::api::Envelope;
use consult_types::clinic::{DeviceHealth, DeviceStatus, Heartbeat, HeartbeatAnswer, PushEvent};

use crate::app::AppState;
use crate::appointments;
use crate::auth::KioskSession;
use crate::clock::Clock;
use crate::db::{self, Db, StoreError};
use crate::device_commands;
use crate::error::{error_chain, ApiError};
use crate::extract::{ApiJson, ClientIp};
use crate::notifications::{self, texts};
use crate::push::outbox::Outbox;
use crate::push::EventHub;

/// How often a kiosk beats.
pub const BEAT_SECS: i64 = 30;
/// Three missed beats: offline.
pub const OFFLINE_AFTER_SECS: i64 = 3 * BEAT_SECS;
/// How far ahead a visit's kiosk is watched.
pub const ALERT_LEAD_SECS: i64 = 15 * 60;
const MAX_VERSION_CHARS: usize = 64;
const MAX_ERROR_CHARS: usize = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(heartbeat))
}

#[utoipa::path(
    post,
    path = "/devices/me/heartbeat",
    operation_id = "deviceHeartbeat",
    tag = "kiosk",
    summary = "A kiosk's heartbeat",
    description = "Kiosks, every 30 seconds: version, state, call path, last self-test, last \
        error, and the commands carried out since the last beat. Marks the kiosk online; after \
        three missed beats it is offline. Administrators get a `device_status` event on each \
        change they would see.",
    request_body = Heartbeat,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "When to beat next", body = crate::openapi::BeatAnswerEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not a kiosk", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: an unknown state or check, an empty version or one over 64 characters, an error over 500", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn heartbeat(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    KioskSession(kiosk): KioskSession,
    ApiJson(beat): ApiJson<Heartbeat>,
) -> Result<Json<Envelope<HeartbeatAnswer>>, ApiError> {
    let version_chars = beat.version.trim().chars().count();
    if !(1..=MAX_VERSION_CHARS).contains(&version_chars) {
        return Err(ApiError::InvalidValue(format!(
            "version must be 1 to {MAX_VERSION_CHARS} characters"
        )));
    }
    if beat
        .last_error
        .as_ref()
        .is_some_and(|error| error.chars().count() > MAX_ERROR_CHARS)
    {
        return Err(ApiError::InvalidValue(format!(
            "lastError must be at most {MAX_ERROR_CHARS} characters"
        )));
    }
    let report = serde_json::to_string(&beat)
        .map_err(|error| StoreError::Corrupt(format!("cannot encode a heartbeat: {error}")))?;
    let now = state.clock.now_unix();
    let mut tx = state.db.begin_write().await?;
    let row: Option<(String, String, i64, Option<String>)> =
        sqlx::query_as("SELECT id, location, online, last_report FROM devices WHERE user_id = $1")
            .bind(&kiosk.user_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
    let Some((device_id, location, was_online, previous)) = row else {
        return Err(ApiError::Forbidden("This kiosk account has no device"));
    };
    sqlx::query("UPDATE devices SET last_seen = $1, online = 1, last_report = $2 WHERE id = $3")
        .bind(now)
        .bind(&report)
        .bind(&device_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    device_commands::acknowledge(&mut tx, &device_id, &beat.acknowledged, ip, now).await?;
    let before = parse_report(previous.as_deref());
    if was_online != 0 && before.as_ref().map(Seen::of) == Some(Seen::of(&beat)) {
        tx.commit().await?;
    } else {
        let status = DeviceStatus::new(
            device_id,
            location,
            true,
            Some(db::to_datetime(now)?),
            Some(beat),
        );
        tracing::info!(device_id = %status.device_id, state = ?status.last_report.as_ref().map(|r| r.state), "kiosk status changed");
        let mut outbox = Outbox::default();
        tell_admins(&mut tx, &mut outbox, status).await?;
        outbox.commit(tx, &state.db, &state.hub, now).await?;
    }
    Ok(Json(Envelope::ok(HeartbeatAnswer {
        next_beat_secs: BEAT_SECS,
    })))
}

/// What administrators see of a report, besides the time it came.
#[derive(PartialEq, Eq)]
struct Seen<'a> {
    report: (
        consult_types::clinic::KioskActivity,
        &'a str,
        consult_types::CallPathKind,
        Option<&'a str>,
    ),
    health: DeviceHealth,
    self_test_at: Option<OffsetDateTime>,
    /// Commands carried out: the fleet view says so as soon as the beat comes.
    acknowledged: &'a [String],
}

impl<'a> Seen<'a> {
    fn of(report: &'a Heartbeat) -> Seen<'a> {
        Seen {
            report: (
                report.state,
                report.version.as_str(),
                report.call_path,
                report.last_error.as_deref(),
            ),
            health: DeviceHealth::of(Some(report)),
            self_test_at: report.self_test.as_ref().map(|test| test.at),
            acknowledged: &report.acknowledged,
        }
    }
}

/// A stored report; one that no longer parses (an older format) counts as none.
pub fn parse_report(stored: Option<&str>) -> Option<Heartbeat> {
    stored.and_then(|json| serde_json::from_str(json).ok())
}

/// The enabled administrators' ids: who hears of the fleet.
async fn admin_ids(conn: &mut sqlx::AnyConnection) -> Result<Vec<String>, StoreError> {
    let admins: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL")
            .fetch_all(&mut *conn)
            .await?;
    Ok(admins.into_iter().map(|(id,)| id).collect())
}

/// Queues `status` for every enabled administrator.
async fn tell_admins(
    conn: &mut sqlx::AnyConnection,
    outbox: &mut Outbox,
    status: DeviceStatus,
) -> Result<(), StoreError> {
    let admins = admin_ids(conn).await?;
    outbox.push_to(
        admins.iter().map(String::as_str),
        &PushEvent::DeviceStatus(status),
    );
    Ok(())
}

/// Marks the kiosks whose last beat is older than [`OFFLINE_AFTER_SECS`] offline and tells the
/// administrators; returns how many went offline.
pub async fn sweep(db: &Db, hub: &EventHub, now: i64) -> Result<usize, StoreError> {
    let mut tx = db.begin_write().await?;
    let gone: Vec<(String, String, Option<i64>, Option<String>)> = sqlx::query_as(
        "UPDATE devices SET online = 0 WHERE online = 1 AND last_seen < $1 \
         RETURNING id, location, last_seen, last_report",
    )
    .bind(now - OFFLINE_AFTER_SECS)
    .fetch_all(&mut *tx)
    .await?;
    if gone.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let mut outbox = Outbox::default();
    for (device_id, location, last_seen, report) in &gone {
        tracing::warn!(%device_id, "kiosk offline: three heartbeats missed");
        let status = DeviceStatus::new(
            device_id.clone(),
            location.clone(),
            false,
            db::to_datetime_opt(*last_seen)?,
            parse_report(report.as_deref()),
        );
        tell_admins(&mut tx, &mut outbox, status).await?;
    }
    outbox.commit(tx, db, hub, now).await?;
    Ok(gone.len())
}

/// Tells the doctor and the administrators of each visit starting within [`ALERT_LEAD_SECS`]
/// whose kiosk is offline or unhealthy, once per appointment; returns how many were told.
pub async fn alert_coming_visits(db: &Db, hub: &EventHub, now: i64) -> Result<usize, StoreError> {
    let mut tx = db.begin_write().await?;
    let coming: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT a.id, d.location, d.online, d.last_report FROM appointments a \
         JOIN devices d ON d.user_id = a.kiosk_id \
         WHERE a.kiosk_alerted_at IS NULL AND a.status = 'scheduled' \
         AND a.start_time > $1 AND a.start_time <= $2",
    )
    .bind(now)
    .bind(now + ALERT_LEAD_SECS)
    .fetch_all(&mut *tx)
    .await?;
    let mut outbox = Outbox::default();
    let mut told = 0;
    let mut admins: Option<Vec<String>> = None;
    for (appointment_id, location, online, report) in coming {
        let health = DeviceHealth::of(parse_report(report.as_deref()).as_ref());
        let why = match (online != 0, health) {
            (false, _) => "is offline",
            (true, DeviceHealth::Unhealthy) => "failed its self-test",
            (true, _) => continue,
        };
        // Once: another instance's sweep may have told it meanwhile.
        let claimed = sqlx::query(
            "UPDATE appointments SET kiosk_alerted_at = $1 \
             WHERE id = $2 AND kiosk_alerted_at IS NULL",
        )
        .bind(now)
        .bind(&appointment_id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            continue;
        }
        let Some(appointment) = appointments::store::find_by_id(&mut tx, &appointment_id).await?
        else {
            continue;
        };
        // Read once per pass, and only when someone is to be told.
        if admins.is_none() {
            admins = Some(admin_ids(&mut tx).await?);
        }
        let mut told_whom: Vec<&str> = vec![appointment.doctor_id.as_str()];
        told_whom.extend(admins.iter().flatten().map(String::as_str));
        let draft = texts::kiosk_unavailable(&appointment, &location, why);
        notifications::notify(&mut tx, &mut outbox, &told_whom, &draft, now).await?;
        tracing::warn!(%appointment_id, why, "a visit's kiosk is unavailable; doctor and administrators told");
        told += 1;
    }
    outbox.commit(tx, db, hub, now).await?;
    Ok(told)
}

/// Sweeps every `interval` for the server's life.
pub fn spawn_sweeper(
    db: Db,
    hub: Arc<EventHub>,
    interval: Duration,
    clock: Clock,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = sweep(&db, &hub, clock.now_unix()).await {
                tracing::warn!(error = %error_chain(&error), "kiosk liveness sweep failed; will retry");
            }
            if let Err(error) = alert_coming_visits(&db, &hub, clock.now_unix()).await {
                tracing::warn!(error = %error_chain(&error), "kiosk alerts failed; will retry");
            }
        }
    })
}
