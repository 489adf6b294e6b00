//! The call screen and the Join part of the detail, rendered through Yew's server-side renderer.
#![cfg(not(target_arch = "wasm32"))]

use consult_types::{
    Appointment, AppointmentStatus, CallControl, CallParticipant, CallPathKind, CallPhase,
    CallRole, CallScreen, CallSupport, CallType, CallView, EndReason, KnockingParticipant,
    MediaDevice, MediaError, MeetingStatus,
};
use consult_ui::clock::{Clock, Zone};
use consult_ui::pages::call::{shortcut, CallScreenView, CallScreenViewProps};
use consult_ui::pages::desk::detail::{DetailView, DetailViewProps};
use time::macros::{datetime, offset};
use time::{Duration, OffsetDateTime};
use yew::{Callback, LocalServerRenderer};

const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

fn support(path: CallPathKind) -> CallSupport {
    CallSupport {
        path,
        browser: (path == CallPathKind::Browser).then(|| "Chromium".into()),
        forced: false,
        reason: None,
        install_hint: None,
    }
}

fn view(phase: CallPhase, role: CallRole) -> CallView {
    CallView {
        phase,
        local_id: Some("me01".into()),
        role,
        ..CallView::joining("Ada Lovelace", false, false)
    }
}

fn screen(view: CallView, path: CallPathKind) -> CallScreen {
    CallScreen {
        session_id: "ses_1".into(),
        appointment_id: Some("apt_1".into()),
        frame_url: (path == CallPathKind::Embedded)
            .then(|| "http://127.0.0.1:4711/call#key=secret".into()),
        support: support(path),
        room_name: "room-apt_1".into(),
        audio_only: false,
        view,
    }
}

fn props(screen: CallScreen) -> CallScreenViewProps {
    CallScreenViewProps {
        screen,
        title: Some("Call with Grace Hopper".into()),
        error: None,
        busy: false,
        confirm_end_all: false,
        on_control: Callback::noop(),
        on_retry: Callback::noop(),
        on_back: Callback::noop(),
        on_confirm_end_all: Callback::noop(),
        on_dismiss_error: Callback::noop(),
    }
}

async fn render(props: CallScreenViewProps) -> String {
    LocalServerRenderer::<CallScreenView>::with_props(props)
        .render()
        .await
}

/// The whole opening tag that contains `marker`.
fn tag<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {html}"));
    let start = html[..at].rfind('<').unwrap_or(0);
    let end = html[at..].find('>').map_or(html.len(), |end| at + end);
    &html[start..end]
}

#[tokio::test]
async fn toggles_mirror_the_view() {
    let mut state = view(CallPhase::Joined, CallRole::Participant);
    state.audio_muted = true;
    state.hand_raised = true;
    let html = render(props(screen(state, CallPathKind::Embedded))).await;
    let audio = tag(&html, r#"id="ctl-audio""#);
    assert!(audio.contains(r#"aria-pressed="true""#), "{audio}");
    assert!(audio.contains(r#"data-state="on""#), "{audio}");
    assert!(!audio.contains("disabled"), "{audio}");
    assert!(html.contains(">Unmute<"), "{html}");
    let video = tag(&html, r#"id="ctl-video""#);
    assert!(video.contains(r#"aria-pressed="false""#), "{video}");
    assert!(video.contains(r#"data-state="off""#), "{video}");
    assert!(html.contains(">Stop camera<"), "{html}");
    assert!(tag(&html, r#"id="ctl-hand""#).contains(r#"data-state="on""#));
    assert!(html.contains(r#"id="ctl-hangup""#), "{html}");
    assert!(tag(&html, r#"id="call-phase""#).contains(r#"data-phase="joined""#));
    assert!(tag(&html, r#"id="call-phase""#).contains(r#"aria-live="polite""#));
    assert!(html.contains("Call with Grace Hopper"), "{html}");
}

#[tokio::test]
async fn controls_wait_for_the_join() {
    let html = render(props(screen(
        view(CallPhase::Joining, CallRole::Moderator),
        CallPathKind::Embedded,
    )))
    .await;
    for id in ["ctl-audio", "ctl-video", "ctl-hangup", "ctl-mute-all"] {
        assert!(
            tag(&html, &format!(r#"id="{id}""#)).contains("disabled"),
            "{id}: {html}"
        );
    }
    assert!(tag(&html, r#"id="call-phase""#).contains(r#"data-phase="joining""#));
}

#[tokio::test]
async fn moderator_controls_only_for_moderators() {
    let participant = render(props(screen(
        view(CallPhase::Joined, CallRole::Participant),
        CallPathKind::Embedded,
    )))
    .await;
    for id in ["ctl-lobby", "ctl-mute-all", "ctl-end-all"] {
        assert!(!participant.contains(id), "{id}: {participant}");
    }
    let moderator = render(props(screen(
        view(CallPhase::Joined, CallRole::Moderator),
        CallPathKind::Embedded,
    )))
    .await;
    for id in ["ctl-lobby", "ctl-mute-all", "ctl-end-all"] {
        assert!(
            moderator.contains(&format!(r#"id="{id}""#)),
            "{id}: {moderator}"
        );
    }
    assert!(!moderator.contains("ctl-end-all-confirm"), "{moderator}");
    let mut asking = props(screen(
        view(CallPhase::Joined, CallRole::Moderator),
        CallPathKind::Embedded,
    ));
    asking.confirm_end_all = true;
    let asking = render(asking).await;
    assert!(asking.contains(r#"id="ctl-end-all-confirm""#), "{asking}");
    assert!(asking.contains(r#"id="ctl-end-all-cancel""#), "{asking}");
}

#[tokio::test]
async fn knockers_and_participants_are_listed() {
    let mut state = view(CallPhase::Joined, CallRole::Moderator);
    state.participants = vec![
        CallParticipant {
            id: "p2".into(),
            display_name: None,
            role: CallRole::Participant,
            hand_raised: true,
        },
        CallParticipant {
            id: "p3".into(),
            display_name: Some("Grace Hopper".into()),
            role: CallRole::Moderator,
            hand_raised: false,
        },
    ];
    state.knocking = vec![KnockingParticipant {
        id: "k1".into(),
        name: Some("Sunrise Care".into()),
    }];
    let html = render(props(screen(state.clone(), CallPathKind::Embedded))).await;
    let knocker = tag(&html, r#"class="knocker""#);
    assert!(knocker.contains(r#"data-participant-id="k1""#), "{knocker}");
    assert!(
        html.contains("Sunrise Care is waiting in the lobby"),
        "{html}"
    );
    assert!(html.contains(r#"class="knock-admit""#), "{html}");
    assert!(html.contains("knock-deny"), "{html}");
    // The local user first, then the others in order; a nameless one is a guest.
    let me = html
        .find(r#"data-participant-id="me01""#)
        .unwrap_or(usize::MAX);
    let guest = html.find(r#"data-participant-id="p2""#).unwrap_or(0);
    let grace = html.find(r#"data-participant-id="p3""#).unwrap_or(0);
    assert!(me < guest && guest < grace, "{html}");
    assert!(html.contains(">Guest<"), "{html}");
    assert!(html.contains("hand raised"), "{html}");

    // Participants are not shown the lobby.
    state.role = CallRole::Participant;
    let html = render(props(screen(state, CallPathKind::Embedded))).await;
    assert!(!html.contains("knocker"), "{html}");
}

#[tokio::test]
async fn the_stage_follows_the_path() {
    let embedded = render(props(screen(
        view(CallPhase::Joined, CallRole::Participant),
        CallPathKind::Embedded,
    )))
    .await;
    let frame = tag(&embedded, r#"id="call-frame""#);
    assert!(
        frame.contains("http://127.0.0.1:4711/call#key=secret"),
        "{frame}"
    );
    assert!(
        frame.contains("camera; microphone; display-capture"),
        "{frame}"
    );
    assert!(frame.contains(r#"referrerpolicy="no-referrer""#), "{frame}");
    // Sandboxed with what the call needs; never top navigation (issue 12 item 4).
    assert!(
        frame.contains(r#"sandbox="allow-scripts allow-same-origin allow-forms allow-popups""#),
        "{frame}"
    );
    assert!(!frame.contains("allow-top-navigation"), "{frame}");
    assert!(embedded.contains(">In this window<"), "{embedded}");

    let browser = render(props(screen(
        view(CallPhase::Joined, CallRole::Participant),
        CallPathKind::Browser,
    )))
    .await;
    assert!(!browser.contains("call-frame"), "{browser}");
    assert!(
        browser.contains("The call is in the Chromium window. Use the controls here or there."),
        "{browser}"
    );
    assert!(browser.contains(">In Chromium<"), "{browser}");
}

#[tokio::test]
async fn failures_errors_and_media_problems_are_shown() {
    let mut state = view(
        CallPhase::Failed {
            message: "The clinic refused the call token.".into(),
        },
        CallRole::Participant,
    );
    state.media_error = Some(MediaError {
        device: MediaDevice::Camera,
        kind: "gum.permission_denied".into(),
        message: Some("Permission denied".into()),
        what_to_do: "Allow the camera in the system settings.".into(),
    });
    let mut failed = props(screen(state, CallPathKind::Embedded));
    failed.error = Some("Only a moderator can mute everyone.".into());
    let html = render(failed).await;
    assert!(
        html.contains("The clinic refused the call token."),
        "{html}"
    );
    assert!(html.contains(r#"id="call-failed""#), "{html}");
    assert!(html.contains(r#"id="call-retry""#) && html.contains(r#"id="call-back""#));
    assert!(!html.contains("call-frame"), "{html}");
    assert!(tag(&html, r#"id="call-error""#).contains(r#"role="alert""#));
    let media = &html[html.find(r#"id="media-error""#).unwrap_or(0)..];
    assert!(media.contains("Permission denied"), "{media}");
    assert!(media.contains("Allow the camera"), "{media}");
    assert!(tag(&html, r#"id="call-phase""#).contains(r#"data-phase="failed""#));

    let ended = render(props(screen(
        view(
            CallPhase::Ended {
                reason: EndReason::HungUp,
            },
            CallRole::Participant,
        ),
        CallPathKind::Embedded,
    )))
    .await;
    assert!(ended.contains("The call has ended."), "{ended}");
    assert!(ended.contains(r#"id="call-back""#), "{ended}");
}

#[test]
fn shortcuts_map_to_controls() {
    assert_eq!(
        shortcut("m", false, false, false, false),
        Some(CallControl::ToggleAudio)
    );
    assert_eq!(
        shortcut("V", false, true, false, false),
        Some(CallControl::ToggleVideo)
    );
    assert_eq!(
        shortcut("h", false, false, false, false),
        Some(CallControl::ToggleRaiseHand)
    );
    assert_eq!(
        shortcut("t", false, false, false, false),
        Some(CallControl::ToggleTileView)
    );
    assert_eq!(
        shortcut("E", true, true, false, false),
        Some(CallControl::HangUp)
    );
    assert_eq!(shortcut("m", true, false, false, false), None);
    assert_eq!(shortcut("e", false, false, false, false), None);
    assert_eq!(shortcut("x", false, false, false, false), None);
}

fn appointment(starts_in: Duration) -> Appointment {
    let start = NOW + starts_in;
    Appointment {
        id: "apt_1".into(),
        appointment_code: "CODE-1".into(),
        session_id: "ses_1".into(),
        doctor_id: "usr_doc".into(),
        patient_id: "usr_pat".into(),
        agency_id: None,
        kiosk_id: None,
        room_name: "room-apt_1".into(),
        call_type: CallType::Video,
        status: AppointmentStatus::Scheduled,
        meeting_status: MeetingStatus::Created,
        waiting_room: false,
        start_time: start,
        end_time: start + Duration::minutes(30),
        doctor_name: "Ada Lovelace".into(),
        patient_name: "Grace Hopper".into(),
        agency_name: None,
    }
}

async fn render_detail(starts_in: Duration, support: Option<CallSupport>) -> String {
    let props = DetailViewProps {
        appointment: appointment(starts_in),
        clock: Clock {
            now: NOW,
            zone: Zone::Fixed(offset!(+1)),
        },
        on_close: Callback::noop(),
        support: support.map(Ok),
        joining: false,
        join_error: Some("No call can start: one is already running".into()),
        role: Some(consult_types::Role::Doctor),
        on_join: Callback::noop(),
    };
    LocalServerRenderer::<DetailView>::with_props(props)
        .render()
        .await
}

#[tokio::test]
async fn join_says_where_the_call_opens() {
    let embedded = render_detail(Duration::minutes(5), Some(support(CallPathKind::Embedded))).await;
    assert!(
        !tag(&embedded, r#"id="join-call""#).contains("disabled"),
        "{embedded}"
    );
    assert!(
        embedded.contains("The call opens in this window."),
        "{embedded}"
    );
    assert!(tag(&embedded, r#"id="join-error""#).contains(r#"role="alert""#));

    let mut forced = support(CallPathKind::Browser);
    forced.forced = true;
    let browser = render_detail(Duration::minutes(5), Some(forced)).await;
    assert!(
        browser.contains("The call opens in a separate Chromium window."),
        "{browser}"
    );
    assert!(browser.contains("(set by your administrator)"), "{browser}");

    let too_early = render_detail(Duration::hours(2), Some(support(CallPathKind::Embedded))).await;
    assert!(
        tag(&too_early, r#"id="join-call""#).contains("disabled"),
        "{too_early}"
    );

    let mut none = support(CallPathKind::None);
    none.reason = Some("This webview has no WebRTC and no Chromium was found.".into());
    none.install_hint = Some("sudo apt install chromium".into());
    let html = render_detail(Duration::minutes(5), Some(none)).await;
    assert!(
        tag(&html, r#"id="join-call""#).contains("disabled"),
        "{html}"
    );
    assert!(html.contains(r#"id="call-unavailable""#), "{html}");
    assert!(html.contains("no WebRTC"), "{html}");
    assert!(html.contains("sudo apt install chromium"), "{html}");
}
