//! An isolated desktop session: temporary HOME and XDG directories, a virtual X display, a
//! private D-Bus session bus, and GNOME Keyring unlocked on that bus as the Secret Service.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::process::{wait_for_line, ChildGuard};

const KEYRING_PASSWORD: &str = "e2e-keyring-password";

pub struct IsolatedSession {
    // Field order is drop order: processes stop before their directories are removed.
    _keyring: ChildGuard,
    _bus: ChildGuard,
    _display: ChildGuard,
    bus_address: String,
    display: String,
    home: TempDir,
}

impl IsolatedSession {
    pub fn start() -> IsolatedSession {
        let home = tempfile::Builder::new()
            .prefix("consult-e2e-home-")
            .tempdir()
            .unwrap_or_else(|error| panic!("cannot create a temporary HOME: {error}"));
        for dir in ["config", "data/keyrings", "cache", "runtime"] {
            std::fs::create_dir_all(home.path().join(dir))
                .unwrap_or_else(|error| panic!("cannot create {dir}: {error}"));
        }
        set_private(&home.path().join("runtime"));

        let (display_guard, display) = start_display();
        let (bus_guard, bus_address) = start_bus(home.path());
        let keyring = start_keyring(home.path(), &bus_address);

        IsolatedSession {
            _keyring: keyring,
            _bus: bus_guard,
            _display: display_guard,
            bus_address,
            display,
            home,
        }
    }

    /// The X display, e.g. `:99`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The private D-Bus session bus, e.g. `unix:path=/tmp/dbus-…,guid=…`.
    pub fn bus_address(&self) -> &str {
        &self.bus_address
    }

    /// Calls `interface.method` on `destination`'s `object` on this session's bus with `gdbus`
    /// (another process, as a real client would): its printed reply, or gdbus's error text.
    /// `args` are gdbus's textual arguments and may start with "-".
    pub fn gdbus_call(
        &self,
        destination: &str,
        object: &str,
        method: &str,
        args: &[&str],
    ) -> Result<String, String> {
        let output = Command::new("gdbus")
            .args([
                "call",
                "--session",
                "--dest",
                destination,
                "--object-path",
                object,
                "--method",
                method,
                "--",
            ])
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .output()
            .unwrap_or_else(|error| panic!("cannot run gdbus: {error}"));
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The app's log directory in this session: Tauri's `app_log_dir` on Linux
    /// (`$XDG_DATA_HOME/<identifier>/logs`).
    pub fn app_log_dir(&self) -> PathBuf {
        self.home.path().join("data/app.consult.desktop/logs")
    }

    /// The environment every process of this session runs with.
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        let home = self.home.path();
        let pairs: Vec<(&str, OsString)> = vec![
            ("HOME", home.into()),
            ("XDG_CONFIG_HOME", home.join("config").into()),
            ("XDG_DATA_HOME", home.join("data").into()),
            ("XDG_CACHE_HOME", home.join("cache").into()),
            ("XDG_RUNTIME_DIR", home.join("runtime").into()),
            ("DISPLAY", self.display.clone().into()),
            ("DBUS_SESSION_BUS_ADDRESS", self.bus_address.clone().into()),
            ("GDK_BACKEND", "x11".into()),
            // Xvfb has no GPU; software rendering keeps screenshots reliable.
            ("WEBKIT_DISABLE_COMPOSITING_MODE", "1".into()),
            ("LIBGL_ALWAYS_SOFTWARE", "1".into()),
            ("NO_AT_BRIDGE", "1".into()),
        ];
        pairs
            .into_iter()
            .map(|(key, value)| (OsString::from(key), value))
            .collect()
    }

    /// Looks a secret up in this session's keychain, as any Secret Service client would.
    pub fn keychain_lookup(&self, attributes: &[(&str, &str)]) -> Option<String> {
        let mut command = Command::new("secret-tool");
        command.arg("lookup");
        for (key, value) in attributes {
            command.arg(key).arg(value);
        }
        let output = command
            .envs(self.env())
            .output()
            .unwrap_or_else(|error| panic!("cannot run secret-tool: {error}"));
        let secret = String::from_utf8_lossy(&output.stdout).to_string();
        (output.status.success() && !secret.is_empty()).then_some(secret)
    }

    /// Every file under this session's HOME whose bytes contain `needle`: where a secret must
    /// never be found (settings, webview storage, caches, logs written there).
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        scan(self.home.path(), needle.as_bytes(), &mut found);
        found
    }
}

fn scan(dir: &Path, needle: &[u8], found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            scan(&path, needle, found);
        } else if kind.is_file() {
            if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|window| window == needle) {
                    found.push(path);
                }
            }
        }
    }
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

/// Xvfb picks a free display number itself and writes it to fd 1 (`-displayfd 1`).
fn start_display() -> (ChildGuard, String) {
    let mut guard = ChildGuard::spawn(
        "Xvfb",
        Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let number = wait_for_line(
        "Xvfb",
        guard.take_stdout(),
        Duration::from_secs(20),
        |line| line.trim().parse::<u32>().ok(),
    );
    (guard, format!(":{number}"))
}

fn start_bus(home: &Path) -> (ChildGuard, String) {
    let mut guard = ChildGuard::spawn(
        "dbus-daemon",
        Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .env("HOME", home)
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    let address = wait_for_line(
        "dbus-daemon",
        guard.take_stdout(),
        Duration::from_secs(20),
        |line| line.starts_with("unix:").then(|| line.trim().to_owned()),
    );
    (guard, address)
}

/// GNOME Keyring as the Secret Service on the private bus, with a `login` keyring that is
/// unlocked by the password given on stdin (the way a desktop session unlocks it at login).
fn start_keyring(home: &Path, bus_address: &str) -> ChildGuard {
    let keyrings = home.join("data/keyrings");
    std::fs::write(keyrings.join("default"), "login")
        .unwrap_or_else(|error| panic!("cannot write the default keyring name: {error}"));
    let mut guard = ChildGuard::spawn(
        "gnome-keyring-daemon",
        Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_RUNTIME_DIR", home.join("runtime"))
            .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    if let Some(mut stdin) = guard.take_stdin() {
        let _ = stdin.write_all(KEYRING_PASSWORD.as_bytes());
    }
    wait_for_bus_name(bus_address, "org.freedesktop.secrets", &mut guard);
    guard
}

fn wait_for_bus_name(bus_address: &str, name: &str, owner: &mut ChildGuard) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        owner.assert_running();
        let output = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
            .output();
        if let Ok(output) = output {
            if String::from_utf8_lossy(&output.stdout).contains("boolean true") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{name} did not appear on the session bus");
}
