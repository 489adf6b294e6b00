//! The push client: one `GET /events` Server-Sent Events stream per signed-in session, kept
//! open for as long as the session lives.
//!
//! - Reconnects with capped exponential backoff and jitter, resuming with `Last-Event-ID`, so
//!   the server replays exactly what was missed.
//! - A stream that sends no bytes (not even a heartbeat comment) for the stall timeout is
//!   dropped and reconnected: proxies and sleeping laptops leave half-open connections behind.
//! - A 401 (or `end: session_ended`) asks the session for a fresh token once; when the session
//!   is over, [`run`] returns [`AppError::SessionExpired`].
//! - Malformed events are logged by type only (never their contents) and skipped.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use eventsource_stream::{EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;

use consult_types::{
    AppError, Appointment, EndEvent, JoinRequest, PushEvent, ReadyEvent, StreamEndReason,
};

use crate::session::SessionManager;

/// Environment variable overriding the stall timeout, in seconds (tests use a few seconds).
pub const STALL_ENV: &str = "CONSULT_PUSH_STALL_SECS";
/// 2.5 of the server's 15-second heartbeats, plus a little.
pub const DEFAULT_STALL: Duration = Duration::from_secs(40);

#[derive(Debug, Clone)]
pub struct PushOptions {
    /// No bytes for this long: the connection is considered dead.
    pub stall_timeout: Duration,
    /// First reconnect delay (before jitter); doubles per failure up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for PushOptions {
    fn default() -> PushOptions {
        PushOptions {
            stall_timeout: DEFAULT_STALL,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl PushOptions {
    /// The defaults, with `CONSULT_PUSH_STALL_SECS` applied when it is a positive number.
    pub fn from_env() -> PushOptions {
        let mut options = PushOptions::default();
        match std::env::var(STALL_ENV)
            .ok()
            .map(|text| text.trim().parse::<u64>())
        {
            Some(Ok(secs)) if secs > 0 => options.stall_timeout = Duration::from_secs(secs),
            Some(_) => tracing::warn!("{STALL_ENV} is not a positive number of seconds; ignored"),
            None => {}
        }
        options
    }
}

/// What the stream tells its handler, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushUpdate {
    /// A connection attempt starts.
    Connecting,
    /// The stream is open. `reload`: state must be (re)loaded from the API, because this is the
    /// first connection or the server could not replay what was missed (`resync`).
    Ready { reload: bool },
    /// Boxed: an appointment is large, and the other updates are frequent and small.
    Event(Box<PushEvent>),
    /// The connection is lost; the next attempt is in `retry_in`.
    Offline { reason: String, retry_in: Duration },
}

/// Receives the stream's updates. An error from handling `Ready` drops the connection and makes
/// the next one reload again; [`AppError::SessionExpired`] or [`AppError::NotSignedIn`] ends
/// [`run`].
pub trait PushHandler: Send {
    fn handle(&mut self, update: PushUpdate) -> impl Future<Output = Result<(), AppError>> + Send;
}

/// Keeps the stream open until the session ends; returns why it ended.
pub async fn run<H: PushHandler>(
    session: &SessionManager,
    options: &PushOptions,
    handler: &mut H,
) -> AppError {
    let mut stream = Resumable {
        last_event_id: None,
        must_reload: true,
        backoff: backoff(options),
    };
    // Whether the last attempt already refreshed after a 401: a second 401 ends the session.
    let mut refreshed_after_401 = false;
    loop {
        if let Err(error) = handler.handle(PushUpdate::Connecting).await {
            if is_session_over(&error) {
                return error;
            }
        }
        let token = match session.access_token().await {
            Ok(token) => token,
            Err(error) if is_session_over(&error) => return error,
            Err(error) => {
                if let Some(ended) = stream.wait(options, handler, error.to_string()).await {
                    return ended;
                }
                continue;
            }
        };
        let outcome = stream.connect(session, options, &token, handler).await;
        if !matches!(outcome, Outcome::Unauthorized) {
            refreshed_after_401 = false;
        }
        let reason = match outcome {
            Outcome::SessionOver(error) => return error,
            Outcome::Unauthorized | Outcome::Ended(Some(StreamEndReason::SessionEnded)) => {
                if refreshed_after_401 {
                    return AppError::SessionExpired;
                }
                match session.refreshed_token(&token).await {
                    Ok(_) => {
                        refreshed_after_401 = true;
                        continue;
                    }
                    Err(error) if is_session_over(&error) => return error,
                    Err(error) => error.to_string(),
                }
            }
            // The token that opened the stream expired: reconnect at once with a fresh one.
            Outcome::Ended(Some(StreamEndReason::TokenExpired)) => continue,
            Outcome::Ended(Some(StreamEndReason::ServerStopping)) => {
                "The clinic server is restarting.".to_owned()
            }
            Outcome::Ended(Some(StreamEndReason::ServerError) | None) => {
                "The clinic server closed the connection.".to_owned()
            }
            Outcome::Failed(reason) => reason,
        };
        if let Some(ended) = stream.wait(options, handler, reason).await {
            return ended;
        }
    }
}

fn is_session_over(error: &AppError) -> bool {
    matches!(error, AppError::SessionExpired | AppError::NotSignedIn)
}

/// Capped exponential backoff with jitter (backon adds up to one more delay at random).
fn backoff(options: &PushOptions) -> ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(options.min_backoff)
        .with_max_delay(options.max_backoff)
        .with_factor(2.0)
        .with_jitter()
        .with_total_delay(None)
        .without_max_times()
        .build()
}

/// Where the stream stands between connections.
struct Resumable {
    /// The last `id:` received: the resume point.
    last_event_id: Option<String>,
    /// The next `ready` must reload state (first connection, a failed reload, a lost position).
    must_reload: bool,
    backoff: ExponentialBackoff,
}

enum Outcome {
    /// 401 when connecting.
    Unauthorized,
    /// The server sent `end`; `None` when its reason is not one this client knows.
    Ended(Option<StreamEndReason>),
    Failed(String),
    SessionOver(AppError),
}

/// Why reading the body stopped.
enum BodyFailure<E> {
    Stalled,
    Transport(E),
}

impl Resumable {
    /// Reports the loss and sleeps until the next attempt. `Some` when the session is over.
    async fn wait<H: PushHandler>(
        &mut self,
        options: &PushOptions,
        handler: &mut H,
        reason: String,
    ) -> Option<AppError> {
        let delay = self
            .backoff
            .next()
            .unwrap_or(options.max_backoff)
            .min(options.max_backoff);
        tracing::info!(
            retry_in_ms = delay.as_millis() as u64,
            "push stream offline"
        );
        let update = PushUpdate::Offline {
            reason,
            retry_in: delay,
        };
        if let Err(error) = handler.handle(update).await {
            if is_session_over(&error) {
                return Some(error);
            }
        }
        tokio::time::sleep(delay).await;
        None
    }

    async fn connect<H: PushHandler>(
        &mut self,
        session: &SessionManager,
        options: &PushOptions,
        token: &str,
        handler: &mut H,
    ) -> Outcome {
        let client = session.client();
        let request = match client.events_request(token, self.last_event_id.as_deref()) {
            Ok(request) => request,
            Err(error) => return Outcome::Failed(error.to_string()),
        };
        let response = match tokio::time::timeout(options.stall_timeout, request.send()).await {
            Err(_) => return Outcome::Failed(stalled_reason()),
            Ok(Err(error)) => return Outcome::Failed(client.transport_failure(&error).to_string()),
            Ok(Ok(response)) => response,
        };
        match response.status() {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED => return Outcome::Unauthorized,
            // The server does not know our resume point: start afresh and reload.
            StatusCode::BAD_REQUEST if self.last_event_id.is_some() => {
                tracing::warn!("the server refused the resume point; reloading");
                self.last_event_id = None;
                self.must_reload = true;
                return Outcome::Failed("The connection to the clinic server was reset.".into());
            }
            _ => return Outcome::Failed(client.error_of(response).await.to_string()),
        }
        let is_event_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        if !is_event_stream {
            return Outcome::Failed(
                AppError::UnexpectedResponse {
                    detail: "GET /events is not an event stream".into(),
                }
                .to_string(),
            );
        }
        let mut events =
            pin!(stall_guarded(response.bytes_stream(), options.stall_timeout).eventsource());
        while let Some(item) = events.next().await {
            let event = match item {
                Ok(event) => event,
                Err(EventStreamError::Transport(BodyFailure::Stalled)) => {
                    tracing::info!("push stream stalled; reconnecting");
                    return Outcome::Failed(stalled_reason());
                }
                Err(EventStreamError::Transport(BodyFailure::Transport(_))) => {
                    return Outcome::Failed(lost_reason());
                }
                Err(EventStreamError::Utf8(_) | EventStreamError::Parser(_)) => {
                    tracing::warn!("push stream is not valid SSE; reconnecting");
                    return Outcome::Failed(lost_reason());
                }
            };
            if !event.id.is_empty() {
                self.last_event_id = Some(event.id.clone());
            }
            let update = match event.event.as_str() {
                ReadyEvent::EVENT => {
                    let resync = serde_json::from_str::<ReadyEvent>(&event.data)
                        .map(|ready| ready.resync)
                        // Unsure what was missed: reload to be safe.
                        .unwrap_or(true);
                    self.backoff = backoff(options);
                    let reload = resync || self.must_reload;
                    match handler.handle(PushUpdate::Ready { reload }).await {
                        Ok(()) => {
                            self.must_reload = false;
                            continue;
                        }
                        Err(error) if is_session_over(&error) => {
                            return Outcome::SessionOver(error)
                        }
                        Err(error) => {
                            self.must_reload = true;
                            return Outcome::Failed(error.to_string());
                        }
                    }
                }
                EndEvent::EVENT => {
                    // A reason from a newer server is still an end: reconnect later.
                    let reason = serde_json::from_str::<EndEvent>(&event.data)
                        .ok()
                        .map(|end| end.reason);
                    tracing::info!(
                        reason = reason.map_or("unknown", StreamEndReason::as_str),
                        "push stream ended by the server"
                    );
                    return Outcome::Ended(reason);
                }
                "notification" => {
                    parse::<consult_types::Notification>(&event.data).map(PushEvent::Notification)
                }
                "appointment" => parse::<Appointment>(&event.data).map(PushEvent::Appointment),
                "join_request" => parse::<JoinRequest>(&event.data).map(PushEvent::JoinRequest),
                // Administrators' fleet view.
                "device_status" => {
                    parse::<consult_types::DeviceStatus>(&event.data).map(PushEvent::DeviceStatus)
                }
                // A kiosk's own stream: what an administrator asked of it.
                "device_command" => {
                    parse::<consult_types::DeviceCommand>(&event.data).map(PushEvent::DeviceCommand)
                }
                _ => {
                    tracing::debug!(event_type = %event.event, "ignored an unknown push event type");
                    continue;
                }
            };
            match update {
                Some(push_event) => {
                    if let Err(error) = handler
                        .handle(PushUpdate::Event(Box::new(push_event)))
                        .await
                    {
                        if is_session_over(&error) {
                            return Outcome::SessionOver(error);
                        }
                    }
                }
                None => {
                    // Only the type: the contents may name patients.
                    tracing::warn!(event_type = %event.event, "skipped a malformed push event");
                }
            }
        }
        Outcome::Failed(lost_reason())
    }
}

fn parse<T: serde::de::DeserializeOwned>(data: &str) -> Option<T> {
    serde_json::from_str::<T>(data).ok()
}

fn stalled_reason() -> String {
    "The clinic server stopped answering.".to_owned()
}

fn lost_reason() -> String {
    "The connection to the clinic server was lost.".to_owned()
}

/// Passes the body's chunks through, ending with [`BodyFailure::Stalled`] when none arrives for
/// `stall`. Heartbeats are SSE comments, which the parser swallows, so stalls must be measured
/// on the bytes, before parsing.
fn stall_guarded<S, B, E>(body: S, stall: Duration) -> impl Stream<Item = Result<B, BodyFailure<E>>>
where
    S: Stream<Item = Result<B, E>>,
{
    futures_util::stream::unfold(Some(Box::pin(body)), move |body| async move {
        let mut body = body?;
        match tokio::time::timeout(stall, body.next()).await {
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(Some(Err(error))) => Some((Err(BodyFailure::Transport(error)), None)),
            Ok(None) => None,
            Err(_) => Some((Err(BodyFailure::Stalled), None)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let options = PushOptions {
            stall_timeout: DEFAULT_STALL,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        };
        let delays: Vec<Duration> = backoff(&options)
            .take(12)
            .map(|delay| delay.min(options.max_backoff))
            .collect();
        assert_eq!(delays.len(), 12, "never gives up");
        assert!(delays[0] >= Duration::from_secs(1) && delays[0] <= Duration::from_secs(2));
        assert!(delays[4] >= Duration::from_secs(16), "{delays:?}");
        assert!(delays.iter().all(|delay| *delay <= Duration::from_secs(30)));
        let again: Vec<Duration> = backoff(&options).take(12).collect();
        assert_ne!(
            delays.iter().take(4).collect::<Vec<_>>(),
            again.iter().take(4).collect::<Vec<_>>(),
            "jitter spreads reconnects of many clients"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_body_is_reported_as_stalled() {
        let body = futures_util::stream::iter([Ok::<_, ()>(b"a".to_vec())])
            .chain(futures_util::stream::pending());
        let mut guarded = pin!(stall_guarded(body, Duration::from_secs(40)));
        assert!(matches!(guarded.next().await, Some(Ok(_))));
        assert!(matches!(
            guarded.next().await,
            Some(Err(BodyFailure::Stalled))
        ));
        assert!(guarded.next().await.is_none());
    }
}
