//! Content, name and login validation: never a panic, and whatever is accepted is valid by
//! the same rules. The check is `ember_engine::fuzzing::content::check`, which the corpus
//! replay in `engine/tests/fuzz_corpus_replays.rs` runs too.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ember_engine::fuzzing::content::check(data));
