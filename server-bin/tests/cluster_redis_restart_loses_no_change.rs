//! Redis restarted while posts flow: no subscriber on any node misses a change or gets one
//! twice (the nodes fill the gap from the store).

mod cluster_nodes;
mod common;

use std::time::Duration;

use cluster_nodes::{Cluster, Lcg, assert_is_the_feed, change_seq, feed, messages_until};
use common::{Client, new_id};
use serde_json::json;

#[test]
fn a_redis_restart_under_load_loses_no_change_and_doubles_none() {
    let Some(mut cl) = Cluster::new(true) else {
        return;
    };
    let fast = ["--post-rate", "10000"];
    let nodes = [cl.node(&fast), cl.node(&fast), cl.node(&fast)];
    let mut subscribers: Vec<(String, Client)> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut c = node.ws(&cl.token("bob"));
        c.subscribe(&cl.room, None);
        subscribers.push((format!("bob on node {i}"), c));
    }
    let ann = cl.token("ann");
    let mut writers: Vec<Client> = nodes.iter().map(|n| n.ws(&ann)).collect();
    let mut rng = Lcg(7);
    let mut head = 0;
    for i in 0..300 {
        if i == 100 {
            cl.redis.stop();
        }
        if i == 150 {
            cl.redis.start();
        }
        let w = &mut writers[rng.below(3)];
        w.send(
            json!({"type": "post", "room_id": cl.room, "client_message_id": new_id(),
            "content": format!("post {i}"), "ref": i}),
        );
        let (ack, _) = w.until("ack");
        head = head.max(change_seq(&ack["message"]));
        std::thread::sleep(Duration::from_millis(5));
    }
    let feed = feed(&nodes[0], &ann, &cl.room, 0);
    assert_eq!(feed.len(), 300);
    for (who, c) in &mut subscribers {
        let got = messages_until(c, head);
        assert_is_the_feed(who, &got, &feed);
    }
}
