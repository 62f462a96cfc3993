//! An authenticated WebSocket's state and its output path, bounded by bytes: frames are
//! queued in the socket's [`Outbox`](super::outbox::Outbox); while more than the budget
//! waits, the connection is *over budget* (the loop stops reading its requests and
//! delivering its live events) and a stall clock runs.

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ember_engine::UserId;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tungstenite::{Error as WsError, WebSocket};

use super::feeds::RoomSub;
use super::frames::ServerFrame;
use super::socket::{Sock, Tracked};

/// A connection unparked this soon after being parked...
const BUSY_WITHIN: Duration = Duration::from_secs(1);
/// ...this many times in a row is busy: it keeps its buffers until it is idle again.
const BUSY_AFTER: u8 = 4;

/// An authenticated WebSocket connection.
pub struct WsConn {
    /// The protocol state over the socket (parked while idle).
    pub sock: Sock,
    /// tungstenite's settings, to rebuild a parked socket.
    pub config: &'static WebSocketConfig,
    /// Most bytes queued before the connection is over budget.
    budget: usize,
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
    /// The session token it was opened with: checked again when the user's sessions are
    /// revoked.
    pub token: String,
    /// Rooms subscribed.
    pub subs: Vec<RoomSub>,
    /// The client may have sent requests not read yet: its last read did not end with
    /// `WouldBlock` (reading paused while over budget, or news since).
    pub read_pending: bool,
    /// Since when the queue has been over budget, and the bytes written by then.
    stalled: Option<(Instant, u64)>,
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

impl WsConn {
    /// A connection for `user` over an upgraded socket; over budget past `budget` bytes.
    pub fn new(
        ws: WebSocket<Tracked>,
        config: &'static WebSocketConfig,
        budget: usize,
        user: UserId,
        now: Instant,
    ) -> Self {
        Self {
            sock: Sock::Live(Box::new(ws)),
            config,
            budget,
            last_used: now,
            eager_park: true,
            parked_at: None,
            quick_unparks: 0,
            user,
            token: String::new(),
            subs: Vec::new(),
            read_pending: true,
            stalled: None,
            last_seen: now,
            last_ping: now,
            last_heartbeat: now,
            closing: false,
            closed_at: None,
        }
    }

    /// Queues a typed frame. Always queued whole, even past the budget; false when the
    /// connection is closing or gone.
    pub fn send_frame(&mut self, frame: &ServerFrame<'_>) -> bool {
        self.send_pieces(frame.encode_pieces())
    }

    /// Queues one text frame whose payload comes in pieces.
    pub fn send_pieces(&mut self, pieces: Vec<Bytes>) -> bool {
        let len = pieces.iter().map(Bytes::len).sum::<usize>();
        if !self.push_header(OpCode::Data(Data::Text), len) {
            return false;
        }
        if let Some(t) = self.sock.tracked() {
            for p in pieces {
                t.out.push(p, false);
            }
        }
        self.update_stall();
        true
    }

    /// Queues a text frame whose payload is already encoded (shared by subscribers).
    pub fn send_text(&mut self, payload: Bytes) -> bool {
        self.send_raw(OpCode::Data(Data::Text), payload)
    }

    /// Queues a ping (without waking a parked connection).
    pub fn send_ping(&mut self) -> bool {
        self.send_raw(OpCode::Control(Control::Ping), Bytes::new())
    }

    fn send_raw(&mut self, opcode: OpCode, payload: Bytes) -> bool {
        if !self.push_header(opcode, payload.len()) {
            return false;
        }
        if let Some(t) = self.sock.tracked() {
            t.out.push(payload, false);
        }
        self.update_stall();
        true
    }

    /// Queues the header of a frame of `len` payload bytes; false when closing or gone.
    fn push_header(&mut self, opcode: OpCode, len: usize) -> bool {
        if self.closing {
            return false;
        }
        let Some(t) = self.sock.tracked() else {
            return false;
        };
        let header = FrameHeader {
            opcode,
            ..FrameHeader::default()
        };
        let mut head = Vec::with_capacity(10);
        if header.format(len as u64, &mut head).is_err() {
            return false;
        }
        t.out.push(Bytes::from(head), true);
        self.last_used = Instant::now();
        true
    }

    /// Bytes waiting to be sent.
    pub fn queued(&self) -> usize {
        self.sock.queued()
    }

    /// True while more than the budget waits to be sent: read no requests, deliver no
    /// live events.
    pub fn over_budget(&self) -> bool {
        self.queued() > self.budget
    }

    /// How long the connection has been over budget without sending a budget's worth.
    pub fn stalled_for(&self, now: Instant) -> Option<Duration> {
        self.stalled
            .map(|(since, _)| now.saturating_duration_since(since))
    }

    /// Starts, keeps or stops the stall clock. It restarts whenever a budget's worth was
    /// sent, so a client reading a large reply steadily is not "stalled".
    fn update_stall(&mut self) {
        if !self.over_budget() {
            self.stalled = None;
            return;
        }
        let written = self.sock.written();
        let progressed = self
            .stalled
            .is_none_or(|(_, at)| written.saturating_sub(at) >= self.budget as u64);
        if progressed {
            self.stalled = Some((Instant::now(), written));
        }
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
        let parked = !self.closing && !self.read_pending && self.sock.park();
        if parked {
            self.parked_at = Some(Instant::now());
        }
        parked
    }

    /// Writes what the socket takes. False when the connection broke.
    pub fn flush(&mut self) -> bool {
        let ok = match &mut self.sock {
            Sock::Live(ws) => match ws.flush() {
                Ok(()) => true,
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => true,
                Err(WsError::ConnectionClosed | WsError::AlreadyClosed) if self.closing => {
                    ws.get_mut().send_queued().is_ok()
                }
                Err(e) => {
                    log::debug!("flush failed: {e}");
                    false
                }
            },
            Sock::Parked(t) => t.send_queued().is_ok(),
            Sock::Gone => false,
        };
        self.update_stall();
        ok
    }

    /// Queues a close frame; nothing is sent or read afterwards. `discard` drops the
    /// frames not yet started first, so the close frame is next on the wire (a slow
    /// client gets it as soon as it reads again, not after everything it left unread).
    pub fn start_close(&mut self, code: CloseCode, reason: &str, discard: bool) {
        if self.closing {
            return;
        }
        if discard {
            if let Some(t) = self.sock.tracked() {
                t.out.drop_unsent_frames();
            }
        }
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if let Some(ws) = self.ws() {
            match ws.close(Some(frame)) {
                Ok(()) => {}
                Err(WsError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => log::debug!("close failed: {e}"),
            }
        }
        self.closing = true;
        self.closed_at = Some(Instant::now());
        self.update_stall();
    }

    /// True once a queued close frame has left.
    pub fn close_flushed(&mut self) -> bool {
        self.flush() && self.queued() == 0
    }
}
