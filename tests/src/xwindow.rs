//! A real X window manager (openbox) on an [`IsolatedSession`]'s display, and the app's window
//! as the window manager and a person at the keyboard see it: `xdotool`, `wmctrl`, `xprop`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::ChildGuard;
use crate::session::IsolatedSession;

/// Openbox on the session's display, with its default configuration (Alt+F4 closes).
pub struct WindowManager {
    display: String,
    _openbox: ChildGuard,
}

impl WindowManager {
    pub fn start(session: &IsolatedSession) -> WindowManager {
        let display = session.display().to_owned();
        let log = crate::paths::artifacts_dir()
            .join(format!("openbox-{}.log", display.trim_start_matches(':')));
        // Once in a full parallel run openbox exited at start with status 1 (not reproduced
        // alone); a second start is tried, and its stderr is kept to say why.
        for attempt in 1..=2 {
            let mut openbox = ChildGuard::spawn(
                "openbox",
                Command::new("openbox")
                    .arg("--sm-disable")
                    .envs(session.env())
                    .stdout(Stdio::null())
                    .stderr(crate::process::log_file(&log)),
            );
            let deadline = Instant::now() + Duration::from_secs(20);
            // `wmctrl -m` names the window manager once it owns the screen.
            loop {
                if run(&display, "wmctrl", &["-m"]).is_some_and(|out| out.contains("Openbox")) {
                    return WindowManager {
                        display,
                        _openbox: openbox,
                    };
                }
                if let Some(status) = openbox.try_wait() {
                    let why = std::fs::read_to_string(&log).unwrap_or_default();
                    assert!(attempt < 2, "openbox exited early ({status}): {why}");
                    eprintln!("openbox exited early ({status}), starting it again: {why}");
                    break;
                }
                assert!(Instant::now() < deadline, "openbox did not start");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        unreachable!("the second attempt returns or panics")
    }

    /// The visible window titled exactly `title`, once there is one.
    pub fn wait_window(&self, title: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(id) = self.window(title) {
                return id;
            }
            assert!(
                Instant::now() < deadline,
                "no window titled {title:?} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The visible window titled exactly `title`, if any.
    pub fn window(&self, title: &str) -> Option<String> {
        let pattern = format!("^{title}$");
        run(
            &self.display,
            "xdotool",
            &["search", "--onlyvisible", "--name", &pattern],
        )
        .and_then(|out| out.lines().next().map(str::to_owned))
    }

    /// The windows the window manager manages whose `_NET_WM_PID` is one of `pids`, numbered
    /// as `xdotool` numbers them (decimal), oldest first.
    pub fn windows_of(&self, pids: &[u32]) -> Vec<String> {
        let listed = run(&self.display, "wmctrl", &["-l", "-p"]).unwrap_or_default();
        listed
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let id = fields.next()?;
                let pid: u32 = fields.nth(1)?.parse().ok()?;
                let id = u32::from_str_radix(id.trim_start_matches("0x"), 16).ok()?;
                pids.contains(&pid).then(|| id.to_string())
            })
            .collect()
    }

    /// Whether the window manager has the window in fullscreen (`_NET_WM_STATE_FULLSCREEN`).
    pub fn is_fullscreen(&self, id: &str) -> bool {
        run(&self.display, "xprop", &["-id", id, "_NET_WM_STATE"])
            .is_some_and(|out| out.contains("_NET_WM_STATE_FULLSCREEN"))
    }

    /// The window that has the focus, as `xdotool` numbers it.
    pub fn active_window(&self) -> Option<String> {
        run(&self.display, "xdotool", &["getactivewindow"]).map(|out| out.trim().to_owned())
    }

    /// Presses keys as a person would (XTEST): the window manager sees them first.
    pub fn key(&self, keys: &str) {
        self.must(&["xdotool", "key", "--clearmodifiers", keys]);
    }

    /// The window manager's polite close (`WM_DELETE_WINDOW`), as its close button sends.
    pub fn close(&self, id: &str) {
        self.must(&["wmctrl", "-i", "-c", id]);
    }

    /// Asks the window manager to take the window out of fullscreen.
    pub fn leave_fullscreen(&self, id: &str) {
        self.must(&["wmctrl", "-i", "-r", id, "-b", "remove,fullscreen"]);
    }

    /// Asks the window manager to iconify the window.
    pub fn minimize(&self, id: &str) {
        self.must(&["xdotool", "windowminimize", id]);
    }

    /// Gives the focus to another window (through the window manager).
    pub fn activate(&self, id: &str) {
        self.must(&["wmctrl", "-i", "-a", id]);
    }

    /// Starts another X client with a window titled `title` (an `xmessage`), on this display.
    pub fn other_window(&self, title: &str) -> ChildGuard {
        ChildGuard::spawn(
            "xmessage",
            Command::new("xmessage")
                .args([
                    "-title",
                    title,
                    "-geometry",
                    "300x100+10+10",
                    "another window",
                ])
                .env("DISPLAY", &self.display)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
    }

    fn must(&self, command: &[&str]) {
        let status = Command::new(command[0])
            .args(&command[1..])
            .env("DISPLAY", &self.display)
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", command[0]));
        assert!(status.success(), "{command:?} failed: {status}");
    }
}

/// The output of an X tool on `display`, when it succeeds.
fn run(display: &str, program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program)
        .args(args)
        .env("DISPLAY", display)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}
