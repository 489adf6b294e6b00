//! A kiosk's screen stays awake during visits (issue 13 item 5): while a visit's call runs the
//! app holds one `org.freedesktop.ScreenSaver` inhibition, taken when the call starts and
//! released when it ends; a doctor's app takes none. The screen saver is the test's own
//! (tests/src/screensaver.rs) on the session's private bus, proven first against `gdbus`.
//!
//! The kiosk's set-up follows tests/tests/kiosk.rs (the demo kiosk device, a Jitsi stand-in,
//! a visit booked in its room).

use std::time::Duration;

use consult_e2e::clinic::{id_of, Actor, DemoKioskSecret};
use consult_e2e::jitsi::{JitsiStandIn, StandInOptions};
use consult_e2e::screensaver::{Received, Snapshot, BUS_NAME, OBJECT_PATH};
use consult_e2e::{
    App, AppLaunch, ClinicApi, ClinicServer, IsolatedSession, NotificationDaemon, ScreenSaver,
    DEMO_DOCTOR_EMAIL, DEMO_PASSWORD,
};

const APP_ID: &str = "consult-e2e";
const APP_SECRET: &str = "e2e-only-jitsi-app-secret-0123456789abcdef";
/// The screen saver hears the app within this (a D-Bus call, on a debug build on 2 cores).
const BUS_TIMEOUT: Duration = Duration::from_secs(20);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

fn gdbus(session: &IsolatedSession, method: &str, args: &[&str]) -> Result<String, String> {
    let method = format!("org.freedesktop.ScreenSaver.{method}");
    session.gdbus_call(BUS_NAME, OBJECT_PATH, &method, args)
}

/// "(uint32 4101,)" → 4101.
fn cookie_of(reply: &str) -> u32 {
    reply
        .trim_start_matches("(uint32 ")
        .trim_end_matches(",)")
        .parse()
        .unwrap_or_else(|_| panic!("unexpected Inhibit reply {reply:?}"))
}

/// The fake answers like the protocol before the app's scenarios rely on it: fresh cookies,
/// a release of what is held, and an error for a cookie that is not.
#[tokio::test(flavor = "multi_thread")]
async fn the_screen_saver_stand_in_answers_inhibit_and_uninhibit_like_the_protocol() {
    let session = IsolatedSession::start();
    let saver = ScreenSaver::start(&session).await;

    let first = cookie_of(&gdbus(&session, "Inhibit", &["Probe", "first"]).expect("Inhibit"));
    let second = cookie_of(&gdbus(&session, "Inhibit", &["Probe", "second"]).expect("Inhibit"));
    assert_ne!(first, second, "fresh cookies");
    assert_eq!(saver.snapshot().held.len(), 2);
    assert_eq!(saver.snapshot().most_held, 2);

    gdbus(&session, "UnInhibit", &[&first.to_string()]).expect("a held cookie is released");
    let twice = gdbus(&session, "UnInhibit", &[&first.to_string()]);
    assert!(
        twice
            .as_ref()
            .is_err_and(|error| error.contains("InvalidArgs")),
        "a released cookie is an error: {twice:?}"
    );
    let unknown = gdbus(&session, "UnInhibit", &["999999"]);
    assert!(
        unknown.is_err(),
        "an unknown cookie is an error: {unknown:?}"
    );

    let seen = saver.snapshot();
    assert_eq!(seen.held.keys().copied().collect::<Vec<_>>(), vec![second]);
    assert_eq!(seen.held[&second].application_name, "Probe");
    assert_eq!(seen.held[&second].reason, "second");
    assert_eq!(seen.inhibits().len(), 2);
    let held: Vec<bool> = seen
        .uninhibits()
        .iter()
        .map(|call| matches!(call, Received::UnInhibit { held: true, .. }))
        .collect();
    assert_eq!(held, vec![true, false, false]);
}

/// One app with its server, a Jitsi stand-in and the screen saver. Field order is drop order.
struct World {
    app: App,
    api: ClinicApi,
    saver: Option<ScreenSaver>,
    _secret: Option<DemoKioskSecret>,
    _server: ClinicServer,
    jitsi: JitsiStandIn,
    _daemon: NotificationDaemon,
    _session: IsolatedSession,
}

impl World {
    /// The demo kiosk (`kiosk`) or a plain app, carrying calls in the embedded frame, with the
    /// screen saver on the bus when `saver`.
    async fn open(label: &str, kiosk: bool, saver: bool) -> World {
        let session = IsolatedSession::start();
        let daemon = NotificationDaemon::start(&session).await;
        let saver = match saver {
            true => Some(ScreenSaver::start(&session).await),
            false => None,
        };
        let jitsi = JitsiStandIn::start(StandInOptions::hs256(APP_ID, APP_SECRET));
        let server = ClinicServer::start_demo_with_config(label, &jitsi.server_config_toml());
        let api = ClinicApi::new(server.url());
        let secret = kiosk.then(DemoKioskSecret::write);
        let mut env: Vec<(String, String)> = jitsi.app_env("embedded");
        if let Some(secret) = &secret {
            env.extend(secret.env());
            // The visit booked below (in 5 minutes) is inside the lead at once.
            env.push(("CONSULT_KIOSK__JOIN_LEAD_SECS".into(), "600".into()));
        }
        let app = App::launch(AppLaunch {
            session: &session,
            server_url: server.url().to_owned(),
            label: label.to_owned(),
            env,
        })
        .await;
        World {
            app,
            api,
            saver,
            _secret: secret,
            _server: server,
            jitsi,
            _daemon: daemon,
            _session: session,
        }
    }

    fn saver(&self) -> &ScreenSaver {
        self.saver.as_ref().expect("a screen saver on the bus")
    }

    /// The kiosk joins the visit it was booked (as `doctor`) by itself; the Jitsi room.
    async fn kiosk_joins_a_visit(&self, doctor: &Actor) -> (String, String) {
        self.app.wait_for("#kiosk[data-state=\"ready\"]").await;
        let visit = self.book_kiosk_visit(doctor).await;
        self.app.wait_for("#kiosk-call").await;
        let join =
            tokio::task::block_in_place(|| self.jitsi.wait_for_joins(1, CALL_TIMEOUT).remove(0));
        assert!(join.accepted, "{join:?}");
        (visit, join.room)
    }

    /// The doctor's side ends the visit's meeting; returns once the kiosk left the call.
    async fn meeting_ends(&self, doctor: &Actor, visit: &str) {
        for step in ["start", "end"] {
            self.api
                .post(
                    &format!("/appointments/{visit}/meeting/{step}"),
                    doctor,
                    None,
                )
                .await;
        }
        self.app.wait_gone("#kiosk-call").await;
    }

    /// The doctor books a visit in the kiosk's room starting in 5 minutes; its id.
    async fn book_kiosk_visit(&self, doctor: &Actor) -> String {
        let admin = self
            .api
            .login_demo(consult_e2e::clinic::DEMO_ADMIN_EMAIL)
            .await;
        let kiosk_id = self.api.kiosk_user_id(&admin).await;
        let patient = self.api.patient().await;
        let (id, _) = self
            .api
            .book_kiosk_visit(
                doctor,
                &patient,
                &kiosk_id,
                Duration::from_secs(5 * 60),
                false,
            )
            .await;
        id
    }
}

fn inhibit_cookies(seen: &Snapshot) -> Vec<u32> {
    seen.inhibits()
        .into_iter()
        .filter_map(|call| match call {
            Received::Inhibit { cookie, .. } => Some(*cookie),
            Received::UnInhibit { .. } => None,
        })
        .collect()
}

/// The kiosk joins its visit by itself: one inhibition while the call runs, whatever happens in
/// it, released when the meeting ends.
#[tokio::test(flavor = "multi_thread")]
async fn a_kiosk_keeps_the_screen_awake_while_its_visit_runs_and_lets_it_sleep_after() {
    let world = World::open("kiosk-awake", true, true).await;
    let saver = world.saver();
    let doctor = world.api.doctor().await;
    let (visit, room) = world.kiosk_joins_a_visit(&doctor).await;
    assert!(
        saver.snapshot().uninhibits().is_empty(),
        "nothing released before the end: {:?}",
        saver.snapshot()
    );
    let held = saver
        .wait_until(
            "an inhibition held",
            |seen| !seen.held.is_empty(),
            BUS_TIMEOUT,
        )
        .await;
    assert_eq!(held.held.len(), 1, "one inhibition: {held:#?}");
    let inhibition = held.held.values().next().expect("one").clone();
    assert_eq!(inhibition.application_name, "Consult");
    assert!(!inhibition.reason.is_empty());

    // The call changes (the doctor comes in, the consent countdown runs): still the one.
    world.jitsi.send_event(
        &room,
        serde_json::json!({"name": "participant-joined", "id": "doctor1", "displayName": "Ada Lovelace"}),
    );
    world.app.wait_for("#consent-countdown").await;

    world.meeting_ends(&doctor, &visit).await;
    // The release comes after every earlier change of the call (one task, in order), so what
    // the screen saver saw by then is all the call asked for.
    let after = saver
        .wait_until(
            "the inhibition released",
            |seen| seen.held.is_empty() && !seen.uninhibits().is_empty(),
            BUS_TIMEOUT,
        )
        .await;
    assert_eq!(
        inhibit_cookies(&after),
        vec![inhibition.cookie],
        "exactly one inhibition for the visit: {after:#?}"
    );
    assert_eq!(after.most_held, 1, "never held twice: {after:#?}");
    assert_eq!(
        after.uninhibits(),
        vec![&Received::UnInhibit {
            cookie: inhibition.cookie,
            held: true,
            sender: inhibition.sender.clone(),
        }],
        "released once, by its owner"
    );
    world.app.quit().await;
}

/// Under cage there is no screen saver service: the kiosk says so once, at info, and the visit
/// goes on.
#[tokio::test(flavor = "multi_thread")]
async fn a_kiosk_without_a_screen_saver_says_so_once_and_carries_on() {
    let world = World::open("kiosk-awake-none", true, false).await;
    let doctor = world.api.doctor().await;
    let (visit, _room) = world.kiosk_joins_a_visit(&doctor).await;
    world.meeting_ends(&doctor, &visit).await;
    let logs = world.app.logs();
    let told: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("consult_app_lib::stay_awake"))
        .collect();
    assert_eq!(told.len(), 1, "{told:#?}");
    assert!(told[0].contains("INFO"), "{}", told[0]);
    assert!(
        told[0].contains("org.freedesktop.ScreenSaver"),
        "{}",
        told[0]
    );
    world.app.quit().await;
}

/// A doctor's app in a call leaves the screen to the desktop's own settings.
#[tokio::test(flavor = "multi_thread")]
async fn a_doctors_app_in_a_call_takes_no_inhibition() {
    let world = World::open("doctor-awake", false, true).await;
    world.app.sign_in(DEMO_DOCTOR_EMAIL, DEMO_PASSWORD).await;
    world.app.wait_for("#schedule").await;
    let doctor = world.api.doctor().await;
    let appointment = world
        .api
        .appointments_earliest_first(&doctor)
        .await
        .into_iter()
        .next()
        .expect("demo appointments");
    let row = format!(
        "li.appointment[data-appointment-id=\"{}\"]",
        id_of(&appointment)
    );
    world.app.wait_for(&row).await;
    world.app.click(&format!("{row} .patient-name")).await;
    world.app.click("#join-call").await;
    world
        .app
        .wait_for_attr("#call-phase", "data-phase", CALL_TIMEOUT, |phase| {
            phase == "joined"
        })
        .await;
    world.app.click("#ctl-hangup").await;
    world.app.wait_gone("#call-screen").await;
    world.app.wait_for("#schedule").await;
    // A kiosk's inhibition is asked for as the call starts, seconds before it is joined.
    let seen = world.saver().snapshot();
    assert!(
        seen.received.is_empty(),
        "a doctor's app asked the screen saver: {seen:#?}"
    );
    world.app.quit().await;
}
