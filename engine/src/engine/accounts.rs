//! Users, logins, sessions and bots.

use super::Engine;
use crate::auth::{hash_password, new_secret, secret_hash, verify_password};
use crate::content::{check_login, normalize_name};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::model::{Bot, Login, NewUser, Role, User};
use crate::store::{BotSecrets, Op};

/// Sessions are written back (sliding expiry) at most this often, or once per half TTL
/// when that is shorter.
const SESSION_REFRESH_MS: i64 = 3600 * 1000;

impl Engine {
    /// Creates a person (admin or member). They join every open room at once.
    pub fn create_user(&self, new: NewUser) -> Result<User> {
        check_login(&new.login)?;
        let name = normalize_name("name", &new.name)?;
        if new.role == Role::Bot {
            return Err(Error::validation("role", "bots are made with create_bot"));
        }
        // Hashing is slow on purpose; it runs here, never on the writer thread.
        let hash = hash_password(&new.password, self.options().password_cost)?;
        self.write(|reply| Op::CreateUser {
            login: new.login,
            name,
            password_hash: Some(hash),
            role: new.role,
            bot: None,
            reply,
        })
    }

    /// Creates a bot and its key. A bot sees only the rooms it is added to.
    pub fn create_bot(&self, login: &str, name: &str) -> Result<Bot> {
        check_login(login)?;
        let name = normalize_name("name", name)?;
        let key = new_secret();
        let webhook_secret = new_secret();
        let user = self.write(|reply| Op::CreateUser {
            login: login.to_owned(),
            name,
            password_hash: None,
            role: Role::Bot,
            bot: Some(BotSecrets {
                key_hash: secret_hash(&key),
                webhook_secret: webhook_secret.clone(),
            }),
            reply,
        })?;
        Ok(Bot {
            user,
            key,
            webhook_secret,
        })
    }

    /// Sets (or with `None` clears) the URL a bot's webhook is called at: `http://` or
    /// `https://`, at most 2000 characters. The engine stores it; the host calls it.
    pub fn set_bot_webhook(&self, bot: UserId, url: Option<&str>) -> Result<()> {
        if let Some(u) = url {
            let scheme_ok = u.starts_with("http://") || u.starts_with("https://");
            if !scheme_ok
                || u.len() > 2000
                || u.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(Error::validation(
                    "webhook",
                    "must be an http(s) URL of at most 2000 characters",
                ));
            }
        }
        self.write(|reply| Op::SetWebhook {
            bot,
            url: url.map(str::to_owned),
            reply,
        })
    }

    /// A bot's webhook URL, if set.
    pub fn bot_webhook(&self, bot: UserId) -> Result<Option<String>> {
        self.store().reads()?.webhook(bot)
    }

    /// The secret a bot's webhook calls are signed with (64 hex characters): the host signs
    /// each request body with HMAC-SHA256 under it, so the receiver can tell the call is
    /// genuine. Every bot has one, from [`Engine::create_bot`] (or, for bots made before
    /// schema version 2, from the migration). Host-level: hand it only to the bot's owner.
    pub fn bot_webhook_secret(&self, bot: UserId) -> Result<String> {
        self.store().reads()?.webhook_secret(bot)
    }

    /// Replaces a bot's webhook secret with a new random one and returns it; calls signed
    /// from then on use the new secret.
    pub fn rotate_bot_webhook_secret(&self, bot: UserId) -> Result<String> {
        let secret = new_secret();
        self.write(|reply| Op::SetWebhookSecret {
            bot,
            secret: secret.clone(),
            reply,
        })?;
        Ok(secret)
    }

    /// Checks a password and opens a session, for a caller whose address is unknown (a
    /// host tool): the same as [`Engine::login_from`] with `None`.
    pub fn login(&self, login: &str, password: &str) -> Result<Login> {
        self.login_from(login, password, None)
    }

    /// Checks a password from a client at `client` and opens a session. Attempts are
    /// counted whether they succeed or not: at most [`crate::Options::login_attempts`] per
    /// (login, address) in [`crate::Options::login_window`], with a lock-out that doubles
    /// each time the same pair hits it again, and at most
    /// [`crate::Options::login_attempts_per_login`] per login from all addresses. So a
    /// stranger guessing passwords locks out their own address, not the owner. Refused
    /// attempts fail with [`Error::RateLimited`], whose text says when to try again.
    pub fn login_from(
        &self,
        login: &str,
        password: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<Login> {
        let now = self.now();
        self.inner.limiter.attempt(login, client, now)?;
        let found = self.store().reads()?.credentials(login)?;
        let Some((user, hash)) = found else {
            // Same work as a real check, so timing does not tell which logins exist.
            let cost = self.options().password_cost;
            let dummy = self
                .inner
                .dummy_hash
                .get_or_init(|| hash_password("not a real password", cost).unwrap_or_default());
            verify_password(password, Some(dummy));
            return Err(Error::Unauthenticated("wrong login or password"));
        };
        if !verify_password(password, hash.as_deref()) {
            return Err(Error::Unauthenticated("wrong login or password"));
        }
        self.inner.limiter.succeeded(login, client);
        if !user.active {
            return Err(Error::Forbidden("user is deactivated"));
        }
        self.open_session(user, now)
    }

    /// Opens a session for a user without a password: host-level (for admin tools, scripts
    /// and load tests); the caller decides who may do this.
    pub fn create_session(&self, user: UserId) -> Result<Login> {
        let user = self.user(user)?;
        if !user.active {
            return Err(Error::Forbidden("user is deactivated"));
        }
        self.open_session(user, self.now())
    }

    fn open_session(&self, user: User, now: i64) -> Result<Login> {
        let token = new_secret();
        let expires_at = now.saturating_add(self.session_ttl_ms());
        self.write(|reply| Op::CreateSession {
            token_hash: secret_hash(&token),
            user: user.id,
            expires_at,
            reply,
        })?;
        Ok(Login {
            token,
            user,
            expires_at,
        })
    }

    /// The user behind a session token. Unknown, revoked and expired tokens and deactivated
    /// users are refused with [`Error::Unauthenticated`]. Each use extends the session
    /// (written back at most once an hour, or once per half TTL when that is shorter, so a
    /// use after half the TTL always extends it).
    pub fn authenticate(&self, token: &str) -> Result<User> {
        let hash = secret_hash(token);
        let now = self.now();
        let (user, expires_at) = self
            .store()
            .reads()?
            .session(&hash)?
            .ok_or(Error::Unauthenticated("unknown or revoked token"))?;
        if expires_at <= now {
            return Err(Error::Unauthenticated("session expired"));
        }
        if !user.active {
            return Err(Error::Unauthenticated("user is deactivated"));
        }
        let ttl = self.session_ttl_ms();
        let renewed = now.saturating_add(ttl);
        if renewed - expires_at >= SESSION_REFRESH_MS.min(ttl / 2) {
            // Best effort and never blocking: a full queue just means the next use renews.
            let _ = self.store().submit(Op::ExtendSession {
                token_hash: hash,
                expires_at: renewed,
                reply: Box::new(|_| {}),
            });
        }
        Ok(user)
    }

    /// The session lifetime in milliseconds; one too long to count in them never lapses.
    fn session_ttl_ms(&self) -> i64 {
        i64::try_from(self.options().session_ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// The bot owning `key`; unknown keys and deactivated bots are refused.
    pub fn authenticate_bot(&self, key: &str) -> Result<User> {
        let hash = secret_hash(key);
        match self.store().reads()?.bot(&hash)? {
            Some(user) if user.active => Ok(user),
            Some(_) => Err(Error::Unauthenticated("bot is deactivated")),
            None => Err(Error::Unauthenticated("unknown bot key")),
        }
    }

    /// Ends one session. Revoking an unknown token is not an error.
    pub fn revoke_session(&self, token: &str) -> Result<()> {
        self.write(|reply| Op::RevokeSession {
            token_hash: secret_hash(token),
            reply,
        })
        .map(|_| ())
    }

    /// Ends every session of a user; returns how many there were.
    pub fn revoke_all_sessions(&self, user: UserId) -> Result<u64> {
        self.write(|reply| Op::RevokeAllSessions { user, reply })
    }

    /// Deactivates a user: all sessions end and every later call for them is refused.
    /// Host-level: the caller decides who may do this.
    pub fn deactivate_user(&self, user: UserId) -> Result<()> {
        self.write(|reply| Op::DeactivateUser { user, reply })
    }

    /// A user by id.
    pub fn user(&self, id: UserId) -> Result<User> {
        self.store().reads()?.user(id)
    }

    /// A user by login (case-insensitive).
    pub fn user_by_login(&self, login: &str) -> Result<User> {
        self.store().reads()?.user_by_login(login)
    }

    /// Every user, oldest first.
    pub fn users(&self) -> Result<Vec<User>> {
        self.store().reads()?.users()
    }
}
