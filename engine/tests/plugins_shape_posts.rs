//! Plugins see posts before they are written and events after they commit; slash commands
//! run in priority order; a panicking plugin is disabled and posting goes on.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use ember_engine::{
    CommandOutcome, CommandSpec, Decision, Draft, Error, Event, Plugin, PostContext, RoomKind,
};

struct NoSpam;
impl Plugin for NoSpam {
    fn name(&self) -> &str {
        "nospam"
    }
    fn on_post(&self, _: &PostContext, draft: &mut Draft) -> Decision {
        if draft.content.contains("spam") {
            Decision::Reject("no spam here".into())
        } else {
            draft.content = draft.content.replace("darn", "d*rn");
            Decision::Accept
        }
    }
}

struct Panicky(AtomicUsize);
impl Plugin for Panicky {
    fn name(&self) -> &str {
        "panicky"
    }
    fn on_post(&self, _: &PostContext, _: &mut Draft) -> Decision {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("boom");
    }
}

/// A command handler that records its calls and answers as told.
struct Cmd {
    label: &'static str,
    priority: i32,
    answer: CommandOutcome,
    log: Arc<parking_lot::Mutex<Vec<&'static str>>>,
}
impl Plugin for Cmd {
    fn name(&self) -> &str {
        self.label
    }
    fn commands(&self) -> Vec<CommandSpec> {
        vec![CommandSpec {
            name: "shout".into(),
            priority: self.priority,
        }]
    }
    fn on_command(
        &self,
        _: &str,
        args: &str,
        _: &PostContext,
        draft: &mut Draft,
    ) -> CommandOutcome {
        self.log.lock().push(self.label);
        if self.answer == CommandOutcome::Handled {
            draft.content = args.to_uppercase();
        }
        self.answer.clone()
    }
}

struct Counter(Arc<AtomicUsize>);
impl Plugin for Counter {
    fn name(&self) -> &str {
        "counter"
    }
    fn on_event(&self, e: &Event) {
        if matches!(e, Event::MessageCreated(_)) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn a_rejecting_plugin_stores_nothing_and_gives_its_reason() {
    let db = open();
    db.register_plugin(Box::new(NoSpam)).unwrap();
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    match db.post(new_post(ann.id, room.id, "buy spam now")) {
        Err(Error::Rejected { plugin, reason }) => assert_eq!(
            (plugin.as_str(), reason.as_str()),
            ("nospam", "no spam here")
        ),
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(history(&db, ann.id, room.id).is_empty());
    assert_eq!(
        post(&db, ann.id, room.id, "oh darn").content,
        "oh d*rn",
        "on_post may rewrite"
    );
}
common::both_stores!(a_rejecting_plugin_stores_nothing_and_gives_its_reason);

fn a_panicking_plugin_is_disabled_and_posting_still_works() {
    let db = open();
    db.register_plugin(Box::new(Panicky(AtomicUsize::new(0))))
        .unwrap();
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    post(&db, ann.id, room.id, "one");
    post(&db, ann.id, room.id, "two");
    let status = db
        .plugins()
        .into_iter()
        .find(|p| p.name == "panicky")
        .unwrap();
    assert!(!status.enabled);
    assert!(status.fault.unwrap().contains("boom"));
    assert_eq!(history(&db, ann.id, room.id).len(), 2);
}
common::both_stores!(a_panicking_plugin_is_disabled_and_posting_still_works);

fn commands_run_by_priority_until_one_handles_them() {
    let db = open();
    let log = Arc::new(parking_lot::Mutex::new(Vec::new()));
    for (label, priority, answer) in [
        ("low", 1, CommandOutcome::Handled),
        ("high", 10, CommandOutcome::Continue),
        ("mid", 5, CommandOutcome::Handled),
    ] {
        db.register_plugin(Box::new(Cmd {
            label,
            priority,
            answer,
            log: log.clone(),
        }))
        .unwrap();
    }
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    assert_eq!(post(&db, ann.id, room.id, "/shout hello").content, "HELLO");
    assert_eq!(
        *log.lock(),
        vec!["high", "mid"],
        "high continues, mid handles, low never runs"
    );
    assert_eq!(
        post(&db, ann.id, room.id, "/unknown stays text").content,
        "/unknown stays text"
    );
}
common::both_stores!(commands_run_by_priority_until_one_handles_them);

fn a_failing_command_rejects_the_post() {
    let db = open();
    let log = Arc::new(parking_lot::Mutex::new(Vec::new()));
    db.register_plugin(Box::new(Cmd {
        label: "strict",
        priority: 0,
        answer: CommandOutcome::Failed("say something".into()),
        log,
    }))
    .unwrap();
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    assert!(matches!(
        db.post(new_post(ann.id, room.id, "/shout")),
        Err(Error::Rejected { .. })
    ));
    assert!(history(&db, ann.id, room.id).is_empty());
}
common::both_stores!(a_failing_command_rejects_the_post);

fn play_attaches_a_known_sound_and_leaves_others_as_text() {
    let db = open();
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let sub = db.subscribe(ann.id, room.id, None).unwrap();
    let m = post(&db, ann.id, room.id, "/play tada");
    assert_eq!(m.sound.as_deref(), Some("tada"));
    assert_eq!(
        sub.events()
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .event(),
        &Event::MessageCreated(m.clone())
    );
    assert_eq!(
        sub.events()
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .event(),
        &Event::Sound {
            room_id: room.id,
            user_id: ann.id,
            message_id: m.id,
            name: "tada".into()
        }
    );
    assert_eq!(post(&db, ann.id, room.id, "/play nosuchsound").sound, None);
    assert_eq!(
        history(&db, ann.id, room.id)[0].sound.as_deref(),
        Some("tada"),
        "the sound is stored"
    );
    assert_eq!(ember_engine::SOUNDS.len(), 56);
}
common::both_stores!(play_attaches_a_known_sound_and_leaves_others_as_text);

fn on_event_sees_committed_messages() {
    let db = open();
    let seen = Arc::new(AtomicUsize::new(0));
    db.register_plugin(Box::new(Counter(seen.clone()))).unwrap();
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    post(&db, ann.id, room.id, "a");
    post(&db, ann.id, room.id, "b");
    eventually("the plugin saw both messages", || {
        seen.load(Ordering::SeqCst) == 2
    });
}
common::both_stores!(on_event_sees_committed_messages);
