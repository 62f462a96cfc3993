//! Whatever lands on the cluster's channels that no engine wrote (too short, not JSON, the
//! wrong shape, oversized, unknown values) is logged and dropped: no panic, nothing
//! delivered, and delivery of real changes goes on in order.

mod cluster_support;
mod common;

use std::time::Duration;

use cluster_support::{assert_is_the_feed, assert_no_more, node, receive_until, services};
use common::{member, new_post, open_room};

#[test]
fn malformed_publications_are_dropped_and_delivery_goes_on() {
    let Some((db, redis)) = services(false) else {
        return;
    };
    let a = node(&db, &redis);
    let b = node(&db, &redis);
    let ann = member(&a, "ann");
    let room = open_room(&a, ann.id, "Lobby");
    let sub = b.subscribe(ann.id, room, None).expect("subscribe on B");
    a.post(new_post(ann.id, room, "before")).expect("post");
    receive_until(&sub, 1, Duration::from_secs(10));

    let client = redis::Client::open(redis.url.as_str()).expect("a Redis URL");
    let mut conn = client.get_connection().expect("connect to Redis");
    let origin = 42i64.to_le_bytes().to_vec();
    let framed = |body: &[u8]| [origin.clone(), body.to_vec()].concat();
    let junk: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"short".to_vec(),
        framed(b"{not json"),
        framed(b"{\"k\":\"m\"}"),
        framed(b"{\"k\":\"nonsense\",\"x\":1}"),
        framed(&vec![b'['; 300 << 10]),
        framed(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]"),
        framed(
            format!(
                "{{\"k\":\"i\",\"room\":\"{room}\",\"user\":\"{}\",\"involvement\":\"loud\"}}",
                ann.id
            )
            .as_bytes(),
        ),
    ];
    let ns = format!("ember:{}:", a.epoch());
    for channel in [format!("{ns}room:{room}"), format!("{ns}users")] {
        for body in &junk {
            let _: i64 = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(body.as_slice())
                .query(&mut conn)
                .expect("publish");
        }
    }
    for i in 0..5 {
        a.post(new_post(ann.id, room, &format!("after {i}")))
            .expect("post");
    }
    let got = receive_until(&sub, 6, Duration::from_secs(10));
    assert_is_the_feed(&a, ann.id, room, 1, &got);
    assert_no_more(&sub, Duration::from_millis(200));
}
