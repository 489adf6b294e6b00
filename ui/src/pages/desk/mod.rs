//! The signed-in screen: the doctor's schedule and the people waiting to join, kept current by
//! the core's `dashboard-changed` events (never polled). While a call runs, the call screen is
//! shown instead, kept current by `call-changed` events.

pub mod detail;
pub mod header;
pub mod join_requests;
pub mod schedule;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use yew::prelude::*;

use consult_types::{
    events as names, AppError, Appointment, CallScreen, Dashboard, Decision, FocusAppointment,
    SessionEnded, SessionView,
};

use crate::activity::use_activity_reporter;
use crate::clock::Clock;
use crate::events::{listen, listen_signal, Listener};
use crate::ipc;
use crate::pages::call::CallPage;
use crate::pages::settings::SettingsPage;
use detail::{call_blocked, DetailView, Support};
use header::HeaderView;
use join_requests::JoinRequestsView;
use schedule::ScheduleView;

/// A command that answers with the new dashboard.
type Action = Pin<Box<dyn Future<Output = Result<Dashboard, AppError>>>>;

/// How often "Join" and "waiting N min" are re-evaluated.
const TICK_MILLIS: u32 = 30_000;

#[derive(Properties, PartialEq)]
pub struct DeskPageProps {
    pub session: SessionView,
    /// Called after sign-out or when the session ended, with the notice for the login screen.
    pub on_signed_out: Callback<Option<String>>,
}

/// The stateful page: listens to the core's events and sends the doctor's decisions.
#[function_component(DeskPage)]
pub fn desk_page(props: &DeskPageProps) -> Html {
    let dashboard = use_state(|| None::<Dashboard>);
    let load_error = use_state(|| None::<String>);
    let focus = use_state(|| None::<FocusAppointment>);
    let action_error = use_state(|| None::<String>);
    let deciding = use_state(|| false);
    let signing_out = use_state(|| false);
    let settings_open = use_state(|| false);
    let clock = use_state(Clock::now);
    let support = use_state(|| None::<Result<consult_types::CallSupport, String>>);
    let call = use_state(|| None::<CallScreen>);
    let joining = use_state(|| false);
    let join_error = use_state(|| None::<String>);
    // Counts `call-changed`/`call-closed` events, so a command's reply that was overtaken by an
    // event does not bring back an older state.
    let call_events = use_mut_ref(|| 0_u64);
    use_activity_reporter();

    {
        let clock = clock.clone();
        use_effect_with((), move |_| {
            let interval = Interval::new(TICK_MILLIS, move || clock.set(Clock::now()));
            move || drop(interval)
        });
    }

    {
        let (dashboard, load_error, focus) = (dashboard.clone(), load_error.clone(), focus.clone());
        let (support, call, call_events) = (support.clone(), call.clone(), call_events.clone());
        let on_signed_out = props.on_signed_out.clone();
        use_effect_with((), move |_| {
            let mounted = Rc::new(Cell::new(true));
            let held = Rc::new(RefCell::new(Vec::<Listener>::new()));
            {
                let (mounted, held) = (mounted.clone(), held.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    // Listen first, then fetch: nothing that happens in between is missed.
                    let changed = Rc::new(Cell::new(false));
                    let subscriptions = vec![
                        {
                            let (dashboard, changed) = (dashboard.clone(), changed.clone());
                            listen(names::DASHBOARD_CHANGED, move |update: Dashboard| {
                                changed.set(true);
                                dashboard.set(Some(update));
                            })
                            .await
                        },
                        listen(names::SESSION_ENDED, move |ended: SessionEnded| {
                            on_signed_out.emit(Some(ended.reason))
                        })
                        .await,
                        {
                            let focus = focus.clone();
                            listen(names::FOCUS_APPOINTMENT, move |wanted: FocusAppointment| {
                                focus.set(Some(wanted))
                            })
                            .await
                        },
                        {
                            let (call, call_events) = (call.clone(), call_events.clone());
                            listen(names::CALL_CHANGED, move |screen: CallScreen| {
                                *call_events.borrow_mut() += 1;
                                call.set(Some(screen));
                            })
                            .await
                        },
                        {
                            let (call, call_events) = (call.clone(), call_events.clone());
                            listen_signal(names::CALL_CLOSED, move || {
                                *call_events.borrow_mut() += 1;
                                call.set(None);
                            })
                            .await
                        },
                    ];
                    let mut listeners = Vec::new();
                    for subscription in subscriptions {
                        match subscription {
                            Ok(listener) => listeners.push(listener),
                            Err(error) => load_error.set(Some(error.to_string())),
                        }
                    }
                    if !mounted.get() {
                        return; // Signed out meanwhile: the listeners unsubscribe here.
                    }
                    *held.borrow_mut() = listeners;
                    // A reload of the page during a call goes back to that call.
                    let seen = *call_events.borrow();
                    match ipc::call_screen().await {
                        Ok(running) if *call_events.borrow() == seen => call.set(running),
                        Ok(_) => {}
                        Err(error) => web_sys::console::warn_1(
                            &format!("cannot ask for a running call: {error}").into(),
                        ),
                    }
                    support.set(Some(
                        ipc::call_support().await.map_err(|error| error.to_string()),
                    ));
                    match ipc::dashboard().await {
                        // An event already brought a newer state than this reply.
                        Ok(_) if changed.get() => {}
                        Ok(first) => dashboard.set(Some(first)),
                        Err(error) => load_error.set(Some(error.to_string())),
                    }
                });
            }
            move || {
                mounted.set(false);
                held.borrow_mut().clear();
            }
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

    // Decisions reply with the new dashboard; a failure is shown, the state left as it was.
    let run = {
        let (dashboard, action_error, deciding) =
            (dashboard.clone(), action_error.clone(), deciding.clone());
        move |action: Action| {
            if *deciding {
                return;
            }
            deciding.set(true);
            action_error.set(None);
            let (dashboard, action_error, deciding) =
                (dashboard.clone(), action_error.clone(), deciding.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match action.await {
                    Ok(update) => dashboard.set(Some(update)),
                    Err(error) => action_error.set(Some(error.to_string())),
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
    let on_join = {
        let (call, joining, join_error) = (call.clone(), joining.clone(), join_error.clone());
        let call_events = call_events.clone();
        Callback::from(move |(session_id, appointment_id): (String, String)| {
            if *joining {
                return;
            }
            joining.set(true);
            join_error.set(None);
            let (call, joining, join_error) = (call.clone(), joining.clone(), join_error.clone());
            let call_events = call_events.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let seen = *call_events.borrow();
                match ipc::join_call(session_id, Some(appointment_id)).await {
                    // An event already brought a newer state of this call.
                    Ok(_) if *call_events.borrow() != seen => {}
                    Ok(screen) => call.set(Some(screen)),
                    Err(error) => join_error.set(Some(error.to_string())),
                }
                joining.set(false);
            });
        })
    };
    let on_call_screen = {
        let call = call.clone();
        Callback::from(move |screen: CallScreen| call.set(Some(screen)))
    };
    let on_call_closed = {
        let call = call.clone();
        Callback::from(move |()| call.set(None))
    };

    let on_dismiss_error = {
        let action_error = action_error.clone();
        Callback::from(move |_: MouseEvent| action_error.set(None))
    };

    let selected = (*dashboard)
        .as_ref()
        .zip((*focus).as_ref())
        .and_then(|(dashboard, wanted)| find_focused(&dashboard.appointments, wanted))
        .cloned();

    if let Some(screen) = (*call).clone() {
        let title = (*dashboard)
            .as_ref()
            .and_then(|dashboard| {
                let wanted = FocusAppointment {
                    appointment_id: screen.appointment_id.clone(),
                    session_id: Some(screen.session_id.clone()),
                };
                find_focused(&dashboard.appointments, &wanted)
            })
            .map(|appointment| format!("Call with {}", appointment.patient_name));
        return html! {
            <CallPage {screen} {title} on_screen={on_call_screen} on_closed={on_call_closed} />
        };
    }

    html! {
        <>
            <DeskView
                session={props.session.clone()}
                dashboard={(*dashboard).clone()}
                load_error={(*load_error).clone()}
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
                                on_join={props.on_join.clone()} />
                        }
                        <ScheduleView
                            appointments={dashboard.map(|d| d.appointments.clone())}
                            clock={props.clock}
                            on_open={props.on_open.clone()}
                            call_blocked={call_blocked(&props.support)}
                            joining={props.joining}
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
