mod common;

use common::{Fixture, Server, new_id};
use serde_json::json;

#[test]
fn reading_on_one_connection_updates_the_others_and_search_finds_posts() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let mut ann = server.ws(&f.token("ann"));
    for text in ["alpha one", "beta two", "gamma three"] {
        ann.send(
            json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                        "content": text}),
        );
        ann.until("ack");
    }
    let bob_token = f.token("bob");
    let mut phone = server.ws(&bob_token);
    let mut laptop = server.ws(&bob_token);
    assert_eq!(laptop.ready["rooms"][0]["unread"], 3);
    phone.send(json!({"type": "read", "room_id": f.room, "seq": 2, "ref": "r"}));
    let (ack, _) = phone.until("ack");
    assert_eq!(ack["unread"], 1);
    assert_eq!(ack["ref"], "r");
    let unread = laptop.until("unread").0;
    assert_eq!(
        unread,
        json!({"type": "unread", "room_id": f.room, "unread": 1})
    );

    let found = common::eventually(5, || {
        phone.send(json!({"type": "search", "query": "beta", "limit": 10, "ref": "s"}));
        let (res, _) = phone.until("search_results");
        res["messages"].as_array().is_some_and(|m| m.len() == 1)
    });
    assert!(found, "search finds the message once it is indexed");
}
