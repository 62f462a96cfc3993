//! The HTTP endpoints: health, metrics, login, the bot and script API, the web client's
//! files (through [`super::web`]), and the WebSocket upgrade (authenticated before the
//! `101`).

use std::time::{Duration, Instant};

use ember_engine::{ClientMessageId, Engine, NewPost, Request as Write, RoomId};
use serde_json::{Value, json};
use tungstenite::WebSocket;
use tungstenite::protocol::Role;

use super::client_api;
use super::conn::{Phase, Who, finish_writing};
use super::credentials::{api_user, bearer};
use super::ctx::{Ctx, Pending, Reply};
use super::frames::{MessageJson, UserJson, messages_json, to_pieces};
use super::http::{
    HttpConn, HttpState, Parsed, Request, Response, subprotocol_token, upgrade_response,
};
use super::outbox::Outbox;
use super::protocol::{Code, Problem, parse_id};
use super::session;
use super::socket::{Boundary, Tracked};
use super::ws_conn::WsConn;

/// How long a finished HTTP connection may keep sending before it is dropped.
const LINGER: Duration = Duration::from_secs(2);

/// Drives an HTTP connection after a readiness event.
pub fn on_ready(ctx: &mut Ctx, who: Who, mut h: HttpConn) -> Phase {
    match h.state {
        HttpState::Reading => match h.read_request() {
            Parsed::Partial => Phase::Http(h),
            Parsed::Closed => Phase::Done,
            Parsed::Reject(resp) => respond(ctx, who, h, resp),
            Parsed::Request(req) => route(ctx, who, h, req),
        },
        HttpState::Waiting => match h.deferred.take() {
            Some(req) => route(ctx, who, h, *req),
            None => Phase::Http(h),
        },
        HttpState::Writing | HttpState::Upgrading => write(ctx, who, h),
    }
}

/// Queues a response whole and writes what the socket takes.
pub fn respond(ctx: &mut Ctx, who: Who, mut h: HttpConn, resp: Response) -> Phase {
    ctx.metrics.http_requests += 1;
    h.respond(resp, HttpState::Writing);
    write(ctx, who, h)
}

fn write(ctx: &mut Ctx, who: Who, mut h: HttpConn) -> Phase {
    match h.write_out() {
        Err(_) => Phase::Done,
        Ok(false) => Phase::Http(h),
        Ok(true) if h.state == HttpState::Upgrading => upgrade(ctx, who, h),
        Ok(true) => {
            finish_writing(&h.stream);
            Phase::Draining {
                stream: h.stream,
                until: Instant::now() + LINGER,
            }
        }
    }
}

/// The methods each resource allows, for `405`.
fn allowed(segments: &[&str]) -> Option<&'static str> {
    Some(match segments {
        [""] | ["health"] | ["metrics"] => "GET, HEAD",
        ["ws"] => "GET",
        ["api", "login"] => "POST",
        ["api", "session"] => "DELETE",
        ["api", "rooms", _, "messages"] => "GET, POST",
        ["api", "rooms", _, "members"] | ["api", "messages", _, "around"] => "GET",
        ["api", "direct"] => "POST",
        _ => return None,
    })
}

fn route(ctx: &mut Ctx, who: Who, h: HttpConn, req: Request) -> Phase {
    if let Some(file) = super::web::serve(&req) {
        return respond(ctx, who, h, file);
    }
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let head = req.method == "HEAD";
    let method = if head { "GET" } else { req.method.as_str() };
    let resp = match (method, segments.as_slice()) {
        ("GET", ["health"]) => health(ctx),
        ("GET", ["metrics"]) => metrics_page(ctx),
        ("GET", ["ws"]) if !head => return accept_ws(ctx, who, h, &req),
        ("POST", ["api", "login"]) => return login(ctx, who, h, &req),
        ("DELETE", ["api", "session"]) => return logout(ctx, who, h, &req),
        ("POST", ["api", "rooms", room, "messages"]) => match api_post(ctx, who, room, &req) {
            Ok(()) => return waiting(h),
            Err(p) => Response::problem(&p),
        },
        ("GET", ["api", "rooms", _, "messages"]) if !head && ctx.out_of_slice() => {
            return defer(ctx, who, h, req);
        }
        ("GET", ["api", "rooms", room, "messages"]) if !head => {
            api_history(ctx, room, &req).unwrap_or_else(|p| Response::problem(&p))
        }
        ("GET", ["api", "session"]) => client_api::session(ctx, &req),
        ("GET", ["api", "rooms", room, "members"]) => {
            client_api::members(ctx, room, &req).unwrap_or_else(|p| Response::problem(&p))
        }
        ("GET", ["api", "messages", _, "around"]) if !head && ctx.out_of_slice() => {
            return defer(ctx, who, h, req);
        }
        ("GET", ["api", "messages", id, "around"]) if !head => {
            client_api::around(ctx, id, &req).unwrap_or_else(|p| Response::problem(&p))
        }
        ("POST", ["api", "direct"]) => match client_api::direct(ctx, &req) {
            Ok(job) => {
                ctx.worker.submit(who, job);
                return waiting(h);
            }
            Err(p) => Response::problem(&p),
        },
        _ => match allowed(&segments) {
            Some(allow) => Response::method_not_allowed(allow),
            None => Response::problem(&Problem::new(Code::NotFound, "no such endpoint")),
        },
    };
    let resp = Response {
        head_only: head,
        ..resp
    };
    respond(ctx, who, h, resp)
}

fn health(ctx: &Ctx) -> Response {
    Response::json(
        200,
        &json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"),
                "uptime_s": ctx.started.elapsed().as_secs(), "epoch": ctx.epoch}),
    )
}

fn metrics_page(ctx: &Ctx) -> Response {
    let text = ctx.metrics.render(
        ctx.output.total(),
        &ctx.engine.stats(),
        ctx.engine.subscription_counts(),
    );
    Response::typed(200, "text/plain; version=0.0.4", text)
}

fn accept_ws(ctx: &mut Ctx, who: Who, mut h: HttpConn, req: &Request) -> Phase {
    let answer = match upgrade_response(req) {
        Ok(a) => a,
        Err(resp) => return respond(ctx, who, h, resp),
    };
    let token = bearer(req)
        .or_else(|| subprotocol_token(req))
        .or_else(|| req.param("token"));
    let user = match token {
        Some(t) => ctx
            .engine
            .authenticate(&t)
            .map(|u| (u, t))
            .map_err(Problem::from),
        None => Err(Problem::new(Code::Unauthenticated, "no session token")),
    };
    match user {
        Ok(user) => {
            h.upgrade = Some(user);
            h.respond_raw(answer, HttpState::Upgrading);
            write(ctx, who, h)
        }
        Err(p) => respond(ctx, who, h, Response::problem(&p)),
    }
}

fn upgrade(ctx: &mut Ctx, who: Who, mut h: HttpConn) -> Phase {
    let Some((user, token)) = h.upgrade.take() else {
        return Phase::Done;
    };
    let config = ctx.ws_config;
    let leftover = std::mem::take(&mut h.inbuf);
    let mut boundary = Boundary::default();
    boundary.feed(&leftover);
    let tracked = Tracked {
        stream: h.stream,
        boundary,
        out: Outbox::new(ctx.output.clone()),
    };
    let ws = WebSocket::from_partially_read(tracked, leftover, Role::Server, Some(*config));
    let budget = ctx.config.max_write_buffer;
    let mut conn = Box::new(WsConn::new(ws, config, budget, user.id, Instant::now()));
    conn.token = token;
    // Connections opened together must not all be pinged in the same tick: the first
    // ping comes up to half an interval early, spread by the connection's id.
    let spread = (who.1.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as u32; // 0..1024
    let early = ctx.config.ping_interval / 2 / 1024 * spread;
    conn.last_ping = conn.last_ping.checked_sub(early).unwrap_or(conn.last_ping);
    session::open(ctx, who, conn, &user)
}

fn login(ctx: &mut Ctx, who: Who, h: HttpConn, req: &Request) -> Phase {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let (Some(login), Some(password)) = (body["login"].as_str(), body["password"].as_str()) else {
        let p = Problem::new(Code::BadRequest, "send JSON {\"login\", \"password\"}");
        return respond(ctx, who, h, Response::problem(&p));
    };
    let (login, password) = (login.to_owned(), password.to_owned());
    // The lock-out is per (login, client address): a stranger locks out only themself.
    let client = h.stream.peer_addr().ok().map(|a| a.ip());
    ctx.worker.submit(
        who,
        Box::new(
            move |engine: &Engine| match engine.login_from(&login, &password, client) {
                Ok(l) => Response::json(
                    200,
                    &json!({"token": l.token, "user": UserJson::from(&l.user),
                        "expires_at": l.expires_at}),
                ),
                Err(e) => Response::problem(&Problem::from(e)),
            },
        ),
    );
    waiting(h)
}

fn logout(ctx: &mut Ctx, who: Who, h: HttpConn, req: &Request) -> Phase {
    let Some(token) = bearer(req) else {
        let p = Problem::new(Code::Unauthenticated, "no session token");
        return respond(ctx, who, h, Response::problem(&p));
    };
    ctx.worker.submit(
        who,
        Box::new(move |engine: &Engine| match engine.revoke_session(&token) {
            Ok(()) => Response::typed(204, "text/plain", ""),
            Err(e) => Response::problem(&Problem::from(e)),
        }),
    );
    waiting(h)
}

fn api_post(ctx: &mut Ctx, who: Who, room: &str, req: &Request) -> Result<(), Problem> {
    let user = api_user(ctx, req)?;
    let room: RoomId = parse_id("room_id", room)?;
    let (content, client_id) = post_body(req)?;
    let post = NewPost {
        user: user.id,
        room,
        client_message_id: client_id.unwrap_or_else(ClientMessageId::new_v7),
        content,
    };
    let ticket = ctx
        .pipeline
        .submit(Write::Post(post))
        .map_err(Problem::from)?;
    let pending = Pending {
        who,
        reference: None,
        reply: Reply::Http,
        started: Instant::now(),
    };
    ctx.tickets.insert(ticket, pending);
    Ok(())
}

fn api_history(ctx: &mut Ctx, room: &str, req: &Request) -> Result<Response, Problem> {
    let user = api_user(ctx, req)?;
    let room: RoomId = parse_id("room_id", room)?;
    let before = number_param(req, "before")?;
    let limit = number_param(req, "limit")?.unwrap_or(50) as usize;
    ctx.admit_expensive()?;
    let page = ctx
        .engine
        .messages_before(user.id, room, before, limit)
        .map_err(Problem::from)?;
    let body = to_pieces(&messages_json(&page));
    Ok(Response::pieces(200, "application/json", body))
}

/// Puts off a request that may be large to a later loop iteration.
fn defer(ctx: &mut Ctx, who: Who, mut h: HttpConn, req: Request) -> Phase {
    h.deferred = Some(Box::new(req));
    ctx.deferred.push(who);
    waiting(h)
}

/// Parks a connection until its answer comes from the worker or the pipeline.
fn waiting(mut h: HttpConn) -> Phase {
    h.state = HttpState::Waiting;
    Phase::Http(h)
}

fn number_param(req: &Request, name: &str) -> Result<Option<u64>, Problem> {
    match req.param(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| Problem::new(Code::BadRequest, format!("{name} must be a number"))),
    }
}

/// The content and optional client id of an API post: a JSON object or plain text.
fn post_body(req: &Request) -> Result<(String, Option<ClientMessageId>), Problem> {
    let json = req
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    if !json {
        let text = String::from_utf8(req.body.clone())
            .map_err(|_| Problem::new(Code::BadRequest, "the body must be UTF-8"))?;
        return Ok((text, None));
    }
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| Problem::new(Code::BadRequest, format!("malformed JSON: {e}")))?;
    let Some(content) = body["content"].as_str() else {
        return Err(Problem::new(Code::BadRequest, "missing content"));
    };
    let client_id = match body["client_message_id"].as_str() {
        Some(s) => Some(parse_id("client_message_id", s)?),
        None => None,
    };
    Ok((content.to_owned(), client_id))
}

/// The HTTP answer to a committed API post.
pub fn posted_response(result: Result<ember_engine::Response, ember_engine::Error>) -> Response {
    match result {
        Ok(ember_engine::Response::Posted(p)) => {
            let status = if p.duplicate { 200 } else { 201 };
            let body = serde_json::to_vec(&MessageJson::from(&p.message)).unwrap_or_default();
            Response::typed(status, "application/json", body)
        }
        Ok(_) => Response::problem(&Problem::new(Code::Internal, "unexpected answer")),
        Err(e) => Response::problem(&Problem::from(e)),
    }
}
