//! The full-text query builder: no input yields an FTS5 error, on a bare FTS5 table with the
//! engine's tokenizer and through `Engine::search`. The check is
//! `ember_engine::fuzzing::search::check`, which the corpus replay runs too.

#![no_main]

use std::sync::OnceLock;

use ember_engine::fuzzing::{Fixture, search};
use libfuzzer_sys::fuzz_target;

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<(tempfile::TempDir, Fixture)> = OnceLock::new();
    &FIXTURE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let fixture = Fixture::open(dir.path());
            search::seed(&fixture);
            (dir, fixture)
        })
        .1
}

fuzz_target!(|data: &[u8]| search::check(fixture(), data));
