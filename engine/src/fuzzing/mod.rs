//! The checks behind the fuzz targets in `fuzz/`, shared with the corpus replay in
//! `engine/tests/fuzz_corpus_replays.rs` so that the two cannot drift. Each check takes the
//! raw input bytes and panics when a property fails; a returned check passed.
//!
//! Not a supported API: compiled only with the `fuzzing` feature.

pub mod content;
pub mod search;
pub mod stateful;

use std::path::Path;

use crate::{Engine, NewUser, Options, PasswordCost, RateLimit, Role, UserId};

/// An engine in a directory the caller owns, with an admin and two members, set up so that
/// nothing but the input decides an outcome: no rate limits, no plugins, cheap passwords.
pub struct Fixture {
    /// The engine.
    pub engine: Engine,
    /// `users[0]` is an admin, `users[1]` and `users[2]` are members.
    pub users: [UserId; 3],
}

impl Fixture {
    /// Opens a fresh engine at `dir/fuzz.db`. Panics when it cannot (a broken setup, not a
    /// finding).
    pub fn open(dir: &Path) -> Fixture {
        let mut opts = Options::new(dir.join("fuzz.db"));
        opts.password_cost = PasswordCost {
            memory_kib: 8,
            iterations: 1,
        };
        opts.post_rate = RateLimit::new(f64::MAX, u32::MAX);
        opts.builtin_sounds = false;
        opts.search_delay = std::time::Duration::from_millis(1);
        let engine = Engine::open(opts).expect("open the fuzzing engine");
        let user = |login: &str, role| {
            engine
                .create_user(NewUser {
                    login: login.into(),
                    name: login.to_uppercase(),
                    password: "fuzzing password".into(),
                    role,
                })
                .expect("create a fuzzing user")
                .id
        };
        let users = [
            user("admin", Role::Admin),
            user("ann", Role::Member),
            user("bob", Role::Member),
        ];
        Fixture { engine, users }
    }
}
