//! Counters that show what the writer is doing.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the engine's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Write commands executed (each in its own savepoint), successful or not.
    pub commands: u64,
    /// Write commands that failed and were rolled back alone.
    pub failed_commands: u64,
    /// Transactions committed by the writer for commands (group commits).
    pub transactions: u64,
    /// Most commands committed in one transaction so far.
    pub largest_batch: u64,
    /// Commands waiting for the writer right now.
    pub queue_depth: u64,
    /// Messages written but not yet in the full-text index.
    pub search_backlog: u64,
    /// WAL checkpoint passes that copied frames: the checkpointer thread's, and the
    /// writer's own when it finishes one to start a long WAL over.
    pub checkpoints: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub commands: AtomicU64,
    pub failed_commands: AtomicU64,
    pub transactions: AtomicU64,
    pub largest_batch: AtomicU64,
    pub search_backlog: AtomicU64,
    pub checkpoints: AtomicU64,
}

impl Counters {
    pub(crate) fn batch(&self, commands: u64, failed: u64) {
        self.commands.fetch_add(commands, Ordering::Relaxed);
        self.failed_commands.fetch_add(failed, Ordering::Relaxed);
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.largest_batch.fetch_max(commands, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, queue_depth: usize) -> Stats {
        Stats {
            commands: self.commands.load(Ordering::Relaxed),
            failed_commands: self.failed_commands.load(Ordering::Relaxed),
            transactions: self.transactions.load(Ordering::Relaxed),
            largest_batch: self.largest_batch.load(Ordering::Relaxed),
            queue_depth: queue_depth as u64,
            search_backlog: self.search_backlog.load(Ordering::Relaxed),
            checkpoints: self.checkpoints.load(Ordering::Relaxed),
        }
    }
}
