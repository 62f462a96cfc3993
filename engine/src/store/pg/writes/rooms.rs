//! Rooms and memberships, as on SQLite (`store/sqlite/commands/rooms.rs`).

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::{RoomId, UserId};
use crate::live::{Change, Joiners};
use crate::model::{Involvement, Role, Room, RoomKind};
use crate::store::access_log::AccessChange;
use crate::store::ops::Cx;
use crate::store::pg::conn::Conn;
use crate::store::pg::writes::access_log;
use crate::store::pg::writes::rows::{self, Actor, RoomRef, active_user};
use crate::store::rules;

/// Inserts the room with the id `fresh`; `None` when that id exists already (an earlier
/// attempt of this batch committed it) or, for a direct room, another room holds its
/// member set.
fn insert_room(
    conn: &mut Conn,
    fresh: Uuid,
    creator: &Actor,
    kind: RoomKind,
    name: &str,
    direct_key: Option<&[u8]>,
    now: i64,
) -> Result<Option<RoomRef>> {
    let row = conn.query_opt(
        "INSERT INTO rooms(id, kind, name, creator_key, direct_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING key",
        &[
            &fresh,
            &(kind as i16),
            &name,
            &creator.key,
            &direct_key,
            &now,
        ],
    )?;
    Ok(row.map(|r| RoomRef {
        key: r.get(0),
        id: RoomId(fresh),
        kind,
        creator_key: creator.key,
        last_seq: 0,
    }))
}

/// Adds a membership; false when it existed already.
fn join(conn: &mut Conn, room: &RoomRef, user_key: i64, involvement: Involvement) -> Result<bool> {
    let n = conn.execute(
        "INSERT INTO memberships(room_key, user_key, involvement, last_read_seq) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&room.key, &user_key, &(involvement as i16), &room.last_seq],
    )?;
    Ok(n == 1)
}

/// A room an earlier attempt of this batch committed with the id `fresh`, as created.
fn created_before(conn: &mut Conn, fresh: Uuid, kind: RoomKind, cx: &mut Cx<'_>) -> Result<Room> {
    let room = rows::load_room(conn, RoomId(fresh))?;
    let users = conn
        .query(
            "SELECT u.id FROM memberships mb JOIN users u ON u.key = mb.user_key \
             WHERE mb.room_key = (SELECT key FROM rooms WHERE id = $1) ORDER BY u.id",
            &[&fresh],
        )?
        .iter()
        .map(|r| UserId(r.get(0)))
        .collect();
    let (users, involvement) = match kind {
        RoomKind::Open => (Joiners::AllPeople, Involvement::Mentions),
        RoomKind::Closed => (Joiners::Users(users), Involvement::Mentions),
        RoomKind::Direct => (Joiners::Users(users), Involvement::Everything),
    };
    cx.fx.changes.push(Change::Joined {
        room: room.clone(),
        users,
        involvement,
        new_room: true,
    });
    Ok(room)
}

pub(super) fn create_room(
    conn: &mut Conn,
    creator: UserId,
    kind: RoomKind,
    name: &str,
    members: &[UserId],
    fresh: Uuid,
    cx: &mut Cx<'_>,
) -> Result<Room> {
    let actor = active_user(conn, creator)?;
    if actor.role == Role::Bot {
        return Err(Error::Forbidden("bots cannot create rooms"));
    }
    if kind == RoomKind::Direct {
        return Err(Error::validation(
            "kind",
            "direct rooms are made with direct_room",
        ));
    }
    let Some(room) = insert_room(conn, fresh, &actor, kind, name, None, cx.now)? else {
        return created_before(conn, fresh, kind, cx);
    };
    let joiners = match kind {
        RoomKind::Open => {
            conn.execute(
                "INSERT INTO memberships(room_key, user_key, involvement) \
                 SELECT $1, key, $2 FROM users WHERE active AND role <> $3",
                &[
                    &room.key,
                    &(Involvement::Mentions as i16),
                    &(Role::Bot as i16),
                ],
            )?;
            Joiners::AllPeople
        }
        _ => {
            let mut joined = vec![creator];
            join(conn, &room, actor.key, Involvement::Mentions)?;
            for &m in members {
                let user = active_user(conn, m)?;
                if join(conn, &room, user.key, Involvement::Mentions)? {
                    joined.push(m);
                }
            }
            Joiners::Users(joined)
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

/// The direct room of a member set: one per set, also when two nodes create it at the
/// same moment (the unique `direct_key` decides; the loser reads the winner's room).
pub(super) fn direct_room(
    conn: &mut Conn,
    creator: UserId,
    users: &[UserId],
    fresh: Uuid,
    cx: &mut Cx<'_>,
) -> Result<Room> {
    let actor = active_user(conn, creator)?;
    let mut users = users.to_vec();
    users.push(creator);
    users.sort();
    users.dedup();
    let mut direct_key = blake3::Hasher::new();
    for u in &users {
        direct_key.update(u.as_bytes());
    }
    let direct_key = direct_key.finalize();
    let direct_key = &direct_key.as_bytes()[..];
    let existing = conn.query_opt("SELECT id FROM rooms WHERE direct_key = $1", &[&direct_key])?;
    if let Some(row) = existing {
        let id: Uuid = row.get(0);
        if id == fresh {
            return created_before(conn, fresh, RoomKind::Direct, cx);
        }
        return rows::load_room(conn, RoomId(id));
    }
    let mut members = Vec::with_capacity(users.len());
    let mut names = Vec::with_capacity(users.len());
    for &u in &users {
        let m = active_user(conn, u)?;
        let name: String = conn
            .query_one("SELECT name FROM users WHERE key = $1", &[&m.key])?
            .get(0);
        members.push(m);
        names.push(name);
    }
    let inserted = insert_room(
        conn,
        fresh,
        &actor,
        RoomKind::Direct,
        &names.join(", "),
        Some(direct_key),
        cx.now,
    )?;
    let Some(room) = inserted else {
        // Another node created it after the look above (its insert committed first).
        let id: Uuid = conn
            .query_one("SELECT id FROM rooms WHERE direct_key = $1", &[&direct_key])?
            .get(0);
        return rows::load_room(conn, RoomId(id));
    };
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
    conn: &mut Conn,
    actor: UserId,
    room: RoomId,
    user: UserId,
    cx: &mut Cx<'_>,
) -> Result<()> {
    let actor = active_user(conn, actor)?;
    let room = rows::room(conn, room)?;
    if !actor.manages(room.creator_key) {
        return Err(rules::not_manager());
    }
    if room.kind == RoomKind::Direct {
        return Err(rules::direct_is_fixed());
    }
    let target = active_user(conn, user)?;
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
    conn: &mut Conn,
    actor: UserId,
    room: RoomId,
    user: UserId,
    cx: &mut Cx<'_>,
) -> Result<()> {
    let actor = active_user(conn, actor)?;
    let room = rows::room(conn, room)?;
    let target = match active_user(conn, user) {
        Ok(t) => t,
        // A deactivated user can still be removed.
        Err(Error::Forbidden(_)) => {
            let r = conn.query_one("SELECT key, role FROM users WHERE id = $1", &[&user.0])?;
            Actor {
                key: r.get(0),
                role: rows::role(r.get(1))?,
            }
        }
        Err(other) => return Err(other),
    };
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
    let n = conn.execute(
        "DELETE FROM memberships WHERE room_key = $1 AND user_key = $2",
        &[&room.key, &target.key],
    )?;
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
    conn: &mut Conn,
    user: UserId,
    room: RoomId,
    involvement: Involvement,
    cx: &mut Cx<'_>,
) -> Result<()> {
    let (actor, room, _) = rows::member(conn, user, room)?;
    conn.execute(
        "UPDATE memberships SET involvement = $3 WHERE room_key = $1 AND user_key = $2",
        &[&room.key, &actor.key, &(involvement as i16)],
    )?;
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
    conn: &mut Conn,
    user: UserId,
    room: RoomId,
    seq: u64,
    cx: &mut Cx<'_>,
) -> Result<u64> {
    let (actor, room, last_read) = rows::member(conn, user, room)?;
    let target = (seq.min(i64::MAX as u64) as i64)
        .min(room.last_seq)
        .max(last_read);
    if target != last_read {
        conn.execute(
            // Never back, also when another node moved it meanwhile.
            "UPDATE memberships SET last_read_seq = greatest(last_read_seq, $3) \
             WHERE room_key = $1 AND user_key = $2",
            &[&room.key, &actor.key, &target],
        )?;
        cx.fx.changes.push(Change::Read {
            room_id: room.id,
            user_id: user,
            last_read_seq: target as u64,
            head_seq: room.last_seq as u64,
        });
    }
    Ok((room.last_seq - target) as u64)
}
