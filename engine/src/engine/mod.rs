//! The engine handle: open, close, and the calls grouped by topic in the sibling files.

mod accounts;
mod live;
pub(crate) use live::replay_event;
mod messages;
#[cfg(feature = "bench-internals")]
pub(crate) use messages::post_draft;
mod rooms;

use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;

use crate::cluster::Cluster;
use crate::error::{Error, Result};
use crate::ids::Epoch;
use crate::live::{Live, spawn_dispatcher};
use crate::login_limit::LoginLimiter;
use crate::open_files::{self, Claim};
use crate::options::{Location, Options};
use crate::plugins::{Plugin, PluginStatus, Plugins, Sounds};
use crate::stats::Stats;
use crate::store::{Op, Reply, Store};

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
    live: Arc<Live>,
    plugins: Arc<Plugins>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
    /// This engine's membership in a cluster ([`Options::broker`]).
    cluster: Option<Arc<Cluster>>,
    opts: Options,
    limiter: LoginLimiter,
    /// A hash to check against when a login does not exist (equal timing).
    dummy_hash: std::sync::OnceLock<String>,
    /// This process's hold on the database file, let go at close.
    claim: Mutex<Option<Claim>>,
}

impl Engine {
    /// Opens (creating or migrating) the database and starts the writer thread.
    ///
    /// Fails with [`Error::Open`] when the path is not a writable SQLite database, with
    /// [`Error::SchemaTooNew`] when a newer Ember wrote it, and with [`Error::AlreadyOpen`]
    /// when an engine of this process has the file open and is not closed yet (one engine
    /// per file and process: share its handle). Other processes may open the file too.
    pub fn open(mut opts: Options) -> Result<Engine> {
        // Two engines of one process on one SQLite file would fight over its locks; on a
        // shared PostgreSQL database several engines are what it is for.
        let claim = match opts.location() {
            Location::Sqlite(file) => {
                opts.path = file;
                Some(open_files::claim(&opts.path)?)
            }
            Location::Postgres(_) => None,
        };
        let (changes_tx, changes_rx) = crossbeam_channel::unbounded();
        let store = Store::open(&opts, changes_tx)?;
        let live = Arc::new(Live::new(
            opts.subscription_capacity,
            opts.presence_ttl.as_millis() as i64,
            opts.clock.clone(),
        ));
        let plugins = Arc::new(Plugins::new(opts.plugin_budget));
        if opts.builtin_sounds {
            plugins.register(Box::new(Sounds))?;
        }
        let reader = Store::dedicated_reader(&opts)?;
        let cluster = match &opts.broker {
            Some(url) => Some(Arc::new(Cluster::start(
                url,
                &store.epoch.to_string(),
                store.origin,
            )?)),
            None => None,
        };
        let dispatcher = spawn_dispatcher(
            live.clone(),
            plugins.clone(),
            changes_rx,
            reader,
            store.origin,
            cluster.clone(),
        )
        .map_err(|e| Error::Storage(format!("cannot start the dispatcher thread: {e}")))?;
        let engine = Engine {
            inner: Arc::new(Inner {
                store,
                live,
                plugins,
                dispatcher: Mutex::new(Some(dispatcher)),
                cluster,
                limiter: LoginLimiter::new(
                    opts.login_attempts,
                    opts.login_attempts_per_login,
                    opts.login_window,
                ),
                dummy_hash: std::sync::OnceLock::new(),
                claim: Mutex::new(claim),
                opts,
            }),
        };
        engine.join_cluster()?;
        Ok(engine)
    }

    /// Shares presence and typing with the other nodes on [`Options::broker`], if any.
    fn join_cluster(&self) -> Result<()> {
        let inner = &self.inner;
        let (Some(url), Some(cluster)) = (&inner.opts.broker, &inner.cluster) else {
            return Ok(());
        };
        let ephemeral = crate::cluster::Ephemeral::start(
            url,
            &self.epoch().to_string(),
            inner.store.origin,
            inner.opts.presence_ttl,
            inner.live.clone(),
            cluster,
        )
        .inspect_err(|_| self.close())?;
        let _ = inner.live.ephemeral.set(ephemeral);
        Ok(())
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
    /// stops the writer; then ends every subscription ([`crate::RecvError::Closed`] after
    /// what was queued) and drops every plugin, whatever clones, pipelines or subscriptions
    /// are still alive. Afterwards every call fails with [`Error::Closed`]. Idempotent.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Registers a plugin. Its slash commands and hooks apply to every later post.
    pub fn register_plugin(&self, plugin: Box<dyn Plugin>) -> Result<()> {
        self.store().check_open()?;
        self.inner.plugins.register(plugin)
    }

    /// Every registered plugin and whether it still runs (a panicking plugin is disabled).
    pub fn plugins(&self) -> Vec<PluginStatus> {
        self.inner.plugins.statuses()
    }

    /// In a cluster ([`Options::broker`]): how many reads of the store filled gaps in what
    /// the other engines published (after a lost publication or a broker reconnect); 0
    /// otherwise.
    pub fn cluster_store_reads(&self) -> u64 {
        self.cluster().map_or(0, Cluster::store_reads)
    }

    /// Live room and user subscriptions right now.
    pub fn subscription_counts(&self) -> (usize, usize) {
        self.inner.live.hub.counts()
    }

    pub(crate) fn cluster(&self) -> Option<&Cluster> {
        self.inner.cluster.as_deref()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.opts.clock.now_ms()
    }

    /// Runs the write `make` builds around its typed reply and waits for its COMMIT.
    pub(crate) fn write<T: Send + 'static>(&self, make: impl FnOnce(Reply<T>) -> Op) -> Result<T> {
        self.inner.store.call(make)
    }
}

impl Inner {
    fn close(&self) {
        self.store.close();
        // The writer is gone, so the dispatcher sees its channel close and stops.
        if let Some(thread) = self.dispatcher.lock().take() {
            if thread.join().is_err() {
                log::error!("the dispatcher thread panicked");
            }
        }
        // This node's users leave the cluster's rooms (told to the others at once).
        if let Some(ephemeral) = self.live.ephemeral.get() {
            ephemeral.stop();
        }
        if let Some(cluster) = &self.cluster {
            cluster.stop();
        }
        // Everything committed was delivered: end the streams, then let the plugins go.
        self.live.hub.close();
        self.plugins.stop();
        self.claim.lock().take();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
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
