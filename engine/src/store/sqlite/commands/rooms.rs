//! Rooms and memberships.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::{RoomId, UserId};
use crate::live::{Change, Joiners};
use crate::model::{Involvement, Role, Room, RoomKind};
use crate::store::access_log::AccessChange;
use crate::store::ops::Cx;
use crate::store::rules;
use crate::store::sqlite::access::{self, Actor, RoomRef};
use crate::store::sqlite::access_log;
use crate::store::sqlite::rows;

fn insert_room(
    conn: &Connection,
    creator: &Actor,
    kind: RoomKind,
    name: &str,
    direct_key: Option<&[u8]>,
    now: i64,
) -> Result<RoomRef> {
    let id = RoomId(Uuid::now_v7());
    conn.prepare_cached(
        "INSERT INTO rooms(id, kind, name, creator_key, direct_key, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, kind as i64, name, creator.key, direct_key, now])?;
    Ok(RoomRef {
        key: conn.last_insert_rowid(),
        id,
        kind,
        creator_key: creator.key,
        last_seq: 0,
        last_change_seq: 0,
    })
}

/// Adds a membership; false when it existed already.
fn join(
    conn: &Connection,
    room: &RoomRef,
    user_key: i64,
    involvement: Involvement,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO memberships(room_key, user_key, involvement, last_read_seq) \
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            room.key,
            user_key,
            involvement as i64,
            room.last_seq
        ])?;
    Ok(n == 1)
}

pub(super) fn create_room(
    conn: &Connection,
    creator: UserId,
    kind: RoomKind,
    name: &str,
    members: &[UserId],
    cx: &mut Cx<'_>,
) -> Result<Room> {
    let actor = access::active_user(conn, creator)?;
    if actor.role == Role::Bot {
        return Err(Error::Forbidden("bots cannot create rooms"));
    }
    let room = insert_room(conn, &actor, kind, name, None, cx.now)?;
    let joiners = match kind {
        RoomKind::Open => {
            conn.prepare_cached(
                "INSERT INTO memberships(room_key, user_key, involvement) \
                 SELECT ?1, key, ?2 FROM users WHERE active = 1 AND role != ?3",
            )?
            .execute(params![
                room.key,
                Involvement::Mentions as i64,
                Role::Bot as i64
            ])?;
            Joiners::AllPeople
        }
        RoomKind::Closed => {
            let mut joined = vec![creator];
            join(conn, &room, actor.key, Involvement::Mentions)?;
            for &m in members {
                let user = access::active_user(conn, m)?;
                if join(conn, &room, user.key, Involvement::Mentions)? {
                    joined.push(m);
                }
            }
            Joiners::Users(joined)
        }
        RoomKind::Direct => {
            return Err(Error::validation(
                "kind",
                "direct rooms are made with direct_room",
            ));
        }
    };
    let room = rows::load_room(conn, room.id)?;
    cx.fx.changes.push(Change::Joined {
        room: room.clone(),
        users: joiners,
        involvement: Involvement::Mentions,
        new_room: true,
    });
    Ok(room)
}

pub(super) fn direct_room(
    conn: &Connection,
    creator: UserId,
    mut users: Vec<UserId>,
    cx: &mut Cx<'_>,
) -> Result<Room> {
    let actor = access::active_user(conn, creator)?;
    users.push(creator);
    users.sort();
    users.dedup();
    let mut direct_key = blake3::Hasher::new();
    for u in &users {
        direct_key.update(u.as_bytes());
    }
    let direct_key = direct_key.finalize();
    let existing: Option<RoomId> = conn
        .prepare_cached("SELECT id FROM rooms WHERE direct_key = ?1")?
        .query_row([&direct_key.as_bytes()[..]], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        return rows::load_room(conn, id);
    }
    let mut members = Vec::with_capacity(users.len());
    let mut names = Vec::with_capacity(users.len());
    for &u in &users {
        let m = access::active_user(conn, u)?;
        let name: String = conn
            .prepare_cached("SELECT name FROM users WHERE key = ?1")?
            .query_row([m.key], |r| r.get(0))?;
        members.push(m);
        names.push(name);
    }
    let room = insert_room(
        conn,
        &actor,
        RoomKind::Direct,
        &names.join(", "),
        Some(direct_key.as_bytes()),
        cx.now,
    )?;
    for m in &members {
        join(conn, &room, m.key, Involvement::Everything)?;
    }
    let room = rows::load_room(conn, room.id)?;
    cx.fx.changes.push(Change::Joined {
        room: room.clone(),
        users: Joiners::Users(users),
        involvement: Involvement::Everything,
        new_room: true,
    });
    Ok(room)
}

pub(super) fn add_member(
    conn: &Connection,
    actor: UserId,
    room: RoomId,
    user: UserId,
    cx: &mut Cx<'_>,
) -> Result<()> {
    let actor = access::active_user(conn, actor)?;
    let room = access::room(conn, room)?;
    if !actor.manages(room.creator_key) {
        return Err(rules::not_manager());
    }
    if room.kind == RoomKind::Direct {
        return Err(rules::direct_is_fixed());
    }
    let target = access::active_user(conn, user)?;
    if join(conn, &room, target.key, Involvement::Mentions)? {
        cx.fx.changes.push(Change::Joined {
            room: rows::load_room(conn, room.id)?,
            users: Joiners::Users(vec![user]),
            involvement: Involvement::Mentions,
            new_room: false,
        });
    }
    Ok(())
}

pub(super) fn remove_member(
    conn: &Connection,
    actor: UserId,
    room: RoomId,
    user: UserId,
    cx: &mut Cx<'_>,
) -> Result<()> {
    let actor = access::active_user(conn, actor)?;
    let room = access::room(conn, room)?;
    let target = access::active_user(conn, user).or_else(|e| match e {
        // A deactivated user can still be removed.
        Error::Forbidden(_) => conn
            .prepare_cached("SELECT key, role FROM users WHERE id = ?1")?
            .query_row([user], |r| {
                Ok(Actor {
                    key: r.get(0)?,
                    role: Role::from_i64(r.get(1)?)?,
                })
            })
            .map_err(Error::from),
        other => Err(other),
    })?;
    if target.key != actor.key && !actor.manages(room.creator_key) {
        return Err(rules::not_manager());
    }
    match room.kind {
        RoomKind::Direct => return Err(rules::direct_is_fixed()),
        RoomKind::Open if target.role != Role::Bot => {
            return Err(Error::validation(
                "room",
                "everyone belongs to an open room; set involvement to invisible to hide it",
            ));
        }
        _ => {}
    }
    let n = conn
        .prepare_cached("DELETE FROM memberships WHERE room_key = ?1 AND user_key = ?2")?
        .execute([room.key, target.key])?;
    if n == 0 {
        return Err(Error::NotFound("membership"));
    }
    let removed = AccessChange::MemberRemoved {
        user,
        room: room.id,
    };
    access_log::record(conn, cx.origin, cx.now, removed)?;
    cx.fx.changes.push(Change::Left {
        room_id: room.id,
        user_id: user,
    });
    Ok(())
}

pub(super) fn set_involvement(
    conn: &Connection,
    user: UserId,
    room: RoomId,
    involvement: Involvement,
    cx: &mut Cx<'_>,
) -> Result<()> {
    let (actor, room, _) = access::member(conn, user, room)?;
    conn.prepare_cached(
        "UPDATE memberships SET involvement = ?3 WHERE room_key = ?1 AND user_key = ?2",
    )?
    .execute([room.key, actor.key, involvement as i64])?;
    cx.fx.changes.push(Change::Involvement {
        room_id: room.id,
        user_id: user,
        involvement,
    });
    Ok(())
}

/// Moves the read position forward (never back, never past the newest message); returns
/// the unread count.
pub(super) fn mark_read(
    conn: &Connection,
    user: UserId,
    room: RoomId,
    seq: u64,
    cx: &mut Cx<'_>,
) -> Result<u64> {
    let (actor, room, m) = access::member(conn, user, room)?;
    let target = (seq.min(i64::MAX as u64) as i64)
        .min(room.last_seq)
        .max(m.last_read_seq);
    if target != m.last_read_seq {
        conn.prepare_cached(
            "UPDATE memberships SET last_read_seq = ?3 WHERE room_key = ?1 AND user_key = ?2",
        )?
        .execute([room.key, actor.key, target])?;
        cx.fx.changes.push(Change::Read {
            room_id: room.id,
            user_id: user,
            last_read_seq: target as u64,
            head_seq: room.last_seq as u64,
        });
    }
    Ok((room.last_seq - target) as u64)
}
