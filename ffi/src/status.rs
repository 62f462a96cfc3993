//! Status codes and the per-thread error message.

use std::ffi::c_char;

use ::ember_engine::Error;

use crate::boundary::{guard_value, last_error_ptr, last_status};

/// What every fallible function returns. The numbers are fixed: new codes are only added.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_status {
    /// Success; output parameters were written.
    EMBER_OK = 0,
    /// A required pointer argument was NULL.
    EMBER_ERR_NULL = 1,
    /// An argument was malformed: invalid UTF-8, an unknown enum value, a bad UUID string,
    /// a handle used the wrong way.
    EMBER_ERR_INVALID_ARGUMENT = 2,
    /// A bug inside libember was caught at the boundary; the call had no defined effect.
    EMBER_ERR_PANIC = 3,
    /// A struct's `struct_size` or `abi_version` does not match this library.
    EMBER_ERR_ABI_MISMATCH = 4,
    /// `ember_subscription_next`, `ember_pipeline_next`: nothing arrived within the timeout.
    /// Not a failure: `ember_last_error()` stays "" and `ember_last_status()` `EMBER_OK`.
    EMBER_TIMEOUT = 5,
    /// `ember_subscription_next`: the subscription ended (it lagged, access was revoked, or a
    /// capped replay page is done); subscribe again with `since`.
    EMBER_ERR_ENDED = 6,
    /// The engine rejected an argument's value (content too long, bad name, ...).
    EMBER_ERR_VALIDATION = 10,
    /// Wrong login or password; unknown, expired or revoked token or bot key.
    EMBER_ERR_UNAUTHENTICATED = 11,
    /// The user may not do this (not a member, not the author, deactivated, ...).
    EMBER_ERR_FORBIDDEN = 12,
    /// No such user, room or message (or not visible to this user).
    EMBER_ERR_NOT_FOUND = 13,
    /// Too many attempts: `ember_last_retry_after_ms` says how long to wait.
    EMBER_ERR_RATE_LIMITED = 14,
    /// The writer's queue was full: a blocking write waited `overload_wait_ms` for room in
    /// vain; a pipelined submission gets this at once, since submissions never wait. Try
    /// again later (a pipeline: after collecting completions).
    EMBER_ERR_OVERLOADED = 15,
    /// The engine is closed.
    EMBER_ERR_CLOSED = 16,
    /// A plugin rejected the post (an `on_post` hook or a failed slash command).
    EMBER_ERR_REJECTED = 17,
    /// The database was written by a newer Ember.
    EMBER_ERR_SCHEMA_TOO_NEW = 18,
    /// The database could not be opened.
    EMBER_ERR_OPEN = 19,
    /// SQLite failed while reading or writing.
    EMBER_ERR_STORAGE = 20,
    /// `ember_engine_open`: an engine of this process already has this database file open
    /// (under this or another name). Share that handle; a second engine's subscriptions
    /// would miss what the first one commits. The file may be opened again once closed.
    EMBER_ERR_ALREADY_OPEN = 21,
    /// A handle was used that is not open: an engine after `ember_engine_close` (also a
    /// second close) or a pointer libember never handed out. Nothing happened. This is a
    /// bug in the host; it is detected, not undefined behaviour, but only until the
    /// address is reused by a newer handle.
    EMBER_ERR_MISUSE = 22,
    /// The database server (PostgreSQL) stayed unreachable for the engine's bounded wait.
    /// Nothing was written (a post retried later with the same `client_message_id` is
    /// still written exactly once); the engine reconnects by itself, so try again later.
    /// Never returned for a SQLite file.
    EMBER_ERR_UNAVAILABLE = 23,
    /// An engine error this version of the ABI has no code for; see the message.
    EMBER_ERR_OTHER = 99,
}

impl ember_status {
    /// The status for an engine error.
    pub(crate) fn of(e: &Error) -> ember_status {
        use ember_status::*;
        match e {
            Error::Validation { .. } => EMBER_ERR_VALIDATION,
            Error::Unauthenticated(_) => EMBER_ERR_UNAUTHENTICATED,
            Error::Forbidden(_) => EMBER_ERR_FORBIDDEN,
            Error::NotFound(_) => EMBER_ERR_NOT_FOUND,
            Error::RateLimited { .. } => EMBER_ERR_RATE_LIMITED,
            Error::Rejected { .. } => EMBER_ERR_REJECTED,
            Error::Overloaded => EMBER_ERR_OVERLOADED,
            Error::Closed => EMBER_ERR_CLOSED,
            Error::SchemaTooNew { .. } => EMBER_ERR_SCHEMA_TOO_NEW,
            Error::Open { .. } => EMBER_ERR_OPEN,
            Error::Storage(_) | Error::StorageFull(_) => EMBER_ERR_STORAGE,
            Error::AlreadyOpen { .. } => EMBER_ERR_ALREADY_OPEN,
            Error::Unavailable(_) => EMBER_ERR_UNAVAILABLE,
            _ => EMBER_ERR_OTHER,
        }
    }

    fn name(self) -> &'static std::ffi::CStr {
        use ember_status::*;
        match self {
            EMBER_OK => c"EMBER_OK",
            EMBER_ERR_NULL => c"EMBER_ERR_NULL",
            EMBER_ERR_INVALID_ARGUMENT => c"EMBER_ERR_INVALID_ARGUMENT",
            EMBER_ERR_PANIC => c"EMBER_ERR_PANIC",
            EMBER_ERR_ABI_MISMATCH => c"EMBER_ERR_ABI_MISMATCH",
            EMBER_TIMEOUT => c"EMBER_TIMEOUT",
            EMBER_ERR_ENDED => c"EMBER_ERR_ENDED",
            EMBER_ERR_VALIDATION => c"EMBER_ERR_VALIDATION",
            EMBER_ERR_UNAUTHENTICATED => c"EMBER_ERR_UNAUTHENTICATED",
            EMBER_ERR_FORBIDDEN => c"EMBER_ERR_FORBIDDEN",
            EMBER_ERR_NOT_FOUND => c"EMBER_ERR_NOT_FOUND",
            EMBER_ERR_RATE_LIMITED => c"EMBER_ERR_RATE_LIMITED",
            EMBER_ERR_OVERLOADED => c"EMBER_ERR_OVERLOADED",
            EMBER_ERR_CLOSED => c"EMBER_ERR_CLOSED",
            EMBER_ERR_REJECTED => c"EMBER_ERR_REJECTED",
            EMBER_ERR_SCHEMA_TOO_NEW => c"EMBER_ERR_SCHEMA_TOO_NEW",
            EMBER_ERR_OPEN => c"EMBER_ERR_OPEN",
            EMBER_ERR_STORAGE => c"EMBER_ERR_STORAGE",
            EMBER_ERR_ALREADY_OPEN => c"EMBER_ERR_ALREADY_OPEN",
            EMBER_ERR_MISUSE => c"EMBER_ERR_MISUSE",
            EMBER_ERR_UNAVAILABLE => c"EMBER_ERR_UNAVAILABLE",
            EMBER_ERR_OTHER => c"EMBER_ERR_OTHER",
        }
    }
}

/// The message of the last failed call on this thread, or "" when the last call succeeded
/// (or returned `EMBER_TIMEOUT`, which is not a failure).
///
/// Owned by libember: valid until this thread's next `ember_*` call that returns an
/// `ember_status` (calls that return anything else, such as `ember_last_error`,
/// `ember_status_name`, `ember_version` and the `_free` functions, leave it alone); copy it
/// to keep it. Never NULL. Each thread has its own message, so this is safe
/// to call from any thread. Cannot fail.
#[unsafe(no_mangle)]
pub extern "C" fn ember_last_error() -> *const c_char {
    guard_value(c"".as_ptr(), last_error_ptr)
}

/// The status of the last failed call on this thread (`EMBER_OK` after a success).
///
/// Thread-safe (per thread); cannot fail.
#[unsafe(no_mangle)]
pub extern "C" fn ember_last_status() -> ember_status {
    guard_value(ember_status::EMBER_ERR_PANIC, || last_status().0)
}

/// After `EMBER_ERR_RATE_LIMITED` on this thread: milliseconds to wait before trying again;
/// otherwise 0.
///
/// Thread-safe (per thread); cannot fail.
#[unsafe(no_mangle)]
pub extern "C" fn ember_last_retry_after_ms() -> u64 {
    guard_value(0, || last_status().1)
}

/// The name of a status, e.g. "EMBER_ERR_NULL": a static string, never freed, never NULL
/// ("EMBER_UNKNOWN_STATUS" for a number this library does not know).
///
/// Thread-safe; cannot fail.
#[unsafe(no_mangle)]
pub extern "C" fn ember_status_name(status: i32) -> *const c_char {
    use ember_status::*;
    const ALL: [ember_status; 22] = [
        EMBER_OK,
        EMBER_ERR_NULL,
        EMBER_ERR_INVALID_ARGUMENT,
        EMBER_ERR_PANIC,
        EMBER_ERR_ABI_MISMATCH,
        EMBER_TIMEOUT,
        EMBER_ERR_ENDED,
        EMBER_ERR_VALIDATION,
        EMBER_ERR_UNAUTHENTICATED,
        EMBER_ERR_FORBIDDEN,
        EMBER_ERR_NOT_FOUND,
        EMBER_ERR_RATE_LIMITED,
        EMBER_ERR_OVERLOADED,
        EMBER_ERR_CLOSED,
        EMBER_ERR_REJECTED,
        EMBER_ERR_SCHEMA_TOO_NEW,
        EMBER_ERR_OPEN,
        EMBER_ERR_STORAGE,
        EMBER_ERR_ALREADY_OPEN,
        EMBER_ERR_MISUSE,
        EMBER_ERR_UNAVAILABLE,
        EMBER_ERR_OTHER,
    ];
    guard_value(c"EMBER_UNKNOWN_STATUS".as_ptr(), || {
        ALL.iter()
            .find(|s| **s as i32 == status)
            .map_or(c"EMBER_UNKNOWN_STATUS", |s| s.name())
            .as_ptr()
    })
}
