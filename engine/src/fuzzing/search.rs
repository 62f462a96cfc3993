//! The full-text query builder: whatever a user types becomes a query that FTS5 accepts, on
//! a bare FTS5 table with the engine's tokenizer and through [`crate::Engine::search`], and
//! that finds the text it was built from.

use rusqlite::Connection;

use super::Fixture;
use crate::ids::ClientMessageId;
use crate::model::{NewPost, RoomKind};
use crate::store::sqlite::search::{fts_query, is_word_char};

/// The most terms a built query may hold.
const MAX_TERMS: usize = 32;

/// Posts a few messages for searches to run over; call once per fixture.
pub fn seed(fixture: &Fixture) {
    let admin = fixture.users[0];
    let room = fixture
        .engine
        .create_room(admin, RoomKind::Open, "Search", &[])
        .expect("create the search room");
    for text in [
        "hello world",
        "running runners ran",
        "café naïve 東京 42",
        "AND OR NOT NEAR",
    ] {
        fixture
            .engine
            .post(NewPost {
                user: admin,
                room: room.id,
                client_message_id: ClientMessageId::new_v7(),
                content: text.into(),
            })
            .expect("post a search seed");
    }
}

/// Builds the query for `data` (lossy UTF-8), checks its shape, runs it against an
/// in-memory FTS5 table holding the text itself, then searches the fixture's engine with it.
pub fn check(fixture: &Fixture, data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(query) = fts_query(&text) {
        check_shape(&query);
        run_on_bare_table(&text, &query);
    }
    let limit = data.last().map_or(1, |&b| usize::from(b % 100) + 1);
    for user in fixture.users {
        if let Err(e) = fixture.engine.search(user, &text, limit) {
            panic!("search for {text:?} failed: {e}");
        }
    }
}

/// Every term is a quoted run of word characters (no quote, no space, no FTS5 operator), at
/// most [`MAX_TERMS`] of them.
fn check_shape(query: &str) {
    let terms: Vec<&str> = query.split(' ').collect();
    assert!(
        terms.len() <= MAX_TERMS,
        "{} terms in {query:?}",
        terms.len()
    );
    for term in terms {
        let inner = term
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or_else(|| panic!("term {term:?} of {query:?} is not quoted"));
        assert!(
            !inner.is_empty() && inner.chars().all(is_word_char),
            "term {term:?} of {query:?} is not a run of word characters"
        );
    }
}

fn run_on_bare_table(text: &str, query: &str) {
    let conn = Connection::open_in_memory().expect("in-memory database");
    conn.execute_batch(
        "CREATE VIRTUAL TABLE t USING fts5(content, content='', contentless_delete=1, \
         tokenize='porter unicode61');",
    )
    .expect("create the FTS5 table");
    conn.execute("INSERT INTO t(rowid, content) VALUES (1, ?1)", [text])
        .expect("index the text");
    conn.execute(
        "INSERT INTO t(rowid, content) VALUES (2, 'hello running world')",
        [],
    )
    .expect("index a fixed row");
    let mut stmt = conn
        .prepare("SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rowid DESC")
        .expect("prepare the search");
    let rows = stmt
        .query_map([query], |r| r.get::<_, i64>(0))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
    let rows = rows
        .unwrap_or_else(|e| panic!("FTS5 refused the query {query:?} built from {text:?}: {e}"));
    // The text contains every term of its own query, so it must match unless no term holds
    // a token (FTS5 ignores empty phrases): a query that splits a word where the tokenizer
    // does not would lose the message it was typed from.
    if has_tokens(&conn, query) {
        assert!(
            rows.contains(&1),
            "the query {query:?} does not find the text {text:?} it was built from"
        );
    }
}

/// Whether the tokenizer finds at least one token in the terms of `query`.
fn has_tokens(conn: &Connection, query: &str) -> bool {
    conn.execute_batch(
        "CREATE VIRTUAL TABLE IF NOT EXISTS q USING fts5(content, tokenize='porter unicode61'); \
         CREATE VIRTUAL TABLE IF NOT EXISTS q_vocab USING fts5vocab(q, 'instance');",
    )
    .expect("create the token table");
    conn.execute(
        "INSERT INTO q(rowid, content) VALUES (1, ?1)",
        [query.replace('"', " ")],
    )
    .expect("tokenize the query");
    conn.query_row("SELECT count(*) FROM q_vocab", [], |r| r.get::<_, i64>(0))
        .expect("count the query's tokens")
        > 0
}
