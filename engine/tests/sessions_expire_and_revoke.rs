//! Logins and sessions: a token authenticates until it expires unused, is revoked, or its
//! user is deactivated; logins are rate limited per (login, client address), with a looser
//! cap per login.

mod common;

use std::time::Duration;

use ember_engine::{Clock, Engine, Error, User};

const HOUR_MS: i64 = 3600 * 1000;

/// A database on a manual clock with sessions lasting `ttl_ms`, and Bob.
fn setup(ttl_ms: i64) -> (common::TestDb, User) {
    let db = common::open_with(|o| {
        o.clock = Clock::manual(1_700_000_000_000);
        o.session_ttl = Duration::from_millis(ttl_ms as u64);
    });
    let bob = common::member(&db, "bob");
    (db, bob)
}

fn advance(db: &Engine, ms: i64) {
    db.options().clock.advance(ms);
}

fn assert_unauthenticated(what: &str, db: &Engine, token: &str) {
    match db.authenticate(token) {
        Err(Error::Unauthenticated(_)) => {}
        other => panic!("{what}: expected Unauthenticated, got {other:?}"),
    }
}

/// Waits for writes queued so far (such as a session extension) to commit: a blocking
/// write is queued behind them and answered only after their commit.
fn settle(db: &Engine) {
    db.revoke_session("no such token").unwrap();
}

fn a_login_returns_a_token_that_authenticates() {
    let (db, bob) = setup(24 * HOUR_MS);
    let now = db.options().clock.now_ms();
    let login = db
        .login("BOB", common::PASSWORD)
        .expect("logins are case-insensitive");
    assert_eq!(login.user, bob);
    assert_eq!(login.expires_at, now + 24 * HOUR_MS);
    assert_eq!(login.token.len(), 64);
    assert!(login.token.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(db.authenticate(&login.token).unwrap(), bob);
    let again = db.login("bob", common::PASSWORD).unwrap();
    assert_ne!(again.token, login.token, "every login gets its own token");
}
common::both_stores!(a_login_returns_a_token_that_authenticates);

fn wrong_passwords_and_unknown_logins_are_unauthenticated() {
    let (db, _) = setup(HOUR_MS);
    for (login, password) in [
        ("bob", "wrong password"),
        ("nobody", common::PASSWORD),
        ("bob", ""),
    ] {
        match db.login(login, password) {
            Err(Error::Unauthenticated(_)) => {}
            other => panic!("login {login:?} / {password:?} gave {other:?}"),
        }
    }
    assert_unauthenticated("made-up token", &db, &"ab".repeat(32));
    assert_unauthenticated("empty token", &db, "");
}
common::both_stores!(wrong_passwords_and_unknown_logins_are_unauthenticated);

fn the_eleventh_login_in_the_window_is_rate_limited_until_it_passes() {
    let (db, _) = setup(HOUR_MS);
    common::member(&db, "carol");
    for i in 0..10 {
        match db.login("bob", "wrong password") {
            Err(Error::Unauthenticated(_)) => {}
            other => panic!("try {i} gave {other:?}"),
        }
        advance(&db, 1000);
    }
    match db.login("Bob", common::PASSWORD) {
        Err(Error::RateLimited { retry_after }) => {
            assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(180))
        }
        other => panic!("the 11th try gave {other:?}"),
    }
    db.login("carol", common::PASSWORD)
        .expect("another login has its own limit");
    advance(&db, 180 * 1000);
    db.login("bob", common::PASSWORD)
        .expect("the window has passed");
}
common::both_stores!(the_eleventh_login_in_the_window_is_rate_limited_until_it_passes);

fn a_stranger_guessing_passwords_locks_out_their_address_not_the_owner() {
    let (db, _) = setup(HOUR_MS);
    let stranger = Some(std::net::IpAddr::from([198, 51, 100, 23]));
    let owner = Some(std::net::IpAddr::from([203, 0, 113, 5]));
    for _ in 0..10 {
        assert!(matches!(
            db.login_from("bob", "wrong password", stranger),
            Err(Error::Unauthenticated(_))
        ));
    }
    let refused = db
        .login_from("bob", common::PASSWORD, stranger)
        .expect_err("the stranger's address is locked out");
    assert!(matches!(refused, Error::RateLimited { .. }));
    assert_eq!(
        refused.to_string(),
        "too many attempts; try again in 3 minutes",
        "a message a person can read"
    );
    db.login_from("bob", common::PASSWORD, owner)
        .expect("the owner's address is not locked out");
}
common::both_stores!(a_stranger_guessing_passwords_locks_out_their_address_not_the_owner);

fn attempts_from_many_addresses_meet_the_cap_per_login() {
    let (db, _) = setup(HOUR_MS);
    for i in 0..100u32 {
        let addr = Some(std::net::IpAddr::from((0x0a00_0000 + i).to_be_bytes()));
        assert!(matches!(
            db.login_from("bob", "wrong password", addr),
            Err(Error::Unauthenticated(_))
        ));
    }
    let fresh = Some(std::net::IpAddr::from([192, 0, 2, 1]));
    assert!(matches!(
        db.login_from("bob", common::PASSWORD, fresh),
        Err(Error::RateLimited { .. })
    ));
    advance(&db, 180 * 1000);
    db.login_from("bob", common::PASSWORD, fresh)
        .expect("the window has passed, and no back-off applies to the cap");
}
common::both_stores!(attempts_from_many_addresses_meet_the_cap_per_login);

fn an_unused_session_expires_after_its_ttl() {
    let (db, _) = setup(24 * HOUR_MS);
    let login = db.login("bob", common::PASSWORD).unwrap();
    advance(&db, 24 * HOUR_MS);
    assert_unauthenticated("expired session", &db, &login.token);
}
common::both_stores!(an_unused_session_expires_after_its_ttl);

/// Sliding expiry for a TTL of `ttl_ms`: a use after half of it keeps the session alive
/// past its first expiry; then, unused for a whole TTL, it lapses.
fn check_sliding_expiry(ttl_ms: i64) {
    let (db, bob) = setup(ttl_ms);
    let login = db.login("bob", common::PASSWORD).unwrap();
    advance(&db, ttl_ms / 2);
    assert_eq!(db.authenticate(&login.token).unwrap(), bob);
    settle(&db);
    advance(&db, ttl_ms / 2 + 1);
    assert_eq!(
        db.authenticate(&login.token).map(|u| u.id),
        Ok(bob.id),
        "the session used halfway through its {ttl_ms} ms lapsed at its first expiry"
    );
    settle(&db);
    advance(&db, ttl_ms);
    assert_unauthenticated("unused for a whole TTL", &db, &login.token);
}

fn a_session_used_after_half_its_ttl_outlives_its_first_expiry() {
    check_sliding_expiry(30 * 24 * HOUR_MS);
}
common::both_stores!(a_session_used_after_half_its_ttl_outlives_its_first_expiry);

fn a_short_session_used_after_half_its_ttl_outlives_its_first_expiry() {
    check_sliding_expiry(20 * 60 * 1000);
}
common::both_stores!(a_short_session_used_after_half_its_ttl_outlives_its_first_expiry);

fn revoking_a_session_ends_only_that_session() {
    let (db, bob) = setup(HOUR_MS);
    let first = db.login("bob", common::PASSWORD).unwrap();
    let second = db.login("bob", common::PASSWORD).unwrap();
    db.revoke_session(&first.token).unwrap();
    assert_unauthenticated("revoked session", &db, &first.token);
    assert_eq!(db.authenticate(&second.token).unwrap(), bob);
    db.revoke_session(&first.token)
        .expect("revoking twice is not an error");
}
common::both_stores!(revoking_a_session_ends_only_that_session);

fn revoking_all_sessions_ends_every_session_of_the_user() {
    let (db, _) = setup(HOUR_MS);
    let carol = common::member(&db, "carol");
    let bobs = [
        db.login("bob", common::PASSWORD).unwrap(),
        db.login("bob", common::PASSWORD).unwrap(),
    ];
    let carols = db.login("carol", common::PASSWORD).unwrap();
    assert_eq!(db.revoke_all_sessions(bobs[0].user.id).unwrap(), 2);
    for login in &bobs {
        assert_unauthenticated("after revoke_all_sessions", &db, &login.token);
    }
    assert_eq!(db.authenticate(&carols.token).unwrap(), carol);
    db.login("bob", common::PASSWORD)
        .expect("Bob may log in again");
}
common::both_stores!(revoking_all_sessions_ends_every_session_of_the_user);

fn deactivating_a_user_ends_their_sessions() {
    let (db, bob) = setup(HOUR_MS);
    let login = db.login("bob", common::PASSWORD).unwrap();
    db.deactivate_user(bob.id).unwrap();
    assert_unauthenticated("deactivated user", &db, &login.token);
    match db.login("bob", common::PASSWORD) {
        Err(Error::Forbidden(_)) => {}
        other => panic!("a deactivated user logged in: {other:?}"),
    }
}
common::both_stores!(deactivating_a_user_ends_their_sessions);

fn a_ttl_too_long_to_count_means_sessions_never_lapse() {
    let db = common::open_with(|o| {
        o.clock = Clock::manual(1_700_000_000_000);
        o.session_ttl = Duration::MAX;
    });
    let bob = common::member(&db, "bob");
    let login = db.login("bob", common::PASSWORD).unwrap();
    assert!(
        login.expires_at > db.options().clock.now_ms(),
        "born expired: {login:?}"
    );
    advance(&db, 100 * 365 * 24 * HOUR_MS);
    assert_eq!(db.authenticate(&login.token).unwrap(), bob);
}
common::both_stores!(a_ttl_too_long_to_count_means_sessions_never_lapse);
