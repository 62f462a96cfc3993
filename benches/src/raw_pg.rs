//! The raw PostgreSQL baseline: Ember's PostgreSQL schema written directly, one thread,
//! many posts per transaction, in sets (arrays and `unnest`, a fixed number of statements
//! per batch whatever its size), with none of the engine around it.
//!
//! A batch is `BEGIN`; lock the batch's rooms (`SELECT … FOR UPDATE`, in key order); look
//! for duplicates of its `(room, client_message_id)` pairs; bump each room's `last_seq` and
//! `last_change_seq` by its count (`UPDATE … FROM unnest … RETURNING`); one `INSERT …
//! SELECT FROM unnest(arrays)` that also computes the `tsvector` (the cheapest way to have
//! every message searchable at commit); `COMMIT`. Six round trips per batch.

use std::collections::BTreeMap;

use postgres::{Client, NoTls, Statement};
use uuid::Uuid;

/// The text search configuration Ember's PostgreSQL store indexes with (made by its schema).
pub const TS_CONFIG: &str = "ember";

/// One post of a raw batch.
#[derive(Clone, Debug)]
pub struct RawPost {
    /// `rooms.key`.
    pub room: i64,
    /// `users.key` of the author.
    pub user: i64,
    /// The client's idempotency key.
    pub client_id: Uuid,
    /// The text.
    pub content: String,
}

/// A connection writing Ember's PostgreSQL schema directly.
pub struct RawPg {
    client: Client,
    /// `users.key` of every user, in creation order.
    pub users: Vec<i64>,
    /// `rooms.key` of every room, in creation order.
    pub rooms: Vec<i64>,
    lock: Statement,
    dups: Statement,
    bump: Statement,
    insert: Statement,
}

/// Creates Ember's PostgreSQL schema (every migration) in the empty database at `url`, with
/// `users` users and `rooms` open rooms, written directly (no engine).
pub fn create(url: &str, users: usize, rooms: usize) -> Result<(), postgres::Error> {
    let mut c = Client::connect(url, NoTls)?;
    let mut tx = c.transaction()?;
    for m in ember_engine::PG_MIGRATIONS {
        tx.batch_execute(m)?;
    }
    let ids: Vec<Uuid> = (0..users).map(|_| Uuid::now_v7()).collect();
    tx.execute(
        "INSERT INTO users(id, login, name, role, created_at) \
         SELECT id, 'user' || n, 'User ' || n, 1, 0 FROM unnest($1::uuid[]) WITH ORDINALITY u(id, n)",
        &[&ids],
    )?;
    let ids: Vec<Uuid> = (0..rooms).map(|_| Uuid::now_v7()).collect();
    tx.execute(
        "INSERT INTO rooms(id, kind, name, creator_key, created_at) \
         SELECT id, 0, 'room ' || n, (SELECT min(key) FROM users), 0 \
         FROM unnest($1::uuid[]) WITH ORDINALITY r(id, n)",
        &[&ids],
    )?;
    tx.commit()
}

impl RawPg {
    /// Connects to a database with Ember's schema and reads its users and rooms.
    pub fn connect(url: &str) -> Result<Self, postgres::Error> {
        let mut client = Client::connect(url, NoTls)?;
        let keys = |c: &mut Client, q: &str| -> Result<Vec<i64>, postgres::Error> {
            Ok(c.query(q, &[])?.iter().map(|r| r.get(0)).collect())
        };
        let users = keys(&mut client, "SELECT key FROM users ORDER BY key")?;
        let rooms = keys(&mut client, "SELECT key FROM rooms ORDER BY key")?;
        let lock =
            client.prepare("SELECT key FROM rooms WHERE key = ANY($1) ORDER BY key FOR UPDATE")?;
        let dups = client.prepare(
            "SELECT t.n FROM unnest($1::bigint[], $2::uuid[]) WITH ORDINALITY t(r, c, n) \
             JOIN messages m ON m.room_key = t.r AND m.client_message_id = t.c",
        )?;
        let bump = client.prepare(
            "UPDATE rooms r SET last_seq = r.last_seq + t.n, \
             last_change_seq = r.last_change_seq + t.n, last_message_at = $3 \
             FROM unnest($1::bigint[], $2::bigint[]) t(k, n) WHERE r.key = t.k \
             RETURNING r.key, r.last_seq, r.last_change_seq",
        )?;
        let insert = client.prepare(&format!(
            "INSERT INTO messages(room_key, seq, change_seq, id, creator_key, \
             client_message_id, content, created_at, search) \
             SELECT r, s, c, i, u, cm, ct, $8, to_tsvector('{TS_CONFIG}', ct) \
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::uuid[], $5::bigint[], \
             $6::uuid[], $7::text[]) t(r, s, c, i, u, cm, ct)"
        ))?;
        Ok(Self {
            client,
            users,
            rooms,
            lock,
            dups,
            bump,
            insert,
        })
    }

    /// Writes `posts` in one transaction (duplicates of stored pairs are skipped); returns
    /// how many were new.
    pub fn post_batch(&mut self, posts: &[RawPost], now_ms: i64) -> Result<usize, postgres::Error> {
        let mut tx = self.client.transaction()?;
        let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
        for p in posts {
            *counts.entry(p.room).or_default() += 0;
        }
        let keys: Vec<i64> = counts.keys().copied().collect();
        tx.query(&self.lock, &[&keys])?;
        let rooms: Vec<i64> = posts.iter().map(|p| p.room).collect();
        let cids: Vec<Uuid> = posts.iter().map(|p| p.client_id).collect();
        let dup: Vec<i64> = tx
            .query(&self.dups, &[&rooms, &cids])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let fresh: Vec<&RawPost> = posts
            .iter()
            .enumerate()
            .filter(|(i, _)| !dup.contains(&(*i as i64 + 1)))
            .map(|(_, p)| p)
            .collect();
        for p in &fresh {
            *counts.entry(p.room).or_default() += 1;
        }
        counts.retain(|_, n| *n > 0);
        let (keys, ns): (Vec<i64>, Vec<i64>) = counts.iter().map(|(k, n)| (*k, *n)).unzip();
        // Each room's first new seq and change_seq.
        let mut next: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for row in tx.query(&self.bump, &[&keys, &ns, &now_ms])? {
            let (key, seq, change): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
            let n = counts[&key];
            next.insert(key, (seq - n + 1, change - n + 1));
        }
        let mut cols = Columns::default();
        for p in &fresh {
            let Some(slot) = next.get_mut(&p.room) else {
                continue;
            };
            cols.room.push(p.room);
            cols.seq.push(slot.0);
            cols.change.push(slot.1);
            *slot = (slot.0 + 1, slot.1 + 1);
            cols.id.push(Uuid::now_v7());
            cols.user.push(p.user);
            cols.cid.push(p.client_id);
            cols.content.push(&p.content);
        }
        tx.execute(
            &self.insert,
            &[
                &cols.room,
                &cols.seq,
                &cols.change,
                &cols.id,
                &cols.user,
                &cols.cid,
                &cols.content,
                &now_ms,
            ],
        )?;
        tx.commit()?;
        Ok(fresh.len())
    }

    /// The connection, for queries of the bench's own.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// A batch's rows as one array per column.
#[derive(Default)]
struct Columns<'a> {
    room: Vec<i64>,
    seq: Vec<i64>,
    change: Vec<i64>,
    id: Vec<Uuid>,
    user: Vec<i64>,
    cid: Vec<Uuid>,
    content: Vec<&'a str>,
}
