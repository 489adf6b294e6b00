//! The top bar: who is signed in, the live connection's state, settings and sign-out, and for
//! administrators the way to the Kiosks screen.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use consult_types::{Connection, SessionView};

#[derive(Properties, PartialEq)]
pub struct HeaderViewProps {
    pub session: SessionView,
    /// `None` until the first dashboard arrives.
    pub connection: Option<Connection>,
    /// Signing out is under way.
    pub busy: bool,
    pub on_sign_out: Callback<MouseEvent>,
    pub on_open_settings: Callback<MouseEvent>,
    /// Administrators only: opens the Kiosks screen (no button for other roles).
    #[prop_or_default]
    pub on_open_kiosks: Option<Callback<MouseEvent>>,
}

#[function_component(HeaderView)]
pub fn header_view(props: &HeaderViewProps) -> Html {
    let session = &props.session;
    let connection = props.connection.clone().unwrap_or(Connection::Connecting);
    let (state, text) = connection_text(&connection);
    let retry_in = match connection {
        Connection::Offline { retry_in_secs, .. } => Some(retry_in_secs),
        _ => None,
    };
    html! {
        <header class="topbar">
            <span class="brand">{ "Consult" }</span>
            <span id="connection" class={classes!("connection", state)} data-state={state}
                role="status" title={text.clone()}>
                <span class="dot" aria-hidden="true"></span>
                <span class="connection-text">
                    { text }
                    if let Some(secs) = retry_in {
                        // Hidden from the live region: a per-second announcement would drown
                        // everything else out.
                        <span class="retry" aria-hidden="true">
                            { " — retrying in " }<Countdown {secs} />{ " s" }
                        </span>
                    }
                </span>
            </span>
            <span class="who">
                { "Signed in as " }
                <strong id="signed-in-name">{ &session.display_name }</strong>
                <span class="role" id="signed-in-role">{ session.user.role.as_str() }</span>
            </span>
            if let Some(on_open_kiosks) = props.on_open_kiosks.clone() {
                <button id="open-kiosks" class="secondary" type="button" onclick={on_open_kiosks}>
                    { "Kiosks" }
                </button>
            }
            <button id="open-settings" class="secondary" type="button"
                onclick={props.on_open_settings.clone()}>
                { "Settings" }
            </button>
            <button id="sign-out" class="secondary" type="button"
                onclick={props.on_sign_out.clone()} disabled={props.busy}>
                { if props.busy { "Signing out…" } else { "Sign out" } }
            </button>
        </header>
    }
}

/// The `data-state` value and the words shown next to the dot (the retry countdown follows).
pub fn connection_text(connection: &Connection) -> (&'static str, String) {
    match connection {
        Connection::Online => ("online", "Online".to_owned()),
        Connection::Connecting => ("connecting", "Connecting…".to_owned()),
        Connection::Offline { reason, .. } => (
            "offline",
            format!("Offline: {}", reason.trim_end_matches('.')),
        ),
    }
}

#[derive(Properties, PartialEq)]
struct CountdownProps {
    secs: u64,
}

/// Seconds until the core's next attempt, counting down between its updates.
#[function_component(Countdown)]
fn countdown(props: &CountdownProps) -> Html {
    let left = use_state(|| props.secs);
    {
        let left = left.clone();
        use_effect_with(props.secs, move |secs| {
            left.set(*secs);
            let mut remaining = *secs;
            let interval = Interval::new(1_000, move || {
                remaining = remaining.saturating_sub(1);
                left.set(remaining);
            });
            move || drop(interval)
        });
    }
    html! { <span class="countdown">{ *left }</span> }
}
