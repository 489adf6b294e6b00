//! The auth flows — password login, device login, register-or-login, refresh, logout —
//! combining rate limits, passwords, tokens, accounts and audit.

use std::net::IpAddr;

use consult_types::api::{AuthResponse, LoginRequest, Role, Tokens, User};
use consult_types::clinic::{DeviceLoginRequest, RegisterOrLoginRequest};

use super::device::{self, SecretMatch};
use super::refresh_token::{self, RefreshSecret, RevokeReason, Rotation, StoredToken};
use super::session::AuthSession;
use super::AuthState;
use crate::audit::{self, AuditEvent, Grant, LoginFailure};
use crate::db::StoreError;
use crate::error::ApiError;
use crate::rate_limit::{Account, Endpoint};
use crate::users::{self, NewUser};

/// How long the immediately previous refresh token is still accepted, returning the same
/// successor: a client whose refresh reply was lost retries at once (RFC 9700 §4.14.2).
pub const REFRESH_RETRY_GRACE_SECS: i64 = 10;

/// The seeds' `userId` is kept in the audit trail only; longer ones are refused.
const MAX_EXTERNAL_USER_ID_CHARS: usize = 256;

/// Counts the attempt against the rate limits; a refused one is audited and answered 429
/// before anything expensive (no account lookup, no password hashing).
pub async fn enforce_rate_limit(
    state: &AuthState,
    endpoint: Endpoint,
    ip: Option<IpAddr>,
    account: Option<Account<'_>>,
    now: i64,
) -> Result<(), ApiError> {
    let Err(limited) = state.rate_limits.check(endpoint, ip, account) else {
        return Ok(());
    };
    tracing::warn!(
        endpoint = endpoint.as_str(),
        scope = limited.scope.as_str(),
        ?ip,
        retry_after_secs = limited.retry_after_secs,
        "auth attempt rate limited"
    );
    let event = AuditEvent::RateLimited {
        endpoint,
        scope: limited.scope,
        account,
    };
    audit::record(&state.db, event, ip, now).await?;
    Err(limited.into())
}

/// Checks the password and starts a new session (refresh-token family).
pub async fn login(
    state: &AuthState,
    request: LoginRequest,
    ip: Option<IpAddr>,
) -> Result<AuthResponse, ApiError> {
    let email = users::normalize_email(&request.email);
    let account = Account::Email(&email);
    enforce_rate_limit(
        state,
        Endpoint::Login,
        ip,
        Some(account),
        state.clock.now_unix(),
    )
    .await?;
    let record = users::find_by_email(&state.db, &email).await?;
    let stored_hash = record.as_ref().and_then(|r| r.password_hash.clone());
    // Runs the full hash even for unknown accounts, so timing does not reveal which exist.
    let matches = state
        .passwords
        .verify(request.password, stored_hash)
        .await?;
    let now = state.clock.now_unix();
    let reason = match &record {
        Some(record) if matches && !record.disabled => {
            return start_session(state, record.user.clone(), Grant::Password, ip, now).await;
        }
        None => LoginFailure::UnknownEmail,
        Some(r) if r.password_hash.is_none() => LoginFailure::NoPassword,
        Some(_) if !matches => LoginFailure::WrongPassword,
        Some(_) => LoginFailure::Disabled,
    };
    let user_id = record.as_ref().map(|r| r.user.id.as_str());
    Err(refuse(state, account, user_id, reason, Grant::Password, ip, now).await?)
}

/// A kiosk signs in with its device id and secret.
pub async fn device_login(
    state: &AuthState,
    request: DeviceLoginRequest,
    ip: Option<IpAddr>,
) -> Result<AuthResponse, ApiError> {
    let account = Account::Device(&request.device_id);
    let now = state.clock.now_unix();
    enforce_rate_limit(state, Endpoint::DeviceLogin, ip, Some(account), now).await?;
    let credential = device::find_credential(&state.db, &request.device_id).await?;
    let Some(credential) = credential else {
        let reason = LoginFailure::UnknownDevice;
        return Err(refuse(state, account, None, reason, Grant::Device, ip, now).await?);
    };
    let matched = credential.secret_matches(&request.device_secret);
    let device_id = credential.device.id;
    let kiosk = credential.device.account;
    let reason = if matched == SecretMatch::None {
        LoginFailure::WrongSecret
    } else if kiosk.disabled {
        LoginFailure::Disabled
    } else if kiosk.user.role != Role::Kiosk {
        // Devices are only ever bound to kiosk accounts; anything else is a broken store.
        tracing::error!(%device_id, user_id = %kiosk.user.id,
            role = kiosk.user.role.as_str(), "device bound to a non-kiosk account; refused");
        LoginFailure::RoleMismatch
    } else {
        if matched == SecretMatch::Pending
            && device::promote_pending(&state.db, &device_id, &request.device_secret).await?
        {
            tracing::info!(%device_id, "the kiosk signed in with its rotated secret; the old one no longer works");
        }
        return start_session(state, kiosk.user, Grant::Device, ip, now).await;
    };
    let user_id = Some(kiosk.user.id.as_str());
    let error = refuse(state, account, user_id, reason, Grant::Device, ip, now).await?;
    Err(match error {
        ApiError::Conflict(_) => ApiError::InvalidCredentials,
        other => other,
    })
}

/// The seeds' password-less flow (demo mode only; the caller checks): finds the account by
/// email, or creates it without a password, and starts a session.
pub async fn register_or_login(
    state: &AuthState,
    request: RegisterOrLoginRequest,
    ip: Option<IpAddr>,
) -> Result<AuthResponse, ApiError> {
    let email = users::normalize_email(&request.email);
    let account = Account::Email(&email);
    let now = state.clock.now_unix();
    enforce_rate_limit(state, Endpoint::RegisterOrLogin, ip, Some(account), now).await?;
    users::validate_email(&email).map_err(|problem| ApiError::InvalidValue(problem.to_owned()))?;
    if matches!(request.role, Role::Admin | Role::Kiosk) {
        return Err(ApiError::InvalidValue(format!(
            "The {} role cannot be registered this way",
            request.role.as_str()
        )));
    }
    let external_id_chars = request.user_id.chars().count();
    if external_id_chars == 0 || external_id_chars > MAX_EXTERNAL_USER_ID_CHARS {
        return Err(ApiError::InvalidValue(format!(
            "userId must be 1 to {MAX_EXTERNAL_USER_ID_CHARS} characters"
        )));
    }

    let mut record = users::find_by_email(&state.db, &email).await?;
    if record.is_none() {
        let mut tx = state.db.pool().begin().await.map_err(StoreError::from)?;
        let new = NewUser {
            email: &email,
            password_hash: None,
            first_name: None,
            last_name: None,
            role: request.role,
        };
        if let Some(user) = users::insert(&mut tx, new, now).await? {
            let event = AuditEvent::UserRegistered {
                user_id: &user.id,
                role: user.role,
                external_user_id: &request.user_id,
            };
            audit::record_in(&mut tx, event, ip, now).await?;
            tx.commit().await.map_err(StoreError::from)?;
            tracing::info!(user_id = %user.id, role = user.role.as_str(), "demo account registered");
            return start_session(state, user, Grant::RegisterOrLogin, ip, now).await;
        }
        // Someone registered the same email a moment ago; use theirs.
        tx.rollback().await.map_err(StoreError::from)?;
        record = users::find_by_email(&state.db, &email).await?;
    }
    let Some(record) = record else {
        return Err(ApiError::Conflict(
            "The account changed during sign-in; try again".to_owned(),
        ));
    };
    let reason = if record.user.role != request.role {
        LoginFailure::RoleMismatch
    } else if record.disabled {
        LoginFailure::Disabled
    } else {
        return start_session(state, record.user, Grant::RegisterOrLogin, ip, now).await;
    };
    let user_id = Some(record.user.id.as_str());
    Err(refuse(
        state,
        account,
        user_id,
        reason,
        Grant::RegisterOrLogin,
        ip,
        now,
    )
    .await?)
}

/// Starts a session (refresh-token family) for an authenticated user and issues its tokens.
pub async fn start_session(
    state: &AuthState,
    user: User,
    grant: Grant,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<AuthResponse, ApiError> {
    let secret = RefreshSecret::generate();
    let expires_at = now.saturating_add(state.refresh_ttl_secs.min(state.max_session_secs));
    let family_id =
        refresh_token::start_family(&state.db, &user.id, &secret.digest(), now, expires_at).await?;
    let event = AuditEvent::LoginSucceeded {
        user_id: &user.id,
        family_id: &family_id,
        grant,
    };
    audit::record(&state.db, event, ip, now).await?;
    tracing::info!(user_id = %user.id, family_id = %family_id, grant = ?grant, "login succeeded");
    issue(state, user, &family_id, secret, grant, ip, now).await
}

/// Records a refused login and returns the error to answer with.
async fn refuse(
    state: &AuthState,
    account: Account<'_>,
    user_id: Option<&str>,
    reason: LoginFailure,
    grant: Grant,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<ApiError, ApiError> {
    tracing::info!(?reason, user_id, grant = ?grant, "login failed");
    let event = AuditEvent::LoginFailed {
        account,
        user_id,
        reason,
        grant,
    };
    audit::record(&state.db, event, ip, now).await?;
    // Only someone who holds the credential learns that the account is disabled.
    Ok(match reason {
        LoginFailure::Disabled => ApiError::AccountDisabled,
        LoginFailure::RoleMismatch => {
            ApiError::Conflict("An account with this email exists with another role".to_owned())
        }
        LoginFailure::UnknownEmail
        | LoginFailure::WrongPassword
        | LoginFailure::NoPassword
        | LoginFailure::UnknownDevice
        | LoginFailure::WrongSecret => ApiError::InvalidCredentials,
    })
}

/// Rotates a refresh token; a second use of one revokes its family.
pub async fn refresh(
    state: &AuthState,
    presented: &str,
    ip: Option<IpAddr>,
) -> Result<AuthResponse, ApiError> {
    let now = state.clock.now_unix();
    enforce_rate_limit(state, Endpoint::Refresh, ip, None, now).await?;
    let digest = refresh_token::digest(presented);
    let stored = refresh_token::find_by_digest(&state.db, &digest)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    // Reuse is checked first: an old token coming back is a theft signal even after revocation,
    // unless it is the retry of a refresh whose reply was lost.
    if stored.used_at.is_some() {
        return used_again(state, &stored, presented, ip, now).await;
    }
    let (user, session_ends) = check_refreshable(state, &stored, now).await?;

    let secret = RefreshSecret::generate();
    let expires_at = now.saturating_add(state.refresh_ttl_secs).min(session_ends);
    let sealed = secret.seal_for(presented);
    match refresh_token::rotate(
        &state.db,
        &stored,
        &secret.digest(),
        &sealed,
        now,
        expires_at,
    )
    .await?
    {
        Rotation::Rotated => {}
        // Another request used this token a moment ago: the same rules as a retry.
        Rotation::AlreadyUsed => {
            let stored = refresh_token::find_by_digest(&state.db, &digest)
                .await?
                .ok_or(ApiError::InvalidToken)?;
            return used_again(state, &stored, presented, ip, now).await;
        }
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

/// A live family, an unexpired token, a session within its absolute lifetime and an enabled
/// account: the user, and when the session ends.
async fn check_refreshable(
    state: &AuthState,
    stored: &StoredToken,
    now: i64,
) -> Result<(User, i64), ApiError> {
    if stored.family_revoked_at.is_some() {
        return Err(ApiError::InvalidToken);
    }
    let session_ends = stored
        .family_created_at
        .saturating_add(state.max_session_secs);
    if stored.expires_at <= now || session_ends <= now {
        return Err(ApiError::TokenExpired);
    }
    match users::find_by_id(&state.db, &stored.user_id).await? {
        Some(record) if !record.disabled => Ok((record.user, session_ends)),
        _ => Err(ApiError::InvalidToken),
    }
}

/// A used token presented again: within the grace, while its successor is unused (so it is
/// the immediately previous token), the same successor again; otherwise reuse, and the family
/// is revoked.
async fn used_again(
    state: &AuthState,
    stored: &StoredToken,
    presented: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<AuthResponse, ApiError> {
    let within_grace = stored
        .used_at
        .is_some_and(|used_at| now.saturating_sub(used_at) <= REFRESH_RETRY_GRACE_SECS);
    let successor = stored
        .successor_sealed
        .as_deref()
        .filter(|_| within_grace)
        .and_then(|sealed| RefreshSecret::unseal(sealed, presented));
    if let Some(successor) = successor {
        let current = refresh_token::find_by_digest(&state.db, &successor.digest()).await?;
        if let Some(current) = current
            .filter(|current| current.used_at.is_none() && current.family_id == stored.family_id)
        {
            let (user, _) = check_refreshable(state, &current, now).await?;
            tracing::info!(user_id = %stored.user_id, family_id = %stored.family_id,
                "refresh retried within the grace; same successor returned");
            let family_id = current.family_id;
            return issue(
                state,
                user,
                &family_id,
                successor,
                Grant::RefreshToken,
                ip,
                now,
            )
            .await;
        }
    }
    Err(reuse_detected(state, stored, ip, now).await?)
}

/// Ends the caller's session: its refresh tokens and access tokens stop working.
pub async fn logout(
    state: &AuthState,
    session: &AuthSession,
    ip: Option<IpAddr>,
) -> Result<(), ApiError> {
    let now = state.clock.now_unix();
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
    state: &AuthState,
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
    state: &AuthState,
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
