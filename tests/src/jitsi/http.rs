//! The stand-in's HTTPS server: TLS with rustls (ring), routes with axum on hyper.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::Stream;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use prosody_rules::Rejection;
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::certs::Pki;
use super::{room_key, CommandRecord, JoinRecord, Shared};

type SharedState = Arc<Shared>;

pub(crate) fn tls_config(pki: &Pki) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.leaf_key.clone_key())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shared: SharedState,
) {
    let acceptor = TlsAcceptor::from(tls);
    let router = router(shared);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "jitsi stand-in accept failed");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let stream = match acceptor.accept(tcp).await {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::debug!(%peer, %error, "jitsi stand-in TLS handshake failed");
                    return;
                }
            };
            let service = TowerToHyperService::new(router);
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, %error, "jitsi stand-in connection ended");
            }
        });
    }
}

fn router(shared: SharedState) -> Router {
    Router::new()
        .route("/external_api.js", get(external_api))
        .route("/config.js", get(config_js))
        .route("/libs/meeting.js", get(meeting_js))
        .route("/_standin/join", post(join))
        .route("/_standin/commands", post(command))
        .route("/_standin/probe", post(probe))
        .route("/_standin/media", post(media))
        .route("/_standin/script", get(script))
        .route("/_standin/test-host.html", get(test_host))
        .fallback(fallback)
        .layer(axum::middleware::map_response(common_headers))
        .with_state(shared)
}

/// No caching anywhere; the report endpoints are posted to from the embedding page's origin.
async fn common_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn javascript(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/javascript; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn external_api(State(shared): State<SharedState>) -> Response {
    if !shared.lock().external_api_available {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "external_api.js is unavailable (switched off by the test)\n",
        )
            .into_response();
    }
    let mut body = shared.bundle.external_api.clone();
    if shared.probe_ipc {
        // Runs in the embedding page, as any code in the deployment's external_api.js would.
        let base = serde_json::to_string(&shared.base_url).unwrap_or_default();
        body.push('\n');
        body.push_str(&shared.bundle.probe);
        body.push_str(&format!(
            "\n__consultStandinProbe.run('external_api', {base});\n"
        ));
    }
    javascript(body)
}

async fn meeting_js(State(shared): State<SharedState>) -> Response {
    javascript(shared.bundle.meeting.clone())
}

fn meeting_page(shared: &Shared) -> String {
    let settings = json!({ "probeIpc": shared.probe_ipc, "demo": shared.demo });
    let body = if shared.demo {
        DEMO_BODY
    } else {
        "<p id=\"standin\">Jitsi stand-in meeting</p>"
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Jitsi stand-in</title></head>\n\
         <body>{body}\n\
         <script>window.__STANDIN__ = {settings};</script>\n\
         <script src=\"/libs/meeting.js\"></script></body></html>\n"
    )
}

/// What the demo meeting says about itself: `scripts/run` has no Jitsi deployment to offer.
const DEMO_BODY: &str = r#"<main id="standin-demo" style="font: 16px/1.5 sans-serif; color: #fff; background: #1d2430; min-height: 100vh; margin: 0; padding: 1.5rem; box-sizing: border-box">
<h1 style="font-size: 1.5rem; margin: 0 0 .5rem">Demo meeting</h1>
<p style="margin: 0 0 1rem; max-width: 40rem">This is not a real Jitsi Meet: it is Consult's stand-in for trying the app without a video server. Nobody else is in this meeting. Where the window can use your camera, it is shown below as it comes back through a WebRTC connection to this same page.</p>
<video id="standin-self" autoplay muted playsinline style="width: 100%; max-width: 40rem; background: #000; border-radius: 8px"></video>
</main>"#;

/// A deployment's `config.js`, as far as `consult-server check-jitsi` reads it: the XMPP domain,
/// which for the stand-in is its host without the port.
async fn config_js() -> Response {
    javascript(
        "var config = {\n    hosts: {\n        domain: '127.0.0.1',\n    },\n};\n".to_owned(),
    )
}

async fn fallback(State(shared): State<SharedState>, method: Method) -> Response {
    match method {
        Method::GET | Method::HEAD => html(meeting_page(&shared)),
        Method::OPTIONS => (
            StatusCode::NO_CONTENT,
            [
                (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"),
                (header::ACCESS_CONTROL_ALLOW_HEADERS, "*"),
            ],
        )
            .into_response(),
        _ => StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JoinBody {
    room: String,
    #[serde(default)]
    jwt: Option<String>,
    #[serde(default)]
    config: Value,
    #[serde(default)]
    interface_config: Value,
    #[serde(default)]
    user_info: Value,
}

/// What the meeting page shows the embedder for a token Prosody refuses (jitsi.md §3).
fn jitsi_error(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::WrongRoom | Rejection::WrongSubject | Rejection::Wildcard(_) => {
            "conference.connectionError.notAllowed"
        }
        _ => "connection.passwordRequired",
    }
}

/// The payload of a token, unverified, for the record only.
fn unverified_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

fn participant_id() -> String {
    format!("{:08x}", rand::thread_rng().gen::<u32>())
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, (StatusCode, String)> {
    serde_json::from_slice(body).map_err(|error| (StatusCode::BAD_REQUEST, error.to_string()))
}

async fn join(State(shared): State<SharedState>, body: Bytes) -> Response {
    let body: JoinBody = match parse(&body) {
        Ok(body) => body,
        Err(refusal) => return refusal.into_response(),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let verdict = match &body.jwt {
        None => Err((
            "connection.passwordRequired".to_owned(),
            "no token".to_owned(),
        )),
        Some(token) => shared
            .verifier
            .verify(token, &body.room, now)
            .map_err(|rejection| (jitsi_error(&rejection).to_owned(), format!("{rejection:?}"))),
    };
    let claims = body.jwt.as_deref().and_then(unverified_claims);
    let user_name = body
        .user_info
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_owned);

    let record = shared.update(|state| {
        let scripted = (state.reject_next > 0).then(|| {
            state.reject_next -= 1;
            state.reject_error.clone()
        });
        let mut record = JoinRecord {
            room: body.room.clone(),
            accepted: false,
            error: None,
            reason: None,
            moderator: false,
            display_name: None,
            participant_id: None,
            config: body.config.clone(),
            interface_config: body.interface_config.clone(),
            user_info: body.user_info.clone(),
            claims: claims.clone(),
            received_at: SystemTime::now(),
        };
        match (scripted, &verdict) {
            (Some(error), _) => {
                record.error = Some(error);
                record.reason = Some("scripted".to_owned());
            }
            (None, Err((error, reason))) => {
                record.error = Some(error.clone());
                record.reason = Some(reason.clone());
            }
            (None, Ok(token)) => {
                record.accepted = true;
                record.moderator = token.moderator;
                record.display_name = token.name.clone().or(user_name.clone());
                record.participant_id = Some(participant_id());
            }
        }
        state.joins.push(record.clone());
        record
    });
    tracing::info!(
        room = %record.room,
        accepted = record.accepted,
        error = ?record.error,
        reason = ?record.reason,
        moderator = record.moderator,
        "jitsi stand-in join attempt"
    );
    let answer = if record.accepted {
        json!({
            "accepted": true,
            "moderator": record.moderator,
            "name": record.display_name,
            "id": record.participant_id,
        })
    } else {
        json!({
            "accepted": false,
            "error": record.error,
            "message": record.reason,
        })
    };
    Json(answer).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommandBody {
    room: String,
    name: String,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    page_time_ms: f64,
}

async fn command(State(shared): State<SharedState>, body: Bytes) -> Response {
    let body: CommandBody = match parse(&body) {
        Ok(body) => body,
        Err(refusal) => return refusal.into_response(),
    };
    tracing::info!(room = %body.room, name = %body.name, "jitsi stand-in command");
    shared.update(|state| {
        state.commands.push(CommandRecord {
            room: body.room,
            name: body.name,
            args: body.args,
            page_time_ms: body.page_time_ms,
            received_at: SystemTime::now(),
        })
    });
    StatusCode::NO_CONTENT.into_response()
}

async fn probe(State(shared): State<SharedState>, body: Bytes) -> Response {
    let report: Value = match parse(&body) {
        Ok(report) => report,
        Err(refusal) => return refusal.into_response(),
    };
    tracing::info!(%report, "jitsi stand-in IPC probe report");
    shared.update(|state| state.probes.push(report));
    StatusCode::NO_CONTENT.into_response()
}

async fn media(State(shared): State<SharedState>, body: Bytes) -> Response {
    let report: Value = match parse(&body) {
        Ok(report) => report,
        Err(refusal) => return refusal.into_response(),
    };
    tracing::info!(%report, "jitsi stand-in media report");
    shared.update(|state| state.media.push(report));
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct ScriptQuery {
    room: String,
}

async fn script(
    State(shared): State<SharedState>,
    Query(query): Query<ScriptQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel::<String>();
    let key = room_key(&query.room);
    shared.update(|state| {
        for message in state.pending.remove(&key).unwrap_or_default() {
            let _ = sender.send(message);
        }
        state.listeners.entry(key).or_default().push(sender);
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let message = receiver.recv().await?;
        Some((Ok(Event::default().data(message)), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// A minimal embedder for the stand-in's own tests: loads `/external_api.js`; the test calls
/// `startMeeting({domain, roomName, jwt, displayName})` and reads `window.hostEvents`.
async fn test_host() -> Response {
    html(TEST_HOST.to_owned())
}

const TEST_HOST: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Jitsi stand-in test host</title>
<script src="/external_api.js"></script></head>
<body><div id="meet" style="width: 640px; height: 480px"></div>
<script>
window.hostEvents = [];
const EVENTS = ['browserSupport', 'videoConferenceJoined', 'videoConferenceLeft', 'readyToClose',
    'participantJoined', 'participantLeft', 'participantRoleChanged', 'audioMuteStatusChanged',
    'videoMuteStatusChanged', 'raiseHandUpdated', 'knockingParticipant',
    'screenSharingStatusChanged', 'tileViewChanged', 'errorOccurred', 'cameraError', 'micError'];
window.startMeeting = function (options) {
    const api = new JitsiMeetExternalAPI(options.domain, {
        roomName: options.roomName,
        jwt: options.jwt,
        parentNode: document.getElementById('meet'),
        configOverwrite: { prejoinConfig: { enabled: false }, startWithVideoMuted: true },
        userInfo: { displayName: options.displayName },
        onload: () => window.hostEvents.push({ event: 'onload', payload: null })
    });
    for (const name of EVENTS) {
        api.addListener(name, payload => window.hostEvents.push({ event: name, payload }));
    }
    window.api = api;
    return true;
};
</script></body></html>
"#;
