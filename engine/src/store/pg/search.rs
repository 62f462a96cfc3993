//! Full-text search on PostgreSQL: the text search configuration documents are indexed
//! with, and the translation of user text into a `tsquery` that cannot be a syntax error.
//!
//! The configuration ([`TS_CONFIG`], created by the schema's first migration) matches what
//! SQLite's `porter unicode61` tokenizer does as closely as PostgreSQL allows: words are
//! stemmed by the Snowball English stemmer, with no stop words (every word is searchable),
//! and diacritics are folded (`café` finds `cafe`) when the `unaccent` extension could be
//! created; without it (a server without PostgreSQL's contrib modules) the migration still
//! succeeds, and only accents then have to match exactly.

use crate::engine::MAX_PAGE;
use crate::error::Result;
use crate::ids::UserId;
use crate::model::Message;
use crate::store::pg::reads::access;
use crate::store::pg::reads::pool::{Conn, Params};
use crate::store::pg::reads::rows::{self, MESSAGE_COLUMNS, MESSAGE_JOINS};
use crate::store::sqlite::search::is_word_char;

/// The text search configuration of `messages.search`: the writer fills the column with
/// `to_tsvector('ember'::regconfig, content)` and queries are parsed with the same one.
pub(crate) const TS_CONFIG: &str = "ember";

/// Most words of a query that count, as on SQLite.
const MAX_TERMS: usize = 32;

/// The words of what a user typed, split exactly as the SQLite store splits them (every
/// run of word characters, at most [`MAX_TERMS`]). Empty when there is nothing to search.
pub(crate) fn terms(text: &str) -> Vec<&str> {
    text.split(|c: char| !is_word_char(c))
        .filter(|t| !t.is_empty())
        .take(MAX_TERMS)
        .collect()
}

/// The `tsquery` expression for `n` words bound from parameter `$first` on: each word is a
/// phrase (`phraseto_tsquery` never fails on any text, and a word the parser splits must
/// match as adjacent words, as FTS5 reads a quoted term), all must match.
pub(crate) fn tsquery(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("phraseto_tsquery('{TS_CONFIG}'::regconfig, ${i})"))
        .collect::<Vec<_>>()
        .join(" && ")
}

/// Messages matching `text` in the user's rooms (member rooms only), not deleted, newest
/// first, at most `limit` (≤ [`MAX_PAGE`]).
pub(crate) fn search(
    conn: &mut Conn,
    user: UserId,
    text: &str,
    limit: usize,
) -> Result<Vec<Message>> {
    let actor = access::active_user(conn, user)?;
    let words = terms(text);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m {MESSAGE_JOINS} \
         JOIN memberships mb ON mb.room_key = m.room_key AND mb.user_key = $1 \
         WHERE m.search @@ ({}) AND NOT m.deleted \
         ORDER BY m.pos DESC LIMIT $2",
        tsquery(3, words.len())
    );
    let take = limit.min(MAX_PAGE) as i64;
    let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&actor.key, &take];
    params.extend(
        words
            .iter()
            .map(|w| w as &(dyn postgres::types::ToSql + Sync)),
    );
    let params: &Params<'_> = &params;
    rows::all(&conn.query(&sql, params)?, rows::message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_split_as_on_sqlite() {
        assert_eq!(terms("hello, world!"), ["hello", "world"]);
        assert_eq!(terms("\"AND\" OR NEAR( * ^ ' \\"), ["AND", "OR", "NEAR"]);
        assert_eq!(terms("café na\u{308}ive"), ["café", "na\u{308}ive"]);
        assert!(terms(" *** \"\" ").is_empty());
        assert_eq!(terms(&"w ".repeat(100)).len(), MAX_TERMS);
    }

    #[test]
    fn every_word_is_a_bound_parameter() {
        assert_eq!(
            tsquery(3, 2),
            "phraseto_tsquery('ember'::regconfig, $3) && phraseto_tsquery('ember'::regconfig, $4)"
        );
    }

    #[test]
    fn the_schema_creates_the_configuration() {
        let ddl = crate::store::pg::schema::MIGRATIONS[0];
        assert!(ddl.contains(&format!("CREATE TEXT SEARCH CONFIGURATION {TS_CONFIG} ")));
    }
}
