//! A connection as the loop sees it: its id, its phase (HTTP request, WebSocket, draining
//! after a close), and the slab that holds every connection by token.

use std::io::{self, Read};
use std::net::Shutdown;
use std::time::Instant;

use mio::net::TcpStream;

use super::http::HttpConn;
pub use super::who::Who;
use super::ws_conn::WsConn;

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
    /// Our last byte is sent: discard what the peer still sends until it hangs up.
    Draining {
        /// The socket.
        stream: TcpStream,
        /// When to drop it anyway.
        until: Instant,
    },
    /// Nothing left to do: drop it.
    Done,
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

    /// The connection at `i`, if any.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut Conn> {
        self.slots.get_mut(i)?.as_mut()
    }

    /// The connection `who`, if it is still the one in its slot.
    pub fn find(&mut self, who: Who) -> Option<&mut Conn> {
        self.get_mut(who.0).filter(|c| c.id == who.1)
    }

    /// How many connections are stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no connection is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every stored connection.
    pub fn all(&self) -> Vec<Who> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_ref().map(|c| (i, c.id)))
            .collect()
    }
}
