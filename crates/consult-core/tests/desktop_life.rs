//! The signed-in life as the core's `Desktop` runs it, against the real clinic server
//! (in-process, SQLite in a temp dir), with recording ports where the shell would be: sign-in
//! starts the desk, every end leaves nothing behind and says why when the user did not ask for
//! it, the server changes only while signed out, and state reaches the UI only as numbered
//! events.

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;

mod support;
use support::{FakeJitsi, MemorySettings};

use consult_core::alerts::Alert;
use consult_core::call::deployment::Deployment;
use consult_core::config::{AppConfig, CallPathChoice};
use consult_core::desk::DeskOptions;
use consult_core::desktop::{Desktop, DesktopOptions, Ports, Setup};
use consult_core::heal::{KeptConsent, Wanted};
use consult_core::idle::SleepClock;
use consult_core::ports::{
    CallWindow, KioskMemory, NotificationAction, Notifier, Ui, UpdateError, UpdateFuture, Updater,
};
use consult_core::push::PushOptions;
use consult_server::config::ServerConfig;
use consult_server::jitsi::JitsiConfig;
use consult_server::RunningServer;
use consult_types::{
    AppError, CallScreen, Connection, Dashboard, DecideArgs, Decision, FocusAppointment,
    JoinRequest, JoinRequestStatus, KioskStatus, LoginArgs, Revised, SessionEnded, SettingsChange,
    Tokens, WaitingRoomAction,
};
use tempfile::TempDir;

const DOCTOR: &str = "doctor@demo.clinic";
const AGENCY: &str = "agency@demo.clinic";
const ADMIN: &str = "admin@demo.clinic";
const PASSWORD: &str = "consult-demo";
const WAIT: Duration = Duration::from_secs(20);

/// What the shell would have been told.
#[derive(Default)]
struct Shell {
    dashboards: Mutex<Vec<Revised<Dashboard>>>,
    calls: Mutex<Vec<Revised<Option<CallScreen>>>>,
    ended: Mutex<Vec<SessionEnded>>,
    focused: Mutex<Vec<FocusAppointment>>,
    shown: Mutex<usize>,
    alerts: Mutex<Vec<Alert>>,
    withdrawn: Mutex<Vec<String>>,
    kiosk: Mutex<Vec<Revised<KioskStatus>>>,
    /// Visits whose webview data was cleared.
    forgotten: Mutex<usize>,
    reloads: Mutex<usize>,
    /// Administrator exits asked for.
    exits: Mutex<usize>,
    /// In-app update banners sent.
    banners: Mutex<Vec<consult_types::UpdateBanner>>,
    /// Kiosk restarts asked for (a remote `restart`).
    restarts: Mutex<usize>,
    /// Room messages sent to the kiosk's screen.
    messages: Mutex<Vec<Revised<Option<consult_types::RoomMessage>>>>,
    /// What the kiosk keeps for a restart.
    kept: Mutex<Option<KeptConsent>>,
}

impl KioskMemory for Shell {
    fn kept_consent(&self) -> Option<KeptConsent> {
        self.kept.lock().unwrap().clone()
    }
    fn keep_consent(&self, consent: Option<&KeptConsent>) -> Result<(), AppError> {
        *self.kept.lock().unwrap() = consent.cloned();
        Ok(())
    }
}

impl Ui for Shell {
    fn dashboard_changed(&self, dashboard: &Revised<Dashboard>) {
        self.dashboards.lock().unwrap().push(dashboard.clone());
    }
    fn call_changed(&self, call: &Revised<Option<CallScreen>>) {
        self.calls.lock().unwrap().push(call.clone());
    }
    fn session_ended(&self, ended: &SessionEnded) {
        self.ended.lock().unwrap().push(ended.clone());
    }
    fn kiosk_changed(&self, status: &Revised<KioskStatus>) {
        self.kiosk.lock().unwrap().push(status.clone());
    }
    fn focus_appointment(&self, focus: &FocusAppointment) {
        self.focused.lock().unwrap().push(focus.clone());
    }
    fn show(&self) {
        *self.shown.lock().unwrap() += 1;
    }
    fn reload(&self) {
        *self.reloads.lock().unwrap() += 1;
    }
    fn leave_kiosk(&self) {
        *self.exits.lock().unwrap() += 1;
    }
    fn restart_kiosk(&self) {
        *self.restarts.lock().unwrap() += 1;
    }
    fn kiosk_message(&self, message: &Revised<Option<consult_types::RoomMessage>>) {
        self.messages.lock().unwrap().push(message.clone());
    }
    fn update_changed(&self, banner: &consult_types::UpdateBanner) {
        self.banners.lock().unwrap().push(banner.clone());
    }
}

impl Notifier for Shell {
    fn show(&self, alert: &Alert) {
        self.alerts.lock().unwrap().push(alert.clone());
    }
    fn withdraw(&self, alert_id: &str) {
        self.withdrawn.lock().unwrap().push(alert_id.to_owned());
    }
}

impl CallWindow for Shell {
    fn open_embedded(&self, _call_page: &Url, _deployment: &Deployment) {}
    fn close_embedded(&self) {}
    fn forget_visit(&self) {
        *self.forgotten.lock().unwrap() += 1;
    }
}

impl Shell {
    /// The session id of the call on screen, if one is.
    fn call_session(&self) -> Option<String> {
        let calls = self.calls.lock().unwrap();
        let call = calls.last()?.value.as_ref()?;
        Some(call.session_id.clone())
    }

    fn call_open(&self) -> bool {
        self.calls
            .lock()
            .unwrap()
            .last()
            .is_some_and(|call| call.value.is_some())
    }

    fn last_dashboard(&self) -> Option<Revised<Dashboard>> {
        self.dashboards.lock().unwrap().last().cloned()
    }

    async fn wait_for(&self, what: &str, condition: impl Fn(&Shell) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !condition(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn online(&self) {
        self.wait_for("the desk online", |shell| {
            shell
                .last_dashboard()
                .is_some_and(|d| d.value.connection == Connection::Online)
        })
        .await;
    }
}

struct World {
    server: RunningServer,
    _data: TempDir,
    config_dir: TempDir,
    /// The Jitsi the server mints tokens for, when it does.
    jitsi: Option<FakeJitsi>,
}

impl World {
    async fn start() -> World {
        World::start_with(|_| {}).await
    }

    /// A world whose server mints meeting tokens for a fake Jitsi (HTTPS under a private CA,
    /// serving an `external_api.js`): calls open and stay open.
    async fn start_with_meetings() -> World {
        let jitsi = FakeJitsi::start().await;
        let origin = jitsi.origin.clone();
        let mut world = World::start_with(|config| {
            config.jitsi = Some(JitsiConfig::hs256(
                origin,
                "consult-life-tests",
                "life-tests-only-jitsi-app-secret-0123456789",
            ));
        })
        .await;
        world.jitsi = Some(jitsi);
        world
    }

    async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> World {
        let data = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::with_data_dir(data.path());
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.demo = true;
        config.demo_appointments = true;
        config.sse_heartbeat_secs = 1;
        config.login_attempts_per_minute_per_ip = 0;
        config.login_attempts_per_minute_per_account = 0;
        configure(&mut config);
        let server = consult_server::serve(config).await.unwrap();
        World {
            server,
            _data: data,
            config_dir: tempfile::tempdir().unwrap(),
            jitsi: None,
        }
    }

    fn server_url(&self) -> String {
        format!("{}/", self.server.base_url())
    }

    /// A desktop on this world's server, remembering nothing between runs (`keychain = none`).
    fn desktop(&self, idle_timeout: Option<Duration>) -> (Desktop, Arc<Shell>) {
        self.desktop_with(idle_timeout, None)
    }

    /// [`World::desktop`] with the idle timer counting time asleep on `idle_clock`.
    fn desktop_with(
        &self,
        idle_timeout: Option<Duration>,
        idle_clock: Option<Arc<dyn SleepClock>>,
    ) -> (Desktop, Arc<Shell>) {
        self.desktop_configured(idle_timeout, idle_clock, |_| {})
    }

    /// A desktop whose calls open in a stand-in browser.
    fn desktop_with_calls(&self) -> (Desktop, Arc<Shell>) {
        self.desktop_configured(None, None, |config| self.calls_in_stand_in_browser(config))
    }

    /// Calls open in a stand-in browser: a process that waits to be closed.
    fn calls_in_stand_in_browser(&self, config: &mut AppConfig) {
        let browser = self.config_dir.path().join("browser");
        std::fs::write(&browser, "#!/bin/sh\nexec sleep 60\n").unwrap();
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
        config.call_path = CallPathChoice::Browser;
        config.browser = Some(browser);
        config.browser_allow_root = true;
    }

    fn desktop_configured(
        &self,
        idle_timeout: Option<Duration>,
        idle_clock: Option<Arc<dyn SleepClock>>,
        configure: impl FnOnce(&mut AppConfig),
    ) -> (Desktop, Arc<Shell>) {
        self.desktop_started(idle_timeout, idle_clock, configure, None)
    }

    /// Like [`World::desktop_configured`], for an app that started at `started_at`.
    fn desktop_started(
        &self,
        idle_timeout: Option<Duration>,
        idle_clock: Option<Arc<dyn SleepClock>>,
        configure: impl FnOnce(&mut AppConfig),
        started_at: Option<time::OffsetDateTime>,
    ) -> (Desktop, Arc<Shell>) {
        let file = self.config_dir.path().join("config.toml");
        std::fs::write(&file, "keychain = \"none\"\n").unwrap();
        let mut config = AppConfig::load_with_machine(&file, None).unwrap();
        config.server_url = Url::parse(&self.server_url()).unwrap();
        config.jitsi_ca_file = self.jitsi.as_ref().map(|jitsi| jitsi.ca_file.clone());
        configure(&mut config);
        let setup = Setup::new(config, Arc::new(MemorySettings::default()));
        let shell = Arc::new(Shell::default());
        let ports = Ports {
            ui: shell.clone(),
            notifier: shell.clone(),
            call_window: shell.clone(),
            memory: shell.clone(),
        };
        let min_backoff = Duration::from_millis(200);
        let options = DesktopOptions {
            desk: DeskOptions {
                push: PushOptions {
                    stall_timeout: Duration::from_secs(5),
                    min_backoff,
                    max_backoff: min_backoff * 4,
                },
                ..DeskOptions::default()
            },
            idle_timeout,
            idle_clock,
            kiosk_retry: Some(Duration::from_millis(200)),
            log_dir: None,
            config_file: None,
            update_first_delay: Some(Duration::from_millis(200)),
            started_at,
        };
        (Desktop::new(setup, ports, options), shell)
    }
}

impl World {
    fn client(&self) -> consult_core::clinic::ClinicClient {
        consult_core::clinic::ClinicClient::new(
            Url::parse(&self.server_url()).unwrap(),
            Duration::from_secs(10),
        )
        .unwrap()
    }

    /// The demo agency asks to join its appointment on the doctor's schedule.
    async fn agency_asks_to_join(&self, shell: &Shell) -> (Tokens, JoinRequest) {
        let appointment = shell
            .last_dashboard()
            .unwrap()
            .value
            .appointments
            .into_iter()
            .find(|a| a.agency_id.is_some())
            .expect("the demo schedule has an agency's appointment");
        let client = self.client();
        let agency = client.login(AGENCY, PASSWORD).await.unwrap().tokens;
        let request = client
            .request_to_join(&agency.access_token, &appointment.id)
            .await
            .unwrap();
        (agency, request)
    }
}

fn login(email: &str) -> LoginArgs {
    LoginArgs {
        email: email.into(),
        password: PASSWORD.into(),
    }
}

#[tokio::test]
async fn signing_in_starts_the_desk_and_its_dashboards_arrive_numbered() {
    let world = World::start().await;
    let (desktop, shell) = world.desktop(None);
    assert_eq!(
        desktop.republish_dashboard().await,
        Err(AppError::NotSignedIn),
        "no desk before the sign-in"
    );
    let view = desktop.login(login(DOCTOR)).await.unwrap();
    assert_eq!(view.user.email, DOCTOR);
    shell.online().await;
    let revisions: Vec<u64> = shell
        .dashboards
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.revision)
        .collect();
    assert!(
        revisions.windows(2).all(|pair| pair[0] < pair[1]),
        "{revisions:?}"
    );

    // Asking again sends the same state under a newer number.
    let before = shell.last_dashboard().unwrap();
    desktop.republish_dashboard().await.unwrap();
    let again = shell.last_dashboard().unwrap();
    assert_eq!(again.value, before.value);
    assert!(again.revision > before.revision);
}

#[tokio::test]
async fn signing_out_stops_the_desk_and_tells_the_ui_nothing() {
    let world = World::start().await;
    let (desktop, shell) = world.desktop(None);
    desktop.login(login(DOCTOR)).await.unwrap();
    shell.online().await;

    desktop.logout().await.unwrap();
    let after = shell.dashboards.lock().unwrap().len();
    assert_eq!(
        desktop.republish_dashboard().await,
        Err(AppError::NotSignedIn)
    );
    // A new life's states are numbered on from the last one's, and no "session ended" is told
    // for an end the user asked for.
    desktop.login(login(DOCTOR)).await.unwrap();
    shell
        .wait_for("the new desk online", |shell| {
            let dashboards = shell.dashboards.lock().unwrap();
            dashboards.len() > after
                && dashboards
                    .last()
                    .is_some_and(|d| d.value.connection == Connection::Online)
        })
        .await;
    let dashboards = shell.dashboards.lock().unwrap();
    assert!(
        dashboards[after - 1].revision < dashboards[after].revision,
        "numbered on across lives"
    );
    assert!(shell.ended.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_account_disabled_on_the_server_ends_the_life_and_says_why() {
    let world = World::start().await;
    let (desktop, shell) = world.desktop(None);
    let doctor = desktop.login(login(DOCTOR)).await.unwrap();
    shell.online().await;

    // An administrator disables the account: the server revokes its sessions.
    let admin = world.client().login(ADMIN, PASSWORD).await.unwrap();
    let disabled = reqwest::Client::new()
        .post(format!(
            "{}users/{}/disable",
            world.server_url(),
            doctor.user.id
        ))
        .bearer_auth(&admin.tokens.access_token)
        .send()
        .await
        .unwrap();
    assert!(disabled.status().is_success(), "{disabled:?}");

    shell
        .wait_for("the session's end", |shell| {
            !shell.ended.lock().unwrap().is_empty()
        })
        .await;
    let ended = shell.ended.lock().unwrap().clone();
    assert_eq!(ended.len(), 1, "one end, told once: {ended:?}");
    assert!(!ended[0].reason.is_empty());
    assert_eq!(
        desktop
            .decide(DecideArgs {
                join_request_id: "jrq_none".into(),
                decision: Decision::Admit,
            })
            .await,
        Err(AppError::NotSignedIn),
        "the life is over"
    );
}

#[tokio::test]
async fn idleness_ends_the_life_with_its_reason_and_activity_holds_it_off() {
    let world = World::start().await;
    let (desktop, shell) = world.desktop(Some(Duration::from_millis(1500)));
    desktop.login(login(DOCTOR)).await.unwrap();
    shell.online().await;
    // Activity keeps it alive past the timeout…
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        desktop.touch();
    }
    assert!(shell.ended.lock().unwrap().is_empty(), "touched in time");
    // …and without it the life ends.
    shell
        .wait_for("the idle sign-out", |shell| {
            !shell.ended.lock().unwrap().is_empty()
        })
        .await;
    let ended = shell.ended.lock().unwrap().clone();
    assert!(ended[0].reason.contains("without activity"), "{ended:?}");
    assert_eq!(
        desktop.republish_dashboard().await,
        Err(AppError::NotSignedIn)
    );
}

/// The wall clock of a laptop whose lid the test closes: it runs with real time, and jumps
/// while "asleep" (tokio's clock, like the monotonic one, does not).
#[derive(Default)]
struct Laptop {
    asleep: Mutex<Duration>,
}

impl SleepClock for Laptop {
    fn now(&self) -> Duration {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            + *self.asleep.lock().unwrap()
    }
}

#[tokio::test]
async fn waking_from_a_sleep_past_the_idle_limit_ends_the_life_first() {
    let world = World::start().await;
    let laptop = Arc::new(Laptop::default());
    let (desktop, shell) = world.desktop_with(
        Some(Duration::from_secs(900)),
        Some(laptop.clone() as Arc<dyn SleepClock>),
    );
    desktop.login(login(DOCTOR)).await.unwrap();
    shell.online().await;

    // The lid closes for two hours; on opening it the user moves the mouse at once.
    let shown = shell.dashboards.lock().unwrap().len();
    *laptop.asleep.lock().unwrap() += Duration::from_secs(2 * 3600);
    desktop.touch();
    shell
        .wait_for("the idle sign-out after waking", |shell| {
            !shell.ended.lock().unwrap().is_empty()
        })
        .await;
    assert_eq!(
        shell.dashboards.lock().unwrap().len(),
        shown,
        "nothing new is shown before the sign-out"
    );
    let ended = shell.ended.lock().unwrap().clone();
    assert_eq!(
        ended[0].reason, "Signed out after 15 minutes without activity.",
        "{ended:?}"
    );
    assert_eq!(
        desktop.republish_dashboard().await,
        Err(AppError::NotSignedIn)
    );

    // Signing in again starts a fresh count: the old expiry does not end the new life.
    desktop.login(login(DOCTOR)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(shell.ended.lock().unwrap().len(), 1);
    desktop.republish_dashboard().await.unwrap();
}

#[tokio::test]
async fn the_clinic_server_changes_only_while_signed_out() {
    let world = World::start().await;
    let (desktop, shell) = world.desktop(None);
    desktop.login(login(DOCTOR)).await.unwrap();
    shell.online().await;
    let change = SettingsChange {
        server_url: Some("https://other.clinic.example/".into()),
        ..SettingsChange::default()
    };
    let refused = desktop.save_settings(change.clone()).await.unwrap_err();
    assert!(refused.to_string().contains("sign out"), "{refused}");
    assert_eq!(desktop.settings().unwrap().server_url, world.server_url());

    desktop.logout().await.unwrap();
    let saved = desktop.save_settings(change).await.unwrap();
    assert_eq!(saved.server_url, "https://other.clinic.example/");
    // The start-up reply carries the settings the sign-in card needs.
    let startup = desktop.startup().await.unwrap();
    assert_eq!(startup.settings, saved);
    assert!(startup.session.is_none());
}

#[tokio::test]
async fn a_link_opened_while_signed_out_waits_for_the_sign_in() {
    let world = World::start().await;
    let (desktop, shell) = world.desktop(None);
    let wanted = FocusAppointment {
        appointment_id: None,
        session_id: Some("ses_from_a_link".into()),
    };
    desktop.focus(wanted.clone()).await;
    assert_eq!(*shell.shown.lock().unwrap(), 1, "the window comes forward");
    assert!(
        shell.focused.lock().unwrap().is_empty(),
        "nothing to show yet"
    );

    desktop.login(login(DOCTOR)).await.unwrap();
    // The page asks for its dashboard once it listens; the link is delivered then.
    desktop.republish_dashboard().await.unwrap();
    assert_eq!(*shell.focused.lock().unwrap(), vec![wanted.clone()]);
    desktop.republish_dashboard().await.unwrap();
    assert_eq!(shell.focused.lock().unwrap().len(), 1, "delivered once");

    // Signed in, a link is shown at once.
    desktop.focus(wanted).await;
    assert_eq!(shell.focused.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_notifications_admit_decides_through_the_running_desk() {
    let world = World::start().await;
    let (desktop, shell) = world.desktop(None);
    desktop.login(login(DOCTOR)).await.unwrap();
    shell.online().await;
    let (agency, request) = world.agency_asks_to_join(&shell).await;
    shell
        .wait_for("the request on the dashboard", |shell| {
            shell
                .last_dashboard()
                .is_some_and(|d| d.value.join_requests.iter().any(|r| r.id == request.id))
        })
        .await;

    desktop
        .act(NotificationAction::Decide {
            join_request_id: request.id.clone(),
            decision: Decision::Admit,
        })
        .await;
    shell
        .wait_for("the request gone from the dashboard", |shell| {
            shell
                .last_dashboard()
                .is_some_and(|d| d.value.join_requests.iter().all(|r| r.id != request.id))
        })
        .await;
    let decided = world
        .client()
        .join_request(&agency.access_token, &request.id)
        .await
        .unwrap();
    assert_eq!(decided.status, consult_types::JoinRequestStatus::Approved);
}

#[tokio::test]
async fn signing_out_takes_back_the_notifications_the_life_showed() {
    let world = World::start().await;
    let (desktop, shell) = world.desktop(None);
    desktop.login(login(DOCTOR)).await.unwrap();
    shell.online().await;
    world.agency_asks_to_join(&shell).await;
    shell
        .wait_for("the join request's notification", |shell| {
            !shell.alerts.lock().unwrap().is_empty()
        })
        .await;
    let shown = shell.alerts.lock().unwrap()[0].id.clone();
    assert!(shell.withdrawn.lock().unwrap().is_empty(), "still asked");

    // The request is still pending, but its notification names a patient: it goes with the
    // session.
    desktop.logout().await.unwrap();
    assert_eq!(*shell.withdrawn.lock().unwrap(), vec![shown]);
}

/// The waiting room, from the participant's side: the agency's own desktop asks, the doctor's
/// decides, each through its own running desk.
mod waiting_room {
    use super::*;

    impl Shell {
        fn own_requests(&self) -> Vec<consult_types::OwnRequest> {
            self.last_dashboard()
                .map(|d| d.value.own_requests)
                .unwrap_or_default()
        }

        fn own_status(&self) -> Option<JoinRequestStatus> {
            self.own_requests().first().map(|own| own.request.status)
        }
    }

    /// The doctor and the agency signed in on desktops of their own, both online, and the
    /// agency's appointment.
    async fn doctor_and_agency(
        world: &World,
    ) -> (Desktop, Arc<Shell>, Desktop, Arc<Shell>, String) {
        let (doctor, doctor_shell) = world.desktop(None);
        doctor.login(login(DOCTOR)).await.unwrap();
        doctor_shell.online().await;
        let (agency, agency_shell) = world.desktop_with_calls();
        agency.login(login(AGENCY)).await.unwrap();
        agency_shell.online().await;
        let appointment = agency_shell
            .last_dashboard()
            .unwrap()
            .value
            .appointments
            .into_iter()
            .find(|a| a.agency_id.is_some())
            .expect("the agency has an appointment on the demo schedule")
            .id;
        (doctor, doctor_shell, agency, agency_shell, appointment)
    }

    async fn asks(
        agency: &Desktop,
        shell: &Shell,
        doctor_shell: &Shell,
        appointment: &str,
    ) -> String {
        agency
            .waiting_room(WaitingRoomAction::Ask {
                appointment_id: appointment.to_owned(),
            })
            .await
            .unwrap();
        shell
            .wait_for("the agency waiting", |shell| {
                shell.own_status() == Some(JoinRequestStatus::Pending)
            })
            .await;
        let id = shell.own_requests()[0].request.id.clone();
        doctor_shell
            .wait_for("the request on the doctor's desk", |shell| {
                shell
                    .last_dashboard()
                    .is_some_and(|d| d.value.join_requests.iter().any(|r| r.id == id))
            })
            .await;
        // The agency's own request is not one for it to decide.
        assert!(shell
            .last_dashboard()
            .unwrap()
            .value
            .join_requests
            .is_empty());
        id
    }

    #[tokio::test]
    async fn an_agency_let_in_joins_the_call_without_a_click() {
        let world = World::start_with_meetings().await;
        let (doctor, doctor_shell, agency, shell, appointment) = doctor_and_agency(&world).await;
        let id = asks(&agency, &shell, &doctor_shell, &appointment).await;
        assert!(
            !shell.call_open(),
            "nothing opens before the doctor says so"
        );

        doctor
            .decide(DecideArgs {
                join_request_id: id,
                decision: Decision::Admit,
            })
            .await
            .unwrap();
        shell
            .wait_for("the agency's call open", |shell| shell.call_open())
            .await;
        shell
            .wait_for("the waiting room closed", |shell| {
                shell.own_requests().is_empty()
            })
            .await;
        agency.logout().await.unwrap();
    }

    #[tokio::test]
    async fn a_declined_agency_is_told_and_may_ask_again() {
        let world = World::start_with_meetings().await;
        let (doctor, doctor_shell, agency, shell, appointment) = doctor_and_agency(&world).await;
        let first = asks(&agency, &shell, &doctor_shell, &appointment).await;
        doctor
            .decide(DecideArgs {
                join_request_id: first.clone(),
                decision: Decision::Decline,
            })
            .await
            .unwrap();
        shell
            .wait_for("the decline shown", |shell| {
                shell.own_status() == Some(JoinRequestStatus::Rejected)
            })
            .await;
        assert!(!shell.call_open());

        let second = asks(&agency, &shell, &doctor_shell, &appointment).await;
        assert_ne!(first, second, "a new request, not the declined one");
    }

    #[tokio::test]
    async fn cancelling_withdraws_the_request_from_the_doctors_desk() {
        let world = World::start_with_meetings().await;
        let (doctor, doctor_shell, agency, shell, appointment) = doctor_and_agency(&world).await;
        let id = asks(&agency, &shell, &doctor_shell, &appointment).await;
        agency
            .waiting_room(WaitingRoomAction::Withdraw {
                join_request_id: id.clone(),
            })
            .await
            .unwrap();
        assert!(shell.own_requests().is_empty());
        doctor_shell
            .wait_for("the request gone from the doctor's desk", |shell| {
                shell
                    .last_dashboard()
                    .is_some_and(|d| d.value.join_requests.is_empty())
            })
            .await;
        // Too late to let the agency in: nothing opens.
        let late = doctor
            .decide(DecideArgs {
                join_request_id: id,
                decision: Decision::Admit,
            })
            .await;
        assert!(late.is_err(), "{late:?}");
        assert!(!shell.call_open());
    }

    #[tokio::test]
    async fn a_call_that_cannot_open_after_the_approval_says_why() {
        // No [jitsi] table: the server cannot mint the meeting token.
        let world = World::start().await;
        let (doctor, doctor_shell, agency, shell, appointment) = doctor_and_agency(&world).await;
        let id = asks(&agency, &shell, &doctor_shell, &appointment).await;
        doctor
            .decide(DecideArgs {
                join_request_id: id.clone(),
                decision: Decision::Admit,
            })
            .await
            .unwrap();
        shell
            .wait_for("why the call did not open", |shell| {
                shell
                    .own_requests()
                    .first()
                    .is_some_and(|own| own.join_failed.is_some())
            })
            .await;
        assert!(!shell.call_open());
        agency
            .waiting_room(WaitingRoomAction::Dismiss {
                join_request_id: id,
            })
            .await
            .unwrap();
        assert!(shell.own_requests().is_empty());
    }
}

/// Kiosk mode: the demo kiosk device signs itself in with its secret file, against the real
/// server; the administrator switches it off and on through the API.
mod kiosk_mode {
    use super::*;
    use consult_core::config::KioskConfig;
    use consult_server::demo::{DEMO_DEVICE_ID, DEMO_DEVICE_SECRET, DEMO_EXIT_PIN};
    use consult_types::MaintenanceAction;

    impl Shell {
        fn kiosk_status(&self) -> Option<KioskStatus> {
            self.kiosk.lock().unwrap().last().map(|s| s.value.clone())
        }

        async fn kiosk_becomes(&self, what: &str, check: impl Fn(&KioskStatus) -> bool) {
            self.wait_for(what, |shell| {
                shell.kiosk_status().is_some_and(|s| check(&s))
            })
            .await;
        }
    }

    /// A kiosk desktop whose secret file holds `secret` with `mode`.
    fn kiosk(world: &World, secret: &str, mode: u32) -> (Desktop, Arc<Shell>) {
        let kiosk = kiosk_config(world, secret, mode);
        world.desktop_configured(None, None, |config| config.kiosk = Some(kiosk))
    }

    /// The demo kiosk, its secret file holding `secret` with `mode`.
    fn kiosk_config(world: &World, secret: &str, mode: u32) -> KioskConfig {
        let file = world.config_dir.path().join("device-secret");
        std::fs::write(&file, secret).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        KioskConfig {
            device_id: Some(DEMO_DEVICE_ID.into()),
            secret_file: Some(file),
            retry_secs: None,
            join_lead_secs: None,
            leave_grace_secs: None,
            show_first_name: false,
            clinic_name: None,
            jitsi_url: None,
            nightly_restart_hour: None,
        }
    }

    async fn set_kiosk_enabled(world: &World, enabled: bool) {
        let client = world.client();
        let admin = client.login(ADMIN, PASSWORD).await.unwrap();
        let kiosk_user = client
            .device_login(DEMO_DEVICE_ID, DEMO_DEVICE_SECRET)
            .await
            .map(|auth| auth.user.id);
        let id = match kiosk_user {
            Ok(id) => id,
            // Disabled: find it in the administrator's user list.
            Err(_) => {
                let users: serde_json::Value = reqwest::Client::new()
                    .get(format!("{}users", world.server_url()))
                    .bearer_auth(&admin.tokens.access_token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                users["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|u| u["role"] == "kiosk")
                    .unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let action = if enabled { "enable" } else { "disable" };
        let answer = reqwest::Client::new()
            .post(format!("{}users/{id}/{action}", world.server_url()))
            .bearer_auth(&admin.tokens.access_token)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{answer:?}");
    }

    /// The demo kiosk as the administrator's `GET /devices` shows it.
    async fn demo_kiosk_in_fleet(world: &World) -> serde_json::Value {
        let admin = world.client().login(ADMIN, PASSWORD).await.unwrap();
        let devices: serde_json::Value = reqwest::Client::new()
            .get(format!("{}devices", world.server_url()))
            .bearer_auth(&admin.tokens.access_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        devices["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|device| device["deviceId"] == DEMO_DEVICE_ID)
            .unwrap()
            .clone()
    }

    #[tokio::test]
    async fn a_signed_in_kiosk_beats_and_the_clinic_sees_it_online_and_idle() {
        let world = World::start().await;
        assert_eq!(demo_kiosk_in_fleet(&world).await["online"], false);
        let (desktop, shell) = kiosk(&world, DEMO_DEVICE_SECRET, 0o600);
        desktop.startup().await.unwrap();
        shell
            .kiosk_becomes("the kiosk ready", |s| *s == KioskStatus::Ready)
            .await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let seen = loop {
            let seen = demo_kiosk_in_fleet(&world).await;
            if seen["online"] == true || std::time::Instant::now() > deadline {
                break seen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(seen["online"], true, "{seen}");
        assert_eq!(seen["lastReport"]["state"], "idle", "{seen}");
        assert_eq!(
            seen["lastReport"]["version"],
            env!("CARGO_PKG_VERSION"),
            "{seen}"
        );
        assert!(seen["lastReport"]["callPath"].is_string(), "{seen}");
    }

    #[tokio::test]
    async fn a_kiosk_signs_itself_in_and_never_shows_a_login_form() {
        let world = World::start().await;
        let (desktop, shell) = kiosk(&world, DEMO_DEVICE_SECRET, 0o600);
        let startup = desktop.startup().await.unwrap();
        assert!(
            startup.kiosk.is_some() && startup.session.is_none(),
            "{startup:?}"
        );
        shell
            .kiosk_becomes("the kiosk ready", |s| *s == KioskStatus::Ready)
            .await;
        shell.online().await;
        // Its own schedule only; and nobody signs in by password here.
        assert_eq!(
            desktop.login(login(DOCTOR)).await.map(|_| ()),
            Err(AppError::Config {
                detail: "This app runs as a kiosk: it signs in by itself with its device credential, never with a password.".into()
            })
        );
        // Statuses arrive numbered in order.
        let revisions: Vec<u64> = shell
            .kiosk
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.revision)
            .collect();
        assert!(revisions.windows(2).all(|w| w[0] < w[1]), "{revisions:?}");
    }

    #[tokio::test]
    async fn staff_open_maintenance_with_the_pin_online_or_offline_and_exit_from_it() {
        let world = World::start().await;
        let (desktop, shell) = kiosk(&world, DEMO_DEVICE_SECRET, 0o600);
        desktop.startup().await.unwrap();
        shell
            .kiosk_becomes("the kiosk ready", |s| *s == KioskStatus::Ready)
            .await;
        // Nothing of maintenance before the PIN.
        assert!(desktop
            .kiosk_maintenance(MaintenanceAction::Exit)
            .await
            .is_err());
        assert_eq!(
            desktop.kiosk_unlock("000000".into()).await,
            Err(AppError::WrongPin { tries_left: 4 })
        );
        desktop.kiosk_unlock(DEMO_EXIT_PIN.into()).await.unwrap();
        // The screen shows the last self-test (the one after sign-in), if it is done.
        shell
            .kiosk_becomes("maintenance", |s| {
                matches!(
                    s,
                    KioskStatus::Maintenance {
                        checked_offline: false,
                        ..
                    }
                )
            })
            .await;
        let before = shell.kiosk.lock().unwrap().len();
        desktop
            .kiosk_maintenance(MaintenanceAction::SelfTest)
            .await
            .unwrap();
        // A new result, shown after the button.
        shell
            .wait_for("the self-test's results", |shell| {
                shell.kiosk.lock().unwrap()[before..].iter().any(|s| {
                    matches!(&s.value, KioskStatus::Maintenance { self_test: Some(checks), .. }
                        if checks.iter().any(|c| c.name == "Clinic server" && c.passed))
                })
            })
            .await;
        desktop
            .kiosk_maintenance(MaintenanceAction::Close)
            .await
            .unwrap();
        shell
            .kiosk_becomes("back to the kiosk", |s| *s == KioskStatus::Ready)
            .await;
        assert_eq!(*shell.exits.lock().unwrap(), 0);

        // The server goes away: the hash fetched at sign-in checks the PIN, counting anew.
        let World {
            server,
            _data,
            config_dir: _config_dir,
            jitsi: _jitsi,
        } = world;
        server.shutdown().await.unwrap();
        assert_eq!(
            desktop.kiosk_unlock("000000".into()).await,
            Err(AppError::WrongPin { tries_left: 4 })
        );
        desktop.kiosk_unlock(DEMO_EXIT_PIN.into()).await.unwrap();
        shell
            .kiosk_becomes("maintenance, checked offline", |s| {
                matches!(
                    s,
                    KioskStatus::Maintenance {
                        checked_offline: true,
                        ..
                    }
                )
            })
            .await;
        desktop
            .kiosk_maintenance(MaintenanceAction::Exit)
            .await
            .unwrap();
        assert_eq!(*shell.exits.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_switched_off_kiosk_says_so_keeps_trying_and_comes_back() {
        let world = World::start().await;
        let (desktop, shell) = kiosk(&world, DEMO_DEVICE_SECRET, 0o600);
        desktop.startup().await.unwrap();
        shell.online().await;

        set_kiosk_enabled(&world, false).await;
        shell
            .kiosk_becomes("switched off", |s| {
                matches!(s, KioskStatus::SwitchedOff { .. })
            })
            .await;
        // No login screen for a kiosk whose session ended.
        assert!(shell.ended.lock().unwrap().is_empty());

        set_kiosk_enabled(&world, true).await;
        shell
            .kiosk_becomes("back", |s| *s == KioskStatus::Ready)
            .await;
    }

    #[tokio::test]
    async fn a_secret_others_can_read_or_a_wrong_one_is_a_problem_with_what_to_do() {
        let world = World::start().await;
        let (desktop, shell) = kiosk(&world, DEMO_DEVICE_SECRET, 0o644);
        desktop.startup().await.unwrap();
        shell
            .kiosk_becomes("the problem", |s| matches!(s, KioskStatus::Problem { .. }))
            .await;
        let Some(KioskStatus::Problem { message, .. }) = shell.kiosk_status() else {
            unreachable!()
        };
        assert!(message.contains("chmod 600"), "{message}");
        assert!(!message.contains(DEMO_DEVICE_SECRET), "{message}");

        let world = World::start().await;
        let (desktop, shell) = kiosk(&world, "not-the-secret", 0o600);
        desktop.startup().await.unwrap();
        shell
            .kiosk_becomes("the refusal", |s| matches!(s, KioskStatus::Problem { .. }))
            .await;
        let Some(KioskStatus::Problem { message, .. }) = shell.kiosk_status() else {
            unreachable!()
        };
        assert!(message.contains("does not accept"), "{message}");
    }

    /// A kiosk whose calls open in the stand-in browser, joining `lead` before a visit.
    fn kiosk_with_calls(world: &World, lead: Duration) -> (Desktop, Arc<Shell>) {
        let kiosk = KioskConfig {
            join_lead_secs: Some(lead.as_secs()),
            ..kiosk_config(world, DEMO_DEVICE_SECRET, 0o600)
        };
        world.desktop_configured(None, None, |config| {
            config.kiosk = Some(kiosk);
            world.calls_in_stand_in_browser(config);
        })
    }

    /// The doctor books a visit in the demo kiosk's room starting in `starts_in`; its id.
    async fn book_for_kiosk(world: &World, starts_in: Duration) -> (Tokens, String) {
        let client = world.client();
        let doctor = client.login(DOCTOR, PASSWORD).await.unwrap();
        let kiosk = client
            .device_login(DEMO_DEVICE_ID, DEMO_DEVICE_SECRET)
            .await
            .unwrap();
        let patient = client.login("patient@demo.clinic", PASSWORD).await.unwrap();
        let start = time::OffsetDateTime::now_utc() + starts_in;
        let booked = client
            .book_appointment(
                &doctor.tokens.access_token,
                &consult_types::NewAppointment {
                    doctor_id: doctor.user.id.clone(),
                    patient_id: patient.user.id.clone(),
                    agency_id: None,
                    kiosk_id: Some(kiosk.user.id.clone()),
                    start_time: start,
                    end_time: start + Duration::from_secs(30 * 60),
                    call_type: consult_types::CallType::Video,
                    waiting_room: false,
                },
            )
            .await
            .unwrap();
        (doctor.tokens, booked.id)
    }

    /// A kiosk that has run since yesterday, restarting nightly at this very hour.
    fn kiosk_due_for_its_nightly_restart(world: &World) -> (Desktop, Arc<Shell>) {
        let hour = u8::try_from(jiff::Zoned::now().hour()).unwrap();
        let kiosk = KioskConfig {
            nightly_restart_hour: Some(hour),
            ..kiosk_config(world, DEMO_DEVICE_SECRET, 0o600)
        };
        let yesterday = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        world.desktop_started(
            None,
            None,
            |config| config.kiosk = Some(kiosk),
            Some(yesterday),
        )
    }

    #[tokio::test]
    async fn the_nightly_restart_comes_at_its_hour_when_no_visit_is_near() {
        let world = World::start().await;
        let (desktop, shell) = kiosk_due_for_its_nightly_restart(&world);
        desktop.startup().await.unwrap();
        shell
            .wait_for("the nightly restart", |shell| {
                *shell.restarts.lock().unwrap() == 1
            })
            .await;
    }

    #[tokio::test]
    async fn the_nightly_restart_waits_while_a_visit_is_within_half_an_hour() {
        let world = World::start().await;
        // The demo kiosk's visit in 20 minutes, on its schedule before the kiosk starts.
        let (_doctor, appointment) = book_for_kiosk(&world, Duration::from_secs(20 * 60)).await;
        let (desktop, shell) = kiosk_due_for_its_nightly_restart(&world);
        desktop.startup().await.unwrap();
        shell
            .wait_for("the visit on the kiosk's schedule, live", |shell| {
                shell.last_dashboard().is_some_and(|dashboard| {
                    dashboard.value.connection == Connection::Online
                        && dashboard
                            .value
                            .appointments
                            .iter()
                            .any(|a| a.id == appointment)
                })
            })
            .await;
        // The driver has looked with the schedule live (it looks on every change) and again.
        desktop.republish_dashboard().await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            *shell.restarts.lock().unwrap(),
            0,
            "restarted 20 minutes before a visit"
        );
    }

    async fn doctor_posts(world: &World, doctor: &Tokens, path: &str) {
        let answer = reqwest::Client::new()
            .request(
                if path.starts_with("DELETE ") {
                    reqwest::Method::DELETE
                } else {
                    reqwest::Method::POST
                },
                format!(
                    "{}{}",
                    world.server_url(),
                    path.trim_start_matches("DELETE ")
                ),
            )
            .bearer_auth(&doctor.access_token)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {answer:?}");
    }

    #[tokio::test]
    async fn a_kiosk_joins_its_visit_at_the_lead_and_leaves_when_it_is_cancelled() {
        let world = World::start_with_meetings().await;
        // Due at once: it starts within the lead.
        let (doctor, visit) = book_for_kiosk(&world, Duration::from_secs(5 * 60)).await;
        let (desktop, shell) = kiosk_with_calls(&world, Duration::from_secs(10 * 60));
        desktop.startup().await.unwrap();
        shell
            .wait_for("the kiosk in its visit's call", |shell| shell.call_open())
            .await;
        // Kept for a restart: this call, both on after the countdown (it has not run yet).
        shell
            .wait_for("the visit's consent kept", |shell| {
                shell.kept_consent().is_some_and(|kept| {
                    Some(&kept.session_id) == shell.call_session().as_ref()
                        && kept.wanted == Wanted::default()
                })
            })
            .await;

        assert_eq!(*shell.forgotten.lock().unwrap(), 0);
        doctor_posts(&world, &doctor, &format!("DELETE appointments/{visit}")).await;
        shell
            .wait_for("the call left", |shell| !shell.call_open())
            .await;
        shell
            .wait_for("the visit's webview data cleared", |shell| {
                *shell.forgotten.lock().unwrap() == 1
            })
            .await;
        assert_eq!(shell.kept_consent(), None, "the visit's consent forgotten");
    }

    #[tokio::test]
    async fn a_kiosk_restarted_during_a_visit_takes_up_the_consent_it_kept() {
        let world = World::start_with_meetings().await;
        book_for_kiosk(&world, Duration::from_secs(5 * 60)).await;
        let (first, shell) = kiosk_with_calls(&world, Duration::from_secs(10 * 60));
        first.startup().await.unwrap();
        shell
            .wait_for("the kiosk in its visit's call", |shell| shell.call_open())
            .await;
        let session_id = shell.call_session().unwrap();
        first.leave_call().await;
        drop(first);

        // The app before the restart had turned on the microphone only (the patient's choice):
        // what it kept is what the new one starts from, and keeps while the call runs.
        let kept = KeptConsent {
            session_id: session_id.clone(),
            wanted: Wanted {
                audio: true,
                video: false,
            },
        };
        let (again, shell) = kiosk_with_calls(&world, Duration::from_secs(10 * 60));
        shell.keep_consent(Some(&kept)).unwrap();
        again.startup().await.unwrap();
        shell
            .wait_for("the restarted kiosk in the same call", |shell| {
                shell.call_session().as_ref() == Some(&session_id)
            })
            .await;
        // It looked at the call (the kiosk becomes ready with it) and kept what it had.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(shell.kept_consent(), Some(kept));
    }

    #[tokio::test]
    async fn a_kiosk_joins_when_the_doctor_starts_early_and_leaves_when_the_meeting_ends() {
        let world = World::start_with_meetings().await;
        // Not due yet: it starts in 14 minutes (inside the server's 15-minute token window),
        // the lead is one.
        let (doctor, visit) = book_for_kiosk(&world, Duration::from_secs(14 * 60)).await;
        let (desktop, shell) = kiosk_with_calls(&world, Duration::from_secs(60));
        desktop.startup().await.unwrap();
        shell
            .kiosk_becomes("the kiosk ready", |s| *s == KioskStatus::Ready)
            .await;
        shell.online().await;
        shell
            .wait_for("the visit on the kiosk's schedule", |shell| {
                shell
                    .last_dashboard()
                    .is_some_and(|d| d.value.appointments.iter().any(|a| a.id == visit))
            })
            .await;
        assert!(!shell.call_open(), "not before its time");

        doctor_posts(
            &world,
            &doctor,
            &format!("appointments/{visit}/meeting/start"),
        )
        .await;
        shell
            .wait_for("the kiosk in the call", |shell| shell.call_open())
            .await;
        doctor_posts(
            &world,
            &doctor,
            &format!("appointments/{visit}/meeting/end"),
        )
        .await;
        shell
            .wait_for("the call left", |shell| !shell.call_open())
            .await;
    }
}

/// The shell's updater as the core sees it: offers `version`, and records what the core asked
/// of it. The decisions under test are the core's (when to check, ask, install, restart).
struct FakeUpdater {
    version: String,
    install_fails: bool,
    checks: Mutex<usize>,
    downloads: Mutex<usize>,
    installs: Mutex<usize>,
    restarts: Mutex<usize>,
}

impl FakeUpdater {
    fn offering(version: &str, install_fails: bool) -> Arc<FakeUpdater> {
        Arc::new(FakeUpdater {
            version: version.into(),
            install_fails,
            checks: Mutex::new(0),
            downloads: Mutex::new(0),
            installs: Mutex::new(0),
            restarts: Mutex::new(0),
        })
    }

    fn count(counter: &Mutex<usize>) -> usize {
        *counter.lock().unwrap()
    }
}

impl Updater for FakeUpdater {
    fn check(&self) -> UpdateFuture<'_, Option<String>> {
        *self.checks.lock().unwrap() += 1;
        Box::pin(async move { Ok(Some(self.version.clone())) })
    }
    fn download(&self) -> UpdateFuture<'_, String> {
        *self.downloads.lock().unwrap() += 1;
        Box::pin(async move { Ok(self.version.clone()) })
    }
    fn install(&self) -> Result<(), UpdateError> {
        *self.installs.lock().unwrap() += 1;
        if self.install_fails {
            Err(UpdateError::Install(
                "dpkg: error processing archive".into(),
            ))
        } else {
            Ok(())
        }
    }
    fn restart(&self) {
        *self.restarts.lock().unwrap() += 1;
    }
}

fn with_updates(config: &mut AppConfig) {
    config.updates.endpoint =
        Some(Url::parse("https://updates.clinic.example/latest.json").unwrap());
}

impl Shell {
    fn last_banner(&self) -> Option<consult_types::UpdateBanner> {
        self.banners.lock().unwrap().last().cloned()
    }
}

fn ready(version: &str) -> Option<consult_types::UpdateBanner> {
    Some(consult_types::UpdateBanner::Ready {
        version: version.into(),
    })
}

fn paint(desktop: &Desktop) {
    desktop.first_paint(consult_types::FirstPaintArgs {
        at_unix_ms: 1_764_763_200_000.0,
    });
}

#[tokio::test]
async fn an_update_is_checked_after_the_first_paint_and_restart_installs_it() {
    let world = World::start().await;
    let (desktop, shell) = world.desktop_configured(None, None, with_updates);
    let updater = FakeUpdater::offering("0.2.0", false);
    let port: Arc<dyn Updater> = updater.clone();
    desktop.start_updates("built-in key", |_| Ok(port));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        FakeUpdater::count(&updater.checks),
        0,
        "nothing before the first paint"
    );

    paint(&desktop);
    shell
        .wait_for("the update offered", |shell| {
            shell.last_banner() == ready("0.2.0")
        })
        .await;
    assert_eq!(FakeUpdater::count(&updater.downloads), 1);
    assert_eq!(FakeUpdater::count(&updater.installs), 0, "asked first");
    assert!(desktop
        .diagnostics()
        .contains("last update check: Consult 0.2.0 downloaded"));

    desktop
        .update(consult_types::UpdateAction::Later)
        .await
        .unwrap();
    assert_eq!(
        shell.last_banner(),
        Some(consult_types::UpdateBanner::Hidden)
    );

    desktop
        .update(consult_types::UpdateAction::Restart)
        .await
        .unwrap();
    assert_eq!(FakeUpdater::count(&updater.installs), 1);
    assert_eq!(
        FakeUpdater::count(&updater.restarts),
        1,
        "installed, then restarted"
    );
}

#[tokio::test]
async fn a_failed_install_is_told_in_the_banner_and_nothing_restarts() {
    let world = World::start().await;
    let (desktop, shell) = world.desktop_configured(None, None, with_updates);
    let updater = FakeUpdater::offering("0.2.0", true);
    let port: Arc<dyn Updater> = updater.clone();
    desktop.start_updates("built-in key", |_| Ok(port));
    paint(&desktop);
    shell
        .wait_for("the update offered", |shell| {
            shell.last_banner() == ready("0.2.0")
        })
        .await;
    desktop
        .update(consult_types::UpdateAction::Restart)
        .await
        .unwrap();
    match shell.last_banner() {
        Some(consult_types::UpdateBanner::InstallFailed { message, .. }) => {
            assert!(
                message.contains("dpkg: error processing archive"),
                "{message}"
            );
        }
        other => panic!("expected the failure in the banner, got {other:?}"),
    }
    assert_eq!(FakeUpdater::count(&updater.restarts), 0);
}

#[tokio::test]
async fn without_a_key_or_when_turned_off_nothing_is_checked() {
    let world = World::start().await;
    for (key, configure) in [
        ("", with_updates as fn(&mut AppConfig)),
        ("built-in key", |config: &mut AppConfig| {
            with_updates(config);
            config.updates.enabled = false;
        }),
    ] {
        let (desktop, shell) = world.desktop_configured(None, None, configure);
        let updater = FakeUpdater::offering("0.2.0", false);
        let port: Arc<dyn Updater> = updater.clone();
        desktop.start_updates(key, |_| Ok(port));
        paint(&desktop);
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(FakeUpdater::count(&updater.checks), 0);
        assert!(shell.last_banner().is_none());
        assert!(desktop.diagnostics().contains("in-app updates: off"));
        assert!(matches!(
            desktop.update(consult_types::UpdateAction::Restart).await,
            Err(AppError::Update { .. })
        ));
    }
}

#[tokio::test]
async fn an_update_found_during_a_call_is_asked_for_when_the_call_ends() {
    let world = World::start_with_meetings().await;
    let (doctor, doctor_shell) = world.desktop(None);
    doctor.login(login(DOCTOR)).await.unwrap();
    doctor_shell.online().await;
    let (agency, shell) = world.desktop_configured(None, None, |config| {
        world.calls_in_stand_in_browser(config);
        with_updates(config);
    });
    agency.login(login(AGENCY)).await.unwrap();
    shell.online().await;
    let appointment = shell
        .last_dashboard()
        .unwrap()
        .value
        .appointments
        .into_iter()
        .find(|a| a.agency_id.is_some())
        .expect("the agency has an appointment on the demo schedule")
        .id;
    agency
        .waiting_room(WaitingRoomAction::Ask {
            appointment_id: appointment,
        })
        .await
        .unwrap();
    doctor_shell
        .wait_for("the doctor sees the request", |shell| {
            shell
                .last_dashboard()
                .is_some_and(|d| !d.value.join_requests.is_empty())
        })
        .await;
    let id = doctor_shell.last_dashboard().unwrap().value.join_requests[0]
        .id
        .clone();
    doctor
        .decide(DecideArgs {
            join_request_id: id,
            decision: Decision::Admit,
        })
        .await
        .unwrap();
    shell
        .wait_for("the agency's call open", |shell| shell.call_open())
        .await;

    let updater = FakeUpdater::offering("0.2.0", false);
    let port: Arc<dyn Updater> = updater.clone();
    agency.start_updates("built-in key", |_| Ok(port));
    paint(&agency);
    let deadline = tokio::time::Instant::now() + WAIT;
    while FakeUpdater::count(&updater.downloads) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never downloaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_ne!(
        shell.last_banner(),
        ready("0.2.0"),
        "never asked during a call"
    );
    assert!(matches!(
        agency.update(consult_types::UpdateAction::Restart).await,
        Err(AppError::Update { .. })
    ));
    assert_eq!(FakeUpdater::count(&updater.installs), 0);

    agency.leave_call().await;
    shell
        .wait_for("the update offered after the call", |shell| {
            shell.last_banner() == ready("0.2.0")
        })
        .await;
    agency.logout().await.unwrap();
    doctor.logout().await.unwrap();
}

/// The kiosk fleet, the kiosk's side: enrolment by code (nobody sees the secret), commands
/// from the administrators carried out and acknowledged, the secret rotated without a visit.
mod kiosk_fleet {
    use super::*;
    use consult_core::config::KioskConfig;
    use consult_types::{ClaimRequest, DeviceCommandKind, NewDeviceCommand, RoomMessage};

    impl Shell {
        fn last_kiosk(&self) -> Option<KioskStatus> {
            self.kiosk.lock().unwrap().last().map(|s| s.value.clone())
        }

        async fn shows_a_code(&self) -> String {
            self.wait_for("an enrolment code", |shell| {
                matches!(shell.last_kiosk(), Some(KioskStatus::Enrolling { .. }))
            })
            .await;
            match self.last_kiosk() {
                Some(KioskStatus::Enrolling {
                    code,
                    qr,
                    valid_for_secs,
                }) => {
                    assert!(
                        valid_for_secs > 500 && valid_for_secs <= 600,
                        "{valid_for_secs}"
                    );
                    assert!(qr.len() >= 21 && qr.iter().all(|row| row.len() == qr.len()));
                    code
                }
                other => panic!("{other:?}"),
            }
        }

        async fn ready(&self) {
            self.wait_for("the kiosk ready", |shell| {
                shell.last_kiosk() == Some(KioskStatus::Ready)
            })
            .await;
        }

        fn last_message(&self) -> Option<Option<RoomMessage>> {
            self.messages
                .lock()
                .unwrap()
                .last()
                .map(|m| m.value.clone())
        }
    }

    /// A kiosk with no device id: it enrols, and keeps what it gets in `file`.
    fn unenrolled(world: &World, file: &std::path::Path) -> (Desktop, Arc<Shell>) {
        let kiosk = KioskConfig {
            device_id: None,
            secret_file: Some(file.to_owned()),
            retry_secs: None,
            join_lead_secs: None,
            leave_grace_secs: None,
            show_first_name: false,
            clinic_name: None,
            jitsi_url: None,
            nightly_restart_hour: None,
        };
        world.desktop_configured(None, None, |config| config.kiosk = Some(kiosk))
    }

    async fn admin_token(world: &World) -> String {
        world
            .client()
            .login(ADMIN, PASSWORD)
            .await
            .unwrap()
            .tokens
            .access_token
    }

    async fn claim(world: &World, code: &str) -> String {
        let claim = ClaimRequest {
            code: code.to_owned(),
            location: "Exam room 4".into(),
            name: None,
        };
        world
            .client()
            .claim_enrolment(&admin_token(world).await, &claim)
            .await
            .unwrap()
            .device_id
    }

    /// An enrolled kiosk, signed in and ready, with its device id.
    async fn enrolled(world: &World, file: &std::path::Path) -> (Desktop, Arc<Shell>, String) {
        let (desktop, shell) = unenrolled(world, file);
        desktop.startup().await.unwrap();
        let code = shell.shows_a_code().await;
        let device_id = claim(world, &code).await;
        shell.ready().await;
        shell.online().await;
        (desktop, shell, device_id)
    }

    /// The commands sent to `device_id`, as the administrators see them.
    async fn commands_of(world: &World, device_id: &str) -> serde_json::Value {
        reqwest::Client::new()
            .get(format!(
                "{}devices/{device_id}/commands",
                world.server_url()
            ))
            .bearer_auth(admin_token(world).await)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["data"]
            .clone()
    }

    async fn send(
        world: &World,
        device_id: &str,
        command: DeviceCommandKind,
        message: Option<&str>,
    ) -> String {
        world
            .client()
            .send_device_command(
                &admin_token(world).await,
                device_id,
                &NewDeviceCommand {
                    command,
                    message: message.map(str::to_owned),
                },
            )
            .await
            .unwrap()
            .id
    }

    async fn acknowledged(world: &World, device_id: &str, command_id: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let commands = commands_of(world, device_id).await;
            let acked = commands
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == command_id && c["acknowledgedAt"].is_string());
            if acked {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not acknowledged: {commands}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test]
    async fn an_unenrolled_kiosk_shows_a_code_and_an_administrators_claim_signs_it_in() {
        let world = World::start().await;
        let file = world.config_dir.path().join("credential");
        let (desktop, shell, device_id) = enrolled(&world, &file).await;
        // The credential is the kiosk's alone, and nothing of it reached the UI.
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let stored: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(stored["deviceId"], device_id.as_str());
        let secret = stored["deviceSecret"].as_str().unwrap().to_owned();
        let seen = format!("{:?}", shell.kiosk.lock().unwrap());
        assert!(!seen.contains(&secret));
        // It works as the device's own credential.
        world
            .client()
            .device_login(&device_id, &secret)
            .await
            .unwrap();
        drop(desktop);

        // Started again, it signs in with what it kept: no code.
        let (again, shell) = unenrolled(&world, &file);
        again.startup().await.unwrap();
        shell.ready().await;
        assert!(
            !shell
                .kiosk
                .lock()
                .unwrap()
                .iter()
                .any(|s| matches!(s.value, KioskStatus::Enrolling { .. })),
            "an enrolled kiosk does not enrol again"
        );
    }

    #[tokio::test]
    async fn a_kiosk_removed_from_the_server_forgets_its_credential_and_enrols_again() {
        let world = World::start().await;
        let file = world.config_dir.path().join("credential");
        std::fs::write(
            &file,
            r#"{"deviceId":"dev_gone","deviceSecret":"nobody-knows-this"}"#,
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (desktop, shell) = unenrolled(&world, &file);
        desktop.startup().await.unwrap();
        shell.shows_a_code().await;
        assert!(!file.exists(), "the refused credential is gone");
    }

    #[tokio::test]
    async fn a_message_from_the_clinic_shows_in_the_room_and_is_acknowledged() {
        let world = World::start().await;
        let file = world.config_dir.path().join("credential");
        let (desktop, shell, device_id) = enrolled(&world, &file).await;
        let id = send(
            &world,
            &device_id,
            DeviceCommandKind::ShowMessage,
            Some("Dr Ames is 5 minutes late"),
        )
        .await;
        shell
            .wait_for("the room message", |shell| {
                shell
                    .last_message()
                    .flatten()
                    .is_some_and(|m| m.text == "Dr Ames is 5 minutes late" && m.id == id)
            })
            .await;
        acknowledged(&world, &device_id, &id).await;
        desktop.dismiss_room_message();
        assert_eq!(shell.last_message(), Some(None));

        // Reload and restart reach the shell, each acknowledged.
        let reload = send(&world, &device_id, DeviceCommandKind::Reload, None).await;
        acknowledged(&world, &device_id, &reload).await;
        assert_eq!(*shell.reloads.lock().unwrap(), 1);
        let restart = send(&world, &device_id, DeviceCommandKind::Restart, None).await;
        acknowledged(&world, &device_id, &restart).await;
        shell
            .wait_for("the restart", |shell| *shell.restarts.lock().unwrap() == 1)
            .await;
    }

    #[tokio::test]
    async fn a_rotated_secret_replaces_the_old_one_without_a_visit() {
        let world = World::start().await;
        let file = world.config_dir.path().join("credential");
        let (_desktop, _shell, device_id) = enrolled(&world, &file).await;
        let read = || -> String {
            let stored: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            stored["deviceSecret"].as_str().unwrap().to_owned()
        };
        let old = read();
        let id = send(&world, &device_id, DeviceCommandKind::RotateSecret, None).await;
        acknowledged(&world, &device_id, &id).await;
        let new = read();
        assert_ne!(old, new);
        let client = world.client();
        client.device_login(&device_id, &new).await.unwrap();
        assert_eq!(
            client.device_login(&device_id, &old).await.map(|_| ()),
            Err(AppError::InvalidCredentials),
            "the old secret stopped working"
        );
    }
}
