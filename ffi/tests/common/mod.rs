//! Shared by the tests: an engine with a user and a room, assertions and small helpers.
#![allow(dead_code)]

#[path = "../../../engine/tests/common/watchdog.rs"]
pub mod watchdog;

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

use ember::*;
use ember_status::*;

pub const BAD_UTF8: *const c_char = c"\xff\xfe bad".as_ptr();

/// Asserts the status and that this thread's message is set.
#[track_caller]
pub fn refused(got: ember_status, want: ember_status) {
    assert_eq!(got, want);
    let message = unsafe { CStr::from_ptr(ember_last_error()) }.to_string_lossy();
    assert!(!message.is_empty(), "{want:?} without a message");
    assert_eq!(ember_last_status(), want);
}

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub engine: *mut ember_engine,
    pub admin: ember_uuid,
    pub room: ember_uuid,
}

pub fn options() -> ember_options {
    watchdog::arm();
    let mut o = std::mem::MaybeUninit::<ember_options>::uninit();
    assert_eq!(unsafe { ember_options_init(o.as_mut_ptr()) }, EMBER_OK);
    let mut o = unsafe { o.assume_init() };
    o.password_memory_kib = 8;
    o.password_iterations = 1;
    o
}

pub fn open() -> Fixture {
    open_with(options())
}

pub fn open_with(o: ember_options) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db").to_str().unwrap().to_owned();
    open_on(dir, &path, o)
}

/// An engine on `path` (a file in `dir`, or a `postgres://` URL) with an admin and a room.
pub fn open_on(dir: tempfile::TempDir, path: &str, o: ember_options) -> Fixture {
    let path = std::ffi::CString::new(path).unwrap();
    let mut engine = null_mut();
    let mut user = null_mut();
    let mut room = null_mut();
    unsafe {
        assert_eq!(ember_engine_open(path.as_ptr(), &o, &mut engine), EMBER_OK);
        assert_eq!(
            ember_create_user(
                engine,
                c"ann".as_ptr(),
                c"Ann".as_ptr(),
                c"password1".as_ptr(),
                0,
                &mut user
            ),
            EMBER_OK
        );
        assert_eq!(
            ember_create_room(
                engine,
                (*user).id,
                0,
                c"Lobby".as_ptr(),
                null(),
                0,
                &mut room
            ),
            EMBER_OK
        );
    }
    let f = Fixture {
        _dir: dir,
        engine,
        admin: unsafe { (*user).id },
        room: unsafe { (*room).id },
    };
    unsafe {
        ember_user_free(user);
        ember_room_free(room);
    }
    f
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if !self.engine.is_null() {
            unsafe { ember_engine_close(self.engine) };
        }
    }
}

pub fn random_id() -> ember_uuid {
    let mut id = ember_uuid::default();
    assert_eq!(unsafe { ember_uuid_new(&mut id) }, EMBER_OK);
    id
}

pub unsafe extern "C" fn count(user_data: *mut c_void, _event: *const ember_event) {
    let n = unsafe { &*(user_data as *const std::sync::atomic::AtomicUsize) };
    n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

pub fn plugin() -> ember_plugin {
    ember_plugin {
        abi_version: EMBER_PLUGIN_ABI_VERSION,
        struct_size: size_of::<ember_plugin>() as u32,
        name: c"probe".as_ptr(),
        user_data: null_mut(),
        destroy: None,
        on_post: None,
        on_event: None,
        commands: null(),
        commands_len: 0,
    }
}

#[track_caller]
pub fn ok(status: ember_status) {
    let message = unsafe { CStr::from_ptr(ember_last_error()) }.to_string_lossy();
    assert_eq!(status, EMBER_OK, "{message}");
}

pub fn text(p: *const c_char) -> String {
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// A C array as a slice; NULL (with length 0) is the empty slice.
pub fn items<'a, T>(p: *const T, len: usize) -> &'a [T] {
    if p.is_null() {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(p, len) }
    }
}

pub fn take_string(p: *mut c_char) -> String {
    let s = text(p);
    unsafe { ember_string_free(p) };
    s
}

pub fn create_user(f: &Fixture, login: &str) -> ember_uuid {
    let login = CString::new(login).unwrap();
    let mut u = null_mut();
    unsafe {
        ok(ember_create_user(
            f.engine,
            login.as_ptr(),
            login.as_ptr(),
            c"password1".as_ptr(),
            1,
            &mut u,
        ));
        let id = (*u).id;
        ember_user_free(u);
        id
    }
}

pub fn post(f: &Fixture, user: ember_uuid, room: ember_uuid, content: &str) -> (ember_uuid, u64) {
    let content = CString::new(content).unwrap();
    let mut cid = ember_uuid::default();
    let (mut m, mut dup) = (null_mut(), false);
    unsafe {
        ok(ember_uuid_new(&mut cid));
        ok(ember_post(
            f.engine,
            user,
            room,
            cid,
            content.as_ptr(),
            &mut m,
            &mut dup,
        ));
        let out = ((*m).id, (*m).seq);
        ember_message_free(m);
        out
    }
}

/// The next event of a kind, within a few seconds.
pub fn next_of_kind(sub: *mut ember_subscription, kind: ember_event_kind) -> *mut ember_event {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let mut e = null_mut();
        match unsafe { ember_subscription_next(sub, 100, &mut e) } {
            EMBER_OK if unsafe { (*e).kind } == kind => return e,
            EMBER_OK => unsafe { ember_event_free(e) },
            EMBER_TIMEOUT => {}
            other => panic!("subscription failed: {other:?}"),
        }
    }
    panic!("no {kind:?} event");
}
