//! Reading users and sessions.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::model::User;
use crate::store::sqlite::rows::{self, USER_COLUMNS};

/// A user with the stored password hash, for login.
pub(crate) fn credentials(
    conn: &Connection,
    login: &str,
) -> Result<Option<(User, Option<String>)>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.login = ?1"
        ))?
        .query_row([login], |r| Ok((rows::user(r, 0)?, r.get(6)?)))
        .optional()?)
}

/// The user behind a session token hash and the session's expiry.
pub(crate) fn session(conn: &Connection, token_hash: &[u8; 32]) -> Result<Option<(User, i64)>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS}, s.expires_at FROM sessions s JOIN users u ON u.key = s.user_key \
             WHERE s.token_hash = ?1"
        ))?
        .query_row([&token_hash[..]], |r| Ok((rows::user(r, 0)?, r.get(6)?)))
        .optional()?)
}

/// The bot owning a key hash.
pub(crate) fn bot(conn: &Connection, key_hash: &[u8; 32]) -> Result<Option<User>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.bot_key_hash = ?1"
        ))?
        .query_row([&key_hash[..]], |r| rows::user(r, 0))
        .optional()?)
}

pub(crate) fn user(conn: &Connection, id: UserId) -> Result<User> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1"
    ))?
    .query_row([id], |r| rows::user(r, 0))
    .optional()?
    .ok_or(Error::NotFound("user"))
}

pub(crate) fn user_by_login(conn: &Connection, login: &str) -> Result<User> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.login = ?1"
    ))?
    .query_row([login], |r| rows::user(r, 0))
    .optional()?
    .ok_or(Error::NotFound("user"))
}

pub(crate) fn users(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users u ORDER BY u.key"
    ))?;
    let list = stmt
        .query_map([], |r| rows::user(r, 0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(list)
}

/// A bot's webhook secret.
pub(crate) fn webhook_secret(conn: &Connection, bot: UserId) -> Result<String> {
    let stored: Option<Option<String>> = conn
        .prepare_cached("SELECT webhook_secret FROM users WHERE id = ?1 AND role = ?2")?
        .query_row(
            rusqlite::params![bot, crate::model::Role::Bot as i64],
            |r| r.get(0),
        )
        .optional()?;
    stored
        .ok_or(Error::NotFound("bot"))?
        .ok_or_else(|| Error::Storage("the bot has no webhook secret".into()))
}

/// A bot's webhook URL.
pub(crate) fn webhook(conn: &Connection, bot: UserId) -> Result<Option<String>> {
    conn.prepare_cached("SELECT webhook_url FROM users WHERE id = ?1 AND role = ?2")?
        .query_row(
            rusqlite::params![bot, crate::model::Role::Bot as i64],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(Error::NotFound("bot"))
}
