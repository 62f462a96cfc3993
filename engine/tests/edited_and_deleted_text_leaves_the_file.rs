//! Deleted means gone: once a change is checkpointed, text from before an edit and the text
//! of a deleted message are nowhere in the database file, neither in the message rows nor
//! in the full-text index pages (searching no longer finding a word is not enough).
//!
//! SQLite only: reads the database file's bytes after a checkpoint.

mod common;

use common::*;
use ember_engine::{Engine, MessageId, UserId};

/// Waits until search agrees with the current text, closes the engine, checkpoints, and
/// returns the database file's bytes.
fn file_after_checkpoint(db: TestDb, user: ember_engine::UserId, gone: &[&str]) -> Vec<u8> {
    for word in gone {
        eventually(&format!("`{word}` is out of the index"), || {
            search_ids(&db, user, word).is_empty()
        });
    }
    let path = db.path().to_path_buf();
    db.engine.close();
    // Copy whatever the WAL still holds into the database file, as any checkpoint would.
    let conn = rusqlite::Connection::open(&path).expect("open with SQLite");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    drop(conn);
    std::fs::read(&path).expect("read the database file")
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Posts `text` among filler (so that the index holds more than one term per page), waits
/// until `word` is searchable, applies `change` to the message, and returns the database
/// file's bytes once the change is indexed and checkpointed.
fn file_after(text: &str, word: &str, change: impl FnOnce(&Engine, UserId, MessageId)) -> Vec<u8> {
    let db = open();
    let ann = member(&db, "ann");
    let room = open_room(&db, ann.id, "Lobby");
    for i in 0..50 {
        post(
            &db,
            ann.id,
            room,
            &format!("filler message number {i} about lunch"),
        );
    }
    let m = post(&db, ann.id, room, text);
    eventually("the word is searchable", || {
        search_ids(&db, ann.id, word) == vec![m.id]
    });
    change(&db, ann.id, m.id);
    file_after_checkpoint(db, ann.id, &[word])
}

#[test]
fn text_replaced_by_an_edit_is_not_in_the_file() {
    let bytes = file_after(
        "meet at quixotically7 tomorrow",
        "quixotically7",
        |db, user, m| {
            db.edit_message(user, m, "meet at noon tomorrow")
                .expect("edit");
        },
    );
    assert!(
        !contains(&bytes, "quixotically7"),
        "the text from before the edit is still in the database file"
    );
    assert!(contains(&bytes, "noon"), "the new text should be there");
}

#[test]
fn text_of_a_deleted_message_is_not_in_the_file() {
    let bytes = file_after(
        "the password is zebrafishlantern9",
        "zebrafishlantern9",
        |db, user, m| {
            db.delete_message(user, m).expect("delete");
        },
    );
    assert!(
        !contains(&bytes, "zebrafishlantern9"),
        "the deleted text is still in the database file"
    );
}
