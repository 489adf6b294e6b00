//! The call hub below the app: the real clinic server (in-process) mints the meeting tokens, a
//! local HTTPS server under a private CA serves an `external_api.js`, a WebSocket client stands
//! in for the call page, a recorder for the shell (`CallHost`), and a shell script for the
//! browser. Each test checks what the hub tells the shell and sends the page, in order, waiting
//! for the next event rather than for time.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

mod support;

use consult_core::call::deployment::{Deployment, Trust};
use consult_core::call::{CallHost, CallHub, CallOptions, InboundEvent};
use consult_core::clinic::ClinicClient;
use consult_core::secrets::{MemoryOnlyStore, SecretStore};
use consult_core::session::SessionManager;
use consult_server::config::ServerConfig;
use consult_server::jitsi::JitsiConfig;
use consult_server::RunningServer;
use consult_types::{
    AppError, Appointment, CallControl, CallPathKind, CallPhase, CallRole, CallScreen, CallSupport,
    EndReason, JoinCallArgs, KnockingParticipant,
};
use support::FakeJitsi;

const DOCTOR: &str = "doctor@demo.clinic";
const PASSWORD: &str = "consult-demo";
const APP_ID: &str = "consult-hub-tests";
const APP_SECRET: &str = "hub-tests-only-jitsi-app-secret-0123456789";
const WAIT: Duration = Duration::from_secs(10);

struct World {
    _server: RunningServer,
    base_url: String,
    jitsi: FakeJitsi,
    _data: TempDir,
}

impl World {
    /// The clinic server with demo appointments and a `[jitsi]` table naming the fake Jitsi.
    async fn start() -> World {
        let jitsi = FakeJitsi::start().await;
        let data = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::with_data_dir(data.path());
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.demo = true;
        config.demo_appointments = true;
        config.jitsi = Some(JitsiConfig::hs256(&jitsi.origin, APP_ID, APP_SECRET));
        let server = consult_server::serve(config).await.unwrap();
        World {
            base_url: server.base_url(),
            _server: server,
            jitsi,
            _data: data,
        }
    }

    async fn doctor(&self) -> Arc<SessionManager> {
        let base = Url::parse(&format!("{}/", self.base_url)).unwrap();
        let client = ClinicClient::new(base, WAIT).unwrap();
        let store: Arc<dyn SecretStore> = Arc::new(MemoryOnlyStore);
        let session = Arc::new(SessionManager::new(client, store));
        session.login(DOCTOR, PASSWORD).await.unwrap();
        session
    }

    /// The doctor's appointments, earliest first; the first is joinable now.
    async fn appointments(&self, session: &SessionManager) -> Vec<Appointment> {
        let client = session.client().clone();
        let mut list = session
            .authorized(|token| {
                let client = client.clone();
                async move { client.appointments(&token, None).await }
            })
            .await
            .unwrap();
        list.sort_by_key(|appointment| appointment.start_time);
        list
    }

    fn options(&self, path: CallPathKind, browser: Option<PathBuf>) -> CallOptions {
        CallOptions {
            support: CallSupport {
                path,
                browser: None,
                forced: true,
                reason: None,
                install_hint: None,
            },
            browser_program: browser,
            browser_args: Vec::new(),
            // The suite runs as root in CI; the refusal has its own test.
            browser_allow_root: true,
            trust: Trust::load(Some(&self.jitsi.ca_file)).unwrap(),
            timeout: WAIT,
            start_muted: false,
        }
    }
}

fn args(appointment: &Appointment) -> JoinCallArgs {
    JoinCallArgs {
        session_id: appointment.session_id.clone(),
        appointment_id: Some(appointment.id.clone()),
    }
}

/// What the hub told the shell.
#[derive(Debug, Clone, PartialEq)]
enum Told {
    Changed(Box<CallScreen>),
    Closed,
    Knocking(String),
    KnockSettled(String),
    OpenEmbedded { call_page: String, jitsi: String },
    CloseEmbedded,
}

struct Recorder(mpsc::UnboundedSender<Told>);

impl CallHost for Recorder {
    fn changed(&self, screen: &CallScreen) {
        let _ = self.0.send(Told::Changed(Box::new(screen.clone())));
    }
    fn closed(&self) {
        let _ = self.0.send(Told::Closed);
    }
    fn knocking(&self, knocker: &KnockingParticipant, _screen: &CallScreen) {
        let _ = self.0.send(Told::Knocking(knocker.id.clone()));
    }
    fn knock_settled(&self, participant_id: &str, _screen: &CallScreen) {
        let _ = self.0.send(Told::KnockSettled(participant_id.to_owned()));
    }
    fn open_embedded(&self, call_page: &Url, deployment: &Deployment) {
        let _ = self.0.send(Told::OpenEmbedded {
            call_page: call_page.origin().ascii_serialization(),
            jitsi: deployment.origin.origin().ascii_serialization(),
        });
    }
    fn close_embedded(&self) {
        let _ = self.0.send(Told::CloseEmbedded);
    }
}

/// The shell's side: everything it was told, in order.
struct Shell {
    received: mpsc::UnboundedReceiver<Told>,
    log: Vec<Told>,
}

impl Shell {
    async fn next(&mut self) -> Told {
        let told = tokio::time::timeout(WAIT, self.received.recv())
            .await
            .unwrap_or_else(|_| panic!("the hub told nothing more after {:#?}", self.log))
            .expect("the hub is alive");
        self.log.push(told.clone());
        told
    }

    /// Reads on to the first thing `pick` takes.
    async fn until<T>(&mut self, what: &str, mut pick: impl FnMut(&Told) -> Option<T>) -> T {
        loop {
            let told = tokio::time::timeout(WAIT, self.received.recv())
                .await
                .unwrap_or_else(|_| panic!("waited for {what}; the hub told {:#?}", self.log))
                .expect("the hub is alive");
            self.log.push(told.clone());
            if let Some(found) = pick(&told) {
                return found;
            }
        }
    }

    async fn screen_where(&mut self, what: &str, test: impl Fn(&CallScreen) -> bool) -> CallScreen {
        self.until(what, |told| match told {
            Told::Changed(screen) if test(screen) => Some(CallScreen::clone(screen)),
            _ => None,
        })
        .await
    }

    async fn told(&mut self, what: Told) {
        let wanted = what.clone();
        self.until(&format!("{what:?}"), |told| (*told == wanted).then_some(()))
            .await;
    }

    fn settled(&self) -> Vec<&str> {
        self.log
            .iter()
            .filter_map(|told| match told {
                Told::KnockSettled(id) => Some(id.as_str()),
                _ => None,
            })
            .collect()
    }
}

fn hub() -> (CallHub, Shell) {
    let (told, received) = mpsc::unbounded_channel();
    let shell = Shell {
        received,
        log: Vec::new(),
    };
    (CallHub::new(Arc::new(Recorder(told))), shell)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The call page, as far as the core can tell: its channel, opened from the page's own origin
/// with the key from its URL's fragment.
struct Page {
    socket: Socket,
}

impl Page {
    async fn connect(page_url: &str) -> Page {
        let url = Url::parse(page_url).unwrap();
        let key = url
            .fragment()
            .unwrap()
            .split('&')
            .find_map(|pair| pair.strip_prefix("k="))
            .unwrap()
            .to_owned();
        let origin = url.origin().ascii_serialization();
        let ws = format!("ws://{}/call/ws", origin.trim_start_matches("http://"));
        let mut request = ws.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        socket
            .send(Message::text(
                json!({"kind": "hello", "key": key}).to_string(),
            ))
            .await
            .unwrap();
        Page { socket }
    }

    /// The core's next message, `None` once it closed the channel. `view`s (the browser
    /// window's own buttons) are skipped; [`Page::view`] reads them.
    async fn next(&mut self) -> Option<Value> {
        loop {
            let message = self.next_any().await?;
            if message["kind"] != "view" {
                return Some(message);
            }
        }
    }

    async fn next_any(&mut self) -> Option<Value> {
        loop {
            let received = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("a message from the core in time");
            match received {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// The next message, which must be a `kind`.
    async fn expect(&mut self, kind: &str) -> Value {
        let message = self
            .next()
            .await
            .unwrap_or_else(|| panic!("the channel closed before a {kind}"));
        assert_eq!(message["kind"], kind, "{message}");
        message
    }

    /// The next `view`, skipping anything else.
    async fn view(&mut self) -> Value {
        loop {
            let message = self
                .next_any()
                .await
                .expect("a view before the channel closed");
            if message["kind"] == "view" {
                return message["view"].clone();
            }
        }
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// One Jitsi event, as `external_api.js` emits it.
    async fn event(&mut self, name: &str, data: Value) {
        self.send(json!({"kind": "event", "name": name, "data": data}))
            .await;
    }

    async fn joined(&mut self, role: &str) {
        self.event(
            "videoConferenceJoined",
            json!({"roomName": "r", "id": "me", "displayName": "Dr Who"}),
        )
        .await;
        self.event("participantRoleChanged", json!({"id": "me", "role": role}))
            .await;
    }
}

fn token_refused(name: &str) -> Value {
    json!({"error": {"name": name, "message": "", "type": "CONNECTION", "isFatal": true}})
}

/// A "browser" for the browser path: a script that reports its pid and arguments through a
/// FIFO, then sleeps holding the FIFO open, so its exit is an end of file the test can await.
struct FakeBrowser {
    program: PathBuf,
    fifo: PathBuf,
    _dir: TempDir,
}

struct Launched {
    pid: u32,
    args: Vec<String>,
    page_url: String,
    gone: oneshot::Receiver<()>,
}

impl FakeBrowser {
    fn new() -> FakeBrowser {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("launches");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let program = dir.path().join("chromium");
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\nexec 3>'{}'\nprintf '%s\\n' \"$$\" \"$@\" >&3\nexec sleep 600\n",
                fifo.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        FakeBrowser {
            program,
            fifo,
            _dir: dir,
        }
    }

    /// Waits until the hub started the browser.
    async fn launched(&self) -> Launched {
        let (started, launch) = oneshot::channel();
        let (exited, gone) = oneshot::channel();
        let fifo = self.fifo.clone();
        // A plain thread: opening a FIFO blocks, and a stuck one must not hold the runtime.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(std::fs::File::open(fifo).unwrap());
            let mut lines = Vec::new();
            while !lines
                .last()
                .is_some_and(|line: &String| line.starts_with("--app="))
            {
                let mut line = String::new();
                assert!(reader.read_line(&mut line).unwrap() > 0, "{lines:?}");
                lines.push(line.trim_end().to_owned());
            }
            let _ = started.send(lines);
            let _ = reader.read_to_end(&mut Vec::new());
            let _ = exited.send(());
        });
        let mut lines = tokio::time::timeout(WAIT, launch)
            .await
            .expect("the browser started in time")
            .unwrap();
        let pid = lines.remove(0).parse().unwrap();
        // The browser opens a start page in its private profile, which hands over the key.
        let app = Url::parse(
            lines
                .last()
                .and_then(|line| line.strip_prefix("--app="))
                .unwrap(),
        )
        .unwrap();
        // Anything else (the call page itself) is taken as is, for the tests to judge.
        let page_url = match app.to_file_path() {
            Ok(start) => start_page_target(&start),
            Err(()) => app.to_string(),
        };
        Launched {
            pid,
            args: lines,
            page_url,
            gone,
        }
    }
}

/// The call page a start page hands over to, checking that only this user can read it.
fn start_page_target(start: &std::path::Path) -> String {
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(start), 0o600, "the start page is the user's only");
    assert_eq!(
        mode(start.parent().unwrap()),
        0o700,
        "the profile is the user's only"
    );
    let html = std::fs::read_to_string(start).unwrap();
    html.split_once("location.replace(\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(url, _)| url.to_owned())
        .unwrap_or_else(|| panic!("no call page in the start page: {html}"))
}

impl Launched {
    /// The user closes the window.
    fn close(&self) {
        let killed = std::process::Command::new("kill")
            .arg(self.pid.to_string())
            .status()
            .unwrap();
        assert!(killed.success());
    }

    async fn gone(self) {
        tokio::time::timeout(WAIT, self.gone)
            .await
            .expect("the browser ended in time")
            .unwrap();
    }
}

#[tokio::test]
async fn joining_loads_the_conference_when_the_page_connects_and_the_screen_follows_jitsi() {
    let world = World::start().await;
    let session = world.doctor().await;
    let appointment = world.appointments(&session).await.remove(0);
    let (hub, mut shell) = hub();

    let screen = hub
        .join(
            session,
            args(&appointment),
            world.options(CallPathKind::Embedded, None),
        )
        .await
        .unwrap();
    assert_eq!(screen.view.phase, CallPhase::Joining);
    assert_eq!(screen.session_id, appointment.session_id);
    let frame_url = screen
        .frame_url
        .clone()
        .expect("a frame on the embedded path");
    // The main window may frame the page and Jitsi before the frame's URL reaches the UI.
    assert_eq!(
        shell.next().await,
        Told::OpenEmbedded {
            call_page: Url::parse(&frame_url)
                .unwrap()
                .origin()
                .ascii_serialization(),
            jitsi: world.jitsi.origin.clone(),
        }
    );
    assert_eq!(shell.next().await, Told::Changed(Box::new(screen.clone())));

    let mut page = Page::connect(&frame_url).await;
    let load = page.expect("load").await;
    assert_eq!(
        load["scriptUrl"],
        format!("{}/external_api.js", world.jitsi.origin)
    );
    assert_eq!(
        load["domain"],
        world.jitsi.origin.trim_start_matches("https://")
    );
    assert_eq!(load["events"], json!(InboundEvent::NAMES));
    let options = &load["options"];
    assert_eq!(options["roomName"], json!(screen.room_name));
    assert!(options["jwt"]
        .as_str()
        .is_some_and(|jwt| jwt.split('.').count() == 3));
    assert_eq!(
        options["configOverwrite"]["prejoinConfig"]["enabled"],
        false
    );
    assert_eq!(options["userInfo"]["email"], DOCTOR);

    page.joined("moderator").await;
    shell
        .screen_where("joined as moderator", |screen| {
            screen.view.phase == CallPhase::Joined && screen.view.role == CallRole::Moderator
        })
        .await;

    // A control goes out as external_api.js's command and changes nothing until Jitsi says so.
    hub.control(CallControl::ToggleAudio).await.unwrap();
    assert_eq!(
        page.expect("command").await,
        json!({"kind": "command", "name": "toggleAudio", "args": []})
    );
    assert!(!hub.screen().await.unwrap().view.audio_muted);
    page.event("audioMuteStatusChanged", json!({"muted": true}))
        .await;
    shell
        .screen_where("muted by Jitsi", |screen| screen.view.audio_muted)
        .await;

    // Hang up: Jitsi is told, and its readyToClose disposes everything.
    hub.control(CallControl::HangUp).await.unwrap();
    assert_eq!(page.expect("command").await["name"], "hangup");
    page.event("videoConferenceLeft", json!({"roomName": "r"}))
        .await;
    page.event("readyToClose", json!({})).await;
    shell
        .screen_where("ended by the hang-up", |screen| {
            screen.view.phase
                == CallPhase::Ended {
                    reason: EndReason::HungUp,
                }
        })
        .await;
    page.expect("dispose").await;
    shell.told(Told::CloseEmbedded).await;
    assert_eq!(shell.next().await, Told::Closed);
    assert_eq!(hub.screen().await, None);
    assert_eq!(page.next().await, None, "the channel closes with the call");
}

#[tokio::test]
async fn a_token_refused_once_is_fetched_again_and_the_conference_reloaded() {
    let world = World::start().await;
    let session = world.doctor().await;
    let appointment = world.appointments(&session).await.remove(0);
    let (hub, mut shell) = hub();
    let screen = hub
        .join(
            session,
            args(&appointment),
            world.options(CallPathKind::Embedded, None),
        )
        .await
        .unwrap();
    let mut page = Page::connect(screen.frame_url.as_deref().unwrap()).await;
    let first = page.expect("load").await;

    page.event(
        "errorOccurred",
        token_refused("connection.passwordRequired"),
    )
    .await;
    shell
        .screen_where("rejoining", |screen| {
            screen.view.phase == CallPhase::Rejoining
        })
        .await;
    let reload = page.expect("load").await;
    assert_eq!(reload["options"]["roomName"], first["options"]["roomName"]);
    assert!(reload["options"]["jwt"].is_string());
    assert_ne!(
        reload["options"]["jwt"], first["options"]["jwt"],
        "a fresh token, not the refused one again"
    );

    page.joined("moderator").await;
    shell
        .screen_where("joined", |screen| screen.view.phase == CallPhase::Joined)
        .await;
    hub.leave().await;
    assert_eq!(page.expect("command").await["name"], "hangup");
    page.expect("dispose").await;
    shell.told(Told::Closed).await;
}

/// A kiosk joins with the microphone and camera off (consent comes first), and a rejoin keeps
/// what the call last had: the patient's choice, not the start's.
#[tokio::test]
async fn a_kiosk_call_starts_muted_and_a_rejoin_keeps_the_last_choice() {
    let world = World::start().await;
    let session = world.doctor().await;
    let appointment = world.appointments(&session).await.remove(0);
    let (hub, mut shell) = hub();
    let options = CallOptions {
        start_muted: true,
        ..world.options(CallPathKind::Embedded, None)
    };
    let screen = hub
        .join(session, args(&appointment), options)
        .await
        .unwrap();
    assert!(
        screen.view.audio_muted && screen.view.video_muted,
        "{screen:?}"
    );
    let mut page = Page::connect(screen.frame_url.as_deref().unwrap()).await;
    let first = page.expect("load").await;
    assert_eq!(
        first["options"]["configOverwrite"]["startWithAudioMuted"],
        true
    );
    assert_eq!(
        first["options"]["configOverwrite"]["startWithVideoMuted"],
        true
    );

    page.joined("participant").await;
    // The microphone was turned on (after the countdown); the camera stays off.
    page.event("audioMuteStatusChanged", json!({"muted": false}))
        .await;
    shell
        .screen_where("the microphone on", |screen| !screen.view.audio_muted)
        .await;
    page.event(
        "errorOccurred",
        token_refused("connection.passwordRequired"),
    )
    .await;
    let reload = page.expect("load").await;
    assert_eq!(
        reload["options"]["configOverwrite"]["startWithAudioMuted"],
        false
    );
    assert_eq!(
        reload["options"]["configOverwrite"]["startWithVideoMuted"],
        true
    );
    hub.leave().await;
}

#[tokio::test]
async fn a_token_refused_twice_is_a_clear_error_and_not_a_third_try() {
    let world = World::start().await;
    let session = world.doctor().await;
    let appointment = world.appointments(&session).await.remove(0);
    let (hub, mut shell) = hub();
    let screen = hub
        .join(
            session,
            args(&appointment),
            world.options(CallPathKind::Embedded, None),
        )
        .await
        .unwrap();
    let mut page = Page::connect(screen.frame_url.as_deref().unwrap()).await;
    page.expect("load").await;

    page.event(
        "errorOccurred",
        token_refused("connection.passwordRequired"),
    )
    .await;
    page.expect("load").await;
    page.event(
        "errorOccurred",
        token_refused("conference.connectionError.notAllowed"),
    )
    .await;
    let failed = shell
        .screen_where("failed", |screen| {
            matches!(screen.view.phase, CallPhase::Failed { .. })
        })
        .await;
    let CallPhase::Failed { message } = failed.view.phase else {
        unreachable!()
    };
    assert!(
        message.contains("refused") && message.contains("clock"),
        "{message}"
    );
    // Nothing more was loaded: the page's next message is the leave's dispose.
    hub.leave().await;
    page.expect("dispose").await;
    shell.told(Told::Closed).await;
}

#[tokio::test]
async fn retry_opens_the_page_once_jitsi_is_back_and_reloads_a_page_that_failed() {
    let world = World::start().await;
    let session = world.doctor().await;
    let appointment = world.appointments(&session).await.remove(0);
    let (hub, mut shell) = hub();

    // Jitsi is down: a message with Retry, and no frame to show.
    world.jitsi.set_up(false);
    let screen = hub
        .join(
            session,
            args(&appointment),
            world.options(CallPathKind::Embedded, None),
        )
        .await
        .unwrap();
    let CallPhase::Failed { message } = &screen.view.phase else {
        panic!("{:?}", screen.view.phase)
    };
    assert!(
        message.contains("HTTP 503") && message.contains("Retry"),
        "{message}"
    );
    assert_eq!(screen.frame_url, None);
    assert_eq!(shell.next().await, Told::Changed(Box::new(screen)));

    world.jitsi.set_up(true);
    let screen = hub.retry().await.unwrap();
    assert_eq!(screen.view.phase, CallPhase::Joining);
    let frame_url = screen.frame_url.clone().expect("now a frame");
    assert!(matches!(shell.next().await, Told::OpenEmbedded { .. }));
    assert_eq!(shell.next().await, Told::Changed(Box::new(screen.clone())));
    let mut page = Page::connect(&frame_url).await;
    page.expect("load").await;

    // external_api.js did not load in the page; Retry loads it again in the same page.
    page.send(json!({"kind": "loadFailed", "detail": "the script did not load"}))
        .await;
    shell
        .screen_where("failed", |screen| {
            matches!(&screen.view.phase, CallPhase::Failed { message } if message.contains("the script did not load"))
        })
        .await;
    let again = hub.retry().await.unwrap();
    assert_eq!(again.view.phase, CallPhase::Joining);
    assert_eq!(again.frame_url, screen.frame_url, "the same page");
    page.expect("load").await;
    page.joined("moderator").await;
    shell
        .screen_where("joined", |screen| screen.view.phase == CallPhase::Joined)
        .await;
}

#[tokio::test]
async fn hanging_up_before_the_page_connects_closes_at_once() {
    let world = World::start().await;
    let session = world.doctor().await;
    let appointment = world.appointments(&session).await.remove(0);
    let (hub, mut shell) = hub();
    let screen = hub
        .join(
            session,
            args(&appointment),
            world.options(CallPathKind::Embedded, None),
        )
        .await
        .unwrap();

    hub.control(CallControl::HangUp).await.unwrap();
    assert!(matches!(shell.next().await, Told::OpenEmbedded { .. }));
    assert_eq!(shell.next().await, Told::Changed(Box::new(screen)));
    assert_eq!(shell.next().await, Told::CloseEmbedded);
    assert_eq!(shell.next().await, Told::Closed);
    assert_eq!(hub.screen().await, None);
    assert!(matches!(
        hub.control(CallControl::ToggleAudio).await,
        Err(AppError::CallUnavailable { .. })
    ));
}

#[tokio::test]
async fn a_second_join_returns_the_running_call_and_another_call_is_refused() {
    let world = World::start().await;
    let session = world.doctor().await;
    let appointments = world.appointments(&session).await;
    let (hub, mut shell) = hub();
    let options = world.options(CallPathKind::Embedded, None);
    let first = hub
        .join(session.clone(), args(&appointments[0]), options.clone())
        .await
        .unwrap();

    let again = hub
        .join(session.clone(), args(&appointments[0]), options.clone())
        .await
        .unwrap();
    assert_eq!(again, first);
    let other = hub
        .join(session, args(&appointments[1]), options)
        .await
        .unwrap_err();
    assert!(
        matches!(&other, AppError::CallUnavailable { detail } if detail.contains("Another call")),
        "{other:?}"
    );

    // Neither opened anything: after the first join, the shell hears only the leave.
    hub.leave().await;
    assert!(matches!(shell.next().await, Told::OpenEmbedded { .. }));
    assert_eq!(shell.next().await, Told::Changed(Box::new(first)));
    assert_eq!(shell.next().await, Told::CloseEmbedded);
    assert_eq!(shell.next().await, Told::Closed);
}

#[tokio::test]
async fn closing_the_browser_window_ends_the_call() {
    let world = World::start().await;
    let session = world.doctor().await;
    let appointment = world.appointments(&session).await.remove(0);
    let (hub, mut shell) = hub();
    let browser = FakeBrowser::new();

    let screen = hub
        .join(
            session,
            args(&appointment),
            world.options(CallPathKind::Browser, Some(browser.program.clone())),
        )
        .await
        .unwrap();
    assert_eq!(screen.frame_url, None, "no frame on the browser path");
    assert_eq!(shell.next().await, Told::Changed(Box::new(screen)));
    let launched = browser.launched().await;
    assert!(launched.page_url.ends_with("&mode=browser"));
    // The key is on no command line: any local user can read those.
    let key = launched
        .page_url
        .split_once("#k=")
        .unwrap()
        .1
        .split('&')
        .next()
        .unwrap();
    assert_eq!(key.len(), 64);
    assert!(
        !launched.args.iter().any(|arg| arg.contains(key)),
        "{:?}",
        launched.args
    );
    // The clinic's CA-verified certificate is trusted in the browser's profile only.
    assert!(launched
        .args
        .iter()
        .any(|arg| arg.starts_with("--ignore-certificate-errors-spki-list=")));

    let mut page = Page::connect(&launched.page_url).await;
    page.expect("load").await;
    page.joined("participant").await;
    // The window's own buttons are drawn from the views the hub sends it.
    while page.view().await["phase"]["phase"] != "joined" {}
    // The window's own buttons take the app's path to Jitsi.
    page.send(json!({"kind": "control", "control": {"control": "toggleAudio"}}))
        .await;
    assert_eq!(page.expect("command").await["name"], "toggleAudio");

    launched.close();
    page.expect("dispose").await;
    assert_eq!(
        shell
            .until("closed", |told| match told {
                Told::Closed => Some(Told::Closed),
                Told::CloseEmbedded => Some(Told::CloseEmbedded),
                _ => None,
            })
            .await,
        Told::Closed,
        "nothing embedded to close"
    );
    assert_eq!(hub.screen().await, None);
}

#[tokio::test]
async fn as_root_the_browser_is_not_opened_unless_an_administrator_allows_it() {
    if !consult_core::call::browser::running_as_root() {
        eprintln!("not root: nothing to refuse (CI runs this as root)");
        return;
    }
    let world = World::start().await;
    let session = world.doctor().await;
    let appointment = world.appointments(&session).await.remove(0);
    let (hub, _shell) = hub();
    let browser = FakeBrowser::new();
    let mut options = world.options(CallPathKind::Browser, Some(browser.program.clone()));
    options.browser_allow_root = false;

    let screen = hub
        .join(session, args(&appointment), options)
        .await
        .unwrap();
    let CallPhase::Failed { message } = &screen.view.phase else {
        panic!("{:?}", screen.view.phase)
    };
    assert!(
        message.contains("root")
            && message.contains("sandbox")
            && message.contains("browser_allow_root"),
        "{message}"
    );
}

#[tokio::test]
async fn leaving_a_browser_call_ends_the_browser() {
    let world = World::start().await;
    let session = world.doctor().await;
    let appointment = world.appointments(&session).await.remove(0);
    let (hub, mut shell) = hub();
    let browser = FakeBrowser::new();
    hub.join(
        session,
        args(&appointment),
        world.options(CallPathKind::Browser, Some(browser.program.clone())),
    )
    .await
    .unwrap();
    let launched = browser.launched().await;

    hub.leave().await;
    shell.told(Told::Closed).await;
    launched.gone().await;
}

#[tokio::test]
async fn each_knock_is_settled_once_when_answered_here_or_elsewhere_or_when_the_call_closes() {
    let world = World::start().await;
    let session = world.doctor().await;
    let appointment = world.appointments(&session).await.remove(0);
    let (hub, mut shell) = hub();
    let screen = hub
        .join(
            session,
            args(&appointment),
            world.options(CallPathKind::Embedded, None),
        )
        .await
        .unwrap();
    let mut page = Page::connect(screen.frame_url.as_deref().unwrap()).await;
    page.expect("load").await;
    page.joined("moderator").await;
    for id in ["k1", "k2", "k3"] {
        page.event(
            "knockingParticipant",
            json!({"participant": {"id": id, "name": "Sam"}}),
        )
        .await;
        shell.told(Told::Knocking(id.into())).await;
    }

    // Answered here: Jitsi sends no event for it, so the hub settles the knock itself.
    hub.control(CallControl::AnswerKnocking {
        participant_id: "k1".into(),
        approved: false,
    })
    .await
    .unwrap();
    assert_eq!(
        page.expect("command").await,
        json!({"kind": "command", "name": "answerKnockingParticipant", "args": ["k1", false]})
    );
    shell.told(Told::KnockSettled("k1".into())).await;

    // Admitted by another moderator: Jitsi reports the knocker joining.
    page.event(
        "participantJoined",
        json!({"id": "k2", "displayName": "Sam"}),
    )
    .await;
    shell.told(Told::KnockSettled("k2".into())).await;

    // Still knocking when the call closes.
    hub.leave().await;
    shell.told(Told::Closed).await;
    assert_eq!(shell.settled(), ["k1", "k2", "k3"]);
}
