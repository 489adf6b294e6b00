//! packaging/kiosk/: the systemd unit passes `systemd-analyze verify`, and the wrapper cage
//! runs maps the app's end the way the unit's restart policy needs (cage 0.1.4 itself always
//! exits 0): the administrator's exit (64) is a clean stop, anything else ends its parent, cage,
//! with SIGTERM. A shell stands in for cage.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIT: &str = "consult-kiosk.service";
const WRAPPER: &str = "consult-kiosk-session";
const ADMINISTRATOR_EXIT_CODE: i32 = 64;

fn kiosk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/kiosk")
}

fn unit_text() -> String {
    std::fs::read_to_string(kiosk_dir().join(UNIT)).unwrap()
}

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `systemd-analyze verify` on `unit` written into `dir`; None when the tool is missing.
fn verify(dir: &Path, unit: &str) -> Option<Output> {
    let path = dir.join(UNIT);
    std::fs::write(&path, unit).unwrap();
    match Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
    {
        Ok(output) => Some(output),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => panic!("cannot run systemd-analyze: {error}"),
    }
}

#[test]
fn the_kiosk_unit_verifies() {
    let unit = unit_text();
    for line in [
        "User=consult-kiosk",
        "PAMName=login",
        "TTYPath=/dev/tty1",
        "Conflicts=getty@tty1.service",
        "ExecStart=/usr/bin/cage -d -- /usr/lib/consult/consult-kiosk-session /usr/bin/consult",
        "Restart=on-failure",
        "Type=notify",
        "NotifyAccess=all",
        "WatchdogSec=30",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line:?}");
    }
    // verify checks that ExecStart's program exists: cage need not be installed here, so the
    // copy runs a stand-in at another path; every other line is the unit's own.
    let dir = tempfile::tempdir().unwrap();
    let cage = dir.path().join("cage");
    executable(&cage, "#!/bin/sh\nexit 0\n");
    let rewritten = unit.replace("/usr/bin/cage", &cage.display().to_string());
    let Some(output) = verify(dir.path(), &rewritten) else {
        eprintln!("SKIPPED: systemd-analyze is not installed (Debian: systemd)");
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // A misspelled key is only a warning: none is allowed either.
    assert!(stderr.trim().is_empty(), "systemd-analyze warns:\n{stderr}");

    // The check can fail: a missing program is refused.
    let missing = unit.replace("/usr/bin/cage", "/nonexistent/cage");
    let output = verify(dir.path(), &missing).unwrap();
    assert!(
        !output.status.success(),
        "a missing ExecStart program passed"
    );
}

/// Runs the wrapper with `app` under a shell standing in for cage, which reports the wrapper's
/// status when it survives. Returns the stand-in's status and output.
fn under_cage(app: &[&str]) -> (std::process::ExitStatus, String) {
    let wrapper = kiosk_dir().join(WRAPPER);
    let output = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" "$@"; echo "wrapper=$?""#)
        .arg(&wrapper)
        .args(app)
        .output()
        .unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn the_administrators_exit_stops_the_kiosk_cleanly() {
    let (status, stdout) = under_cage(&["sh", "-c", &format!("exit {ADMINISTRATOR_EXIT_CODE}")]);
    assert!(status.success(), "{status}");
    assert_eq!(
        stdout.trim(),
        "wrapper=0",
        "cage lives on and sees a clean end"
    );
}

#[test]
fn any_other_end_of_the_app_ends_cage_for_a_restart() {
    for app in [
        vec!["sh", "-c", "exit 3"],
        vec!["sh", "-c", "exit 0"],
        vec!["sh", "-c", "kill -KILL $$"],
        vec!["/nonexistent/consult"],
    ] {
        let (status, stdout) = under_cage(&app);
        assert_eq!(
            status.signal(),
            Some(15),
            "{app:?}: cage got no SIGTERM ({status})"
        );
        assert!(stdout.is_empty(), "{app:?}: {stdout}");
    }
}

#[test]
fn the_wrapper_runs_the_app_with_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("args");
    let app = dir.path().join("app");
    executable(
        &app,
        &format!(
            "#!/bin/sh\nprintf '%s|' \"$@\" > '{}'\nexit {ADMINISTRATOR_EXIT_CODE}\n",
            seen.display()
        ),
    );
    let app = app.display().to_string();
    let (status, _) = under_cage(&[&app, "--one", "two words"]);
    assert!(status.success(), "{status}");
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "--one|two words|");
    // The wrapper is installed executable.
    let mode = std::fs::metadata(kiosk_dir().join(WRAPPER))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "{mode:o}");
}

#[test]
fn the_wrapper_and_the_app_agree_on_the_administrators_exit_code() {
    let wrapper = std::fs::read_to_string(kiosk_dir().join(WRAPPER)).unwrap();
    assert!(wrapper.contains(&format!("ADMINISTRATOR_EXIT={ADMINISTRATOR_EXIT_CODE}\n")));
    let shell =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kiosk_shell.rs"))
            .unwrap();
    assert!(shell.contains(&format!(
        "pub const ADMINISTRATOR_EXIT_CODE: i32 = {ADMINISTRATOR_EXIT_CODE};"
    )));
}
