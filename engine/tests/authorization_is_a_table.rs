//! Who may do what, as one table: every actor × room kind × operation is either allowed or
//! refused with the exact error, and the table below is the whole rule book. Each cell runs
//! twice: by user id (the engine's own checks) and the way a host calls, authenticating a
//! session token or a bot key first.

mod common;

use common::authz::{ACTORS, KINDS, OPS, Op, Outcome, Via, World, expected, world};
use ember_engine::{ClientMessageId, Engine, Error, Involvement, NewPost};

/// Runs `op` as the world's actor and says how it ended.
fn run(db: &Engine, w: &World, op: Op, via: Via) -> Outcome {
    let who = match (via, &w.bot_key) {
        (Via::UserId, _) => Ok(w.actor),
        (Via::Credential, Some(key)) => db.authenticate_bot(key).map(|u| u.id),
        (Via::Credential, None) => db.authenticate(&w.token).map(|u| u.id),
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

fn every_actor_room_kind_and_operation_gets_exactly_what_the_table_says() {
    // Dozens of fresh databases: on PostgreSQL each is a CREATE DATABASE and a migration
    // (about a second on a busy machine), more than the default minute in all.
    common::watchdog::arm_for(std::time::Duration::from_secs(240));
    let mut wrong = Vec::new();
    let mut cells = 0;
    for kind in KINDS {
        for actor in ACTORS {
            for via in [Via::UserId, Via::Credential] {
                // A fresh database per actor, room kind and way in. No operation changes the
                // actor's own standing: each edits or deletes its own message, adds or
                // removes someone else.
                let db = common::open();
                let w = world(&db, actor, kind);
                for op in OPS {
                    let Some(want) = expected(actor, kind, op, via) else {
                        continue;
                    };
                    let got = run(&db, &w, op, via);
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
common::both_stores!(every_actor_room_kind_and_operation_gets_exactly_what_the_table_says);
