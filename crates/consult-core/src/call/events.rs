//! The Jitsi events the call model understands, under `external_api.js`'s public names (the
//! names `addListener` takes, jitsi.md §2). [`InboundEvent::NAMES`] is the one list of them: the
//! call page subscribes to exactly these and relays each unchanged, and [`InboundEvent::parse`]
//! reads them. A malformed payload is a typed error; any other name is ignored.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use consult_types::{CallRole, KnockingParticipant, MediaDevice};

/// An event payload the core cannot use; the hub logs it and carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the Jitsi event {event} has a malformed payload: {detail}")]
pub struct EventError {
    pub event: String,
    pub detail: String,
}

/// An event from Jitsi that the call model understands.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundEvent {
    BrowserSupport {
        supported: bool,
    },
    ConferenceJoined {
        id: String,
        display_name: Option<String>,
    },
    ConferenceLeft,
    ReadyToClose,
    ParticipantJoined {
        id: String,
        display_name: Option<String>,
    },
    ParticipantLeft {
        id: String,
    },
    RoleChanged {
        id: String,
        role: CallRole,
    },
    AudioMuted(bool),
    VideoMuted(bool),
    HandRaised {
        id: String,
        raised: bool,
    },
    Knocking(KnockingParticipant),
    MediaError {
        device: MediaDevice,
        kind: String,
        message: Option<String>,
    },
    ScreenSharing(bool),
    TileView(bool),
    DisplayNameChanged {
        id: String,
        display_name: Option<String>,
    },
    ErrorOccurred {
        name: String,
        message: Option<String>,
        fatal: bool,
    },
}

type Parser = fn(&Value) -> Result<InboundEvent, String>;

/// Each event's public name and how its payload reads; names and parsers cannot drift apart.
const EVENTS: [(&str, Parser); 17] = [
    ("browserSupport", |data| {
        let Supported { supported } = payload(data)?;
        Ok(InboundEvent::BrowserSupport { supported })
    }),
    ("videoConferenceJoined", |data| {
        let IdName { id, display_name } = payload(data)?;
        Ok(InboundEvent::ConferenceJoined { id, display_name })
    }),
    ("videoConferenceLeft", |_| Ok(InboundEvent::ConferenceLeft)),
    ("readyToClose", |_| Ok(InboundEvent::ReadyToClose)),
    ("participantJoined", |data| {
        let IdName { id, display_name } = payload(data)?;
        Ok(InboundEvent::ParticipantJoined { id, display_name })
    }),
    ("participantLeft", |data| {
        let Id { id } = payload(data)?;
        Ok(InboundEvent::ParticipantLeft { id })
    }),
    ("participantRoleChanged", |data| {
        let Role { id, role } = payload(data)?;
        // Only "moderator" grants rights; "none", "visitor" and the rest do not.
        let role = if role == "moderator" {
            CallRole::Moderator
        } else {
            CallRole::Participant
        };
        Ok(InboundEvent::RoleChanged { id, role })
    }),
    ("audioMuteStatusChanged", |data| {
        Ok(InboundEvent::AudioMuted(payload::<Muted>(data)?.muted))
    }),
    ("videoMuteStatusChanged", |data| {
        Ok(InboundEvent::VideoMuted(payload::<Muted>(data)?.muted))
    }),
    ("raiseHandUpdated", |data| {
        let RaiseHand { id, hand_raised } = payload(data)?;
        let raised = match &hand_raised {
            Value::Bool(raised) => *raised,
            Value::Number(at) => at.as_f64().is_some_and(|at| at != 0.0),
            other => {
                return Err(format!(
                    "handRaised is neither a boolean nor a number: {other}"
                ))
            }
        };
        Ok(InboundEvent::HandRaised { id, raised })
    }),
    ("knockingParticipant", |data| {
        let Knocking {
            participant: KnockingWire { id, name },
        } = payload(data)?;
        Ok(InboundEvent::Knocking(KnockingParticipant { id, name }))
    }),
    ("cameraError", |data| media_error(MediaDevice::Camera, data)),
    ("micError", |data| {
        media_error(MediaDevice::Microphone, data)
    }),
    ("screenSharingStatusChanged", |data| {
        Ok(InboundEvent::ScreenSharing(payload::<On>(data)?.on))
    }),
    // Not in jitsi.md; from the genuine event map and `API.js` (`notifyTileViewChanged`).
    ("tileViewChanged", |data| {
        Ok(InboundEvent::TileView(payload::<Enabled>(data)?.enabled))
    }),
    // Not in jitsi.md; from `API.js` (`notifyDisplayNameChanged`: note the lowercase
    // `displayname`).
    ("displayNameChange", |data| {
        let NameChange { id, displayname } = payload(data)?;
        Ok(InboundEvent::DisplayNameChanged {
            id,
            display_name: displayname,
        })
    }),
    ("errorOccurred", |data| {
        let ErrorOccurred {
            error:
                ErrorWire {
                    name,
                    message,
                    is_fatal,
                },
        } = payload(data)?;
        Ok(InboundEvent::ErrorOccurred {
            name,
            message,
            fatal: is_fatal,
        })
    }),
];

impl InboundEvent {
    /// The public event names the call page subscribes to.
    pub const NAMES: [&'static str; EVENTS.len()] = {
        let mut names = [""; EVENTS.len()];
        let mut index = 0;
        while index < EVENTS.len() {
            names[index] = EVENTS[index].0;
            index += 1;
        }
        names
    };

    /// Reads one event as `external_api.js` emits it: its public name and its payload.
    /// `Ok(None)` for a name the call model does not use.
    pub fn parse(name: &str, data: &Value) -> Result<Option<InboundEvent>, EventError> {
        let Some((_, parser)) = EVENTS.iter().find(|(known, _)| *known == name) else {
            return Ok(None);
        };
        parser(data).map(Some).map_err(|detail| EventError {
            event: name.to_owned(),
            detail,
        })
    }
}

fn payload<T: DeserializeOwned>(data: &Value) -> Result<T, String> {
    T::deserialize(data).map_err(|error| error.to_string())
}

fn media_error(device: MediaDevice, data: &Value) -> Result<InboundEvent, String> {
    let DeviceError { kind, message } = payload(data)?;
    Ok(InboundEvent::MediaError {
        device,
        kind,
        message,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdName {
    id: String,
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

#[derive(Deserialize)]
struct Role {
    id: String,
    role: String,
}

#[derive(Deserialize)]
struct Muted {
    muted: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RaiseHand {
    id: String,
    // Documented as a boolean; newer Jitsi sends the raise timestamp (0 when lowered).
    hand_raised: Value,
}

#[derive(Deserialize)]
struct Knocking {
    participant: KnockingWire,
}

#[derive(Deserialize)]
struct KnockingWire {
    id: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct DeviceError {
    #[serde(rename = "type")]
    kind: String,
    message: Option<String>,
}

#[derive(Deserialize)]
struct On {
    on: bool,
}

#[derive(Deserialize)]
struct Enabled {
    enabled: bool,
}

#[derive(Deserialize)]
struct Supported {
    supported: bool,
}

#[derive(Deserialize)]
struct NameChange {
    id: String,
    displayname: Option<String>,
}

#[derive(Deserialize)]
struct ErrorOccurred {
    error: ErrorWire,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorWire {
    name: String,
    message: Option<String>,
    #[serde(default)]
    is_fatal: bool,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_listed_name_is_a_distinct_public_name_that_parses() {
        let samples = [
            ("browserSupport", json!({"supported": true})),
            (
                "videoConferenceJoined",
                json!({"roomName": "r", "id": "me"}),
            ),
            ("videoConferenceLeft", json!({"roomName": "r"})),
            ("readyToClose", json!({})),
            ("participantJoined", json!({"id": "p"})),
            ("participantLeft", json!({"id": "p"})),
            ("participantRoleChanged", json!({"id": "p", "role": "none"})),
            ("audioMuteStatusChanged", json!({"muted": true})),
            ("videoMuteStatusChanged", json!({"muted": false})),
            ("raiseHandUpdated", json!({"id": "p", "handRaised": 0})),
            ("knockingParticipant", json!({"participant": {"id": "k"}})),
            ("cameraError", json!({"type": "gum.not_found"})),
            ("micError", json!({"type": "gum.not_found"})),
            ("screenSharingStatusChanged", json!({"on": true})),
            ("tileViewChanged", json!({"enabled": true})),
            (
                "displayNameChange",
                json!({"id": "p", "displayname": "Ann"}),
            ),
            (
                "errorOccurred",
                json!({"error": {"name": "x", "isFatal": false}}),
            ),
        ];
        assert_eq!(
            samples.each_ref().map(|(name, _)| *name),
            InboundEvent::NAMES,
            "one sample per listed event, in order"
        );
        for (name, data) in &samples {
            // External_api.js's public names are lowerCamelCase; its wire names are kebab-case.
            assert!(
                name.chars().all(|c| c.is_ascii_alphabetic()),
                "{name} is not a public name"
            );
            assert!(
                matches!(InboundEvent::parse(name, data), Ok(Some(_))),
                "{name}"
            );
        }
        let distinct: std::collections::HashSet<_> = InboundEvent::NAMES.iter().collect();
        assert_eq!(distinct.len(), InboundEvent::NAMES.len());
    }

    #[test]
    fn malformed_payloads_are_rejected_and_unknown_events_ignored() {
        let bad = [
            ("audioMuteStatusChanged", json!({})),
            ("audioMuteStatusChanged", json!({"muted": "yes"})),
            ("participantJoined", json!({"displayName": "no id"})),
            ("participantLeft", json!({"id": 7})),
            ("knockingParticipant", json!({"id": "k1"})),
            ("raiseHandUpdated", json!({"id": "p", "handRaised": "up"})),
            ("errorOccurred", json!({"error": {"message": "no name"}})),
            ("videoConferenceJoined", json!({"roomName": "r"})),
            ("tileViewChanged", json!({})),
        ];
        for (name, data) in bad {
            let result = InboundEvent::parse(name, &data);
            assert!(
                matches!(&result, Err(EventError { event, .. }) if event == name),
                "{name} {data} gave {result:?}"
            );
        }
        assert_eq!(InboundEvent::parse("incomingMessage", &json!({})), Ok(None));
        // The wire names external_api.js translates from are not this vocabulary.
        assert_eq!(
            InboundEvent::parse("audio-mute-status-changed", &json!({"muted": true})),
            Ok(None)
        );
        assert_eq!(
            InboundEvent::parse("audioMuteStatusChanged", &json!({"muted": false})),
            Ok(Some(InboundEvent::AudioMuted(false)))
        );
    }
}
