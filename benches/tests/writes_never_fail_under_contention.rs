//! A valid write never fails because another connection held a lock: posters, editors and
//! deleters run while readers page the feed, history and search, subscribers come and go,
//! and the checkpointer and indexer work. (Longer, in release:
//! `cargo bench -p ember-benches --bench contention`.)

#[path = "../../engine/tests/common/watchdog.rs"]
mod watchdog;

use std::time::Duration;

#[test]
fn no_call_fails_while_writers_readers_and_the_checkpointer_contend() {
    watchdog::arm();
    let secs = std::env::var("EMBER_CONTENTION_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let report = ember_benches::contention::run(dir.path(), Duration::from_secs(secs));
    assert!(
        report.failures.is_empty(),
        "{} failed calls, first: {:?}",
        report.failures.len(),
        report.failures.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        report.writes > 100,
        "too few writes to mean anything: {report:?}"
    );
    assert!(
        report.reads > 100,
        "too few reads to mean anything: {report:?}"
    );
    assert!(
        report.subscriptions > 10,
        "too few subscriptions: {report:?}"
    );
}
