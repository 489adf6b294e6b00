//! The video call as the UI sees it and the controls it may ask for. The core builds
//! [`CallView`] only from the Jitsi iframe's events, so a button shows "muted" because Jitsi said
//! so, not because it was clicked; every [`CallControl`] goes through the core, so notifications,
//! shortcuts and kiosk automation use the same path as the buttons.

use serde::{Deserialize, Serialize};

/// Where the call is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "camelCase")]
pub enum CallPhase {
    /// The iframe is loading, in prejoin or waiting in the lobby.
    Joining,
    /// Jitsi said `videoConferenceJoined`.
    Joined,
    /// The token was rejected once; the core is fetching a fresh one and joining again.
    Rejoining,
    /// The conference was left; the UI goes back to the schedule.
    Ended { reason: EndReason },
    /// The call cannot go on; `message` says what happened and what to do.
    Failed { message: String },
}

impl CallPhase {
    /// Ended or failed: nothing of the conference runs any more (no media, no window to keep).
    pub fn is_over(&self) -> bool {
        matches!(self, CallPhase::Ended { .. } | CallPhase::Failed { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EndReason {
    /// This app asked Jitsi to hang up.
    HungUp,
    /// Jitsi left without being asked: a moderator ended the call, or the user was removed.
    Left,
}

/// A participant's role; Jitsi's other roles ("none", "visitor") carry no rights here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CallRole {
    Moderator,
    #[default]
    Participant,
}

/// Someone else in the call. Jitsi's events carry no remote mute flags, so there are none here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallParticipant {
    pub id: String,
    /// `None` when Jitsi sent no name (anonymous guests).
    pub display_name: Option<String>,
    pub role: CallRole,
    pub hand_raised: bool,
}

/// Someone waiting in the lobby; only moderators are told (jitsi.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KnockingParticipant {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MediaDevice {
    Camera,
    Microphone,
}

/// A camera or microphone failure, with what the user can do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaError {
    pub device: MediaDevice,
    /// Jitsi's error type, e.g. `gum.permission_denied`.
    pub kind: String,
    /// Jitsi's own message, when it sent one.
    pub message: Option<String>,
    pub what_to_do: String,
}

/// Everything the call screen draws, emitted whole after every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    pub phase: CallPhase,
    /// The local participant's id in the conference, once joined.
    pub local_id: Option<String>,
    pub display_name: String,
    pub role: CallRole,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub hand_raised: bool,
    pub sharing_screen: bool,
    pub tile_view: bool,
    /// Remote participants in the order they joined.
    pub participants: Vec<CallParticipant>,
    /// Lobby knockers waiting for Admit or Deny, oldest first.
    pub knocking: Vec<KnockingParticipant>,
    /// Whether the lobby is on, as this app last asked Jitsi: the one flag not mirrored from
    /// Jitsi, which sends no lobby-state event (jitsi.md §4).
    pub lobby_enabled: bool,
    /// The last camera or microphone error, cleared when that device works again.
    pub media_error: Option<MediaError>,
}

impl CallView {
    /// A call about to load: joining, alone, a participant until Jitsi says otherwise, with the
    /// microphone and camera as it was configured to start (Jitsi does not announce that).
    pub fn joining(display_name: &str, audio_muted: bool, video_muted: bool) -> CallView {
        CallView {
            phase: CallPhase::Joining,
            local_id: None,
            display_name: display_name.to_owned(),
            role: CallRole::Participant,
            audio_muted,
            video_muted,
            hand_raised: false,
            sharing_screen: false,
            tile_view: false,
            participants: Vec::new(),
            knocking: Vec::new(),
            lobby_enabled: false,
            media_error: None,
        }
    }
}

/// Every control of the call screen. Moderator-only ones are refused for others by the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "control", rename_all = "camelCase")]
pub enum CallControl {
    ToggleAudio,
    ToggleVideo,
    HangUp,
    ToggleShareScreen,
    ToggleRaiseHand,
    ToggleTileView,
    /// Moderator only.
    ToggleLobby {
        enabled: bool,
    },
    /// Mutes everyone's microphone. Moderator only.
    MuteEveryone,
    /// Ends the conference for everyone. Moderator only.
    EndForAll,
    /// Admits (`approved`) or denies a lobby knocker. Moderator only.
    #[serde(rename_all = "camelCase")]
    AnswerKnocking {
        participant_id: String,
        approved: bool,
    },
}

impl CallControl {
    /// Controls that Jitsi only honours for moderators (jitsi.md §2, §4).
    pub fn moderator_only(&self) -> bool {
        matches!(
            self,
            CallControl::ToggleLobby { .. }
                | CallControl::MuteEveryone
                | CallControl::EndForAll
                | CallControl::AnswerKnocking { .. }
        )
    }

    /// What the control does, in words for error messages ("Only a moderator can …").
    pub fn describe(&self) -> &'static str {
        match self {
            CallControl::ToggleAudio => "turn the microphone on or off",
            CallControl::ToggleVideo => "turn the camera on or off",
            CallControl::HangUp => "hang up",
            CallControl::ToggleShareScreen => "share the screen",
            CallControl::ToggleRaiseHand => "raise or lower the hand",
            CallControl::ToggleTileView => "switch the tile view",
            CallControl::ToggleLobby { .. } => "turn the lobby on or off",
            CallControl::MuteEveryone => "mute everyone",
            CallControl::EndForAll => "end the call for everyone",
            CallControl::AnswerKnocking { .. } => "admit or deny someone in the lobby",
        }
    }
}

/// Why the core refused a control, with what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CallError {
    #[error("The call is not connected yet, so it cannot {action}. Wait until the call has joined, then try again.")]
    NotJoined { action: String },

    #[error("The call has ended, so it cannot {action}. Go back to the schedule and join the call again.")]
    CallOver { action: String },

    #[error("Only a moderator can {action}. Ask the doctor leading the call to do it.")]
    ModeratorOnly { action: String },

    #[error("Nobody with id {participant_id} is waiting in the lobby any more; they may have been answered already or given up.")]
    NotKnocking { participant_id: String },
}

/// How a call is carried on this machine (also in a kiosk's heartbeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum CallPathKind {
    /// Inside the app's own webview (it has WebRTC).
    Embedded,
    /// In a Chromium-family browser window in app mode, linked to the core over loopback.
    Browser,
    /// Nothing here can carry the call; `CallSupport::install_hint` says what to install.
    None,
}

/// Which call path will be used, known before the user clicks Join so the UI can say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallSupport {
    pub path: CallPathKind,
    /// The browser's display name (e.g. "Chromium") when `path` is `Browser`.
    pub browser: Option<String>,
    /// The administrator chose the path (`call_path` is not `auto`).
    pub forced: bool,
    /// Why this path, when it is not the obvious one or there is none.
    pub reason: Option<String>,
    /// What to install so a call can work, when `path` is `None` and installing would help.
    pub install_hint: Option<String>,
}

/// Arguments of the `join_call` command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinCallArgs {
    /// The appointment's `sessionId`, as in `GET /sessions/{sessionId}/jwt`.
    pub session_id: String,
    /// The appointment, so the call screen can name it; `None` when joined from a link.
    pub appointment_id: Option<String>,
}

/// Everything the call screen needs: how the call is carried, and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallScreen {
    pub session_id: String,
    pub appointment_id: Option<String>,
    /// The path this call took (embedded or browser).
    pub support: CallSupport,
    /// Embedded path only: the core's loopback call page to show in the call screen's frame.
    /// It carries a one-time key in its fragment; never log or store it.
    pub frame_url: Option<String>,
    /// The room, for the screen's title.
    pub room_name: String,
    /// The call started with the camera off (an audio-only appointment).
    pub audio_only: bool,
    pub view: CallView,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_cross_ipc_tagged_and_camel_case() {
        let json = serde_json::to_value(CallControl::AnswerKnocking {
            participant_id: "abc".into(),
            approved: true,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"control": "answerKnocking", "participantId": "abc", "approved": true})
        );
        let lobby: CallControl =
            serde_json::from_value(serde_json::json!({"control": "toggleLobby", "enabled": false}))
                .unwrap();
        assert_eq!(lobby, CallControl::ToggleLobby { enabled: false });
        assert_eq!(
            serde_json::to_value(CallControl::ToggleAudio).unwrap(),
            serde_json::json!({"control": "toggleAudio"})
        );
    }

    #[test]
    fn phases_and_errors_round_trip() {
        let ended = CallPhase::Ended {
            reason: EndReason::HungUp,
        };
        let json = serde_json::to_value(&ended).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"phase": "ended", "reason": "hungUp"})
        );
        assert_eq!(serde_json::from_value::<CallPhase>(json).unwrap(), ended);

        let error = CallError::ModeratorOnly {
            action: CallControl::MuteEveryone.describe().into(),
        };
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["code"], "moderator_only");
        assert_eq!(serde_json::from_value::<CallError>(json).unwrap(), error);
        assert!(error.to_string().contains("mute everyone"));
    }

    #[test]
    fn call_support_crosses_ipc_in_camel_case() {
        let support = CallSupport {
            path: CallPathKind::None,
            browser: None,
            forced: true,
            reason: Some("why".into()),
            install_hint: Some("sudo apt install chromium".into()),
        };
        let json = serde_json::to_value(&support).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"path": "none", "browser": null, "forced": true, "reason": "why", "installHint": "sudo apt install chromium"})
        );
        assert_eq!(
            serde_json::from_value::<CallSupport>(json).unwrap(),
            support
        );
        assert_eq!(
            serde_json::to_value(CallPathKind::Embedded).unwrap(),
            serde_json::json!("embedded")
        );
    }
}
