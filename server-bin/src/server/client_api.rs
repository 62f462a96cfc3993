//! HTTP endpoints the web client needs beside the WebSocket: who the session is, a room's
//! members (names for authors and presence), the messages around one (search results), and
//! opening a direct conversation.

use ember_engine::{Engine, MessageId, RoomId, UserId};
use serde_json::{Value, json};

use super::api::waiting;
use super::conn::Phase;
use super::event_loop::Server;
use super::http::{HttpConn, Request, Response};
use super::protocol::{Code, Problem, message_json, parse_id, user_json};
use super::worker::Who;

/// Messages on each side of the one asked for when `n` is not given.
const AROUND: usize = 25;

impl Server {
    /// `GET /api/session`: the token's user (`200`), or `401` when the token is refused.
    pub(crate) fn api_session(&self, req: &Request) -> Response {
        match self.api_user(req) {
            Ok(user) => Response::json(200, &json!({"user": user_json(&user)})),
            Err(p) => Response::problem(&p),
        }
    }

    /// `GET /api/rooms/{room}/members`: the room's members.
    pub(crate) fn api_members(&self, room: &str, req: &Request) -> Result<Response, Problem> {
        let user = self.api_user(req)?;
        let room: RoomId = parse_id("room_id", room)?;
        let members = self.engine.members(user.id, room)?;
        let list: Vec<Value> = members.iter().map(|m| user_json(&m.user)).collect();
        Ok(Response::json(200, &Value::Array(list)))
    }

    /// `GET /api/messages/{id}/around?n=N`: the message with up to `N` (default 25) on each
    /// side, oldest first.
    pub(crate) fn api_around(&self, message: &str, req: &Request) -> Result<Response, Problem> {
        let user = self.api_user(req)?;
        let message: MessageId = parse_id("message_id", message)?;
        let n = match req.param("n").filter(|v| !v.is_empty()) {
            None => AROUND,
            Some(v) => v
                .parse()
                .map_err(|_| Problem::new(Code::BadRequest, "n must be a number"))?,
        };
        let page = self.engine.messages_around(user.id, message, n)?;
        let list: Vec<Value> = page.iter().map(message_json).collect();
        Ok(Response::json(200, &Value::Array(list)))
    }

    /// `POST /api/direct` with `{"user_id"}`: the direct room of the caller and that user,
    /// created the first time (both get `room_joined`).
    pub(crate) fn api_direct(&mut self, who: Who, h: HttpConn, req: &Request) -> Phase {
        let other = self.api_user(req).and_then(|user| {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let Some(other) = body["user_id"].as_str() else {
                return Err(Problem::new(Code::BadRequest, "send JSON {\"user_id\"}"));
            };
            Ok((user.id, parse_id::<UserId>("user_id", other)?))
        });
        let (me, other) = match other {
            Ok(pair) => pair,
            Err(p) => return self.respond(who, h, Response::problem(&p)),
        };
        self.worker.submit(
            who,
            Box::new(
                move |engine: &Engine| match engine.direct_room(me, &[other]) {
                    Ok(room) => Response::json(
                        200,
                        &json!({"room_id": room.id.to_string(), "name": room.name,
                            "kind": room.kind.as_str(), "head_seq": room.head_seq}),
                    ),
                    Err(e) => Response::problem(&Problem::from(e)),
                },
            ),
        );
        waiting(h)
    }
}
