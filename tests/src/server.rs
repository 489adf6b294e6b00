//! The real clinic server binary, in demo mode, on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::paths;
use crate::process::{log_file, wait_for_line, ChildGuard};

pub struct ClinicServer {
    process: ChildGuard,
    url: String,
    log: PathBuf,
    /// The configuration file given with `--config`, kept for restarts.
    config_file: Option<PathBuf>,
    data: TempDir,
}

impl ClinicServer {
    /// Starts `consult-server --demo` with a fresh SQLite database; `label` names its log file.
    pub fn start_demo(label: &str) -> ClinicServer {
        ClinicServer::start(label, None)
    }

    /// Like [`ClinicServer::start_demo`], with `config_toml` as its configuration file
    /// (`--config`), for settings that have no flag such as `[jitsi]` or the login limits.
    pub fn start_demo_with_config(label: &str, config_toml: &str) -> ClinicServer {
        ClinicServer::start(label, Some(config_toml))
    }

    fn start(label: &str, config_toml: Option<&str>) -> ClinicServer {
        let data = tempfile::Builder::new()
            .prefix("consult-e2e-server-")
            .tempdir()
            .unwrap_or_else(|error| panic!("cannot create the server's data dir: {error}"));
        let log = paths::artifacts_dir().join(format!("{label}-server.log"));
        let config_file = config_toml.map(|toml| {
            let file = data.path().join("server.toml");
            std::fs::write(&file, toml)
                .unwrap_or_else(|error| panic!("cannot write {}: {error}", file.display()));
            file
        });
        let (process, url) = spawn(
            "127.0.0.1:0",
            data.path(),
            config_file.as_deref(),
            log_file(&log),
        );
        ClinicServer {
            process,
            url,
            log,
            config_file,
            data,
        }
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's process id (for reading its memory under `/proc`).
    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// The server's log so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Stops the server (SIGTERM: a graceful stop, as an administrator's restart) if it is
    /// running, and starts it again on the same port, data directory (database, signing key)
    /// and configuration. Its log continues in the same file.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Stops the server, throws away the signing key it generated and starts it again with a
    /// new one, as an administrator's key rotation: every access token it issued is refused
    /// from now on; refresh tokens (kept in its database) stay valid.
    pub fn restart_with_new_signing_key(&mut self) {
        self.stop();
        let key = self.data.path().join("jwt-signing-key");
        std::fs::remove_file(&key)
            .unwrap_or_else(|error| panic!("cannot remove {}: {error}", key.display()));
        self.start_again();
    }

    /// Starts the server again after [`ClinicServer::stop`], on the same port, data and
    /// configuration. Retries briefly while the old socket is still being released.
    pub fn start_again(&mut self) {
        let address = self
            .url
            .strip_prefix("http://")
            .unwrap_or(&self.url)
            .trim_end_matches('/')
            .to_owned();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpListener::bind(&address).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "port {address} still taken after the server stopped"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.log)
            .unwrap_or_else(|error| panic!("cannot reopen {}: {error}", self.log.display()));
        let (process, url) = spawn(
            &address,
            self.data.path(),
            self.config_file.as_deref(),
            Stdio::from(log),
        );
        assert_eq!(url, self.url, "the restarted server is on another address");
        self.process = process;
    }
}

/// Starts `consult-server --demo` and waits for its "listening on" line.
fn spawn(
    bind: &str,
    data_dir: &Path,
    config_file: Option<&Path>,
    log: Stdio,
) -> (ChildGuard, String) {
    let mut command = Command::new(paths::binary("consult-server"));
    command
        .args(["--demo", "--bind", bind, "--data-dir"])
        .arg(data_dir);
    if let Some(file) = config_file {
        command.arg("--config").arg(file);
    }
    let mut process = ChildGuard::spawn(
        "consult-server",
        command
            .env("CONSULT_SERVER_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log),
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
    (process, url)
}
