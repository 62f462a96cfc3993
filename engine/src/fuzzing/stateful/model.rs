//! The model the stateful check compares the engine with: one room's messages and its
//! changes feed, kept as plain data.

use crate::content::normalize_content;
use crate::ids::{ClientMessageId, MessageId, UserId};
use crate::model::Message;

/// The part of a message the model predicts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct State {
    pub id: MessageId,
    pub seq: u64,
    pub change_seq: u64,
    pub creator: UserId,
    pub client_message_id: ClientMessageId,
    pub content: String,
    pub deleted: bool,
}

impl From<&Message> for State {
    fn from(m: &Message) -> Self {
        State {
            id: m.id,
            seq: m.seq,
            change_seq: m.change_seq,
            creator: m.creator_id,
            client_message_id: m.client_message_id,
            content: m.content.clone(),
            deleted: m.deleted,
        }
    }
}

/// The error the model expects, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    Validation,
    Forbidden,
    NotFound,
}

/// What the model expects a post to return.
#[derive(Debug)]
pub(super) enum PostOutcome {
    /// A new message: seq and change_seq it must get, content after normalisation.
    New {
        seq: u64,
        change_seq: u64,
        content: String,
    },
    /// The original message, unchanged.
    Duplicate(State),
    Refused(Refusal),
}

/// One room: its messages by seq, every change in order, the admin.
pub(super) struct Room {
    pub admin: UserId,
    /// Index `seq - 1`.
    pub messages: Vec<State>,
    /// The state right after each change, in change order (index `change_seq - 1`).
    pub log: Vec<State>,
}

impl Room {
    pub fn new(admin: UserId) -> Room {
        Room {
            admin,
            messages: Vec::new(),
            log: Vec::new(),
        }
    }

    pub fn head(&self) -> u64 {
        self.log.len() as u64
    }

    /// The current state of every message changed after `since`, in change order.
    pub fn changes_after(&self, since: u64) -> Vec<State> {
        let mut changed: Vec<State> = self
            .messages
            .iter()
            .filter(|m| m.change_seq > since)
            .cloned()
            .collect();
        changed.sort_by_key(|m| m.change_seq);
        changed
    }

    pub fn post(&self, user: UserId, cmid: ClientMessageId, raw: &str) -> PostOutcome {
        let Ok(content) = normalize_content(raw) else {
            return PostOutcome::Refused(Refusal::Validation);
        };
        match self.messages.iter().find(|m| m.client_message_id == cmid) {
            Some(m) if m.creator != user => PostOutcome::Refused(Refusal::Validation),
            Some(m) => PostOutcome::Duplicate(m.clone()),
            None => PostOutcome::New {
                seq: self.messages.len() as u64 + 1,
                change_seq: self.head() + 1,
                content,
            },
        }
    }

    /// Records a new message the engine acknowledged (after it was checked).
    pub fn record_new(&mut self, state: State) {
        self.messages.push(state.clone());
        self.log.push(state);
    }

    /// What an edit (`Some(content)`) or delete (`None`) of message `seq` by `user` should
    /// give: the new state, or the refusal.
    pub fn change(&self, user: UserId, seq: u64, content: Option<&str>) -> Result<State, Refusal> {
        let content = match content {
            Some(raw) => Some(normalize_content(raw).map_err(|_| Refusal::Validation)?),
            None => None,
        };
        let Some(m) = self.messages.get(seq.wrapping_sub(1) as usize) else {
            return Err(Refusal::NotFound);
        };
        if m.deleted {
            return Err(Refusal::NotFound);
        }
        if user != self.admin && user != m.creator {
            return Err(Refusal::Forbidden);
        }
        let mut next = m.clone();
        next.change_seq = self.head() + 1;
        match content {
            Some(c) => next.content = c,
            None => {
                next.content.clear();
                next.deleted = true;
            }
        }
        Ok(next)
    }

    /// Records an edit or delete the engine acknowledged.
    pub fn record_change(&mut self, state: State) {
        let at = state.seq as usize - 1;
        self.messages[at] = state.clone();
        self.log.push(state);
    }
}
