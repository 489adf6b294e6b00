//! The root component: asks the core what to show first, then switches between screens.

use yew::prelude::*;

use consult_types::{AppError, SessionView, StartupState};

use crate::ipc;
use crate::pages::desk::DeskPage;
use crate::pages::login::LoginPage;

#[derive(Clone, PartialEq)]
enum Screen {
    Starting,
    /// The core could not start (configuration); nothing else is possible.
    Broken(AppError),
    SignedOut {
        server_url: String,
        notice: Option<String>,
    },
    SignedIn {
        server_url: String,
        session: SessionView,
    },
}

impl From<StartupState> for Screen {
    fn from(state: StartupState) -> Screen {
        match state.session {
            Some(session) => Screen::SignedIn {
                server_url: state.server_url,
                session,
            },
            None => Screen::SignedOut {
                server_url: state.server_url,
                notice: state.notice,
            },
        }
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let screen = use_state(|| Screen::Starting);

    {
        let screen = screen.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                screen.set(match ipc::startup().await {
                    Ok(state) => state.into(),
                    Err(error) => Screen::Broken(error),
                });
            });
        });
    }

    match (*screen).clone() {
        Screen::Starting => html! {
            <main class="centered"><p class="muted" id="starting">{ "Starting…" }</p></main>
        },
        Screen::Broken(error) => html! {
            <main class="centered">
                <section class="card" role="alert" id="startup-error">
                    <h1>{ "Consult cannot start" }</h1>
                    <p>{ error.to_string() }</p>
                </section>
            </main>
        },
        Screen::SignedOut { server_url, notice } => {
            let on_signed_in = {
                let screen = screen.clone();
                let server_url = server_url.clone();
                Callback::from(move |session: SessionView| {
                    screen.set(Screen::SignedIn {
                        server_url: server_url.clone(),
                        session,
                    })
                })
            };
            let on_server_changed = {
                let screen = screen.clone();
                let notice = notice.clone();
                Callback::from(move |server_url: String| {
                    screen.set(Screen::SignedOut {
                        server_url,
                        notice: notice.clone(),
                    })
                })
            };
            html! { <LoginPage {server_url} {notice} {on_signed_in} {on_server_changed} /> }
        }
        Screen::SignedIn {
            server_url,
            session,
        } => {
            let on_signed_out = {
                let screen = screen.clone();
                let server_url = server_url.clone();
                Callback::from(move |notice: Option<String>| {
                    screen.set(Screen::SignedOut {
                        server_url: server_url.clone(),
                        notice,
                    })
                })
            };
            html! { <DeskPage {session} {on_signed_out} /> }
        }
    }
}
