//! The real clinic server binary, in demo mode, on a free loopback port.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::paths;
use crate::process::{log_file, wait_for_line, ChildGuard};

pub struct ClinicServer {
    process: ChildGuard,
    url: String,
    log: PathBuf,
    _data: TempDir,
}

impl ClinicServer {
    /// Starts `consult-server --demo` with a fresh SQLite database; `label` names its log file.
    pub fn start_demo(label: &str) -> ClinicServer {
        let data = tempfile::Builder::new()
            .prefix("consult-e2e-server-")
            .tempdir()
            .unwrap_or_else(|error| panic!("cannot create the server's data dir: {error}"));
        let log = paths::artifacts_dir().join(format!("{label}-server.log"));
        let mut process = ChildGuard::spawn(
            "consult-server",
            Command::new(paths::binary("consult-server"))
                .args(["--demo", "--bind", "127.0.0.1:0", "--data-dir"])
                .arg(data.path())
                .env("CONSULT_SERVER_LOG", "info")
                .stdout(Stdio::piped())
                .stderr(log_file(&log)),
        );
        let url = wait_for_line(
            "consult-server",
            process.take_stdout(),
            Duration::from_secs(60),
            |line| {
                line.strip_prefix("consult-server listening on ")
                    .map(|url| url.trim().to_owned())
            },
        );
        ClinicServer {
            process,
            url,
            log,
            _data: data,
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's log so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }
}
