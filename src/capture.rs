//! Bounded capture of a stream: keeps the last bytes and counts the rest, so a command
//! printing a gigabyte costs a fixed amount of memory.

use crate::evidence::StreamTail;
use std::collections::VecDeque;

/// Default bytes kept per stream (enough for a goroutine dump of a stuck `go` command).
pub const DEFAULT_TAIL: usize = 256 * 1024;

#[derive(Debug)]
pub struct TailBuffer {
    buf: VecDeque<u8>,
    cap: usize,
    total: u64,
}

impl TailBuffer {
    pub fn new(cap: usize) -> TailBuffer {
        TailBuffer {
            buf: VecDeque::with_capacity(cap.min(64 * 1024)),
            cap,
            total: 0,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        if self.cap == 0 {
            return;
        }
        let chunk = if chunk.len() > self.cap {
            &chunk[chunk.len() - self.cap..]
        } else {
            chunk
        };
        let overflow = (self.buf.len() + chunk.len()).saturating_sub(self.cap);
        self.buf.drain(..overflow);
        self.buf.extend(chunk);
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The bytes written after the first `mark` bytes (as far as the tail still holds them).
    pub fn since(&self, mark: u64) -> Vec<u8> {
        let start_of_buf = self.total - self.buf.len() as u64;
        let skip = mark.saturating_sub(start_of_buf) as usize;
        self.buf.iter().skip(skip).copied().collect()
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.buf.iter().copied().collect()
    }

    /// The tail as text, starting at a line boundary when the start was cut off.
    pub fn to_stream_tail(&self) -> StreamTail {
        let bytes = self.bytes();
        let truncated = self.total > bytes.len() as u64;
        let start = if truncated {
            bytes
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| i + 1)
                .unwrap_or(0)
        } else {
            0
        };
        StreamTail {
            tail: String::from_utf8_lossy(&bytes[start..]).into_owned(),
            total_bytes: self.total,
            truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_tail() {
        let mut t = TailBuffer::new(8);
        t.push(b"hello ");
        t.push(b"world!");
        assert_eq!(t.bytes(), b"o world!");
        assert_eq!(t.total(), 12);
        t.push(&[b'x'; 100]);
        assert_eq!(t.bytes(), vec![b'x'; 8]);
        assert_eq!(t.total(), 112);
    }

    #[test]
    fn bytes_since_a_mark() {
        let mut t = TailBuffer::new(8);
        t.push(b"abcd");
        let mark = t.total();
        t.push(b"efgh");
        assert_eq!(t.since(mark), b"efgh");
        t.push(b"ij");
        assert_eq!(t.since(mark), b"efghij");
        assert_eq!(t.since(0), b"cdefghij", "older bytes are gone");
        assert_eq!(t.since(100), b"");
    }

    #[test]
    fn gigabyte_costs_the_cap() {
        let mut t = TailBuffer::new(1024);
        let chunk = vec![b'a'; 64 * 1024];
        for _ in 0..(1 << 14) {
            t.push(&chunk);
        }
        assert_eq!(t.total(), 1 << 30);
        assert_eq!(t.bytes().len(), 1024);
    }

    #[test]
    fn tail_text_starts_at_a_line() {
        let mut t = TailBuffer::new(10);
        t.push(b"first line\nsecond\n");
        let s = t.to_stream_tail();
        assert!(s.truncated);
        assert_eq!(s.tail, "second\n");
        assert_eq!(s.total_bytes, 18);
    }
}
