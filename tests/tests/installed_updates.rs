//! In-app updates of the installed `.deb` (`/usr/bin/consult`), against a local HTTPS update
//! channel (`consult_e2e::updates`: a private CA the app trusts through `server_ca_file`, a
//! minisign key made per test with the Tauri CLI, the public half given in the machine-wide
//! file, the only place the app takes one from).
//!
//! Run by `scripts/check-package` as root after `apt-get install` of the package
//! (`CONSULT_E2E_APP=/usr/bin/consult`, nextest profile `installed`, one test at a time: each
//! writes `/etc/consult/config.toml` and puts back what was there). The default profile leaves
//! this file out.
//!
//! 1. A newer version, signed, is offered in a banner, installed with "Restart to update"
//!    (`dpkg -i` through sudo) and the app comes back: `dpkg-query` shows the new version, and a
//!    new `/usr/bin/consult` process paints its first screen. The newer package is CI's own
//!    `.deb` repacked with a higher `Version` (the binary inside is the same build).
//! 2. Refused, one test each: a signature by another key, a package changed after signing, an
//!    older version, an unreachable server: no banner, the installed version unchanged, the app keeps working,
//!    and the log and "Copy diagnostics" say what the last check found.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use consult_e2e::updates::{SigningKey, UpdateServer};
use consult_e2e::{paths, App, AppLaunch, ClinicServer, IsolatedSession};

const INSTALLED: &str = "/usr/bin/consult";
const MACHINE_FILE: &str = "/etc/consult/config.toml";
/// The first check comes 10 s after the first screen; the download of a package takes a moment.
const CHECK_WAIT: Duration = Duration::from_secs(60);

fn installed_version() -> String {
    let output = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "consult"])
        .output()
        .expect("dpkg-query runs");
    assert!(output.status.success(), "consult is not installed");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `0.1.0` → `0.1.1`.
fn next_patch(version: &str) -> String {
    let mut parts: Vec<u64> = version
        .split(['.', '-', '~', '+'])
        .take(3)
        .map(|part| part.parse().expect("a numeric version"))
        .collect();
    parts[2] += 1;
    format!("{}.{}.{}", parts[0], parts[1], parts[2])
}

/// CI's package, the one installed (`target/packages/*.deb`).
fn ci_package() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                paths::workspace_root().join(dir)
            }
        })
        .unwrap_or_else(|| paths::workspace_root().join("target"));
    let packages = target.join("packages");
    std::fs::read_dir(&packages)
        .unwrap_or_else(|error| panic!("{}: {error}", packages.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .expect("scripts/package made a .deb")
}

/// The CI package with `Version: version`, built with dpkg-deb into `dir`.
fn repack(deb: &Path, version: &str, dir: &Path) -> PathBuf {
    let root = dir.join("root");
    run(Command::new("dpkg-deb").arg("-R").arg(deb).arg(&root));
    let control = root.join("DEBIAN/control");
    let text = std::fs::read_to_string(&control).expect("the control file");
    let text: String = text
        .lines()
        .map(|line| {
            if line.starts_with("Version:") {
                format!("Version: {version}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&control, text).expect("the control file");
    let out = dir.join(format!("consult_{version}_amd64.deb"));
    // Fast compression: the tests need a valid package, not a small one.
    run(Command::new("dpkg-deb")
        .args(["-Zgzip", "-z1", "--root-owner-group", "--build"])
        .arg(&root)
        .arg(&out));
    out
}

fn run(command: &mut Command) {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `/etc/consult/config.toml` for one test; what was there before is put back on drop.
struct MachineFile {
    before: Option<Vec<u8>>,
    /// `/etc/consult` did not exist: it goes too.
    made_dir: bool,
}

impl MachineFile {
    fn write(text: &str) -> MachineFile {
        let before = std::fs::read(MACHINE_FILE).ok();
        let made_dir = !Path::new("/etc/consult").exists();
        std::fs::create_dir_all("/etc/consult").expect("/etc/consult (run as root)");
        std::fs::write(MACHINE_FILE, text).expect("the machine-wide file (run as root)");
        MachineFile { before, made_dir }
    }

    fn updates(server: &UpdateServer, endpoint: &str, key: &SigningKey) -> MachineFile {
        MachineFile::write(&format!(
            "server_ca_file = {}\n[updates]\nendpoint = {}\npublic_key = {}\n",
            toml_string(&server.ca_file().display().to_string()),
            toml_string(endpoint),
            toml_string(&key.public),
        ))
    }
}

impl Drop for MachineFile {
    fn drop(&mut self) {
        let _ = match &self.before {
            Some(before) => std::fs::write(MACHINE_FILE, before),
            None => std::fs::remove_file(MACHINE_FILE),
        };
        if self.made_dir {
            let _ = std::fs::remove_dir("/etc/consult");
        }
    }
}

fn toml_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string")
}

/// Puts CI's package back (a test that installed a newer one), so the later steps of
/// `scripts/check-package` find what they expect.
struct Reinstall(PathBuf);

impl Drop for Reinstall {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").arg("-i").arg(&self.0).output();
    }
}

fn log_text(session: &IsolatedSession) -> String {
    std::fs::read_to_string(session.app_log_dir().join("consult.log")).unwrap_or_default()
}

async fn wait_for_log(session: &IsolatedSession, needle: &str) -> String {
    let deadline = Instant::now() + CHECK_WAIT;
    loop {
        let text = log_text(session);
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "the log never said {needle:?}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn launch(session: &IsolatedSession, server: &ClinicServer, label: &str) -> App {
    App::launch(AppLaunch {
        session,
        server_url: server.url().to_owned(),
        label: label.to_owned(),
        env: Vec::new(),
    })
    .await
}

/// Signs in, opens the settings, and returns "Copy diagnostics"' report.
async fn diagnostics(app: &App) -> String {
    app.sign_in_demo_doctor().await;
    app.click("#open-settings").await;
    app.click("#copy-diagnostics").await;
    app.wait_for("#diagnostics-text").await;
    app.value_of("#diagnostics-text").await
}

/// Processes whose executable is `path` (not a deleted one a package replaced).
fn processes_of(path: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == Path::new(path))
        })
        .collect()
}

fn assert_installed_app() {
    assert_eq!(
        paths::app_binary(),
        Path::new(INSTALLED),
        "run with CONSULT_E2E_APP={INSTALLED} after installing the package (scripts/check-package)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_newer_signed_version_is_offered_installed_and_the_app_comes_back() {
    assert_installed_app();
    let before = installed_version();
    let newer = next_patch(&before);
    let original = ci_package();
    let work = tempfile::tempdir().expect("a temporary directory");
    let package = repack(&original, &newer, work.path());
    let key = SigningKey::generate();
    let signature = key.sign(&package, &newer);
    let updates = UpdateServer::start();
    updates.offer(
        &newer,
        &signature,
        std::fs::read(&package).expect("the package"),
    );
    let _machine = MachineFile::updates(&updates, &updates.endpoint(), &key);
    let _reinstall = Reinstall(original);

    let session = IsolatedSession::start();
    let server = ClinicServer::start_demo("update-install");
    let app = launch(&session, &server, "update-install").await;
    app.sign_in_demo_doctor().await;
    let banner = app
        .wait_for_text("#update-banner", |text| text.contains("is ready"))
        .await;
    assert!(
        banner.contains(&format!("Consult {newer} is ready.")),
        "{banner}"
    );
    assert!(app.is_present("#update-later").await);
    updates
        .wait_for_request("/pkg/consult.deb", Duration::from_secs(1))
        .await;
    assert_eq!(
        installed_version(),
        before,
        "nothing installed before asking"
    );
    app.screenshot("update-ready").await;

    app.click("#update-restart").await;
    // dpkg -i through sudo, then AppHandle::restart: the WebDriver session goes with the old
    // process, so from here the test watches the machine.
    let deadline = Instant::now() + CHECK_WAIT;
    while installed_version() != newer {
        assert!(
            Instant::now() < deadline,
            "{newer} was not installed; the app's log:\n{}",
            log_text(&session)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The new binary runs (the old process's executable shows as deleted once dpkg replaced
    // it) and paints its first screen.
    let deadline = Instant::now() + CHECK_WAIT;
    let restarted = loop {
        let running = processes_of(INSTALLED);
        let painted = log_text(&session).matches("first screen painted").count();
        if !running.is_empty() && painted >= 2 {
            break running;
        }
        assert!(
            Instant::now() < deadline,
            "the app did not come back (processes {running:?}, {painted} paints); log:\n{}",
            log_text(&session)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(log_text(&session).contains("update: installed, restarting"));
    // The restarted app is this test's (started by the app it launched): end it by its id.
    for pid in restarted {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
    drop(app);
}

/// Launches the app against `updates` at `endpoint`, waits for its first check to end with
/// `logged`, and checks that nothing was offered or installed and the app keeps working.
async fn refused(
    label: &str,
    updates: &UpdateServer,
    endpoint: &str,
    key: &SigningKey,
    logged: &str,
) -> String {
    let before = installed_version();
    let _machine = MachineFile::updates(updates, endpoint, key);
    let session = IsolatedSession::start();
    let server = ClinicServer::start_demo(label);
    let app = launch(&session, &server, label).await;
    let log = wait_for_log(&session, logged).await;
    assert!(
        !app.is_present("#update-banner").await,
        "nothing is offered"
    );
    let report = diagnostics(&app).await;
    assert!(!app.is_present("#update-banner").await);
    assert_eq!(installed_version(), before, "nothing was installed");
    app.quit().await;
    assert!(
        !log.contains("update check: downloaded and verified"),
        "{log}"
    );
    report
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_signed_by_another_key_is_refused() {
    assert_installed_app();
    let newer = next_patch(&installed_version());
    let work = tempfile::tempdir().expect("a temporary directory");
    let package = repack(&ci_package(), &newer, work.path());
    let trusted = SigningKey::generate();
    let other = SigningKey::generate();
    let updates = UpdateServer::start();
    updates.offer(
        &newer,
        &other.sign(&package, &newer),
        std::fs::read(&package).expect("the package"),
    );
    let report = refused(
        "update-other-key",
        &updates,
        &updates.endpoint(),
        &trusted,
        "update check failed",
    )
    .await;
    // Refused after the download: the signature is what stopped it.
    assert!(updates
        .requests()
        .iter()
        .any(|path| path == "/pkg/consult.deb"));
    assert!(
        report.contains("last update check: failed: the update's signature does not match"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_package_changed_after_signing_is_refused() {
    assert_installed_app();
    let newer = next_patch(&installed_version());
    let work = tempfile::tempdir().expect("a temporary directory");
    let package = repack(&ci_package(), &newer, work.path());
    let key = SigningKey::generate();
    let signature = key.sign(&package, &newer);
    let mut bytes = std::fs::read(&package).expect("the package");
    // One byte of the data archive, after signing.
    let last = bytes.len() - 100;
    bytes[last] ^= 0x01;
    let updates = UpdateServer::start();
    updates.offer(&newer, &signature, bytes);
    let report = refused(
        "update-tampered",
        &updates,
        &updates.endpoint(),
        &key,
        "update check failed",
    )
    .await;
    assert!(updates
        .requests()
        .iter()
        .any(|path| path == "/pkg/consult.deb"));
    assert!(
        report.contains("last update check: failed: the update's signature does not match"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_version_is_not_offered() {
    assert_installed_app();
    let work = tempfile::tempdir().expect("a temporary directory");
    let package = repack(&ci_package(), "0.0.1", work.path());
    let key = SigningKey::generate();
    let updates = UpdateServer::start();
    updates.offer(
        "0.0.1",
        &key.sign(&package, "0.0.1"),
        std::fs::read(&package).expect("the package"),
    );
    let report = refused(
        "update-older",
        &updates,
        &updates.endpoint(),
        &key,
        "update check: up to date",
    )
    .await;
    // Asked, and nothing downloaded.
    let requests = updates.requests();
    assert!(
        requests.iter().any(|path| path.ends_with("/latest.json")),
        "{requests:?}"
    );
    assert!(
        !requests.iter().any(|path| path.contains("/pkg/")),
        "{requests:?}"
    );
    // The endpoint's placeholders were filled in.
    assert!(
        requests
            .iter()
            .any(|path| path.starts_with("/update/linux/x86_64/")),
        "{requests:?}"
    );
    assert!(report.contains("last update check: up to date"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_update_server_changes_nothing() {
    assert_installed_app();
    let key = SigningKey::generate();
    let updates = UpdateServer::start();
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("https://127.0.0.1:{closed}/latest.json");
    let report = refused(
        "update-unreachable",
        &updates,
        &endpoint,
        &key,
        "update check failed",
    )
    .await;
    assert!(
        report.contains("last update check: failed: the update server could not be reached"),
        "{report}"
    );
}
