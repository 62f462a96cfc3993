//! The boundary between C and Rust: the panic guard, argument checks, string conversion and
//! the per-thread last error. Every exported function runs its body through [`guard`] and
//! touches C pointers only through the helpers here.
//!
//! The helpers dereference raw pointers without being `unsafe fn`: they are only called on
//! arguments of an exported `unsafe extern "C"` function, whose contract (see the crate
//! docs) makes every non-NULL pointer valid for the access described.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use ::ember_engine::Error;

use crate::status::ember_status;

/// Why a call failed: the status to return and the message to keep for `ember_last_error`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: ember_status,
    pub message: String,
    pub retry_after_ms: u64,
}

impl Failure {
    pub(crate) fn new(status: ember_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
            retry_after_ms: 0,
        }
    }

    /// A bad argument that is not NULL.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(ember_status::EMBER_ERR_INVALID_ARGUMENT, message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let retry_after_ms = match &e {
            Error::RateLimited { retry_after } => {
                u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX)
            }
            _ => 0,
        };
        Failure {
            status: ember_status::of(&e),
            message: e.to_string(),
            retry_after_ms,
        }
    }
}

/// What an exported body returns.
pub(crate) type Outcome = Result<(), Failure>;

struct LastError {
    status: ember_status,
    message: Option<CString>,
    retry_after_ms: u64,
}

thread_local! {
    static LAST: RefCell<LastError> = const {
        RefCell::new(LastError {
            status: ember_status::EMBER_OK,
            message: None,
            retry_after_ms: 0,
        })
    };
}

/// Runs an exported function's body: clears this thread's last error, catches any panic and
/// records the failure, if any, for `ember_last_error`. `EMBER_TIMEOUT` is not a failure:
/// it is returned with no message (`ember_last_error()` is "", `ember_last_status()` is
/// `EMBER_OK`).
pub(crate) fn guard(body: impl FnOnce() -> Outcome) -> ember_status {
    clear_last_error();
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return ember_status::EMBER_OK,
        Ok(Err(failure)) => failure,
        Err(panic) => Failure::new(
            ember_status::EMBER_ERR_PANIC,
            format!("internal error (panic): {}", panic_text(&*panic)),
        ),
    };
    let status = failure.status;
    if status != ember_status::EMBER_TIMEOUT {
        set_last_error(failure);
    }
    status
}

/// Like [`guard`] for the few functions that return a value instead of a status.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn clear_last_error() {
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        if l.status != ember_status::EMBER_OK {
            *l = LastError {
                status: ember_status::EMBER_OK,
                message: None,
                retry_after_ms: 0,
            };
        }
    });
}

fn set_last_error(failure: Failure) {
    LAST.with(|l| {
        *l.borrow_mut() = LastError {
            status: failure.status,
            message: Some(c_string_lossy(failure.message)),
            retry_after_ms: failure.retry_after_ms,
        }
    });
}

/// This thread's last failure message, or an empty string; see `ember_last_error`.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST.with(|l| match &l.borrow().message {
        Some(m) => m.as_ptr(),
        None => c"".as_ptr(),
    })
}

/// This thread's last status and retry-after.
pub(crate) fn last_status() -> (ember_status, u64) {
    LAST.with(|l| {
        let l = l.borrow();
        (l.status, l.retry_after_ms)
    })
}

/// A shared reference to a handle or struct passed in by C.
pub(crate) fn arg_ref<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: non-NULL pointers passed to an exported function are valid (crate contract).
    unsafe { ptr.as_ref() }.ok_or_else(|| null(name))
}

/// An exclusive reference to a handle passed in by C.
pub(crate) fn arg_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: as for `arg_ref`; the contract also says the object is not used concurrently.
    unsafe { ptr.as_mut() }.ok_or_else(|| null(name))
}

/// A NUL-terminated UTF-8 string passed in by C.
pub(crate) fn arg_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: a non-NULL string argument is NUL-terminated and readable (crate contract).
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes
        .to_str()
        .map_err(|e| Failure::invalid(format!("{name} is not valid UTF-8: {e}")))
}

/// An array of `len` items passed in by C; NULL is accepted only when `len` is 0.
pub(crate) fn arg_slice<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: a non-NULL array argument holds `len` initialised items (crate contract).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// An output parameter, checked before any work is done so that a NULL one has no effect.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Writes the value; called only once everything else has succeeded.
    pub(crate) fn write(self, value: T) {
        // SAFETY: checked non-NULL in `arg_out`; output pointers are writable (crate
        // contract). `write` does not drop the old contents, which C may leave uninitialised.
        unsafe { self.0.write(value) }
    }
}

/// Checks an output parameter.
pub(crate) fn arg_out<T>(ptr: *mut T, name: &str) -> Result<Out<T>, Failure> {
    if ptr.is_null() {
        return Err(null(name));
    }
    Ok(Out(ptr))
}

fn null(name: &str) -> Failure {
    Failure::new(ember_status::EMBER_ERR_NULL, format!("{name} is NULL"))
}

/// A string handed to C, freed by `ember_string_free` or by its owner's free function.
pub(crate) fn c_string(s: impl Into<String>) -> *mut c_char {
    c_string_lossy(s.into()).into_raw()
}

/// An optional string handed to C: NULL for `None`.
pub(crate) fn c_string_opt(s: Option<impl Into<String>>) -> *mut c_char {
    s.map_or(std::ptr::null_mut(), c_string)
}

/// Takes back a string made by [`c_string`]; NULL is ignored.
pub(crate) fn free_c_string(ptr: *mut c_char) {
    if !ptr.is_null() {
        // SAFETY: only called on pointers made by `c_string` (CString::into_raw), once.
        drop(unsafe { CString::from_raw(ptr) });
    }
}

/// Text to a C string; interior NULs (which the engine never produces) are dropped.
fn c_string_lossy(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    })
}

/// An array handed to C as pointer + length; NULL when empty.
pub(crate) fn into_raw_slice<T>(items: Vec<T>) -> (*mut T, usize) {
    if items.is_empty() {
        return (std::ptr::null_mut(), 0);
    }
    let len = items.len();
    (Box::into_raw(items.into_boxed_slice()).cast::<T>(), len)
}

/// Takes back an array made by [`into_raw_slice`] (dropping its items).
pub(crate) fn free_raw_slice<T>(ptr: *mut T, len: usize) {
    if !ptr.is_null() {
        // SAFETY: made by `into_raw_slice` from a boxed slice of exactly `len` items.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
    }
}

/// Takes back an object made by `Box::into_raw`; NULL is ignored.
pub(crate) fn free_box<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: only called by the free function of objects this library boxed, once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = guard(|| panic!("boom"));
        assert_eq!(status, ember_status::EMBER_ERR_PANIC);
        let text = unsafe { CStr::from_ptr(last_error_ptr()) }
            .to_str()
            .unwrap();
        assert!(text.contains("boom"), "{text}");
        assert_eq!(guard(|| Ok(())), ember_status::EMBER_OK);
        assert_eq!(unsafe { CStr::from_ptr(last_error_ptr()) }.to_bytes(), b"");
    }

    #[test]
    fn invalid_utf8_is_an_invalid_argument() {
        let bad = c"\xff\xfe".as_ptr();
        let err = arg_str(bad, "content").unwrap_err();
        assert_eq!(err.status, ember_status::EMBER_ERR_INVALID_ARGUMENT);
        assert!(err.message.contains("content"));
    }

    #[test]
    fn interior_nul_is_dropped_not_fatal() {
        let p = c_string("a\0b");
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        free_c_string(p);
        assert_eq!(s, "ab");
    }
}
