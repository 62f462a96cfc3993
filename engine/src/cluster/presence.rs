//! Presence across nodes, kept in Redis: who is online in a room on which node. Each node
//! registers the (room, user) pairs it holds and pushes their expiry forward; an entry
//! that is not refreshed lapses, so a node that dies takes its users' presence with it.
//! Every change goes through one Lua script, so exactly one node sees a user's first entry
//! arrive (online) and its last one go (offline): the room hears each once, however many
//! nodes the user is connected to.
//!
//! Keys (`P` is the cluster prefix): `P:p:{room}:{user}`, a hash node → 1 of the nodes
//! holding the pair; `P:p:{room}`, the set of users online in the room; `P:p:lapse`, a
//! sorted set of `room|user|node` by expiry (ms, Redis's clock). The scripts name keys
//! they compute, so they need a single Redis, not Redis Cluster.

use std::str::FromStr;

use crate::ids::{RoomId, UserId};

use super::link::Link;

/// Registers or refreshes this node's entry. Returns -1 when the entry was there already,
/// else how many nodes held the pair before (0: the user just came online).
const TOUCH: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local present = redis.call('HEXISTS', KEYS[1], ARGV[1])
local had = redis.call('HLEN', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[3])
if present == 1 then return -1 end
return had
";

/// Removes this node's entry. Returns -1 when it was gone already (lapsed and swept: the
/// offline was told then), else how many nodes still hold the pair (0: now offline).
const LEAVE: &str = r"
redis.call('ZREM', KEYS[3], ARGV[3])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
local n = redis.call('HLEN', KEYS[1])
if n == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return n
";

/// Removes lapsed entries (at most ARGV[2]); returns `room|user` of each pair that no
/// node holds any more. Atomic: of several nodes sweeping, one reports each pair.
const SWEEP: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, m in ipairs(gone) do
  redis.call('ZREM', KEYS[1], m)
  local room, user, node = string.match(m, '^([^|]+)|([^|]+)|(.+)$')
  if room then
    local pair = ARGV[1] .. 'p:' .. room .. ':' .. user
    if redis.call('HDEL', pair, node) == 1 and redis.call('HLEN', pair) == 0 then
      redis.call('SREM', ARGV[1] .. 'p:' .. room, user)
      table.insert(out, room .. '|' .. user)
    end
  end
end
return out
";

/// Most lapsed entries one sweep removes (the next sweep takes the rest).
const SWEEP_LIMIT: usize = 1000;

/// This node's view of the presence keys.
pub(crate) struct ClusterPresence {
    /// The cluster's key prefix, ending in `:`.
    prefix: String,
    /// This node's name in the entries.
    node: String,
    /// An entry lapses this long after its last refresh.
    lapse_ms: u64,
}

impl ClusterPresence {
    /// Entries of `node` under `prefix` lapse `lapse_ms` after their last refresh.
    pub(crate) fn new(prefix: &str, node: &str, lapse_ms: u64) -> Self {
        Self {
            prefix: prefix.to_owned(),
            node: node.to_owned(),
            lapse_ms: lapse_ms.max(1),
        }
    }

    fn touch_cmd(&self, room: RoomId, user: UserId) -> redis::Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(TOUCH).arg(3);
        self.keys(&mut cmd, room, user);
        // The hash and the room set outlive a node's entries by far: the sweep, not their
        // expiry, is what tells a lapse (they expire only when every node is gone).
        let keep_ms = self.lapse_ms * 4 + 60_000;
        cmd.arg(&self.node)
            .arg(user.to_string())
            .arg(self.member(room, user))
            .arg(self.lapse_ms)
            .arg(keep_ms);
        cmd
    }

    fn keys(&self, cmd: &mut redis::Cmd, room: RoomId, user: UserId) {
        cmd.arg(format!("{}p:{room}:{user}", self.prefix))
            .arg(format!("{}p:{room}", self.prefix))
            .arg(format!("{}p:lapse", self.prefix));
    }

    fn member(&self, room: RoomId, user: UserId) -> String {
        format!("{room}|{user}|{}", self.node)
    }

    /// Registers (or refreshes) this node's hold on the pair. `Some(true)`: the user just
    /// came online in the room; `None`: Redis is unreachable.
    pub(crate) fn join(&self, link: &Link, room: RoomId, user: UserId) -> Option<bool> {
        let held: i64 = link.run("presence", |c| self.touch_cmd(room, user).query(c))?;
        Some(held == 0)
    }

    /// Lets go of the pair. `Some(true)`: it was the user's last node (now offline).
    pub(crate) fn leave(&self, link: &Link, room: RoomId, user: UserId) -> Option<bool> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(LEAVE).arg(3);
        self.keys(&mut cmd, room, user);
        cmd.arg(&self.node)
            .arg(user.to_string())
            .arg(self.member(room, user));
        let left: i64 = link.run("presence", |c| cmd.query(c))?;
        Some(left == 0)
    }

    /// Pushes the expiry of every pair this node holds forward, in one round trip. Returns
    /// the pairs that had lapsed meanwhile and whose user came online again by it.
    pub(crate) fn refresh(
        &self,
        link: &Link,
        pairs: &[(RoomId, UserId)],
    ) -> Option<Vec<(RoomId, UserId)>> {
        if pairs.is_empty() {
            return Some(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (room, user) in pairs {
            pipe.add_command(self.touch_cmd(*room, *user));
        }
        let held: Vec<i64> = link.run("presence refresh", |c| pipe.query(c))?;
        Some(
            pairs
                .iter()
                .zip(held)
                .filter(|(_, h)| *h == 0)
                .map(|(p, _)| *p)
                .collect(),
        )
    }

    /// Removes every lapsed entry of any node; returns the pairs now offline (each is
    /// returned to one sweeping node only).
    pub(crate) fn sweep(&self, link: &Link) -> Option<Vec<(RoomId, UserId)>> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(SWEEP)
            .arg(1)
            .arg(format!("{}p:lapse", self.prefix))
            .arg(&self.prefix)
            .arg(SWEEP_LIMIT);
        let gone: Vec<String> = link.run("presence sweep", |c| cmd.query(c))?;
        Some(gone.iter().filter_map(|p| parse_pair(p)).collect())
    }

    /// The users some node holds in the room.
    pub(crate) fn online(&self, link: &Link, room: RoomId) -> Option<Vec<UserId>> {
        let key = format!("{}p:{room}", self.prefix);
        let users: Vec<String> = link.run("presence list", |c| {
            redis::cmd("SMEMBERS").arg(&key).query(c)
        })?;
        Some(
            users
                .iter()
                .filter_map(|u| UserId::from_str(u).ok())
                .collect(),
        )
    }
}

fn parse_pair(text: &str) -> Option<(RoomId, UserId)> {
    let (room, user) = text.split_once('|')?;
    Some((RoomId::from_str(room).ok()?, UserId::from_str(user).ok()?))
}
