//! The WebSocket protocol's operations: one handler per client frame type.

use std::time::Instant;

use ember_engine::{Error, MessageId, NewPost, Request as Write, RoomId};

use super::conn::Who;
use super::ctx::{Ctx, Pending, Reply};
use super::delivery::{self, Drained};
use super::feeds::RoomSub;
use super::frames::{Ref, ServerFrame, messages_json};
use super::protocol::{ClientFrame, Code, Problem, decode, parse_id};
use super::ws_conn::WsConn;

/// Default page size of `history` and `search`.
const DEFAULT_PAGE: usize = 50;

/// Handles one text frame from a client.
pub fn on_text(ctx: &mut Ctx, who: Who, w: &mut WsConn, text: &str) {
    let (frame, reference) = match decode(text) {
        Ok(f) => f,
        Err((why, reference)) => {
            let p = Problem::new(Code::BadRequest, why);
            w.send_frame(&p.frame(&reference));
            return;
        }
    };
    if let Err(p) = dispatch(ctx, who, w, frame, &reference) {
        w.send_frame(&p.frame(&reference));
    }
}

fn dispatch(
    ctx: &mut Ctx,
    who: Who,
    w: &mut WsConn,
    frame: ClientFrame,
    reference: &Ref,
) -> Result<(), Problem> {
    let writes = matches!(
        frame,
        ClientFrame::Post { .. }
            | ClientFrame::Edit { .. }
            | ClientFrame::Delete { .. }
            | ClientFrame::Read { .. }
    );
    if writes && ctx.stopping.is_some() {
        return Err(Problem::new(Code::Overloaded, "server shutting down"));
    }
    match frame {
        ClientFrame::Subscribe {
            room_id,
            since,
            epoch,
        } => subscribe(ctx, who, w, &room_id, since, epoch, reference),
        ClientFrame::Unsubscribe { room_id } => {
            let room: RoomId = parse_id("room_id", &room_id)?;
            unsubscribe(ctx, w, room);
            w.send_frame(&ServerFrame::Unsubscribed {
                reference,
                room_id: &room,
                reason: None,
            });
            Ok(())
        }
        ClientFrame::Post {
            room_id,
            client_message_id,
            content,
        } => {
            let post = NewPost {
                user: w.user,
                room: parse_id("room_id", &room_id)?,
                client_message_id: parse_id("client_message_id", &client_message_id)?,
                content,
            };
            submit(ctx, who, Write::Post(post), reference)
        }
        ClientFrame::Edit {
            message_id,
            content,
        } => {
            let message: MessageId = parse_id("message_id", &message_id)?;
            let edit = Write::Edit {
                user: w.user,
                message,
                content,
            };
            submit(ctx, who, edit, reference)
        }
        ClientFrame::Delete { message_id } => {
            let message: MessageId = parse_id("message_id", &message_id)?;
            let delete = Write::Delete {
                user: w.user,
                message,
            };
            submit(ctx, who, delete, reference)
        }
        ClientFrame::Read { room_id, seq } => {
            let room = parse_id("room_id", &room_id)?;
            let read = Write::MarkRead {
                user: w.user,
                room,
                seq,
            };
            submit(ctx, who, read, reference)
        }
        ClientFrame::History {
            room_id,
            before,
            limit,
        } => {
            let room: RoomId = parse_id("room_id", &room_id)?;
            ctx.admit_expensive()?;
            let limit = limit.unwrap_or(DEFAULT_PAGE);
            let page = ctx.engine.messages_before(w.user, room, before, limit)?;
            w.send_frame(&ServerFrame::History {
                reference,
                room_id: &room,
                messages: messages_json(&page),
            });
            Ok(())
        }
        ClientFrame::Typing { room_id, active } => {
            let room = parse_id("room_id", &room_id)?;
            ctx.engine.typing(w.user, room, active)?;
            Ok(())
        }
        ClientFrame::Search { query, limit } => {
            ctx.admit_expensive()?;
            let found = ctx
                .engine
                .search(w.user, &query, limit.unwrap_or(DEFAULT_PAGE))?;
            w.send_frame(&ServerFrame::SearchResults {
                reference,
                messages: messages_json(&found),
            });
            Ok(())
        }
        ClientFrame::Ping => {
            w.send_frame(&ServerFrame::Pong { reference });
            Ok(())
        }
    }
}

fn submit(ctx: &mut Ctx, who: Who, request: Write, reference: &Ref) -> Result<(), Problem> {
    let ticket = ctx.pipeline.submit(request)?;
    let pending = Pending {
        who,
        reference: reference.clone(),
        reply: Reply::Ws,
        started: Instant::now(),
    };
    ctx.tickets.insert(ticket, pending);
    Ok(())
}

fn subscribe(
    ctx: &mut Ctx,
    who: Who,
    w: &mut WsConn,
    room_id: &str,
    since: Option<u64>,
    epoch: Option<String>,
    reference: &Ref,
) -> Result<(), Problem> {
    let room: RoomId = parse_id("room_id", room_id)?;
    let mut reset = epoch.is_some_and(|e| e != ctx.epoch) && since.is_some();
    let since = if reset { None } else { since };
    if since.is_some() {
        ctx.admit_expensive()?;
    }
    let mut entry = match RoomSub::open(&ctx.engine, w.user, room, since) {
        Err(Error::Validation { field: "since", .. }) => {
            reset = true;
            RoomSub::open(&ctx.engine, w.user, room, None)?
        }
        other => other?,
    };
    unsubscribe(ctx, w, room);
    let (head, complete) = (entry.head(), entry.complete());
    entry.presence = match ctx.engine.presence_connect(w.user, room) {
        Ok(h) => Some(h),
        Err(e) => {
            log::debug!("presence for {room}: {e}");
            None
        }
    };
    let state = delivery::drain(ctx, w, &entry, true);
    let online: Vec<String> = ctx
        .engine
        .online_members(w.user, room)
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect();
    w.send_frame(&ServerFrame::Subscribed {
        reference,
        room_id: &room,
        head_seq: head,
        complete,
        online,
        epoch: &ctx.epoch,
        reset,
    });
    if state == Drained::Open && complete {
        entry.watch(&ctx.ready, who);
        w.subs.push(entry);
    } else {
        delivery::forget(ctx, entry);
    }
    Ok(())
}

/// Drops the connection's subscription to a room, if any.
fn unsubscribe(ctx: &mut Ctx, w: &mut WsConn, room: RoomId) {
    let Some(at) = w.subs.iter().position(|s| s.room == room) else {
        return;
    };
    let entry = w.subs.swap_remove(at);
    delivery::forget(ctx, entry);
}
