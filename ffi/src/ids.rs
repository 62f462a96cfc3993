//! UUIDs: every id (user, room, message, client message id, epoch) is a 16-byte struct.

use std::ffi::c_char;

use ::ember_engine::{ClientMessageId, Epoch, MessageId, RoomId, UserId};

use crate::boundary::{
    Failure, arg_out, arg_ref, arg_str, free_box, free_raw_slice, guard, guard_value,
    into_raw_slice,
};
use crate::status::ember_status;

/// A UUID in its 16 bytes, big-endian as in its text form. Passed by value.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ember_uuid {
    /// The bytes.
    pub bytes: [u8; 16],
}

/// Length of a UUID's text form including the terminating NUL: 36 + 1.
pub const EMBER_UUID_STRING_LEN: usize = 37;

macro_rules! uuid_conversions {
    ($($id:ty),*) => {$(
        impl From<$id> for ember_uuid {
            fn from(id: $id) -> Self {
                ember_uuid { bytes: *id.as_bytes() }
            }
        }
        impl From<ember_uuid> for $id {
            fn from(id: ember_uuid) -> Self {
                <$id>::from_bytes(id.bytes)
            }
        }
    )*};
}
uuid_conversions!(UserId, RoomId, MessageId, ClientMessageId, Epoch);

/// A list of ids. Free with `ember_uuid_list_free`.
#[repr(C)]
#[derive(Debug)]
pub struct ember_uuid_list {
    /// `len` ids (NULL when `len` is 0).
    pub items: *mut ember_uuid,
    /// How many.
    pub len: usize,
}

impl ember_uuid_list {
    /// A boxed list handed to C.
    pub(crate) fn boxed(ids: impl IntoIterator<Item = ember_uuid>) -> *mut ember_uuid_list {
        let (items, len) = into_raw_slice(ids.into_iter().collect());
        Box::into_raw(Box::new(ember_uuid_list { items, len }))
    }
}

impl Drop for ember_uuid_list {
    fn drop(&mut self) {
        free_raw_slice(self.items, self.len);
    }
}

/// Frees a list of ids. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_uuid_list_free(list: *mut ember_uuid_list) {
    guard_value((), || free_box(list))
}

/// Writes a fresh time-ordered UUID (v7) to `*out`, e.g. a `client_message_id`.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_uuid_new(out: *mut ember_uuid) -> ember_status {
    guard(|| {
        arg_out(out, "out")?.write(ClientMessageId::new_v7().into());
        Ok(())
    })
}

/// Parses the text form ("0191e2d4-...", hyphenated or not, case-insensitive) into `*out`.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT` when the text is not
/// UTF-8 or not a UUID.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_uuid_parse(
    text: *const c_char,
    out: *mut ember_uuid,
) -> ember_status {
    guard(|| {
        let text = arg_str(text, "text")?;
        let out = arg_out(out, "out")?;
        let id: UserId = text
            .parse()
            .map_err(|e| Failure::invalid(format!("text is not a UUID: {e}")))?;
        out.write(id.into());
        Ok(())
    })
}

/// Writes the hyphenated lower-case text form of `*id` and a NUL into `buf`, which must hold
/// at least `EMBER_UUID_STRING_LEN` (37) bytes. Nothing is allocated.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT` when `buf_len` < 37
/// (`buf` is then left untouched).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_uuid_format(
    id: *const ember_uuid,
    buf: *mut c_char,
    buf_len: usize,
) -> ember_status {
    guard(|| {
        let id = arg_ref(id, "id")?;
        arg_out(buf, "buf")?;
        if buf_len < EMBER_UUID_STRING_LEN {
            return Err(Failure::invalid(format!(
                "buf_len is {buf_len}; at least {EMBER_UUID_STRING_LEN} is needed"
            )));
        }
        let text = UserId::from(*id).to_string();
        let mut bytes = text.into_bytes();
        bytes.push(0);
        // SAFETY: `buf` is non-NULL and the caller says it holds `buf_len` >= 37 bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr().cast(), buf, bytes.len()) };
        Ok(())
    })
}

/// Sets `*out` to whether two UUIDs are equal.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_uuid_equal(
    a: *const ember_uuid,
    b: *const ember_uuid,
    out: *mut bool,
) -> ember_status {
    guard(|| {
        let a = arg_ref(a, "a")?;
        let b = arg_ref(b, "b")?;
        arg_out(out, "out")?.write(a == b);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        let mut id = ember_uuid::default();
        let mut back = ember_uuid::default();
        let mut buf = [0 as c_char; EMBER_UUID_STRING_LEN];
        unsafe {
            assert_eq!(ember_uuid_new(&mut id), ember_status::EMBER_OK);
            assert_eq!(
                ember_uuid_format(&id, buf.as_mut_ptr(), buf.len()),
                ember_status::EMBER_OK
            );
            assert_eq!(
                ember_uuid_parse(buf.as_ptr(), &mut back),
                ember_status::EMBER_OK
            );
            assert_eq!(
                ember_uuid_format(&id, buf.as_mut_ptr(), 36),
                ember_status::EMBER_ERR_INVALID_ARGUMENT
            );
        }
        assert_eq!(id, back);
    }
}
