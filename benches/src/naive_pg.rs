//! The naive baseline on PostgreSQL: what most chat servers on PostgreSQL do.
//!
//! One transaction per post: `SELECT` the `(room, client_message_id)` pair, and if it is
//! new, take the room's next `seq` from its row (`UPDATE … RETURNING`) and `INSERT` the
//! message; a trigger fills its `tsvector` and a GIN index covers it; ids are random UUID
//! v4. The caller posts from a pool of connections (16 is the baseline, NOTES.md).

use postgres::{Client, NoTls, Statement};
use uuid::Uuid;

const SCHEMA: &str = r#"
CREATE TABLE users(id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE rooms(id bigint PRIMARY KEY, name text NOT NULL,
    last_seq bigint NOT NULL DEFAULT 0, last_message_at bigint);
CREATE TABLE messages(
    id uuid PRIMARY KEY,
    room_id bigint NOT NULL REFERENCES rooms(id),
    seq bigint NOT NULL,
    creator_id bigint NOT NULL REFERENCES users(id),
    client_message_id uuid NOT NULL,
    content text NOT NULL,
    created_at bigint NOT NULL,
    search tsvector,
    UNIQUE(room_id, client_message_id),
    UNIQUE(room_id, seq));
CREATE INDEX messages_search ON messages USING gin(search);
CREATE FUNCTION messages_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.search := to_tsvector('english', NEW.content); RETURN NEW; END $$;
CREATE TRIGGER messages_search BEFORE INSERT OR UPDATE OF content ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_search();
"#;

/// Creates the naive schema with `users` users and `rooms` rooms (ids from 1) in the empty
/// database at `url`.
pub fn create(url: &str, users: usize, rooms: usize) -> Result<(), postgres::Error> {
    let mut c = Client::connect(url, NoTls)?;
    c.batch_execute(SCHEMA)?;
    c.execute(
        "INSERT INTO users SELECT i, 'user ' || i FROM generate_series(1, $1::bigint) i",
        &[&(users as i64)],
    )?;
    c.execute(
        "INSERT INTO rooms(id, name) SELECT i, 'room ' || i FROM generate_series(1, $1::bigint) i",
        &[&(rooms as i64)],
    )?;
    Ok(())
}

/// One pooled connection of the naive server, with its statements prepared.
pub struct NaivePg {
    client: Client,
    find: Statement,
    bump: Statement,
    insert: Statement,
}

impl NaivePg {
    /// Connects to the naive database at `url`.
    pub fn connect(url: &str) -> Result<Self, postgres::Error> {
        let mut client = Client::connect(url, NoTls)?;
        let find = client.prepare(
            "SELECT id, seq FROM messages WHERE room_id = $1 AND client_message_id = $2",
        )?;
        let bump = client.prepare(
            "UPDATE rooms SET last_seq = last_seq + 1, last_message_at = $2 WHERE id = $1 \
             RETURNING last_seq",
        )?;
        let insert = client.prepare(
            "INSERT INTO messages(id, room_id, seq, creator_id, client_message_id, content, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )?;
        Ok(Self {
            client,
            find,
            bump,
            insert,
        })
    }

    /// Posts `content` by `user` into `room` exactly once per `client_id`; returns the
    /// message's seq (the original one for a duplicate).
    pub fn post(
        &mut self,
        room: i64,
        user: i64,
        client_id: Uuid,
        content: &str,
        now_ms: i64,
    ) -> Result<i64, postgres::Error> {
        let mut tx = self.client.transaction()?;
        if let Some(row) = tx.query_opt(&self.find, &[&room, &client_id])? {
            tx.commit()?;
            return Ok(row.get(1));
        }
        let seq: i64 = tx.query_one(&self.bump, &[&room, &now_ms])?.get(0);
        tx.execute(
            &self.insert,
            &[
                &Uuid::new_v4(),
                &room,
                &seq,
                &user,
                &client_id,
                &content,
                &now_ms,
            ],
        )?;
        tx.commit()?;
        Ok(seq)
    }
}
