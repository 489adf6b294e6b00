//! The kiosk's self-test, carried out: per signed-in life a task that runs it when
//! [`self_test::plan`] says (after sign-in, every six hours, five minutes before each visit),
//! and [`Desktop::run_self_test`] for the maintenance screen's button and the clinic's remote
//! command. The media check runs in the call's browser ([`media_check`]), the Jitsi deployment
//! and the clinic server are asked at the same time, and the whole test gives way to a visit's
//! call. The last outcome goes out with the heartbeat and onto the maintenance screen.

use std::sync::{Mutex, Weak};
use std::time::Duration;

use time::OffsetDateTime;

use consult_types::{SelfTest, SelfTestCheck};

use super::{lock, Desktop, Inner};
use crate::call::deployment;
use crate::call::media_check::{self, MediaCheck, Unmeasured};
use crate::kiosk_exit;
use crate::self_test::{self, Findings, Media, Outcome, Plan, Situation, Visit};

/// The longest the schedule sleeps without looking again (visits come and go meanwhile).
const MAX_NAP: Duration = Duration::from_secs(60);
/// How often a running test looks whether a visit's call needs the devices.
const GIVE_WAY_LOOK: Duration = Duration::from_secs(1);

/// The self-test's memory for the app's run.
#[derive(Default)]
pub(super) struct SelfTestSlot {
    /// When the last test began.
    last_run: Mutex<Option<OffsetDateTime>>,
    last: Mutex<Option<Outcome>>,
    /// One test at a time (the schedule and a button press can coincide).
    running: tokio::sync::Mutex<()>,
}

impl Desktop {
    /// Runs the self-test now, unless a call runs or a visit's call may start any moment (it
    /// never holds a call up); stores the outcome and shows it on the maintenance screen if that
    /// is open.
    pub(super) async fn run_self_test(&self) {
        let (visits, call_running) = self.self_test_situation(None).await.unwrap_or_default();
        if self_test::must_give_way(OffsetDateTime::now_utc(), &visits, call_running) {
            tracing::info!("kiosk: self-test not run: a visit's call runs or is about to");
            self.show_self_test(vec![SelfTestCheck {
                name: "Self-test".into(),
                passed: true,
                skipped: true,
                detail: "Not run: a visit's call is running or about to start; try after the visit"
                    .into(),
            }]);
            return;
        }
        self.self_test_now().await;
    }

    /// The last self-test's report, for the heartbeat.
    pub(super) fn last_self_test(&self) -> Option<SelfTest> {
        lock(&self.0.self_test.last)
            .as_ref()
            .map(|outcome| outcome.report.clone())
    }

    /// The last self-test's lines, for a maintenance screen that opens.
    pub(super) fn last_self_test_checks(&self) -> Option<Vec<SelfTestCheck>> {
        lock(&self.0.self_test.last)
            .as_ref()
            .map(|outcome| outcome.checks.clone())
    }

    /// This kiosk's visits and whether a call runs; `None` when life `generation` is over (with
    /// `None`, whatever life there is, or none).
    async fn self_test_situation(&self, generation: Option<u64>) -> Option<(Vec<Visit>, bool)> {
        let visits = {
            let guard = self.0.life.read().await;
            match guard.as_ref() {
                Some(life) if generation.is_none_or(|wanted| wanted == life.generation) => life
                    .desk
                    .dashboard()
                    .await
                    .appointments
                    .iter()
                    .map(|visit| Visit {
                        start: visit.start_time,
                        end: visit.end_time,
                    })
                    .collect(),
                Some(_) => return None,
                None if generation.is_some() => return None,
                None => Vec::new(),
            }
        };
        Some((visits, self.0.calls.screen().await.is_some()))
    }

    async fn self_test_now(&self) {
        let _one = self.0.self_test.running.lock().await;
        let Ok(setup) = self.setup().cloned() else {
            return;
        };
        let at = OffsetDateTime::now_utc();
        *lock(&self.0.self_test.last_run) = Some(at);
        tracing::info!("kiosk: self-test begins");
        let options = setup.call_options();
        let media = async {
            let options = options.as_ref().map_err(|error| error.to_string())?;
            let program = options.browser_program.as_deref().ok_or_else(|| {
                "no browser for calls is installed (ask IT to install Chromium)".to_owned()
            })?;
            let check = MediaCheck {
                program,
                extra_args: &options.browser_args,
                allow_root: options.browser_allow_root,
                timeout: self_test::TIMEOUT,
            };
            tokio::select! {
                measured = media_check::measure(check) => Ok(Some(measured)),
                () = self.give_way() => Ok(None),
            }
        };
        let jitsi = async {
            let url = setup.kiosk().and_then(|kiosk| kiosk.jitsi_url.clone())?;
            Some(match &options {
                Ok(options) => deployment::check(url.as_str(), &options.trust, options.timeout)
                    .await
                    .map(|found| found.origin.origin().ascii_serialization())
                    .map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            })
        };
        let client = setup.session().client().clone();
        let server = async {
            client
                .health()
                .await
                .map(|()| client.base_url().origin().ascii_serialization())
                .map_err(|error| error.to_string())
        };
        let (media, jitsi, server) = tokio::join!(media, jitsi, server);
        let media = match media {
            Ok(Some(Ok(report))) => Media::Measured(report),
            Ok(Some(Err(Unmeasured::Failed(reason)))) => Media::Failed { reason },
            Ok(None) => Media::GaveWay,
            Ok(Some(Err(Unmeasured::NotRun(reason)))) | Err(reason) => {
                let (camera_found, microphone_found) =
                    tokio::task::spawn_blocking(kiosk_exit::devices)
                        .await
                        .unwrap_or_else(|error| {
                            let unknown = (true, format!("devices not listed: {error}"));
                            (unknown.clone(), unknown)
                        });
                Media::NotRun {
                    reason,
                    camera_found,
                    microphone_found,
                }
            }
        };
        let outcome = self_test::judge(
            &Findings {
                media,
                jitsi,
                server,
            },
            at,
        );
        let report = &outcome.report;
        tracing::info!(
            camera = ?report.camera,
            microphone = ?report.microphone,
            speaker = ?report.speaker,
            jitsi = ?report.jitsi,
            server = ?report.server,
            "kiosk: self-test done"
        );
        let checks = outcome.checks.clone();
        *lock(&self.0.self_test.last) = Some(outcome);
        self.show_self_test(checks);
        // The clinic's fleet view hears the result at once, not at the next beat.
        self.0.kiosk_beat.notify_one();
    }

    /// Resolves when a visit's call needs the camera and microphone.
    async fn give_way(&self) {
        loop {
            tokio::time::sleep(GIVE_WAY_LOOK).await;
            let (visits, call_running) = self.self_test_situation(None).await.unwrap_or_default();
            if self_test::must_give_way(OffsetDateTime::now_utc(), &visits, call_running) {
                tracing::info!("kiosk: the self-test gives way to a visit's call");
                return;
            }
        }
    }
}

/// The self-test's schedule for life `generation`: look, run when due, sleep; ends with the
/// life.
pub(super) async fn self_test_run(desktop: Weak<Inner>, generation: u64) {
    loop {
        let Some(inner) = desktop.upgrade() else {
            return;
        };
        let desktop_now = Desktop(inner);
        let Some((visits, call_running)) = desktop_now.self_test_situation(Some(generation)).await
        else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        let last_run = *lock(&desktop_now.0.self_test.last_run);
        let plan = self_test::plan(&Situation {
            now,
            last_run,
            visits: &visits,
            call_running,
        });
        match plan {
            Plan::RunNow => desktop_now.self_test_now().await,
            Plan::Wait { until } => {
                drop(desktop_now);
                let nap = until
                    .map(|at| (at - now).max(time::Duration::ZERO))
                    .and_then(|left| Duration::try_from(left).ok())
                    .map_or(MAX_NAP, |left| left.min(MAX_NAP));
                tokio::time::sleep(nap).await;
            }
        }
    }
}
