//! The settings dialog: presets are read-only, saving sends only what changed.
#![cfg(not(target_arch = "wasm32"))]

use consult_types::{NotificationPrefs, SettingsChange, SettingsView};
use consult_ui::pages::settings::{Diagnostics, SettingsDraft, SettingsForm, SettingsFormProps};
use yew::{Callback, LocalServerRenderer};

fn view(preset: &[&str]) -> SettingsView {
    SettingsView {
        server_url: "https://clinic.example".into(),
        notifications: NotificationPrefs {
            show_patient_names: false,
            ..NotificationPrefs::default()
        },
        idle_logoff_secs: 900,
        preset: preset.iter().map(|name| (*name).to_owned()).collect(),
    }
}

fn form(view: Option<SettingsView>, error: Option<&str>) -> SettingsFormProps {
    SettingsFormProps {
        draft: view.as_ref().map(SettingsDraft::from_view),
        view,
        error: error.map(Into::into),
        saved: false,
        busy: false,
        on_toggle: Callback::noop(),
        on_idle: Callback::noop(),
        on_save: Callback::noop(),
        on_close: Callback::noop(),
        diagnostics: None,
        on_diagnostics: Callback::noop(),
    }
}

#[tokio::test]
async fn diagnostics_are_shown_to_copy_by_hand_when_the_clipboard_refuses() {
    let mut props = form(Some(view(&[])), None);
    let html = render(form(Some(view(&[])), None)).await;
    assert!(html.contains(r#"id="copy-diagnostics""#), "{html}");
    assert!(!html.contains("diagnostics-text"), "{html}");
    props.diagnostics = Some(Diagnostics {
        text: "Consult diagnostics\nVersion: 1.2.3".into(),
        copied: false,
    });
    let html = render(props).await;
    assert!(html.contains(r#"id="diagnostics-not-copied""#), "{html}");
    assert!(
        tag(&html, "diagnostics-text").contains("readonly"),
        "{html}"
    );
}

async fn render(props: SettingsFormProps) -> String {
    LocalServerRenderer::<SettingsForm>::with_props(props)
        .render()
        .await
}

/// The whole opening tag with `id`.
fn tag<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!(r#"id="{id}""#);
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("{marker} not in {html}"));
    let start = html[..at].rfind('<').unwrap_or(0);
    let end = html[at..].find('>').map_or(html.len(), |end| at + end);
    &html[start..end]
}

#[tokio::test]
async fn preset_fields_are_disabled_and_say_who_set_them() {
    let html = render(form(
        Some(view(&["notifications.showPatientNames", "idleLogoffSecs"])),
        None,
    ))
    .await;
    assert!(html.contains(r#"id="settings""#), "{html}");
    let names = tag(&html, "setting-show-patient-names");
    assert!(names.contains("disabled"), "{names}");
    assert!(
        !names.contains("checked"),
        "shows the preset value (off): {names}"
    );
    let idle = tag(&html, "setting-idle-minutes");
    assert!(idle.contains("disabled"), "{idle}");
    assert!(idle.contains(r#"value="15""#), "{idle}");
    assert_eq!(html.matches("Set by your clinic").count(), 2, "{html}");

    let enabled = tag(&html, "setting-notifications");
    assert!(!enabled.contains("disabled"), "{enabled}");
    assert!(enabled.contains("checked"), "{enabled}");
    assert!(html.contains(r#"id="save-settings""#), "{html}");
}

#[tokio::test]
async fn without_presets_everything_is_editable() {
    let html = render(form(Some(view(&[])), None)).await;
    for id in [
        "setting-notifications",
        "setting-join-requests",
        "setting-calls",
        "setting-reminders",
        "setting-show-patient-names",
        "setting-idle-minutes",
    ] {
        assert!(!tag(&html, id).contains("disabled"), "{id}: {html}");
    }
    assert!(!html.contains("Set by your clinic"), "{html}");
}

#[tokio::test]
async fn errors_are_shown_in_the_dialog() {
    let html = render(form(
        Some(view(&[])),
        Some("The app's configuration is not valid: idle"),
    ))
    .await;
    assert!(
        tag(&html, "settings-error").contains(r#"role="alert""#),
        "{html}"
    );
    assert!(html.contains("configuration is not valid"), "{html}");
}

#[tokio::test]
async fn loading_shows_no_fields() {
    let html = render(form(None, None)).await;
    assert!(!html.contains("setting-idle-minutes"), "{html}");
    assert!(tag(&html, "save-settings").contains("disabled"), "{html}");
}

#[test]
fn saving_sends_only_what_changed() {
    let current = view(&[]);
    let mut draft = SettingsDraft::from_view(&current);
    assert_eq!(draft.change(&current), Ok(SettingsChange::default()));

    draft.idle_minutes = "30".into();
    assert_eq!(
        draft.change(&current),
        Ok(SettingsChange {
            idle_logoff_secs: Some(1800),
            ..SettingsChange::default()
        })
    );

    let mut draft = SettingsDraft::from_view(&current);
    draft.notifications.reminders = false;
    let change = draft.change(&current).expect("valid");
    assert_eq!(change.idle_logoff_secs, None);
    assert_eq!(change.server_url, None);
    assert_eq!(
        change.notifications.map(|prefs| prefs.reminders),
        Some(false)
    );

    let mut draft = SettingsDraft::from_view(&current);
    draft.idle_minutes = "soon".into();
    assert!(draft.change(&current).is_err());
    draft.idle_minutes = "0".into();
    assert_eq!(
        draft.change(&current).map(|change| change.idle_logoff_secs),
        Ok(Some(0))
    );
}
