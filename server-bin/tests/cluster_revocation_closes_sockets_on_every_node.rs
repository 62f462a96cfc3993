//! Deactivating a user by the CLI closes their sockets on every node of a cluster within 1 s.

mod cluster_nodes;
mod common;

use std::time::{Duration, Instant};

use cluster_nodes::Cluster;
use common::Client;
use tungstenite::protocol::frame::coding::CloseCode;

const PROMPTLY: Duration = Duration::from_secs(1);

fn close_code(c: &mut Client) -> CloseCode {
    c.close_frame()
        .map(|f| f.code)
        .expect("a close frame with a code")
}

#[test]
fn deactivation_by_the_cli_closes_the_users_sockets_on_every_node() {
    let Some(cl) = Cluster::new(false) else {
        return;
    };
    let a = cl.node(&[]);
    let b = cl.node(&[]);
    let token = cl.token("bob");
    let mut on_a = a.ws(&token);
    on_a.subscribe(&cl.room, None);
    let mut on_b = b.ws(&token);
    on_b.subscribe(&cl.room, None);
    let t = Instant::now();
    cl.admin(&["user", "deactivate", "bob"]);
    // The CLI's own run (open, deactivate, close) is included in the time measured.
    let cli = t.elapsed();
    assert_eq!(close_code(&mut on_a), CloseCode::from(4003));
    let took_a = t.elapsed();
    assert_eq!(close_code(&mut on_b), CloseCode::from(4003));
    let took_b = t.elapsed();
    assert!(
        took_a.saturating_sub(cli) < PROMPTLY && took_b.saturating_sub(cli) < PROMPTLY,
        "closed {took_a:?} and {took_b:?} after the CLI started (it ran {cli:?})"
    );
    eprintln!(
        "deactivation by the CLI (ran {cli:?}) closed node A's socket at {took_a:?}, node B's at {took_b:?}"
    );
}
