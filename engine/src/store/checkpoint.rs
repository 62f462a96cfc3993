//! WAL checkpoints on their own thread and connection, so that a commit never waits for one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::options::Options;
use crate::stats::Counters;
use crate::store::schema;

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
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.nudge.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
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
        // Answers (busy, frames in the WAL, frames copied back into the database).
        let pass = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match pass {
            Ok(now) => {
                if now.1 > 0 && now != last {
                    stats.checkpoints.fetch_add(1, Ordering::Relaxed);
                }
                last = now;
            }
            Err(e) => log::warn!("checkpoint failed: {e}"),
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
