//! Connection state: the phases a socket goes through (HTTP request, WebSocket, draining
//! after a close) and the WebSocket output path with its bounded buffer.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::Shutdown;
use std::time::Instant;

use bytes::Bytes;
use ember_engine::{PresenceHandle, RoomId, Subscription, UserId};
use mio::net::TcpStream;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Error as WsError, Message, Utf8Bytes, WebSocket};

use super::http::HttpConn;
use super::socket::{Sock, Tracked};

/// Frames kept aside while tungstenite's write buffer is full (replies and replays; live
/// events wait in the engine's queue instead). Past this the client is closed with 1008.
pub const MAX_BACKLOG: usize = 2048;

/// A connection unparked this soon after being parked...
const BUSY_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);
/// ...this many times in a row is busy: it keeps its buffers until it is idle again.
const BUSY_AFTER: u8 = 4;

/// One accepted socket.
pub struct Conn {
    /// Unique for the life of the process (tokens are reused, ids are not).
    pub id: u64,
    /// When it was accepted.
    pub opened: Instant,
    /// Where it is in its life.
    pub phase: Phase,
}

/// The phases of a connection.
pub enum Phase {
    /// Reading an HTTP request or writing its response.
    Http(HttpConn),
    /// An authenticated WebSocket.
    Ws(Box<WsConn>),
    /// Our close frame is sent: discard what the peer still sends until it hangs up.
    Draining { stream: TcpStream, until: Instant },
    /// Nothing left to do: drop it.
    Done,
}

/// A room this connection is subscribed to.
pub struct RoomSub {
    /// The room.
    pub room: RoomId,
    /// The engine's replay-then-live feed.
    pub sub: Subscription,
    /// The connection's presence in the room.
    pub presence: Option<PresenceHandle>,
}

/// An authenticated WebSocket connection.
pub struct WsConn {
    /// The protocol state over the socket (parked while idle).
    pub sock: Sock,
    /// tungstenite's settings, to rebuild a parked socket.
    pub config: &'static WebSocketConfig,
    /// Last time a frame went either way.
    pub last_used: Instant,
    /// Park as soon as the connection is quiet (false while it is busy).
    pub eager_park: bool,
    /// When it was last parked.
    pub parked_at: Option<Instant>,
    /// Unparks soon after a park, in a row; a busy connection stops parking eagerly.
    quick_unparks: u8,
    /// Who is connected.
    pub user: UserId,
    /// Rooms subscribed.
    pub subs: Vec<RoomSub>,
    /// Frames waiting for room in the write buffer, oldest first.
    pub backlog: VecDeque<Message>,
    /// Since when the backlog has been non-empty.
    pub stalled_since: Option<Instant>,
    /// Last frame or pong from the client.
    pub last_seen: Instant,
    /// Last ping we sent.
    pub last_ping: Instant,
    /// Last presence refresh.
    pub last_heartbeat: Instant,
    /// Set once we queued a close frame: nothing more is sent or read.
    pub closing: bool,
    /// When the close frame was queued.
    pub closed_at: Option<Instant>,
}

/// What a write attempt left behind.
#[derive(Debug, PartialEq, Eq)]
pub enum Out {
    /// Queued (maybe not yet flushed).
    Queued,
    /// Kept in the backlog: the write buffer is full.
    Backlogged,
    /// The connection is broken or closing; drop it.
    Dead,
}

impl WsConn {
    /// A connection for `user` over an upgraded socket.
    pub fn new(
        ws: WebSocket<Tracked>,
        config: &'static WebSocketConfig,
        user: UserId,
        now: Instant,
    ) -> Self {
        Self {
            sock: Sock::Live(Box::new(ws)),
            config,
            last_used: now,
            eager_park: true,
            parked_at: None,
            quick_unparks: 0,
            user,
            subs: Vec::new(),
            backlog: VecDeque::new(),
            stalled_since: None,
            last_seen: now,
            last_ping: now,
            last_heartbeat: now,
            closing: false,
            closed_at: None,
        }
    }

    /// Queues a text frame, keeping it aside when the write buffer is full.
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Out {
        self.send(Message::Text(text.into()))
    }

    /// Queues shared frame bytes (one encoding for every subscriber).
    pub fn send_shared(&mut self, bytes: Bytes) -> Out {
        match Utf8Bytes::try_from(bytes) {
            Ok(text) => self.send(Message::Text(text)),
            Err(_) => Out::Queued,
        }
    }

    /// Queues a frame behind the backlog.
    pub fn send(&mut self, msg: Message) -> Out {
        if self.closing {
            return Out::Dead;
        }
        if !self.backlog.is_empty() {
            self.backlog.push_back(msg);
            return Out::Backlogged;
        }
        self.write(msg)
    }

    /// The WebSocket, rebuilt if it was parked.
    pub fn ws(&mut self) -> Option<&mut WebSocket<Tracked>> {
        if let (Sock::Parked(_), Some(at)) = (&self.sock, self.parked_at) {
            if at.elapsed() < BUSY_WITHIN {
                self.quick_unparks = self.quick_unparks.saturating_add(1);
                if self.quick_unparks >= BUSY_AFTER {
                    self.eager_park = false;
                }
            } else {
                self.quick_unparks = 0;
            }
        }
        self.sock.live(self.config)
    }

    /// Gives the WebSocket's buffers back if nothing is in flight; true when it did.
    pub fn park(&mut self) -> bool {
        let parked = !self.closing && self.backlog.is_empty() && self.sock.park();
        if parked {
            self.parked_at = Some(Instant::now());
        }
        parked
    }

    fn write(&mut self, msg: Message) -> Out {
        self.last_used = Instant::now();
        let Some(ws) = self.ws() else {
            return Out::Dead;
        };
        match ws.write(msg) {
            Ok(()) => Out::Queued,
            Err(WsError::WriteBufferFull(msg)) => {
                self.backlog.push_front(*msg);
                self.stalled_since.get_or_insert_with(Instant::now);
                Out::Backlogged
            }
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Out::Queued,
            Err(e) => {
                log::debug!("write failed: {e}");
                Out::Dead
            }
        }
    }

    /// Sends what is buffered, then moves the backlog into the write buffer. False when
    /// the connection broke. Never re-sends a queued frame: after `WouldBlock` it is
    /// tungstenite's to send on the next flush.
    pub fn flush(&mut self) -> bool {
        loop {
            let ws = match &mut self.sock {
                Sock::Live(ws) => ws,
                Sock::Parked(_) => return true,
                Sock::Gone => return false,
            };
            match ws.flush() {
                Ok(()) => {}
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) => {
                    log::debug!("flush failed: {e}");
                    return false;
                }
            }
            let Some(msg) = self.backlog.pop_front() else {
                self.stalled_since = None;
                return true;
            };
            match self.write(msg) {
                Out::Dead => return false,
                Out::Backlogged => return true,
                Out::Queued => {
                    if self.backlog.is_empty() {
                        self.stalled_since = None;
                    }
                }
            }
        }
    }

    /// True when no more frames should be queued for now.
    pub fn is_stalled(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// Queues a close frame (the connection sends nothing else afterwards).
    pub fn start_close(&mut self, code: CloseCode, reason: &str) {
        if self.closing {
            return;
        }
        self.backlog.clear();
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let Some(ws) = self.ws() else {
            self.closing = true;
            return;
        };
        match ws.close(Some(frame)) {
            Ok(()) => {}
            Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => log::debug!("close failed: {e}"),
        }
        self.closing = true;
        self.closed_at = Some(Instant::now());
    }

    /// True once a queued close frame has left.
    pub fn close_flushed(&mut self) -> bool {
        match self.ws() {
            Some(ws) => matches!(ws.flush(), Ok(()) | Err(WsError::ConnectionClosed)),
            None => true,
        }
    }
}

/// Reads and discards whatever the peer sends. True when it hung up or failed.
pub fn discard(stream: &mut TcpStream) -> bool {
    let mut scratch = [0u8; 1024];
    loop {
        match stream.read(&mut scratch) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// Half-closes a socket after our last byte.
pub fn finish_writing(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
}

/// Connections by token, with reuse of freed slots.
#[derive(Default)]
pub struct Slab {
    slots: Vec<Option<Conn>>,
    free: Vec<usize>,
    len: usize,
}

impl Slab {
    /// Stores a connection and returns its index.
    pub fn insert(&mut self, conn: Conn) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(conn);
                i
            }
            None => {
                self.slots.push(Some(conn));
                self.slots.len() - 1
            }
        }
    }

    /// Removes a connection.
    pub fn remove(&mut self, i: usize) -> Option<Conn> {
        let conn = self.slots.get_mut(i)?.take()?;
        self.free.push(i);
        self.len -= 1;
        Some(conn)
    }

    /// Takes a connection out to work on it; put it back with [`Slab::put_back`].
    pub fn take(&mut self, i: usize) -> Option<Conn> {
        self.slots.get_mut(i)?.take()
    }

    /// Returns a connection taken with [`Slab::take`].
    pub fn put_back(&mut self, i: usize, conn: Conn) {
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = Some(conn);
        }
    }

    /// The connection at `i`, if any.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut Conn> {
        self.slots.get_mut(i)?.as_mut()
    }

    /// How many connections are stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no connection is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Indices of every stored connection.
    pub fn indices(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].is_some())
            .collect()
    }
}

impl Slab {
    /// Frees the slot of a connection taken with [`Slab::take`] and not put back.
    pub fn release(&mut self, i: usize) {
        if self.slots.get(i).is_some_and(Option::is_none) {
            self.free.push(i);
            self.len -= 1;
        }
    }
}
