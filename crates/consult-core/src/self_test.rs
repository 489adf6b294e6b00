//! The kiosk's self-test, I/O-free: what the media check page measured and what the other
//! checks found become one verdict per part ([`judge`]), in words that say what to do; and when
//! the test runs ([`plan`]): after sign-in, every [`EVERY`], [`BEFORE_VISIT`] before each visit,
//! never while a call runs or within [`QUIET_BEFORE_VISIT`] of a visit's start until its end (a
//! call must never wait for it). `desktop/self_test.rs` carries it out; `call/media_check.rs`
//! measures in Chromium, the browser the kiosk's calls use.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use consult_types::{Check, SelfTest, SelfTestCheck};

/// Between two self-tests with no visit in between.
pub const EVERY: Duration = Duration::from_secs(6 * 60 * 60);
/// A self-test this long before each visit's start, so the clinic hears of a broken camera in
/// time.
pub const BEFORE_VISIT: Duration = Duration::from_secs(5 * 60);
/// No self-test starts from this long before a visit's start to its end: the visit's call may
/// start at any moment then (the doctor may start early).
pub const QUIET_BEFORE_VISIT: Duration = Duration::from_secs(2 * 60);
/// The whole test's limit: a hung device fails the test instead of hanging it.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Mean luminance (0-255) under which a frame is dark...
pub const BLACK_LUMA: f64 = 16.0;
/// ...and the spread of luminance under which it is also featureless: a covered lens or a dead
/// sensor, not a dim room.
pub const FLAT_SPREAD: f64 = 6.0;
/// The loudest 50 ms of the microphone's listening must be above this RMS (full scale 1.0,
/// about -66 dBFS): a working microphone hears at least a room's hiss, a dead one digital zero.
pub const SILENCE_RMS: f64 = 0.0005;
/// The test tone must be this much louder (dB, at its own frequency) while it plays than before.
pub const TONE_MARGIN_DB: f64 = 20.0;
/// A quiet level at or below this is exact silence (the page reports -200 for it).
const SILENT_DB: f64 = -150.0;

/// What the media check page measured (`call/page/selftest.js`), camelCase on its wire.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MediaReport {
    /// Why the camera could not be opened (the browser's error name and message).
    pub camera_error: Option<String>,
    /// Frames looked at; their brightest mean luminance and widest spread (0-255).
    pub frames: u32,
    pub mean_luma: f64,
    pub luma_spread: f64,
    /// Why the microphone could not be opened.
    pub microphone_error: Option<String>,
    /// The loudest 50 ms window's RMS while listening (full scale 1.0).
    pub peak_rms: f64,
    /// The audio outputs the browser lists.
    pub outputs: u32,
    /// The microphone is the browser's simulated one, which cannot hear a speaker.
    pub simulated_input: bool,
    /// The level at the tone's frequency (dBFS) before and while it played; `None` when the
    /// tone could not be played.
    pub quiet_db: Option<f64>,
    pub tone_db: Option<f64>,
    /// Why the tone could not be played.
    pub speaker_error: Option<String>,
}

/// How the media check went as a whole.
#[derive(Debug, Clone, PartialEq)]
pub enum Media {
    Measured(MediaReport),
    /// The check could not run (no browser, refused as root...): the devices the system lists
    /// stand in for the camera and microphone, and the reason is said.
    NotRun {
        reason: String,
        camera_found: (bool, String),
        microphone_found: (bool, String),
    },
    /// Started but gave no report in time, or its page went away.
    Failed {
        reason: String,
    },
    /// Given up for a visit's call.
    GaveWay,
}

/// Everything one self-test found out.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    pub media: Media,
    /// The Jitsi deployment: `None` when none is configured; else `Ok(origin)` or the error.
    pub jitsi: Option<Result<String, String>>,
    /// The clinic server's `GET /health`: `Ok(its address)` or the error.
    pub server: Result<String, String>,
}

/// One self-test's verdict: the heartbeat's report and the maintenance screen's lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub report: SelfTest,
    pub checks: Vec<SelfTestCheck>,
}

/// One part's verdict, and its words.
type Part = (Check, String);

/// The verdict of `findings` at `at`.
pub fn judge(findings: &Findings, at: OffsetDateTime) -> Outcome {
    let (camera, microphone, speaker) = match &findings.media {
        Media::Measured(report) => (camera(report), microphone(report), speaker(report)),
        Media::NotRun {
            reason,
            camera_found,
            microphone_found,
        } => {
            // Only what was seen: a listed device is not a working one.
            let listed = |(found, words): &(bool, String), missing: &str| -> Part {
                if *found {
                    (Check::Skipped, format!("{words}; not tested: {reason}"))
                } else {
                    (Check::Failed, format!("{missing} ({words})"))
                }
            };
            (
                listed(camera_found, "No camera found: check its cable"),
                listed(microphone_found, "No microphone found: check its cable"),
                (Check::Skipped, format!("Not tested: {reason}")),
            )
        }
        Media::Failed { reason } => {
            let failed = (Check::Failed, reason.clone());
            (failed.clone(), failed.clone(), failed)
        }
        Media::GaveWay => {
            let skipped = (
                Check::Skipped,
                "Not tested: the self-test gave way to a visit's call".to_owned(),
            );
            (skipped.clone(), skipped.clone(), skipped)
        }
    };
    let jitsi = match &findings.jitsi {
        None => (
            Check::Skipped,
            "Not tested: no video call service is set (ask IT to set [kiosk] jitsi_url)".into(),
        ),
        Some(Ok(origin)) => (Check::Passed, format!("{origin} answers")),
        Some(Err(error)) => (Check::Failed, error.clone()),
    };
    let server = match &findings.server {
        Ok(address) => (Check::Passed, format!("{address} answers")),
        Err(error) => (Check::Failed, error.clone()),
    };
    let report = SelfTest {
        at,
        camera: camera.0,
        microphone: microphone.0,
        speaker: speaker.0,
        jitsi: jitsi.0,
        server: server.0,
    };
    let line = |name: &str, (check, detail): Part| SelfTestCheck {
        name: name.to_owned(),
        passed: check != Check::Failed,
        skipped: check == Check::Skipped,
        detail,
    };
    let checks = vec![
        line("Camera", camera),
        line("Microphone", microphone),
        line("Speaker", speaker),
        line("Video call service", jitsi),
        line("Clinic server", server),
    ];
    Outcome { report, checks }
}

fn camera(report: &MediaReport) -> Part {
    if let Some(error) = &report.camera_error {
        return (
            Check::Failed,
            format!("The camera could not be opened ({error}): check its cable and that no other program uses it"),
        );
    }
    if report.frames == 0 {
        return (
            Check::Failed,
            "The camera gave no picture: check its cable, then run the self-test again".into(),
        );
    }
    if report.mean_luma < BLACK_LUMA && report.luma_spread < FLAT_SPREAD {
        return (
            Check::Failed,
            "Camera gives only black frames: check the lens cover and cable".into(),
        );
    }
    (
        Check::Passed,
        format!(
            "A picture was seen (brightness {:.0} of 255)",
            report.mean_luma
        ),
    )
}

fn microphone(report: &MediaReport) -> Part {
    if let Some(error) = &report.microphone_error {
        return (
            Check::Failed,
            format!("The microphone could not be opened ({error}): check its cable and that no other program uses it"),
        );
    }
    if report.peak_rms < SILENCE_RMS {
        return (
            Check::Failed,
            "The microphone hears only silence: check that it is plugged in and not muted".into(),
        );
    }
    (
        Check::Passed,
        format!(
            "Sound was heard ({:.0} dBFS at its loudest)",
            dbfs(report.peak_rms)
        ),
    )
}

fn speaker(report: &MediaReport) -> Part {
    if report.microphone_error.is_some() {
        return (
            Check::Skipped,
            "Not tested: the microphone, which listens for the test tone, could not be opened"
                .into(),
        );
    }
    // A simulated microphone cannot hear anything played, so nothing it "hears" is a measure.
    if report.simulated_input {
        return (
            Check::Skipped,
            "Not tested: the microphone is simulated and cannot hear the speaker".into(),
        );
    }
    if report.outputs == 0 {
        return (
            Check::Skipped,
            "Not tested: no speaker is listed; connect one, then run the self-test again".into(),
        );
    }
    let (Some(quiet), Some(tone)) = (report.quiet_db, report.tone_db) else {
        let why = report
            .speaker_error
            .as_deref()
            .unwrap_or("no level measured");
        return (
            Check::Failed,
            format!("The test tone could not be played ({why}): check the speaker"),
        );
    };
    if tone - quiet >= TONE_MARGIN_DB {
        let how = if quiet <= SILENT_DB {
            // A digital input (a virtual device) hears exact zeros: no margin to speak of.
            format!("{tone:.0} dBFS in a silent room")
        } else {
            format!("{:.0} dB over the room", tone - quiet)
        };
        (
            Check::Passed,
            format!("The test tone was heard back ({how})"),
        )
    } else {
        (
            Check::Failed,
            "The test tone was not heard back: check the speaker's volume and cable".into(),
        )
    }
}

fn dbfs(rms: f64) -> f64 {
    20.0 * rms.max(1e-9).log10()
}

/// A visit of this kiosk, as the schedule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

/// What the schedule knows now.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    pub now: OffsetDateTime,
    /// When the last self-test began, in this app's run.
    pub last_run: Option<OffsetDateTime>,
    pub visits: &'a [Visit],
    pub call_running: bool,
}

/// What to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    RunNow,
    /// Look again at `until` (or when something changes; `None`: nothing is due).
    Wait {
        until: Option<OffsetDateTime>,
    },
}

/// Whether a self-test must not run now (or, running, must give way): a call runs, or a visit's
/// call may start any moment.
pub fn must_give_way(now: OffsetDateTime, visits: &[Visit], call_running: bool) -> bool {
    call_running
        || visits
            .iter()
            .any(|visit| visit.start - QUIET_BEFORE_VISIT <= now && now <= visit.end)
}

/// When the next self-test runs.
pub fn plan(situation: &Situation<'_>) -> Plan {
    let now = situation.now;
    let due_moments = || {
        let periodic = situation.last_run.map(|last| last + EVERY);
        // A visit's own test is due from BEFORE_VISIT before it, if none ran since then.
        let before_visits = situation
            .visits
            .iter()
            .map(|visit| visit.start - BEFORE_VISIT)
            .filter(move |due| situation.last_run.is_none_or(|last| last < *due));
        periodic.into_iter().chain(before_visits)
    };
    let due_now = situation.last_run.is_none() || due_moments().any(|due| due <= now);
    if due_now && !must_give_way(now, situation.visits, situation.call_running) {
        return Plan::RunNow;
    }
    // Wait for the next due moment, or for the end of what holds a due test back.
    let next_due = due_moments().filter(|due| *due > now).min();
    let held_until = situation
        .visits
        .iter()
        .filter(|visit| visit.start - QUIET_BEFORE_VISIT <= now && now <= visit.end)
        .map(|visit| visit.end)
        .max();
    let until = match (due_now, held_until) {
        (true, Some(end)) => Some(next_due.map_or(end, |due| due.min(end))),
        _ => next_due,
    };
    Plan::Wait { until }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOON: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn minutes(n: i64) -> time::Duration {
        time::Duration::minutes(n)
    }

    fn visit_at(start: OffsetDateTime) -> Visit {
        Visit {
            start,
            end: start + minutes(20),
        }
    }

    fn situation(last_run: Option<OffsetDateTime>, visits: &[Visit]) -> Situation<'_> {
        Situation {
            now: NOON,
            last_run,
            visits,
            call_running: false,
        }
    }

    fn working() -> MediaReport {
        MediaReport {
            frames: 10,
            mean_luma: 96.0,
            luma_spread: 40.0,
            peak_rms: 0.05,
            outputs: 1,
            quiet_db: Some(-90.0),
            tone_db: Some(-30.0),
            ..MediaReport::default()
        }
    }

    fn judged(media: Media) -> Outcome {
        judge(
            &Findings {
                media,
                jitsi: Some(Ok("https://meet.example".into())),
                server: Ok("https://clinic.example".into()),
            },
            NOON,
        )
    }

    #[test]
    fn a_kiosk_that_sees_hears_and_is_heard_passes_every_part() {
        let outcome = judged(Media::Measured(working()));
        let report = outcome.report;
        assert_eq!(
            [
                report.camera,
                report.microphone,
                report.speaker,
                report.jitsi,
                report.server
            ],
            [Check::Passed; 5]
        );
        assert!(outcome
            .checks
            .iter()
            .all(|check| check.passed && !check.skipped));
        assert_eq!(report.at, NOON);
    }

    #[test]
    fn a_covered_lens_fails_the_camera_but_a_dim_room_does_not() {
        let black = MediaReport {
            mean_luma: 0.4,
            luma_spread: 0.2,
            ..working()
        };
        let outcome = judged(Media::Measured(black));
        assert_eq!(outcome.report.camera, Check::Failed);
        assert!(outcome.report.failed());
        assert_eq!(
            outcome.checks[0].detail,
            "Camera gives only black frames: check the lens cover and cable"
        );
        // Dark but with shapes in it: a picture.
        let dim = MediaReport {
            mean_luma: 12.0,
            luma_spread: 9.0,
            ..working()
        };
        assert_eq!(judged(Media::Measured(dim)).report.camera, Check::Passed);
    }

    #[test]
    fn a_silent_microphone_fails_and_says_what_to_check() {
        let silent = MediaReport {
            peak_rms: 0.0,
            ..working()
        };
        let outcome = judged(Media::Measured(silent));
        assert_eq!(outcome.report.microphone, Check::Failed);
        assert!(outcome.checks[1].detail.contains("only silence"));
        assert_eq!(outcome.report.camera, Check::Passed);
    }

    #[test]
    fn a_device_that_cannot_be_opened_fails_with_the_browsers_reason() {
        let busy = MediaReport {
            camera_error: Some("NotReadableError: Could not start video source".into()),
            microphone_error: Some("NotFoundError".into()),
            ..working()
        };
        let outcome = judged(Media::Measured(busy));
        assert_eq!(outcome.report.camera, Check::Failed);
        assert!(outcome.checks[0].detail.contains("NotReadableError"));
        assert_eq!(outcome.report.microphone, Check::Failed);
        // Nothing listened for the tone.
        assert_eq!(outcome.report.speaker, Check::Skipped);
    }

    #[test]
    fn the_speaker_passes_only_when_its_tone_is_heard_back() {
        let unheard = MediaReport {
            tone_db: Some(-85.0),
            ..working()
        };
        let outcome = judged(Media::Measured(unheard));
        assert_eq!(outcome.report.speaker, Check::Failed);
        assert!(outcome.checks[2].detail.contains("volume"));
        // A simulated microphone "hearing" the tone measures nothing: skipped, with the reason.
        let simulated = MediaReport {
            simulated_input: true,
            ..working()
        };
        let outcome = judged(Media::Measured(simulated));
        assert_eq!(outcome.report.speaker, Check::Skipped);
        assert!(outcome.checks[2].skipped && outcome.checks[2].detail.contains("simulated"));
        let no_output = MediaReport {
            outputs: 0,
            ..working()
        };
        assert_eq!(
            judged(Media::Measured(no_output)).report.speaker,
            Check::Skipped
        );
        // A virtual loop hears exact zeros before the tone: the words say so, not "175 dB".
        let silent_room = MediaReport {
            quiet_db: Some(-200.0),
            tone_db: Some(-24.6),
            ..working()
        };
        let outcome = judged(Media::Measured(silent_room));
        assert_eq!(outcome.report.speaker, Check::Passed);
        assert!(
            outcome.checks[2]
                .detail
                .contains("-25 dBFS in a silent room"),
            "{}",
            outcome.checks[2].detail
        );
    }

    #[test]
    fn without_a_browser_only_missing_devices_fail_and_nothing_passes_unmeasured() {
        let outcome = judged(Media::NotRun {
            reason: "no browser".into(),
            camera_found: (true, "1 video device(s) found".into()),
            microphone_found: (false, "no sound card".into()),
        });
        let report = outcome.report;
        assert_eq!(
            [report.camera, report.microphone, report.speaker],
            [Check::Skipped, Check::Failed, Check::Skipped]
        );
        assert!(outcome.checks[0].detail.contains("no browser"));
    }

    #[test]
    fn a_hung_check_fails_the_media_and_a_call_makes_it_give_way() {
        let hung = judged(Media::Failed {
            reason: "no answer in 20 s".into(),
        });
        assert_eq!(hung.report.camera, Check::Failed);
        assert_eq!(hung.report.speaker, Check::Failed);
        let gave_way = judged(Media::GaveWay).report;
        assert_eq!(
            [gave_way.camera, gave_way.microphone, gave_way.speaker],
            [Check::Skipped; 3]
        );
        assert!(!gave_way.failed());
    }

    #[test]
    fn an_unset_or_unreachable_jitsi_and_server_are_said() {
        let outcome = judge(
            &Findings {
                media: Media::Measured(working()),
                jitsi: None,
                server: Err("The clinic server cannot be reached".into()),
            },
            NOON,
        );
        assert_eq!(outcome.report.jitsi, Check::Skipped);
        assert!(outcome.checks[3].detail.contains("jitsi_url"));
        assert_eq!(outcome.report.server, Check::Failed);
        assert!(!outcome.checks[4].passed);
    }

    #[test]
    fn the_first_test_runs_at_once_after_sign_in() {
        assert_eq!(plan(&situation(None, &[])), Plan::RunNow);
    }

    #[test]
    fn then_every_six_hours() {
        let last = NOON - minutes(60);
        assert_eq!(
            plan(&situation(Some(last), &[])),
            Plan::Wait {
                until: Some(last + minutes(6 * 60))
            }
        );
        assert_eq!(
            plan(&situation(Some(NOON - minutes(6 * 60)), &[])),
            Plan::RunNow
        );
    }

    #[test]
    fn five_minutes_before_each_visit() {
        let last = NOON - minutes(60);
        let visits = [visit_at(NOON + minutes(30))];
        assert_eq!(
            plan(&situation(Some(last), &visits)),
            Plan::Wait {
                until: Some(NOON + minutes(25))
            }
        );
        let visits = [visit_at(NOON + minutes(5))];
        assert_eq!(plan(&situation(Some(last), &visits)), Plan::RunNow);
        // Done for that visit (it ran just now): the next one is six hours on.
        assert_eq!(
            plan(&situation(Some(NOON), &visits)),
            Plan::Wait {
                until: Some(NOON + minutes(6 * 60))
            }
        );
    }

    #[test]
    fn never_while_a_call_runs_or_just_before_or_during_a_visit() {
        let running = Situation {
            call_running: true,
            ..situation(None, &[])
        };
        assert!(matches!(plan(&running), Plan::Wait { .. }));
        // The kiosk signs in a minute before a visit: the first test waits for its end.
        let visits = [visit_at(NOON + minutes(1))];
        assert_eq!(
            plan(&situation(None, &visits)),
            Plan::Wait {
                until: Some(NOON + minutes(21))
            }
        );
        assert!(must_give_way(NOON, &visits, false));
        assert!(!must_give_way(NOON, &[visit_at(NOON + minutes(3))], false));
        // Missed its moment before the visit (the kiosk was busy): not run in the quiet time.
        let last = NOON - minutes(60);
        let visits = [visit_at(NOON + minutes(90)), visit_at(NOON + minutes(2))];
        assert!(matches!(
            plan(&situation(Some(last), &visits)),
            Plan::Wait { .. }
        ));
    }
}
