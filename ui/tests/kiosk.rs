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
        visit: Default::default(),
        clock: Clock {
            now: datetime!(2026-12-03 08:05 UTC),
            zone: Zone::Fixed(offset!(+1)),
        },
        on_clock_tap: Default::default(),
        clinic: None,
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
async fn the_idle_screen_names_the_clinic_when_the_administrator_set_it() {
    let html = LocalServerRenderer::<KioskView>::with_props(KioskViewProps {
        status: Some(KioskStatus::Ready),
        visit: Default::default(),
        clock: Clock {
            now: datetime!(2026-12-03 08:05 UTC),
            zone: Zone::Fixed(offset!(+1)),
        },
        on_clock_tap: Default::default(),
        clinic: Some("Harbour Street Clinic".into()),
    })
    .render()
    .await;
    assert!(
        html.contains(r#"<h1 id="kiosk-clinic" class="kiosk-clinic">Harbour Street Clinic</h1>"#),
        "{html}"
    );
    let unnamed = render(Some(KioskStatus::Ready)).await;
    assert!(!unnamed.contains("kiosk-clinic"), "{unnamed}");
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
async fn offline_tells_the_room_calmly_in_a_live_region_that_it_reconnects() {
    let html = render(Some(KioskStatus::Offline)).await;
    assert!(html.contains(r#"data-state="offline""#), "{html}");
    assert!(html.contains(KioskStatus::OFFLINE), "{html}");
    assert!(html.contains(KioskStatus::OFFLINE_DETAIL), "{html}");
    assert!(html.contains(r#"role="status""#), "{html}");
    assert!(html.contains(r#"aria-live="polite""#), "{html}");
    // Calm: no alarm, no error words, nothing for the patient to do.
    assert!(!html.contains(r#"role="alert""#), "{html}");
    for alarming in ["error", "failed", "cannot"] {
        assert!(
            !html.to_lowercase().contains(alarming),
            "{alarming}: {html}"
        );
    }
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
        visit: consult_ui::pages::kiosk::KioskVisit::Waiting {
            doctor: "Ada Lovelace".into(),
        },
        clock: Clock {
            now: datetime!(2026-12-03 08:05 UTC),
            zone: Zone::Fixed(offset!(+1)),
        },
        on_clock_tap: Default::default(),
        clinic: None,
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

#[tokio::test]
async fn the_pin_pad_shows_dots_never_digits_and_says_what_the_core_answered() {
    use consult_ui::pages::kiosk::{PinPadView, PinPadViewProps};
    let html = LocalServerRenderer::<PinPadView>::with_props(PinPadViewProps {
        digits: 3,
        message: Some("That PIN is not right. 4 more wrong PINs lock the exit.".into()),
        busy: false,
        on_digit: Default::default(),
        on_delete: Default::default(),
        on_submit: Default::default(),
        on_cancel: Default::default(),
    })
    .render()
    .await;
    assert!(
        html.contains(r#"role="dialog""#) && html.contains(r#"aria-modal="true""#),
        "{html}"
    );
    assert!(html.contains("•••<"), "three dots: {html}");
    assert!(html.contains(">3 digits typed<"), "{html}");
    for key in ["pin-0", "pin-9", "pin-delete", "pin-submit", "pin-cancel"] {
        assert!(html.contains(&format!(r#"id="{key}""#)), "{key}: {html}");
    }
    assert!(
        html.contains(r#"role="alert""#) && html.contains("4 more wrong PINs"),
        "{html}"
    );
}

#[tokio::test]
async fn maintenance_offers_exit_reload_and_the_self_test_and_lists_its_results() {
    use consult_types::SelfTestCheck;
    use consult_ui::pages::kiosk::{MaintenanceView, MaintenanceViewProps};
    let html = LocalServerRenderer::<MaintenanceView>::with_props(MaintenanceViewProps {
        checked_offline: true,
        self_test: Some(vec![
            SelfTestCheck {
                name: "Camera".into(),
                passed: false,
                skipped: false,
                detail: "No camera found".into(),
            },
            SelfTestCheck {
                name: "Speaker".into(),
                passed: true,
                skipped: true,
                detail: "Not tested: the microphone is simulated".into(),
            },
        ]),
        on_action: Default::default(),
    })
    .render()
    .await;
    for id in [
        "maintenance-exit",
        "maintenance-reload",
        "maintenance-self-test",
        "maintenance-close",
    ] {
        assert!(html.contains(&format!(r#"id="{id}""#)), "{id}: {html}");
    }
    assert!(html.contains("checked on this kiosk"), "{html}");
    assert!(
        html.contains(r#"data-passed="false""#) && html.contains("Camera: Problem"),
        "{html}"
    );
    // Skipped is neither a pass nor a problem.
    assert!(html.contains("Speaker: Not tested"), "{html}");
}

mod call {
    use super::*;
    use consult_types::{CallPathKind, CallPhase, CallScreen, CallSupport, CallView};
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
                ..CallView::joining("Room 3", true, false)
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

mod visits {
    use super::*;
    use consult_types::{
        Appointment, AppointmentStatus, CallType, Connection, Dashboard, JoinRequest,
        JoinRequestStatus, MeetingStatus, OwnRequest, Role,
    };
    use consult_ui::pages::kiosk::KioskVisit;
    use time::{Duration, OffsetDateTime};

    const NOW: OffsetDateTime = datetime!(2026-12-03 08:05 UTC);

    fn visit(starts_in: Duration) -> Appointment {
        Appointment {
            id: "apt_1".into(),
            appointment_code: "C".into(),
            session_id: "ses_1".into(),
            doctor_id: "usr_doc".into(),
            patient_id: "usr_pat".into(),
            agency_id: None,
            kiosk_id: Some("usr_kiosk".into()),
            room_name: "room".into(),
            call_type: CallType::Video,
            status: AppointmentStatus::Scheduled,
            meeting_status: MeetingStatus::Created,
            waiting_room: true,
            start_time: NOW + starts_in,
            end_time: NOW + starts_in + Duration::minutes(30),
            doctor_name: "Ada Lovelace".into(),
            patient_name: "Grace Brewster Hopper".into(),
            agency_name: None,
        }
    }

    fn board(appointments: Vec<Appointment>, own: Option<JoinRequestStatus>) -> Dashboard {
        Dashboard {
            appointments,
            join_requests: Vec::new(),
            own_requests: own
                .map(|status| OwnRequest {
                    request: JoinRequest {
                        id: "jr".into(),
                        appointment_id: "apt_1".into(),
                        session_id: "ses_1".into(),
                        requester_id: "usr_kiosk".into(),
                        requester_name: "Room 3".into(),
                        requester_role: Role::Kiosk,
                        status,
                        requested_at: NOW,
                        decided_at: None,
                    },
                    join_failed: None,
                })
                .into_iter()
                .collect(),
            connection: Connection::Online,
            kiosks: None,
        }
    }

    #[test]
    fn a_visit_is_announced_fifteen_minutes_ahead_with_the_first_name_only_if_allowed() {
        let later = board(vec![visit(Duration::minutes(20))], None);
        assert_eq!(KioskVisit::of(&later, NOW, true), KioskVisit::None);
        let soon = board(vec![visit(Duration::minutes(10))], None);
        assert_eq!(
            KioskVisit::of(&soon, NOW, false),
            KioskVisit::Soon {
                doctor: "Ada Lovelace".into(),
                start: NOW + Duration::minutes(10),
                first_name: None,
            }
        );
        let KioskVisit::Soon { first_name, .. } = KioskVisit::of(&soon, NOW, true) else {
            panic!("announced");
        };
        assert_eq!(first_name.as_deref(), Some("Grace"));
    }

    #[test]
    fn a_request_to_join_says_more_than_the_schedule() {
        let appointments = vec![visit(Duration::minutes(1))];
        let waiting = board(appointments.clone(), Some(JoinRequestStatus::Pending));
        assert_eq!(
            KioskVisit::of(&waiting, NOW, true),
            KioskVisit::Waiting {
                doctor: "Ada Lovelace".into()
            }
        );
        let declined = board(appointments, Some(JoinRequestStatus::Rejected));
        assert_eq!(
            KioskVisit::of(&declined, NOW, true),
            KioskVisit::Declined {
                doctor: "Ada Lovelace".into()
            }
        );
    }

    #[tokio::test]
    async fn the_screens_say_who_when_and_never_more_than_a_first_name() {
        let render = |visit: KioskVisit| async move {
            LocalServerRenderer::<KioskView>::with_props(KioskViewProps {
                status: Some(KioskStatus::Ready),
                visit,
                clock: Clock {
                    now: NOW,
                    zone: Zone::Fixed(offset!(+1)),
                },
                on_clock_tap: Default::default(),
                clinic: None,
            })
            .render()
            .await
        };
        let soon = render(KioskVisit::Soon {
            doctor: "Ada Lovelace".into(),
            start: NOW + Duration::minutes(10),
            first_name: Some("Grace".into()),
        })
        .await;
        assert!(soon.contains(r#"data-state="visit-soon""#), "{soon}");
        assert!(soon.contains("Welcome, Grace."), "{soon}");
        assert!(
            soon.contains("Your video visit with Ada Lovelace starts at 09:15."),
            "{soon}"
        );
        assert!(!soon.contains("Hopper"), "{soon}");
        let declined = render(KioskVisit::Declined {
            doctor: "Ada Lovelace".into(),
        })
        .await;
        assert!(declined.contains(r#"data-state="declined""#), "{declined}");
        assert!(declined.contains("Please ask the staff"), "{declined}");
    }
}

#[tokio::test]
async fn an_unenrolled_kiosk_shows_its_code_and_the_same_code_as_a_qr_code() {
    let qr = vec!["101".to_owned(), "010".to_owned(), "111".to_owned()];
    let html = render(Some(KioskStatus::Enrolling {
        code: "K7MQ-4TZP".into(),
        qr,
        valid_for_secs: 599,
    }))
    .await;
    assert!(html.contains(r#"data-state="enrolling""#), "{html}");
    assert!(
        html.contains(r#"<p id="kiosk-enrol-code" class="kiosk-enrol-code">K7MQ-4TZP</p>"#),
        "{html}"
    );
    assert!(html.contains("valid for 10 minutes"), "{html}");
    // Dark modules only, each a unit square after the four-module quiet zone.
    assert!(html.contains(r#"viewBox="0 0 11 11""#), "{html}");
    assert!(
        html.contains(
            r#"d="M4,4h1v1h-1zM6,4h1v1h-1zM5,5h1v1h-1zM4,6h1v1h-1zM5,6h1v1h-1zM6,6h1v1h-1z""#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"aria-label="The code K7MQ-4TZP as a QR code""#),
        "{html}"
    );
}

#[tokio::test]
async fn a_message_from_the_clinic_is_an_alert_with_a_way_to_put_it_away() {
    use consult_types::RoomMessage;
    use consult_ui::pages::kiosk::{RoomMessageView, RoomMessageViewProps};
    let html = LocalServerRenderer::<RoomMessageView>::with_props(RoomMessageViewProps {
        message: RoomMessage {
            id: "cmd_1".into(),
            text: "Dr Ames is 5 minutes late <sorry>".into(),
        },
        on_dismiss: Default::default(),
    })
    .render()
    .await;
    assert!(html.contains(r#"role="alert""#), "{html}");
    assert!(
        html.contains("Dr Ames is 5 minutes late &lt;sorry&gt;"),
        "{html}"
    );
    assert!(
        html.contains(r#"<button id="kiosk-message-ok" type="button">OK</button>"#),
        "{html}"
    );
}
