//! A command connection to Redis for presence, typing and rate limits: opened lazily, with
//! short timeouts, and left alone for a while after a failure so that a Redis that is down
//! costs its callers one timeout per back-off period, not one per call.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long a connect, a read or a write may take on a background thread (the writer's
/// rate limits, the presence worker).
pub(crate) const BACKGROUND: Duration = Duration::from_millis(200);
/// ... and on a caller's thread (a server's event loop asking who is online).
pub(crate) const CALLER: Duration = Duration::from_millis(50);
/// How long Redis is left alone after a failure.
const BACK_OFF: Duration = Duration::from_secs(1);

struct State {
    conn: Option<redis::Connection>,
    down_until: Option<Instant>,
    /// A failure was logged and no success followed yet (log once per outage).
    logged: bool,
}

/// One connection to Redis, shared by whoever holds it (calls are serialised).
pub(crate) struct Link {
    client: redis::Client,
    timeout: Duration,
    state: Mutex<State>,
}

impl Link {
    /// A link to the Redis at `url` whose calls wait at most `timeout`; connects on first
    /// use.
    pub(crate) fn new(url: &str, timeout: Duration) -> redis::RedisResult<Link> {
        Ok(Link {
            client: redis::Client::open(url)?,
            timeout,
            state: Mutex::new(State {
                conn: None,
                down_until: None,
                logged: false,
            }),
        })
    }

    /// Runs `f` on the connection; `None` when Redis is unreachable (or was a moment ago)
    /// or answered with an error, which is logged once per outage.
    pub(crate) fn run<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Option<T> {
        let mut s = self.state.lock();
        if s.down_until.is_some_and(|t| Instant::now() < t) {
            return None;
        }
        if s.conn.is_none() {
            match self.connect() {
                Ok(c) => s.conn = Some(c),
                Err(e) => return fail(&mut s, what, &e),
            }
        }
        let conn = s.conn.as_mut()?;
        match f(conn) {
            Ok(v) => {
                if s.logged {
                    log::info!("redis is reachable again ({what})");
                }
                s.logged = false;
                s.down_until = None;
                Some(v)
            }
            Err(e) => {
                s.conn = None;
                fail(&mut s, what, &e)
            }
        }
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let conn = self.client.get_connection_with_timeout(self.timeout)?;
        conn.set_read_timeout(Some(self.timeout))?;
        conn.set_write_timeout(Some(self.timeout))?;
        Ok(conn)
    }
}

fn fail<T>(s: &mut State, what: &str, e: &redis::RedisError) -> Option<T> {
    s.down_until = Some(Instant::now() + BACK_OFF);
    if !s.logged {
        log::warn!("redis unreachable ({what}): {e}; falling back to this node alone");
        s.logged = true;
    }
    None
}
