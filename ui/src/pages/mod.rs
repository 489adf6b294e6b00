//! One module per screen.

pub mod call;
pub mod desk;
pub mod login;
pub mod settings;
pub mod waiting;
