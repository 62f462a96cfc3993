//! The PostgreSQL schema and its migrations.
//!
//! The same tables as on SQLite, with PostgreSQL's types (ids are `uuid`, times are
//! milliseconds in `bigint`, flags `boolean`, small enums `smallint`). Laid out so that a
//! distributed PostgreSQL (Citus) could later split the growing tables by room: every table
//! that grows with traffic carries `room_key` first in its keys and every hot query filters
//! by it.
//!
//! Ordering guarantees come from row locks, never from identity columns (whose values
//! commit out of order between concurrent transactions):
//! - a room's `seq` and `change_seq` are taken from its `rooms` row (`UPDATE … RETURNING`
//!   or `SELECT … FOR UPDATE`), so writers to one room serialise on that row and commit in
//!   sequence order, and a rolled-back transaction leaves no gap;
//! - the access log's `seq` is taken the same way from the `counters` row `access_log`.

/// The newest schema version this build writes (`meta` row `schema_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// Migrations in order; entry `i` takes the schema from version `i` to `i + 1`. Each runs
/// in one transaction holding the advisory lock [`MIGRATION_LOCK`], so that nodes starting
/// together migrate once.
pub(crate) const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL);

-- Single-row counters whose row lock orders what must commit in sequence order.
CREATE TABLE counters(name text PRIMARY KEY, value bigint NOT NULL);
INSERT INTO counters VALUES ('access_log', 0);

CREATE TABLE users(
    key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    login text NOT NULL,
    name text NOT NULL,
    password_hash text,
    role smallint NOT NULL,
    active boolean NOT NULL DEFAULT true,
    bot_key_hash bytea UNIQUE,
    webhook_url text,
    webhook_secret text,
    created_at bigint NOT NULL
);
-- Logins are unique regardless of ASCII case, as SQLite's COLLATE NOCASE has it.
CREATE UNIQUE INDEX users_login ON users(lower(login));

CREATE TABLE sessions(
    token_hash bytea PRIMARY KEY,
    user_key bigint NOT NULL REFERENCES users(key),
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_key);

CREATE TABLE rooms(
    key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id uuid NOT NULL UNIQUE,
    kind smallint NOT NULL,
    name text NOT NULL,
    creator_key bigint NOT NULL REFERENCES users(key),
    -- blake3 of the sorted member ids of a direct room: one room per member set, also when
    -- two nodes create it at the same moment.
    direct_key bytea UNIQUE,
    created_at bigint NOT NULL,
    last_message_at bigint,
    last_seq bigint NOT NULL DEFAULT 0,
    last_change_seq bigint NOT NULL DEFAULT 0
);

CREATE TABLE memberships(
    room_key bigint NOT NULL REFERENCES rooms(key),
    user_key bigint NOT NULL REFERENCES users(key),
    involvement smallint NOT NULL,
    last_read_seq bigint NOT NULL DEFAULT 0,
    PRIMARY KEY(room_key, user_key)
);
CREATE INDEX memberships_user ON memberships(user_key, room_key);

-- seq and change_seq are per room and gapless; pos is a global insertion number for
-- newest-first search (not commit order, which no query needs across rooms).
CREATE TABLE messages(
    room_key bigint NOT NULL REFERENCES rooms(key),
    seq bigint NOT NULL,
    change_seq bigint NOT NULL,
    pos bigint GENERATED ALWAYS AS IDENTITY,
    id uuid NOT NULL,
    creator_key bigint NOT NULL REFERENCES users(key),
    client_message_id uuid NOT NULL,
    content text NOT NULL,
    created_at bigint NOT NULL,
    edited_at bigint,
    deleted boolean NOT NULL DEFAULT false,
    sound text,
    mentions uuid[],
    -- The full-text document, written with the message (and with each edit; NULL once
    -- deleted): on PostgreSQL that measured as less work than indexing after the ack.
    search tsvector,
    PRIMARY KEY(room_key, seq),
    UNIQUE(room_key, client_message_id),
    UNIQUE(room_key, change_seq)
);
CREATE UNIQUE INDEX messages_id ON messages(id);
CREATE INDEX messages_pos ON messages(pos);
CREATE INDEX messages_search ON messages USING gin(search);

-- The text search configuration of messages.search (pg/search.rs TS_CONFIG): Snowball
-- English stems without stop words, diacritics folded by unaccent when the extension can
-- be created (it is a trusted contrib module; a server without contrib still migrates).
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS unaccent;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'unaccent is not available (%): search will not fold diacritics', SQLERRM;
END $$;
CREATE TEXT SEARCH DICTIONARY ember_english (TEMPLATE = snowball, LANGUAGE = english);
CREATE TEXT SEARCH CONFIGURATION ember (COPY = simple);
DO $$
DECLARE
    dictionaries text := CASE WHEN EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'unaccent')
        THEN 'unaccent, ember_english' ELSE 'ember_english' END;
BEGIN
    EXECUTE 'ALTER TEXT SEARCH CONFIGURATION ember ALTER MAPPING FOR asciiword, asciihword, '
        'hword_asciipart, word, hword, hword_part, numword, numhword, hword_numpart WITH '
        || dictionaries;
END $$;

-- Messages whose full-text document is due. The writer fills documents in the message's
-- own statement, so this build queues nothing here; it still drains what is queued.
CREATE TABLE fts_pending(pos bigint PRIMARY KEY);

-- Changes that take access away (1 deactivated, 2 sessions revoked, 3 member removed),
-- read by every engine on the database to end live subscriptions. seq comes from the
-- counters row 'access_log' (see above), so rows commit in seq order.
CREATE TABLE access_log(
    seq bigint PRIMARY KEY,
    origin bigint NOT NULL,
    kind smallint NOT NULL,
    user_id uuid NOT NULL,
    room_id uuid,
    at bigint NOT NULL
);
"#];

/// The advisory lock key migrations hold (`pg_advisory_xact_lock`): "ember" in ASCII.
pub(crate) const MIGRATION_LOCK: i64 = 0x0065_6d62_6572;
