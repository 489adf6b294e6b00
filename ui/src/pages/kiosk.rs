//! Kiosk mode's screen: no login form, ever. It shows the kiosk's own sign-in as the core
//! reports it (`kiosk-changed` events), and once signed in the idle screen: the time and a
//! welcome, with no name and nothing of the schedule; while the kiosk waits to be let into a
//! visit, that it waits; during a visit, the call. The core joins and leaves by itself. The
//! content drifts a few pixels over minutes, so a screen that shows it all day does not burn
//! it in.

use gloo_timers::callback::Interval;
use yew::prelude::*;

use consult_types::{
    events as names, CallControl, CallPhase, CallScreen, Dashboard, JoinRequestStatus, KioskSetup,
    KioskStatus, MaintenanceAction, RoomMessage, SelfTestCheck,
};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::ipc;
use crate::live::{use_kiosk_event, use_live_state};
use crate::pages::call::phase_name;

const TICK_MILLIS: u32 = 10_000;
/// How long the thank-you screen stays after a visit.
const THANK_YOU_MILLIS: u32 = 15_000;
/// The administrator's hidden gesture: this many taps on the clock, within [`TAPS_WITHIN_MS`].
const EXIT_TAPS: usize = 5;
const TAPS_WITHIN_MS: f64 = 3_000.0;
/// The PIN pad closes by itself when nobody types for this long.
const PIN_PAD_IDLE_MILLIS: u32 = 30_000;

#[derive(Properties, PartialEq)]
pub struct KioskPageProps {
    /// What the administrator set: whether the idle screen may greet the patient by first name,
    /// and the clinic's name.
    pub setup: KioskSetup,
}

/// The stateful page: listens to the kiosk's status, asks for it once, keeps the clock.
#[function_component(KioskPage)]
pub fn kiosk_page(props: &KioskPageProps) -> Html {
    let status = use_kiosk_event::<KioskStatus>(names::KIOSK_CHANGED);
    let clock = use_state(Clock::now);
    {
        let clock = clock.clone();
        use_effect_with((), move |_| {
            let interval = Interval::new(TICK_MILLIS, move || clock.set(Clock::now()));
            move || drop(interval)
        });
    }
    // The administrator's gesture on the clock, and the PIN pad it opens.
    let taps = use_state(Vec::<f64>::new);
    let pin_pad = use_state(|| false);
    // The visit's state, as for any signed-in life (no sign-out here: the core signs in again).
    let focus = use_state(|| None);
    let (live, _) = use_live_state(focus, Callback::noop());
    // After a visit, "thank you" for a while, then the idle screen.
    let thanking = use_state(|| false);
    let in_call = live.call().is_some();
    let joined = live
        .call()
        .is_some_and(|screen| screen.view.phase == CallPhase::Joined);
    {
        // A visit that was joined ends with a thank-you.
        let thanking = thanking.clone();
        use_effect_with(joined, move |joined| {
            if *joined {
                thanking.set(true);
            }
        });
    }
    {
        let thanking = thanking.clone();
        use_effect_with(in_call, move |in_call| {
            let timer = (!*in_call && *thanking).then(|| {
                let thanking = thanking.clone();
                gloo_timers::callback::Timeout::new(THANK_YOU_MILLIS, move || {
                    // Back to the idle screen on a fresh page: nothing of the visit's page (its
                    // frame, its script heap) carries over to the next patient, and the web
                    // process does not grow visit after visit. The core's state is untouched.
                    let reloaded = web_sys::window().map(|window| window.location().reload());
                    if !matches!(reloaded, Some(Ok(()))) {
                        thanking.set(false);
                    }
                })
            });
            move || drop(timer)
        });
    }
    // Staff's maintenance screen, over whatever the kiosk shows (the core opens it on a right PIN).
    if let Some(KioskStatus::Maintenance {
        checked_offline,
        self_test,
    }) = status.as_ref().map(|revised| &revised.value)
    {
        return html! {
            <MaintenanceView checked_offline={*checked_offline} self_test={self_test.clone()}
                on_action={Callback::from(|action: MaintenanceAction| {
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Err(refused) = ipc::kiosk_maintenance(action).await {
                            web_sys::console::warn_1(&refused.to_string().into());
                        }
                    });
                })} />
        };
    }
    let offline = matches!(
        status.as_ref().map(|revised| &revised.value),
        Some(KioskStatus::Offline)
    );
    // The core says so only while no call runs: over a failed call and the thank-you too.
    if offline {
        return html! {
            <KioskView status={Some(KioskStatus::Offline)} clock={*clock}
                clinic={props.setup.clinic_name.clone()} />
        };
    }
    if let Some(screen) = live.call().cloned() {
        let countdown = match status.as_ref().map(|revised| &revised.value) {
            Some(KioskStatus::CameraSoon { doctor, seconds }) => Some((doctor.clone(), *seconds)),
            _ => None,
        };
        let on_control = Callback::from(|control: CallControl| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(refused) = ipc::call_control(control).await {
                    web_sys::console::warn_1(&refused.to_string().into());
                }
            });
        });
        return html! {
            <>
                if let Some((doctor, seconds)) = countdown {
                    <ConsentCountdown {doctor} {seconds} />
                }
                <KioskCallView {screen} {on_control} />
            </>
        };
    }
    if *thanking {
        return html! { <ThankYouView /> };
    }
    let visit = live.dashboard().map_or(KioskVisit::None, |dashboard| {
        KioskVisit::of(dashboard, clock.now, props.setup.shows_first_name)
    });
    let status = status.as_ref().map(|revised| revised.value.clone());
    let on_clock_tap = {
        let (taps, pin_pad) = (taps.clone(), pin_pad.clone());
        Callback::from(move |()| {
            let now = js_sys::Date::now();
            let mut recent: Vec<f64> = taps
                .iter()
                .copied()
                .filter(|at| now - at < TAPS_WITHIN_MS)
                .collect();
            recent.push(now);
            if recent.len() >= EXIT_TAPS {
                recent.clear();
                pin_pad.set(true);
            }
            taps.set(recent);
        })
    };
    let close_pad = {
        let pin_pad = pin_pad.clone();
        Callback::from(move |()| pin_pad.set(false))
    };
    html! {
        <>
            <KioskView {status} {visit} clock={*clock} {on_clock_tap}
                clinic={props.setup.clinic_name.clone()} />
            if *pin_pad {
                <PinPad on_close={close_pad} />
            }
        </>
    }
}

/// What the idle screen says about the kiosk's own visits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum KioskVisit {
    #[default]
    None,
    /// A visit starts within [`SOON`]: who with, when, and the patient's first name where the
    /// clinic allows it.
    Soon {
        doctor: String,
        start: OffsetDateTime,
        first_name: Option<String>,
    },
    /// The kiosk asked to join and waits for the doctor.
    Waiting { doctor: String },
    /// The doctor declined; the kiosk does not ask again by itself.
    Declined { doctor: String },
}

/// How long before its start a visit is announced on the idle screen.
pub const SOON: time::Duration = time::Duration::minutes(15);

impl KioskVisit {
    /// From the kiosk's dashboard at `now`; a request to join says more than the schedule.
    pub fn of(dashboard: &Dashboard, now: OffsetDateTime, shows_first_name: bool) -> KioskVisit {
        let doctor_of = |appointment_id: &str| {
            dashboard
                .appointments
                .iter()
                .find(|appointment| appointment.id == appointment_id)
                .map(|appointment| appointment.doctor_name.clone())
        };
        for own in &dashboard.own_requests {
            let Some(doctor) = doctor_of(&own.request.appointment_id) else {
                continue;
            };
            match own.request.status {
                JoinRequestStatus::Pending => return KioskVisit::Waiting { doctor },
                JoinRequestStatus::Rejected => return KioskVisit::Declined { doctor },
                JoinRequestStatus::Approved | JoinRequestStatus::Withdrawn => {}
            }
        }
        dashboard
            .appointments
            .iter()
            .filter(|appointment| {
                appointment.end_time > now && appointment.start_time - SOON <= now
            })
            .min_by_key(|appointment| appointment.start_time)
            .map_or(KioskVisit::None, |appointment| KioskVisit::Soon {
                doctor: appointment.doctor_name.clone(),
                start: appointment.start_time,
                first_name: shows_first_name
                    .then(|| appointment.patient_name.split_whitespace().next())
                    .flatten()
                    .map(str::to_owned),
            })
    }
}

#[derive(Properties, PartialEq)]
pub struct KioskViewProps {
    /// `None` until the core's first status.
    pub status: Option<KioskStatus>,
    /// What to say about the kiosk's own visits.
    #[prop_or_default]
    pub visit: KioskVisit,
    pub clock: Clock,
    /// A tap on the clock (the administrator's hidden gesture counts them).
    #[prop_or_default]
    pub on_clock_tap: Callback<()>,
    /// The clinic's name, above the clock, when the administrator set one.
    #[prop_or_default]
    pub clinic: Option<String>,
}

/// The screen as a pure function of its props, so it is testable without a webview.
#[function_component(KioskView)]
pub fn kiosk_view(props: &KioskViewProps) -> Html {
    let (state, message): (&str, Html) = match &props.status {
        None | Some(KioskStatus::SigningIn) => (
            "signing-in",
            html! { <p class="kiosk-note">{ "Getting ready…" }</p> },
        ),
        Some(
            KioskStatus::Ready | KioskStatus::CameraSoon { .. } | KioskStatus::Maintenance { .. },
        ) => match &props.visit {
            KioskVisit::Waiting { doctor } => (
                "waiting",
                html! {
                    <p class="kiosk-note">{ format!("{doctor} will let you in. Please wait here.") }</p>
                },
            ),
            KioskVisit::Declined { doctor } => (
                "declined",
                html! {
                    <p class="kiosk-note">
                        { format!("{doctor} cannot see you on this screen now. Please ask the staff.") }
                    </p>
                },
            ),
            KioskVisit::Soon {
                doctor,
                start,
                first_name,
            } => (
                "visit-soon",
                html! {
                    <>
                        if let Some(name) = first_name {
                            <p class="kiosk-greeting">{ format!("Welcome, {name}.") }</p>
                        }
                        <p class="kiosk-note">
                            { format!(
                                "Your video visit with {doctor} starts at {}. It will start on this screen.",
                                props.clock.start_label(*start)
                            ) }
                        </p>
                    </>
                },
            ),
            KioskVisit::None => (
                "ready",
                html! {
                    <p class="kiosk-note">{ "Welcome. Your video visit will start on this screen." }</p>
                },
            ),
        },
        Some(KioskStatus::Enrolling {
            code,
            qr,
            valid_for_secs,
        }) => (
            "enrolling",
            html! {
                <div class="kiosk-enrol">
                    <p class="kiosk-note">{ "This kiosk is not set up yet." }</p>
                    <p>{ "An administrator adds it in Consult: Kiosks, then Add a kiosk, with this code:" }</p>
                    <p id="kiosk-enrol-code" class="kiosk-enrol-code">{ code }</p>
                    <QrCode rows={qr.clone()} label={format!("The code {code} as a QR code")} />
                    <p class="muted">
                        { format!("The code is valid for {} minutes; then a new one appears.", valid_for_secs.div_ceil(60)) }
                    </p>
                </div>
            },
        ),
        // Calm words: nothing is wrong with the patient's side and nothing is theirs to do.
        Some(KioskStatus::Offline) => (
            "offline",
            html! {
                <div class="kiosk-offline" role="status">
                    <p class="kiosk-note">{ KioskStatus::OFFLINE }</p>
                    <p class="muted">{ KioskStatus::OFFLINE_DETAIL }</p>
                </div>
            },
        ),
        Some(KioskStatus::SwitchedOff { retry_in_secs }) => (
            "switched-off",
            html! {
                <div class="kiosk-problem" role="alert">
                    <p>{ KioskStatus::SWITCHED_OFF }</p>
                    <p class="muted">{ format!("It checks again every {retry_in_secs} seconds.") }</p>
                </div>
            },
        ),
        Some(KioskStatus::Problem {
            message,
            retry_in_secs,
        }) => (
            "problem",
            html! {
                <div class="kiosk-problem" role="alert">
                    <p>{ "This kiosk cannot connect to the clinic." }</p>
                    <p class="detail">{ message }</p>
                    <p class="muted">{ format!("It tries again every {retry_in_secs} seconds.") }</p>
                </div>
            },
        ),
    };
    let local = props
        .clock
        .now
        .to_offset(props.clock.zone.offset_at(props.clock.now));
    html! {
        <main id="kiosk" class="kiosk" data-state={state}>
            <div class="kiosk-drift">
                if let Some(clinic) = &props.clinic {
                    <h1 id="kiosk-clinic" class="kiosk-clinic">{ clinic }</h1>
                }
                <p id="kiosk-clock" class="kiosk-clock" aria-label="The time"
                    onclick={props.on_clock_tap.reform(|_: MouseEvent| ())}>
                    { format!("{:02}:{:02}", local.hour(), local.minute()) }
                </p>
                <div id="kiosk-status" aria-live="polite">{ message }</div>
            </div>
        </main>
    }
}

#[derive(Properties, PartialEq)]
pub struct QrCodeProps {
    /// Rows of modules, `1` dark, as the core encoded them.
    pub rows: Vec<String>,
    pub label: String,
}

/// A QR code drawn as one SVG path, dark on light with the standard quiet zone of four modules.
#[function_component(QrCode)]
pub fn qr_code(props: &QrCodeProps) -> Html {
    const QUIET: usize = 4;
    let size = props.rows.len() + 2 * QUIET;
    let path: String = props
        .rows
        .iter()
        .enumerate()
        .flat_map(|(y, row)| {
            row.bytes()
                .enumerate()
                .filter(|(_, module)| *module == b'1')
                .map(move |(x, _)| format!("M{},{}h1v1h-1z", x + QUIET, y + QUIET))
        })
        .collect();
    html! {
        <svg id="kiosk-enrol-qr" class="kiosk-enrol-qr" role="img" aria-label={props.label.clone()}
            viewBox={format!("0 0 {size} {size}")} shape-rendering="crispEdges">
            <rect width={size.to_string()} height={size.to_string()} fill="#ffffff" />
            <path d={path} fill="#000000" />
        </svg>
    }
}

/// The message the clinic sent to the room (`kiosk-message` events), over whatever the kiosk
/// shows, until someone taps it away or the core takes it back.
#[function_component(RoomMessageLayer)]
pub fn room_message_layer() -> Html {
    let message = use_kiosk_event::<Option<RoomMessage>>(names::KIOSK_MESSAGE);
    let on_dismiss = Callback::from(|()| {
        wasm_bindgen_futures::spawn_local(async {
            if let Err(refused) = ipc::kiosk_dismiss_message().await {
                web_sys::console::warn_1(&refused.to_string().into());
            }
        });
    });
    match message.as_ref().and_then(|revised| revised.value.clone()) {
        Some(message) => html! { <RoomMessageView {message} {on_dismiss} /> },
        None => html! {},
    }
}

#[derive(Properties, PartialEq)]
pub struct RoomMessageViewProps {
    pub message: RoomMessage,
    pub on_dismiss: Callback<()>,
}

/// A message from the clinic to the room: what it says, and OK to put it away.
#[function_component(RoomMessageView)]
pub fn room_message_view(props: &RoomMessageViewProps) -> Html {
    html! {
        <div id="kiosk-message" class="kiosk-message" role="alert">
            <p class="kiosk-message-from">{ "A message from the clinic" }</p>
            <p id="kiosk-message-text" class="kiosk-message-text">{ &props.message.text }</p>
            <button id="kiosk-message-ok" type="button"
                onclick={props.on_dismiss.reform(|_: MouseEvent| ())}>{ "OK" }</button>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct ConsentCountdownProps {
    pub doctor: String,
    /// From the core's status: how long the countdown is.
    pub seconds: u64,
}

/// Counts the core's countdown down on screen, a second at a time, after a chime; the core
/// turns the microphone and camera on when it ends.
#[function_component(ConsentCountdown)]
fn consent_countdown(props: &ConsentCountdownProps) -> Html {
    let left = use_state(|| props.seconds);
    {
        let left = left.clone();
        use_effect_with(props.doctor.clone(), move |_| {
            if let Err(error) = chime() {
                web_sys::console::warn_1(&error);
            }
            let interval = Interval::new(1_000, move || left.set(left.saturating_sub(1)));
            move || drop(interval)
        });
    }
    html! { <ConsentCountdownView doctor={props.doctor.clone()} seconds={*left} /> }
}

/// Two soft tones (E5 then A5, a third of a second each), so the patient looks up before the
/// camera goes on. The webview may have no audio output; that is not an error worth more than
/// a console line.
fn chime() -> Result<(), wasm_bindgen::JsValue> {
    let context = web_sys::AudioContext::new()?;
    let start = context.current_time();
    for (index, frequency) in [659.25_f32, 880.0].into_iter().enumerate() {
        let at = start + 0.35 * index as f64;
        let tone = context.create_oscillator()?;
        tone.frequency().set_value(frequency);
        let volume = context.create_gain()?;
        volume.gain().set_value_at_time(0.0, at)?;
        volume.gain().linear_ramp_to_value_at_time(0.2, at + 0.03)?;
        volume.gain().linear_ramp_to_value_at_time(0.0, at + 0.3)?;
        tone.connect_with_audio_node(&volume)?;
        volume.connect_with_audio_node(&context.destination())?;
        tone.start_with_when(at)?;
        tone.stop_with_when(at + 0.32)?;
    }
    Ok(())
}

/// "Dr X is joining — camera on in 5 s", as a pure view.
#[function_component(ConsentCountdownView)]
pub fn consent_countdown_view(props: &ConsentCountdownProps) -> Html {
    html! {
        <div id="consent-countdown" class="consent" role="alert" data-seconds={props.seconds.to_string()}>
            { format!("{} is joining — camera on in {} s", props.doctor, props.seconds) }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct KioskCallViewProps {
    pub screen: CallScreen,
    #[prop_or_default]
    pub on_control: Callback<CallControl>,
}

/// The patient's call screen: the meeting and three big controls (microphone, camera, ask for
/// help); nothing to hang up or configure: the kiosk leaves by itself when the visit ends.
#[function_component(KioskCallView)]
pub fn kiosk_call_view(props: &KioskCallViewProps) -> Html {
    let screen = &props.screen;
    let view = &screen.view;
    let joined = view.phase == CallPhase::Joined;
    let status = match &view.phase {
        CallPhase::Joining | CallPhase::Rejoining => "Connecting to your visit…",
        CallPhase::Joined => "You are in your video visit.",
        CallPhase::Ended { .. } => "Your visit has ended.",
        CallPhase::Failed { .. } => "The connection was lost. Trying again…",
    };
    // `states`: what the button says under its name when on and when off.
    let button = |id: &'static str,
                  label: &'static str,
                  states: (&'static str, &'static str),
                  on: bool,
                  control: CallControl| {
        let on_control = props.on_control.clone();
        html! {
            <button id={id} class="kiosk-control" type="button" aria-pressed={on.to_string()}
                data-state={if on { "on" } else { "off" }} disabled={!joined}
                onclick={Callback::from(move |_: MouseEvent| on_control.emit(control.clone()))}>
                <span class="control-name">{ label }</span>
                <span class="control-state">{ if on { states.0 } else { states.1 } }</span>
            </button>
        }
    };
    html! {
        <main id="kiosk-call" class="kiosk-call" data-phase={phase_name(&view.phase)}>
            <h1 class="visually-hidden">{ "Your video visit" }</h1>
            <div id="call-stage" class="kiosk-stage">
                if let Some(url) = &screen.frame_url {
                    // As on the doctor's call screen: no top navigation from the call's frames.
                    <iframe id="call-frame" key={url.clone()} src={url.clone()} title="Video call"
                        sandbox="allow-scripts allow-same-origin allow-forms allow-popups"
                        allow="camera; microphone; autoplay; fullscreen"
                        referrerpolicy="no-referrer"></iframe>
                } else {
                    <p id="call-in-browser" class="kiosk-note">{ "Your visit is on the screen." }</p>
                }
            </div>
            <p id="kiosk-call-status" class="kiosk-call-status" role="status" aria-live="polite">
                { status }
            </p>
            <div class="kiosk-controls" role="toolbar" aria-label="Call controls">
                { button("kiosk-mic", "Microphone", ("On", "Off"), !view.audio_muted, CallControl::ToggleAudio) }
                if !screen.audio_only {
                    { button("kiosk-camera", "Camera", ("On", "Off"), !view.video_muted, CallControl::ToggleVideo) }
                }
                { button("kiosk-help", "Ask for help", ("The doctor is told", "Tap to ask"), view.hand_raised, CallControl::ToggleRaiseHand) }
            </div>
        </main>
    }
}

/// After a visit, until the idle screen comes back.
#[function_component(ThankYouView)]
pub fn thank_you_view() -> Html {
    html! {
        <main id="kiosk" class="kiosk" data-state="thank-you">
            <div class="kiosk-drift" aria-live="polite">
                <h1 class="kiosk-thanks">{ "Thank you" }</h1>
                <p class="kiosk-note">{ "Your visit has ended. The staff will be with you shortly." }</p>
            </div>
        </main>
    }
}

#[derive(Properties, PartialEq)]
pub struct PinPadProps {
    pub on_close: Callback<()>,
}

/// The administrator's PIN pad. The PIN goes to the core only on Open; what the core answers
/// (wrong, locked, cannot be checked) is said here. It closes by itself after half a minute
/// without a key.
#[function_component(PinPad)]
pub fn pin_pad(props: &PinPadProps) -> Html {
    let pin = use_state(String::new);
    let message = use_state(|| None::<String>);
    let busy = use_state(|| false);
    {
        let on_close = props.on_close.clone();
        use_effect_with(((*pin).clone(), (*message).clone()), move |_| {
            let timer =
                gloo_timers::callback::Timeout::new(PIN_PAD_IDLE_MILLIS, move || on_close.emit(()));
            move || drop(timer)
        });
    }
    let on_digit = {
        let pin = pin.clone();
        Callback::from(move |digit: char| {
            if pin.len() < 12 {
                pin.set(format!("{}{digit}", *pin));
            }
        })
    };
    let on_delete = {
        let pin = pin.clone();
        Callback::from(move |()| {
            let mut shorter = (*pin).clone();
            shorter.pop();
            pin.set(shorter);
        })
    };
    let on_submit = {
        let (pin, message, busy, on_close) = (
            pin.clone(),
            message.clone(),
            busy.clone(),
            props.on_close.clone(),
        );
        Callback::from(move |()| {
            let typed = (*pin).clone();
            if typed.is_empty() || *busy {
                return;
            }
            busy.set(true);
            pin.set(String::new());
            let (message, busy, on_close) = (message.clone(), busy.clone(), on_close.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match ipc::kiosk_unlock(typed).await {
                    Ok(()) => on_close.emit(()),
                    Err(error) => {
                        message.set(Some(error.to_string()));
                        busy.set(false);
                    }
                }
            });
        })
    };
    html! {
        <PinPadView digits={pin.len()} message={(*message).clone()} busy={*busy}
            {on_digit} {on_delete} {on_submit} on_cancel={props.on_close.clone()} />
    }
}

#[derive(Properties, PartialEq)]
pub struct PinPadViewProps {
    /// How many digits are typed (the pad shows dots, never the digits).
    pub digits: usize,
    pub message: Option<String>,
    #[prop_or_default]
    pub busy: bool,
    #[prop_or_default]
    pub on_digit: Callback<char>,
    #[prop_or_default]
    pub on_delete: Callback<()>,
    #[prop_or_default]
    pub on_submit: Callback<()>,
    #[prop_or_default]
    pub on_cancel: Callback<()>,
}

/// The PIN pad as a pure view: a modal dialog of twelve large keys.
#[function_component(PinPadView)]
pub fn pin_pad_view(props: &PinPadViewProps) -> Html {
    let key = |digit: char| {
        let on_digit = props.on_digit.clone();
        html! {
            <button id={format!("pin-{digit}")} class="pin-key" type="button"
                onclick={Callback::from(move |_: MouseEvent| on_digit.emit(digit))}>
                { digit.to_string() }
            </button>
        }
    };
    let dots = "•".repeat(props.digits);
    html! {
        <div class="pin-backdrop">
            <div id="pin-pad" class="pin-pad" role="dialog" aria-modal="true" aria-labelledby="pin-title">
                <h2 id="pin-title">{ "Staff only: exit PIN" }</h2>
                <p id="pin-display" class="pin-display" aria-live="polite">
                    <span aria-hidden="true">
                        { if dots.is_empty() { "\u{00a0}".to_owned() } else { dots } }
                    </span>
                    <span class="visually-hidden">{ format!("{} digits typed", props.digits) }</span>
                </p>
                if let Some(message) = &props.message {
                    <p id="pin-message" class="pin-message" role="alert">{ message }</p>
                }
                <div class="pin-keys">
                    { for ['1', '2', '3', '4', '5', '6', '7', '8', '9'].into_iter().map(key) }
                    <button id="pin-delete" class="pin-key" type="button"
                        onclick={props.on_delete.reform(|_: MouseEvent| ())}>{ "Delete" }</button>
                    { key('0') }
                    <button id="pin-submit" class="pin-key primary" type="button" disabled={props.busy}
                        onclick={props.on_submit.reform(|_: MouseEvent| ())}>{ "Open" }</button>
                </div>
                <button id="pin-cancel" class="pin-cancel" type="button"
                    onclick={props.on_cancel.reform(|_: MouseEvent| ())}>{ "Cancel" }</button>
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct MaintenanceViewProps {
    pub checked_offline: bool,
    pub self_test: Option<Vec<SelfTestCheck>>,
    #[prop_or_default]
    pub on_action: Callback<MaintenanceAction>,
}

/// Staff's maintenance screen: exit to the system, reload, the self-test, or back.
#[function_component(MaintenanceView)]
pub fn maintenance_view(props: &MaintenanceViewProps) -> Html {
    let button = |id: &'static str, label: &'static str, action: MaintenanceAction| {
        let on_action = props.on_action.clone();
        html! {
            <button id={id} class="maintenance-action" type="button"
                onclick={Callback::from(move |_: MouseEvent| on_action.emit(action))}>
                { label }
            </button>
        }
    };
    html! {
        <main id="kiosk" class="kiosk maintenance" data-state="maintenance">
            <h1>{ "Maintenance" }</h1>
            if props.checked_offline {
                <p class="muted">
                    { "The PIN was checked on this kiosk: the clinic server cannot be reached." }
                </p>
            }
            <div class="maintenance-actions">
                { button("maintenance-self-test", "Run the self-test", MaintenanceAction::SelfTest) }
                { button("maintenance-reload", "Reload the screen", MaintenanceAction::Reload) }
                { button("maintenance-exit", "Exit to the system", MaintenanceAction::Exit) }
                { button("maintenance-close", "Back to the kiosk", MaintenanceAction::Close) }
            </div>
            if let Some(checks) = &props.self_test {
                <ul id="self-test" class="self-test" aria-live="polite">
                    { for checks.iter().map(|check| html! {
                        <li data-passed={check.passed.to_string()} data-skipped={check.skipped.to_string()}>
                            <strong>{ format!("{}: {}", check.name, match (check.passed, check.skipped) {
                                (_, true) => "Not tested",
                                (true, false) => "OK",
                                (false, false) => "Problem",
                            }) }</strong>
                            { format!(" — {}", check.detail) }
                        </li>
                    }) }
                </ul>
            }
        </main>
    }
}
