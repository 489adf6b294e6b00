//! Today's and upcoming appointments, earliest first, with a Join button that opens 15 minutes
//! before the start.

use yew::prelude::*;

use consult_types::{Appointment, AppointmentStatus, CallType, MeetingStatus, Role};

use crate::clock::Clock;

#[derive(Properties, PartialEq)]
pub struct ScheduleViewProps {
    /// `None` while the first dashboard is loading.
    pub appointments: Option<Vec<Appointment>>,
    pub clock: Clock,
    /// Opens an appointment's detail (by appointment id).
    pub on_open: Callback<String>,
    /// No call can be carried on this machine (`CallSupport.path` is `none`); the detail says why.
    #[prop_or_default]
    pub call_blocked: bool,
    /// A `join_call` is in flight.
    #[prop_or_default]
    pub joining: bool,
    /// The signed-in user's role: who asks to join instead of joining.
    #[prop_or_default]
    pub role: Option<Role>,
    /// Joins `(session_id, appointment_id)` (or asks to, see [`Appointment::asks_to_join`]).
    #[prop_or_default]
    pub on_join: Callback<(String, String)>,
}

#[function_component(ScheduleView)]
pub fn schedule_view(props: &ScheduleViewProps) -> Html {
    let body = match &props.appointments {
        None => html! { <p class="muted" id="schedule-loading">{ "Loading your schedule…" }</p> },
        Some(list) if list.is_empty() => html! {
            <p class="empty" id="schedule-empty">{ "No upcoming appointments." }</p>
        },
        Some(list) => html! {
            <ul class="appointments">
                { for list.iter().map(|appointment| row(appointment, props)) }
            </ul>
        },
    };
    html! {
        <section id="schedule" class="panel" aria-labelledby="schedule-title">
            <h2 id="schedule-title">{ "Schedule" }</h2>
            { body }
        </section>
    }
}

fn row(appointment: &Appointment, props: &ScheduleViewProps) -> Html {
    let (clock, on_open) = (&props.clock, &props.on_open);
    let open = {
        let (id, on_open) = (appointment.id.clone(), on_open.clone());
        Callback::from(move |_: MouseEvent| on_open.emit(id.clone()))
    };
    let join = {
        let (id, session_id) = (appointment.id.clone(), appointment.session_id.clone());
        let (on_open, on_join) = (on_open.clone(), props.on_join.clone());
        Callback::from(move |event: MouseEvent| {
            // The row opens the detail too; once is enough. The detail shows a failed Join.
            event.stop_propagation();
            on_open.emit(id.clone());
            on_join.emit((session_id.clone(), id.clone()));
        })
    };
    // The row is focusable, so keyboard users can open appointments whose Join is not open yet.
    let open_by_key = {
        let (id, on_open) = (appointment.id.clone(), on_open.clone());
        Callback::from(move |event: KeyboardEvent| {
            if event.key() == "Enter" && event.target() == event.current_target() {
                on_open.emit(id.clone())
            }
        })
    };
    let join_open = clock.join_open(appointment.start_time);
    let join_title = if !join_open {
        "Joining opens 15 minutes before the start"
    } else if props.call_blocked {
        "A call cannot start on this computer: open the appointment to see why"
    } else {
        "Join the call"
    };
    let can_join = join_open && !props.call_blocked && !props.joining;
    let label = join_label(appointment, props.role);
    html! {
        <li class="appointment" key={appointment.id.clone()}
            data-appointment-id={appointment.id.clone()}
            data-session-id={appointment.session_id.clone()}
            tabindex="0" onclick={open} onkeydown={open_by_key}>
            <span class="time">{ clock.start_label(appointment.start_time) }</span>
            <span class="patient-name">{ &appointment.patient_name }</span>
            <CallTypeBadge call_type={appointment.call_type} />
            <span class="status">{ status_label(appointment) }</span>
            <button class="join" type="button" disabled={!can_join} title={join_title} onclick={join}>
                { label }
            </button>
        </li>
    }
}

/// "Ask to join" for those the doctor lets in, else "Join".
pub fn join_label(appointment: &Appointment, role: Option<Role>) -> &'static str {
    if role.is_some_and(|role| appointment.asks_to_join(role)) {
        "Ask to join"
    } else {
        "Join"
    }
}

#[derive(Properties, PartialEq)]
pub struct CallTypeBadgeProps {
    pub call_type: CallType,
}

/// "Video" or "Audio", so the doctor knows what kind of call to expect.
#[function_component(CallTypeBadge)]
pub fn call_type_badge(props: &CallTypeBadgeProps) -> Html {
    let (kind, label) = match props.call_type {
        CallType::Video => ("video", "Video"),
        CallType::Audio => ("audio", "Audio"),
    };
    html! { <span class={classes!("call-type", "badge", kind)} data-call-type={kind}>{ label }</span> }
}

/// What the doctor needs to know about where the appointment stands.
pub fn status_label(appointment: &Appointment) -> &'static str {
    match (appointment.status, appointment.meeting_status) {
        (AppointmentStatus::Cancelled, _) => "Cancelled",
        (AppointmentStatus::Completed, _) | (_, MeetingStatus::Ended) => "Ended",
        (_, MeetingStatus::Started) => "Call in progress",
        (AppointmentStatus::InProgress, _) => "In progress",
        (AppointmentStatus::Scheduled, MeetingStatus::Created) => "Scheduled",
    }
}
