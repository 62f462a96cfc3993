//! A stateful check: arbitrary sequences of posts, retries, edits, deletes, subscriptions
//! and changes-feed pages by three users in one room, compared step by step with a plain
//! model. It proves dedup (a retry returns the original, never a second message), a gapless
//! feed (paging `changes_since` to the end gives the model's changes), the final state, and
//! that every subscription receives exactly the model's changes after its cursor.

mod model;

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};

use self::model::{PostOutcome, Refusal, Room, State};
use super::Fixture;
use crate::error::Error;
use crate::events::Event;
use crate::ids::{ClientMessageId, MessageId, RoomId, UserId};
use crate::live::{RecvTimeoutError, Subscription, TryRecvError};
use crate::model::{NewPost, RoomKind};

/// Most steps one input runs.
const MAX_STEPS: usize = 64;
/// Most subscriptions one input opens (each stays open to the end of the input).
const MAX_SUBSCRIPTIONS: usize = 4;
/// How long a subscription may take to deliver an event the model expects.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(10);

/// Content to post or edit: a word from a list of interesting cases, or arbitrary text.
#[derive(Arbitrary, Debug)]
enum Text {
    Word(u8),
    Raw(String),
}

const WORDS: &[&str] = &[
    "hello",
    "  padded  ",
    "",
    " \n\t ",
    "two\r\nlines",
    "bell\u{7}",
    "@ANN look",
    "café",
    "\"AND\" OR NEAR(",
];

impl Text {
    fn get(&self) -> &str {
        match self {
            Text::Word(n) => WORDS[usize::from(*n) % WORDS.len()],
            Text::Raw(s) => s,
        }
    }
}

/// Where a subscription starts: live, or this many changes before the head.
#[derive(Arbitrary, Debug)]
enum Since {
    Live,
    Back(u8),
}

/// One operation. `user` picks one of the fixture's users, `message` one of the room's
/// messages by position (an unknown id when there are none).
#[derive(Arbitrary, Debug)]
enum Step {
    Post {
        user: u8,
        cmid: u8,
        content: Text,
    },
    Retry {
        of: u8,
    },
    Edit {
        user: u8,
        message: u8,
        content: Text,
    },
    Delete {
        user: u8,
        message: u8,
    },
    Subscribe {
        user: u8,
        since: Since,
    },
    Page {
        user: u8,
        since: u8,
        limit: u8,
    },
}

struct Sub {
    handle: Subscription,
    expected: Vec<State>,
}

struct Run<'a> {
    fixture: &'a Fixture,
    room: RoomId,
    model: Room,
    /// The raw content each client message id was first posted with, for retries.
    posted: Vec<(UserId, ClientMessageId, String)>,
    subs: Vec<Sub>,
}

/// Decodes `data` into steps, runs them in a fresh room of `fixture` and checks each
/// answer, then the final state and every subscription's events, against the model.
pub fn check(fixture: &Fixture, data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut steps = Vec::new();
    while !u.is_empty() && steps.len() < MAX_STEPS {
        match Step::arbitrary(&mut u) {
            Ok(step) => steps.push(step),
            Err(_) => break,
        }
    }
    let [admin, ann, bob] = fixture.users;
    let room = fixture
        .engine
        .create_room(admin, RoomKind::Closed, "Stateful", &[ann, bob])
        .expect("create the room")
        .id;
    let mut run = Run {
        fixture,
        room,
        model: Room::new(admin),
        posted: Vec::new(),
        subs: Vec::new(),
    };
    if std::env::var_os("EMBER_FUZZ_DEBUG").is_some() {
        eprintln!("{steps:#?}");
    }
    for step in &steps {
        run.step(step);
    }
    run.check_final_state();
    run.check_subscriptions();
}

impl Run<'_> {
    fn user(&self, n: u8) -> UserId {
        self.fixture.users[usize::from(n) % 3]
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Post {
                user,
                cmid,
                content,
            } => {
                let cmid = ClientMessageId::from_bytes([*cmid; 16]);
                self.post(self.user(*user), cmid, content.get().to_owned());
            }
            Step::Retry { of } => {
                if !self.posted.is_empty() {
                    let (user, cmid, raw) =
                        self.posted[usize::from(*of) % self.posted.len()].clone();
                    self.post(user, cmid, raw);
                }
            }
            Step::Edit {
                user,
                message,
                content,
            } => self.change(self.user(*user), *message, Some(content.get())),
            Step::Delete { user, message } => self.change(self.user(*user), *message, None),
            Step::Subscribe { user, since } => self.subscribe(self.user(*user), since),
            Step::Page { user, since, limit } => {
                let since = u64::from(*since) % (self.model.head() + 1);
                self.page(self.user(*user), since, usize::from(*limit % 8) + 1);
            }
        }
    }

    fn post(&mut self, user: UserId, cmid: ClientMessageId, raw: String) {
        let expected = self.model.post(user, cmid, &raw);
        let got = self.fixture.engine.post(NewPost {
            user,
            room: self.room,
            client_message_id: cmid,
            content: raw.clone(),
        });
        match (expected, got) {
            (
                PostOutcome::New {
                    seq,
                    change_seq,
                    content,
                },
                Ok(p),
            ) => {
                assert!(!p.duplicate, "a first post came back as a duplicate");
                let state = State::from(&p.message);
                assert_eq!(
                    (
                        state.seq,
                        state.change_seq,
                        &state.content,
                        state.creator,
                        state.deleted
                    ),
                    (seq, change_seq, &content, user, false),
                    "a new post"
                );
                assert_eq!(state.client_message_id, cmid);
                self.posted.push((user, cmid, raw));
                self.model.record_new(state.clone());
                self.publish(state);
            }
            (PostOutcome::Duplicate(original), Ok(p)) => {
                assert!(p.duplicate, "a retry was not marked duplicate");
                assert_eq!(
                    State::from(&p.message),
                    original,
                    "a retry must return the original"
                );
            }
            (PostOutcome::Refused(want), Err(e)) => assert_eq!(refusal(&e), want, "post: {e}"),
            (want, got) => {
                panic!("post {raw:?}: the model expects {want:?}, the engine gave {got:?}")
            }
        }
    }

    fn change(&mut self, user: UserId, message: u8, content: Option<&str>) {
        let (seq, id) = match self.model.messages.len() {
            0 => (0, MessageId::from_bytes([message; 16])),
            n => {
                let m = &self.model.messages[usize::from(message) % n];
                (m.seq, m.id)
            }
        };
        let expected = self.model.change(user, seq, content);
        let got = match content {
            Some(c) => self.fixture.engine.edit_message(user, id, c),
            None => self.fixture.engine.delete_message(user, id),
        };
        match (expected, got) {
            (Ok(want), Ok(m)) => {
                assert_eq!(State::from(&m), want, "edit or delete of seq {seq}");
                self.model.record_change(want.clone());
                self.publish(want);
            }
            (Err(want), Err(e)) => assert_eq!(refusal(&e), want, "edit or delete: {e}"),
            (want, got) => {
                panic!("change {content:?} of seq {seq}: the model expects {want:?}, got {got:?}")
            }
        }
    }

    /// A change every open subscription must deliver next.
    fn publish(&mut self, state: State) {
        for sub in &mut self.subs {
            sub.expected.push(state.clone());
        }
    }

    fn subscribe(&mut self, user: UserId, since: &Since) {
        if self.subs.len() >= MAX_SUBSCRIPTIONS {
            return;
        }
        let head = self.model.head();
        let cursor = match since {
            Since::Live => None,
            Since::Back(n) => Some(head.saturating_sub(u64::from(*n))),
        };
        let handle = self
            .fixture
            .engine
            .subscribe(user, self.room, cursor)
            .unwrap_or_else(|e| panic!("subscribe from {cursor:?}: {e}"));
        assert_eq!(handle.head_change_seq(), head, "the subscription's head");
        assert!(
            handle.complete(),
            "a replay shorter than the cap is complete"
        );
        let expected = cursor.map_or_else(Vec::new, |c| self.model.changes_after(c));
        self.subs.push(Sub { handle, expected });
    }

    fn page(&self, user: UserId, since: u64, limit: usize) {
        let got = self.feed(user, since, limit);
        assert_eq!(
            got,
            self.model.changes_after(since),
            "changes after {since}, pages of {limit}"
        );
    }

    /// `changes_since` paged to the end.
    fn feed(&self, user: UserId, mut since: u64, limit: usize) -> Vec<State> {
        let mut all = Vec::new();
        for _ in 0..=self.model.head() {
            let page = self
                .fixture
                .engine
                .changes_since(user, self.room, since, limit)
                .unwrap_or_else(|e| panic!("changes_since({since}, {limit}): {e}"));
            assert_eq!(page.head_change_seq, self.model.head(), "the feed's head");
            assert!(page.messages.len() <= limit, "a page longer than its limit");
            all.extend(page.messages.iter().map(State::from));
            match page.messages.last() {
                Some(last) if page.more => since = last.change_seq,
                _ => {
                    assert!(!page.more, "an empty page with more to come");
                    return all;
                }
            }
        }
        panic!("changes_since never reached the end");
    }

    fn check_final_state(&self) {
        let everything = self.feed(self.fixture.users[0], 0, crate::MAX_CHANGES_PAGE);
        assert_eq!(everything, self.model.changes_after(0), "the final state");
        let ids: std::collections::HashSet<_> = everything.iter().map(|m| m.id).collect();
        assert_eq!(
            ids.len(),
            self.model.messages.len(),
            "one message per client id"
        );
    }

    fn check_subscriptions(&self) {
        for (n, sub) in self.subs.iter().enumerate() {
            let events = sub.handle.events();
            for want in &sub.expected {
                let got = loop {
                    match events.recv_timeout(DELIVERY_DEADLINE) {
                        Ok(shared) => match shared.event() {
                            Event::MessageCreated(m)
                            | Event::MessageEdited(m)
                            | Event::MessageDeleted(m) => break State::from(m),
                            _ => continue,
                        },
                        Err(RecvTimeoutError::Timeout) => {
                            panic!("subscription {n} waited in vain for {want:?}")
                        }
                        Err(e) => panic!("subscription {n} ended before {want:?}: {e}"),
                    }
                };
                assert_eq!(&got, want, "subscription {n}");
            }
            loop {
                match events.try_recv() {
                    Ok(shared) => match shared.event() {
                        Event::MessageCreated(m)
                        | Event::MessageEdited(m)
                        | Event::MessageDeleted(m) => {
                            panic!("subscription {n} got an extra event: {m:?}")
                        }
                        _ => continue,
                    },
                    Err(TryRecvError::Empty) => break,
                    Err(e) => panic!("subscription {n} ended: {e}"),
                }
            }
        }
    }
}

fn refusal(e: &Error) -> Refusal {
    match e {
        Error::Validation { .. } => Refusal::Validation,
        Error::Forbidden(_) => Refusal::Forbidden,
        Error::NotFound(_) => Refusal::NotFound,
        other => panic!("an error the model never expects: {other:?}"),
    }
}
