//! The sign-in screen. A failed attempt keeps what was typed and says what went wrong. The clinic
//! server can be changed here unless an administrator preset it.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use consult_types::{SessionView, SettingsChange, SettingsView};

use crate::ipc;

#[derive(Properties, PartialEq)]
pub struct LoginPageProps {
    /// The settings in force, from the start-up reply: the form is drawn whole at once.
    pub settings: SettingsView,
    /// Shown above the form, e.g. why a saved sign-in could not be used.
    pub notice: Option<String>,
    pub on_signed_in: Callback<SessionView>,
    /// Called with the new settings after the user changed the server.
    pub on_settings_changed: Callback<SettingsView>,
}

/// The name of the server URL in `SettingsView.preset`.
const SERVER_URL_PRESET: &str = "serverUrl";

/// The stateful page: owns the fields and talks to the core.
#[function_component(LoginPage)]
pub fn login_page(props: &LoginPageProps) -> Html {
    let email = use_state(String::new);
    let password = use_state(String::new);
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    // `Some` (what is typed) unless an administrator preset the server.
    let server_input = use_state(|| editable_server(&props.settings));
    {
        let server_input = server_input.clone();
        use_effect_with(props.settings.clone(), move |settings| {
            server_input.set(editable_server(settings));
        });
    }

    let on_submit = {
        let (email, password, busy, error) =
            (email.clone(), password.clone(), busy.clone(), error.clone());
        let on_signed_in = props.on_signed_in.clone();
        let on_settings_changed = props.on_settings_changed.clone();
        let current_server = props.settings.server_url.clone();
        let typed_server = (*server_input)
            .as_deref()
            .map(str::trim)
            .filter(|typed| *typed != current_server)
            .map(str::to_owned);
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if *busy {
                return;
            }
            if email.trim().is_empty() || password.is_empty() {
                error.set(Some("Enter your email and password.".into()));
                return;
            }
            busy.set(true);
            error.set(None);
            let (email, password, busy, error) = (
                (*email).clone(),
                (*password).clone(),
                busy.clone(),
                error.clone(),
            );
            let on_signed_in = on_signed_in.clone();
            let (on_settings_changed, typed_server) =
                (on_settings_changed.clone(), typed_server.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(server_url) = typed_server {
                    let change = SettingsChange {
                        server_url: Some(server_url),
                        ..SettingsChange::default()
                    };
                    match ipc::save_settings(change).await {
                        Ok(saved) => on_settings_changed.emit(saved),
                        Err(failure) => {
                            busy.set(false);
                            return error.set(Some(failure.to_string()));
                        }
                    }
                }
                let result = ipc::login(email, password).await;
                busy.set(false);
                match result {
                    Ok(session) => on_signed_in.emit(session),
                    Err(failure) => error.set(Some(failure.to_string())),
                }
            });
        })
    };

    html! {
        <LoginForm
            server_url={props.settings.server_url.clone()}
            notice={props.notice.clone()}
            error={(*error).clone()}
            busy={*busy}
            email={(*email).clone()}
            password={(*password).clone()}
            on_email={setter(&email)}
            on_password={setter(&password)}
            server_url_input={(*server_input).clone()}
            on_server_url={optional_setter(&server_input)}
            {on_submit}
        />
    }
}

/// The server field's starting text, or `None` (no field) when the server is preset.
fn editable_server(settings: &SettingsView) -> Option<String> {
    let preset = settings.preset.iter().any(|name| name == SERVER_URL_PRESET);
    (!preset).then(|| settings.server_url.clone())
}

fn setter(state: &UseStateHandle<String>) -> Callback<InputEvent> {
    let state = state.clone();
    Callback::from(move |event: InputEvent| {
        let input: HtmlInputElement = event.target_unchecked_into();
        state.set(input.value());
    })
}

fn optional_setter(state: &UseStateHandle<Option<String>>) -> Callback<InputEvent> {
    let state = state.clone();
    Callback::from(move |event: InputEvent| {
        let input: HtmlInputElement = event.target_unchecked_into();
        state.set(Some(input.value()));
    })
}

#[derive(Properties, PartialEq)]
pub struct LoginFormProps {
    pub server_url: String,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub busy: bool,
    pub email: String,
    pub password: String,
    pub on_email: Callback<InputEvent>,
    pub on_password: Callback<InputEvent>,
    /// What is typed for the clinic server; `None` hides the field (preset or not known yet).
    pub server_url_input: Option<String>,
    pub on_server_url: Callback<InputEvent>,
    pub on_submit: Callback<SubmitEvent>,
}

/// The form as a pure function of its props, so it is testable without a webview.
#[function_component(LoginForm)]
pub fn login_form(props: &LoginFormProps) -> Html {
    html! {
        <main class="centered">
            <form class="card login" onsubmit={props.on_submit.clone()} novalidate=true>
                <h1>{ "Sign in to Consult" }</h1>
                <p class="muted server">{ "Clinic server: " }<span id="server-url">{ &props.server_url }</span></p>
                if let Some(typed) = &props.server_url_input {
                    <label for="server-url-input">{ "Clinic server" }</label>
                    <input id="server-url-input" name="server-url" type="url" autocomplete="url"
                        value={typed.clone()} oninput={props.on_server_url.clone()} disabled={props.busy} />
                }
                if let Some(notice) = &props.notice {
                    <p class="notice" id="login-notice">{ notice }</p>
                }
                <label for="email">{ "Email" }</label>
                <input id="email" name="email" type="email" autocomplete="username" required=true
                    value={props.email.clone()} oninput={props.on_email.clone()} disabled={props.busy} />
                <label for="password">{ "Password" }</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required=true
                    value={props.password.clone()} oninput={props.on_password.clone()} disabled={props.busy} />
                if let Some(error) = &props.error {
                    <p class="error" role="alert" id="login-error">{ error }</p>
                }
                <button id="sign-in" type="submit" disabled={props.busy}>
                    { if props.busy { "Signing in…" } else { "Sign in" } }
                </button>
            </form>
        </main>
    }
}
