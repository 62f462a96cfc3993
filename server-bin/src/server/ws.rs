//! The WebSocket protocol's operations: one handler per client frame type.

use std::time::Instant;

use ember_engine::{Error, MessageId, NewPost, Request as Write, RoomId};
use serde_json::{Value, json};

use super::conn::{RoomSub, WsConn};
use super::event_loop::Server;
use super::protocol::{ClientFrame, Code, Problem, Ref, decode, message_json, parse_id, with_ref};
use super::session::Drained;
use super::worker::Who;

/// Default page size of `history` and `search`.
const DEFAULT_PAGE: usize = 50;

/// Who waits for a pipeline ticket.
pub struct Pending {
    /// The connection.
    pub who: Who,
    /// The request's `ref`.
    pub reference: Ref,
    /// How to answer.
    pub reply: Reply,
    /// When the request arrived (for the ack latency histogram).
    pub started: Instant,
}

/// The kind of answer a ticket gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A WebSocket `ack`.
    Ws,
    /// An HTTP `201` with the message.
    Http,
}

impl Server {
    /// Handles one text frame from a client.
    pub(crate) fn on_text(&mut self, who: Who, w: &mut WsConn, text: &str) {
        let (frame, reference) = match decode(text) {
            Ok(f) => f,
            Err((why, reference)) => {
                let p = Problem::new(Code::BadRequest, why);
                send_json(w, &p.frame(&reference));
                return;
            }
        };
        if let Err(p) = self.dispatch(who, w, frame, &reference) {
            send_json(w, &p.frame(&reference));
        }
    }

    fn dispatch(
        &mut self,
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
        if writes && self.stopping.is_some() {
            return Err(Problem::new(Code::Overloaded, "server shutting down"));
        }
        match frame {
            ClientFrame::Subscribe {
                room_id,
                since,
                epoch,
            } => self.subscribe(who, w, &room_id, since, epoch, reference),
            ClientFrame::Unsubscribe { room_id } => {
                let room = parse_id("room_id", &room_id)?;
                self.unsubscribe(w, room);
                let frame = json!({"type": "unsubscribed", "room_id": room_id});
                send_json(w, &with_ref(frame, reference));
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
                self.submit(who, Write::Post(post), reference)
            }
            ClientFrame::Edit {
                message_id,
                content,
            } => {
                let message: MessageId = parse_id("message_id", &message_id)?;
                let user = w.user;
                self.submit(
                    who,
                    Write::Edit {
                        user,
                        message,
                        content,
                    },
                    reference,
                )
            }
            ClientFrame::Delete { message_id } => {
                let message: MessageId = parse_id("message_id", &message_id)?;
                self.submit(
                    who,
                    Write::Delete {
                        user: w.user,
                        message,
                    },
                    reference,
                )
            }
            ClientFrame::Read { room_id, seq } => {
                let room = parse_id("room_id", &room_id)?;
                self.submit(
                    who,
                    Write::MarkRead {
                        user: w.user,
                        room,
                        seq,
                    },
                    reference,
                )
            }
            ClientFrame::History {
                room_id,
                before,
                limit,
            } => {
                let room: RoomId = parse_id("room_id", &room_id)?;
                let limit = limit.unwrap_or(DEFAULT_PAGE);
                let page = self.engine.messages_before(w.user, room, before, limit)?;
                let messages: Vec<Value> = page.iter().map(message_json).collect();
                let frame = json!({"type": "history", "room_id": room_id, "messages": messages});
                send_json(w, &with_ref(frame, reference));
                Ok(())
            }
            ClientFrame::Typing { room_id, active } => {
                let room = parse_id("room_id", &room_id)?;
                self.engine.typing(w.user, room, active)?;
                Ok(())
            }
            ClientFrame::Search { query, limit } => {
                let found = self
                    .engine
                    .search(w.user, &query, limit.unwrap_or(DEFAULT_PAGE))?;
                let messages: Vec<Value> = found.iter().map(message_json).collect();
                let frame = json!({"type": "search_results", "messages": messages});
                send_json(w, &with_ref(frame, reference));
                Ok(())
            }
            ClientFrame::Ping => {
                send_json(w, &with_ref(json!({"type": "pong"}), reference));
                Ok(())
            }
        }
    }

    fn submit(&mut self, who: Who, request: Write, reference: &Ref) -> Result<(), Problem> {
        let ticket = self.pipeline.submit(request)?;
        let pending = Pending {
            who,
            reference: reference.clone(),
            reply: Reply::Ws,
            started: Instant::now(),
        };
        self.tickets.insert(ticket, pending);
        Ok(())
    }

    fn subscribe(
        &mut self,
        who: Who,
        w: &mut WsConn,
        room_id: &str,
        since: Option<u64>,
        epoch: Option<String>,
        reference: &Ref,
    ) -> Result<(), Problem> {
        let room: RoomId = parse_id("room_id", room_id)?;
        let mut reset = epoch.is_some_and(|e| e != self.epoch) && since.is_some();
        let since = if reset { None } else { since };
        let sub = match self.engine.subscribe(w.user, room, since) {
            Err(Error::Validation { field: "since", .. }) => {
                reset = true;
                self.engine.subscribe(w.user, room, None)?
            }
            other => other?,
        };
        self.unsubscribe(w, room);
        let head = sub.head_change_seq();
        let complete = sub.complete();
        let presence = match self.engine.presence_connect(w.user, room) {
            Ok(h) => Some(h),
            Err(e) => {
                log::debug!("presence for {room}: {e}");
                None
            }
        };
        let mut entry = RoomSub {
            room,
            sub,
            presence,
        };
        let state = self.drain_sub(w, &mut entry, true);
        let online: Vec<String> = self
            .engine
            .online_members(w.user, room)
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut frame = json!({"type": "subscribed", "room_id": room_id, "head_seq": head,
                               "complete": complete, "online": online, "epoch": self.epoch});
        if reset {
            frame["reset"] = true.into();
        }
        send_json(w, &with_ref(frame, reference));
        if state == Drained::Open && complete {
            self.ready.watch(entry.sub.events(), who);
            w.subs.push(entry);
        } else if let Some(h) = entry.presence.take() {
            self.engine.presence_disconnect(&h);
        }
        Ok(())
    }

    /// Drops the connection's subscription to a room, if any.
    pub(crate) fn unsubscribe(&mut self, w: &mut WsConn, room: RoomId) {
        let Some(at) = w.subs.iter().position(|s| s.room == room) else {
            return;
        };
        let entry = w.subs.swap_remove(at);
        self.forget_room_sub(entry);
    }

    /// Releases what a room subscription holds: presence and the room index.
    pub(crate) fn forget_room_sub(&mut self, entry: RoomSub) {
        if let Some(h) = &entry.presence {
            self.engine.presence_disconnect(h);
        }
    }
}

/// Queues a JSON frame.
pub fn send_json(w: &mut WsConn, frame: &Value) {
    w.send_text(frame.to_string());
}
