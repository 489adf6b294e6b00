//! The managed Chromium policy of a kiosk (`consult --kiosk-chromium-policy <Jitsi URL>`,
//! installed as `/etc/chromium/policies/managed/consult-kiosk.json`): the call's browser may
//! show only the call (its start page in the throw-away profile, the call page on loopback and
//! the clinic's Jitsi server), has no DevTools, incognito, guest or extra profiles, printing,
//! downloads or file dialogs, and only the call gets the camera and microphone, without asking.
//!
//! The policy is machine-wide: every Chromium window on the kiosk obeys it, which is what a
//! kiosk wants. It cannot stop the keys that open windows (Ctrl+N, Ctrl+T, Shift+Esc…); the
//! window watch does ([`super::lockdown`]).

use std::path::Path;

use serde_json::{json, Value};
use url::Url;

/// The call page's origins for camera and microphone: loopback on any port (the app picks a
/// free one per call). Chromium grants an iframe's request by the top-level page's origin
/// (permission delegation; seen on Chromium 156: the Jitsi origin alone was refused), and the
/// call page delegates the camera and the microphone only to itself and the Jitsi origin.
pub const CALL_PAGE_CAPTURE: &str = "http://127.0.0.1:*";

/// The prefix of the browser profiles the app makes (`browser.rs`), under the temporary
/// directory: the start page lives there.
pub const PROFILE_PREFIX: &str = "consult-call-";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "{0:?} is not a URL: give the clinic's Jitsi server, e.g. https://meet.clinic.example"
    )]
    NotAUrl(String),
    #[error("{0} is not an https:// address with a host name: the Jitsi server must be reached over HTTPS")]
    NotHttps(String),
}

/// The Jitsi server's origin (`https://host[:port]`) from the URL an administrator gives.
pub fn jitsi_origin(jitsi_url: &str) -> Result<String, PolicyError> {
    let url =
        Url::parse(jitsi_url.trim()).map_err(|_| PolicyError::NotAUrl(jitsi_url.to_owned()))?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(PolicyError::NotHttps(jitsi_url.to_owned()));
    }
    Ok(url.origin().ascii_serialization())
}

/// The policy for a kiosk whose calls run on the Jitsi server at `jitsi_url`, with the app's
/// temporary directory `temp_dir` (where the call's profile and its start page are made).
pub fn kiosk_policy(jitsi_url: &str, temp_dir: &Path) -> Result<Value, PolicyError> {
    let jitsi = jitsi_origin(jitsi_url)?;
    let start_pages = format!(
        "file://{}/{PROFILE_PREFIX}",
        temp_dir.display().to_string().trim_end_matches('/')
    );
    Ok(json!({
        // Nothing but the call: "*" does not cover Chromium's own pages (history, downloads,
        // settings), which need their own entries.
        "URLBlocklist": ["*", "chrome://*", "chrome-untrusted://*", "devtools://*"],
        // The start page in the throw-away profile, the call page (loopback, any port: the app
        // picks a free one per call) and the clinic's Jitsi server.
        "URLAllowlist": [start_pages, "http://127.0.0.1", jitsi],
        "DeveloperToolsAvailability": 2,
        "IncognitoModeAvailability": 1,
        "BrowserGuestModeEnabled": false,
        "BrowserAddPersonEnabled": false,
        "BrowserSignin": 0,
        "SyncDisabled": true,
        "TaskManagerEndProcessEnabled": false,
        "PrintingEnabled": false,
        "DownloadRestrictions": 3,
        "AllowFileSelectionDialogs": false,
        "BackgroundModeEnabled": false,
        "PasswordManagerEnabled": false,
        "AutofillAddressEnabled": false,
        "AutofillCreditCardEnabled": false,
        "TranslateEnabled": false,
        "SpellcheckEnabled": false,
        "DefaultPopupsSetting": 2,
        "DefaultNotificationsSetting": 2,
        "DefaultGeolocationSetting": 2,
        // The camera and the microphone: the call (the page on loopback that frames Jitsi, and
        // Jitsi) without a prompt; nothing else may ask.
        "VideoCaptureAllowed": false,
        "VideoCaptureAllowedUrls": [CALL_PAGE_CAPTURE, jitsi],
        "AudioCaptureAllowed": false,
        "AudioCaptureAllowedUrls": [CALL_PAGE_CAPTURE, jitsi],
        "ScreenCaptureAllowed": false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_only_the_call_and_names_the_clinics_jitsi() {
        let policy =
            kiosk_policy("https://meet.clinic.example/some-room", Path::new("/tmp/")).unwrap();
        assert_eq!(
            policy["URLAllowlist"],
            json!([
                "file:///tmp/consult-call-",
                "http://127.0.0.1",
                "https://meet.clinic.example"
            ])
        );
        let blocked = policy["URLBlocklist"].as_array().unwrap();
        assert!(blocked.contains(&json!("*")) && blocked.contains(&json!("chrome://*")));
        assert_eq!(policy["DeveloperToolsAvailability"], json!(2));
        assert_eq!(policy["IncognitoModeAvailability"], json!(1));
        assert_eq!(policy["BrowserGuestModeEnabled"], json!(false));
        assert_eq!(policy["DownloadRestrictions"], json!(3));
        assert_eq!(
            policy["VideoCaptureAllowedUrls"],
            json!(["http://127.0.0.1:*", "https://meet.clinic.example"])
        );
        assert_eq!(
            policy["AudioCaptureAllowedUrls"],
            json!(["http://127.0.0.1:*", "https://meet.clinic.example"])
        );
        assert_eq!(policy["VideoCaptureAllowed"], json!(false));
        // A port stays in the origin.
        let policy =
            kiosk_policy("https://meet.clinic.example:8443", Path::new("/var/tmp")).unwrap();
        assert_eq!(
            policy["URLAllowlist"][2],
            json!("https://meet.clinic.example:8443")
        );
        assert_eq!(
            policy["URLAllowlist"][0],
            json!("file:///var/tmp/consult-call-")
        );
    }

    #[test]
    fn only_an_https_jitsi_server_is_accepted() {
        assert!(matches!(
            kiosk_policy("meet.clinic.example", Path::new("/tmp")),
            Err(PolicyError::NotAUrl(_))
        ));
        assert!(matches!(
            kiosk_policy("http://meet.clinic.example", Path::new("/tmp")),
            Err(PolicyError::NotHttps(_))
        ));
    }

    /// The example shipped in packaging/kiosk/ is what the command prints for its address.
    #[test]
    fn the_shipped_example_is_the_generated_policy() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../packaging/kiosk/consult-kiosk-chromium-policy.example.json");
        let shipped: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(
            shipped,
            kiosk_policy("https://meet.clinic.example", Path::new("/tmp")).unwrap()
        );
    }
}
