//! The auth flows — login, refresh, logout — combining passwords, tokens, accounts and audit.

use std::net::IpAddr;

use consult_types::api::{AuthResponse, LoginRequest, Tokens, User};

use super::refresh_token::{self, RefreshSecret, RevokeReason, Rotation, StoredToken};
use super::session::AuthSession;
use crate::app::AppState;
use crate::audit::{self, AuditEvent, Grant, LoginFailure};
use crate::clock;
use crate::error::ApiError;
use crate::users::{self, UserRecord};

/// Checks the password and starts a new session (refresh-token family).
pub async fn login(
    state: &AppState,
    request: LoginRequest,
    ip: Option<IpAddr>,
) -> Result<AuthResponse, ApiError> {
    let email = users::normalize_email(&request.email);
    let record = users::find_by_email(&state.db, &email).await?;
    let stored_hash = record.as_ref().and_then(|r| r.password_hash.clone());
    // Runs the full hash even for unknown accounts, so timing does not reveal which exist.
    let matches = state
        .passwords
        .verify(request.password, stored_hash)
        .await?;
    let now = clock::now_unix();
    match record {
        Some(record) if matches && !record.disabled => {
            start_session(state, record.user, ip, now).await
        }
        other => Err(login_failed(state, &email, other.as_ref(), matches, ip, now).await?),
    }
}

async fn start_session(
    state: &AppState,
    user: User,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<AuthResponse, ApiError> {
    let secret = RefreshSecret::generate();
    let expires_at = now.saturating_add(state.refresh_ttl_secs);
    let family_id =
        refresh_token::start_family(&state.db, &user.id, &secret.digest(), now, expires_at).await?;
    let event = AuditEvent::LoginSucceeded {
        user_id: &user.id,
        family_id: &family_id,
    };
    audit::record(&state.db, event, ip, now).await?;
    tracing::info!(user_id = %user.id, family_id = %family_id, "login succeeded");
    issue(state, user, &family_id, secret, Grant::Password, ip, now).await
}

/// Records a failed login and returns the error to answer with.
async fn login_failed(
    state: &AppState,
    email: &str,
    record: Option<&UserRecord>,
    password_matched: bool,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<ApiError, ApiError> {
    let reason = match record {
        None => LoginFailure::UnknownEmail,
        Some(r) if r.password_hash.is_none() => LoginFailure::NoPassword,
        Some(_) if !password_matched => LoginFailure::WrongPassword,
        Some(_) => LoginFailure::Disabled,
    };
    let user_id = record.map(|r| r.user.id.as_str());
    tracing::info!(?reason, user_id, "login failed");
    let event = AuditEvent::LoginFailed {
        email,
        user_id,
        reason,
    };
    audit::record(&state.db, event, ip, now).await?;
    // Only someone who knows the password learns that the account is disabled.
    Ok(match reason {
        LoginFailure::Disabled => ApiError::AccountDisabled,
        _ => ApiError::InvalidCredentials,
    })
}

/// Rotates a refresh token; a second use of one revokes its family.
pub async fn refresh(
    state: &AppState,
    presented: &str,
    ip: Option<IpAddr>,
) -> Result<AuthResponse, ApiError> {
    let now = clock::now_unix();
    let stored = refresh_token::find_by_digest(&state.db, &refresh_token::digest(presented))
        .await?
        .ok_or(ApiError::InvalidToken)?;
    // Reuse is checked first: an old token coming back is a theft signal even after revocation.
    if stored.used_at.is_some() {
        return Err(reuse_detected(state, &stored, ip, now).await?);
    }
    if stored.family_revoked_at.is_some() {
        return Err(ApiError::InvalidToken);
    }
    if stored.expires_at <= now {
        return Err(ApiError::TokenExpired);
    }
    let user = match users::find_by_id(&state.db, &stored.user_id).await? {
        Some(record) if !record.disabled => record.user,
        _ => return Err(ApiError::InvalidToken),
    };

    let secret = RefreshSecret::generate();
    let expires_at = now.saturating_add(state.refresh_ttl_secs);
    match refresh_token::rotate(&state.db, &stored, &secret.digest(), now, expires_at).await? {
        Rotation::Rotated => {}
        // Another request used this token a moment ago: two holders, so treat it as theft.
        Rotation::AlreadyUsed => return Err(reuse_detected(state, &stored, ip, now).await?),
    }
    let family_id = stored.family_id;
    issue(
        state,
        user,
        &family_id,
        secret,
        Grant::RefreshToken,
        ip,
        now,
    )
    .await
}

/// Ends the caller's session: its refresh tokens and access tokens stop working.
pub async fn logout(
    state: &AppState,
    session: &AuthSession,
    ip: Option<IpAddr>,
) -> Result<(), ApiError> {
    let now = clock::now_unix();
    refresh_token::revoke_family(&state.db, &session.family_id, RevokeReason::Logout, now).await?;
    let event = AuditEvent::Logout {
        user_id: &session.user_id,
        family_id: &session.family_id,
    };
    audit::record(&state.db, event, ip, now).await?;
    tracing::info!(user_id = %session.user_id, family_id = %session.family_id, "logged out");
    Ok(())
}

/// Signs the access token, records the issue, and assembles the response.
async fn issue(
    state: &AppState,
    user: User,
    family_id: &str,
    secret: RefreshSecret,
    grant: Grant,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<AuthResponse, ApiError> {
    let issued_at = u64::try_from(now).unwrap_or_default();
    let access_token = state.access_tokens.issue(&user, family_id, issued_at)?;
    let event = AuditEvent::TokenIssued {
        user_id: &user.id,
        family_id,
        grant,
    };
    audit::record(&state.db, event, ip, now).await?;
    Ok(AuthResponse {
        user,
        tokens: Tokens {
            access_token,
            refresh_token: secret.into_string(),
            expires_in: state.access_tokens.ttl_secs(),
        },
    })
}

/// Revokes the family of a reused token, records it, and returns the error to answer with.
async fn reuse_detected(
    state: &AppState,
    stored: &StoredToken,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<ApiError, ApiError> {
    let newly_revoked =
        refresh_token::revoke_family(&state.db, &stored.family_id, RevokeReason::Reuse, now)
            .await?;
    tracing::warn!(
        user_id = %stored.user_id,
        family_id = %stored.family_id,
        newly_revoked,
        "refresh token reused; session revoked"
    );
    let event = AuditEvent::RefreshTokenReused {
        user_id: &stored.user_id,
        family_id: &stored.family_id,
    };
    audit::record(&state.db, event, ip, now).await?;
    Ok(ApiError::RefreshTokenReused)
}
