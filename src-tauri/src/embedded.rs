//! The embedded call in the main window: it opens to exactly two extra origins while an
//! embedded call runs (the core's loopback call page and the Jitsi deployment), trusts the
//! deployment's pinned certificate there, and grants media only then.

use std::sync::{Arc, PoisonError, RwLock};

use tauri::{AppHandle, Runtime};
use url::Url;

use consult_core::call::deployment::Deployment;
use consult_core::ports::CallWindow;

use crate::ui::MAIN_LABEL;

/// What the main window may load and use besides the app's own pages. Empty unless an
/// embedded call runs; read by the window's navigation and permission handlers.
#[derive(Default)]
pub struct EmbeddedAccess {
    allowed: RwLock<Option<Allowed>>,
}

struct Allowed {
    call_page: String,
    jitsi: String,
}

impl EmbeddedAccess {
    fn allow(&self, call_page: &Url, jitsi: &Url) {
        *self.allowed.write().unwrap_or_else(PoisonError::into_inner) = Some(Allowed {
            call_page: call_page.origin().ascii_serialization(),
            jitsi: jitsi.origin().ascii_serialization(),
        });
    }

    fn revoke(&self) {
        self.allowed
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// Frames of the running embedded call: the call page and the Jitsi meeting (on Linux the
    /// iframes' navigations reach the window's navigation handler too).
    pub fn allows_frame(&self, url: &Url) -> bool {
        let origin = url.origin().ascii_serialization();
        self.allowed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|allowed| origin == allowed.call_page || origin == allowed.jitsi)
    }

    /// Camera, microphone and screen capture. The webviews do not say which frame asks, so the
    /// grant is bounded otherwise: only while an embedded call runs, and only the Jitsi meeting
    /// can ask then: the app's page never does, its CSP frames only the call page, and the
    /// call page's CSP frames only the Jitsi origin.
    pub fn allows_media(&self) -> bool {
        self.allowed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}

/// The call-window port: what an embedded call needs from the main window.
pub struct ShellCallWindow<R: Runtime> {
    app: AppHandle<R>,
    access: Arc<EmbeddedAccess>,
}

impl<R: Runtime> ShellCallWindow<R> {
    pub fn new(app: &AppHandle<R>, access: Arc<EmbeddedAccess>) -> ShellCallWindow<R> {
        ShellCallWindow {
            app: app.clone(),
            access,
        }
    }
}

impl<R: Runtime> CallWindow for ShellCallWindow<R> {
    fn open_embedded(&self, call_page: &Url, deployment: &Deployment) {
        self.access.allow(call_page, &deployment.origin);
        if let Some(certificate) = &deployment.pinned_certificate {
            trust_certificate(&self.app, &deployment.origin, certificate);
        }
    }

    fn close_embedded(&self) {
        self.access.revoke();
    }

    fn forget_visit(&self) {
        use tauri::Manager as _;
        let Some(window) = self.app.get_webview_window(MAIN_LABEL) else {
            return;
        };
        match window.clear_all_browsing_data() {
            Ok(()) => tracing::info!("the webview's data of the visit was cleared"),
            Err(error) => tracing::warn!(%error, "the webview's data could not be cleared"),
        }
    }
}

/// Trusts the Jitsi server's certificate (already verified against the clinic's CA by the
/// core) for that host in the main window's web context.
#[cfg(target_os = "linux")]
fn trust_certificate<R: Runtime>(app: &AppHandle<R>, origin: &Url, der: &[u8]) {
    use tauri::Manager as _;
    use webkit2gtk::WebContextExt as _;
    use webkit2gtk::WebViewExt as _;

    let Some(window) = app.get_webview_window(MAIN_LABEL) else {
        return;
    };
    let Some(host) = origin.host_str().map(str::to_owned) else {
        return;
    };
    let pem = pem_of(der);
    let result = window.with_webview(move |platform| {
        let certificate = match webkit2gtk::gio::TlsCertificate::from_pem(&pem) {
            Ok(certificate) => certificate,
            Err(error) => {
                tracing::warn!(%error, "the Jitsi server's certificate could not be read");
                return;
            }
        };
        if let Some(context) = platform.inner().context() {
            context.allow_tls_certificate_for_host(&certificate, &host);
            tracing::info!(%host, "the Jitsi server's certificate is trusted for its host");
        }
    });
    if let Err(error) = result {
        tracing::warn!(%error, "the Jitsi server's certificate could not be trusted");
    }
}

#[cfg(not(target_os = "linux"))]
fn trust_certificate<R: Runtime>(_app: &AppHandle<R>, origin: &Url, _der: &[u8]) {
    // WebView2 and WKWebView use the system's trust store: the clinic's CA must be installed
    // there by its IT (documented in the README).
    tracing::info!(%origin, "a private CA for Jitsi must be in the system trust store on this platform");
}

#[cfg(target_os = "linux")]
fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

/// The main window's WebKit settings for an embedded call, where the WebKitGTK build has
/// WebRTC (Debian's has none; the setting is harmless there). Only pages loaded afterwards see
/// it, so it is set when the window is created.
#[cfg(target_os = "linux")]
pub fn enable_webrtc<R: Runtime>(window: &tauri::WebviewWindow<R>) {
    use webkit2gtk::{SettingsExt as _, WebViewExt as _};
    let result = window.with_webview(|platform| {
        if let Some(settings) = platform.inner().settings() {
            settings.set_enable_webrtc(true);
            settings.set_enable_media_stream(true);
        }
    });
    if let Err(error) = result {
        tracing::warn!(%error, "WebRTC could not be enabled in the web view");
    }
}

#[cfg(not(target_os = "linux"))]
pub fn enable_webrtc<R: Runtime>(_window: &tauri::WebviewWindow<R>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_media_only_while_an_embedded_call_runs() {
        let access = EmbeddedAccess::default();
        let page = Url::parse("http://127.0.0.1:4100/call").unwrap();
        let jitsi = Url::parse("https://meet.example:8443/").unwrap();
        assert!(!access.allows_frame(&page));
        assert!(!access.allows_media());

        access.allow(&page, &jitsi);
        assert!(access.allows_frame(&page));
        assert!(access.allows_frame(&Url::parse("https://meet.example:8443/room?jwt=x").unwrap()));
        assert!(access.allows_media());
        for other in [
            "http://127.0.0.1:4101/call",
            "https://meet.example/",
            "http://meet.example:8443/",
            "https://evil.example/",
        ] {
            assert!(!access.allows_frame(&Url::parse(other).unwrap()), "{other}");
        }

        access.revoke();
        assert!(!access.allows_frame(&page));
        assert!(!access.allows_media());
    }
}
