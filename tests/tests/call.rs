//! The call (issue 5), real all the way through: the app binary under Xvfb, the clinic server
//! minting real Jitsi tokens, and the Jitsi stand-in (tests/src/jitsi) serving the genuine
//! `external_api.js` and a meeting page on the genuine `@jitsi/js-utils` transport, over HTTPS
//! with a private CA the app is configured to trust. The stand-in validates every token with
//! Prosody's rules and records every command it receives; the tests click the app's controls
//! and check both what reached the meeting and what the app then shows.
//!
//! DOM and D-Bus contract: docs/desktop-contracts.md.

use std::time::Duration;

use consult_e2e::clinic::{
    id_of, Actor, DEMO_AGENCY_EMAIL, DEMO_AGENCY_NAME, DEMO_PATIENT_EMAIL, DEMO_PATIENT_NAME,
};
use consult_e2e::jitsi::{CommandRecord, JitsiStandIn, JoinRecord, StandInOptions};
use consult_e2e::notifications::Recorded;
use consult_e2e::{
    App, AppLaunch, ClinicApi, ClinicServer, IsolatedSession, NotificationDaemon,
    DEMO_DOCTOR_EMAIL, DEMO_DOCTOR_NAME, DEMO_PASSWORD,
};
use serde_json::{json, Value};

const APP_ID: &str = "consult-e2e";
const APP_SECRET: &str = "e2e-only-jitsi-app-secret-0123456789abcdef";
/// Join → conference joined, and click → command, on a debug build on 2 cores.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Which way the app carries the call (`call_path`).
#[derive(Clone, Copy, PartialEq)]
enum Path {
    Embedded,
    Browser,
}

/// One signed-in app with a server and a Jitsi stand-in. Field order is drop order.
struct Call {
    app: App,
    api: ClinicApi,
    doctor: Actor,
    server: ClinicServer,
    jitsi: JitsiStandIn,
    daemon: NotificationDaemon,
    session: IsolatedSession,
}

impl Call {
    async fn open(label: &str, path: Path, stand_in: StandInOptions, email: &str) -> Call {
        Call::open_with(label, path, stand_in, email, &[]).await
    }

    /// `env` is added last; an empty value removes a variable the fixture would set.
    async fn open_with(
        label: &str,
        path: Path,
        stand_in: StandInOptions,
        email: &str,
        env_changes: &[(&str, &str)],
    ) -> Call {
        let session = IsolatedSession::start();
        let daemon = NotificationDaemon::start(&session).await;
        let jitsi = JitsiStandIn::start(stand_in);
        let server = ClinicServer::start_demo_with_config(label, &server_jitsi_config(&jitsi));
        let api = ClinicApi::new(server.url());
        let mut env = vec![
            // Call events and frame navigations by name (never a URL's query).
            (
                "CONSULT_LOG".to_owned(),
                "info,consult_core::call=debug,consult_app_lib::window=debug".to_owned(),
            ),
        ];
        env.extend(jitsi.app_env(match path {
            Path::Embedded => "embedded",
            Path::Browser => "browser",
        }));
        for (key, value) in env_changes {
            env.retain(|(existing, _)| existing != key);
            if !value.is_empty() {
                env.push(((*key).to_owned(), (*value).to_owned()));
            }
        }
        let app = App::launch(AppLaunch {
            session: &session,
            server_url: server.url().to_owned(),
            label: label.to_owned(),
            env,
        })
        .await;
        app.sign_in(email, DEMO_PASSWORD).await;
        app.wait_for("#schedule").await;
        let doctor = api.doctor().await;
        Call {
            app,
            api,
            doctor,
            server,
            jitsi,
            daemon,
            session,
        }
    }

    async fn doctor(label: &str, path: Path) -> Call {
        Call::open(label, path, stand_in(), DEMO_DOCTOR_EMAIL).await
    }

    /// The demo appointment that is joinable now (it starts in 10 minutes).
    async fn joinable_appointment(&self) -> Value {
        let list = self.api.appointments_earliest_first(&self.doctor).await;
        list.into_iter().next().expect("demo appointments")
    }

    /// Opens the appointment's detail, where Join and the call path are.
    async fn open_detail(&self, appointment_id: &str) {
        let row = format!("li.appointment[data-appointment-id=\"{appointment_id}\"]");
        self.app.wait_for(&row).await;
        self.app.click(&format!("{row} .patient-name")).await;
        self.app
            .wait_for(&format!(
                "#appointment-detail[data-appointment-id=\"{appointment_id}\"]"
            ))
            .await;
    }

    /// Clicks Join in the appointment's detail; returns once the call screen is shown.
    async fn join(&self, appointment_id: &str) {
        self.open_detail(appointment_id).await;
        self.app.click("#join-call").await;
        self.app.wait_for("#call-screen").await;
    }

    async fn wait_phase(&self, phase: &str) {
        self.app
            .wait_for_attr("#call-phase", "data-phase", CALL_TIMEOUT, |shown| {
                shown == phase
            })
            .await;
    }

    fn joins(&self, count: usize) -> Vec<JoinRecord> {
        tokio::task::block_in_place(|| self.jitsi.wait_for_joins(count, CALL_TIMEOUT))
    }

    /// The joins the stand-in saw until now, without waiting for more.
    fn joins_so_far(&self) -> Vec<JoinRecord> {
        self.jitsi.joins()
    }

    fn command(&self, name: &str) -> CommandRecord {
        tokio::task::block_in_place(|| self.jitsi.wait_for_command(name, COMMAND_TIMEOUT))
    }

    /// Clicks a control and waits until the meeting page received `wire`; returns the record.
    async fn control(&self, button: &str, wire: &str) -> CommandRecord {
        let before = self.count_commands(wire);
        self.app.click(button).await;
        let deadline = std::time::Instant::now() + COMMAND_TIMEOUT;
        loop {
            let received: Vec<CommandRecord> = self
                .jitsi
                .commands()
                .into_iter()
                .filter(|command| command.name == wire)
                .collect();
            if received.len() > before {
                return received.into_iter().last().expect("just counted");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{button} did not reach the meeting as {wire}; it received {:?}",
                self.jitsi
                    .commands()
                    .iter()
                    .map(|command| command.name.clone())
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn count_commands(&self, wire: &str) -> usize {
        self.jitsi
            .commands()
            .iter()
            .filter(|command| command.name == wire)
            .count()
    }

    async fn state_of(&self, button: &str) -> String {
        self.app
            .attr(button, "data-state")
            .await
            .unwrap_or_default()
    }

    async fn wait_state(&self, button: &str, state: &str) {
        self.app
            .wait_for_attr(button, "data-state", COMMAND_TIMEOUT, |shown| {
                shown == state
            })
            .await;
    }

    /// The native notification about `participant_id` knocking, once it is shown.
    async fn lobby_notification(&self, participant_id: &str) -> Recorded {
        self.daemon
            .wait_for(
                |n| n.hint("x-consult-lobby-participant-id") == Some(participant_id),
                Duration::from_secs(20),
            )
            .await
    }

    async fn close(self) {
        self.app.quit().await;
    }
}

fn stand_in() -> StandInOptions {
    StandInOptions::hs256(APP_ID, APP_SECRET)
}

/// The server's `[jitsi]` table pointing at the stand-in, with the stand-in's key; reminders
/// are looked for every second, so one is due within a second of its moment.
fn server_jitsi_config(jitsi: &JitsiStandIn) -> String {
    format!("reminder_poll_secs = 1\n{}", jitsi.server_config_toml())
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_call_controls_reach_jitsi_and_the_screen_follows_its_events() {
    let call = Call::doctor("call-embedded", Path::Embedded).await;
    let appointment = call.joinable_appointment().await;
    call.open_detail(&id_of(&appointment)).await;
    call.app
        .wait_for_attr("#call-path", "data-path", CALL_TIMEOUT, |path| {
            path == "embedded"
        })
        .await;
    let note = call
        .app
        .wait_for_text("#call-path", |text| !text.is_empty())
        .await;
    assert!(note.contains("administrator"), "forced path shown: {note}");

    call.join(&id_of(&appointment)).await;
    call.wait_phase("joined").await;
    let join = call.joins(1).remove(0);
    assert!(
        join.accepted,
        "the stand-in refused the server's token: {join:?}"
    );
    assert!(join.moderator, "the doctor's token makes them moderator");
    assert_eq!(join.config["prejoinConfig"]["enabled"], json!(false));
    assert_eq!(
        join.config["startWithVideoMuted"],
        json!(false),
        "a video appointment"
    );
    assert_eq!(join.user_info["displayName"], json!(DEMO_DOCTOR_NAME));
    assert!(call.app.is_present("#call-frame").await);
    let room = join.room.clone();

    // Each toggle: the click reaches the meeting, and the button changes only because the
    // meeting's event came back.
    for (button, wire) in [
        ("#ctl-audio", "toggle-audio"),
        ("#ctl-video", "toggle-video"),
        ("#ctl-share", "toggle-share-screen"),
        ("#ctl-hand", "toggle-raise-hand"),
        ("#ctl-tile", "toggle-tile-view"),
    ] {
        assert_eq!(call.state_of(button).await, "off", "{button} starts off");
        call.control(button, wire).await;
        call.wait_state(button, "on").await;
        call.control(button, wire).await;
        call.wait_state(button, "off").await;
    }
    let share = call.command("toggle-share-screen");
    assert_eq!(share.args, vec![json!({"enable": true})]);

    // The keyboard shortcut takes the same path as the button.
    call.app
        .client()
        .execute(
            "document.activeElement && document.activeElement.blur()",
            vec![],
        )
        .await
        .expect("blur");
    let body = call
        .app
        .client()
        .find(fantoccini::Locator::Css("body"))
        .await
        .expect("body");
    let before = call.count_commands("toggle-audio");
    body.send_keys("m").await.expect("type m");
    call.wait_state("#ctl-audio", "on").await;
    tokio::task::block_in_place(|| {
        call.jitsi
            .wait_for_commands("toggle-audio", before + 1, COMMAND_TIMEOUT)
    });
    body.send_keys("m").await.expect("type m");
    call.wait_state("#ctl-audio", "off").await;

    // Moderator controls.
    let lobby = call.control("#ctl-lobby", "toggle-lobby").await;
    assert_eq!(lobby.args, vec![json!(true)]);
    let mute_all = call.control("#ctl-mute-all", "mute-everyone").await;
    assert_eq!(mute_all.args, vec![json!("audio")]);

    // Someone joins and leaves, as Jitsi tells it.
    call.jitsi.send_event(
        &room,
        json!({"name": "participant-joined", "id": "remote1", "displayName": DEMO_PATIENT_NAME}),
    );
    let person = "#call-participants li.participant[data-participant-id=\"remote1\"]";
    let shown = call
        .app
        .wait_for_text(person, |text| !text.is_empty())
        .await;
    assert!(shown.contains(DEMO_PATIENT_NAME), "{shown}");
    call.jitsi
        .send_event(&room, json!({"name": "participant-left", "id": "remote1"}));
    call.app.wait_gone(person).await;

    // A camera failure is shown with what to do.
    call.jitsi.send_event(
        &room,
        json!({"name": "camera-error", "type": "gum.permission_denied", "message": "Permission denied"}),
    );
    let media = call
        .app
        .wait_for_text("#media-error", |text| !text.is_empty())
        .await;
    assert!(media.to_lowercase().contains("camera"), "{media}");

    // Hang up: the meeting is told, and the app returns to the schedule.
    call.control("#ctl-hangup", "video-hangup").await;
    call.app.wait_gone("#call-screen").await;
    call.app.wait_for("#schedule").await;
    call.app.screenshot("call-embedded-after").await;
    call.close().await;
}

/// The core speaks `external_api.js`'s own vocabulary: every event it listens to is a public name
/// in the genuine event map, and every command it sends a key of the genuine command map.
#[test]
fn the_cores_jitsi_names_are_external_api_js_public_names() {
    use consult_core::call::wire::commands::*;
    let path =
        consult_e2e::paths::workspace_root().join("tests/jitsi-standin/dist/external_api.js");
    let bundle = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error} (build the stand-in first)", path.display()));
    for event in consult_core::call::InboundEvent::NAMES {
        // The minified map reads `"wire-name":"publicName"`.
        assert!(
            bundle.contains(&format!(":\"{event}\"")),
            "{event} is not an event name of external_api.js"
        );
    }
    for command in [
        TOGGLE_AUDIO,
        TOGGLE_VIDEO,
        HANGUP,
        TOGGLE_SHARE_SCREEN,
        TOGGLE_RAISE_HAND,
        TOGGLE_TILE_VIEW,
        TOGGLE_LOBBY,
        ANSWER_KNOCKING_PARTICIPANT,
        MUTE_EVERYONE,
        END_CONFERENCE,
    ] {
        // The minified map reads `publicName:"wire-name"`.
        assert!(
            bundle.contains(&format!("{command}:\"")),
            "{command} is not a command of external_api.js"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_embedded_call_shows_only_the_apps_controls() {
    let call = Call::doctor("call-one-bar", Path::Embedded).await;
    let appointment = call.joinable_appointment().await;
    call.join(&id_of(&appointment)).await;
    call.wait_phase("joined").await;
    assert!(call.app.is_present("#ctl-audio").await, "the app's own bar");

    // The call page's own bar is for the browser window: in the app's frame it is hidden and
    // takes no space under the meeting.
    let frame = call.app.wait_for("#call-frame").await;
    frame
        .enter_frame()
        .await
        .expect("enter the call page's frame");
    let bar = call
        .app
        .client()
        .execute(
            "const bar = document.getElementById('controls');
             const box = bar.getBoundingClientRect();
             return {hidden: bar.hidden, display: getComputedStyle(bar).display,
                     width: box.width, height: box.height,
                     stage: document.getElementById('stage').getBoundingClientRect().height};",
            vec![],
        )
        .await
        .expect("read the call page's bar");
    call.app
        .client()
        .enter_parent_frame()
        .await
        .expect("back to the app's page");
    assert_eq!(bar["hidden"], json!(true), "{bar}");
    assert_eq!(bar["display"], json!("none"), "{bar}");
    assert_eq!(bar["width"].as_f64(), Some(0.0), "{bar}");
    assert_eq!(bar["height"].as_f64(), Some(0.0), "{bar}");
    assert!(
        bar["stage"].as_f64().is_some_and(|height| height > 0.0),
        "{bar}"
    );
    call.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn audio_only_starts_with_the_camera_off_and_a_patient_is_no_moderator() {
    let call = Call::open(
        "call-patient",
        Path::Embedded,
        stand_in(),
        DEMO_PATIENT_EMAIL,
    )
    .await;
    let patient = call.api.patient().await;
    let booked = call
        .api
        .book(
            &call.doctor,
            &patient.id,
            None,
            Duration::from_secs(60),
            "audio",
            false,
        )
        .await;
    call.join(&id_of(&booked)).await;
    call.wait_phase("joined").await;
    let join = call.joins(1).remove(0);
    assert!(join.accepted, "{join:?}");
    assert!(
        !join.moderator,
        "a patient's token must not make them moderator"
    );
    assert_eq!(
        join.claims
            .as_ref()
            .map(|c| c["context"]["user"]["moderator"].clone()),
        Some(json!(false))
    );
    assert_eq!(
        join.config["startWithVideoMuted"],
        json!(true),
        "audio-only"
    );
    assert_eq!(join.user_info["displayName"], json!(DEMO_PATIENT_NAME));
    // The camera shows off because Jitsi said so at the start.
    call.wait_state("#ctl-video", "on").await;
    for moderator_only in ["#ctl-lobby", "#ctl-mute-all", "#ctl-end-all"] {
        assert!(
            !call.app.is_present(moderator_only).await,
            "{moderator_only} shown to a patient"
        );
    }
    // Jitsi tells only moderators about knockers; the patient's screen never shows one.
    call.jitsi.send_event(
        &join.room,
        json!({"name": "knocking-participant", "participant": {"id": "k1", "name": "Sam"}}),
    );
    call.control("#ctl-audio", "toggle-audio").await;
    call.wait_state("#ctl-audio", "on").await;
    assert_eq!(call.app.count("#call-lobby li.knocker").await, 0);
    assert!(call
        .daemon
        .all()
        .iter()
        .all(|n| n.hint("x-consult-lobby-participant-id").is_none()));
    call.control("#ctl-hangup", "video-hangup").await;
    call.app.wait_gone("#call-screen").await;
    call.close().await;
}

/// The waiting room from the agency's side (seed 002 steps 3-6): the agency's app asks, the
/// doctor admits (through the API, as the doctor's app does), and the agency's call opens with
/// no second click.
#[tokio::test(flavor = "multi_thread")]
async fn an_agency_asks_to_join_and_is_let_in_without_a_click() {
    let call = Call::open(
        "waiting-admit",
        Path::Embedded,
        stand_in(),
        DEMO_AGENCY_EMAIL,
    )
    .await;
    let appointment = id_of(&call.joinable_appointment().await);
    call.open_detail(&appointment).await;
    call.app
        .wait_for_text("#join-call", |label| label == "Ask to join")
        .await;
    call.app.click("#join-call").await;
    call.app
        .wait_for("#waiting-room[data-state=\"waiting\"]")
        .await;
    call.app
        .wait_for_text("#waiting-title", |title| {
            title == format!("{DEMO_DOCTOR_NAME} will let you in")
        })
        .await;
    assert!(!call.app.is_present("#call-screen").await);
    call.app.screenshot("agency-waiting").await;

    let pending = call
        .api
        .pending_join_requests(&call.doctor, &appointment)
        .await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["requesterName"], json!(DEMO_AGENCY_NAME));
    call.api.approve(&call.doctor, &id_of(&pending[0])).await;

    // No click: the approval alone opens the call.
    call.app.wait_for("#call-screen").await;
    call.wait_phase("joined").await;
    let join = call.joins(1).remove(0);
    assert!(join.accepted, "{join:?}");
    assert!(!join.moderator, "an agency does not moderate");
    assert_eq!(join.user_info["displayName"], json!(DEMO_AGENCY_NAME));
    call.control("#ctl-hangup", "video-hangup").await;
    call.app.wait_gone("#call-screen").await;
    // The wait is over: back to the schedule, not to the waiting room.
    call.app.wait_for("#schedule").await;
    assert!(!call.app.is_present("#waiting-room").await);
    call.close().await;
}

/// Declined, the agency is told and asks again; cancelling then withdraws the request from the
/// doctor's list.
#[tokio::test(flavor = "multi_thread")]
async fn a_declined_agency_asks_again_and_cancelling_withdraws_the_request() {
    let call = Call::open(
        "waiting-decline",
        Path::Embedded,
        stand_in(),
        DEMO_AGENCY_EMAIL,
    )
    .await;
    let appointment = id_of(&call.joinable_appointment().await);
    call.open_detail(&appointment).await;
    call.app.click("#join-call").await;
    call.app
        .wait_for("#waiting-room[data-state=\"waiting\"]")
        .await;
    let first = call
        .app
        .attr("#waiting-room", "data-join-request-id")
        .await
        .expect("the request's id");
    call.api.reject(&call.doctor, &first).await;
    call.app
        .wait_for("#waiting-room[data-state=\"declined\"]")
        .await;
    call.app
        .wait_for_text("#waiting-title", |title| {
            title == format!("{DEMO_DOCTOR_NAME} declined your request")
        })
        .await;
    call.app.screenshot("agency-declined").await;

    call.app.click("#ask-again").await;
    call.app
        .wait_for("#waiting-room[data-state=\"waiting\"]")
        .await;
    let second = call
        .app
        .attr("#waiting-room", "data-join-request-id")
        .await
        .expect("the new request's id");
    assert_ne!(first, second, "asking again is a new request");
    assert_eq!(
        call.api
            .pending_join_requests(&call.doctor, &appointment)
            .await
            .len(),
        1
    );

    call.app.click("#withdraw-request").await;
    call.app.wait_for("#schedule").await;
    assert!(!call.app.is_present("#waiting-room").await);
    call.api
        .wait_for_join_request_status(&call.doctor, &second, "withdrawn", Duration::from_secs(10))
        .await;
    assert!(call
        .api
        .pending_join_requests(&call.doctor, &appointment)
        .await
        .is_empty());
    assert!(call.joins_so_far().is_empty(), "nothing joined");
    call.close().await;
}

/// A participant's native notifications (seed 004) come from the same stream and daemon as
/// the doctor's, written from the participant's side: the 5-minute reminder, "ready" when the
/// doctor starts the meeting (a click opens the appointment), and the answer to their request.
#[tokio::test(flavor = "multi_thread")]
async fn a_participant_is_notified_of_the_reminder_the_ready_call_and_a_decline() {
    let call = Call::open(
        "participant-notify",
        Path::Embedded,
        stand_in(),
        DEMO_AGENCY_EMAIL,
    )
    .await;
    let agency = call.api.agency().await;
    let patient = call.api.patient().await;
    let wait = Duration::from_secs(20);
    // Booked to start in 5 minutes and 3 seconds: its 5-minute reminder is due 3 s later (one
    // booked later than its moment gets none: the booking was the notice).
    let booked = call
        .api
        .book(
            &call.doctor,
            &patient.id,
            Some(&agency.id),
            Duration::from_secs(5 * 60 + 3),
            "video",
            false,
        )
        .await;
    let appointment = id_of(&booked);
    let about = |n: &Recorded| n.hint("x-consult-appointment-id") == Some(appointment.as_str());
    let reminder = call
        .daemon
        .wait_for(|n| about(n) && n.summary.starts_with("Reminder:"), wait)
        .await;
    assert_eq!(
        reminder.summary,
        "Reminder: video consultation in 5 minutes"
    );
    assert!(
        reminder
            .body
            .starts_with(&format!("Video consultation with {DEMO_DOCTOR_NAME} at ")),
        "{}",
        reminder.body
    );
    assert_eq!(reminder.action_pairs(), vec![("default", "Open")]);

    call.api
        .post(
            &format!("/appointments/{appointment}/meeting/start"),
            &call.doctor,
            None,
        )
        .await;
    let ready = call
        .daemon
        .wait_for(|n| about(n) && n.summary == "Your call is ready", wait)
        .await;
    assert!(
        ready.body.starts_with(&format!(
            "{DEMO_DOCTOR_NAME} started the video consultation"
        )),
        "{}",
        ready.body
    );
    // A click opens the appointment, where the agency asks to join.
    call.daemon.invoke_action(ready.id, "default").await;
    call.app
        .wait_for(&format!(
            "#appointment-detail[data-appointment-id=\"{appointment}\"]"
        ))
        .await;
    call.app.click("#join-call").await;
    call.app
        .wait_for("#waiting-room[data-state=\"waiting\"]")
        .await;
    let request = call
        .app
        .attr("#waiting-room", "data-join-request-id")
        .await
        .expect("the request's id");
    call.api.reject(&call.doctor, &request).await;
    let declined = call
        .daemon
        .wait_for(|n| about(n) && n.summary.contains("declined"), wait)
        .await;
    assert_eq!(
        declined.summary,
        format!("{DEMO_DOCTOR_NAME} declined your request to join")
    );
    call.app
        .wait_for("#waiting-room[data-state=\"declined\"]")
        .await;
    call.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lobby_knock_is_admitted_from_the_native_notification() {
    let call = Call::doctor("call-lobby", Path::Embedded).await;
    let appointment = call.joinable_appointment().await;
    call.join(&id_of(&appointment)).await;
    call.wait_phase("joined").await;
    let room = call.joins(1).remove(0).room;
    call.control("#ctl-lobby", "toggle-lobby").await;

    call.jitsi.send_event(
        &room,
        json!({"name": "knocking-participant", "participant": {"id": "knocker1", "name": DEMO_PATIENT_NAME}}),
    );
    // The in-app prompt and the native notification, both about the same person.
    let prompt = "#call-lobby li.knocker[data-participant-id=\"knocker1\"]";
    let text = call
        .app
        .wait_for_text(prompt, |text| !text.is_empty())
        .await;
    assert!(text.contains(DEMO_PATIENT_NAME), "{text}");
    let shown = call
        .daemon
        .wait_for(
            |n| n.hint("x-consult-lobby-participant-id") == Some("knocker1"),
            Duration::from_secs(20),
        )
        .await;
    assert!(shown.body.contains(DEMO_PATIENT_NAME), "{}", shown.body);
    assert_eq!(
        shown.action_keys(),
        ["default", "lobby-admit", "lobby-deny"],
        "Open, Admit and Deny"
    );

    // Admit on the notification, as the doctor would without looking at the app.
    call.daemon.invoke_action(shown.id, "lobby-admit").await;
    let answer = call.command("answer-knocking-participant");
    assert_eq!(answer.args, vec![json!("knocker1"), json!(true)]);
    call.app.wait_gone(prompt).await;
    let admitted = "#call-participants li.participant[data-participant-id=\"knocker1\"]";
    let name = call
        .app
        .wait_for_text(admitted, |text| !text.is_empty())
        .await;
    assert!(name.contains(DEMO_PATIENT_NAME), "{name}");

    // A second knocker is denied from the in-app prompt.
    call.jitsi.send_event(
        &room,
        json!({"name": "knocking-participant", "participant": {"id": "knocker2", "name": "Unknown caller"}}),
    );
    let second = "#call-lobby li.knocker[data-participant-id=\"knocker2\"]";
    call.app.wait_for(second).await;
    let second_shown = call.lobby_notification("knocker2").await;
    call.control(
        &format!("{second} .knock-deny"),
        "answer-knocking-participant",
    )
    .await;
    call.app.wait_gone(second).await;
    // Answered in the app: its notification, with Admit and Deny still on it, is taken back.
    call.daemon
        .wait_for_close(second_shown.id, Duration::from_secs(20))
        .await;
    let answers = tokio::task::block_in_place(|| {
        call.jitsi
            .wait_for_commands("answer-knocking-participant", 2, COMMAND_TIMEOUT)
    });
    assert_eq!(answers[1].args, vec![json!("knocker2"), json!(false)]);
    assert!(
        !call
            .app
            .is_present("#call-participants li.participant[data-participant-id=\"knocker2\"]")
            .await
    );

    // A third knocks and nobody answers before the call ends.
    call.jitsi.send_event(
        &room,
        json!({"name": "knocking-participant", "participant": {"id": "knocker3", "name": "Late caller"}}),
    );
    let third_shown = call.lobby_notification("knocker3").await;
    assert!(
        !call.daemon.close_calls().contains(&third_shown.id),
        "still waiting while the call runs"
    );

    // End for everyone: asked to confirm in the app, then sent; Jitsi closes the call.
    call.app.click("#ctl-end-all").await;
    call.control("#ctl-end-all-confirm", "end-conference").await;
    call.app.wait_gone("#call-screen").await;
    call.app.wait_for("#schedule").await;
    // Nobody waits in the lobby of a call that is over.
    call.daemon
        .wait_for_close(third_shown.id, Duration::from_secs(20))
        .await;
    call.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_is_replaced_once_and_a_second_rejection_is_a_clear_error() {
    let call = Call::doctor("call-token", Path::Embedded).await;
    let appointment = call.joinable_appointment().await;

    // Jitsi refuses the first token (a key rotation on its side the app cannot see): the app
    // fetches a fresh token from the clinic server and joins.
    call.jitsi
        .reject_next_joins(1, "connection.passwordRequired");
    call.join(&id_of(&appointment)).await;
    call.wait_phase("joined").await;
    let joins = call.joins(2);
    assert!(!joins[0].accepted && joins[1].accepted, "{joins:?}");
    call.control("#ctl-hangup", "video-hangup").await;
    call.app.wait_gone("#call-screen").await;

    // Refused twice in a row: one fresh token, then a clear error, not an empty room.
    call.jitsi
        .reject_next_joins(2, "conference.connectionError.notAllowed");
    call.join(&id_of(&appointment)).await;
    let message = call
        .app
        .wait_for_text("#call-failed", |text| !text.is_empty())
        .await;
    let joins = call.joins(4);
    assert_eq!(
        joins.iter().filter(|join| join.accepted).count(),
        1,
        "{joins:?}"
    );
    assert!(message.contains("refused"), "{message}");
    assert_eq!(
        call.app.attr("#call-phase", "data-phase").await.as_deref(),
        Some("failed")
    );
    // Retry starts over with a fresh token, and this time Jitsi accepts it.
    call.app.click("#call-retry").await;
    call.wait_phase("joined").await;
    assert!(call.joins(5)[4].accepted);
    call.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jitsi_that_is_down_gets_a_message_and_retry_works() {
    let call = Call::doctor("call-script", Path::Embedded).await;
    let appointment = call.joinable_appointment().await;
    call.jitsi.set_external_api_available(false);
    call.join(&id_of(&appointment)).await;
    let message = call
        .app
        .wait_for_text("#call-failed", |text| !text.is_empty())
        .await;
    assert!(message.contains("HTTP 503"), "{message}");
    assert!(message.contains("Retry"), "{message}");
    assert!(!call.app.is_present("#call-frame").await, "no blank frame");
    call.app.screenshot("call-script-unavailable").await;

    call.jitsi.set_external_api_available(true);
    call.app.click("#call-retry").await;
    call.wait_phase("joined").await;
    assert!(call.joins(1)[0].accepted);
    call.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn code_served_by_jitsi_cannot_reach_the_apps_ipc() {
    let mut options = stand_in();
    options.probe_ipc = true;
    let call = Call::open("call-isolation", Path::Embedded, options, DEMO_DOCTOR_EMAIL).await;
    let appointment = call.joinable_appointment().await;
    let keychain = [
        ("service", "app.consult.desktop"),
        ("username", call.server.url()),
    ];
    let refresh_before = call.session.keychain_lookup(&keychain);
    assert!(refresh_before.is_some());

    call.join(&id_of(&appointment)).await;
    call.wait_phase("joined").await;
    // Both places Jitsi's code runs tried to invoke `logout` every way Tauri offers.
    let reports =
        tokio::task::block_in_place(|| call.jitsi.wait_for_probe_reports(2, CALL_TIMEOUT));
    let places: Vec<&str> = reports.iter().filter_map(|r| r["where"].as_str()).collect();
    assert!(
        places.contains(&"external_api") && places.contains(&"meeting"),
        "{reports:?}"
    );
    for report in &reports {
        for attempt in report["attempts"].as_array().into_iter().flatten() {
            let outcome = attempt["outcome"].as_str().unwrap_or_default();
            let detail = attempt["detail"].as_str().unwrap_or_default();
            // A fetch may "resolve" with an error status; it must never be a success.
            let succeeded = outcome == "resolved" && detail.starts_with('2');
            assert!(!succeeded, "served code reached the app: {attempt}");
        }
    }
    // The call page's channel to the core refused the guessed key (the probe also sent a
    // hang-up), and the key was not in the URL for Jitsi's code to read.
    let external = reports
        .iter()
        .find(|report| report["where"] == "external_api")
        .expect("external_api report");
    let attempt = |name: &str| {
        external["attempts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|attempt| {
                attempt["name"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with(name)
            })
            .cloned()
            .unwrap_or_else(|| panic!("no attempt {name}: {external}"))
    };
    // 4401 is the channel's refusal; under load the socket may be gone before the browser
    // reads it (1006), so the refusal itself is checked in the app's log below.
    let closed = attempt("websocket")["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        closed.starts_with("closed"),
        "the guessed key was accepted: {closed}"
    );
    assert_eq!(attempt("the call page key")["outcome"], json!("absent"));
    assert!(call
        .app
        .logs()
        .contains("refused a connection to the call page channel"));
    assert_eq!(call.count_commands("video-hangup"), 0);

    // And nothing happened: the call still runs and answers a control (a round trip through
    // the app, the page and Jitsi, after everything the probe sent), the user is still signed
    // in with the same refresh token.
    assert_eq!(
        call.app.attr("#call-phase", "data-phase").await.as_deref(),
        Some("joined")
    );
    call.control("#ctl-audio", "toggle-audio").await;
    call.wait_state("#ctl-audio", "on").await;
    assert_eq!(call.session.keychain_lookup(&keychain), refresh_before);
    assert!(
        call.app.is_present("#signed-in-name").await || call.app.is_present("#call-screen").await
    );
    assert!(
        !call.app.logs().contains("signed out"),
        "the probe signed the user out"
    );
    call.close().await;
}

/// Issue 12 item 4: Jitsi's page, clicked by the user (WebKit lets a cross-origin frame
/// navigate the top only after an interaction), sets `top.location` and opens its URL in
/// `_top`. The main window stays on the app's page and the call goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_jitsi_page_cannot_navigate_the_apps_window() {
    use fantoccini::Locator;

    let mut options = stand_in();
    options.probe_ipc = true;
    let call = Call::open(
        "call-top-navigation",
        Path::Embedded,
        options,
        DEMO_DOCTOR_EMAIL,
    )
    .await;
    let appointment = call.joinable_appointment().await;
    call.join(&id_of(&appointment)).await;
    call.wait_phase("joined").await;
    let client = call.app.client();
    let app_url = client.current_url().await.expect("the window's URL");
    assert_eq!(app_url.scheme(), "tauri", "{app_url}");

    // Into the app's call frame, then Jitsi's meeting frame inside the call page.
    let call_frame = call.app.wait_for("#call-frame").await;
    call_frame.enter_frame().await.expect("enter the call page");
    let meeting = client
        .wait()
        .at_most(CALL_TIMEOUT)
        .for_element(Locator::Css("#stage iframe"))
        .await
        .expect("Jitsi's iframe in the call page");
    meeting.enter_frame().await.expect("enter Jitsi's page");
    client
        .wait()
        .at_most(CALL_TIMEOUT)
        .for_element(Locator::Css("#standin-hijack-top"))
        .await
        .expect("the stand-in's hijack button")
        .click()
        .await
        .expect("click inside Jitsi's page");

    // A navigation would have happened by now (the stand-in answers at once on loopback).
    // Back to the top through the window's handle: the frames may be gone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let window = client.window().await.expect("the window's handle");
    client
        .switch_to_window(window)
        .await
        .expect("back to the top");
    let now = client.current_url().await.expect("the window's URL");
    assert_eq!(now, app_url, "Jitsi's page navigated the app's window");
    assert!(call.app.is_present("#call-frame").await);
    assert_eq!(
        call.app.attr("#call-phase", "data-phase").await.as_deref(),
        Some("joined")
    );
    call.control("#ctl-audio", "toggle-audio").await;
    call.wait_state("#ctl-audio", "on").await;
    call.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_path_carries_media_with_the_same_controls() {
    let call = Call::doctor("call-browser", Path::Browser).await;
    let appointment = call.joinable_appointment().await;
    call.open_detail(&id_of(&appointment)).await;
    call.app
        .wait_for_attr("#call-path", "data-path", CALL_TIMEOUT, |path| {
            path == "browser"
        })
        .await;
    call.app.click("#join-call").await;
    call.app.wait_for("#call-in-browser").await;
    call.wait_phase("joined").await;
    let join = call.joins(1).remove(0);
    assert!(join.accepted && join.moderator, "{join:?}");
    assert!(
        !call.app.is_present("#call-frame").await,
        "no frame on the browser path"
    );

    // Real WebRTC in Chromium: the fake camera's frames went through a peer connection.
    let media = tokio::task::block_in_place(|| call.jitsi.wait_for_media_report(CALL_TIMEOUT));
    assert_eq!(media["supported"], json!(true), "{media}");
    assert!(
        media["framesDecoded"].as_f64().unwrap_or(0.0) > 0.0,
        "{media}"
    );

    // The app's controls drive the call in the browser window.
    call.control("#ctl-audio", "toggle-audio").await;
    call.wait_state("#ctl-audio", "on").await;
    call.control("#ctl-video", "toggle-video").await;
    call.wait_state("#ctl-video", "on").await;
    call.control("#ctl-hangup", "video-hangup").await;
    call.app.wait_gone("#call-screen").await;
    // The browser window and its throw-away profile are gone with the call.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while chromium_with_call_profile() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !chromium_with_call_profile(),
        "the call's browser is still running"
    );

    // Closing the browser window ends the call in the app too.
    call.open_detail(&id_of(&appointment)).await;
    call.app.click("#join-call").await;
    call.wait_phase("joined").await;
    let browsers = call_browser_pids();
    assert!(!browsers.is_empty());
    for pid in browsers {
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    }
    call.app.wait_gone("#call-screen").await;
    call.app.wait_for("#schedule").await;
    call.close().await;
}

/// A Chromium process started by the app for a call (its profile is `consult-call-*`).
fn chromium_with_call_profile() -> bool {
    !call_browser_pids().is_empty()
}

/// The main Chromium processes of calls, anywhere on the machine.
fn call_browser_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|pid| consult_e2e::process::is_call_browser(*pid))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_way_to_carry_the_call_the_app_says_what_to_install_before_join() {
    let call = Call::open_with(
        "call-no-path",
        Path::Browser,
        stand_in(),
        DEMO_DOCTOR_EMAIL,
        &[("CONSULT_BROWSER", "/nonexistent/chromium")],
    )
    .await;
    let appointment = call.joinable_appointment().await;
    call.open_detail(&id_of(&appointment)).await;
    call.app
        .wait_for_attr("#call-path", "data-path", CALL_TIMEOUT, |path| {
            path == "none"
        })
        .await;
    let notice = call
        .app
        .wait_for_text("#call-unavailable", |text| !text.is_empty())
        .await;
    assert!(notice.contains("/nonexistent/chromium"), "{notice}");
    assert!(notice.contains("Install"), "{notice}");
    assert_eq!(
        call.app.attr("#join-call", "disabled").await.as_deref(),
        Some("true"),
        "Join is disabled"
    );
    assert!(call.jitsi.joins().is_empty());
    call.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jitsi_certificate_from_an_unconfigured_private_ca_is_refused_with_what_to_do() {
    let call = Call::open_with(
        "call-untrusted",
        Path::Embedded,
        stand_in(),
        DEMO_DOCTOR_EMAIL,
        &[("CONSULT_JITSI_CA_FILE", "")],
    )
    .await;
    let appointment = call.joinable_appointment().await;
    call.join(&id_of(&appointment)).await;
    let message = call
        .app
        .wait_for_text("#call-failed", |text| !text.is_empty())
        .await;
    assert!(message.contains("does not trust"), "{message}");
    assert!(message.contains("jitsi_ca_file"), "{message}");
    assert!(call.jitsi.joins().is_empty(), "nothing reached Jitsi");
    call.close().await;
}
