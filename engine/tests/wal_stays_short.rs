//! Under writes that never pause, the WAL is started over instead of growing by every
//! commit (it reached 2 GB after 200,000 posts before the writer bounded it).
//!
//! SQLite only: about SQLite's WAL (drives `RawStore`).

mod common;

use ember_engine::{Engine, RawStore};

#[test]
fn the_wal_starts_over_under_sustained_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ember.db");
    let opts = common::options(&path);
    let db = Engine::open(opts.clone()).unwrap();
    let ann = common::member(&db, "ann");
    let rooms: Vec<_> = (0..50)
        .map(|i| common::open_room(&db, ann.id, &format!("room {i}")))
        .collect();
    db.close();

    // The storage layer alone, committing batch after batch with no pause and no
    // checkpointer thread: only the writer's own bound keeps the WAL short.
    let mut store = RawStore::open(&opts).unwrap();
    let wal = dir.path().join("ember.db-wal");
    let text = "a message long enough to fill pages at a realistic rate ".repeat(2);
    let (mut posts, mut largest) = (0, 0);
    for round in 0..1_500 {
        let batch = (0..8)
            .map(|i| common::new_post(ann.id, rooms[(round * 8 + i) % rooms.len()], &text))
            .collect();
        posts += store.post_batch(batch).unwrap().len();
        largest = largest.max(std::fs::metadata(&wal).unwrap().len());
    }
    drop(store);
    // 12,000 posts at 8 per commit write ~6 KiB of WAL each (69 MiB in all without the
    // bound); the WAL is started over after 16,384 frames (~32 MiB with 2 KiB pages).
    assert_eq!(posts, 12_000);
    assert!(largest < 40 << 20, "the WAL grew to {} MiB", largest >> 20);
    let db = Engine::open(opts).unwrap();
    assert_eq!(
        common::history(&db, ann.id, rooms[0]).len(),
        12_000 / rooms.len()
    );
}
