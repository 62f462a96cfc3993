mod common;

use common::{Fixture, Server, new_id};
use serde_json::json;

#[test]
fn same_client_message_id_after_reconnect_is_a_duplicate() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let token = f.token("ann");
    let cid = new_id();
    let post = json!({"type": "post", "room_id": f.room, "client_message_id": cid,
                      "content": "only once", "ref": 1});
    let mut first = server.ws(&token);
    first.send(post.clone());
    let (ack, _) = first.until("ack");
    assert_eq!(ack["duplicate"], false);
    drop(first);

    let mut again = server.ws(&token);
    let mut retry = post.clone();
    retry["content"] = "changed on retry".into();
    again.send(retry);
    let (ack2, _) = again.until("ack");
    assert_eq!(ack2["duplicate"], true);
    assert_eq!(
        ack2["message"], ack["message"],
        "the original comes back unchanged"
    );

    again.send(json!({"type": "history", "room_id": f.room, "limit": 10, "ref": "h"}));
    let (history, _) = again.until("history");
    assert_eq!(history["ref"], "h");
    assert_eq!(history["messages"].as_array().map(Vec::len), Some(1));
}
