//! What every handler may use besides its own connection: the engine, the write pipeline
//! and who waits for its tickets, the connected users, the worker thread, the metrics, the
//! configuration and the output gauge. Handlers take `&mut Ctx` next to the connection
//! they work on; the loop (`event_loop`) owns both, apart.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ember_engine::{Engine, Pipeline};
use mio::Waker;
use tungstenite::protocol::WebSocketConfig;

use super::Config;
use super::frames::Ref;
use super::metrics::Metrics;
use super::outbox::OutputGauge;
use super::protocol::{Code, Problem};
use super::ready::Ready;
use super::users::Users;
use super::webhooks::Webhooks;
use super::who::Who;
use super::worker::Worker;

/// Work one loop iteration does before it puts off reading more requests to the next one,
/// so that cheap requests (`/health`, `/metrics`, posts) never wait behind many large
/// replies being built.
const SLICE: Duration = Duration::from_millis(5);

/// Who waits for a pipeline ticket.
pub struct Pending {
    /// The connection.
    pub who: Who,
    /// The request's `ref`.
    pub reference: Ref,
    /// How to answer.
    pub reply: Reply,
    /// When the request arrived (for the ack latency histogram).
    pub started: Instant,
}

/// The kind of answer a ticket gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A WebSocket `ack`.
    Ws,
    /// An HTTP `201` with the message.
    Http,
}

/// The server's shared state, apart from the sockets.
pub struct Ctx {
    /// The engine.
    pub engine: Engine,
    /// The write pipeline (its completions wake the loop).
    pub pipeline: Pipeline,
    /// Pipeline tickets and who waits for them.
    pub tickets: HashMap<u64, Pending>,
    /// Connected users and their room-list feeds.
    pub users: Users,
    /// Connections whose subscriptions have news.
    pub ready: Arc<Ready>,
    /// The thread for slow HTTP requests.
    pub worker: Worker,
    /// The webhook thread (kept alive with the server).
    _webhooks: Webhooks,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// How the server behaves.
    pub config: Config,
    /// tungstenite's settings, shared by every WebSocket for the life of the process.
    pub ws_config: &'static WebSocketConfig,
    /// Every byte queued for any connection.
    pub output: OutputGauge,
    /// When the server started.
    pub started: Instant,
    /// The database's epoch.
    pub epoch: String,
    /// Set when the shutdown began.
    pub stopping: Option<Instant>,
    /// Connections parked since memory was last given back to the system.
    pub parked_since_trim: usize,
    /// When the loop's current iteration started its work.
    pub slice_start: Instant,
    /// Connections whose requests were put off to a later iteration.
    pub deferred: Vec<Who>,
}

impl Ctx {
    /// The state of a server over `engine`; engine news wakes the loop through `waker`.
    pub fn new(engine: Engine, config: Config, waker: &Arc<Waker>) -> std::io::Result<Ctx> {
        let notify = waker.clone();
        let pipeline = engine.pipeline().with_notify(move || {
            let _ = notify.wake();
        });
        Ok(Ctx {
            ready: Ready::new(waker.clone()),
            worker: Worker::start(engine.clone(), waker.clone())?,
            _webhooks: Webhooks::start(engine.clone())?,
            epoch: engine.epoch().to_string(),
            users: Users::default(),
            pipeline,
            tickets: HashMap::new(),
            metrics: Metrics::default(),
            ws_config: Box::leak(Box::new(ws_config(&config))),
            output: OutputGauge::default(),
            engine,
            config,
            started: Instant::now(),
            stopping: None,
            parked_since_trim: 0,
            slice_start: Instant::now(),
            deferred: Vec::new(),
        })
    }

    /// True once this loop iteration has worked for its slice: put off reading requests
    /// that may be large (the loop comes back to them after a fresh poll).
    pub fn out_of_slice(&self) -> bool {
        self.slice_start.elapsed() > SLICE
    }

    /// Refuses a request whose answer may be large while the total queued output is over
    /// `Config::max_output`: the client gets `overloaded` and nothing is built.
    pub fn admit_expensive(&mut self) -> Result<(), Problem> {
        if self.output.total() <= self.config.max_output {
            return Ok(());
        }
        self.metrics.overloaded += 1;
        Err(Problem::new(
            Code::Overloaded,
            "the server's output is full; retry later",
        ))
    }
}

/// tungstenite's settings for a server configuration. Its write buffer never holds more
/// than one frame: the output queue is the connection's `Outbox`.
fn ws_config(c: &Config) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(c.read_buffer)
        .write_buffer_size(0)
        .max_message_size(Some(c.max_message))
        .max_frame_size(Some(c.max_message))
}
