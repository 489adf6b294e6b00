//! The Jitsi stand-in's own promises, checked with a real browser (headless Chromium through
//! chromedriver), not with the desktop app: the genuine `external_api.js` talks to the stand-in's
//! meeting page, tokens minted by the clinic server's own code are checked with Prosody's rules,
//! commands are recorded and answered, scripted events reach the embedder, and WebRTC media flows.
//!
//! Needs `chromium` and `chromium-driver` (Debian) and the stand-in's bundle
//! (`tests/jitsi-standin/dist`, see `build_jitsi_standin` in scripts/lib.sh).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use consult_e2e::jitsi::{JitsiStandIn, StandInOptions};
use consult_e2e::process::{free_port, ChildGuard};
use consult_server::jitsi::{JitsiConfig, JitsiTokens, TokenGrant};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tempfile::TempDir;

const APP_ID: &str = "consult";
const APP_SECRET: &str = "a-test-app-secret-of-at-least-32-bytes!";
const TIMEOUT: Duration = Duration::from_secs(20);

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn standin() -> JitsiStandIn {
    JitsiStandIn::start(StandInOptions::hs256(APP_ID, APP_SECRET))
}

/// A token minted by the clinic server's own code for this stand-in, with `secret`.
fn token(standin: &JitsiStandIn, secret: &str, room: &str, moderator: bool) -> String {
    let config = JitsiConfig::hs256(standin.base_url(), APP_ID, secret);
    let tokens = JitsiTokens::from_config(&config).expect("a valid [jitsi] configuration");
    let now = now();
    let grant = TokenGrant {
        room,
        user_id: "user-1",
        display_name: "Dr Ada",
        email: "",
        moderator,
        appointment_end: now + 1800,
        now,
    };
    tokens.mint(&grant).expect("mint").token
}

/// Headless Chromium under chromedriver, trusting only this stand-in's key.
struct Browser {
    client: Client,
    _driver: ChildGuard,
    _profile: TempDir,
}

impl Browser {
    async fn start(standin: &JitsiStandIn) -> Browser {
        let port = free_port();
        let driver = ChildGuard::spawn(
            "chromedriver",
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        let profile = tempfile::Builder::new()
            .prefix("standin-chromium-")
            .tempdir()
            .expect("profile dir");
        let args = vec![
            "--no-sandbox".to_owned(),
            "--headless=new".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--use-fake-device-for-media-stream".to_owned(),
            "--use-fake-ui-for-media-stream".to_owned(),
            format!(
                "--ignore-certificate-errors-spki-list={}",
                standin.leaf_spki_sha256_base64()
            ),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": "/usr/bin/chromium", "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => {
                    panic!("no WebDriver session with Chromium: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// Opens the stand-in's test embedder and creates a `JitsiMeetExternalAPI` for `room`.
    async fn embed(&self, standin: &JitsiStandIn, room: &str, jwt: &str) {
        self.client
            .goto(&format!("{}/_standin/test-host.html", standin.base_url()))
            .await
            .expect("open the test host page");
        let options = json!({
            "domain": standin.domain(),
            "roomName": room,
            "jwt": jwt,
            "displayName": "Host Page User",
        });
        let started = self
            .client
            .execute("return window.startMeeting(arguments[0]);", vec![options])
            .await
            .expect("startMeeting");
        assert_eq!(started, json!(true));
    }

    /// Asks the meeting page a question (`isAudioMuted`) and waits for the answer. The answer
    /// comes over the same `postMessage` channel as the page's events and after every event the
    /// page sent before it, so a test can then check that an event did not come.
    async fn round_trip(&self) {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.api.isAudioMuted().then(() => done(true), () => done(false));",
                vec![],
            )
            .await
            .expect("isAudioMuted answered");
    }

    async fn host_events(&self) -> Vec<Value> {
        let events = self
            .client
            .execute("return window.hostEvents || [];", vec![])
            .await
            .expect("read hostEvents");
        events.as_array().cloned().unwrap_or_default()
    }

    /// Waits until the host page saw `event`, and returns its payload.
    async fn wait_for_host_event(&self, event: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let events = self.host_events().await;
            if let Some(found) = events
                .iter()
                .find(|e| e["event"] == event && matches(&e["payload"]))
            {
                return found["payload"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "the host page never saw {event}; it saw {events:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn execute_command(&self, command: &str, args: Vec<Value>) {
        self.client
            .execute(
                "window.api.executeCommand(arguments[0], ...arguments[1]); return true;",
                vec![json!(command), Value::Array(args)],
            )
            .await
            .expect("executeCommand");
    }

    async fn quit(self) {
        let _ = self.client.close().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_valid_token_joins_and_commands_round_trip_with_media() {
    let standin = standin();
    let browser = Browser::start(&standin).await;
    let jwt = token(&standin, APP_SECRET, "consult-room-1", true);
    browser.embed(&standin, "consult-room-1", &jwt).await;

    let joined = browser
        .wait_for_host_event("videoConferenceJoined", |_| true)
        .await;
    let joins = standin.wait_for_joins(1, TIMEOUT);
    let join = &joins[0];
    assert!(join.accepted, "{join:#?}");
    assert_eq!(join.room, "consult-room-1");
    assert!(join.moderator);
    assert_eq!(
        join.display_name.as_deref(),
        Some("Dr Ada"),
        "the token's name"
    );
    assert_eq!(
        join.config["prejoinConfig"],
        json!({ "enabled": false }),
        "configOverwrite reached the page"
    );
    assert_eq!(join.config["startWithVideoMuted"], json!(true));
    assert_eq!(join.user_info["displayName"], json!("Host Page User"));
    let claims = join.claims.as_ref().expect("claims");
    assert_eq!(claims["sub"], json!(standin.xmpp_domain()));
    assert_eq!(joined["roomName"], json!("consult-room-1"));
    assert_eq!(joined["id"], json!(join.participant_id));
    assert_eq!(joined["displayName"], json!("Dr Ada"));
    browser
        .wait_for_host_event("videoMuteStatusChanged", |p| p["muted"] == json!(true))
        .await;
    browser
        .wait_for_host_event("participantRoleChanged", |p| {
            p["role"] == json!("moderator") && p["id"] == json!(join.participant_id)
        })
        .await;

    browser.execute_command("toggleAudio", vec![]).await;
    let command = standin.wait_for_command("toggle-audio", TIMEOUT);
    assert_eq!(command.room, "consult-room-1");
    assert!(command.args.is_empty());
    assert!(command.page_time_ms > 1.0e12, "epoch milliseconds");
    browser
        .wait_for_host_event("audioMuteStatusChanged", |p| p["muted"] == json!(true))
        .await;
    let muted = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; window.api.isAudioMuted().then(done);",
            vec![],
        )
        .await
        .expect("isAudioMuted");
    assert_eq!(muted, json!(true), "the page answers is-audio-muted");

    browser
        .execute_command("toggleLobby", vec![json!(true)])
        .await;
    let lobby = standin.wait_for_command("toggle-lobby", TIMEOUT);
    assert_eq!(lobby.args, vec![json!(true)]);

    let media = standin.wait_for_media_report(TIMEOUT);
    eprintln!("media report: {media}");
    assert_eq!(media["supported"], json!(true), "{media}");
    assert!(
        media["framesDecoded"].as_f64().unwrap_or(0.0) > 0.0,
        "{media}"
    );
    assert!(
        media["bytesReceived"].as_f64().unwrap_or(0.0) > 0.0,
        "{media}"
    );

    browser.execute_command("hangup", vec![]).await;
    standin.wait_for_command("video-hangup", TIMEOUT);
    browser
        .wait_for_host_event("videoConferenceLeft", |p| {
            p["roomName"] == json!("consult-room-1")
        })
        .await;
    browser.wait_for_host_event("readyToClose", |_| true).await;
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_with_the_wrong_secret_is_refused_as_password_required() {
    let standin = standin();
    let browser = Browser::start(&standin).await;
    let jwt = token(
        &standin,
        "another-secret-that-is-also-32-bytes-long",
        "consult-room-2",
        false,
    );
    browser.embed(&standin, "consult-room-2", &jwt).await;

    let error = browser.wait_for_host_event("errorOccurred", |_| true).await;
    assert_eq!(error["error"]["name"], json!("connection.passwordRequired"));
    assert_eq!(error["error"]["type"], json!("CONNECTION"));
    assert_eq!(error["error"]["isFatal"], json!(true));
    let joins = standin.wait_for_joins(1, TIMEOUT);
    assert!(!joins[0].accepted);
    assert_eq!(joins[0].reason.as_deref(), Some("BadSignature"));
    browser.round_trip().await;
    let events = browser.host_events().await;
    assert!(
        !events.iter().any(|e| e["event"] == "videoConferenceJoined"),
        "no join: {events:#?}"
    );
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_for_another_room_is_not_allowed_and_scripted_events_reach_the_host() {
    let standin = standin();
    let browser = Browser::start(&standin).await;
    let other_room = token(&standin, APP_SECRET, "some-other-room", false);
    browser.embed(&standin, "consult-room-3", &other_room).await;
    let error = browser.wait_for_host_event("errorOccurred", |_| true).await;
    assert_eq!(
        error["error"]["name"],
        json!("conference.connectionError.notAllowed")
    );
    assert_eq!(
        standin.wait_for_joins(1, TIMEOUT)[0].reason.as_deref(),
        Some("WrongRoom")
    );

    // Now a good token, not a moderator: scripted participants arrive, knockers do not.
    let jwt = token(&standin, APP_SECRET, "consult-room-3", false);
    browser.embed(&standin, "consult-room-3", &jwt).await;
    browser
        .wait_for_host_event("videoConferenceJoined", |_| true)
        .await;
    assert!(!standin.wait_for_joins(2, TIMEOUT)[1].moderator);
    standin.send_event(
        "consult-room-3",
        json!({ "name": "knocking-participant", "participant": { "id": "k1", "name": "Knocker" } }),
    );
    standin.send_event(
        "consult-room-3",
        json!({ "name": "participant-joined", "id": "abcd1234", "displayName": "Patient Pat" }),
    );
    let joined = browser
        .wait_for_host_event("participantJoined", |_| true)
        .await;
    assert_eq!(
        joined,
        json!({ "id": "abcd1234", "displayName": "Patient Pat" })
    );
    let events = browser.host_events().await;
    assert!(
        !events.iter().any(|e| e["event"] == "knockingParticipant"),
        "a non-moderator is not told about knockers: {events:#?}"
    );
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_moderator_admits_a_knocker_and_scripted_rejections_apply() {
    let standin = standin();
    let browser = Browser::start(&standin).await;
    standin.reject_next_joins(1, "connection.passwordRequired");
    let jwt = token(&standin, APP_SECRET, "consult-room-4", true);
    browser.embed(&standin, "consult-room-4", &jwt).await;
    let error = browser.wait_for_host_event("errorOccurred", |_| true).await;
    assert_eq!(error["error"]["name"], json!("connection.passwordRequired"));
    assert_eq!(
        standin.wait_for_joins(1, TIMEOUT)[0].reason.as_deref(),
        Some("scripted")
    );

    browser.embed(&standin, "consult-room-4", &jwt).await;
    browser
        .wait_for_host_event("videoConferenceJoined", |_| true)
        .await;
    standin.send_event(
        "consult-room-4",
        json!({ "name": "knocking-participant", "participant": { "id": "k1", "name": "Knocker" } }),
    );
    let knocking = browser
        .wait_for_host_event("knockingParticipant", |_| true)
        .await;
    assert_eq!(knocking["participant"]["id"], json!("k1"));
    browser
        .execute_command("answerKnockingParticipant", vec![json!("k1"), json!(true)])
        .await;
    let answer = standin.wait_for_command("answer-knocking-participant", TIMEOUT);
    assert_eq!(answer.args, vec![json!("k1"), json!(true)]);
    let admitted = browser
        .wait_for_host_event("participantJoined", |_| true)
        .await;
    assert_eq!(admitted, json!({ "id": "k1", "displayName": "Knocker" }));
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sub_must_be_the_xmpp_domain_without_the_port() {
    let standin = standin();
    let browser = Browser::start(&standin).await;
    let now = now();
    let claims = json!({
        "iss": APP_ID, "aud": "jitsi", "sub": standin.domain(), "room": "consult-room-5",
        "nbf": now - 60, "exp": now + 600,
        "context": { "user": { "id": "u", "name": "N", "moderator": false } },
    });
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(APP_SECRET.as_bytes()),
    )
    .expect("sign");
    browser.embed(&standin, "consult-room-5", &jwt).await;
    let error = browser.wait_for_host_event("errorOccurred", |_| true).await;
    assert_eq!(
        error["error"]["name"],
        json!("conference.connectionError.notAllowed")
    );
    assert_eq!(
        standin.wait_for_joins(1, TIMEOUT)[0].reason.as_deref(),
        Some("WrongSubject")
    );
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn external_api_can_be_switched_off_and_the_server_config_matches() {
    let standin = standin();
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(standin.ca_pem().as_bytes()).expect("CA PEM"),
        )
        .build()
        .expect("client");
    let url = format!("{}/external_api.js", standin.base_url());
    let served = client
        .get(&url)
        .send()
        .await
        .expect("GET, trusting the private CA");
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["cache-control"], "no-store");
    let body = served.text().await.expect("body");
    assert!(body.contains("JitsiMeetExternalAPI"));
    assert!(
        !body.contains("__consultStandinProbe"),
        "no probe unless asked"
    );

    standin.set_external_api_available(false);
    let refused = client.get(&url).send().await.expect("GET");
    assert_eq!(refused.status(), 503);
    assert!(refused.text().await.expect("body").contains("unavailable"));
    standin.set_external_api_available(true);
    assert_eq!(client.get(&url).send().await.expect("GET").status(), 200);

    let page = client
        .get(format!("{}/Some-Room", standin.base_url()))
        .send()
        .await
        .expect("GET a room");
    assert!(page
        .text()
        .await
        .expect("body")
        .contains("/libs/meeting.js"));
    assert_eq!(
        std::fs::read_to_string(standin.ca_file()).expect("CA file"),
        standin.ca_pem()
    );
    let toml = standin.server_config_toml();
    assert!(toml.starts_with("[jitsi]\n"), "{toml}");
    assert!(
        toml.contains(&format!("server_url = \"{}\"", standin.base_url())),
        "{toml}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ipc_probe_reports_from_both_sides() {
    let standin = JitsiStandIn::start(StandInOptions {
        probe_ipc: true,
        ..StandInOptions::hs256(APP_ID, APP_SECRET)
    });
    let browser = Browser::start(&standin).await;
    let jwt = token(&standin, APP_SECRET, "consult-room-6", false);
    browser.embed(&standin, "consult-room-6", &jwt).await;
    let reports = standin.wait_for_probe_reports(2, Duration::from_secs(40));
    eprintln!("probe reports: {reports:#?}");
    let mut places: Vec<&str> = reports.iter().filter_map(|r| r["where"].as_str()).collect();
    places.sort_unstable();
    assert_eq!(places, ["external_api", "meeting"]);
    for report in &reports {
        let attempts = report["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 9, "{report}");
        for attempt in attempts {
            let outcome = attempt["outcome"].as_str().unwrap_or_default();
            assert!(
                ["threw", "absent", "resolved"].contains(&outcome),
                "{attempt}"
            );
            // A plain browser has no Tauri IPC to reach.
            if attempt["name"]
                .as_str()
                .unwrap_or_default()
                .contains("TAURI")
            {
                assert_eq!(outcome, "absent", "{attempt}");
            }
        }
    }
    browser.quit().await;
}

/// `scripts/run`'s demo meeting (`demo-jitsi`): the page says that it is not a real Jitsi, and the
/// user's own camera comes back through the WebRTC loopback and keeps playing after the media
/// check (the plain stand-in stops its tracks then).
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_meeting_says_what_it_is_and_keeps_showing_the_users_camera() {
    let standin = JitsiStandIn::start(StandInOptions {
        demo: true,
        ..StandInOptions::hs256(APP_ID, APP_SECRET)
    });
    let browser = Browser::start(&standin).await;
    let jwt = token(&standin, APP_SECRET, "consult-demo-1", true);
    browser.embed(&standin, "consult-demo-1", &jwt).await;
    browser
        .wait_for_host_event("videoConferenceJoined", |_| true)
        .await;
    let report = standin.wait_for_media_report(Duration::from_secs(40));
    assert_eq!(report["supported"], json!(true), "{report}");

    browser
        .client
        .enter_frame(0)
        .await
        .expect("the meeting's frame");
    let said = browser
        .client
        .execute(
            "const main = document.getElementById('standin-demo');
             return main ? main.innerText : null;",
            vec![],
        )
        .await
        .expect("read the page");
    let said = said.as_str().unwrap_or_default();
    assert!(said.starts_with("Demo meeting"), "{said:?}");
    assert!(said.contains("This is not a real Jitsi Meet"), "{said:?}");

    // After the check's 3 s the video still plays: its time moves on, it has a picture, and the
    // track behind it is live.
    let playing = "const v = document.getElementById('standin-self');
                   const track = v && v.srcObject && v.srcObject.getVideoTracks()[0];
                   return v ? [v.currentTime, v.videoWidth, v.paused,
                               track ? track.readyState : 'none'] : null;";
    let first = browser
        .client
        .execute(playing, vec![])
        .await
        .expect("video");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = browser
        .client
        .execute(playing, vec![])
        .await
        .expect("video");
    assert!(
        later[0].as_f64() > first[0].as_f64() && later[1].as_u64() > Some(0),
        "the demo's own camera is not playing: {first} then {later}"
    );
    assert_eq!(later[2], json!(false), "{later}");
    assert_eq!(later[3], json!("live"), "the camera's track ended: {later}");
    browser.quit().await;
}
