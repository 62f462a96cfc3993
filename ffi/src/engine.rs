//! Opening and closing an engine, its options, version and counters.

use std::ffi::c_char;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ::ember_engine::{Engine, Options, PasswordCost, RateLimit, Synchronous};

use crate::boundary::{Failure, arg_out, arg_ref, arg_str, free_c_string, guard, guard_value};
use crate::handles::{self, arg_engine};
use crate::ids::ember_uuid;
use crate::status::ember_status;

/// The version of this C ABI. It changes when an existing function or struct changes
/// incompatibly, and when a struct the library fills in without being told its size
/// (`ember_options`, by `ember_options_init`) grows; adding functions keeps it. 2:
/// `ember_options` gained `plugin_budget_ms`; 3: `broker`.
pub const EMBER_ABI_VERSION: u32 = 3;

/// An open engine. Opaque. Made by `ember_engine_open`, ended by `ember_engine_close`.
///
/// Thread safety: one handle may be used from many threads at once (every call is
/// synchronous and internally synchronised), except `ember_engine_close`, which must be
/// the last call on it.
pub struct ember_engine {
    pub(crate) engine: Engine,
    /// Set at close, so that subscriptions can tell "engine closed" from other ends.
    pub(crate) closed: Arc<AtomicBool>,
}

/// How `ember_engine_open` sets the engine up. Fill it with `ember_options_init`, then
/// change fields. Structs only grow at the end; `struct_size` says which version the host
/// was built against.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_options {
    /// `sizeof(ember_options)`, set by `ember_options_init`.
    pub struct_size: usize,
    /// fsync every commit (survives a power cut) instead of WAL `synchronous=NORMAL`.
    /// SQLite only: on PostgreSQL every commit runs with `synchronous_commit = on`.
    pub synchronous_full: bool,
    /// Password hash (argon2id) memory in KiB, at least 8. Default 19456. Tests use 8.
    pub password_memory_kib: u32,
    /// Password hash passes, at least 1. Default 2.
    pub password_iterations: u32,
    /// Sustained posts per second per person. Default 10.
    pub post_rate_per_second: f64,
    /// Posts at once per person after a quiet spell. Default 20.
    pub post_burst: u32,
    /// Sustained posts per second per bot. Default 20.
    pub bot_post_rate_per_second: f64,
    /// Posts at once per bot. Default 40.
    pub bot_post_burst: u32,
    /// Login attempts per login within `login_window_ms`. Default 10.
    pub login_attempts: u32,
    /// Window of the login rate limit. Default 180000.
    pub login_window_ms: u64,
    /// Session lifetime (sliding). Default 30 days.
    pub session_ttl_ms: u64,
    /// A presence connection lapses after this long without a heartbeat. Default 60000.
    pub presence_ttl_ms: u64,
    /// Events a subscription may hold unread before it lags and ends. Default 1024.
    pub subscription_capacity: u32,
    /// Most changes one subscribe with `since` replays. Default 1000.
    pub replay_cap: u32,
    /// Read connections kept open. Default 4.
    pub readers: u32,
    /// Writes that may wait for the writer thread. Default 4096.
    pub queue_capacity: u32,
    /// How long a blocking write waits for room in a full queue before
    /// `EMBER_ERR_OVERLOADED`. Default 500. (Pipelined submissions never wait.)
    pub overload_wait_ms: u64,
    /// New messages become searchable within about this long. Default 100.
    pub search_delay_ms: u64,
    /// Registers the built-in `/play` sounds plugin. Default true.
    pub builtin_sounds: bool,
    /// A plugin hook that runs longer than this is logged with the plugin's name (it is not
    /// stopped). Default 50.
    pub plugin_budget_ms: u64,
    /// A Redis URL (`redis://127.0.0.1:6379`, NUL-terminated, UTF-8) joining this engine to
    /// a cluster of engines and ember-server nodes on the same PostgreSQL database: live
    /// events, presence, typing and posting limits are shared (docs/cluster.md). Read during
    /// `ember_engine_open` only (the caller keeps ownership). Default NULL: an engine alone.
    pub broker: *const c_char,
}

impl ember_options {
    fn defaults() -> Self {
        let o = Options::new("");
        ember_options {
            struct_size: size_of::<ember_options>(),
            synchronous_full: o.synchronous == Synchronous::Full,
            password_memory_kib: o.password_cost.memory_kib,
            password_iterations: o.password_cost.iterations,
            post_rate_per_second: o.post_rate.per_second,
            post_burst: o.post_rate.burst,
            bot_post_rate_per_second: o.bot_post_rate.per_second,
            bot_post_burst: o.bot_post_rate.burst,
            login_attempts: o.login_attempts,
            login_window_ms: millis(o.login_window),
            session_ttl_ms: millis(o.session_ttl),
            presence_ttl_ms: millis(o.presence_ttl),
            subscription_capacity: clamp_u32(o.subscription_capacity),
            replay_cap: clamp_u32(o.replay_cap),
            readers: clamp_u32(o.readers),
            queue_capacity: clamp_u32(o.queue_capacity),
            overload_wait_ms: millis(o.overload_wait),
            search_delay_ms: millis(o.search_delay),
            builtin_sounds: o.builtin_sounds,
            plugin_budget_ms: millis(o.plugin_budget),
            broker: std::ptr::null(),
        }
    }

    /// The engine's options for a database at `path`; fails when `broker` is not UTF-8.
    pub(crate) fn to_options(self, path: &str) -> Result<Options, Failure> {
        let mut o = Options::new(path);
        o.synchronous = if self.synchronous_full {
            Synchronous::Full
        } else {
            Synchronous::Normal
        };
        o.password_cost = PasswordCost {
            memory_kib: self.password_memory_kib,
            iterations: self.password_iterations,
        };
        o.post_rate = RateLimit::new(self.post_rate_per_second, self.post_burst);
        o.bot_post_rate = RateLimit::new(self.bot_post_rate_per_second, self.bot_post_burst);
        o.login_attempts = self.login_attempts;
        o.login_window = Duration::from_millis(self.login_window_ms);
        o.session_ttl = Duration::from_millis(self.session_ttl_ms);
        o.presence_ttl = Duration::from_millis(self.presence_ttl_ms);
        o.subscription_capacity = self.subscription_capacity as usize;
        o.replay_cap = self.replay_cap as usize;
        o.readers = self.readers as usize;
        o.queue_capacity = self.queue_capacity as usize;
        o.overload_wait = Duration::from_millis(self.overload_wait_ms);
        o.search_delay = Duration::from_millis(self.search_delay_ms);
        o.builtin_sounds = self.builtin_sounds;
        o.plugin_budget = Duration::from_millis(self.plugin_budget_ms);
        if !self.broker.is_null() {
            o.broker = Some(arg_str(self.broker, "options->broker")?.to_owned());
        }
        Ok(o)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Checks a host-sized struct's `struct_size` against the sizes this library knows.
pub(crate) fn check_struct_size(
    what: &str,
    size: usize,
    min: usize,
    max: usize,
) -> Result<(), Failure> {
    if size < min || size > max {
        return Err(Failure::new(
            ember_status::EMBER_ERR_ABI_MISMATCH,
            format!(
                "{what}.struct_size is {size}; this libember accepts {min} to {max} \
                 (rebuild against its ember.h)"
            ),
        ));
    }
    Ok(())
}

/// Fills `*out` with the default options and sets `struct_size`.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_options_init(out: *mut ember_options) -> ember_status {
    guard(|| {
        arg_out(out, "out")?.write(ember_options::defaults());
        Ok(())
    })
}

/// Opens (creating or migrating) the database `path` names and starts the engine's
/// threads. On success `*out` is a new engine owned by the caller: end it with
/// `ember_engine_close`.
///
/// `path` is a SQLite file (a plain path or a `sqlite:` URL such as `sqlite:chat.db`,
/// created when missing) or a PostgreSQL URL (`postgres://user@host:port/dbname` or
/// `postgresql://…`, in the form libpq takes) naming a database that several engines, in
/// this and other processes or machines, may share. The calls and their guarantees are the
/// same on both; on PostgreSQL a database that stays unreachable makes calls fail with
/// `EMBER_ERR_UNAVAILABLE` after a bounded wait, and the engine reconnects by itself.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT` (path not UTF-8);
/// `EMBER_ERR_ABI_MISMATCH` (`options->struct_size`); `EMBER_ERR_OPEN` (also a PostgreSQL
/// server that refuses the connection or the login); `EMBER_ERR_SCHEMA_TOO_NEW`;
/// `EMBER_ERR_STORAGE`; `EMBER_ERR_ALREADY_OPEN` (an engine of this process has the file
/// open: use that handle, which any thread may share).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_engine_open(
    path: *const c_char,
    options: *const ember_options,
    out: *mut *mut ember_engine,
) -> ember_status {
    guard(|| {
        let path = arg_str(path, "path")?;
        let options = arg_ref(options, "options")?;
        let out = arg_out(out, "out")?;
        let size = size_of::<ember_options>();
        check_struct_size("ember_options", options.struct_size, size, size)?;
        let engine = Engine::open(options.to_options(path)?)?;
        let handle = Box::into_raw(Box::new(ember_engine {
            engine,
            closed: Arc::new(AtomicBool::new(false)),
        }));
        handles::register(handle);
        out.write(handle);
        Ok(())
    })
}

/// Closes the engine and frees the handle: commits every write already queued, checkpoints
/// the WAL, stops the engine's threads, ends every subscription (blocked and later
/// `ember_subscription_next` calls return `EMBER_ERR_CLOSED` after what was queued; callback
/// subscriptions get `EMBER_EVENT_ENDED`) and calls the `destroy` of every registered
/// plugin, before it returns, whatever subscriptions and pipelines are still alive (they
/// must still be freed). The database file may then be opened again.
///
/// No other call on this engine may be running or start once this is called.
/// Errors: `EMBER_ERR_NULL`; `EMBER_ERR_MISUSE` (the handle was closed already or never
/// opened: nothing happens).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_engine_close(engine: *mut ember_engine) -> ember_status {
    guard(|| {
        handles::unregister(engine)?;
        // SAFETY: `engine` came from `ember_engine_open` and was still open (checked above).
        let handle = unsafe { Box::from_raw(engine) };
        handle.closed.store(true, Ordering::Release);
        handle.engine.close();
        Ok(())
    })
}

/// The library version, e.g. "0.1.0": a static string, never freed, never NULL.
///
/// Thread-safe; cannot fail.
#[unsafe(no_mangle)]
pub extern "C" fn ember_version() -> *const c_char {
    const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };
    guard_value(c"unknown".as_ptr(), || VERSION.as_ptr())
}

/// The ABI version of this library (`EMBER_ABI_VERSION` of the header it was built with).
/// A host compares it with its own `EMBER_ABI_VERSION` at start-up.
///
/// Thread-safe; cannot fail.
#[unsafe(no_mangle)]
pub extern "C" fn ember_abi_version() -> u32 {
    guard_value(EMBER_ABI_VERSION, || EMBER_ABI_VERSION)
}

/// Counters of an engine. Set `struct_size` to `sizeof(ember_stats)` before the call.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ember_stats {
    /// `sizeof(ember_stats)`, set by the caller.
    pub struct_size: usize,
    /// Write commands executed, successful or not.
    pub commands: u64,
    /// Write commands that failed and were rolled back alone.
    pub failed_commands: u64,
    /// Transactions committed by the writer (group commits).
    pub transactions: u64,
    /// Most commands committed in one transaction so far.
    pub largest_batch: u64,
    /// Commands waiting for the writer right now.
    pub queue_depth: u64,
    /// Messages written but not yet searchable.
    pub search_backlog: u64,
    /// WAL checkpoints run.
    pub checkpoints: u64,
    /// Live room subscriptions.
    pub room_subscriptions: u64,
    /// Live user subscriptions.
    pub user_subscriptions: u64,
}

/// Writes the engine's counters to `*out` (whose `struct_size` the caller set).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_ABI_MISMATCH` (`out->struct_size`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_engine_stats(
    engine: *const ember_engine,
    out: *mut ember_stats,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let size = arg_ref(out, "out")?.struct_size;
        let out = arg_out(out, "out")?;
        let max = size_of::<ember_stats>();
        check_struct_size("ember_stats", size, max, max)?;
        let s = engine.stats();
        let (rooms, users) = engine.subscription_counts();
        out.write(ember_stats {
            struct_size: size,
            commands: s.commands,
            failed_commands: s.failed_commands,
            transactions: s.transactions,
            largest_batch: s.largest_batch,
            queue_depth: s.queue_depth,
            search_backlog: s.search_backlog,
            checkpoints: s.checkpoints,
            room_subscriptions: rooms as u64,
            user_subscriptions: users as u64,
        });
        Ok(())
    })
}

/// Writes the database's epoch to `*out`: sequence numbers (`seq`, `change_seq`) only mean
/// something together with the epoch they came from.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_engine_epoch(
    engine: *const ember_engine,
    out: *mut ember_uuid,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        arg_out(out, "out")?.write(engine.epoch().into());
        Ok(())
    })
}

/// Frees a string that libember handed out on its own (a session token, a bot key).
/// NULL is ignored. Strings inside structs are freed with their struct instead.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_string_free(s: *mut c_char) {
    guard_value((), || free_c_string(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_budget_defaults_to_the_engines_and_is_passed_on() {
        let mut o = ember_options::defaults();
        assert_eq!(o.plugin_budget_ms, 50);
        assert_eq!(o.overload_wait_ms, 500);
        o.plugin_budget_ms = 7;
        assert_eq!(
            o.to_options("x.db").unwrap().plugin_budget,
            Duration::from_millis(7)
        );
    }

    #[test]
    fn broker_defaults_to_none_and_is_passed_on() {
        let mut o = ember_options::defaults();
        assert!(o.broker.is_null());
        assert_eq!(o.to_options("x.db").unwrap().broker, None);
        o.broker = c"redis://127.0.0.1:6379".as_ptr();
        let url = o.to_options("x.db").unwrap().broker;
        assert_eq!(url.as_deref(), Some("redis://127.0.0.1:6379"));
        o.broker = c"\xff".as_ptr();
        assert!(o.to_options("x.db").is_err(), "not UTF-8");
    }
}
