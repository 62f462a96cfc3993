//! The C ABI under arbitrary input: bytes as C strings (NULL, cut by a NUL, not UTF-8),
//! arbitrary `struct_size` / `abi_version` fields and NULL handles into the public
//! `ember_*` functions. The check is `ffi/fuzzing/c_abi/`, which the corpus replay in
//! `ffi/tests/fuzz_corpus_replays.rs` includes too.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../ffi/fuzzing/c_abi/mod.rs"]
mod c_abi;

fn fixture() -> &'static c_abi::Fixture {
    static FIXTURE: OnceLock<(tempfile::TempDir, c_abi::Fixture)> = OnceLock::new();
    &FIXTURE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let fixture = c_abi::Fixture::open(dir.path());
            (dir, fixture)
        })
        .1
}

fuzz_target!(|data: &[u8]| c_abi::check(fixture(), data));
