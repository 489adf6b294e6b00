//! The HTTP application: shared state, the route table, and what every response gets.

use std::sync::Arc;

use std::time::Instant;
use tokio::sync::{watch, Notify};

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::{Json, Router};
use consult_types::api::Envelope;
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthState;
use crate::client_ip::{self, TrustedProxies};
use crate::clock::Clock;
use crate::db::Db;
use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;
use crate::jitsi::JitsiTokens;
use crate::openapi::ApiDoc;
use crate::push::EventHub;
use crate::{
    account, admin, appointments, auth, calls, device_commands, enrolment, fleet, join_requests,
    kiosk_exit, notifications, push,
};

/// What handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// Sign-in and bearer-token checks; its handlers take only this (`FromRef`).
    pub auth: AuthState,
    /// Wakes open event streams when their users have new events.
    pub hub: Arc<EventHub>,
    /// Mints meeting tokens; `None` when no Jitsi deployment is configured.
    pub jitsi: Option<Arc<JitsiTokens>>,
    /// Wakes the reminder scheduler when an appointment is booked or moved.
    pub reminders: Arc<Notify>,
    pub sse_heartbeat_secs: u64,
    /// Turns true when the server shuts down, so long-lived responses end.
    pub stopping: watch::Receiver<bool>,
    /// "Now" for every decision by time.
    pub clock: Clock,
    /// Whose forwarding headers name the client (`ClientIp`).
    pub trusted_proxies: TrustedProxies,
    /// How long a kiosk's administrator exit stays locked after too many wrong PINs.
    pub kiosk_exit_lockout_secs: u64,
}

/// Every route with its OpenAPI operation, each handler registered once (`routes!`) for both.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .merge(auth::routes::router())
        .merge(account::router())
        .merge(admin::router())
        .merge(kiosk_exit::router())
        .merge(enrolment::router())
        .merge(fleet::router())
        .merge(device_commands::router())
        .merge(appointments::routes::router())
        .merge(join_requests::routes::router())
        .merge(calls::router())
        .merge(notifications::routes::router())
        .merge(push::stream::router())
        .merge(crate::openapi::router())
}

pub fn router(state: AppState) -> Router {
    // The document is served from `openapi::document_json`, built once from `api()` as well.
    let (routes, _document) = api().split_for_parts();
    let proxies = state.trusted_proxies.clone();
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(log_and_harden))
        .layer(middleware::from_fn(move |request, next| {
            client_ip::resolve(proxies.clone(), request, next)
        }))
        .with_state(state)
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

#[utoipa::path(
    get,
    path = "/health",
    operation_id = "health",
    tag = "meta",
    summary = "Liveness",
    description = "Answers while the server runs. No authentication.",
    responses((status = 200, description = "The server is up", body = crate::openapi::HealthEnvelope)),
)]
async fn health() -> Json<Envelope<Health>> {
    Json(Envelope::ok(Health { status: "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Logs one line per request (method, path, status, time; never headers, query or body) and
/// forbids caching, since responses carry tokens and personal data (RFC 6749 §5.1).
async fn log_and_harden(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis(),
        "request"
    );
    response
}
