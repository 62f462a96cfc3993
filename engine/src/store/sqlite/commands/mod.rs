//! Everything the SQLite writer can do, one command at a time, inside its transaction.
//!
//! Each command runs in its own savepoint: a failing command leaves no trace and does not
//! fail the others committed with it.

mod accounts;
mod messages;
mod rooms;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::store::ops::{Cx, Done, Op};
use crate::store::sqlite::savepoint::Savepoint;

/// Runs one command in its own savepoint of the open transaction: a failure undoes its
/// writes and its effects alone, and the batch's other commands go on. With `refuse` set
/// (the transaction could not start) the command is not run and fails with that error.
pub(crate) fn run(
    conn: &Connection,
    op: &Op,
    cx: &mut Cx<'_>,
    refuse: Option<&Error>,
) -> Result<Done> {
    if let Some(e) = refuse {
        return Err(e.clone());
    }
    let now = cx.now;
    match op {
        Op::CreateUser {
            login,
            name,
            password_hash,
            role,
            bot,
            ..
        } => step(conn, cx, |c, cx| {
            accounts::create_user(
                c,
                login,
                name,
                password_hash.clone(),
                *role,
                bot.clone(),
                cx,
            )
            .map(Done::User)
        }),
        Op::DeactivateUser { user, .. } => step(conn, cx, |c, cx| {
            accounts::deactivate(c, *user, cx).map(unit)
        }),
        Op::SetWebhook { bot, url, .. } => step(conn, cx, |c, _| {
            accounts::set_webhook(c, *bot, url.clone()).map(unit)
        }),
        Op::SetWebhookSecret { bot, secret, .. } => step(conn, cx, |c, _| {
            accounts::set_webhook_secret(c, *bot, secret.clone()).map(unit)
        }),
        Op::CreateSession {
            token_hash,
            user,
            expires_at,
            ..
        } => step(conn, cx, |c, _| {
            accounts::create_session(c, token_hash, *user, *expires_at, now).map(unit)
        }),
        Op::ExtendSession {
            token_hash,
            expires_at,
            ..
        } => step(conn, cx, |c, _| {
            accounts::extend_session(c, token_hash, *expires_at).map(unit)
        }),
        Op::RevokeSession { token_hash, .. } => step(conn, cx, |c, cx| {
            accounts::revoke_session(c, token_hash, cx).map(Done::Count)
        }),
        Op::RevokeAllSessions { user, .. } => step(conn, cx, |c, cx| {
            accounts::revoke_all_sessions(c, *user, cx).map(Done::Count)
        }),
        Op::CreateRoom {
            creator,
            kind,
            name,
            members,
            ..
        } => step(conn, cx, |c, cx| {
            rooms::create_room(c, *creator, *kind, name, members, cx).map(Done::Room)
        }),
        Op::DirectRoom { creator, users, .. } => step(conn, cx, |c, cx| {
            rooms::direct_room(c, *creator, users.clone(), cx).map(Done::Room)
        }),
        Op::AddMember {
            actor, room, user, ..
        } => step(conn, cx, |c, cx| {
            rooms::add_member(c, *actor, *room, *user, cx).map(unit)
        }),
        Op::RemoveMember {
            actor, room, user, ..
        } => step(conn, cx, |c, cx| {
            rooms::remove_member(c, *actor, *room, *user, cx).map(unit)
        }),
        Op::SetInvolvement {
            user,
            room,
            involvement,
            ..
        } => step(conn, cx, |c, cx| {
            rooms::set_involvement(c, *user, *room, *involvement, cx).map(unit)
        }),
        Op::MarkRead {
            user, room, seq, ..
        } => step(conn, cx, |c, cx| {
            rooms::mark_read(c, *user, *room, *seq, cx).map(Done::Count)
        }),
        Op::Post { post, .. } => step(conn, cx, |c, cx| {
            messages::post(
                c,
                post.user,
                post.room,
                post.client_message_id,
                post.content.clone(),
                post.sound.clone(),
                cx,
            )
            .map(Done::Posted)
        }),
        Op::Edit {
            user,
            message,
            content,
            ..
        } => step(conn, cx, |c, cx| {
            messages::edit(c, *user, *message, content.clone(), cx).map(Done::Message)
        }),
        Op::Delete { user, message, .. } => step(conn, cx, |c, cx| {
            messages::delete(c, *user, *message, cx).map(Done::Message)
        }),
    }
}

fn unit(_: ()) -> Done {
    Done::Unit
}

/// Runs `command` in a savepoint: undone, effects included, when it fails.
fn step(
    conn: &Connection,
    cx: &mut Cx<'_>,
    command: impl FnOnce(&Connection, &mut Cx<'_>) -> Result<Done>,
) -> Result<Done> {
    let (changes, fts_queued) = (cx.fx.changes.len(), cx.fx.fts_queued);
    let savepoint = Savepoint::begin(conn)?;
    let result = command(conn, cx).and_then(|out| savepoint.release().map(|()| out));
    if result.is_err() {
        // The savepoint was rolled back when dropped; its effects go too.
        cx.fx.changes.truncate(changes);
        cx.fx.fts_queued = fts_queued;
    }
    result
}
