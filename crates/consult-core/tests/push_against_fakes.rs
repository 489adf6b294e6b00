//! The push client against small scripted servers that do what the real one rarely does: go
//! silent, send broken events, ask for a resync, refuse the token.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use consult_core::clinic::ClinicClient;
use consult_core::push::{self, PushHandler, PushOptions, PushUpdate};
use consult_core::secrets::{MemoryOnlyStore, SecretStore};
use consult_core::session::SessionManager;
use consult_types::{AppError, JoinRequest, JoinRequestStatus, PushEvent, Role};
use futures_util::StreamExt;
use serde_json::json;
use time::macros::datetime;
use url::Url;

/// What `GET /events` answers on one connection.
#[derive(Clone)]
enum Reply {
    Status(StatusCode),
    /// These bytes, then the connection stays open and silent.
    Hang(String),
    /// These bytes, then closed.
    Close(String),
    /// The first bytes, then a heartbeat comment every 300 ms, and after ten of them the second.
    Heartbeats(String, String),
}

#[derive(Default)]
struct Fake {
    script: Vec<Reply>,
    refuse_refresh: bool,
    /// `Last-Event-ID` and bearer token of each connection.
    connections: Mutex<Vec<(Option<String>, String)>>,
    refreshes: Mutex<usize>,
}

fn tokens(access: &str) -> serde_json::Value {
    json!({"success": true, "data": {
        "user": {"id": "usr_d", "email": "d@clinic.test", "firstName": "Ada",
                 "lastName": "Lovelace", "role": "doctor"},
        "tokens": {"accessToken": access, "refreshToken": format!("refresh-{access}"), "expiresIn": 900}
    }})
}

async fn login() -> Json<serde_json::Value> {
    Json(tokens("token-0"))
}

async fn refresh(State(fake): State<Arc<Fake>>) -> Response {
    if fake.refuse_refresh {
        let body = json!({"success": false, "error": {"code": "invalid_token", "message": "no"}});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let mut count = fake.refreshes.lock().unwrap();
    *count += 1;
    Json(tokens(&format!("token-{count}"))).into_response()
}

async fn events(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let index = {
        let mut connections = fake.connections.lock().unwrap();
        connections.push((
            header("last-event-id"),
            header("authorization").unwrap_or_default(),
        ));
        connections.len() - 1
    };
    let reply = fake.script[index.min(fake.script.len() - 1)].clone();
    let body = match reply {
        Reply::Status(status) => {
            let body =
                json!({"success": false, "error": {"code": "token_expired", "message": "x"}});
            return (status, Json(body)).into_response();
        }
        Reply::Hang(text) => Body::from_stream(
            futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from(text))])
                .chain(futures_util::stream::pending()),
        ),
        Reply::Close(text) => Body::from(text),
        Reply::Heartbeats(text, later) => Body::from_stream(
            futures_util::stream::iter([Ok::<_, Infallible>(Bytes::from(text))]).chain(
                futures_util::stream::unfold(0, move |sent| {
                    let later = later.clone();
                    async move {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        let mut bytes = String::from(": heartbeat\n\n");
                        if sent == 9 {
                            bytes.push_str(&later);
                        }
                        Some((Ok(Bytes::from(bytes)), sent + 1))
                    }
                }),
            ),
        ),
    };
    ([("content-type", "text/event-stream")], body).into_response()
}

async fn serve(fake: Arc<Fake>) -> Arc<SessionManager> {
    let router = Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/events", get(events))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let base = Url::parse(&format!("http://{address}/")).unwrap();
    let client = ClinicClient::new(base, Duration::from_secs(5)).unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryOnlyStore);
    let session = Arc::new(SessionManager::new(client, store));
    session.login("d@clinic.test", "pw").await.unwrap();
    session
}

#[derive(Clone, Default)]
struct Updates(Arc<Mutex<Vec<PushUpdate>>>);

impl PushHandler for Updates {
    async fn handle(&mut self, update: PushUpdate) -> Result<(), AppError> {
        self.0.lock().unwrap().push(update);
        Ok(())
    }
}

impl Updates {
    fn all(&self) -> Vec<PushUpdate> {
        self.0.lock().unwrap().clone()
    }

    /// The updates other than `Connecting`.
    fn significant(&self) -> Vec<PushUpdate> {
        self.all()
            .into_iter()
            .filter(|u| *u != PushUpdate::Connecting)
            .collect()
    }

    async fn wait_for(&self, what: &str, condition: impl Fn(&[PushUpdate]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !condition(&self.significant()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn options(stall_secs: u64) -> PushOptions {
    PushOptions {
        stall_timeout: Duration::from_secs(stall_secs),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    }
}

/// Runs the push client in the background.
fn run(
    session: &Arc<SessionManager>,
    options: PushOptions,
) -> (Updates, tokio::task::JoinHandle<AppError>) {
    let updates = Updates::default();
    let mut handler = updates.clone();
    let session = Arc::clone(session);
    let task = tokio::spawn(async move { push::run(&session, &options, &mut handler).await });
    (updates, task)
}

fn ready(id: u64, resync: bool) -> String {
    format!("event: ready\nid: {id}\ndata: {{\"lastEventId\":{id},\"resync\":{resync}}}\n\n")
}

fn end(reason: &str) -> String {
    format!("event: end\ndata: {{\"reason\":\"{reason}\"}}\n\n")
}

fn join_request_event(id: u64) -> String {
    format!(
        "id: {id}\nevent: join_request\ndata: {}\n\n",
        serde_json::to_string(&join_request()).unwrap()
    )
}

fn join_request() -> JoinRequest {
    JoinRequest {
        id: "jrq_1".into(),
        appointment_id: "apt_1".into(),
        session_id: "ses_1".into(),
        requester_id: "usr_a".into(),
        requester_name: "Sunrise Care".into(),
        requester_role: Role::Agency,
        status: JoinRequestStatus::Pending,
        requested_at: datetime!(2030-01-01 10:00 UTC),
        decided_at: None,
    }
}

#[tokio::test]
async fn malformed_events_are_skipped_and_the_stream_resumes_where_it_left_off() {
    let first = format!(
        "{}id: 6\nevent: appointment\ndata: {{\"id\": \"broken\"}}\n\nid: 7\nevent: join_request\ndata: {}\n\n",
        ready(5, false),
        serde_json::to_string(&join_request()).unwrap()
    );
    let fake = Arc::new(Fake {
        script: vec![
            Reply::Close(first),
            Reply::Hang(ready(7, true)),
            Reply::Hang(ready(7, false)),
        ],
        ..Fake::default()
    });
    let session = serve(Arc::clone(&fake)).await;
    let (updates, task) = run(&session, options(30));
    updates.wait_for("the resync", |u| u.len() >= 4).await;
    let significant = updates.significant();
    assert_eq!(
        significant[0],
        PushUpdate::Ready { reload: true },
        "first connect loads"
    );
    assert_eq!(
        significant[1],
        PushUpdate::Event(Box::new(PushEvent::JoinRequest(join_request()))),
        "the broken appointment is skipped: {significant:?}"
    );
    assert!(matches!(significant[2], PushUpdate::Offline { .. }));
    assert_eq!(
        significant[3],
        PushUpdate::Ready { reload: true },
        "resync reloads"
    );
    let connections = fake.connections.lock().unwrap().clone();
    assert_eq!(connections[0].0, None);
    assert_eq!(
        connections[1].0.as_deref(),
        Some("7"),
        "resumes after the last id"
    );
    assert_eq!(connections[0].1, "Bearer token-0");
    task.abort();
}

#[tokio::test]
async fn a_silent_stream_is_dropped_and_heartbeats_keep_one_alive() {
    let fake = Arc::new(Fake {
        script: vec![
            Reply::Hang(ready(1, false)),
            Reply::Heartbeats(ready(1, false), join_request_event(2)),
        ],
        ..Fake::default()
    });
    let session = serve(Arc::clone(&fake)).await;
    let started = tokio::time::Instant::now();
    let (updates, task) = run(&session, options(1));
    updates
        .wait_for("a reconnect", |u| {
            u.iter()
                .filter(|u| matches!(u, PushUpdate::Ready { .. }))
                .count()
                == 2
        })
        .await;
    assert!(started.elapsed() >= Duration::from_secs(1));
    let offline = updates
        .significant()
        .into_iter()
        .find_map(|u| match u {
            PushUpdate::Offline { reason, .. } => Some(reason),
            _ => None,
        })
        .unwrap();
    assert!(offline.contains("stopped answering"), "{offline}");
    assert_eq!(
        updates.significant()[2],
        PushUpdate::Ready { reload: false },
        "a plain reconnect does not reload"
    );
    // Heartbeats every 300 ms, then an event on the same connection after three stall timeouts:
    // nothing may come between the second `ready` and that event.
    updates
        .wait_for("the event after the heartbeats", |u| {
            u.iter().any(|u| matches!(u, PushUpdate::Event(_)))
        })
        .await;
    assert_eq!(
        updates.significant()[2..],
        [
            PushUpdate::Ready { reload: false },
            PushUpdate::Event(Box::new(PushEvent::JoinRequest(join_request()))),
        ],
        "no reconnect while heartbeats arrive"
    );
    assert_eq!(fake.connections.lock().unwrap().len(), 2);
    task.abort();
}

#[tokio::test]
async fn each_end_reason_is_acted_on_and_an_unknown_one_is_an_end_too() {
    let fake = Arc::new(Fake {
        script: vec![
            Reply::Close(ready(1, false) + &end("token_expired")),
            Reply::Close(ready(1, false) + &end("server_stopping")),
            Reply::Close(ready(1, false) + &end("from_a_newer_server")),
            Reply::Hang(ready(1, false)),
        ],
        ..Fake::default()
    });
    let session = serve(Arc::clone(&fake)).await;
    let (updates, task) = run(&session, options(30));
    updates
        .wait_for("the fourth connection", |u| {
            u.iter()
                .filter(|u| matches!(u, PushUpdate::Ready { .. }))
                .count()
                == 4
        })
        .await;
    let significant = updates.significant();
    let offline: Vec<&str> = significant
        .iter()
        .filter_map(|u| match u {
            PushUpdate::Offline { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    // `token_expired` reconnects at once, with no `Offline` in between.
    assert_eq!(
        significant[..2],
        [
            PushUpdate::Ready { reload: true },
            PushUpdate::Ready { reload: false }
        ],
        "{significant:?}"
    );
    assert_eq!(
        offline,
        [
            "The clinic server is restarting.",
            "The clinic server closed the connection."
        ]
    );
    assert_eq!(fake.connections.lock().unwrap().len(), 4);
    task.abort();
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_reconnects() {
    let fake = Arc::new(Fake {
        script: vec![
            Reply::Status(StatusCode::UNAUTHORIZED),
            Reply::Hang(ready(3, false)),
        ],
        ..Fake::default()
    });
    let session = serve(Arc::clone(&fake)).await;
    let (updates, task) = run(&session, options(30));
    updates
        .wait_for("ready", |u| u.contains(&PushUpdate::Ready { reload: true }))
        .await;
    assert_eq!(*fake.refreshes.lock().unwrap(), 1);
    let connections = fake.connections.lock().unwrap().clone();
    assert_eq!(
        connections[1].1, "Bearer token-1",
        "the fresh token is used"
    );
    task.abort();
}

#[tokio::test]
async fn a_401_with_a_refused_refresh_ends_the_session() {
    let fake = Arc::new(Fake {
        script: vec![Reply::Status(StatusCode::UNAUTHORIZED)],
        refuse_refresh: true,
        ..Fake::default()
    });
    let session = serve(Arc::clone(&fake)).await;
    let (_updates, task) = run(&session, options(30));
    let ended = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended, AppError::SessionExpired);
    assert!(session.current().await.is_none());
}

#[tokio::test]
async fn a_server_that_keeps_refusing_fresh_tokens_ends_the_session_instead_of_looping() {
    let fake = Arc::new(Fake {
        script: vec![Reply::Status(StatusCode::UNAUTHORIZED)],
        ..Fake::default()
    });
    let session = serve(Arc::clone(&fake)).await;
    let (_updates, task) = run(&session, options(30));
    let ended = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended, AppError::SessionExpired);
    assert_eq!(*fake.refreshes.lock().unwrap(), 1, "one refresh only");
}
