//! The server: one mio event loop serving HTTP and WebSocket on one port.
//!
//! - [`event_loop`]: readiness, accepting, timers, shutdown.
//! - [`conn`]: the state of each connection and its bounded output.
//! - [`http`] and [`api`]: parsing requests and the HTTP endpoints; [`client_api`]: the
//!   endpoints the web client needs beside the WebSocket.
//! - [`ws`]: the WebSocket protocol's operations and event delivery.
//! - [`protocol`]: the JSON frames; [`web`]: the web client's embedded files.
//! - [`ready`]: how engine events wake the loop; [`worker`]: the thread for slow requests;
//!   [`webhooks`]: calls bots' webhooks.

pub mod api;
pub mod client_api;
pub mod conn;
pub mod event_loop;
pub mod http;
pub mod metrics;
pub mod protocol;
pub mod ready;
pub mod session;
pub mod socket;
pub mod users;
pub mod web;
pub mod webhooks;
pub mod worker;
pub mod ws;

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
    /// Most bytes waiting to be sent to one WebSocket.
    pub max_write_buffer: usize,
    /// A client whose output stays full this long is closed with 1008.
    pub stall_timeout: Duration,
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
