//! Wire names from jitsi.md §2, kept in one place, and the command message the iframe receives.

use serde_json::{json, Value};

/// Commands: sent as `{type:'event', data:{name, data:[args]}}`.
pub mod commands {
    pub const TOGGLE_AUDIO: &str = "toggle-audio";
    pub const TOGGLE_VIDEO: &str = "toggle-video";
    pub const HANGUP: &str = "video-hangup";
    pub const TOGGLE_SHARE_SCREEN: &str = "toggle-share-screen";
    pub const TOGGLE_RAISE_HAND: &str = "toggle-raise-hand";
    pub const TOGGLE_TILE_VIEW: &str = "toggle-tile-view";
    pub const TOGGLE_LOBBY: &str = "toggle-lobby";
    pub const ANSWER_KNOCKING_PARTICIPANT: &str = "answer-knocking-participant";
    pub const MUTE_EVERYONE: &str = "mute-everyone";
    pub const END_CONFERENCE: &str = "end-conference";
}

/// Events: arrive as `{type:'event', data:{name, ...payload}}`.
pub mod events {
    pub const BROWSER_SUPPORT: &str = "browser-support";
    pub const READY: &str = "ready";
    pub const VIDEO_CONFERENCE_JOINED: &str = "video-conference-joined";
    pub const VIDEO_CONFERENCE_LEFT: &str = "video-conference-left";
    pub const READY_TO_CLOSE: &str = "video-ready-to-close";
    pub const PARTICIPANT_JOINED: &str = "participant-joined";
    pub const PARTICIPANT_LEFT: &str = "participant-left";
    pub const PARTICIPANT_ROLE_CHANGED: &str = "participant-role-changed";
    pub const AUDIO_MUTE_STATUS_CHANGED: &str = "audio-mute-status-changed";
    pub const VIDEO_MUTE_STATUS_CHANGED: &str = "video-mute-status-changed";
    pub const RAISE_HAND_UPDATED: &str = "raise-hand-updated";
    pub const KNOCKING_PARTICIPANT: &str = "knocking-participant";
    pub const CAMERA_ERROR: &str = "camera-error";
    pub const MIC_ERROR: &str = "mic-error";
    pub const SCREEN_SHARING_STATUS_CHANGED: &str = "screen-sharing-status-changed";
    pub const ERROR_OCCURRED: &str = "error-occurred";
    /// Not in jitsi.md; from Jitsi's `external_api.js` event map and `API.js`
    /// (`notifyTileViewChanged`: `{enabled}`).
    pub const TILE_VIEW_CHANGED: &str = "tile-view-changed";
    /// Not in jitsi.md; from `API.js` (`notifyDisplayNameChanged`: `{id, displayname}`,
    /// note the lowercase `displayname`).
    pub const DISPLAY_NAME_CHANGE: &str = "display-name-change";
}

/// `errorOccurred` names that mean the token was rejected (jitsi.md §3).
pub const TOKEN_REJECTED_ERRORS: [&str; 2] = [
    "connection.passwordRequired",
    "conference.connectionError.notAllowed",
];

/// The only media type this app mutes for everyone.
pub const MEDIA_AUDIO: &str = "audio";

/// `executeCommand` names of [`commands`] (public name, wire name), from `external_api.js`'s
/// command map: the call page calls the genuine `executeCommand`, which rejects unknown names.
const PUBLIC_COMMAND_NAMES: [(&str, &str); 10] = [
    ("toggleAudio", commands::TOGGLE_AUDIO),
    ("toggleVideo", commands::TOGGLE_VIDEO),
    ("hangup", commands::HANGUP),
    ("toggleShareScreen", commands::TOGGLE_SHARE_SCREEN),
    ("toggleRaiseHand", commands::TOGGLE_RAISE_HAND),
    ("toggleTileView", commands::TOGGLE_TILE_VIEW),
    ("toggleLobby", commands::TOGGLE_LOBBY),
    (
        "answerKnockingParticipant",
        commands::ANSWER_KNOCKING_PARTICIPANT,
    ),
    ("muteEveryone", commands::MUTE_EVERYONE),
    ("endConference", commands::END_CONFERENCE),
];

/// A command for the iframe, ready for the postis transport.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundCommand {
    /// The wire name, one of [`commands`].
    pub name: &'static str,
    pub args: Vec<Value>,
}

impl OutboundCommand {
    pub(super) fn new(name: &'static str, args: Vec<Value>) -> OutboundCommand {
        OutboundCommand { name, args }
    }

    /// The name `executeCommand` takes for this command.
    pub fn public_name(&self) -> &'static str {
        PUBLIC_COMMAND_NAMES
            .iter()
            .find(|(_, wire)| *wire == self.name)
            .map_or(self.name, |(public, _)| public)
    }

    /// The `params` of the postis `message`: commands travel as events (jitsi.md §2).
    pub fn params(&self) -> Value {
        json!({"type": "event", "data": {"name": self.name, "data": self.args}})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_its_public_name() {
        for (public, wire) in PUBLIC_COMMAND_NAMES {
            assert_eq!(OutboundCommand::new(wire, vec![]).public_name(), public);
        }
        let wires: std::collections::HashSet<_> =
            PUBLIC_COMMAND_NAMES.iter().map(|(_, wire)| wire).collect();
        assert_eq!(wires.len(), PUBLIC_COMMAND_NAMES.len());
    }
}
