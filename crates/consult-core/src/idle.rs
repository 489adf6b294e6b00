//! The idle sign-out timer: resolves once nobody touched the app for the configured time, and
//! never while something holds it off (a running call is not idleness).
//!
//! Time asleep counts: tokio's clock (monotonic) stops while the computer is suspended, so idle
//! time is the larger of tokio's elapsed time and a [`SleepClock`]'s (production: the wall
//! clock), and a waiting timer wakes every [`RECHECK`] to read it, since no tokio sleep notices
//! a suspend. Tests drive tokio's side with `tokio::time::pause` and `advance`, and a suspend by
//! moving an injected clock alone.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tokio::time::Instant;

/// How often a waiting timer reads the [`SleepClock`]: at most this long after a wake-up past
/// the limit, the session ends.
pub const RECHECK: Duration = Duration::from_secs(1);

/// A clock that keeps counting while the computer sleeps. Only differences between readings
/// mean anything.
pub trait SleepClock: Send + Sync {
    fn now(&self) -> Duration;
}

/// The wall clock: it counts suspended time on every platform, with no extra dependency. Set
/// back, it cannot shorten idleness below tokio's count; set forward, it signs out early, the
/// safe direction.
pub struct WallClock;

impl SleepClock for WallClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }
}

pub struct IdleTimer {
    state: Mutex<State>,
    /// Wakes `expired()` when the timeout changes, so a shorter one applies at once.
    changed: Notify,
    clock: Arc<dyn SleepClock>,
}

/// A moment on both clocks.
#[derive(Clone, Copy)]
struct Moment {
    tokio: Instant,
    clock: Duration,
}

struct State {
    last_activity: Moment,
    /// `Duration::ZERO` turns the timer off.
    timeout: Duration,
    /// Live [`IdleHold`]s; the timer cannot expire while there is one.
    holds: usize,
}

impl State {
    /// Idle time left at `now`: `None` while off, zero once expired. Idle time is the larger of
    /// the two clocks' (tokio's misses time asleep; the sleep clock may be set back).
    fn left(&self, now: Moment) -> Option<Duration> {
        if self.timeout.is_zero() || self.holds > 0 {
            return None;
        }
        let last = self.last_activity;
        let idle = (now.tokio - last.tokio).max(now.clock.saturating_sub(last.clock));
        Some(self.timeout.saturating_sub(idle))
    }
}

/// Keeps the timer from expiring while it lives (a running call); when dropped, the idle time
/// counts from then.
#[must_use = "the hold ends when dropped"]
pub struct IdleHold {
    timer: Arc<IdleTimer>,
}

impl Drop for IdleHold {
    fn drop(&mut self) {
        let now = self.timer.moment();
        self.timer.with_state(|state| {
            state.holds = state.holds.saturating_sub(1);
            state.last_activity = now;
        });
        self.timer.changed.notify_waiters();
    }
}

impl IdleTimer {
    /// A timer that expires `timeout` after the last [`touch`](IdleTimer::touch) (or now);
    /// `Duration::ZERO` never expires.
    pub fn new(timeout: Duration) -> IdleTimer {
        IdleTimer::with_clock(timeout, Arc::new(WallClock))
    }

    /// [`IdleTimer::new`] counting suspended time on `clock`.
    pub fn with_clock(timeout: Duration, clock: Arc<dyn SleepClock>) -> IdleTimer {
        let last_activity = Moment {
            tokio: Instant::now(),
            clock: clock.now(),
        };
        IdleTimer {
            state: Mutex::new(State {
                last_activity,
                timeout,
                holds: 0,
            }),
            changed: Notify::new(),
            clock,
        }
    }

    /// The user did something. Once the limit has passed (a wake-up after a long sleep, before
    /// the waiter's next check) activity cannot undo the sign-out that is due: the timer stays
    /// expired and its waiter is woken to end the session now.
    pub fn touch(&self) {
        let now = self.moment();
        let expired = self.with_state(|state| {
            let expired = state.left(now).is_some_and(|left| left.is_zero());
            if !expired {
                state.last_activity = now;
            }
            expired
        });
        if expired {
            self.changed.notify_waiters();
        }
    }

    /// Counts from now whatever came before: a new sign-in.
    pub fn restart(&self) {
        let now = self.moment();
        self.with_state(|state| state.last_activity = now);
        self.changed.notify_waiters();
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

    /// Resolves when the app has been idle for the timeout, time asleep included; never while
    /// the timer is off.
    pub async fn expired(&self) {
        loop {
            // Registered before reading the state, so a change in between is not missed.
            let changed = self.changed.notified();
            let now = self.moment();
            let Some(left) = self.with_state(|state| state.left(now)) else {
                changed.await;
                continue;
            };
            if left.is_zero() {
                return;
            }
            // Re-checks at the deadline or sooner: a touch may have moved it, and a suspend in
            // between shows only on the sleep clock.
            tokio::select! {
                () = tokio::time::sleep(left.min(RECHECK)) => {}
                () = changed => {}
            }
        }
    }

    fn moment(&self) -> Moment {
        Moment {
            tokio: Instant::now(),
            clock: self.clock.now(),
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

    /// The wall clock as a suspend sees it: it runs with tokio's (paused) clock, and jumps on
    /// its own while the computer sleeps.
    struct Laptop {
        origin: Instant,
        asleep: Mutex<Duration>,
    }

    impl Laptop {
        fn new() -> Arc<Laptop> {
            Arc::new(Laptop {
                origin: Instant::now(),
                asleep: Mutex::new(Duration::ZERO),
            })
        }

        /// Tokio's clock stays put, as it does across a real suspend.
        fn sleep(&self, time: Duration) {
            *self.asleep.lock().unwrap() += time;
        }
    }

    impl SleepClock for Laptop {
        fn now(&self) -> Duration {
            self.origin.elapsed() + *self.asleep.lock().unwrap()
        }
    }

    fn timer_on(laptop: &Arc<Laptop>, timeout: Duration) -> Arc<IdleTimer> {
        Arc::new(IdleTimer::with_clock(
            timeout,
            Arc::clone(laptop) as Arc<dyn SleepClock>,
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn time_asleep_counts_and_a_waiter_notices_it_right_after_waking() {
        let laptop = Laptop::new();
        let timer = timer_on(&laptop, Duration::from_secs(900));
        let waiter = tokio::spawn({
            let timer = timer.clone();
            async move {
                timer.expired().await;
                Instant::now()
            }
        });
        tokio::time::sleep(Duration::from_secs(60)).await;
        let woke = Instant::now();
        laptop.sleep(Duration::from_secs(3 * 3600));
        let expired_at = tokio::time::timeout(RECHECK * 2, waiter)
            .await
            .expect("a long sleep ends the session right after waking")
            .unwrap();
        assert!(expired_at - woke <= RECHECK, "{:?}", expired_at - woke);
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_sleep_adds_to_the_time_awake() {
        let laptop = Laptop::new();
        let timer = timer_on(&laptop, Duration::from_secs(600));
        tokio::time::advance(Duration::from_secs(360)).await;
        laptop.sleep(Duration::from_secs(200));
        assert!(!is_expired(&timer).await, "9 min 20 s of 10 min");
        laptop.sleep(Duration::from_secs(40));
        assert!(is_expired(&timer).await, "6 min awake and 4 min asleep");
    }

    #[tokio::test(start_paused = true)]
    async fn activity_after_waking_past_the_limit_does_not_undo_the_sign_out() {
        let laptop = Laptop::new();
        let timer = timer_on(&laptop, Duration::from_secs(900));
        let waiter = tokio::spawn({
            let timer = timer.clone();
            async move { timer.expired().await }
        });
        tokio::task::yield_now().await;
        laptop.sleep(Duration::from_secs(3600));
        // The first key press after opening the lid, before the waiter's next check.
        timer.touch();
        assert!(
            is_expired(&timer).await,
            "the touch revived an expired timer"
        );
        tokio::time::timeout(Duration::from_millis(1), waiter)
            .await
            .expect("the touch wakes the waiter to end the session at once")
            .unwrap();
        // A new sign-in counts afresh.
        timer.restart();
        assert!(!is_expired(&timer).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wall_clock_set_back_does_not_shorten_idleness() {
        let laptop = Laptop::new();
        laptop.sleep(Duration::from_secs(7200));
        let timer = timer_on(&laptop, Duration::from_secs(60));
        *laptop.asleep.lock().unwrap() = Duration::ZERO;
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(is_expired(&timer).await);
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
