//! A subscription's queue: an unbounded FIFO that costs one small allocation while empty
//! (no preallocated slots, no retained blocks), with an optional waker so that an event
//! loop learns when events arrive without polling. The hub enforces the bound.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crossbeam_channel::{RecvError, RecvTimeoutError, TryRecvError};
use parking_lot::{Condvar, Mutex};

use crate::events::SharedEvent;

/// Called when an event lands in an empty queue and when the stream ends.
type Waker = Arc<dyn Fn() + Send + Sync>;

/// Kept as capacity after a burst; anything above is given back once the queue drains.
const KEEP: usize = 16;

struct State {
    items: VecDeque<SharedEvent>,
    closed: bool,
    waker: Option<Waker>,
}

struct Queue {
    state: Mutex<State>,
    ready: Condvar,
}

/// The receiving end of a subscription. Its methods mirror `crossbeam_channel::Receiver`;
/// clones share the same queue. The stream ends (`recv` fails with `RecvError`) after the
/// last event once the engine detaches the subscription.
#[derive(Clone)]
pub struct Events {
    queue: Arc<Queue>,
}

/// The hub's end. Dropping it ends the stream.
pub(crate) struct Sink {
    queue: Arc<Queue>,
}

pub(crate) fn pair() -> (Sink, Events) {
    let queue = Arc::new(Queue {
        state: Mutex::new(State {
            items: VecDeque::new(),
            closed: false,
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

impl Sink {
    /// Events queued and not yet taken.
    pub(crate) fn len(&self) -> usize {
        self.queue.state.lock().items.len()
    }

    /// Queues an event; false when nobody holds the receiving end any more.
    pub(crate) fn send(&self, event: SharedEvent) -> bool {
        if Arc::strong_count(&self.queue) == 1 {
            return false;
        }
        let wake = {
            let mut state = self.queue.state.lock();
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
}

impl Drop for Sink {
    fn drop(&mut self) {
        let wake = {
            let mut state = self.queue.state.lock();
            state.closed = true;
            state.waker.clone()
        };
        self.queue.ready.notify_all();
        if let Some(w) = wake {
            w();
        }
    }
}

impl Events {
    /// Sets the function called (on an engine thread) whenever an event lands in the empty
    /// queue and when the stream ends. Keep it short and do not call the engine from it:
    /// e.g. mark the subscription ready and wake a poller. It is called at once if events
    /// are already waiting or the stream already ended.
    pub fn set_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        let waker: Waker = Arc::new(waker);
        let now = {
            let mut state = self.queue.state.lock();
            state.waker = Some(waker.clone());
            !state.items.is_empty() || state.closed
        };
        if now {
            waker();
        }
    }

    fn take(state: &mut State) -> Option<SharedEvent> {
        let item = state.items.pop_front();
        if state.items.is_empty() && state.items.capacity() > KEEP {
            state.items.shrink_to(KEEP);
        }
        item
    }

    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Result<SharedEvent, TryRecvError> {
        let mut state = self.queue.state.lock();
        match Self::take(&mut state) {
            Some(e) => Ok(e),
            None if state.closed => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Waits for the next event.
    pub fn recv(&self) -> Result<SharedEvent, RecvError> {
        let mut state = self.queue.state.lock();
        loop {
            if let Some(e) = Self::take(&mut state) {
                return Ok(e);
            }
            if state.closed {
                return Err(RecvError);
            }
            self.queue.ready.wait(&mut state);
        }
    }

    /// Waits up to `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<SharedEvent, RecvTimeoutError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.queue.state.lock();
        loop {
            if let Some(e) = Self::take(&mut state) {
                return Ok(e);
            }
            if state.closed {
                return Err(RecvTimeoutError::Disconnected);
            }
            match deadline {
                Some(d) => {
                    if self.queue.ready.wait_until(&mut state, d).timed_out()
                        && state.items.is_empty()
                    {
                        return Err(if state.closed {
                            RecvTimeoutError::Disconnected
                        } else {
                            RecvTimeoutError::Timeout
                        });
                    }
                }
                None => self.queue.ready.wait(&mut state),
            }
        }
    }

    /// The events waiting now, without blocking.
    pub fn try_iter(&self) -> impl Iterator<Item = SharedEvent> + '_ {
        std::iter::from_fn(move || self.try_recv().ok())
    }

    /// Every event until the stream ends (blocking).
    pub fn iter(&self) -> impl Iterator<Item = SharedEvent> + '_ {
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
        state.closed && state.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, Shared};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn ev() -> SharedEvent {
        Shared::new(Event::Lagged { resume_from: 1 })
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
        assert_eq!(events.try_recv().unwrap_err(), TryRecvError::Disconnected);
        assert_eq!(
            events.recv_timeout(Duration::from_millis(1)).unwrap_err(),
            RecvTimeoutError::Disconnected
        );
    }

    #[test]
    fn sending_to_a_dropped_receiver_fails() {
        let (sink, events) = pair();
        drop(events);
        assert!(!sink.send(ev()));
    }

    #[test]
    fn waker_fires_on_first_event_and_on_close() {
        let (sink, events) = pair();
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
