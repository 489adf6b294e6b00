//! The kiosk's self-test (issue 14), real all the way through: the app binary in kiosk mode
//! under Xvfb, its media check in the real Chromium with Chromium's fake devices (or a black
//! video file, or a silent audio file, as the capture), the Jitsi stand-in as the deployment and
//! the demo clinic server, which receives the result in the heartbeat and shows it in
//! `GET /devices`. The kiosk has no visit, so its self-test after sign-in runs at once.

use std::path::Path;
use std::time::{Duration, Instant};

use consult_e2e::clinic::{DemoKioskSecret, DEMO_ADMIN_EMAIL, DEMO_DEVICE_ID};
use consult_e2e::jitsi::{JitsiStandIn, StandInOptions};
use consult_e2e::{App, AppLaunch, ClinicApi, ClinicServer, IsolatedSession, NotificationDaemon};
use serde_json::Value;

/// Sign-in, a 20 s self-test at most, and the next 30 s heartbeat, with room for a busy machine.
const REPORT_TIMEOUT: Duration = Duration::from_secs(120);

/// One kiosk app whose media capture is Chromium's fake devices plus `capture_flags`. Field order
/// is drop order.
struct Kiosk {
    app: App,
    api: ClinicApi,
    _secret: DemoKioskSecret,
    _server: ClinicServer,
    _jitsi: JitsiStandIn,
    _daemon: NotificationDaemon,
    _session: IsolatedSession,
}

impl Kiosk {
    async fn open(label: &str, capture_flags: &[String]) -> Kiosk {
        let session = IsolatedSession::start();
        let daemon = NotificationDaemon::start(&session).await;
        let jitsi = JitsiStandIn::start(StandInOptions::hs256(
            "consult-e2e",
            "e2e-only-jitsi-app-secret-0123456789abcdef",
        ));
        let server = ClinicServer::start_demo_with_config(label, &jitsi.server_config_toml());
        let api = ClinicApi::new(server.url());
        let secret = DemoKioskSecret::write();
        let mut browser_args = vec![
            "--use-fake-device-for-media-stream".to_owned(),
            "--use-fake-ui-for-media-stream".to_owned(),
        ];
        browser_args.extend_from_slice(capture_flags);
        let env = secret
            .env()
            .into_iter()
            .chain([("CONSULT_KIOSK__RETRY_SECS".into(), "2".into())])
            .chain(
                jitsi
                    .app_env("browser")
                    .into_iter()
                    .filter(|(key, _)| key != "CONSULT_BROWSER_ARGS"),
            )
            .chain([
                (
                    "CONSULT_BROWSER_ARGS".into(),
                    serde_json::to_string(&browser_args).expect("JSON"),
                ),
                ("CONSULT_KIOSK__JITSI_URL".into(), jitsi.base_url()),
            ])
            .collect();
        let app = App::launch(AppLaunch {
            session: &session,
            server_url: server.url().to_owned(),
            label: label.to_owned(),
            env,
        })
        .await;
        Kiosk {
            app,
            api,
            _secret: secret,
            _server: server,
            _jitsi: jitsi,
            _daemon: daemon,
            _session: session,
        }
    }

    /// The demo kiosk in `GET /devices` once its heartbeat carried a self-test.
    async fn reported(&self) -> Value {
        let admin = self.api.login_demo(DEMO_ADMIN_EMAIL).await;
        let deadline = Instant::now() + REPORT_TIMEOUT;
        loop {
            let devices = self.api.get("/devices", &admin).await;
            let kiosk = devices
                .as_array()
                .into_iter()
                .flatten()
                .find(|device| device["deviceId"] == DEMO_DEVICE_ID)
                .cloned()
                .unwrap_or(Value::Null);
            if !kiosk["lastReport"]["selfTest"].is_null() {
                return kiosk;
            }
            assert!(
                Instant::now() < deadline,
                "no self-test reported in {REPORT_TIMEOUT:?}: {devices}\n{}",
                self.app.logs()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// A black picture, as a camera with its lens covered gives: two 320x240 frames, 4:2:0.
fn black_video(dir: &Path) -> String {
    let (width, height) = (320, 240);
    let mut bytes = format!("YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..2 {
        bytes.extend_from_slice(b"FRAME\n");
        bytes.extend(std::iter::repeat_n(0u8, width * height));
        bytes.extend(std::iter::repeat_n(128u8, width * height / 2));
    }
    let path = dir.join("black.y4m");
    std::fs::write(&path, bytes).expect("the black video");
    path.display().to_string()
}

/// One second of digital silence: 16-bit mono PCM at 48 kHz.
fn silent_audio(dir: &Path) -> String {
    let (rate, samples) = (48_000u32, 48_000u32);
    let data = samples * 2;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&rate.to_le_bytes());
    bytes.extend_from_slice(&(rate * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data.to_le_bytes());
    bytes.resize(bytes.len() + data as usize, 0);
    let path = dir.join("silent.wav");
    std::fs::write(&path, bytes).expect("the silent audio");
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_chromiums_fake_devices_the_self_test_passes_and_the_fleet_sees_a_healthy_kiosk() {
    let kiosk = Kiosk::open("self-test-pass", &[]).await;
    let seen = kiosk.reported().await;
    let report = &seen["lastReport"]["selfTest"];
    for part in ["camera", "microphone", "jitsi", "server"] {
        assert_eq!(report[part], "passed", "{part}: {seen}");
    }
    // The fake microphone cannot hear the speaker: never a pass that was not measured.
    assert!(
        report["speaker"] == "passed" || report["speaker"] == "skipped",
        "{seen}"
    );
    assert_eq!(seen["health"], "healthy", "{seen}");
    let logs = kiosk.app.logs();
    assert!(logs.contains("kiosk: self-test done"), "{logs}");
    // The self-test page's key never reaches the log.
    assert!(!logs.contains("selftest#k="), "{logs}");
    kiosk.app.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_black_video_the_camera_fails_and_the_kiosk_is_unhealthy() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let flag = format!(
        "--use-file-for-fake-video-capture={}",
        black_video(dir.path())
    );
    let kiosk = Kiosk::open("self-test-black", &[flag]).await;
    let seen = kiosk.reported().await;
    let report = &seen["lastReport"]["selfTest"];
    assert_eq!(report["camera"], "failed", "{seen}");
    assert_eq!(report["microphone"], "passed", "{seen}");
    assert_eq!(seen["health"], "unhealthy", "{seen}");
    kiosk.app.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_silent_audio_file_the_microphone_fails() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let flag = format!(
        "--use-file-for-fake-audio-capture={}",
        silent_audio(dir.path())
    );
    let kiosk = Kiosk::open("self-test-silent", &[flag]).await;
    let seen = kiosk.reported().await;
    let report = &seen["lastReport"]["selfTest"];
    assert_eq!(report["microphone"], "failed", "{seen}");
    assert_eq!(report["camera"], "passed", "{seen}");
    assert_eq!(seen["health"], "unhealthy", "{seen}");
    kiosk.app.quit().await;
}
