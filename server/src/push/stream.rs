//! `GET /events`: the caller's events as Server-Sent Events, resumable with `Last-Event-ID`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use consult_types::{EndEvent, ReadyEvent, StreamEndReason};
use futures_util::Stream;
use tokio::sync::watch;
use tokio::time::Instant;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::log::{self, LoggedEvent};
use crate::app::AppState;
use crate::auth::refresh_token::{self, SessionState};
use crate::auth::{AuthSession, Sessions};
use crate::error::{error_chain, ApiError};

/// Events read from the log per query.
const BATCH: i64 = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(events))
}

#[utoipa::path(
    get,
    path = "/events",
    operation_id = "streamEvents",
    tag = "events",
    summary = "Stream the caller's events (Server-Sent Events)",
    description = "A `text/event-stream` of the caller's notifications and state changes. Every \
        message has an `event:` type, and all but `end` an `id:`, the per-user sequence number. \
        A client that reconnects with `Last-Event-ID` receives everything it missed, in order, \
        exactly once.\n\n\
        Event types (`data:` is JSON):\n\
        - `ready`: first message, `ReadyEvent` `{\"lastEventId\": n, \"resync\": bool}`. \
        `resync: true` means the missed events cannot be replayed (they were pruned, or the \
        server's data was replaced): reload state through the other endpoints.\n\
        - `notification`: a `Notification`.\n\
        - `appointment`: an `Appointment` that was booked, changed, cancelled, started or ended.\n\
        - `join_request`: a `JoinRequest` that was created, decided or withdrawn.\n\
        - `end`: last message, `EndEvent` `{\"reason\": …}`; the server closes the stream. \
        `token_expired`: reconnect with a fresh access token; `session_ended`: the session was \
        logged out or the account disabled; `server_stopping`, `server_error`: reconnect later. \
        Resume with the last `id` received.\n\n\
        Heartbeats: an SSE comment (`: heartbeat`) after every idle interval (15 s by default, \
        `sse_heartbeat_secs`) keeps proxies from closing the connection; each interval the \
        server also checks that the session is still live.",
    params(crate::openapi::LastEventIdHeader),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream",
            body = String, example = "event: ready\nid: 41\ndata: {\"lastEventId\":41,\"resync\":false}\n\n: heartbeat\n\nid: 42\nevent: notification\ndata: {\"id\":\"ntf_…\",\"kind\":\"video_call_ready\",…}\n\n"),
        (status = 400, description = "`malformed_request`: `Last-Event-ID` is not the id of an \
            event this server sent", body = crate::openapi::ErrorEnvelope),
        (status = 401, response = crate::openapi::Unauthorized),
        (status = 500, response = crate::openapi::InternalError),
    ),
)]
async fn events(
    State(state): State<AppState>,
    session: AuthSession,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume_from = last_event_id(&headers)?;
    // Subscribed before reading the counter, so an event committed in between still wakes us.
    let wake = state.hub.subscribe(&session.user_id);
    let latest = log::last_seq(&state.db, &session.user_id).await?;
    let (start, resync) = match resume_from {
        None => (latest, false),
        // The client knows numbers this log never reached (the server's data was replaced):
        // its state is unreliable, so it must reload rather than wait for events that never come.
        Some(seen) if seen > latest => (latest, true),
        Some(seen) => {
            // Events after `seen` were pruned: the gap cannot be replayed, so resync.
            let oldest_kept = log::first_seq(&state.db, &session.user_id).await?;
            let pruned = seen < latest && oldest_kept.is_none_or(|first| first > seen + 1);
            (seen, pruned)
        }
    };
    let seconds_left = session.expires_at.saturating_sub(state.clock.now_unix());
    // Each heartbeat interval the stream also checks that its session was not ended (logout,
    // a disabled account), so an ended session's stream closes within one interval.
    let heartbeat = Duration::from_secs(state.sse_heartbeat_secs);
    let cursor = Cursor {
        ready: Some(with_json(
            Event::default()
                .event(ReadyEvent::EVENT)
                .id(start.to_string()),
            &ReadyEvent {
                last_event_id: start,
                resync,
            },
        )),
        state: state.clone(),
        session,
        last: start,
        pending: VecDeque::new(),
        needs_read: true,
        wake,
        expires: Instant::now() + Duration::from_secs(u64::try_from(seconds_left).unwrap_or(0)),
        next_session_check: Instant::now() + heartbeat,
        session_check: heartbeat,
        stopping: state.stopping.clone(),
        done: false,
    };
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        cursor.next().await.map(|event| (Ok(event), cursor))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(heartbeat).text("heartbeat")))
}

/// `Last-Event-ID`: absent, or the number of the last event the client received.
fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i64>() {
        Ok(seq) if seq >= 0 => Ok(Some(seq)),
        _ => Err(ApiError::Malformed(
            "Last-Event-ID must be the id of an event this server sent".to_owned(),
        )),
    }
}

/// Why a waiting stream woke up.
enum Woke {
    NewEvents,
    Expired,
    Stopping,
    SessionCheck,
}

/// One open stream's position and what it waits on.
struct Cursor {
    ready: Option<Event>,
    state: AppState,
    session: AuthSession,
    /// The number of the last event sent (or the resume point).
    last: i64,
    pending: VecDeque<LoggedEvent>,
    /// Whether the log may hold events not yet read; only wake-ups set it, so an idle stream's
    /// periodic session check costs one query, not two.
    needs_read: bool,
    wake: watch::Receiver<u64>,
    /// When the access token that opened the stream expires.
    expires: Instant,
    next_session_check: Instant,
    session_check: Duration,
    /// Turns true when the server shuts down.
    stopping: watch::Receiver<bool>,
    done: bool,
}

impl Cursor {
    /// The next message, or `None` to close the stream.
    async fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        if let Some(ready) = self.ready.take() {
            return Some(ready);
        }
        loop {
            if let Some(logged) = self.pending.pop_front() {
                self.last = logged.seq;
                return Some(
                    Event::default()
                        .id(logged.seq.to_string())
                        .event(logged.event_type)
                        .data(logged.data),
                );
            }
            if self.needs_read {
                // Seen before reading, so a wake-up that arrives during the read is not lost.
                self.wake.borrow_and_update();
                self.needs_read = false;
                match log::read_after(&self.state.db, &self.session.user_id, self.last, BATCH).await
                {
                    Ok(events) if !events.is_empty() => {
                        // A full batch may have more behind it: read again once it is sent.
                        self.needs_read = i64::try_from(events.len()).is_ok_and(|n| n >= BATCH);
                        self.pending.extend(events);
                        continue;
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::error!(error = %error_chain(&error), "event stream cannot read the log");
                        return Some(self.end(StreamEndReason::ServerError));
                    }
                }
            }
            let woke = tokio::select! {
                changed = self.wake.changed() => {
                    if changed.is_err() { Woke::Stopping } else { Woke::NewEvents }
                }
                () = tokio::time::sleep_until(self.expires) => Woke::Expired,
                _ = self.stopping.wait_for(|stopping| *stopping) => Woke::Stopping,
                () = tokio::time::sleep_until(self.next_session_check) => Woke::SessionCheck,
            };
            match woke {
                Woke::NewEvents => self.needs_read = true,
                Woke::Expired => return Some(self.end(StreamEndReason::TokenExpired)),
                Woke::Stopping => return Some(self.end(StreamEndReason::ServerStopping)),
                Woke::SessionCheck => {
                    self.next_session_check = Instant::now() + self.session_check;
                    // The timer above runs on the system's time; this ends the stream when the
                    // server's clock says the token is over (only ever first when tests move it).
                    if self.state.clock.now_unix() > self.session.expires_at {
                        return Some(self.end(StreamEndReason::TokenExpired));
                    }
                    if !self.session_is_active().await {
                        return Some(self.end(StreamEndReason::SessionEnded));
                    }
                }
            }
        }
    }

    async fn session_is_active(&self) -> bool {
        matches!(
            refresh_token::session_state(
                &self.state.db,
                &self.session.family_id,
                &self.session.user_id,
                Sessions::from_ref(&self.state).born_by(),
            )
            .await,
            Ok(SessionState::Active)
        )
    }

    /// The last message: why the stream ends. The client reconnects (with a fresh token when the
    /// reason is `token_expired`) and resumes from the last id it received.
    fn end(&mut self, reason: StreamEndReason) -> Event {
        self.done = true;
        let user_id = &self.session.user_id;
        tracing::debug!(%user_id, reason = reason.as_str(), "event stream ends");
        with_json(
            Event::default().event(EndEvent::EVENT),
            &EndEvent { reason },
        )
    }
}

/// `event` with `payload` as its JSON `data:` (the types the client reads, from consult-types).
fn with_json<T: serde::Serialize>(event: Event, payload: &T) -> Event {
    // `ReadyEvent` and `EndEvent` are numbers, booleans and unit variants, which always
    // serialize; an empty `data:` would make the client reload (ready) or reconnect (end).
    let data = serde_json::to_string(payload).unwrap_or_default();
    event.data(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_id(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "last-event-id",
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    #[test]
    fn last_event_id_is_a_non_negative_number_or_absent() {
        assert_eq!(last_event_id(&HeaderMap::new()).ok(), Some(None));
        assert_eq!(last_event_id(&with_id("")).ok(), Some(None));
        assert_eq!(last_event_id(&with_id(" 42 ")).ok(), Some(Some(42)));
        assert!(last_event_id(&with_id("-1")).is_err());
        assert!(last_event_id(&with_id("abc")).is_err());
        assert!(last_event_id(&with_id("99999999999999999999999")).is_err());
    }
}
