//! Which path carries a video call on this machine, decided before the user clicks Join.
//!
//! Jitsi needs WebRTC. Windows (WebView2) and macOS (WKWebView) webviews have it; Debian builds
//! WebKitGTK without it (`shared/platform.md`), so on Linux the call may have to run in a
//! Chromium-family browser window in app mode instead. [`decide`] is the pure rule; [`detect`]
//! feeds it what this machine has. The administrator may force a path with `call_path`, and a
//! forced path that cannot work here is reported, never silently replaced.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use consult_types::{CallPathKind, CallSupport};

use crate::config::CallPathChoice;

/// Chromium-family browsers looked for on `PATH`, preferred first. Only these speak the
/// `--app=` window mode and the DevTools/flags the browser path relies on.
pub const BROWSER_NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
    "microsoft-edge-stable",
    "microsoft-edge",
    "brave-browser",
];

const APT_HINT: &str = "Install Chromium: sudo apt install chromium";
const GENERIC_HINT: &str = "Install Google Chrome, Chromium or Microsoft Edge.";
const NO_WEBRTC: &str =
    "This computer's built-in web view cannot do video calls (it has no WebRTC)";

/// What this machine offers for a call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    /// The app's webview can run WebRTC; see [`webview_has_webrtc`].
    pub webview_has_webrtc: bool,
    /// Chromium-family browsers found, preferred first; see [`find_browsers`].
    pub browsers: Vec<PathBuf>,
    /// Debian, Ubuntu or a derivative, so the install hint can name the apt command.
    pub debian_like: bool,
}

/// The call path for `choice` on a machine described by `probe`. `forced_browser` (the
/// `browser` setting) is used as given in place of the browsers found.
pub fn decide(choice: CallPathChoice, forced_browser: Option<&Path>, probe: &Probe) -> CallSupport {
    let forced = choice != CallPathChoice::Auto;
    let browser = forced_browser.or(probe.browsers.first().map(PathBuf::as_path));
    let hint = install_hint(probe);
    match choice {
        CallPathChoice::Auto | CallPathChoice::Embedded if probe.webview_has_webrtc => {
            support(CallPathKind::Embedded, None, forced, None, None)
        }
        // Forced, it is honoured rather than replaced: the call screen and its controls work,
        // only media cannot flow (and the screen says so).
        CallPathChoice::Embedded => support(
            CallPathKind::Embedded,
            None,
            true,
            Some(
                "call_path is set to \"embedded\", but this computer's built-in web view has no WebRTC: the call opens in this window, but no camera, microphone or sound can flow. Ask your administrator to set call_path to \"auto\" or \"browser\" for real calls.".into(),
            ),
            None,
        ),
        CallPathChoice::Auto | CallPathChoice::Browser => match browser {
            Some(path) => {
                let reason = (!forced).then(|| {
                    format!(
                        "{NO_WEBRTC}, so the call opens in a {} window.",
                        display_name(path)
                    )
                });
                support(
                    CallPathKind::Browser,
                    Some(display_name(path)),
                    forced,
                    reason,
                    None,
                )
            }
            None if forced => support(
                CallPathKind::None,
                None,
                true,
                Some(
                    "call_path is set to \"browser\", but no Chromium-family browser (Chromium, Google Chrome, Microsoft Edge or Brave) was found on this computer.".into(),
                ),
                Some(hint),
            ),
            None => support(
                CallPathKind::None,
                None,
                false,
                Some(format!(
                    "{NO_WEBRTC}, and no Chromium-family browser (Chromium, Google Chrome, Microsoft Edge or Brave) was found to hold the call instead."
                )),
                Some(hint),
            ),
        },
    }
}

/// The browser program the browser path starts: the configured one, else the first found on
/// `PATH`.
pub fn browser_program(forced_browser: Option<&Path>) -> Option<PathBuf> {
    forced_browser.map(Path::to_path_buf).or_else(|| {
        find_browsers(std::env::var_os("PATH").as_deref())
            .into_iter()
            .next()
    })
}

/// Probes this machine and decides. A configured `forced_browser` that is not an executable
/// file is reported here rather than replaced by another browser.
pub fn detect(choice: CallPathChoice, forced_browser: Option<&Path>) -> CallSupport {
    let probe = Probe {
        webview_has_webrtc: webview_has_webrtc(),
        browsers: find_browsers(std::env::var_os("PATH").as_deref()),
        debian_like: std::fs::read_to_string("/etc/os-release")
            .map(|text| os_release_is_debian_like(&text))
            .unwrap_or(false),
    };
    // Only matters when a browser would actually be started.
    let browser_needed = match choice {
        CallPathChoice::Browser => true,
        CallPathChoice::Auto => !probe.webview_has_webrtc,
        CallPathChoice::Embedded => false,
    };
    if let Some(path) = forced_browser.filter(|path| browser_needed && !is_executable(path)) {
        return support(
            CallPathKind::None,
            None,
            choice != CallPathChoice::Auto,
            Some(format!(
                "The configured browser {} is not an executable program on this computer.",
                path.display()
            )),
            Some("Install the browser there, or change or remove the `browser` setting.".into()),
        );
    }
    decide(choice, forced_browser, &probe)
}

/// Chromium-family browsers in the directories of `path_var` (a `PATH` value), in the order of
/// [`BROWSER_NAMES`]; for each name, the first executable file found. No process is started.
pub fn find_browsers(path_var: Option<&OsStr>) -> Vec<PathBuf> {
    let Some(path_var) = path_var else {
        return Vec::new();
    };
    let dirs: Vec<PathBuf> = std::env::split_paths(path_var).collect();
    BROWSER_NAMES
        .iter()
        .filter_map(|name| {
            let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
            dirs.iter()
                .filter(|dir| !dir.as_os_str().is_empty())
                .map(|dir| dir.join(&file))
                .find(|candidate| is_executable(candidate))
        })
        .collect()
}

/// Whether the app's webview can carry WebRTC, by platform: WebView2 (Windows) and WKWebView
/// (macOS) can. On Linux this is `false`: Debian's WebKitGTK is built without WebRTC and the
/// core cannot ask without a webview. The Tauri shell will refine this later by asking the
/// webview itself (`typeof RTCPeerConnection`), which also covers WebKitGTK builds that have it.
pub fn webview_has_webrtc() -> bool {
    cfg!(any(target_os = "windows", target_os = "macos"))
}

/// `ID` or `ID_LIKE` in `/etc/os-release` names Debian or Ubuntu.
pub fn os_release_is_debian_like(text: &str) -> bool {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(key, _)| matches!(key.trim(), "ID" | "ID_LIKE"))
        .flat_map(|(_, value)| value.trim().trim_matches(['"', '\'']).split_whitespace())
        .any(|id| matches!(id, "debian" | "ubuntu"))
}

/// The name a user knows the browser by, from its program name.
pub fn display_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    match stem.as_str() {
        "chromium" | "chromium-browser" => "Chromium".into(),
        "google-chrome" | "google-chrome-stable" | "chrome" => "Google Chrome".into(),
        "microsoft-edge" | "microsoft-edge-stable" | "msedge" => "Microsoft Edge".into(),
        "brave-browser" | "brave" => "Brave".into(),
        _ => stem,
    }
}

fn install_hint(probe: &Probe) -> String {
    if probe.debian_like {
        APT_HINT
    } else {
        GENERIC_HINT
    }
    .into()
}

fn support(
    path: CallPathKind,
    browser: Option<String>,
    forced: bool,
    reason: Option<String>,
    install_hint: Option<String>,
) -> CallSupport {
    CallSupport {
        path,
        browser,
        forced,
        reason,
        install_hint,
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // `metadata` follows symlinks: /usr/bin/chromium is often one.
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    // No execute bit elsewhere; the `.exe` suffix was already required by the caller's name.
    std::fs::metadata(path)
        .map(|meta| meta.is_file())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(webrtc: bool, browsers: &[&str], debian_like: bool) -> Probe {
        Probe {
            webview_has_webrtc: webrtc,
            browsers: browsers.iter().map(PathBuf::from).collect(),
            debian_like,
        }
    }

    #[test]
    fn auto_embeds_where_the_webview_has_webrtc() {
        let support = decide(
            CallPathChoice::Auto,
            None,
            &probe(true, &["/usr/bin/chromium"], true),
        );
        assert_eq!(support.path, CallPathKind::Embedded);
        assert_eq!(support.browser, None);
        assert!(!support.forced);
        assert_eq!(support.install_hint, None);
    }

    #[test]
    fn auto_uses_the_first_browser_found_without_webrtc() {
        let support = decide(
            CallPathChoice::Auto,
            None,
            &probe(
                false,
                &["/usr/bin/google-chrome", "/usr/bin/brave-browser"],
                true,
            ),
        );
        assert_eq!(support.path, CallPathKind::Browser);
        assert_eq!(support.browser.as_deref(), Some("Google Chrome"));
        assert!(!support.forced);
        let reason = support.reason.unwrap_or_default();
        assert!(reason.contains("cannot do video calls"), "{reason}");
        assert_eq!(support.install_hint, None);
    }

    #[test]
    fn auto_without_webrtc_or_browser_says_what_to_install() {
        let debian = decide(CallPathChoice::Auto, None, &probe(false, &[], true));
        assert_eq!(debian.path, CallPathKind::None);
        assert!(!debian.forced);
        let reason = debian.reason.unwrap_or_default();
        assert!(
            reason.contains("web view cannot do video calls"),
            "{reason}"
        );
        assert_eq!(
            debian.install_hint.as_deref(),
            Some("Install Chromium: sudo apt install chromium")
        );

        let other = decide(CallPathChoice::Auto, None, &probe(false, &[], false));
        assert_eq!(other.path, CallPathKind::None);
        assert_eq!(
            other.install_hint.as_deref(),
            Some("Install Google Chrome, Chromium or Microsoft Edge.")
        );
    }

    #[test]
    fn forced_embedded_without_webrtc_is_kept_with_a_warning_not_replaced() {
        let support = decide(
            CallPathChoice::Embedded,
            None,
            &probe(false, &["/usr/bin/chromium"], true),
        );
        assert_eq!(support.path, CallPathKind::Embedded);
        assert!(support.forced);
        let reason = support.reason.unwrap_or_default();
        assert!(reason.contains("\"embedded\""), "{reason}");
        assert!(
            reason.contains("no camera, microphone or sound"),
            "{reason}"
        );

        let works = decide(CallPathChoice::Embedded, None, &probe(true, &[], false));
        assert_eq!(works.path, CallPathKind::Embedded);
        assert!(works.forced);
    }

    #[test]
    fn forced_browser_without_a_browser_says_what_to_install() {
        let support = decide(CallPathChoice::Browser, None, &probe(true, &[], true));
        assert_eq!(support.path, CallPathKind::None);
        assert!(support.forced);
        let reason = support.reason.unwrap_or_default();
        assert!(reason.contains("\"browser\""), "{reason}");
        assert_eq!(
            support.install_hint.as_deref(),
            Some("Install Chromium: sudo apt install chromium")
        );
    }

    #[test]
    fn forced_browser_is_used_even_where_the_webview_could_embed() {
        let found = decide(
            CallPathChoice::Browser,
            None,
            &probe(true, &["/usr/bin/microsoft-edge"], false),
        );
        assert_eq!(found.path, CallPathKind::Browser);
        assert_eq!(found.browser.as_deref(), Some("Microsoft Edge"));
        assert!(found.forced);
        assert_eq!(found.reason, None);
    }

    #[test]
    fn a_configured_browser_binary_is_used_as_given() {
        let given = Path::new("/opt/kiosk/chrome-custom");
        let support = decide(
            CallPathChoice::Browser,
            Some(given),
            &probe(false, &["/usr/bin/chromium"], true),
        );
        assert_eq!(support.path, CallPathKind::Browser);
        assert_eq!(support.browser.as_deref(), Some("chrome-custom"));
        assert!(support.forced);

        // Also under auto, and even when nothing was found on PATH.
        let auto = decide(CallPathChoice::Auto, Some(given), &probe(false, &[], true));
        assert_eq!(auto.path, CallPathKind::Browser);
        assert_eq!(auto.browser.as_deref(), Some("chrome-custom"));
        assert!(!auto.forced);
    }

    #[test]
    fn detect_reports_a_configured_browser_that_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-browser");
        let support = detect(CallPathChoice::Browser, Some(&missing));
        assert_eq!(support.path, CallPathKind::None);
        assert!(support.forced);
        let reason = support.reason.unwrap_or_default();
        assert!(reason.contains("no-such-browser"), "{reason}");
        assert!(support.install_hint.is_some());

        // Not looked at when the embedded path is forced.
        let embedded = detect(CallPathChoice::Embedded, Some(&missing));
        let reason = embedded.reason.unwrap_or_default();
        assert!(!reason.contains("no-such-browser"), "{reason}");
    }

    #[cfg(unix)]
    #[test]
    fn find_browsers_keeps_only_executables_in_preference_order() {
        use std::os::unix::fs::PermissionsExt;

        let make = |dir: &Path, name: &str, mode: u32| {
            let path = dir.join(name);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        };
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        let brave = make(first.path(), "brave-browser", 0o755);
        make(first.path(), "google-chrome", 0o644);
        let chromium = make(second.path(), "chromium", 0o755);
        // A later directory's copy of a name already found is not listed twice.
        make(second.path(), "brave-browser", 0o755);
        std::fs::create_dir(first.path().join("microsoft-edge")).unwrap();

        let path_var =
            std::env::join_paths([first.path(), Path::new("/nonexistent"), second.path()]).unwrap();
        assert_eq!(find_browsers(Some(&path_var)), vec![chromium, brave]);
        assert!(find_browsers(None).is_empty());
        assert!(find_browsers(Some(OsStr::new(""))).is_empty());
    }

    #[test]
    fn os_release_recognises_debian_and_derivatives() {
        assert!(os_release_is_debian_like(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"
        ));
        assert!(os_release_is_debian_like(
            "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"
        ));
        assert!(!os_release_is_debian_like(
            "ID=fedora\nID_LIKE=\"rhel centos\"\n"
        ));
        assert!(!os_release_is_debian_like(""));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_assumes_no_webview_webrtc_until_the_shell_asks() {
        assert!(!webview_has_webrtc());
    }
}
