//! The main window, locked to the app's own pages, and its place on screen between runs.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tauri::webview::{NewWindowResponse, PermissionKind, PermissionResponse};
use tauri::{
    AppHandle, PhysicalPosition, PhysicalSize, Runtime, WebviewUrl, WebviewWindow,
    WebviewWindowBuilder, Window,
};
use url::Url;

use crate::embedded::{self, EmbeddedAccess};
use crate::kiosk_shell;
use crate::ui::MAIN_LABEL;

/// Key of the window's place in `settings.json`.
pub const STATE_KEY: &str = "window";
const MIN_WIDTH: f64 = 720.0;
const MIN_HEIGHT: f64 = 520.0;

/// Whether `on_navigation` sees the iframes' navigations too, without telling them from the top
/// level's: WebKitGTK and WKWebView pass every frame's; WebView2 only the top level's
/// (`NavigationStarting`), so there it allows the app's pages only.
const FRAMES_REACH_ON_NAVIGATION: bool = !cfg!(windows);

/// Where the main window was: physical pixels, position of the outer frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowState {
    pub width: u32,
    pub height: u32,
    pub x: i32,
    pub y: i32,
    pub maximized: bool,
}

/// A monitor's area in physical pixels: x, y, width, height.
pub type Area = (i32, i32, u32, u32);

/// The main window: the app's pages, plus the running embedded call's frames (`access`).
/// Links that would open a window go to the system browser instead (http and https only).
/// A kiosk's window is locked (`kiosk_shell`) and takes no saved place.
pub fn create_main<R: Runtime>(
    app: &AppHandle<R>,
    saved: Option<WindowState>,
    access: Arc<EmbeddedAccess>,
    kiosk: bool,
) -> tauri::Result<WebviewWindow<R>> {
    let navigation_access = Arc::clone(&access);
    let dev_server = dev_server(app);
    let navigation_dev_server = dev_server.clone();
    let mut builder =
        WebviewWindowBuilder::new(app, MAIN_LABEL, WebviewUrl::App("index.html".into()));
    if kiosk {
        builder = kiosk_shell::lock_builder(builder);
    }
    let window = builder
        .title("Consult")
        .inner_size(1100.0, 760.0)
        .min_inner_size(MIN_WIDTH, MIN_HEIGHT)
        .on_navigation(move |url| {
            // `about:blank` is the first document of every new frame (Jitsi's iframe too).
            let allowed = is_app_page(url, navigation_dev_server.as_ref())
                || (FRAMES_REACH_ON_NAVIGATION
                    && (url.as_str() == "about:blank" || navigation_access.allows_frame(url)));
            if allowed {
                // Never the query: the Jitsi meeting's carries its token.
                tracing::debug!(scheme = url.scheme(), host = ?url.host_str(), port = ?url.port(), "navigation");
            } else {
                tracing::warn!(scheme = url.scheme(), host = ?url.host_str(), "blocked navigation away from the app");
            }
            allowed
        })
        .on_new_window(|url, _features| {
            open_externally(&url);
            NewWindowResponse::Deny
        })
        .on_permission_request(move |_webview, kind| media_permission(&access, kind))
        .build()?;
    embedded::enable_webrtc(&window);
    keep_top_level_on_app_pages(&window, dev_server);
    if kiosk {
        kiosk_shell::watch_window_state(&window);
    }
    if let Some(saved) = saved.filter(|_| !kiosk) {
        restore(&window, saved);
    }
    Ok(window)
}

/// Refuses any top-level document that is not one of the app's own pages.
///
/// `on_navigation` cannot do it: wry's WebKitGTK handler passes every navigation (the main
/// frame's and every iframe's) with only its URL, so the call's origins are allowed there for
/// frames and thereby for the top too. WebKitGTK's response decision does say whether the
/// response is the main frame's document; the iframes' `sandbox` (no top navigation) is the
/// other guard, and the only one where the webview cannot tell (macOS).
#[cfg(target_os = "linux")]
fn keep_top_level_on_app_pages<R: Runtime>(window: &WebviewWindow<R>, dev_server: Option<Url>) {
    use webkit2gtk::glib::prelude::Cast as _;
    use webkit2gtk::{
        PolicyDecisionExt as _, PolicyDecisionType, ResponsePolicyDecision,
        ResponsePolicyDecisionExt as _, URIRequestExt as _, WebViewExt as _,
    };

    let result = window.with_webview(|platform| {
        platform
            .inner()
            .connect_decide_policy(move |_view, decision, kind| {
                if kind != PolicyDecisionType::Response {
                    return false;
                }
                let Some(response) = decision.downcast_ref::<ResponsePolicyDecision>() else {
                    return false;
                };
                if !response.is_main_frame_main_resource() {
                    return false;
                }
                let url = response
                    .request()
                    .and_then(|request| request.uri())
                    .and_then(|uri| Url::parse(&uri).ok());
                if url
                    .as_ref()
                    .is_some_and(|url| is_app_page(url, dev_server.as_ref()))
                {
                    return false;
                }
                tracing::warn!(
                    scheme = url.as_ref().map(Url::scheme),
                    host = ?url.as_ref().and_then(Url::host_str),
                    "blocked a top-level navigation away from the app"
                );
                decision.ignore();
                true
            });
    });
    if let Err(error) = result {
        tracing::warn!(%error, "the top-level navigation guard could not be installed");
    }
}

/// On Windows `on_navigation` is the guard (WebView2 reports only the top level's navigations
/// there); on macOS, where it sees every frame's, the iframes' `sandbox` is.
#[cfg(not(target_os = "linux"))]
fn keep_top_level_on_app_pages<R: Runtime>(_window: &WebviewWindow<R>, _dev_server: Option<Url>) {}

/// Camera, microphone and screen capture only for a running embedded call; nothing else.
fn media_permission(access: &EmbeddedAccess, kind: PermissionKind) -> PermissionResponse {
    let media = matches!(
        kind,
        PermissionKind::Camera | PermissionKind::Microphone | PermissionKind::DisplayCapture
    );
    if media && access.allows_media() {
        tracing::info!(?kind, "media permission granted to the running call");
        PermissionResponse::Allow
    } else {
        tracing::warn!(?kind, "permission request denied");
        PermissionResponse::Deny
    }
}

/// Opens a link in the system browser; only http(s), never `file:`, custom schemes or the like.
fn open_externally(url: &Url) {
    if !is_external_link(url) {
        tracing::warn!(scheme = url.scheme(), "blocked a link that is not http(s)");
        return;
    }
    tracing::info!(host = ?url.host_str(), "opening a link in the system browser");
    if let Err(error) = open::that_detached(url.as_str()) {
        tracing::warn!(%error, "the system browser could not be opened");
    }
}

fn is_external_link(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host_str().is_some()
}

/// Puts the window where it was, as far as the screens now allow; failures only cost the place.
fn restore<R: Runtime>(window: &WebviewWindow<R>, saved: WindowState) {
    let monitors: Vec<Area> = window
        .available_monitors()
        .unwrap_or_default()
        .iter()
        .map(|monitor| {
            let (position, size) = (monitor.position(), monitor.size());
            (position.x, position.y, size.width, size.height)
        })
        .collect();
    let result = window
        .set_size(PhysicalSize::new(saved.width, saved.height))
        .and_then(|()| match visible_position(&saved, &monitors) {
            Some((x, y)) => window.set_position(PhysicalPosition::new(x, y)),
            None => Ok(()),
        })
        .and_then(|()| {
            if saved.maximized {
                window.maximize()
            } else {
                Ok(())
            }
        });
    if let Err(error) = result {
        tracing::warn!(%error, "the window's saved place could not be restored");
    }
}

/// The saved position, when its top-left corner is still on one of `monitors`.
pub fn visible_position(saved: &WindowState, monitors: &[Area]) -> Option<(i32, i32)> {
    let on_screen = monitors.iter().any(|&(x, y, width, height)| {
        let (right, bottom) = (
            i64::from(x) + i64::from(width),
            i64::from(y) + i64::from(height),
        );
        (i64::from(x)..right).contains(&i64::from(saved.x))
            && (i64::from(y)..bottom).contains(&i64::from(saved.y))
    });
    on_screen.then_some((saved.x, saved.y))
}

/// The window's place now. A maximized window keeps the size it had before (`previous`).
pub fn current_state<R: Runtime>(
    window: &Window<R>,
    previous: Option<WindowState>,
) -> tauri::Result<WindowState> {
    let maximized = window.is_maximized()?;
    if maximized {
        if let Some(previous) = previous {
            return Ok(WindowState {
                maximized,
                ..previous
            });
        }
    }
    let (size, position) = (window.inner_size()?, window.outer_position()?);
    Ok(WindowState {
        width: size.width,
        height: size.height,
        x: position.x,
        y: position.y,
        maximized,
    })
}

/// The development server (`build.devUrl`, Trunk's) whose pages a `cargo tauri dev` build
/// shows instead of its bundled ones; `None` in every other build.
pub fn dev_server<R: Runtime>(app: &AppHandle<R>) -> Option<Url> {
    if !tauri::is_dev() {
        return None;
    }
    app.config().build.dev_url.clone()
}

/// The app's own pages: `tauri://localhost` (Linux, macOS) or `http(s)://tauri.localhost`
/// (Windows), and in a development build the dev server's origin (`dev_server`). Anything else
/// would give a remote page the app's window and IPC.
fn is_app_page(url: &Url, dev_server: Option<&Url>) -> bool {
    let bundled = matches!(
        (url.scheme(), url.host_str()),
        ("tauri", Some("localhost")) | ("http" | "https", Some("tauri.localhost"))
    );
    bundled || dev_server.is_some_and(|dev| dev.origin() == url.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_off_every_screen_is_dropped() {
        let saved = WindowState {
            width: 800,
            height: 600,
            x: 2000,
            y: 100,
            maximized: false,
        };
        assert_eq!(visible_position(&saved, &[(0, 0, 1920, 1080)]), None);
        assert_eq!(
            visible_position(&saved, &[(0, 0, 1920, 1080), (1920, 0, 1920, 1080)]),
            Some((2000, 100))
        );
        assert_eq!(visible_position(&saved, &[]), None);
    }

    #[test]
    fn only_http_links_leave_for_the_system_browser() {
        for link in ["https://jitsi.org/", "http://example.org/help"] {
            assert!(is_external_link(&Url::parse(link).unwrap()), "{link}");
        }
        for other in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "consult://join/x",
            "smb://share/x",
            "tauri://localhost/",
        ] {
            assert!(!is_external_link(&Url::parse(other).unwrap()), "{other}");
        }
    }

    #[test]
    fn only_app_pages_are_navigable() {
        for allowed in [
            "tauri://localhost/",
            "tauri://localhost/index.html",
            "http://tauri.localhost/",
            "https://tauri.localhost/x",
        ] {
            assert!(
                is_app_page(&Url::parse(allowed).unwrap(), None),
                "{allowed}"
            );
        }
        for blocked in [
            "https://evil.example/",
            "http://localhost:8080/",
            "tauri://evil/",
            "file:///etc/passwd",
            "https://tauri.localhost.evil.example/",
            "data:text/html,hi",
        ] {
            assert!(
                !is_app_page(&Url::parse(blocked).unwrap(), None),
                "{blocked}"
            );
        }
    }

    #[test]
    fn a_development_build_also_allows_its_dev_server_and_only_that_origin() {
        let dev = Url::parse("http://127.0.0.1:1420").unwrap();
        for allowed in ["http://127.0.0.1:1420/", "http://127.0.0.1:1420/index.html"] {
            assert!(
                is_app_page(&Url::parse(allowed).unwrap(), Some(&dev)),
                "{allowed}"
            );
        }
        for blocked in [
            "http://127.0.0.1:1421/",
            "https://127.0.0.1:1420/",
            "http://localhost:1420/",
            "http://127.0.0.1/",
        ] {
            assert!(
                !is_app_page(&Url::parse(blocked).unwrap(), Some(&dev)),
                "{blocked}"
            );
        }
        assert!(!is_app_page(
            &Url::parse("http://127.0.0.1:1420/").unwrap(),
            None
        ));
    }
}
