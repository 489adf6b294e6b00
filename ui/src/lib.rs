//! The UI. It holds no secret and no business logic: it shows what the core says and sends what
//! the user does back as IPC commands (see [`ipc`]).

mod activity;
mod app;
pub mod clock;
mod events;
pub mod ipc;
pub mod live;
pub mod pages;
mod paint;

pub use app::App;
