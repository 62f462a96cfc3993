//! The buffer against a model store: any interleaving, loss and duplication of
//! publications, with store reads answering the truth, yields the store's feed once, in
//! order.

use std::collections::{BTreeMap, HashMap, VecDeque};

use proptest::prelude::*;

use super::{GAP_MS, Reorder, Sequenced};

/// A change as published: message `msg` reached change sequence `seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct C {
    msg: u32,
    seq: u64,
}

impl Sequenced for C {
    fn change_seq(&self) -> u64 {
        self.seq
    }
    fn bytes(&self) -> usize {
        100
    }
}

/// The shared store: every message at its latest change.
#[derive(Default)]
struct Store {
    head: u64,
    latest: BTreeMap<u32, u64>,
}

impl Store {
    fn commit(&mut self, msg: u32) -> C {
        self.head += 1;
        self.latest.insert(msg, self.head);
        C {
            msg,
            seq: self.head,
        }
    }

    /// The changes feed after `since`, at most `limit`: (changes, upto, complete).
    fn feed(&self, since: u64, limit: usize) -> (Vec<C>, u64, bool) {
        let mut all: Vec<C> = self
            .latest
            .iter()
            .filter(|(_, s)| **s > since)
            .map(|(m, s)| C { msg: *m, seq: *s })
            .collect();
        all.sort_by_key(|c| c.seq);
        let complete = all.len() <= limit;
        all.truncate(limit);
        let upto = if complete {
            self.head
        } else {
            all.last().map_or(since, |c| c.seq)
        };
        (all, upto, complete)
    }
}

#[derive(Clone, Debug)]
enum Step {
    /// Some engine commits (a new message, or an edit of message `n % messages`).
    Commit { edit: Option<u32>, local: bool },
    /// A publication in flight arrives (`copies` times: 0 is a loss).
    Arrive { pick: usize, copies: u8 },
    /// This engine's dispatcher hands over its oldest own commit.
    Local,
    /// Time passes.
    Tick(u64),
    /// The subscription reads its starting point (the store's head now).
    Snapshot,
    /// The broker reconnected (or a loss was announced).
    Resync,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (proptest::option::of(0u32..8), any::<bool>())
            .prop_map(|(edit, local)| Step::Commit { edit, local }),
        5 => (any::<usize>(), prop_oneof![1 => Just(0u8), 6 => Just(1u8), 1 => Just(2u8)])
            .prop_map(|(pick, copies)| Step::Arrive { pick, copies }),
        2 => Just(Step::Local),
        2 => (0u64..(2 * GAP_MS)).prop_map(Step::Tick),
        1 => Just(Step::Snapshot),
        1 => Just(Step::Resync),
    ]
}

struct World {
    store: Store,
    buf: Reorder<C>,
    now: u64,
    in_flight: Vec<C>,
    local: VecDeque<C>,
    out: Vec<C>,
    anchor: Option<u64>,
    limit: usize,
    reads: usize,
}

impl World {
    /// Answers every store read the buffer asks for.
    fn serve(&mut self) {
        while let Some(since) = self.buf.due(self.now) {
            let (changes, upto, complete) = self.store.feed(since, self.limit);
            self.reads += 1;
            assert!(self.reads < 100_000, "store reads never end");
            self.buf
                .filled(since, changes, upto, complete, self.now, &mut self.out);
        }
    }
}

fn run(steps: Vec<Step>, limit: usize) {
    let mut w = World {
        store: Store::default(),
        buf: Reorder::default(),
        now: 0,
        in_flight: Vec::new(),
        local: VecDeque::new(),
        out: Vec::new(),
        anchor: None,
        limit,
        reads: 0,
    };
    let mut next_msg = 0u32;
    w.buf.open();
    for s in steps {
        match s {
            Step::Commit { edit, local } => {
                let msg = match edit {
                    Some(n) if next_msg > 0 => n % next_msg,
                    _ => {
                        next_msg += 1;
                        next_msg - 1
                    }
                };
                let c = w.store.commit(msg);
                if local {
                    w.local.push_back(c);
                } else {
                    w.in_flight.push(c);
                }
            }
            Step::Arrive { pick, copies } => {
                if !w.in_flight.is_empty() {
                    let c = w.in_flight.remove(pick % w.in_flight.len());
                    for _ in 0..copies {
                        w.buf.arrive(c, false, w.now, &mut w.out);
                    }
                }
            }
            Step::Local => {
                if let Some(c) = w.local.pop_front() {
                    w.buf.arrive(c, true, w.now, &mut w.out);
                    w.serve();
                    if w.anchor.is_some() {
                        // Own commits never wait on the broker.
                        assert!(w.buf.delivered().is_some_and(|d| d >= c.seq));
                    }
                    // Local publications also reach the other engines: not modelled here.
                }
            }
            Step::Tick(ms) => w.now += ms,
            Step::Snapshot => {
                if w.anchor.is_none() {
                    w.anchor = Some(w.store.head);
                    w.buf.anchor(w.store.head, w.now, &mut w.out);
                }
            }
            Step::Resync => w.buf.resync(),
        }
        w.serve();
    }
    if w.anchor.is_none() {
        w.anchor = Some(w.store.head);
        w.buf.anchor(w.store.head, w.now, &mut w.out);
    }
    // The end: own commits are all handed over, and a reconnect (which every loss in
    // PUB/SUB comes with) makes the rest whole.
    while let Some(c) = w.local.pop_front() {
        w.buf.arrive(c, true, w.now, &mut w.out);
        w.serve();
    }
    w.buf.resync();
    w.serve();

    let anchor = w.anchor.unwrap_or(0);
    let seqs: Vec<u64> = w.out.iter().map(|c| c.seq).collect();
    assert!(
        seqs.windows(2).all(|p| p[0] < p[1]),
        "delivered out of order or twice: {seqs:?}"
    );
    assert!(
        seqs.iter().all(|s| *s > anchor),
        "delivered before the anchor"
    );
    // Each message at its last delivered state equals the store's feed after the anchor.
    let mut last: HashMap<u32, u64> = HashMap::new();
    for c in &w.out {
        last.insert(c.msg, c.seq);
    }
    let mut seen: Vec<C> = last.into_iter().map(|(msg, seq)| C { msg, seq }).collect();
    seen.sort_by_key(|c| c.seq);
    let (truth, _, _) = w.store.feed(anchor, usize::MAX);
    assert_eq!(seen, truth);
    // And nothing delivered was made up: every delivered change happened.
    assert!(seqs.last().is_none_or(|s| *s <= w.store.head));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_interleaving_loss_and_duplication_yields_the_feed_once_in_order(
        steps in proptest::collection::vec(step(), 0..120),
        limit in 1usize..6,
    ) {
        run(steps, limit);
    }
}

#[test]
fn a_gap_is_held_then_read_after_the_bound() {
    let mut buf: Reorder<C> = Reorder::default();
    let mut out = Vec::new();
    buf.open();
    buf.anchor(0, 0, &mut out);
    assert_eq!(buf.due(0), Some(0)); // the first read after anchoring
    buf.filled(0, vec![], 0, true, 0, &mut out);
    buf.arrive(C { msg: 1, seq: 2 }, false, 10, &mut out);
    assert!(out.is_empty());
    assert_eq!(buf.due(10 + GAP_MS - 1), None);
    assert_eq!(buf.due(10 + GAP_MS), Some(0));
    buf.arrive(C { msg: 0, seq: 1 }, false, 20, &mut out);
    assert_eq!(out.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(buf.due(1000), None);
}
