//! The engine reports lag and revocation as receive results; C still sees them as before:
//! one last `EMBER_EVENT_LAGGED` / `EMBER_EVENT_REVOKED` event, then `EMBER_ERR_ENDED`.

mod common;

use std::ptr::null_mut;

use common::*;
use ember::*;
use ember_event_kind::*;
use ember_status::*;

/// The next item within 5 s: the event's kind and `resume_from`/`room_id`, or the status.
fn next(sub: *mut ember_subscription) -> Result<(ember_event_kind, u64, ember_uuid), ember_status> {
    let mut e = null_mut();
    match unsafe { ember_subscription_next(sub, 5000, &mut e) } {
        EMBER_OK => unsafe {
            let got = ((*e).kind, (*e).resume_from, (*e).room_id);
            ember_event_free(e);
            Ok(got)
        },
        other => Err(other),
    }
}

#[test]
fn a_removed_member_gets_revoked_then_ended() {
    let f = open();
    let bob = create_user(&f, "bob");
    unsafe {
        let mut room = null_mut();
        ok(ember_create_room(
            f.engine,
            f.admin,
            1,
            c"Team".as_ptr(),
            &bob,
            1,
            &mut room,
        ));
        let room_id = (*room).id;
        ember_room_free(room);
        let mut sub = null_mut();
        ok(ember_subscribe_room(f.engine, bob, room_id, &mut sub));
        ok(ember_remove_member(f.engine, f.admin, room_id, bob));
        let (kind, _, revoked_room) = next(sub).expect("the revocation event");
        assert_eq!(kind, EMBER_EVENT_REVOKED);
        assert_eq!(revoked_room, room_id);
        assert_eq!(next(sub).err(), Some(EMBER_ERR_ENDED));
        assert_eq!(next(sub).err(), Some(EMBER_ERR_ENDED), "and it stays ended");
        ember_subscription_free(sub);
    }
}

#[test]
fn a_stalled_subscriber_gets_lagged_then_ended() {
    let mut o = options();
    o.subscription_capacity = 2;
    let f = open_with(o);
    unsafe {
        let mut sub = null_mut();
        ok(ember_subscribe_room(f.engine, f.admin, f.room, &mut sub));
        // A second subscriber that takes each event before the next post: once it has an
        // event, the dispatcher has offered the one before it to `sub` too, so `sub` has
        // lagged on the third before it is read (events reach subscribers after COMMIT, on
        // the dispatcher's thread, not by the time the post returns).
        let mut reader = null_mut();
        ok(ember_subscribe_room(f.engine, f.admin, f.room, &mut reader));
        let seqs: Vec<u64> = (0..4)
            .map(|i| {
                let posted = post(&f, f.admin, f.room, &format!("m{i}")).1;
                assert_eq!(next(reader).map(|e| e.0), Ok(EMBER_EVENT_MESSAGE_CREATED));
                posted
            })
            .collect();
        ember_subscription_free(reader);
        for _ in 0..2 {
            assert_eq!(next(sub).map(|e| e.0), Ok(EMBER_EVENT_MESSAGE_CREATED));
        }
        let (kind, resume_from, _) = next(sub).expect("the lag event");
        assert_eq!(kind, EMBER_EVENT_LAGGED);
        assert_eq!(resume_from, seqs[1], "the last message delivered");
        assert_eq!(next(sub).err(), Some(EMBER_ERR_ENDED));
        ember_subscription_free(sub);
    }
}
