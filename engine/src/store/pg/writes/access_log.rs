//! The PostgreSQL side of writing the access log (see [`crate::store::access_log`]).

use crate::error::Result;
use crate::store::access_log::{AccessChange, KEEP_MS};
use crate::store::pg::conn::Conn;

/// Writes a row (inside the command's savepoint) numbered from the `counters` row
/// `access_log`, whose row lock makes rows commit in number order; drops rows older than
/// [`KEEP_MS`]. `origin` names the engine instance that made the change.
pub(super) fn record(conn: &mut Conn, origin: i64, now: i64, change: AccessChange) -> Result<()> {
    conn.execute(
        "WITH n AS (UPDATE counters SET value = value + 1 WHERE name = 'access_log' \
         RETURNING value) \
         INSERT INTO access_log(seq, origin, kind, user_id, room_id, at) \
         SELECT n.value, $1, $2, $3, $4, $5 FROM n",
        &[
            &origin,
            &(change.kind() as i16),
            &change.user().0,
            &change.room().map(|r| r.0),
            &now,
        ],
    )?;
    conn.execute(
        "DELETE FROM access_log WHERE at < $1",
        &[&now.saturating_sub(KEEP_MS)],
    )?;
    Ok(())
}
