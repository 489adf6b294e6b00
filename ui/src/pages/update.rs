//! The in-app update banner: a small, non-modal strip at the bottom of the window. It is shown
//! only when the core says so (never during a call, never on a kiosk): "Consult <version> is
//! ready. Restart to update / Later", then "Installing…", or why the install failed and what to
//! do. The decisions are the core's (`consult_core::updates`).

use yew::prelude::*;

use consult_types::{events as names, UpdateAction, UpdateBanner};

use crate::events::listen;
use crate::ipc;

/// Subscribes to `update-changed`, asks for the banner once, and draws [`UpdateBannerView`].
#[function_component(UpdateStrip)]
pub fn update_strip() -> Html {
    let banner = use_state(|| UpdateBanner::Hidden);
    let error = use_state(|| None::<String>);
    {
        let banner = banner.clone();
        use_effect_with((), move |_| {
            let held = std::rc::Rc::new(std::cell::RefCell::new(None));
            {
                let held = held.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let listener = listen(names::UPDATE_CHANGED, move |update: UpdateBanner| {
                        banner.set(update)
                    })
                    .await;
                    match listener {
                        Ok(listener) => *held.borrow_mut() = Some(listener),
                        Err(failed) => web_sys::console::warn_1(
                            &format!("cannot listen for updates: {failed}").into(),
                        ),
                    }
                    // The answer comes as an event.
                    let _ = ipc::update(UpdateAction::Show).await;
                });
            }
            move || drop(held.borrow_mut().take())
        });
    }
    let act = |action: UpdateAction| {
        let error = error.clone();
        Callback::from(move |_: MouseEvent| {
            let error = error.clone();
            error.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(failed) = ipc::update(action).await {
                    error.set(Some(failed.to_string()));
                }
            });
        })
    };
    html! {
        <UpdateBannerView banner={(*banner).clone()} error={(*error).clone()}
            on_restart={act(UpdateAction::Restart)} on_later={act(UpdateAction::Later)} />
    }
}

#[derive(Properties, PartialEq)]
pub struct UpdateBannerViewProps {
    pub banner: UpdateBanner,
    /// A refused "Restart to update" (e.g. a call started meanwhile).
    pub error: Option<String>,
    pub on_restart: Callback<MouseEvent>,
    pub on_later: Callback<MouseEvent>,
}

/// The banner itself, pure (tested with the server-side renderer).
#[function_component(UpdateBannerView)]
pub fn update_banner_view(props: &UpdateBannerViewProps) -> Html {
    let error = props.error.as_ref().map(|error| {
        html! { <p class="update-error" id="update-error">{ error.clone() }</p> }
    });
    match &props.banner {
        UpdateBanner::Hidden => html! {},
        UpdateBanner::Ready { version } => html! {
            <aside id="update-banner" class="update-banner" role="status" aria-live="polite"
                data-state="ready" data-version={version.clone()}>
                <span>{ format!("Consult {version} is ready.") }</span>
                <button id="update-restart" class="primary" onclick={props.on_restart.clone()}>
                    { "Restart to update" }</button>
                <button id="update-later" onclick={props.on_later.clone()}>{ "Later" }</button>
                { for error }
            </aside>
        },
        UpdateBanner::Installing { version } => html! {
            <aside id="update-banner" class="update-banner" role="status" aria-live="polite"
                data-state="installing" data-version={version.clone()}>
                <span>{ format!("Installing Consult {version}… The app restarts when it is done.") }</span>
            </aside>
        },
        UpdateBanner::InstallFailed { version, message } => html! {
            <aside id="update-banner" class="update-banner failed" role="alert"
                data-state="failed" data-version={version.clone()}>
                <span id="update-failure">{ message.clone() }</span>
                <button id="update-restart" onclick={props.on_restart.clone()}>{ "Try again" }</button>
                <button id="update-later" onclick={props.on_later.clone()}>{ "Later" }</button>
                { for error }
            </aside>
        },
    }
}
