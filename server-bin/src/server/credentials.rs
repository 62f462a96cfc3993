//! Who an HTTP request comes from: a session token (`Authorization: Bearer`) or a bot key
//! (`Authorization: Bot`).

use ember_engine::User;

use super::ctx::Ctx;
use super::http::Request;
use super::protocol::{Code, Problem};

/// The user behind `Authorization: Bearer <token>` or `Bot <key>`.
pub fn api_user(ctx: &Ctx, req: &Request) -> Result<User, Problem> {
    let auth = req.header("authorization").unwrap_or("");
    if let Some(key) = auth.strip_prefix("Bot ") {
        return ctx
            .engine
            .authenticate_bot(key.trim())
            .map_err(Problem::from);
    }
    match bearer(req) {
        Some(t) => ctx.engine.authenticate(&t).map_err(Problem::from),
        None => Err(Problem::new(
            Code::Unauthenticated,
            "send Authorization: Bearer or Bot",
        )),
    }
}

/// The token of `Authorization: Bearer <token>`.
pub fn bearer(req: &Request) -> Option<String> {
    let auth = req.header("authorization")?;
    let (scheme, token) = auth.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}
