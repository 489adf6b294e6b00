//! People waiting to be let into a call, oldest first, with Admit / Decline and "Admit all".

use yew::prelude::*;

use consult_types::{Appointment, Decision, JoinRequest, Role};

use crate::clock::Clock;

#[derive(Properties, PartialEq)]
pub struct JoinRequestsViewProps {
    /// `None` while the first dashboard is loading.
    pub join_requests: Option<Vec<JoinRequest>>,
    /// To say which appointment (patient and time) a request is for.
    pub appointments: Vec<Appointment>,
    pub clock: Clock,
    /// A decision is on its way to the core: no double clicks.
    pub busy: bool,
    pub on_decide: Callback<(String, Decision)>,
    pub on_admit_all: Callback<()>,
}

#[function_component(JoinRequestsView)]
pub fn join_requests_view(props: &JoinRequestsViewProps) -> Html {
    let body = match &props.join_requests {
        None => html! { <p class="muted">{ "Loading…" }</p> },
        Some(list) if list.is_empty() => html! {
            <p class="empty" id="join-requests-empty">{ "Nobody is waiting to join." }</p>
        },
        Some(list) => html! {
            <ul class="join-request-list">
                { for list.iter().map(|request| row(request, props)) }
            </ul>
        },
    };
    let pending = props.join_requests.as_ref().map_or(0, Vec::len);
    let admit_all = {
        let on_admit_all = props.on_admit_all.clone();
        Callback::from(move |_: MouseEvent| on_admit_all.emit(()))
    };
    html! {
        <section id="join-requests" class="panel" aria-labelledby="join-requests-title">
            <div class="panel-head">
                <h2 id="join-requests-title">
                    { "Waiting to join" }
                    if pending > 0 { <span class="count">{ pending }</span> }
                </h2>
                if pending > 0 {
                    <button id="admit-all" type="button" disabled={props.busy} onclick={admit_all}>
                        { "Admit all" }
                    </button>
                }
            </div>
            { body }
        </section>
    }
}

fn row(request: &JoinRequest, props: &JoinRequestsViewProps) -> Html {
    let decide = |decision: Decision| {
        let (id, on_decide) = (request.id.clone(), props.on_decide.clone());
        Callback::from(move |_: MouseEvent| on_decide.emit((id.clone(), decision)))
    };
    let appointment = props
        .appointments
        .iter()
        .find(|appointment| appointment.id == request.appointment_id)
        .map(|appointment| {
            format!(
                "{}, {}",
                appointment.patient_name,
                props.clock.start_label(appointment.start_time)
            )
        })
        .unwrap_or_else(|| "An appointment not on your schedule".to_owned());
    html! {
        <li class="join-request" key={request.id.clone()} data-join-request-id={request.id.clone()}>
            <div class="requester">
                <span class="requester-name">{ &request.requester_name }</span>
                <span class="requester-role role">{ role_label(request.requester_role) }</span>
            </div>
            <div class="appointment">{ appointment }</div>
            <div class="since muted">{ props.clock.waiting_label(request.requested_at) }</div>
            <div class="actions">
                <button class="admit" type="button" disabled={props.busy} onclick={decide(Decision::Admit)}>
                    { "Admit" }
                </button>
                <button class="decline secondary" type="button" disabled={props.busy}
                    onclick={decide(Decision::Decline)}>
                    { "Decline" }
                </button>
            </div>
        </li>
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Doctor => "Doctor",
        Role::Patient => "Patient",
        Role::Agency => "Agency",
        Role::Admin => "Admin",
        Role::Kiosk => "Exam-room kiosk",
    }
}
