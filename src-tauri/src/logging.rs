//! Logs go to stderr and, once the app is set up, to `consult.log` in the app's log directory
//! (`consult_core::logfile`: rotated by size, private to the user), filtered by `CONSULT_LOG`
//! (e.g. `debug`, `consult_core=trace`).
//! Nothing logged anywhere in the app may contain a token, a password or a patient's name.

use std::path::Path;
use std::sync::OnceLock;

use consult_core::logfile::{LogFile, LogFileError};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

/// The file writer of the one subscriber; attached to a directory by [`attach`].
static FILE: OnceLock<LogFile> = OnceLock::new();

pub fn init() {
    let filter = EnvFilter::try_from_env("CONSULT_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tao=warn,wry=warn"));
    let file = FILE.get_or_init(LogFile::default).clone();
    // A second init (e.g. in tests) is harmless; keep the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(
            fmt::layer()
                .with_ansi(false)
                .with_writer(move || file.clone()),
        )
        .try_init();
}

/// From now on, logs also go to `dir/consult.log`.
pub fn attach(dir: &Path) -> Result<(), LogFileError> {
    let path = FILE.get_or_init(LogFile::default).attach(dir)?;
    tracing::info!(path = %path.display(), version = env!("CARGO_PKG_VERSION"), "logging to a file");
    Ok(())
}
