//! `GET /notifications`, `POST /notifications/{id}/read`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use consult_types::api::Envelope;
use consult_types::clinic::Notification;
use serde::Deserialize;

use super::store;
use crate::app::AppState;
use crate::auth::AuthSession;
use crate::clock;
use crate::error::ApiError;
use crate::extract::ApiQuery;

/// Polling clients get the latest this many; older ones stay stored.
const LIST_LIMIT: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/{id}/read", post(mark_read))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    unread: bool,
}

async fn list(
    State(state): State<AppState>,
    session: AuthSession,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Envelope<Vec<Notification>>>, ApiError> {
    let notifications = store::list(&state.db, &session.user_id, query.unread, LIST_LIMIT).await?;
    Ok(Json(Envelope::ok(notifications)))
}

async fn mark_read(
    State(state): State<AppState>,
    session: AuthSession,
    Path(id): Path<String>,
) -> Result<Json<Envelope<Notification>>, ApiError> {
    let notification = store::mark_read(&state.db, &session.user_id, &id, clock::now_unix())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Envelope::ok(notification)))
}
