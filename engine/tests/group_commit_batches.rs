//! Group commit: concurrent writes share transactions, and a refused command in a batch
//! does not undo the others committed with it.

mod common;

use ember_engine::{Error, Request, Response, RoomKind};

fn concurrent_posts_share_transactions() {
    const THREADS: usize = 32;
    const POSTS: usize = 50;
    let db = common::open();
    let users: Vec<_> = (0..4)
        .map(|i| common::member(&db, &format!("user{i}")))
        .collect();
    let room = common::open_room(&db, users[0].id, "Busy");
    let before = db.stats();

    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (db, user) = (&db, users[t % users.len()].id);
            s.spawn(move || {
                for i in 0..POSTS {
                    common::post(db, user, room, &format!("thread {t} post {i}"));
                }
            });
        }
    });

    let after = db.stats();
    let messages = (THREADS * POSTS) as u64;
    assert_eq!(
        after.commands - before.commands,
        messages,
        "one command per post"
    );
    let transactions = after.transactions - before.transactions;
    assert!(
        transactions < messages,
        "{transactions} transactions for {messages} posts: no batching"
    );
    assert!(
        after.largest_batch > 1,
        "largest batch {}",
        after.largest_batch
    );
    let seqs: Vec<u64> = common::history(&db, users[1].id, room)
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(seqs, (1..=messages).collect::<Vec<_>>());
}
common::both_stores!(concurrent_posts_share_transactions);

fn a_refused_command_does_not_undo_its_batch() {
    const REQUESTS: u64 = 200;
    let db = common::open();
    let ann = common::member(&db, "ann");
    let carol = common::member(&db, "carol");
    let room = db
        .create_room(ann.id, RoomKind::Closed, "Plans", &[])
        .unwrap()
        .id;
    let before = db.stats();

    // Alternate posts that are allowed with posts by an outsider: any batch of two or more
    // consecutive commands mixes both.
    let mut pipeline = db.pipeline();
    for i in 0..REQUESTS {
        let author = if i % 2 == 0 { ann.id } else { carol.id };
        let ticket = pipeline
            .submit(Request::Post(common::new_post(
                author,
                room,
                &format!("post {i}"),
            )))
            .expect("submit");
        assert_eq!(ticket, i);
    }
    let mut committed = Vec::new();
    for i in 0..REQUESTS {
        let done = pipeline
            .completions()
            .recv()
            .expect("a completion per request");
        assert_eq!(done.ticket, i, "completions out of order");
        match (i % 2, done.result) {
            (0, Ok(Response::Posted(p))) => committed.push(p.message),
            (1, Err(Error::Forbidden(_))) => {}
            (_, other) => panic!("request {i} gave {other:?}"),
        }
    }

    let after = db.stats();
    assert_eq!(after.failed_commands - before.failed_commands, REQUESTS / 2);
    assert!(
        after.transactions - before.transactions < REQUESTS,
        "every command had its own transaction: nothing was mixed"
    );
    assert_eq!(common::history(&db, ann.id, room), committed);
}
common::both_stores!(a_refused_command_does_not_undo_its_batch);
