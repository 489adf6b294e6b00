//! The idle sign-out timer: resolves once nobody touched the app for the configured time.
//! Built on tokio's clock, so tests drive it with `tokio::time::pause` and `advance`.

use std::sync::Mutex;
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
}

impl IdleTimer {
    /// A timer that expires `timeout` after the last [`touch`](IdleTimer::touch) (or now);
    /// `Duration::ZERO` never expires.
    pub fn new(timeout: Duration) -> IdleTimer {
        IdleTimer {
            state: Mutex::new(State {
                last_activity: Instant::now(),
                timeout,
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

    pub fn timeout(&self) -> Duration {
        self.with_state(|state| state.timeout)
    }

    /// Resolves when the app has been idle for the timeout; never while the timer is off.
    pub async fn expired(&self) {
        loop {
            // Registered before reading the state, so a change in between is not missed.
            let changed = self.changed.notified();
            let (deadline, off) = self
                .with_state(|state| (state.last_activity + state.timeout, state.timeout.is_zero()));
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
