//! HTTP client for the clinic API. It knows the contract's envelope and turns every way a
//! request can fail into an [`AppError`] that tells the user what happened.

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use consult_types::{
    codes, AppError, Appointment, AuthResponse, ClaimRequest, Decision, DeviceCommand,
    DeviceLoginRequest, DeviceStatus, Enrolment, Envelope, ErrorBody, ExitPin, ExitPinPolicy,
    ExitPinVerdict, Heartbeat, HeartbeatAnswer, JitsiSession, JoinRequest, LoginRequest,
    NewAppointment, NewDeviceCommand, Notification, Pickup, PickupRequest, RefreshRequest,
    RotatedSecret, StartEnrolment, User,
};

use crate::tls::{refused_certificate, CaFile};

/// What the clinic client trusts beyond reqwest's own roots (the built-in Mozilla list and the
/// OS store, see [`crate::tls`]): the certificate authorities in `server_ca_file`.
#[derive(Clone, Default)]
pub struct ServerTrust {
    file: Option<CaFile>,
}

impl ServerTrust {
    /// Reads `server_ca_file` (`None`: the built-in and the system's roots only). A file that
    /// cannot be used is a configuration error, never a quiet fallback to fewer roots.
    pub fn load(ca_file: Option<&Path>) -> Result<ServerTrust, AppError> {
        let Some(path) = ca_file else {
            return Ok(ServerTrust::default());
        };
        let file = CaFile::read(path).map_err(|detail| AppError::Config {
            detail: format!(
                "the certificate authority file {} could not be used: {detail}. Fix or remove server_ca_file",
                path.display()
            ),
        })?;
        Ok(ServerTrust { file: Some(file) })
    }
}

/// Talks to one clinic server. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct ClinicClient {
    http: reqwest::Client,
    /// For `GET /events`: no total timeout, since the stream is meant to stay open (the push
    /// client detects stalls itself).
    stream_http: reqwest::Client,
    base: Url,
    timeout: Duration,
}

impl ClinicClient {
    /// A client trusting the built-in and the system's roots only.
    pub fn new(base: Url, timeout: Duration) -> Result<ClinicClient, AppError> {
        ClinicClient::with_trust(base, timeout, &ServerTrust::default())
    }

    /// A client that also trusts `trust`'s certificate authorities.
    pub fn with_trust(
        base: Url,
        timeout: Duration,
        trust: &ServerTrust,
    ) -> Result<ClinicClient, AppError> {
        let builder = || {
            let mut builder = reqwest::Client::builder()
                .connect_timeout(timeout.min(Duration::from_secs(10)))
                .user_agent(concat!("consult-desktop/", env!("CARGO_PKG_VERSION")))
                // Redirects could carry the bearer token to another host; the API never redirects.
                .redirect(reqwest::redirect::Policy::none());
            for ca in trust.file.iter().flat_map(|file| &file.certificates) {
                builder = builder.add_root_certificate(ca.clone());
            }
            builder
        };
        let build_error = |error: reqwest::Error| AppError::Internal {
            detail: format!("cannot build the HTTP client: {error}"),
        };
        let http = builder().timeout(timeout).build().map_err(build_error)?;
        let stream_http = builder().build().map_err(build_error)?;
        Ok(ClinicClient {
            http,
            stream_http,
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

    /// `POST /auth/device-login`: a kiosk signs in with its device id and secret.
    pub async fn device_login(
        &self,
        device_id: &str,
        device_secret: &str,
    ) -> Result<AuthResponse, AppError> {
        let body = DeviceLoginRequest {
            device_id: device_id.to_owned(),
            device_secret: device_secret.to_owned(),
        };
        self.send(self.request(Method::POST, "auth/device-login")?.json(&body))
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

    /// `GET /appointments`: the caller's appointments that end after `from` (all when `None`).
    pub async fn appointments(
        &self,
        access_token: &str,
        from: Option<OffsetDateTime>,
    ) -> Result<Vec<Appointment>, AppError> {
        let mut request = self
            .request_to(Method::GET, &["appointments"])?
            .bearer_auth(access_token);
        if let Some(from) = from {
            let from = from
                .replace_nanosecond(0)
                .ok()
                .and_then(|from| from.format(&Rfc3339).ok())
                .ok_or_else(|| AppError::Internal {
                    detail: "cannot format the schedule's start time".into(),
                })?;
            request = request.query(&[("from", from)]);
        }
        self.send(request).await
    }

    pub async fn appointment(&self, access_token: &str, id: &str) -> Result<Appointment, AppError> {
        self.send(
            self.request_to(Method::GET, &["appointments", id])?
                .bearer_auth(access_token),
        )
        .await
    }

    /// `GET /sessions/{sessionId}/jwt`: the caller's Jitsi token and where to use it.
    pub async fn jitsi_session(
        &self,
        access_token: &str,
        session_id: &str,
    ) -> Result<JitsiSession, AppError> {
        self.send(
            self.request_to(Method::GET, &["sessions", session_id, "jwt"])?
                .bearer_auth(access_token),
        )
        .await
    }

    /// `POST /appointments` (doctors for themselves, administrators for anyone).
    pub async fn book_appointment(
        &self,
        access_token: &str,
        booking: &NewAppointment,
    ) -> Result<Appointment, AppError> {
        self.send(
            self.request_to(Method::POST, &["appointments"])?
                .bearer_auth(access_token)
                .json(booking),
        )
        .await
    }

    /// `GET /appointments/{id}/join-requests?status=pending` (the appointment's doctor).
    pub async fn pending_join_requests(
        &self,
        access_token: &str,
        appointment_id: &str,
    ) -> Result<Vec<JoinRequest>, AppError> {
        self.send(
            self.request_to(
                Method::GET,
                &["appointments", appointment_id, "join-requests"],
            )?
            .query(&[("status", "pending")])
            .bearer_auth(access_token),
        )
        .await
    }

    /// `POST /appointments/{id}/join-requests`: ask to be let in (agency, or a patient while the
    /// waiting room is on).
    pub async fn request_to_join(
        &self,
        access_token: &str,
        appointment_id: &str,
    ) -> Result<JoinRequest, AppError> {
        self.send(
            self.request_to(
                Method::POST,
                &["appointments", appointment_id, "join-requests"],
            )?
            .bearer_auth(access_token),
        )
        .await
    }

    pub async fn join_request(
        &self,
        access_token: &str,
        id: &str,
    ) -> Result<JoinRequest, AppError> {
        self.send(
            self.request_to(Method::GET, &["join-requests", id])?
                .bearer_auth(access_token),
        )
        .await
    }

    /// `POST /join-requests/{id}/withdraw`: the requester stops waiting. Repeating it is
    /// harmless; after a decision it is a 409.
    pub async fn withdraw_join_request(
        &self,
        access_token: &str,
        id: &str,
    ) -> Result<JoinRequest, AppError> {
        self.send(
            self.request_to(Method::POST, &["join-requests", id, "withdraw"])?
                .bearer_auth(access_token),
        )
        .await
    }

    /// `GET /kiosk/exit-pin` (kiosks): the exit PIN's hash and lockout rule, for checking a PIN
    /// while the server is away.
    pub async fn exit_pin_policy(&self, access_token: &str) -> Result<ExitPinPolicy, AppError> {
        self.send(
            self.request_to(Method::GET, &["kiosk", "exit-pin"])?
                .bearer_auth(access_token),
        )
        .await
    }

    /// `GET /health` (no sign-in): whether the server answers (the kiosk's self-test).
    pub async fn health(&self) -> Result<(), AppError> {
        self.send::<serde_json::Value>(self.request_to(Method::GET, &["health"])?)
            .await
            .map(drop)
    }

    /// `POST /devices/me/heartbeat` (kiosks): alive, and how.
    pub async fn heartbeat(
        &self,
        access_token: &str,
        beat: &Heartbeat,
    ) -> Result<HeartbeatAnswer, AppError> {
        self.send(
            self.request_to(Method::POST, &["devices", "me", "heartbeat"])?
                .bearer_auth(access_token)
                .json(beat),
        )
        .await
    }

    /// `POST /devices/enrolments` (no sign-in): a code for an unenrolled kiosk to show; the
    /// pickup key proves the later pickup is this kiosk's.
    pub async fn start_enrolment(&self, pickup_key: &str) -> Result<Enrolment, AppError> {
        let body = StartEnrolment {
            pickup_key: pickup_key.to_owned(),
        };
        self.send(
            self.request_to(Method::POST, &["devices", "enrolments"])?
                .json(&body),
        )
        .await
    }

    /// `POST /devices/enrolments/{id}/pickup` (no sign-in): still waiting, or the credential.
    pub async fn pick_up_enrolment(
        &self,
        enrolment_id: &str,
        pickup_key: &str,
    ) -> Result<Pickup, AppError> {
        let body = PickupRequest {
            pickup_key: pickup_key.to_owned(),
        };
        self.send(
            self.request_to(
                Method::POST,
                &["devices", "enrolments", enrolment_id, "pickup"],
            )?
            .json(&body),
        )
        .await
    }

    /// `POST /devices/claims` (administrators): claim the code a kiosk shows.
    pub async fn claim_enrolment(
        &self,
        access_token: &str,
        claim: &ClaimRequest,
    ) -> Result<DeviceStatus, AppError> {
        self.send(
            self.request_to(Method::POST, &["devices", "claims"])?
                .bearer_auth(access_token)
                .json(claim),
        )
        .await
    }

    /// `GET /devices` (administrators): every kiosk and its status.
    pub async fn devices(&self, access_token: &str) -> Result<Vec<DeviceStatus>, AppError> {
        self.send(
            self.request_to(Method::GET, &["devices"])?
                .bearer_auth(access_token),
        )
        .await
    }

    /// `POST /devices/{deviceId}/commands` (administrators): one command to one kiosk.
    pub async fn send_device_command(
        &self,
        access_token: &str,
        device_id: &str,
        command: &NewDeviceCommand,
    ) -> Result<DeviceCommand, AppError> {
        self.send(
            self.request_to(Method::POST, &["devices", device_id, "commands"])?
                .bearer_auth(access_token)
                .json(command),
        )
        .await
    }

    /// `POST /devices/me/secret` (kiosks): a new device secret, valid once first used.
    pub async fn rotate_secret(&self, access_token: &str) -> Result<RotatedSecret, AppError> {
        self.send(
            self.request_to(Method::POST, &["devices", "me", "secret"])?
                .bearer_auth(access_token),
        )
        .await
    }

    /// `POST /kiosk/exit-pin/check` (kiosks): the server checks and audits a typed PIN; a locked
    /// exit is [`AppError::RateLimited`].
    pub async fn check_exit_pin(
        &self,
        access_token: &str,
        pin: &str,
    ) -> Result<ExitPinVerdict, AppError> {
        self.send(
            self.request_to(Method::POST, &["kiosk", "exit-pin", "check"])?
                .bearer_auth(access_token)
                .json(&ExitPin {
                    pin: pin.to_owned(),
                }),
        )
        .await
    }

    /// Approves or rejects a join request. Repeating the same decision is harmless; the
    /// opposite one after a decision is a 409, reported as [`already_decided`].
    pub async fn decide_join_request(
        &self,
        access_token: &str,
        id: &str,
        decision: Decision,
    ) -> Result<JoinRequest, AppError> {
        let action = match decision {
            Decision::Admit => "approve",
            Decision::Decline => "reject",
        };
        self.send(
            self.request_to(Method::POST, &["join-requests", id, action])?
                .bearer_auth(access_token),
        )
        .await
        .map_err(|error| match error {
            AppError::Rejected { status: 409, .. } => already_decided(decision),
            other => other,
        })
    }

    /// `GET /notifications`, newest first; only unread ones with `unread_only`.
    pub async fn notifications(
        &self,
        access_token: &str,
        unread_only: bool,
    ) -> Result<Vec<Notification>, AppError> {
        let mut request = self
            .request_to(Method::GET, &["notifications"])?
            .bearer_auth(access_token);
        if unread_only {
            request = request.query(&[("unread", "true")]);
        }
        self.send(request).await
    }

    pub async fn mark_notification_read(
        &self,
        access_token: &str,
        id: &str,
    ) -> Result<Notification, AppError> {
        self.send(
            self.request_to(Method::POST, &["notifications", id, "read"])?
                .bearer_auth(access_token),
        )
        .await
    }

    /// `GET /events` as a streaming request, resuming after `last_event_id` when given. The
    /// caller reads the body as Server-Sent Events (see [`crate::push`]).
    pub fn events_request(
        &self,
        access_token: &str,
        last_event_id: Option<&str>,
    ) -> Result<RequestBuilder, AppError> {
        let url = self.url_to(&["events"])?;
        let mut request = self
            .stream_http
            .get(url)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .header(reqwest::header::CACHE_CONTROL, "no-cache");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        Ok(request)
    }

    /// Maps a failed request (no HTTP answer) to the error the user sees; for callers that send
    /// requests themselves, such as the push client.
    pub fn transport_failure(&self, error: &reqwest::Error) -> AppError {
        self.transport_error(error)
    }

    /// Maps a non-success answer to its error, as every other call does.
    pub async fn error_of(&self, response: Response) -> AppError {
        match self.read::<serde_json::Value>(response).await {
            Err(error) => error,
            Ok(_) => AppError::UnexpectedResponse {
                detail: "an error status with a success body".into(),
            },
        }
    }

    /// A URL under the base, each segment percent-encoded (ids are opaque strings).
    fn url_to(&self, segments: &[&str]) -> Result<Url, AppError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| AppError::Config {
                detail: format!("{} cannot be a base URL", self.base),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn request_to(&self, method: Method, segments: &[&str]) -> Result<RequestBuilder, AppError> {
        Ok(self.http.request(method, self.url_to(segments)?))
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
        } else if let Some(reason) = refused_certificate(error) {
            tracing::warn!(%server, %reason, "the clinic server's certificate is not trusted");
            AppError::ServerUntrusted { server, reason }
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

/// What the user reads when the server refuses a meeting token before the call opens.
const TOO_EARLY: &str =
    "Too early to join: the call opens 15 minutes before the appointment starts.";

fn map_api_error(status: StatusCode, error: ErrorBody) -> AppError {
    match (status, error.code.as_str()) {
        (_, codes::INVALID_CREDENTIALS) => AppError::InvalidCredentials,
        (StatusCode::UNAUTHORIZED, _) => AppError::SessionExpired,
        (_, codes::TOO_EARLY) => AppError::CallUnavailable {
            detail: TOO_EARLY.to_owned(),
        },
        _ => AppError::Rejected {
            status: status.as_u16(),
            reason: error.code,
            message: error.message,
        },
    }
}

/// The 409 of deciding a join request that was already decided the other way.
fn already_decided(decision: Decision) -> AppError {
    let (tried, done) = match decision {
        Decision::Admit => ("admitted", "declined"),
        Decision::Decline => ("declined", "admitted"),
    };
    AppError::Rejected {
        status: 409,
        reason: codes::CONFLICT.to_owned(),
        message: format!(
            "This join request was already {done} (perhaps from another device), so it cannot be {tried} now."
        ),
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
        let early = br#"{"success":false,"error":{"code":"too_early","message":"x"}}"#;
        assert_eq!(
            decode::<User>(StatusCode::CONFLICT, None, early).unwrap_err(),
            AppError::CallUnavailable {
                detail: TOO_EARLY.into()
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
