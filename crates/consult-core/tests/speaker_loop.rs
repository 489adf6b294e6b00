//! The self-test's speaker check, for real: the kiosk's own self-test page in headless Chromium
//! (no simulated devices) plays its tone on the default output, a PulseAudio server of the
//! test's own joins that output to the default microphone (a null sink, and a source remapped
//! from its monitor: Chromium lists no monitor source as a microphone), and the core's judge
//! says the tone was heard. With the microphone listening to another sink, it was not.
//!
//! One test per process (nextest), so `PULSE_SERVER` reaches only this test's browser. Needs
//! Debian's `pulseaudio` and `chromium` (scripts/test installs both).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use consult_core::call::media_check::{self, MediaCheck};
use consult_core::self_test::{self, Findings, Media};
use consult_types::Check;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A PulseAudio server on a socket in a temporary directory; nothing else on the machine uses
/// it. Killed on drop.
struct Room {
    daemon: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Room {
    /// `microphone_hears`: the sink whose monitor the microphone is (`room` for the loop).
    fn start(microphone_hears: &str) -> Room {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("native");
        let script = dir.path().join("room.pa");
        // The socket last: a client that can connect finds the devices made.
        std::fs::write(
            &script,
            format!(
                "load-module module-null-sink sink_name=room sink_properties=device.description=Room\n\
                 load-module module-null-sink sink_name=elsewhere sink_properties=device.description=Elsewhere\n\
                 load-module module-remap-source master={microphone_hears}.monitor source_name=mic source_properties=device.description=RoomMic\n\
                 set-default-sink room\n\
                 set-default-source mic\n\
                 load-module module-native-protocol-unix socket={} auth-anonymous=1\n",
                socket.display()
            ),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        let daemon = Command::new("pulseaudio")
            .args(["-n", "-F"])
            .arg(&script)
            .args([
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--log-level=error",
            ])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path().join("home"))
            .env("XDG_RUNTIME_DIR", dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("pulseaudio cannot be started ({error}): install Debian's pulseaudio")
            });
        let room = Room {
            daemon,
            socket,
            _dir: dir,
        };
        room.wait_until_it_answers();
        room
    }

    fn wait_until_it_answers(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "the PulseAudio server did not answer on {}",
                self.socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn address(&self) -> String {
        format!("unix:{}", self.socket.display())
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// The self-test's media check in a room where the microphone hears `microphone_hears`, judged
/// as the kiosk judges it.
async fn self_test_in(microphone_hears: &str) -> self_test::Outcome {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium"
    );
    let room = Room::start(microphone_hears);
    // Read by Chromium's PulseAudio client; this process runs this test only.
    std::env::set_var("PULSE_SERVER", room.address());
    // Headless has no permission prompt; a kiosk's managed policy allows capture instead.
    let extra_args = ["--use-fake-ui-for-media-stream".to_owned()];
    let report = media_check::measure(MediaCheck {
        program: Path::new(CHROMIUM),
        extra_args: &extra_args,
        allow_root: true,
        timeout: Duration::from_secs(30),
    })
    .await
    .expect("the self-test page reported");
    assert!(
        !report.simulated_input,
        "a real microphone, not Chromium's simulated one: {report:?}"
    );
    let findings = Findings {
        media: Media::Measured(report),
        jitsi: None,
        server: Ok("not part of this test".into()),
    };
    self_test::judge(&findings, OffsetDateTime::now_utc())
}

fn words_of(outcome: &self_test::Outcome, part: &str) -> String {
    outcome
        .checks
        .iter()
        .find(|check| check.name == part)
        .map(|check| check.detail.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_test_tone_played_on_the_speaker_is_heard_back_by_the_microphone() {
    let outcome = self_test_in("room").await;
    assert_eq!(
        outcome.report.speaker,
        Check::Passed,
        "{}",
        words_of(&outcome, "Speaker")
    );
    assert_eq!(outcome.report.microphone, Check::Passed);
    assert!(words_of(&outcome, "Speaker").contains("heard back"));
}

#[tokio::test]
async fn a_speaker_the_microphone_cannot_hear_fails_the_check() {
    let outcome = self_test_in("elsewhere").await;
    assert_eq!(
        outcome.report.speaker,
        Check::Failed,
        "{}",
        words_of(&outcome, "Speaker")
    );
    assert!(
        words_of(&outcome, "Speaker").contains("check the speaker"),
        "{}",
        words_of(&outcome, "Speaker")
    );
}
