//! The call's state machine, free of I/O: the hub feeds it the Jitsi events the call page
//! relays and sends the commands it returns. Jitsi is the only source of truth for the call's
//! flags (jitsi.md §2): a control yields a command and changes nothing until the matching event
//! comes back.
//!
//! Token rejections (jitsi.md §3) are retried once with a fresh token, then end in a clear error.

use std::collections::HashMap;

use serde_json::json;
#[cfg(test)]
use serde_json::Value;

use consult_types::{
    CallControl, CallError, CallParticipant, CallPhase, CallRole, CallView, EndReason, MediaDevice,
    MediaError,
};

use super::events::InboundEvent;
use super::wire::{self, OutboundCommand};

/// What the shell must do after an event, beyond showing the new [`CallView`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAction {
    /// The token was rejected for the first time: fetch a fresh one and load the conference
    /// again; the state is already [`CallPhase::Rejoining`]. If the fetch fails, call
    /// [`CallState::fail`].
    RejoinWithFreshToken,
    /// Jitsi is ready to close: dispose the conference and go back to the schedule.
    Dispose,
}

/// The core's copy of the call, built from Jitsi's events.
#[derive(Debug, Clone)]
pub struct CallState {
    view: CallView,
    /// Roles by participant id, kept for ids whose role arrives before their join event.
    roles: HashMap<String, CallRole>,
    /// Set once a token rejection was answered with a rejoin; cleared by a successful join.
    rejoined_after_rejection: bool,
    /// Set when this app sent the hang-up, so the end reason can say so.
    hangup_sent: bool,
}

impl CallState {
    /// A call about to load. Jitsi does not announce the starting mute state, so the shell
    /// passes what it configured (`startWithAudioMuted`, `startWithVideoMuted`).
    pub fn new(display_name: &str, audio_muted: bool, video_muted: bool) -> CallState {
        CallState {
            view: CallView::joining(display_name, audio_muted, video_muted),
            roles: HashMap::new(),
            rejoined_after_rejection: false,
            hangup_sent: false,
        }
    }

    pub fn view(&self) -> &CallView {
        &self.view
    }

    fn is_local(&self, id: &str) -> bool {
        self.view.local_id.as_deref() == Some(id)
    }

    fn is_over(&self) -> bool {
        self.view.phase.is_over()
    }

    /// Ends the call with a message, e.g. when fetching the fresh token failed.
    pub fn fail(&mut self, message: impl Into<String>) {
        self.view.phase = CallPhase::Failed {
            message: message.into(),
        };
        self.view.knocking.clear();
    }

    /// Applies one event from Jitsi.
    pub fn apply(&mut self, event: InboundEvent) -> Option<CallAction> {
        // A failed call keeps its message on screen; late events from Jitsi change nothing.
        if matches!(self.view.phase, CallPhase::Failed { .. }) {
            return None;
        }
        match event {
            InboundEvent::BrowserSupport { supported } => {
                if !supported {
                    self.fail("This computer's web view cannot run video calls. Update the app and the operating system; on Linux, install a WebKitGTK build with WebRTC.");
                }
            }
            InboundEvent::ConferenceJoined { id, display_name } => {
                if self.is_over() {
                    return None;
                }
                self.view.phase = CallPhase::Joined;
                if let Some(role) = self.roles.get(&id) {
                    self.view.role = *role;
                }
                self.view.local_id = Some(id);
                if let Some(name) = display_name {
                    self.view.display_name = name;
                }
                // The token worked; a later expiry deserves its own retry.
                self.rejoined_after_rejection = false;
            }
            InboundEvent::ConferenceLeft => {
                self.leave();
            }
            InboundEvent::ReadyToClose => {
                // The old conference closing while a fresh token is fetched is not the end.
                if self.view.phase == CallPhase::Rejoining {
                    return None;
                }
                self.leave();
                return Some(CallAction::Dispose);
            }
            InboundEvent::ParticipantJoined { id, display_name } => {
                if self.is_local(&id) {
                    return None;
                }
                // An admitted knocker leaves the lobby list.
                self.view.knocking.retain(|knocker| knocker.id != id);
                let role = self.roles.get(&id).copied().unwrap_or_default();
                match self.view.participants.iter_mut().find(|p| p.id == id) {
                    Some(known) => {
                        if display_name.is_some() {
                            known.display_name = display_name;
                        }
                    }
                    None => self.view.participants.push(CallParticipant {
                        id,
                        display_name,
                        role,
                        hand_raised: false,
                    }),
                }
            }
            InboundEvent::ParticipantLeft { id } => {
                self.view.participants.retain(|p| p.id != id);
                self.roles.remove(&id);
            }
            InboundEvent::RoleChanged { id, role } => {
                self.roles.insert(id.clone(), role);
                if self.is_local(&id) {
                    self.view.role = role;
                    if role != CallRole::Moderator {
                        // Only moderators can answer knockers.
                        self.view.knocking.clear();
                    }
                } else if let Some(p) = self.view.participants.iter_mut().find(|p| p.id == id) {
                    p.role = role;
                }
            }
            InboundEvent::AudioMuted(muted) => {
                self.view.audio_muted = muted;
                if !muted {
                    self.clear_media_error(MediaDevice::Microphone);
                }
            }
            InboundEvent::VideoMuted(muted) => {
                self.view.video_muted = muted;
                if !muted {
                    self.clear_media_error(MediaDevice::Camera);
                }
            }
            InboundEvent::HandRaised { id, raised } => {
                if self.is_local(&id) {
                    self.view.hand_raised = raised;
                } else if let Some(p) = self.view.participants.iter_mut().find(|p| p.id == id) {
                    p.hand_raised = raised;
                }
            }
            InboundEvent::Knocking(knocker) => {
                if !self.view.knocking.iter().any(|k| k.id == knocker.id) {
                    self.view.knocking.push(knocker);
                }
            }
            InboundEvent::MediaError {
                device,
                kind,
                message,
            } => {
                let what_to_do = what_to_do(device, &kind);
                self.view.media_error = Some(MediaError {
                    device,
                    kind,
                    message,
                    what_to_do,
                });
            }
            InboundEvent::ScreenSharing(on) => self.view.sharing_screen = on,
            InboundEvent::TileView(enabled) => self.view.tile_view = enabled,
            InboundEvent::DisplayNameChanged { id, display_name } => {
                if self.is_local(&id) {
                    if let Some(name) = display_name {
                        self.view.display_name = name;
                    }
                } else if let Some(p) = self.view.participants.iter_mut().find(|p| p.id == id) {
                    p.display_name = display_name;
                }
            }
            InboundEvent::ErrorOccurred {
                name,
                message,
                fatal,
            } => return self.error_occurred(&name, message.as_deref(), fatal),
        }
        None
    }

    fn leave(&mut self) {
        if self.is_over() || self.view.phase == CallPhase::Rejoining {
            return;
        }
        let reason = if self.hangup_sent {
            EndReason::HungUp
        } else {
            EndReason::Left
        };
        self.view.phase = CallPhase::Ended { reason };
        self.view.knocking.clear();
    }

    fn clear_media_error(&mut self, device: MediaDevice) {
        if self
            .view
            .media_error
            .as_ref()
            .is_some_and(|error| error.device == device)
        {
            self.view.media_error = None;
        }
    }

    fn error_occurred(
        &mut self,
        name: &str,
        message: Option<&str>,
        fatal: bool,
    ) -> Option<CallAction> {
        // Errors from a conference already left must not start a rejoin.
        if self.is_over() {
            return None;
        }
        if wire::TOKEN_REJECTED_ERRORS.contains(&name) {
            if self.rejoined_after_rejection {
                self.fail("The video service refused this app's access to the call, even with a fresh sign-in to it. Check that the computer's clock is correct, then join again; if it keeps happening, tell your clinic's IT.");
                return None;
            }
            self.rejoined_after_rejection = true;
            // The old conference is gone; the rejoin starts from an empty room.
            self.view.phase = CallPhase::Rejoining;
            self.view.local_id = None;
            self.view.participants.clear();
            self.view.knocking.clear();
            self.view.role = CallRole::Participant;
            self.view.hand_raised = false;
            self.view.sharing_screen = false;
            self.roles.clear();
            return Some(CallAction::RejoinWithFreshToken);
        }
        if fatal {
            let detail = message.unwrap_or(name);
            self.fail(format!("The video call stopped: {detail}. Join again; if it keeps happening, tell your clinic's IT."));
        }
        None
    }

    /// Turns a control into the command to send. Flags change only when Jitsi's event
    /// arrives; the lobby prompt and the lobby's on/off are the exceptions, because Jitsi sends
    /// no event for either (jitsi.md §4).
    pub fn command(&mut self, control: CallControl) -> Result<OutboundCommand, CallError> {
        use wire::commands::*;
        let action = control.describe().to_owned();
        match self.view.phase {
            CallPhase::Joined => {}
            CallPhase::Ended { .. } | CallPhase::Failed { .. } => {
                return Err(CallError::CallOver { action })
            }
            // Hanging up must work while waiting in the lobby or joining, to give up.
            CallPhase::Joining | CallPhase::Rejoining if control == CallControl::HangUp => {}
            CallPhase::Joining | CallPhase::Rejoining => {
                return Err(CallError::NotJoined { action })
            }
        }
        if control.moderator_only() && self.view.role != CallRole::Moderator {
            return Err(CallError::ModeratorOnly { action });
        }
        let command = match control {
            CallControl::ToggleAudio => OutboundCommand::new(TOGGLE_AUDIO, vec![]),
            CallControl::ToggleVideo => OutboundCommand::new(TOGGLE_VIDEO, vec![]),
            CallControl::HangUp => {
                self.hangup_sent = true;
                OutboundCommand::new(HANGUP, vec![])
            }
            // Asks for the opposite of what Jitsi last reported, so a repeated click cannot
            // flip the state twice.
            CallControl::ToggleShareScreen => OutboundCommand::new(
                TOGGLE_SHARE_SCREEN,
                vec![json!({"enable": !self.view.sharing_screen})],
            ),
            CallControl::ToggleRaiseHand => OutboundCommand::new(TOGGLE_RAISE_HAND, vec![]),
            CallControl::ToggleTileView => OutboundCommand::new(TOGGLE_TILE_VIEW, vec![]),
            CallControl::ToggleLobby { enabled } => {
                self.view.lobby_enabled = enabled;
                OutboundCommand::new(TOGGLE_LOBBY, vec![json!(enabled)])
            }
            CallControl::MuteEveryone => {
                OutboundCommand::new(MUTE_EVERYONE, vec![json!(wire::MEDIA_AUDIO)])
            }
            CallControl::EndForAll => OutboundCommand::new(END_CONFERENCE, vec![]),
            CallControl::AnswerKnocking {
                participant_id,
                approved,
            } => {
                let before = self.view.knocking.len();
                self.view.knocking.retain(|k| k.id != participant_id);
                if self.view.knocking.len() == before {
                    return Err(CallError::NotKnocking { participant_id });
                }
                OutboundCommand::new(
                    ANSWER_KNOCKING_PARTICIPANT,
                    vec![json!(participant_id), json!(approved)],
                )
            }
        };
        Ok(command)
    }
}

/// What the user can do about a camera or microphone error. Jitsi's types come from
/// lib-jitsi-meet's track errors (`gum.permission_denied`, `gum.not_found`, …), which jitsi.md
/// does not list, so they are matched loosely.
fn what_to_do(device: MediaDevice, kind: &str) -> String {
    let thing = match device {
        MediaDevice::Camera => "camera",
        MediaDevice::Microphone => "microphone",
    };
    let kind = kind.to_ascii_lowercase();
    if kind.contains("permission") {
        format!("Allow this app to use the {thing} in the system's privacy settings, then turn the {thing} on again.")
    } else if kind.contains("not_found") || kind.contains("notfound") {
        format!("No {thing} was found. Connect one, then turn the {thing} on again.")
    } else {
        format!("Close other apps that may be using the {thing}, check that it is connected, then turn it on again.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, data: Value) -> InboundEvent {
        InboundEvent::parse(name, &data).unwrap().unwrap()
    }

    fn joined_as(role: &str) -> CallState {
        let mut state = CallState::new("Dr Who", false, false);
        state.apply(event(
            "videoConferenceJoined",
            json!({"roomName": "r", "id": "me", "displayName": "Dr Who"}),
        ));
        state.apply(event(
            "participantRoleChanged",
            json!({"id": "me", "role": role}),
        ));
        state
    }

    #[test]
    fn a_realistic_call_builds_the_expected_view() {
        let mut state = CallState::new("Dr Who", false, true);
        assert_eq!(state.view().phase, CallPhase::Joining);
        let events = [
            ("browserSupport", json!({"supported": true})),
            // The local role can arrive before the join.
            (
                "participantRoleChanged",
                json!({"id": "me", "role": "moderator"}),
            ),
            (
                "videoConferenceJoined",
                json!({"roomName": "r", "id": "me", "displayName": "Dr. Who"}),
            ),
            (
                "participantJoined",
                json!({"id": "p1", "displayName": "Ann"}),
            ),
            ("audioMuteStatusChanged", json!({"muted": true})),
            ("videoMuteStatusChanged", json!({"muted": false})),
            (
                "knockingParticipant",
                json!({"participant": {"id": "k1", "name": "Bob"}}),
            ),
            ("knockingParticipant", json!({"participant": {"id": "k2"}})),
            (
                "raiseHandUpdated",
                json!({"id": "p1", "handRaised": 1_700_000_000_000_u64}),
            ),
            ("raiseHandUpdated", json!({"id": "me", "handRaised": true})),
            ("screenSharingStatusChanged", json!({"on": true})),
            ("tileViewChanged", json!({"enabled": true})),
            (
                "displayNameChange",
                json!({"id": "p1", "displayname": "Ann B."}),
            ),
            ("someFutureEvent", json!({"whatever": 1})),
        ];
        for (name, data) in events {
            let parsed = InboundEvent::parse(name, &data).unwrap();
            if let Some(parsed) = parsed {
                assert_eq!(state.apply(parsed), None);
            }
        }
        let view = state.view();
        assert_eq!(view.phase, CallPhase::Joined);
        assert_eq!(view.local_id.as_deref(), Some("me"));
        assert_eq!(view.display_name, "Dr. Who");
        assert_eq!(view.role, CallRole::Moderator);
        assert!(view.audio_muted && !view.video_muted);
        assert!(view.hand_raised && view.sharing_screen && view.tile_view);
        assert_eq!(
            view.participants,
            vec![CallParticipant {
                id: "p1".into(),
                display_name: Some("Ann B.".into()),
                role: CallRole::Participant,
                hand_raised: true,
            }]
        );
        let ids: Vec<&str> = view.knocking.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids, ["k1", "k2"]);

        // Admit Bob: the prompt goes, and his join follows.
        let admit = state
            .command(CallControl::AnswerKnocking {
                participant_id: "k1".into(),
                approved: true,
            })
            .unwrap();
        assert_eq!(admit.args, vec![json!("k1"), json!(true)]);
        state.apply(event(
            "participantJoined",
            json!({"id": "k1", "displayName": "Bob"}),
        ));
        state.apply(event(
            "participantRoleChanged",
            json!({"id": "k1", "role": "moderator"}),
        ));
        state.apply(event("participantLeft", json!({"id": "p1"})));
        let view = state.view();
        assert_eq!(view.knocking.len(), 1);
        assert_eq!(view.participants.len(), 1);
        assert_eq!(view.participants[0].id, "k1");
        assert_eq!(view.participants[0].role, CallRole::Moderator);

        // Losing moderator rights drops the lobby prompts.
        state.apply(event(
            "participantRoleChanged",
            json!({"id": "me", "role": "participant"}),
        ));
        assert_eq!(state.view().role, CallRole::Participant);
        assert!(state.view().knocking.is_empty());

        // Hang up: left, then ready to close.
        assert_eq!(state.command(CallControl::HangUp).unwrap().name, "hangup");
        assert_eq!(state.view().phase, CallPhase::Joined);
        assert_eq!(
            state.apply(event("videoConferenceLeft", json!({"roomName": "r"}))),
            None
        );
        assert_eq!(
            state.apply(event("readyToClose", json!({}))),
            Some(CallAction::Dispose)
        );
        assert_eq!(
            state.view().phase,
            CallPhase::Ended {
                reason: EndReason::HungUp
            }
        );
        assert_eq!(
            state.command(CallControl::ToggleAudio),
            Err(CallError::CallOver {
                action: "turn the microphone on or off".into()
            })
        );
    }

    #[test]
    fn ready_to_close_without_a_hang_up_says_the_call_was_left() {
        let mut state = joined_as("participant");
        assert_eq!(
            state.apply(event("readyToClose", json!({}))),
            Some(CallAction::Dispose)
        );
        assert_eq!(
            state.view().phase,
            CallPhase::Ended {
                reason: EndReason::Left
            }
        );
        assert_eq!(
            state.apply(token_error("connection.passwordRequired")),
            None
        );
        assert!(matches!(state.view().phase, CallPhase::Ended { .. }));
    }

    #[test]
    fn a_click_changes_nothing_until_jitsi_says_so() {
        let mut state = joined_as("participant");
        let before = state.view().clone();
        for control in [
            CallControl::ToggleAudio,
            CallControl::ToggleVideo,
            CallControl::ToggleRaiseHand,
            CallControl::ToggleShareScreen,
            CallControl::ToggleTileView,
        ] {
            state.command(control).unwrap();
        }
        assert_eq!(state.view(), &before);
        assert!(!state.view().audio_muted);
        state.apply(event("audioMuteStatusChanged", json!({"muted": true})));
        assert!(state.view().audio_muted);
    }

    #[test]
    fn the_lobby_shows_what_the_moderator_last_asked_since_jitsi_never_says() {
        let mut state = joined_as("moderator");
        assert!(!state.view().lobby_enabled);
        state
            .command(CallControl::ToggleLobby { enabled: true })
            .unwrap();
        assert!(state.view().lobby_enabled);
        state
            .command(CallControl::ToggleLobby { enabled: false })
            .unwrap();
        assert!(!state.view().lobby_enabled);
        // A participant's refused attempt changes nothing.
        let mut participant = joined_as("participant");
        participant
            .command(CallControl::ToggleLobby { enabled: true })
            .unwrap_err();
        assert!(!participant.view().lobby_enabled);
    }

    #[test]
    fn share_screen_asks_for_the_opposite_of_what_jitsi_reported() {
        let mut state = joined_as("participant");
        let start = state.command(CallControl::ToggleShareScreen).unwrap();
        assert_eq!(start.args, vec![json!({"enable": true})]);
        state.apply(event("screenSharingStatusChanged", json!({"on": true})));
        let stop = state.command(CallControl::ToggleShareScreen).unwrap();
        assert_eq!(stop.args, vec![json!({"enable": false})]);
    }

    #[test]
    fn non_moderators_are_refused_moderator_controls() {
        let mut state = joined_as("participant");
        // Even a knocker the model knows of cannot be answered by a participant.
        state.apply(event(
            "knockingParticipant",
            json!({"participant": {"id": "k1", "name": "Bob"}}),
        ));
        for control in [
            CallControl::ToggleLobby { enabled: true },
            CallControl::MuteEveryone,
            CallControl::EndForAll,
            CallControl::AnswerKnocking {
                participant_id: "k1".into(),
                approved: true,
            },
        ] {
            let error = state.command(control.clone()).unwrap_err();
            assert_eq!(
                error,
                CallError::ModeratorOnly {
                    action: control.describe().into()
                }
            );
            assert!(error.to_string().contains("Ask the doctor"));
        }
        let mut moderator = joined_as("moderator");
        assert!(moderator.command(CallControl::MuteEveryone).is_ok());
        assert_eq!(
            moderator.command(CallControl::AnswerKnocking {
                participant_id: "gone".into(),
                approved: false,
            }),
            Err(CallError::NotKnocking {
                participant_id: "gone".into()
            })
        );
    }

    #[test]
    fn controls_wait_for_the_join_except_hang_up() {
        let mut state = CallState::new("Dr Who", false, false);
        let error = state.command(CallControl::ToggleAudio).unwrap_err();
        assert!(matches!(error, CallError::NotJoined { .. }));
        assert!(error.to_string().contains("Wait until the call has joined"));
        assert_eq!(state.command(CallControl::HangUp).unwrap().name, "hangup");
    }

    fn token_error(name: &str) -> InboundEvent {
        event(
            "errorOccurred",
            json!({"error": {"name": name, "message": "", "type": "CONNECTION", "isFatal": true}}),
        )
    }

    #[test]
    fn a_rejected_token_is_retried_once_then_fails_clearly() {
        let mut state = CallState::new("Dr Who", false, false);
        assert_eq!(
            state.apply(token_error("connection.passwordRequired")),
            Some(CallAction::RejoinWithFreshToken)
        );
        assert_eq!(state.view().phase, CallPhase::Rejoining);
        // The old iframe closing during the rejoin does not end the call.
        assert_eq!(state.apply(event("readyToClose", json!({}))), None);
        assert_eq!(state.view().phase, CallPhase::Rejoining);

        assert_eq!(
            state.apply(token_error("conference.connectionError.notAllowed")),
            None
        );
        let CallPhase::Failed { message } = &state.view().phase else {
            panic!("expected Failed, got {:?}", state.view().phase);
        };
        assert!(message.contains("clock") && message.contains("IT"));
        // Late events do not hide the message.
        state.apply(event(
            "videoConferenceJoined",
            json!({"roomName": "r", "id": "me"}),
        ));
        assert!(matches!(state.view().phase, CallPhase::Failed { .. }));
    }

    #[test]
    fn a_rejoin_that_works_earns_a_new_retry_later() {
        let mut state = joined_as("moderator");
        state.apply(event("participantJoined", json!({"id": "p1"})));
        assert_eq!(
            state.apply(token_error("connection.passwordRequired")),
            Some(CallAction::RejoinWithFreshToken)
        );
        assert!(state.view().participants.is_empty());
        assert_eq!(state.view().role, CallRole::Participant);
        state.apply(event(
            "videoConferenceJoined",
            json!({"roomName": "r", "id": "me2"}),
        ));
        assert_eq!(state.view().phase, CallPhase::Joined);
        assert_eq!(
            state.apply(token_error("connection.passwordRequired")),
            Some(CallAction::RejoinWithFreshToken)
        );
    }

    #[test]
    fn other_fatal_errors_fail_and_non_fatal_ones_are_ignored() {
        let mut state = joined_as("participant");
        state.apply(event(
            "errorOccurred",
            json!({"error": {"name": "conference.iceFailed", "message": "ICE failed", "type": "CONFERENCE", "isFatal": false}}),
        ));
        assert_eq!(state.view().phase, CallPhase::Joined);
        state.apply(event(
            "errorOccurred",
            json!({"error": {"name": "connection.otherError", "message": "Network down", "type": "CONNECTION", "isFatal": true}}),
        ));
        assert!(
            matches!(&state.view().phase, CallPhase::Failed { message } if message.contains("Network down"))
        );
    }

    #[test]
    fn media_errors_say_what_to_do_and_clear_when_the_device_works() {
        let mut state = joined_as("participant");
        state.apply(event(
            "cameraError",
            json!({"type": "gum.permission_denied", "message": "denied"}),
        ));
        let error = state.view().media_error.clone().unwrap();
        assert_eq!(error.device, MediaDevice::Camera);
        assert!(error
            .what_to_do
            .contains("Allow this app to use the camera"));
        // The microphone working says nothing about the camera.
        state.apply(event("audioMuteStatusChanged", json!({"muted": false})));
        assert!(state.view().media_error.is_some());
        state.apply(event("videoMuteStatusChanged", json!({"muted": false})));
        assert_eq!(state.view().media_error, None);

        state.apply(event("micError", json!({"type": "gum.not_found"})));
        let error = state.view().media_error.clone().unwrap();
        assert_eq!(error.device, MediaDevice::Microphone);
        assert!(error.what_to_do.contains("No microphone was found"));
    }

    #[test]
    fn an_unsupported_webview_fails_with_a_hint() {
        let mut state = CallState::new("Dr Who", false, false);
        state.apply(event("browserSupport", json!({"supported": false})));
        assert!(
            matches!(&state.view().phase, CallPhase::Failed { message } if message.contains("WebRTC"))
        );
    }

    #[test]
    fn every_control_maps_to_its_public_jitsi_command() {
        let mut state = joined_as("moderator");
        state.apply(event(
            "knockingParticipant",
            json!({"participant": {"id": "k1", "name": "Bob"}}),
        ));
        // The public names and arguments as jitsi.md §2 lists them.
        let expected: [(CallControl, &str, Vec<Value>); 10] = [
            (CallControl::ToggleAudio, "toggleAudio", vec![]),
            (CallControl::ToggleVideo, "toggleVideo", vec![]),
            (
                CallControl::ToggleShareScreen,
                "toggleShareScreen",
                vec![json!({"enable": true})],
            ),
            (CallControl::ToggleRaiseHand, "toggleRaiseHand", vec![]),
            (CallControl::ToggleTileView, "toggleTileView", vec![]),
            (
                CallControl::ToggleLobby { enabled: true },
                "toggleLobby",
                vec![json!(true)],
            ),
            (
                CallControl::MuteEveryone,
                "muteEveryone",
                vec![json!("audio")],
            ),
            (
                CallControl::AnswerKnocking {
                    participant_id: "k1".into(),
                    approved: false,
                },
                "answerKnockingParticipant",
                vec![json!("k1"), json!(false)],
            ),
            (CallControl::EndForAll, "endConference", vec![]),
            (CallControl::HangUp, "hangup", vec![]),
        ];
        for (control, name, args) in expected {
            let command = state.command(control.clone()).unwrap();
            assert_eq!((command.name, &command.args), (name, &args), "{control:?}");
        }
    }
}
