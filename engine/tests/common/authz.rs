//! The authorization rule book, shared by the engine's table test and the same table over
//! the WebSocket: every actor × room kind × operation, and what each cell must give; and the
//! world each cell runs in.

use ember_engine::{
    ClientMessageId, Engine, Message, NewPost, NewUser, Role, RoomId, RoomKind, User, UserId,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
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

pub const ACTORS: [Actor; 7] = [
    Actor::Admin,
    Actor::Member,
    Actor::NonMember,
    Actor::BotIn,
    Actor::BotOut,
    Actor::Deactivated,
    Actor::RevokedSession,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
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

pub const OPS: [Op; 14] = [
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

pub const KINDS: [RoomKind; 3] = [RoomKind::Open, RoomKind::Closed, RoomKind::Direct];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// The user id is passed straight to the engine.
    UserId,
    /// A session token (a bot key for bots) is authenticated first.
    Credential,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
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
pub fn expected(actor: Actor, kind: RoomKind, op: Op, via: Via) -> Option<Outcome> {
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

/// One cell's data: the room, the actor and the messages the operations act on.
pub struct World {
    /// The admin, a member of the room.
    pub admin: UserId,
    pub room: RoomId,
    pub actor: UserId,
    /// The actor's session token (bots have one too, for the WebSocket).
    pub token: String,
    /// The bot's key, for bots.
    pub bot_key: Option<String>,
    /// Two messages by the actor in the room (one to edit, one to delete), if it could write.
    pub own: Option<(Message, Message)>,
    /// Two messages by someone else in the room.
    pub other: (Message, Message),
    /// A member who is not the actor: removed by `RemoveMember`.
    pub spare: UserId,
    /// A person in no room but the open ones: added by `AddMember`.
    pub newcomer: UserId,
}

fn person(db: &Engine, login: &str, role: Role) -> User {
    db.create_user(NewUser {
        login: login.into(),
        name: login.to_uppercase(),
        password: "correct horse battery".into(),
        role,
    })
    .unwrap_or_else(|e| panic!("create {login}: {e}"))
}

fn post(db: &Engine, user: UserId, room: RoomId, content: &str) -> Message {
    db.post(NewPost {
        user,
        room,
        client_message_id: ClientMessageId::new_v7(),
        content: content.into(),
    })
    .unwrap_or_else(|e| panic!("post {content:?}: {e}"))
    .message
}

/// Sets up the cell's world in a fresh database: the admin creates the room; members,
/// outsiders who once wrote in it, bots in and out; the deactivation or the revoked session.
pub fn world(db: &Engine, actor: Actor, kind: RoomKind) -> World {
    let ann = person(db, "ann", Role::Admin);
    let bob = person(db, "bob", Role::Member);
    let carol = person(db, "carol", Role::Member);
    let dan = person(db, "dan", Role::Member);
    let rita = person(db, "rita", Role::Member);
    let sam = person(db, "sam", Role::Member);
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
    let newcomer = person(db, "newcomer", Role::Member);
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
    let (id, bot_key) = match actor {
        Actor::Admin => (ann.id, None),
        Actor::Member => (bob.id, None),
        Actor::NonMember => (carol.id, None),
        Actor::BotIn => (bot_in.user.id, Some(bot_in.key.clone())),
        Actor::BotOut => (bot_out.user.id, Some(bot_out.key.clone())),
        Actor::Deactivated => (dan.id, None),
        Actor::RevokedSession => (rita.id, None),
    };
    let token = db.create_session(id).expect("session").token;
    let can_write = kind != RoomKind::Direct || !matches!(actor, Actor::NonMember | Actor::BotOut);
    let own = can_write.then(|| {
        (
            post(db, id, room, "mine to edit"),
            post(db, id, room, "mine to delete"),
        )
    });
    let author = if actor == Actor::Member {
        ann.id
    } else {
        bob.id
    };
    let other = (
        post(db, author, room, "theirs to edit"),
        post(db, author, room, "theirs to delete"),
    );
    post(db, author, room, "findable needle");
    for outsider in outsiders {
        db.remove_member(ann.id, room, outsider).expect("remove");
    }
    match actor {
        Actor::Deactivated => db.deactivate_user(dan.id).expect("deactivate"),
        Actor::RevokedSession => db.revoke_session(&token).expect("revoke"),
        _ => {}
    }
    World {
        admin: ann.id,
        room,
        actor: id,
        token,
        bot_key,
        own,
        other,
        spare: sam.id,
        newcomer: newcomer.id,
    }
}
