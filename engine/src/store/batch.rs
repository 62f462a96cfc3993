//! Group commit: a batch of commands in one transaction, a savepoint each. Used by the
//! writer thread and by `RawStore` (benchmarks), so both measure the same work.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Error, Result};
use crate::store::commands::{self, Cx, Op, Ran};

/// A batch that ran: whether its transaction committed, and every command's pending answer.
pub(crate) struct Batch {
    pub committed: Result<()>,
    pub ran: Vec<Ran>,
}

impl Batch {
    /// Commands that failed (each rolled back alone; the others committed).
    pub(crate) fn failed(&self) -> usize {
        self.ran.iter().filter(|r| r.failed).count()
    }

    /// Answers every caller, in order: its own result if the batch committed, else the
    /// commit's error.
    pub(crate) fn answer(self) {
        for ran in self.ran {
            ran.answer(&self.committed);
        }
    }
}

/// Runs `ops` in one transaction, each in its own savepoint. When the transaction cannot
/// start, every command fails with that error without running.
pub(crate) fn run(conn: &Connection, ops: impl IntoIterator<Item = Op>, cx: &mut Cx<'_>) -> Batch {
    let mut ran = Vec::new();
    // Rolled back when dropped uncommitted. The connection is never in a transaction here.
    // The write lock is taken at BEGIN (see `schema::begin_write`): a deferred transaction's
    // upgrade from reading to writing fails at once when another connection holds the lock
    // for a moment, instead of waiting.
    let tx = match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = Error::Storage(format!("transaction could not start: {e}"));
            for op in ops {
                ran.push(commands::run(conn, op, cx, Some(&e)));
            }
            return Batch {
                committed: Err(e),
                ran,
            };
        }
    };
    for op in ops {
        ran.push(commands::run(&tx, op, cx, None));
    }
    let committed = tx.commit().map_err(Error::from);
    Batch { committed, ran }
}
