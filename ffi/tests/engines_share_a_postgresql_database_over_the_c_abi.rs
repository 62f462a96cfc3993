//! `ember_engine_open` takes a `postgres://` URL: two engines open the same database, a
//! post retried through the second is the first's message (exactly once across engines),
//! and a server that cannot be reached is `EMBER_ERR_OPEN`. Skipped with a printed line
//! when no PostgreSQL is found, unless `EMBER_REQUIRE_PG=1`.

use std::ffi::CString;
use std::ptr::null_mut;

use ember::*;
use ember_status::*;

mod common;
#[path = "../../engine/tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;
use common::*;

#[test]
fn engines_share_a_postgresql_database_over_the_c_abi() {
    if !pg::available() {
        return;
    }
    let db = pg::Database::create_shared();
    let one = open_on(tempfile::tempdir().unwrap(), &db.url, options());
    let url = CString::new(db.url.clone()).unwrap();
    let mut two = null_mut();
    ok(unsafe { ember_engine_open(url.as_ptr(), &options(), &mut two) });

    let mut cid = ember_uuid::default();
    let (mut first, mut again) = (null_mut(), null_mut());
    let (mut dup1, mut dup2) = (true, false);
    unsafe {
        ok(ember_uuid_new(&mut cid));
        ok(ember_post(
            one.engine,
            one.admin,
            one.room,
            cid,
            c"once".as_ptr(),
            &mut first,
            &mut dup1,
        ));
        ok(ember_post(
            two,
            one.admin,
            one.room,
            cid,
            c"once".as_ptr(),
            &mut again,
            &mut dup2,
        ));
        assert!(!dup1, "the first post is new");
        assert!(dup2, "the retry through the other engine is the original");
        assert_eq!((*again).id, (*first).id);
        assert_eq!(((*first).seq, (*again).seq), (1, 1));
        ember_message_free(first);
        ember_message_free(again);
        ember_engine_close(two);
    }

    let unreachable = CString::new("postgres://ember@127.0.0.1:1/ember").unwrap();
    let mut none = null_mut();
    let status = unsafe { ember_engine_open(unreachable.as_ptr(), &options(), &mut none) };
    assert_eq!(status, EMBER_ERR_OPEN);
    assert!(none.is_null(), "no handle on failure");
}
