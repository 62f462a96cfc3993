//! Bot webhooks, Campfire style: when a message mentions a bot that has a webhook, the
//! server POSTs `{"user","room","message":{"id","body":{"html","plain"},"path"}}` to it
//! (`http://` or `https://`, 7 s timeout, redirects not followed), signed with the bot's
//! webhook secret in `X-Ember-Signature`, and a `200` answer with a `text/plain` or
//! `text/html` body of at most 64 KiB becomes the bot's message in the room.
//!
//! Runs on its own thread. The engine computes who to notify only while someone listens,
//! so the thread listens only while at least one bot has a webhook (checked every 10 s).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ember_engine::{
    ClientMessageId, Engine, Message, NewPost, NotificationStream, RecvTimeoutError, Role, UserId,
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

/// How long one webhook call may take in all: connecting, sending, the answer and its body.
pub const TIMEOUT: Duration = Duration::from_secs(7);
/// The largest answer body read; a larger one is ignored.
pub const MAX_REPLY: u64 = 64 * 1024;
/// The request header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Ember-Signature";
const RECHECK: Duration = Duration::from_secs(10);

/// The webhook thread; stopped when dropped.
pub struct Webhooks {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Webhooks {
    /// Starts the thread.
    pub fn start(engine: Engine) -> std::io::Result<Webhooks> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ember-webhooks".into())
            .spawn(move || run(&engine, &flag))?;
        Ok(Webhooks {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Webhooks {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(engine: &Engine, stop: &AtomicBool) {
    let client = WebhookClient::new(TIMEOUT, MAX_REPLY);
    let mut stream: Option<NotificationStream> = None;
    let mut checked: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        if checked.is_none_or(|t| t.elapsed() >= RECHECK) {
            checked = Some(Instant::now());
            match (any_webhook(engine), &stream) {
                (true, None) => stream = engine.subscribe_notifications().ok(),
                (false, Some(_)) => stream = None,
                _ => {}
            }
        }
        let Some(s) = &stream else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        match s.events().recv_timeout(Duration::from_millis(200)) {
            Ok(note) => {
                for bot in &note.users {
                    call(engine, &client, *bot, &note.message);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            // Lagged or closed: subscribe again at the next check.
            Err(_) => stream = None,
        }
    }
}

fn any_webhook(engine: &Engine) -> bool {
    let Ok(users) = engine.users() else {
        return false;
    };
    users
        .iter()
        .filter(|u| u.role == Role::Bot && u.active)
        .any(|u| matches!(engine.bot_webhook(u.id), Ok(Some(_))))
}

/// Calls one bot's webhook about `m` and posts its answer.
fn call(engine: &Engine, client: &WebhookClient, bot: UserId, m: &Message) {
    let Ok(user) = engine.user(bot) else { return };
    if user.role != Role::Bot {
        return;
    }
    let Ok(Some(url)) = engine.bot_webhook(bot) else {
        return;
    };
    let secret = match engine.bot_webhook_secret(bot) {
        Ok(s) => s,
        Err(e) => {
            log::warn!("webhook of bot {}: no secret to sign with: {e}", user.login);
            return;
        }
    };
    let body = payload(engine, bot, m).to_string();
    let reply = match client.deliver(&url, &secret, body.as_bytes()) {
        Ok(Answer::Text(text)) if !text.trim().is_empty() => text,
        Ok(Answer::Text(_)) => return,
        Ok(Answer::Ignored { status }) => {
            log::debug!("webhook of bot {} ({url}) answered {status}", user.login);
            return;
        }
        Err(e) => {
            log::warn!("webhook of bot {} ({url}): {e}", user.login);
            return;
        }
    };
    let post = NewPost {
        user: bot,
        room: m.room_id,
        client_message_id: ClientMessageId::new_v7(),
        content: reply,
    };
    if let Err(e) = engine.post(post) {
        log::warn!("cannot post the reply of bot {}: {e}", user.login);
    }
}

/// Campfire's webhook payload about `m`, as `bot` sees it.
fn payload(engine: &Engine, bot: UserId, m: &Message) -> serde_json::Value {
    let room = engine
        .room(bot, m.room_id)
        .map(|r| r.name)
        .unwrap_or_default();
    let author = engine
        .user(m.creator_id)
        .map(|u| u.name)
        .unwrap_or_default();
    json!({
        "user": {"id": m.creator_id.to_string(), "name": author},
        "room": {"id": m.room_id.to_string(), "name": room, "path": format!("/rooms/{}", m.room_id)},
        "message": {"id": m.id.to_string(),
                    "body": {"html": escape_html(&m.content), "plain": m.content},
                    "path": format!("/rooms/{}/@{}", m.room_id, m.id)},
    })
}

/// What a webhook answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// A `200` with a `text/plain` or `text/html` body: the bot's reply.
    Text(String),
    /// Any other answer (another status, including redirects, or another content type).
    Ignored {
        /// The HTTP status.
        status: u16,
    },
}

/// Why a webhook call failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No complete answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The answer's body is larger than the cap; it is ignored.
    #[error("answer larger than {0} bytes, ignored")]
    TooLarge(u64),
    /// Anything else: bad URL, DNS, connection, TLS, malformed HTTP.
    #[error("{0}")]
    Failed(String),
}

/// A blocking HTTP client for webhook calls (ureq; `https://` through rustls with the
/// Mozilla roots). It follows no redirects, gives up after its timeout, reads at most its
/// reply cap, and honours `HTTPS_PROXY`/`NO_PROXY`. Thread-safe; keeps connections alive.
#[derive(Clone, Debug)]
pub struct WebhookClient {
    agent: ureq::Agent,
    timeout: Duration,
    max_reply: u64,
}

impl WebhookClient {
    /// A client whose calls take at most `timeout` in all and read at most `max_reply`
    /// bytes of answer body. The server uses [`TIMEOUT`] and [`MAX_REPLY`].
    pub fn new(timeout: Duration, max_reply: u64) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("ember-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            agent,
            timeout,
            max_reply,
        }
    }

    /// POSTs `body` (JSON) to `url` with its [`signature`] under `secret` in
    /// [`SIGNATURE_HEADER`], and says what came back.
    pub fn deliver(&self, url: &str, secret: &str, body: &[u8]) -> Result<Answer, WebhookError> {
        let mut response = self
            .agent
            .post(url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, signature(secret, body))
            .send(body)
            .map_err(|e| self.error(e))?;
        let status = response.status().as_u16();
        let body = response.body_mut();
        let textual = matches!(body.mime_type(), Some("text/plain" | "text/html"));
        if status != 200 || !textual {
            return Ok(Answer::Ignored { status });
        }
        let text = body
            .with_config()
            .limit(self.max_reply)
            .read_to_string()
            .map_err(|e| self.error(e))?;
        Ok(Answer::Text(text))
    }

    fn error(&self, e: ureq::Error) -> WebhookError {
        match e {
            ureq::Error::Timeout(_) => WebhookError::Timeout(self.timeout),
            ureq::Error::BodyExceedsLimit(_) => WebhookError::TooLarge(self.max_reply),
            other => WebhookError::Failed(other.to_string()),
        }
    }
}

/// The value of [`SIGNATURE_HEADER`] for `body`: `sha256=` and the lowercase hex
/// HMAC-SHA256 of the exact body bytes, keyed with the secret's text (its 64 ASCII
/// characters, not the bytes they spell).
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail; were it to, the bare prefix
    // fails every check on the receiver's side instead of panicking here.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return "sha256=".to_owned();
    };
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_sha256_of_the_body() {
        // RFC 4231, test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn unsupported_urls_fail_without_panicking() {
        let client = WebhookClient::new(Duration::from_secs(1), MAX_REPLY);
        for url in ["ftp://x/", "not a url", ""] {
            assert!(client.deliver(url, "s", b"{}").is_err(), "{url}");
        }
    }
}
