//! The caller's own account: `GET /me`.

use axum::extract::State;
use axum::Json;
use consult_types::api::{Envelope, User};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::AuthSession;
use crate::error::ApiError;
use crate::users;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(me))
}

#[utoipa::path(
    get,
    path = "/me",
    operation_id = "getMe",
    tag = "account",
    summary = "The caller's account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = crate::openapi::UserEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn me(
    State(state): State<AppState>,
    session: AuthSession,
) -> Result<Json<Envelope<User>>, ApiError> {
    // The session check already refused disabled accounts; a vanished one is just as invalid.
    let record = users::find_by_id(&state.db, &session.user_id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    Ok(Json(Envelope::ok(record.user)))
}
