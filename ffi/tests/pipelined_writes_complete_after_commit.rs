//! Pipelined writes over the C ABI: submitting never blocks (a full queue is
//! `EMBER_ERR_OVERLOADED` at once), every accepted submission completes exactly once with
//! its ticket, kind and result, failures arrive as completions, the notify callback runs
//! per completion and its destructor once, and a pipeline outlives its engine.

use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};

use ember::*;
use ember_request_kind::*;
use ember_status::*;

mod common;
use common::*;

fn new_pipeline(f: &Fixture) -> *mut ember_pipeline {
    let mut p = null_mut();
    ok(unsafe { ember_pipeline_new(f.engine, None, null_mut(), None, &mut p) });
    p
}

/// The next completion, waiting at most 5 s.
fn next(p: *mut ember_pipeline) -> *mut ember_completion {
    let mut c = null_mut();
    ok(unsafe { ember_pipeline_next(p, 5000, &mut c) });
    c
}

#[test]
fn each_submission_completes_once_with_its_ticket_kind_and_result() {
    let f = open();
    let (ann, lobby) = (f.admin, f.room);
    let (existing, _) = post(&f, ann, lobby, "already there");
    let p = new_pipeline(&f);
    unsafe {
        let mut tickets = [0u64; 5];
        ok(ember_pipeline_post(
            p,
            ann,
            lobby,
            random_id(),
            c"pipelined".as_ptr(),
            &mut tickets[0],
        ));
        ok(ember_pipeline_edit(
            p,
            ann,
            existing,
            c"edited".as_ptr(),
            &mut tickets[1],
        ));
        ok(ember_pipeline_mark_read(p, ann, lobby, 1, &mut tickets[2]));
        ok(ember_pipeline_delete(p, ann, existing, &mut tickets[3]));
        ok(ember_pipeline_edit(
            p,
            ann,
            random_id(),
            c"x".as_ptr(),
            &mut tickets[4],
        ));
        let mut pending = 0;
        ok(ember_pipeline_pending(p, &mut pending));
        assert_eq!(pending, 5);
        let mut sorted = tickets;
        sorted.sort_unstable();
        sorted
            .windows(2)
            .for_each(|w| assert!(w[0] < w[1], "{tickets:?}"));

        let mut seen = Vec::new();
        for _ in 0..5 {
            let c = next(p);
            seen.push((*c).ticket);
            let i = tickets.iter().position(|t| *t == (*c).ticket).unwrap();
            match i {
                0 => {
                    assert_eq!(((*c).kind, (*c).status), (EMBER_REQUEST_POST, EMBER_OK));
                    assert_eq!(text((*(*c).message).content), "pipelined");
                    assert!(!(*c).duplicate && (*c).error.is_null());
                }
                1 => {
                    assert_eq!(((*c).kind, (*c).status), (EMBER_REQUEST_EDIT, EMBER_OK));
                    assert!((*(*c).message).edited);
                }
                2 => {
                    assert_eq!((*c).kind, EMBER_REQUEST_MARK_READ);
                    assert!((*c).message.is_null() && (*c).status == EMBER_OK);
                }
                3 => {
                    assert_eq!(((*c).kind, (*c).status), (EMBER_REQUEST_DELETE, EMBER_OK));
                    assert!((*(*c).message).deleted);
                }
                _ => {
                    assert_eq!(
                        ((*c).kind, (*c).status),
                        (EMBER_REQUEST_EDIT, EMBER_ERR_NOT_FOUND)
                    );
                    assert!((*c).message.is_null() && !text((*c).error).is_empty());
                }
            }
            ember_completion_free(c);
        }
        seen.sort_unstable();
        assert_eq!(seen, sorted);
        let mut c = null_mut();
        // Nothing pending: EMBER_TIMEOUT at once, which is not a failure (no message).
        assert_eq!(ember_pipeline_next(p, -1, &mut c), EMBER_TIMEOUT);
        assert_eq!(text(ember_last_error()), "");
        assert!(c.is_null());
        ember_pipeline_free(p);
    }
}

#[test]
fn a_full_queue_is_overloaded_at_once_and_nothing_accepted_is_lost() {
    let mut o = options();
    o.queue_capacity = 1;
    let f = open_with(o);
    let p = new_pipeline(&f);
    let mut accepted = 0usize;
    let mut overloaded = false;
    unsafe {
        for _ in 0..20_000 {
            let mut ticket = u64::MAX;
            match ember_pipeline_mark_read(p, f.admin, f.room, 0, &mut ticket) {
                EMBER_OK => accepted += 1,
                status => {
                    refused(status, EMBER_ERR_OVERLOADED);
                    assert_eq!(ticket, u64::MAX, "a ticket was written on failure");
                    overloaded = true;
                    break;
                }
            }
        }
        assert!(overloaded, "20000 submissions never filled a queue of 1");
        for _ in 0..accepted {
            let c = next(p);
            assert_eq!((*c).status, EMBER_OK);
            ember_completion_free(c);
        }
        let mut pending = 1;
        ok(ember_pipeline_pending(p, &mut pending));
        assert_eq!(pending, 0);
        ember_pipeline_free(p);
    }
}

unsafe extern "C" fn destroyed(user_data: *mut c_void) {
    let n = unsafe { &*(user_data as *const AtomicUsize) };
    n.fetch_add(1000, Ordering::SeqCst);
}

#[test]
fn notify_runs_per_completion_and_destroy_once_after_free() {
    let f = open();
    let calls = AtomicUsize::new(0);
    let data = &calls as *const AtomicUsize as *mut c_void;
    let mut p = null_mut();
    unsafe {
        ok(ember_pipeline_new(
            f.engine,
            Some(notified),
            data,
            Some(destroyed),
            &mut p,
        ));
        let mut ticket = 0;
        for _ in 0..3 {
            ok(ember_pipeline_mark_read(p, f.admin, f.room, 0, &mut ticket));
        }
        for _ in 0..3 {
            ember_completion_free(next(p));
        }
        // notify runs just after its completion is queued; destroy when the writer drops
        // the last submission: both may trail what this thread sees by a moment.
        settles_at(&calls, 3);
        ember_pipeline_free(p);
        settles_at(&calls, 1003);
    }
}

#[track_caller]
fn settles_at(n: &AtomicUsize, want: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while n.load(Ordering::SeqCst) != want && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(n.load(Ordering::SeqCst), want);
}

unsafe extern "C" fn notified(user_data: *mut c_void) {
    let n = unsafe { &*(user_data as *const AtomicUsize) };
    n.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_pipeline_outlives_its_engine_and_reports_closed() {
    let mut f = open();
    let p = new_pipeline(&f);
    unsafe {
        let mut ticket = 0;
        ok(ember_pipeline_post(
            p,
            f.admin,
            f.room,
            random_id(),
            c"just before close".as_ptr(),
            &mut ticket,
        ));
        ok(ember_engine_close(f.engine));
        f.engine = null_mut();
        let c = next(p);
        assert_eq!(((*c).ticket, (*c).status), (ticket, EMBER_OK));
        ember_completion_free(c);
        refused(
            ember_pipeline_mark_read(p, f.admin, f.room, 0, &mut ticket),
            EMBER_ERR_CLOSED,
        );
        let mut c = null_mut();
        refused(ember_pipeline_next(p, -1, &mut c), EMBER_ERR_CLOSED);
        assert!(c.is_null());
        ember_pipeline_free(p);
    }
}
