//! HTTP handlers of `/auth/*`; the flows themselves live in `service`.

use axum::extract::{FromRequest, Request, State};
use axum::http::Method;
use axum::routing::{any, post};
use axum::{Json, Router};
use consult_types::api::{AuthResponse, Envelope, LoginRequest, RefreshRequest};
use consult_types::clinic::{DeviceLoginRequest, RegisterOrLoginRequest};

use super::service;
use super::session::AuthSession;
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/device-login", post(device_login))
        // Any method, so that outside demo mode every request answers like an unknown route.
        .route("/auth/register-or-login", any(register_or_login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<Envelope<AuthResponse>>, ApiError> {
    let response = service::login(&state, request, ip).await?;
    Ok(Json(Envelope::ok(response)))
}

async fn device_login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<DeviceLoginRequest>,
) -> Result<Json<Envelope<AuthResponse>>, ApiError> {
    let response = service::device_login(&state, request, ip).await?;
    Ok(Json(Envelope::ok(response)))
}

/// Demo mode only. Otherwise 404 before the method or body is looked at, exactly like a
/// route that does not exist.
async fn register_or_login(
    State(state): State<AppState>,
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

async fn refresh(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(request): ApiJson<RefreshRequest>,
) -> Result<Json<Envelope<AuthResponse>>, ApiError> {
    let response = service::refresh(&state, &request.refresh_token, ip).await?;
    Ok(Json(Envelope::ok(response)))
}

async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: AuthSession,
) -> Result<Json<Envelope<()>>, ApiError> {
    service::logout(&state, &session, ip).await?;
    Ok(Json(Envelope::ok(())))
}
