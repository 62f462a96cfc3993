//! The HTTP endpoints: health, metrics, login, the bot and script API, the web client's
//! files (through [`super::web`]), and the WebSocket upgrade (authenticated before the
//! `101`).

use std::time::{Duration, Instant};

use ember_engine::{ClientMessageId, Engine, NewPost, Request as Write, RoomId, User};
use serde_json::{Value, json};
use tungstenite::WebSocket;
use tungstenite::protocol::Role;

use super::conn::{Phase, WsConn, finish_writing};
use super::event_loop::Server;
use super::http::{
    HttpConn, HttpState, Parsed, Request, Response, subprotocol_token, upgrade_response,
};
use super::protocol::{Code, Problem, message_json, parse_id, user_json};
use super::socket::{Boundary, Tracked};
use super::worker::Who;
use super::ws::{Pending, Reply};

/// How long a finished HTTP connection may keep sending before it is dropped.
const LINGER: Duration = Duration::from_secs(2);

impl Server {
    /// Drives an HTTP connection after a readiness event.
    pub(crate) fn on_http(&mut self, who: Who, mut h: HttpConn, _readable: bool) -> Phase {
        match h.state {
            HttpState::Reading => match h.read_request() {
                Parsed::Partial => Phase::Http(h),
                Parsed::Closed => Phase::Done,
                Parsed::Reject(resp) => self.respond(who, h, resp),
                Parsed::Request(req) => self.route(who, h, req),
            },
            HttpState::Waiting => Phase::Http(h),
            HttpState::Writing | HttpState::Upgrading => self.write_http(who, h),
        }
    }

    /// Delivers a response that was prepared elsewhere (worker, pipeline).
    pub(crate) fn answer_http(&mut self, who: Who, resp: Response) {
        let (i, id) = who;
        let Some(mut conn) = self.conns.take(i) else {
            return;
        };
        if conn.id == id {
            if let Phase::Http(h) = std::mem::replace(&mut conn.phase, Phase::Done) {
                conn.phase = self.respond(who, h, resp);
            }
        }
        self.settle(i, conn);
    }

    pub(crate) fn respond(&mut self, who: Who, mut h: HttpConn, resp: Response) -> Phase {
        self.metrics.http_requests += 1;
        h.respond(resp.encode(), HttpState::Writing);
        self.write_http(who, h)
    }

    fn write_http(&mut self, who: Who, mut h: HttpConn) -> Phase {
        match h.write_out() {
            Err(_) => Phase::Done,
            Ok(false) => Phase::Http(h),
            Ok(true) if h.state == HttpState::Upgrading => self.upgrade(who, h),
            Ok(true) => {
                finish_writing(&h.stream);
                Phase::Draining {
                    stream: h.stream,
                    until: Instant::now() + LINGER,
                }
            }
        }
    }

    fn route(&mut self, who: Who, h: HttpConn, req: Request) -> Phase {
        if let Some(file) = super::web::serve(&req) {
            return self.respond(who, h, file);
        }
        let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        let resp = match (req.method.as_str(), segments.as_slice()) {
            ("GET", ["health"]) => self.health(),
            ("GET", ["metrics"]) => self.metrics_page(),
            ("GET", ["ws"]) => return self.accept_ws(who, h, &req),
            ("POST", ["api", "login"]) => return self.login(who, h, &req),
            ("DELETE", ["api", "session"]) => return self.logout(who, h, &req),
            ("POST", ["api", "rooms", room, "messages"]) => match self.api_post(who, room, &req) {
                Ok(()) => return waiting(h),
                Err(p) => Response::problem(&p),
            },
            ("GET", ["api", "rooms", room, "messages"]) => self
                .api_history(room, &req)
                .unwrap_or_else(|p| Response::problem(&p)),
            ("GET", ["api", "session"]) => self.api_session(&req),
            ("GET", ["api", "rooms", room, "members"]) => self
                .api_members(room, &req)
                .unwrap_or_else(|p| Response::problem(&p)),
            ("GET", ["api", "messages", id, "around"]) => self
                .api_around(id, &req)
                .unwrap_or_else(|p| Response::problem(&p)),
            ("POST", ["api", "direct"]) => return self.api_direct(who, h, &req),
            (_, ["health" | "metrics" | "ws" | "" | "api", ..]) => {
                Response::problem(&Problem::new(Code::BadRequest, "method not allowed"))
            }
            _ => Response::problem(&Problem::new(Code::NotFound, "no such endpoint")),
        };
        self.respond(who, h, resp)
    }

    fn health(&self) -> Response {
        Response::json(
            200,
            &json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"),
                    "uptime_s": self.started.elapsed().as_secs(), "epoch": self.epoch}),
        )
    }

    fn metrics_page(&self) -> Response {
        let text = self.metrics.render(
            self.connection_count(),
            &self.engine.stats(),
            self.engine.subscription_counts(),
        );
        Response::typed(200, "text/plain; version=0.0.4", text)
    }

    fn accept_ws(&mut self, who: Who, mut h: HttpConn, req: &Request) -> Phase {
        let answer = match upgrade_response(req) {
            Ok(a) => a,
            Err(resp) => return self.respond(who, h, resp),
        };
        let token = bearer(req)
            .or_else(|| subprotocol_token(req))
            .or_else(|| req.param("token"));
        let user = match token {
            Some(t) => self.engine.authenticate(&t).map_err(Problem::from),
            None => Err(Problem::new(Code::Unauthenticated, "no session token")),
        };
        match user {
            Ok(user) => {
                h.upgrade = Some(user);
                h.respond(answer, HttpState::Upgrading);
                self.write_http(who, h)
            }
            Err(p) => self.respond(who, h, Response::problem(&p)),
        }
    }

    fn upgrade(&mut self, who: Who, mut h: HttpConn) -> Phase {
        let Some(user) = h.upgrade.take() else {
            return Phase::Done;
        };
        let config = self.ws_config;
        let leftover = std::mem::take(&mut h.inbuf);
        let mut boundary = Boundary::default();
        boundary.feed(&leftover);
        let tracked = Tracked {
            stream: h.stream,
            boundary,
        };
        let ws = WebSocket::from_partially_read(tracked, leftover, Role::Server, Some(*config));
        let mut conn = Box::new(WsConn::new(ws, config, user.id, Instant::now()));
        // Connections opened together must not all be pinged in the same tick: the first
        // ping comes up to half an interval early, spread by the connection's id.
        let spread = (who.1.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as u32; // 0..1024
        let early = self.config.ping_interval / 2 / 1024 * spread;
        conn.last_ping = conn.last_ping.checked_sub(early).unwrap_or(conn.last_ping);
        self.open_ws(who, conn, &user)
    }

    fn login(&mut self, who: Who, h: HttpConn, req: &Request) -> Phase {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let (Some(login), Some(password)) = (body["login"].as_str(), body["password"].as_str())
        else {
            let p = Problem::new(Code::BadRequest, "send JSON {\"login\", \"password\"}");
            return self.respond(who, h, Response::problem(&p));
        };
        let (login, password) = (login.to_owned(), password.to_owned());
        // The lock-out is per (login, client address): a stranger locks out only themself.
        let client = h.stream.peer_addr().ok().map(|a| a.ip());
        self.worker.submit(
            who,
            Box::new(move |engine: &Engine| match engine.login_from(&login, &password, client) {
                Ok(l) => Response::json(
                    200,
                    &json!({"token": l.token, "user": user_json(&l.user), "expires_at": l.expires_at}),
                ),
                Err(e) => Response::problem(&Problem::from(e)),
            }),
        );
        waiting(h)
    }

    fn logout(&mut self, who: Who, h: HttpConn, req: &Request) -> Phase {
        let Some(token) = bearer(req) else {
            let p = Problem::new(Code::Unauthenticated, "no session token");
            return self.respond(who, h, Response::problem(&p));
        };
        self.worker.submit(
            who,
            Box::new(move |engine: &Engine| match engine.revoke_session(&token) {
                Ok(()) => Response::typed(204, "text/plain", ""),
                Err(e) => Response::problem(&Problem::from(e)),
            }),
        );
        waiting(h)
    }

    /// The user behind `Authorization: Bearer <token>` or `Bot <key>`.
    pub(crate) fn api_user(&self, req: &Request) -> Result<User, Problem> {
        let auth = req.header("authorization").unwrap_or("");
        if let Some(key) = auth.strip_prefix("Bot ") {
            return self
                .engine
                .authenticate_bot(key.trim())
                .map_err(Problem::from);
        }
        match bearer(req) {
            Some(t) => self.engine.authenticate(&t).map_err(Problem::from),
            None => Err(Problem::new(
                Code::Unauthenticated,
                "send Authorization: Bearer or Bot",
            )),
        }
    }

    fn api_post(&mut self, who: Who, room: &str, req: &Request) -> Result<(), Problem> {
        let user = self.api_user(req)?;
        let room: RoomId = parse_id("room_id", room)?;
        let (content, client_id) = post_body(req)?;
        let post = NewPost {
            user: user.id,
            room,
            client_message_id: client_id.unwrap_or_else(ClientMessageId::new_v7),
            content,
        };
        let ticket = self
            .pipeline
            .submit(Write::Post(post))
            .map_err(Problem::from)?;
        let pending = Pending {
            who,
            reference: None,
            reply: Reply::Http,
            started: Instant::now(),
        };
        self.tickets.insert(ticket, pending);
        Ok(())
    }

    fn api_history(&self, room: &str, req: &Request) -> Result<Response, Problem> {
        let user = self.api_user(req)?;
        let room: RoomId = parse_id("room_id", room)?;
        let before = number_param(req, "before")?;
        let limit = number_param(req, "limit")?.unwrap_or(50) as usize;
        let page = self
            .engine
            .messages_before(user.id, room, before, limit)
            .map_err(Problem::from)?;
        let list: Vec<Value> = page.iter().map(message_json).collect();
        Ok(Response::json(200, &Value::Array(list)))
    }
}

/// Parks a connection until its answer comes from the worker or the pipeline.
pub(crate) fn waiting(mut h: HttpConn) -> Phase {
    h.state = HttpState::Waiting;
    Phase::Http(h)
}

fn bearer(req: &Request) -> Option<String> {
    let auth = req.header("authorization")?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
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
            Response::json(status, &message_json(&p.message))
        }
        Ok(_) => Response::problem(&Problem::new(Code::Internal, "unexpected answer")),
        Err(e) => Response::problem(&Problem::from(e)),
    }
}
