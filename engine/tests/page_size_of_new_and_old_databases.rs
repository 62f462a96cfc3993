//! New databases get Ember's page size; a database created with another one keeps it and
//! works as before (SQLite cannot change the page size of a WAL database in place).
//!
//! SQLite only: about the SQLite file's page size.

mod common;

use ember_engine::{Engine, PAGE_SIZE};

fn page_size(path: &std::path::Path) -> u32 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_database_gets_the_engine_page_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ember.db");
    let db = Engine::open(common::options(&path)).unwrap();
    let ann = common::member(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    common::post(&db, ann.id, room, "hello");
    db.close();
    assert_eq!(page_size(&path), PAGE_SIZE);
    assert_ne!(
        PAGE_SIZE, 4096,
        "the test below needs a different page size"
    );
}

#[test]
fn a_database_with_another_page_size_keeps_it_and_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ember.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA page_size=4096; PRAGMA journal_mode=WAL; VACUUM;")
            .unwrap();
    }
    let db = Engine::open(common::options(&path)).unwrap();
    let ann = common::member(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    let posted = common::post(&db, ann.id, room, "kept");
    db.close();
    assert_eq!(page_size(&path), 4096);
    let db = Engine::open(common::options(&path)).unwrap();
    let history = common::history(&db, ann.id, room);
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].id, posted.id);
}
