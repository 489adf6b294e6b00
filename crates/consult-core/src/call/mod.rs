//! The video call: how it is carried on this machine ([`path`]), its state built only from
//! Jitsi's events ([`state`]), the names Jitsi's IFrame API uses ([`wire`], [`events`]), the
//! loopback call page and its channel ([`channel`]), the deployment check ([`deployment`]), the
//! browser window ([`browser`]), and the hub that runs one call with all of them ([`hub`]).

pub mod browser;
pub mod channel;
pub mod deployment;
mod events;
pub mod hub;
pub mod path;
mod state;
pub mod wire;

pub use events::{EventError, InboundEvent};
pub use hub::{CallHost, CallHub, CallOptions};
pub use state::{CallAction, CallState};
pub use wire::OutboundCommand;

pub use consult_types::{
    CallControl, CallError, CallParticipant, CallPhase, CallRole, CallView, EndReason,
    KnockingParticipant, MediaDevice, MediaError,
};
