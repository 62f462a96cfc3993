//! Client WebSocket frames through the server's decoding and dispatch, as an authenticated user on a real server over a real engine: never a panic or a closed connection, every frame answered by exactly one reply of its kind or an error, with its `ref`.
//! The check is `ember_server::fuzzing::frames::check`, which the corpus replay in
//! `server-bin/tests/fuzz_corpus_replays.rs` runs too.

#![no_main]

use std::sync::OnceLock;

use ember_server::fuzzing::{Fixture, frames};
use libfuzzer_sys::fuzz_target;

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<(tempfile::TempDir, Fixture)> = OnceLock::new();
    &FIXTURE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let fixture = Fixture::open(dir.path());
            (dir, fixture)
        })
        .1
}

fuzz_target!(|data: &[u8]| frames::check(fixture(), data));
