mod common;

use common::hook::{Hook, answer};
use common::{Fixture, Server, new_id};
use serde_json::{Value, json};

#[test]
fn a_mentioned_bot_is_called_signed_and_its_text_reply_is_posted() {
    let hook = Hook::start(Some(answer("200 OK", "text/plain", b"beep")));
    let f = Fixture::new();
    let added = f.admin(&[
        "bot",
        "add",
        "Hubot",
        "--webhook",
        &hook.url,
        "--room",
        "Lobby",
    ]);
    let (_, secret) = added
        .split_once('\t')
        .expect("bot add prints key<TAB>secret");
    let server = Server::start(&f, &[]);
    let mut ann = server.ws(&f.token("ann"));
    ann.subscribe(&f.room, None);

    ann.send(
        json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                    "content": "hello @Hubot"}),
    );
    let call = hook.next(20).expect("the webhook is called");
    assert!(call.head.starts_with("POST /hook "), "{}", call.head);
    assert_eq!(call.header("Content-Type"), Some("application/json"));
    assert!(call.signed_with(secret), "bad signature: {}", call.head);
    assert!(!call.signed_with("not the secret"));
    let payload: Value = serde_json::from_slice(&call.body).expect("JSON body");
    assert_eq!(payload["message"]["body"]["plain"], "hello @Hubot");
    assert_eq!(payload["room"]["name"], "Lobby");
    assert_eq!(payload["user"]["name"], "Ann");
    loop {
        let m = ann.next();
        if m["type"] == "message" && m["message"]["content"] == "beep" {
            assert_ne!(m["message"]["creator_id"], ann.ready["user"]["id"]);
            break;
        }
    }

    // A secret rotated from the CLI while the server runs signs the next call.
    let rotated = f.admin(&["bot", "secret-rotate", "hubot"]);
    assert_eq!(rotated.len(), 64, "{rotated}");
    ann.send(
        json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                    "content": "again @Hubot"}),
    );
    let call = hook.next(20).expect("the webhook is called again");
    assert!(call.signed_with(&rotated), "not signed with the new secret");
    assert!(
        !call.signed_with(secret),
        "still signed with the old secret"
    );
}
