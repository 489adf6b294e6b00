//! The main window, locked to the app's own pages.

use tauri::{AppHandle, Runtime, WebviewUrl, WebviewWindowBuilder};
use url::Url;

pub const MAIN_LABEL: &str = "main";

pub fn create_main<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    WebviewWindowBuilder::new(app, MAIN_LABEL, WebviewUrl::App("index.html".into()))
        .title("Consult")
        .inner_size(1100.0, 760.0)
        .min_inner_size(720.0, 520.0)
        .on_navigation(|url| {
            let allowed = is_app_page(url);
            if !allowed {
                tracing::warn!(scheme = url.scheme(), host = ?url.host_str(), "blocked navigation away from the app");
            }
            allowed
        })
        .build()?;
    Ok(())
}

/// The app's own pages: `tauri://localhost` (Linux, macOS) or `http(s)://tauri.localhost`
/// (Windows). Anything else would give a remote page the app's window and IPC.
fn is_app_page(url: &Url) -> bool {
    matches!(
        (url.scheme(), url.host_str()),
        ("tauri", Some("localhost")) | ("http" | "https", Some("tauri.localhost"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_app_pages_are_navigable() {
        for allowed in [
            "tauri://localhost/",
            "tauri://localhost/index.html",
            "http://tauri.localhost/",
            "https://tauri.localhost/x",
        ] {
            assert!(is_app_page(&Url::parse(allowed).unwrap()), "{allowed}");
        }
        for blocked in [
            "https://evil.example/",
            "http://localhost:8080/",
            "tauri://evil/",
            "file:///etc/passwd",
            "https://tauri.localhost.evil.example/",
            "data:text/html,hi",
        ] {
            assert!(!is_app_page(&Url::parse(blocked).unwrap()), "{blocked}");
        }
    }
}
