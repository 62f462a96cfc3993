//! The rules of docs/c-api.md that hosts rely on: `ember_last_error()` stays valid until
//! the thread's next call that returns an `ember_status`; `EMBER_TIMEOUT` is not a failure
//! and sets no message; a pipeline's `destroy` runs once after `ember_pipeline_free` even
//! without a `notify` callback.

mod common;

use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use ember::*;
use ember_status::*;

#[test]
fn the_last_error_lasts_until_the_next_call_that_returns_a_status() {
    let f = open();
    unsafe {
        let mut user = null_mut();
        refused(
            ember_user_get(f.engine, random_id(), &mut user),
            EMBER_ERR_NOT_FOUND,
        );
        let message = ember_last_error();
        let before = text(message);
        assert!(!before.is_empty());
        // Calls that return no status leave it alone, the pointer included.
        let _ = ember_version();
        let _ = ember_status_name(EMBER_ERR_NULL as i32);
        let _ = ember_abi_version();
        assert_eq!(ember_last_status(), EMBER_ERR_NOT_FOUND);
        ember_string_free(null_mut());
        ember_user_free(null_mut());
        assert_eq!(ember_last_error(), message);
        assert_eq!(text(message), before);
        // A call that returns a status (here a success) replaces it.
        let mut epoch = ember_uuid::default();
        ok(ember_engine_epoch(f.engine, &mut epoch));
        assert_eq!(text(ember_last_error()), "");
        assert_eq!(ember_last_status(), EMBER_OK);
    }
}

#[test]
fn a_timeout_is_not_a_failure_and_sets_no_message() {
    let f = open();
    unsafe {
        let mut sub = null_mut();
        ok(ember_subscribe_room(f.engine, f.admin, f.room, &mut sub));
        let mut user = null_mut();
        refused(
            ember_user_get(f.engine, random_id(), &mut user),
            EMBER_ERR_NOT_FOUND,
        );
        let mut event = null_mut();
        assert_eq!(ember_subscription_next(sub, 0, &mut event), EMBER_TIMEOUT);
        assert_eq!(text(ember_last_error()), "");
        assert_eq!(ember_last_status(), EMBER_OK);
        assert_eq!(ember_subscription_next(sub, 5, &mut event), EMBER_TIMEOUT);
        assert_eq!(text(ember_last_error()), "");
        let mut pipeline = null_mut();
        ok(ember_pipeline_new(
            f.engine,
            None,
            null_mut(),
            None,
            &mut pipeline,
        ));
        let mut completion = null_mut();
        assert_eq!(
            ember_pipeline_next(pipeline, 0, &mut completion),
            EMBER_TIMEOUT
        );
        assert_eq!(text(ember_last_error()), "");
        assert_eq!(ember_last_status(), EMBER_OK);
        ember_pipeline_free(pipeline);
        ember_subscription_free(sub);
    }
}

unsafe extern "C" fn count_destroy(user_data: *mut c_void) {
    let n = unsafe { &*(user_data as *const AtomicUsize) };
    n.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_pipeline_destroy_runs_without_notify() {
    let f = open();
    let destroyed = AtomicUsize::new(0);
    unsafe {
        let mut pipeline = null_mut();
        ok(ember_pipeline_new(
            f.engine,
            None,
            &destroyed as *const AtomicUsize as *mut c_void,
            Some(count_destroy),
            &mut pipeline,
        ));
        let mut ticket = 0;
        ok(ember_pipeline_post(
            pipeline,
            f.admin,
            f.room,
            random_id(),
            c"in flight".as_ptr(),
            &mut ticket,
        ));
        let mut completion = null_mut();
        ok(ember_pipeline_next(pipeline, 10_000, &mut completion));
        assert_eq!((*completion).status, EMBER_OK);
        ember_completion_free(completion);
        assert_eq!(destroyed.load(Ordering::SeqCst), 0, "not before the free");
        ember_pipeline_free(pipeline);
    }
    assert_eq!(destroyed.load(Ordering::SeqCst), 1);
}
