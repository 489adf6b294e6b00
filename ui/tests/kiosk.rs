//! Kiosk mode's screen rendered through Yew's server-side renderer: each status of the kiosk's
//! own sign-in, and nothing of the schedule or a patient anywhere.
#![cfg(not(target_arch = "wasm32"))]

use consult_types::KioskStatus;
use consult_ui::clock::{Clock, Zone};
use consult_ui::pages::kiosk::{KioskView, KioskViewProps};
use time::macros::{datetime, offset};
use yew::LocalServerRenderer;

async fn render(status: Option<KioskStatus>) -> String {
    LocalServerRenderer::<KioskView>::with_props(KioskViewProps {
        status,
        waiting_for: None,
        clock: Clock {
            now: datetime!(2026-12-03 08:05 UTC),
            zone: Zone::Fixed(offset!(+1)),
        },
    })
    .render()
    .await
}

#[tokio::test]
async fn ready_shows_the_local_time_and_a_welcome_only() {
    let html = render(Some(KioskStatus::Ready)).await;
    assert!(html.contains(r#"data-state="ready""#), "{html}");
    assert!(html.contains(">09:05<"), "local time: {html}");
    assert!(
        html.contains("Your video visit will start on this screen"),
        "{html}"
    );
    assert!(!html.contains("role=\"alert\""), "{html}");
    for doctors_screen in ["schedule", "email", "password", "join-requests"] {
        assert!(!html.contains(doctors_screen), "{doctors_screen}: {html}");
    }
}

#[tokio::test]
async fn switched_off_says_so_as_an_alert_and_that_it_keeps_trying() {
    let html = render(Some(KioskStatus::SwitchedOff { retry_in_secs: 30 })).await;
    assert!(html.contains(r#"data-state="switched-off""#), "{html}");
    assert!(html.contains(KioskStatus::SWITCHED_OFF), "{html}");
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(html.contains("every 30 seconds"), "{html}");
}

#[tokio::test]
async fn a_problem_says_what_happened_and_before_any_status_it_is_getting_ready() {
    let html = render(Some(KioskStatus::Problem {
        message: "Cannot reach the clinic server".into(),
        retry_in_secs: 5,
    }))
    .await;
    assert!(html.contains(r#"data-state="problem""#), "{html}");
    assert!(html.contains("Cannot reach the clinic server"), "{html}");
    let starting = render(None).await;
    assert!(
        starting.contains(r#"data-state="signing-in""#),
        "{starting}"
    );
}

#[tokio::test]
async fn waiting_to_be_let_in_names_the_doctor_only() {
    let html = LocalServerRenderer::<KioskView>::with_props(KioskViewProps {
        status: Some(KioskStatus::Ready),
        waiting_for: Some("Ada Lovelace".into()),
        clock: Clock {
            now: datetime!(2026-12-03 08:05 UTC),
            zone: Zone::Fixed(offset!(+1)),
        },
    })
    .render()
    .await;
    assert!(html.contains(r#"data-state="waiting""#), "{html}");
    assert!(html.contains("Ada Lovelace will let you in"), "{html}");
}

#[tokio::test]
async fn the_consent_countdown_names_the_doctor_and_the_seconds_left() {
    use consult_ui::pages::kiosk::{ConsentCountdownProps, ConsentCountdownView};
    let html = LocalServerRenderer::<ConsentCountdownView>::with_props(ConsentCountdownProps {
        doctor: "Ada Lovelace".into(),
        seconds: 5,
    })
    .render()
    .await;
    assert!(
        html.contains("Ada Lovelace is joining — camera on in 5 s"),
        "{html}"
    );
    assert!(html.contains(r#"role="alert""#), "{html}");
}

mod call {
    use super::*;
    use consult_types::{CallPathKind, CallPhase, CallRole, CallScreen, CallSupport, CallView};
    use consult_ui::pages::kiosk::{KioskCallView, KioskCallViewProps};

    fn screen(phase: CallPhase, audio_only: bool) -> CallScreen {
        CallScreen {
            session_id: "ses_1".into(),
            appointment_id: Some("apt_1".into()),
            support: CallSupport {
                path: CallPathKind::Embedded,
                forced: false,
                browser: None,
                reason: None,
                install_hint: None,
            },
            frame_url: Some("http://127.0.0.1:4711/call#key=secret".into()),
            room_name: "room".into(),
            audio_only,
            view: CallView {
                phase,
                local_id: Some("me".into()),
                display_name: "Room 3".into(),
                role: CallRole::Participant,
                audio_muted: true,
                video_muted: false,
                hand_raised: false,
                sharing_screen: false,
                tile_view: false,
                participants: Vec::new(),
                knocking: Vec::new(),
                lobby_enabled: false,
                media_error: None,
            },
        }
    }

    async fn render(screen: CallScreen) -> String {
        LocalServerRenderer::<KioskCallView>::with_props(KioskCallViewProps {
            screen,
            on_control: Default::default(),
        })
        .render()
        .await
    }

    #[tokio::test]
    async fn three_big_controls_and_nothing_to_hang_up_or_configure() {
        let html = render(screen(CallPhase::Joined, false)).await;
        assert_eq!(
            html.matches(r#"class="kiosk-control""#).count(),
            3,
            "{html}"
        );
        for id in ["kiosk-mic", "kiosk-camera", "kiosk-help"] {
            assert!(html.contains(&format!(r#"id="{id}""#)), "{id}: {html}");
        }
        // The states are Jitsi's: the microphone is off, the camera on.
        assert!(
            html.contains(r#"id="kiosk-mic" type="button" aria-pressed="false""#),
            "{html}"
        );
        assert!(
            html.contains(r#"id="kiosk-camera" type="button" aria-pressed="true""#),
            "{html}"
        );
        for doctors in [
            "ctl-hangup",
            "ctl-share",
            "ctl-tile",
            "call-retry",
            "Back to schedule",
        ] {
            assert!(!html.contains(doctors), "{doctors}: {html}");
        }
        assert!(html.contains(r#"id="call-frame""#), "{html}");
        assert!(html.contains("You are in your video visit."), "{html}");
    }

    #[tokio::test]
    async fn controls_wait_for_the_join_and_audio_only_has_no_camera() {
        let joining = render(screen(CallPhase::Joining, false)).await;
        assert_eq!(
            joining.matches(r#"disabled="disabled""#).count(),
            3,
            "{joining}"
        );
        let audio = render(screen(CallPhase::Joined, true)).await;
        assert!(!audio.contains("kiosk-camera"), "{audio}");
        let failed = render(screen(
            CallPhase::Failed {
                message: "gone".into(),
            },
            false,
        ))
        .await;
        assert!(failed.contains("Trying again"), "{failed}");
    }

    #[tokio::test]
    async fn the_visit_ends_with_a_thank_you() {
        use consult_ui::pages::kiosk::ThankYouView;
        let html = LocalServerRenderer::<ThankYouView>::new().render().await;
        assert!(html.contains(r#"data-state="thank-you""#), "{html}");
        assert!(html.contains("Thank you"), "{html}");
    }
}
