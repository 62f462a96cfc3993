//! Ways of posting through an [`Engine`], each returning acknowledgement latencies.

use std::time::{Duration, Instant};

use ember_engine::{Engine, Request, Response};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::fixture::World;
use crate::measure::Latencies;
use crate::text::Vocabulary;

/// `threads` threads calling the blocking [`Engine::post`] as fast as acknowledgements
/// come, `posts` in all; thread `t` posts as user `t`. Latency is call to return.
pub fn blocking_posters(
    engine: &Engine,
    world: &World,
    vocab: &Vocabulary,
    posts: usize,
    threads: usize,
) -> Latencies {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine = posts / threads + usize::from(t < posts % threads);
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(100 + t as u64);
                    let mut lat = Latencies::with_capacity(mine);
                    for _ in 0..mine {
                        let post = world.post(t, vocab, &mut rng);
                        let sent = Instant::now();
                        engine.post(post).expect("post");
                        lat.push(sent.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut all = Latencies::with_capacity(posts);
        for h in handles {
            all.merge(h.join().expect("poster thread"));
        }
        all
    })
}

/// One thread posting through [`Engine::pipeline`], keeping `in_flight` posts outstanding:
/// it submits until `in_flight` are unacknowledged, then reads one completion, and so on.
/// Latency is submit to completion read.
pub fn pipelined(
    engine: &Engine,
    world: &World,
    vocab: &Vocabulary,
    posts: usize,
    in_flight: usize,
) -> Latencies {
    let mut pipeline = engine.pipeline();
    let mut rng = StdRng::seed_from_u64(3);
    let mut sent = Vec::with_capacity(posts);
    let mut lat = Latencies::with_capacity(posts);
    while lat.len() < posts {
        while sent.len() < posts && sent.len() - lat.len() < in_flight {
            let post = world.post(sent.len(), vocab, &mut rng);
            let ticket = pipeline.submit(Request::Post(post)).expect("submit");
            assert_eq!(ticket as usize, sent.len());
            sent.push(Instant::now());
        }
        let done = pipeline.completions().recv().expect("completion");
        assert!(
            matches!(done.result, Ok(Response::Posted(_))),
            "{:?}",
            done.result
        );
        lat.push(sent[done.ticket as usize].elapsed());
    }
    lat
}

/// When a paced poster posts: at `first`, then every `period` until `end`; only posts due
/// at or after `record_from` are recorded (the ones before are a warm-up).
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// The first post is due here.
    pub first: Instant,
    /// Time between two posts of this poster.
    pub period: Duration,
    /// Posts due before this are not recorded.
    pub record_from: Instant,
    /// No post is due at or after this.
    pub end: Instant,
}

/// Latencies of a paced poster.
#[derive(Debug, Default)]
pub struct PacedLatencies {
    /// From the scheduled time to the acknowledgement (counts a poster running late, so no
    /// coordinated omission).
    pub from_schedule: Latencies,
    /// From the call to the acknowledgement.
    pub from_call: Latencies,
}

/// Posts as user `t` on `schedule`, with the blocking [`Engine::post`].
pub fn paced_poster(
    engine: &Engine,
    world: &World,
    vocab: &Vocabulary,
    t: usize,
    schedule: Schedule,
) -> PacedLatencies {
    let mut rng = StdRng::seed_from_u64(200 + t as u64);
    let mut out = PacedLatencies::default();
    let mut due = schedule.first;
    while due < schedule.end {
        let post = world.post(t, vocab, &mut rng);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let called = Instant::now();
        engine.post(post).expect("paced post");
        let acked = Instant::now();
        if due >= schedule.record_from {
            out.from_schedule.push(acked - due);
            out.from_call.push(acked - called);
        }
        due += schedule.period;
    }
    out
}
