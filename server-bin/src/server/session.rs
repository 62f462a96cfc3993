//! A WebSocket connection's life: opening (the `ready` frame), reading frames with
//! backpressure, delivering engine events, acknowledging writes, pings and timeouts,
//! closing. Every function takes the shared [`Ctx`] next to the connection it works on.

use std::time::{Duration, Instant};

use ember_engine::{Completion, Response as Answer, User};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Error as WsError, Message};

use super::conn::{Phase, Who, finish_writing};
use super::ctx::Ctx;
use super::delivery;
use super::frames::{MessageJson, RoomJson, ServerFrame, UserJson};
use super::protocol::{Code, Problem};
use super::socket::Sock;
use super::users::Access;
use super::ws;
use super::ws_conn::WsConn;

/// Most write-read-deliver rounds per call of [`pump`], so one fast client cannot hold
/// the loop.
const PUMP_ROUNDS: usize = 8;
/// How long after our close frame left a connection may linger.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// A WebSocket unused for this long parks (gives its buffers back) as soon as it is
/// quiet again, until it gets busy (see `WsConn::eager_park`).
const PARK_AFTER: Duration = Duration::from_secs(2);

/// Close code of a WebSocket whose session ended (revoked, logged out elsewhere, expired).
pub const CLOSE_SESSION_ENDED: u16 = 4001;
/// Close code of a WebSocket whose user was deactivated.
pub const CLOSE_DEACTIVATED: u16 = 4003;

/// Acts on a change of the connection's user's access: closes the connection when its
/// token no longer authenticates, or when the user was deactivated.
pub fn check_access(ctx: &mut Ctx, w: &mut WsConn, access: Access) {
    let (code, reason) = match access {
        Access::Deactivated => (CLOSE_DEACTIVATED, "user deactivated"),
        Access::SessionsRevoked => match ctx.engine.authenticate(&w.token) {
            Err(ember_engine::Error::Unauthenticated(_)) => (CLOSE_SESSION_ENDED, "session ended"),
            _ => return,
        },
    };
    ctx.metrics.access_closes += 1;
    w.start_close(CloseCode::from(code), reason, true);
}

/// How a read pass ended.
enum Read {
    /// The socket has nothing more for now.
    Drained,
    /// Stopped because the output is over budget; resumes once it drains.
    Paused,
    /// Put off to a later loop iteration (this one has worked long enough).
    Deferred,
    /// The connection broke.
    Dead,
}

/// A freshly upgraded connection: sends `ready` and reads whatever came with the upgrade.
pub fn open(ctx: &mut Ctx, who: Who, mut w: Box<WsConn>, user: &User) -> Phase {
    ctx.metrics.websockets += 1;
    let rooms = match ctx.engine.rooms_for(user.id) {
        Ok(r) => r,
        Err(e) => {
            let p = Problem::from(e);
            w.send_frame(&p.frame(&None));
            w.start_close(CloseCode::Error, "cannot load rooms", false);
            return next_phase(ctx, who, w, true);
        }
    };
    w.send_frame(&ServerFrame::Ready {
        epoch: &ctx.epoch,
        user: UserJson::from(user),
        rooms: rooms.iter().map(RoomJson::from).collect(),
    });
    ctx.metrics.frames_out += 1;
    ctx.users.add(&ctx.engine, who, user.id, &rooms);
    let alive = pump(ctx, who, &mut w, true);
    next_phase(ctx, who, w, alive)
}

/// Writes, reads (unless over budget) and delivers; `readable` after a readiness event
/// that said so. Stops when the output is over budget (the socket's next writable event
/// resumes it) or when nothing is left to read or deliver. False when the connection died.
pub fn pump(ctx: &mut Ctx, who: Who, w: &mut WsConn, readable: bool) -> bool {
    w.read_pending |= readable;
    let mut deferred = false;
    for _ in 0..PUMP_ROUNDS {
        if !w.flush() {
            return false;
        }
        if w.closing {
            return true;
        }
        if w.read_pending && !w.over_budget() && !deferred {
            match read(ctx, who, w) {
                Read::Dead => return false,
                Read::Drained => w.read_pending = false,
                Read::Paused => ctx.metrics.backpressured += 1,
                Read::Deferred => {
                    ctx.deferred.push(who);
                    deferred = true;
                }
            }
            if !w.flush() {
                return false;
            }
        }
        let full = !w.closing && !w.over_budget() && delivery::deliver(ctx, w);
        if !w.flush() {
            return false;
        }
        let more = (w.read_pending && !deferred) || full;
        if w.closing || w.over_budget() || !more {
            return true;
        }
    }
    true
}

/// Reads and answers frames until the socket is drained or the output is over budget.
/// Requests already read are answered whole, even past the budget.
fn read(ctx: &mut Ctx, who: Who, w: &mut WsConn) -> Read {
    loop {
        if w.closing {
            return Read::Drained;
        }
        if w.over_budget() {
            return Read::Paused;
        }
        if ctx.out_of_slice() {
            return Read::Deferred;
        }
        let read = match w.ws() {
            Some(ws) => ws.read(),
            None => return Read::Dead,
        };
        match read {
            Ok(msg) => {
                w.last_seen = Instant::now();
                w.last_used = w.last_seen;
                ctx.metrics.frames_in += 1;
                heartbeat(ctx, w);
                match msg {
                    Message::Text(t) => ws::on_text(ctx, who, w, t.as_str()),
                    Message::Binary(_) => {
                        let p = Problem::new(Code::BadRequest, "binary frames are not supported");
                        w.send_frame(&p.frame(&None));
                    }
                    _ => {}
                }
            }
            Err(WsError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                return Read::Drained;
            }
            Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => return Read::Dead,
            Err(WsError::Capacity(e)) => {
                log::debug!("closing {who:?}: {e}");
                w.start_close(CloseCode::Size, "message too big", false);
            }
            Err(WsError::Protocol(e)) => {
                log::debug!("closing {who:?}: {e}");
                w.start_close(CloseCode::Protocol, "protocol error", false);
            }
            Err(WsError::Utf8(_)) => w.start_close(CloseCode::Invalid, "invalid UTF-8", false),
            Err(e) => {
                log::debug!("read failed on {who:?}: {e}");
                return Read::Dead;
            }
        }
    }
}

/// Keeps the connection's presence fresh (at most a few times per TTL).
fn heartbeat(ctx: &mut Ctx, w: &mut WsConn) {
    let ttl = ctx.engine.options().presence_ttl;
    let every = (ttl / 4).min(Duration::from_secs(10));
    if w.last_heartbeat.elapsed() < every {
        return;
    }
    w.last_heartbeat = Instant::now();
    for s in &mut w.subs {
        let fresh = s
            .presence
            .as_ref()
            .is_some_and(|h| ctx.engine.presence_heartbeat(h).is_ok());
        if !fresh {
            s.presence = ctx.engine.presence_connect(w.user, s.room).ok();
        }
    }
}

/// The `ack` (or error) for a committed or failed write.
pub fn ack(ctx: &mut Ctx, w: &mut WsConn, c: &Completion, reference: &super::frames::Ref) {
    let frame = match &c.result {
        Ok(Answer::Posted(p)) => ServerFrame::Ack {
            reference,
            message: Some(MessageJson::from(&p.message)),
            duplicate: Some(p.duplicate),
            unread: None,
        },
        Ok(Answer::Message(m)) => ServerFrame::Ack {
            reference,
            message: Some(MessageJson::from(m)),
            duplicate: None,
            unread: None,
        },
        Ok(Answer::Unread(n)) => ServerFrame::Ack {
            reference,
            message: None,
            duplicate: None,
            unread: Some(*n),
        },
        Err(e) => {
            let p = Problem::from(e.clone());
            w.send_frame(&p.frame(reference));
            ctx.metrics.frames_out += 1;
            return;
        }
    };
    w.send_frame(&frame);
    ctx.metrics.frames_out += 1;
}

/// Pings, timeouts and slow clients.
pub fn tick(ctx: &mut Ctx, who: Who, mut w: Box<WsConn>, now: Instant) -> Phase {
    // A close frame not yet sent costs only the socket (unsent frames were dropped), so
    // a client that does not read gets as long as a silent one to come and fetch it.
    if w.closed_at
        .is_some_and(|t| now - t > ctx.config.idle_timeout)
    {
        return end(ctx, who, w);
    }
    if w.closing {
        return next_phase(ctx, who, w, true);
    }
    if now - w.last_seen > ctx.config.idle_timeout {
        ctx.metrics.timed_out += 1;
        return end(ctx, who, w);
    }
    if w.stalled_for(now)
        .is_some_and(|t| t > ctx.config.stall_timeout)
    {
        delivery::close_slow(ctx, &mut w, "too slow: reconnect with since");
    } else if now - w.last_ping >= ctx.config.ping_interval {
        w.last_ping = now;
        w.send_ping();
    }
    let alive = pump(ctx, who, &mut w, false);
    if now - w.last_used > PARK_AFTER {
        w.eager_park = true;
    }
    next_phase(ctx, who, w, alive)
}

/// Closes a WebSocket with 1001 for the shutdown: after what is already queued, unless the
/// client is not reading (over budget), whose unsent frames are dropped.
pub fn close_for_shutdown(w: &mut WsConn) {
    let discard = w.over_budget();
    w.start_close(CloseCode::Away, "server shutting down", discard);
}

/// Where a connection goes after being worked on: stays (maybe parked), drains after its
/// close frame left, or is dropped when `alive` is false.
pub fn next_phase(ctx: &mut Ctx, who: Who, mut w: Box<WsConn>, alive: bool) -> Phase {
    if !alive {
        return end(ctx, who, w);
    }
    if !w.closing {
        if w.eager_park && w.park() {
            ctx.parked_since_trim += 1;
        }
        return Phase::Ws(w);
    }
    if !w.close_flushed() {
        return Phase::Ws(w);
    }
    release(ctx, who, &mut w);
    let Some(stream) = std::mem::replace(&mut w.sock, Sock::Gone).into_stream() else {
        return Phase::Done;
    };
    finish_writing(&stream);
    Phase::Draining {
        stream,
        until: Instant::now() + CLOSE_GRACE,
    }
}

/// Drops a connection at once.
pub fn end(ctx: &mut Ctx, who: Who, mut w: Box<WsConn>) -> Phase {
    release(ctx, who, &mut w);
    Phase::Done
}

fn release(ctx: &mut Ctx, who: Who, w: &mut WsConn) {
    for entry in std::mem::take(&mut w.subs) {
        delivery::forget(ctx, entry);
    }
    ctx.users.remove(who, w.user);
    ctx.metrics.websockets = ctx.metrics.websockets.saturating_sub(1);
}
