//! The signed-in screen. For now it says who is signed in; the schedule comes next.

use yew::prelude::*;

use consult_types::SessionView;

use crate::ipc;

#[derive(Properties, PartialEq)]
pub struct HomePageProps {
    pub server_url: String,
    pub session: SessionView,
    /// Called after sign-out, with a notice for the login screen if something went wrong.
    pub on_signed_out: Callback<Option<String>>,
}

#[function_component(HomePage)]
pub fn home_page(props: &HomePageProps) -> Html {
    let busy = use_state(|| false);
    let on_sign_out = {
        let busy = busy.clone();
        let on_signed_out = props.on_signed_out.clone();
        Callback::from(move |_: MouseEvent| {
            busy.set(true);
            let on_signed_out = on_signed_out.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // The core wipes the session locally even when this reports a problem.
                let notice = ipc::logout()
                    .await
                    .err()
                    .map(|error| format!("You are signed out on this computer, but: {error}"));
                on_signed_out.emit(notice);
            });
        })
    };

    html! {
        <HomeView
            server_url={props.server_url.clone()}
            session={props.session.clone()}
            busy={*busy}
            {on_sign_out}
        />
    }
}

#[derive(Properties, PartialEq)]
pub struct HomeViewProps {
    pub server_url: String,
    pub session: SessionView,
    pub busy: bool,
    pub on_sign_out: Callback<MouseEvent>,
}

#[function_component(HomeView)]
pub fn home_view(props: &HomeViewProps) -> Html {
    let session = &props.session;
    html! {
        <>
            <header class="topbar">
                <span class="brand">{ "Consult" }</span>
                <span class="who">
                    { "Signed in as " }
                    <strong id="signed-in-name">{ &session.display_name }</strong>
                    <span class="role" id="signed-in-role">{ session.user.role.as_str() }</span>
                </span>
                <button id="sign-out" class="secondary" onclick={props.on_sign_out.clone()} disabled={props.busy}>
                    { "Sign out" }
                </button>
            </header>
            <main class="content">
                <h1 id="welcome">{ format!("Welcome, {}", session.display_name) }</h1>
                <p class="muted">{ "Connected to " }{ &props.server_url }</p>
                if let Some(problem) = &session.remember_problem {
                    <p class="notice" id="not-remembered">
                        { "You will have to sign in again next time: " }{ problem }
                    </p>
                }
            </main>
        </>
    }
}
