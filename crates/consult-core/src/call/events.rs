//! The iframe's messages the call model understands, parsed without panicking: malformed
//! payloads are typed errors, unknown events are ignored.

use serde::Deserialize;
use serde_json::Value;

use consult_types::{CallRole, KnockingParticipant, MediaDevice};

use super::wire;

/// An iframe message the core cannot use; the shell logs it and carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the iframe message is not JSON: {0}")]
    NotJson(String),
    #[error("the iframe message has no event name")]
    NoName,
    #[error("the iframe event {event} has a malformed payload: {detail}")]
    Malformed { event: String, detail: String },
}

/// An event from the iframe that the call model understands.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundEvent {
    BrowserSupport {
        supported: bool,
    },
    Ready,
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

fn payload<T: for<'de> Deserialize<'de>>(name: &str, data: &Value) -> Result<T, EventError> {
    T::deserialize(data).map_err(|error| EventError::Malformed {
        event: name.to_owned(),
        detail: error.to_string(),
    })
}

impl InboundEvent {
    /// Parses the postis `params` as JSON text. `Ok(None)` for requests, responses and events
    /// the call model does not use.
    pub fn from_json(text: &str) -> Result<Option<InboundEvent>, EventError> {
        let params: Value =
            serde_json::from_str(text).map_err(|error| EventError::NotJson(error.to_string()))?;
        InboundEvent::from_params(&params)
    }

    /// Parses the postis `params`: `{type:'event', data:{name, ...}}`.
    pub fn from_params(params: &Value) -> Result<Option<InboundEvent>, EventError> {
        if params.get("type").and_then(Value::as_str) != Some("event") {
            return Ok(None);
        }
        match params.get("data") {
            Some(data) => InboundEvent::from_data(data),
            None => Err(EventError::NoName),
        }
    }

    /// Parses an event's `data`: `{name, ...payload}`.
    pub fn from_data(data: &Value) -> Result<Option<InboundEvent>, EventError> {
        use wire::events::*;
        let name = data
            .get("name")
            .and_then(Value::as_str)
            .ok_or(EventError::NoName)?;
        let event = match name {
            BROWSER_SUPPORT => InboundEvent::BrowserSupport {
                supported: payload::<Supported>(name, data)?.supported,
            },
            READY => InboundEvent::Ready,
            VIDEO_CONFERENCE_JOINED => {
                let IdName { id, display_name } = payload(name, data)?;
                InboundEvent::ConferenceJoined { id, display_name }
            }
            VIDEO_CONFERENCE_LEFT => InboundEvent::ConferenceLeft,
            READY_TO_CLOSE => InboundEvent::ReadyToClose,
            PARTICIPANT_JOINED => {
                let IdName { id, display_name } = payload(name, data)?;
                InboundEvent::ParticipantJoined { id, display_name }
            }
            PARTICIPANT_LEFT => InboundEvent::ParticipantLeft {
                id: payload::<Id>(name, data)?.id,
            },
            PARTICIPANT_ROLE_CHANGED => {
                let Role { id, role } = payload(name, data)?;
                // Only "moderator" grants rights; "none", "visitor" and the rest do not.
                let role = if role == "moderator" {
                    CallRole::Moderator
                } else {
                    CallRole::Participant
                };
                InboundEvent::RoleChanged { id, role }
            }
            AUDIO_MUTE_STATUS_CHANGED => {
                InboundEvent::AudioMuted(payload::<Muted>(name, data)?.muted)
            }
            VIDEO_MUTE_STATUS_CHANGED => {
                InboundEvent::VideoMuted(payload::<Muted>(name, data)?.muted)
            }
            RAISE_HAND_UPDATED => {
                let RaiseHand { id, hand_raised } = payload(name, data)?;
                let raised = match &hand_raised {
                    Value::Bool(raised) => *raised,
                    Value::Number(at) => at.as_f64().is_some_and(|at| at != 0.0),
                    other => {
                        return Err(EventError::Malformed {
                            event: name.to_owned(),
                            detail: format!(
                                "handRaised is neither a boolean nor a number: {other}"
                            ),
                        })
                    }
                };
                InboundEvent::HandRaised { id, raised }
            }
            KNOCKING_PARTICIPANT => {
                let Knocking {
                    participant: KnockingWire { id, name: knocker },
                } = payload(name, data)?;
                InboundEvent::Knocking(KnockingParticipant { id, name: knocker })
            }
            CAMERA_ERROR | MIC_ERROR => {
                let DeviceError { kind, message } = payload(name, data)?;
                let device = if name == CAMERA_ERROR {
                    MediaDevice::Camera
                } else {
                    MediaDevice::Microphone
                };
                InboundEvent::MediaError {
                    device,
                    kind,
                    message,
                }
            }
            SCREEN_SHARING_STATUS_CHANGED => {
                InboundEvent::ScreenSharing(payload::<On>(name, data)?.on)
            }
            TILE_VIEW_CHANGED => InboundEvent::TileView(payload::<Enabled>(name, data)?.enabled),
            DISPLAY_NAME_CHANGE => {
                let NameChange { id, displayname } = payload(name, data)?;
                InboundEvent::DisplayNameChanged {
                    id,
                    display_name: displayname,
                }
            }
            ERROR_OCCURRED => {
                let ErrorOccurred {
                    error:
                        ErrorWire {
                            name: error_name,
                            message,
                            is_fatal,
                        },
                } = payload(name, data)?;
                InboundEvent::ErrorOccurred {
                    name: error_name,
                    message,
                    fatal: is_fatal,
                }
            }
            // The iframe sends many events this model has no use for.
            _ => return Ok(None),
        };
        Ok(Some(event))
    }
}
