//! A stale engine handle is `EMBER_ERR_MISUSE`, never a crash: used after
//! `ember_engine_close`, closed twice, or never handed out by libember. A database file that
//! an open engine of this process holds cannot be opened a second time
//! (`EMBER_ERR_ALREADY_OPEN`) until that engine is closed.

mod common;

use std::ffi::CString;
use std::ptr::null_mut;

use common::*;
use ember::*;
use ember_status::*;

fn open_at(path: &CString) -> Result<*mut ember_engine, ember_status> {
    let mut engine = null_mut();
    match unsafe { ember_engine_open(path.as_ptr(), &options(), &mut engine) } {
        EMBER_OK => Ok(engine),
        other => Err(other),
    }
}

#[test]
fn a_closed_engine_handle_is_misuse_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().join("t.db").to_str().unwrap()).unwrap();
    let engine = open_at(&path).expect("open");
    unsafe {
        ok(ember_engine_close(engine));
        refused(ember_engine_close(engine), EMBER_ERR_MISUSE);
        let mut users = null_mut();
        refused(ember_users(engine, &mut users), EMBER_ERR_MISUSE);
        assert!(users.is_null(), "outputs stay untouched");
        let mut sub = null_mut();
        refused(
            ember_subscribe_notifications(engine, &mut sub),
            EMBER_ERR_MISUSE,
        );
        let mut pipeline = null_mut();
        refused(
            ember_pipeline_new(engine, None, null_mut(), None, &mut pipeline),
            EMBER_ERR_MISUSE,
        );
        assert!(text(ember_last_error()).contains("not an open ember_engine"));
        assert_eq!(text(ember_status_name(22)), "EMBER_ERR_MISUSE");
    }
}

#[test]
fn a_pointer_libember_never_handed_out_is_misuse() {
    let mut fake = [0u64; 8];
    let engine = fake.as_mut_ptr().cast::<ember_engine>();
    unsafe {
        let mut users = null_mut();
        refused(ember_users(engine, &mut users), EMBER_ERR_MISUSE);
        refused(ember_engine_close(engine), EMBER_ERR_MISUSE);
    }
    assert_eq!(fake, [0; 8], "libember did not write through it");
}

#[test]
fn a_file_open_in_this_process_is_refused_until_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().join("t.db").to_str().unwrap()).unwrap();
    let same = CString::new(dir.path().join(".").join("t.db").to_str().unwrap()).unwrap();
    let first = open_at(&path).expect("open");
    assert_eq!(open_at(&path).err(), Some(EMBER_ERR_ALREADY_OPEN));
    assert!(text(ember_last_error()).contains("already open"));
    assert_eq!(open_at(&same).err(), Some(EMBER_ERR_ALREADY_OPEN));
    assert_eq!(text(ember_status_name(21)), "EMBER_ERR_ALREADY_OPEN");
    unsafe { ok(ember_engine_close(first)) };
    let again = open_at(&same).expect("free again once closed");
    unsafe { ok(ember_engine_close(again)) };
}
