//! The event loop: one thread, mio readiness, non-blocking sockets. Engine news arrives
//! through channels plus the `mio::Waker`: pipeline completions (the writer thread calls the
//! waker after each commit), worker answers, and connections whose subscriptions have
//! events ([`super::ready`]).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ember_engine::{Engine, Pipeline};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::protocol::frame::coding::CloseCode;

use super::conn::{Conn, Phase, Slab};
use super::http::{HttpConn, Response};
use super::metrics::Metrics;
use super::ready::Ready;
use super::users::Users;
use super::worker::{Who, Worker};
use super::ws::Pending;
use super::{Config, ShutdownHandle};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONN: usize = 2;

/// Every subscription is swept this often even without news (a safety net).
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// User-level events (unread counts, rooms joined) are coalesced over this period.
const USER_SWEEP_EVERY: Duration = Duration::from_millis(100);
/// Timeouts and pings are checked this often.
const TICK_EVERY: Duration = Duration::from_millis(200);
/// Free memory is given back to the system after this many connections parked...
const TRIM_AFTER_PARKED: usize = 64;
/// ...at most this often.
const TRIM_EVERY: Duration = Duration::from_secs(5);
/// How long the shutdown waits for acknowledgements and then for closes.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A bound server, ready to [`Server::run`].
pub struct Server {
    pub(crate) poll: Poll,
    pub(crate) listener: Option<TcpListener>,
    pub(crate) waker: Arc<Waker>,
    pub(crate) engine: Engine,
    pub(crate) pipeline: Pipeline,
    pub(crate) conns: Slab,
    pub(crate) next_id: u64,
    pub(crate) users: Users,
    /// Pipeline tickets and who waits for them.
    pub(crate) tickets: HashMap<u64, Pending>,
    pub(crate) ready: Arc<Ready>,
    pub(crate) worker: Worker,
    _webhooks: super::webhooks::Webhooks,
    pub(crate) metrics: Metrics,
    pub(crate) config: Config,
    /// tungstenite's settings, shared by every WebSocket for the life of the process.
    pub(crate) ws_config: &'static WebSocketConfig,
    pub(crate) started: Instant,
    pub(crate) epoch: String,
    pub(crate) stopping: Option<Instant>,
    /// Connections parked since memory was last given back to the system.
    pub(crate) parked_since_trim: usize,
    last_trim: Instant,
    shutdown: Arc<AtomicBool>,
    local_addr: SocketAddr,
}

impl Server {
    /// Binds the port and starts the helper threads.
    pub fn bind(engine: Engine, config: Config) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(config.listen)?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let notify = waker.clone();
        let pipeline = engine.pipeline().with_notify(move || {
            let _ = notify.wake();
        });
        Ok(Server {
            local_addr: listener.local_addr()?,
            ready: Ready::new(waker.clone()),
            worker: Worker::start(engine.clone(), waker.clone())?,
            _webhooks: super::webhooks::Webhooks::start(engine.clone())?,
            epoch: engine.epoch().to_string(),
            users: Users::default(),
            poll,
            listener: Some(listener),
            waker,
            engine,
            pipeline,
            conns: Slab::default(),
            next_id: 1,
            tickets: HashMap::new(),
            metrics: Metrics::default(),
            ws_config: Box::leak(Box::new(ws_config(&config))),
            config,
            started: Instant::now(),
            stopping: None,
            parked_since_trim: 0,
            last_trim: Instant::now(),
            shutdown: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops [`Server::run`] from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            flag: self.shutdown.clone(),
            waker: self.waker.clone(),
        }
    }

    /// Serves until shut down; returns once every connection is closed.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let (mut last_sweep, mut last_user_sweep, mut last_tick) =
            (Instant::now(), Instant::now(), Instant::now());
        loop {
            match self.poll.poll(&mut events, Some(Duration::from_millis(50))) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let woke = Instant::now();
            for event in &events {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {}
                    Token(t) => {
                        self.on_ready(t - FIRST_CONN, event.is_readable(), event.is_writable())
                    }
                }
            }
            self.on_wake();
            let now = Instant::now();
            if now - last_sweep >= SWEEP_EVERY {
                last_sweep = now;
                self.sweep_all();
            }
            if now - last_user_sweep >= USER_SWEEP_EVERY {
                last_user_sweep = now;
                self.sweep_users();
            }
            if now - last_tick >= TICK_EVERY {
                last_tick = now;
                self.tick(now);
            }
            self.metrics.observe_iteration(woke.elapsed());
            if self.shutdown.load(Ordering::SeqCst) && self.stopping.is_none() {
                self.begin_shutdown(now);
            }
            if let Some(since) = self.stopping {
                if self.shutdown_step(now, since) {
                    return Ok(());
                }
            }
        }
    }

    fn accept_all(&mut self) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, _)) => self.admit(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // e.g. out of file descriptors: log and try again on the next event.
                    log::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut stream: TcpStream) {
        if self.conns.len() >= self.config.max_connections {
            self.metrics.refused += 1;
            let busy = Response::typed(503, "text/plain", "too many connections\n").encode();
            let _ = io::Write::write(&mut stream, &busy);
            return;
        }
        let _ = stream.set_nodelay(true);
        if let Some(size) = self.config.socket_send_buffer {
            set_send_buffer(&stream, size);
        }
        let id = self.next_id;
        self.next_id += 1;
        let interest = Interest::READABLE | Interest::WRITABLE;
        let conn = Conn {
            id,
            opened: Instant::now(),
            phase: Phase::Done,
        };
        let i = self.conns.insert(conn);
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, Token(i + FIRST_CONN), interest)
        {
            log::warn!("cannot register a connection: {e}");
            self.conns.remove(i);
            return;
        }
        if let Some(c) = self.conns.get_mut(i) {
            c.phase = Phase::Http(HttpConn::new(stream));
        }
        self.metrics.accepted += 1;
    }

    fn on_ready(&mut self, i: usize, readable: bool, writable: bool) {
        let Some(mut conn) = self.conns.take(i) else {
            return;
        };
        let who = (i, conn.id);
        let phase = std::mem::replace(&mut conn.phase, Phase::Done);
        conn.phase = match phase {
            Phase::Http(h) => self.on_http(who, h, readable),
            Phase::Ws(mut w) => {
                if self.on_ws_ready(who, &mut w, readable, writable) {
                    self.after_close_check(who, w)
                } else {
                    self.end_ws(who, w)
                }
            }
            Phase::Draining { mut stream, until } => {
                if super::conn::discard(&mut stream) {
                    Phase::Done
                } else {
                    Phase::Draining { stream, until }
                }
            }
            Phase::Done => Phase::Done,
        };
        self.settle(i, conn);
    }

    /// Puts a connection back, or frees its slot when it is finished.
    pub(crate) fn settle(&mut self, i: usize, conn: Conn) {
        if matches!(conn.phase, Phase::Done) {
            self.conns.release(i);
        } else {
            self.conns.put_back(i, conn);
        }
    }

    /// Everything that arrives through the waker.
    fn on_wake(&mut self) {
        while let Ok(c) = self.pipeline.completions().try_recv() {
            self.on_completion(c);
        }
        while let Ok((who, response)) = self.worker.done.try_recv() {
            self.answer_http(who, response);
        }
        for who in self.ready.take() {
            self.with_ws(who, |s, _, w| s.deliver(w));
        }
    }

    fn sweep_all(&mut self) {
        for i in self.conns.indices() {
            let Some(id) = self.conns.get_mut(i).map(|c| c.id) else {
                continue;
            };
            self.with_ws((i, id), |s, _, w| s.deliver(w));
        }
    }

    /// Runs `f` on a live WebSocket connection; drops the connection when `f` says it died.
    pub(crate) fn with_ws(
        &mut self,
        who: Who,
        f: impl FnOnce(&mut Self, Who, &mut super::conn::WsConn) -> bool,
    ) {
        let (i, id) = who;
        if !self
            .conns
            .get_mut(i)
            .is_some_and(|c| c.id == id && matches!(c.phase, Phase::Ws(_)))
        {
            return;
        }
        let Some(mut conn) = self.conns.take(i) else {
            return;
        };
        if let Phase::Ws(mut w) = std::mem::replace(&mut conn.phase, Phase::Done) {
            conn.phase = if f(self, who, &mut w) && w.flush() {
                self.after_close_check(who, w)
            } else {
                self.end_ws(who, w)
            };
        }
        self.settle(i, conn);
    }

    fn tick(&mut self, now: Instant) {
        for i in self.conns.indices() {
            let Some(mut conn) = self.conns.take(i) else {
                continue;
            };
            let who = (i, conn.id);
            let phase = std::mem::replace(&mut conn.phase, Phase::Done);
            conn.phase = match phase {
                Phase::Http(h) => {
                    let waiting = matches!(h.state, super::http::HttpState::Waiting);
                    if !waiting && now - conn.opened > self.config.request_timeout {
                        self.metrics.timed_out += 1;
                        Phase::Done
                    } else {
                        Phase::Http(h)
                    }
                }
                Phase::Ws(w) => self.tick_ws(who, w, now),
                Phase::Draining { until, .. } if now >= until => Phase::Done,
                other => other,
            };
            self.settle(i, conn);
        }
        if self.parked_since_trim >= TRIM_AFTER_PARKED && now - self.last_trim > TRIM_EVERY {
            self.parked_since_trim = 0;
            self.last_trim = now;
            give_back_free_memory();
        }
    }

    fn begin_shutdown(&mut self, now: Instant) {
        log::info!("shutting down: no new connections");
        if let Some(mut l) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut l);
        }
        self.stopping = Some(now);
    }

    /// One step of the shutdown; true when it is complete.
    fn shutdown_step(&mut self, now: Instant, since: Instant) -> bool {
        let acks_done = self.tickets.is_empty() || now - since > SHUTDOWN_GRACE;
        if acks_done {
            for i in self.conns.indices() {
                let Some(id) = self.conns.get_mut(i).map(|c| c.id) else {
                    continue;
                };
                self.close_http_idle(i);
                self.with_ws((i, id), |_, _, w| {
                    w.start_close(CloseCode::Away, "server shutting down");
                    true
                });
            }
        }
        self.conns.is_empty() || now - since > 2 * SHUTDOWN_GRACE
    }

    fn close_http_idle(&mut self, i: usize) {
        let Some(conn) = self.conns.get_mut(i) else {
            return;
        };
        if let Phase::Http(h) = &conn.phase {
            if h.state == super::http::HttpState::Reading {
                conn.phase = Phase::Done;
                if let Some(c) = self.conns.take(i) {
                    self.settle(i, c);
                }
            }
        }
    }

    /// Open connections (HTTP and WebSocket).
    pub(crate) fn connection_count(&self) -> usize {
        self.conns.len()
    }
}

/// Sets `SO_SNDBUF` (the kernel may round it).
fn set_send_buffer(stream: &TcpStream, size: usize) {
    use std::os::fd::AsRawFd;
    let size = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    // SAFETY: the fd is open for the duration of the call and the option value is a c_int
    // that lives across it.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        log::debug!("SO_SNDBUF: {}", io::Error::last_os_error());
    }
}

/// tungstenite's settings for a server configuration.
fn ws_config(c: &Config) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(c.read_buffer)
        .write_buffer_size(c.read_buffer)
        .max_write_buffer_size(c.max_write_buffer)
        .max_message_size(Some(c.max_message))
        .max_frame_size(Some(c.max_message))
}

/// Returns the allocator's free pages to the system: parked connections free their buffers
/// in the middle of the heap, where they would otherwise stay resident.
fn give_back_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
