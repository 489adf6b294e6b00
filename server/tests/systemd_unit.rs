//! `packaging/server/`: the systemd unit passes `systemd-analyze verify`, keeps the exposure
//! score `systemd-analyze security` gives it today (a loosened unit fails), and its command line
//! starts the server with the example configuration; the sysusers.d entry creates its user.
//! `systemd-analyze` and `systemd-sysusers` come from Debian's
//! `systemd` package (scripts/lib.sh installs it); without it these tests fail, never skip.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

mod support;
use support::{assert_healthy, listening_url, server_command, BINARY};

const UNIT_NAME: &str = "consult-server.service";
/// Where the unit and the README install the binary, the configuration and the data.
const INSTALLED_BINARY: &str = "/usr/local/bin/consult-server";
const INSTALLED_CONFIG: &str = "/etc/consult-server/config.toml";
const STATE_DIR: &str = "/var/lib/consult-server";
/// The unit's exposure today, in tenths (systemd-analyze's `--threshold` unit): 1.1 "OK".
/// Anything above fails; PrivateNetwork= and IPAddressDeny= are what keep it above "SAFE", and a
/// server must reach its clients and its database.
const MAX_EXPOSURE_TENTHS: u32 = 11;

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/server")
}

fn unit_text() -> String {
    let path = packaging().join(UNIT_NAME);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The unit, with ExecStart's binary replaced by the one under test (verify insists that it
/// exists), written to a fresh directory under its own name.
fn unit_for_analysis() -> (tempfile::TempDir, PathBuf) {
    let text = unit_text();
    assert!(
        text.contains(&format!("ExecStart={INSTALLED_BINARY} ")),
        "ExecStart must run {INSTALLED_BINARY}, as server/README.md installs it"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(UNIT_NAME);
    std::fs::write(
        &path,
        text.replace(
            &format!("ExecStart={INSTALLED_BINARY} "),
            &format!("ExecStart={BINARY} "),
        ),
    )
    .expect("write unit");
    (dir, path)
}

async fn systemd_analyze(args: &[&str], unit: &Path) -> Output {
    match Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .env("SYSTEMD_COLORS", "0")
        .env("SYSTEMD_PAGER", "")
        .stdin(Stdio::null())
        .output()
        .await
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "systemd-analyze is not installed, so the server's systemd unit cannot be checked: \
             install Debian's `systemd` package (scripts/lib.sh's APT_PACKAGES has it)"
        ),
        Err(error) => panic!("cannot run systemd-analyze: {error}"),
    }
}

#[tokio::test]
async fn unit_passes_systemd_analyze_verify_without_warnings() {
    let (_dir, unit) = unit_for_analysis();
    let output = systemd_analyze(&["verify"], &unit).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "systemd-analyze verify failed ({}):\n{stdout}{stderr}",
        output.status
    );
    // verify exits 0 on an unknown or misplaced key and only warns: a typo must fail here.
    assert!(
        stdout.trim().is_empty() && stderr.trim().is_empty(),
        "systemd-analyze verify warned:\n{stdout}{stderr}"
    );
}

#[tokio::test]
async fn unit_exposure_stays_ok_or_better() {
    let (_dir, unit) = unit_for_analysis();
    let threshold = format!("--threshold={MAX_EXPOSURE_TENTHS}");
    let output = systemd_analyze(&["security", "--offline=yes", &threshold], &unit).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let overall = stdout
        .lines()
        .find_map(|line| {
            line.split_once(&format!("Overall exposure level for {UNIT_NAME}:"))
                .map(|(_, rest)| rest.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{stdout}{stderr}"));
    let mut words = overall.split_whitespace();
    let score: f64 = words
        .next()
        .and_then(|score| score.parse().ok())
        .unwrap_or_else(|| panic!("unreadable exposure level: {overall}"));
    let level = words.next().unwrap_or_default();
    assert!(
        ["OK", "SAFE", "PERFECT"].contains(&level),
        "exposure level {overall}: the unit was loosened"
    );
    assert!(
        output.status.success() && score <= f64::from(MAX_EXPOSURE_TENTHS) / 10.0,
        "exposure {overall} is above {}: the unit was loosened\n{stdout}{stderr}",
        f64::from(MAX_EXPOSURE_TENTHS) / 10.0
    );
}

#[test]
fn unit_keeps_the_documented_sandbox() {
    let text = unit_text();
    let settings: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .collect();
    // What server/README.md promises, spelled out: the score alone weighs some of these lightly.
    for required in [
        "User=consult-server",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "NoNewPrivileges=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet=",
        "SystemCallFilter=@system-service",
        "StateDirectory=consult-server",
        "ConfigurationDirectory=consult-server",
        "UMask=0077",
        "Restart=on-failure",
    ] {
        assert!(
            settings.contains(&required),
            "{UNIT_NAME} lacks the line {required:?}"
        );
    }
    for writable in ["ReadWritePaths=", "ReadOnlyPaths=", "InaccessiblePaths="] {
        assert!(
            !settings.iter().any(|line| line.starts_with(writable)),
            "{UNIT_NAME} sets {writable}: the state directory is the only place it writes"
        );
    }
}

/// ExecStart's arguments with the installed paths moved into `dir`.
fn exec_start_args(dir: &Path) -> Vec<String> {
    let text = unit_text();
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some(INSTALLED_BINARY));
    words
        .map(|word| match word {
            INSTALLED_CONFIG => dir.join("config.toml").display().to_string(),
            STATE_DIR => dir.join("state").display().to_string(),
            other => other.to_owned(),
        })
        .collect()
}

#[tokio::test]
async fn unit_command_line_serves_health_with_the_example_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        packaging().join("config.example.toml"),
        dir.path().join("config.toml"),
    )
    .expect("copy the example configuration");
    let args = exec_start_args(dir.path());
    assert!(
        args.iter().any(|arg| arg.ends_with("config.toml"))
            && args.iter().any(|arg| arg.ends_with("state")),
        "ExecStart must name {INSTALLED_CONFIG} and {STATE_DIR}: {args:?}"
    );
    let mut child = server_command(&[])
        .args(&args)
        // The example's own bind is a fixed port; the variable beats the file.
        .env("CONSULT_SERVER_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = listening_url(&mut stdout).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    assert_healthy(&client, &url).await;
    assert!(
        dir.path().join("state/consult.db").is_file(),
        "the database lives in the data directory the unit names"
    );
    child.kill().await.expect("stop the server");
}

#[tokio::test]
async fn sysusers_entry_creates_the_units_user() {
    let root = tempfile::tempdir().expect("tempdir");
    let entry = packaging().join("consult-server.sysusers");
    // Against an empty root: what it would create on a fresh machine, writing nothing.
    let output = match Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.path().display()))
        .arg("--dry-run")
        .arg(&entry)
        .stdin(Stdio::null())
        .output()
        .await
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "systemd-sysusers is not installed: install Debian's `systemd` package \
             (scripts/lib.sh's APT_PACKAGES has it)"
        ),
        Err(error) => panic!("cannot run systemd-sysusers: {error}"),
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "systemd-sysusers refused it:\n{said}"
    );
    assert!(
        said.contains("Creating group 'consult-server'")
            && said.contains("Creating user 'consult-server'"),
        "{said}"
    );
    let unit = unit_text();
    assert!(
        unit.contains("\nUser=consult-server\n") && unit.contains("\nGroup=consult-server\n"),
        "the unit runs as the user the sysusers entry creates"
    );
}
