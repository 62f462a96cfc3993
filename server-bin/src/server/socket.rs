//! A WebSocket that gives its buffers back while idle.
//!
//! tungstenite keeps a read buffer (and a write buffer that never shrinks) per connection.
//! An idle connection is "parked": only its `TcpStream` is kept, and the WebSocket is rebuilt
//! with `WebSocket::from_raw_socket` when the connection is next used. That is only safe at a
//! frame boundary with no fragmented message open, so the stream tracks the frame headers
//! of everything it hands to tungstenite.
//!
//! Output never waits inside tungstenite: [`Tracked`] takes every byte tungstenite writes
//! (pongs, pings, the close frame) into the connection's [`Outbox`], where the server's own
//! frames are queued too, so the queue's length is exactly what waits for the client.

use std::io::{self, Read, Write};

use bytes::Bytes;
use mio::net::TcpStream;
use tungstenite::WebSocket;
use tungstenite::protocol::{Role, WebSocketConfig};

use super::outbox::Outbox;

/// Where the client's byte stream is relative to WebSocket frames.
#[derive(Debug, Default, Clone)]
pub struct Boundary {
    header: [u8; 14],
    have: usize,
    payload_left: u64,
    message_open: bool,
}

impl Boundary {
    /// Accounts for bytes read from the client.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.payload_left > 0 {
                let n = data
                    .len()
                    .min(usize::try_from(self.payload_left).unwrap_or(usize::MAX));
                self.payload_left -= n as u64;
                data = &data[n..];
                continue;
            }
            self.header[self.have] = data[0];
            self.have += 1;
            data = &data[1..];
            if let Some(len) = self.header_done() {
                let b0 = self.header[0];
                if b0 & 0x0F < 8 {
                    self.message_open = b0 & 0x80 == 0;
                }
                self.payload_left = len;
                self.have = 0;
            }
        }
    }

    /// The payload length once the whole header is in.
    fn header_done(&self) -> Option<u64> {
        if self.have < 2 {
            return None;
        }
        let len7 = self.header[1] & 0x7F;
        let ext = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
        if self.have < 2 + ext + mask {
            return None;
        }
        let len = match ext {
            0 => u64::from(len7),
            n => self.header[2..2 + n]
                .iter()
                .fold(0u64, |acc, b| acc << 8 | u64::from(*b)),
        };
        Some(len)
    }

    /// True between frames and outside fragmented messages.
    pub fn at_rest(&self) -> bool {
        self.have == 0 && self.payload_left == 0 && !self.message_open
    }
}

/// The socket under tungstenite, watching frame boundaries and holding the output queue.
pub struct Tracked {
    /// The socket.
    pub stream: TcpStream,
    /// The client's frame position.
    pub boundary: Boundary,
    /// Everything waiting to be sent, in order.
    pub out: Outbox,
}

impl Tracked {
    /// Writes the queue as far as the socket takes it; an error only when the socket failed.
    pub fn send_queued(&mut self) -> io::Result<()> {
        self.out.write_to(&mut self.stream)
    }
}

impl Read for Tracked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.boundary.feed(&buf[..n]);
        Ok(n)
    }
}

/// tungstenite writes whole frames here; they are queued, never refused.
impl Write for Tracked {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.push(Bytes::copy_from_slice(buf), true);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_queued()
    }
}

/// A WebSocket that is either in use or parked.
pub enum Sock {
    /// Buffers allocated (boxed: a parked connection carries only the socket).
    Live(Box<WebSocket<Tracked>>),
    /// Only the socket is kept.
    Parked(Tracked),
    /// Transient, while switching.
    Gone,
}

impl Sock {
    /// The WebSocket, rebuilt if it was parked. `None` only after [`Sock::into_stream`].
    pub fn live(&mut self, config: &WebSocketConfig) -> Option<&mut WebSocket<Tracked>> {
        if let Sock::Parked(_) = self {
            if let Sock::Parked(t) = std::mem::replace(self, Sock::Gone) {
                let ws = WebSocket::from_raw_socket(t, Role::Server, Some(*config));
                *self = Sock::Live(Box::new(ws));
            }
        }
        match self {
            Sock::Live(ws) => Some(ws),
            _ => None,
        }
    }

    /// Drops the WebSocket's buffers if the client is between messages and everything
    /// queued was sent; true when it did. The caller makes sure tungstenite holds no
    /// request it has read but not parsed (its last read ended with `WouldBlock`).
    pub fn park(&mut self) -> bool {
        let Sock::Live(ws) = self else {
            return false;
        };
        if !ws.get_ref().boundary.at_rest() || !ws.can_write() || ws.flush().is_err() {
            return false;
        }
        if !ws.get_ref().out.is_empty() {
            return false;
        }
        if let Sock::Live(ws) = std::mem::replace(self, Sock::Gone) {
            *self = Sock::Parked(ws.into_inner());
        }
        true
    }

    /// The socket and its output queue, live or parked.
    pub fn tracked(&mut self) -> Option<&mut Tracked> {
        match self {
            Sock::Live(ws) => Some(ws.get_mut()),
            Sock::Parked(t) => Some(t),
            Sock::Gone => None,
        }
    }

    /// Bytes queued for the client.
    pub fn queued(&self) -> usize {
        match self {
            Sock::Live(ws) => ws.get_ref().out.len(),
            Sock::Parked(t) => t.out.len(),
            Sock::Gone => 0,
        }
    }

    /// Bytes written to the client so far.
    pub fn written(&self) -> u64 {
        match self {
            Sock::Live(ws) => ws.get_ref().out.written(),
            Sock::Parked(t) => t.out.written(),
            Sock::Gone => 0,
        }
    }

    /// The socket, giving up the WebSocket.
    pub fn into_stream(self) -> Option<TcpStream> {
        match self {
            Sock::Live(ws) => Some(ws.into_inner().stream),
            Sock::Parked(t) => Some(t.stream),
            Sock::Gone => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut f = vec![(u8::from(fin) << 7) | opcode];
        match len {
            0..=125 => f.push(0x80 | len as u8),
            126..=65535 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&[1, 2, 3, 4]);
        f.extend(std::iter::repeat_n(b'x', len));
        f
    }

    #[test]
    fn boundary_follows_frames_split_anywhere() {
        let mut bytes = frame(true, 1, 5);
        bytes.extend(frame(true, 1, 300));
        bytes.extend(frame(true, 2, 70_000));
        for split in [1, 3, 7, 100, 5000] {
            let mut b = Boundary::default();
            for chunk in bytes.chunks(split) {
                b.feed(chunk);
            }
            assert!(b.at_rest(), "split {split}");
        }
        let mut b = Boundary::default();
        b.feed(&bytes[..bytes.len() - 1]);
        assert!(!b.at_rest());
    }

    #[test]
    fn a_fragmented_message_is_not_at_rest_until_its_last_frame() {
        let mut b = Boundary::default();
        b.feed(&frame(false, 1, 10));
        assert!(!b.at_rest());
        b.feed(&frame(true, 9, 0)); // a ping in between
        assert!(!b.at_rest());
        b.feed(&frame(true, 0, 10));
        assert!(b.at_rest());
    }
}
