//! Component tests through Yew's server-side renderer: the same components the webview runs,
//! rendered to HTML without a browser.
#![cfg(not(target_arch = "wasm32"))]

use consult_types::{Connection, NotificationPrefs, Role, SessionView, SettingsView, User};
use consult_ui::pages::desk::header::{HeaderView, HeaderViewProps};
use consult_ui::pages::login::{LoginForm, LoginFormProps, LoginPage, LoginPageProps};
use yew::{Callback, LocalServerRenderer};

fn login_props(error: Option<&str>, notice: Option<&str>, busy: bool) -> LoginFormProps {
    LoginFormProps {
        server_url: "https://clinic.example".into(),
        notice: notice.map(Into::into),
        error: error.map(Into::into),
        busy,
        email: "ada@demo.clinic".into(),
        password: "secret-typed".into(),
        on_email: Callback::noop(),
        on_password: Callback::noop(),
        server_url_input: None,
        on_server_url: Callback::noop(),
        on_submit: Callback::noop(),
    }
}

fn session(remember_problem: Option<&str>) -> SessionView {
    SessionView {
        user: User {
            id: "usr_1".into(),
            email: "doctor@demo.clinic".into(),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            role: Role::Doctor,
        },
        display_name: "Ada Lovelace".into(),
        remembered: remember_problem.is_none(),
        remember_problem: remember_problem.map(Into::into),
    }
}

async fn render_login(props: LoginFormProps) -> String {
    LocalServerRenderer::<LoginForm>::with_props(props)
        .render()
        .await
}

#[tokio::test]
async fn login_form_shows_the_server_and_keeps_what_was_typed() {
    let html = render_login(login_props(None, None, false)).await;
    assert!(html.contains("https://clinic.example"), "{html}");
    assert!(html.contains(r#"value="ada@demo.clinic""#), "{html}");
    assert!(!html.contains("login-error"), "no error expected: {html}");
    assert!(html.contains(">Sign in<"), "{html}");
}

#[tokio::test]
async fn login_form_shows_errors_as_alerts() {
    let html = render_login(login_props(
        Some("The email or password is not correct."),
        None,
        false,
    ))
    .await;
    assert!(html.contains(r#"role="alert""#), "{html}");
    assert!(
        html.contains("The email or password is not correct."),
        "{html}"
    );
    // A failed attempt loses nothing the user typed.
    assert!(html.contains(r#"value="ada@demo.clinic""#), "{html}");
}

#[tokio::test]
async fn login_form_disables_input_while_signing_in_and_shows_notices() {
    let html = render_login(login_props(None, Some("Your saved sign-in expired."), true)).await;
    assert!(html.contains("Signing in…"), "{html}");
    assert!(html.contains("disabled"), "{html}");
    assert!(html.contains("Your saved sign-in expired."), "{html}");
}

#[tokio::test]
async fn the_server_can_be_changed_only_when_not_preset() {
    let preset = render_login(login_props(None, None, false)).await;
    assert!(!preset.contains("server-url-input"), "{preset}");

    let mut props = login_props(None, None, false);
    props.server_url_input = Some("https://other.example".into());
    let html = render_login(props).await;
    assert!(html.contains(r#"id="server-url-input""#), "{html}");
    assert!(html.contains(r#"value="https://other.example""#), "{html}");
    // The configured server is still named until the change is saved.
    assert!(
        html.contains(r#"<span id="server-url">https://clinic.example</span>"#),
        "{html}"
    );
}

#[tokio::test]
async fn header_shows_who_is_signed_in() {
    let props = HeaderViewProps {
        session: session(None),
        connection: Some(Connection::Online),
        busy: false,
        on_sign_out: Callback::noop(),
        on_open_settings: Callback::noop(),
        on_open_kiosks: None,
    };
    let html = LocalServerRenderer::<HeaderView>::with_props(props)
        .render()
        .await;
    assert!(html.contains(r#"id="signed-in-name""#), "{html}");
    assert!(html.contains("Ada Lovelace"), "{html}");
    assert!(html.contains("doctor"), "{html}");
    assert!(html.contains(r#"id="sign-out""#), "{html}");
    assert!(html.contains(r#"id="open-settings""#), "{html}");
}

fn settings(preset: &[&str]) -> SettingsView {
    SettingsView {
        server_url: "https://clinic.example/".into(),
        notifications: NotificationPrefs::default(),
        idle_logoff_secs: 900,
        preset: preset.iter().map(|name| (*name).to_owned()).collect(),
    }
}

async fn first_paint_of_the_sign_in_page(settings: SettingsView) -> String {
    let props = LoginPageProps {
        settings,
        notice: None,
        on_signed_in: Callback::noop(),
        on_settings_changed: Callback::noop(),
    };
    // The server-side renderer draws the first render only, before any effect or reply: what
    // the user sees first.
    LocalServerRenderer::<LoginPage>::with_props(props)
        .render()
        .await
}

#[tokio::test]
async fn the_sign_in_card_is_whole_at_its_first_paint() {
    let html = first_paint_of_the_sign_in_page(settings(&[])).await;
    assert!(html.contains(r#"id="server-url-input""#), "{html}");
    assert!(
        html.contains(r#"value="https://clinic.example/""#),
        "{html}"
    );

    let html = first_paint_of_the_sign_in_page(settings(&["serverUrl"])).await;
    assert!(
        !html.contains("server-url-input"),
        "preset: no field: {html}"
    );
}
