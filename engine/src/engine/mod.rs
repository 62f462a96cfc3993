//! The engine handle: open, close, and the calls grouped by topic in the sibling files.

mod accounts;
mod messages;
pub(crate) use messages::post_op;
mod rooms;

use std::sync::Arc;

use crate::auth::LoginLimiter;
use crate::error::{Error, Result};
use crate::ids::Epoch;
use crate::options::Options;
use crate::stats::Stats;
use crate::store::{Op, Outcome, Store};

/// Most messages one history page or search returns.
pub const MAX_PAGE: usize = 100;
/// Most changes one [`Engine::changes_since`] page returns.
pub const MAX_CHANGES_PAGE: usize = 1000;

/// A handle to an open Ember database.
///
/// Cheap to clone; every clone talks to the same writer thread and reader pool, and every
/// method may be called from any thread. Writes are acknowledged only after their
/// transaction has committed, so an acknowledged write survives the process being killed.
/// The engine closes when [`Engine::close`] is called or the last handle is dropped.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    opts: Options,
    limiter: LoginLimiter,
    /// A hash to check against when a login does not exist (equal timing).
    dummy_hash: std::sync::OnceLock<String>,
}

impl Engine {
    /// Opens (creating or migrating) the database and starts the writer thread.
    ///
    /// Fails with [`Error::Open`] when the path is not a writable SQLite database and with
    /// [`Error::SchemaTooNew`] when a newer Ember wrote it.
    pub fn open(opts: Options) -> Result<Engine> {
        let store = Store::open(&opts)?;
        Ok(Engine {
            inner: Arc::new(Inner {
                store,
                limiter: LoginLimiter::new(opts.login_attempts, opts.login_window),
                dummy_hash: std::sync::OnceLock::new(),
                opts,
            }),
        })
    }

    /// The database's epoch: sequence numbers from another epoch mean nothing here.
    pub fn epoch(&self) -> Epoch {
        self.inner.store.epoch
    }

    /// Counters of the writer (commands, transactions, largest batch, queue depth, ...).
    pub fn stats(&self) -> Stats {
        self.inner.store.stats()
    }

    /// The options the engine was opened with.
    pub fn options(&self) -> &Options {
        &self.inner.opts
    }

    /// Stops taking requests, commits everything already queued, checkpoints the WAL and
    /// stops the writer. Afterwards every call fails with [`Error::Closed`]. Idempotent.
    pub fn close(&self) {
        self.inner.store.close();
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.opts.clock.now_ms()
    }

    pub(crate) fn write(&self, op: Op) -> Result<Outcome> {
        self.inner.store.call(op)
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.inner.opts.path)
            .field("epoch", &self.epoch())
            .finish()
    }
}

/// Checks a page size against its cap.
pub(crate) fn page_limit(limit: usize, max: usize) -> Result<usize> {
    if limit == 0 || limit > max {
        return Err(Error::validation("limit", format!("must be 1 to {max}")));
    }
    Ok(limit)
}

/// Unwraps the outcome a command is known to produce.
macro_rules! expect_outcome {
    ($outcome:expr, $variant:ident) => {
        match $outcome? {
            $crate::store::Outcome::$variant(v) => Ok(v),
            other => Err($crate::Error::Storage(format!("unexpected writer outcome {other:?}"))),
        }
    };
}
pub(crate) use expect_outcome;
