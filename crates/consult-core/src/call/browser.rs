//! The browser call path: a Chromium-family browser in app mode (one window, no tabs or address
//! bar) showing the core's call page, with a throw-away profile so nothing of the call (the
//! Jitsi URL carries the token) stays on disk after it.
//!
//! The call page's key never goes on the browser's command line (any local user can read
//! `/proc/<pid>/cmdline`): the browser opens a start page in the profile, a directory only this
//! user can read, which hands the key to the call page and is deleted with the profile.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;
use tokio::sync::oneshot;

/// Flags for a locked-down, quiet app window; no network chatter beyond the call.
const BASE_FLAGS: [&str; 7] = [
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-extensions",
    "--password-store=basic",
];

/// More for a kiosk's window (`BrowserLaunch::locked`): fullscreen with no way to leave it
/// (`--kiosk`), no error dialogs, no pinch zoom, no swipe back, no translate bar, no crash
/// bubble, and no page may open a window (`--block-new-web-contents`). A managed policy
/// (`packaging/kiosk/`, [`super::chromium_policy`]) and the window watch ([`super::lockdown`])
/// do the rest. Note that Chromium keeps only the last `--disable-features`: an administrator's
/// own in `browser_args` replaces this one.
const KIOSK_FLAGS: [&str; 8] = [
    "--kiosk",
    "--noerrdialogs",
    "--disable-pinch",
    "--overscroll-history-navigation=0",
    "--disable-session-crashed-bubble",
    "--disable-infobars",
    "--block-new-web-contents",
    "--disable-features=Translate,TranslateUI,MediaRouter,GlobalMediaControls",
];

/// A browser window carrying one call. Dropping it ends the browser; its profile is deleted
/// once the process is gone.
pub struct BrowserWindow {
    /// Dropped with the window: tells the keeper task to end the browser.
    _close: oneshot::Sender<()>,
}

/// The browser's exit, reported by the task that awaits it.
pub struct BrowserExited(oneshot::Receiver<()>);

impl BrowserExited {
    /// `true` once the browser exited on its own: the user closed the window (or it crashed).
    /// `false` when the app ended it by dropping the [`BrowserWindow`].
    pub async fn wait(self) -> bool {
        self.0.await.is_ok()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("The browser {program} could not be started ({detail}). Check that it is installed, or ask your IT to set the `browser` setting.")]
    Start { program: String, detail: String },
    #[error("The call window was not opened because this app is running as the administrator (root): the browser would have to run without its sandbox, so a flaw in the video call's web code could take over the computer. Run the app as a normal user, or ask your IT to set `browser_allow_root = true` if this machine must run it as root.")]
    AsRoot,
}

/// What to start: the program, the page, and the extras.
#[derive(Debug, Clone)]
pub struct BrowserLaunch<'a> {
    pub program: &'a Path,
    pub page_url: &'a str,
    /// From [`super::deployment::Deployment::pinned_spki_sha256`]: trust the clinic's verified
    /// Jitsi certificate (private CA) in this profile only.
    pub pinned_spki: Option<&'a str>,
    /// Administrator-configured extra flags (`browser_args`), e.g. a proxy.
    pub extra_args: &'a [String],
    /// `browser_allow_root`: open the window even as root, where Chromium runs unsandboxed.
    pub allow_root: bool,
    /// A kiosk's call: the window is fullscreen and locked ([`KIOSK_FLAGS`]), on X11 when there
    /// is an X display (Xwayland under cage) so that the app can watch it, and every other
    /// window the browser opens is closed at once ([`super::lockdown`]).
    pub locked: bool,
    /// The kiosk's media self-test: no window at all (`--headless`), sound without a click, and
    /// a profile named apart from a call's.
    pub headless: bool,
}

impl BrowserWindow {
    /// Starts the browser, and a task that awaits its exit (no polling) and owns its profile.
    pub fn open(
        launch: &BrowserLaunch<'_>,
    ) -> Result<(BrowserWindow, BrowserExited), BrowserError> {
        let start_error = |detail: String| BrowserError::Start {
            program: launch.program.display().to_string(),
            detail,
        };
        let as_root = running_as_root();
        if as_root && !launch.allow_root {
            tracing::warn!(
                "refused to open the call's browser as root (browser_allow_root is off)"
            );
            return Err(BrowserError::AsRoot);
        }
        let profile = tempfile::Builder::new()
            .prefix(if launch.headless {
                "consult-selftest-"
            } else {
                "consult-call-"
            })
            .tempdir()
            .map_err(|error| start_error(error.to_string()))?;
        let start = write_start_page(profile.path(), launch.page_url)
            .map_err(|error| start_error(format!("its start page: {error}")))?;
        let on_x11 = std::env::var_os("DISPLAY").is_some_and(|display| !display.is_empty());
        let args = arguments(launch, profile.path(), &start, as_root, on_x11);
        let mut child = Command::new(launch.program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Also ends the browser if the runtime goes away with the keeper task.
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| start_error(error.to_string()))?;
        let pid = child.id();
        tracing::info!(program = %launch.program.display(), pid, locked = launch.locked, headless = launch.headless, "call window opened in the browser");
        // Held until the browser is gone.
        let watch = match pid {
            Some(pid) if launch.locked => lock_windows(pid),
            _ => None,
        };
        let (close, closed) = oneshot::channel::<()>();
        let (exit, exited) = oneshot::channel::<()>();
        tokio::spawn(async move {
            // Dropped in reverse order when the browser is gone: first the watch, and only
            // then its profile, which held the call.
            let _profile = profile;
            let _watch = watch;
            tokio::select! {
                status = child.wait() => {
                    match status {
                        Ok(status) => tracing::info!(pid, %status, "the call's browser window was closed"),
                        Err(error) => tracing::warn!(pid, %error, "the call's browser could not be awaited"),
                    }
                    let _ = exit.send(());
                }
                _ = closed => {
                    if let Err(error) = child.kill().await {
                        tracing::warn!(pid, %error, "the call's browser could not be ended");
                    }
                }
            }
        });
        Ok((BrowserWindow { _close: close }, BrowserExited(exited)))
    }
}

/// Watches a kiosk's browser so that its call window stays the only one, fullscreen and focused;
/// `None` (logged) where it cannot be watched, and the call goes on under the policy's lock.
#[cfg(target_os = "linux")]
fn lock_windows(pid: u32) -> Option<super::x11_watch::Watch> {
    match super::x11_watch::watch(pid) {
        Ok(watch) => Some(watch),
        Err(error) => {
            tracing::warn!(%error, "kiosk: the call window cannot be watched; only the browser policy locks it");
            None
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lock_windows(_pid: u32) -> Option<()> {
    tracing::warn!(
        "kiosk: the call window cannot be watched on this system; only the browser policy locks it"
    );
    None
}

/// Writes the page that hands the key to the call page into the profile, which is made private
/// first (owner only), and returns its `file://` address.
fn write_start_page(profile: &Path, page_url: &str) -> std::io::Result<String> {
    private_dir(profile)?;
    let path: PathBuf = profile.join("start.html");
    // A JSON string is a JavaScript string; `<` escaped so it cannot end the script element.
    let target = serde_json::to_string(page_url)
        .map_err(std::io::Error::other)?
        .replace('<', "\\u003c");
    let html = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Consult call</title>\
         <script>location.replace({target});</script>\n"
    );
    let mut file = private_file(&path)?;
    file.write_all(html.as_bytes())?;
    file.sync_all()?;
    let url = url::Url::from_file_path(&path)
        .map_err(|()| std::io::Error::other("the profile path is not absolute"))?;
    Ok(url.to_string())
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn private_dir(_dir: &Path) -> std::io::Result<()> {
    // The temporary directory is the user's own on Windows and macOS.
    Ok(())
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn arguments(
    launch: &BrowserLaunch<'_>,
    profile: &Path,
    start_page: &str,
    as_root: bool,
    on_x11: bool,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = BASE_FLAGS.iter().map(OsString::from).collect();
    if launch.locked {
        args.extend(KIOSK_FLAGS.iter().map(OsString::from));
        if on_x11 {
            // The window watch speaks X11; under cage this is Xwayland.
            args.push("--ozone-platform=x11".into());
        }
    }
    if launch.headless {
        // The test tone plays without anyone clicking.
        args.push("--headless=new".into());
        args.push("--autoplay-policy=no-user-gesture-required".into());
    }
    let mut profile_flag = OsString::from("--user-data-dir=");
    profile_flag.push(profile);
    args.push(profile_flag);
    if as_root {
        // Chromium refuses to run as root with its sandbox (kiosks and test machines).
        args.push("--no-sandbox".into());
    }
    if let Some(spki) = launch.pinned_spki {
        args.push(format!("--ignore-certificate-errors-spki-list={spki}").into());
    }
    args.extend(launch.extra_args.iter().map(OsString::from));
    // The start page, not the call page: the key stays off the command line.
    args.push(format!("--app={start_page}").into());
    args
}

/// Whether this process runs as root, where Chromium needs `--no-sandbox`.
#[cfg(unix)]
pub fn running_as_root() -> bool {
    // HOME-independent: /proc/self/status would need parsing; the effective uid is in the
    // metadata of /proc/self.
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

#[cfg(not(unix))]
pub fn running_as_root() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_window_gets_a_private_profile_and_the_page_last() {
        let extra = vec!["--proxy-server=http://proxy:3128".to_owned()];
        let launch = BrowserLaunch {
            program: Path::new("/usr/bin/chromium"),
            page_url: "http://127.0.0.1:9/call#k=abc&mode=browser",
            pinned_spki: Some("AAAA"),
            extra_args: &extra,
            allow_root: true,
            locked: false,
            headless: false,
        };
        let args: Vec<String> = arguments(
            &launch,
            Path::new("/tmp/p"),
            "file:///tmp/p/start.html",
            true,
            true,
        )
        .into_iter()
        .map(|arg| arg.into_string().unwrap())
        .collect();
        assert!(args.contains(&"--user-data-dir=/tmp/p".to_owned()));
        assert!(args.contains(&"--no-sandbox".to_owned()));
        assert!(args.contains(&"--ignore-certificate-errors-spki-list=AAAA".to_owned()));
        assert!(args.contains(&"--proxy-server=http://proxy:3128".to_owned()));
        assert_eq!(args.last().unwrap(), "--app=file:///tmp/p/start.html");
        assert!(!args.iter().any(|arg| arg.contains("k=abc")));
        let unprivileged = arguments(
            &launch,
            Path::new("/tmp/p"),
            "file:///tmp/p/start.html",
            false,
            true,
        );
        assert!(!unprivileged.iter().any(|arg| arg == "--no-sandbox"));
        assert!(!args
            .iter()
            .any(|arg| arg == "--kiosk" || arg.starts_with("--ozone")));
    }

    #[test]
    fn a_kiosks_window_is_locked_and_on_x11_where_there_is_an_x_display() {
        let launch = BrowserLaunch {
            program: Path::new("/usr/bin/chromium"),
            page_url: "http://127.0.0.1:9/call#k=abc&mode=browser",
            pinned_spki: None,
            extra_args: &[],
            allow_root: false,
            locked: true,
            headless: false,
        };
        let strings = |on_x11: bool| -> Vec<String> {
            arguments(
                &launch,
                Path::new("/tmp/p"),
                "file:///tmp/p/start.html",
                false,
                on_x11,
            )
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect()
        };
        let args = strings(true);
        for flag in [
            "--kiosk",
            "--noerrdialogs",
            "--disable-pinch",
            "--overscroll-history-navigation=0",
            "--block-new-web-contents",
            "--ozone-platform=x11",
        ] {
            assert!(args.iter().any(|arg| arg == flag), "{flag} in {args:?}");
        }
        assert!(args
            .iter()
            .any(|arg| arg.starts_with("--disable-features=") && arg.contains("Translate")));
        assert_eq!(args.last().unwrap(), "--app=file:///tmp/p/start.html");
        // A Wayland-only session: no X11 to force (Chromium would not start).
        assert!(!strings(false).iter().any(|arg| arg.starts_with("--ozone")));
    }

    #[cfg(unix)]
    #[test]
    fn the_start_page_is_private_and_hands_over_the_key() {
        use std::os::unix::fs::PermissionsExt;
        let profile = tempfile::tempdir().unwrap();
        std::fs::set_permissions(profile.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let url =
            write_start_page(profile.path(), "http://127.0.0.1:9/call#k=abc&mode=browser").unwrap();
        let path = url::Url::parse(&url).unwrap().to_file_path().unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(profile.path()), 0o700);
        assert_eq!(mode(&path), 0o600);
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(
            html.contains(r#"location.replace("http://127.0.0.1:9/call#k=abc&mode=browser")"#),
            "{html}"
        );
    }
}
