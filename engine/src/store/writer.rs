//! The one writer thread: it owns the only write connection, commits queued commands in
//! groups, and answers each caller only after its group's COMMIT.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::live::Change;
use crate::options::Options;
use crate::ratelimit::{PostLimiter, RateLimit};
use crate::stats::Counters;
use crate::store::backend::Writes;
use crate::store::ops::{Cx, Effects, Op, Reply};

pub(crate) enum Command {
    /// A command; its reply is part of it.
    Apply(Op),
    Shutdown,
}

/// Messages indexed per full-text transaction while the writer is idle; it stops between
/// chunks as soon as a command arrives.
const INDEX_CHUNK: usize = 256;
/// ... and once the oldest queued message has waited `search_delay` while commands keep
/// coming: one chunk of up to this many after each batch until none is left. Each
/// full-text transaction costs a COMMIT and flushes a segment that must be merged later,
/// so a saturated writer indexes in as few of them as when it indexes everything every
/// `search_delay`; the commands waiting meanwhile are delayed once per `search_delay`.
pub(crate) const INDEX_CHUNK_BUSY: usize = 1024;

pub(crate) fn spawn(
    store: Box<dyn Writes>,
    rx: Receiver<Command>,
    opts: &Options,
    stats: Arc<Counters>,
    changes: Sender<Vec<Change>>,
    origin: i64,
) -> Result<JoinHandle<()>> {
    let mut writer = Writer {
        store,
        origin,
        changes,
        limiter: post_limiter(opts),
        limits: (opts.post_rate, opts.bot_post_rate),
        stats,
        clock: opts.clock.clone(),
        max_batch: opts.max_batch.max(1),
        search_delay: opts.search_delay,
        // Whatever a previous run left unindexed is due at once.
        index_due_since: Some(
            Instant::now()
                .checked_sub(opts.search_delay)
                .unwrap_or_else(Instant::now),
        ),
    };
    std::thread::Builder::new()
        .name("ember-writer".into())
        .spawn(move || writer.run(&rx))
        .map_err(|e| Error::Storage(format!("cannot start the writer thread: {e}")))
}

/// The posting limiter: this node's buckets, shared through Redis in a cluster.
fn post_limiter(opts: &Options) -> PostLimiter {
    let Some(url) = &opts.broker else {
        return PostLimiter::new();
    };
    match crate::cluster::ratelimit::ClusterLimiter::new(url, crate::cluster::ratelimit::PREFIX) {
        Ok(shared) => PostLimiter::shared(shared),
        Err(e) => {
            log::warn!("broker URL {url}: {e}; posting limits are per node");
            PostLimiter::new()
        }
    }
}

/// Who posts in a batch, once per post.
fn posters(ops: &[Op]) -> Vec<crate::ids::UserId> {
    ops.iter()
        .filter_map(|op| match op {
            Op::Post { post, .. } => Some(post.user),
            _ => None,
        })
        .collect()
}

struct Writer {
    store: Box<dyn Writes>,
    /// This engine instance in the access log.
    origin: i64,
    /// Where committed changes go for fan-out (the dispatcher thread).
    changes: Sender<Vec<Change>>,
    limiter: PostLimiter,
    limits: (RateLimit, RateLimit),
    stats: Arc<Counters>,
    clock: Clock,
    max_batch: usize,
    search_delay: Duration,
    /// When the oldest message not yet in the full-text index was acknowledged.
    index_due_since: Option<Instant>,
}

impl Writer {
    fn run(&mut self, rx: &Receiver<Command>) {
        let mut batch = Vec::with_capacity(self.max_batch);
        let mut stopping = false;
        loop {
            let wait = self.index_wait();
            let first = match rx.recv_timeout(wait) {
                Ok(cmd) => cmd,
                Err(RecvTimeoutError::Timeout) => {
                    self.index(rx, stopping);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            batch.push(first);
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(cmd) => batch.push(cmd),
                    Err(_) => break,
                }
            }
            stopping |= self.commit_batch(&mut batch);
            self.after_commit();
            self.index(rx, stopping);
            if stopping && rx.is_empty() {
                break;
            }
        }
        self.finish();
    }

    /// The store's housekeeping after a transaction.
    fn after_commit(&mut self) {
        self.store.after_commit();
    }

    /// How long the writer may sleep before indexing is due.
    fn index_wait(&self) -> Duration {
        match self.index_due_since {
            None => Duration::from_secs(3600),
            Some(since) => (self.search_delay / 2).saturating_sub(since.elapsed()),
        }
    }

    /// Runs the batch in one transaction, a savepoint per command, then replies. Returns
    /// true when a shutdown was requested.
    fn commit_batch(&mut self, batch: &mut Vec<Command>) -> bool {
        let mut stop = false;
        let mut cx = Cx {
            now: self.clock.now_ms(),
            limiter: &mut self.limiter,
            limits: self.limits,
            origin: self.origin,
            fx: Effects::default(),
        };
        let ops: Vec<Op> = batch
            .drain(..)
            .filter_map(|cmd| match cmd {
                Command::Apply(op) => Some(op),
                Command::Shutdown => {
                    stop = true;
                    None
                }
            })
            .collect();
        cx.limiter.begin_batch(posters(&ops));
        let done = self.store.run_batch(ops, &mut cx);
        cx.limiter.end_batch(done.committed.is_ok());
        let fx = cx.fx;
        if !done.ran.is_empty() {
            self.stats
                .batch(done.ran.len() as u64, done.failed() as u64);
        }
        let committed = done.committed.is_ok();
        if let Err(e) = &done.committed {
            log::error!("group commit failed: {e}");
        } else if fx.fts_queued > 0 {
            self.stats
                .search_backlog
                .fetch_add(fx.fts_queued, Ordering::Relaxed);
            self.index_due_since.get_or_insert_with(Instant::now);
        }
        done.answer();
        if committed && !fx.changes.is_empty() {
            // Unbounded and never waited on: the dispatcher fans out on its own thread.
            let _ = self.changes.send(fx.changes);
        }
        stop
    }

    /// Indexes queued messages when due: once the oldest has waited half of
    /// `search_delay` if no command waits, and regardless once it has waited all of it.
    fn index(&mut self, rx: &Receiver<Command>, all: bool) {
        loop {
            let Some(since) = self.index_due_since else {
                return;
            };
            let waited = since.elapsed();
            let due = all
                || waited >= self.search_delay
                || (rx.is_empty() && waited >= self.search_delay / 2);
            if !due {
                return;
            }
            let chunk = if rx.is_empty() {
                INDEX_CHUNK
            } else {
                INDEX_CHUNK_BUSY
            };
            match self.store.index_pending(chunk) {
                Ok(0) => {
                    self.index_due_since = None;
                    self.stats.search_backlog.store(0, Ordering::Relaxed);
                }
                Ok(left) => self.stats.search_backlog.store(left, Ordering::Relaxed),
                Err(e) => {
                    log::error!("full-text indexing failed: {e}");
                    // Tried again once half of `search_delay` has passed, not at once: a
                    // database that is down (or full) must not keep the writer spinning.
                    self.index_due_since = Some(Instant::now());
                    return;
                }
            }
            self.after_commit();
            if !rx.is_empty() && !all {
                return;
            }
        }
    }

    fn finish(&mut self) {
        self.index_due_since.get_or_insert_with(Instant::now);
        let (_, idle) = crossbeam_channel::bounded::<Command>(0);
        self.index(&idle, true);
        self.store.finish();
    }
}

/// The writer's mailbox, held by every engine handle.
pub(crate) struct Mailbox {
    pub tx: Sender<Command>,
    pub wait: Duration,
}

impl Mailbox {
    /// Queues a command, waiting up to the configured time for room.
    pub(crate) fn send(&self, cmd: Command) -> Result<()> {
        self.tx.send_timeout(cmd, self.wait).map_err(|e| match e {
            crossbeam_channel::SendTimeoutError::Timeout(_) => Error::Overloaded,
            crossbeam_channel::SendTimeoutError::Disconnected(_) => Error::Closed,
        })
    }

    /// Queues a command only if there is room now.
    pub(crate) fn try_send(&self, cmd: Command) -> Result<()> {
        self.tx.try_send(cmd).map_err(|e| match e {
            crossbeam_channel::TrySendError::Full(_) => Error::Overloaded,
            crossbeam_channel::TrySendError::Disconnected(_) => Error::Closed,
        })
    }

    /// Sends the command `make` builds around a reply, and waits for its result.
    pub(crate) fn call<T: Send + 'static>(&self, make: impl FnOnce(Reply<T>) -> Op) -> Result<T> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.send(Command::Apply(make(Box::new(move |r| {
            let _ = tx.send(r);
        }))))?;
        rx.recv().map_err(|_| Error::Closed)?
    }
}
