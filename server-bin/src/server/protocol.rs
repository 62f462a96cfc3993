//! What clients send (typed [`ClientFrame`]s, see `docs/protocol.md`) and the errors the
//! server answers with ([`Problem`]). What the server sends is in [`super::frames`].

use ember_engine::Error;
use serde::Deserialize;
use serde_json::{Value, json};

pub use super::frames::Ref;
use super::frames::ServerFrame;

/// A frame from a client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Start receiving a room's events, after replaying the changes since a cursor.
    Subscribe {
        room_id: String,
        #[serde(default)]
        since: Option<u64>,
        #[serde(default)]
        epoch: Option<String>,
    },
    /// Stop receiving a room's events.
    Unsubscribe { room_id: String },
    /// Post a message (exactly once per client_message_id).
    Post {
        room_id: String,
        client_message_id: String,
        content: String,
    },
    /// Replace a message's content.
    Edit { message_id: String, content: String },
    /// Delete a message.
    Delete { message_id: String },
    /// A page of history, ascending.
    History {
        room_id: String,
        #[serde(default)]
        before: Option<u64>,
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Typing started or stopped.
    Typing { room_id: String, active: bool },
    /// Move the read position.
    Read { room_id: String, seq: u64 },
    /// Full-text search in the user's rooms.
    Search {
        query: String,
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Application-level keepalive.
    Ping,
}

/// A client frame with its `ref`, or why it could not be read (with whatever `ref` could
/// still be found, so the error can carry it).
pub fn decode(text: &str) -> Result<(ClientFrame, Ref), (String, Ref)> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| (format!("malformed JSON: {e}"), None))?;
    let reference = value
        .get("ref")
        .filter(|r| r.is_string() || r.is_number())
        .cloned();
    match serde_json::from_value::<ClientFrame>(value) {
        Ok(frame) => Ok((frame, reference)),
        Err(e) => Err((e.to_string(), reference)),
    }
}

/// The protocol's error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    Validation,
    RateLimited,
    Overloaded,
    Internal,
}

impl Code {
    /// The code's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "bad_request",
            Code::Unauthenticated => "unauthenticated",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::Validation => "validation",
            Code::RateLimited => "rate_limited",
            Code::Overloaded => "overloaded",
            Code::Internal => "internal",
        }
    }

    /// The HTTP status the code maps to.
    pub fn http_status(self) -> u16 {
        match self {
            Code::BadRequest | Code::Validation => 400,
            Code::Unauthenticated => 401,
            Code::Forbidden => 403,
            Code::NotFound => 404,
            Code::RateLimited => 429,
            Code::Overloaded => 503,
            Code::Internal => 500,
        }
    }
}

/// An error a client can act on: a code, words, and for rate limits the wait.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The code.
    pub code: Code,
    /// For a person.
    pub message: String,
    /// For `rate_limited`.
    pub retry_after_ms: Option<u64>,
}

impl Problem {
    /// A problem with no wait.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// The `error` frame replying to a request with this `ref`.
    pub fn frame<'a>(&'a self, reference: &'a Ref) -> ServerFrame<'a> {
        ServerFrame::Error {
            reference,
            code: self.code.as_str(),
            message: &self.message,
            retry_after_ms: self.retry_after_ms,
        }
    }

    /// The HTTP API's error body.
    pub fn http_body(&self) -> Value {
        let mut inner = json!({"code": self.code.as_str(), "message": self.message});
        if let (Some(ms), Some(obj)) = (self.retry_after_ms, inner.as_object_mut()) {
            obj.insert("retry_after_ms".into(), ms.into());
        }
        json!({ "error": inner })
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Validation { .. } | Error::Rejected { .. } => Code::Validation,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::Forbidden(_) => Code::Forbidden,
            Error::NotFound(_) => Code::NotFound,
            Error::RateLimited { retry_after } => {
                let mut p = Problem::new(Code::RateLimited, e.to_string());
                p.retry_after_ms = Some(retry_after.as_millis() as u64);
                return p;
            }
            Error::Overloaded | Error::Closed | Error::StorageFull(_) | Error::Unavailable(_) => {
                Code::Overloaded
            }
            _ => Code::Internal,
        };
        if code == Code::Internal {
            log::error!("engine error: {e}");
            return Problem::new(code, "internal error");
        }
        Problem::new(code, e.to_string())
    }
}

/// Parses an id sent by a client.
pub fn parse_id<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, Problem> {
    text.parse()
        .map_err(|_| Problem::new(Code::BadRequest, format!("{field} is not a valid id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_keeps_ref_of_bad_frames() {
        let (_, r) = decode(r#"{"type":"nope","ref":7}"#).unwrap_err();
        assert_eq!(r, Some(json!(7)));
        let (msg, r) = decode("{not json").unwrap_err();
        assert!(msg.starts_with("malformed JSON"));
        assert_eq!(r, None);
    }

    #[test]
    fn decode_reads_subscribe_with_optional_fields() {
        let (f, r) = decode(r#"{"type":"subscribe","room_id":"x","ref":"a"}"#).unwrap();
        assert!(matches!(
            f,
            ClientFrame::Subscribe {
                since: None,
                epoch: None,
                ..
            }
        ));
        assert_eq!(r, Some(json!("a")));
        assert!(decode(r#"{"type":"post","room_id":"x"}"#).is_err());
    }

    #[test]
    fn a_numeric_ref_comes_back_as_the_same_number() {
        for sent in [
            "1.5e200",
            "0.30000000000000004",
            "-2.2250738585072014e-308",
            "7",
        ] {
            let (_, reference) = decode(&format!(r#"{{"type":"ping","ref":{sent}}}"#)).unwrap();
            let reply = ServerFrame::Pong {
                reference: &reference,
            }
            .encode();
            let reply = String::from_utf8(reply).expect("UTF-8");
            let echoed = reply
                .split_once(r#""ref":"#)
                .and_then(|(_, rest)| rest.split(['}', ',']).next())
                .expect("a ref");
            let (a, b) = (sent.parse::<f64>(), echoed.parse::<f64>());
            assert_eq!(
                a.expect("sent"),
                b.expect("echoed"),
                "{sent} came back as {echoed}"
            );
        }
    }

    #[test]
    fn rate_limit_problem_carries_the_wait() {
        let p = Problem::from(Error::RateLimited {
            retry_after: std::time::Duration::from_millis(120),
        });
        let f: Value = serde_json::from_slice(&p.frame(&Some(json!(1))).encode()).expect("json");
        assert_eq!(f["code"], "rate_limited");
        assert_eq!(f["retry_after_ms"], 120);
        assert_eq!(f["ref"], 1);
    }
}
