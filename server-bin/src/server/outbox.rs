//! Bytes waiting to be written to one socket: the connection's output queue. Every byte
//! queued anywhere in the server is also counted in one shared [`OutputGauge`], so the loop
//! can bound the total (`Config::max_output`) as well as each connection
//! (`Config::max_write_buffer`).

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

/// Most slices handed to one vectored write.
const MAX_SLICES: usize = 64;
/// Size of the pieces a large reply is built in: each is freed as soon as it is written.
pub const PIECE: usize = 64 * 1024;

/// Builds a large output (a page of messages) in separate pieces of [`PIECE`] bytes, so
/// the memory of what a client has read is given back while the rest waits.
#[derive(Default)]
pub struct Pieces {
    done: Vec<Bytes>,
    current: Vec<u8>,
    len: usize,
}

impl Pieces {
    /// The pieces, in order.
    pub fn finish(mut self) -> Vec<Bytes> {
        if !self.current.is_empty() {
            self.done.push(Bytes::from(self.current));
        }
        self.done
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Write for Pieces {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let n = buf.len();
        self.len += n;
        while !buf.is_empty() {
            if self.current.capacity() == 0 {
                self.current.reserve_exact(PIECE);
            }
            let room = PIECE - self.current.len();
            let take = room.min(buf.len());
            self.current.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if self.current.len() == PIECE {
                self.done
                    .push(Bytes::from(std::mem::take(&mut self.current)));
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The total memory held by every connection's queued output, in bytes (a piece partly
/// written counts whole until it is done). Cheap to clone; all clones share one count.
#[derive(Clone, Debug, Default)]
pub struct OutputGauge(Arc<AtomicUsize>);

impl OutputGauge {
    /// Bytes queued across all connections right now.
    pub fn total(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, n: usize) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    fn sub(&self, n: usize) {
        self.0.fetch_sub(n, Ordering::Relaxed);
    }
}

/// A piece of output; `starts_frame` marks where a WebSocket frame (or an HTTP response)
/// begins, so unsent frames can be dropped without cutting one in half.
struct Chunk {
    bytes: Bytes,
    starts_frame: bool,
}

/// One connection's output queue.
pub struct Outbox {
    chunks: VecDeque<Chunk>,
    /// Bytes of the front chunk already written.
    front_written: usize,
    queued: usize,
    written: u64,
    gauge: OutputGauge,
}

impl Outbox {
    /// An empty queue counted in `gauge`.
    pub fn new(gauge: OutputGauge) -> Self {
        Self {
            chunks: VecDeque::new(),
            front_written: 0,
            queued: 0,
            written: 0,
            gauge,
        }
    }

    /// Appends bytes; `starts_frame` when they begin a frame or response.
    pub fn push(&mut self, bytes: Bytes, starts_frame: bool) {
        if bytes.is_empty() {
            return;
        }
        self.queued += bytes.len();
        self.gauge.add(bytes.len());
        self.chunks.push_back(Chunk {
            bytes,
            starts_frame,
        });
    }

    /// Bytes queued and not yet written.
    pub fn len(&self) -> usize {
        self.queued
    }

    /// True when everything was written.
    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Bytes written to the socket so far, ever.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes as much as the socket takes. `Ok` when everything is out or the socket would
    /// block; an error only when the socket failed.
    pub fn write_to(&mut self, w: &mut impl Write) -> io::Result<()> {
        while !self.chunks.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut count = 0;
            for (i, c) in self.chunks.iter().take(MAX_SLICES).enumerate() {
                let skip = if i == 0 { self.front_written } else { 0 };
                slices[i] = IoSlice::new(&c.bytes[skip..]);
                count += 1;
            }
            match w.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.consume(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn consume(&mut self, mut n: usize) {
        self.queued -= n;
        self.written += n as u64;
        while n > 0 {
            let Some(front) = self.chunks.front() else {
                return;
            };
            let left = front.bytes.len() - self.front_written;
            if n < left {
                self.front_written += n;
                return;
            }
            n -= left;
            self.gauge.sub(front.bytes.len());
            self.front_written = 0;
            self.chunks.pop_front();
        }
    }

    /// Drops every frame not yet started (a partly written one is kept whole), so that
    /// what is queued next goes out right after it.
    pub fn drop_unsent_frames(&mut self) {
        let keep = if self.front_written > 0 {
            1 + self
                .chunks
                .iter()
                .skip(1)
                .take_while(|c| !c.starts_frame)
                .count()
        } else {
            0
        };
        let dropped: usize = self.chunks.drain(keep..).map(|c| c.bytes.len()).sum();
        self.queued -= dropped;
        self.gauge.sub(dropped);
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.gauge.sub(self.queued + self.front_written);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket taking at most `room` bytes per write.
    struct Trickle {
        got: Vec<u8>,
        room: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_gauge_counts_every_queue_until_written_or_dropped() {
        let gauge = OutputGauge::default();
        let mut a = Outbox::new(gauge.clone());
        let mut b = Outbox::new(gauge.clone());
        a.push(Bytes::from_static(b"hello"), true);
        b.push(Bytes::from_static(b"world!"), true);
        assert_eq!(gauge.total(), 11);
        let mut sock = Trickle {
            got: Vec::new(),
            room: 3,
        };
        a.write_to(&mut sock).expect("write");
        // A piece partly written is still held whole.
        assert_eq!((a.len(), gauge.total()), (2, 11));
        drop(b);
        assert_eq!(gauge.total(), 5);
        sock.room = 100;
        a.write_to(&mut sock).expect("write");
        assert_eq!(sock.got, b"hello");
        assert_eq!((a.len(), a.written(), gauge.total()), (0, 5, 0));
    }

    #[test]
    fn pieces_split_a_large_output_and_keep_its_bytes() {
        let mut p = Pieces::default();
        let data: Vec<u8> = (0..PIECE * 2 + 10).map(|i| i as u8).collect();
        p.write_all(&data[..100]).expect("write");
        p.write_all(&data[100..]).expect("write");
        assert_eq!(p.len(), data.len());
        let pieces = p.finish();
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces.concat(), data);
    }

    #[test]
    fn dropping_unsent_frames_keeps_the_one_being_written_whole() {
        let gauge = OutputGauge::default();
        let mut o = Outbox::new(gauge.clone());
        o.push(Bytes::from_static(b"H1"), true);
        o.push(Bytes::from_static(b"payload1"), false);
        o.push(Bytes::from_static(b"H2"), true);
        o.push(Bytes::from_static(b"payload2"), false);
        let mut sock = Trickle {
            got: Vec::new(),
            room: 1,
        };
        o.write_to(&mut sock).expect("write");
        o.drop_unsent_frames();
        o.push(Bytes::from_static(b"CLOSE"), true);
        sock.room = 100;
        o.write_to(&mut sock).expect("write");
        assert_eq!(sock.got, b"H1payload1CLOSE");
        assert_eq!(gauge.total(), 0);
    }
}
