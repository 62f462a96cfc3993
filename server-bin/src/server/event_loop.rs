//! The event loop: one thread, mio readiness, non-blocking sockets. It owns the sockets
//! (the slab of connections) and the shared state ([`Ctx`]) side by side, and hands each
//! handler the one connection it works on plus `&mut Ctx`. Engine news arrives through
//! channels plus the `mio::Waker`: pipeline completions (the writer thread calls the waker
//! after each commit), worker answers, and connections whose subscriptions have events
//! ([`super::ready`]).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ember_engine::{Completion, Engine};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use super::conn::{Conn, Phase, Slab, Who, discard};
use super::ctx::{Ctx, Reply};
use super::http::{HttpConn, HttpState, Response};
use super::protocol::{Code, Problem};
use super::ws_conn::WsConn;
use super::{Config, ShutdownHandle, api, session};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CONN: usize = 2;
/// Connections the kernel may hold for `accept` (mio's default, 128, drops SYNs when
/// hundreds of clients connect at once; a dropped SYN costs the client a 1 s retry).
const ACCEPT_BACKLOG: libc::c_int = 1024;

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
/// Free memory is also given back once this much queued output was released.
const TRIM_AFTER_RELEASED: usize = 64 * 1024 * 1024;
/// How long the shutdown waits for acknowledgements...
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// ...and then for close frames and responses to leave.
const SHUTDOWN_CLOSE: Duration = Duration::from_secs(1);

/// A bound server, ready to [`Server::run`].
pub struct Server {
    poll: Poll,
    listener: Option<TcpListener>,
    waker: Arc<Waker>,
    conns: Slab,
    next_id: u64,
    ctx: Ctx,
    last_trim: Instant,
    /// The most output queued since memory was last given back.
    output_peak: usize,
    /// When the shutdown started closing connections.
    closing_since: Option<Instant>,
    shutdown: Arc<AtomicBool>,
    local_addr: SocketAddr,
}

impl Server {
    /// Binds the port and starts the helper threads.
    pub fn bind(engine: Engine, config: Config) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(config.listen)?;
        set_backlog(&listener, ACCEPT_BACKLOG);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(Server {
            local_addr: listener.local_addr()?,
            ctx: Ctx::new(engine, config, &waker)?,
            poll,
            listener: Some(listener),
            waker,
            conns: Slab::default(),
            next_id: 1,
            last_trim: Instant::now(),
            output_peak: 0,
            closing_since: None,
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
            let wait = if self.ctx.deferred.is_empty() { 50 } else { 0 };
            match self
                .poll
                .poll(&mut events, Some(Duration::from_millis(wait)))
            {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let woke = Instant::now();
            self.ctx.slice_start = woke;
            for event in &events {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {}
                    Token(t) => self.on_ready(t - FIRST_CONN, event.is_readable()),
                }
            }
            self.on_wake();
            self.run_deferred();
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
            self.ctx.metrics.observe_iteration(woke.elapsed());
            if self.shutdown.load(Ordering::SeqCst) && self.ctx.stopping.is_none() {
                self.begin_shutdown(now);
            }
            if let Some(since) = self.ctx.stopping {
                if self.shutdown_step(now, since) {
                    return Ok(());
                }
            }
        }
    }

    /// Runs `f` on connection `who`'s phase and stores the phase it returns; frees the
    /// slot when that is [`Phase::Done`]. The connection stays in its slot throughout.
    fn step(&mut self, who: Who, f: impl FnOnce(&mut Ctx, Who, Phase) -> Phase) {
        let Some(conn) = self.conns.find(who) else {
            return;
        };
        let phase = std::mem::replace(&mut conn.phase, Phase::Done);
        conn.phase = f(&mut self.ctx, who, phase);
        if matches!(conn.phase, Phase::Done) {
            self.conns.remove(who.0);
            self.ctx.metrics.connections = self.conns.len() as u64;
        }
    }

    /// Runs `f` on WebSocket `who`, then writes, reads and delivers as the budget allows.
    fn with_ws(&mut self, who: Who, f: impl FnOnce(&mut Ctx, &mut WsConn)) {
        self.step(who, |ctx, who, phase| match phase {
            Phase::Ws(mut w) => {
                f(ctx, &mut w);
                let alive = session::pump(ctx, who, &mut w, false);
                session::next_phase(ctx, who, w, alive)
            }
            other => other,
        });
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
        if self.conns.len() >= self.ctx.config.max_connections {
            self.ctx.metrics.refused += 1;
            let p = Problem::new(Code::Overloaded, "too many connections");
            let (head, body) = Response::problem(&p).encode();
            let mut bytes = head.to_vec();
            body.iter().for_each(|b| bytes.extend_from_slice(b));
            let _ = io::Write::write_all(&mut stream, &bytes);
            return;
        }
        let _ = stream.set_nodelay(true);
        if let Some(size) = self.ctx.config.socket_send_buffer {
            set_send_buffer(&stream, size);
        }
        let id = self.next_id;
        self.next_id += 1;
        let i = self.conns.insert(Conn {
            id,
            opened: Instant::now(),
            phase: Phase::Done,
        });
        let interest = Interest::READABLE | Interest::WRITABLE;
        let registry = self.poll.registry();
        if let Err(e) = registry.register(&mut stream, Token(i + FIRST_CONN), interest) {
            log::warn!("cannot register a connection: {e}");
            self.conns.remove(i);
            return;
        }
        if let Some(c) = self.conns.get_mut(i) {
            c.phase = Phase::Http(HttpConn::new(stream, self.ctx.output.clone()));
        }
        self.ctx.metrics.accepted += 1;
        self.ctx.metrics.connections = self.conns.len() as u64;
        // The request usually arrives with the connection: serve it now, not a poll later.
        self.on_ready(i, true);
    }

    fn on_ready(&mut self, i: usize, readable: bool) {
        let Some(id) = self.conns.get_mut(i).map(|c| c.id) else {
            return;
        };
        self.step((i, id), |ctx, who, phase| match phase {
            Phase::Http(h) => api::on_ready(ctx, who, h),
            Phase::Ws(mut w) => {
                let alive = session::pump(ctx, who, &mut w, readable);
                session::next_phase(ctx, who, w, alive)
            }
            Phase::Draining { mut stream, until } => {
                if discard(&mut stream) {
                    Phase::Done
                } else {
                    Phase::Draining { stream, until }
                }
            }
            Phase::Done => Phase::Done,
        });
    }

    /// Resumes connections whose requests were put off, oldest first: at least one per
    /// iteration, more while the iteration's slice lasts.
    fn run_deferred(&mut self) {
        let mut list = std::mem::take(&mut self.ctx.deferred).into_iter();
        if let Some(first) = list.next() {
            let slice_start = self.ctx.slice_start;
            self.ctx.slice_start = Instant::now();
            self.resume(first);
            self.ctx.slice_start = slice_start;
        }
        for who in list.by_ref() {
            if self.ctx.out_of_slice() {
                self.ctx.deferred.push(who);
                continue;
            }
            self.resume(who);
        }
    }

    fn resume(&mut self, who: Who) {
        self.step(who, |ctx, who, phase| match phase {
            Phase::Http(h) => api::on_ready(ctx, who, h),
            Phase::Ws(mut w) => {
                let alive = session::pump(ctx, who, &mut w, false);
                session::next_phase(ctx, who, w, alive)
            }
            other => other,
        });
    }

    /// Everything that arrives through the waker.
    fn on_wake(&mut self) {
        while let Ok(c) = self.ctx.pipeline.completions().try_recv() {
            self.on_completion(c);
        }
        while let Ok((who, response)) = self.ctx.worker.done.try_recv() {
            self.answer_http(who, response);
        }
        for who in self.ctx.ready.take() {
            self.with_ws(who, |_, _| {});
        }
    }

    /// Answers a committed (or failed) write.
    fn on_completion(&mut self, c: Completion) {
        let Some(pending) = self.ctx.tickets.remove(&c.ticket) else {
            return;
        };
        if let Ok(ember_engine::Response::Posted(p)) = &c.result {
            let m = &mut self.ctx.metrics;
            m.posts += 1;
            m.dedup_hits += u64::from(p.duplicate);
            m.acks.observe(pending.started.elapsed());
        }
        match pending.reply {
            Reply::Http => self.answer_http(pending.who, api::posted_response(c.result)),
            Reply::Ws => self.with_ws(pending.who, |ctx, w| {
                session::ack(ctx, w, &c, &pending.reference);
            }),
        }
    }

    /// Delivers a response that was prepared elsewhere (worker, pipeline).
    fn answer_http(&mut self, who: Who, resp: Response) {
        self.step(who, |ctx, who, phase| match phase {
            Phase::Http(h) => api::respond(ctx, who, h, resp),
            other => other,
        });
    }

    fn sweep_all(&mut self) {
        for who in self.conns.all() {
            self.with_ws(who, |_, _| {});
        }
    }

    /// Forwards the user-level events that arrived since the last sweep.
    fn sweep_users(&mut self) {
        let swept = self.ctx.users.sweep(&self.ctx.engine);
        for (conns, access) in swept.access {
            for who in conns {
                self.with_ws(who, |ctx, w| session::check_access(ctx, w, access));
            }
        }
        for (conns, notes) in swept.notes {
            for who in conns {
                self.with_ws(who, |ctx, w| {
                    for n in &notes {
                        let skip = n
                            .skip_subscribers_of
                            .is_some_and(|r| w.subs.iter().any(|sub| sub.room == r));
                        if !skip && w.send_text(n.frame.clone()) {
                            ctx.metrics.frames_out += 1;
                        }
                    }
                });
            }
        }
    }

    fn tick(&mut self, now: Instant) {
        for who in self.conns.all() {
            let Some(opened) = self.conns.find(who).map(|c| c.opened) else {
                continue;
            };
            self.step(who, |ctx, who, phase| match phase {
                Phase::Http(h) => {
                    let waiting = h.state == HttpState::Waiting;
                    if !waiting && now - opened > ctx.config.request_timeout {
                        ctx.metrics.timed_out += 1;
                        Phase::Done
                    } else {
                        Phase::Http(h)
                    }
                }
                Phase::Ws(w) => session::tick(ctx, who, w, now),
                Phase::Draining { until, .. } if now >= until => Phase::Done,
                other => other,
            });
        }
        let queued = self.ctx.output.total();
        self.output_peak = self.output_peak.max(queued);
        let parked = self.ctx.parked_since_trim >= TRIM_AFTER_PARKED;
        let released = self.output_peak - queued >= TRIM_AFTER_RELEASED;
        if (parked || released) && now - self.last_trim > TRIM_EVERY {
            self.ctx.parked_since_trim = 0;
            self.output_peak = queued;
            self.last_trim = now;
            give_back_free_memory();
        }
    }

    fn begin_shutdown(&mut self, now: Instant) {
        log::info!("shutting down: no new connections");
        if let Some(mut l) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut l);
        }
        self.ctx.stopping = Some(now);
    }

    /// One step of the shutdown; true when it is complete: once the writes received are
    /// acknowledged, every WebSocket gets a 1001 close frame, and connections whose last
    /// byte is out are dropped; whatever is left after [`SHUTDOWN_CLOSE`] is dropped too.
    fn shutdown_step(&mut self, now: Instant, since: Instant) -> bool {
        let acks_done = self.ctx.tickets.is_empty() || now - since > SHUTDOWN_GRACE;
        if !acks_done {
            return false;
        }
        let closing_since = *self.closing_since.get_or_insert(now);
        for who in self.conns.all() {
            self.with_ws(who, |_, w| session::close_for_shutdown(w));
            self.step(who, |_, _, phase| match phase {
                Phase::Http(h) if h.state == HttpState::Reading => Phase::Done,
                Phase::Draining { mut stream, .. } => {
                    // Read what the peer sent so closing sends a FIN, not a reset.
                    discard(&mut stream);
                    Phase::Done
                }
                other => other,
            });
        }
        self.conns.is_empty() || now - closing_since > SHUTDOWN_CLOSE
    }
}

/// Raises the listening socket's accept backlog (the kernel caps it at `somaxconn`).
fn set_backlog(listener: &TcpListener, backlog: libc::c_int) {
    use std::os::fd::AsRawFd;
    // SAFETY: the fd is a bound, listening socket for the duration of the call; calling
    // listen again only changes its backlog.
    if unsafe { libc::listen(listener.as_raw_fd(), backlog) } != 0 {
        log::debug!("listen backlog: {}", io::Error::last_os_error());
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

/// Returns the allocator's free pages to the system: parked connections free their buffers
/// in the middle of the heap, where they would otherwise stay resident.
fn give_back_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
