//! The SQLite schema, its migrations and the pragmas every connection gets.

use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::Epoch;
use crate::options::{Options, Synchronous};

/// The newest schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 4;

/// Page size of new databases. A post dirties a leaf of each room-keyed index (seq and
/// change order) besides pages its batch shares, and every dirty page is written whole to
/// the WAL at COMMIT: 2 KiB pages halve that (17.2 → 9.7 KiB of WAL per post with 16
/// posters) and gave 14–27% more posts/s than 4 KiB; 1 KiB and 8 KiB were slower (see
/// docs/perf-log.md). Existing databases keep the page size they were created with.
pub const PAGE_SIZE: u32 = 2048;

/// Migrations in order; entry `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

CREATE TABLE users(
    key INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    login TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT,
    role INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    bot_key_hash BLOB UNIQUE,
    webhook_url TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions(
    token_hash BLOB PRIMARY KEY,
    user_key INTEGER NOT NULL REFERENCES users(key),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_key);

CREATE TABLE rooms(
    key INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    kind INTEGER NOT NULL,
    name TEXT NOT NULL,
    creator_key INTEGER NOT NULL REFERENCES users(key),
    direct_key BLOB UNIQUE,
    created_at INTEGER NOT NULL,
    last_message_at INTEGER,
    last_seq INTEGER NOT NULL DEFAULT 0,
    last_change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE memberships(
    room_key INTEGER NOT NULL REFERENCES rooms(key),
    user_key INTEGER NOT NULL REFERENCES users(key),
    involvement INTEGER NOT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(room_key, user_key)
) WITHOUT ROWID;
CREATE INDEX memberships_user ON memberships(user_key, room_key);

-- pos is global insertion order (newest-first search walks it backwards); seq and
-- change_seq are per room and gapless.
CREATE TABLE messages(
    pos INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    room_key INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    change_seq INTEGER NOT NULL,
    creator_key INTEGER NOT NULL,
    client_message_id BLOB NOT NULL,
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    edited_at INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    sound TEXT,
    mentions BLOB,
    UNIQUE(room_key, seq),
    -- Client id first: time-ordered (v7) client ids then append to one end of the index
    -- instead of touching a page per room (about a fifth fewer WAL bytes per post).
    UNIQUE(client_message_id, room_key)
);
CREATE INDEX messages_changes ON messages(room_key, change_seq);

-- Full-text index, filled in batches after acknowledgement from fts_pending, which is
-- written in the same transaction as the message: an acknowledged message is indexed even
-- if the process dies before the batch runs.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content='', contentless_delete=1, tokenize='porter unicode61'
);
-- FTS5 leaves of 4050 bytes (its default) would each span two 2 KiB pages plus overflow.
INSERT INTO messages_fts(messages_fts, rank) VALUES('pgsz', 2000);
CREATE TABLE fts_pending(pos INTEGER PRIMARY KEY);
"#,
    // 1 -> 2: the secret a bot's webhook calls are signed with (X-Ember-Signature). Bots made
    // before it get one here; SQLite's randomness is ChaCha20 seeded from the OS.
    r#"
ALTER TABLE users ADD COLUMN webhook_secret TEXT;
UPDATE users SET webhook_secret = lower(hex(randomblob(32))) WHERE role = 2;
"#,
    // 2 -> 3: deleted means gone (see docs/engine.md).
    r#"
-- Deleted means gone: a contentless_delete table only marks removed rows (their terms stay
-- in the index pages until a merge), so the index becomes a plain contentless table whose
-- 'delete' command, with secure-delete on, rewrites the pages that held the old terms. The
-- queue keeps the text the index holds for a message (NULL when it holds none) so that the
-- indexer can name exactly those terms. Everything is indexed again.
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content='', tokenize='porter unicode61'
);
INSERT INTO messages_fts(messages_fts, rank) VALUES('pgsz', 2000);
INSERT INTO messages_fts(messages_fts, rank) VALUES('secure-delete', 1);
DROP TABLE fts_pending;
CREATE TABLE fts_pending(pos INTEGER PRIMARY KEY, indexed TEXT);
INSERT INTO fts_pending(pos) SELECT pos FROM messages WHERE deleted = 0;
"#,
    // 3 -> 4: access changes other connections must hear of.
    r#"
-- Changes that take access away (1 deactivated, 2 sessions revoked, 3 member removed),
-- written with the change, read by every engine on the database to end live subscriptions
-- (store/access_log.rs). AUTOINCREMENT: numbers never go back after old rows are deleted.
CREATE TABLE access_log(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    origin INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    user_id BLOB NOT NULL,
    room_id BLOB,
    at INTEGER NOT NULL
);
"#,
];

/// The open error for `opts.path`. SQLite's words for a file it cannot write are vague
/// ("unable to open database file"), so the file system's own reason is added when the file
/// cannot be opened for writing.
fn open_error(opts: &Options, e: impl std::fmt::Display) -> Error {
    let mut reason = e.to_string();
    if let Err(io) = std::fs::OpenOptions::new().write(true).open(&opts.path) {
        if io.kind() != std::io::ErrorKind::NotFound {
            reason = format!("{reason} (the file cannot be written: {io})");
        }
    }
    Error::Open {
        path: opts.path.display().to_string(),
        reason,
    }
}

/// Refuses a database file shorter than its header says (a partial copy, a file cut off by
/// a full disk) instead of failing at the first read of a missing page. Checked only when
/// no WAL is left (after a clean close), since pages may live in the WAL otherwise; files
/// that are not SQLite databases are left for SQLite to refuse.
fn check_not_cut_off(path: &std::path::Path) -> std::result::Result<(), String> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return Ok(());
    }
    let mut h = [0u8; 100];
    let read = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut h)
    });
    if read.is_err() || !h.starts_with(b"SQLite format 3\0") {
        return Ok(());
    }
    let be32 = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    let page_size = match u16::from_be_bytes([h[16], h[17]]) {
        1 => 65536,
        n => u64::from(n),
    };
    // The size in the header counts only when written by a SQLite that kept it current.
    let (pages, valid) = (u64::from(be32(28)), be32(24) == be32(92));
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if valid && pages > 0 && len < pages * page_size {
        return Err(format!(
            "the file is cut off: {len} bytes, but its header says {pages} pages of \
             {page_size} bytes"
        ));
    }
    Ok(())
}

/// Creates the database file readable and writable by its owner only (0600), before
/// SQLite opens it: SQLite gives the `-wal` and `-shm` files it creates the database file's
/// permissions, so they are private too. An existing file keeps its mode; failures are
/// left for SQLite to report.
#[cfg(unix)]
fn create_private(path: &std::path::Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
}

#[cfg(not(unix))]
fn create_private(_: &std::path::Path) {}

/// Opens the writer's connection, creates or migrates the schema and returns the epoch.
pub(crate) fn open_writer(opts: &Options) -> Result<(Connection, Epoch)> {
    create_private(&opts.path);
    check_not_cut_off(&opts.path).map_err(|e| open_error(opts, e))?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn =
        Connection::open_with_flags(&opts.path, flags).map_err(|e| open_error(opts, e))?;
    // SQLite falls back to read-only when it cannot write the file, and an existing WAL lets
    // it read on: refuse here rather than fail at the first write.
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(true) {
        return Err(open_error(
            opts,
            "the database can only be opened read-only",
        ));
    }
    let sync = match opts.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    // The first statement that touches the file tells whether it is a database at all.
    // Only takes effect on a new, empty database (before WAL mode writes its header).
    conn.execute_batch(&format!("PRAGMA page_size={PAGE_SIZE}"))
        .map_err(|e| open_error(opts, e))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| open_error(opts, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_error(
            opts,
            format!("could not enable WAL (journal_mode={mode})"),
        ));
    }
    // secure_delete: the space a changed or deleted row leaves is zeroed, so text from before
    // an edit or a delete is gone from the file once the change is checkpointed.
    conn.execute_batch(&format!(
        "PRAGMA synchronous={sync};
         PRAGMA foreign_keys=ON;
         PRAGMA cache_size=-{};
         PRAGMA wal_autocheckpoint=0;
         PRAGMA journal_size_limit=67108864;
         PRAGMA secure_delete=ON;",
        opts.writer_cache_kib
    ))
    .map_err(|e| open_error(opts, e))?;
    crate::store::sqlite::checkpoint::watch_wal(&conn);
    conn.busy_handler(Some(wait_for_lock))
        .map_err(|e| open_error(opts, e))?;
    migrate(&mut conn).map_err(|e| match e {
        Error::Storage(s) => open_error(opts, s),
        other => other,
    })?;
    let epoch = load_or_create_epoch(&conn).map_err(|e| open_error(opts, e))?;
    Ok((conn, epoch))
}

/// Opens a read-only connection.
pub(crate) fn open_reader(opts: &Options) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&opts.path, flags).map_err(|e| open_error(opts, e))?;
    conn.execute_batch(&format!("PRAGMA cache_size=-{};", opts.reader_cache_kib))?;
    conn.busy_handler(Some(wait_for_lock))?;
    Ok(conn)
}

/// How long a connection waits for a lock another connection holds: in steps of 50 µs at
/// first, then 1 ms, about 5 s in all. SQLite's own `busy_timeout` sleeps 1, 2, 5, 10, ...
/// 100 ms, so a conflict that lasts microseconds (a checkpoint or a reader touching the
/// WAL index at the wrong moment) could cost a third of a second.
fn wait_for_lock(retries: i32) -> bool {
    let step = if retries < 50 { 50 } else { 1000 };
    std::thread::sleep(Duration::from_micros(step));
    retries < 5_000
}

/// Opens the connection that runs WAL checkpoints off the writer's path.
pub(crate) fn open_checkpointer(opts: &Options) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&opts.path, flags).map_err(|e| open_error(opts, e))?;
    conn.execute_batch("PRAGMA wal_autocheckpoint=0;")?;
    conn.busy_handler(Some(wait_for_lock))?;
    Ok(conn)
}

/// Starts a transaction on a writing connection that takes SQLite's write lock at `BEGIN`.
///
/// A deferred transaction that reads first and writes later must upgrade its read snapshot
/// to the write lock, and SQLite answers that upgrade with `SQLITE_BUSY` at once, without
/// calling the busy handler, whenever another connection holds the lock for a moment: a
/// reader or the checkpointer that found the WAL-index header mid-update takes it briefly
/// to check it. Taken at `BEGIN`, with no snapshot yet, the lock is waited for.
pub(crate) fn begin_write(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = begin_write(conn)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn load_or_create_epoch(conn: &Connection) -> Result<Epoch> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(s) = stored {
        return s
            .parse()
            .map_err(|_| Error::validation("epoch", "stored epoch is not a UUID"));
    }
    let epoch = Epoch(Uuid::new_v4());
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('epoch', ?1)",
        [epoch.to_string()],
    )?;
    Ok(epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::new(dir.path().join("db"));
        let (conn, _) = open_writer(&opts).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        match open_writer(&opts) {
            Err(Error::SchemaTooNew { found, supported }) => {
                assert_eq!(found, SCHEMA_VERSION + 1);
                assert_eq!(supported, SCHEMA_VERSION);
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[test]
    fn version_1_databases_are_reindexed_with_secure_delete() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::new(dir.path().join("db"));
        {
            let conn = Connection::open(&opts.path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(
                "INSERT INTO users(key, id, login, name, role, created_at) VALUES (1, x'01', 'a', 'A', 0, 0);
                 INSERT INTO rooms(key, id, kind, name, creator_key, created_at) VALUES (1, x'02', 0, 'r', 1, 0);
                 INSERT INTO messages(pos, id, room_key, seq, change_seq, creator_key, client_message_id, content, created_at, deleted)
                   VALUES (1, x'03', 1, 1, 1, 1, x'04', 'kept words', 0, 0),
                          (2, x'05', 1, 2, 3, 1, x'06', '', 0, 1);
                 INSERT INTO messages_fts(rowid, content) VALUES (1, 'kept words');",
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        let (conn, _) = open_writer(&opts).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let queued: Vec<(i64, Option<String>)> = conn
            .prepare("SELECT pos, indexed FROM fts_pending ORDER BY pos")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            queued,
            vec![(1, None)],
            "every live message is indexed again"
        );
        let secure: i64 = conn
            .query_row(
                "SELECT v FROM messages_fts_config WHERE k = 'secure-delete'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(secure, 1);
    }

    #[test]
    fn a_version_3_database_migrates_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::new(dir.path().join("db"));
        let (conn, epoch) = open_writer(&opts).unwrap();
        // Exactly what version 3 wrote: its migrations alone.
        conn.execute_batch("DROP TABLE access_log; PRAGMA user_version = 3;")
            .unwrap();
        drop(conn);
        let (conn, again) = open_writer(&opts).unwrap();
        assert_eq!(again, epoch, "the data (here the epoch) is kept");
        assert_eq!(crate::store::sqlite::access_log::head(&conn).unwrap(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn database_wal_and_shm_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let (conn, _) = open_writer(&Options::new(&path)).unwrap();
        conn.execute_batch("INSERT INTO meta(key, value) VALUES ('x', 'y')")
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{file} has mode {mode:o}");
        }
    }

    #[test]
    fn epoch_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let opts = Options::new(dir.path().join("db"));
        let (_, first) = open_writer(&opts).unwrap();
        let (_, second) = open_writer(&opts).unwrap();
        assert_eq!(first, second);
        let other = Options::new(dir.path().join("other"));
        assert_ne!(open_writer(&other).unwrap().1, first);
    }

    #[test]
    fn garbage_file_is_a_clear_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk");
        std::fs::write(&path, vec![b'x'; 8192]).unwrap();
        match open_writer(&Options::new(&path)) {
            Err(Error::Open { reason, .. }) => {
                assert!(reason.contains("not a database"), "{reason}")
            }
            other => panic!("expected Open error, got {other:?}"),
        }
    }
}
