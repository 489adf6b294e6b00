//! `GET /notifications`, `POST /notifications/{id}/read`.

use axum::extract::State;
use axum::Json;
use consult_types::api::Envelope;
use consult_types::clinic::Notification;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store;
use crate::app::AppState;
use crate::auth::AuthSession;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};

/// Polling clients get the latest this many; older ones stay stored.
const LIST_LIMIT: i64 = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list))
        .routes(routes!(mark_read))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only notifications not yet marked read.
    #[serde(default)]
    unread: bool,
}

#[utoipa::path(
    get,
    path = "/notifications",
    operation_id = "listNotifications",
    tag = "notifications",
    summary = "List notifications",
    description = "The caller's latest 200 notifications, newest first. Clients with the event \
        stream (`GET /events`) need not poll.",
    params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The notifications", body = crate::openapi::NotificationListEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 422, description = "`invalid_value`: an unknown query key, or `unread` not a \
            boolean", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn list(
    State(state): State<AppState>,
    session: AuthSession,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Envelope<Vec<Notification>>>, ApiError> {
    let notifications = store::list(&state.db, &session.user_id, query.unread, LIST_LIMIT).await?;
    Ok(Json(Envelope::ok(notifications)))
}

#[utoipa::path(
    post,
    path = "/notifications/{id}/read",
    operation_id = "markNotificationRead",
    tag = "notifications",
    summary = "Mark a notification read",
    description = "Repeating it is harmless.",
    params(("id" = String, Path, description = "The notification's `id`")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The notification, with `readAt`", body = crate::openapi::NotificationEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 404, description = "`not_found`: no such notification of the caller's", body = crate::openapi::ErrorEnvelope),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn mark_read(
    State(state): State<AppState>,
    session: AuthSession,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Envelope<Notification>>, ApiError> {
    let notification = store::mark_read(&state.db, &session.user_id, &id, state.clock.now_unix())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Envelope::ok(notification)))
}
