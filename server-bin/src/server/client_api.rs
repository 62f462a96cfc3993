//! HTTP endpoints the web client needs beside the WebSocket: who the session is, a room's
//! members (names for authors and presence), the messages around one (search results), and
//! opening a direct conversation.

use ember_engine::{Engine, MessageId, RoomId, UserId};
use serde_json::{Value, json};

use super::credentials::api_user;
use super::ctx::Ctx;
use super::frames::{UserJson, messages_json, to_pieces};
use super::http::{Request, Response};
use super::protocol::{Code, Problem, parse_id};
use super::worker::Job;

/// Messages on each side of the one asked for when `n` is not given.
const AROUND: usize = 25;

/// `GET /api/session`: the token's user (`200`), or `401` when the token is refused.
pub fn session(ctx: &Ctx, req: &Request) -> Response {
    match api_user(ctx, req) {
        Ok(user) => Response::json(200, &json!({"user": UserJson::from(&user)})),
        Err(p) => Response::problem(&p),
    }
}

/// `GET /api/rooms/{room}/members`: the room's members.
pub fn members(ctx: &Ctx, room: &str, req: &Request) -> Result<Response, Problem> {
    let user = api_user(ctx, req)?;
    let room: RoomId = parse_id("room_id", room)?;
    let members = ctx.engine.members(user.id, room)?;
    let list: Vec<UserJson> = members.iter().map(|m| UserJson::from(&m.user)).collect();
    Ok(Response::json(200, &json!(list)))
}

/// `GET /api/messages/{id}/around?n=N`: the message with up to `N` (default 25) on each
/// side, oldest first. Expensive: refused with `overloaded` past the global output bound.
pub fn around(ctx: &mut Ctx, message: &str, req: &Request) -> Result<Response, Problem> {
    let user = api_user(ctx, req)?;
    let message: MessageId = parse_id("message_id", message)?;
    let n = match req.param("n").filter(|v| !v.is_empty()) {
        None => AROUND,
        Some(v) => v
            .parse()
            .map_err(|_| Problem::new(Code::BadRequest, "n must be a number"))?,
    };
    ctx.admit_expensive()?;
    let page = ctx.engine.messages_around(user.id, message, n)?;
    Ok(Response::pieces(
        200,
        "application/json",
        to_pieces(&messages_json(&page)),
    ))
}

/// `POST /api/direct` with `{"user_id"}`: the direct room of the caller and that user,
/// created the first time (both get `room_joined`). The job runs on the worker thread.
pub fn direct(ctx: &Ctx, req: &Request) -> Result<Job, Problem> {
    let user = api_user(ctx, req)?;
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let Some(other) = body["user_id"].as_str() else {
        return Err(Problem::new(Code::BadRequest, "send JSON {\"user_id\"}"));
    };
    let (me, other) = (user.id, parse_id::<UserId>("user_id", other)?);
    Ok(Box::new(move |engine: &Engine| {
        match engine.direct_room(me, &[other]) {
            Ok(room) => Response::json(
                200,
                &json!({"room_id": room.id.to_string(), "name": room.name,
                    "kind": room.kind.as_str(), "head_seq": room.head_seq}),
            ),
            Err(e) => Response::problem(&Problem::from(e)),
        }
    }))
}
