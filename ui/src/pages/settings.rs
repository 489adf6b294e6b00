//! The settings dialog. Fields an administrator preset are shown read-only; saving sends only
//! what the user changed.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use consult_types::{NotificationPrefs, SettingsChange, SettingsView};

use crate::ipc;

/// One notification checkbox: its element id, its name in `SettingsView.preset`, its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefField {
    Enabled,
    JoinRequests,
    Calls,
    Reminders,
    ShowPatientNames,
}

impl PrefField {
    pub const ALL: [PrefField; 5] = [
        PrefField::Enabled,
        PrefField::JoinRequests,
        PrefField::Calls,
        PrefField::Reminders,
        PrefField::ShowPatientNames,
    ];

    fn id(self) -> &'static str {
        match self {
            PrefField::Enabled => "setting-notifications",
            PrefField::JoinRequests => "setting-join-requests",
            PrefField::Calls => "setting-calls",
            PrefField::Reminders => "setting-reminders",
            PrefField::ShowPatientNames => "setting-show-patient-names",
        }
    }

    fn preset_name(self) -> &'static str {
        match self {
            PrefField::Enabled => "notifications.enabled",
            PrefField::JoinRequests => "notifications.joinRequests",
            PrefField::Calls => "notifications.calls",
            PrefField::Reminders => "notifications.reminders",
            PrefField::ShowPatientNames => "notifications.showPatientNames",
        }
    }

    fn label(self) -> &'static str {
        match self {
            PrefField::Enabled => "Show desktop notifications",
            PrefField::JoinRequests => "When someone asks to join a call",
            PrefField::Calls => "When a call is ready or starting",
            PrefField::Reminders => "Appointment reminders",
            PrefField::ShowPatientNames => {
                "Show patient names in notifications (off on shared screens)"
            }
        }
    }

    fn get(self, prefs: &NotificationPrefs) -> bool {
        match self {
            PrefField::Enabled => prefs.enabled,
            PrefField::JoinRequests => prefs.join_requests,
            PrefField::Calls => prefs.calls,
            PrefField::Reminders => prefs.reminders,
            PrefField::ShowPatientNames => prefs.show_patient_names,
        }
    }

    fn set(self, prefs: &mut NotificationPrefs, value: bool) {
        match self {
            PrefField::Enabled => prefs.enabled = value,
            PrefField::JoinRequests => prefs.join_requests = value,
            PrefField::Calls => prefs.calls = value,
            PrefField::Reminders => prefs.reminders = value,
            PrefField::ShowPatientNames => prefs.show_patient_names = value,
        }
    }
}

const IDLE_PRESET: &str = "idleLogoffSecs";

/// The diagnostics report once fetched, and whether the clipboard took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    pub text: String,
    pub copied: bool,
}

/// What the form shows and the user edits.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsDraft {
    pub notifications: NotificationPrefs,
    /// As typed: minutes, 0 = never.
    pub idle_minutes: String,
}

impl SettingsDraft {
    pub fn from_view(view: &SettingsView) -> SettingsDraft {
        SettingsDraft {
            notifications: view.notifications.clone(),
            idle_minutes: minutes_text(view.idle_logoff_secs),
        }
    }

    /// Only the fields that differ from `view`; a readable message when the minutes are not a
    /// number.
    pub fn change(&self, view: &SettingsView) -> Result<SettingsChange, String> {
        let notifications =
            (self.notifications != view.notifications).then(|| self.notifications.clone());
        let typed = self.idle_minutes.trim();
        let idle_logoff_secs = if typed == minutes_text(view.idle_logoff_secs) {
            None
        } else {
            let minutes: f64 = typed
                .parse()
                .ok()
                .filter(|minutes: &f64| minutes.is_finite() && *minutes >= 0.0)
                .ok_or_else(|| {
                    "Enter the minutes without activity as a number (0 turns sign-out off)."
                        .to_owned()
                })?;
            Some((minutes * 60.0).round() as u64)
        };
        Ok(SettingsChange {
            server_url: None,
            notifications,
            idle_logoff_secs,
        })
    }
}

/// Seconds as minutes, without a fraction when there is none (configs may set e.g. 90 s).
fn minutes_text(secs: u64) -> String {
    if secs.is_multiple_of(60) {
        (secs / 60).to_string()
    } else {
        format!("{:.1}", secs as f64 / 60.0)
    }
}

#[derive(Properties, PartialEq)]
pub struct SettingsPageProps {
    pub on_close: Callback<()>,
}

/// The stateful dialog: loads the settings, keeps the draft, saves the changes.
#[function_component(SettingsPage)]
pub fn settings_page(props: &SettingsPageProps) -> Html {
    let view = use_state(|| None::<SettingsView>);
    let draft = use_state(|| None::<SettingsDraft>);
    let error = use_state(|| None::<String>);
    let saved = use_state(|| false);
    let busy = use_state(|| false);
    let diagnostics = use_state(|| None::<Diagnostics>);

    {
        let (view, draft, error) = (view.clone(), draft.clone(), error.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match ipc::settings().await {
                    Ok(loaded) => {
                        draft.set(Some(SettingsDraft::from_view(&loaded)));
                        view.set(Some(loaded));
                    }
                    Err(failure) => error.set(Some(failure.to_string())),
                }
            });
        });
    }

    let on_toggle = {
        let (draft, saved) = (draft.clone(), saved.clone());
        Callback::from(move |(field, value): (PrefField, bool)| {
            if let Some(mut next) = (*draft).clone() {
                field.set(&mut next.notifications, value);
                draft.set(Some(next));
                saved.set(false);
            }
        })
    };
    let on_idle = {
        let (draft, saved) = (draft.clone(), saved.clone());
        Callback::from(move |typed: String| {
            if let Some(mut next) = (*draft).clone() {
                next.idle_minutes = typed;
                draft.set(Some(next));
                saved.set(false);
            }
        })
    };
    let on_save = {
        let (view, draft, error, saved, busy) = (
            view.clone(),
            draft.clone(),
            error.clone(),
            saved.clone(),
            busy.clone(),
        );
        Callback::from(move |()| {
            let (Some(current), Some(edited)) = ((*view).clone(), (*draft).clone()) else {
                return;
            };
            let change = match edited.change(&current) {
                Ok(change) => change,
                Err(message) => return error.set(Some(message)),
            };
            if change == SettingsChange::default() {
                error.set(None);
                return saved.set(true);
            }
            busy.set(true);
            error.set(None);
            let (view, draft, error, saved, busy) = (
                view.clone(),
                draft.clone(),
                error.clone(),
                saved.clone(),
                busy.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match ipc::save_settings(change).await {
                    Ok(stored) => {
                        draft.set(Some(SettingsDraft::from_view(&stored)));
                        view.set(Some(stored));
                        saved.set(true);
                    }
                    Err(failure) => error.set(Some(failure.to_string())),
                }
                busy.set(false);
            });
        })
    };

    let on_diagnostics = {
        let (diagnostics, error) = (diagnostics.clone(), error.clone());
        Callback::from(move |()| {
            let (diagnostics, error) = (diagnostics.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match ipc::diagnostics().await {
                    Ok(text) => {
                        let copied = copy_to_clipboard(&text).await;
                        diagnostics.set(Some(Diagnostics { text, copied }));
                    }
                    Err(failure) => error.set(Some(failure.to_string())),
                }
            });
        })
    };

    html! {
        <SettingsForm
            view={(*view).clone()}
            diagnostics={(*diagnostics).clone()}
            {on_diagnostics}
            draft={(*draft).clone()}
            error={(*error).clone()}
            saved={*saved}
            busy={*busy}
            {on_toggle}
            {on_idle}
            {on_save}
            on_close={props.on_close.clone()}
        />
    }
}

#[derive(Properties, PartialEq)]
pub struct SettingsFormProps {
    /// `None` while loading.
    pub view: Option<SettingsView>,
    pub draft: Option<SettingsDraft>,
    pub error: Option<String>,
    pub saved: bool,
    pub busy: bool,
    pub on_toggle: Callback<(PrefField, bool)>,
    pub on_idle: Callback<String>,
    pub on_save: Callback<()>,
    pub on_close: Callback<()>,
    /// The diagnostics report, once "Copy diagnostics" was pressed.
    #[prop_or_default]
    pub diagnostics: Option<Diagnostics>,
    #[prop_or_default]
    pub on_diagnostics: Callback<()>,
}

/// Writes `text` to the clipboard with the web API; false where the webview has none or
/// refuses (the dialog then shows the text to copy by hand).
async fn copy_to_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    // Not every webview has `navigator.clipboard`; the typed getter would not say so.
    let has_clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
        .is_ok_and(|clipboard| !clipboard.is_undefined() && !clipboard.is_null());
    if !has_clipboard {
        return false;
    }
    wasm_bindgen_futures::JsFuture::from(navigator.clipboard().write_text(text))
        .await
        .is_ok()
}

/// The dialog as a pure function of its props, so it is testable without a webview.
#[function_component(SettingsForm)]
pub fn settings_form(props: &SettingsFormProps) -> Html {
    let on_submit = {
        let on_save = props.on_save.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            on_save.emit(());
        })
    };
    let on_close = {
        let on_close = props.on_close.clone();
        Callback::from(move |_: MouseEvent| on_close.emit(()))
    };
    // Escape closes, as in any dialog.
    let on_key = {
        let on_close = props.on_close.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Escape" {
                on_close.emit(())
            }
        })
    };
    let body = match (&props.view, &props.draft) {
        (Some(view), Some(draft)) => fields(view, draft, props),
        _ => html! { <p class="muted">{ "Loading settings…" }</p> },
    };
    html! {
        <div class="overlay" onkeydown={on_key}>
            <form id="settings" class="card dialog" role="dialog" aria-modal="true"
                aria-labelledby="settings-title" onsubmit={on_submit} novalidate=true>
                <h1 id="settings-title">{ "Settings" }</h1>
                { body }
                if let Some(error) = &props.error {
                    <p class="error" role="alert" id="settings-error">{ error }</p>
                }
                if props.saved {
                    <p class="saved" role="status" id="settings-saved">{ "Settings saved." }</p>
                }
                { diagnostics(props) }
                <div class="dialog-actions">
                    <button id="close-settings" class="secondary" type="button" onclick={on_close}>
                        { "Close" }
                    </button>
                    <button id="save-settings" type="submit" disabled={props.busy || props.draft.is_none()}>
                        { if props.busy { "Saving…" } else { "Save" } }
                    </button>
                </div>
            </form>
        </div>
    }
}

/// "Copy diagnostics" for IT support, and the report once copied (or to copy by hand).
fn diagnostics(props: &SettingsFormProps) -> Html {
    let on_click = {
        let on_diagnostics = props.on_diagnostics.clone();
        Callback::from(move |_: MouseEvent| on_diagnostics.emit(()))
    };
    html! {
        <fieldset class="diagnostics">
            <legend>{ "Support" }</legend>
            <button id="copy-diagnostics" class="secondary" type="button" onclick={on_click}>
                { "Copy diagnostics" }
            </button>
            if let Some(report) = &props.diagnostics {
                if report.copied {
                    <p class="saved" role="status" id="diagnostics-copied">
                        { "Copied. Paste it into your message to IT support." }
                    </p>
                } else {
                    <p class="muted" role="status" id="diagnostics-not-copied">
                        { "The clipboard is not available here: select the text below and copy it." }
                    </p>
                }
                <textarea id="diagnostics-text" readonly=true rows="8" value={report.text.clone()} />
            }
        </fieldset>
    }
}

fn fields(view: &SettingsView, draft: &SettingsDraft, props: &SettingsFormProps) -> Html {
    let preset = |name: &str| view.preset.iter().any(|p| p == name);
    let checkboxes = PrefField::ALL.into_iter().map(|field| {
        let locked = preset(field.preset_name());
        let on_toggle = props.on_toggle.clone();
        let onchange = Callback::from(move |event: Event| {
            let input: HtmlInputElement = event.target_unchecked_into();
            on_toggle.emit((field, input.checked()));
        });
        html! {
            <div class={classes!("field", "check", locked.then_some("preset"))}>
                <input type="checkbox" id={field.id()} checked={field.get(&draft.notifications)}
                    disabled={locked || props.busy} {onchange} />
                <label for={field.id()}>{ field.label() }</label>
                if locked { <span class="preset-note">{ "Set by your clinic" }</span> }
            </div>
        }
    });
    let idle_locked = preset(IDLE_PRESET);
    let on_idle = {
        let on_idle = props.on_idle.clone();
        Callback::from(move |event: InputEvent| {
            let input: HtmlInputElement = event.target_unchecked_into();
            on_idle.emit(input.value());
        })
    };
    html! {
        <>
            <fieldset>
                <legend>{ "Notifications" }</legend>
                { for checkboxes }
            </fieldset>
            <fieldset>
                <legend>{ "Security" }</legend>
                <div class={classes!("field", idle_locked.then_some("preset"))}>
                    <label for="setting-idle-minutes">{ "Sign out after this many minutes without activity (0 = never)" }</label>
                    <input type="number" id="setting-idle-minutes" min="0" step="1"
                        value={draft.idle_minutes.clone()} disabled={idle_locked || props.busy}
                        oninput={on_idle} />
                    if idle_locked { <span class="preset-note">{ "Set by your clinic" }</span> }
                </div>
            </fieldset>
            <p class="muted server">{ "Clinic server: " }<span id="settings-server-url">{ &view.server_url }</span></p>
        </>
    }
}
