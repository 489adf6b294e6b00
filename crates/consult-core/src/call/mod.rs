//! The video call: how it is carried on this machine ([`path`]), its state built only from
//! Jitsi's events ([`state`]), the names Jitsi's IFrame API uses ([`wire`], [`events`]), the
//! loopback call page and its channel ([`channel`]), the deployment check ([`deployment`]), the
//! browser window ([`browser`]), the kiosk self-test's media check in that browser
//! ([`media_check`]), and the hub that runs one call with all of them ([`hub`]). A
//! kiosk's browser window is locked: Chromium's kiosk flags, a managed policy
//! ([`chromium_policy`]) and a watch of its windows ([`lockdown`], on X11 `x11_watch`).

pub mod browser;
pub mod channel;
pub mod chromium_policy;
pub mod deployment;
mod events;
pub mod hub;
pub mod lockdown;
pub mod media_check;
pub mod path;
mod state;
pub mod wire;
#[cfg(target_os = "linux")]
mod x11_watch;

pub use events::{EventError, InboundEvent};
pub use hub::{CallHost, CallHub, CallOptions};
pub use state::{CallAction, CallState};
pub use wire::OutboundCommand;

pub use consult_types::{
    CallControl, CallError, CallParticipant, CallPhase, CallRole, CallView, EndReason,
    KnockingParticipant, MediaDevice, MediaError,
};
