//! One module per screen.

pub mod desk;
pub mod login;
pub mod settings;
