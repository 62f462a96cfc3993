//! `ember_engine_close` with a pipeline still alive (docs/c-api.md allows freeing it after
//! close) does the whole close: a reader blocked in `ember_subscription_next(sub, -1, …)`
//! wakes with `EMBER_ERR_CLOSED`, a callback subscription gets `EMBER_EVENT_ENDED`, and the
//! plugin's `destroy` runs before close returns.

mod common;

use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use ember::*;
use ember_status::*;

static DESTROYED: AtomicUsize = AtomicUsize::new(0);
static ENDED: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn plugin_destroy(_user_data: *mut c_void) {
    DESTROYED.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn on_event(_user_data: *mut c_void, event: *const ember_event) {
    if unsafe { (*event).kind } == ember_event_kind::EMBER_EVENT_ENDED {
        ENDED.fetch_add(1, Ordering::SeqCst);
    }
}

/// A subscription handle moved to the blocked reader's thread.
struct SendSub(*mut ember_subscription);
// SAFETY: a subscription may be used from any one thread at a time; only the reader uses it.
unsafe impl Send for SendSub {}

#[test]
fn close_with_a_live_pipeline_ends_subscriptions_and_destroys_plugins() {
    let mut f = open();
    unsafe {
        let mut p = plugin();
        p.destroy = Some(plugin_destroy);
        ok(ember_engine_register_plugin(f.engine, &p));
        let mut pipeline = null_mut();
        ok(ember_pipeline_new(
            f.engine,
            None,
            null_mut(),
            None,
            &mut pipeline,
        ));
        let mut pulled = null_mut();
        ok(ember_subscribe_room(f.engine, f.admin, f.room, &mut pulled));
        let mut called = null_mut();
        ok(ember_subscribe_user(f.engine, f.admin, &mut called));
        ok(ember_subscription_set_callback(
            called,
            Some(on_event),
            null_mut(),
            None,
        ));

        let (tx, rx) = mpsc::channel();
        let blocked = SendSub(pulled);
        std::thread::spawn(move || {
            let blocked = blocked;
            let mut event = null_mut();
            let status = ember_subscription_next(blocked.0, -1, &mut event);
            let _ = tx.send((status, blocked));
        });
        std::thread::sleep(Duration::from_millis(50));

        ok(ember_engine_close(f.engine));
        f.engine = null_mut();

        assert_eq!(DESTROYED.load(Ordering::SeqCst), 1, "plugin destroy ran");
        let (status, pulled) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the blocked reader wakes");
        assert_eq!(status, EMBER_ERR_CLOSED);
        for _ in 0..500 {
            if ENDED.load(Ordering::SeqCst) > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(ENDED.load(Ordering::SeqCst), 1, "the callback got ENDED");
        let mut completion = null_mut();
        assert_eq!(
            ember_pipeline_next(pipeline, 0, &mut completion),
            EMBER_ERR_CLOSED
        );
        ember_subscription_free(pulled.0);
        ember_subscription_free(called);
        ember_pipeline_free(pipeline);
        assert_eq!(DESTROYED.load(Ordering::SeqCst), 1, "destroy ran once");
    }
}
