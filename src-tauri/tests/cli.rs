//! The built `consult` binary's command line, run as a user would: `--help` and `--version`
//! answer and exit without a display; a command line it does not understand exits 2 saying so.

use std::process::Command;

fn consult(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_consult"))
        .args(args)
        // No display: anything past the command line would fail, so these prove it exits first.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("the binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn version_and_help_answer_without_a_display() {
    let (code, out, _) = consult(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("consult {}", env!("CARGO_PKG_VERSION")));
    let (code, out, _) = consult(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage: consult [--config PATH]"), "{out}");
}

#[test]
fn an_unknown_option_or_a_missing_config_file_exits_2_and_says_why() {
    let (code, out, err) = consult(&["--kiosk-off"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("unknown option --kiosk-off"), "{err}");
    assert!(err.contains("consult --help"), "{err}");
    let (code, _, err) = consult(&["--config", "/nonexistent/consult.toml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("the configuration file /nonexistent/consult.toml does not exist"),
        "{err}"
    );
}

#[test]
fn the_kiosk_chromium_policy_is_printed_for_the_clinics_jitsi_server() {
    let (code, out, err) = consult(&["--kiosk-chromium-policy", "https://meet.clinic.example"]);
    assert_eq!(code, 0, "{err}");
    let policy: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    let allowed = policy["URLAllowlist"].as_array().expect("an allowlist");
    assert!(allowed.contains(&serde_json::json!("https://meet.clinic.example")));
    assert!(allowed.contains(&serde_json::json!("http://127.0.0.1")));
    assert_eq!(policy["URLBlocklist"][0], "*");
    let (code, out, err) = consult(&["--kiosk-chromium-policy", "http://meet.clinic.example"]);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("HTTPS"), "{err}");
}
