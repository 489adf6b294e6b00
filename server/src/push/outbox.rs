//! Events gathered during one transaction, numbered and committed with it, delivered after it.

use consult_types::clinic::PushEvent;

use super::hub::EventHub;
use super::listener::CHANNEL;
use super::log;
use crate::db::{Backend, Db, StoreError, WriteTx};

#[derive(Default)]
pub struct Outbox {
    events: Vec<(String, PushEvent)>,
}

impl Outbox {
    pub fn push(&mut self, user_id: &str, event: PushEvent) {
        self.events.push((user_id.to_owned(), event));
    }

    /// Sends the same event to each of `user_ids`.
    pub fn push_to<'a>(&mut self, user_ids: impl IntoIterator<Item = &'a str>, event: &PushEvent) {
        for user_id in user_ids {
            self.push(user_id, event.clone());
        }
    }

    /// Appends the events, commits `tx`, then wakes the streams concerned.
    ///
    /// Appends go in user-id order (stable, so each user's events keep their order): two
    /// transactions then never take two users' counter locks in opposite orders.
    pub async fn commit(
        mut self,
        mut tx: WriteTx,
        db: &Db,
        hub: &EventHub,
        now: i64,
    ) -> Result<(), StoreError> {
        self.events.sort_by(|a, b| a.0.cmp(&b.0));
        for (user_id, event) in &self.events {
            log::append(&mut tx, user_id, event, now).await?;
        }
        let mut users: Vec<&str> = self.events.iter().map(|(user, _)| user.as_str()).collect();
        users.dedup();
        if db.backend() == Backend::Postgres {
            // Delivered to every listening instance when (and only if) the transaction commits.
            for user_id in &users {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(*user_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        for user_id in users {
            hub.wake(user_id);
        }
        Ok(())
    }
}
