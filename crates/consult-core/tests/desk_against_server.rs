//! The doctor's desk against the real clinic server (in-process, SQLite in a temp dir): the
//! schedule it loads, what the push stream brings, alerts, decisions, restarts, session ends.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consult_core::alerts::Alert;
use consult_core::clinic::ClinicClient;
use consult_core::desk::{Desk, DeskObserver, DeskOptions};
use consult_core::push::PushOptions;
use consult_core::secrets::{MemoryOnlyStore, SecretStore};
use consult_core::session::SessionManager;
use consult_server::config::ServerConfig;
use consult_server::RunningServer;
use consult_types::{
    AppError, Appointment, AppointmentStatus, CallType, Connection, Dashboard, Decision,
    JoinRequestStatus, NewAppointment, NotificationKind, NotificationPrefs,
};
use tempfile::TempDir;
use time::OffsetDateTime;
use url::Url;

const DOCTOR: &str = "doctor@demo.clinic";
const PATIENT: &str = "patient@demo.clinic";
const AGENCY: &str = "agency@demo.clinic";
const PASSWORD: &str = "consult-demo";
const WAIT: Duration = Duration::from_secs(20);

struct World {
    server: Option<RunningServer>,
    data: TempDir,
    address: SocketAddr,
    seeded: bool,
}

fn server_config(data: &TempDir, bind: SocketAddr, seeded: bool) -> ServerConfig {
    let mut config = ServerConfig::with_data_dir(data.path());
    config.bind = bind;
    config.demo = true;
    config.demo_appointments = seeded;
    config.sse_heartbeat_secs = 1;
    config.login_attempts_per_minute_per_ip = 0;
    config.login_attempts_per_minute_per_account = 0;
    config
}

impl World {
    async fn start(seeded: bool) -> World {
        let data = tempfile::tempdir().unwrap();
        let config = server_config(&data, "127.0.0.1:0".parse().unwrap(), seeded);
        let server = consult_server::serve(config).await.unwrap();
        World {
            address: server.local_addr(),
            server: Some(server),
            data,
            seeded,
        }
    }

    /// Stops the server and starts it again on the same data and port.
    async fn restart(&mut self, while_down: Duration) {
        self.server.take().unwrap().shutdown().await.unwrap();
        tokio::time::sleep(while_down).await;
        let config = server_config(&self.data, self.address, self.seeded);
        self.server = Some(consult_server::serve(config).await.unwrap());
    }

    fn client(&self) -> ClinicClient {
        let base = Url::parse(&format!("http://{}/", self.address)).unwrap();
        ClinicClient::new(base, Duration::from_secs(10)).unwrap()
    }

    async fn session(&self, email: &str) -> Arc<SessionManager> {
        let store: Arc<dyn SecretStore> = Arc::new(MemoryOnlyStore);
        let session = Arc::new(SessionManager::new(self.client(), store));
        session.login(email, PASSWORD).await.unwrap();
        session
    }

    /// The doctor's desk with fast reconnects, plus what it emitted.
    async fn desk(
        &self,
        session: &Arc<SessionManager>,
        prefs: NotificationPrefs,
        min_backoff: Duration,
    ) -> (Desk, Arc<Recorder>) {
        let recorder = Arc::new(Recorder::default());
        let options = DeskOptions {
            push: PushOptions {
                stall_timeout: Duration::from_secs(5),
                min_backoff,
                max_backoff: min_backoff * 4,
            },
            ..DeskOptions::default()
        };
        let desk = Desk::start_with(
            Arc::clone(session),
            prefs,
            Arc::clone(&recorder) as Arc<dyn DeskObserver>,
            options,
        );
        recorder
            .wait_for("online", |r| {
                r.last_dashboard()
                    .is_some_and(|d| d.connection == Connection::Online)
            })
            .await;
        (desk, recorder)
    }
}

#[derive(Default)]
struct Recorder {
    dashboards: Mutex<Vec<Dashboard>>,
    alerts: Mutex<Vec<Alert>>,
    /// Alert ids, as withdrawn.
    withdrawn: Mutex<Vec<String>>,
}

impl DeskObserver for Recorder {
    fn dashboard_changed(&self, dashboard: &Dashboard) {
        self.dashboards.lock().unwrap().push(dashboard.clone());
    }
    fn alert(&self, alert: &Alert) {
        self.alerts.lock().unwrap().push(alert.clone());
    }
    fn alert_withdrawn(&self, alert_id: &str) {
        let raised = self.alerts.lock().unwrap().iter().any(|a| a.id == alert_id);
        assert!(raised, "{alert_id} withdrawn before it was raised");
        self.withdrawn.lock().unwrap().push(alert_id.to_owned());
    }
}

impl Recorder {
    fn last_dashboard(&self) -> Option<Dashboard> {
        self.dashboards.lock().unwrap().last().cloned()
    }

    fn alerts(&self) -> Vec<Alert> {
        self.alerts.lock().unwrap().clone()
    }

    fn withdrawn(&self) -> Vec<String> {
        self.withdrawn.lock().unwrap().clone()
    }

    /// The alert raised for a join request, once it is.
    async fn alert_for(&self, join_request_id: &str) -> Alert {
        let find = |r: &Recorder| {
            r.alerts()
                .into_iter()
                .find(|a| a.join_request_id.as_deref() == Some(join_request_id))
        };
        self.wait_for("the request's alert", |r| find(r).is_some())
            .await;
        find(self).unwrap()
    }

    async fn wait_for(&self, what: &str, condition: impl Fn(&Recorder) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !condition(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; last dashboard: {:?}",
                self.last_dashboard()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Whole seconds from now: the API keeps times to the second.
fn in_(duration: Duration) -> OffsetDateTime {
    (OffsetDateTime::now_utc() + duration)
        .replace_nanosecond(0)
        .unwrap()
}

struct People {
    doctor: Arc<SessionManager>,
    agency: Arc<SessionManager>,
    doctor_id: String,
    patient_id: String,
    agency_id: String,
}

async fn people(world: &World) -> People {
    let doctor = world.session(DOCTOR).await;
    let agency = world.session(AGENCY).await;
    let patient = world.session(PATIENT).await;
    People {
        doctor_id: doctor.current().await.unwrap().user.id,
        agency_id: agency.current().await.unwrap().user.id,
        patient_id: patient.current().await.unwrap().user.id,
        doctor,
        agency,
    }
}

impl People {
    async fn book(&self, starts_in: Duration) -> Appointment {
        let booking = NewAppointment {
            doctor_id: self.doctor_id.clone(),
            patient_id: self.patient_id.clone(),
            agency_id: Some(self.agency_id.clone()),
            kiosk_id: None,
            start_time: in_(starts_in),
            end_time: in_(starts_in + Duration::from_secs(30 * 60)),
            call_type: CallType::Video,
            waiting_room: false,
        };
        let token = self.doctor.access_token().await.unwrap();
        self.doctor
            .client()
            .book_appointment(&token, &booking)
            .await
            .unwrap()
    }

    /// Books one more appointment and waits until the desk shows it. The server sends the
    /// doctor's events in order on one stream, so whatever an earlier action caused has been
    /// handled by then: a test can assert that something did not happen without sleeping.
    async fn later_event(&self, recorder: &Recorder) {
        // Five hours out: after every other appointment these tests book.
        let marker = self.book(Duration::from_secs(5 * 3600)).await;
        recorder
            .wait_for("the later appointment", |r| {
                r.last_dashboard()
                    .is_some_and(|d| d.appointments.iter().any(|a| a.id == marker.id))
            })
            .await;
    }

    async fn ask_to_join(&self, appointment_id: &str) -> String {
        let token = self.agency.access_token().await.unwrap();
        self.agency
            .client()
            .request_to_join(&token, appointment_id)
            .await
            .unwrap()
            .id
    }
}

fn has_request(recorder: &Recorder, id: &str) -> bool {
    recorder
        .last_dashboard()
        .is_some_and(|d| d.join_requests.iter().any(|r| r.id == id))
}

#[tokio::test]
async fn the_desk_loads_the_seeded_schedule_earliest_first() {
    let world = World::start(true).await;
    let doctor = world.session(DOCTOR).await;
    let (desk, recorder) = world
        .desk(
            &doctor,
            NotificationPrefs::default(),
            Duration::from_millis(200),
        )
        .await;
    let dashboard = desk.dashboard().await;
    assert_eq!(Some(&dashboard), recorder.last_dashboard().as_ref());
    assert!(
        !dashboard.appointments.is_empty(),
        "the demo seeds a schedule"
    );
    assert!(dashboard
        .appointments
        .windows(2)
        .all(|pair| pair[0].start_time <= pair[1].start_time));
    assert!(dashboard
        .appointments
        .iter()
        .all(|a| a.status != AppointmentStatus::Cancelled));
    // The same as the API says, less what is over or cancelled.
    let token = doctor.access_token().await.unwrap();
    let listed = doctor.client().appointments(&token, None).await.unwrap();
    for appointment in &dashboard.appointments {
        assert!(listed.iter().any(|a| a == appointment));
    }
    assert!(
        recorder.alerts().is_empty(),
        "nothing new since the sign-in"
    );
    desk.stop().await;
}

#[tokio::test]
async fn a_join_request_reaches_the_desk_with_exactly_one_alert_and_can_be_admitted() {
    let world = World::start(false).await;
    let people = people(&world).await;
    let (desk, recorder) = world
        .desk(
            &people.doctor,
            NotificationPrefs::default(),
            Duration::from_millis(200),
        )
        .await;
    assert!(desk.dashboard().await.appointments.is_empty());

    let appointment = people.book(Duration::from_secs(3600)).await;
    recorder
        .wait_for("the booked appointment", |r| {
            r.last_dashboard()
                .is_some_and(|d| d.appointments.iter().any(|a| a.id == appointment.id))
        })
        .await;

    let request_id = people.ask_to_join(&appointment.id).await;
    recorder
        .wait_for("the join request", |r| has_request(r, &request_id))
        .await;
    recorder
        .wait_for("the alert", |r| !r.alerts().is_empty())
        .await;
    // Asking again returns the pending request and notifies nobody.
    assert_eq!(people.ask_to_join(&appointment.id).await, request_id);
    people.later_event(&recorder).await;
    let alerts = recorder.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert.kind, NotificationKind::JoinRequestCreated);
    assert_eq!(alert.title, "Sunrise Care (care agency) asks to join");
    assert!(
        alert
            .body
            .starts_with("Video consultation with Grace Hopper at "),
        "{}",
        alert.body
    );
    assert_eq!(alert.join_request_id.as_deref(), Some(request_id.as_str()));
    assert_eq!(alert.appointment_id, appointment.id);
    assert_eq!(
        alert.session_id.as_deref(),
        Some(appointment.session_id.as_str())
    );

    let dashboard = desk.decide(&request_id, Decision::Admit).await.unwrap();
    assert!(dashboard.join_requests.is_empty());
    // Admitting again is harmless; declining now is refused with a clear reason.
    desk.decide(&request_id, Decision::Admit).await.unwrap();
    let refused = desk
        .decide(&request_id, Decision::Decline)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::Rejected { status: 409, .. }),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("already admitted"),
        "{refused}"
    );
    let token = people.agency.access_token().await.unwrap();
    let seen_by_agency = people
        .agency
        .client()
        .join_request(&token, &request_id)
        .await
        .unwrap();
    assert_eq!(seen_by_agency.status, JoinRequestStatus::Approved);
    desk.stop().await;
}

#[tokio::test]
async fn patient_names_are_hidden_when_the_prefs_say_so() {
    let world = World::start(false).await;
    let people = people(&world).await;
    let prefs = NotificationPrefs {
        show_patient_names: false,
        ..NotificationPrefs::default()
    };
    let (desk, recorder) = world
        .desk(&people.doctor, prefs, Duration::from_millis(200))
        .await;
    let appointment = people.book(Duration::from_secs(3600)).await;
    people.ask_to_join(&appointment.id).await;
    recorder
        .wait_for("the alert", |r| !r.alerts().is_empty())
        .await;
    let alert = &recorder.alerts()[0];
    assert_eq!(alert.title, "Sunrise Care (care agency) asks to join");
    assert!(
        alert
            .body
            .starts_with("Video consultation with a patient at "),
        "{}",
        alert.body
    );
    assert!(!format!("{alert:?}").contains("Grace"));

    // With join-request alerts off, the dashboard still changes but nothing pops up.
    desk.set_prefs(NotificationPrefs {
        join_requests: false,
        ..NotificationPrefs::default()
    });
    let second = people.book(Duration::from_secs(7200)).await;
    let request_id = people.ask_to_join(&second.id).await;
    recorder
        .wait_for("the second request", |r| has_request(r, &request_id))
        .await;
    people.later_event(&recorder).await;
    assert_eq!(recorder.alerts().len(), 1);
    desk.stop().await;
}

#[tokio::test]
async fn admit_all_admits_every_pending_request() {
    let world = World::start(false).await;
    let people = people(&world).await;
    let (desk, recorder) = world
        .desk(
            &people.doctor,
            NotificationPrefs::default(),
            Duration::from_millis(200),
        )
        .await;
    let first = people.book(Duration::from_secs(3600)).await;
    let second = people.book(Duration::from_secs(7200)).await;
    let first_request = people.ask_to_join(&first.id).await;
    let second_request = people.ask_to_join(&second.id).await;
    recorder
        .wait_for("both requests", |r| {
            has_request(r, &first_request) && has_request(r, &second_request)
        })
        .await;

    let dashboard = desk.admit_all(Some(&first.id)).await.unwrap();
    assert_eq!(
        dashboard
            .join_requests
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        [second_request.as_str()]
    );
    let dashboard = desk.admit_all(None).await.unwrap();
    assert!(dashboard.join_requests.is_empty());
    let token = people.agency.access_token().await.unwrap();
    for id in [&first_request, &second_request] {
        let request = people
            .agency
            .client()
            .join_request(&token, id)
            .await
            .unwrap();
        assert_eq!(request.status, JoinRequestStatus::Approved);
    }
    desk.stop().await;
}

#[tokio::test]
async fn after_a_server_restart_missed_events_are_replayed_without_duplicate_alerts() {
    let mut world = World::start(false).await;
    let people = people(&world).await;
    // A slow first retry leaves time to make events while the desk is away.
    let (desk, recorder) = world
        .desk(
            &people.doctor,
            NotificationPrefs::default(),
            Duration::from_secs(3),
        )
        .await;
    let appointment = people.book(Duration::from_secs(3600)).await;
    let before = people.ask_to_join(&appointment.id).await;
    recorder
        .wait_for("the first alert", |r| r.alerts().len() == 1)
        .await;

    world.restart(Duration::from_millis(100)).await;
    recorder
        .wait_for("offline", |r| {
            r.last_dashboard()
                .is_some_and(|d| matches!(d.connection, Connection::Offline { .. }))
        })
        .await;
    let missed = people.book(Duration::from_secs(7200)).await;
    let during = people.ask_to_join(&missed.id).await;

    recorder
        .wait_for("the missed request", |r| has_request(r, &during))
        .await;
    recorder
        .wait_for("online again", |r| {
            r.last_dashboard()
                .is_some_and(|d| d.connection == Connection::Online)
        })
        .await;
    people.later_event(&recorder).await;
    let dashboard = desk.dashboard().await;
    assert!(dashboard.appointments.iter().any(|a| a.id == missed.id));
    assert!(has_request(&recorder, &before));
    let alerts = recorder.alerts();
    assert_eq!(
        alerts.len(),
        2,
        "one alert per request, none repeated: {alerts:?}"
    );
    assert_eq!(alerts[1].join_request_id.as_deref(), Some(during.as_str()));
    desk.stop().await;
}

#[tokio::test]
async fn a_session_ended_on_the_server_ends_the_desk() {
    let world = World::start(false).await;
    let doctor = world.session(DOCTOR).await;
    let (desk, _recorder) = world
        .desk(
            &doctor,
            NotificationPrefs::default(),
            Duration::from_millis(200),
        )
        .await;
    // Signed out elsewhere: the server revokes the session (and its refresh token).
    let token = doctor.access_token().await.unwrap();
    doctor.client().logout(&token).await.unwrap();
    let ended = tokio::time::timeout(WAIT, desk.ended())
        .await
        .expect("the desk ends with its session");
    assert_eq!(ended.reason, AppError::SessionExpired.to_string());
    assert!(doctor.current().await.is_none());
    let refused = desk.decide("jrq_none", Decision::Admit).await.unwrap_err();
    assert_eq!(refused, AppError::NotSignedIn);
    desk.stop().await;
}

#[tokio::test]
async fn a_revoked_access_token_is_refreshed_once_for_api_calls() {
    let world = World::start(false).await;
    let doctor = world.session(DOCTOR).await;
    let token = doctor.access_token().await.unwrap();
    // A token the server refuses stands in for a revoked one: one refresh, then success.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let me = doctor
        .authorized(|fresh| {
            let client = doctor.client().clone();
            let attempt = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let use_token = if attempt == 0 {
                "not-a-token".to_owned()
            } else {
                fresh
            };
            async move { client.me(&use_token).await }
        })
        .await;
    assert_eq!(me.unwrap().email, DOCTOR);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    // The session goes on with the refreshed pair.
    assert!(doctor.refreshed_token(&token).await.is_ok());
    assert_eq!(doctor.me().await.unwrap().email, DOCTOR);
}

/// A call to the API the core's client does not make (cancelling, meetings), as `who`.
async fn send_as(world: &World, who: &SessionManager, method: reqwest::Method, path: &str) {
    let token = who.access_token().await.unwrap();
    let response = reqwest::Client::new()
        .request(method, format!("http://{}{path}", world.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

#[tokio::test]
async fn a_request_decided_here_withdraws_its_notification_and_only_that_one() {
    let world = World::start(false).await;
    let people = people(&world).await;
    let (desk, recorder) = world
        .desk(
            &people.doctor,
            NotificationPrefs::default(),
            Duration::from_millis(200),
        )
        .await;
    let first = people.book(Duration::from_secs(3600)).await;
    let second = people.book(Duration::from_secs(7200)).await;
    let first_request = people.ask_to_join(&first.id).await;
    let second_request = people.ask_to_join(&second.id).await;
    let first_alert = recorder.alert_for(&first_request).await;
    let second_alert = recorder.alert_for(&second_request).await;
    recorder
        .wait_for("both requests", |r| {
            has_request(r, &first_request) && has_request(r, &second_request)
        })
        .await;
    assert!(
        recorder.withdrawn().is_empty(),
        "{:?}",
        recorder.withdrawn()
    );

    desk.decide(&first_request, Decision::Decline)
        .await
        .unwrap();
    assert_eq!(recorder.withdrawn(), [first_alert.id.as_str()]);
    // The stream's echo of that decision, and the second decision, withdraw nothing twice.
    desk.decide(&second_request, Decision::Admit).await.unwrap();
    assert_eq!(recorder.withdrawn(), [first_alert.id, second_alert.id]);
    desk.stop().await;
}

#[tokio::test]
async fn a_request_decided_elsewhere_withdraws_its_notification() {
    let world = World::start(false).await;
    let people = people(&world).await;
    let (desk, recorder) = world
        .desk(
            &people.doctor,
            NotificationPrefs::default(),
            Duration::from_millis(200),
        )
        .await;
    let appointment = people.book(Duration::from_secs(3600)).await;
    let request_id = people.ask_to_join(&appointment.id).await;
    let alert = recorder.alert_for(&request_id).await;

    // The doctor's other device admits it.
    let elsewhere = world.session(DOCTOR).await;
    let token = elsewhere.access_token().await.unwrap();
    elsewhere
        .client()
        .decide_join_request(&token, &request_id, Decision::Admit)
        .await
        .unwrap();
    recorder
        .wait_for("the withdrawal", |r| !r.withdrawn().is_empty())
        .await;
    assert_eq!(recorder.withdrawn(), [alert.id]);
    assert!(!has_request(&recorder, &request_id));
    desk.stop().await;
}

#[tokio::test]
async fn a_cancelled_appointment_withdraws_its_requests_notification() {
    let world = World::start(false).await;
    let people = people(&world).await;
    let (desk, recorder) = world
        .desk(
            &people.doctor,
            NotificationPrefs::default(),
            Duration::from_millis(200),
        )
        .await;
    let appointment = people.book(Duration::from_secs(3600)).await;
    let request_id = people.ask_to_join(&appointment.id).await;
    let alert = recorder.alert_for(&request_id).await;

    send_as(
        &world,
        &people.doctor,
        reqwest::Method::DELETE,
        &format!("/appointments/{}", appointment.id),
    )
    .await;
    recorder
        .wait_for("the withdrawal", |r| !r.withdrawn().is_empty())
        .await;
    assert_eq!(recorder.withdrawn(), [alert.id]);
    assert!(desk.dashboard().await.join_requests.is_empty());
    desk.stop().await;
}

#[tokio::test]
async fn an_ended_meeting_withdraws_its_call_ready_notification() {
    let world = World::start(false).await;
    let people = people(&world).await;
    // The patient's desk: guests are told when the doctor starts the meeting.
    let patient = world.session(PATIENT).await;
    let (desk, recorder) = world
        .desk(
            &patient,
            NotificationPrefs::default(),
            Duration::from_millis(200),
        )
        .await;
    let appointment = people.book(Duration::from_secs(3600)).await;
    recorder
        .wait_for("the booked appointment", |r| {
            r.last_dashboard()
                .is_some_and(|d| d.appointments.iter().any(|a| a.id == appointment.id))
        })
        .await;
    let meeting = format!("/appointments/{}/meeting", appointment.id);
    send_as(
        &world,
        &people.doctor,
        reqwest::Method::POST,
        &format!("{meeting}/start"),
    )
    .await;
    let ready = |r: &Recorder| {
        r.alerts()
            .into_iter()
            .find(|a| a.kind == NotificationKind::VideoCallReady)
    };
    recorder
        .wait_for("the call-ready alert", |r| ready(r).is_some())
        .await;
    let ready = ready(&recorder).unwrap();
    assert_eq!(ready.appointment_id, appointment.id);
    assert!(recorder.withdrawn().is_empty());

    send_as(
        &world,
        &people.doctor,
        reqwest::Method::POST,
        &format!("{meeting}/end"),
    )
    .await;
    recorder
        .wait_for("the withdrawal", |r| r.withdrawn().contains(&ready.id))
        .await;
    // Every alert about that call goes with it, and nothing else.
    let mut about_it: Vec<String> = recorder
        .alerts()
        .into_iter()
        .filter(|a| a.appointment_id == appointment.id)
        .map(|a| a.id)
        .collect();
    let mut withdrawn = recorder.withdrawn();
    about_it.sort();
    withdrawn.sort();
    assert_eq!(withdrawn, about_it);
    desk.stop().await;
}
