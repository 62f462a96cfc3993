//! docs/protocol.md shows one example of every server frame; this test serialises each
//! variant of `ServerFrame` with the same values and compares.

use std::collections::BTreeMap;

use ember_engine::UserId;
use ember_server::server::frames::{MessageJson, RoomJson, ServerFrame, UserJson};
use serde_json::{Value, json};

const ROOM: &str = "0190d5a0-0000-7000-8000-000000000001";
const USER: &str = "0190d5a0-0000-7000-8000-000000000002";
const MSG: &str = "0190d5a0-0000-7000-8000-000000000003";
const CMID: &str = "0190d5a0-0000-7000-8000-000000000004";
const EPOCH: &str = "0190d5a0-0000-7000-8000-000000000005";

/// The frame's `type` on the wire; exhaustive, so a new variant cannot be forgotten here.
fn kind(f: &ServerFrame<'_>) -> &'static str {
    match f {
        ServerFrame::Ready { .. } => "ready",
        ServerFrame::Subscribed { .. } => "subscribed",
        ServerFrame::Unsubscribed { .. } => "unsubscribed",
        ServerFrame::Message { .. } => "message",
        ServerFrame::Typing { .. } => "typing",
        ServerFrame::Presence { .. } => "presence",
        ServerFrame::Sound { .. } => "sound",
        ServerFrame::Membership { .. } => "membership",
        ServerFrame::Unread { .. } => "unread",
        ServerFrame::RoomJoined { .. } => "room_joined",
        ServerFrame::RoomLeft { .. } => "room_left",
        ServerFrame::Ack { .. } => "ack",
        ServerFrame::History { .. } => "history",
        ServerFrame::SearchResults { .. } => "search_results",
        ServerFrame::Pong { .. } => "pong",
        ServerFrame::Error { .. } => "error",
    }
}

fn message(mentions: &[UserId]) -> MessageJson<'_> {
    MessageJson {
        id: &MSG,
        seq: 12,
        change_seq: 15,
        room_id: &ROOM,
        creator_id: &USER,
        client_message_id: &CMID,
        content: "hi @Ann",
        created_at: 1_764_150_000_000,
        edited_at: None,
        deleted: false,
        sound: None,
        mentions,
    }
}

fn room() -> RoomJson<'static> {
    RoomJson {
        id: &ROOM,
        room_id: &ROOM,
        name: "Lobby",
        kind: "open",
        involvement: "mentions",
        unread: 2,
        last_message_at: Some(1_764_150_000_000),
        head_seq: 12,
    }
}

/// The examples between the `frames:begin` and `frames:end` markers, by type.
fn documented() -> BTreeMap<String, Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let doc = std::fs::read_to_string(path).expect("read docs/protocol.md");
    let (_, rest) = doc
        .split_once("<!-- frames:begin -->")
        .expect("begin marker");
    let (block, _) = rest.split_once("<!-- frames:end -->").expect("end marker");
    let mut by_type = BTreeMap::new();
    for line in block.lines().map(str::trim) {
        if !line.starts_with('{') {
            continue;
        }
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let ty = v["type"].as_str().expect("type").to_owned();
        assert!(by_type.insert(ty.clone(), v).is_none(), "{ty} shown twice");
    }
    by_type
}

#[test]
fn every_server_frame_is_documented_exactly_as_it_is_sent() {
    let (s1, h1, q1, p1, x, seven) = (
        Some(json!("s1")),
        Some(json!("h1")),
        Some(json!("q1")),
        Some(json!("p1")),
        Some(json!("x")),
        Some(json!(7)),
    );
    let mentions = [USER.parse::<UserId>().expect("a user id")];
    let message = || message(&mentions);
    let frames = vec![
        ServerFrame::Ready {
            epoch: EPOCH,
            user: UserJson {
                id: &USER,
                name: "Ann",
                login: "ann",
                role: "admin",
            },
            rooms: vec![room()],
        },
        ServerFrame::Subscribed {
            reference: &s1,
            room_id: &ROOM,
            head_seq: 15,
            complete: true,
            online: vec![USER.to_owned()],
            epoch: EPOCH,
            reset: true,
        },
        ServerFrame::Unsubscribed {
            reference: &None,
            room_id: &ROOM,
            reason: Some("ended"),
        },
        ServerFrame::Message { message: message() },
        ServerFrame::Typing {
            room_id: &ROOM,
            user_id: &USER,
            active: true,
        },
        ServerFrame::Presence {
            room_id: &ROOM,
            user_id: &USER,
            online: false,
        },
        ServerFrame::Sound {
            room_id: &ROOM,
            user_id: &USER,
            message_id: &MSG,
            name: "tada",
        },
        ServerFrame::Membership {
            room_id: &ROOM,
            user_id: &USER,
            joined: true,
        },
        ServerFrame::Unread {
            room_id: &ROOM,
            unread: 3,
        },
        ServerFrame::RoomJoined { room: room() },
        ServerFrame::RoomLeft { room_id: &ROOM },
        ServerFrame::Ack {
            reference: &seven,
            message: Some(message()),
            duplicate: Some(false),
            unread: None,
        },
        ServerFrame::History {
            reference: &h1,
            room_id: &ROOM,
            messages: vec![message()],
        },
        ServerFrame::SearchResults {
            reference: &q1,
            messages: vec![],
        },
        ServerFrame::Pong { reference: &p1 },
        ServerFrame::Error {
            reference: &x,
            code: "rate_limited",
            message: "rate limited: retry after 120 ms",
            retry_after_ms: Some(120),
        },
    ];
    let doc = documented();
    for frame in &frames {
        let sent: Value = serde_json::from_slice(&frame.encode()).expect("json");
        let ty = kind(frame);
        assert_eq!(sent["type"], ty);
        let shown = doc
            .get(ty)
            .unwrap_or_else(|| panic!("docs/protocol.md has no example of {ty}"));
        assert_eq!(
            &sent, shown,
            "the {ty} frame differs from its documented example"
        );
    }
    assert_eq!(
        doc.len(),
        frames.len(),
        "the doc shows frames the server never sends"
    );
}
