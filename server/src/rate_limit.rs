//! Login rate limiting: keyed GCRA limiters (`governor`) per client IP and per account.
//!
//! `/auth/login`, `/auth/device-login` and `/auth/register-or-login` count against the caller's
//! IP and against the account tried (the normalized email, or the device id); `/auth/refresh`
//! counts against the IP only, in a bucket of its own so refreshing never locks out a login.
//! A limit of N per minute allows a burst of N and then one more every 60/N seconds.
//!
//! The counters live in this process's memory: limits are per server instance (N instances
//! behind a load balancer allow up to N times the rate) and start afresh on restart. Behind a
//! reverse proxy listed in `trusted_proxies` the client's address comes from its forwarding
//! headers (`client_ip`); behind any other, every client shares the proxy's address.
//!
//! Memory stays bounded: a periodic sweep drops every key whose bucket has refilled (it then
//! carries no information), keys of account names are cut to a bounded length, and IPv6 clients
//! are keyed by their /64 so one host cannot mint fresh keys from its own prefix.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as _, Reference};
use governor::state::keyed::DashMapStateStore;
use governor::{NotUntil, Quota, RateLimiter};

use crate::clock::Clock;

/// The "minute" of the configured per-minute limits.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How often stale keys are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Account names (user input of any length) are keyed by a bounded prefix.
const MAX_KEY_CHARS: usize = 320;

/// Which endpoint an attempt was made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Login,
    DeviceLogin,
    RegisterOrLogin,
    Refresh,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Login => "login",
            Endpoint::DeviceLogin => "device_login",
            Endpoint::RegisterOrLogin => "register_or_login",
            Endpoint::Refresh => "refresh",
        }
    }
}

/// The account an attempt names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account<'a> {
    /// Already normalized (`users::normalize_email`).
    Email(&'a str),
    Device(&'a str),
}

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Ip,
    Account,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ip => "ip",
            Scope::Account => "account",
        }
    }
}

/// A refused attempt: which limit, and when the next attempt can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    pub scope: Scope,
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AccountKey {
    Email(Box<str>),
    Device(Box<str>),
}

impl AccountKey {
    fn new(account: Account<'_>) -> AccountKey {
        let bounded = |name: &str| -> Box<str> {
            match name.char_indices().nth(MAX_KEY_CHARS) {
                Some((end, _)) => name[..end].into(),
                None => name.into(),
            }
        };
        match account {
            Account::Email(email) => AccountKey::Email(bounded(email)),
            Account::Device(id) => AccountKey::Device(bounded(id)),
        }
    }
}

/// Windows are measured on the server's [`Clock`], so tests move through them without waiting.
type Limiter<K> = RateLimiter<K, DashMapStateStore<K>, Clock>;

/// The server's login limiters; a limit of 0 turns that limit off.
pub struct RateLimits {
    login_by_ip: Option<Limiter<IpAddr>>,
    refresh_by_ip: Option<Limiter<IpAddr>>,
    by_account: Option<Limiter<AccountKey>>,
    /// Kiosk enrolment codes asked for, per address, and codes tried, per administrator: fixed
    /// limits, on even where the login limits are off, since a code is only 40 bits.
    enrolments_by_ip: Option<Limiter<IpAddr>>,
    claims_by_admin: Option<Limiter<Box<str>>>,
}

/// Enrolment codes one address may ask for in a minute.
pub const ENROLMENTS_PER_MINUTE: u32 = 10;
/// Codes one administrator may try in a minute.
pub const CLAIMS_PER_MINUTE: u32 = 10;

impl RateLimits {
    /// Limits in attempts per minute on `clock`; 0 disables that limit.
    pub fn per_minute(per_ip: u32, per_account: u32, clock: &Clock) -> RateLimits {
        RateLimits {
            login_by_ip: limiter(per_ip, clock),
            refresh_by_ip: limiter(per_ip, clock),
            by_account: limiter(per_account, clock),
            enrolments_by_ip: limiter(ENROLMENTS_PER_MINUTE, clock),
            claims_by_admin: limiter(CLAIMS_PER_MINUTE, clock),
        }
    }

    /// An unenrolled kiosk asks for a code.
    pub fn check_enrolment(&self, ip: Option<IpAddr>) -> Result<(), Limited> {
        match &self.enrolments_by_ip {
            Some(limiter) => check_key(limiter, &ip_key(ip), Scope::Ip),
            None => Ok(()),
        }
    }

    /// An administrator tries a code.
    pub fn check_claim(&self, admin_id: &str) -> Result<(), Limited> {
        match &self.claims_by_admin {
            Some(limiter) => check_key(limiter, &Box::from(admin_id), Scope::Account),
            None => Ok(()),
        }
    }

    /// Counts one attempt. The IP is checked first, so an attempt refused by IP does not use up
    /// the account's budget (an attacker cannot lock an account out from one address faster
    /// than that address's own limit).
    pub fn check(
        &self,
        endpoint: Endpoint,
        ip: Option<IpAddr>,
        account: Option<Account<'_>>,
    ) -> Result<(), Limited> {
        let by_ip = match endpoint {
            Endpoint::Refresh => &self.refresh_by_ip,
            Endpoint::Login | Endpoint::DeviceLogin | Endpoint::RegisterOrLogin => {
                &self.login_by_ip
            }
        };
        if let Some(limiter) = by_ip {
            check_key(limiter, &ip_key(ip), Scope::Ip)?;
        }
        if let (Some(limiter), Some(account)) = (&self.by_account, account) {
            check_key(limiter, &AccountKey::new(account), Scope::Account)?;
        }
        Ok(())
    }

    /// Drops keys whose buckets have refilled; they would allow the same as an absent key.
    pub fn retain_recent(&self) {
        fn sweep<K: std::hash::Hash + Eq + Clone>(limiter: &Option<Limiter<K>>) {
            if let Some(limiter) = limiter {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
        sweep(&self.login_by_ip);
        sweep(&self.refresh_by_ip);
        sweep(&self.by_account);
        sweep(&self.enrolments_by_ip);
        sweep(&self.claims_by_admin);
    }

    /// How many keys are tracked (for tests and diagnostics).
    pub fn tracked_keys(&self) -> usize {
        self.login_by_ip.as_ref().map_or(0, |l| l.len())
            + self.refresh_by_ip.as_ref().map_or(0, |l| l.len())
            + self.by_account.as_ref().map_or(0, |l| l.len())
            + self.enrolments_by_ip.as_ref().map_or(0, |l| l.len())
            + self.claims_by_admin.as_ref().map_or(0, |l| l.len())
    }

    /// Sweeps every minute while the limits are in use; the task ends once the server dropped
    /// them.
    pub fn spawn_sweeper(limits: &Arc<RateLimits>) {
        let limits = Arc::downgrade(limits);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(SWEEP_EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick completes at once; there is nothing to sweep yet.
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(limits) = limits.upgrade() else {
                    break;
                };
                limits.retain_recent();
                tracing::debug!(
                    tracked_keys = limits.tracked_keys(),
                    "rate-limit keys swept"
                );
            }
        });
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_window: u32, clock: &Clock) -> Option<Limiter<K>> {
    let burst = NonZeroU32::new(per_window)?;
    // At least a nanosecond per cell, which only matters for absurd limits.
    let period = (WINDOW / burst.get()).max(Duration::from_nanos(1));
    let quota = Quota::with_period(period)?.allow_burst(burst);
    Some(Limiter::dashmap_with_clock(quota, clock.clone()))
}

fn check_key<K: std::hash::Hash + Eq + Clone>(
    limiter: &Limiter<K>,
    key: &K,
    scope: Scope,
) -> Result<(), Limited> {
    limiter.check_key(key).map_err(|not_until| Limited {
        scope,
        retry_after_secs: retry_after_secs(&not_until, limiter.clock().now()),
    })
}

/// Whole seconds until the next attempt can pass, rounded up and at least 1 (`Retry-After`).
fn retry_after_secs<P: Reference>(not_until: &NotUntil<P>, now: P) -> u64 {
    let wait = not_until.wait_time_from(now);
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// IPv4 (also when mapped into IPv6) as is; IPv6 by its /64, the usual allocation to one host
/// or site. Without a known peer address every such request shares one bucket.
fn ip_key(ip: Option<IpAddr>) -> IpAddr {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V6(v6)) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        Some(v4) => v4,
        None => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn per_minute(per_ip: u32, per_account: u32) -> RateLimits {
        RateLimits::per_minute(per_ip, per_account, &Clock::system())
    }

    const A: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));

    #[test]
    fn the_ip_limit_refuses_after_the_burst_and_keeps_addresses_apart() {
        let limits = per_minute(3, 0);
        for _ in 0..3 {
            assert_eq!(limits.check(Endpoint::Login, A, None), Ok(()));
        }
        let refused = limits.check(Endpoint::Login, A, None);
        assert_eq!(
            refused,
            Err(Limited {
                scope: Scope::Ip,
                retry_after_secs: 20
            })
        );
        assert_eq!(limits.check(Endpoint::Login, B, None), Ok(()));
        // Refresh has its own bucket.
        assert_eq!(limits.check(Endpoint::Refresh, A, None), Ok(()));
    }

    #[test]
    fn the_account_limit_spans_addresses_and_endpoints_share_it_by_name() {
        let limits = per_minute(0, 2);
        let ada = Some(Account::Email("ada@example.org"));
        assert_eq!(limits.check(Endpoint::Login, A, ada), Ok(()));
        assert_eq!(limits.check(Endpoint::RegisterOrLogin, B, ada), Ok(()));
        assert!(matches!(
            limits.check(Endpoint::Login, B, ada),
            Err(Limited {
                scope: Scope::Account,
                ..
            })
        ));
        // A device named like the email is another account.
        let device = Some(Account::Device("ada@example.org"));
        assert_eq!(limits.check(Endpoint::DeviceLogin, A, device), Ok(()));
    }

    #[test]
    fn an_attempt_refused_by_ip_does_not_spend_the_accounts_budget() {
        let limits = per_minute(1, 1);
        let ada = Some(Account::Email("ada@example.org"));
        assert_eq!(limits.check(Endpoint::Login, A, None), Ok(()));
        assert!(limits.check(Endpoint::Login, A, ada).is_err());
        assert_eq!(limits.check(Endpoint::Login, B, ada), Ok(()));
    }

    #[test]
    fn zero_turns_limits_off() {
        let limits = per_minute(0, 0);
        for _ in 0..1000 {
            let ada = Some(Account::Email("ada@example.org"));
            assert_eq!(limits.check(Endpoint::Login, A, ada), Ok(()));
        }
        assert_eq!(limits.tracked_keys(), 0);
    }

    #[test]
    fn buckets_refill_and_refilled_keys_are_swept() {
        let clock = Clock::system();
        let limits = RateLimits::per_minute(2, 2, &clock);
        let ada = Some(Account::Email("ada@example.org"));
        assert_eq!(limits.check(Endpoint::Login, A, ada), Ok(()));
        assert_eq!(limits.check(Endpoint::Login, A, ada), Ok(()));
        let refused = limits.check(Endpoint::Login, A, ada);
        assert_eq!(
            refused,
            Err(Limited {
                scope: Scope::Ip,
                retry_after_secs: 30
            })
        );
        assert_eq!(limits.tracked_keys(), 2);
        // Half a window refills one cell: a key with room left is kept.
        clock.advance(WINDOW / 2);
        limits.retain_recent();
        assert_eq!(limits.tracked_keys(), 2);
        // governor keeps a key until one cell interval (here 30 s) after its bucket is full.
        clock.advance(WINDOW + WINDOW / 2);
        limits.retain_recent();
        assert_eq!(limits.tracked_keys(), 0);
        assert_eq!(limits.check(Endpoint::Login, A, ada), Ok(()));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let same_prefix: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let other: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(ip_key(Some(one)), ip_key(Some(same_prefix)));
        assert_ne!(ip_key(Some(one)), ip_key(Some(other)));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(ip_key(Some(mapped)), A.expect("ip"));
    }

    #[test]
    fn long_account_names_are_keyed_by_a_bounded_prefix() {
        let long = "é".repeat(1000);
        let AccountKey::Email(key) = AccountKey::new(Account::Email(&long)) else {
            panic!("an email key");
        };
        assert_eq!(key.chars().count(), MAX_KEY_CHARS);
    }
}
