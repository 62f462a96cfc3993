//! How engine events reach the event loop: every subscription's queue gets a waker that
//! records which connection has news and wakes the loop through the `mio::Waker`. The
//! engine calls a queue's waker only when it goes from empty to non-empty, and the loop is
//! woken at most once until it looks, so a burst costs one wake-up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mio::Waker;

use super::who::Who;

/// Connections with news, shared with engine threads.
pub struct Ready {
    list: Mutex<Vec<Who>>,
    pending: AtomicBool,
    waker: Arc<Waker>,
}

impl Ready {
    /// An empty list that wakes the loop through `waker`.
    pub fn new(waker: Arc<Waker>) -> Arc<Ready> {
        Arc::new(Ready {
            list: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            waker,
        })
    }

    /// Records that connection `who` has news and wakes the loop (called by engine threads).
    pub fn notify(&self, who: Who) {
        self.list
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(who);
        if !self.pending.swap(true, Ordering::AcqRel) {
            if let Err(e) = self.waker.wake() {
                log::error!("cannot wake the event loop: {e}");
            }
        }
    }

    /// The connections reported since the last call (maybe repeated).
    pub fn take(&self) -> Vec<Who> {
        self.pending.store(false, Ordering::Release);
        std::mem::take(&mut *self.list.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
