//! Users, bots, logins and sessions.

use std::ffi::c_char;

use ::ember_engine::{NewUser, Role, User};

use crate::boundary::{
    Failure, arg_out, arg_str, c_string, c_string_opt, free_box, free_c_string, free_raw_slice,
    guard, guard_value, into_raw_slice,
};
use crate::engine::ember_engine;
use crate::handles::arg_engine;
use crate::ids::ember_uuid;
use crate::status::ember_status;

/// What a user may do.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_role {
    /// Manages users and rooms; may edit or delete any message.
    EMBER_ROLE_ADMIN = 0,
    /// A person.
    EMBER_ROLE_MEMBER = 1,
    /// A program; sees only the rooms it was added to.
    EMBER_ROLE_BOT = 2,
}

impl From<Role> for ember_role {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => ember_role::EMBER_ROLE_ADMIN,
            Role::Member => ember_role::EMBER_ROLE_MEMBER,
            Role::Bot => ember_role::EMBER_ROLE_BOT,
        }
    }
}

/// A user account. Owned by the caller when handed out alone: free with `ember_user_free`.
#[repr(C)]
#[derive(Debug)]
pub struct ember_user {
    /// Stable id.
    pub id: ember_uuid,
    /// Unique login (UTF-8).
    pub login: *mut c_char,
    /// Display name (UTF-8).
    pub name: *mut c_char,
    /// What the user may do.
    pub role: ember_role,
    /// False once deactivated.
    pub active: bool,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at: i64,
}

impl From<User> for ember_user {
    fn from(u: User) -> Self {
        ember_user {
            id: u.id.into(),
            login: c_string(u.login),
            name: c_string(u.name),
            role: u.role.into(),
            active: u.active,
            created_at: u.created_at,
        }
    }
}

impl Drop for ember_user {
    fn drop(&mut self) {
        free_c_string(self.login);
        free_c_string(self.name);
    }
}

/// A list of users. Free with `ember_user_list_free`.
#[repr(C)]
#[derive(Debug)]
pub struct ember_user_list {
    /// `len` users (NULL when `len` is 0).
    pub items: *mut ember_user,
    /// How many.
    pub len: usize,
}

impl Drop for ember_user_list {
    fn drop(&mut self) {
        free_raw_slice(self.items, self.len);
    }
}

fn boxed(u: User) -> *mut ember_user {
    Box::into_raw(Box::new(u.into()))
}

/// Creates a person: `role` is `EMBER_ROLE_ADMIN` or `EMBER_ROLE_MEMBER` (bots are made with
/// `ember_create_bot`). They join every open room. On success `*out` is the new user, owned
/// by the caller (`ember_user_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT` (not UTF-8, unknown
/// role); `EMBER_ERR_VALIDATION` (login taken or malformed, name, password length);
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_create_user(
    engine: *const ember_engine,
    login: *const c_char,
    name: *const c_char,
    password: *const c_char,
    role: u32,
    out: *mut *mut ember_user,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let login = arg_str(login, "login")?;
        let name = arg_str(name, "name")?;
        let password = arg_str(password, "password")?;
        let out = arg_out(out, "out")?;
        let role = match role {
            0 => Role::Admin,
            1 => Role::Member,
            2 => Role::Bot,
            n => return Err(Failure::invalid(format!("role {n} is not an ember_role"))),
        };
        let user = engine.create_user(NewUser {
            login: login.into(),
            name: name.into(),
            password: password.into(),
            role,
        })?;
        out.write(boxed(user));
        Ok(())
    })
}

/// Creates a bot. On success `*out_user` is its user (`ember_user_free`) and `*out_key` its
/// secret key, 64 hex characters (`ember_string_free`); the key cannot be read again.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT`;
/// `EMBER_ERR_VALIDATION`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_create_bot(
    engine: *const ember_engine,
    login: *const c_char,
    name: *const c_char,
    out_user: *mut *mut ember_user,
    out_key: *mut *mut c_char,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let login = arg_str(login, "login")?;
        let name = arg_str(name, "name")?;
        let out_user = arg_out(out_user, "out_user")?;
        let out_key = arg_out(out_key, "out_key")?;
        let bot = engine.create_bot(login, name)?;
        out_user.write(boxed(bot.user));
        out_key.write(c_string(bot.key));
        Ok(())
    })
}

/// Checks a password and opens a session. On success `*out_token` is the bearer token
/// (`ember_string_free`; only its hash is stored) and `*out_user` the user's id.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT`;
/// `EMBER_ERR_UNAUTHENTICATED` (wrong login or password); `EMBER_ERR_FORBIDDEN`
/// (deactivated); `EMBER_ERR_RATE_LIMITED` (too many attempts for this login;
/// `ember_last_retry_after_ms`); `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`. Counted as
/// attempts from an unknown address: a host that knows the client's address uses
/// `ember_login_from`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_login(
    engine: *const ember_engine,
    login: *const c_char,
    password: *const c_char,
    out_token: *mut *mut c_char,
    out_user: *mut ember_uuid,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let login = arg_str(login, "login")?;
        let password = arg_str(password, "password")?;
        let out_token = arg_out(out_token, "out_token")?;
        let out_user = arg_out(out_user, "out_user")?;
        let session = engine.login(login, password)?;
        out_user.write(session.user.id.into());
        out_token.write(c_string(session.token));
        Ok(())
    })
}

/// Checks a password from a client at `address` (an IPv4 or IPv6 address in text, e.g.
/// "192.0.2.7" or "2001:db8::1"; NULL when unknown) and opens a session. Outputs as for
/// `ember_login`. Attempts are limited per (login, address) with a lock-out that grows
/// for that pair only, and more loosely per login across addresses, so a stranger cannot
/// lock the owner out from everywhere. When refused, `ember_last_retry_after_ms` says how
/// long to wait and `ember_last_error` says it in words ("try again in 3 minutes").
///
/// Thread-safe. Errors: as `ember_login`, and `EMBER_ERR_INVALID_ARGUMENT` when `address`
/// is not an IP address.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_login_from(
    engine: *const ember_engine,
    login: *const c_char,
    password: *const c_char,
    address: *const c_char,
    out_token: *mut *mut c_char,
    out_user: *mut ember_uuid,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let login = arg_str(login, "login")?;
        let password = arg_str(password, "password")?;
        let address =
            if address.is_null() {
                None
            } else {
                let text = arg_str(address, "address")?;
                Some(text.parse::<std::net::IpAddr>().map_err(|_| {
                    Failure::invalid(format!("address {text:?} is not an IP address"))
                })?)
            };
        let out_token = arg_out(out_token, "out_token")?;
        let out_user = arg_out(out_user, "out_user")?;
        let session = engine.login_from(login, password, address)?;
        out_user.write(session.user.id.into());
        out_token.write(c_string(session.token));
        Ok(())
    })
}

/// Opens a session for a user without a password (host-level: for admin tools and
/// scripts; the host decides who may). `*out_token` as for `ember_login`.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`
/// (deactivated); `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_create_session(
    engine: *const ember_engine,
    user: ember_uuid,
    out_token: *mut *mut c_char,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out_token = arg_out(out_token, "out_token")?;
        let session = engine.create_session(user.into())?;
        out_token.write(c_string(session.token));
        Ok(())
    })
}

/// The user behind a session token (and extends the session). On success `*out` is the
/// user, owned by the caller (`ember_user_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT`;
/// `EMBER_ERR_UNAUTHENTICATED` (unknown, revoked or expired token, deactivated user);
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_authenticate(
    engine: *const ember_engine,
    token: *const c_char,
    out: *mut *mut ember_user,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let token = arg_str(token, "token")?;
        let out = arg_out(out, "out")?;
        out.write(boxed(engine.authenticate(token)?));
        Ok(())
    })
}

/// The bot owning a bot key. On success `*out` is the bot's user (`ember_user_free`).
///
/// Thread-safe. Errors: as `ember_authenticate`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_authenticate_bot(
    engine: *const ember_engine,
    key: *const c_char,
    out: *mut *mut ember_user,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let key = arg_str(key, "key")?;
        let out = arg_out(out, "out")?;
        out.write(boxed(engine.authenticate_bot(key)?));
        Ok(())
    })
}

/// Ends one session. Revoking an unknown token is not an error.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT`; `EMBER_ERR_CLOSED`;
/// `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_revoke_session(
    engine: *const ember_engine,
    token: *const c_char,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let token = arg_str(token, "token")?;
        engine.revoke_session(token)?;
        Ok(())
    })
}

/// Ends every session of a user; `*out_count` is how many there were.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_CLOSED`;
/// `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_revoke_all_sessions(
    engine: *const ember_engine,
    user: ember_uuid,
    out_count: *mut u64,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out_count = arg_out(out_count, "out_count")?;
        out_count.write(engine.revoke_all_sessions(user.into())?);
        Ok(())
    })
}

/// Deactivates a user (host-level): their sessions end, their subscriptions are revoked,
/// and every later call for them is refused.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_CLOSED`;
/// `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_deactivate_user(
    engine: *const ember_engine,
    user: ember_uuid,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        engine.deactivate_user(user.into())?;
        Ok(())
    })
}

/// A user by id. On success `*out` is owned by the caller (`ember_user_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_CLOSED`;
/// `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_user_get(
    engine: *const ember_engine,
    id: ember_uuid,
    out: *mut *mut ember_user,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        out.write(boxed(engine.user(id.into())?));
        Ok(())
    })
}

/// A user by login (case-insensitive). On success `*out` is owned by the caller
/// (`ember_user_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT`;
/// `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_user_by_login(
    engine: *const ember_engine,
    login: *const c_char,
    out: *mut *mut ember_user,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let login = arg_str(login, "login")?;
        let out = arg_out(out, "out")?;
        out.write(boxed(engine.user_by_login(login)?));
        Ok(())
    })
}

/// Every user (people and bots, deactivated ones included), oldest first. Host-level: no
/// access check. On success `*out` is owned by the caller (`ember_user_list_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_users(
    engine: *const ember_engine,
    out: *mut *mut ember_user_list,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let users = engine.users()?;
        let (items, len) = into_raw_slice(users.into_iter().map(Into::into).collect());
        out.write(Box::into_raw(Box::new(ember_user_list { items, len })));
        Ok(())
    })
}

/// Sets the URL a bot's webhook is called at (`http://` or `https://`, at most 2000
/// characters; copied), or with `url` NULL clears it. libember only stores it: calling it
/// is the host's job.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL` (`engine`); `EMBER_ERR_INVALID_ARGUMENT` (not
/// UTF-8); `EMBER_ERR_VALIDATION` (not an http(s) URL, too long); `EMBER_ERR_NOT_FOUND`
/// (no such bot); `EMBER_ERR_OVERLOADED`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_set_bot_webhook(
    engine: *const ember_engine,
    bot: ember_uuid,
    url: *const c_char,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let url = match url.is_null() {
            true => None,
            false => Some(arg_str(url, "url")?),
        };
        engine.set_bot_webhook(bot.into(), url)?;
        Ok(())
    })
}

/// A bot's webhook URL. On `EMBER_OK`, `*out` is the URL, owned by the caller
/// (`ember_string_free`), or NULL when none is set.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND` (no such bot);
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_bot_webhook(
    engine: *const ember_engine,
    bot: ember_uuid,
    out: *mut *mut c_char,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        out.write(c_string_opt(engine.bot_webhook(bot.into())?));
        Ok(())
    })
}

/// The secret a bot's webhook calls are signed with (64 hex characters): the host signs
/// each request body with HMAC-SHA256 under it. On `EMBER_OK`, `*out` is the secret, owned
/// by the caller (`ember_string_free`). Host-level: hand it only to the bot's owner.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND` (no such bot);
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_bot_webhook_secret(
    engine: *const ember_engine,
    bot: ember_uuid,
    out: *mut *mut c_char,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        out.write(c_string(engine.bot_webhook_secret(bot.into())?));
        Ok(())
    })
}

/// Replaces a bot's webhook secret with a new random one. On `EMBER_OK`, `*out` is the new
/// secret, owned by the caller (`ember_string_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND` (no such bot);
/// `EMBER_ERR_OVERLOADED`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_rotate_bot_webhook_secret(
    engine: *const ember_engine,
    bot: ember_uuid,
    out: *mut *mut c_char,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        out.write(c_string(engine.rotate_bot_webhook_secret(bot.into())?));
        Ok(())
    })
}

/// Frees a user handed out by libember, with its strings. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_user_free(user: *mut ember_user) {
    guard_value((), || free_box(user))
}

/// Frees a user list and every user in it. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_user_list_free(list: *mut ember_user_list) {
    guard_value((), || free_box(list))
}
