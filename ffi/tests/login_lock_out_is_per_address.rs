//! `ember_login_from`: wrong passwords from one address lock out that address only, the
//! refusal says when to try again in words, and a malformed address is refused.

mod common;

use std::ffi::{CStr, c_char};
use std::ptr::{null, null_mut};

use common::*;
use ember::*;
use ember_status::*;

unsafe fn login_from(f: &Fixture, password: &CStr, address: *const c_char) -> ember_status {
    let (mut token, mut user) = (null_mut(), ember_uuid::default());
    let status = unsafe {
        ember_login_from(
            f.engine,
            c"bob".as_ptr(),
            password.as_ptr(),
            address,
            &mut token,
            &mut user,
        )
    };
    if status == EMBER_OK {
        unsafe { ember_string_free(token) };
    }
    status
}

#[test]
fn a_locked_out_address_does_not_lock_out_another() {
    let f = open();
    create_user(&f, "bob");
    let stranger = c"198.51.100.23".as_ptr();
    unsafe {
        for _ in 0..10 {
            refused(
                login_from(&f, c"wrong password", stranger),
                EMBER_ERR_UNAUTHENTICATED,
            );
        }
        refused(
            login_from(&f, c"password1", stranger),
            EMBER_ERR_RATE_LIMITED,
        );
        let message = text(ember_last_error());
        assert!(
            message.contains("try again in 3 minutes"),
            "a message a person can read: {message}"
        );
        assert!(ember_last_retry_after_ms() > 0);

        ok(login_from(&f, c"password1", c"2001:db8::1".as_ptr()));
        ok(login_from(&f, c"password1", null()));
    }
}

#[test]
fn a_malformed_address_is_an_invalid_argument() {
    let f = open();
    create_user(&f, "bob");
    unsafe {
        refused(
            login_from(&f, c"password1", c"not an address".as_ptr()),
            EMBER_ERR_INVALID_ARGUMENT,
        );
    }
}
