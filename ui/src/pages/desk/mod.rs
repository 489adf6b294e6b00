//! The desk: the doctor's schedule and the people waiting to join. Its dashboard comes from the
//! app's live state (the core's `dashboard-changed` events, never polled); decisions and Join
//! answer nothing, their effects arrive as events.

pub mod detail;
pub mod header;
pub mod join_requests;
pub mod schedule;

use std::future::Future;
use std::pin::Pin;

use gloo_timers::callback::Interval;
use yew::prelude::*;

use consult_types::{
    AppError, Appointment, Dashboard, Decision, FocusAppointment, SessionView, WaitingRoomAction,
};

use crate::activity::use_activity_reporter;
use crate::clock::Clock;
use crate::ipc;
use crate::pages::settings::SettingsPage;
use detail::{call_blocked, DetailView, Support};
use header::HeaderView;
use join_requests::JoinRequestsView;
use schedule::ScheduleView;

/// A command whose effect arrives as an event.
type Action = Pin<Box<dyn Future<Output = Result<(), AppError>>>>;

/// How often "Join" and "waiting N min" are re-evaluated.
const TICK_MILLIS: u32 = 30_000;

#[derive(Properties, PartialEq)]
pub struct DeskPageProps {
    pub session: SessionView,
    /// `None` until the core's first `dashboard-changed`.
    pub dashboard: Option<Dashboard>,
    /// Why the live state could not be had.
    #[prop_or_default]
    pub load_error: Option<String>,
    /// The appointment asked for (click, notification, link).
    pub focus: UseStateHandle<Option<FocusAppointment>>,
    /// Called after sign-out, with the notice for the login screen.
    pub on_signed_out: Callback<Option<String>>,
    /// Administrators only: opens the Kiosks screen.
    #[prop_or_default]
    pub on_open_kiosks: Option<Callback<()>>,
}

/// The stateful page: sends the doctor's decisions and Join.
#[function_component(DeskPage)]
pub fn desk_page(props: &DeskPageProps) -> Html {
    let focus = props.focus.clone();
    let action_error = use_state(|| None::<String>);
    let deciding = use_state(|| false);
    let signing_out = use_state(|| false);
    let settings_open = use_state(|| false);
    let clock = use_state(Clock::now);
    let support = use_state(|| None::<Result<consult_types::CallSupport, String>>);
    let joining = use_state(|| false);
    let join_error = use_state(|| None::<String>);
    use_activity_reporter();

    {
        let clock = clock.clone();
        use_effect_with((), move |_| {
            let interval = Interval::new(TICK_MILLIS, move || clock.set(Clock::now()));
            move || drop(interval)
        });
    }

    {
        let support = support.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                support.set(Some(
                    ipc::call_support().await.map_err(|error| error.to_string()),
                ));
            });
        });
    }

    let on_sign_out = {
        let signing_out = signing_out.clone();
        let on_signed_out = props.on_signed_out.clone();
        Callback::from(move |_: MouseEvent| {
            signing_out.set(true);
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

    // A failure is shown and the state left as it was; success shows as the next dashboard.
    let run = {
        let (action_error, deciding) = (action_error.clone(), deciding.clone());
        move |action: Action| {
            if *deciding {
                return;
            }
            deciding.set(true);
            action_error.set(None);
            let (action_error, deciding) = (action_error.clone(), deciding.clone());
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(error) = action.await {
                    action_error.set(Some(error.to_string()));
                }
                deciding.set(false);
            });
        }
    };
    let on_decide = {
        let run = run.clone();
        Callback::from(move |(id, decision): (String, Decision)| {
            run(Box::pin(ipc::decide_join_request(id, decision)))
        })
    };
    let on_admit_all = Callback::from(move |()| run(Box::pin(ipc::admit_all(None))));

    let on_open = {
        let (focus, join_error) = (focus.clone(), join_error.clone());
        Callback::from(move |id: String| {
            // A failed Join of another appointment is no longer relevant.
            join_error.set(None);
            focus.set(Some(FocusAppointment {
                appointment_id: Some(id),
                session_id: None,
            }))
        })
    };
    let on_close_detail = {
        let focus = focus.clone();
        Callback::from(move |_: MouseEvent| focus.set(None))
    };
    let on_open_settings = {
        let settings_open = settings_open.clone();
        Callback::from(move |_: MouseEvent| settings_open.set(true))
    };
    let on_close_settings = {
        let settings_open = settings_open.clone();
        Callback::from(move |()| settings_open.set(false))
    };
    // The call screen replaces the desk when the call's first state arrives; the waiting room
    // does when the request to join is on the dashboard.
    let on_join = {
        let (joining, join_error) = (joining.clone(), join_error.clone());
        let role = props.session.user.role;
        let appointments = props.dashboard.as_ref().map(|d| d.appointments.clone());
        Callback::from(move |(session_id, appointment_id): (String, String)| {
            if *joining {
                return;
            }
            let asks = appointments
                .iter()
                .flatten()
                .find(|appointment| appointment.id == appointment_id)
                .is_some_and(|appointment| appointment.asks_to_join(role));
            joining.set(true);
            join_error.set(None);
            let (joining, join_error) = (joining.clone(), join_error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let done = if asks {
                    ipc::waiting_room(WaitingRoomAction::Ask { appointment_id }).await
                } else {
                    ipc::join_call(session_id, Some(appointment_id)).await
                };
                if let Err(error) = done {
                    join_error.set(Some(error.to_string()));
                }
                joining.set(false);
            });
        })
    };

    let on_dismiss_error = {
        let action_error = action_error.clone();
        Callback::from(move |_: MouseEvent| action_error.set(None))
    };

    let selected = props
        .dashboard
        .as_ref()
        .zip((*focus).as_ref())
        .and_then(|(dashboard, wanted)| find_focused(&dashboard.appointments, wanted))
        .cloned();

    html! {
        <>
            <DeskView
                session={props.session.clone()}
                dashboard={props.dashboard.clone()}
                load_error={props.load_error.clone()}
                clock={*clock}
                {selected}
                action_error={(*action_error).clone()}
                deciding={*deciding}
                signing_out={*signing_out}
                {on_sign_out}
                {on_open_settings}
                {on_open}
                {on_close_detail}
                {on_decide}
                {on_admit_all}
                {on_dismiss_error}
                support={(*support).clone()}
                joining={*joining}
                join_error={(*join_error).clone()}
                {on_join}
                on_open_kiosks={props.on_open_kiosks.clone().map(|open| {
                    Callback::from(move |_: MouseEvent| open.emit(()))
                })}
            />
            if *settings_open {
                <SettingsPage on_close={on_close_settings} />
            }
        </>
    }
}

/// The appointment a focus request means: by id, else by session id (deep links know only that).
pub fn find_focused<'a>(
    appointments: &'a [Appointment],
    wanted: &FocusAppointment,
) -> Option<&'a Appointment> {
    let by_id = wanted
        .appointment_id
        .as_ref()
        .and_then(|id| appointments.iter().find(|a| &a.id == id));
    by_id.or_else(|| {
        wanted
            .session_id
            .as_ref()
            .and_then(|session| appointments.iter().find(|a| &a.session_id == session))
    })
}

#[derive(Properties, PartialEq)]
pub struct DeskViewProps {
    pub session: SessionView,
    /// `None` until the core's first answer.
    pub dashboard: Option<Dashboard>,
    pub load_error: Option<String>,
    pub clock: Clock,
    /// The appointment whose detail is open.
    pub selected: Option<Appointment>,
    pub action_error: Option<String>,
    pub deciding: bool,
    pub signing_out: bool,
    pub on_sign_out: Callback<MouseEvent>,
    pub on_open_settings: Callback<MouseEvent>,
    pub on_open: Callback<String>,
    pub on_close_detail: Callback<MouseEvent>,
    pub on_decide: Callback<(String, Decision)>,
    pub on_admit_all: Callback<()>,
    pub on_dismiss_error: Callback<MouseEvent>,
    /// How this machine would carry a call (asked once after sign-in).
    #[prop_or_default]
    pub support: Support,
    /// A `join_call` is in flight.
    #[prop_or_default]
    pub joining: bool,
    /// Why the last Join failed, shown in the detail.
    #[prop_or_default]
    pub join_error: Option<String>,
    /// Joins `(session_id, appointment_id)`.
    #[prop_or_default]
    pub on_join: Callback<(String, String)>,
    /// Administrators only: the header's Kiosks button.
    #[prop_or_default]
    pub on_open_kiosks: Option<Callback<MouseEvent>>,
}

/// The screen as a pure function of its props, so it is testable without a webview.
#[function_component(DeskView)]
pub fn desk_view(props: &DeskViewProps) -> Html {
    let dashboard = props.dashboard.as_ref();
    html! {
        <>
            <HeaderView
                session={props.session.clone()}
                connection={dashboard.map(|d| d.connection.clone())}
                busy={props.signing_out}
                on_sign_out={props.on_sign_out.clone()}
                on_open_settings={props.on_open_settings.clone()}
                on_open_kiosks={props.on_open_kiosks.clone()}
            />
            <main class="content desk">
                if let Some(problem) = &props.session.remember_problem {
                    <p class="notice" id="not-remembered">
                        { "You will have to sign in again next time: " }{ problem }
                    </p>
                }
                if let Some(error) = &props.load_error {
                    <p class="error banner" role="alert" id="dashboard-error">{ error }</p>
                }
                if let Some(error) = &props.action_error {
                    <div class="error banner" role="alert" id="action-error">
                        <span>{ error }</span>
                        <button class="link" type="button" onclick={props.on_dismiss_error.clone()}>
                            { "Dismiss" }
                        </button>
                    </div>
                }
                <div class="columns">
                    <div class="main-column">
                        if let Some(appointment) = &props.selected {
                            <DetailView appointment={appointment.clone()} clock={props.clock}
                                on_close={props.on_close_detail.clone()}
                                support={props.support.clone()}
                                joining={props.joining}
                                join_error={props.join_error.clone()}
                                role={props.session.user.role}
                                on_join={props.on_join.clone()} />
                        }
                        <ScheduleView
                            appointments={dashboard.map(|d| d.appointments.clone())}
                            clock={props.clock}
                            on_open={props.on_open.clone()}
                            call_blocked={call_blocked(&props.support)}
                            joining={props.joining}
                            role={props.session.user.role}
                            on_join={props.on_join.clone()}
                        />
                    </div>
                    <JoinRequestsView
                        join_requests={dashboard.map(|d| d.join_requests.clone())}
                        appointments={dashboard.map(|d| d.appointments.clone()).unwrap_or_default()}
                        clock={props.clock}
                        busy={props.deciding}
                        on_decide={props.on_decide.clone()}
                        on_admit_all={props.on_admit_all.clone()}
                    />
                </div>
            </main>
        </>
    }
}
