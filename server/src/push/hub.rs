//! In-process wake-ups for open event streams, one watch channel per user with a stream open.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio::sync::watch;

/// Cheap to share behind an `Arc`; every instance has one.
#[derive(Default)]
pub struct EventHub {
    users: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl EventHub {
    /// A receiver that changes whenever `user_id` may have new events.
    pub fn subscribe(&self, user_id: &str) -> watch::Receiver<u64> {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users
            .entry(user_id.to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Tells `user_id`'s open streams to read the log; forgets users with no stream left.
    pub fn wake(&self, user_id: &str) {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = users.get(user_id) {
            if sender.receiver_count() == 0 {
                users.remove(user_id);
            } else {
                sender.send_modify(|generation| *generation = generation.wrapping_add(1));
            }
        }
    }

    /// After wake-ups may have been missed (the PostgreSQL listener reconnected), every stream
    /// re-reads the log.
    pub fn wake_all(&self) {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users.retain(|_, sender| sender.receiver_count() > 0);
        for sender in users.values() {
            sender.send_modify(|generation| *generation = generation.wrapping_add(1));
        }
    }

    /// Users with at least one open stream (for tests and metrics).
    pub fn watched_users(&self) -> usize {
        let users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        users
            .values()
            .filter(|sender| sender.receiver_count() > 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_only_the_named_user() {
        let hub = EventHub::default();
        let mut ada = hub.subscribe("ada");
        let bob = hub.subscribe("bob");
        hub.wake("ada");
        assert!(ada.has_changed().expect("open"));
        assert!(!bob.has_changed().expect("open"));
        ada.mark_unchanged();
        hub.wake_all();
        assert!(ada.has_changed().expect("open"));
        assert!(bob.has_changed().expect("open"));
    }

    #[test]
    fn forgets_users_whose_streams_closed() {
        let hub = EventHub::default();
        let receiver = hub.subscribe("ada");
        assert_eq!(hub.watched_users(), 1);
        drop(receiver);
        hub.wake("ada");
        assert_eq!(hub.watched_users(), 0);
        assert!(hub.users.lock().expect("lock").is_empty());
    }
}
