//! Posting rate limits per user across the cluster: one token bucket per user in Redis,
//! shared by every node. The writer asks once per user and batch for as many tokens as the
//! user has posts in the batch, and gives back what it did not use (duplicates, refused
//! posts) after the batch. While Redis is unreachable the node's own bucket decides
//! (each node then allows the full rate: the store still takes every post exactly once).

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::ratelimit::RateLimit;

use super::link::Link;

/// What the buckets' keys start with (user ids are unique across databases).
pub(crate) const PREFIX: &str = "ember:";

/// Takes up to ARGV[3] tokens (or gives back -ARGV[3]); returns {taken, ms until the next
/// token when fewer were taken than asked}. Time is Redis's, so nodes' clocks do not matter.
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(s[1]) or burst
local at = tonumber(s[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken = 0
if want < 0 then
  tokens = math.min(burst, tokens - want)
else
  taken = math.min(want, math.floor(tokens))
  tokens = tokens - taken
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
local wait = 0
if taken < want then wait = math.max(1, math.ceil((1 - tokens) / rate)) end
return {taken, wait}
";

/// What Redis granted a user for the running batch.
struct Grant {
    /// Tokens taken.
    taken: u32,
    /// Tokens taken and not used yet.
    left: u32,
    /// How long until the next token, when Redis granted fewer than asked.
    retry_after_ms: u64,
    /// The bucket's shape (to give tokens back).
    limit: RateLimit,
}

/// The writer's side of the shared buckets.
pub(crate) struct ClusterLimiter {
    link: Link,
    prefix: String,
    /// Posts per user in the running batch (how many tokens to ask for).
    wanted: HashMap<UserId, u32>,
    grants: HashMap<UserId, Grant>,
}

impl ClusterLimiter {
    /// Buckets in the Redis at `url`, under keys starting with `prefix`.
    pub(crate) fn new(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        Ok(Self {
            link: Link::new(url, super::link::BACKGROUND)?,
            prefix: prefix.to_owned(),
            wanted: HashMap::new(),
            grants: HashMap::new(),
        })
    }

    /// A batch starts with these posters (one entry per post).
    pub(crate) fn begin(&mut self, posters: impl IntoIterator<Item = UserId>) {
        self.wanted.clear();
        for user in posters {
            *self.wanted.entry(user).or_default() += 1;
        }
    }

    /// Takes a token for one of `user`'s posts. `None`: Redis could not be asked, the
    /// node's own bucket decides.
    pub(crate) fn take(&mut self, user: UserId, limit: RateLimit) -> Option<Result<()>> {
        if !limit.per_second.is_finite() {
            return Some(Ok(()));
        }
        if !self.grants.contains_key(&user) {
            // A store that runs a batch again asks again for what it runs again.
            let want = self.wanted.remove(&user).unwrap_or(1).max(1);
            let (taken, wait) = self.ask(user, limit, i64::from(want))?;
            self.grants.insert(
                user,
                Grant {
                    taken,
                    left: taken,
                    retry_after_ms: wait,
                    limit,
                },
            );
        }
        let grant = self.grants.get_mut(&user)?;
        if grant.left > 0 {
            grant.left -= 1;
            return Some(Ok(()));
        }
        Some(Err(Error::RateLimited {
            retry_after: Duration::from_millis(grant.retry_after_ms.max(1)),
        }))
    }

    /// The batch is over: gives back the tokens it did not use, or all it took when it
    /// did not commit.
    pub(crate) fn end(&mut self, committed: bool) {
        self.wanted.clear();
        let grants: Vec<(UserId, Grant)> = self.grants.drain().collect();
        for (user, g) in grants {
            let back = if committed { g.left } else { g.taken };
            if back > 0 {
                let _ = self.ask(user, g.limit, -i64::from(back));
            }
        }
    }

    fn ask(&self, user: UserId, limit: RateLimit, want: i64) -> Option<(u32, u64)> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(TAKE)
            .arg(1)
            .arg(format!("{}rl:{user}", self.prefix))
            .arg(limit.per_second.max(1e-6))
            .arg(limit.burst.max(1))
            .arg(want);
        let (taken, wait): (i64, i64) = self.link.run("rate limit", |c| cmd.query(c))?;
        Some((
            taken.clamp(0, i64::from(u32::MAX)) as u32,
            wait.max(0) as u64,
        ))
    }
}
