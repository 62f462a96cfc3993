//! Moving engine events of a connection's room subscriptions into its output, within its
//! budget: live events wait in the engine's queue while the client is over budget, and a
//! subscription the engine detached for lagging closes the client with 1008.

use bytes::Bytes;
use ember_engine::Event;
use tungstenite::protocol::frame::coding::CloseCode;

use super::ctx::Ctx;
use super::feeds::{Next, RoomSub};
use super::frames::{ServerFrame, encode_event};
use super::ws_conn::WsConn;

/// What became of a room subscription after draining it.
#[derive(Debug, PartialEq, Eq)]
pub enum Drained {
    /// Still live, nothing left for now.
    Open,
    /// Still live; stopped at the output budget with events left.
    Full,
    /// Ended: forget it. The reason is sent in `unsubscribed`: `revoked` (the user lost
    /// access to the room) or `ended` (a capped replay was delivered, the engine closed).
    Ended(&'static str),
    /// The engine detached it for lagging: the client is too slow.
    Lagged,
}

/// Moves queued engine events of every subscribed room into the connection's output while
/// it is within budget (the rest waits in the engine's queue). True when it stopped at
/// the budget with events left.
pub fn deliver(ctx: &mut Ctx, w: &mut WsConn) -> bool {
    let mut subs = std::mem::take(&mut w.subs);
    let mut lagged = false;
    let mut full = false;
    let mut i = 0;
    while i < subs.len() {
        match drain(ctx, w, &subs[i], false) {
            Drained::Open => i += 1,
            Drained::Full => {
                full = true;
                i += 1;
            }
            Drained::Lagged => {
                lagged = true;
                i += 1;
            }
            Drained::Ended(reason) => {
                let s = subs.swap_remove(i);
                w.send_frame(&ServerFrame::Unsubscribed {
                    reference: &None,
                    room_id: &s.room,
                    reason: Some(reason),
                });
                forget(ctx, s);
            }
        }
    }
    w.subs = subs;
    if lagged {
        ctx.metrics.lagged += 1;
        close_slow(ctx, w, "too slow: subscribe again with since");
    }
    full
}

/// Drains one subscription into the output; `replay` ignores the budget (a subscription's
/// replay is one reply, capped by the engine).
pub fn drain(ctx: &mut Ctx, w: &mut WsConn, s: &RoomSub, replay: bool) -> Drained {
    loop {
        if w.closing {
            return Drained::Open;
        }
        if !replay && w.over_budget() {
            return Drained::Full;
        }
        let event = match s.next() {
            Next::Event(e) => e,
            Next::Empty => return Drained::Open,
            Next::Lagged => return Drained::Lagged,
            Next::Revoked => return Drained::Ended("revoked"),
            Next::Ended => return Drained::Ended("ended"),
        };
        if matches!(event.event(), Event::Typing { user_id, .. } if *user_id == w.user) {
            continue;
        }
        let bytes = event.encoded(encode_event);
        if !bytes.is_empty() {
            w.send_text(Bytes::from_owner(bytes));
            ctx.metrics.frames_out += 1;
            if !replay && matches!(event.event(), Event::MessageCreated(_)) {
                ctx.metrics.deliveries.observe(event.published().elapsed());
            }
        }
    }
}

/// Closes a client that does not keep up with 1008, its unsent frames dropped so the close
/// frame is next on the wire.
pub fn close_slow(ctx: &mut Ctx, w: &mut WsConn, reason: &str) {
    ctx.metrics.slow_closed += 1;
    w.start_close(CloseCode::Policy, reason, true);
}

/// Releases what a room subscription holds: its presence.
pub fn forget(ctx: &mut Ctx, entry: RoomSub) {
    if let Some(h) = &entry.presence {
        ctx.engine.presence_disconnect(h);
    }
}
