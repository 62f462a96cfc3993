//! What a receive returns besides an item: the stream ended (lagged, revoked, closed), or
//! nothing came in time. Modelled on `tokio::sync::broadcast`: a receiver never has to
//! inspect items to learn that it was cut off.

/// Why a stream delivers nothing more. Every event queued before the end is delivered
/// first; afterwards every receive returns the same reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// The subscriber fell behind (its queue held `subscription_capacity` unread events) and
    /// was detached. For a room subscription, subscribe again with
    /// `since = Some(resume_from)` to lose nothing: `resume_from` is the `change_seq` of the
    /// last message event delivered (the replay's end when none was). For user
    /// subscriptions and the notification stream it is 0: subscribe again.
    #[error("the subscriber fell behind; resume from change {resume_from}")]
    Lagged {
        /// The cursor to subscribe again with.
        resume_from: u64,
    },
    /// The user lost access: removed from the room (room subscriptions) or deactivated
    /// (room and user subscriptions), also when another process on the same database made
    /// the change.
    #[error("access was revoked")]
    Revoked,
    /// Nothing more will come: the engine closed, or a capped replay delivered its page
    /// (`Subscription::complete` was false).
    #[error("the stream is closed")]
    Closed,
}

/// [`crate::Events::try_recv`]: nothing waiting, or the stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TryRecvError {
    /// No event is waiting now; the stream goes on.
    #[error("no event waiting")]
    Empty,
    /// See [`RecvError::Lagged`].
    #[error("the subscriber fell behind; resume from change {resume_from}")]
    Lagged {
        /// The cursor to subscribe again with.
        resume_from: u64,
    },
    /// See [`RecvError::Revoked`].
    #[error("access was revoked")]
    Revoked,
    /// See [`RecvError::Closed`].
    #[error("the stream is closed")]
    Closed,
}

/// [`crate::Events::recv_timeout`]: nothing came in time, or the stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecvTimeoutError {
    /// No event came within the timeout; the stream goes on.
    #[error("no event within the timeout")]
    Timeout,
    /// See [`RecvError::Lagged`].
    #[error("the subscriber fell behind; resume from change {resume_from}")]
    Lagged {
        /// The cursor to subscribe again with.
        resume_from: u64,
    },
    /// See [`RecvError::Revoked`].
    #[error("access was revoked")]
    Revoked,
    /// See [`RecvError::Closed`].
    #[error("the stream is closed")]
    Closed,
}

impl From<RecvError> for TryRecvError {
    fn from(e: RecvError) -> Self {
        match e {
            RecvError::Lagged { resume_from } => TryRecvError::Lagged { resume_from },
            RecvError::Revoked => TryRecvError::Revoked,
            RecvError::Closed => TryRecvError::Closed,
        }
    }
}

impl From<RecvError> for RecvTimeoutError {
    fn from(e: RecvError) -> Self {
        match e {
            RecvError::Lagged { resume_from } => RecvTimeoutError::Lagged { resume_from },
            RecvError::Revoked => RecvTimeoutError::Revoked,
            RecvError::Closed => RecvTimeoutError::Closed,
        }
    }
}

impl TryRecvError {
    /// Why the stream ended; `None` for [`TryRecvError::Empty`].
    pub fn ended(self) -> Option<RecvError> {
        match self {
            TryRecvError::Empty => None,
            TryRecvError::Lagged { resume_from } => Some(RecvError::Lagged { resume_from }),
            TryRecvError::Revoked => Some(RecvError::Revoked),
            TryRecvError::Closed => Some(RecvError::Closed),
        }
    }
}

impl RecvTimeoutError {
    /// Why the stream ended; `None` for [`RecvTimeoutError::Timeout`].
    pub fn ended(self) -> Option<RecvError> {
        match self {
            RecvTimeoutError::Timeout => None,
            RecvTimeoutError::Lagged { resume_from } => Some(RecvError::Lagged { resume_from }),
            RecvTimeoutError::Revoked => Some(RecvError::Revoked),
            RecvTimeoutError::Closed => Some(RecvError::Closed),
        }
    }
}
