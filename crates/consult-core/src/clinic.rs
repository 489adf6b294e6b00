//! HTTP client for the clinic API. It knows the contract's envelope and turns every way a
//! request can fail into an [`AppError`] that tells the user what happened.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use consult_types::{
    codes, AppError, AuthResponse, Envelope, ErrorBody, LoginRequest, RefreshRequest, User,
};

/// Talks to one clinic server. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct ClinicClient {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
}

impl ClinicClient {
    pub fn new(base: Url, timeout: Duration) -> Result<ClinicClient, AppError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("consult-desktop/", env!("CARGO_PKG_VERSION")))
            // Redirects could carry the bearer token to another host; the API never redirects.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| AppError::Internal {
                detail: format!("cannot build the HTTP client: {error}"),
            })?;
        Ok(ClinicClient {
            http,
            base,
            timeout,
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<AuthResponse, AppError> {
        let body = LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        self.send(self.request(Method::POST, "auth/login")?.json(&body))
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<AuthResponse, AppError> {
        let body = RefreshRequest {
            refresh_token: refresh_token.to_owned(),
        };
        self.send(self.request(Method::POST, "auth/refresh")?.json(&body))
            .await
    }

    pub async fn me(&self, access_token: &str) -> Result<User, AppError> {
        self.send(self.request(Method::GET, "me")?.bearer_auth(access_token))
            .await
    }

    pub async fn logout(&self, access_token: &str) -> Result<(), AppError> {
        self.send::<serde_json::Value>(
            self.request(Method::POST, "auth/logout")?
                .bearer_auth(access_token),
        )
        .await
        .map(drop)
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, AppError> {
        let url = self.base.join(path).map_err(|error| AppError::Config {
            detail: format!("cannot build a request URL from {}: {error}", self.base),
        })?;
        Ok(self.http.request(method, url))
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, AppError> {
        let response = request
            .send()
            .await
            .map_err(|error| self.transport_error(&error))?;
        self.read(response).await
    }

    fn transport_error(&self, error: &reqwest::Error) -> AppError {
        let server = self.base.origin().ascii_serialization();
        // Only the error kind is logged: reqwest errors can contain the request URL.
        tracing::warn!(
            timeout = error.is_timeout(),
            connect = error.is_connect(),
            "request to the clinic server failed"
        );
        if error.is_timeout() {
            AppError::ServerTimeout {
                server,
                seconds: self.timeout.as_secs(),
            }
        } else {
            AppError::ServerUnreachable { server }
        }
    }

    async fn read<T: DeserializeOwned>(&self, response: Response) -> Result<T, AppError> {
        let status = response.status();
        let retry_after = retry_after_secs(&response);
        let bytes = response
            .bytes()
            .await
            .map_err(|error| self.transport_error(&error))?;
        decode(status, retry_after, &bytes)
    }
}

/// Turns a response into the envelope's data or the error it stands for.
fn decode<T: DeserializeOwned>(
    status: StatusCode,
    retry_after: Option<u64>,
    body: &[u8],
) -> Result<T, AppError> {
    if status.is_server_error() {
        return Err(AppError::ServerFailed {
            status: status.as_u16(),
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(AppError::RateLimited {
            retry_after_secs: retry_after.unwrap_or(30),
        });
    }
    if status.is_success() {
        let envelope: Envelope<T> =
            serde_json::from_slice(body).map_err(|error| AppError::UnexpectedResponse {
                detail: format!(
                    "HTTP {}, body is not the expected JSON: {error}",
                    status.as_u16()
                ),
            })?;
        return match (envelope.success, envelope.data) {
            (true, Some(data)) => Ok(data),
            // `data: null` is a valid answer for calls that return nothing.
            (true, None) => serde_json::from_value(serde_json::Value::Null).map_err(|_| {
                AppError::UnexpectedResponse {
                    detail: format!("HTTP {} without data", status.as_u16()),
                }
            }),
            (false, _) => Err(AppError::UnexpectedResponse {
                detail: format!("HTTP {} marked as failed", status.as_u16()),
            }),
        };
    }
    let error = serde_json::from_slice::<Envelope<serde_json::Value>>(body)
        .ok()
        .and_then(|envelope| envelope.error)
        .ok_or_else(|| AppError::UnexpectedResponse {
            detail: format!("HTTP {} without an error body", status.as_u16()),
        })?;
    Err(map_api_error(status, error))
}

fn map_api_error(status: StatusCode, error: ErrorBody) -> AppError {
    match (status, error.code.as_str()) {
        (_, codes::INVALID_CREDENTIALS) => AppError::InvalidCredentials,
        (StatusCode::UNAUTHORIZED, _) => AppError::SessionExpired,
        _ => AppError::Rejected {
            status: status.as_u16(),
            reason: error.code,
            message: error.message,
        },
    }
}

fn retry_after_secs(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_envelope_yields_data() {
        let user: User = decode(
            StatusCode::OK,
            None,
            br#"{"success":true,"data":{"id":"u","email":"a@b.c","firstName":null,"lastName":null,"role":"doctor"}}"#,
        )
        .unwrap();
        assert_eq!(user.email, "a@b.c");
    }

    #[test]
    fn a_500_is_a_server_failure_whatever_the_body() {
        let error =
            decode::<User>(StatusCode::INTERNAL_SERVER_ERROR, None, b"<html>oops").unwrap_err();
        assert_eq!(error, AppError::ServerFailed { status: 500 });
        let error = decode::<User>(StatusCode::BAD_GATEWAY, None, b"").unwrap_err();
        assert_eq!(error, AppError::ServerFailed { status: 502 });
    }

    #[test]
    fn garbage_is_an_unexpected_response() {
        for (status, body) in [
            (StatusCode::OK, &b"<html>hello</html>"[..]),
            (StatusCode::OK, br#"{"success":true,"data":{"id":1}}"#),
            (StatusCode::BAD_REQUEST, b"nope"),
            (StatusCode::NOT_FOUND, b""),
        ] {
            let error = decode::<User>(status, None, body).unwrap_err();
            assert!(
                matches!(error, AppError::UnexpectedResponse { .. }),
                "{status}: {error:?}"
            );
        }
    }

    #[test]
    fn api_errors_map_to_what_the_user_must_do() {
        let wrong = br#"{"success":false,"error":{"code":"invalid_credentials","message":"x"}}"#;
        assert_eq!(
            decode::<User>(StatusCode::UNAUTHORIZED, None, wrong).unwrap_err(),
            AppError::InvalidCredentials
        );
        let expired = br#"{"success":false,"error":{"code":"token_expired","message":"x"}}"#;
        assert_eq!(
            decode::<User>(StatusCode::UNAUTHORIZED, None, expired).unwrap_err(),
            AppError::SessionExpired
        );
        let limited = br#"{"success":false,"error":{"code":"rate_limited","message":"x"}}"#;
        assert_eq!(
            decode::<User>(StatusCode::TOO_MANY_REQUESTS, Some(12), limited).unwrap_err(),
            AppError::RateLimited {
                retry_after_secs: 12
            }
        );
        let conflict =
            br#"{"success":false,"error":{"code":"conflict","message":"Already decided"}}"#;
        assert_eq!(
            decode::<User>(StatusCode::CONFLICT, None, conflict).unwrap_err(),
            AppError::Rejected {
                status: 409,
                reason: "conflict".into(),
                message: "Already decided".into()
            }
        );
    }
}
