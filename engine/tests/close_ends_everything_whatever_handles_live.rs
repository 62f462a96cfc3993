//! `Engine::close` finishes the whole shutdown even while clones, pipelines and
//! subscriptions are still alive: every subscription ends with `Closed` (a reader blocked in
//! `recv` wakes), and every plugin is dropped.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use ember_engine::{Error, Plugin, RecvError, RecvTimeoutError};

/// A plugin that records being dropped.
struct Watched(Arc<AtomicBool>);

impl Plugin for Watched {
    fn name(&self) -> &str {
        "watched"
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

fn close_ends_subscriptions_and_drops_plugins_while_a_pipeline_and_a_clone_live() {
    let db = open();
    let ann = admin(&db, "ann");
    let room = open_room(&db, ann.id, "Lobby");
    let dropped = Arc::new(AtomicBool::new(false));
    db.register_plugin(Box::new(Watched(dropped.clone())))
        .unwrap();
    let room_sub = db.subscribe(ann.id, room, None).unwrap();
    let user_sub = db.subscribe_user(ann.id).unwrap();
    let notes = db.subscribe_notifications().unwrap();
    let _pipeline = db.pipeline();
    let clone = db.engine.clone();

    let blocked_events = room_sub.events().clone();
    let (woke_tx, woke_rx) = crossbeam_channel::bounded(1);
    let reader = std::thread::spawn(move || {
        let _ = woke_tx.send(blocked_events.recv().err());
    });
    std::thread::sleep(Duration::from_millis(50));

    db.close();

    assert_eq!(
        woke_rx.recv_timeout(Duration::from_secs(10)),
        Ok(Some(RecvError::Closed)),
        "the blocked reader wakes with Closed"
    );
    reader.join().expect("the reader thread");
    assert_eq!(
        user_sub.events().recv_timeout(Duration::from_secs(5)),
        Err(RecvTimeoutError::Closed)
    );
    assert_eq!(
        notes.events().recv_timeout(Duration::from_secs(5)),
        Err(RecvTimeoutError::Closed)
    );
    assert!(dropped.load(Ordering::Acquire), "the plugin was dropped");
    assert!(matches!(
        clone.subscribe(ann.id, room, None),
        Err(Error::Closed)
    ));
    assert!(matches!(
        clone.subscribe_notifications(),
        Err(Error::Closed)
    ));
    assert!(matches!(
        clone.register_plugin(Box::new(Watched(Arc::new(AtomicBool::new(false))))),
        Err(Error::Closed)
    ));
}
common::both_stores!(close_ends_subscriptions_and_drops_plugins_while_a_pipeline_and_a_clone_live);
