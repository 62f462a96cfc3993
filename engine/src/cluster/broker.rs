//! The connection to Redis PUB/SUB that engines of one cluster share: publishing from a
//! thread of its own (callers never wait on Redis), and a subscriber thread that hands what
//! other engines publish to listeners registered by channel prefix.
//!
//! Both sides reconnect by themselves with backoff (50 ms doubling to 500 ms). PUB/SUB is
//! at-most-once: whatever was published while a connection was down is lost, so listeners
//! are told [`BrokerEvent::Resync`] whenever a loss is possible (after the subscriber
//! (re)connects, and when another engine's publisher had to drop publications), and refill
//! from the store. Every payload carries the publishing engine's id; an engine never hears
//! its own publications.
//!
//! Channels are named by the caller; [`Broker::channel`] prefixes a name with the cluster's
//! namespace (the database epoch), so clusters on different databases may share one Redis.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result};

/// Bytes of publications queued while Redis is slow or away; more are dropped (and the
/// other engines told to refill from the store).
const PUBLISH_QUEUE_BYTES: usize = 16 << 20;
/// Largest payload published or accepted (a message of 10,000 characters fits easily).
pub(crate) const MAX_PAYLOAD: usize = 256 << 10;
/// How long the subscriber waits for a message before it looks at its commands.
const POLL: Duration = Duration::from_millis(10);
/// How often an idle subscriber checks that Redis still answers.
const PING_EVERY: Duration = Duration::from_secs(2);
/// Longest wait for Redis to answer a command (connect, SUBSCRIBE, PING, PUBLISH).
const ANSWER_WITHIN: Duration = Duration::from_secs(1);
const BACKOFF_FIRST: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_millis(500);
/// Channel suffix on which publishers say they dropped publications.
const LOST: &str = "lost";

/// What a listener hears, on the broker's subscriber thread. Listeners must return quickly
/// (hand the work to another thread).
#[derive(Clone, Copy, Debug)]
pub(crate) enum BrokerEvent<'a> {
    /// Another engine published `payload` on `channel`.
    Message {
        /// The full channel name.
        channel: &'a str,
        /// What it published.
        payload: &'a [u8],
    },
    /// `channel` is subscribed now: everything published on it from now on arrives.
    Subscribed {
        /// The full channel name.
        channel: &'a str,
    },
    /// Publications may have been lost (the subscriber reconnected, or another engine
    /// dropped some): whatever they carried must be read from the store. Every channel
    /// asked for is subscribed again when this is heard.
    Resync,
}

/// A listener for the channels starting with a prefix.
pub(crate) type Listener = Box<dyn Fn(BrokerEvent<'_>) + Send + Sync>;

enum Command {
    Subscribe(String),
    Unsubscribe(String),
}

struct Shared {
    namespace: String,
    origin: i64,
    client: redis::Client,
    listeners: RwLock<Vec<(String, Listener)>>,
    stop: AtomicBool,
    /// Bytes waiting in the publish queue.
    queued: AtomicUsize,
    /// Set when a publication was dropped; cleared once the loss was announced.
    lost: AtomicBool,
    connected: AtomicBool,
}

/// One engine's connection to the cluster's Redis. Cheap to share (`Arc`); stops its
/// threads when [`Broker::stop`] is called or it is dropped.
pub(crate) struct Broker {
    shared: Arc<Shared>,
    publish: Sender<(String, Vec<u8>)>,
    commands: Sender<Command>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Broker {
    /// Starts the publisher and subscriber threads for `url` (`redis://host:port/db`).
    /// Fails only when the URL is malformed: an unreachable Redis is retried in the
    /// background. `namespace` prefixes every channel (the database epoch); `origin` is
    /// this engine's id.
    pub(crate) fn start(url: &str, namespace: &str, origin: i64) -> Result<Broker> {
        let client = redis::Client::open(url)
            .map_err(|e| Error::validation("broker", format!("is not a Redis URL: {e}")))?;
        let shared = Arc::new(Shared {
            namespace: format!("ember:{namespace}:"),
            origin,
            client,
            listeners: RwLock::new(Vec::new()),
            stop: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            lost: AtomicBool::new(false),
            connected: AtomicBool::new(false),
        });
        let (publish, publish_rx) = crossbeam_channel::unbounded();
        let (commands, commands_rx) = crossbeam_channel::unbounded();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| Error::Storage(format!("cannot start the {name} thread: {e}")))
        };
        let s = shared.clone();
        let publisher = spawn(
            "ember-broker-pub",
            Box::new(move || publisher(&s, &publish_rx)),
        )?;
        let s = shared.clone();
        let subscriber = spawn(
            "ember-broker-sub",
            Box::new(move || subscriber(&s, &commands_rx)),
        )?;
        Ok(Broker {
            shared,
            publish,
            commands,
            threads: Mutex::new(vec![publisher, subscriber]),
        })
    }

    /// `name` inside this cluster's namespace: `ember:<epoch>:<name>`.
    pub(crate) fn channel(&self, name: &str) -> String {
        format!("{}{name}", self.shared.namespace)
    }

    /// True while the subscriber is connected to Redis.
    pub(crate) fn connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// Queues `payload` for `channel` (a full name, see [`Broker::channel`]) and returns at
    /// once. Publications of one engine leave in the order they were queued. A payload over
    /// [`MAX_PAYLOAD`], or one that finds the queue full, is dropped and the loss announced.
    pub(crate) fn publish(&self, channel: String, payload: Vec<u8>) {
        let size = payload.len() + channel.len();
        let queued = self.shared.queued.fetch_add(size, Ordering::AcqRel);
        if payload.len() > MAX_PAYLOAD || queued + size > PUBLISH_QUEUE_BYTES {
            self.shared.queued.fetch_sub(size, Ordering::AcqRel);
            self.shared.lost.store(true, Ordering::Release);
            log::warn!("broker: dropped a publication on {channel} ({size} bytes)");
            return;
        }
        if self.publish.send((channel, payload)).is_err() {
            self.shared.queued.fetch_sub(size, Ordering::AcqRel);
        }
    }

    /// Calls `listener` for every message on a channel whose full name starts with
    /// `prefix`, for every [`BrokerEvent::Subscribed`] of such a channel, and for every
    /// [`BrokerEvent::Resync`].
    pub(crate) fn listen(&self, prefix: String, listener: Listener) {
        self.shared.listeners.write().push((prefix, listener));
    }

    /// Subscribes to `channel` (a full name). Subscriptions are counted: a channel
    /// subscribed twice needs two [`Broker::unsubscribe`]s. [`BrokerEvent::Subscribed`]
    /// follows once Redis confirmed it (within ~10 ms while connected).
    pub(crate) fn subscribe(&self, channel: String) {
        let _ = self.commands.send(Command::Subscribe(channel));
    }

    /// Drops one subscription of `channel`.
    pub(crate) fn unsubscribe(&self, channel: String) {
        let _ = self.commands.send(Command::Unsubscribe(channel));
    }

    /// Stops both threads (what is still queued for publishing is dropped). Idempotent.
    pub(crate) fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        for thread in self.threads.lock().drain(..) {
            if thread.join().is_err() {
                log::error!("a broker thread panicked");
            }
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sleeps `backoff` (in short steps, so that a stop is heard) and doubles it.
fn back_off(shared: &Shared, backoff: &mut Duration) {
    let until = Instant::now() + *backoff;
    while Instant::now() < until && !shared.stop.load(Ordering::Acquire) {
        std::thread::sleep(POLL);
    }
    *backoff = (*backoff * 2).min(BACKOFF_MAX);
}

fn connect(shared: &Shared) -> redis::RedisResult<redis::Connection> {
    let conn = shared.client.get_connection_with_timeout(ANSWER_WITHIN)?;
    conn.set_write_timeout(Some(ANSWER_WITHIN))?;
    conn.set_read_timeout(Some(ANSWER_WITHIN))?;
    Ok(conn)
}

/// Frames a payload: the origin (8 bytes, little endian), then the payload.
pub(crate) fn frame(origin: i64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&origin.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn unframe(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let (head, payload) = bytes.split_first_chunk::<8>()?;
    Some((i64::from_le_bytes(*head), payload))
}

/// Most publications sent in one pipeline.
const BATCH: usize = 256;

fn publisher(shared: &Shared, rx: &Receiver<(String, Vec<u8>)>) {
    let mut conn: Option<redis::Connection> = None;
    let mut backoff = BACKOFF_FIRST;
    while !shared.stop.load(Ordering::Acquire) {
        let first = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(item) => Some(item),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => None,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
        };
        let mut batch: Vec<(String, Vec<u8>)> = first.into_iter().collect();
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let bytes: usize = batch.iter().map(|(c, p)| c.len() + p.len()).sum();
        let announce = shared.lost.load(Ordering::Acquire);
        if batch.is_empty() && !announce {
            continue;
        }
        // A failed pipeline is sent once more on a fresh connection (a broken connection
        // is usually only found by using it), then dropped.
        let mut sent = false;
        for _ in 0..2 {
            if conn.is_none() {
                match connect(shared) {
                    Ok(c) => {
                        conn = Some(c);
                        backoff = BACKOFF_FIRST;
                    }
                    Err(e) => {
                        log::warn!("broker: cannot connect to publish: {e}");
                        break;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { break };
            let mut pipe = redis::pipe();
            for (channel, payload) in &batch {
                pipe.cmd("PUBLISH")
                    .arg(channel)
                    .arg(frame(shared.origin, payload))
                    .ignore();
            }
            if announce {
                let lost = format!("{}{LOST}", shared.namespace);
                pipe.cmd("PUBLISH")
                    .arg(lost)
                    .arg(frame(shared.origin, b""))
                    .ignore();
            }
            match pipe.query::<()>(c) {
                Ok(()) => {
                    sent = true;
                    break;
                }
                Err(e) => {
                    log::warn!("broker: publish failed, reconnecting: {e}");
                    conn = None;
                }
            }
        }
        shared.queued.fetch_sub(bytes, Ordering::AcqRel);
        if sent {
            if announce {
                shared.lost.store(false, Ordering::Release);
            }
        } else {
            if !batch.is_empty() {
                shared.lost.store(true, Ordering::Release);
            }
            back_off(shared, &mut backoff);
        }
    }
}

/// Hands `event` to the listeners whose prefix `channel` starts with (all for `None`).
fn dispatch(shared: &Shared, channel: Option<&str>, event: BrokerEvent<'_>) {
    for (prefix, listener) in shared.listeners.read().iter() {
        if channel.is_none_or(|c| c.starts_with(prefix.as_str())) {
            listener(event);
        }
    }
}

fn subscriber(shared: &Shared, commands: &Receiver<Command>) {
    // Channel → how many asked for it.
    let mut wanted: HashMap<String, usize> = HashMap::new();
    let lost = format!("{}{LOST}", shared.namespace);
    let mut backoff = BACKOFF_FIRST;
    while !shared.stop.load(Ordering::Acquire) {
        // Commands that came while disconnected only change what is wanted.
        let _ = apply_commands(commands, &mut wanted, &mut |_, _| Ok(()));
        let mut conn = match connect(shared) {
            Ok(c) => {
                backoff = BACKOFF_FIRST;
                c
            }
            Err(e) => {
                log::warn!("broker: cannot connect to subscribe: {e}");
                back_off(shared, &mut backoff);
                continue;
            }
        };
        match listen_on(shared, &mut conn, commands, &mut wanted, &lost) {
            Ok(()) => return,
            Err(e) => {
                shared.connected.store(false, Ordering::Release);
                log::warn!("broker: subscriber connection lost, reconnecting: {e}");
                back_off(shared, &mut backoff);
            }
        }
    }
}

/// Applies queued subscription changes to `wanted`, calling `apply(channel, subscribe)`
/// when a channel's count goes from 0 to 1 or back.
fn apply_commands(
    commands: &Receiver<Command>,
    wanted: &mut HashMap<String, usize>,
    apply: &mut dyn FnMut(&str, bool) -> redis::RedisResult<()>,
) -> redis::RedisResult<bool> {
    let mut any = false;
    loop {
        let command = match commands.try_recv() {
            Ok(c) => c,
            Err(TryRecvError::Empty) => return Ok(any),
            Err(TryRecvError::Disconnected) => return Ok(any),
        };
        any = true;
        match command {
            Command::Subscribe(channel) => {
                let count = wanted.entry(channel.clone()).or_insert(0);
                *count += 1;
                if *count == 1 {
                    apply(&channel, true)?;
                }
            }
            Command::Unsubscribe(channel) => {
                if let Some(count) = wanted.get_mut(&channel) {
                    *count -= 1;
                    if *count == 0 {
                        wanted.remove(&channel);
                        apply(&channel, false)?;
                    }
                }
            }
        }
    }
}

/// Serves one connection until it fails (`Err`) or the broker stops (`Ok`).
fn listen_on(
    shared: &Shared,
    conn: &mut redis::Connection,
    commands: &Receiver<Command>,
    wanted: &mut HashMap<String, usize>,
    lost: &str,
) -> redis::RedisResult<()> {
    let mut ps = conn.as_pubsub();
    ps.subscribe(lost)?;
    let channels: Vec<&String> = wanted.keys().collect();
    if !channels.is_empty() {
        ps.subscribe(channels)?;
    }
    shared.connected.store(true, Ordering::Release);
    // Whatever was published while this engine was not subscribed is gone.
    dispatch(shared, None, BrokerEvent::Resync);
    let mut subscribed: HashSet<String> = wanted.keys().cloned().collect();
    ps.set_read_timeout(Some(POLL))?;
    let mut last_heard = Instant::now();
    while !shared.stop.load(Ordering::Acquire) {
        let mut newly = Vec::new();
        apply_commands(commands, wanted, &mut |channel, on| {
            if on {
                ps.subscribe(channel)?;
                subscribed.insert(channel.to_owned());
                newly.push(channel.to_owned());
            } else {
                ps.unsubscribe(channel)?;
                subscribed.remove(channel);
            }
            Ok(())
        })?;
        for channel in &newly {
            dispatch(shared, Some(channel), BrokerEvent::Subscribed { channel });
        }
        let msg = match ps.get_message() {
            Ok(msg) => msg,
            Err(e) if e.is_timeout() => {
                if last_heard.elapsed() >= PING_EVERY {
                    ps.set_read_timeout(Some(ANSWER_WITHIN))?;
                    ps.ping::<String>()?;
                    ps.set_read_timeout(Some(POLL))?;
                    last_heard = Instant::now();
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        last_heard = Instant::now();
        let channel = msg.get_channel_name();
        let Some((origin, payload)) = unframe(msg.get_payload_bytes()) else {
            log::warn!("broker: dropped a malformed publication on {channel}");
            continue;
        };
        if origin == shared.origin || (!subscribed.contains(channel) && channel != lost) {
            continue;
        }
        if channel == lost {
            dispatch(shared, None, BrokerEvent::Resync);
            continue;
        }
        if payload.len() > MAX_PAYLOAD {
            log::warn!("broker: dropped an oversized publication on {channel}");
            continue;
        }
        dispatch(
            shared,
            Some(channel),
            BrokerEvent::Message { channel, payload },
        );
    }
    Ok(())
}
