//! The administrator's fleet view as the core's `Desktop` keeps it, against the real clinic
//! server (in-process, SQLite in a temp dir, on a clock the test moves): the kiosks arrive in an
//! administrator's dashboard, follow their heartbeats and the server's offline sweep without a
//! reload, a claimed code enrols a kiosk and each refusal says what to do, and a command reaches
//! the kiosk's own event stream.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;

mod support;
use support::MemorySettings;

use consult_core::alerts::Alert;
use consult_core::call::deployment::Deployment;
use consult_core::clinic::ClinicClient;
use consult_core::config::AppConfig;
use consult_core::desk::DeskOptions;
use consult_core::desktop::{Desktop, DesktopOptions, Ports, Setup};
use consult_core::heal::KeptConsent;
use consult_core::ports::{CallWindow, KioskMemory, Notifier, Ui};
use consult_core::push::PushOptions;
use consult_server::clock::Clock;
use consult_server::config::ServerConfig;
use consult_server::RunningServer;
use consult_types::{
    AppError, CallPathKind, CallScreen, Check, ClaimKioskArgs, Connection, Dashboard,
    DeviceCommandKind, DeviceStatus, FocusAppointment, Heartbeat, KioskActivity, KioskCommandArgs,
    KioskStatus, LoginArgs, Pickup, Revised, SelfTest, SessionEnded,
};
use tempfile::TempDir;

const ADMIN: &str = "admin@demo.clinic";
const DOCTOR: &str = "doctor@demo.clinic";
const PASSWORD: &str = "consult-demo";
const DEMO_DEVICE_ID: &str = "dev_demo_kiosk";
const DEMO_DEVICE_SECRET: &str = "consult-demo-kiosk";
const WAIT: Duration = Duration::from_secs(20);

/// The dashboards the shell would have drawn.
#[derive(Default)]
struct Shell {
    dashboards: Mutex<Vec<Revised<Dashboard>>>,
}

/// An administrator's desktop keeps nothing for a kiosk's restart.
impl KioskMemory for Shell {
    fn kept_consent(&self) -> Option<KeptConsent> {
        None
    }
    fn keep_consent(&self, _consent: Option<&KeptConsent>) -> Result<(), AppError> {
        Ok(())
    }
}

impl Ui for Shell {
    fn dashboard_changed(&self, dashboard: &Revised<Dashboard>) {
        self.dashboards.lock().unwrap().push(dashboard.clone());
    }
    fn call_changed(&self, _call: &Revised<Option<CallScreen>>) {}
    fn session_ended(&self, _ended: &SessionEnded) {}
    fn kiosk_changed(&self, _status: &Revised<KioskStatus>) {}
    fn focus_appointment(&self, _focus: &FocusAppointment) {}
    fn show(&self) {}
    fn reload(&self) {}
    fn leave_kiosk(&self) {}
    fn restart_kiosk(&self) {}
    fn kiosk_message(&self, _message: &Revised<Option<consult_types::RoomMessage>>) {}
    fn update_changed(&self, _banner: &consult_types::UpdateBanner) {}
}

impl Notifier for Shell {
    fn show(&self, _alert: &Alert) {}
    fn withdraw(&self, _alert_id: &str) {}
}

impl CallWindow for Shell {
    fn open_embedded(&self, _call_page: &Url, _deployment: &Deployment) {}
    fn close_embedded(&self) {}
    fn forget_visit(&self) {}
}

impl Shell {
    fn last(&self) -> Option<Dashboard> {
        self.dashboards
            .lock()
            .unwrap()
            .last()
            .map(|revised| revised.value.clone())
    }

    /// The last dashboard's entry for `device_id`, if the fleet is shown and lists it.
    fn kiosk(&self, device_id: &str) -> Option<DeviceStatus> {
        self.last()?
            .kiosks?
            .into_iter()
            .find(|kiosk| kiosk.device_id == device_id)
    }

    async fn wait_for(&self, what: &str, condition: impl Fn(&Shell) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !condition(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; last dashboard: {:?}",
                self.last()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn online(&self) {
        self.wait_for("the desk online", |shell| {
            shell
                .last()
                .is_some_and(|d| d.connection == Connection::Online)
        })
        .await;
    }
}

struct World {
    server: RunningServer,
    clock: Clock,
    _data: TempDir,
    config_dir: TempDir,
}

impl World {
    async fn start() -> World {
        let data = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::with_data_dir(data.path());
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.demo = true;
        config.sse_heartbeat_secs = 1;
        // The offline sweep looks every second; the test moves the clock past the 90 s.
        config.device_check_secs = 1;
        config.login_attempts_per_minute_per_ip = 0;
        config.login_attempts_per_minute_per_account = 0;
        let clock = Clock::system();
        let server = consult_server::serve_with_clock(config, clock.clone())
            .await
            .unwrap();
        World {
            server,
            clock,
            _data: data,
            config_dir: tempfile::tempdir().unwrap(),
        }
    }

    fn server_url(&self) -> String {
        format!("{}/", self.server.base_url())
    }

    fn client(&self) -> ClinicClient {
        ClinicClient::new(Url::parse(&self.server_url()).unwrap(), WAIT).unwrap()
    }

    /// A desktop signed in as `email`, its desk online.
    async fn signed_in(&self, email: &str) -> (Desktop, Arc<Shell>) {
        let file = self.config_dir.path().join("config.toml");
        std::fs::write(&file, "keychain = \"none\"\n").unwrap();
        let mut config = AppConfig::load_with_machine(&file, None).unwrap();
        config.server_url = Url::parse(&self.server_url()).unwrap();
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
            ..DesktopOptions::default()
        };
        let desktop = Desktop::new(setup, ports, options);
        desktop
            .login(LoginArgs {
                email: email.into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap();
        shell.online().await;
        (desktop, shell)
    }

    /// Signs a kiosk in with its device credential: its access token.
    async fn kiosk_token(&self, device_id: &str, secret: &str) -> String {
        self.client()
            .device_login(device_id, secret)
            .await
            .unwrap()
            .tokens
            .access_token
    }
}

fn beat(self_test: Option<SelfTest>) -> Heartbeat {
    Heartbeat {
        version: "9.8.7".into(),
        state: KioskActivity::Idle,
        call_path: CallPathKind::Browser,
        self_test,
        last_error: None,
        acknowledged: Vec::new(),
    }
}

fn camera_failed() -> SelfTest {
    SelfTest {
        at: time::OffsetDateTime::now_utc(),
        camera: Check::Failed,
        microphone: Check::Passed,
        speaker: Check::Passed,
        jitsi: Check::Passed,
        server: Check::Passed,
    }
}

fn claim(code: &str, location: &str) -> ClaimKioskArgs {
    ClaimKioskArgs {
        code: code.into(),
        location: location.into(),
        name: None,
    }
}

fn refusal(error: AppError) -> String {
    match error {
        AppError::FleetRefused { detail } => detail,
        other => panic!("expected a fleet refusal, got {other:?}"),
    }
}

const PICKUP_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn an_administrators_dashboard_follows_a_kiosk_online_and_offline_without_a_reload() {
    let world = World::start().await;
    let (_admin, shell) = world.signed_in(ADMIN).await;
    let demo = shell.kiosk(DEMO_DEVICE_ID).expect("the demo kiosk listed");
    assert!(!demo.online, "never beat yet: {demo:?}");

    let kiosk = world.kiosk_token(DEMO_DEVICE_ID, DEMO_DEVICE_SECRET).await;
    world.client().heartbeat(&kiosk, &beat(None)).await.unwrap();
    shell
        .wait_for("the kiosk online and idle", |shell| {
            shell.kiosk(DEMO_DEVICE_ID).is_some_and(|kiosk| {
                kiosk.online
                    && kiosk.last_seen.is_some()
                    && kiosk.last_report.as_ref().map(|r| r.state) == Some(KioskActivity::Idle)
            })
        })
        .await;

    world
        .client()
        .heartbeat(&kiosk, &beat(Some(camera_failed())))
        .await
        .unwrap();
    shell
        .wait_for("the camera's failure", |shell| {
            shell.kiosk(DEMO_DEVICE_ID).is_some_and(|kiosk| {
                kiosk.health == consult_types::DeviceHealth::Unhealthy
                    && kiosk
                        .last_report
                        .as_ref()
                        .and_then(|r| r.self_test.as_ref())
                        .is_some_and(|test| test.camera == Check::Failed)
            })
        })
        .await;

    // Three missed beats later the server's sweep says offline, and the row follows.
    world.clock.advance(Duration::from_secs(91));
    shell
        .wait_for("the kiosk offline", |shell| {
            shell
                .kiosk(DEMO_DEVICE_ID)
                .is_some_and(|kiosk| !kiosk.online)
        })
        .await;
    world.client().heartbeat(&kiosk, &beat(None)).await.unwrap();
    shell
        .wait_for("the kiosk back online", |shell| {
            shell
                .kiosk(DEMO_DEVICE_ID)
                .is_some_and(|kiosk| kiosk.online)
        })
        .await;
}

#[tokio::test]
async fn only_an_administrator_sees_the_fleet_or_may_claim_a_kiosk() {
    let world = World::start().await;
    let (doctor, shell) = world.signed_in(DOCTOR).await;
    assert_eq!(shell.last().unwrap().kiosks, None);
    let error = doctor
        .claim_kiosk(claim("ABCD-EFGH", "Room 3"))
        .await
        .unwrap_err();
    assert!(refusal(error).contains("Only an administrator"));
}

#[tokio::test]
async fn a_claimed_code_enrols_the_kiosk_and_each_refusal_says_what_to_do() {
    let world = World::start().await;
    let (admin, shell) = world.signed_in(ADMIN).await;
    let client = world.client();
    let enrolment = client.start_enrolment(PICKUP_KEY).await.unwrap();

    // Typed in lower case: the dash and the case do not matter.
    let kiosk = admin
        .claim_kiosk(claim(&enrolment.code.to_lowercase(), " Room 3 "))
        .await
        .unwrap();
    assert_eq!(kiosk.location, "Room 3");
    shell
        .wait_for("the claimed kiosk listed", |shell| {
            shell
                .kiosk(&kiosk.device_id)
                .is_some_and(|listed| listed.location == "Room 3" && !listed.online)
        })
        .await;

    let again = admin
        .claim_kiosk(claim(&enrolment.code, "Room 4"))
        .await
        .unwrap_err();
    assert!(refusal(again).contains("already claimed"));
    let unknown = admin
        .claim_kiosk(claim("ZZZZ-ZZZZ", "Room 4"))
        .await
        .unwrap_err();
    assert!(refusal(unknown).contains("check what the kiosk shows"));

    // The kiosk picks up its credential and signs in with it.
    let Pickup::Enrolled {
        device_id,
        device_secret,
        ..
    } = client
        .pick_up_enrolment(&enrolment.enrolment_id, PICKUP_KEY)
        .await
        .unwrap()
    else {
        panic!("claimed, yet the pickup still waits");
    };
    assert_eq!(device_id, kiosk.device_id);
    let token = world.kiosk_token(&device_id, &device_secret).await;
    client.heartbeat(&token, &beat(None)).await.unwrap();
    shell
        .wait_for("the new kiosk online", |shell| {
            shell.kiosk(&device_id).is_some_and(|kiosk| kiosk.online)
        })
        .await;

    // A code left unclaimed for more than ten minutes.
    let other_key = "f".repeat(64);
    let late = client.start_enrolment(&other_key).await.unwrap();
    world.clock.advance(Duration::from_secs(11 * 60));
    let expired = admin
        .claim_kiosk(claim(&late.code, "Room 5"))
        .await
        .unwrap_err();
    assert!(refusal(expired).contains("ask the kiosk for a new code"));

    // Guessing codes is limited: the administrator is told to wait.
    let mut limited = None;
    for _ in 0..20 {
        match admin.claim_kiosk(claim("ZZZZ-ZZZZ", "Room 6")).await {
            Err(AppError::FleetRefused { detail }) if detail.contains("wait a minute") => {
                limited = Some(detail);
                break;
            }
            Err(AppError::FleetRefused { .. }) => {}
            other => panic!("a guess should be refused: {other:?}"),
        }
    }
    assert!(limited.is_some(), "never limited after 20 wrong codes");
}

#[tokio::test]
async fn a_command_from_the_fleet_view_reaches_the_kiosks_event_stream() {
    let world = World::start().await;
    let (admin, _shell) = world.signed_in(ADMIN).await;
    let kiosk = world.kiosk_token(DEMO_DEVICE_ID, DEMO_DEVICE_SECRET).await;
    let mut stream = reqwest::Client::new()
        .get(format!("{}events", world.server_url()))
        .bearer_auth(&kiosk)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert!(stream.status().is_success(), "{stream:?}");

    let empty = admin
        .send_kiosk_command(KioskCommandArgs {
            device_id: DEMO_DEVICE_ID.into(),
            command: DeviceCommandKind::ShowMessage,
            message: Some("  ".into()),
        })
        .await
        .unwrap_err();
    assert!(refusal(empty).contains("Type the message"));
    let id = admin
        .send_kiosk_command(KioskCommandArgs {
            device_id: DEMO_DEVICE_ID.into(),
            command: DeviceCommandKind::ShowMessage,
            message: Some("The doctor is running 10 minutes late".into()),
        })
        .await
        .unwrap();

    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !(seen.contains("event: device_command")
        && seen.contains("The doctor is running 10 minutes late"))
    {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("the command on the kiosk's stream in time")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("showMessage"), "{seen}");
    // The id the administrator got is the one the kiosk will acknowledge.
    assert!(seen.contains(&format!("\"id\":\"{id}\"")), "{id} in {seen}");

    let gone = admin
        .send_kiosk_command(KioskCommandArgs {
            device_id: "dev_nobody".into(),
            command: DeviceCommandKind::Reload,
            message: None,
        })
        .await
        .unwrap_err();
    assert!(refusal(gone).contains("no longer enrolled"));
}
