//! Users and sessions.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::UserId;
use crate::live::Change;
use crate::model::{Involvement, Role, RoomKind, User};
use crate::store::access_log::AccessChange;
use crate::store::ops::{BotSecrets, Cx};
use crate::store::sqlite::access;
use crate::store::sqlite::access_log;

pub(super) fn create_user(
    conn: &Connection,
    login: &str,
    name: &str,
    password_hash: Option<String>,
    role: Role,
    bot: Option<BotSecrets>,
    cx: &mut Cx<'_>,
) -> Result<User> {
    let now = cx.now;
    let taken: bool = conn
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM users WHERE login = ?1)")?
        .query_row([login], |r| r.get(0))?;
    if taken {
        return Err(Error::validation("login", "is already taken"));
    }
    let id = UserId(Uuid::now_v7());
    conn.prepare_cached(
        "INSERT INTO users(id, login, name, password_hash, role, bot_key_hash, \
         webhook_secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        login,
        name,
        password_hash,
        role as i64,
        bot.as_ref().map(|b| &b.key_hash[..]),
        bot.as_ref().map(|b| &b.webhook_secret),
        now
    ])?;
    let key = conn.last_insert_rowid();
    if role != Role::Bot {
        // People belong to every open room, including those created before them.
        let mut open = conn.prepare_cached(
            "INSERT INTO memberships(room_key, user_key, involvement, last_read_seq) \
             SELECT key, ?1, ?2, last_seq FROM rooms WHERE kind = ?3 RETURNING room_key",
        )?;
        let joined = open
            .query_map(
                params![key, Involvement::Mentions as i64, RoomKind::Open as i64],
                |r| r.get::<_, i64>(0),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for room_key in joined {
            let room_id = conn
                .prepare_cached("SELECT id FROM rooms WHERE key = ?1")?
                .query_row([room_key], |r| r.get(0))?;
            cx.fx.changes.push(Change::Room(Event::MembershipChanged {
                room_id,
                user_id: id,
                joined: true,
            }));
        }
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

pub(super) fn deactivate(conn: &Connection, user: UserId, cx: &mut Cx<'_>) -> Result<()> {
    let key: i64 = conn
        .prepare_cached("SELECT key FROM users WHERE id = ?1")?
        .query_row([user], |r| r.get(0))
        .optional()?
        .ok_or(Error::NotFound("user"))?;
    conn.prepare_cached("UPDATE users SET active = 0 WHERE key = ?1")?
        .execute([key])?;
    conn.prepare_cached("DELETE FROM sessions WHERE user_key = ?1")?
        .execute([key])?;
    access_log::record(conn, cx.origin, cx.now, AccessChange::Deactivated { user })?;
    cx.fx.changes.push(Change::Deactivated { user_id: user });
    Ok(())
}

pub(super) fn create_session(
    conn: &Connection,
    token_hash: &[u8; 32],
    user: UserId,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    let actor = access::active_user(conn, user)?;
    conn.prepare_cached(
        "INSERT INTO sessions(token_hash, user_key, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![&token_hash[..], actor.key, now, expires_at])?;
    Ok(())
}

pub(super) fn extend_session(
    conn: &Connection,
    token_hash: &[u8; 32],
    expires_at: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE sessions SET expires_at = max(expires_at, ?2) WHERE token_hash = ?1",
    )?
    .execute(params![&token_hash[..], expires_at])?;
    Ok(())
}

pub(super) fn revoke_session(
    conn: &Connection,
    token_hash: &[u8; 32],
    cx: &mut Cx<'_>,
) -> Result<u64> {
    let user: Option<UserId> = conn
        .prepare_cached(
            "SELECT u.id FROM sessions s JOIN users u ON u.key = s.user_key \
             WHERE s.token_hash = ?1",
        )?
        .query_row([&token_hash[..]], |r| r.get(0))
        .optional()?;
    let Some(user) = user else {
        return Ok(0);
    };
    conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
        .execute([&token_hash[..]])?;
    sessions_revoked(conn, user, cx)?;
    Ok(1)
}

pub(super) fn revoke_all_sessions(conn: &Connection, user: UserId, cx: &mut Cx<'_>) -> Result<u64> {
    let n = conn
        .prepare_cached(
            "DELETE FROM sessions WHERE user_key = (SELECT key FROM users WHERE id = ?1)",
        )?
        .execute([user])?;
    if n > 0 {
        sessions_revoked(conn, user, cx)?;
    }
    Ok(n as u64)
}

/// Tells live subscribers here and, through the access log, in every other engine.
fn sessions_revoked(conn: &Connection, user: UserId, cx: &mut Cx<'_>) -> Result<()> {
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

pub(super) fn set_webhook(conn: &Connection, bot: UserId, url: Option<String>) -> Result<()> {
    update_bot(
        conn,
        "UPDATE users SET webhook_url = ?2 WHERE id = ?1 AND role = ?3",
        bot,
        url,
    )
}

pub(super) fn set_webhook_secret(conn: &Connection, bot: UserId, secret: String) -> Result<()> {
    update_bot(
        conn,
        "UPDATE users SET webhook_secret = ?2 WHERE id = ?1 AND role = ?3",
        bot,
        Some(secret),
    )
}

/// Runs `sql` (an UPDATE of one of a bot's columns to `?2`) for `bot`; fails with
/// `NotFound` when `bot` is not a bot.
fn update_bot(conn: &Connection, sql: &str, bot: UserId, value: Option<String>) -> Result<()> {
    let n = conn
        .prepare_cached(sql)?
        .execute(params![bot, value, Role::Bot as i64])?;
    if n == 0 {
        return Err(Error::NotFound("bot"));
    }
    Ok(())
}
