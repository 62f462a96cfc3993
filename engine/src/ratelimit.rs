//! Per-user posting rate limit: a token bucket per user, kept by the writer (and, in a
//! cluster, shared through Redis: [`crate::cluster::ratelimit`]).

use std::collections::HashMap;
use std::time::Duration;

use crate::cluster::ratelimit::ClusterLimiter;
use crate::error::{Error, Result};
use crate::ids::UserId;

/// A token bucket's shape: `per_second` tokens flow in, at most `burst` are kept.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained posts per second.
    pub per_second: f64,
    /// Posts allowed at once after a quiet spell.
    pub burst: u32,
}

impl RateLimit {
    /// `per_second` sustained, `burst` at once.
    pub const fn new(per_second: f64, burst: u32) -> Self {
        Self { per_second, burst }
    }
}

struct Bucket {
    tokens: f64,
    at_ms: i64,
}

/// The buckets of every user who posted recently.
pub(crate) struct PostLimiter {
    buckets: HashMap<UserId, Bucket>,
    /// The cluster's buckets, which decide while Redis answers.
    cluster: Option<ClusterLimiter>,
}

impl PostLimiter {
    pub(crate) fn new() -> Self {
        Self {
            buckets: HashMap::new(),
            cluster: None,
        }
    }

    /// Limits shared by every node on the Redis of `cluster`, this node's own buckets
    /// deciding while Redis is unreachable.
    pub(crate) fn shared(cluster: ClusterLimiter) -> Self {
        Self {
            cluster: Some(cluster),
            ..Self::new()
        }
    }

    /// A batch with one post by each of `posters` (with repeats) starts.
    pub(crate) fn begin_batch(&mut self, posters: impl IntoIterator<Item = UserId>) {
        if let Some(c) = &mut self.cluster {
            c.begin(posters);
        }
    }

    /// The batch is over: tokens it took and did not use (all of them when it did not
    /// commit) go back.
    pub(crate) fn end_batch(&mut self, committed: bool) {
        if let Some(c) = &mut self.cluster {
            c.end(committed);
        }
    }

    /// Takes one token from `user`'s bucket, or says how long until one is there.
    pub(crate) fn take(&mut self, user: UserId, limit: RateLimit, now: i64) -> Result<()> {
        let shared = self.cluster.as_mut().and_then(|c| c.take(user, limit));
        let local = self.take_local(user, limit, now);
        // The cluster's verdict wins; the node's bucket only keeps count for when Redis
        // is unreachable.
        shared.unwrap_or(local)
    }

    fn take_local(&mut self, user: UserId, limit: RateLimit, now: i64) -> Result<()> {
        if self.buckets.len() > 100_000 {
            self.forget_full(limit, now);
        }
        let burst = f64::from(limit.burst.max(1));
        let rate_per_ms = limit.per_second.max(1e-9) / 1000.0;
        let b = self.buckets.entry(user).or_insert(Bucket {
            tokens: burst,
            at_ms: now,
        });
        b.tokens = (b.tokens + (now - b.at_ms).max(0) as f64 * rate_per_ms).min(burst);
        b.at_ms = now.max(b.at_ms);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let wait_ms = ((1.0 - b.tokens) / rate_per_ms).ceil().max(1.0);
        Err(Error::RateLimited {
            retry_after: Duration::from_millis(wait_ms as u64),
        })
    }

    /// Drops buckets that have refilled completely: they are the same as no bucket.
    fn forget_full(&mut self, limit: RateLimit, now: i64) {
        let refill_ms = (f64::from(limit.burst) / limit.per_second.max(1e-9) * 1000.0) as i64;
        self.buckets.retain(|_, b| now - b.at_ms < refill_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn burst_then_steady_rate() {
        let mut l = PostLimiter::new();
        let u = UserId(Uuid::now_v7());
        let limit = RateLimit::new(10.0, 20);
        for _ in 0..20 {
            l.take(u, limit, 0).unwrap();
        }
        match l.take(u, limit, 0) {
            Err(Error::RateLimited { retry_after }) => {
                assert_eq!(retry_after, Duration::from_millis(100))
            }
            other => panic!("{other:?}"),
        }
        l.take(u, limit, 100).unwrap();
        assert!(l.take(u, limit, 150).is_err());
        let other = UserId(Uuid::now_v7());
        l.take(other, limit, 150).unwrap();
    }
}
