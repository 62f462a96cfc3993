//! A database file that cannot be used is refused at open with an error naming the file:
//! never a panic, never an engine that fails later.
//!
//! SQLite only: about database files.

mod common;

use std::path::Path;

use common::*;
use ember_engine::{Engine, Error};

/// Opens `path` and expects `Error::Open` naming it; returns the reason.
fn open_error(path: &Path) -> String {
    match Engine::open(options(path)) {
        Err(Error::Open {
            path: named,
            reason,
        }) => {
            assert_eq!(
                named,
                path.display().to_string(),
                "the error names the file"
            );
            reason
        }
        Err(other) => panic!(
            "expected an Open error for {}, got {other:?}",
            path.display()
        ),
        Ok(_) => panic!("{} opened", path.display()),
    }
}

/// A real database with a few messages, closed: close copies everything out of the WAL, so
/// that the file alone is the database.
fn made(path: &Path) {
    let db = Engine::open(options(path)).expect("create");
    let ann = member(&db, "ann");
    let room = open_room(&db, ann.id, "Lobby");
    post(&db, ann.id, room, "hello");
    db.close();
    let wal = std::fs::metadata(format!("{}-wal", path.display())).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "close leaves an empty WAL");
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(&path, b"these are my notes, not a database\n".repeat(200)).unwrap();
    let reason = open_error(&path);
    assert!(reason.contains("not a database"), "{reason}");
}

#[test]
fn a_database_with_a_corrupt_schema_page_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ember.db");
    made(&path);
    // Page 1 past the 100-byte header holds the schema's B-tree: scramble it.
    let mut bytes = std::fs::read(&path).unwrap();
    for b in &mut bytes[100..2048] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    open_error(&path);
}

#[test]
fn a_truncated_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ember.db");
    made(&path);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    open_error(&path);
}

#[test]
fn a_database_on_a_read_only_file_system_is_refused() {
    let Some(disk) = disk::small_disk_or_skip("4m") else {
        return;
    };
    let path = disk.path().join("ember.db");
    made(&path);
    disk.make_read_only();
    let reason = open_error(&path);
    assert!(reason.contains("Read-only file system"), "{reason}");
}
