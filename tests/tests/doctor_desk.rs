//! The doctor's desktop (issue 4), real all the way through: the app binary under Xvfb with its
//! webview driven over WebDriver, the clinic server binary in demo mode, and on the private
//! session bus a notification daemon this test owns, so every native notification the app shows
//! is recorded and the test can click its buttons as the doctor would.
//!
//! DOM and D-Bus contract: docs/desktop-contracts.md ("UI ⇄ e2e", "Shell ⇄ OS").

use std::path::PathBuf;
use std::time::{Duration, Instant};

use consult_e2e::clinic::{id_of, Actor, DEMO_ADMIN_EMAIL, DEMO_AGENCY_NAME, DEMO_PATIENT_NAME};
use consult_e2e::notifications::Recorded;
use consult_e2e::{
    App, AppLaunch, ClinicApi, ClinicServer, IsolatedSession, NotificationDaemon,
    DEMO_DOCTOR_EMAIL, DEMO_DOCTOR_NAME, DEMO_PASSWORD,
};
use serde_json::Value;

/// How long a push (server → app → D-Bus) may take before the test fails. Generous for 2 cores
/// running a debug build with WebKit; the figure itself is in docs/benchmarks.md.
const PUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may take to record a decision made from a notification.
const DECISION_TIMEOUT: Duration = Duration::from_secs(30);

/// A Jitsi deployment for the server, so an admitted guest's meeting token can be fetched.
const JITSI_CONFIG: &str = "[jitsi]\n\
     server_url = \"https://meet.e2e.test\"\n\
     app_id = \"consult-e2e\"\n\
     app_secret = \"e2e-only-jitsi-app-secret-0123456789abcdef\"\n";

const JOIN_REQUEST_HINT: &str = "x-consult-join-request-id";
const NOTIFICATION_HINT: &str = "x-consult-notification-id";
const APPOINTMENT_HINT: &str = "x-consult-appointment-id";

/// One doctor's desktop: the session, the daemon, the server, the app signed in as the demo
/// doctor, and API clients for the other people. Field order is drop order.
struct Desk {
    app: App,
    api: ClinicApi,
    /// The doctor through the API (a second sign-in, not the app's), to read what the server
    /// recorded.
    doctor: Actor,
    agency: Actor,
    patient: Actor,
    server: ClinicServer,
    daemon: NotificationDaemon,
    session: IsolatedSession,
    /// Refresh tokens the app kept in the keychain, as seen during the run.
    seen_refresh_tokens: Vec<String>,
}

impl Desk {
    /// Starts everything and signs in through the login form; returns once the schedule is
    /// shown and the push connection is online.
    async fn open(label: &str, env: &[(&str, &str)]) -> Desk {
        let session = IsolatedSession::start();
        // The daemon owns the name before the app starts, as on a real desktop.
        let daemon = NotificationDaemon::start(&session).await;
        let server = ClinicServer::start_demo_with_config(label, JITSI_CONFIG);
        let api = ClinicApi::new(server.url());
        let app = App::launch(AppLaunch {
            session: &session,
            server_url: server.url().to_owned(),
            label: label.to_owned(),
            env: env
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        })
        .await;
        app.sign_in_demo_doctor().await;
        let doctor = api.doctor().await;
        let agency = api.agency().await;
        let patient = api.patient().await;
        let mut desk = Desk {
            app,
            api,
            doctor,
            agency,
            patient,
            server,
            daemon,
            session,
            seen_refresh_tokens: Vec::new(),
        };
        desk.wait_online(PUSH_TIMEOUT).await;
        desk.remember_refresh_token();
        desk
    }

    async fn wait_online(&self, timeout: Duration) {
        self.app
            .wait_for_attr("#connection", "data-state", timeout, |state| {
                state == "online"
            })
            .await;
    }

    fn refresh_token(&self) -> Option<String> {
        self.session.keychain_lookup(&[
            ("service", "app.consult.desktop"),
            ("username", self.server.url()),
        ])
    }

    fn remember_refresh_token(&mut self) {
        if let Some(token) = self.refresh_token() {
            if !self.seen_refresh_tokens.contains(&token) {
                self.seen_refresh_tokens.push(token);
            }
        }
    }

    /// The demo doctor's appointments as the server lists them, earliest first.
    async fn appointments(&self) -> Vec<Value> {
        self.api.appointments_earliest_first(&self.doctor).await
    }

    /// The demo appointments the agency is on (the one in 10 minutes, then the one tomorrow
    /// with the waiting room on).
    async fn agency_appointments(&self) -> Vec<Value> {
        self.appointments()
            .await
            .into_iter()
            .filter(|a| a["agencyId"] == self.agency.id.as_str())
            .collect()
    }

    /// `who` asks to join; returns the request once the app has shown its notification.
    async fn ask_and_notify(&self, who: &Actor, appointment: &Value) -> (Value, Recorded) {
        let request = self.api.ask_to_join(who, &id_of(appointment)).await;
        assert_eq!(request["status"], "pending", "{request}");
        let request_id = id_of(&request);
        let notification = self
            .daemon
            .wait_for(
                |n| n.hint(JOIN_REQUEST_HINT) == Some(request_id.as_str()),
                PUSH_TIMEOUT,
            )
            .await;
        (request, notification)
    }

    /// Notifications the app showed for one join request.
    fn notifications_for(&self, join_request_id: &str) -> Vec<Recorded> {
        self.daemon
            .all()
            .into_iter()
            .filter(|n| n.hint(JOIN_REQUEST_HINT) == Some(join_request_id))
            .collect()
    }

    /// Waits until the server has recorded `status` for the join request.
    async fn wait_for_status(&self, join_request_id: &str, status: &str) {
        self.api
            .wait_for_join_request_status(&self.doctor, join_request_id, status, DECISION_TIMEOUT)
            .await;
    }

    fn request_item(join_request_id: &str) -> String {
        format!("#join-requests li.join-request[data-join-request-id=\"{join_request_id}\"]")
    }

    /// After the run: no token of the app's in any file of the session's HOME (settings,
    /// webview storage, caches) or in the app's or server's logs.
    fn assert_no_tokens_left(&mut self) {
        self.remember_refresh_token();
        assert!(
            !self.seen_refresh_tokens.is_empty(),
            "no refresh token was ever seen in the keychain, so the scan below proves nothing"
        );
        let log_file = self.app_log_file();
        let logs = self.app.logs() + &self.server.log() + &log_file;
        for token in &self.seen_refresh_tokens {
            assert_eq!(
                self.session.files_containing(token),
                Vec::<PathBuf>::new(),
                "a refresh token of the app's is on disk in the clear"
            );
            assert!(
                !logs.contains(token.as_str()),
                "a refresh token is in a log"
            );
        }
        let jwt_files = files_with_jwts(self.session.home());
        assert_eq!(
            jwt_files,
            Vec::<PathBuf>::new(),
            "JWT-shaped tokens on disk"
        );
        assert_eq!(
            find_jwts(logs.as_bytes()),
            Vec::<String>::new(),
            "JWT-shaped tokens in the logs"
        );
        assert!(!logs.contains(DEMO_PASSWORD), "the password is in a log");
        for part in DEMO_PATIENT_NAME.split(' ') {
            assert!(
                !log_file.contains(part),
                "{part:?} of the patient's name is in the log file"
            );
        }
    }

    /// The app's log file of this run, which must exist and hold the run's lines.
    fn app_log_file(&self) -> String {
        let dir = self.session.app_log_dir();
        let path = dir.join("consult.log");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("no log file at {}: {error}", path.display()));
        assert!(
            text.contains("logging to a file") && text.contains("signed in: desk started"),
            "the log file lacks this run's lines:\n{text}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &std::path::Path| {
                std::fs::metadata(path).map_or(0, |meta| meta.permissions().mode() & 0o777)
            };
            assert_eq!(mode(&dir), 0o700, "the log directory is private");
            assert_eq!(mode(&path), 0o600, "the log file is private");
        }
        text
    }

    async fn close(self) {
        self.app.quit().await;
    }
}

/// JWT-shaped strings (`eyJ….eyJ….sig`): access tokens, whoever issued them.
fn find_jwts(bytes: &[u8]) -> Vec<String> {
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let mut found = Vec::new();
    let mut start = 0;
    while let Some(offset) = bytes[start..].windows(3).position(|w| w == b"eyJ") {
        let begin = start + offset;
        let mut end = begin;
        let mut parts = vec![0usize];
        while end < bytes.len() && (is_b64(bytes[end]) || bytes[end] == b'.') {
            if bytes[end] == b'.' {
                parts.push(0);
            } else if let Some(last) = parts.last_mut() {
                *last += 1;
            }
            end += 1;
        }
        let candidate = &bytes[begin..end];
        if parts.len() >= 3
            && parts[..3].iter().all(|len| *len >= 10)
            && candidate.windows(4).any(|w| w == b".eyJ")
        {
            found.push(String::from_utf8_lossy(candidate).into_owned());
        }
        start = end.max(begin + 3);
    }
    found
}

fn files_with_jwts(dir: &std::path::Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|path| std::fs::read(path).is_ok_and(|bytes| !find_jwts(&bytes).is_empty()))
        .collect()
}

/// Every regular file under `dir`, recursively (symbolic links are not followed).
fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => found.extend(files_under(&entry.path())),
            Ok(kind) if kind.is_file() => found.push(entry.path()),
            _ => {}
        }
    }
    found
}

#[test]
fn the_jwt_scanner_finds_tokens_and_nothing_else() {
    let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMSIsImV4cCI6MX0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    assert_eq!(
        find_jwts(format!("Bearer {token}\n").as_bytes()),
        vec![token.to_owned()]
    );
    assert!(find_jwts(b"eyJ alone, eyJhbGciOiJIUzI1NiJ9 without parts").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_schedule_shows_the_doctors_appointments_with_call_types() {
    // India's zone has a half-hour offset and no daylight-saving time, so the expected local
    // times below do not depend on the date, and a UTC time shown by mistake cannot pass.
    let desk = Desk::open("desk-schedule", &[("TZ", "Asia/Kolkata")]).await;
    let india = time::UtcOffset::from_hms(5, 30, 0).expect("offset");
    let appointments = desk.appointments().await;
    assert_eq!(appointments.len(), 4, "demo mode seeds four appointments");

    let items = desk
        .app
        .wait_for_count("#schedule li.appointment", appointments.len())
        .await;
    assert!(!desk.app.is_present("#schedule-empty").await);
    let mut shown_order = Vec::new();
    for item in &items {
        shown_order.push(item.attr("data-appointment-id").await.ok().flatten());
    }
    let expected_order: Vec<Option<String>> = appointments.iter().map(|a| Some(id_of(a))).collect();
    assert_eq!(shown_order, expected_order, "earliest first");

    for appointment in &appointments {
        let item = format!(
            "#schedule li.appointment[data-appointment-id=\"{}\"]",
            id_of(appointment)
        );
        assert_eq!(
            desk.app.attr(&item, "data-session-id").await.as_deref(),
            appointment["sessionId"].as_str(),
            "{item}"
        );
        let call_type = appointment["callType"].as_str().expect("callType");
        let badge = format!("{item} .call-type");
        let label = if call_type == "video" {
            "Video"
        } else {
            "Audio"
        };
        assert_eq!(desk.app.wait_for_text(&badge, |_| true).await.trim(), label);
        assert_eq!(
            desk.app.attr(&badge, "data-call-type").await.as_deref(),
            Some(call_type),
            "{badge}"
        );
        let patient = desk
            .app
            .wait_for_text(&format!("{item} .patient-name"), |_| true)
            .await;
        assert_eq!(patient.trim(), DEMO_PATIENT_NAME);
        let time = desk
            .app
            .wait_for_text(&format!("{item} .time"), |_| true)
            .await;
        let start = time::OffsetDateTime::parse(
            appointment["startTime"].as_str().expect("startTime"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("an RFC 3339 start time")
        .to_offset(india);
        let local = format!("{:02}:{:02}", start.hour(), start.minute());
        assert!(
            time.trim().ends_with(&local),
            "{item}: shows {time:?}, the start in the doctor's zone is {local}"
        );
        assert!(desk.app.is_present(&format!("{item} .status")).await);
    }
    let badges: Vec<String> = {
        let mut texts = Vec::new();
        for badge in desk.app.find_all("#schedule .call-type").await {
            texts.push(badge.text().await.unwrap_or_default().trim().to_owned());
        }
        texts
    };
    assert!(badges.contains(&"Audio".to_owned()), "{badges:?}");
    assert!(badges.contains(&"Video".to_owned()), "{badges:?}");

    // Join opens 15 minutes before the start: the one in 10 minutes yes, the one in 3 h not.
    let join = |appointment: &Value| {
        format!(
            "#schedule li.appointment[data-appointment-id=\"{}\"] button.join",
            id_of(appointment)
        )
    };
    let soon = desk.app.wait_for(&join(&appointments[0])).await;
    assert!(soon.is_enabled().await.unwrap_or(false), "join in 10 min");
    let later = desk.app.wait_for(&join(&appointments[1])).await;
    assert!(!later.is_enabled().await.unwrap_or(true), "join in 3 h");

    desk.app.wait_for("#join-requests-empty").await;
    let connection = desk.app.wait_for_text("#connection", |_| true).await;
    assert!(!connection.trim().is_empty(), "connection state has a text");
    desk.app.screenshot("doctor-desk-schedule").await;
    assert!(
        desk.daemon.all().is_empty(),
        "nothing happened after sign-in, so nothing to notify: {:#?}",
        desk.daemon.all()
    );
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn join_requests_are_notified_and_decided_from_the_notification() {
    let mut desk = Desk::open("desk-notify", &[]).await;
    let on_agency = desk.agency_appointments().await;
    assert_eq!(on_agency.len(), 2, "the demo agency is on two appointments");
    desk.app.wait_for("#join-requests-empty").await;

    // The agency asks: a notification naming them, with Admit and Decline.
    let (request, notification) = desk.ask_and_notify(&desk.agency, &on_agency[0]).await;
    let request_id = id_of(&request);
    assert_eq!(notification.app_name, "Consult");
    let text = format!("{}\n{}", notification.summary, notification.body);
    assert!(text.contains(DEMO_AGENCY_NAME), "names the agency: {text}");
    assert!(
        text.contains(DEMO_PATIENT_NAME),
        "names the patient while show_patient_names is on (default): {text}"
    );
    assert_eq!(
        notification.action_pairs(),
        vec![
            ("default", "Open"),
            ("admit", "Admit"),
            ("decline", "Decline")
        ]
    );
    assert_eq!(
        notification.hint(APPOINTMENT_HINT),
        Some(id_of(&on_agency[0]).as_str())
    );
    let server_notification = desk
        .api
        .notifications(&desk.doctor)
        .await
        .into_iter()
        .find(|n| n["joinRequestId"] == request_id.as_str())
        .expect("the server's join_request_created notification");
    assert_eq!(
        notification.hint(NOTIFICATION_HINT),
        server_notification["id"].as_str()
    );

    // The panel lists it meanwhile.
    let item = Desk::request_item(&request_id);
    desk.app.wait_for(&item).await;
    let requester = desk
        .app
        .wait_for_text(&format!("{item} .requester-name"), |t| !t.is_empty())
        .await;
    assert_eq!(requester.trim(), DEMO_AGENCY_NAME);
    let role = desk
        .app
        .wait_for_text(&format!("{item} .requester-role"), |_| true)
        .await;
    assert!(role.to_lowercase().contains("agency"), "{role:?}");
    desk.app.wait_for(&format!("{item} button.admit")).await;
    desk.app.wait_for(&format!("{item} button.decline")).await;
    assert!(!desk.app.is_present("#join-requests-empty").await);
    desk.app.screenshot("doctor-desk-join-request").await;

    // "Admit" on the notification decides without opening the app.
    desk.daemon.invoke_action(notification.id, "admit").await;
    desk.wait_for_status(&request_id, "approved").await;
    desk.app.wait_gone(&item).await;
    desk.app.wait_for("#join-requests-empty").await;
    let token = desk
        .api
        .get(
            &format!(
                "/sessions/{}/jwt",
                on_agency[0]["sessionId"].as_str().expect("sessionId")
            ),
            &desk.agency,
        )
        .await;
    assert!(token.is_object(), "the admitted agency may now join");

    // "Decline" likewise, on the other appointment.
    let (declined, notification) = desk.ask_and_notify(&desk.agency, &on_agency[1]).await;
    let declined_id = id_of(&declined);
    desk.app.wait_for(&Desk::request_item(&declined_id)).await;
    desk.daemon.invoke_action(notification.id, "decline").await;
    desk.wait_for_status(&declined_id, "rejected").await;
    desk.app.wait_gone(&Desk::request_item(&declined_id)).await;

    // "Open" (the notification's body) shows the appointment and decides nothing. The patient
    // may ask on the appointment with the waiting room on.
    let (pending, notification) = desk.ask_and_notify(&desk.patient, &on_agency[1]).await;
    let pending_id = id_of(&pending);
    desk.daemon.invoke_action(notification.id, "default").await;
    let detail = format!(
        "#appointment-detail[data-appointment-id=\"{}\"]",
        id_of(&on_agency[1])
    );
    desk.app.wait_for(&detail).await;
    assert_eq!(
        desk.api
            .join_request_status(&desk.doctor, &pending_id)
            .await,
        "pending"
    );
    desk.app.wait_for(&Desk::request_item(&pending_id)).await;

    // One notification per request, never repeated.
    for id in [&request_id, &declined_id, &pending_id] {
        assert_eq!(desk.notifications_for(id).len(), 1, "request {id}");
    }
    desk.assert_no_tokens_left();
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_panel_declines_one_and_admits_all() {
    let desk = Desk::open("desk-panel", &[]).await;
    let on_agency = desk.agency_appointments().await;
    let (first, first_shown) = desk.ask_and_notify(&desk.agency, &on_agency[0]).await;
    let (second, second_shown) = desk.ask_and_notify(&desk.agency, &on_agency[1]).await;
    let (third, third_shown) = desk.ask_and_notify(&desk.patient, &on_agency[1]).await;
    let ids = [id_of(&first), id_of(&second), id_of(&third)];
    desk.app
        .wait_for_count("#join-requests li.join-request", 3)
        .await;
    desk.app.screenshot("doctor-desk-panel").await;

    // Oldest first. The server keeps times to the second, so requests made within one second
    // tie and are ordered by id, as the server lists them.
    let mut oldest_first = [&first, &second, &third].map(|request| {
        (
            request["requestedAt"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            id_of(request),
        )
    });
    oldest_first.sort();
    let mut shown = Vec::new();
    for item in desk.app.find_all("#join-requests li.join-request").await {
        shown.push(item.attr("data-join-request-id").await.ok().flatten());
    }
    assert_eq!(
        shown,
        oldest_first
            .iter()
            .map(|(_, id)| Some(id.clone()))
            .collect::<Vec<_>>()
    );

    desk.app
        .click(&format!("{} button.decline", Desk::request_item(&ids[1])))
        .await;
    desk.wait_for_status(&ids[1], "rejected").await;
    desk.app.wait_gone(&Desk::request_item(&ids[1])).await;
    assert_eq!(
        desk.api.join_request_status(&desk.doctor, &ids[0]).await,
        "pending",
        "declining one leaves the others"
    );
    // Its notification, with Admit and Decline still on it, is taken back; the others stay.
    desk.daemon
        .wait_for_close(second_shown.id, PUSH_TIMEOUT)
        .await;
    assert_eq!(desk.daemon.close_calls(), vec![second_shown.id]);

    desk.app.click("#admit-all").await;
    desk.wait_for_status(&ids[0], "approved").await;
    desk.wait_for_status(&ids[2], "approved").await;
    desk.app.wait_for("#join-requests-empty").await;
    for shown in [&first_shown, &third_shown] {
        desk.daemon.wait_for_close(shown.id, PUSH_TIMEOUT).await;
    }
    let mut closed = desk.daemon.close_calls();
    closed.sort_unstable();
    let mut all = vec![first_shown.id, second_shown.id, third_shown.id];
    all.sort_unstable();
    assert_eq!(closed, all, "each notification closed once");
    assert_eq!(
        desk.api.join_request_status(&desk.doctor, &ids[1]).await,
        "rejected",
        "admit all does not reverse a decline"
    );
    assert!(!desk.app.is_present("#action-error").await);
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_decided_elsewhere_or_cancelled_has_its_notification_withdrawn() {
    let desk = Desk::open("desk-withdraw", &[]).await;
    let on_agency = desk.agency_appointments().await;
    let (approved, approved_shown) = desk.ask_and_notify(&desk.agency, &on_agency[0]).await;
    let (moot, moot_shown) = desk.ask_and_notify(&desk.patient, &on_agency[1]).await;
    desk.app.wait_for(&Desk::request_item(&id_of(&moot))).await;

    // The doctor's other device admits the agency: the app's notification goes.
    desk.api.approve(&desk.doctor, &id_of(&approved)).await;
    desk.daemon
        .wait_for_close(approved_shown.id, PUSH_TIMEOUT)
        .await;
    desk.app
        .wait_gone(&Desk::request_item(&id_of(&approved)))
        .await;
    assert_eq!(
        desk.daemon.close_calls(),
        vec![approved_shown.id],
        "the other request's notification stays"
    );

    // The other appointment is cancelled: nobody is let into it, so its request's goes too.
    desk.api.cancel(&desk.doctor, &id_of(&on_agency[1])).await;
    desk.daemon
        .wait_for_close(moot_shown.id, PUSH_TIMEOUT)
        .await;
    desk.app.wait_gone(&Desk::request_item(&id_of(&moot))).await;
    assert_eq!(
        desk.daemon.close_calls(),
        vec![approved_shown.id, moot_shown.id]
    );
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_restart_mid_session_reconnects_without_repeating_notifications() {
    let mut desk = Desk::open("desk-restart", &[]).await;
    let on_agency = desk.agency_appointments().await;
    let (before, _) = desk.ask_and_notify(&desk.agency, &on_agency[0]).await;
    let before_id = id_of(&before);
    desk.app.wait_for(&Desk::request_item(&before_id)).await;

    desk.server.stop();
    desk.app
        .wait_for_attr("#connection", "data-state", PUSH_TIMEOUT, |state| {
            state != "online"
        })
        .await;
    desk.server.start_again();
    desk.wait_online(Duration::from_secs(90)).await;
    // Still signed in, the pending request still listed.
    assert!(desk.app.is_present("#signed-in-name").await);
    desk.app.wait_for(&Desk::request_item(&before_id)).await;

    let (after, _) = desk.ask_and_notify(&desk.agency, &on_agency[1]).await;
    let after_id = id_of(&after);
    desk.app.wait_for(&Desk::request_item(&after_id)).await;
    // The stream is ordered: once a third request is notified, any replay of the earlier ones
    // on this connection has arrived too.
    let (last, _) = desk.ask_and_notify(&desk.patient, &on_agency[1]).await;
    for id in [&before_id, &after_id, &id_of(&last)] {
        assert_eq!(desk.notifications_for(id).len(), 1, "request {id}");
    }
    assert_eq!(
        desk.daemon.all().len(),
        3,
        "exactly one notification per request: {:#?}",
        desk.daemon.all()
    );
    desk.remember_refresh_token();
    desk.close().await;
}

/// Sends a signal to a process (`STOP`, `CONT`).
fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} {pid}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_stream_is_dropped_and_reconnected() {
    // The server sends a heartbeat every second; the app gives up on a stream silent for 3 s.
    let session = IsolatedSession::start();
    let daemon = NotificationDaemon::start(&session).await;
    let server = ClinicServer::start_demo_with_config("desk-stall", "sse_heartbeat_secs = 1\n");
    let api = ClinicApi::new(server.url());
    let app = App::launch(AppLaunch {
        session: &session,
        server_url: server.url().to_owned(),
        label: "desk-stall".into(),
        env: vec![("CONSULT_PUSH_STALL_SECS".into(), "3".into())],
    })
    .await;
    app.sign_in(DEMO_DOCTOR_EMAIL, DEMO_PASSWORD).await;
    let online = |timeout| {
        app.wait_for_attr("#connection", "data-state", timeout, |state| {
            state == "online"
        })
    };
    online(PUSH_TIMEOUT).await;
    // Stays online across many heartbeats: the stall guard does not fire on a live stream.
    let doctor = api.doctor().await;
    let agency = api.agency().await;
    let quiet_until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < quiet_until {
        assert_eq!(
            app.attr("#connection", "data-state").await.as_deref(),
            Some("online"),
            "a stream with heartbeats was dropped"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // A frozen server (the connection stays open, nothing arrives) is noticed...
    signal(server.pid(), "STOP");
    let noticed = Instant::now();
    let state = app
        .wait_for_attr("#connection", "data-state", PUSH_TIMEOUT, |state| {
            state != "online"
        })
        .await;
    signal(server.pid(), "CONT");
    println!("stall noticed after {:?} ({state})", noticed.elapsed());
    // ...and when it answers again the app is back online and still notifies.
    online(Duration::from_secs(90)).await;
    let appointment = api
        .appointments(&doctor)
        .await
        .into_iter()
        .find(|a| a["agencyId"] == agency.id.as_str())
        .expect("an appointment with the agency");
    let request = api.ask_to_join(&agency, &id_of(&appointment)).await;
    let request_id = id_of(&request);
    daemon
        .wait_for(
            |n| n.hint(JOIN_REQUEST_HINT) == Some(request_id.as_str()),
            PUSH_TIMEOUT,
        )
        .await;
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_sign_out_returns_to_the_login_screen_and_forgets_the_session() {
    // The shortest idle time the configuration accepts (a minute).
    const IDLE_SECS: u64 = 60;
    let session = IsolatedSession::start();
    let _daemon = NotificationDaemon::start(&session).await;
    let server = ClinicServer::start_demo("desk-idle");
    let app = App::launch(AppLaunch {
        session: &session,
        server_url: server.url().to_owned(),
        label: "desk-idle".into(),
        env: vec![("CONSULT_IDLE_LOGOFF_SECS".into(), IDLE_SECS.to_string())],
    })
    .await;
    // Activity (typing, the click on "Sign in") starts no earlier than this; the sign-out may
    // not come before IDLE_SECS after it.
    let first_activity = Instant::now();
    app.fill("#email", DEMO_DOCTOR_EMAIL).await;
    app.fill("#password", DEMO_PASSWORD).await;
    app.click("#sign-in").await;
    app.signed_in_name().await;
    let refresh_token = session
        .keychain_lookup(&[
            ("service", "app.consult.desktop"),
            ("username", server.url()),
        ])
        .expect("the sign-in is remembered in the keychain");

    // Still signed in well into the idle time; the sign-out is awaited from shortly before it.
    tokio::time::sleep(Duration::from_secs(IDLE_SECS - 15)).await;
    assert!(
        app.is_present("#signed-in-name").await,
        "signed out before the idle time was up"
    );
    let notice = app
        .wait_for_text("#login-notice", |text| !text.trim().is_empty())
        .await;
    let idle_for = first_activity.elapsed();
    assert!(
        notice.contains("without activity"),
        "the reason is shown: {notice:?}"
    );
    assert!(
        idle_for >= Duration::from_secs(IDLE_SECS),
        "signed out {idle_for:?} after the first activity, before {IDLE_SECS} s of inactivity"
    );
    app.wait_for("#email").await;
    assert!(!app.is_present("#signed-in-name").await);
    assert_eq!(
        session.keychain_lookup(&[
            ("service", "app.consult.desktop"),
            ("username", server.url()),
        ]),
        None,
        "the keychain entry is gone"
    );
    // The ended session is ended on the server too: the old refresh token is refused.
    let refused = ClinicApi::new(server.url())
        .try_call(
            reqwest::Method::POST,
            "/auth/refresh",
            None,
            Some(serde_json::json!({"refreshToken": refresh_token})),
        )
        .await;
    match refused {
        Ok(_) => panic!("the refresh token still works after idle sign-out"),
        Err(failure) => assert_eq!(
            failure.status,
            reqwest::StatusCode::UNAUTHORIZED,
            "{}",
            failure.body
        ),
    }
    app.screenshot("doctor-desk-idle").await;

    assert_eq!(
        session.files_containing(&refresh_token),
        Vec::<PathBuf>::new()
    );
    assert_eq!(files_with_jwts(session.home()), Vec::<PathBuf>::new());
    let logs = app.logs() + &server.log();
    assert!(!logs.contains(&refresh_token));
    assert_eq!(find_jwts(logs.as_bytes()), Vec::<String>::new());
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hidden_patient_names_stay_out_of_notifications() {
    let desk = Desk::open(
        "desk-no-names",
        &[("CONSULT_NOTIFICATIONS__SHOW_PATIENT_NAMES", "false")],
    )
    .await;
    let on_agency = desk.agency_appointments().await;
    let (request, notification) = desk.ask_and_notify(&desk.agency, &on_agency[0]).await;
    let text = format!(
        "{}\n{}\n{:?}",
        notification.summary, notification.body, notification.hints
    );
    for part in DEMO_PATIENT_NAME.split(' ') {
        assert!(!text.contains(part), "{part:?} in the notification: {text}");
    }
    assert!(
        text.contains(DEMO_AGENCY_NAME),
        "the requester is still named: {text}"
    );
    desk.app
        .wait_for(&Desk::request_item(&id_of(&request)))
        .await;

    // The administrator's preset is shown, read-only, in the settings.
    desk.app.click("#open-settings").await;
    let setting = desk.app.wait_for("#setting-show-patient-names").await;
    assert!(
        !setting.is_enabled().await.unwrap_or(true),
        "a preset setting must be disabled"
    );
    assert!(
        !setting.is_selected().await.unwrap_or(true),
        "and show the preset value (off)"
    );
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn names_reach_the_notification_body_as_text_never_as_markup() {
    let desk = Desk::open("desk-markup", &[]).await;
    // The daemon says it renders body markup (GetCapabilities), as KDE's and GNOME's do.
    let admin = desk.api.login(DEMO_ADMIN_EMAIL, DEMO_PASSWORD).await;
    let (first, last) = ("<a href=\"https://evil.example/\">Grace</a>", "& <b>Co</b>");
    let patient = desk
        .api
        .post(
            "/users",
            &admin,
            Some(serde_json::json!({
                "email": "markup@e2e.test",
                "firstName": first,
                "lastName": last,
                "role": "patient",
            })),
        )
        .await;
    let appointment = desk
        .api
        .book(
            &desk.doctor,
            &id_of(&patient),
            Some(&desk.agency.id),
            Duration::from_secs(10 * 60),
            "video",
            false,
        )
        .await;
    // The app knows the appointment (so the alert names its patient) before the knock.
    desk.app
        .wait_for(&format!(
            "#schedule li.appointment[data-appointment-id=\"{}\"]",
            id_of(&appointment)
        ))
        .await;

    let (_, notification) = desk.ask_and_notify(&desk.agency, &appointment).await;
    let body = &notification.body;
    assert!(
        !body.contains('<'),
        "markup from a name reaches the daemon: {body}"
    );
    assert!(
        body.contains(
            "&lt;a href=\"https://evil.example/\"&gt;Grace&lt;/a&gt; &amp; &lt;b&gt;Co&lt;/b&gt;"
        ),
        "the name, escaped for the body's markup: {body}"
    );
    // The summary is plain text by the specification: the agency's name as it is.
    assert!(
        notification.summary.contains(DEMO_AGENCY_NAME),
        "{}",
        notification.summary
    );
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_launch_with_a_join_link_opens_that_appointment_in_the_first() {
    let desk = Desk::open("desk-second-launch", &[]).await;
    let appointments = desk.appointments().await;
    let target = appointments.last().expect("demo appointments");
    let session_id = target["sessionId"].as_str().expect("sessionId");
    let detail = format!(
        "#appointment-detail[data-appointment-id=\"{}\"]",
        id_of(target)
    );
    assert!(!desk.app.is_present(&detail).await);

    let status = App::launch_again(
        &desk.session,
        desk.server.url(),
        "desk-second-launch",
        &[&format!("consult://join/{session_id}")],
    );
    assert!(status.success(), "the second instance exited with {status}");
    desk.app.wait_for(&detail).await;
    // Still the first instance's session: signed in, nothing asked again.
    assert!(desk.app.is_present("#signed-in-name").await);

    // A crafted link is ignored, and the second launch still only hands over.
    desk.app.click("#close-detail").await;
    desk.app.wait_gone(&detail).await;
    let status = App::launch_again(
        &desk.session,
        desk.server.url(),
        "desk-second-launch-crafted",
        &["consult://join/../../etc?x=1"],
    );
    assert!(status.success(), "the second instance exited with {status}");
    // The running instance logs its verdict on the link; "no detail" means something only after.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !desk.app.logs().contains("ignored a consult:// link") {
        assert!(
            Instant::now() < deadline,
            "the crafted link was not judged: {}",
            desk.app.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!desk.app.is_present("#appointment-detail").await);
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setting_changed_in_the_dialog_applies_at_once_and_is_kept_without_secrets() {
    let mut desk = Desk::open("desk-settings", &[]).await;
    desk.app.click("#open-settings").await;
    let setting = desk.app.wait_for("#setting-show-patient-names").await;
    assert!(
        setting.is_enabled().await.unwrap_or(false),
        "not preset here"
    );
    assert!(
        setting.is_selected().await.unwrap_or(false),
        "on by default"
    );
    desk.app.click("#setting-show-patient-names").await;
    desk.app.click("#save-settings").await;
    desk.app.wait_for("#settings-saved").await;

    // The running desk uses the new choice for the next notification.
    let on_agency = desk.agency_appointments().await;
    let (_, notification) = desk.ask_and_notify(&desk.agency, &on_agency[0]).await;
    let text = format!("{}\n{}", notification.summary, notification.body);
    for part in DEMO_PATIENT_NAME.split(' ') {
        assert!(!text.contains(part), "{part:?} in the notification: {text}");
    }

    // It is in the settings file, which holds nothing secret.
    let files = files_named(desk.session.home(), "settings.json");
    assert_eq!(files.len(), 1, "one settings file: {files:?}");
    let saved: Value = serde_json::from_slice(&std::fs::read(&files[0]).expect("settings.json"))
        .expect("settings.json is JSON");
    assert_eq!(
        saved["notifications"]["showPatientNames"],
        Value::Bool(false),
        "{saved}"
    );
    desk.assert_no_tokens_left();

    // "Copy diagnostics" (the dialog is still open) gives IT the version, where the
    // configuration comes from, the call path and this run's log lines, and nothing secret.
    desk.app.click("#copy-diagnostics").await;
    desk.app.wait_for("#diagnostics-text").await;
    assert!(
        desk.app.is_present("#diagnostics-copied").await
            || desk.app.is_present("#diagnostics-not-copied").await,
        "says whether the clipboard took it"
    );
    let report = desk.app.value_of("#diagnostics-text").await;
    let server_url = format!(
        "server_url = \"{}\"  (environment CONSULT_SERVER_URL)",
        desk.server.url()
    );
    for expected in [
        concat!("Version: ", env!("CARGO_PKG_VERSION")),
        "1. defaults",
        "config.toml: absent",
        "3. environment: ",
        "CONSULT_LOG",
        server_url.as_str(),
        "patient names false",
        "Call path:",
        "consult.log:",
        "signed in: desk started",
    ] {
        assert!(report.contains(expected), "{expected:?} not in:\n{report}");
    }
    for token in &desk.seen_refresh_tokens {
        assert!(
            !report.contains(token.as_str()),
            "a refresh token in the report"
        );
    }
    assert_eq!(find_jwts(report.as_bytes()), Vec::<String>::new());
    assert!(!report.contains(DEMO_PASSWORD));

    // A new start of the app (the sign-in restored from the keychain) shows the saved choice.
    let Desk {
        app,
        session,
        server,
        daemon,
        ..
    } = desk;
    app.quit().await;
    let app = App::launch(AppLaunch {
        session: &session,
        server_url: server.url().to_owned(),
        label: "desk-settings-again".into(),
        env: Vec::new(),
    })
    .await;
    app.signed_in_name().await;
    app.click("#open-settings").await;
    let setting = app.wait_for("#setting-show-patient-names").await;
    assert!(
        !setting.is_selected().await.unwrap_or(true),
        "the saved choice (off) is shown after a restart"
    );
    app.quit().await;
    drop(daemon);
}

/// Files called `name` anywhere under `dir`.
fn files_named(dir: &std::path::Path, name: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|path| path.file_name().is_some_and(|file| file == name))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_down_at_start_is_explained_and_the_saved_sign_in_survives_it() {
    let desk = Desk::open("desk-down-at-start", &[]).await;
    let saved = desk.refresh_token().expect("the sign-in is remembered");
    let Desk {
        app,
        mut server,
        session,
        daemon,
        ..
    } = desk;
    app.quit().await;

    // Down: the app says so on the login screen and keeps the saved sign-in.
    server.stop();
    let app = App::launch(AppLaunch {
        session: &session,
        server_url: server.url().to_owned(),
        label: "desk-down-at-start-offline".into(),
        env: Vec::new(),
    })
    .await;
    let notice = app
        .wait_for_text("#login-notice", |text| !text.trim().is_empty())
        .await;
    assert!(
        notice.contains("Cannot reach the clinic server"),
        "the notice names the problem: {notice:?}"
    );
    app.wait_for("#email").await;
    assert_eq!(
        session.keychain_lookup(&[
            ("service", "app.consult.desktop"),
            ("username", server.url()),
        ]),
        Some(saved),
        "an unreachable server must not cost the saved sign-in"
    );
    app.quit().await;

    // Back: the next start signs in by itself, without the password.
    server.start_again();
    let app = App::launch(AppLaunch {
        session: &session,
        server_url: server.url().to_owned(),
        label: "desk-down-at-start-online".into(),
        env: Vec::new(),
    })
    .await;
    assert_eq!(app.signed_in_name().await, DEMO_DOCTOR_NAME);
    app.wait_for("#schedule").await;
    app.quit().await;
    drop(daemon);
}
