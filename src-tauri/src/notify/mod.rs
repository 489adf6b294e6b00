//! Native notifications for the core's alerts, and what the user's clicks on them mean.
//!
//! Linux talks to `org.freedesktop.Notifications` itself ([`linux`]), because the contract with
//! the desktop (app name, actions, `x-consult-*` hints; docs/desktop-contracts.md) needs more
//! than tauri-plugin-notification sends there. Other platforms use the plugin ([`plugin`]).
//! Showing a notification never fails the caller: a missing daemon is logged once.

#[cfg(target_os = "linux")]
mod linux;
// Compiled everywhere so it is checked on Linux builds too; used on Windows and macOS.
#[cfg_attr(target_os = "linux", allow(dead_code))]
mod plugin;

use std::borrow::Cow;
use std::sync::Arc;

use tauri::{AppHandle, Runtime};

use consult_core::alerts::Alert;
use consult_types::Decision;

pub use consult_core::ports::NotificationAction as Intent;
pub use consult_core::ports::Notifier;

/// What a shown notification is about: enough to act on a click without the core's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub appointment_id: String,
    pub session_id: Option<String>,
    pub join_request_id: Option<String>,
    pub lobby_participant_id: Option<String>,
}

impl From<&Alert> for Target {
    fn from(alert: &Alert) -> Target {
        Target {
            appointment_id: alert.appointment_id.clone(),
            session_id: alert.session_id.clone(),
            join_request_id: alert.join_request_id.clone(),
            lobby_participant_id: alert.lobby_participant_id.clone(),
        }
    }
}

/// Receives the intents of clicks; runs on the notifier's task, so it must return quickly.
pub type IntentHandler = Arc<dyn Fn(Intent) + Send + Sync>;

/// Action keys as sent to the desktop; `default` is a click on the notification itself.
pub const ACTION_OPEN: &str = "default";
pub const ACTION_ADMIT: &str = "admit";
pub const ACTION_DECLINE: &str = "decline";
pub const ACTION_LOBBY_ADMIT: &str = "lobby-admit";
pub const ACTION_LOBBY_DENY: &str = "lobby-deny";
/// tauri-plugin-notification's name for a click on the notification itself.
pub const PLUGIN_TAP: &str = "tap";

/// The D-Bus `actions` array (`[key, label, key, label, …]`) of an alert.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // used by the D-Bus notifier
pub fn dbus_actions(alert: &Alert) -> Vec<&'static str> {
    let mut actions = vec![ACTION_OPEN, "Open"];
    if alert.join_request_id.is_some() {
        actions.extend([ACTION_ADMIT, "Admit", ACTION_DECLINE, "Decline"]);
    }
    if alert.lobby_participant_id.is_some() {
        actions.extend([ACTION_LOBBY_ADMIT, "Admit", ACTION_LOBBY_DENY, "Deny"]);
    }
    actions
}

/// The `x-consult-*` hints (all strings) that let a test or a daemon tell our notifications apart.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // used by the D-Bus notifier
pub fn dbus_hints(alert: &Alert) -> Vec<(&'static str, String)> {
    let mut hints = vec![
        ("x-consult-notification-id", alert.id.clone()),
        ("x-consult-appointment-id", alert.appointment_id.clone()),
    ];
    if let Some(id) = &alert.join_request_id {
        hints.push(("x-consult-join-request-id", id.clone()));
    }
    if let Some(id) = &alert.lobby_participant_id {
        hints.push(("x-consult-lobby-participant-id", id.clone()));
    }
    hints
}

/// An alert's text as a D-Bus notification body. Daemons that advertise `body-markup` (KDE,
/// GNOME, dunst) read the body as the specification's markup subset, and names in it are chosen
/// by other people: `&`, `<` and `>` are escaped so a name shows as typed, never as a link or
/// formatting. Daemons without that capability show the body as sent, so it goes unchanged.
/// The summary is plain text by the specification and is never escaped.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // used by the D-Bus notifier
pub fn dbus_body(text: &str, body_markup: bool) -> Cow<'_, str> {
    if !body_markup || !text.contains(['&', '<', '>']) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            other => escaped.push(other),
        }
    }
    Cow::Owned(escaped)
}

/// The intent of action `key` on a notification about `target`; `None` for unknown keys and for
/// Admit/Decline on a notification that is not about a join request.
pub fn intent(key: &str, target: &Target) -> Option<Intent> {
    let decision = match key {
        ACTION_OPEN | PLUGIN_TAP => {
            return Some(Intent::Open {
                appointment_id: target.appointment_id.clone(),
                session_id: target.session_id.clone(),
            })
        }
        ACTION_ADMIT => Decision::Admit,
        ACTION_DECLINE => Decision::Decline,
        ACTION_LOBBY_ADMIT | ACTION_LOBBY_DENY => {
            return Some(Intent::AnswerKnocking {
                participant_id: target.lobby_participant_id.clone()?,
                approved: key == ACTION_LOBBY_ADMIT,
            })
        }
        _ => return None,
    };
    Some(Intent::Decide {
        join_request_id: target.join_request_id.clone()?,
        decision,
    })
}

/// The platform's notifier; `on_intent` gets what the user's clicks ask for.
pub fn notifier<R: Runtime>(app: &AppHandle<R>, on_intent: IntentHandler) -> Arc<dyn Notifier> {
    #[cfg(target_os = "linux")]
    {
        let _ = app;
        Arc::new(linux::DbusNotifier::new(on_intent))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Arc::new(plugin::PluginNotifier::new(app, on_intent))
    }
}

/// The plugin, on the platforms that use it.
pub fn plugin<R: Runtime>() -> Option<tauri::plugin::TauriPlugin<R>> {
    if cfg!(target_os = "linux") {
        None
    } else {
        Some(tauri_plugin_notification::init())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_types::NotificationKind;

    fn alert(join_request_id: Option<&str>) -> Alert {
        Alert {
            id: "n1".into(),
            kind: NotificationKind::JoinRequestCreated,
            title: "t".into(),
            body: "b".into(),
            appointment_id: "a1".into(),
            session_id: Some("s1".into()),
            join_request_id: join_request_id.map(Into::into),
            lobby_participant_id: None,
        }
    }

    #[test]
    fn join_requests_offer_admit_and_decline_as_the_contract_says() {
        assert_eq!(
            dbus_actions(&alert(Some("j1"))),
            ["default", "Open", "admit", "Admit", "decline", "Decline"]
        );
        assert_eq!(dbus_actions(&alert(None)), ["default", "Open"]);
        assert_eq!(
            dbus_hints(&alert(Some("j1"))),
            [
                ("x-consult-notification-id", "n1".to_owned()),
                ("x-consult-appointment-id", "a1".to_owned()),
                ("x-consult-join-request-id", "j1".to_owned()),
            ]
        );
        assert_eq!(dbus_hints(&alert(None)).len(), 2);
    }

    #[test]
    fn bodies_escape_markup_for_daemons_that_render_it() {
        let name = r#"<a href="https://evil.example/">Grace</a> & <b>Co</b>"#;
        assert_eq!(
            dbus_body(name, true),
            r#"&lt;a href="https://evil.example/"&gt;Grace&lt;/a&gt; &amp; &lt;b&gt;Co&lt;/b&gt;"#
        );
        // Already escaped text is escaped again: it is text, not markup.
        assert_eq!(dbus_body("&amp;", true), "&amp;amp;");
        assert!(matches!(dbus_body("Grace Hopper", true), Cow::Borrowed(_)));
        // Without body-markup the daemon shows the text as it is.
        assert_eq!(dbus_body(name, false), name);
    }

    #[test]
    fn actions_map_to_intents() {
        let join = Target::from(&alert(Some("j1")));
        let open = Intent::Open {
            appointment_id: "a1".into(),
            session_id: Some("s1".into()),
        };
        assert_eq!(intent("default", &join), Some(open.clone()));
        assert_eq!(intent("tap", &join), Some(open));
        assert_eq!(
            intent("admit", &join),
            Some(Intent::Decide {
                join_request_id: "j1".into(),
                decision: Decision::Admit
            })
        );
        assert_eq!(
            intent("decline", &join),
            Some(Intent::Decide {
                join_request_id: "j1".into(),
                decision: Decision::Decline
            })
        );
        assert_eq!(intent("snooze", &join), None);
        assert_eq!(intent("lobby-admit", &join), None);

        let knock = consult_core::alerts::lobby_knock(
            &consult_types::KnockingParticipant {
                id: "p9".into(),
                name: Some("Pat".into()),
            },
            Some("a1"),
            "s1",
            true,
        );
        assert_eq!(
            dbus_actions(&knock),
            [
                "default",
                "Open",
                "lobby-admit",
                "Admit",
                "lobby-deny",
                "Deny"
            ]
        );
        let knock = Target::from(&knock);
        assert_eq!(
            intent("lobby-admit", &knock),
            Some(Intent::AnswerKnocking {
                participant_id: "p9".into(),
                approved: true
            })
        );
        assert_eq!(
            intent("lobby-deny", &knock),
            Some(Intent::AnswerKnocking {
                participant_id: "p9".into(),
                approved: false
            })
        );
        assert_eq!(intent("admit", &knock), None);

        let reminder = Target::from(&alert(None));
        assert_eq!(intent("admit", &reminder), None);
        assert!(matches!(
            intent("default", &reminder),
            Some(Intent::Open { .. })
        ));
    }
}
