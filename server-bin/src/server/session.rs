//! A WebSocket connection's life: opening (the `ready` frame), reading frames, delivering
//! engine events, acknowledging writes, pings and timeouts, closing.

use std::time::{Duration, Instant};

use bytes::Bytes;
use ember_engine::{Completion, Event, Response as Answer, TryRecvError, User};
use serde_json::json;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Error as WsError, Message};

use super::api::posted_response;
use super::conn::{MAX_BACKLOG, Phase, RoomSub, WsConn};
use super::event_loop::Server;
use super::protocol::{self, Code, Problem, encode_event, message_json, with_ref};
use super::socket::Sock;
use super::worker::Who;
use super::ws::{Reply, send_json};

/// How long after our close frame a connection may linger.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// A WebSocket unused for this long parks (gives its buffers back) as soon as it is
/// quiet again, until it gets busy (see `WsConn::eager_park`).
const PARK_AFTER: Duration = Duration::from_secs(2);

/// What became of a room subscription after draining it.
#[derive(Debug, PartialEq, Eq)]
pub enum Drained {
    /// Still live.
    Open,
    /// Ended (revoked, incomplete replay done, engine closed): forget it.
    Ended,
    /// The engine detached it for lagging: the client is too slow.
    Lagged,
}

impl Server {
    /// A freshly upgraded connection: sends `ready` and reads whatever came with the upgrade.
    pub(crate) fn open_ws(&mut self, who: Who, mut w: Box<WsConn>, user: &User) -> Phase {
        self.metrics.websockets += 1;
        let rooms = match self.engine.rooms_for(user.id) {
            Ok(r) => r,
            Err(e) => {
                let p = Problem::from(e);
                send_json(&mut w, &p.frame(&None));
                w.start_close(CloseCode::Error, "cannot load rooms");
                return self.after_close_check(who, w);
            }
        };
        send_json(&mut w, &protocol::ready(&self.epoch, user, &rooms));
        self.metrics.frames_out += 1;
        self.users.add(&self.engine, who, user.id, &rooms);
        if self.on_ws_ready(who, &mut w, true, true) {
            self.after_close_check(who, w)
        } else {
            self.end_ws(who, w)
        }
    }

    /// Reads, flushes and delivers after a readiness event. False when the connection died.
    pub(crate) fn on_ws_ready(
        &mut self,
        who: Who,
        w: &mut WsConn,
        readable: bool,
        _writable: bool,
    ) -> bool {
        if readable && !w.closing && !self.read_ws(who, w) {
            return false;
        }
        if !w.flush() {
            return false;
        }
        w.closing || self.deliver(w)
    }

    fn read_ws(&mut self, who: Who, w: &mut WsConn) -> bool {
        loop {
            let read = match w.ws() {
                Some(ws) => ws.read(),
                None => return false,
            };
            match read {
                Ok(msg) => {
                    w.last_seen = Instant::now();
                    w.last_used = w.last_seen;
                    self.metrics.frames_in += 1;
                    self.heartbeat(w);
                    match msg {
                        Message::Text(t) => self.on_text(who, w, t.as_str()),
                        Message::Binary(_) => {
                            let p =
                                Problem::new(Code::BadRequest, "binary frames are not supported");
                            send_json(w, &p.frame(&None));
                        }
                        _ => {}
                    }
                    if w.closing {
                        return true;
                    }
                }
                Err(WsError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => return false,
                Err(WsError::Capacity(e)) => {
                    log::debug!("closing {who:?}: {e}");
                    w.start_close(CloseCode::Size, "message too big");
                    return true;
                }
                Err(WsError::Protocol(e)) => {
                    log::debug!("closing {who:?}: {e}");
                    w.start_close(CloseCode::Protocol, "protocol error");
                    return true;
                }
                Err(WsError::Utf8(_)) => {
                    w.start_close(CloseCode::Invalid, "invalid UTF-8");
                    return true;
                }
                Err(WsError::WriteBufferFull(_)) => return true,
                Err(e) => {
                    log::debug!("read failed on {who:?}: {e}");
                    return false;
                }
            }
        }
    }

    /// Keeps the connection's presence fresh (at most a few times per TTL).
    fn heartbeat(&mut self, w: &mut WsConn) {
        let ttl = self.engine.options().presence_ttl;
        let every = (ttl / 4).min(Duration::from_secs(10));
        if w.last_heartbeat.elapsed() < every {
            return;
        }
        w.last_heartbeat = Instant::now();
        for s in &mut w.subs {
            let fresh = s
                .presence
                .as_ref()
                .is_some_and(|h| self.engine.presence_heartbeat(h).is_ok());
            if !fresh {
                s.presence = self.engine.presence_connect(w.user, s.room).ok();
            }
        }
    }

    /// Moves queued engine events of every subscribed room into the connection's output.
    /// False when the connection must go.
    pub(crate) fn deliver(&mut self, w: &mut WsConn) -> bool {
        let mut subs = std::mem::take(&mut w.subs);
        let mut lagged = false;
        let mut ended = Vec::new();
        let mut i = 0;
        while i < subs.len() {
            match self.drain_sub(w, &mut subs[i], false) {
                Drained::Open => i += 1,
                Drained::Lagged => {
                    lagged = true;
                    i += 1;
                }
                Drained::Ended => {
                    let s = subs.swap_remove(i);
                    let frame = json!({"type": "unsubscribed", "room_id": s.room.to_string(),
                                       "reason": "ended"});
                    send_json(w, &frame);
                    ended.push(s);
                }
            }
        }
        w.subs = subs;
        for entry in ended {
            self.forget_room_sub(entry);
        }
        if lagged {
            self.metrics.lagged += 1;
            self.close_slow(w, "too slow: subscribe again with since");
        }
        true
    }

    /// Drains one subscription into the output; `force` ignores a full output (replays).
    pub(crate) fn drain_sub(&mut self, w: &mut WsConn, s: &mut RoomSub, force: bool) -> Drained {
        loop {
            if w.closing || (!force && w.is_stalled()) {
                return Drained::Open;
            }
            let event = match s.sub.events().try_recv() {
                Ok(e) => e,
                Err(TryRecvError::Empty) => return Drained::Open,
                Err(TryRecvError::Lagged { .. }) => return Drained::Lagged,
                Err(TryRecvError::Revoked | TryRecvError::Closed) => return Drained::Ended,
            };
            match event.event() {
                Event::Typing { user_id, .. } if *user_id == w.user => continue,
                _ => {}
            }
            let bytes = event.encoded(encode_event);
            if !bytes.is_empty() {
                w.send_shared(Bytes::from_owner(bytes));
                self.metrics.frames_out += 1;
                if !force && matches!(event.event(), Event::MessageCreated(_)) {
                    self.metrics.deliveries.observe(event.published().elapsed());
                }
            }
        }
    }

    /// Answers a committed (or failed) write.
    pub(crate) fn on_completion(&mut self, c: Completion) {
        let Some(pending) = self.tickets.remove(&c.ticket) else {
            return;
        };
        if let Ok(Answer::Posted(p)) = &c.result {
            self.metrics.posts += 1;
            self.metrics.dedup_hits += u64::from(p.duplicate);
            self.metrics.acks.observe(pending.started.elapsed());
        }
        if pending.reply == Reply::Http {
            self.answer_http(pending.who, posted_response(c.result));
            return;
        }
        let frame = match c.result {
            Ok(Answer::Posted(p)) => {
                json!({"type": "ack", "message": message_json(&p.message), "duplicate": p.duplicate})
            }
            Ok(Answer::Message(m)) => json!({"type": "ack", "message": message_json(&m)}),
            Ok(Answer::Unread(n)) => json!({"type": "ack", "unread": n}),
            Err(e) => Problem::from(e).frame(&None),
        };
        let frame = with_ref(frame, &pending.reference);
        self.with_ws(pending.who, |s, _, w| {
            send_json(w, &frame);
            s.metrics.frames_out += 1;
            true
        });
    }

    /// Pings, timeouts and slow clients.
    pub(crate) fn tick_ws(&mut self, who: Who, mut w: Box<WsConn>, now: Instant) -> Phase {
        if w.closed_at.is_some_and(|t| now - t > CLOSE_GRACE) {
            return self.end_ws(who, w);
        }
        if w.closing {
            return self.after_close_check(who, w);
        }
        if now - w.last_seen > self.config.idle_timeout {
            self.metrics.timed_out += 1;
            return self.end_ws(who, w);
        }
        let stalled_long = w
            .stalled_since
            .is_some_and(|t| now - t > self.config.stall_timeout);
        if stalled_long || w.backlog.len() > MAX_BACKLOG {
            self.close_slow(&mut w, "too slow: reconnect with since");
        } else if now - w.last_ping >= self.config.ping_interval {
            w.last_ping = now;
            w.send(Message::Ping(Bytes::new()));
        }
        if !w.flush() {
            return self.end_ws(who, w);
        }
        if now - w.last_used > PARK_AFTER {
            w.eager_park = true;
        }
        self.after_close_check(who, w)
    }

    fn close_slow(&mut self, w: &mut WsConn, reason: &str) {
        self.metrics.slow_closed += 1;
        w.start_close(CloseCode::Policy, reason);
    }

    /// Moves a connection whose close frame is out to draining.
    pub(crate) fn after_close_check(&mut self, who: Who, mut w: Box<WsConn>) -> Phase {
        if !w.closing {
            if w.eager_park && w.park() {
                self.parked_since_trim += 1;
            }
            return Phase::Ws(w);
        }
        if !w.close_flushed() {
            return Phase::Ws(w);
        }
        self.release_ws(who, &mut w);
        let Some(stream) = std::mem::replace(&mut w.sock, Sock::Gone).into_stream() else {
            return Phase::Done;
        };
        super::conn::finish_writing(&stream);
        Phase::Draining {
            stream,
            until: Instant::now() + CLOSE_GRACE,
        }
    }

    /// Drops a connection at once.
    pub(crate) fn end_ws(&mut self, who: Who, mut w: Box<WsConn>) -> Phase {
        self.release_ws(who, &mut w);
        Phase::Done
    }

    fn release_ws(&mut self, who: Who, w: &mut WsConn) {
        for entry in std::mem::take(&mut w.subs) {
            self.forget_room_sub(entry);
        }
        self.users.remove(who, w.user);
        self.metrics.websockets = self.metrics.websockets.saturating_sub(1);
    }
}
