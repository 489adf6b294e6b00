//! Push: the per-user event log, the wake-ups that tell open streams to read it, and the
//! `GET /events` Server-Sent Events stream.
//!
//! Writers put events in an [`Outbox`] inside their transaction; the outbox numbers them, commits,
//! then wakes the streams of the users concerned through the [`EventHub`] (and, on PostgreSQL,
//! `NOTIFY` for streams held by other server instances). Streams never trust a wake-up's content:
//! they re-read the log from the last number they sent, so a lost or doubled wake-up costs at
//! most a query, never an event.

pub mod hub;
pub mod listener;
pub mod log;
pub mod outbox;
pub mod stream;

pub use hub::EventHub;
pub use outbox::Outbox;
