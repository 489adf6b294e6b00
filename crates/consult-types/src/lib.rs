//! Types that cross a process boundary: the clinic API's JSON bodies (server ⇄ core) and the
//! IPC surface (core ⇄ UI). Both sides compile this one crate, so a field renamed on one side
//! is a compile error on the other rather than a runtime surprise.
//!
//! This crate must stay free of I/O and platform crates: it also compiles to wasm for the UI.

pub mod api;
pub mod call;
pub mod clinic;
pub mod ipc;

pub use api::*;
pub use call::*;
pub use clinic::*;
pub use ipc::*;
