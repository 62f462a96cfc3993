//! Writes under contention, in release and for longer than the test does: every call must
//! succeed. `EMBER_CONTENTION_SECS` (default 30) sets the length of each of three rounds.

use std::time::{Duration, Instant};

fn main() {
    let secs: u64 = std::env::var("EMBER_CONTENTION_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let mut failed = 0;
    for round in 1..=3 {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let started = Instant::now();
        let report = ember_benches::contention::run(dir.path(), Duration::from_secs(secs));
        let took = started.elapsed().as_secs_f64();
        println!(
            "round {round}: {} writes ({:.0}/s), {} reads, {} subscriptions, {} failed calls",
            report.writes,
            report.writes as f64 / took,
            report.reads,
            report.subscriptions,
            report.failures.len()
        );
        for f in report.failures.iter().take(5) {
            println!("  {f}");
        }
        failed += report.failures.len();
    }
    if failed > 0 {
        eprintln!("{failed} calls failed");
        std::process::exit(1);
    }
}
