//! One appointment's details, opened from the schedule, a notification or a `consult://` link.

use yew::prelude::*;

use consult_types::{Appointment, CallPathKind, CallSupport, Role};

use super::schedule::{join_label, status_label, CallTypeBadge};
use crate::clock::Clock;

/// How this machine would carry a call: `None` until the core answered, `Err` with its text when
/// it could not tell (Join then stays possible and reports its own error).
pub type Support = Option<Result<CallSupport, String>>;

/// Whether the core said no call can be carried here at all.
pub fn call_blocked(support: &Support) -> bool {
    matches!(support, Some(Ok(found)) if found.path == CallPathKind::None)
}

#[derive(Properties, PartialEq)]
pub struct DetailViewProps {
    pub appointment: Appointment,
    pub clock: Clock,
    pub on_close: Callback<MouseEvent>,
    #[prop_or_default]
    pub support: Support,
    /// `join_call` is in flight.
    #[prop_or_default]
    pub joining: bool,
    /// Why the last Join failed.
    #[prop_or_default]
    pub join_error: Option<String>,
    /// The signed-in user's role: who asks to join instead of joining.
    #[prop_or_default]
    pub role: Option<Role>,
    /// Joins `(session_id, appointment_id)` (or asks to).
    #[prop_or_default]
    pub on_join: Callback<(String, String)>,
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
    let join_open = clock.join_open(appointment.start_time);
    let can_join = join_open && !call_blocked(&props.support) && !props.joining;
    let join = {
        let ids = (appointment.session_id.clone(), appointment.id.clone());
        let on_join = props.on_join.clone();
        Callback::from(move |_: MouseEvent| on_join.emit(ids.clone()))
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
            <div class="join-row">
                <button id="join-call" class="join" type="button" disabled={!can_join} onclick={join}>
                    { if props.joining { "Joining…" } else { join_label(appointment, props.role) } }
                </button>
                <CallPathNote support={props.support.clone()} />
            </div>
            if !join_open {
                <p class="muted" id="join-not-yet">{ "Joining opens 15 minutes before the start." }</p>
            }
            if let Some(error) = &props.join_error {
                <p class="error" role="alert" id="join-error">{ error }</p>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct CallPathNoteProps {
    pub support: Support,
}

/// Where the call will open, said before the user clicks Join.
#[function_component(CallPathNote)]
pub fn call_path_note(props: &CallPathNoteProps) -> Html {
    let support = match &props.support {
        None => {
            return html! {
                <p id="call-path" class="call-path muted" data-path="unknown">
                    { "Checking how this computer can carry the call…" }
                </p>
            }
        }
        Some(Err(problem)) => {
            return html! {
                <p id="call-path" class="call-path muted" data-path="unknown">
                    { format!("Consult could not tell how the call would open here: {problem}") }
                </p>
            }
        }
        Some(Ok(support)) => support,
    };
    let forced = support.forced.then_some(" (set by your administrator)");
    match support.path {
        CallPathKind::Embedded => html! {
            <p id="call-path" class="call-path" data-path="embedded">
                { "The call opens in this window." }{ forced }
            </p>
        },
        CallPathKind::Browser => html! {
            <p id="call-path" class="call-path" data-path="browser">
                { format!(
                    "The call opens in a separate {} window.",
                    support.browser.as_deref().unwrap_or("browser")
                ) }
                { forced }
            </p>
        },
        CallPathKind::None => html! {
            <div id="call-path" class="call-path" data-path="none">
                <div id="call-unavailable" class="notice unavailable" role="note">
                    <strong>{ "A call cannot start on this computer." }{ forced }</strong>
                    if let Some(reason) = &support.reason {
                        <p class="reason">{ reason }</p>
                    }
                    if let Some(hint) = &support.install_hint {
                        <p class="install-hint">{ "To fix it: " }<code>{ hint }</code></p>
                    }
                </div>
            </div>
        },
    }
}
