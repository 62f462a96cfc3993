//! The login rate limit, keyed by (login, client address) so that one attacker cannot lock
//! a user out from everywhere: a small limit per pair with a growing lock-out, and a
//! larger cap per login across all addresses without back-off.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// Entries kept before idle ones are dropped.
const PRUNE_ABOVE: usize = 10_000;
/// The longest lock-out one pair can earn.
const MAX_LOCK_MS: i64 = 24 * 3600 * 1000;

/// One (login, address) pair's recent attempts and lock-outs.
#[derive(Default)]
struct Pair {
    times: VecDeque<i64>,
    /// Lock-outs in a row; each doubles the next one.
    strikes: u32,
    locked_until: i64,
}

#[derive(Default)]
struct State {
    pairs: HashMap<(String, Option<IpAddr>), Pair>,
    logins: HashMap<String, VecDeque<i64>>,
}

/// Counts login attempts in a sliding window per (login, address) and per login.
pub(crate) struct LoginLimiter {
    state: Mutex<State>,
    per_pair: usize,
    per_login: usize,
    window_ms: i64,
}

impl LoginLimiter {
    /// `per_pair` attempts per (login, address) and `per_login` per login in `window`.
    pub(crate) fn new(per_pair: u32, per_login: u32, window: Duration) -> Self {
        Self {
            state: Mutex::new(State::default()),
            per_pair: per_pair.max(1) as usize,
            per_login: per_login.max(1) as usize,
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Records an attempt for `login` from `addr` at `now`, or refuses it with the time
    /// until the next attempt can succeed.
    pub(crate) fn attempt(&self, login: &str, addr: Option<IpAddr>, now: i64) -> Result<()> {
        let window = self.window_ms;
        let login = login.to_lowercase();
        let mut state = self.state.lock();
        if state.pairs.len() > PRUNE_ABOVE || state.logins.len() > PRUNE_ABOVE {
            prune(&mut state, now, window);
        }
        let pair = state.pairs.entry((login.clone(), addr)).or_default();
        if now < pair.locked_until {
            return Err(limited(pair.locked_until - now));
        }
        forget_before(&mut pair.times, now - window);
        if pair.times.len() >= self.per_pair {
            // A lock-out soon after the last one ended doubles; after a quiet window the
            // count starts over.
            if now - pair.locked_until > window {
                pair.strikes = 0;
            }
            pair.strikes = pair.strikes.saturating_add(1);
            let base = pair
                .times
                .front()
                .map_or(window, |t| t + window - now)
                .max(1);
            let factor = 1i64 << pair.strikes.saturating_sub(1).min(20);
            let lock = base.saturating_mul(factor).min(MAX_LOCK_MS);
            pair.locked_until = now + lock;
            return Err(limited(lock));
        }
        let times = state.logins.entry(login.clone()).or_default();
        forget_before(times, now - window);
        if times.len() >= self.per_login {
            let retry = times.front().map_or(window, |t| t + window - now);
            return Err(limited(retry));
        }
        times.push_back(now);
        if let Some(pair) = state.pairs.get_mut(&(login, addr)) {
            pair.times.push_back(now);
        }
        Ok(())
    }

    /// A correct password from `addr`: its pair's lock-outs no longer grow.
    pub(crate) fn succeeded(&self, login: &str, addr: Option<IpAddr>) {
        let mut state = self.state.lock();
        if let Some(pair) = state.pairs.get_mut(&(login.to_lowercase(), addr)) {
            pair.strikes = 0;
        }
    }
}

fn limited(retry_ms: i64) -> Error {
    Error::RateLimited {
        retry_after: Duration::from_millis(retry_ms.max(1) as u64),
    }
}

fn forget_before(times: &mut VecDeque<i64>, cutoff: i64) {
    while times.front().is_some_and(|t| *t <= cutoff) {
        times.pop_front();
    }
}

/// Drops what no longer counts: pairs with nothing in the window and no lock-out that
/// could still grow, logins with nothing in the window.
fn prune(state: &mut State, now: i64, window: i64) {
    state.pairs.retain(|_, p| {
        p.times.back().is_some_and(|t| now - t < window) || now - p.locked_until <= window
    });
    state
        .logins
        .retain(|_, times| times.back().is_some_and(|t| now - t < window));
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: i64 = 180_000;

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(3, 5, Duration::from_millis(WINDOW as u64))
    }

    fn retry(r: Result<()>) -> i64 {
        match r {
            Err(Error::RateLimited { retry_after }) => retry_after.as_millis() as i64,
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }

    fn addr(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([192, 0, 2, last]))
    }

    #[test]
    fn a_pair_is_limited_then_recovers() {
        let l = limiter();
        for i in 0..3 {
            l.attempt("Ann", addr(1), i).unwrap();
        }
        assert_eq!(retry(l.attempt("ann", addr(1), 10)), WINDOW - 10);
        l.attempt("bob", addr(1), 10).unwrap();
        l.attempt("ann", addr(1), WINDOW).unwrap();
    }

    #[test]
    fn another_address_is_not_locked_out() {
        let l = limiter();
        for i in 0..3 {
            l.attempt("ann", addr(1), i).unwrap();
        }
        assert!(l.attempt("ann", addr(1), 10).is_err());
        l.attempt("ann", addr(2), 10)
            .expect("the owner's address still gets in");
        l.attempt("ann", None, 10).expect("so does a host tool");
    }

    #[test]
    fn the_cap_per_login_holds_across_addresses_without_back_off() {
        let l = limiter();
        for i in 0..5u8 {
            l.attempt("ann", addr(i), i64::from(i)).unwrap();
        }
        assert_eq!(retry(l.attempt("ann", addr(9), 100)), WINDOW - 100);
        l.attempt("ann", addr(9), WINDOW).unwrap();
    }

    #[test]
    fn repeated_lock_outs_of_a_pair_grow_and_a_success_resets_them() {
        let l = limiter();
        let mut now = 0;
        let mut locks = Vec::new();
        for _ in 0..3 {
            while l.attempt("ann", addr(1), now).is_ok() {
                now += 1;
            }
            let lock = retry(l.attempt("ann", addr(1), now));
            assert!(lock > 0);
            locks.push(lock);
            now += lock;
        }
        assert!(
            locks[1] > locks[0] && locks[2] > locks[1],
            "each lock-out is longer: {locks:?}"
        );
        l.succeeded("ann", addr(1));
        while l.attempt("ann", addr(1), now).is_ok() {
            now += 1;
        }
        let after = retry(l.attempt("ann", addr(1), now));
        assert!(after <= WINDOW, "back to the first length: {after}");
    }
}
