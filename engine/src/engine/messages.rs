//! Posting, editing, deleting and reading messages.

use super::{Engine, MAX_CHANGES_PAGE, MAX_PAGE, page_limit};
use crate::content::normalize_content;
use crate::error::Result;
use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Changes, Message, NewPost, Posted};
use crate::plugins::{Draft, PostContext, SOUNDS};
use crate::store::{Op, PostDraft};

impl Engine {
    /// Posts a message, exactly once per `(room, client_message_id)`.
    ///
    /// Returns after the message is committed. Posting the same pair again returns the
    /// original message (its content, id and seq) with `duplicate: true` and writes nothing.
    /// Only active members of the room may post.
    pub fn post(&self, post: NewPost) -> Result<Posted> {
        let post = self.prepare_post(post)?;
        self.write(|reply| Op::Post { post, reply })
    }

    /// Runs the plugins over a post (on the caller's thread) and validates the result.
    pub(crate) fn prepare_post(&self, post: NewPost) -> Result<PostDraft> {
        let plugins = &self.inner.plugins;
        if plugins.is_empty() {
            return post_draft(post, None);
        }
        let ctx = PostContext {
            user_id: post.user,
            room_id: post.room,
            client_message_id: post.client_message_id,
        };
        let mut draft = Draft {
            content: normalize_content(&post.content)?,
            sound: None,
        };
        plugins.before_post(&ctx, &mut draft)?;
        post_draft(
            NewPost {
                content: draft.content,
                ..post
            },
            draft.sound.filter(|s| SOUNDS.contains(&s.as_str())),
        )
    }

    /// Replaces a message's content (author or admin). The message takes the room's next
    /// change sequence value.
    pub fn edit_message(&self, user: UserId, message: MessageId, content: &str) -> Result<Message> {
        let content = normalize_content(content)?;
        self.write(|reply| Op::Edit {
            user,
            message,
            content,
            reply,
        })
    }

    /// Deletes a message (author or admin), leaving a tombstone: same id and seq, empty
    /// content, `deleted: true`, the room's next change sequence value.
    pub fn delete_message(&self, user: UserId, message: MessageId) -> Result<Message> {
        self.write(|reply| Op::Delete {
            user,
            message,
            reply,
        })
    }

    /// Up to `limit` (1..=100) messages with `seq < before` (or the newest), oldest first.
    /// Tombstones are included so that seqs stay contiguous.
    pub fn messages_before(
        &self,
        user: UserId,
        room: RoomId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let limit = page_limit(limit, MAX_PAGE)?;
        self.store().reads()?.before(user, room, before, limit)
    }

    /// The message with up to `n` (0..=100) messages on each side, oldest first.
    pub fn messages_around(
        &self,
        user: UserId,
        message: MessageId,
        n: usize,
    ) -> Result<Vec<Message>> {
        let n = if n == 0 { 0 } else { page_limit(n, MAX_PAGE)? };
        self.store().reads()?.around(user, message, n)
    }

    /// The changes feed: the current state of every message created, edited or deleted after
    /// change sequence `since`, in change order, at most `limit` (1..=1000). When `more` is
    /// true, ask again with the last message's `change_seq`; paging until `more` is false
    /// sees every change, even while others write.
    pub fn changes_since(
        &self,
        user: UserId,
        room: RoomId,
        since: u64,
        limit: usize,
    ) -> Result<Changes> {
        let limit = page_limit(limit, MAX_CHANGES_PAGE)?;
        self.store()
            .reads()?
            .changes_since(user, room, since, limit)
    }

    /// Messages matching the words of `text` in the user's rooms, newest first, at most
    /// `limit` (1..=100). Any text is accepted: only its letters and digits count. New
    /// messages become searchable shortly after they are acknowledged
    /// ([`crate::Options::search_delay`]).
    pub fn search(&self, user: UserId, text: &str, limit: usize) -> Result<Vec<Message>> {
        let limit = page_limit(limit, MAX_PAGE)?;
        self.store().reads()?.search(user, text, limit)
    }

    /// One message, for a member of its room.
    pub fn message(&self, user: UserId, id: MessageId) -> Result<Message> {
        self.store().reads()?.message(user, id)
    }
}

/// Validates a post on the caller's thread and turns it into the writer's command.
pub(crate) fn post_draft(post: NewPost, sound: Option<String>) -> Result<PostDraft> {
    Ok(PostDraft {
        user: post.user,
        room: post.room,
        client_message_id: post.client_message_id,
        content: normalize_content(&post.content)?,
        sound,
    })
}
