//! Measures the desktop app as a person meets it: cold start to the login screen rendered, and
//! the memory of the app and its WebKit processes at that screen. Run by `scripts/bench`.
//!
//! Cold start is timed from asking tauri-driver for a session (which launches the app) until
//! the login form's email field is displayed; it includes WebKitWebDriver's own start, which a
//! user does not pay, so it is an upper bound.

use std::time::{Duration, Instant};

use consult_e2e::{App, AppLaunch, ClinicServer, IsolatedSession};

const RUNS: usize = 10;

#[tokio::main]
async fn main() {
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
    for (name, pss_kib, rss_kib) in &last {
        println!("memory at login screen: {name}: PSS {pss_kib} KiB, RSS {rss_kib} KiB");
    }
    let total: u64 = last.iter().map(|(_, pss, _)| pss).sum();
    println!("memory at login screen: total PSS {} MiB", total / 1024);
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
