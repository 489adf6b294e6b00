//! A local HTTPS stand-in for a Jitsi deployment, for end-to-end tests.
//!
//! It serves the genuine `external_api.js` (bundled from `@jitsi/react-native-sdk`) and, for any
//! room path, a meeting page built on the genuine `@jitsi/js-utils` transport that behaves
//! towards the embedder as a Jitsi iframe does (see `tests/jitsi-standin/src/meeting.js`).
//! Tokens are checked with Prosody's rules (the `prosody-rules` crate, shared with the server's
//! tests); every join attempt, command, probe report and media report is recorded here for the
//! tests to inspect, and tests can push events to the meeting pages.
//!
//! The browser bundles must be built first: `tests/jitsi-standin/dist/` (see `build_jitsi_standin`
//! in `scripts/lib.sh`: `npm ci && node build.mjs` in `tests/jitsi-standin`).
//!
//! ## Which `sub` the stand-in accepts
//! The stand-in's domain is `127.0.0.1:<port>`, but Prosody compares `sub` with its XMPP domain,
//! which never carries a port. The clinic server likewise puts the server URL's host without the
//! port in `sub` (`JitsiConfig::effective_subject`). So the stand-in's verifier is configured with
//! the XMPP domain `127.0.0.1`: a token with `sub: "127.0.0.1:<port>"` is refused, as Prosody
//! would refuse it.

pub(crate) mod certs;
mod http;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use prosody_rules::ProsodyVerifier;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::mpsc::UnboundedSender;

use crate::paths::workspace_root;

/// How the stand-in checks tokens: the same values as the clinic server's `[jitsi]` table
/// (`server/src/jitsi/config.rs`, HS256 flavour `prosody`).
#[derive(Debug, Clone)]
pub struct StandInOptions {
    /// Prosody's `app_id`.
    pub app_id: String,
    /// Prosody's `app_secret` (HS256). The clinic server requires at least 32 bytes.
    pub app_secret: String,
    /// The accepted `aud` (`asap_accepted_audiences`); the server's default is `"jitsi"`.
    pub audience: String,
    /// The accepted `iss` (`asap_accepted_issuers`); `None` means `app_id`, as on the server.
    pub issuer: Option<String>,
    /// Append the IPC isolation probe to `external_api.js` and run it in the meeting page.
    pub probe_ipc: bool,
    /// The demo meeting of `scripts/run` (`demo-jitsi`): the page says it is a stand-in, not a
    /// real Jitsi, and keeps showing the user's own camera through its WebRTC loopback.
    pub demo: bool,
}

impl StandInOptions {
    /// HS256 with `app_id` / `app_secret`, audience `"jitsi"`, issuer `app_id`, no probe.
    pub fn hs256(app_id: &str, app_secret: &str) -> Self {
        StandInOptions {
            app_id: app_id.to_owned(),
            app_secret: app_secret.to_owned(),
            audience: "jitsi".to_owned(),
            issuer: None,
            probe_ipc: false,
            demo: false,
        }
    }

    /// The `iss` the stand-in accepts.
    pub fn effective_issuer(&self) -> &str {
        self.issuer.as_deref().unwrap_or(&self.app_id)
    }
}

/// One attempt of a meeting page to join a room.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinRecord {
    /// The room from the page's path, as the embedder passed it.
    pub room: String,
    pub accepted: bool,
    /// The Jitsi error name the page sent in `error-occurred` when refused
    /// (`connection.passwordRequired`, `conference.connectionError.notAllowed`, or a scripted one).
    pub error: Option<String>,
    /// Why it was refused: Prosody's rejection (`Debug` of `prosody_rules::Rejection`),
    /// `"no token"`, or `"scripted"`.
    pub reason: Option<String>,
    /// `context.user.moderator` of an accepted token.
    pub moderator: bool,
    /// The name the page joined with (token `context.user.name`, else `userInfo.displayName`).
    pub display_name: Option<String>,
    /// The random local participant id given to an accepted page.
    pub participant_id: Option<String>,
    /// `configOverwrite` as received in the iframe URL's hash (`config.*`).
    pub config: Value,
    /// `interfaceConfigOverwrite` (`interfaceConfig.*`).
    pub interface_config: Value,
    /// `userInfo.*`.
    pub user_info: Value,
    /// The token's claims (decoded even when refused; `None` without a readable token). The token
    /// itself is never kept or logged.
    pub claims: Option<Value>,
    pub received_at: SystemTime,
}

/// One command the embedder sent (`executeCommand`), as the meeting page received it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRecord {
    pub room: String,
    /// The wire name, e.g. `toggle-audio` for `executeCommand('toggleAudio')`.
    pub name: String,
    /// The command's arguments (the event's `data` array).
    pub args: Vec<Value>,
    /// `Date.now()` in the page when it received the command (unix epoch milliseconds).
    pub page_time_ms: f64,
    /// When the stand-in recorded it.
    pub received_at: SystemTime,
}

pub(crate) struct Bundle {
    pub external_api: String,
    pub meeting: String,
    pub probe: String,
}

#[derive(Default)]
pub(crate) struct State {
    pub external_api_available: bool,
    pub reject_next: usize,
    pub reject_error: String,
    pub joins: Vec<JoinRecord>,
    pub commands: Vec<CommandRecord>,
    pub probes: Vec<Value>,
    pub media: Vec<Value>,
    /// Open `/_standin/script` streams per room (lowercase, as Jitsi joins it).
    pub listeners: HashMap<String, Vec<UnboundedSender<String>>>,
    /// Scripted events sent while no page of the room was listening; the next page gets them.
    pub pending: HashMap<String, Vec<String>>,
}

pub(crate) struct Shared {
    pub verifier: ProsodyVerifier,
    pub base_url: String,
    pub probe_ipc: bool,
    pub demo: bool,
    pub bundle: Bundle,
    pub state: Mutex<State>,
    pub changed: Condvar,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the state and wakes the waiters.
    pub fn update<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let result = change(&mut self.lock());
        self.changed.notify_all();
        result
    }
}

pub(crate) fn room_key(room: &str) -> String {
    room.to_lowercase()
}

/// A running stand-in on `https://127.0.0.1:<free port>`. Dropping it stops the server.
pub struct JitsiStandIn {
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    port: u16,
    options: StandInOptions,
    ca_pem: String,
    leaf_pem: String,
    leaf_spki: String,
    _dir: TempDir,
    ca_file: PathBuf,
}

impl JitsiStandIn {
    /// The app's environment for calls to this stand-in on `call_path` (`"embedded"` or
    /// `"browser"`): its private CA trusted, and on the browser path Debian's Chromium with its
    /// fake camera and microphone granted without a prompt, so media flows under Xvfb, allowed
    /// to run as root.
    pub fn app_env(&self, call_path: &str) -> Vec<(String, String)> {
        let mut env = vec![
            ("CONSULT_CALL_PATH".to_owned(), call_path.to_owned()),
            (
                "CONSULT_JITSI_CA_FILE".to_owned(),
                self.ca_file().display().to_string(),
            ),
        ];
        if call_path == "browser" {
            env.push(("CONSULT_BROWSER".to_owned(), "/usr/bin/chromium".to_owned()));
            env.push((
                "CONSULT_BROWSER_ARGS".to_owned(),
                r#"["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]"#
                    .to_owned(),
            ));
            // The suite runs as root (containers, CI), where Chromium runs unsandboxed; the app
            // refuses that unless an administrator allows it.
            env.push(("CONSULT_BROWSER_ALLOW_ROOT".to_owned(), "true".to_owned()));
        }
        env
    }

    /// Generates a private CA and a leaf for `127.0.0.1`/`localhost`, and starts serving.
    ///
    /// # Panics
    /// When the browser bundles are not built (`tests/jitsi-standin/dist/`), or on I/O failures
    /// (test setup).
    pub fn start(options: StandInOptions) -> JitsiStandIn {
        let bundle = load_bundle(&bundle_dir());
        let pki = certs::generate().unwrap_or_else(|e| panic!("stand-in certificates: {e}"));
        let dir = tempfile::Builder::new()
            .prefix("jitsi-standin-")
            .tempdir()
            .unwrap_or_else(|e| panic!("stand-in temporary directory: {e}"));
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &pki.ca_pem)
            .unwrap_or_else(|e| panic!("writing {}: {e}", ca_file.display()));

        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
            .unwrap_or_else(|e| panic!("stand-in listener: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("stand-in address: {e}"))
            .port();
        let base_url = format!("https://127.0.0.1:{port}");

        // Prosody's XMPP domain has no port (see the module documentation).
        let verifier = ProsodyVerifier::hs256(
            options.app_secret.as_bytes(),
            options.effective_issuer(),
            &options.audience,
            "127.0.0.1",
        );
        let shared = Arc::new(Shared {
            verifier,
            base_url: base_url.clone(),
            probe_ipc: options.probe_ipc,
            demo: options.demo,
            bundle,
            state: Mutex::new(State {
                external_api_available: true,
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let tls = http::tls_config(&pki).unwrap_or_else(|e| panic!("stand-in TLS: {e}"));
        // Its own runtime on its own thread, so the blocking API works from sync and async tests.
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("jitsi-standin".to_owned())
            .spawn(move || run(listener, tls, server, stopped))
            .unwrap_or_else(|e| panic!("stand-in thread: {e}"));
        tracing::info!(%base_url, probe_ipc = options.probe_ipc, "jitsi stand-in started");

        JitsiStandIn {
            shared,
            stop: Some(stop),
            thread: Some(thread),
            port,
            options,
            ca_pem: pki.ca_pem,
            leaf_pem: pki.leaf_pem,
            leaf_spki: pki.leaf_spki_sha256_base64,
            _dir: dir,
            ca_file,
        }
    }

    /// The deployment's domain as embedders pass it: `127.0.0.1:PORT`.
    pub fn domain(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `https://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The `sub` the stand-in accepts: the XMPP domain, `127.0.0.1` (no port).
    pub fn xmpp_domain(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The private CA that signed the leaf, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// The private CA in a PEM file (lives as long as the stand-in).
    pub fn ca_file(&self) -> PathBuf {
        self.ca_file.clone()
    }

    /// The leaf certificate the server presents, PEM (for per-host trust such as WebKitGTK's
    /// `allow_tls_certificate_for_host`).
    pub fn leaf_pem(&self) -> String {
        self.leaf_pem.clone()
    }

    /// base64(SHA-256(DER SubjectPublicKeyInfo of the leaf)): the value for Chromium's
    /// `--ignore-certificate-errors-spki-list`.
    pub fn leaf_spki_sha256_base64(&self) -> String {
        self.leaf_spki.clone()
    }

    /// The options the stand-in was started with.
    pub fn options(&self) -> &StandInOptions {
        &self.options
    }

    /// The clinic server's `[jitsi]` table (TOML) whose tokens this stand-in accepts.
    pub fn server_config_toml(&self) -> String {
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut toml = String::from("[jitsi]\n");
        let _ = writeln!(toml, "server_url = {}", quote(&self.base_url()));
        let _ = writeln!(toml, "app_id = {}", quote(&self.options.app_id));
        let _ = writeln!(toml, "app_secret = {}", quote(&self.options.app_secret));
        let _ = writeln!(toml, "audience = {}", quote(&self.options.audience));
        if let Some(issuer) = &self.options.issuer {
            let _ = writeln!(toml, "issuer = {}", quote(issuer));
        }
        toml
    }

    /// `false`: `/external_api.js` answers 503 (a deployment that is down or misconfigured).
    pub fn set_external_api_available(&self, available: bool) {
        self.shared
            .update(|state| state.external_api_available = available);
    }

    /// The next `count` join attempts are refused with `error_name`, whatever their token (a
    /// Prosody-side change, such as a key rotation, that the client cannot see). They are
    /// recorded with reason `"scripted"`.
    pub fn reject_next_joins(&self, count: usize, error_name: &str) {
        self.shared.update(|state| {
            state.reject_next = count;
            state.reject_error = error_name.to_owned();
        });
    }

    /// Every join attempt so far, in order.
    pub fn joins(&self) -> Vec<JoinRecord> {
        self.shared.lock().joins.clone()
    }

    /// Waits until at least `count` join attempts were made; panics with the attempts seen.
    pub fn wait_for_joins(&self, count: usize, timeout: Duration) -> Vec<JoinRecord> {
        self.wait("join attempts", timeout, |state| {
            (state.joins.len() >= count).then(|| state.joins.clone())
        })
        .unwrap_or_else(|seen| panic!("expected {count} join attempts within {timeout:?}; {seen}"))
    }

    /// Every command received so far, in order.
    pub fn commands(&self) -> Vec<CommandRecord> {
        self.shared.lock().commands.clone()
    }

    /// Waits for the first command with this wire name (any room); panics with the commands seen.
    pub fn wait_for_command(&self, name: &str, timeout: Duration) -> CommandRecord {
        self.wait_for_commands(name, 1, timeout).remove(0)
    }

    /// Waits until `count` commands with this wire name arrived and returns them in order.
    pub fn wait_for_commands(
        &self,
        name: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<CommandRecord> {
        let found = self.wait("commands", timeout, |state| {
            let found: Vec<CommandRecord> = state
                .commands
                .iter()
                .filter(|c| c.name == name)
                .cloned()
                .collect();
            (found.len() >= count.max(1)).then_some(found)
        });
        found.unwrap_or_else(|seen| {
            panic!("expected {count} command(s) `{name}` within {timeout:?}; {seen}")
        })
    }

    /// Sends `event` (an object with `name`, forwarded verbatim with `transport.sendEvent`) to
    /// the room's meeting pages. Returns how many pages it reached now; with none listening it is
    /// queued for the next page of that room. Meeting pages drop `knocking-participant` unless
    /// their participant is a moderator, as Jitsi does.
    pub fn send_event(&self, room: &str, event: Value) -> usize {
        let message = event.to_string();
        let key = room_key(room);
        let reached = self.shared.update(|state| {
            let listeners = state.listeners.entry(key.clone()).or_default();
            listeners.retain(|listener| listener.send(message.clone()).is_ok());
            let reached = listeners.len();
            if reached == 0 {
                state.pending.entry(key).or_default().push(message);
            }
            reached
        });
        tracing::info!(room, reached, "jitsi stand-in scripted event");
        reached
    }

    /// Every IPC probe report (`{where, attempts: [{name, outcome, detail}]}`), in order. `where`
    /// is `external_api` (the embedding page) or `meeting` (the iframe); `outcome` is `absent`,
    /// `threw` (an attempt still pending after 5 s counts as thrown, detail "timeout after 5000
    /// ms") or `resolved` (detail: the result, or HTTP status and the first 200 characters of the
    /// body). The probe judges nothing: check side effects (was the user logged out?).
    pub fn probe_reports(&self) -> Vec<Value> {
        self.shared.lock().probes.clone()
    }

    /// Waits until at least `count` probe reports arrived.
    pub fn wait_for_probe_reports(&self, count: usize, timeout: Duration) -> Vec<Value> {
        self.wait("probe reports", timeout, |state| {
            (state.probes.len() >= count).then(|| state.probes.clone())
        })
        .unwrap_or_else(|seen| panic!("expected {count} probe reports within {timeout:?}; {seen}"))
    }

    /// Every media report (`{room, supported, bytesReceived, framesDecoded}` or
    /// `{room, supported: false, reason}`), in order.
    pub fn media_reports(&self) -> Vec<Value> {
        self.shared.lock().media.clone()
    }

    /// Waits for the first media report.
    pub fn wait_for_media_report(&self, timeout: Duration) -> Value {
        self.wait("media reports", timeout, |state| {
            state.media.first().cloned()
        })
        .unwrap_or_else(|seen| panic!("expected a media report within {timeout:?}; {seen}"))
    }

    /// Polls `ready` under the lock until it answers or `timeout` passes; the error describes
    /// everything recorded.
    fn wait<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut(&State) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if let Some(found) = ready(&state) {
                return Ok(found);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "no more {what}. Received: joins {:#?}, commands {:#?}, probe reports {:#?}, media reports {:#?}",
                    state.joins, state.commands, state.probes, state.media
                ));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for JitsiStandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The server thread: serves until `stopped`, then drops every connection (open event streams
/// included).
fn run(
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shared: Arc<Shared>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("jitsi-standin-worker")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "jitsi stand-in runtime");
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%error, "jitsi stand-in listener");
                return;
            }
        };
        tokio::select! {
            () = http::serve(listener, tls, shared) => {}
            _ = stopped => {}
        }
    });
    runtime.shutdown_background();
}

fn bundle_dir() -> PathBuf {
    workspace_root().join("tests/jitsi-standin/dist")
}

fn load_bundle(dir: &Path) -> Bundle {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}): build the stand-in's bundle first \
                 (`cd tests/jitsi-standin && npm ci && node build.mjs`, or `build_jitsi_standin` \
                 from scripts/lib.sh)",
                path.display()
            )
        })
    };
    Bundle {
        external_api: read("external_api.js"),
        meeting: read("meeting.js"),
        probe: read("probe.js"),
    }
}
