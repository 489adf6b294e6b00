//! Child processes that die with the test, and reading the line a process announces itself with.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Kills (and reaps) the child when dropped, so a failing test leaves nothing running.
pub struct ChildGuard {
    name: String,
    child: Child,
}

impl ChildGuard {
    pub fn spawn(name: &str, command: &mut Command) -> ChildGuard {
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        ChildGuard {
            name: name.to_owned(),
            child,
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn take_stdout(&mut self) -> ChildStdout {
        self.child
            .stdout
            .take()
            .unwrap_or_else(|| panic!("{}: stdout was not piped", self.name))
    }

    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.child.stdin.take()
    }

    /// How the process exited, if it has.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .try_wait()
            .unwrap_or_else(|error| panic!("{}: cannot check its status: {error}", self.name))
    }

    /// Fails the test if the process has already exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early with {status}", self.name);
        }
    }

    /// Stops the process now (SIGTERM, then SIGKILL after a grace period).
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads lines from `stdout` (a child's stdout, or any pipe) until one satisfies `pick`, within
/// `timeout`. The rest of the output keeps being drained in the background so the process never
/// blocks on a full pipe.
pub fn wait_for_line<T: Send + 'static>(
    what: &str,
    stdout: impl std::io::Read + Send + 'static,
    timeout: Duration,
    pick: impl Fn(&str) -> Option<T> + Send + 'static,
) -> T {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut found = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if !found {
                if let Some(value) = pick(&line) {
                    found = true;
                    let _ = sender.send(value);
                }
            }
        }
    });
    receiver
        .recv_timeout(timeout)
        .unwrap_or_else(|_| panic!("{what} did not announce itself within {timeout:?}"))
}

/// Every process below `root` (children, theirs, and so on), from `/proc`.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut stack = children(root);
    while let Some(pid) = stack.pop() {
        stack.extend(children(pid));
        found.push(pid);
    }
    found
}

fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Whether `pid` is the main process of a call's Chromium: its profile is `consult-call-*`, and
/// it is not one of its zygotes or renderers (which have `--type=`).
pub fn is_call_browser(pid: u32) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let text = String::from_utf8_lossy(&cmdline);
    text.contains("chromium") && text.contains("consult-call-") && !text.contains("--type=")
}

/// The calls' main Chromium processes below `root` (not other tests' browsers).
pub fn call_browsers_below(root: u32) -> Vec<u32> {
    descendants(root)
        .into_iter()
        .filter(|pid| is_call_browser(*pid))
        .collect()
}

/// The process's name (`/proc/<pid>/comm`), empty once it is gone.
pub fn name_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

pub fn log_file(path: &Path) -> Stdio {
    match std::fs::File::create(path) {
        Ok(file) => Stdio::from(file),
        Err(error) => panic!("cannot create log {}: {error}", path.display()),
    }
}

/// A free TCP port on loopback (bound and released; good enough for tests run here).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|error| panic!("no free port: {error}"))
}
