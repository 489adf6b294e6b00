//! Measures the desktop app as a person meets it. Run by `scripts/bench`.
//!
//! `bench-desktop [startup|desk]` (default: both).
//!
//! - *startup*: cold start to the login screen rendered, and the memory of the app and its
//!   WebKit processes at that screen. Cold start is timed from asking tauri-driver for a session
//!   (which launches the app) until the login form's email field is displayed; it includes
//!   WebKitWebDriver's own start, which a user does not pay, so it is an upper bound.
//! - *desk*: the doctor signed in, at the schedule screen: memory there, and how long a join
//!   request takes from the agency's `POST` until the app's `Notify` call reaches the session
//!   bus (a notification daemon owned by this process records the time of receipt), over
//!   [`DESK_REQUESTS`] requests after [`DESK_WARMUP`] unmeasured ones.

use std::time::{Duration, Instant};

use consult_e2e::clinic::id_of;
use consult_e2e::{
    App, AppLaunch, ClinicApi, ClinicServer, IsolatedSession, NotificationDaemon,
    DEMO_DOCTOR_EMAIL, DEMO_PASSWORD,
};

const RUNS: usize = 10;
const DESK_WARMUP: usize = 10;
const DESK_REQUESTS: usize = 100;

#[tokio::main]
async fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if !matches!(what.as_str(), "all" | "startup" | "desk") {
        eprintln!("usage: bench-desktop [startup|desk]");
        std::process::exit(2);
    }
    if what != "desk" {
        startup().await;
    }
    if what != "startup" {
        desk().await;
    }
}

async fn startup() {
    let session = IsolatedSession::start();
    let server = ClinicServer::start_demo("bench");
    let mut starts = Vec::with_capacity(RUNS);
    let mut last = Vec::new();
    for run in 0..RUNS {
        let started = Instant::now();
        let app = App::launch(AppLaunch {
            session: &session,
            server_url: server.url().to_owned(),
            label: format!("bench-{run}"),
            env: Vec::new(),
        })
        .await;
        app.wait_for("#email").await;
        starts.push(started.elapsed());
        if run == RUNS - 1 {
            // Memory is read once, in the last run, after the webview has settled.
            tokio::time::sleep(Duration::from_secs(2)).await;
            last = process_tree_memory(app.driver_pid());
        }
        app.quit().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    starts.sort();
    let median = (starts[RUNS / 2 - 1] + starts[RUNS / 2]) / 2;
    println!(
        "cold start to login screen: median {} ms, min {} ms, max {} ms over {RUNS} runs",
        median.as_millis(),
        starts[0].as_millis(),
        starts[RUNS - 1].as_millis()
    );
    report_memory("login screen", &last);
}

async fn desk() {
    let session = IsolatedSession::start();
    let daemon = NotificationDaemon::start(&session).await;
    let server = ClinicServer::start_demo("bench-desk");
    let api = ClinicApi::new(server.url());
    let app = App::launch(AppLaunch {
        session: &session,
        server_url: server.url().to_owned(),
        label: "bench-desk".into(),
        env: Vec::new(),
    })
    .await;
    app.sign_in(DEMO_DOCTOR_EMAIL, DEMO_PASSWORD).await;
    app.wait_for_count("#schedule li.appointment", 4).await;
    app.wait_for_attr("#connection", "data-state", Duration::from_secs(30), |s| {
        s == "online"
    })
    .await;
    // Memory at the schedule screen, after the webview has settled.
    tokio::time::sleep(Duration::from_secs(2)).await;
    report_memory("schedule screen", &process_tree_memory(app.driver_pid()));

    let doctor = api.doctor().await;
    let agency = api.agency().await;
    let appointment = api
        .appointments(&doctor)
        .await
        .into_iter()
        .find(|a| a["agencyId"] == agency.id.as_str())
        .expect("a demo appointment with the agency on it");
    let appointment_id = id_of(&appointment);
    let mut latencies = Vec::with_capacity(DESK_REQUESTS);
    for round in 0..DESK_WARMUP + DESK_REQUESTS {
        let asked = Instant::now();
        let request = api.ask_to_join(&agency, &appointment_id).await;
        let request_id = id_of(&request);
        let shown = daemon
            .wait_for(
                |n| n.hint("x-consult-join-request-id") == Some(request_id.as_str()),
                Duration::from_secs(30),
            )
            .await;
        if round >= DESK_WARMUP {
            latencies.push(shown.received.saturating_duration_since(asked));
        }
        // Declined, the agency may ask again: a new request and a new notification.
        api.reject(&doctor, &request_id).await;
    }
    latencies.sort();
    let at = |q: f64| {
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        ms(latencies[index])
    };
    println!(
        "join request created -> Notify on the session bus: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms over {} requests",
        at(0.50),
        at(0.90),
        at(0.99),
        ms(latencies[latencies.len() - 1]),
        latencies.len()
    );
    let notified = daemon.all().len();
    println!(
        "notifications shown: {notified} for {} join requests",
        DESK_WARMUP + DESK_REQUESTS
    );
    app.quit().await;
}

fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

fn report_memory(screen: &str, processes: &[(String, u64, u64)]) {
    for (name, pss_kib, rss_kib) in processes {
        println!("memory at {screen}: {name}: PSS {pss_kib} KiB, RSS {rss_kib} KiB");
    }
    let total: u64 = processes.iter().map(|(_, pss, _)| pss).sum();
    println!("memory at {screen}: total PSS {} MiB", total / 1024);
}

/// PSS and RSS (KiB) of every process below `root` except the drivers themselves.
fn process_tree_memory(root: u32) -> Vec<(String, u64, u64)> {
    let mut result = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        stack.extend(children(pid));
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        if name.is_empty() || name == "tauri-driver" || name.starts_with("WebKitWebDriver") {
            continue;
        }
        let rollup =
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        result.push((name, field_kib(&rollup, "Pss:"), field_kib(&rollup, "Rss:")));
    }
    result
}

fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

fn field_kib(rollup: &str, field: &str) -> u64 {
    rollup
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}
