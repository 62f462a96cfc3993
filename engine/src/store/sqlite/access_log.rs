//! The SQLite side of the access log (see [`crate::store::access_log`]).

use rusqlite::{Connection, params};

use crate::error::Result;
use crate::ids::UserId;
use crate::store::access_log::{AccessChange, KEEP_MS};

/// Writes a row (inside the command's savepoint). `origin` names the engine instance that
/// made the change, so that its own poller skips what its writer already announced.
pub(crate) fn record(conn: &Connection, origin: i64, now: i64, change: AccessChange) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO access_log(origin, kind, user_id, room_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        origin,
        change.kind(),
        change.user(),
        change.room(),
        now
    ])?;
    conn.prepare_cached("DELETE FROM access_log WHERE at < ?1")?
        .execute([now.saturating_sub(KEEP_MS)])?;
    Ok(())
}

/// The newest row's number (0 when there is none).
pub(crate) fn head(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM access_log")?
        .query_row([], |r| r.get(0))?)
}

/// Rows after `cursor` written by engines other than `origin`, oldest first, and the newest
/// row's number seen (to continue from).
pub(crate) fn since(
    conn: &Connection,
    cursor: i64,
    origin: i64,
) -> Result<(Vec<AccessChange>, i64)> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, origin, kind, user_id, room_id FROM access_log WHERE seq > ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([cursor])?;
    let (mut out, mut last) = (Vec::new(), cursor);
    while let Some(r) = rows.next()? {
        last = r.get(0)?;
        if r.get::<_, i64>(1)? == origin {
            continue;
        }
        let user: UserId = r.get(3)?;
        let kind = r.get::<_, i64>(2)?;
        let Some(change) = AccessChange::from_row(kind, user, r.get(4)?) else {
            log::warn!("unknown access log row kind {kind}: skipped");
            continue;
        };
        out.push(change);
    }
    Ok((out, last))
}

/// True when the change still holds now: a removed member was not added back, a
/// deactivated user is still inactive. Rows are read after the fact, so acting on one that
/// no longer holds would end a subscription that is allowed again.
pub(crate) fn still_holds(conn: &Connection, change: AccessChange) -> Result<bool> {
    Ok(match change {
        AccessChange::SessionsRevoked { .. } => true,
        AccessChange::Deactivated { user } => conn
            .prepare_cached("SELECT NOT EXISTS(SELECT 1 FROM users WHERE id = ?1 AND active)")?
            .query_row([user], |r| r.get(0))?,
        AccessChange::MemberRemoved { user, room } => conn
            .prepare_cached(
                "SELECT NOT EXISTS(SELECT 1 FROM memberships m \
                 JOIN users u ON u.key = m.user_key JOIN rooms r ON r.key = m.room_key \
                 WHERE u.id = ?1 AND r.id = ?2)",
            )?
            .query_row(params![user, room], |r| r.get(0))?,
    })
}

/// SQLite's count of commits by other connections, as seen from `conn`: when it has not
/// moved, nobody else wrote and the log needs no read.
pub(crate) fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?)
}
