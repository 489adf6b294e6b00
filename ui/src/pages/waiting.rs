//! The waiting room, from the participant's side: shown instead of the desk while the user's own
//! request to join is open. Everything it shows is the core's [`OwnRequest`], kept live from the
//! event stream: an approval opens the call by itself (the call screen then takes over), a
//! decline says so and offers to ask again.

use yew::prelude::*;

use consult_types::{Appointment, JoinRequestStatus, OwnRequest, WaitingRoomAction};

use crate::ipc;

#[derive(Properties, PartialEq)]
pub struct WaitingPageProps {
    pub own: OwnRequest,
    /// The appointment asked about, when it is on the schedule (it names the doctor).
    pub appointment: Option<Appointment>,
}

/// The stateful page: sends the waiting room's actions, keeps the last failure.
#[function_component(WaitingPage)]
pub fn waiting_page(props: &WaitingPageProps) -> Html {
    let busy = use_state(|| false);
    let error = use_state(|| None::<String>);
    let act = {
        let (busy, error) = (busy.clone(), error.clone());
        Callback::from(move |action: WaitingRoomAction| {
            if *busy {
                return;
            }
            busy.set(true);
            error.set(None);
            let (busy, error) = (busy.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(failed) = ipc::waiting_room(action).await {
                    error.set(Some(failed.to_string()));
                }
                busy.set(false);
            });
        })
    };
    let on_join = {
        let (busy, error) = (busy.clone(), error.clone());
        let request = props.own.request.clone();
        Callback::from(move |()| {
            busy.set(true);
            error.set(None);
            let (busy, error, request) = (busy.clone(), error.clone(), request.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let joined = ipc::join_call(request.session_id, Some(request.appointment_id)).await;
                match joined {
                    // The call screen takes over; the request is put away behind it.
                    Ok(()) => {
                        let id = request.id;
                        let dismiss = WaitingRoomAction::Dismiss {
                            join_request_id: id,
                        };
                        if let Err(failed) = ipc::waiting_room(dismiss).await {
                            error.set(Some(failed.to_string()));
                        }
                    }
                    Err(failed) => error.set(Some(failed.to_string())),
                }
                busy.set(false);
            });
        })
    };
    html! {
        <WaitingView own={props.own.clone()} appointment={props.appointment.clone()}
            busy={*busy} error={(*error).clone()} on_action={act} {on_join} />
    }
}

#[derive(Properties, PartialEq)]
pub struct WaitingViewProps {
    pub own: OwnRequest,
    pub appointment: Option<Appointment>,
    /// An action is in flight.
    #[prop_or_default]
    pub busy: bool,
    /// Why the last action failed.
    #[prop_or_default]
    pub error: Option<String>,
    #[prop_or_default]
    pub on_action: Callback<WaitingRoomAction>,
    /// Join the approved call again (after it did not open by itself).
    #[prop_or_default]
    pub on_join: Callback<()>,
}

/// The screen as a pure function of its props, so it is testable without a webview.
#[function_component(WaitingView)]
pub fn waiting_view(props: &WaitingViewProps) -> Html {
    let request = &props.own.request;
    let doctor = props
        .appointment
        .as_ref()
        .map_or("The doctor", |appointment| appointment.doctor_name.as_str());
    let patient = props
        .appointment
        .as_ref()
        .map(|appointment| appointment.patient_name.clone());
    let action = |make: fn(String) -> WaitingRoomAction| {
        let (id, on_action) = (request.id.clone(), props.on_action.clone());
        Callback::from(move |_: MouseEvent| on_action.emit(make(id.clone())))
    };
    let ask_again = {
        let (appointment_id, on_action) = (request.appointment_id.clone(), props.on_action.clone());
        Callback::from(move |_: MouseEvent| {
            on_action.emit(WaitingRoomAction::Ask {
                appointment_id: appointment_id.clone(),
            })
        })
    };
    let join = {
        let on_join = props.on_join.clone();
        Callback::from(move |_: MouseEvent| on_join.emit(()))
    };
    let withdraw = action(|join_request_id| WaitingRoomAction::Withdraw { join_request_id });
    let dismiss = action(|join_request_id| WaitingRoomAction::Dismiss { join_request_id });
    let busy = props.busy;
    let (state, body) = match (request.status, &props.own.join_failed) {
        (JoinRequestStatus::Pending, _) => (
            "waiting",
            html! {
                <>
                    <h1 id="waiting-title">{ format!("{doctor} will let you in") }</h1>
                    <p class="spinner-line">
                        <span class="spinner" aria-hidden="true"></span>
                        { "Please wait here. The call opens by itself when you are let in." }
                    </p>
                    <div class="actions">
                        <button id="withdraw-request" class="secondary" type="button"
                            disabled={busy} onclick={withdraw}>
                            { "Cancel request" }
                        </button>
                    </div>
                </>
            },
        ),
        (JoinRequestStatus::Rejected, _) => (
            "declined",
            html! {
                <>
                    <h1 id="waiting-title">{ format!("{doctor} declined your request") }</h1>
                    <p>{ "You can ask again, for example if the doctor is now ready." }</p>
                    { actions(("ask-again", "Ask again", ask_again), busy, dismiss) }
                </>
            },
        ),
        (_, Some(why)) => (
            "join-failed",
            html! {
                <>
                    <h1 id="waiting-title">{ format!("{doctor} let you in") }</h1>
                    <p class="error" id="join-failed">
                        { "The call could not open: " }{ why }
                    </p>
                    { actions(("join-again", "Try again", join), busy, dismiss) }
                </>
            },
        ),
        (_, None) => (
            "admitted",
            html! {
                <>
                    <h1 id="waiting-title">{ format!("{doctor} let you in") }</h1>
                    <p class="spinner-line">
                        <span class="spinner" aria-hidden="true"></span>
                        { "Opening the call…" }
                    </p>
                </>
            },
        ),
    };
    html! {
        <main class="centered">
            <section id="waiting-room" class="card waiting" data-state={state}
                data-join-request-id={request.id.clone()} aria-labelledby="waiting-title">
                if let Some(patient) = patient {
                    <p class="muted" id="waiting-for">{ format!("Appointment for {patient}") }</p>
                }
                // Read out when the state changes (let in, declined).
                <div aria-live="polite">{ body }</div>
                if let Some(error) = &props.error {
                    <p class="error" role="alert" id="waiting-error">{ error }</p>
                }
            </section>
        </main>
    }
}

/// A state's way on (`id`, label, click) and the way back to the schedule.
fn actions(
    (id, label, onclick): (&'static str, &'static str, Callback<MouseEvent>),
    busy: bool,
    back: Callback<MouseEvent>,
) -> Html {
    html! {
        <div class="actions">
            <button id={id} type="button" disabled={busy} {onclick}>{ label }</button>
            <button id="back-to-schedule" class="secondary" type="button" disabled={busy}
                onclick={back}>
                { "Back to the schedule" }
            </button>
        </div>
    }
}
