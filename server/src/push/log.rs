//! The per-user event log that `GET /events` streams and resumes from.

use consult_types::clinic::PushEvent;
use sqlx::AnyConnection;

use crate::db::{Db, StoreError};

/// One stored event, ready to send.
#[derive(Debug, Clone)]
pub struct LoggedEvent {
    pub seq: i64,
    pub event_type: String,
    /// The payload's JSON.
    pub data: String,
}

/// Appends `event` to `user_id`'s log and returns its number. Runs inside the writer's
/// transaction; the counter upsert serializes a user's appends until that transaction ends.
pub async fn append(
    conn: &mut AnyConnection,
    user_id: &str,
    event: &PushEvent,
    now: i64,
) -> Result<i64, StoreError> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO event_counters (user_id, last_seq) VALUES ($1, 1) \
         ON CONFLICT (user_id) DO UPDATE SET last_seq = event_counters.last_seq + 1 \
         RETURNING last_seq",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    let data = payload_json(event)?;
    sqlx::query(
        "INSERT INTO events (user_id, seq, event_type, data, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(seq)
    .bind(event.event_type())
    .bind(data)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(seq)
}

/// The payload alone (`data:` of the SSE message); the type travels in `event:`.
fn payload_json(event: &PushEvent) -> Result<String, StoreError> {
    let result = match event {
        PushEvent::Notification(notification) => serde_json::to_string(notification),
        PushEvent::Appointment(appointment) => serde_json::to_string(appointment),
        PushEvent::JoinRequest(request) => serde_json::to_string(request),
        PushEvent::DeviceStatus(status) => serde_json::to_string(status),
        PushEvent::DeviceCommand(command) => serde_json::to_string(command),
    };
    result.map_err(|error| StoreError::Corrupt(format!("cannot encode an event: {error}")))
}

/// `user_id`'s events after `after`, oldest first, at most `limit`.
pub async fn read_after(
    db: &Db,
    user_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<LoggedEvent>, StoreError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT seq, event_type, data FROM events WHERE user_id = $1 AND seq > $2 \
         ORDER BY seq LIMIT $3",
    )
    .bind(user_id)
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, event_type, data)| LoggedEvent {
            seq,
            event_type,
            data,
        })
        .collect())
}

/// The number of `user_id`'s latest event; 0 before the first.
pub async fn last_seq(db: &Db, user_id: &str) -> Result<i64, StoreError> {
    let seq: Option<i64> =
        sqlx::query_scalar("SELECT last_seq FROM event_counters WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(seq.unwrap_or(0))
}

/// The number of `user_id`'s oldest kept event, if any are kept.
pub async fn first_seq(db: &Db, user_id: &str) -> Result<Option<i64>, StoreError> {
    let seq: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM events WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(db.pool())
        .await?;
    Ok(seq)
}

/// Forgets events older than `before` (unix seconds). The counters stay, so numbering goes on;
/// a client resuming from before the oldest kept event is told to resync.
pub async fn prune(db: &Db, before: i64) -> Result<u64, StoreError> {
    let result = sqlx::query("DELETE FROM events WHERE created_at < $1")
        .bind(before)
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected())
}
