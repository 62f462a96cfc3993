//! Who may do what, as one table: every actor × room kind × operation is either allowed or
//! refused with the exact error, and the table below is the whole rule book. Each cell runs
//! twice: by user id (the engine's own checks) and the way a host calls, authenticating a
//! session token or a bot key first.

mod common;

use ember_engine::{
    ClientMessageId, Engine, Error, Involvement, Message, NewPost, RoomId, RoomKind, UserId,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    /// An admin, member of the room (its creator, for open and closed rooms).
    Admin,
    /// A person who is a member and not the room's creator.
    Member,
    /// A person outside the room (everyone belongs to an open room, so there a member).
    NonMember,
    /// A bot added to the room.
    BotIn,
    /// A bot not in the room.
    BotOut,
    /// A member who was deactivated.
    Deactivated,
    /// A member whose session was revoked (the user stays active).
    RevokedSession,
}

const ACTORS: [Actor; 7] = [
    Actor::Admin,
    Actor::Member,
    Actor::NonMember,
    Actor::BotIn,
    Actor::BotOut,
    Actor::Deactivated,
    Actor::RevokedSession,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    History,
    Changes,
    Subscribe,
    Post,
    EditOwn,
    EditOther,
    DeleteOwn,
    DeleteOther,
    Search,
    Typing,
    MarkRead,
    AddMember,
    RemoveMember,
    SetInvolvement,
}

const OPS: [Op; 14] = [
    Op::History,
    Op::Changes,
    Op::Subscribe,
    Op::Post,
    Op::EditOwn,
    Op::EditOther,
    Op::DeleteOwn,
    Op::DeleteOther,
    Op::Search,
    Op::Typing,
    Op::MarkRead,
    Op::AddMember,
    Op::RemoveMember,
    Op::SetInvolvement,
];

const KINDS: [RoomKind; 3] = [RoomKind::Open, RoomKind::Closed, RoomKind::Direct];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// The user id is passed straight to the engine.
    UserId,
    /// A session token (a bot key for bots) is authenticated first.
    Credential,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Allowed,
    /// Search answers, but shows nothing of the room.
    Hidden,
    Forbidden,
    Unauthenticated,
    /// `Error::Validation` on this field.
    Invalid(&'static str),
}

/// The rule book. `None`: the cell cannot be set up (an outsider cannot have written in a
/// direct room, whose members are fixed).
fn expected(actor: Actor, kind: RoomKind, op: Op, via: Via) -> Option<Outcome> {
    use Outcome::*;
    let own = matches!(op, Op::EditOwn | Op::DeleteOwn);
    if own && kind == RoomKind::Direct && matches!(actor, Actor::NonMember | Actor::BotOut) {
        return None;
    }
    match (actor, via) {
        (Actor::Deactivated | Actor::RevokedSession, Via::Credential) => {
            return Some(Unauthenticated);
        }
        (Actor::Deactivated, Via::UserId) => return Some(Forbidden),
        _ => {}
    }
    let member = match actor {
        Actor::Admin | Actor::Member | Actor::BotIn | Actor::RevokedSession => true,
        Actor::NonMember => kind == RoomKind::Open,
        Actor::BotOut | Actor::Deactivated => false,
    };
    let gate = |ok: bool| if ok { Allowed } else { Forbidden };
    Some(match op {
        Op::History
        | Op::Changes
        | Op::Subscribe
        | Op::Post
        | Op::Typing
        | Op::MarkRead
        | Op::SetInvolvement => gate(member),
        // Authors change their own messages while they are members; admins any message.
        Op::EditOwn | Op::DeleteOwn => gate(member || actor == Actor::Admin),
        Op::EditOther | Op::DeleteOther => gate(actor == Actor::Admin),
        Op::Search if member => Allowed,
        Op::Search => Hidden,
        // Admins and a room's creator manage members (the admin is the creator here); a
        // direct room's members are fixed; a person cannot be removed from an open room.
        Op::AddMember | Op::RemoveMember if actor != Actor::Admin => Forbidden,
        Op::AddMember | Op::RemoveMember if kind == RoomKind::Direct => Invalid("room"),
        Op::RemoveMember if kind == RoomKind::Open => Invalid("room"),
        Op::AddMember | Op::RemoveMember => Allowed,
    })
}

/// One cell's database: the room, the actor and the messages the operations act on.
struct World {
    db: common::TestDb,
    /// The admin, a member of the room.
    admin: UserId,
    room: RoomId,
    actor: UserId,
    /// The token or bot key the actor presents.
    credential: String,
    is_bot: bool,
    /// Two messages by the actor in the room (one to edit, one to delete), if it could write.
    own: Option<(Message, Message)>,
    /// Two messages by someone else in the room.
    other: (Message, Message),
    /// A member who is not the actor: removed by `RemoveMember`.
    spare: UserId,
    /// A person in no room but the open ones: added by `AddMember`.
    newcomer: UserId,
}

fn post(db: &Engine, user: UserId, room: RoomId, content: &str) -> Message {
    common::post(db, user, room, content)
}

fn world(actor: Actor, kind: RoomKind) -> World {
    let db = common::open();
    let ann = common::admin(&db, "ann");
    let bob = common::member(&db, "bob");
    let carol = common::member(&db, "carol");
    let dan = common::member(&db, "dan");
    let rita = common::member(&db, "rita");
    let sam = common::member(&db, "sam");
    let bot_in = db.create_bot("botin", "Bot In").expect("bot");
    let bot_out = db.create_bot("botout", "Bot Out").expect("bot");
    let people = [bob.id, dan.id, rita.id, sam.id];
    let room = match kind {
        RoomKind::Direct => {
            let mut members = people.to_vec();
            members.push(bot_in.user.id);
            db.direct_room(ann.id, &members).expect("direct room").id
        }
        _ => {
            let members = if kind == RoomKind::Closed {
                &people[..]
            } else {
                &[]
            };
            let room = db.create_room(ann.id, kind, "Room", members).expect("room");
            db.add_member(ann.id, room.id, bot_in.user.id)
                .expect("add the bot");
            room.id
        }
    };
    let newcomer = common::member(&db, "newcomer");
    // Outsiders who once wrote in the room (so their own messages exist), removed below;
    // everyone belongs to an open room but bots, and a direct room's members are fixed.
    let outsiders = match kind {
        RoomKind::Closed => vec![carol.id, bot_out.user.id],
        RoomKind::Open => vec![bot_out.user.id],
        RoomKind::Direct => vec![],
    };
    for &outsider in &outsiders {
        db.add_member(ann.id, room, outsider).expect("add");
    }
    let (id, is_bot) = match actor {
        Actor::Admin => (ann.id, false),
        Actor::Member => (bob.id, false),
        Actor::NonMember => (carol.id, false),
        Actor::BotIn => (bot_in.user.id, true),
        Actor::BotOut => (bot_out.user.id, true),
        Actor::Deactivated => (dan.id, false),
        Actor::RevokedSession => (rita.id, false),
    };
    let credential = match actor {
        Actor::BotIn => bot_in.key.clone(),
        Actor::BotOut => bot_out.key.clone(),
        _ => db.create_session(id).expect("session").token,
    };
    let can_write = kind != RoomKind::Direct || !matches!(actor, Actor::NonMember | Actor::BotOut);
    let own = can_write.then(|| {
        (
            post(&db, id, room, "mine to edit"),
            post(&db, id, room, "mine to delete"),
        )
    });
    let author = if actor == Actor::Member {
        ann.id
    } else {
        bob.id
    };
    let other = (
        post(&db, author, room, "theirs to edit"),
        post(&db, author, room, "theirs to delete"),
    );
    post(&db, author, room, "findable needle");
    for outsider in outsiders {
        db.remove_member(ann.id, room, outsider).expect("remove");
    }
    match actor {
        Actor::Deactivated => db.deactivate_user(dan.id).expect("deactivate"),
        Actor::RevokedSession => db.revoke_session(&credential).expect("revoke"),
        _ => {}
    }
    World {
        db,
        admin: ann.id,
        room,
        actor: id,
        credential,
        is_bot,
        own,
        other,
        spare: sam.id,
        newcomer: newcomer.id,
    }
}

/// Runs `op` as the world's actor and says how it ended.
fn run(w: &World, op: Op, via: Via) -> Outcome {
    let db = &w.db;
    let who = match via {
        Via::UserId => Ok(w.actor),
        Via::Credential if w.is_bot => db.authenticate_bot(&w.credential).map(|u| u.id),
        Via::Credential => db.authenticate(&w.credential).map(|u| u.id),
    };
    let result = who.and_then(|user| {
        let own = w.own.as_ref();
        match op {
            Op::History => db.messages_before(user, w.room, None, 10).map(drop),
            Op::Changes => db.changes_since(user, w.room, 0, 10).map(drop),
            Op::Subscribe => db.subscribe(user, w.room, Some(0)).map(drop),
            Op::Post => db
                .post(NewPost {
                    user,
                    room: w.room,
                    client_message_id: ClientMessageId::new_v7(),
                    content: "a new one".into(),
                })
                .map(drop),
            Op::EditOwn => db
                .edit_message(user, own.expect("own message").0.id, "edited")
                .map(drop),
            Op::DeleteOwn => db
                .delete_message(user, own.expect("own message").1.id)
                .map(drop),
            Op::EditOther => db.edit_message(user, w.other.0.id, "edited").map(drop),
            Op::DeleteOther => db.delete_message(user, w.other.1.id).map(drop),
            Op::Search => {
                common::eventually("the needle is indexed", || {
                    !common::search_ids(db, w.admin, "needle").is_empty()
                });
                db.search(user, "needle", 10).and_then(|found| {
                    if found.iter().any(|m| m.room_id == w.room) {
                        Ok(())
                    } else {
                        Err(Error::NotFound("hidden"))
                    }
                })
            }
            Op::Typing => db.typing(user, w.room, true),
            Op::MarkRead => db.mark_read(user, w.room, 1).map(drop),
            Op::AddMember => db.add_member(user, w.room, w.newcomer),
            Op::RemoveMember => db.remove_member(user, w.room, w.spare),
            Op::SetInvolvement => db.set_involvement(user, w.room, Involvement::Everything),
        }
    });
    match result {
        Ok(()) => Outcome::Allowed,
        Err(Error::NotFound("hidden")) => Outcome::Hidden,
        Err(Error::Forbidden(_)) => Outcome::Forbidden,
        Err(Error::Unauthenticated(_)) => Outcome::Unauthenticated,
        Err(Error::Validation { field, .. }) => Outcome::Invalid(field),
        Err(other) => panic!("{op:?}: unexpected error {other:?}"),
    }
}

#[test]
fn every_actor_room_kind_and_operation_gets_exactly_what_the_table_says() {
    let mut wrong = Vec::new();
    let mut cells = 0;
    for kind in KINDS {
        for actor in ACTORS {
            for via in [Via::UserId, Via::Credential] {
                // A fresh database per actor, room kind and way in. No operation changes the
                // actor's own standing: each edits or deletes its own message, adds or
                // removes someone else.
                let w = world(actor, kind);
                for op in OPS {
                    let Some(want) = expected(actor, kind, op, via) else {
                        continue;
                    };
                    let got = run(&w, op, via);
                    cells += 1;
                    if got != want {
                        wrong.push(format!(
                            "{actor:?} in {kind:?} room, {op:?} via {via:?}: expected {want:?}, got {got:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(cells > 500, "the table covers {cells} cells");
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
