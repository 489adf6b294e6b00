//! The authenticated caller: a bearer access token that verifies and whose session is live.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use consult_types::api::Role;

use super::access_token::Rejection;
use super::refresh_token::{self, SessionState};
use super::Sessions;
use crate::error::ApiError;

/// Who is calling. Extracting it answers 401 for a missing, invalid, expired or ended token.
#[derive(Debug, Clone)]
pub struct AuthSession {
    pub user_id: String,
    pub role: Role,
    /// The refresh-token family this access token belongs to.
    pub family_id: String,
    /// When the access token expires (unix seconds); long-lived responses end by then.
    pub expires_at: i64,
}

impl<S> FromRequestParts<S> for AuthSession
where
    S: Send + Sync,
    Sessions: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = Sessions::from_ref(state);
        let token = bearer_token(&parts.headers)?;
        let claims = state
            .access_tokens
            .verify(token, state.clock.now_unix())
            .map_err(|rejection| match rejection {
                Rejection::Expired => ApiError::TokenExpired,
                Rejection::Invalid => ApiError::InvalidToken,
            })?;
        // A signature alone is not enough: logout or reuse detection may have ended the session.
        let born_by = state.born_by();
        match refresh_token::session_state(&state.db, &claims.sid, &claims.sub, born_by).await? {
            SessionState::Active => Ok(AuthSession {
                user_id: claims.sub,
                role: claims.role,
                family_id: claims.sid,
                expires_at: i64::try_from(claims.exp).unwrap_or(i64::MAX),
            }),
            SessionState::Ended => Err(ApiError::InvalidToken),
        }
    }
}

/// The token of `Authorization: Bearer <token>`; no header or another scheme is unauthenticated.
fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated)?
        .to_str()
        .map_err(|_| ApiError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthenticated)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::InvalidToken);
    }
    Ok(token)
}

/// The caller, known to be an administrator: 401 without a live session, 403 for any other
/// role, before a body is read.
pub struct AdminSession(pub AuthSession);

/// The caller, known to be a kiosk: 401 without a live session, 403 for any other role.
pub struct KioskSession(pub AuthSession);

/// The caller's session, refused with `forbidden` unless its role is `role`.
async fn with_role<S>(
    parts: &mut Parts,
    state: &S,
    role: Role,
    refusal: &'static str,
) -> Result<AuthSession, ApiError>
where
    S: Send + Sync,
    Sessions: FromRef<S>,
{
    let session = AuthSession::from_request_parts(parts, state).await?;
    if session.role != role {
        return Err(ApiError::Forbidden(refusal));
    }
    Ok(session)
}

impl<S> FromRequestParts<S> for AdminSession
where
    S: Send + Sync,
    Sessions: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        with_role(parts, state, Role::Admin, "Only administrators may do this")
            .await
            .map(AdminSession)
    }
}

impl<S> FromRequestParts<S> for KioskSession
where
    S: Send + Sync,
    Sessions: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        with_role(parts, state, Role::Kiosk, "Only kiosks may do this")
            .await
            .map(KioskSession)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn bearer_tokens_are_extracted() {
        assert_eq!(bearer_token(&with_auth("Bearer abc")).ok(), Some("abc"));
        assert_eq!(bearer_token(&with_auth("bearer  abc ")).ok(), Some("abc"));
    }

    #[test]
    fn missing_or_foreign_schemes_are_unauthenticated() {
        assert!(matches!(
            bearer_token(&HeaderMap::new()),
            Err(ApiError::Unauthenticated)
        ));
        assert!(matches!(
            bearer_token(&with_auth("Basic dXNlcjpwdw==")),
            Err(ApiError::Unauthenticated)
        ));
        assert!(matches!(
            bearer_token(&with_auth("Bearer")),
            Err(ApiError::Unauthenticated)
        ));
        assert!(matches!(
            bearer_token(&with_auth("Bearer   ")),
            Err(ApiError::InvalidToken)
        ));
    }
}
