//! `ember-server --db postgres://…`: the admin commands set the database up, two servers
//! serve it at once, a post made through one is acked once and replayed by the other and
//! after a restart, and `demo` refuses a PostgreSQL URL (it always runs on its own SQLite
//! file). Skipped with a printed line when no PostgreSQL is found, unless
//! `EMBER_REQUIRE_PG=1`.

mod common;
#[path = "../../engine/tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::process::Command;

use common::{BIN, Fixture, Server, messages, new_id};
use serde_json::json;
use tungstenite::protocol::frame::coding::CloseCode;

#[test]
fn serve_and_admin_commands_work_on_a_postgresql_url() {
    if !pg::available() {
        return;
    }
    let db = pg::Database::create_shared();
    let f = Fixture::on(tempfile::tempdir().expect("tempdir"), db.url.clone().into());
    let users = f.admin(&["user", "list"]);
    assert!(users.contains("ann") && users.contains("bob"), "{users}");
    let (ann_token, bob_token) = (f.token("ann"), f.token("bob"));

    // Two servers on one database (no broker: live events stay on each node, the data is
    // shared).
    let one = Server::start(&f, &[]);
    let two = Server::start(&f, &[]);
    let mut ann = one.ws(&ann_token);
    let mut bob = two.ws(&bob_token);
    assert_eq!(
        ann.ready["epoch"], bob.ready["epoch"],
        "one epoch per database"
    );
    let cid = new_id();
    let post = json!({"type": "post", "room_id": f.room, "client_message_id": cid,
                      "content": "hello from node one"});
    ann.send(post.clone());
    let first = ann.until("ack").0;
    assert_eq!(first["duplicate"], false);
    assert_eq!(first["message"]["seq"], 1);

    // The same post retried through the other node: the original, nothing new.
    let mut ann_two = two.ws(&ann_token);
    ann_two.send(post);
    let again = ann_two.until("ack").0;
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["message"]["id"], first["message"]["id"]);
    assert_eq!(again["message"]["seq"], 1);

    // Node two replays what node one committed.
    let (sub, replay) = bob.subscribe(&f.room, Some(0));
    assert_eq!(sub["complete"], true);
    let got: Vec<_> = messages(&replay)
        .iter()
        .map(|m| m["message"]["id"].clone())
        .collect();
    assert!(got.contains(&first["message"]["id"]), "{replay:?}");

    // Admin commands see it while the servers run; the post survives both servers.
    let rooms = f.admin(&["room", "list"]);
    assert!(rooms.contains("Lobby"), "{rooms}");
    drop((ann, ann_two, bob, one, two));
    let three = Server::start(&f, &[]);
    let mut ann = three.ws(&ann_token);
    let (_, replay) = ann.subscribe(&f.room, Some(0));
    let contents: Vec<_> = messages(&replay)
        .iter()
        .map(|m| m["message"]["content"].clone())
        .collect();
    assert_eq!(
        contents,
        [json!("hello from node one")],
        "once, after the restart"
    );

    // Revoking a token from the command line reaches the server's open socket.
    f.admin(&["token", "revoke", &ann_token]);
    let code = ann.close_frame().map(|c| c.code);
    assert_eq!(
        code,
        Some(CloseCode::from(4001)),
        "the revoked session's socket"
    );
    let out = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--db", &db.url])
        .output()
        .expect("run demo");
    assert!(!out.status.success(), "demo must refuse a PostgreSQL URL");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("SQLite"), "{said}");
}
