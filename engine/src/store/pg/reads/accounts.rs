//! Reading users, sessions and bots.

use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::model::{Role, User};
use crate::store::backend::Credentials;
use crate::store::pg::reads::pool::Conn;
use crate::store::pg::reads::rows::{self, USER_COLUMNS, get};

/// Logins match regardless of case (the unique index `users_login` is on `lower(login)`).
const BY_LOGIN: &str = "lower(u.login) = lower($1)";

/// A user with the stored password hash, for login.
pub(crate) fn credentials(conn: &mut Conn, login: &str) -> Result<Credentials> {
    let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE {BY_LOGIN}");
    match conn.query_opt(&sql, &[&login])? {
        Some(r) => Ok(Some((rows::user(&r, 0)?, get(&r, 6)?))),
        None => Ok(None),
    }
}

/// The user behind a session token hash and the session's expiry.
pub(crate) fn session(conn: &mut Conn, token_hash: &[u8; 32]) -> Result<Option<(User, i64)>> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, s.expires_at FROM sessions s JOIN users u ON u.key = s.user_key \
         WHERE s.token_hash = $1"
    );
    match conn.query_opt(&sql, &[&&token_hash[..]])? {
        Some(r) => Ok(Some((rows::user(&r, 0)?, get(&r, 6)?))),
        None => Ok(None),
    }
}

/// The bot owning a key hash.
pub(crate) fn bot(conn: &mut Conn, key_hash: &[u8; 32]) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.bot_key_hash = $1");
    conn.query_opt(&sql, &[&&key_hash[..]])?
        .map(|r| rows::user(&r, 0))
        .transpose()
}

/// A user by id.
pub(crate) fn user(conn: &mut Conn, id: UserId) -> Result<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    let row = conn.query_opt(&sql, &[&id.0])?;
    rows::user(&row.ok_or(Error::NotFound("user"))?, 0)
}

/// A user by login, regardless of case.
pub(crate) fn user_by_login(conn: &mut Conn, login: &str) -> Result<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE {BY_LOGIN}");
    let row = conn.query_opt(&sql, &[&login])?;
    rows::user(&row.ok_or(Error::NotFound("user"))?, 0)
}

/// Every user, oldest first.
pub(crate) fn users(conn: &mut Conn) -> Result<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.key");
    rows::all(&conn.query(&sql, &[])?, |r| rows::user(r, 0))
}

/// A bot's webhook secret.
pub(crate) fn webhook_secret(conn: &mut Conn, bot: UserId) -> Result<String> {
    let row = conn
        .query_opt(
            "SELECT webhook_secret FROM users WHERE id = $1 AND role = $2",
            &[&bot.0, &(Role::Bot as i16)],
        )?
        .ok_or(Error::NotFound("bot"))?;
    get::<Option<String>>(&row, 0)?
        .ok_or_else(|| Error::Storage("the bot has no webhook secret".into()))
}

/// A bot's webhook URL.
pub(crate) fn webhook(conn: &mut Conn, bot: UserId) -> Result<Option<String>> {
    let row = conn
        .query_opt(
            "SELECT webhook_url FROM users WHERE id = $1 AND role = $2",
            &[&bot.0, &(Role::Bot as i16)],
        )?
        .ok_or(Error::NotFound("bot"))?;
    get(&row, 0)
}
