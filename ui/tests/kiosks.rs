//! The administrator's Kiosks screen rendered through Yew's server-side renderer, with a fixed
//! "now".
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;

use consult_types::{
    CallPathKind, Check, DeviceStatus, Heartbeat, KioskActivity, Role, SelfTest, SessionView, User,
};
use consult_ui::pages::desk::header::{HeaderView, HeaderViewProps};
use consult_ui::pages::kiosks::{KiosksView, KiosksViewProps};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use yew::{Callback, LocalServerRenderer};

const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

fn kiosk(id: &str, location: &str, online: bool, report: Option<Heartbeat>) -> DeviceStatus {
    DeviceStatus::new(
        id.into(),
        location.into(),
        online,
        report.as_ref().map(|_| NOW - Duration::seconds(12)),
        report,
    )
}

fn report(state: KioskActivity, camera: Check, last_error: Option<&str>) -> Heartbeat {
    Heartbeat {
        version: "2.4.1".into(),
        state,
        call_path: CallPathKind::Browser,
        self_test: Some(SelfTest {
            at: NOW,
            camera,
            microphone: Check::Passed,
            speaker: Check::Passed,
            jitsi: Check::Passed,
            server: Check::Passed,
        }),
        last_error: last_error.map(Into::into),
        acknowledged: Vec::new(),
    }
}

fn props(kiosks: Option<Vec<DeviceStatus>>) -> KiosksViewProps {
    KiosksViewProps {
        kiosks,
        now: NOW,
        code: String::new(),
        location: String::new(),
        claiming: false,
        claim_result: None,
        messages: HashMap::new(),
        sending: false,
        command_result: None,
        announcement: None,
        on_back: Callback::noop(),
        on_code: Callback::noop(),
        on_location: Callback::noop(),
        on_claim: Callback::noop(),
        on_message: Callback::noop(),
        on_command: Callback::noop(),
    }
}

async fn render(props: KiosksViewProps) -> String {
    LocalServerRenderer::<KiosksView>::with_props(props)
        .render()
        .await
}

/// The part of the page from the row of `device_id` to the end of that row.
fn row<'a>(html: &'a str, device_id: &str) -> &'a str {
    let start = html
        .find(&format!(r#"data-device-id="{device_id}""#))
        .unwrap_or_else(|| panic!("no row for {device_id}: {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</li>").unwrap_or(rest.len())]
}

#[tokio::test]
async fn each_kiosk_shows_where_it_is_how_it_is_and_when_it_was_last_seen() {
    let html = render(props(Some(vec![
        kiosk(
            "dev_a",
            "Room 3",
            true,
            Some(report(
                KioskActivity::InCall,
                Check::Failed,
                Some("Camera busy"),
            )),
        ),
        kiosk("dev_b", "Lobby", false, None),
    ])))
    .await;
    let busy = row(&html, "dev_a");
    assert!(busy.contains(r#"data-online="true""#), "{busy}");
    for fact in [
        "Room 3",
        ">Online<",
        ">In call<",
        ">12 s ago<",
        ">Camera failed<",
        ">2.4.1<",
        ">Camera busy<",
    ] {
        assert!(busy.contains(fact), "{fact} missing: {busy}");
    }
    let silent = row(&html, "dev_b");
    assert!(silent.contains(r#"data-online="false""#), "{silent}");
    for fact in [
        ">Offline<",
        ">Not reported yet<",
        ">Never<",
        ">Not run yet<",
    ] {
        assert!(silent.contains(fact), "{fact} missing: {silent}");
    }
}

#[tokio::test]
async fn each_kiosk_has_its_commands_in_a_named_group_and_a_labelled_message_field() {
    let mut props = props(Some(vec![kiosk(
        "dev_a",
        "Room 3",
        true,
        Some(report(KioskActivity::Idle, Check::Passed, None)),
    )]));
    props.messages = HashMap::from([("dev_a".to_owned(), "Back soon".to_owned())]);
    let html = render(props).await;
    assert!(
        html.contains(r#"aria-label="Commands for Room 3""#),
        "{html}"
    );
    for command in [
        "reload",
        "restart",
        "selfTest",
        "leaveCall",
        "rotateSecret",
        "showMessage",
    ] {
        assert!(
            html.contains(&format!(r#"data-command="{command}""#)),
            "{command} missing: {html}"
        );
    }
    assert!(html.contains(r#"<label for="message-dev_a">"#), "{html}");
    assert!(
        html.contains(r#"value="Back soon""#),
        "what was typed stays: {html}"
    );
    assert!(html.contains(">Passed<"), "{html}");
}

#[tokio::test]
async fn the_claim_form_is_labelled_and_says_what_happened() {
    let mut claimed = props(Some(Vec::new()));
    claimed.claim_result = Some(Ok("Claimed: the kiosk at Room 3 is enrolled.".into()));
    let html = render(claimed).await;
    assert!(html.contains(r#"<label for="claim-code">"#), "{html}");
    assert!(html.contains(r#"<label for="claim-location">"#), "{html}");
    assert!(
        html.contains(r#"id="claim-result""#) && html.contains(r#"role="status""#),
        "{html}"
    );
    assert!(html.contains(r#"id="fleet-empty""#), "{html}");

    let mut refused = props(Some(Vec::new()));
    refused.code = "ABCD-EFGH".into();
    refused.location = "Room 3".into();
    refused.claim_result = Some(Err(
        "That code has expired: ask the kiosk for a new code.".into()
    ));
    let html = render(refused).await;
    assert!(
        html.contains(r#"id="claim-error""#) && html.contains(r#"role="alert""#),
        "{html}"
    );
    assert!(html.contains("ask the kiosk for a new code"), "{html}");
    // A refusal loses nothing that was typed.
    assert!(
        html.contains(r#"value="ABCD-EFGH""#) && html.contains(r#"value="Room 3""#),
        "{html}"
    );
}

#[tokio::test]
async fn fleet_changes_are_said_in_a_live_region_that_is_always_there() {
    let quiet = render(props(None)).await;
    assert!(quiet.contains(r#"id="fleet-announcement""#), "{quiet}");
    assert!(quiet.contains(r#"id="fleet-loading""#), "{quiet}");
    let mut changed = props(Some(Vec::new()));
    changed.announcement = Some("Room 3 is offline.".into());
    let html = render(changed).await;
    assert!(html.contains("Room 3 is offline."), "{html}");
}

fn session(role: Role) -> SessionView {
    SessionView {
        user: User {
            id: "usr_1".into(),
            email: "someone@demo.clinic".into(),
            first_name: None,
            last_name: None,
            role,
        },
        display_name: "Someone".into(),
        remembered: true,
        remember_problem: None,
    }
}

#[tokio::test]
async fn only_an_administrators_header_leads_to_the_kiosks() {
    let header = |role: Role, on_open_kiosks: Option<Callback<yew::MouseEvent>>| HeaderViewProps {
        session: session(role),
        connection: None,
        busy: false,
        on_sign_out: Callback::noop(),
        on_open_settings: Callback::noop(),
        on_open_kiosks,
    };
    let admin =
        LocalServerRenderer::<HeaderView>::with_props(header(Role::Admin, Some(Callback::noop())))
            .render()
            .await;
    assert!(admin.contains(r#"id="open-kiosks""#), "{admin}");
    let doctor = LocalServerRenderer::<HeaderView>::with_props(header(Role::Doctor, None))
        .render()
        .await;
    assert!(!doctor.contains("open-kiosks"), "{doctor}");
}
