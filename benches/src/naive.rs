//! The `naive` baseline: what most chat servers do with SQLite.
//!
//! Exactly the schema below (fixed, not tuned), WAL with `synchronous=NORMAL` (Ember's
//! default, so that the comparison is about design, not durability), the default page
//! cache and the default automatic checkpoint, random UUID v4 ids and client ids, one
//! transaction per post, and SELECT-then-INSERT dedup on `(room_id, client_message_id)`.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

/// The baseline's schema, verbatim from the issue.
pub const SCHEMA: &str = "
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE rooms(id INTEGER PRIMARY KEY, name TEXT, last_message_at INTEGER);
CREATE TABLE messages(seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE,
  room_id INTEGER NOT NULL, creator_id INTEGER NOT NULL, client_message_id BLOB NOT NULL,
  content TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE(room_id, client_message_id));
CREATE INDEX messages_room_seq ON messages(room_id, seq);
CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='seq');
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, content) VALUES (new.seq, new.content); END;
";

/// A naive store with its users and rooms.
pub struct Naive {
    conn: Connection,
}

impl Naive {
    /// Creates the database at `path` with `users` users and `rooms` rooms (ids 1..=n).
    pub fn create(path: &Path, users: usize, rooms: usize) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        assert_eq!(mode, "wal");
        conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        conn.execute_batch(SCHEMA)?;
        for u in 1..=users {
            conn.execute(
                "INSERT INTO users(id, name) VALUES (?1, ?2)",
                params![u, format!("user{u}")],
            )?;
        }
        for r in 1..=rooms {
            conn.execute(
                "INSERT INTO rooms(id, name) VALUES (?1, ?2)",
                params![r, format!("room{r}")],
            )?;
        }
        Ok(Self { conn })
    }

    /// Posts `content` by user `user` into room `room` (1-based ids) with a fresh random
    /// client id, in its own transaction: SELECT by `(room_id, client_message_id)`, then
    /// INSERT when absent. Returns the message's `seq` (the existing one for a duplicate).
    pub fn post(
        &mut self,
        room: i64,
        user: i64,
        content: &str,
        now_ms: i64,
    ) -> rusqlite::Result<i64> {
        self.post_with_client_id(room, user, Uuid::new_v4(), content, now_ms)
    }

    /// [`Naive::post`] with a given client id (for retries).
    pub fn post_with_client_id(
        &mut self,
        room: i64,
        user: i64,
        client_id: Uuid,
        content: &str,
        now_ms: i64,
    ) -> rusqlite::Result<i64> {
        let tx = self.conn.transaction()?;
        let existing: Option<i64> = tx
            .prepare_cached(
                "SELECT seq FROM messages WHERE room_id = ?1 AND client_message_id = ?2",
            )?
            .query_row(params![room, client_id.as_bytes()], |r| r.get(0))
            .optional()?;
        let seq = match existing {
            Some(seq) => seq,
            None => {
                tx.prepare_cached(
                    "INSERT INTO messages(id, room_id, creator_id, client_message_id, content, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    Uuid::new_v4().as_bytes(),
                    room,
                    user,
                    client_id.as_bytes(),
                    content,
                    now_ms
                ])?;
                tx.last_insert_rowid()
            }
        };
        tx.commit()?;
        Ok(seq)
    }

    /// The connection, for checks.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_and_fts_work() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Naive::create(&dir.path().join("n.db"), 2, 3).unwrap();
        let id = Uuid::new_v4();
        let a = db.post_with_client_id(1, 1, id, "hello world", 0).unwrap();
        let b = db.post_with_client_id(1, 1, id, "hello world", 0).unwrap();
        assert_eq!(a, b);
        db.post(2, 2, "other words", 0).unwrap();
        let hits: i64 = db
            .connection()
            .query_row(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'hello'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(hits, 1);
    }
}
