//! Start-up timing: where the time goes between the process's start and the first painted screen.
//! Steps are logged at debug level under the `consult::startup` target
//! (`CONSULT_LOG=info,consult::startup=debug`); the first paint, reported by the UI, at info.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use consult_types::FirstPaintArgs;

const TARGET: &str = "consult::startup";

static STARTED: OnceLock<Instant> = OnceLock::new();
static PAINTED: AtomicBool = AtomicBool::new(false);

/// Called first thing in `main`: the times below count from here.
pub fn mark_process_start() {
    STARTED.get_or_init(Instant::now);
}

fn since_start_ms() -> f64 {
    STARTED
        .get()
        .map_or(0.0, |started| started.elapsed().as_secs_f64() * 1000.0)
}

/// One step of start-up is done.
pub fn step(name: &'static str) {
    tracing::debug!(target: TARGET, step = name, since_start_ms = since_start_ms(), "start-up step");
}

/// The UI's first screen has been painted (the first report only: a reloaded page paints again,
/// but that is not start-up). True when this was the first report.
pub fn first_paint(args: FirstPaintArgs) -> bool {
    if PAINTED.swap(true, Ordering::SeqCst) {
        return false;
    }
    // Whole milliseconds: `Date.now()` has no finer resolution.
    let painted_at_unix_ms = args.at_unix_ms.max(0.0).round() as u64;
    tracing::info!(
        target: TARGET,
        painted_at_unix_ms,
        since_start_ms = since_start_ms().round() as u64,
        "first screen painted"
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_paint_is_start_up() {
        mark_process_start();
        let paint = FirstPaintArgs {
            at_unix_ms: 1_764_763_200_000.0,
        };
        assert!(first_paint(paint));
        assert!(
            !first_paint(paint),
            "a reloaded page's paint is not start-up"
        );
        assert!(since_start_ms() >= 0.0);
    }
}
