//! Full-text search: the batched indexer the writer runs after acknowledging, and the
//! translation of user text into a query that cannot be an FTS5 syntax error.

use rusqlite::Connection;

use crate::error::Result;

/// Turns whatever a user typed into an FTS5 query: every run of word characters (see
/// [`is_word_char`]) becomes a quoted term, all terms must match. `None` when there is
/// nothing to search for. A term never holds a quote, so no input is an FTS5 syntax error.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !is_word_char(c))
        .filter(|t| !t.is_empty())
        .take(32)
        .map(|t| format!("\"{t}\""))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// What may stay inside a query term: everything but white space and ASCII punctuation,
/// symbols and controls. The `unicode61` tokenizer splits words only at space, punctuation
/// and symbol characters of its own (older) Unicode tables and keeps everything else inside
/// a token, combining accents (`nai` + U+0308 + `ve`) and code points it does not know
/// included, so splitting at any other character would search for pieces the index never
/// holds. Keeping a character the tokenizer does split at is harmless: FTS5 reads the
/// quoted term as a phrase of adjacent tokens, which the text it came from contains.
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        !c.is_whitespace() || c.is_control()
    }
}

/// Indexes up to `limit` queued messages in one transaction (new and edited content goes in,
/// the terms of replaced and deleted content come out of the index pages, not only out of
/// the results). Returns how many are still queued.
pub(crate) fn index_pending(conn: &mut Connection, limit: usize) -> Result<u64> {
    let tx = crate::store::sqlite::schema::begin_write(conn)?;
    {
        let mut pick = tx.prepare_cached(
            "SELECT p.pos, p.indexed, m.content, m.deleted FROM fts_pending p \
             LEFT JOIN messages m ON m.pos = p.pos ORDER BY p.pos",
        )?;
        // A contentless table forgets a row's terms only when told exactly which they were.
        let mut remove = tx.prepare_cached(
            "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', ?1, ?2)",
        )?;
        let mut add =
            tx.prepare_cached("INSERT INTO messages_fts(rowid, content) VALUES (?1, ?2)")?;
        let mut done = tx.prepare_cached("DELETE FROM fts_pending WHERE pos = ?1")?;
        // Read the chunk first: the loop below deletes from the table being read.
        let picked = pick
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<bool>>(3)?,
                ))
            })?
            .take(limit)
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (pos, indexed, content, deleted) in picked {
            if let Some(indexed) = indexed {
                remove.execute(rusqlite::params![pos, indexed])?;
            }
            if let (Some(content), Some(false)) = (content, deleted) {
                add.execute(rusqlite::params![pos, content])?;
            }
            done.execute([pos])?;
        }
    }
    let remaining: i64 = tx.query_row("SELECT count(*) FROM fts_pending", [], |r| r.get(0))?;
    tx.commit()?;
    Ok(remaining as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_keeps_only_words() {
        assert_eq!(fts_query("hello, world!").unwrap(), "\"hello\" \"world\"");
        assert_eq!(
            fts_query("\"AND\" OR NEAR( * ^").unwrap(),
            "\"AND\" \"OR\" \"NEAR\""
        );
        assert_eq!(fts_query("café naïve").unwrap(), "\"café\" \"naïve\"");
        assert!(fts_query(" *** \"\" ").is_none());
    }

    #[test]
    fn combining_marks_stay_inside_their_word() {
        assert_eq!(
            fts_query("cafe\u{301} na\u{308}ive").unwrap(),
            "\"cafe\u{301}\" \"na\u{308}ive\""
        );
        assert_eq!(fts_query("a\u{E000}b").unwrap(), "\"a\u{E000}b\"");
        // Not a letter for Rust, a token character for unicode61 (found by search_query).
        assert_eq!(fts_query("w7\u{5C8}w9").unwrap(), "\"w7\u{5C8}w9\"");
        assert_eq!(
            fts_query("a\u{3000}b\u{2014}c").unwrap(),
            "\"a\" \"b\u{2014}c\""
        );
    }
}
