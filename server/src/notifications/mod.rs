//! Notifications: stored per user, listed and marked read by polling clients, and pushed to
//! open event streams in the same transaction that creates them.

pub mod routes;
pub mod store;
pub mod texts;

pub use store::{notify, Draft};
