//! Subscriptions (pull and callback), presence and typing.

use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ::ember_engine::{
    Events, NotificationStream, PresenceHandle, RecvTimeoutError, RoomId, Subscription,
    UserSubscription,
};
use crossbeam_channel::{Receiver, Sender};

use crate::boundary::{Failure, Outcome, arg_mut, arg_out, arg_ref, free_box, guard, guard_value};
use crate::engine::ember_engine;
use crate::events::{ember_event, ember_event_kind};
use crate::handles::arg_engine;
use crate::ids::{ember_uuid, ember_uuid_list};
use crate::status::ember_status;

/// A live subscription to a room, to a user's room list or to the notification stream.
/// Opaque. Free with
/// `ember_subscription_free`, also after its engine closed.
///
/// Thread safety: use a subscription from one thread at a time (different subscriptions
/// may be used from different threads at once).
pub struct ember_subscription {
    head_change_seq: u64,
    complete: bool,
    closed: Arc<AtomicBool>,
    /// A pull subscription handed out the `LAGGED`/`REVOKED` event before its end.
    end_announced: bool,
    mode: Mode,
}

enum Mode {
    Pull(Source),
    /// The thread stops and is joined when this is dropped.
    Callback {
        _thread: CallbackThread,
    },
}

/// Dropping a source unsubscribes.
enum Source {
    Room(Subscription),
    User(UserSubscription),
    Notify(NotificationStream),
}

impl Source {
    /// The next item as C sees it: `timeout_ms` < 0 waits for one, 0 only polls, > 0 waits
    /// at most that long.
    fn next(&self, timeout_ms: i32) -> Result<ember_event, RecvTimeoutError> {
        match self {
            Source::Room(s) => {
                take(s.events(), timeout_ms).map(|e| ember_event::from_event(e.event()))
            }
            Source::User(s) => take(s.events(), timeout_ms).map(ember_event::from_user_event),
            Source::Notify(s) => take(s.events(), timeout_ms).map(ember_event::from_notification),
        }
    }

    /// The event C receives before the end (lagged or revoked), if any.
    fn end_event(&self, end: RecvTimeoutError) -> Option<ember_event> {
        let room: Option<RoomId> = match self {
            Source::Room(s) => Some(s.room_id()),
            _ => None,
        };
        end.ended().and_then(|end| ember_event::from_end(end, room))
    }

    fn set_waker(&self, waker: impl Fn() + Send + Sync + 'static) {
        match self {
            Source::Room(s) => s.events().set_waker(waker),
            Source::User(s) => s.events().set_waker(waker),
            Source::Notify(s) => s.events().set_waker(waker),
        }
    }
}

fn take<T>(events: &Events<T>, timeout_ms: i32) -> Result<T, RecvTimeoutError> {
    match timeout_ms {
        t if t < 0 => events.recv().map_err(Into::into),
        0 => events
            .try_recv()
            .map_err(|e| e.ended().map_or(RecvTimeoutError::Timeout, Into::into)),
        t => events.recv_timeout(Duration::from_millis(t as u64)),
    }
}

struct CallbackThread {
    /// Dropped to tell the thread to stop.
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for CallbackThread {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            // Freed from inside its own callback: the thread stops after the callback returns.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

fn new_subscription(
    engine: &ember_engine,
    source: Source,
    head_change_seq: u64,
    complete: bool,
) -> *mut ember_subscription {
    Box::into_raw(Box::new(ember_subscription {
        head_change_seq,
        complete,
        closed: engine.closed.clone(),
        end_announced: false,
        mode: Mode::Pull(source),
    }))
}

/// Subscribes `user` to a room they belong to, starting live (no replay). Keep
/// `ember_subscription_head_change_seq` (or the `change_seq` of the last message event) as
/// the cursor for `ember_subscribe_room_since` after a reconnect. On success `*out` is owned
/// by the caller (`ember_subscription_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`;
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_subscribe_room(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    out: *mut *mut ember_subscription,
) -> ember_status {
    guard(|| subscribe_room(engine, user, room, None, out))
}

/// Subscribes `user` to a room, first replaying every change after `since` (the current
/// state of each changed message, in change order), then live events, with no gap and no
/// duplicate. A replay longer than `replay_cap` delivers one page and ends
/// (`ember_subscription_complete` is false): subscribe again from the last `change_seq`.
/// On success `*out` is owned by the caller (`ember_subscription_free`).
///
/// Thread-safe. Errors: as `ember_subscribe_room`, and `EMBER_ERR_VALIDATION` when `since`
/// is beyond the room's newest change (a cursor from another database: check the epoch).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_subscribe_room_since(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    since: u64,
    out: *mut *mut ember_subscription,
) -> ember_status {
    guard(|| subscribe_room(engine, user, room, Some(since), out))
}

fn subscribe_room(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    since: Option<u64>,
    out: *mut *mut ember_subscription,
) -> Outcome {
    let handle = arg_engine(engine)?;
    let out = arg_out(out, "out")?;
    let sub = handle.engine.subscribe(user.into(), room.into(), since)?;
    let (head, complete) = (sub.head_change_seq(), sub.complete());
    out.write(new_subscription(handle, Source::Room(sub), head, complete));
    Ok(())
}

/// Subscribes to `user`'s room list: rooms joined and left, unread counts, involvement.
/// On success `*out` is owned by the caller (`ember_subscription_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`
/// (deactivated); `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_subscribe_user(
    engine: *const ember_engine,
    user: ember_uuid,
    out: *mut *mut ember_subscription,
) -> ember_status {
    guard(|| {
        let handle = arg_engine(engine)?;
        let out = arg_out(out, "out")?;
        let sub = handle.engine.subscribe_user(user.into())?;
        out.write(new_subscription(handle, Source::User(sub), 0, true));
        Ok(())
    })
}

/// Subscribes to the notification stream: for each new message with someone to notify, one
/// `EMBER_EVENT_NOTIFY` event with the message and the `users` to notify (involvement
/// everything, or mentions and mentioned; never the author; not those present in the
/// room), for a host that sends push notifications. The stream is an `ember_subscription`:
/// read it with `ember_subscription_next` or `ember_subscription_set_callback`, end it with
/// `ember_subscription_free`. On success `*out` is owned by the caller.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_CLOSED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_subscribe_notifications(
    engine: *const ember_engine,
    out: *mut *mut ember_subscription,
) -> ember_status {
    guard(|| {
        let handle = arg_engine(engine)?;
        let out = arg_out(out, "out")?;
        let stream = handle.engine.subscribe_notifications()?;
        out.write(new_subscription(handle, Source::Notify(stream), 0, true));
        Ok(())
    })
}

/// The room's newest `change_seq` when the subscription started (0 for user subscriptions
/// and the notification stream): with no cursor, the cursor to keep; with one, the end of
/// the replay.
///
/// Use a subscription from one thread at a time. Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_subscription_head_change_seq(
    sub: *const ember_subscription,
    out: *mut u64,
) -> ember_status {
    guard(|| {
        let sub = arg_ref(sub, "sub")?;
        arg_out(out, "out")?.write(sub.head_change_seq);
        Ok(())
    })
}

/// False when the replay was capped: the subscription delivers one page and ends.
///
/// Use a subscription from one thread at a time. Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_subscription_complete(
    sub: *const ember_subscription,
    out: *mut bool,
) -> ember_status {
    guard(|| {
        let sub = arg_ref(sub, "sub")?;
        arg_out(out, "out")?.write(sub.complete);
        Ok(())
    })
}

/// Waits for the next event: `timeout_ms` < 0 waits until one comes or the stream ends,
/// 0 only polls, > 0 waits at most that long. On `EMBER_OK`, `*out` is the event, owned
/// by the caller (`ember_event_free`); events come in order, replay first.
///
/// Statuses: `EMBER_TIMEOUT` when nothing came in time (`*out` untouched; call again),
/// `EMBER_ERR_CLOSED` once the engine closed and everything before was delivered, and
/// `EMBER_ERR_ENDED` when the stream ended otherwise (after `EMBER_EVENT_LAGGED`,
/// `EMBER_EVENT_REVOKED`, or a capped replay page). Errors: `EMBER_ERR_NULL`;
/// `EMBER_ERR_INVALID_ARGUMENT` for a subscription in callback mode.
///
/// Use a subscription from one thread at a time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_subscription_next(
    sub: *mut ember_subscription,
    timeout_ms: i32,
    out: *mut *mut ember_event,
) -> ember_status {
    guard(|| {
        let sub = arg_mut(sub, "sub")?;
        let out = arg_out(out, "out")?;
        let Mode::Pull(source) = &sub.mode else {
            return Err(Failure::invalid(
                "the subscription delivers to a callback; ember_subscription_next cannot be used",
            ));
        };
        match source.next(timeout_ms) {
            Ok(event) => {
                out.write(Box::into_raw(Box::new(event)));
                Ok(())
            }
            Err(RecvTimeoutError::Timeout) => Err(Failure::new(
                ember_status::EMBER_TIMEOUT,
                format!("no event within {timeout_ms} ms"),
            )),
            Err(end) => {
                // The ABI announces lag and revocation as a last event, then the end.
                if !sub.end_announced {
                    sub.end_announced = true;
                    if let Some(event) = source.end_event(end) {
                        out.write(Box::into_raw(Box::new(event)));
                        return Ok(());
                    }
                }
                Err(ended(&sub.closed))
            }
        }
    })
}

fn ended(closed: &AtomicBool) -> Failure {
    if closed.load(Ordering::Acquire) {
        Failure::new(ember_status::EMBER_ERR_CLOSED, "the engine is closed")
    } else {
        Failure::new(
            ember_status::EMBER_ERR_ENDED,
            "the subscription ended (lagged, revoked, or its replay page is done); \
             subscribe again with since",
        )
    }
}

/// Called with each event of a callback subscription. `event` is borrowed for the call.
pub type ember_event_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const ember_event)>;

/// Called once with `user_data` when libember no longer needs it.
pub type ember_destroy_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// `user_data` moves to the callback thread; the host vouches that this is allowed.
struct UserData(*mut c_void);
// SAFETY: documented in `ember_subscription_set_callback`: user_data must be usable from the
// subscription's thread.
unsafe impl Send for UserData {}

/// Switches a subscription to callback mode: libember starts one thread for this
/// subscription (named "ember-sub") that calls `callback(user_data, event)` for each event
/// in order. After the stream ends (lag, revocation, a capped replay, the engine closing)
/// it makes one last call with `EMBER_EVENT_ENDED`; freeing the subscription first
/// (`ember_subscription_free`) sends no `EMBER_EVENT_ENDED`: the calls just stop, then
/// `destroy` runs. The event passed is valid only during the call. Callbacks must not unwind (no C++
/// exceptions) and should return quickly: events queue behind a slow callback and the
/// subscription lags when `subscription_capacity` is exceeded.
///
/// `destroy` (may be NULL) is called once with `user_data`, on the subscription's thread,
/// after the last callback: when the stream ended or when the subscription is freed.
/// `ember_subscription_free` waits for that (except when called from inside the callback,
/// which is allowed). `user_data` must be usable from that thread.
///
/// Errors: `EMBER_ERR_NULL` (`sub`, `callback`); `EMBER_ERR_INVALID_ARGUMENT` when the
/// subscription already has a callback; `EMBER_ERR_STORAGE` when the thread cannot start.
/// On failure nothing is called and `user_data` stays the caller's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_subscription_set_callback(
    sub: *mut ember_subscription,
    callback: ember_event_fn,
    user_data: *mut c_void,
    destroy: ember_destroy_fn,
) -> ember_status {
    guard(|| {
        let sub = arg_mut(sub, "sub")?;
        let Some(callback) = callback else {
            return Err(Failure::new(
                ember_status::EMBER_ERR_NULL,
                "callback is NULL",
            ));
        };
        if !matches!(sub.mode, Mode::Pull(_)) {
            return Err(Failure::invalid("the subscription already has a callback"));
        }
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let (source_tx, source_rx) = crossbeam_channel::bounded::<Source>(1);
        let closed = sub.closed.clone();
        let data = UserData(user_data);
        let thread = std::thread::Builder::new()
            .name("ember-sub".into())
            .spawn(move || {
                let data = data;
                let Ok(source) = source_rx.recv() else { return };
                run_callbacks(&source, &stop_rx, &closed, callback, &data);
                drop(source);
                if let Some(destroy) = destroy {
                    // SAFETY: the host's destructor for its own user_data, called once.
                    unsafe { destroy(data.0) };
                }
            })
            .map_err(|e| {
                Failure::new(
                    ember_status::EMBER_ERR_STORAGE,
                    format!("cannot start the subscription thread: {e}"),
                )
            })?;
        let previous = std::mem::replace(
            &mut sub.mode,
            Mode::Callback {
                _thread: CallbackThread {
                    stop: Some(stop_tx),
                    thread: Some(thread),
                },
            },
        );
        if let Mode::Pull(source) = previous {
            let _ = source_tx.send(source);
        }
        Ok(())
    })
}

fn run_callbacks(
    source: &Source,
    stop: &Receiver<()>,
    closed: &AtomicBool,
    callback: unsafe extern "C" fn(*mut c_void, *const ember_event),
    data: &UserData,
) {
    let (wake_tx, wake_rx) = crossbeam_channel::bounded::<()>(1);
    // Called when an event lands in the empty queue and when the stream ends.
    source.set_waker(move || {
        let _ = wake_tx.try_send(());
    });
    loop {
        crossbeam_channel::select! {
            recv(wake_rx) -> _ => {}
            recv(stop) -> _ => return,
        }
        loop {
            let event = match source.next(0) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => break,
                Err(end) => {
                    if let Some(last) = source.end_event(end) {
                        // SAFETY: as below.
                        unsafe { callback(data.0, &last) };
                    }
                    ember_event::ended(closed.load(Ordering::Acquire))
                }
            };
            let last = event.kind == ember_event_kind::EMBER_EVENT_ENDED;
            // SAFETY: the host's callback with its own user_data; `event` outlives the call.
            unsafe { callback(data.0, &event) };
            if last {
                return;
            }
            // The stop channel is never sent on: it disconnects when the subscription is freed.
            if stopped(stop) {
                return;
            }
        }
    }
}

fn stopped(stop: &Receiver<()>) -> bool {
    matches!(
        stop.try_recv(),
        Err(crossbeam_channel::TryRecvError::Disconnected)
    )
}

/// Ends and frees a subscription (pull or callback mode). In callback mode, waits until the
/// callback thread has stopped and `destroy` ran, unless called from inside the callback.
/// Safe after the engine closed. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_subscription_free(sub: *mut ember_subscription) {
    guard_value((), || free_box(sub))
}

/// One connection's presence in a room: a plain value, nothing to free.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ember_presence {
    /// The room.
    pub room: ember_uuid,
    /// The user.
    pub user: ember_uuid,
    /// This connection.
    pub id: u64,
}

impl From<&ember_presence> for PresenceHandle {
    fn from(p: &ember_presence) -> Self {
        PresenceHandle {
            room: p.room.into(),
            user: p.user.into(),
            id: p.id,
        }
    }
}

/// Counts a connection of `user` to a room they belong to; the room hears
/// `EMBER_EVENT_PRESENCE` online at the user's first connection. Refresh it with
/// `ember_presence_heartbeat` within `presence_ttl_ms`, or it lapses. `*out` is a value.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`;
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_presence_connect(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    out: *mut ember_presence,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let h = engine.presence_connect(user.into(), room.into())?;
        out.write(ember_presence {
            room: h.room.into(),
            user: h.user.into(),
            id: h.id,
        });
        Ok(())
    })
}

/// Keeps a connection present.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND` when it already lapsed or
/// was disconnected (connect again).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_presence_heartbeat(
    engine: *const ember_engine,
    presence: *const ember_presence,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let presence = arg_ref(presence, "presence")?;
        engine.presence_heartbeat(&presence.into())?;
        Ok(())
    })
}

/// Ends a connection; the room hears offline when it was the user's last. Disconnecting
/// twice is harmless.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_presence_disconnect(
    engine: *const ember_engine,
    presence: *const ember_presence,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let presence = arg_ref(presence, "presence")?;
        engine.presence_disconnect(&presence.into());
        Ok(())
    })
}

/// The members with at least one live presence connection to a room `user` belongs to.
/// On success `*out` is owned by the caller (`ember_uuid_list_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`;
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_online_members(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    out: *mut *mut ember_uuid_list,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let online = engine.online_members(user.into(), room.into())?;
        out.write(ember_uuid_list::boxed(online.into_iter().map(Into::into)));
        Ok(())
    })
}

/// Says whether `user` is typing in a room. Typing stops by itself after 5 s without a
/// refresh; the room hears at most one typing event per second per user.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`;
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_typing(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    active: bool,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        engine.typing(user.into(), room.into(), active)?;
        Ok(())
    })
}
