//! Several instances on one PostgreSQL behave as one: each listens on a channel that writers
//! `NOTIFY` (with the user's id) when they commit events, and wakes its own streams.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use super::hub::EventHub;
use crate::error::error_chain;

/// The `LISTEN`/`NOTIFY` channel; the payload is a user id.
pub const CHANNEL: &str = "consult_events";

const RETRY_DELAY: Duration = Duration::from_secs(2);

/// Listens until aborted, reconnecting after failures. After any gap it wakes every local stream,
/// since notifications sent meanwhile are gone (the streams re-read the log, so nothing is lost).
pub fn spawn(database_url: String, hub: Arc<EventHub>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listen(&database_url, &hub).await {
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(error = %error_chain(&error), "event listener failed; retrying")
                }
            }
            hub.wake_all();
            tokio::time::sleep(RETRY_DELAY).await;
        }
    })
}

async fn listen(database_url: &str, hub: &EventHub) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(database_url).await?;
    listener.listen(CHANNEL).await?;
    tracing::info!("listening for events from other instances");
    // Anything committed while we were not listening is picked up by a re-read.
    hub.wake_all();
    loop {
        match listener.try_recv().await? {
            Some(notification) => hub.wake(notification.payload()),
            None => {
                // The connection dropped; the next try_recv reconnects and re-listens.
                tracing::warn!("event listener lost its connection; reconnecting");
                hub.wake_all();
            }
        }
    }
}
