//! A callback subscription delivers every event in order on its own thread ("ember-sub"),
//! and its destructor runs exactly once, on that thread, before `ember_subscription_free`
//! returns.

use std::ffi::c_void;
use std::ptr::{null, null_mut};
use std::sync::Mutex;

use ember::*;
use ember_status::*;

#[derive(Default)]
struct Seen {
    contents: Vec<String>,
    threads: Vec<String>,
    destroyed_on: Vec<String>,
}

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

unsafe extern "C" fn on_event(user_data: *mut c_void, event: *const ember_event) {
    let seen = unsafe { &*(user_data as *const Mutex<Seen>) };
    let event = unsafe { &*event };
    let mut seen = seen.lock().unwrap();
    seen.threads.push(thread_name());
    if event.kind == ember_event_kind::EMBER_EVENT_MESSAGE_CREATED {
        let content = unsafe { std::ffi::CStr::from_ptr((*event.message).content) };
        seen.contents.push(content.to_string_lossy().into_owned());
    }
}

unsafe extern "C" fn on_destroy(user_data: *mut c_void) {
    let seen = unsafe { &*(user_data as *const Mutex<Seen>) };
    seen.lock().unwrap().destroyed_on.push(thread_name());
}

#[test]
fn callbacks_come_in_order_on_the_subscription_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = std::ffi::CString::new(dir.path().join("t.db").to_str().unwrap()).unwrap();
    let seen = Mutex::new(Seen::default());
    unsafe {
        let mut o = std::mem::zeroed::<ember_options>();
        assert_eq!(ember_options_init(&mut o), EMBER_OK);
        o.password_memory_kib = 8;
        o.password_iterations = 1;
        o.post_rate_per_second = 1000.0;
        o.post_burst = 1000;
        let mut engine = null_mut();
        assert_eq!(ember_engine_open(path.as_ptr(), &o, &mut engine), EMBER_OK);
        let mut ann = null_mut();
        let pw = c"password1".as_ptr();
        assert_eq!(
            ember_create_user(engine, c"ann".as_ptr(), c"Ann".as_ptr(), pw, 0, &mut ann),
            EMBER_OK
        );
        let mut room = null_mut();
        let name = c"Lobby".as_ptr();
        assert_eq!(
            ember_create_room(engine, (*ann).id, 0, name, null(), 0, &mut room),
            EMBER_OK
        );
        let (a, r) = ((*ann).id, (*room).id);
        ember_user_free(ann);
        ember_room_free(room);

        let mut sub = null_mut();
        assert_eq!(ember_subscribe_room(engine, a, r, &mut sub), EMBER_OK);
        let data = &seen as *const Mutex<Seen> as *mut c_void;
        assert_eq!(
            ember_subscription_set_callback(sub, Some(on_event), data, Some(on_destroy)),
            EMBER_OK
        );

        let want: Vec<String> = (0..20).map(|i| format!("message {i}")).collect();
        for text in &want {
            let mut cid = ember_uuid::default();
            assert_eq!(ember_uuid_new(&mut cid), EMBER_OK);
            let text = std::ffi::CString::new(text.as_str()).unwrap();
            let (mut m, mut dup) = (null_mut(), false);
            assert_eq!(
                ember_post(engine, a, r, cid, text.as_ptr(), &mut m, &mut dup),
                EMBER_OK
            );
            ember_message_free(m);
        }
        for _ in 0..500 {
            if seen.lock().unwrap().contents.len() == want.len() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        ember_subscription_free(sub);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.contents, want);
        assert!(
            seen.threads.iter().all(|t| t == "ember-sub"),
            "{:?}",
            seen.threads
        );
        assert_eq!(seen.destroyed_on, ["ember-sub"]);
        assert_eq!(ember_engine_close(engine), EMBER_OK);
    }
}
