//! The idle sign-out timer: resolves once nobody touched the app for the configured time, and
//! never while something holds it off (a running call is not idleness). Built on tokio's clock,
//! so tests drive it with `tokio::time::pause` and `advance`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

pub struct IdleTimer {
    state: Mutex<State>,
    /// Wakes `expired()` when the timeout changes, so a shorter one applies at once.
    changed: Notify,
}

struct State {
    last_activity: Instant,
    /// `Duration::ZERO` turns the timer off.
    timeout: Duration,
    /// Live [`IdleHold`]s; the timer cannot expire while there is one.
    holds: usize,
}

/// Keeps the timer from expiring while it lives (a running call); when dropped, the idle time
/// counts from then.
#[must_use = "the hold ends when dropped"]
pub struct IdleHold {
    timer: Arc<IdleTimer>,
}

impl Drop for IdleHold {
    fn drop(&mut self) {
        self.timer.with_state(|state| {
            state.holds = state.holds.saturating_sub(1);
            state.last_activity = Instant::now();
        });
        self.timer.changed.notify_waiters();
    }
}

impl IdleTimer {
    /// A timer that expires `timeout` after the last [`touch`](IdleTimer::touch) (or now);
    /// `Duration::ZERO` never expires.
    pub fn new(timeout: Duration) -> IdleTimer {
        IdleTimer {
            state: Mutex::new(State {
                last_activity: Instant::now(),
                timeout,
                holds: 0,
            }),
            changed: Notify::new(),
        }
    }

    /// The user did something.
    pub fn touch(&self) {
        self.with_state(|state| state.last_activity = Instant::now());
    }

    /// Applies a changed setting; the time already idle counts against the new timeout.
    pub fn set_timeout(&self, timeout: Duration) {
        self.with_state(|state| state.timeout = timeout);
        self.changed.notify_waiters();
    }

    /// Holds the timer off until the returned guard is dropped.
    pub fn hold(self: &Arc<Self>) -> IdleHold {
        self.with_state(|state| state.holds += 1);
        self.changed.notify_waiters();
        IdleHold {
            timer: Arc::clone(self),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.with_state(|state| state.timeout)
    }

    /// Resolves when the app has been idle for the timeout; never while the timer is off.
    pub async fn expired(&self) {
        loop {
            // Registered before reading the state, so a change in between is not missed.
            let changed = self.changed.notified();
            let (deadline, off) = self.with_state(|state| {
                let off = state.timeout.is_zero() || state.holds > 0;
                (state.last_activity + state.timeout, off)
            });
            if off {
                changed.await;
                continue;
            }
            if Instant::now() >= deadline {
                return;
            }
            // Wakes at the deadline, then re-checks: a touch in between moved it.
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = changed => {}
            }
        }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        // A poisoned lock only means a panic elsewhere mid-update of two plain values.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut state)
    }
}

/// The reason shown on the login screen after an idle sign-out.
pub fn idle_reason(timeout: Duration) -> String {
    let minutes = timeout.as_secs().div_ceil(60);
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    format!("Signed out after {minutes} {unit} without activity.")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn is_expired(timer: &IdleTimer) -> bool {
        tokio::time::timeout(Duration::ZERO, timer.expired())
            .await
            .is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn expires_only_after_the_timeout_without_touches() {
        let timer = IdleTimer::new(Duration::from_secs(900));
        tokio::time::advance(Duration::from_secs(899)).await;
        assert!(!is_expired(&timer).await);
        timer.touch();
        tokio::time::advance(Duration::from_secs(899)).await;
        assert!(!is_expired(&timer).await, "a touch restarts the timer");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(is_expired(&timer).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_expired_resolves_at_the_moved_deadline() {
        let timer = std::sync::Arc::new(IdleTimer::new(Duration::from_secs(60)));
        let waiter = tokio::spawn({
            let timer = timer.clone();
            async move {
                timer.expired().await;
                Instant::now()
            }
        });
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(30)).await;
        timer.touch();
        let expired_at = waiter.await.unwrap();
        assert_eq!(expired_at - start, Duration::from_secs(90));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_is_off_and_a_new_timeout_applies_at_once() {
        let timer = std::sync::Arc::new(IdleTimer::new(Duration::ZERO));
        tokio::time::advance(Duration::from_secs(100_000)).await;
        assert!(!is_expired(&timer).await);
        let waiter = tokio::spawn({
            let timer = timer.clone();
            async move { timer.expired().await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        timer.set_timeout(Duration::from_secs(10));
        // Idle since the start, far longer than 10 s: expires right away.
        tokio::time::timeout(Duration::from_millis(1), waiter)
            .await
            .expect("expired after the change")
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_keeps_it_from_expiring_and_idleness_counts_from_its_end() {
        let timer = Arc::new(IdleTimer::new(Duration::from_secs(60)));
        let hold = timer.hold();
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(
            !is_expired(&timer).await,
            "an hour-long call is not idleness"
        );
        drop(hold);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(
            !is_expired(&timer).await,
            "the minute starts when the call ends"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(is_expired(&timer).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_wakes_when_the_last_hold_ends() {
        let timer = Arc::new(IdleTimer::new(Duration::from_secs(10)));
        let (first, second) = (timer.hold(), timer.hold());
        let waiter = tokio::spawn({
            let timer = timer.clone();
            async move {
                timer.expired().await;
                Instant::now()
            }
        });
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(100)).await;
        drop(first);
        tokio::time::sleep(Duration::from_secs(100)).await;
        drop(second);
        let expired_at = waiter.await.unwrap();
        assert_eq!(expired_at - start, Duration::from_secs(210));
    }

    #[test]
    fn the_reason_names_the_minutes() {
        assert_eq!(
            idle_reason(Duration::from_secs(900)),
            "Signed out after 15 minutes without activity."
        );
        assert_eq!(
            idle_reason(Duration::from_secs(60)),
            "Signed out after 1 minute without activity."
        );
    }
}
