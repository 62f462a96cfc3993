//! WAL checkpoints on their own thread and connection, so that a commit never waits for one,
//! and the writer's share: keeping the WAL from growing without bound.

use std::cell::Cell;
use std::os::raw::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use rusqlite::Connection;

use crate::options::Options;
use crate::stats::Counters;
use crate::store::sqlite::schema;

/// Runs `PASSIVE` checkpoints when nudged by the writer (and at least once a second while
/// there is work); stops when dropped.
pub(crate) struct Checkpointer {
    nudge: Option<Sender<()>>,
    /// Set while the thread waits for a nudge: the writer sends one only then, so that its
    /// commits during a pass or the pause after it cost no wake-up (one per batch, else).
    waiting: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn spawn(opts: &Options, stats: Arc<Counters>) -> Self {
        let (nudge, rx) = crossbeam_channel::bounded(1);
        let opts = opts.clone();
        let waiting = Arc::new(AtomicBool::new(false));
        let flag = waiting.clone();
        let thread = std::thread::Builder::new()
            .name("ember-checkpoint".into())
            .spawn(move || run(&opts, &rx, &flag, &stats))
            .ok();
        Self {
            nudge: Some(nudge),
            waiting,
            thread,
        }
    }

    /// Asks for a checkpoint soon; never blocks.
    pub(crate) fn nudge(&self) {
        if let Some(n) = &self.nudge
            && self.waiting.swap(false, Ordering::AcqRel)
        {
            let _ = n.try_send(());
        }
    }

    /// Stops the thread and waits for it (a pass in progress finishes first). Later nudges
    /// do nothing.
    pub(crate) fn stop(&mut self) {
        self.nudge.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(opts: &Options, rx: &Receiver<()>, waiting: &AtomicBool, stats: &Counters) {
    let conn = match schema::open_checkpointer(opts) {
        Ok(c) => c,
        Err(e) => {
            log::error!("checkpointer cannot open the database: {e}");
            return;
        }
    };
    let mut last = (0, 0);
    loop {
        waiting.store(true, Ordering::Release);
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        waiting.store(false, Ordering::Release);
        let mut long = false;
        match passive_checkpoint(&conn) {
            Ok((_, log, copied)) => {
                if copied > 0 && (log, copied) != last {
                    stats.checkpoints.fetch_add(1, Ordering::Relaxed);
                    // The WAL is getting long and the writer is still adding to it: copy
                    // again at once, so that the tail the writer copies itself when it
                    // restarts the WAL (see `bound_wal`) is one pass long, not a pause.
                    long = log >= i64::from(WAL_RESTART_FRAMES / 2);
                }
                last = (log, copied);
            }
            Err(e) => log::warn!("checkpoint failed: {e}"),
        }
        if long {
            continue;
        }
        // Let the WAL gather some pages before the next pass (no nudges come meanwhile; a
        // stale one from a race with the flag is dropped here).
        let rest = Instant::now() + Duration::from_millis(100);
        loop {
            match rx.recv_deadline(rest) {
                Ok(()) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// WAL frames after which the writer finishes a checkpoint itself (32 MiB of 2 KiB pages).
///
/// SQLite writes the WAL from its start again only once a checkpoint has copied every frame
/// back into the database. The checkpointer thread cannot get there while the writer keeps
/// committing (frames arrive during its pass), so under sustained load the WAL grew by every
/// commit: 2 GB after 200,000 posts, every frame a new block the file system must allocate
/// and zero. Past this many frames, the writer runs a `PASSIVE` checkpoint between two
/// transactions: it copies only what the checkpointer has not (the frames since its last
/// pass), and the next transaction starts the WAL over.
const WAL_RESTART_FRAMES: c_int = 16384;

thread_local! {
    /// Frames in the WAL after the last commit of a writer connection on this thread (set by
    /// [`note_wal_frames`]; one writer connection per thread).
    static WAL_FRAMES: Cell<c_int> = const { Cell::new(0) };
}

fn note_wal_frames(_: &rusqlite::hooks::Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(frames);
    Ok(())
}

/// Makes the connection report its WAL's length after each commit. Must come after
/// `PRAGMA wal_autocheckpoint`, which replaces the hook.
pub(crate) fn watch_wal(conn: &Connection) {
    conn.wal_hook(Some(note_wal_frames));
}

/// Between transactions on the writer's connection: once the WAL holds more than
/// [`WAL_RESTART_FRAMES`], checkpoints what the checkpointer has not copied yet so that
/// the next transaction restarts the WAL. Never waits: if the checkpointer is in a pass
/// (an error here), the next commit tries again.
pub(crate) fn bound_wal(conn: &Connection, stats: Option<&Counters>) {
    if WAL_FRAMES.get() < WAL_RESTART_FRAMES {
        return;
    }
    if let Ok((false, log, copied)) = passive_checkpoint(conn)
        && log == copied
    {
        WAL_FRAMES.set(0);
        if let Some(stats) = stats {
            stats.checkpoints.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One `PASSIVE` checkpoint pass: (busy, frames in the WAL, frames copied back into the
/// database).
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(bool, i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}
