//! The root component: asks the core once what the first screen needs, then switches between the
//! app's screens: sign-in, the desk, the waiting room while the user's request to join is open,
//! and the call while one runs.

use yew::prelude::*;

use consult_types::{
    AppError, FocusAppointment, KioskSetup, Role, SessionView, SettingsView, StartupState,
};

use crate::ipc;
use crate::live::use_live_state;
use crate::pages::call::CallPage;
use crate::pages::desk::{find_focused, DeskPage};
use crate::pages::kiosk::{KioskPage, RoomMessageLayer};
use crate::pages::kiosks::KiosksPage;
use crate::pages::login::LoginPage;
use crate::pages::update::UpdateStrip;
use crate::pages::waiting::WaitingPage;

#[derive(Clone, PartialEq)]
enum Screen {
    Starting,
    /// The core could not start (configuration); nothing else is possible.
    Broken(AppError),
    SignedOut {
        settings: SettingsView,
        notice: Option<String>,
    },
    /// Kiosk mode: no login form; the kiosk signs itself in.
    Kiosk(KioskSetup),
    SignedIn {
        settings: SettingsView,
        session: SessionView,
    },
}

impl From<StartupState> for Screen {
    fn from(state: StartupState) -> Screen {
        if let Some(kiosk) = state.kiosk {
            return Screen::Kiosk(kiosk);
        }
        match state.session {
            Some(session) => Screen::SignedIn {
                settings: state.settings,
                session,
            },
            None => Screen::SignedOut {
                settings: state.settings,
                notice: state.notice,
            },
        }
    }
}

/// Says the page is alive, and again when the core asks (see `ipc::ui_pulse`).
fn pulse() {
    wasm_bindgen_futures::spawn_local(async {
        if let Ok(Some(next_ms)) = ipc::ui_pulse().await {
            let next_ms = u32::try_from(next_ms).unwrap_or(u32::MAX);
            gloo_timers::callback::Timeout::new(next_ms, pulse).forget();
        }
    });
}

#[function_component(App)]
pub fn app() -> Html {
    let screen = use_state(|| Screen::Starting);
    let first_paint_reported = use_mut_ref(|| false);

    {
        let screen = screen.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                screen.set(match ipc::startup().await {
                    Ok(state) => state.into(),
                    Err(error) => Screen::Broken(error),
                });
            });
        });
    }

    // The service manager's watchdog (a kiosk's unit) is fed only while this page's event loop
    // runs: a timer and an IPC round trip, from whatever screen is shown.
    use_effect_with((), |_| pulse());

    {
        // Start-up ends when the first real screen (not "Starting…") is on screen.
        let starting = matches!(*screen, Screen::Starting);
        use_effect_with(starting, move |starting| {
            if !*starting && !std::mem::replace(&mut *first_paint_reported.borrow_mut(), true) {
                crate::paint::report_after_next_paint();
            }
        });
    }

    match (*screen).clone() {
        Screen::Starting => html! {
            <main class="centered"><p class="muted" id="starting">{ "Starting…" }</p></main>
        },
        Screen::Broken(error) => html! {
            <main class="centered">
                <section class="card" role="alert" id="startup-error">
                    <h1>{ "Consult cannot start" }</h1>
                    <p>{ error.to_string() }</p>
                </section>
            </main>
        },
        Screen::Kiosk(setup) => html! { <><KioskPage {setup} /><RoomMessageLayer /></> },
        Screen::SignedOut { settings, notice } => {
            let on_signed_in = {
                let screen = screen.clone();
                let settings = settings.clone();
                Callback::from(move |session: SessionView| {
                    screen.set(Screen::SignedIn {
                        settings: settings.clone(),
                        session,
                    })
                })
            };
            let on_settings_changed = {
                let screen = screen.clone();
                let notice = notice.clone();
                Callback::from(move |settings: SettingsView| {
                    screen.set(Screen::SignedOut {
                        settings,
                        notice: notice.clone(),
                    })
                })
            };
            html! {
                <>
                    <LoginPage {settings} {notice} {on_signed_in} {on_settings_changed} />
                    <UpdateStrip />
                </>
            }
        }
        Screen::SignedIn { settings, session } => {
            let on_signed_out = {
                let screen = screen.clone();
                Callback::from(move |notice: Option<String>| {
                    screen.set(Screen::SignedOut {
                        settings: settings.clone(),
                        notice,
                    })
                })
            };
            html! {
                <>
                    <SignedIn {session} {on_signed_out} />
                    <UpdateStrip />
                </>
            }
        }
    }
}

#[derive(Properties, PartialEq)]
struct SignedInProps {
    session: SessionView,
    on_signed_out: Callback<Option<String>>,
}

/// Signed in: the call's screen while a call runs, else the waiting room while a request to join
/// is open, else the desk (or, for an administrator who opened it, the Kiosks screen).
#[function_component(SignedIn)]
fn signed_in(props: &SignedInProps) -> Html {
    let focus = use_state(|| None::<FocusAppointment>);
    let kiosks_open = use_state(|| false);
    let (live, load_error) = use_live_state(focus.clone(), props.on_signed_out.clone());
    let dashboard = live.dashboard().cloned();

    if let Some(screen) = live.call().cloned() {
        let wanted = FocusAppointment {
            appointment_id: screen.appointment_id.clone(),
            session_id: Some(screen.session_id.clone()),
        };
        let title = dashboard
            .as_ref()
            .and_then(|dashboard| find_focused(&dashboard.appointments, &wanted))
            .map(|appointment| format!("Call with {}", appointment.patient_name));
        return html! { <CallPage {screen} {title} /> };
    }
    let waiting = dashboard
        .as_ref()
        .and_then(|dashboard| dashboard.own_requests.first().cloned());
    if let Some(own) = waiting {
        let appointment = dashboard.as_ref().and_then(|dashboard| {
            dashboard
                .appointments
                .iter()
                .find(|appointment| appointment.id == own.request.appointment_id)
                .cloned()
        });
        return html! { <WaitingPage {own} {appointment} /> };
    }
    let admin = props.session.user.role == Role::Admin;
    if admin && *kiosks_open {
        let on_back = {
            let kiosks_open = kiosks_open.clone();
            Callback::from(move |()| kiosks_open.set(false))
        };
        let kiosks = dashboard.and_then(|dashboard| dashboard.kiosks);
        return html! { <KiosksPage {kiosks} {on_back} /> };
    }
    let on_open_kiosks = admin.then(|| {
        let kiosks_open = kiosks_open.clone();
        Callback::from(move |()| kiosks_open.set(true))
    });
    html! {
        <DeskPage session={props.session.clone()} {dashboard} {load_error} {focus}
            on_signed_out={props.on_signed_out.clone()} {on_open_kiosks} />
    }
}
