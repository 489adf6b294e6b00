//! The call screen, shown instead of the desk while a call runs. Everything it shows comes from
//! the core's [`CallScreen`] (built from Jitsi's own events): a button shows "muted" because
//! Jitsi said so, never because it was clicked. Every button and shortcut goes through the
//! `call_control` command.

use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use consult_types::{
    CallControl, CallPathKind, CallPhase, CallRole, CallScreen, CallSupport, EndReason, MediaDevice,
};

use crate::ipc;

/// The shortcuts as the help line lists them.
pub const SHORTCUT_HELP: &str =
    "Shortcuts: M microphone · V camera · H raise hand · T tile view · Ctrl+Shift+E hang up";

#[derive(Properties, PartialEq)]
pub struct CallPageProps {
    pub screen: CallScreen,
    /// What the call is about (e.g. "Call with Grace Hopper"); the room name when unknown.
    #[prop_or_default]
    pub title: Option<String>,
}

/// The stateful page: sends controls, listens to the keyboard, keeps the refusal text.
#[function_component(CallPage)]
pub fn call_page(props: &CallPageProps) -> Html {
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let confirm_end_all = use_state(|| false);
    let on_control = {
        let error = error.clone();
        Callback::from(move |control: CallControl| {
            error.set(None);
            let error = error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(refused) = ipc::call_control(control).await {
                    error.set(Some(refused.to_string()));
                }
            });
        })
    };

    let joined = props.screen.view.phase == CallPhase::Joined;
    {
        let on_control = on_control.clone();
        use_effect_with(joined, move |joined| {
            let listener = if *joined {
                web_sys::window()
                    .and_then(|window| window.document())
                    .map(|document| {
                        EventListener::new(&document, "keydown", move |event| {
                            if let Some(control) = shortcut_for(event) {
                                event.prevent_default();
                                on_control.emit(control);
                            }
                        })
                    })
            } else {
                None
            };
            move || drop(listener)
        });
    }

    // Retry and Back answer nothing: the call's next state (or its end) comes as an event.
    let on_retry = {
        let (error, busy) = (error.clone(), busy.clone());
        Callback::from(move |()| {
            if *busy {
                return;
            }
            busy.set(true);
            error.set(None);
            let (error, busy) = (error.clone(), busy.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(failed) = ipc::retry_call().await {
                    error.set(Some(failed.to_string()));
                }
                busy.set(false);
            });
        })
    };
    let on_back = {
        let (error, busy) = (error.clone(), busy.clone());
        Callback::from(move |()| {
            if *busy {
                return;
            }
            busy.set(true);
            let (error, busy) = (error.clone(), busy.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(problem) = ipc::leave_call().await {
                    error.set(Some(problem.to_string()));
                }
                busy.set(false);
            });
        })
    };
    let on_confirm_end_all = {
        let confirm_end_all = confirm_end_all.clone();
        Callback::from(move |open: bool| confirm_end_all.set(open))
    };
    let on_dismiss_error = {
        let error = error.clone();
        Callback::from(move |()| error.set(None))
    };

    html! {
        <CallScreenView
            screen={props.screen.clone()}
            title={props.title.clone()}
            error={(*error).clone()}
            busy={*busy}
            confirm_end_all={*confirm_end_all}
            {on_control}
            {on_retry}
            {on_back}
            {on_confirm_end_all}
            {on_dismiss_error}
        />
    }
}

/// The control a key press means, unless the user is typing somewhere.
fn shortcut_for(event: &web_sys::Event) -> Option<CallControl> {
    let key = event.dyn_ref::<web_sys::KeyboardEvent>()?;
    if key.repeat() || key.default_prevented() {
        return None;
    }
    let typing = event
        .target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|element| {
            matches!(
                element.tag_name().to_ascii_uppercase().as_str(),
                "INPUT" | "TEXTAREA" | "SELECT"
            ) || element
                .closest("[contenteditable]:not([contenteditable='false'])")
                .ok()
                .flatten()
                .is_some()
        });
    if typing {
        return None;
    }
    shortcut(
        &key.key(),
        key.ctrl_key(),
        key.shift_key(),
        key.alt_key(),
        key.meta_key(),
    )
}

/// The keyboard shortcuts: M, V, H, T without modifiers (Shift allowed, for Caps Lock users);
/// Ctrl+Shift+E hangs up.
pub fn shortcut(key: &str, ctrl: bool, shift: bool, alt: bool, meta: bool) -> Option<CallControl> {
    let key = key.to_ascii_lowercase();
    if ctrl && shift && !alt && !meta {
        return (key == "e").then_some(CallControl::HangUp);
    }
    if ctrl || alt || meta {
        return None;
    }
    match key.as_str() {
        "m" => Some(CallControl::ToggleAudio),
        "v" => Some(CallControl::ToggleVideo),
        "h" => Some(CallControl::ToggleRaiseHand),
        "t" => Some(CallControl::ToggleTileView),
        _ => None,
    }
}

/// The phase as `data-phase` names it.
pub fn phase_name(phase: &CallPhase) -> &'static str {
    match phase {
        CallPhase::Joining => "joining",
        CallPhase::Joined => "joined",
        CallPhase::Rejoining => "rejoining",
        CallPhase::Ended { .. } => "ended",
        CallPhase::Failed { .. } => "failed",
    }
}

fn phase_text(phase: &CallPhase) -> &'static str {
    match phase {
        CallPhase::Joining => "Joining the call…",
        CallPhase::Joined => "In the call",
        CallPhase::Rejoining => "Reconnecting to the call…",
        CallPhase::Ended { .. } => "The call has ended.",
        CallPhase::Failed { .. } => "The call failed",
    }
}

fn browser_name(support: &CallSupport) -> String {
    support
        .browser
        .clone()
        .unwrap_or_else(|| "browser".to_owned())
}

/// Where the call runs, for the header ("In this window" / "In Chromium").
pub fn path_label(support: &CallSupport) -> String {
    match support.path {
        CallPathKind::Embedded => "In this window".to_owned(),
        CallPathKind::Browser => format!("In {}", browser_name(support)),
        CallPathKind::None => "Nowhere".to_owned(),
    }
}

#[derive(Properties, PartialEq)]
pub struct CallScreenViewProps {
    pub screen: CallScreen,
    #[prop_or_default]
    pub title: Option<String>,
    /// The last refused control or failed command, as its `Display` text.
    #[prop_or_default]
    pub error: Option<String>,
    /// Retry or Back is in flight.
    #[prop_or_default]
    pub busy: bool,
    /// "End for everyone" asks first, inside the screen.
    #[prop_or_default]
    pub confirm_end_all: bool,
    pub on_control: Callback<CallControl>,
    pub on_retry: Callback<()>,
    pub on_back: Callback<()>,
    pub on_confirm_end_all: Callback<bool>,
    pub on_dismiss_error: Callback<()>,
}

/// The call screen as a pure function of its props, so it is testable without a webview.
#[function_component(CallScreenView)]
pub fn call_screen_view(props: &CallScreenViewProps) -> Html {
    let screen = &props.screen;
    let view = &screen.view;
    let phase = phase_name(&view.phase);
    let joined = view.phase == CallPhase::Joined;
    let moderator = view.role == CallRole::Moderator;
    let title = props
        .title
        .clone()
        .unwrap_or_else(|| screen.room_name.clone());
    let settling = matches!(view.phase, CallPhase::Joining | CallPhase::Rejoining);
    let back = {
        let on_back = props.on_back.clone();
        Callback::from(move |_: MouseEvent| on_back.emit(()))
    };

    let stage = match &view.phase {
        CallPhase::Failed { message } => {
            let retry = {
                let on_retry = props.on_retry.clone();
                Callback::from(move |_: MouseEvent| on_retry.emit(()))
            };
            html! {
                <div class="stage-message failed">
                    <p id="call-failed" role="alert">{ message }</p>
                    <div class="stage-actions">
                        <button id="call-retry" type="button" disabled={props.busy} onclick={retry}>
                            { "Retry" }
                        </button>
                        <button id="call-back" class="secondary" type="button" disabled={props.busy}
                            onclick={back.clone()}>
                            { "Back to schedule" }
                        </button>
                    </div>
                </div>
            }
        }
        CallPhase::Ended { reason } => {
            let why = match reason {
                EndReason::HungUp => "You hung up.",
                EndReason::Left => "A moderator ended the call, or you were removed from it.",
            };
            html! {
                <div class="stage-message ended">
                    <p id="call-ended">{ "The call has ended. " }{ why }</p>
                    <div class="stage-actions">
                        <button id="call-back" class="secondary" type="button" disabled={props.busy}
                            onclick={back.clone()}>
                            { "Back to schedule" }
                        </button>
                    </div>
                </div>
            }
        }
        _ => match &screen.frame_url {
            Some(url) => html! {
                // No top navigation for the call page or anything it frames (sandbox flags are
                // inherited): a hostile Jitsi cannot take the app's window. Same origin for the
                // page's channel (its Origin header), forms and popups for Jitsi (links go to
                // the system browser).
                <iframe id="call-frame" key={url.clone()} src={url.clone()} title="Video call"
                    sandbox="allow-scripts allow-same-origin allow-forms allow-popups"
                    allow="camera; microphone; display-capture; autoplay; fullscreen; clipboard-write"
                    referrerpolicy="no-referrer"></iframe>
            },
            None => html! {
                <div class="stage-message">
                    <p id="call-in-browser">
                        { format!(
                            "The call is in the {} window. Use the controls here or there.",
                            browser_name(&screen.support)
                        ) }
                    </p>
                </div>
            },
        },
    };

    html! {
        <div id="call-screen" class="call-screen" data-phase={phase}
            data-session-id={screen.session_id.clone()}>
            <header class="topbar call-top">
                <span class="brand">{ "Consult" }</span>
                <h1 id="call-title">{ title }</h1>
                if screen.audio_only {
                    <span class="call-type badge audio">{ "Audio" }</span>
                }
                <span id="call-path-label" class="path-label">{ path_label(&screen.support) }</span>
                <p id="call-phase" class={classes!("call-phase", phase)} data-phase={phase}
                    role="status" aria-live="polite">
                    { phase_text(&view.phase) }
                </p>
                if settling {
                    <button id="call-cancel" class="secondary" type="button" disabled={props.busy}
                        onclick={back.clone()}>
                        { "Cancel" }
                    </button>
                }
            </header>
            if let Some(error) = &props.error {
                <div id="call-error" class="error banner call-banner" role="alert">
                    <span>{ error }</span>
                    <button class="link" type="button"
                        onclick={props.on_dismiss_error.reform(|_: MouseEvent| ())}>
                        { "Dismiss" }
                    </button>
                </div>
            }
            if let Some(media) = &view.media_error {
                <div id="media-error" class="notice call-banner" role="alert"
                    data-device={match media.device { MediaDevice::Camera => "camera", MediaDevice::Microphone => "microphone" }}>
                    <strong>
                        { match media.device {
                            MediaDevice::Camera => "The camera does not work.",
                            MediaDevice::Microphone => "The microphone does not work.",
                        } }
                    </strong>
                    if let Some(message) = &media.message {
                        { " " }<span class="media-message">{ format!("({message})") }</span>
                    }
                    { " " }<span class="what-to-do">{ &media.what_to_do }</span>
                </div>
            }
            <div class="call-body">
                <div id="call-stage" class="stage">{ stage }</div>
                <aside class="call-side">
                    if moderator && !view.knocking.is_empty() {
                        <section id="call-lobby" class="side-section" aria-labelledby="lobby-title">
                            <h2 id="lobby-title">{ "Lobby" }</h2>
                            <ul class="knockers">
                                { for view.knocking.iter().map(|knocker| knocker_row(knocker, joined, &props.on_control)) }
                            </ul>
                        </section>
                    }
                    <section class="side-section" aria-labelledby="participants-title">
                        <h2 id="participants-title">
                            { "People" }<span class="count">{ view.participants.len() + 1 }</span>
                        </h2>
                        <ul id="call-participants" class="participants">
                            <li class="participant local"
                                data-participant-id={view.local_id.clone().unwrap_or_default()}>
                                <span class="participant-name">{ &view.display_name }</span>
                                <span class="muted">{ " (you)" }</span>
                                if moderator {
                                    <span class="tag moderator">{ "moderator" }</span>
                                }
                                if view.hand_raised {
                                    <span class="hand" title="Hand raised">{ "hand raised" }</span>
                                }
                            </li>
                            { for view.participants.iter().map(|person| html! {
                                <li class="participant" key={person.id.clone()}
                                    data-participant-id={person.id.clone()}>
                                    <span class="participant-name">
                                        { person.display_name.clone().unwrap_or_else(|| "Guest".to_owned()) }
                                    </span>
                                    if person.role == CallRole::Moderator {
                                        <span class="tag moderator">{ "moderator" }</span>
                                    }
                                    if person.hand_raised {
                                        <span class="hand" title="Hand raised">{ "hand raised" }</span>
                                    }
                                </li>
                            }) }
                        </ul>
                    </section>
                </aside>
            </div>
            <div class="call-controls" role="toolbar" aria-label="Call controls">
                { toggle("ctl-audio", view.audio_muted, "Unmute", "Mute", "M", CallControl::ToggleAudio, joined, &props.on_control) }
                { toggle("ctl-video", view.video_muted, "Start camera", "Stop camera", "V", CallControl::ToggleVideo, joined, &props.on_control) }
                { toggle("ctl-share", view.sharing_screen, "Stop sharing", "Share screen", "", CallControl::ToggleShareScreen, joined, &props.on_control) }
                { toggle("ctl-hand", view.hand_raised, "Lower hand", "Raise hand", "H", CallControl::ToggleRaiseHand, joined, &props.on_control) }
                { toggle("ctl-tile", view.tile_view, "Speaker view", "Tile view", "T", CallControl::ToggleTileView, joined, &props.on_control) }
                if moderator {
                    <span class="moderator-controls">
                        // The core's memory of what was asked: Jitsi sends no lobby event.
                        { toggle("ctl-lobby", view.lobby_enabled, "Turn lobby off", "Turn lobby on", "",
                            CallControl::ToggleLobby { enabled: !view.lobby_enabled }, joined, &props.on_control) }
                        { action("ctl-mute-all", "Mute everyone", "", CallControl::MuteEveryone, joined, &props.on_control) }
                        if props.confirm_end_all {
                            <span id="end-all-confirm" class="confirm" role="group"
                                aria-label="Confirm ending the call for everyone">
                                <span>{ "End the call for everyone?" }</span>
                                <button id="ctl-end-all-confirm" class="danger" type="button" disabled={!joined}
                                    onclick={{
                                        let (on_control, on_confirm) = (props.on_control.clone(), props.on_confirm_end_all.clone());
                                        Callback::from(move |_: MouseEvent| {
                                            on_confirm.emit(false);
                                            on_control.emit(CallControl::EndForAll);
                                        })
                                    }}>
                                    { "Yes, end for everyone" }
                                </button>
                                <button id="ctl-end-all-cancel" class="secondary" type="button"
                                    onclick={props.on_confirm_end_all.reform(|_: MouseEvent| false)}>
                                    { "Keep the call" }
                                </button>
                            </span>
                        } else {
                            <button id="ctl-end-all" class="control" type="button" disabled={!joined}
                                onclick={props.on_confirm_end_all.reform(|_: MouseEvent| true)}>
                                { "End for everyone" }
                            </button>
                        }
                    </span>
                }
                { action("ctl-hangup", "Hang up", "Ctrl+Shift+E", CallControl::HangUp, joined, &props.on_control) }
            </div>
            <p id="call-shortcuts" class="shortcuts muted">{ SHORTCUT_HELP }</p>
        </div>
    }
}

/// A toggle: `on` is the state Jitsi reported, shown as `aria-pressed` and `data-state`.
#[allow(clippy::too_many_arguments)]
fn toggle(
    id: &'static str,
    on: bool,
    on_label: &'static str,
    off_label: &'static str,
    key: &'static str,
    control: CallControl,
    enabled: bool,
    on_control: &Callback<CallControl>,
) -> Html {
    let onclick = {
        let on_control = on_control.clone();
        Callback::from(move |_: MouseEvent| on_control.emit(control.clone()))
    };
    let state = if on { "on" } else { "off" };
    let title = (!key.is_empty()).then(|| format!("Shortcut: {key}"));
    html! {
        <button {id} class={classes!("control", "toggle", state)} type="button"
            aria-pressed={on.to_string()} data-state={state} disabled={!enabled} {title} {onclick}>
            { if on { on_label } else { off_label } }
        </button>
    }
}

/// A one-shot control (no state to mirror).
fn action(
    id: &'static str,
    label: &'static str,
    key: &'static str,
    control: CallControl,
    enabled: bool,
    on_control: &Callback<CallControl>,
) -> Html {
    let danger = matches!(control, CallControl::HangUp);
    let onclick = {
        let on_control = on_control.clone();
        Callback::from(move |_: MouseEvent| on_control.emit(control.clone()))
    };
    let title = (!key.is_empty()).then(|| format!("Shortcut: {key}"));
    html! {
        <button {id} class={classes!("control", danger.then_some("danger"))} type="button"
            disabled={!enabled} {title} {onclick}>
            { label }
        </button>
    }
}

fn knocker_row(
    knocker: &consult_types::KnockingParticipant,
    enabled: bool,
    on_control: &Callback<CallControl>,
) -> Html {
    let answer = |approved: bool| {
        let (id, on_control) = (knocker.id.clone(), on_control.clone());
        Callback::from(move |_: MouseEvent| {
            on_control.emit(CallControl::AnswerKnocking {
                participant_id: id.clone(),
                approved,
            })
        })
    };
    let name = knocker.name.clone().unwrap_or_else(|| "Guest".to_owned());
    html! {
        <li class="knocker" key={knocker.id.clone()} data-participant-id={knocker.id.clone()}>
            <span class="knocker-text">{ format!("{name} is waiting in the lobby") }</span>
            <span class="actions">
                <button class="knock-admit" type="button" disabled={!enabled} onclick={answer(true)}>
                    { "Admit" }
                </button>
                <button class="knock-deny secondary" type="button" disabled={!enabled} onclick={answer(false)}>
                    { "Deny" }
                </button>
            </span>
        </li>
    }
}
