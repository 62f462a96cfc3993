//! The server: one mio event loop serving HTTP and WebSocket on one port.
//!
//! The loop owns the sockets; everything else a handler needs is in [`ctx::Ctx`], passed
//! as `&mut Ctx` next to the one connection being worked on.

pub mod api; // HTTP endpoints and the WebSocket upgrade
pub mod client_api; // the HTTP endpoints the web client needs beside the WebSocket
pub mod conn; // a connection's phases and the slab of connections
pub mod credentials; // who an HTTP request comes from (session token or bot key)
pub mod ctx; // the shared state handlers use: engine, pipeline, users, metrics, config
pub mod delivery; // engine events into a connection's output, within its budget
pub mod event_loop; // readiness, accepting, timers, shutdown; owns the slab and the Ctx
pub mod feeds; // the engine's live feeds (room and user subscriptions), in one place
pub mod frames; // every frame the server sends, typed (ServerFrame, RoomJson, MessageJson)
pub mod http; // HTTP/1.1 request parsing and responses
pub mod metrics; // counters and their Prometheus rendering
pub mod outbox; // a connection's output queue and the total of all queues
pub mod protocol; // frames clients send (ClientFrame) and errors (Problem)
pub mod ready; // how engine events wake the loop
pub mod session; // a WebSocket's life: open, read with backpressure, deliver, tick, close
pub mod socket; // tungstenite over the socket, parking idle connections
pub mod users; // per-user room-list events shared by a user's connections
pub mod web; // the web client's files, embedded, with their Content-Security-Policy
pub mod webhooks; // calls bots' webhooks
pub mod who; // how a connection is named outside the loop
pub mod worker; // the thread for slow requests (logins, session writes)
pub mod ws; // the WebSocket operations, one handler per client frame
pub mod ws_conn; // a WebSocket's state and its byte-bounded output

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mio::Waker;

pub use event_loop::Server;

/// How the server behaves. [`Config::new`] gives the production values.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Most open connections; more are refused.
    pub max_connections: usize,
    /// The server pings a WebSocket this often.
    pub ping_interval: Duration,
    /// A WebSocket silent for this long is dropped.
    pub idle_timeout: Duration,
    /// An HTTP request (or upgrade) must arrive completely within this.
    pub request_timeout: Duration,
    /// tungstenite's read buffer per connection.
    pub read_buffer: usize,
    /// A connection's output budget in bytes: while more waits to be sent, the server
    /// reads no more of its requests and delivers no live events to it. One reply may
    /// exceed it (it is queued whole).
    pub max_write_buffer: usize,
    /// A WebSocket whose output stays over budget this long (without sending a budget's
    /// worth) is closed with 1008.
    pub stall_timeout: Duration,
    /// Most bytes queued across all connections: past it, requests whose answer may be
    /// large (history, search, replays, message pages) get `overloaded`.
    pub max_output: usize,
    /// Largest frame or message accepted from a client; bigger closes with 1009.
    pub max_message: usize,
    /// `SO_SNDBUF` of accepted sockets; `None` keeps the kernel's autotuning.
    pub socket_send_buffer: Option<usize>,
}

impl Config {
    /// Production values for `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            max_connections: 20_000,
            ping_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(10),
            read_buffer: 4096,
            max_write_buffer: 256 * 1024,
            stall_timeout: Duration::from_secs(5),
            max_output: 512 * 1024 * 1024,
            max_message: 64 * 1024,
            socket_send_buffer: None,
        }
    }
}

/// Asks a running server to shut down; usable from any thread (e.g. a signal handler thread).
#[derive(Clone)]
pub struct ShutdownHandle {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl ShutdownHandle {
    /// Starts the shutdown: stop accepting, close WebSockets with 1001, drain, return.
    pub fn shutdown(&self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Err(e) = self.waker.wake() {
            log::error!("cannot wake the event loop: {e}");
        }
    }
}
