//! Pipelined writes: submit without waiting, collect each completion after its COMMIT.

use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::ptr::null_mut;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ::ember_engine::{NewPost, Pipeline, Request, Response};
use crossbeam_channel::{RecvTimeoutError, TryRecvError};

use crate::boundary::{
    Failure, Outcome, arg_mut, arg_out, arg_ref, arg_str, c_string_opt, free_box, free_c_string,
    guard, guard_value,
};
use crate::engine::ember_engine;
use crate::handles::arg_engine;
use crate::ids::ember_uuid;
use crate::live::ember_destroy_fn;
use crate::messages::{boxed_message, ember_message};
use crate::status::ember_status;

/// A submission queue of its own with its own completions, for an event loop that must
/// never wait on a commit. Opaque. Made by `ember_pipeline_new`, freed by
/// `ember_pipeline_free`, also after its engine closed.
///
/// Thread safety: use a pipeline from one thread at a time (different pipelines may be
/// used from different threads at once, alongside every other call on the engine).
pub struct ember_pipeline {
    pipeline: Pipeline,
    /// What each outstanding ticket was for.
    pending: HashMap<u64, ember_request_kind>,
    closed: Arc<AtomicBool>,
}

/// What a pipelined request was.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_request_kind {
    /// `ember_pipeline_post`.
    EMBER_REQUEST_POST = 0,
    /// `ember_pipeline_edit`.
    EMBER_REQUEST_EDIT = 1,
    /// `ember_pipeline_delete`.
    EMBER_REQUEST_DELETE = 2,
    /// `ember_pipeline_mark_read`.
    EMBER_REQUEST_MARK_READ = 3,
}

/// The committed result of one pipelined request. Owned by the caller: free with
/// `ember_completion_free`. Fields a request kind does not use are zero / NULL.
#[repr(C)]
#[derive(Debug)]
pub struct ember_completion {
    /// The ticket its submit function returned.
    pub ticket: u64,
    /// What was submitted.
    pub kind: ember_request_kind,
    /// `EMBER_OK`, or why the write failed (the statuses of the matching blocking call,
    /// e.g. `EMBER_ERR_FORBIDDEN`, `EMBER_ERR_NOT_FOUND`, `EMBER_ERR_CLOSED`).
    pub status: ember_status,
    /// When `status` is not `EMBER_OK`: a message (UTF-8); otherwise NULL. Belongs to the
    /// completion.
    pub error: *mut c_char,
    /// After `EMBER_ERR_RATE_LIMITED`: milliseconds to wait; otherwise 0.
    pub retry_after_ms: u64,
    /// On success, for `POST`, `EDIT` and `DELETE`: the message as committed (the
    /// original for a duplicate post, the tombstone for a delete). Belongs to the
    /// completion.
    pub message: *mut ember_message,
    /// `POST`: true when `(room, client_message_id)` had been posted before and nothing
    /// was written.
    pub duplicate: bool,
    /// `MARK_READ`: the room's unread count for the user afterwards.
    pub unread: u64,
}

impl Drop for ember_completion {
    fn drop(&mut self) {
        free_c_string(self.error);
        free_box(self.message);
    }
}

impl ember_completion {
    fn new(
        ticket: u64,
        kind: ember_request_kind,
        result: ::ember_engine::Result<Response>,
    ) -> Self {
        let mut c = ember_completion {
            ticket,
            kind,
            status: ember_status::EMBER_OK,
            error: null_mut(),
            retry_after_ms: 0,
            message: null_mut(),
            duplicate: false,
            unread: 0,
        };
        match result {
            Ok(Response::Posted(p)) => {
                c.duplicate = p.duplicate;
                c.message = boxed_message(p.message);
            }
            Ok(Response::Message(m)) => c.message = boxed_message(m),
            Ok(Response::Unread(n)) => c.unread = n,
            Err(e) => {
                let failure = Failure::from(e);
                c.status = failure.status;
                c.error = c_string_opt(Some(failure.message));
                c.retry_after_ms = failure.retry_after_ms;
            }
        }
        c
    }
}

/// Called after each completion is queued.
pub type ember_notify_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// The host's notify callback (optional); `destroy` runs when the last reference goes.
struct NotifyHook {
    notify: ember_notify_fn,
    user_data: *mut c_void,
    destroy: ember_destroy_fn,
}

// SAFETY: documented in `ember_pipeline_new`: `notify` may be called and `user_data` used
// from the engine's writer thread.
unsafe impl Send for NotifyHook {}
// SAFETY: as above; the writer calls `notify` from one thread.
unsafe impl Sync for NotifyHook {}

impl Drop for NotifyHook {
    fn drop(&mut self) {
        if let Some(destroy) = self.destroy {
            // SAFETY: the host's destructor for its own user_data, called once.
            unsafe { destroy(self.user_data) };
        }
    }
}

/// Makes a pipeline on `engine`. On success `*out` is owned by the caller
/// (`ember_pipeline_free`).
///
/// `notify` (may be NULL) is called with `user_data` on the engine's writer thread after
/// each completion is queued: keep it short (e.g. write to an eventfd or a pipe to wake a
/// poller) and call no libember function from it. `destroy` (may be NULL) is called once
/// with `user_data` when libember no longer needs it: after `ember_pipeline_free` and the
/// completion of every submission still in flight, on the thread that saw the last of
/// them; also without `notify`. On failure nothing is called and `user_data` stays the
/// caller's.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_pipeline_new(
    engine: *const ember_engine,
    notify: ember_notify_fn,
    user_data: *mut c_void,
    destroy: ember_destroy_fn,
    out: *mut *mut ember_pipeline,
) -> ember_status {
    guard(|| {
        let handle = arg_engine(engine)?;
        let out = arg_out(out, "out")?;
        let mut pipeline = handle.engine.pipeline();
        if notify.is_some() || destroy.is_some() {
            let hook = NotifyHook {
                notify,
                user_data,
                destroy,
            };
            pipeline = pipeline.with_notify(move || {
                let hook = &hook;
                if let Some(notify) = hook.notify {
                    // SAFETY: the host's callback with its own user_data (see above).
                    unsafe { notify(hook.user_data) }
                }
            });
        }
        out.write(Box::into_raw(Box::new(ember_pipeline {
            pipeline,
            pending: HashMap::new(),
            closed: handle.closed.clone(),
        })));
        Ok(())
    })
}

fn submit(
    pipeline: *mut ember_pipeline,
    out_ticket: *mut u64,
    kind: ember_request_kind,
    request: impl FnOnce() -> Result<Request, Failure>,
) -> Outcome {
    let p = arg_mut(pipeline, "pipeline")?;
    let request = request()?;
    let out_ticket = arg_out(out_ticket, "out_ticket")?;
    let ticket = p.pipeline.submit(request)?;
    p.pending.insert(ticket, kind);
    out_ticket.write(ticket);
    Ok(())
}

/// Submits a post (as `ember_post`: exactly once per `(room, client_message_id)`) without
/// waiting: plugins and validation run now, on this thread; the write is queued and
/// `*out_ticket` identifies its completion (`ember_pipeline_next`). Never blocks.
///
/// Use a pipeline from one thread at a time. Errors (nothing was queued):
/// `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT` (not UTF-8); `EMBER_ERR_VALIDATION`;
/// `EMBER_ERR_REJECTED` (a plugin); `EMBER_ERR_OVERLOADED` (the writer's queue is full:
/// collect completions, then try again); `EMBER_ERR_CLOSED`. Rate limits, membership and
/// ids are checked by the writer: those failures (`EMBER_ERR_RATE_LIMITED` with
/// `retry_after_ms`, `EMBER_ERR_FORBIDDEN`, `EMBER_ERR_NOT_FOUND`) arrive as completions.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_pipeline_post(
    pipeline: *mut ember_pipeline,
    user: ember_uuid,
    room: ember_uuid,
    client_message_id: ember_uuid,
    content: *const c_char,
    out_ticket: *mut u64,
) -> ember_status {
    guard(|| {
        submit(
            pipeline,
            out_ticket,
            ember_request_kind::EMBER_REQUEST_POST,
            || {
                Ok(Request::Post(NewPost {
                    user: user.into(),
                    room: room.into(),
                    client_message_id: client_message_id.into(),
                    content: arg_str(content, "content")?.to_owned(),
                }))
            },
        )
    })
}

/// Submits an edit (as `ember_edit_message`) without waiting; `*out_ticket` identifies its
/// completion. Never blocks.
///
/// Use a pipeline from one thread at a time. Errors: as `ember_pipeline_post`, without
/// `EMBER_ERR_REJECTED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_pipeline_edit(
    pipeline: *mut ember_pipeline,
    user: ember_uuid,
    message: ember_uuid,
    content: *const c_char,
    out_ticket: *mut u64,
) -> ember_status {
    guard(|| {
        submit(
            pipeline,
            out_ticket,
            ember_request_kind::EMBER_REQUEST_EDIT,
            || {
                Ok(Request::Edit {
                    user: user.into(),
                    message: message.into(),
                    content: arg_str(content, "content")?.to_owned(),
                })
            },
        )
    })
}

/// Submits a delete (as `ember_delete_message`) without waiting; `*out_ticket` identifies
/// its completion. Never blocks.
///
/// Use a pipeline from one thread at a time. Errors: `EMBER_ERR_NULL`;
/// `EMBER_ERR_OVERLOADED`; `EMBER_ERR_CLOSED`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_pipeline_delete(
    pipeline: *mut ember_pipeline,
    user: ember_uuid,
    message: ember_uuid,
    out_ticket: *mut u64,
) -> ember_status {
    guard(|| {
        submit(
            pipeline,
            out_ticket,
            ember_request_kind::EMBER_REQUEST_DELETE,
            || {
                Ok(Request::Delete {
                    user: user.into(),
                    message: message.into(),
                })
            },
        )
    })
}

/// Submits a read-position move (as `ember_mark_read`) without waiting; `*out_ticket`
/// identifies its completion, which carries the unread count. Never blocks.
///
/// Use a pipeline from one thread at a time. Errors: as `ember_pipeline_delete`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_pipeline_mark_read(
    pipeline: *mut ember_pipeline,
    user: ember_uuid,
    room: ember_uuid,
    seq: u64,
    out_ticket: *mut u64,
) -> ember_status {
    guard(|| {
        submit(
            pipeline,
            out_ticket,
            ember_request_kind::EMBER_REQUEST_MARK_READ,
            || {
                Ok(Request::MarkRead {
                    user: user.into(),
                    room: room.into(),
                    seq,
                })
            },
        )
    })
}

/// How many submissions have not been collected by `ember_pipeline_next` yet.
///
/// Use a pipeline from one thread at a time. Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_pipeline_pending(
    pipeline: *const ember_pipeline,
    out: *mut usize,
) -> ember_status {
    guard(|| {
        let p = arg_ref(pipeline, "pipeline")?;
        arg_out(out, "out")?.write(p.pending.len());
        Ok(())
    })
}

/// Waits for the next completion, in commit order: `timeout_ms` < 0 waits until one comes,
/// 0 only polls, > 0 waits at most that long. On `EMBER_OK`, `*out` is the completion,
/// owned by the caller (`ember_completion_free`); a failed write is still `EMBER_OK` here,
/// with the failure in the completion's `status`. Every accepted submission completes
/// exactly once, also when the engine closes (closing commits what was queued).
///
/// Statuses: `EMBER_TIMEOUT` when nothing came in time, and at once when no submission is
/// pending (`*out` untouched); `EMBER_ERR_CLOSED` when nothing is pending and the engine
/// closed. Errors: `EMBER_ERR_NULL`.
///
/// Use a pipeline from one thread at a time.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_pipeline_next(
    pipeline: *mut ember_pipeline,
    timeout_ms: i32,
    out: *mut *mut ember_completion,
) -> ember_status {
    guard(|| {
        let p = arg_mut(pipeline, "pipeline")?;
        let out = arg_out(out, "out")?;
        if p.pending.is_empty() {
            return Err(match p.closed.load(Ordering::Acquire) {
                true => Failure::new(ember_status::EMBER_ERR_CLOSED, "the engine is closed"),
                false => Failure::new(ember_status::EMBER_TIMEOUT, "no submission is pending"),
            });
        }
        let done = p.pipeline.completions();
        let received = match timeout_ms {
            t if t < 0 => done.recv().map_err(|_| RecvTimeoutError::Disconnected),
            0 => done.try_recv().map_err(|e| match e {
                TryRecvError::Empty => RecvTimeoutError::Timeout,
                TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            }),
            t => done.recv_timeout(Duration::from_millis(t as u64)),
        };
        match received {
            Ok(c) => {
                let kind = p
                    .pending
                    .remove(&c.ticket)
                    .unwrap_or(ember_request_kind::EMBER_REQUEST_POST);
                out.write(Box::into_raw(Box::new(ember_completion::new(
                    c.ticket, kind, c.result,
                ))));
                Ok(())
            }
            Err(RecvTimeoutError::Timeout) => Err(Failure::new(
                ember_status::EMBER_TIMEOUT,
                format!("no completion within {timeout_ms} ms"),
            )),
            Err(RecvTimeoutError::Disconnected) => Err(Failure::new(
                ember_status::EMBER_ERR_CLOSED,
                "the engine is closed",
            )),
        }
    })
}

/// Frees a completion with its message and error text. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_completion_free(completion: *mut ember_completion) {
    guard_value((), || free_box(completion))
}

/// Frees a pipeline. Submissions still in flight are committed all the same; their
/// completions are dropped. Safe after the engine closed. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_pipeline_free(pipeline: *mut ember_pipeline) {
    guard_value((), || free_box(pipeline))
}
