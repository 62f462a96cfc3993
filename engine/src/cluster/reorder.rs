//! One room's reorder and gap-fill buffer: pure state, no I/O, no clock of its own.
//!
//! It is told what arrives (this engine's commits and other engines' publications, in any
//! order, lost or doubled), what store reads answered, and the time; it says what to
//! deliver and when to read the store. What it delivers is the room's changes feed after
//! its anchor: strictly increasing `change_seq`, each change once, none missing — a change
//! the store has since superseded (a message edited again) may be skipped for the newer
//! one, exactly as a replay from the feed would.
//!
//! - A change ahead of a missing one is held; when the gap has not closed within
//!   [`GAP_MS`], or at once for one of this engine's own commits, a store read from the
//!   last delivered change is due.
//! - Until anchored (a subscription read its starting point), everything is held.
//! - Held changes are bounded by bytes ([`HOLD_BYTES`]); past that they are dropped and a
//!   store read, which has them all, is due.

use std::collections::BTreeMap;

/// How long a change ahead of a gap waits for the missing ones before the store is read.
pub(crate) const GAP_MS: u64 = 50;
/// Most bytes of changes held ahead of a gap.
pub(crate) const HOLD_BYTES: usize = 1 << 20;

/// Something the buffer orders: a change with its place in the room's change sequence.
pub(crate) trait Sequenced {
    /// The room's change sequence value.
    fn change_seq(&self) -> u64;
    /// Roughly how many bytes it holds.
    fn bytes(&self) -> usize;
}

/// The buffer of one room.
#[derive(Debug)]
pub(crate) struct Reorder<T> {
    /// Every change up to this one was delivered or superseded; `None` until anchored.
    delivered: Option<u64>,
    held: BTreeMap<u64, T>,
    held_bytes: usize,
    /// When the oldest held change started waiting for a predecessor (ms).
    gap_since: Option<u64>,
    /// A store read is due at once.
    read_now: bool,
    /// Subscriptions still reading their starting point, and the lowest point read.
    opening: usize,
    lowest: Option<u64>,
}

impl<T: Sequenced> Default for Reorder<T> {
    fn default() -> Self {
        Self {
            delivered: None,
            held: BTreeMap::new(),
            held_bytes: 0,
            gap_since: None,
            read_now: false,
            opening: 0,
            lowest: None,
        }
    }
}

impl<T: Sequenced> Reorder<T> {
    /// The last change delivered (or superseded), once anchored.
    #[cfg(test)]
    pub(crate) fn delivered(&self) -> Option<u64> {
        self.delivered
    }

    /// A subscription starts reading its starting point: hold everything until it
    /// [`Reorder::anchor`]s (or [`Reorder::cancel`]s).
    pub(crate) fn open(&mut self) {
        self.opening += 1;
    }

    /// A subscription read its starting point `at` (every change up to it is in its
    /// replay). The first anchoring, once no other subscription is still opening, starts
    /// delivery after the lowest point read and asks for one store read. Later ones change
    /// nothing: whatever a later subscription needs after its point was delivered after it
    /// registered.
    pub(crate) fn anchor(&mut self, at: u64, now: u64, out: &mut Vec<T>) {
        self.lowest = Some(self.lowest.map_or(at, |l| l.min(at)));
        self.opening = self.opening.saturating_sub(1);
        self.settle(now, out);
    }

    /// A subscription that was opening failed.
    pub(crate) fn cancel(&mut self, now: u64, out: &mut Vec<T>) {
        self.opening = self.opening.saturating_sub(1);
        self.settle(now, out);
    }

    fn settle(&mut self, now: u64, out: &mut Vec<T>) {
        if self.delivered.is_some() || self.opening > 0 {
            return;
        }
        if let Some(at) = self.lowest.take() {
            self.delivered = Some(at);
            self.read_now = true;
            self.drain(now, out);
        }
    }

    /// A change arrived; `local` when this engine committed it (its predecessors are then
    /// read from the store at once rather than waited for).
    pub(crate) fn arrive(&mut self, change: T, local: bool, now: u64, out: &mut Vec<T>) {
        let seq = change.change_seq();
        if self.delivered.is_some_and(|d| seq <= d) {
            return;
        }
        if local && self.delivered.is_some_and(|d| seq > d + 1) {
            self.read_now = true;
        }
        let bytes = change.bytes();
        if let Some(old) = self.held.insert(seq, change) {
            self.held_bytes -= old.bytes();
        }
        self.held_bytes += bytes;
        if self.held_bytes > HOLD_BYTES {
            // The store has every one of them: let them go and read it.
            self.held.clear();
            self.held_bytes = 0;
            self.read_now = true;
        }
        self.drain(now, out);
    }

    /// Publications may have been lost (broker reconnect, a new channel subscription):
    /// read the store once.
    pub(crate) fn resync(&mut self) {
        self.read_now = true;
    }

    /// `Some(since)` when a store read of the changes after `since` is due now.
    pub(crate) fn due(&self, now: u64) -> Option<u64> {
        let delivered = self.delivered?;
        let gap_expired = self
            .gap_since
            .is_some_and(|t| now.saturating_sub(t) >= GAP_MS);
        (self.read_now || gap_expired).then_some(delivered)
    }

    /// When a store read will be due if nothing arrives (ms), for the caller's wait.
    pub(crate) fn deadline(&self) -> Option<u64> {
        self.delivered?;
        self.gap_since.map(|t| t + GAP_MS)
    }

    /// The store answered a read of the changes after `since`: `changes` in change order,
    /// accounting for every change up to `upto` (the room's head when the page was
    /// complete, else its last change; another read is then due).
    pub(crate) fn filled(
        &mut self,
        since: u64,
        changes: Vec<T>,
        upto: u64,
        complete: bool,
        now: u64,
        out: &mut Vec<T>,
    ) {
        let Some(delivered) = self.delivered else {
            return;
        };
        if since > delivered {
            // An answer to a question that no longer matters (cannot happen when reads
            // are answered before anything else arrives; harmless if it does).
            return;
        }
        let mut last = delivered;
        for change in changes {
            let seq = change.change_seq();
            if seq > last {
                last = seq;
                out.push(change);
            }
        }
        let delivered = last.max(upto);
        self.delivered = Some(delivered);
        let kept = self.held.split_off(&(delivered + 1));
        self.held = kept;
        self.held_bytes = self.held.values().map(T::bytes).sum();
        self.read_now = !complete;
        self.gap_since = None;
        self.drain(now, out);
    }

    /// Delivers the held changes that follow the last delivered one.
    fn drain(&mut self, now: u64, out: &mut Vec<T>) {
        let Some(mut delivered) = self.delivered else {
            return;
        };
        let mut progressed = false;
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() != delivered + 1 {
                break;
            }
            let change = entry.remove();
            self.held_bytes -= change.bytes();
            delivered += 1;
            out.push(change);
            progressed = true;
        }
        self.delivered = Some(delivered);
        self.gap_since = match (self.held.is_empty(), self.gap_since) {
            (true, _) => None,
            (false, Some(t)) if !progressed => Some(t),
            (false, _) => Some(now),
        };
    }

    /// True when nothing is held or opening (the buffer may be dropped when the room
    /// has no subscriber left).
    pub(crate) fn idle(&self) -> bool {
        self.held.is_empty() && self.opening == 0
    }
}

#[cfg(test)]
mod tests;
