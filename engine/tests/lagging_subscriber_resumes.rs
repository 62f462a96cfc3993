//! A subscriber that stops reading is detached: after the events it holds, its receive
//! fails with `RecvError::Lagged`; posting is not slowed down, and resubscribing from
//! `resume_from` loses nothing.

mod common;

use std::time::Duration;

use common::*;
use ember_engine::{Event, RecvError, RoomKind};

fn a_stalled_subscriber_lags_and_resumes_without_loss() {
    let db = open_with(|o| o.subscription_capacity = 8);
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let stalled = db.subscribe(ann.id, room.id, Some(0)).unwrap();
    let reader = db.subscribe(ann.id, room.id, Some(0)).unwrap();
    // A reader that keeps up (it takes each event before the next post) gets all 30.
    let mut posted = Vec::new();
    for i in 0..30 {
        let m = post(&db, ann.id, room.id, &format!("m{i}"));
        let got = reader
            .events()
            .recv_timeout(Duration::from_secs(5))
            .unwrap();
        assert_eq!(got.event().change_seq(), Some(m.change_seq));
        posted.push(m.change_seq);
    }

    // The stalled one holds its 8, then its receive fails with Lagged.
    let held: Vec<Event> = stalled.events().iter().map(|e| e.event().clone()).collect();
    assert_eq!(held.len(), 8, "capacity events, then the end: {held:?}");
    let Some(RecvError::Lagged { resume_from }) = stalled.events().recv().err() else {
        panic!("the stream must end with Lagged");
    };
    assert_eq!(resume_from, 8);
    assert_eq!(
        db.subscription_counts().0,
        1,
        "only the reader that keeps up is still attached"
    );

    // Replays are paged at the capacity (8): resubscribe until a page completes.
    let mut rest = Vec::new();
    let mut cursor = resume_from;
    let live = loop {
        let again = db.subscribe(ann.id, room.id, Some(cursor)).unwrap();
        let page: Vec<u64> = if again.complete() {
            again
                .events()
                .try_iter()
                .filter_map(|e| e.event().change_seq())
                .collect()
        } else {
            again
                .events()
                .iter()
                .filter_map(|e| e.event().change_seq())
                .collect()
        };
        cursor = page.last().copied().unwrap_or(cursor);
        rest.extend(page);
        if again.complete() {
            break again;
        }
    };
    assert_eq!(
        rest,
        posted[8..].to_vec(),
        "resubscribing from resume_from yields the rest"
    );
    assert!(
        live.events()
            .recv_timeout(Duration::from_millis(100))
            .is_err()
    );
}
common::both_stores!(a_stalled_subscriber_lags_and_resumes_without_loss);

fn a_dropped_subscription_is_unregistered() {
    let db = open();
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let sub = db.subscribe(ann.id, room.id, None).unwrap();
    let user_sub = db.subscribe_user(ann.id).unwrap();
    assert_eq!(db.subscription_counts(), (1, 1));
    drop(sub);
    drop(user_sub);
    assert_eq!(db.subscription_counts(), (0, 0));
}
common::both_stores!(a_dropped_subscription_is_unregistered);
