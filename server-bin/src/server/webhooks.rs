//! Bot webhooks, Campfire style: when a message mentions a bot that has a webhook, the
//! server POSTs `{"user","room","message":{"id","body":{"html","plain"},"path"}}` to it
//! (plain `http://`, 7 s timeout), and a `200` answer with a `text/plain` or `text/html`
//! body becomes the bot's message in the room.
//!
//! Runs on its own thread. The engine computes who to notify only while someone listens,
//! so the thread listens only while at least one bot has a webhook (checked every 10 s).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ember_engine::{
    ClientMessageId, Engine, Message, NewPost, NotificationStream, RecvTimeoutError, Role, UserId,
};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(7);
const RECHECK: Duration = Duration::from_secs(10);
const MAX_REPLY: usize = 64 * 1024;

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
                    call(engine, *bot, &note.message);
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
fn call(engine: &Engine, bot: UserId, m: &Message) {
    let Ok(user) = engine.user(bot) else { return };
    let Ok(Some(url)) = engine.bot_webhook(bot) else {
        return;
    };
    if user.role != Role::Bot {
        return;
    }
    let room = engine
        .room(bot, m.room_id)
        .map(|r| r.name)
        .unwrap_or_default();
    let author = engine
        .user(m.creator_id)
        .map(|u| u.name)
        .unwrap_or_default();
    let payload = json!({
        "user": {"id": m.creator_id.to_string(), "name": author},
        "room": {"id": m.room_id.to_string(), "name": room, "path": format!("/rooms/{}", m.room_id)},
        "message": {"id": m.id.to_string(),
                    "body": {"html": escape_html(&m.content), "plain": m.content},
                    "path": format!("/rooms/{}/@{}", m.room_id, m.id)},
    });
    let reply = match post_json(&url, &payload.to_string()) {
        Ok(Some(text)) if !text.trim().is_empty() => text,
        Ok(_) => return,
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

/// POSTs JSON; the body of a `200` text answer, `None` for any other answer.
fn post_json(url: &str, body: &str) -> Result<Option<String>, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// webhooks are supported")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let authority = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    s.take(MAX_REPLY as u64)
        .read_to_end(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(text_reply(&answer))
}

/// The body of a `200 text/plain` or `text/html` answer.
fn text_reply(answer: &[u8]) -> Option<String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head) = resp.parse(answer).ok()? else {
        return None;
    };
    let textual = resp.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("content-type")
            && (h.value.starts_with(b"text/plain") || h.value.starts_with(b"text/html"))
    });
    if resp.code != Some(200) || !textual {
        return None;
    }
    String::from_utf8(answer[head..].to_vec()).ok()
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
    fn only_200_text_answers_become_messages() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbeep";
        assert_eq!(text_reply(ok).as_deref(), Some("beep"));
        let json = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}";
        assert_eq!(text_reply(json), None);
        let err = b"HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\n\r\nno";
        assert_eq!(text_reply(err), None);
        assert!(post_json("https://x/", "{}").is_err());
    }
}
