//! Request extractors whose failures are answered in the API's envelope.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::client_ip::ResolvedClientIp;
use crate::error::ApiError;

/// Largest accepted request body; the API's bodies are a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body: wrong content type → 415, unreadable or too large → 400/413, not JSON → 400,
/// JSON of the wrong shape (unknown, missing or mistyped fields) → 422.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        // Bytes honours the router's DefaultBodyLimit and reports overruns as 413.
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::Malformed("The request body could not be read".to_owned())
            }
        })?;
        serde_json::from_slice(&body)
            .map(ApiJson)
            .map_err(|error| match error.classify() {
                Category::Data => ApiError::InvalidValue(format!("Invalid request: {error}")),
                Category::Syntax | Category::Eof | Category::Io => {
                    ApiError::Malformed(format!("The body is not valid JSON: {error}"))
                }
            })
    }
}

/// `application/json`, with parameters, or any `application/*+json`.
fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A query string: anything that does not parse into `T` (unknown keys, bad values) → 422.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|query| ApiQuery(query.0))
            .map_err(|rejection| {
                ApiError::InvalidValue(format!("Invalid query: {}", rejection.body_text()))
            })
    }
}

/// A path parameter: one that does not decode (a percent-encoded byte sequence that is not
/// UTF-8, say) → 400 in the envelope rather than axum's plain-text rejection.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|path| ApiPath(path.0))
            .map_err(|rejection| {
                ApiError::Malformed(format!("Invalid path: {}", rejection.body_text()))
            })
    }
}

/// The client's address, for rate limits and the audit trail: the peer's, or behind a trusted
/// proxy the one its forwarding headers name (`client_ip::resolve`); absent when the server runs
/// without connect info.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let resolved = parts.extensions.get::<ResolvedClientIp>().map(|ip| ip.0);
        Ok(ClientIp(resolved.or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("header"),
        );
        headers
    }

    #[test]
    fn json_content_types_are_recognized() {
        assert!(has_json_content_type(&headers("application/json")));
        assert!(has_json_content_type(&headers(
            "Application/JSON; charset=utf-8"
        )));
        assert!(has_json_content_type(&headers(
            "application/merge-patch+json"
        )));
        assert!(!has_json_content_type(&headers("text/plain")));
        assert!(!has_json_content_type(&headers("application/jsonx")));
        assert!(!has_json_content_type(&HeaderMap::new()));
    }
}
