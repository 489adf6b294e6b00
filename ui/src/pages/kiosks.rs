//! The administrator's Kiosks screen: every kiosk of the clinic, live from the dashboard's
//! `kiosks` (the core's `device_status` events, never polled), a form to claim the code a new
//! kiosk shows, and the commands an administrator may send one kiosk. The words for each fact
//! are pure functions; [`KiosksView`] draws them from its props.

use std::collections::HashMap;

use gloo_timers::callback::Interval;
use time::OffsetDateTime;
use yew::prelude::*;

use consult_types::{
    Check, ClaimKioskArgs, DeviceCommandKind, DeviceStatus, KioskActivity, KioskCommandArgs,
    SelfTest,
};

use crate::clock::Clock;
use crate::ipc;

/// "Last seen" counts seconds: it is drawn again every second.
const TICK_MILLIS: u32 = 1_000;

/// The commands offered per kiosk, in the order of their buttons ("show message" has its field).
pub const COMMANDS: [DeviceCommandKind; 5] = [
    DeviceCommandKind::Reload,
    DeviceCommandKind::Restart,
    DeviceCommandKind::SelfTest,
    DeviceCommandKind::LeaveCall,
    DeviceCommandKind::RotateSecret,
];

/// A button's words for a command.
pub fn command_label(command: DeviceCommandKind) -> &'static str {
    match command {
        DeviceCommandKind::Reload => "Reload",
        DeviceCommandKind::Restart => "Restart",
        DeviceCommandKind::SelfTest => "Run self-test",
        DeviceCommandKind::LeaveCall => "Leave call",
        DeviceCommandKind::ShowMessage => "Show message",
        DeviceCommandKind::RotateSecret => "Rotate secret",
    }
}

/// What the kiosk last said it was doing.
pub fn activity_label(activity: Option<KioskActivity>) -> &'static str {
    match activity {
        None => "Not reported yet",
        Some(KioskActivity::Idle) => "Idle",
        Some(KioskActivity::Visit) => "Visit",
        Some(KioskActivity::InCall) => "In call",
        Some(KioskActivity::OfflineRecovered) => "Recovered after going offline",
    }
}

/// How long ago the kiosk last beat: "12 s ago", "3 min ago", "2 h ago", "4 d ago", "Never".
pub fn seen_label(now: OffsetDateTime, last_seen: Option<OffsetDateTime>) -> String {
    let Some(seen) = last_seen else {
        return "Never".to_owned();
    };
    // A kiosk's clock a little ahead of this one is "now", not the future.
    let secs = (now - seen).whole_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3_599 => format!("{} min ago", secs / 60),
        3_600..=86_399 => format!("{} h ago", secs / 3_600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// The last self-test in words: each failed part named ("Camera failed, Speaker failed"), else
/// "Passed", noting the parts that could not be tried.
pub fn self_test_label(test: Option<&SelfTest>) -> String {
    let Some(test) = test else {
        return "Not run yet".to_owned();
    };
    let parts = [
        ("Camera", test.camera),
        ("Microphone", test.microphone),
        ("Speaker", test.speaker),
        ("Jitsi", test.jitsi),
        ("Clinic server", test.server),
    ];
    let named = |check: Check| -> Vec<&str> {
        parts
            .iter()
            .filter(|(_, result)| *result == check)
            .map(|(name, _)| *name)
            .collect()
    };
    let failed = named(Check::Failed);
    if !failed.is_empty() {
        return failed
            .iter()
            .map(|name| format!("{name} failed"))
            .collect::<Vec<_>>()
            .join(", ");
    }
    let skipped = named(Check::Skipped);
    if skipped.is_empty() {
        "Passed".to_owned()
    } else {
        format!("Passed ({} not tried)", skipped.join(", "))
    }
}

/// What changed in the fleet that a screen reader should hear: a kiosk new to the list, gone
/// online or offline, or a failed self-test. `None` when nothing worth saying changed (a beat
/// that changes only "last seen" is not announced).
pub fn announcement(before: &[DeviceStatus], after: &[DeviceStatus]) -> Option<String> {
    let earlier: HashMap<&str, &DeviceStatus> = before
        .iter()
        .map(|kiosk| (kiosk.device_id.as_str(), kiosk))
        .collect();
    let mut said = Vec::new();
    for kiosk in after {
        match earlier.get(kiosk.device_id.as_str()) {
            None => said.push(format!("{} joined the fleet.", kiosk.location)),
            Some(old) => {
                if old.online != kiosk.online {
                    let now = if kiosk.online { "online" } else { "offline" };
                    said.push(format!("{} is {now}.", kiosk.location));
                }
                let failed = failed_parts(kiosk);
                if failed.is_some() && failed != failed_parts(old) {
                    said.push(format!(
                        "{}: {}.",
                        kiosk.location,
                        failed.unwrap_or_default()
                    ));
                }
            }
        }
    }
    (!said.is_empty()).then(|| said.join(" "))
}

/// A command sent and not yet seen acknowledged: to whom, what, and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Awaited {
    pub device_id: String,
    pub location: String,
    pub command: DeviceCommandKind,
    pub id: String,
}

/// Whether the kiosk's last report acknowledges the awaited command, in words. A heartbeat lists
/// what it carried out since the one before, so the screen keeps the words once seen.
pub fn acknowledgement(kiosks: &[DeviceStatus], awaited: &Awaited) -> Option<String> {
    let kiosk = kiosks
        .iter()
        .find(|kiosk| kiosk.device_id == awaited.device_id)?;
    let report = kiosk.last_report.as_ref()?;
    report.acknowledged.contains(&awaited.id).then(|| {
        format!(
            "Done: {} carried out \u{201c}{}\u{201d}.",
            awaited.location,
            command_label(awaited.command)
        )
    })
}

/// The last self-test's words when a part of it failed.
fn failed_parts(kiosk: &DeviceStatus) -> Option<String> {
    let test = kiosk
        .last_report
        .as_ref()
        .and_then(|report| report.self_test.as_ref());
    Some(self_test_label(test)).filter(|words| words.contains("failed"))
}

#[derive(Properties, PartialEq)]
pub struct KiosksPageProps {
    /// The dashboard's fleet: `None` until the first dashboard arrives.
    pub kiosks: Option<Vec<DeviceStatus>>,
    /// Back to the desk.
    pub on_back: Callback<()>,
}

/// The stateful page: the form's text, the commands in flight and what they answered.
#[function_component(KiosksPage)]
pub fn kiosks_page(props: &KiosksPageProps) -> Html {
    let clock = use_state(Clock::now);
    let code = use_state(String::new);
    let location = use_state(String::new);
    let claiming = use_state(|| false);
    let claim_result = use_state(|| None::<Result<String, String>>);
    let messages = use_state(HashMap::<String, String>::new);
    let sending = use_state(|| false);
    let command_result = use_state(|| None::<Result<String, String>>);
    let awaited = use_state(|| None::<Awaited>);
    let announced = use_state(|| None::<String>);
    let shown = use_mut_ref(|| None::<Vec<DeviceStatus>>);

    {
        let clock = clock.clone();
        use_effect_with((), move |_| {
            let interval = Interval::new(TICK_MILLIS, move || clock.set(Clock::now()));
            move || drop(interval)
        });
    }
    {
        // The kiosk's heartbeat acknowledges the last command sent: said once, then kept.
        let (awaited, command_result) = (awaited.clone(), command_result.clone());
        use_effect_with(
            (props.kiosks.clone(), (*awaited).clone()),
            move |(kiosks, waiting)| {
                let done = kiosks
                    .as_deref()
                    .zip(waiting.as_ref())
                    .and_then(|(kiosks, waiting)| acknowledgement(kiosks, waiting));
                if let Some(words) = done {
                    command_result.set(Some(Ok(words)));
                    awaited.set(None);
                }
            },
        );
    }
    {
        // Said once per change, by comparing with the fleet shown before.
        let announced = announced.clone();
        use_effect_with(props.kiosks.clone(), move |kiosks| {
            if let Some(after) = kiosks {
                let before = shown.borrow_mut().replace(after.clone());
                if let Some(before) = before {
                    if let Some(words) = announcement(&before, after) {
                        announced.set(Some(words));
                    }
                }
            }
        });
    }

    let on_code = {
        let code = code.clone();
        Callback::from(move |text: String| code.set(text))
    };
    let on_location = {
        let location = location.clone();
        Callback::from(move |text: String| location.set(text))
    };
    let on_claim = {
        let (code, location) = (code.clone(), location.clone());
        let (claiming, claim_result) = (claiming.clone(), claim_result.clone());
        Callback::from(move |()| {
            if *claiming {
                return;
            }
            claiming.set(true);
            claim_result.set(None);
            let args = ClaimKioskArgs {
                code: (*code).clone(),
                location: (*location).clone(),
                name: None,
            };
            let (code, location) = (code.clone(), location.clone());
            let (claiming, claim_result) = (claiming.clone(), claim_result.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match ipc::claim_kiosk(args).await {
                    Ok(kiosk) => {
                        // Typed text stays after a refusal; a success clears it for the next.
                        code.set(String::new());
                        location.set(String::new());
                        claim_result.set(Some(Ok(format!(
                            "Claimed: the kiosk at {} is enrolled. It shows as online once it reports in.",
                            kiosk.location
                        ))));
                    }
                    Err(error) => claim_result.set(Some(Err(error.to_string()))),
                }
                claiming.set(false);
            });
        })
    };
    let on_message = {
        let messages = messages.clone();
        Callback::from(move |(device_id, text): (String, String)| {
            let mut typed = (*messages).clone();
            typed.insert(device_id, text);
            messages.set(typed);
        })
    };
    let on_command = {
        let (messages, sending, command_result) =
            (messages.clone(), sending.clone(), command_result.clone());
        let awaited = awaited.clone();
        let kiosks = props.kiosks.clone().unwrap_or_default();
        Callback::from(move |(device_id, command): (String, DeviceCommandKind)| {
            if *sending {
                return;
            }
            let message = (command == DeviceCommandKind::ShowMessage)
                .then(|| messages.get(&device_id).cloned().unwrap_or_default());
            let location = kiosks
                .iter()
                .find(|kiosk| kiosk.device_id == device_id)
                .map_or_else(|| device_id.clone(), |kiosk| kiosk.location.clone());
            sending.set(true);
            command_result.set(None);
            awaited.set(None);
            let args = KioskCommandArgs {
                device_id: device_id.clone(),
                command,
                message,
            };
            let (messages, sending, command_result) =
                (messages.clone(), sending.clone(), command_result.clone());
            let awaited = awaited.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match ipc::send_kiosk_command(args).await {
                    Ok(id) => {
                        awaited.set(Some(Awaited {
                            device_id: device_id.clone(),
                            location: location.clone(),
                            command,
                            id,
                        }));
                        if command == DeviceCommandKind::ShowMessage {
                            let mut typed = (*messages).clone();
                            typed.remove(&device_id);
                            messages.set(typed);
                        }
                        command_result.set(Some(Ok(format!(
                            "Sent \u{201c}{}\u{201d} to {location}. The kiosk confirms it in its next report.",
                            command_label(command)
                        ))));
                    }
                    Err(error) => command_result.set(Some(Err(format!("{location}: {error}")))),
                }
                sending.set(false);
            });
        })
    };
    let on_back = {
        let on_back = props.on_back.clone();
        Callback::from(move |_: MouseEvent| on_back.emit(()))
    };

    html! {
        <KiosksView
            kiosks={props.kiosks.clone()}
            now={clock.now}
            code={(*code).clone()}
            location={(*location).clone()}
            claiming={*claiming}
            claim_result={(*claim_result).clone()}
            messages={(*messages).clone()}
            sending={*sending}
            command_result={(*command_result).clone()}
            announcement={(*announced).clone()}
            {on_back}
            {on_code}
            {on_location}
            {on_claim}
            {on_message}
            {on_command}
        />
    }
}

#[derive(Properties, PartialEq)]
pub struct KiosksViewProps {
    /// `None` until the first dashboard.
    pub kiosks: Option<Vec<DeviceStatus>>,
    /// What "last seen" counts from.
    pub now: OffsetDateTime,
    pub code: String,
    pub location: String,
    /// A claim is in flight.
    pub claiming: bool,
    /// What the last claim did: the words to show, or the refusal's.
    pub claim_result: Option<Result<String, String>>,
    /// The message typed per kiosk (device id → text).
    pub messages: HashMap<String, String>,
    /// A command is in flight.
    pub sending: bool,
    pub command_result: Option<Result<String, String>>,
    /// The last change to the fleet, for screen readers.
    pub announcement: Option<String>,
    pub on_back: Callback<MouseEvent>,
    pub on_code: Callback<String>,
    pub on_location: Callback<String>,
    pub on_claim: Callback<()>,
    pub on_message: Callback<(String, String)>,
    pub on_command: Callback<(String, DeviceCommandKind)>,
}

fn typed(callback: &Callback<String>) -> Callback<InputEvent> {
    callback.reform(|event: InputEvent| {
        event
            .target_unchecked_into::<web_sys::HtmlInputElement>()
            .value()
    })
}

/// The screen as a pure function of its props, so it is testable without a webview.
#[function_component(KiosksView)]
pub fn kiosks_view(props: &KiosksViewProps) -> Html {
    let on_submit = {
        let on_claim = props.on_claim.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            on_claim.emit(());
        })
    };
    html! {
        <>
            <header class="topbar">
                <span class="brand">{ "Consult" }</span>
                <button id="back-to-desk" class="secondary" type="button"
                    onclick={props.on_back.clone()}>
                    { "Back to the desk" }
                </button>
            </header>
            <main class="content kiosks">
                <h1>{ "Kiosks" }</h1>
                // Always in the page, so that a change is read out when its words arrive.
                <p id="fleet-announcement" class="visually-hidden" role="status">
                    { props.announcement.clone().unwrap_or_default() }
                </p>
                <section class="panel" aria-labelledby="claim-heading">
                    <h2 id="claim-heading">{ "Add a kiosk" }</h2>
                    <p class="muted">
                        { "A new kiosk shows a one-time code. Type it here with the kiosk's place." }
                    </p>
                    <form id="claim-form" class="claim-form" onsubmit={on_submit}>
                        <div class="field">
                            <label for="claim-code">{ "Code shown on the kiosk" }</label>
                            <input id="claim-code" type="text" autocomplete="off"
                                spellcheck="false" value={props.code.clone()}
                                oninput={typed(&props.on_code)} disabled={props.claiming} />
                        </div>
                        <div class="field">
                            <label for="claim-location">{ "Location" }</label>
                            <input id="claim-location" type="text" autocomplete="off"
                                placeholder="e.g. Room 3" value={props.location.clone()}
                                oninput={typed(&props.on_location)} disabled={props.claiming} />
                        </div>
                        <button id="claim-submit" type="submit" disabled={props.claiming}>
                            { if props.claiming { "Claiming…" } else { "Claim kiosk" } }
                        </button>
                    </form>
                    { feedback("claim", props.claim_result.as_ref()) }
                </section>
                <section class="panel" aria-labelledby="fleet-heading">
                    <h2 id="fleet-heading">{ "Fleet" }</h2>
                    { feedback("command", props.command_result.as_ref()) }
                    { fleet(props) }
                </section>
            </main>
        </>
    }
}

/// A result in words: success as a status, a refusal as an alert.
fn feedback(what: &str, result: Option<&Result<String, String>>) -> Html {
    match result {
        None => html! {},
        Some(Ok(words)) => html! {
            <p id={format!("{what}-result")} class="saved" role="status">{ words }</p>
        },
        Some(Err(words)) => html! {
            <p id={format!("{what}-error")} class="error" role="alert">{ words }</p>
        },
    }
}

fn fleet(props: &KiosksViewProps) -> Html {
    let Some(kiosks) = &props.kiosks else {
        return html! { <p class="empty" id="fleet-loading">{ "Loading the kiosks…" }</p> };
    };
    if kiosks.is_empty() {
        return html! {
            <p class="empty" id="fleet-empty">{ "No kiosk is enrolled yet: claim one above." }</p>
        };
    }
    html! {
        <ul class="kiosk-list">
            { for kiosks.iter().map(|kiosk| row(props, kiosk)) }
        </ul>
    }
}

fn row(props: &KiosksViewProps, kiosk: &DeviceStatus) -> Html {
    let id = kiosk.device_id.clone();
    let report = kiosk.last_report.as_ref();
    let (online_class, online_words) = if kiosk.online {
        ("online", "Online")
    } else {
        ("offline", "Offline")
    };
    let self_test = self_test_label(report.and_then(|report| report.self_test.as_ref()));
    let failed = self_test.contains("failed");
    let message_field = format!("message-{id}");
    let message = props.messages.get(&id).cloned().unwrap_or_default();
    let button = |command: DeviceCommandKind| {
        let on_command = props.on_command.clone();
        let id = id.clone();
        html! {
            <button type="button" class="secondary" data-command={command.as_str()}
                disabled={props.sending}
                onclick={Callback::from(move |_: MouseEvent| on_command.emit((id.clone(), command)))}>
                { command_label(command) }
            </button>
        }
    };
    let on_message = {
        let (on_message, id) = (props.on_message.clone(), id.clone());
        Callback::from(move |event: InputEvent| {
            let text = event
                .target_unchecked_into::<web_sys::HtmlInputElement>()
                .value();
            on_message.emit((id.clone(), text));
        })
    };
    html! {
        <li class="kiosk-row" data-device-id={id.clone()} data-online={kiosk.online.to_string()}>
            <h3 class="kiosk-location">{ &kiosk.location }</h3>
            <dl class="facts">
                <dt>{ "Connection" }</dt>
                <dd class={classes!("kiosk-online", online_class)}>{ online_words }</dd>
                <dt>{ "State" }</dt>
                <dd class="kiosk-state">{ activity_label(report.map(|report| report.state)) }</dd>
                <dt>{ "Last seen" }</dt>
                <dd class="kiosk-seen">{ seen_label(props.now, kiosk.last_seen) }</dd>
                <dt>{ "Self-test" }</dt>
                <dd class={classes!("kiosk-self-test", failed.then_some("failed"))}>{ self_test }</dd>
                <dt>{ "Version" }</dt>
                <dd class="kiosk-version">
                    { report.map_or("Not reported yet", |report| report.version.as_str()) }
                </dd>
                <dt>{ "Last error" }</dt>
                <dd class="kiosk-last-error">
                    { report.and_then(|report| report.last_error.as_deref()).unwrap_or("None") }
                </dd>
            </dl>
            <div class="kiosk-commands" role="group"
                aria-label={format!("Commands for {}", kiosk.location)}>
                { for COMMANDS.into_iter().map(button) }
                <div class="field message-field">
                    <label for={message_field.clone()}>{ "Message for the room" }</label>
                    <input id={message_field} type="text" maxlength="280" value={message}
                        oninput={on_message} disabled={props.sending} />
                    { button(DeviceCommandKind::ShowMessage) }
                </div>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use consult_types::{CallPathKind, Heartbeat};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    fn test(camera: Check, speaker: Check) -> SelfTest {
        SelfTest {
            at: NOW,
            camera,
            microphone: Check::Passed,
            speaker,
            jitsi: Check::Passed,
            server: Check::Passed,
        }
    }

    fn kiosk(online: bool, self_test: Option<SelfTest>) -> DeviceStatus {
        let report = Heartbeat {
            version: "1.0.0".into(),
            state: KioskActivity::Idle,
            call_path: CallPathKind::Browser,
            self_test,
            last_error: None,
            acknowledged: Vec::new(),
        };
        DeviceStatus::new(
            "dev_1".into(),
            "Room 3".into(),
            online,
            Some(NOW),
            Some(report),
        )
    }

    #[test]
    fn last_seen_counts_seconds_then_minutes_hours_and_days() {
        assert_eq!(seen_label(NOW, None), "Never");
        assert_eq!(
            seen_label(NOW, Some(NOW - time::Duration::seconds(12))),
            "12 s ago"
        );
        assert_eq!(
            seen_label(NOW, Some(NOW + time::Duration::seconds(2))),
            "0 s ago"
        );
        assert_eq!(
            seen_label(NOW, Some(NOW - time::Duration::minutes(3))),
            "3 min ago"
        );
        assert_eq!(
            seen_label(NOW, Some(NOW - time::Duration::hours(2))),
            "2 h ago"
        );
        assert_eq!(
            seen_label(NOW, Some(NOW - time::Duration::days(4))),
            "4 d ago"
        );
    }

    #[test]
    fn a_self_test_names_each_failed_part() {
        assert_eq!(self_test_label(None), "Not run yet");
        assert_eq!(
            self_test_label(Some(&test(Check::Passed, Check::Passed))),
            "Passed"
        );
        assert_eq!(
            self_test_label(Some(&test(Check::Passed, Check::Skipped))),
            "Passed (Speaker not tried)"
        );
        assert_eq!(
            self_test_label(Some(&test(Check::Failed, Check::Failed))),
            "Camera failed, Speaker failed"
        );
    }

    #[test]
    fn a_command_is_done_when_that_kiosks_report_lists_its_id() {
        let awaited = Awaited {
            device_id: "dev_1".into(),
            location: "Room 3".into(),
            command: DeviceCommandKind::ShowMessage,
            id: "cmd_9".into(),
        };
        let mut acked = kiosk(true, None);
        assert_eq!(
            acknowledgement(std::slice::from_ref(&acked), &awaited),
            None
        );
        if let Some(report) = acked.last_report.as_mut() {
            report.acknowledged = vec!["cmd_8".into(), "cmd_9".into()];
        }
        assert_eq!(
            acknowledgement(std::slice::from_ref(&acked), &awaited).as_deref(),
            Some("Done: Room 3 carried out \u{201c}Show message\u{201d}.")
        );
        // Another kiosk's report says nothing of it.
        let other = Awaited {
            device_id: "dev_2".into(),
            ..awaited
        };
        assert_eq!(acknowledgement(&[acked], &other), None);
    }

    #[test]
    fn going_offline_and_a_failed_camera_are_announced_and_a_plain_beat_is_not() {
        let online = kiosk(true, None);
        assert_eq!(
            announcement(std::slice::from_ref(&online), std::slice::from_ref(&online)),
            None
        );
        assert_eq!(
            announcement(std::slice::from_ref(&online), &[kiosk(false, None)]).as_deref(),
            Some("Room 3 is offline.")
        );
        assert_eq!(
            announcement(
                &[online],
                &[kiosk(true, Some(test(Check::Failed, Check::Passed)))]
            )
            .as_deref(),
            Some("Room 3: Camera failed.")
        );
        assert_eq!(
            announcement(&[], &[kiosk(false, None)]).as_deref(),
            Some("Room 3 joined the fleet.")
        );
    }
}
