//! The call page and its authenticated channel to the core, on loopback.
//!
//! Jitsi's `external_api.js` is code from the Jitsi deployment, so it must never run in a page
//! that can reach the app's IPC (jitsi.md §5). It runs instead in the *call page*, which this
//! module serves on `http://127.0.0.1:<port>/call`: an origin Tauri treats as remote (no IPC),
//! shown either in the app's call screen (an iframe) or in a browser window in app mode.
//!
//! The page talks to the core over one WebSocket at `/call/ws`. Only a page that knows this
//! call's random key (given in the URL fragment, which no request carries) and comes from this
//! server's own origin is accepted. The channel's vocabulary is the call's and nothing else:
//! Jitsi events in, commands out, and the page's own call controls (browser path). There is no
//! way through it to sign-out, join requests or settings.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use consult_types::{CallControl, CallView};

const PAGE_HTML: &str = include_str!("page/call.html");
const PAGE_JS: &str = include_str!("page/call.js");
const PAGE_CSS: &str = include_str!("page/call.css");
const SELF_TEST_HTML: &str = include_str!("page/selftest.html");
const SELF_TEST_JS: &str = include_str!("page/selftest.js");
/// A page that connects must prove itself this quickly.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// Close code for a refused page (4000–4999 are for applications).
const CLOSE_REFUSED: u16 = 4401;
/// Close code for a proven page while another owns the call.
const CLOSE_TAKEN: u16 = 4409;
/// The largest frame or message any connection may send. Set on the upgrade, so it holds
/// before the key is checked: an unproven peer cannot make the core buffer more than this.
/// Jitsi's events are far smaller.
const MAX_MESSAGE: usize = 256 * 1024;
/// The first message is a hello of about 100 bytes; anything much bigger is refused unread.
const MAX_HELLO: usize = 1024;
/// Connections that have not proven the key yet; more are refused until one is decided.
const MAX_PENDING: usize = 4;

/// What the call page sends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PageMessage {
    /// First message of a connection; anything else first closes it.
    Hello { key: String },
    /// One Jitsi event as `external_api.js` emitted it: its public name and its payload.
    Event { name: String, data: Value },
    /// `external_api.js` could not be loaded into the page.
    LoadFailed { detail: String },
    /// A control from the page's own buttons (browser path).
    Control { control: CallControl },
    /// The page is going away (window closed or reloaded).
    Closing,
    /// The kiosk's self-test page (`/selftest`) measured the camera, microphone and speaker.
    SelfTest {
        report: crate::self_test::MediaReport,
    },
}

/// What the core sends to the call page. `Debug` is [`Display`](std::fmt::Display): a load
/// carries the Jitsi token.
#[derive(Clone, PartialEq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CoreMessage {
    /// Load `external_api.js` from `script_url` (once), create the conference and relay the
    /// `events` it emits.
    Load {
        script_url: String,
        domain: String,
        /// `JitsiMeetExternalAPI` options without `parentNode` (the page adds it).
        options: Value,
        /// The public event names to listen to ([`crate::call::InboundEvent::NAMES`]).
        events: Vec<String>,
    },
    /// `api.executeCommand(name, ...args)`, with a public command name.
    Command { name: String, args: Vec<Value> },
    /// `api.dispose()`: the conference is over.
    Dispose,
    /// The call's state, for the page's own buttons (browser path).
    View { view: Box<CallView> },
}

// The options carry the Jitsi token: never print them.
impl std::fmt::Display for CoreMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoreMessage::Load { domain, .. } => write!(f, "load from {domain}"),
            CoreMessage::Command { name, .. } => write!(f, "command {name}"),
            CoreMessage::Dispose => f.write_str("dispose"),
            CoreMessage::View { .. } => f.write_str("view"),
        }
    }
}

impl std::fmt::Debug for CoreMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// What happened on the channel, for the call's owner.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelEvent {
    /// A page proved the key and owns the call until it closes.
    Connected,
    Message(PageMessage),
    /// The authenticated page went away.
    Disconnected,
    /// A connection was refused (wrong origin, wrong or missing key, too big a hello, too many
    /// pending, or the call already has its page). Counted for tests.
    Refused {
        reason: &'static str,
    },
}

/// How the page is shown, which decides whether it draws its own controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageMode {
    /// Inside the app's call screen, whose controls are the app's.
    Embedded,
    /// A browser window of its own, with its own controls.
    Browser,
}

impl PageMode {
    fn as_str(self) -> &'static str {
        match self {
            PageMode::Embedded => "embedded",
            PageMode::Browser => "browser",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("the call page could not listen on loopback: {0}")]
    Bind(#[from] std::io::Error),
}

/// A running call page server; dropping it stops the server.
pub struct CallChannel {
    origin: Url,
    key: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

struct Shared {
    key: String,
    origin: String,
    /// `frame-ancestors`: the app's own pages (see [`frame_ancestors`]).
    ancestors: String,
    jitsi_origin: String,
    events: mpsc::UnboundedSender<ChannelEvent>,
    /// The authenticated page's outbox, and its connection number.
    page: Mutex<Option<(u64, mpsc::UnboundedSender<String>)>>,
    connections: Mutex<u64>,
    /// Connections upgraded or upgrading that have not proven the key yet.
    pending: AtomicUsize,
}

/// One pending connection's place in [`Shared::pending`], given back when dropped.
struct Pending(Arc<Shared>);

impl Pending {
    fn take(shared: &Arc<Shared>) -> Option<Pending> {
        let taken = shared
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |pending| {
                (pending < MAX_PENDING).then_some(pending + 1)
            });
        taken.ok().map(|_| Pending(shared.clone()))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

impl CallChannel {
    /// Serves the call page on a free loopback port. `jitsi_origin` (`https://host[:port]`) is
    /// the only origin the page may load scripts and frames from.
    pub async fn start(
        jitsi_origin: &Url,
        events: mpsc::UnboundedSender<ChannelEvent>,
    ) -> Result<CallChannel, ChannelError> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let port = listener.local_addr()?.port();
        let origin = format!("http://127.0.0.1:{port}");
        let key = random_key();
        let shared = Arc::new(Shared {
            key: key.clone(),
            origin: origin.clone(),
            ancestors: frame_ancestors(DEV_APP_ORIGIN.get().map(String::as_str)),
            jitsi_origin: jitsi_origin.origin().ascii_serialization(),
            events,
            page: Mutex::new(None),
            connections: Mutex::new(0),
            pending: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/call", get(page_html))
            .route("/call.js", get(page_js))
            .route("/call.css", get(page_css))
            .route("/call/ws", get(page_socket))
            // The kiosk's media self-test (`call/media_check.rs`), on the same channel.
            .route("/selftest", get(self_test_html))
            .route("/selftest.js", get(self_test_js))
            .with_state(shared.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "the call page server stopped");
            }
        });
        let origin = Url::parse(&origin).map_err(|error| {
            ChannelError::Bind(std::io::Error::other(format!("loopback origin: {error}")))
        })?;
        tracing::info!(port, "call page listening on loopback");
        Ok(CallChannel {
            origin,
            key,
            shared,
            shutdown: Some(shutdown),
        })
    }

    /// The page's address with the key in its fragment. Give it only to the window that shows
    /// the call; never log it.
    pub fn page_url(&self, mode: PageMode) -> String {
        format!("{}call#k={}&mode={}", self.origin, self.key, mode.as_str())
    }

    /// The self-test page's address with the key in its fragment; never log it.
    pub fn self_test_url(&self) -> String {
        format!("{}selftest#k={}", self.origin, self.key)
    }

    /// `http://127.0.0.1:<port>`, for navigation allow-lists.
    pub fn origin(&self) -> &Url {
        &self.origin
    }

    /// Sends to the connected page; `false` when no page is connected.
    pub fn send(&self, message: &CoreMessage) -> bool {
        let text = match serde_json::to_string(message) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(%error, "a message for the call page could not be encoded");
                return false;
            }
        };
        let page = lock(&self.shared.page);
        match page.as_ref() {
            Some((_, outbox)) => outbox.send(text).is_ok(),
            None => {
                tracing::debug!(%message, "no call page connected");
                false
            }
        }
    }

    pub fn is_connected(&self) -> bool {
        lock(&self.shared.page).is_some()
    }
}

impl Drop for CallChannel {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        lock(&self.shared.page).take();
    }
}

/// The origin the app's pages come from in a development build (`cargo tauri dev` serves them
/// from Trunk's server, not `tauri://localhost`): set once by the shell, in such builds only.
static DEV_APP_ORIGIN: OnceLock<String> = OnceLock::new();

/// A development build's pages come from `origin`: its call pages may be framed by it.
pub fn allow_dev_app_origin(origin: &Url) {
    let _ = DEV_APP_ORIGIN.set(origin.origin().ascii_serialization());
}

/// Who may frame the call page: the app's own pages on every platform, and a development
/// build's dev server (`dev`).
fn frame_ancestors(dev: Option<&str>) -> String {
    let bundled = "'self' tauri://localhost http://tauri.localhost https://tauri.localhost";
    match dev {
        Some(dev) => format!("{bundled} {dev}"),
        None => bundled.to_owned(),
    }
}

fn security_headers(shared: &Shared) -> [(header::HeaderName, String); 5] {
    let jitsi = &shared.jitsi_origin;
    let own = &shared.origin;
    [
        (
            header::CONTENT_SECURITY_POLICY,
            // Scripts and frames only from here and the configured Jitsi origin; framed only by
            // the app's own pages (or shown top-level in a browser window).
            format!(
                "default-src 'none'; script-src 'self' {jitsi}; frame-src {jitsi}; \
                 connect-src {ws} {jitsi}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                 base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}",
                ws = own.replacen("http://", "ws://", 1),
                ancestors = shared.ancestors,
            ),
        ),
        (
            // Media only here and in the Jitsi meeting frame; nothing else this page might
            // frame could ask (the CSP already allows no other frames).
            header::HeaderName::from_static("permissions-policy"),
            format!(
                "camera=(self \"{jitsi}\"), microphone=(self \"{jitsi}\"), \
                 display-capture=(self \"{jitsi}\"), geolocation=(), usb=(), payment=()"
            ),
        ),
        (header::REFERRER_POLICY, "no-referrer".into()),
        (header::CACHE_CONTROL, "no-store".into()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
    ]
}

async fn page_html(State(shared): State<Arc<Shared>>) -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        PAGE_HTML,
    )
        .into_response();
    for (name, value) in security_headers(&shared) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

async fn self_test_html(State(shared): State<Arc<Shared>>) -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        SELF_TEST_HTML,
    )
        .into_response();
    for (name, value) in security_headers(&shared) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

async fn self_test_js() -> Response {
    asset("text/javascript; charset=utf-8", SELF_TEST_JS)
}

async fn page_js() -> Response {
    asset("text/javascript; charset=utf-8", PAGE_JS)
}

async fn page_css() -> Response {
    asset("text/css; charset=utf-8", PAGE_CSS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn page_socket(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Browsers always send Origin on WebSocket requests; only this server's own page may
    // connect, so another site open in a browser cannot even try keys.
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok());
    if origin != Some(shared.origin.as_str()) {
        let _ = shared.events.send(ChannelEvent::Refused {
            reason: "foreign origin",
        });
        return StatusCode::FORBIDDEN.into_response();
    }
    // Each unproven connection costs a task and a buffer for five seconds: only a few at once.
    let Some(pending) = Pending::take(&shared) else {
        let _ = shared.events.send(ChannelEvent::Refused {
            reason: "too many pending connections",
        });
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    upgrade
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| serve_page(shared, socket, pending))
}

/// Why a connection is refused before it may talk to the core.
enum Refusal {
    Key,
    TooBig,
    Taken,
}

async fn serve_page(shared: Arc<Shared>, socket: WebSocket, pending: Pending) {
    let (mut sink, mut stream) = socket.split();
    let hello = tokio::time::timeout(HELLO_TIMEOUT, stream.next()).await;
    let proven = match hello {
        // Size first: an oversized hello is not parsed, and its key never compared.
        Ok(Some(Ok(Message::Text(text)))) if text.len() > MAX_HELLO => Err(Refusal::TooBig),
        Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str::<PageMessage>(&text) {
            Ok(PageMessage::Hello { key }) if same_secret(&key, &shared.key) => Ok(()),
            _ => Err(Refusal::Key),
        },
        // The protocol layer refuses a frame over MAX_MESSAGE before reading it.
        Ok(Some(Err(error))) => {
            tracing::debug!(%error, "the first message on the call channel was not readable");
            Err(Refusal::TooBig)
        }
        _ => Err(Refusal::Key),
    };
    drop(pending);

    let (outbox, mut outgoing) = mpsc::unbounded_channel::<String>();
    let owned = proven.and_then(|()| {
        let mut page = lock(&shared.page);
        // The first proven page owns the call until it closes: a local program that learnt
        // the key later cannot take the call (and the token the next load carries) over.
        if page.is_some() {
            return Err(Refusal::Taken);
        }
        let number = {
            let mut connections = lock(&shared.connections);
            *connections += 1;
            *connections
        };
        *page = Some((number, outbox));
        Ok(number)
    });
    let number = match owned {
        Ok(number) => number,
        Err(refusal) => {
            let (reason, code) = match refusal {
                Refusal::Key => ("no valid key", CLOSE_REFUSED),
                Refusal::TooBig => ("first message too big", CLOSE_REFUSED),
                Refusal::Taken => ("the call already has its page", CLOSE_TAKEN),
            };
            let _ = shared.events.send(ChannelEvent::Refused { reason });
            let _ = sink
                .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                    code,
                    reason: "refused".into(),
                })))
                .await;
            // Let the page answer the close, so it sees our code rather than a dropped socket;
            // whatever else it sends meanwhile is discarded.
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                while stream.next().await.is_some() {}
            })
            .await;
            return;
        }
    };
    let _ = shared.events.send(ChannelEvent::Connected);

    let writer = tokio::spawn(async move {
        while let Some(text) = outgoing.recv().await {
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        match serde_json::from_str::<PageMessage>(&text) {
            // A second hello means nothing once proven.
            Ok(PageMessage::Hello { .. }) => {}
            Ok(message) => {
                let _ = shared.events.send(ChannelEvent::Message(message));
            }
            Err(error) => {
                tracing::warn!(%error, "the call page sent a message this app does not understand")
            }
        }
    }
    writer.abort();
    let mut page = lock(&shared.page);
    if page.as_ref().is_some_and(|(current, _)| *current == number) {
        page.take();
        drop(page);
        let _ = shared.events.send(ChannelEvent::Disconnected);
    }
}

/// 256 random bits, hex.
fn random_key() -> String {
    let mut bytes = [0u8; 32];
    if let Err(error) = getrandom::fill(&mut bytes) {
        // No randomness means no secret worth having; fail closed with an unguessable-to-nobody
        // key that no page can present (an empty hex string never matches a 64-char one).
        tracing::error!(%error, "no system randomness for the call page key");
        return String::new();
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Compares without an early exit, so timing does not reveal how much of a guess was right.
fn same_secret(given: &str, expected: &str) -> bool {
    if expected.is_empty() || given.len() != expected.len() {
        return false;
    }
    given
        .bytes()
        .zip(expected.bytes())
        .fold(0u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_pages_frame_the_call_and_a_dev_server_only_in_a_dev_build() {
        let bundled = frame_ancestors(None);
        assert_eq!(
            bundled,
            "'self' tauri://localhost http://tauri.localhost https://tauri.localhost"
        );
        assert!(!bundled.contains("127.0.0.1"));
        assert_eq!(
            frame_ancestors(Some("http://127.0.0.1:1420")),
            format!("{bundled} http://127.0.0.1:1420")
        );
    }

    #[test]
    fn keys_are_random_and_compared_whole() {
        let (a, b) = (random_key(), random_key());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a[..63], &a));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn page_messages_parse_by_kind() {
        let event: PageMessage = serde_json::from_str(
            r#"{"kind":"event","name":"audioMuteStatusChanged","data":{"muted":true}}"#,
        )
        .unwrap();
        assert!(matches!(event, PageMessage::Event { .. }));
        let control: PageMessage =
            serde_json::from_str(r#"{"kind":"control","control":{"control":"toggleAudio"}}"#)
                .unwrap();
        assert_eq!(
            control,
            PageMessage::Control {
                control: CallControl::ToggleAudio
            }
        );
        // Anything outside the call's vocabulary is not a message at all.
        assert!(
            serde_json::from_str::<PageMessage>(r#"{"kind":"invoke","cmd":"logout"}"#).is_err()
        );
    }

    #[test]
    fn the_load_message_never_prints_its_token() {
        let load = CoreMessage::Load {
            script_url: "https://meet.example/external_api.js".into(),
            domain: "meet.example".into(),
            options: serde_json::json!({"jwt": "secret-token"}),
            events: vec!["readyToClose".into()],
        };
        assert!(!load.to_string().contains("secret-token"));
        let wire = serde_json::to_value(&load).unwrap();
        assert_eq!(wire["kind"], "load");
        assert_eq!(wire["scriptUrl"], "https://meet.example/external_api.js");
        assert!(!format!("{load:?}").contains("secret-token"));
    }
}
