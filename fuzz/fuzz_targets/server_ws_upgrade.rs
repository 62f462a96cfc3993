//! The WebSocket upgrade handshake (the upgrade headers and the token in `Authorization: Bearer`, a `bearer.` subprotocol or `?token=`), checked against the documented rules on a real server.
//! The check is `ember_server::fuzzing::upgrade::check`, which the corpus replay in
//! `server-bin/tests/fuzz_corpus_replays.rs` runs too.

#![no_main]

use std::sync::OnceLock;

use ember_server::fuzzing::{Fixture, upgrade};
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

fuzz_target!(|data: &[u8]| upgrade::check(fixture(), data));
