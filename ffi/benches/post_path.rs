//! The cost of the C boundary on the post path: `Engine::post` against `ember_post` (called
//! through the `extern "C"` functions from Rust), each on its own fresh engine with the same
//! options, posting ~100-byte messages to one room with a new client_message_id each time.
//!
//! Criterion measures each path; then a paired run alternates the two posts one by one, so
//! that machine noise (other processes, disk) hits both alike, and prints medians.
//! Databases live in /dev/shm when it exists, to keep disk noise out of the comparison.
//!
//! `cargo bench -p ember-ffi --bench post_path`

use std::ffi::CString;
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

use ::ember_engine::{
    ClientMessageId, Engine, NewPost, NewUser, Options, RateLimit, Role, RoomId, RoomKind, UserId,
};
use criterion::{Criterion, criterion_group, criterion_main};
use ember::*;

const CONTENT: &str =
    "a chat message of about a hundred bytes, which is what people type most of the time here";

/// The options both engines use, set through the C struct.
fn c_options() -> ember_options {
    let mut o = unsafe { std::mem::zeroed::<ember_options>() };
    assert_eq!(
        unsafe { ember_options_init(&mut o) },
        ember_status::EMBER_OK
    );
    o.password_memory_kib = 8;
    o.password_iterations = 1;
    o.post_rate_per_second = 1e9;
    o.post_burst = 1_000_000_000;
    o
}

/// The same options for the Rust engine.
fn rust_options(path: std::path::PathBuf) -> Options {
    let c = c_options();
    let mut o = Options::new(path);
    o.password_cost.memory_kib = c.password_memory_kib;
    o.password_cost.iterations = c.password_iterations;
    o.post_rate = RateLimit::new(c.post_rate_per_second, c.post_burst);
    o
}

struct RustSide {
    engine: Engine,
    user: UserId,
    room: RoomId,
}

impl RustSide {
    fn open(dir: &std::path::Path) -> Self {
        let engine = Engine::open(rust_options(dir.join("rust.db"))).unwrap();
        let new = NewUser {
            login: "ann".into(),
            name: "Ann".into(),
            password: "password1".into(),
            role: Role::Admin,
        };
        let user = engine.create_user(new).unwrap().id;
        let room = engine
            .create_room(user, RoomKind::Open, "Lobby", &[])
            .unwrap()
            .id;
        RustSide { engine, user, room }
    }

    fn post(&self) {
        let post = NewPost {
            user: self.user,
            room: self.room,
            client_message_id: ClientMessageId::new_v7(),
            content: CONTENT.into(),
        };
        std::hint::black_box(self.engine.post(post).unwrap());
    }
}

struct CSide {
    engine: *mut ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    content: CString,
}

impl CSide {
    fn open(dir: &std::path::Path) -> Self {
        let path = CString::new(dir.join("c.db").to_str().unwrap()).unwrap();
        let ok = ember_status::EMBER_OK;
        unsafe {
            let mut e = null_mut();
            assert_eq!(ember_engine_open(path.as_ptr(), &c_options(), &mut e), ok);
            let (mut u, mut r) = (null_mut(), null_mut());
            let (login, name, pw) = (c"ann".as_ptr(), c"Ann".as_ptr(), c"password1".as_ptr());
            assert_eq!(ember_create_user(e, login, name, pw, 0, &mut u), ok);
            let lobby = c"Lobby".as_ptr();
            assert_eq!(
                ember_create_room(e, (*u).id, 0, lobby, null(), 0, &mut r),
                ok
            );
            let side = CSide {
                engine: e,
                user: (*u).id,
                room: (*r).id,
                content: CString::new(CONTENT).unwrap(),
            };
            ember_user_free(u);
            ember_room_free(r);
            side
        }
    }

    fn post(&self) {
        unsafe {
            let mut cid = ember_uuid::default();
            ember_uuid_new(&mut cid);
            let (mut m, mut dup) = (null_mut(), false);
            let content = self.content.as_ptr();
            let status = ember_post(
                self.engine,
                self.user,
                self.room,
                cid,
                content,
                &mut m,
                &mut dup,
            );
            assert_eq!(status, ember_status::EMBER_OK);
            ember_message_free(m);
        }
    }
}

impl Drop for CSide {
    fn drop(&mut self) {
        unsafe { ember_engine_close(self.engine) };
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench_post(c: &mut Criterion) {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap();
    let rust = RustSide::open(dir.path());
    let cside = CSide::open(dir.path());

    let mut group = c.benchmark_group("post");
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("rust Engine::post", |b| b.iter(|| rust.post()));
    group.bench_function("c ember_post", |b| b.iter(|| cside.post()));
    group.finish();

    let n = 20_000;
    let (mut r, mut cc) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        rust.post();
        r.push(t.elapsed());
        let t = Instant::now();
        cside.post();
        cc.push(t.elapsed());
    }
    let (r, cc) = (median(r), median(cc));
    println!(
        "paired ({n} alternating posts each): Engine::post median {:.1} µs, ember_post median \
         {:.1} µs, C/Rust = {:.3}",
        r.as_secs_f64() * 1e6,
        cc.as_secs_f64() * 1e6,
        cc.as_secs_f64() / r.as_secs_f64()
    );
    rust.engine.close();
}

criterion_group!(benches, bench_post);
criterion_main!(benches);
