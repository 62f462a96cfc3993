//! Users and sessions, as on SQLite (`store/sqlite/commands/accounts.rs`).

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{RoomId, UserId};
use crate::live::Change;
use crate::model::{Involvement, Role, RoomKind, User};
use crate::store::access_log::AccessChange;
use crate::store::ops::{BotSecrets, Cx};
use crate::store::pg::conn::Conn;
use crate::store::pg::writes::access_log;
use crate::store::pg::writes::rows::active_user;

/// Creates the user with the id `fresh` (fixed for the batch: when a retried batch finds
/// the login taken by that very id, an earlier attempt committed it and this is its
/// result).
#[allow(clippy::too_many_arguments)]
pub(super) fn create_user(
    conn: &mut Conn,
    login: &str,
    name: &str,
    password_hash: Option<&str>,
    role: Role,
    bot: Option<&BotSecrets>,
    fresh: Uuid,
    cx: &mut Cx<'_>,
) -> Result<User> {
    let now = cx.now;
    let taken = conn.query_opt(
        "SELECT id, created_at, key FROM users WHERE lower(login) = lower($1)",
        &[&login],
    )?;
    let id = UserId(fresh);
    let key: i64 = match taken {
        Some(row) if row.get::<_, Uuid>(0) == fresh => {
            // Committed by an earlier attempt of this batch whose acknowledgement was lost.
            let user = User {
                id,
                login: login.to_owned(),
                name: name.to_owned(),
                role,
                active: true,
                created_at: row.get(1),
            };
            joined_open_rooms(conn, row.get(2), id, cx)?;
            return Ok(user);
        }
        Some(_) => return Err(Error::validation("login", "is already taken")),
        None => conn
            .query_one(
                "INSERT INTO users(id, login, name, password_hash, role, bot_key_hash, \
                 webhook_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 RETURNING key",
                &[
                    &fresh,
                    &login,
                    &name,
                    &password_hash,
                    &(role as i16),
                    &bot.map(|b| &b.key_hash[..]),
                    &bot.map(|b| b.webhook_secret.as_str()),
                    &now,
                ],
            )
            .map_err(taken_login)?
            .get(0),
    };
    if role != Role::Bot {
        // People belong to every open room, including those created before them.
        conn.execute(
            "INSERT INTO memberships(room_key, user_key, involvement, last_read_seq) \
             SELECT key, $1, $2, last_seq FROM rooms WHERE kind = $3",
            &[
                &key,
                &(Involvement::Mentions as i16),
                &(RoomKind::Open as i16),
            ],
        )?;
        joined_open_rooms(conn, key, id, cx)?;
    }
    Ok(User {
        id,
        login: login.to_owned(),
        name: name.to_owned(),
        role,
        active: true,
        created_at: now,
    })
}

/// A login another node took since the check (the unique index said so) is taken.
fn taken_login(e: Error) -> Error {
    match &e {
        Error::Storage(text) if text.contains("(23505)") => {
            Error::validation("login", "is already taken")
        }
        _ => e,
    }
}

/// Tells subscribers that the user `key` joined its open rooms.
fn joined_open_rooms(conn: &mut Conn, key: i64, id: UserId, cx: &mut Cx<'_>) -> Result<()> {
    let rooms = conn.query(
        "SELECT r.id FROM memberships mb JOIN rooms r ON r.key = mb.room_key \
         WHERE mb.user_key = $1 AND r.kind = $2 ORDER BY r.key",
        &[&key, &(RoomKind::Open as i16)],
    )?;
    for r in rooms {
        cx.fx.changes.push(Change::Room(Event::MembershipChanged {
            room_id: RoomId(r.get(0)),
            user_id: id,
            joined: true,
        }));
    }
    Ok(())
}

pub(super) fn deactivate(conn: &mut Conn, user: UserId, cx: &mut Cx<'_>) -> Result<()> {
    let key: i64 = conn
        .query_opt("SELECT key FROM users WHERE id = $1", &[&user.0])?
        .ok_or(Error::NotFound("user"))?
        .get(0);
    conn.execute("UPDATE users SET active = false WHERE key = $1", &[&key])?;
    conn.execute("DELETE FROM sessions WHERE user_key = $1", &[&key])?;
    access_log::record(conn, cx.origin, cx.now, AccessChange::Deactivated { user })?;
    cx.fx.changes.push(Change::Deactivated { user_id: user });
    Ok(())
}

pub(super) fn create_session(
    conn: &mut Conn,
    token_hash: &[u8; 32],
    user: UserId,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    let actor = active_user(conn, user)?;
    // A retried batch finds the session its earlier attempt committed.
    conn.execute(
        "INSERT INTO sessions(token_hash, user_key, created_at, expires_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (token_hash) DO UPDATE \
         SET expires_at = excluded.expires_at WHERE sessions.user_key = excluded.user_key",
        &[&&token_hash[..], &actor.key, &now, &expires_at],
    )?;
    Ok(())
}

pub(super) fn extend_session(
    conn: &mut Conn,
    token_hash: &[u8; 32],
    expires_at: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE sessions SET expires_at = greatest(expires_at, $2) WHERE token_hash = $1",
        &[&&token_hash[..], &expires_at],
    )?;
    Ok(())
}

pub(super) fn revoke_session(
    conn: &mut Conn,
    token_hash: &[u8; 32],
    cx: &mut Cx<'_>,
) -> Result<u64> {
    let user = conn.query_opt(
        "SELECT u.id FROM sessions s JOIN users u ON u.key = s.user_key WHERE s.token_hash = $1",
        &[&&token_hash[..]],
    )?;
    let Some(user) = user else {
        return Ok(0);
    };
    let user = UserId(user.get(0));
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = $1",
        &[&&token_hash[..]],
    )?;
    sessions_revoked(conn, user, cx)?;
    Ok(1)
}

pub(super) fn revoke_all_sessions(conn: &mut Conn, user: UserId, cx: &mut Cx<'_>) -> Result<u64> {
    let n = conn.execute(
        "DELETE FROM sessions WHERE user_key = (SELECT key FROM users WHERE id = $1)",
        &[&user.0],
    )?;
    if n > 0 {
        sessions_revoked(conn, user, cx)?;
    }
    Ok(n)
}

/// Tells live subscribers here and, through the access log, in every other engine.
fn sessions_revoked(conn: &mut Conn, user: UserId, cx: &mut Cx<'_>) -> Result<()> {
    access_log::record(
        conn,
        cx.origin,
        cx.now,
        AccessChange::SessionsRevoked { user },
    )?;
    cx.fx
        .changes
        .push(Change::SessionsRevoked { user_id: user });
    Ok(())
}

pub(super) fn set_webhook(conn: &mut Conn, bot: UserId, url: Option<&str>) -> Result<()> {
    update_bot(
        conn,
        "UPDATE users SET webhook_url = $2 WHERE id = $1 AND role = $3",
        bot,
        url,
    )
}

pub(super) fn set_webhook_secret(conn: &mut Conn, bot: UserId, secret: &str) -> Result<()> {
    update_bot(
        conn,
        "UPDATE users SET webhook_secret = $2 WHERE id = $1 AND role = $3",
        bot,
        Some(secret),
    )
}

/// Runs `sql` (an UPDATE of one of a bot's columns to `$2`) for `bot`; fails with
/// `NotFound` when `bot` is not a bot.
fn update_bot(conn: &mut Conn, sql: &str, bot: UserId, value: Option<&str>) -> Result<()> {
    let n = conn.execute(sql, &[&bot.0, &value, &(Role::Bot as i16)])?;
    if n == 0 {
        return Err(Error::NotFound("bot"));
    }
    Ok(())
}
