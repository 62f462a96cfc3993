//! Group commit: a batch of commands in one transaction, a savepoint each. Used by the
//! writer thread and by `RawStore` (benchmarks), so both measure the same work.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Error, Result};
use crate::store::ops::{Batch, Cx, Op};
use crate::store::sqlite::commands;

/// Runs `ops` in one transaction, each in its own savepoint. When the transaction cannot
/// start, every command fails with that error without running.
pub(crate) fn run(conn: &Connection, ops: Vec<Op>, cx: &mut Cx<'_>) -> Batch {
    // Rolled back when dropped uncommitted. The connection is never in a transaction here.
    // The write lock is taken at BEGIN (see `schema::begin_write`): a deferred transaction's
    // upgrade from reading to writing fails at once when another connection holds the lock
    // for a moment, instead of waiting.
    let tx = match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = Error::Storage(format!("transaction could not start: {e}"));
            let ran = ops
                .into_iter()
                .map(|op| {
                    let r = commands::run(conn, &op, cx, Some(&e));
                    (op, r)
                })
                .collect();
            return Batch {
                committed: Err(e),
                ran,
            };
        }
    };
    let ran = ops
        .into_iter()
        .map(|op| {
            let r = commands::run(&tx, &op, cx, None);
            (op, r)
        })
        .collect();
    let committed: Result<()> = tx.commit().map_err(Error::from);
    Batch { committed, ran }
}
