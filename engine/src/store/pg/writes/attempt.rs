//! One attempt at a batch: a transaction in which consecutive posts run as a set and every
//! other operation runs alone in a savepoint, as on SQLite.

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::store::ops::{Cx, Done, Op};
use crate::store::pg::conn::{Conn, is_retryable};
use crate::store::pg::writes::{accounts, messages, posts, rooms};

/// How an attempt ended.
pub(super) enum Outcome {
    /// Committed; each operation's outcome, in order.
    Committed(Vec<Result<Done>>),
    /// Rolled back because a set of posts failed as a whole: run the batch again with
    /// every post alone, so that the one at fault fails alone.
    SetFailed,
    /// A transient failure (connection lost, deadlock, ...): run the batch again.
    Transient(Error),
    /// The transaction failed for good (COMMIT refused): every caller gets the error.
    Failed(Error, Vec<Result<Done>>),
}

/// Runs `ops` in one transaction; posts in sets when `sets` is true.
pub(super) fn run(
    conn: &mut Conn,
    ops: &[Op],
    fresh: &[Uuid],
    cx: &mut Cx<'_>,
    sets: bool,
) -> Outcome {
    if let Err(e) = conn.batch("BEGIN") {
        return lost(conn, e, Vec::new());
    }
    let mut results: Vec<Result<Done>> = Vec::with_capacity(ops.len());
    let mut i = 0;
    while i < ops.len() {
        if sets && matches!(ops[i], Op::Post { .. }) {
            let end = ops[i..]
                .iter()
                .position(|op| !matches!(op, Op::Post { .. }))
                .map_or(ops.len(), |n| i + n);
            let drafts = drafts(&ops[i..end]);
            let (changes, fts) = (cx.fx.changes.len(), cx.fx.fts_queued);
            match posts::run_set(conn, &drafts, &fresh[i..end], cx) {
                Ok(rs) => results.extend(rs),
                Err(e) => {
                    cx.fx.changes.truncate(changes);
                    cx.fx.fts_queued = fts;
                    if is_retryable(&e) {
                        return lost(conn, e, results);
                    }
                    log::warn!(
                        "a set of {} posts failed ({e}); running them one by one",
                        end - i
                    );
                    let _ = conn.batch("ROLLBACK");
                    return Outcome::SetFailed;
                }
            }
            i = end;
            continue;
        }
        match step(conn, cx, |conn, cx| command(conn, &ops[i], fresh[i], cx)) {
            Ok(r) => results.push(r),
            Err(e) => return lost(conn, e, results),
        }
        i += 1;
    }
    match conn.batch("COMMIT") {
        Ok(()) => Outcome::Committed(results),
        Err(e) if is_retryable(&e) => Outcome::Transient(e),
        Err(e) => Outcome::Failed(e, results),
    }
}

/// The transaction cannot go on: rolled back (when the connection still works).
fn lost(conn: &mut Conn, e: Error, results: Vec<Result<Done>>) -> Outcome {
    if !conn.client.is_closed() {
        let _ = conn.batch("ROLLBACK");
    }
    if is_retryable(&e) {
        Outcome::Transient(e)
    } else {
        Outcome::Failed(e, results)
    }
}

fn drafts(ops: &[Op]) -> Vec<&crate::store::ops::PostDraft> {
    ops.iter()
        .filter_map(|op| match op {
            Op::Post { post, .. } => Some(post),
            _ => None,
        })
        .collect()
}

/// Runs `command` in a savepoint: undone, effects included, when it fails. The outer error
/// means the transaction itself failed (a transient error, or the savepoint could not be
/// rolled back).
fn step(
    conn: &mut Conn,
    cx: &mut Cx<'_>,
    command: impl FnOnce(&mut Conn, &mut Cx<'_>) -> Result<Done>,
) -> Result<Result<Done>> {
    let (changes, fts_queued) = (cx.fx.changes.len(), cx.fx.fts_queued);
    conn.batch("SAVEPOINT command")?;
    match command(conn, cx) {
        Ok(done) => {
            conn.batch("RELEASE command")?;
            Ok(Ok(done))
        }
        Err(e) => {
            cx.fx.changes.truncate(changes);
            cx.fx.fts_queued = fts_queued;
            if is_retryable(&e) {
                return Err(e);
            }
            conn.batch("ROLLBACK TO command; RELEASE command")?;
            Ok(Err(e))
        }
    }
}

fn unit(_: ()) -> Done {
    Done::Unit
}

/// Runs one operation (`fresh`: the id it creates with, fixed for the batch).
fn command(conn: &mut Conn, op: &Op, fresh: Uuid, cx: &mut Cx<'_>) -> Result<Done> {
    let now = cx.now;
    match op {
        Op::CreateUser {
            login,
            name,
            password_hash,
            role,
            bot,
            ..
        } => accounts::create_user(
            conn,
            login,
            name,
            password_hash.as_deref(),
            *role,
            bot.as_ref(),
            fresh,
            cx,
        )
        .map(Done::User),
        Op::DeactivateUser { user, .. } => accounts::deactivate(conn, *user, cx).map(unit),
        Op::SetWebhook { bot, url, .. } => {
            accounts::set_webhook(conn, *bot, url.as_deref()).map(unit)
        }
        Op::SetWebhookSecret { bot, secret, .. } => {
            accounts::set_webhook_secret(conn, *bot, secret).map(unit)
        }
        Op::CreateSession {
            token_hash,
            user,
            expires_at,
            ..
        } => accounts::create_session(conn, token_hash, *user, *expires_at, now).map(unit),
        Op::ExtendSession {
            token_hash,
            expires_at,
            ..
        } => accounts::extend_session(conn, token_hash, *expires_at).map(unit),
        Op::RevokeSession { token_hash, .. } => {
            accounts::revoke_session(conn, token_hash, cx).map(Done::Count)
        }
        Op::RevokeAllSessions { user, .. } => {
            accounts::revoke_all_sessions(conn, *user, cx).map(Done::Count)
        }
        Op::CreateRoom {
            creator,
            kind,
            name,
            members,
            ..
        } => rooms::create_room(conn, *creator, *kind, name, members, fresh, cx).map(Done::Room),
        Op::DirectRoom { creator, users, .. } => {
            rooms::direct_room(conn, *creator, users, fresh, cx).map(Done::Room)
        }
        Op::AddMember {
            actor, room, user, ..
        } => rooms::add_member(conn, *actor, *room, *user, cx).map(unit),
        Op::RemoveMember {
            actor, room, user, ..
        } => rooms::remove_member(conn, *actor, *room, *user, cx).map(unit),
        Op::SetInvolvement {
            user,
            room,
            involvement,
            ..
        } => rooms::set_involvement(conn, *user, *room, *involvement, cx).map(unit),
        Op::MarkRead {
            user, room, seq, ..
        } => rooms::mark_read(conn, *user, *room, *seq, cx).map(Done::Count),
        Op::Post { post, .. } => {
            // A post alone (after its set failed): a set of one.
            let mut done = posts::run_set(conn, &[post], &[fresh], cx)?;
            done.pop()
                .unwrap_or_else(|| Err(Error::Storage("internal error: no outcome".into())))
        }
        Op::Edit {
            user,
            message,
            content,
            ..
        } => messages::edit(conn, *user, *message, content, cx).map(Done::Message),
        Op::Delete { user, message, .. } => {
            messages::delete(conn, *user, *message, cx).map(Done::Message)
        }
    }
}
