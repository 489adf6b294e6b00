//! Administration: accounts (`/users`), kiosk devices (`/devices`) and the audit trail
//! (`/audit`). Administrators only, except that doctors may list patient and agency accounts,
//! whose ids they need to book appointments.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use consult_types::api::{Envelope, Role, User};
use consult_types::clinic::DeviceStatus;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::audit::{self, AuditEntry, AuditEvent, AuditQuery};
use crate::auth::device::{self, DeviceRecord, DeviceSecret};
use crate::auth::refresh_token::{self, RevokeReason};
use crate::auth::{AdminSession, AuthSession};
use crate::db;
use crate::db::StoreError;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp};
use crate::users::{self, NewUser, UserFilter, UserRecord};

/// Shortest password an administrator may set (NIST SP 800-63B asks for at least 8; the
/// clinic's accounts guard health data).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest accepted password; Argon2 would take more, but nobody types more.
const MAX_PASSWORD_CHARS: usize = 1024;
const MAX_NAME_CHARS: usize = 100;
const MAX_LOCATION_CHARS: usize = 200;
const DEFAULT_AUDIT_LIMIT: u32 = 100;
const MAX_AUDIT_LIMIT: u32 = 1000;
/// Kiosk accounts get an address under the reserved `.invalid` TLD: unique, never deliverable.
const KIOSK_EMAIL_DOMAIN: &str = "kiosk.invalid";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(create_user, list_users))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(create_device, list_devices))
        .routes(routes!(list_audit))
}

/// An account as administrators see it: the API's `User` plus whether it is disabled.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    #[serde(flatten)]
    pub user: User,
    pub disabled: bool,
}

impl From<UserRecord> for AccountView {
    fn from(record: UserRecord) -> Self {
        AccountView {
            user: record.user,
            disabled: record.disabled,
        }
    }
}

/// `POST /users`. Debug is not derived: the password must never reach a log line.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(description = "`POST /users`: a new account; `password` optional.")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserRequest {
    pub email: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    pub role: Role,
}

#[utoipa::path(
    post,
    path = "/users",
    operation_id = "createUser",
    tag = "admin",
    summary = "Create an account",
    description = "Administrators. Without a password the account cannot sign in with one. \
        Kiosk accounts are created with their device (`POST /devices`).",
    request_body = CreateUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new account", body = crate::openapi::AccountEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: an account with this email already exists", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: a body of the wrong shape, an invalid \
            email, the `kiosk` role, a name over 100 characters, or a password not 12 to 1024 \
            characters long", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn create_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AdminSession(admin): AdminSession,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<Envelope<AccountView>>), ApiError> {
    let email = users::normalize_email(&request.email);
    users::validate_email(&email).map_err(|problem| ApiError::InvalidValue(problem.to_owned()))?;
    if request.role == Role::Kiosk {
        return Err(ApiError::InvalidValue(
            "Kiosk accounts are created with their device: POST /devices".to_owned(),
        ));
    }
    let first_name = optional_text("firstName", request.first_name, MAX_NAME_CHARS)?;
    let last_name = optional_text("lastName", request.last_name, MAX_NAME_CHARS)?;
    if let Some(password) = &request.password {
        let chars = password.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(ApiError::InvalidValue(format!(
                "The password must be at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(ApiError::InvalidValue(format!(
                "The password must be at most {MAX_PASSWORD_CHARS} characters"
            )));
        }
    }
    // Checked before hashing, which is slow; the insert below settles races.
    if users::find_by_email(&state.db, &email).await?.is_some() {
        return Err(email_taken());
    }
    let password_hash = match request.password {
        Some(password) => Some(state.auth.passwords.hash(password).await?),
        None => None,
    };

    let now = state.clock.now_unix();
    let mut tx = state.db.pool().begin().await.map_err(StoreError::from)?;
    let new = NewUser {
        email: &email,
        password_hash: password_hash.as_deref(),
        first_name: first_name.as_deref(),
        last_name: last_name.as_deref(),
        role: request.role,
    };
    let Some(user) = users::insert(&mut tx, new, now).await? else {
        return Err(email_taken());
    };
    let event = AuditEvent::UserCreated {
        admin_id: &admin.user_id,
        user_id: &user.id,
        role: user.role,
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(admin_id = %admin.user_id, user_id = %user.id, role = user.role.as_str(), "account created");
    let view = AccountView {
        user,
        disabled: false,
    };
    Ok((StatusCode::CREATED, Json(Envelope::ok(view))))
}

fn email_taken() -> ApiError {
    ApiError::Conflict("An account with this email already exists".to_owned())
}

/// Trimmed; empty means absent; too long is refused.
fn optional_text(
    field: &str,
    value: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let trimmed = value.trim();
    if trimmed.chars().count() > max_chars {
        return Err(ApiError::InvalidValue(format!(
            "{field} must be at most {max_chars} characters"
        )));
    }
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListUsersQuery {
    /// Only accounts with this role.
    role: Option<Role>,
    /// Only the account with this email.
    email: Option<String>,
}

/// Administrators see every account; doctors see the enabled patient and agency accounts.
#[utoipa::path(
    get,
    path = "/users",
    operation_id = "listUsers",
    tag = "admin",
    summary = "List accounts",
    description = "Administrators see every account; doctors see the enabled patient and agency \
        accounts (whose ids they need to book appointments). Ordered by email.",
    params(ListUsersQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The accounts", body = crate::openapi::AccountListEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: patients, agencies and kiosks", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "`invalid_value`: an unknown query key or role", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn list_users(
    State(state): State<AppState>,
    session: AuthSession,
    query: Result<Query<ListUsersQuery>, QueryRejection>,
) -> Result<Json<Envelope<Vec<AccountView>>>, ApiError> {
    let (visible, include_disabled): (&[Role], bool) = match session.role {
        Role::Admin => (&Role::ALL, true),
        Role::Doctor => (&[Role::Patient, Role::Agency], false),
        Role::Patient | Role::Agency | Role::Kiosk => {
            return Err(ApiError::Forbidden(
                "Only administrators and doctors may list accounts",
            ))
        }
    };
    let Query(query) = query.map_err(invalid_query)?;
    let roles: Vec<Role> = visible
        .iter()
        .copied()
        .filter(|role| query.role.is_none_or(|wanted| wanted == *role))
        .collect();
    let filter = UserFilter {
        roles: &roles,
        email: query.email.as_deref(),
        include_disabled,
    };
    let accounts = users::list(&state.db, filter).await?;
    Ok(Json(Envelope::ok(
        accounts.into_iter().map(AccountView::from).collect(),
    )))
}

fn invalid_query(rejection: QueryRejection) -> ApiError {
    ApiError::InvalidValue(format!("Invalid query: {}", rejection.body_text()))
}

fn invalid_path(rejection: PathRejection) -> ApiError {
    ApiError::Malformed(format!("Invalid path: {}", rejection.body_text()))
}

/// Disables the account and ends all its sessions at once: refresh tokens stop rotating and
/// every access token is refused on its next request.
#[utoipa::path(
    post,
    path = "/users/{id}/disable",
    operation_id = "disableUser",
    tag = "admin",
    summary = "Disable an account",
    description = "Administrators. Ends all the account's sessions at once: its refresh tokens \
        stop rotating and its access tokens are refused on their next request.",
    params(("id" = String, Path, description = "The account's `id`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account, disabled", body = crate::openapi::AccountEnvelope),
        (status = 400, description = "`malformed_request`: the path is not valid", body = crate::openapi::ErrorEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such account", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: administrators cannot disable their own account", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn disable_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AdminSession(admin): AdminSession,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Envelope<AccountView>>, ApiError> {
    let Path(user_id) = path.map_err(invalid_path)?;
    if user_id == admin.user_id {
        return Err(ApiError::Conflict(
            "Administrators cannot disable their own account".to_owned(),
        ));
    }
    let record = users::find_by_id(&state.db, &user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let now = state.clock.now_unix();
    let mut tx = state.db.pool().begin().await.map_err(StoreError::from)?;
    users::set_disabled(&mut tx, &user_id, true, now).await?;
    let revoked_sessions =
        refresh_token::revoke_all_for_user(&mut tx, &user_id, RevokeReason::Disabled, now).await?;
    let event = AuditEvent::UserDisabled {
        admin_id: &admin.user_id,
        user_id: &user_id,
        revoked_sessions,
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(admin_id = %admin.user_id, %user_id, revoked_sessions, "account disabled");
    Ok(Json(Envelope::ok(AccountView {
        user: record.user,
        disabled: true,
    })))
}

/// Lets the account sign in again; sessions ended by the disabling stay ended.
#[utoipa::path(
    post,
    path = "/users/{id}/enable",
    operation_id = "enableUser",
    tag = "admin",
    summary = "Enable an account",
    description = "Administrators. The account can sign in again; sessions ended by disabling it \
        stay ended.",
    params(("id" = String, Path, description = "The account's `id`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account, enabled", body = crate::openapi::AccountEnvelope),
        (status = 400, description = "`malformed_request`: the path is not valid", body = crate::openapi::ErrorEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: no such account", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn enable_user(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AdminSession(admin): AdminSession,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Envelope<AccountView>>, ApiError> {
    let Path(user_id) = path.map_err(invalid_path)?;
    let record = users::find_by_id(&state.db, &user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let now = state.clock.now_unix();
    let mut tx = state.db.pool().begin().await.map_err(StoreError::from)?;
    users::set_disabled(&mut tx, &user_id, false, now).await?;
    let event = AuditEvent::UserEnabled {
        admin_id: &admin.user_id,
        user_id: &user_id,
    };
    audit::record_in(&mut tx, event, ip, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(admin_id = %admin.user_id, %user_id, "account enabled");
    Ok(Json(Envelope::ok(AccountView {
        user: record.user,
        disabled: false,
    })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateDeviceRequest {
    location: String,
    #[serde(default)]
    name: Option<String>,
}

/// The answer to `POST /devices`: the only time the secret is shown. No Debug, so it cannot
/// reach a log line.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(description = "A new kiosk device: the only time its secret is shown.")]
#[serde(rename_all = "camelCase")]
pub struct CreatedDevice {
    pub device_id: String,
    pub device_secret: String,
    pub location: String,
    pub user: AccountView,
}

/// A device as `GET /devices` lists it: its status (as `device_status` events carry it), when it
/// was made and its account; never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    #[serde(flatten)]
    pub status: DeviceStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub user: AccountView,
}

impl TryFrom<DeviceRecord> for DeviceView {
    type Error = StoreError;

    fn try_from(device: DeviceRecord) -> Result<Self, StoreError> {
        Ok(DeviceView {
            status: DeviceStatus::new(
                device.id,
                device.location,
                device.online,
                db::to_datetime_opt(device.last_seen)?,
                crate::fleet::parse_report(device.last_report.as_deref()),
            ),
            created_at: db::to_datetime(device.created_at)?,
            user: device.account.into(),
        })
    }
}

/// Creates a kiosk account and its device. The kiosk is named `<name or "Kiosk"> <location>`
/// (first and last name), which is how calls show it.
#[utoipa::path(
    post,
    path = "/devices",
    operation_id = "createDevice",
    tag = "admin",
    summary = "Create a kiosk device",
    description = "Administrators. Creates a kiosk account named `<name or \"Kiosk\"> \
        <location>` and its device. The answer is the only time the device secret is shown.",
    request_body = CreateDeviceRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The device, its secret and its account", body = crate::openapi::CreatedDeviceEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: a body of the wrong shape, an empty \
            location or one over 200 characters, or a name over 100", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn create_device(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AdminSession(admin): AdminSession,
    ApiJson(request): ApiJson<CreateDeviceRequest>,
) -> Result<(StatusCode, Json<Envelope<CreatedDevice>>), ApiError> {
    let kiosk = KioskPlace::new(request.location, request.name)?;
    let secret = DeviceSecret::generate();
    let now = state.clock.now_unix();
    let mut tx = state.db.pool().begin().await.map_err(StoreError::from)?;
    let (device_id, user) = create_kiosk(&mut tx, &admin.user_id, &kiosk, &secret, ip, now).await?;
    tx.commit().await.map_err(StoreError::from)?;
    tracing::info!(admin_id = %admin.user_id, %device_id, user_id = %user.id, "kiosk device created");
    let created = CreatedDevice {
        device_id,
        device_secret: secret.into_string(),
        location: kiosk.location,
        user: AccountView {
            user,
            disabled: false,
        },
    };
    Ok((StatusCode::CREATED, Json(Envelope::ok(created))))
}

/// Where a new kiosk stands and what it is called, checked.
pub(crate) struct KioskPlace {
    pub location: String,
    pub name: Option<String>,
}

impl KioskPlace {
    /// A location of 1 to 200 characters and an optional name of at most 100, trimmed.
    pub fn new(location: String, name: Option<String>) -> Result<KioskPlace, ApiError> {
        let location = optional_text("location", Some(location), MAX_LOCATION_CHARS)?
            .ok_or_else(|| ApiError::InvalidValue("location must not be empty".to_owned()))?;
        let name = optional_text("name", name, MAX_NAME_CHARS)?;
        Ok(KioskPlace { location, name })
    }
}

/// Creates a kiosk account named `<name or "Kiosk"> <location>` and its device with `secret`,
/// audited, inside the caller's transaction: `POST /devices` and an enrolment's claim.
pub(crate) async fn create_kiosk(
    tx: &mut sqlx::AnyConnection,
    admin_id: &str,
    kiosk: &KioskPlace,
    secret: &DeviceSecret,
    ip: Option<std::net::IpAddr>,
    now: i64,
) -> Result<(String, consult_types::api::User), ApiError> {
    let device_id = device::new_id();
    let email = format!("{device_id}@{KIOSK_EMAIL_DOMAIN}");
    let new = NewUser {
        email: &email,
        password_hash: None,
        first_name: Some(kiosk.name.as_deref().unwrap_or("Kiosk")),
        last_name: Some(&kiosk.location),
        role: Role::Kiosk,
    };
    // 128 random bits in the address: a collision means a broken random source.
    let user = users::insert(&mut *tx, new, now)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("kiosk address {email} is already taken")))?;
    if !device::insert(&mut *tx, &device_id, &user.id, secret, &kiosk.location, now).await? {
        return Err(StoreError::Corrupt(format!("device id {device_id} is already taken")).into());
    }
    let event = AuditEvent::DeviceCreated {
        admin_id,
        device_id: &device_id,
        user_id: &user.id,
        location: &kiosk.location,
    };
    audit::record_in(&mut *tx, event, ip, now).await?;
    Ok((device_id, user))
}

#[utoipa::path(
    get,
    path = "/devices",
    operation_id = "listDevices",
    tag = "admin",
    summary = "List kiosk devices",
    description = "Administrators. Never shows the secrets.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The devices", body = crate::openapi::DeviceListEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn list_devices(
    State(state): State<AppState>,
    AdminSession(_admin): AdminSession,
) -> Result<Json<Envelope<Vec<DeviceView>>>, ApiError> {
    let devices = device::list(&state.db)
        .await?
        .into_iter()
        .map(DeviceView::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(Envelope::ok(devices)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    /// Only events at or after this RFC 3339 time.
    #[param(format = DateTime)]
    from: Option<String>,
    /// Only events before this RFC 3339 time.
    #[param(format = DateTime)]
    to: Option<String>,
    /// Only events of this action, e.g. `auth.login_failed`, `meeting.started`.
    action: Option<String>,
    /// At most this many events (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Events with `from <= at < to`, of one action if given, newest first, at most `limit`.
#[utoipa::path(
    get,
    path = "/audit",
    operation_id = "listAudit",
    tag = "admin",
    summary = "Read the audit trail",
    description = "Administrators. Logins, token issues, join decisions, meeting starts and ends \
        and account changes, newest first: who, what, when, from which IP. Never a token.",
    params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The events", body = crate::openapi::AuditEntryListEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 403, description = "`forbidden`: the caller is not an administrator", body = crate::openapi::ErrorEnvelope),
        (status = 422, description = "`invalid_value`: an unknown query key, a time that is not \
            RFC 3339, `from` after `to`, or `limit` not 1 to 1000", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn list_audit(
    State(state): State<AppState>,
    AdminSession(_admin): AdminSession,
    query: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<Envelope<Vec<AuditEntry>>>, ApiError> {
    let Query(params) = query.map_err(invalid_query)?;
    let from = params
        .from
        .as_deref()
        .map(|t| parse_time("from", t))
        .transpose()?;
    let to = params
        .to
        .as_deref()
        .map(|t| parse_time("to", t))
        .transpose()?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(ApiError::InvalidValue(
                "from must not be after to".to_owned(),
            ));
        }
    }
    let limit = params.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
    if !(1..=MAX_AUDIT_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidValue(format!(
            "limit must be between 1 and {MAX_AUDIT_LIMIT}"
        )));
    }
    let query = AuditQuery {
        from,
        to,
        action: params.action.as_deref().filter(|a| !a.is_empty()),
        limit,
    };
    Ok(Json(Envelope::ok(audit::list(&state.db, &query).await?)))
}

/// An RFC 3339 time as unix seconds. A `+` offset that arrived unencoded in a query string
/// reads as a space; it is taken back.
fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&text.replace(' ', "+"), &Rfc3339))
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| {
            ApiError::InvalidValue(format!(
                "{field} must be an RFC 3339 time such as 2026-01-31T09:00:00Z"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_zulu_offsets_and_unencoded_plus() {
        assert_eq!(parse_time("from", "1970-01-01T00:01:00Z").ok(), Some(60));
        assert_eq!(
            parse_time("from", "1970-01-01T01:01:00 01:00").ok(),
            Some(60)
        );
        assert!(parse_time("from", "yesterday").is_err());
    }

    #[test]
    fn optional_text_trims_drops_empty_and_bounds_length() {
        assert_eq!(
            optional_text("n", Some("  Ada ".into()), 5).ok(),
            Some(Some("Ada".into()))
        );
        assert_eq!(optional_text("n", Some("   ".into()), 5).ok(), Some(None));
        assert_eq!(optional_text("n", None, 5).ok(), Some(None));
        assert!(optional_text("n", Some("toolong".into()), 5).is_err());
    }

    #[test]
    fn account_views_flatten_the_user() {
        let view = AccountView {
            user: User {
                id: "usr_1".into(),
                email: "a@b.co".into(),
                first_name: None,
                last_name: None,
                role: Role::Patient,
            },
            disabled: true,
        };
        assert_eq!(
            serde_json::to_value(view).expect("json"),
            serde_json::json!({"id": "usr_1", "email": "a@b.co", "firstName": null,
                "lastName": null, "role": "patient", "disabled": true})
        );
    }
}
