//! HTTP handlers of `/auth/*`; the flows themselves live in `service`.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use consult_types::api::{AuthResponse, Envelope, LoginRequest, RefreshRequest};

use super::service;
use super::session::AuthSession;
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientIp};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
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
