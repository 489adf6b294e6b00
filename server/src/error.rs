//! Errors: `ServerError` stops the server from starting or running; `ApiError` is one failed
//! request, answered in the contract's envelope.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use consult_types::api::{codes, Envelope};
use thiserror::Error;

use crate::auth::access_token::AccessTokenError;
use crate::auth::password::PasswordError;
use crate::auth::signing_key::SigningKeyError;
use crate::config::ConfigError;
use crate::db::{DbError, StoreError};
use crate::demo::DemoError;

/// Why the server could not start, or stopped.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    SigningKey(#[from] SigningKeyError),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Demo(#[from] DemoError),
    #[error(transparent)]
    Jitsi(#[from] crate::jitsi::JitsiError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server stopped with an error: {0}")]
    Serve(#[source] std::io::Error),
    #[error("the server task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// One failed request. The Display text is the message the client sees.
#[derive(Debug, Error)]
pub enum ApiError {
    #[error("Email or password is incorrect")]
    InvalidCredentials,
    #[error("This account is disabled")]
    AccountDisabled,
    #[error("Authentication is required")]
    Unauthenticated,
    #[error("The token is invalid")]
    InvalidToken,
    #[error("The token has expired")]
    TokenExpired,
    #[error("The refresh token was already used; the session has been ended")]
    RefreshTokenReused,
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("The doctor has to admit you to this call first")]
    ApprovalRequired,
    /// A meeting token before the call opens: Jitsi tokens cannot be revoked, so none early.
    #[error(
        "It is too early to join: the call opens {minutes} minutes before the appointment starts"
    )]
    TooEarly { minutes: i64 },
    #[error("Not found")]
    NotFound,
    /// The object's state does not allow this (a decided request, a cancelled appointment).
    #[error("{0}")]
    Conflict(String),
    /// It existed, and its time is over (an expired enrolment code).
    #[error("{0}")]
    Gone(String),
    #[error("Too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("This server has no Jitsi deployment configured; ask the clinic's administrator")]
    JitsiNotConfigured,
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Malformed(String),
    #[error("Expected a JSON body (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("{0}")]
    InvalidValue(String),
    #[error("The request body is too large")]
    PayloadTooLarge,
    /// The cause goes to the log only; the client gets a generic message.
    #[error("Something went wrong on the server")]
    Internal(#[source] InternalError),
}

/// Causes of a 500, kept typed so the log says what failed.
#[derive(Debug, Error)]
pub enum InternalError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    AccessToken(#[from] AccessTokenError),
    #[error(transparent)]
    Jitsi(#[from] crate::jitsi::JitsiError),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        // A statement that failed this way changed nothing, and its transaction rolls back.
        if error.is_unstorable_text() {
            return ApiError::InvalidValue(
                "Text in the request contains a character that cannot be stored (such as NUL)"
                    .to_owned(),
            );
        }
        ApiError::Internal(error.into())
    }
}

impl From<PasswordError> for ApiError {
    fn from(error: PasswordError) -> Self {
        ApiError::Internal(error.into())
    }
}

impl From<AccessTokenError> for ApiError {
    fn from(error: AccessTokenError) -> Self {
        ApiError::Internal(error.into())
    }
}

/// A refused attempt: 429 with `Retry-After`.
impl From<crate::rate_limit::Limited> for ApiError {
    fn from(limited: crate::rate_limit::Limited) -> ApiError {
        ApiError::RateLimited {
            retry_after_secs: limited.retry_after_secs,
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidCredentials
            | ApiError::Unauthenticated
            | ApiError::InvalidToken
            | ApiError::TokenExpired
            | ApiError::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            ApiError::AccountDisabled | ApiError::Forbidden(_) | ApiError::ApprovalRequired => {
                StatusCode::FORBIDDEN
            }
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::TooEarly { .. } => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::JitsiNotConfigured => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidValue(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidCredentials => codes::INVALID_CREDENTIALS,
            ApiError::AccountDisabled | ApiError::Forbidden(_) => codes::FORBIDDEN,
            ApiError::ApprovalRequired => codes::APPROVAL_REQUIRED,
            ApiError::Conflict(_) => codes::CONFLICT,
            ApiError::TooEarly { .. } => codes::TOO_EARLY,
            ApiError::Gone(_) => codes::GONE,
            ApiError::RateLimited { .. } => codes::RATE_LIMITED,
            ApiError::JitsiNotConfigured => codes::JITSI_NOT_CONFIGURED,
            ApiError::Unauthenticated => codes::UNAUTHENTICATED,
            ApiError::InvalidToken => codes::INVALID_TOKEN,
            ApiError::TokenExpired => codes::TOKEN_EXPIRED,
            ApiError::RefreshTokenReused => codes::REFRESH_TOKEN_REUSED,
            ApiError::NotFound => codes::NOT_FOUND,
            ApiError::MethodNotAllowed => codes::METHOD_NOT_ALLOWED,
            ApiError::Malformed(_) | ApiError::UnsupportedMediaType => codes::MALFORMED_REQUEST,
            ApiError::InvalidValue(_) => codes::INVALID_VALUE,
            ApiError::PayloadTooLarge => codes::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => codes::INTERNAL,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %error_chain(cause), "request failed");
        }
        let status = self.status();
        let mut response =
            (status, Json(Envelope::err(self.code(), self.to_string()))).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        // RFC 6750 §3: tell bearer clients how to authenticate.
        if matches!(
            self,
            ApiError::Unauthenticated | ApiError::InvalidToken | ApiError::TokenExpired
        ) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// "outer: inner: innermost", since the outer Display alone often hides the real cause.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
