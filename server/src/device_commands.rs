//! Remote commands to a kiosk: an administrator sends one of a closed list
//! ([`DeviceCommandKind`]: reload, restart, self-test, leave the call, a message for the room,
//! rotate the secret) with `POST /devices/{deviceId}/commands`; it goes over that kiosk's event
//! stream only (`device_command`), and the kiosk acknowledges it in its next heartbeat. No
//! remote shell, no address to open. Sending, acknowledging and rotating are audited.
//!
//! Rotation without a visit: the kiosk asks for a new secret (`POST /devices/me/secret`), kept
//! as a pending digest; its current secret works until it signs in with the new one, which
//! then replaces it (`auth::device::promote_pending`), so a kiosk that fails between the two
//! steps is never locked out.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use consult_types::api::Envelope;
use consult_types::clinic::{
    DeviceCommand, DeviceCommandKind, NewDeviceCommand, PushEvent, RotatedSecret,
};

use crate::app::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::device::DeviceSecret;
use crate::auth::AdminSession;
use crate::auth::KioskSession;
use crate::db::{self, StoreError};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp};
use crate::ids;
use crate::push::outbox::Outbox;

const MAX_MESSAGE_CHARS: usize = 280;
/// How many of a kiosk's commands `GET /devices/{deviceId}/commands` lists, newest first.
const LISTED: i64 = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(send, list))
        .routes(routes!(rotate_secret))
}

#[utoipa::path(
    post,
    path = "/devices/{deviceId}/commands",
    operation_id = "sendDeviceCommand",
    tag = "admin",
    summary = "Send a command to a kiosk",
    description = "Administrators. One of `reload`, `restart`, `selfTest`, `leaveCall`, \
        `showMessage` (with a message of 1 to 280 characters) and `rotateSecret`, delivered \
        over that kiosk's event stream as a `device_command` event and acknowledged in its \
        next heartbeat. Audited.",
    params(("deviceId" = String, Path, description = "The kiosk")),
    request_body = NewDeviceCommand,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The command, sent", body = crate::openapi::DeviceCommandEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such device", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: a command not on the list, a message missing, empty or over 280 characters, or a message with another command", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn send(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AdminSession(admin): AdminSession,
    Path(device_id): Path<String>,
    ApiJson(request): ApiJson<NewDeviceCommand>,
) -> Result<(StatusCode, Json<Envelope<DeviceCommand>>), ApiError> {
    let message = match (request.command, request.message) {
        (DeviceCommandKind::ShowMessage, Some(message)) => {
            let message = message.trim().to_owned();
            let chars = message.chars().count();
            if !(1..=MAX_MESSAGE_CHARS).contains(&chars) {
                return Err(ApiError::InvalidValue(format!(
                    "The message must be 1 to {MAX_MESSAGE_CHARS} characters"
                )));
            }
            Some(message)
        }
        (DeviceCommandKind::ShowMessage, None) => {
            return Err(ApiError::InvalidValue(
                "showMessage needs the message to show".into(),
            ))
        }
        (_, Some(_)) => {
            return Err(ApiError::InvalidValue(
                "Only showMessage carries a message".into(),
            ))
        }
        (_, None) => None,
    };
    let now = state.clock.now_unix();
    let mut tx = state.db.begin_write().await?;
    let kiosk: Option<(String,)> = sqlx::query_as("SELECT user_id FROM devices WHERE id = $1")
        .bind(&device_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    let Some((kiosk_user,)) = kiosk else {
        return Err(ApiError::NotFound);
    };
    let command = DeviceCommand {
        id: ids::new_id("cmd"),
        device_id,
        command: request.command,
        message,
        created_at: db::to_datetime(now)?,
        acknowledged_at: None,
    };
    sqlx::query(
        "INSERT INTO device_commands (id, device_id, command, message, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&command.id)
    .bind(&command.device_id)
    .bind(command.command.as_str())
    .bind(command.message.as_deref())
    .bind(&admin.user_id)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    let event = AuditEvent::DeviceCommandSent {
        admin_id: &admin.user_id,
        device_id: &command.device_id,
        command_id: &command.id,
        command: command.command.as_str(),
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    let mut outbox = Outbox::default();
    outbox.push(&kiosk_user, PushEvent::DeviceCommand(command.clone()));
    outbox.commit(tx, &state.db, &state.hub, now).await?;
    tracing::info!(admin_id = %admin.user_id, device_id = %command.device_id, command = command.command.as_str(), "command sent to a kiosk");
    Ok((StatusCode::CREATED, Json(Envelope::ok(command))))
}

/// `(id, device_id, command, message, created_at, acknowledged_at)`
type CommandRow = (String, String, String, Option<String>, i64, Option<i64>);

#[utoipa::path(
    get,
    path = "/devices/{deviceId}/commands",
    operation_id = "listDeviceCommands",
    tag = "admin",
    summary = "A kiosk's commands",
    description = "Administrators. The last 50, newest first (to the second), each with when it was acknowledged.",
    params(("deviceId" = String, Path, description = "The kiosk")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The commands", body = crate::openapi::DeviceCommandListEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such device", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn list(
    State(state): State<AppState>,
    AdminSession(_admin): AdminSession,
    Path(device_id): Path<String>,
) -> Result<Json<Envelope<Vec<DeviceCommand>>>, ApiError> {
    let known: Option<(String,)> = sqlx::query_as("SELECT id FROM devices WHERE id = $1")
        .bind(&device_id)
        .fetch_optional(state.db.pool())
        .await
        .map_err(StoreError::from)?;
    if known.is_none() {
        return Err(ApiError::NotFound);
    }
    let rows: Vec<CommandRow> = sqlx::query_as(
        "SELECT id, device_id, command, message, created_at, acknowledged_at \
         FROM device_commands WHERE device_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(&device_id)
    .bind(LISTED)
    .fetch_all(state.db.pool())
    .await
    .map_err(StoreError::from)?;
    let commands = rows
        .into_iter()
        .map(
            |(id, device_id, command, message, created_at, acknowledged_at)| {
                Ok(DeviceCommand {
                    command: DeviceCommandKind::parse(&command).ok_or_else(|| {
                        StoreError::Corrupt(format!("command {id} is of unknown kind {command:?}"))
                    })?,
                    id,
                    device_id,
                    message,
                    created_at: db::to_datetime(created_at)?,
                    acknowledged_at: db::to_datetime_opt(acknowledged_at)?,
                })
            },
        )
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Json(Envelope::ok(commands)))
}

/// Marks `ids` acknowledged, inside the heartbeat's transaction: only this device's commands,
/// each once. Returns how many were new.
pub async fn acknowledge(
    conn: &mut sqlx::AnyConnection,
    device_id: &str,
    ids: &[String],
    ip: Option<std::net::IpAddr>,
    now: i64,
) -> Result<usize, StoreError> {
    let mut acknowledged = 0;
    for id in ids {
        let result = sqlx::query(
            "UPDATE device_commands SET acknowledged_at = $1 \
             WHERE id = $2 AND device_id = $3 AND acknowledged_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(device_id)
        .execute(&mut *conn)
        .await?;
        if result.rows_affected() == 1 {
            let event = AuditEvent::DeviceCommandAcknowledged {
                device_id,
                command_id: id,
            };
            audit::record_in(&mut *conn, event, ip, now).await?;
            acknowledged += 1;
        }
    }
    Ok(acknowledged)
}

#[utoipa::path(
    post,
    path = "/devices/me/secret",
    operation_id = "rotateDeviceSecret",
    tag = "kiosk",
    summary = "Take a new device secret (a kiosk)",
    description = "Kiosks, after a `rotateSecret` command. A new secret, shown this once and \
        kept as its digest; the current one works until the kiosk signs in with the new one, \
        which then replaces it. Asking again replaces the new one. Audited.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new secret", body = crate::openapi::RotatedSecretEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not a kiosk", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn rotate_secret(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    KioskSession(kiosk): KioskSession,
) -> Result<Json<Envelope<RotatedSecret>>, ApiError> {
    let now = state.clock.now_unix();
    let secret = DeviceSecret::generate();
    let mut tx = state.db.begin_write().await?;
    let device: Option<(String,)> = sqlx::query_as(
        "UPDATE devices SET pending_secret_hash = $1 WHERE user_id = $2 RETURNING id",
    )
    .bind(secret.digest())
    .bind(&kiosk.user_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    let Some((device_id,)) = device else {
        return Err(ApiError::Forbidden("This kiosk account has no device"));
    };
    let event = AuditEvent::DeviceSecretIssued {
        device_id: &device_id,
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    tx.commit().await?;
    tracing::info!(%device_id, "the kiosk took a new secret; the current one works until it is used");
    Ok(Json(Envelope::ok(RotatedSecret {
        device_secret: secret.into_string(),
    })))
}
