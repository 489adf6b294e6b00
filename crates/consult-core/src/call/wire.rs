//! The commands the core sends to Jitsi, under `external_api.js`'s public names (the names
//! `executeCommand` takes, jitsi.md §2). The call page calls `executeCommand` with them
//! unchanged; `external_api.js` itself turns them into the iframe's wire names.

use serde_json::Value;

/// `executeCommand` names, as the genuine `external_api.js` command map spells them.
pub mod commands {
    pub const TOGGLE_AUDIO: &str = "toggleAudio";
    pub const TOGGLE_VIDEO: &str = "toggleVideo";
    pub const HANGUP: &str = "hangup";
    pub const TOGGLE_SHARE_SCREEN: &str = "toggleShareScreen";
    pub const TOGGLE_RAISE_HAND: &str = "toggleRaiseHand";
    pub const TOGGLE_TILE_VIEW: &str = "toggleTileView";
    pub const TOGGLE_LOBBY: &str = "toggleLobby";
    pub const ANSWER_KNOCKING_PARTICIPANT: &str = "answerKnockingParticipant";
    pub const MUTE_EVERYONE: &str = "muteEveryone";
    pub const END_CONFERENCE: &str = "endConference";
}

/// `errorOccurred` names that mean the token was rejected (jitsi.md §3).
pub const TOKEN_REJECTED_ERRORS: [&str; 2] = [
    "connection.passwordRequired",
    "conference.connectionError.notAllowed",
];

/// The only media type this app mutes for everyone.
pub const MEDIA_AUDIO: &str = "audio";

/// `api.executeCommand(name, ...args)` for the call page.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundCommand {
    /// One of [`commands`].
    pub name: &'static str,
    pub args: Vec<Value>,
}

impl OutboundCommand {
    pub(super) fn new(name: &'static str, args: Vec<Value>) -> OutboundCommand {
        OutboundCommand { name, args }
    }
}
