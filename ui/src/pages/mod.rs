//! One module per screen.

pub mod call;
pub mod desk;
pub mod kiosk;
pub mod kiosks;
pub mod login;
pub mod settings;
pub mod update;
pub mod waiting;
