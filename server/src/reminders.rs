//! The scheduler of time-driven notifications: reminders 24 hours and 5 minutes before an
//! appointment, and "starting now" at its start.
//!
//! Each one is claimed by a conditional update of its column on the appointment (`reminder_24h_at
//! IS NULL` → now) in the same transaction that creates the notifications. A restart therefore
//! neither repeats one (the column is set) nor loses one (the column is still NULL and the next
//! pass finds it), and several instances on one database send each exactly once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::appointments::store as appointments;
use crate::clock::Clock;
use crate::db::{Db, StoreError};
use crate::error::error_chain;
use crate::notifications::{self, texts};
use crate::push::{log, EventHub, Outbox};

/// One kind of time-driven notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Reminder24h,
    Reminder5m,
    Starting,
}

impl Due {
    const ALL: [Due; 3] = [Due::Reminder24h, Due::Reminder5m, Due::Starting];

    fn column(self) -> &'static str {
        match self {
            Due::Reminder24h => "reminder_24h_at",
            Due::Reminder5m => "reminder_5m_at",
            Due::Starting => "starting_at",
        }
    }

    /// How long before the start it is due.
    fn lead_secs(self) -> i64 {
        match self {
            Due::Reminder24h => 24 * 60 * 60,
            Due::Reminder5m => 5 * 60,
            Due::Starting => 0,
        }
    }

    /// Until when it is still worth sending (after a long outage it is skipped instead): a late
    /// 24-hour reminder is pointless once the 5-minute one is due.
    fn useful_until(self, start_time: i64, end_time: i64) -> i64 {
        match self {
            Due::Reminder24h => start_time - Due::Reminder5m.lead_secs(),
            Due::Reminder5m => start_time,
            Due::Starting => end_time,
        }
    }
}

/// How long the event log keeps events for clients to resume from.
const EVENT_RETENTION_SECS: i64 = 7 * 24 * 60 * 60;
/// How often old events are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// Runs passes every `interval` and whenever `poke` is notified (an appointment was booked or
/// moved), until aborted, each at `clock`'s now. Also prunes the event log now and then.
pub fn spawn(
    db: Db,
    hub: Arc<EventHub>,
    poke: Arc<Notify>,
    interval: Duration,
    clock: Clock,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut next_prune = tokio::time::Instant::now();
        loop {
            let now = clock.now_unix();
            if let Err(error) = run_pass(&db, &hub, now).await {
                tracing::warn!(error = %error_chain(&error), "reminder pass failed; will retry");
            }
            if tokio::time::Instant::now() >= next_prune {
                next_prune += PRUNE_EVERY;
                match log::prune(&db, now - EVENT_RETENTION_SECS).await {
                    Ok(pruned) => tracing::debug!(pruned, "old events pruned"),
                    Err(error) => {
                        tracing::warn!(error = %error_chain(&error), "pruning events failed")
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = poke.notified() => {}
            }
        }
    })
}

/// Sends everything due at `now`; returns how many notifications went out.
pub async fn run_pass(db: &Db, hub: &EventHub, now: i64) -> Result<usize, StoreError> {
    let mut sent = 0;
    for due in Due::ALL {
        for id in candidates(db, due, now).await? {
            sent += send_one(db, hub, due, &id, now).await?;
        }
    }
    Ok(sent)
}

/// Scheduled appointments whose `due` moment has come and that have not had it yet.
async fn candidates(db: &Db, due: Due, now: i64) -> Result<Vec<String>, StoreError> {
    let ids: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT id FROM appointments WHERE status = 'scheduled' AND {column} IS NULL \
         AND start_time - $1 <= $2 AND end_time > $2 ORDER BY start_time LIMIT 500",
        column = due.column()
    ))
    .bind(due.lead_secs())
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    Ok(ids)
}

async fn send_one(
    db: &Db,
    hub: &EventHub,
    due: Due,
    id: &str,
    now: i64,
) -> Result<usize, StoreError> {
    let mut tx = db.begin_write().await?;
    let claimed = sqlx::query(&format!(
        "UPDATE appointments SET {column} = $1 WHERE id = $2 AND {column} IS NULL \
         AND status = 'scheduled'",
        column = due.column()
    ))
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        // Another instance (or an earlier pass) got it.
        return Ok(0);
    }
    let Some(appointment) = appointments::find_by_id(&mut tx, id).await? else {
        return Ok(0);
    };
    let moment = appointment.start_time - due.lead_secs();
    let booked_before_moment = appointment.created_at <= moment;
    let still_useful = now < due.useful_until(appointment.start_time, appointment.end_time);
    if !(booked_before_moment && still_useful) {
        // Booked too late for it (the booking itself was the notice), or too late to matter:
        // the claim alone is committed, so it is not considered again.
        tx.commit().await?;
        return Ok(0);
    }
    let draft = match due {
        Due::Reminder24h => texts::video_call_reminder(&appointment, "24 hours"),
        Due::Reminder5m => texts::video_call_reminder(&appointment, "5 minutes"),
        Due::Starting => texts::video_call_starting(&appointment),
    };
    let recipients = appointment.parties();
    let mut outbox = Outbox::default();
    notifications::notify(&mut tx, &mut outbox, &recipients, &draft, now).await?;
    outbox.commit(tx, db, hub, now).await?;
    tracing::info!(appointment_id = %id, due = ?due, "time-driven notification sent");
    Ok(recipients.len())
}
