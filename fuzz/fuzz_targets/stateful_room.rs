//! Arbitrary sequences of post / retry / edit / delete / subscribe / page operations by three
//! users in a fresh room, checked against a model (dedup, gapless feed, final state,
//! subscriptions). The check is `ember_engine::fuzzing::stateful::check`, which the corpus
//! replay runs too.

#![no_main]

use std::sync::OnceLock;

use ember_engine::fuzzing::{Fixture, stateful};
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

fuzz_target!(|data: &[u8]| stateful::check(fixture(), data));
