//! A subscription's queue: an unbounded FIFO that costs one small allocation while empty
//! (no preallocated slots, no retained blocks), with an optional waker so that an event
//! loop learns when events arrive without polling. The hub enforces the bound.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::recv::{RecvError, RecvTimeoutError, TryRecvError};

/// Called when an event lands in an empty queue and when the stream ends.
type Waker = Arc<dyn Fn() + Send + Sync>;

/// Kept as capacity after a burst; anything above is given back once the queue drains.
const KEEP: usize = 16;

struct State<T> {
    items: VecDeque<T>,
    /// Why the stream ended, once it did.
    end: Option<RecvError>,
    waker: Option<Waker>,
}

struct Queue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

/// The receiving end of a subscription: its items in order, then why it ended. Clones
/// share the same queue. `T` is [`crate::SharedEvent`] for room subscriptions,
/// [`crate::UserEvent`] for user subscriptions and [`crate::Notification`] for the
/// notification stream.
///
/// Every item queued before the end is delivered first; then every receive fails with
/// the same [`RecvError`] (`Lagged`, `Revoked` or `Closed`).
pub struct Events<T> {
    queue: Arc<Queue<T>>,
}

impl<T> Clone for Events<T> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

/// The hub's end. Dropping it ends the stream (`Closed` unless [`Sink::end`] said why).
pub(crate) struct Sink<T> {
    queue: Arc<Queue<T>>,
}

pub(crate) fn pair<T>() -> (Sink<T>, Events<T>) {
    let queue = Arc::new(Queue {
        state: Mutex::new(State {
            items: VecDeque::new(),
            end: None,
            waker: None,
        }),
        ready: Condvar::new(),
    });
    (
        Sink {
            queue: queue.clone(),
        },
        Events { queue },
    )
}

impl<T> Sink<T> {
    /// Events queued and not yet taken.
    pub(crate) fn len(&self) -> usize {
        self.queue.state.lock().items.len()
    }

    /// Queues an event; false when nobody holds the receiving end any more.
    pub(crate) fn send(&self, event: T) -> bool {
        if Arc::strong_count(&self.queue) == 1 {
            return false;
        }
        let wake = {
            let mut state = self.queue.state.lock();
            if state.end.is_some() {
                return false;
            }
            state.items.push_back(event);
            (state.items.len() == 1)
                .then(|| state.waker.clone())
                .flatten()
        };
        self.queue.ready.notify_one();
        if let Some(w) = wake {
            w();
        }
        true
    }

    /// Ends the stream for `reason` (the first reason given wins).
    pub(crate) fn end(&self, reason: RecvError) {
        let wake = {
            let mut state = self.queue.state.lock();
            if state.end.is_some() {
                return;
            }
            state.end = Some(reason);
            state.waker.clone()
        };
        self.queue.ready.notify_all();
        if let Some(w) = wake {
            w();
        }
    }
}

impl<T> Drop for Sink<T> {
    fn drop(&mut self) {
        self.end(RecvError::Closed);
    }
}

impl<T> Events<T> {
    /// Sets the function called (on an engine thread) whenever an event lands in the empty
    /// queue and when the stream ends. Keep it short and do not call the engine from it:
    /// e.g. mark the subscription ready and wake a poller. It is called at once if events
    /// are already waiting or the stream already ended.
    pub fn set_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        let waker: Waker = Arc::new(waker);
        let now = {
            let mut state = self.queue.state.lock();
            state.waker = Some(waker.clone());
            !state.items.is_empty() || state.end.is_some()
        };
        if now {
            waker();
        }
    }

    fn take(state: &mut State<T>) -> Option<T> {
        let item = state.items.pop_front();
        if state.items.is_empty() && state.items.capacity() > KEEP {
            state.items.shrink_to(KEEP);
        }
        item
    }

    /// The next event if one is waiting; `Empty` when none is, or why the stream ended.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.queue.state.lock();
        match Self::take(&mut state) {
            Some(e) => Ok(e),
            None => Err(state.end.map_or(TryRecvError::Empty, Into::into)),
        }
    }

    /// Waits for the next event, or fails with why the stream ended.
    pub fn recv(&self) -> Result<T, RecvError> {
        let mut state = self.queue.state.lock();
        loop {
            if let Some(e) = Self::take(&mut state) {
                return Ok(e);
            }
            if let Some(end) = state.end {
                return Err(end);
            }
            self.queue.ready.wait(&mut state);
        }
    }

    /// Waits up to `timeout` for the next event; `Timeout` when none came, or why the
    /// stream ended.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.queue.state.lock();
        loop {
            if let Some(e) = Self::take(&mut state) {
                return Ok(e);
            }
            if let Some(end) = state.end {
                return Err(end.into());
            }
            match deadline {
                Some(d) => {
                    if self.queue.ready.wait_until(&mut state, d).timed_out()
                        && state.items.is_empty()
                    {
                        return Err(state.end.map_or(RecvTimeoutError::Timeout, Into::into));
                    }
                }
                None => self.queue.ready.wait(&mut state),
            }
        }
    }

    /// The events waiting now, without blocking (stops at the end of the stream too).
    pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.try_recv().ok())
    }

    /// Every event until the stream ends (blocking); [`Events::ended`] then says why.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.recv().ok())
    }

    /// Events waiting now.
    pub fn len(&self) -> usize {
        self.queue.state.lock().items.len()
    }

    /// True when no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once the stream ended and every event was taken.
    pub fn is_finished(&self) -> bool {
        let state = self.queue.state.lock();
        state.end.is_some() && state.items.is_empty()
    }

    /// Why the stream ended, once it did (events may still be waiting before the end).
    pub fn ended(&self) -> Option<RecvError> {
        self.queue.state.lock().end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn ev() -> u32 {
        7
    }

    #[test]
    fn fifo_then_disconnect() {
        let (sink, events) = pair();
        assert!(sink.send(ev()));
        assert!(sink.send(ev()));
        assert_eq!(sink.len(), 2);
        drop(sink);
        assert!(events.recv().is_ok());
        assert!(events.try_recv().is_ok());
        assert_eq!(events.try_recv().unwrap_err(), TryRecvError::Closed);
        assert_eq!(
            events.recv_timeout(Duration::from_millis(1)).unwrap_err(),
            RecvTimeoutError::Closed
        );
    }

    #[test]
    fn the_end_reason_follows_the_last_event_and_stays() {
        let (sink, events) = pair();
        assert_eq!(events.try_recv().unwrap_err(), TryRecvError::Empty);
        sink.send(ev());
        sink.end(RecvError::Lagged { resume_from: 9 });
        assert!(!sink.send(ev()), "nothing is queued after the end");
        drop(sink);
        assert_eq!(events.ended(), Some(RecvError::Lagged { resume_from: 9 }));
        assert_eq!(events.recv(), Ok(7));
        for _ in 0..2 {
            assert_eq!(events.recv(), Err(RecvError::Lagged { resume_from: 9 }));
        }
        assert_eq!(
            events.try_recv(),
            Err(TryRecvError::Lagged { resume_from: 9 })
        );
        assert!(events.is_finished());
    }

    #[test]
    fn sending_to_a_dropped_receiver_fails() {
        let (sink, events) = pair::<u32>();
        drop(events);
        assert!(!sink.send(ev()));
    }

    #[test]
    fn waker_fires_on_first_event_and_on_close() {
        let (sink, events) = pair::<u32>();
        let woken = Arc::new(AtomicUsize::new(0));
        let w = woken.clone();
        events.set_waker(move || {
            w.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(woken.load(Ordering::SeqCst), 0);
        sink.send(ev());
        sink.send(ev());
        assert_eq!(
            woken.load(Ordering::SeqCst),
            1,
            "only the empty → non-empty edge wakes"
        );
        events.try_iter().count();
        sink.send(ev());
        assert_eq!(woken.load(Ordering::SeqCst), 2);
        drop(sink);
        assert_eq!(woken.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn recv_timeout_waits_for_a_sender() {
        let (sink, events) = pair();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            sink.send(ev());
            sink
        });
        assert!(events.recv_timeout(Duration::from_secs(5)).is_ok());
        assert_eq!(
            events.recv_timeout(Duration::from_millis(5)).unwrap_err(),
            RecvTimeoutError::Timeout
        );
        drop(t.join());
    }
}
