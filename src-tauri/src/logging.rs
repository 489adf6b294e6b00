//! Logs go to stderr, filtered by `CONSULT_LOG` (e.g. `debug`, `consult_core=trace`).
//! Nothing logged anywhere in the app may contain a token or a password.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_env("CONSULT_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tao=warn,wry=warn"));
    // A second init (e.g. in tests) is harmless; keep the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
