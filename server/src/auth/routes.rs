//! HTTP handlers of `/auth/*`; the flows themselves live in `service`.

use axum::extract::{FromRequest, Request, State};
use axum::http::Method;
use axum::routing::any;
use axum::Json;
use consult_types::api::{AuthResponse, Envelope, LoginRequest, RefreshRequest};
use consult_types::clinic::{DeviceLoginRequest, RegisterOrLoginRequest};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::service;
use super::session::AuthSession;
use super::AuthState;
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(login))
        .routes(routes!(device_login))
        // Documented as the POST it is in demo mode, but routed for any method, so that outside
        // demo mode every request answers like an unknown route.
        .routes(routes!(register_or_login).map(|_| any(register_or_login)))
        .routes(routes!(refresh))
        .routes(routes!(logout))
}

#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "login",
    tag = "auth",
    summary = "Sign in with email and password",
    description = "Starts a session: the user and a token pair. Attempts are rate limited per \
        client IP and per account.",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = crate::openapi::AuthEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, description = "`invalid_credentials`: unknown email, wrong password, or an \
            account without a password", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "`forbidden`: the account is disabled (said only to someone \
            with the right password)", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: a body of the wrong shape", body = crate::openapi::ErrorEnvelope),
        (status = 429, response = crate::openapi::RateLimited),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn login(
    State(state): State<AuthState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<Envelope<AuthResponse>>, ApiError> {
    let response = service::login(&state, request, ip).await?;
    Ok(Json(Envelope::ok(response)))
}

#[utoipa::path(
    post,
    path = "/auth/device-login",
    operation_id = "deviceLogin",
    tag = "auth",
    summary = "Sign in a kiosk device",
    description = "A clinic kiosk signs in with the device id and secret an administrator got \
        from `POST /devices`. Rate limited per client IP and per device id.",
    request_body = DeviceLoginRequest,
    responses(
        (status = 200, description = "Signed in as the device's kiosk account", body = crate::openapi::AuthEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, description = "`invalid_credentials`: unknown device or wrong secret", body = crate::openapi::ErrorEnvelope),
        (status = 403, description = "`forbidden`: the kiosk account is disabled", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: a body of the wrong shape", body = crate::openapi::ErrorEnvelope),
        (status = 429, response = crate::openapi::RateLimited),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn device_login(
    State(state): State<AuthState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<DeviceLoginRequest>,
) -> Result<Json<Envelope<AuthResponse>>, ApiError> {
    let response = service::device_login(&state, request, ip).await?;
    Ok(Json(Envelope::ok(response)))
}

/// Demo mode only. Otherwise 404 before the method or body is looked at, exactly like a
/// route that does not exist.
#[utoipa::path(
    post,
    path = "/auth/register-or-login",
    operation_id = "registerOrLogin",
    tag = "auth",
    summary = "Sign in without a password (demo mode only)",
    description = "The seeds' password-less flow, for demos and tests: finds the account by \
        email, or creates it (without a password) with the given role, and starts a session. \
        Only when the server runs in demo mode; otherwise every request, of any method, answers \
        404 like an unknown route. Rate limited per client IP and per account.",
    request_body = RegisterOrLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = crate::openapi::AuthEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 403, description = "`forbidden`: the account is disabled", body = crate::openapi::ErrorEnvelope),
        (status = 404, description = "`not_found`: the server is not in demo mode", body = crate::openapi::ErrorEnvelope),
        (status = 405, description = "`method_not_allowed`: a method other than POST (demo mode)", body = crate::openapi::ErrorEnvelope),
        (status = 409, description = "`conflict`: an account with this email exists with another \
            role", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: a body of the wrong shape, an invalid \
            email, the `admin` or `kiosk` role, or a `userId` that is empty or over 256 \
            characters", body = crate::openapi::ErrorEnvelope),
        (status = 429, response = crate::openapi::RateLimited),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn register_or_login(
    State(state): State<AuthState>,
    ClientIp(ip): ClientIp,
    request: Request,
) -> Result<Json<Envelope<AuthResponse>>, ApiError> {
    if !state.demo {
        return Err(ApiError::NotFound);
    }
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    let ApiJson(body) = ApiJson::<RegisterOrLoginRequest>::from_request(request, &state).await?;
    let response = service::register_or_login(&state, body, ip).await?;
    Ok(Json(Envelope::ok(response)))
}

#[utoipa::path(
    post,
    path = "/auth/refresh",
    operation_id = "refresh",
    tag = "auth",
    summary = "Exchange a refresh token for a new pair",
    description = "Refresh tokens rotate: each is accepted once. Presenting an already used one \
        ends its whole session (every token of the family). Rate limited per client IP.",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = crate::openapi::AuthEnvelope),
        (status = 400, response = crate::openapi::MalformedBody),
        (status = 401, description = "`invalid_token`: unknown, revoked (logout, reuse), or the \
            account is disabled; `token_expired`; `refresh_token_reused`: it was used before, so \
            its session has been ended", body = crate::openapi::ErrorEnvelope),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 415, response = crate::openapi::UnsupportedMediaType),
        (status = 422, description = "`invalid_value`: a body of the wrong shape", body = crate::openapi::ErrorEnvelope),
        (status = 429, response = crate::openapi::RateLimited),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn refresh(
    State(state): State<AuthState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Json<Envelope<AuthResponse>>, ApiError> {
    let response = service::refresh(&state, &request.refresh_token, ip).await?;
    Ok(Json(Envelope::ok(response)))
}

#[utoipa::path(
    post,
    path = "/auth/logout",
    operation_id = "logout",
    tag = "auth",
    summary = "Sign out",
    description = "Ends the caller's session: its refresh tokens and access tokens stop working, \
        and its event streams end within one heartbeat interval.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Signed out", body = crate::openapi::EmptyEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn logout(
    State(state): State<AuthState>,
    ClientIp(ip): ClientIp,
    session: AuthSession,
) -> Result<Json<Envelope<()>>, ApiError> {
    service::logout(&state, &session, ip).await?;
    Ok(Json(Envelope::ok(())))
}
