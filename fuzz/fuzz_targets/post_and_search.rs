//! Arbitrary bytes as message content, edit content and search text: the engine must answer
//! every call with a value or a typed error, never a panic, and what it stores must read
//! back as posted.

#![no_main]

use std::sync::OnceLock;

use ember_engine::{
    ClientMessageId, Engine, NewPost, NewUser, Options, PasswordCost, RateLimit, Role, RoomId,
    RoomKind, UserId,
};
use libfuzzer_sys::fuzz_target;

struct World {
    engine: Engine,
    user: UserId,
    room: RoomId,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut opts = Options::new(dir.path().join("fuzz.db"));
        opts.password_cost = PasswordCost {
            memory_kib: 8,
            iterations: 1,
        };
        opts.post_rate = RateLimit::new(f64::MAX, u32::MAX);
        let engine = Engine::open(opts).expect("open");
        let user = engine
            .create_user(NewUser {
                login: "fuzz".into(),
                name: "Fuzz".into(),
                password: "fuzz password".into(),
                role: Role::Admin,
            })
            .expect("user")
            .id;
        let room = engine
            .create_room(user, RoomKind::Open, "Fuzz", &[])
            .expect("room")
            .id;
        World {
            engine,
            user,
            room,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let text = String::from_utf8_lossy(data).into_owned();
    let posted = w.engine.post(NewPost {
        user: w.user,
        room: w.room,
        client_message_id: ClientMessageId::new_v7(),
        content: text.clone(),
    });
    if let Ok(p) = posted {
        let read = w
            .engine
            .message(w.user, p.message.id)
            .expect("an acknowledged message reads back");
        assert_eq!(read.content, p.message.content);
        let _ = w.engine.edit_message(w.user, p.message.id, &text);
    }
    let _ = w.engine.search(w.user, &text, 20);
});
