//! One appointment's details, opened from the schedule, a notification or a `consult://` link.

use yew::prelude::*;

use consult_types::Appointment;

use super::schedule::{status_label, CallTypeBadge};
use crate::clock::Clock;

#[derive(Properties, PartialEq)]
pub struct DetailViewProps {
    pub appointment: Appointment,
    pub clock: Clock,
    pub on_close: Callback<MouseEvent>,
}

#[function_component(DetailView)]
pub fn detail_view(props: &DetailViewProps) -> Html {
    let appointment = &props.appointment;
    let clock = &props.clock;
    // Opened from a notification or a far-down row: bring it into view.
    use_effect_with(appointment.id.clone(), |_| {
        let element = web_sys::window()
            .and_then(|window| window.document())
            .and_then(|document| document.get_element_by_id("appointment-detail"));
        if let Some(element) = element {
            element.scroll_into_view();
        }
    });
    let join_note = if clock.join_open(appointment.start_time) {
        "The call opens here in a later version of Consult."
    } else {
        "Joining opens 15 minutes before the start. The call opens here in a later version of Consult."
    };
    html! {
        <section id="appointment-detail" class="panel detail" aria-labelledby="detail-title"
            data-appointment-id={appointment.id.clone()}
            data-session-id={appointment.session_id.clone()}>
            <div class="panel-head">
                <h2 id="detail-title">{ &appointment.patient_name }</h2>
                <button id="close-detail" class="secondary" type="button" onclick={props.on_close.clone()}>
                    { "Close" }
                </button>
            </div>
            <dl class="facts">
                <dt>{ "When" }</dt>
                <dd class="detail-time">
                    { clock.start_label(appointment.start_time) }{ " – " }
                    { clock.start_label(appointment.end_time) }
                </dd>
                <dt>{ "Call" }</dt>
                <dd><CallTypeBadge call_type={appointment.call_type} /></dd>
                <dt>{ "Status" }</dt>
                <dd class="detail-status">{ status_label(appointment) }</dd>
                if let Some(agency) = &appointment.agency_name {
                    <dt>{ "Agency" }</dt>
                    <dd class="detail-agency">{ agency }</dd>
                }
                <dt>{ "Waiting room" }</dt>
                <dd>{ if appointment.waiting_room { "On: you admit each participant" } else { "Off" } }</dd>
                <dt>{ "Code" }</dt>
                <dd class="detail-code">{ &appointment.appointment_code }</dd>
            </dl>
            <p class="notice" id="call-later">{ join_note }</p>
        </section>
    }
}
