//! The C ABI under arbitrary input: arbitrary bytes as C strings (NULL, cut short by an
//! interior NUL, invalid UTF-8), arbitrary `struct_size` / `abi_version` fields and NULL
//! handles and outputs into the public `ember_*` functions of one engine. Every call must
//! return a status (never `EMBER_ERR_PANIC`, never a crash), record it as the thread's last
//! status, answer a NULL argument with `EMBER_ERR_NULL` (or `EMBER_ERR_INVALID_ARGUMENT` when
//! another argument is bad too), never with `EMBER_ERR_NULL` when nothing was NULL, and hand
//! out objects that free cleanly.
//!
//! Shared by the fuzz target `fuzz/fuzz_targets/c_abi.rs` and the corpus replay
//! `ffi/tests/fuzz_corpus_replays.rs` (both include this file by path).

use std::ffi::{CStr, c_char};
use std::path::Path;
use std::ptr::{null, null_mut};
use std::sync::atomic::AtomicUsize;

use arbitrary::{Arbitrary, Unstructured};
use ember::*;

mod calls;

use calls::make;

/// Most calls one input makes.
const MAX_CALLS: usize = 32;
/// Most plugins the fixture's engine accepts over its life (each stays registered).
const MAX_PLUGINS: usize = 16;

/// An engine in a directory the caller owns, with an admin, a member, a closed room and one
/// message in it. Closed when dropped.
pub struct Fixture {
    engine: *mut ember_engine,
    admin: ember_uuid,
    member: ember_uuid,
    room: ember_uuid,
    message: ember_uuid,
    open_path: Vec<u8>,
    plugins: AtomicUsize,
}

// SAFETY: an `ember_engine` handle may be used from many threads at once (ember.h); the
// fixture only closes it on drop, when no other reference exists.
unsafe impl Send for Fixture {}
// SAFETY: as above.
unsafe impl Sync for Fixture {}

impl Fixture {
    /// Opens a fresh engine at `dir/c_abi.db`; panics when it cannot (a broken setup).
    pub fn open(dir: &Path) -> Fixture {
        let path = c_path(&dir.join("c_abi.db"));
        let opts = options();
        let mut engine = null_mut();
        // SAFETY: valid string, options and output.
        ok(unsafe { ember_engine_open(path.as_ptr().cast(), &opts, &mut engine) });
        let admin = user(engine, c"admin", ember_role::EMBER_ROLE_ADMIN as u32);
        let member = user(engine, c"member", ember_role::EMBER_ROLE_MEMBER as u32);
        let mut room = null_mut();
        // SAFETY: valid handle, string, array and output.
        ok(unsafe {
            ember_create_room(
                engine,
                admin,
                ember_room_kind::EMBER_ROOM_CLOSED as u32,
                c"Room".as_ptr(),
                &member,
                1,
                &mut room,
            )
        });
        // SAFETY: `room` was just handed out.
        let room_id = unsafe { (*room).id };
        // SAFETY: handed out by libember, freed once.
        unsafe { ember_room_free(room) };
        let mut message = null_mut();
        let mut duplicate = false;
        // SAFETY: valid handle, ids, string and outputs.
        ok(unsafe {
            ember_post(
                engine,
                member,
                room_id,
                ember_uuid { bytes: [7; 16] },
                c"hello".as_ptr(),
                &mut message,
                &mut duplicate,
            )
        });
        // SAFETY: as above.
        let message_id = unsafe { (*message).id };
        // SAFETY: handed out by libember, freed once.
        unsafe { ember_message_free(message) };
        Fixture {
            engine,
            admin,
            member,
            room: room_id,
            message: message_id,
            open_path: c_path(&dir.join("opened.db")),
            plugins: AtomicUsize::new(0),
        }
    }

    fn id(&self, id: &Id) -> ember_uuid {
        match id {
            Id::Admin => self.admin,
            Id::Member => self.member,
            Id::Room => self.room,
            Id::Message => self.message,
            Id::Raw(bytes) => ember_uuid { bytes: *bytes },
        }
    }

    fn engine(&self, null_engine: bool) -> *mut ember_engine {
        if null_engine { null_mut() } else { self.engine }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // SAFETY: the handle came from `ember_engine_open` and is closed once, last.
        unsafe { ember_engine_close(self.engine) };
    }
}

fn c_path(path: &Path) -> Vec<u8> {
    let mut bytes = path
        .to_str()
        .expect("a UTF-8 temporary path")
        .as_bytes()
        .to_vec();
    bytes.push(0);
    bytes
}

/// Default options with cheap passwords and no post rate limit.
fn options() -> ember_options {
    let mut opts = std::mem::MaybeUninit::<ember_options>::uninit();
    // SAFETY: a valid output.
    ok(unsafe { ember_options_init(opts.as_mut_ptr()) });
    // SAFETY: initialised by the successful call above.
    let mut opts = unsafe { opts.assume_init() };
    opts.password_memory_kib = 8;
    opts.password_iterations = 1;
    opts.post_rate_per_second = 1e9;
    opts.post_burst = u32::MAX;
    opts.login_attempts = u32::MAX;
    opts.search_delay_ms = 1;
    opts
}

fn user(engine: *mut ember_engine, login: &CStr, role: u32) -> ember_uuid {
    let mut out = null_mut();
    // SAFETY: valid handle, strings and output.
    ok(unsafe {
        ember_create_user(
            engine,
            login.as_ptr(),
            c"Name".as_ptr(),
            c"a long password".as_ptr(),
            role,
            &mut out,
        )
    });
    // SAFETY: handed out by the successful call.
    let id = unsafe { (*out).id };
    // SAFETY: freed once.
    unsafe { ember_user_free(out) };
    id
}

fn ok(status: ember_status) {
    assert_eq!(
        status,
        ember_status::EMBER_OK,
        "fixture setup: {}",
        last_error()
    );
}

fn last_error() -> String {
    // SAFETY: never NULL, NUL-terminated (ember.h).
    unsafe { CStr::from_ptr(ember_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A C string argument: NULL, or bytes with a NUL appended (an interior NUL cuts it short;
/// the bytes need not be UTF-8).
#[derive(Arbitrary, Debug)]
enum Text {
    Null,
    Bytes(Vec<u8>),
}

impl Text {
    fn buffer(&self) -> Option<Vec<u8>> {
        match self {
            Text::Null => None,
            Text::Bytes(b) => Some(b.iter().copied().chain([0]).collect()),
        }
    }

    /// Whether libember must accept the string as UTF-8 (NULL counts as valid here).
    fn is_utf8(&self) -> bool {
        match self {
            Text::Null => true,
            Text::Bytes(b) => {
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                std::str::from_utf8(&b[..end]).is_ok()
            }
        }
    }
}

/// Keeps the buffers of a call's strings alive and hands out their pointers.
struct Strings(Vec<Option<Vec<u8>>>);

impl Strings {
    fn new(texts: &[&Text]) -> Strings {
        Strings(texts.iter().map(|t| t.buffer()).collect())
    }

    fn ptr(&self, n: usize) -> *const c_char {
        self.0[n].as_ref().map_or(null(), |b| b.as_ptr().cast())
    }
}

#[derive(Arbitrary, Debug)]
enum Id {
    Admin,
    Member,
    Room,
    Message,
    Raw([u8; 16]),
}

/// Where `ember_engine_open` is pointed: NULL, bytes that are not UTF-8, or a file in the
/// fixture's directory (never a path from the input).
#[derive(Arbitrary, Debug)]
enum OpenPath {
    Null,
    NotUtf8(Vec<u8>),
    Temp,
}

/// A `struct_size` or `abi_version` field: mostly right or a little off, so that both the
/// accepting and the refusing paths are taken often; sometimes anything.
#[derive(Arbitrary, Clone, Copy, Debug)]
enum Field {
    Right,
    Below(u8),
    Above(u8),
    Any(u64),
}

impl Field {
    /// The field's value when `right` is the one this library expects.
    fn value(self, right: u64) -> u64 {
        match self {
            Field::Right => right,
            Field::Below(n) => right.wrapping_sub(u64::from(n)),
            Field::Above(n) => right.wrapping_add(u64::from(n)),
            Field::Any(v) => v,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Command {
    name: Text,
    handler: bool,
    priority: i32,
}

#[derive(Arbitrary, Debug)]
enum Call {
    OptionsInit {
        null_out: bool,
    },
    Open {
        path: OpenPath,
        null_options: bool,
        struct_size: Field,
        null_out: bool,
    },
    Stats {
        null_engine: bool,
        null_out: bool,
        struct_size: Field,
    },
    RegisterPlugin {
        null_engine: bool,
        null_plugin: bool,
        abi_version: Field,
        struct_size: Field,
        name: Text,
        commands: Vec<Command>,
    },
    CreateUser {
        null_engine: bool,
        login: Text,
        name: Text,
        password: Text,
        role: u32,
        null_out: bool,
    },
    CreateBot {
        login: Text,
        name: Text,
        null_key: bool,
    },
    Login {
        login: Text,
        password: Text,
        address: Option<Text>,
        null_token: bool,
    },
    Authenticate {
        token: Text,
        bot: bool,
    },
    RevokeSession {
        token: Text,
    },
    UserByLogin {
        login: Text,
    },
    SetBotWebhook {
        bot: Id,
        url: Text,
    },
    Post {
        null_engine: bool,
        user: Id,
        room: Id,
        cmid: [u8; 16],
        content: Text,
        null_message: bool,
        null_duplicate: bool,
    },
    Edit {
        user: Id,
        message: Id,
        content: Text,
        null_out: bool,
    },
    Delete {
        user: Id,
        message: Id,
    },
    Search {
        user: Id,
        text: Text,
        limit: usize,
        null_out: bool,
    },
    History {
        user: Id,
        room: Id,
        before: u64,
        limit: usize,
    },
    Around {
        user: Id,
        message: Id,
        n: usize,
    },
    Changes {
        user: Id,
        room: Id,
        since: u64,
        limit: usize,
        null_more: bool,
    },
    CreateRoom {
        kind: u32,
        name: Text,
        members: Vec<Id>,
        null_members: bool,
    },
    DirectRoom {
        others: Vec<Id>,
    },
    Involvement {
        user: Id,
        room: Id,
        level: u32,
    },
    MarkRead {
        user: Id,
        room: Id,
        seq: u64,
    },
    Typing {
        user: Id,
        room: Id,
        active: bool,
    },
    Subscribe {
        user: Id,
        room: Id,
        since: Option<u64>,
        null_out: bool,
    },
    UuidParse {
        text: Text,
        null_out: bool,
    },
    UuidFormat {
        buf_len: u8,
        null_buf: bool,
    },
    StatusName {
        status: i32,
    },
    Pipeline {
        content: Text,
        cmid: [u8; 16],
    },
    NullHandles,
}

/// Decodes `data` into calls and makes each against `fixture`, checking every answer.
pub fn check(fixture: &Fixture, data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut made = 0;
    while !u.is_empty() && made < MAX_CALLS {
        let Ok(call) = Call::arbitrary(&mut u) else {
            break;
        };
        made += 1;
        if std::env::var_os("EMBER_FUZZ_DEBUG").is_some() {
            eprintln!("{call:?}");
        }
        // SAFETY: every pointer passed is NULL or valid for its documented access.
        unsafe { make(fixture, &call) };
    }
}

/// Checks a status: never a panic, recorded as the last status with a message when it is
/// a failure; when `null` (a required pointer was NULL) and `utf8` (every string was valid
/// UTF-8) a NULL or invalid-argument status, never `EMBER_ERR_NULL` otherwise, never
/// success for a string that is not UTF-8. True when the call succeeded.
fn verdict(call: &Call, status: ember_status, null: bool, utf8: bool) -> bool {
    assert_ne!(
        status,
        ember_status::EMBER_ERR_PANIC,
        "{call:?}: {}",
        last_error()
    );
    assert_eq!(ember_last_status(), status, "{call:?}: the last status");
    let message = last_error();
    match status {
        ember_status::EMBER_OK => assert!(message.is_empty(), "{call:?}: OK with {message:?}"),
        ember_status::EMBER_TIMEOUT => {}
        _ => assert!(
            !message.is_empty(),
            "{call:?}: {status:?} without a message"
        ),
    }
    // Another bad argument (an address that is not one, an unknown role) may be named
    // before the NULL one; nothing else may answer a NULL argument.
    if null && utf8 {
        assert!(
            matches!(
                status,
                ember_status::EMBER_ERR_NULL | ember_status::EMBER_ERR_INVALID_ARGUMENT
            ),
            "{call:?}: a NULL argument gave {status:?}: {message}"
        );
    }
    if !null {
        assert_ne!(
            status,
            ember_status::EMBER_ERR_NULL,
            "{call:?}: no argument was NULL: {message}"
        );
    }
    if !utf8 && !null {
        assert_ne!(
            status,
            ember_status::EMBER_OK,
            "{call:?}: accepted a string that is not UTF-8"
        );
    }
    status == ember_status::EMBER_OK
}

/// An output slot, or NULL when the input asks for one.
fn out<T>(slot: &mut T, null: bool) -> *mut T {
    if null { null_mut() } else { slot }
}
