//! The server's "now", and wall-clock time as unix seconds, the one time format the store keeps
//! (portable through the Any driver on SQLite and PostgreSQL alike).
//!
//! Everything that decides by time (token `iat`/`exp`, refresh-token expiry, rate-limit windows,
//! reminders, meeting tokens) reads one [`Clock`] from the server's state, so tests move time
//! forward instead of sleeping through it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The system clocks, shifted by an offset that only [`Clock::advance`] changes. Clones share
/// the offset. In production nothing advances it, so it reads exactly the system clocks.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Nanoseconds this clock runs ahead of the system's.
    ahead_nanos: Arc<AtomicU64>,
}

impl Clock {
    /// A clock that reads the system clocks.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Seconds since the unix epoch; a clock before 1970 reads as 0 rather than failing requests.
    pub fn now_unix(&self) -> i64 {
        (SystemTime::now() + self.ahead())
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    /// A monotonic instant, shifted like [`Clock::now_unix`]: what rate-limit windows measure.
    pub fn instant(&self) -> Instant {
        Instant::now() + self.ahead()
    }

    /// Moves this clock (and every clone of it) forward. For tests: a server's clock is only
    /// ever advanced by the test that started it.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.ahead_nanos.fetch_add(nanos, Ordering::SeqCst);
    }

    fn ahead(&self) -> Duration {
        Duration::from_nanos(self.ahead_nanos.load(Ordering::SeqCst))
    }
}

// Lets the login rate limiters measure their windows on this clock.
impl governor::clock::Clock for Clock {
    type Instant = Instant;

    fn now(&self) -> Instant {
        self.instant()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_the_time() {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let now = Clock::system().now_unix();
        assert!(now > 1_577_836_800, "after 2020: {now}");
        assert!(now.abs_diff(i64::try_from(system).expect("fits")) <= 1);
    }

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::system();
        let shared = clock.clone();
        let (before, instant) = (clock.now_unix(), clock.instant());
        shared.advance(Duration::from_secs(3600));
        assert!(clock.now_unix() >= before + 3600);
        assert!(clock.instant() >= instant + Duration::from_secs(3600));
        // A fresh clock is not moved by another's advance.
        assert!(Clock::system().now_unix() < before + 3600);
    }
}
