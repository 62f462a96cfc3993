//! Pipelined writes: submit without waiting, collect acknowledgements as they commit.
//!
//! An event loop must never wait on a commit. It submits through a [`Pipeline`], gets a
//! ticket back at once, and later reads [`Completion`]s from [`Pipeline::completions`]
//! (optionally woken by a notify callback), each sent only after its transaction committed.

use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use crate::content::normalize_content;
use crate::engine::Engine;
use crate::error::Result;
use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Message, NewPost, Posted};
use crate::store::Op;

/// A write that can be pipelined.
#[derive(Clone, Debug)]
pub enum Request {
    /// See [`Engine::post`].
    Post(NewPost),
    /// See [`Engine::edit_message`].
    Edit {
        /// Author or admin.
        user: UserId,
        /// The message.
        message: MessageId,
        /// New content.
        content: String,
    },
    /// See [`Engine::delete_message`].
    Delete {
        /// Author or admin.
        user: UserId,
        /// The message.
        message: MessageId,
    },
    /// See [`Engine::mark_read`].
    MarkRead {
        /// The reader.
        user: UserId,
        /// The room.
        room: RoomId,
        /// Read up to here.
        seq: u64,
    },
}

/// The committed result of a [`Request`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// For [`Request::Post`].
    Posted(Posted),
    /// For [`Request::Edit`] and [`Request::Delete`]: the message's new state.
    Message(Message),
    /// For [`Request::MarkRead`]: the unread count.
    Unread(u64),
}

/// One acknowledgement.
#[derive(Clone, Debug)]
pub struct Completion {
    /// The ticket [`Pipeline::submit`] returned.
    pub ticket: u64,
    /// What happened, after COMMIT.
    pub result: Result<Response>,
}

/// A submission queue with its own completion channel. Not shared: one per event loop.
pub struct Pipeline {
    engine: Engine,
    done_tx: Sender<Completion>,
    done_rx: Receiver<Completion>,
    next_ticket: u64,
    notify: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Engine {
    /// A new pipeline.
    pub fn pipeline(&self) -> Pipeline {
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        Pipeline {
            engine: self.clone(),
            done_tx,
            done_rx,
            next_ticket: 0,
            notify: None,
        }
    }
}

impl Pipeline {
    /// Calls `notify` (on the writer thread; keep it short, e.g. wake a poller) after each
    /// completion is queued.
    pub fn with_notify(mut self, notify: impl Fn() + Send + Sync + 'static) -> Self {
        self.notify = Some(Arc::new(notify));
        self
    }

    /// Validates and queues `request` without waiting. Returns its ticket, or an error at
    /// once: validation errors, [`crate::Error::Overloaded`] when the writer's queue is full,
    /// [`crate::Error::Closed`].
    pub fn submit(&mut self, request: Request) -> Result<u64> {
        let ticket = self.next_ticket;
        let tx = self.done_tx.clone();
        let notify = self.notify.clone();
        let complete = move |result: Result<Response>| {
            let _ = tx.send(Completion { ticket, result });
            if let Some(n) = notify {
                n();
            }
        };
        let op = match request {
            Request::Post(post) => Op::Post {
                post: self.engine.prepare_post(post)?,
                reply: Box::new(move |r| complete(r.map(Response::Posted))),
            },
            Request::Edit {
                user,
                message,
                content,
            } => Op::Edit {
                user,
                message,
                content: normalize_content(&content)?,
                reply: Box::new(move |r| complete(r.map(Response::Message))),
            },
            Request::Delete { user, message } => Op::Delete {
                user,
                message,
                reply: Box::new(move |r| complete(r.map(Response::Message))),
            },
            Request::MarkRead { user, room, seq } => Op::MarkRead {
                user,
                room,
                seq,
                reply: Box::new(move |r| complete(r.map(Response::Unread))),
            },
        };
        self.engine.store().submit(op)?;
        self.next_ticket += 1;
        Ok(ticket)
    }

    /// Completions, in commit order.
    pub fn completions(&self) -> &Receiver<Completion> {
        &self.done_rx
    }
}
