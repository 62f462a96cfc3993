//! Storage: the only module that speaks SQL. Writes go through the single writer thread
//! ([`writer`]), reads through the store's reading side ([`backend::Reads`]). Two stores
//! implement the seam ([`backend`]): SQLite, the embedded default, and PostgreSQL, a
//! database several engines (and machines) share.

pub(crate) mod access_log;
pub(crate) mod backend;
pub(crate) mod ops;
pub(crate) mod pg;
pub(crate) mod rules;
pub(crate) mod sqlite;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use parking_lot::Mutex;

pub(crate) use ops::{BotSecrets, Op, PostDraft, Reply};

use crate::error::{Error, Result};
use crate::ids::Epoch;
use crate::live::Change;
use crate::options::{Location, Options};
use crate::stats::{Counters, Stats};
use backend::Reads;
use writer::{Command, Mailbox};

pub(crate) struct Store {
    mailbox: Mailbox,
    readers: Box<dyn Reads>,
    writer: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
    stats: Arc<Counters>,
    pub(crate) epoch: Epoch,
    /// This engine instance, as its writer signs the access log.
    pub(crate) origin: i64,
}

impl Store {
    /// Opens the database and starts the writer, which sends what it commits to `changes`.
    pub(crate) fn open(
        opts: &Options,
        changes: crossbeam_channel::Sender<Vec<Change>>,
    ) -> Result<Self> {
        let stats = Arc::new(Counters::default());
        let (writes, readers, epoch) = match opts.location() {
            Location::Sqlite(_) => sqlite::open(opts, stats.clone())?,
            Location::Postgres(url) => pg::open(opts, &url, stats.clone())?,
        };
        let origin = rand::random::<i64>();
        let (tx, rx) = crossbeam_channel::bounded(opts.queue_capacity.max(1));
        let thread = writer::spawn(writes, rx, opts, stats.clone(), changes, origin)?;
        Ok(Self {
            mailbox: Mailbox {
                tx,
                wait: opts.overload_wait,
            },
            readers,
            writer: Mutex::new(Some(thread)),
            closed: AtomicBool::new(false),
            stats,
            epoch,
            origin,
        })
    }

    /// [`Error::Closed`] once the engine was closed.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Runs the write `make` builds around a reply on the writer and waits for its COMMIT.
    pub(crate) fn call<T: Send + 'static>(&self, make: impl FnOnce(Reply<T>) -> Op) -> Result<T> {
        self.check_open()?;
        self.mailbox.call(make)
    }

    /// Queues a write without waiting; its reply runs on the writer thread after COMMIT.
    /// Fails at once with [`Error::Overloaded`] when the queue is full.
    pub(crate) fn submit(&self, op: Op) -> Result<()> {
        self.check_open()?;
        self.mailbox.try_send(Command::Apply(op))
    }

    /// The reading side, once the store is known to be open.
    pub(crate) fn reads(&self) -> Result<&dyn Reads> {
        self.check_open()?;
        Ok(self.readers.as_ref())
    }

    /// A reading side of its own, for a thread that reads on its own (the dispatcher).
    pub(crate) fn dedicated_reader(opts: &Options) -> Result<Box<dyn Reads>> {
        match opts.location() {
            Location::Sqlite(_) => Ok(Box::new(sqlite::reader_side(opts))),
            Location::Postgres(url) => pg::reader_side(opts, &url),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats.snapshot(self.mailbox.tx.len())
    }

    /// Stops intake, lets the writer commit what was queued, checkpoints, joins the thread.
    pub(crate) fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = self.mailbox.tx.send(Command::Shutdown);
        if let Some(thread) = self.writer.lock().take() {
            if thread.join().is_err() {
                log::error!("the writer thread panicked");
            }
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}
