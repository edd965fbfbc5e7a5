//! Reads a tracer's output on a thread of its own as it comes: each line is redacted,
//! written to the bounded trace file and folded into the per-thread state, which the
//! caller can look at any time (`snapshot`) while the trace goes on.

use super::collect::{Collector, Format};
use super::sink::{Kept, Sink};
use crate::redact::LineRedactor;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest line kept; the rest of a longer one is dropped (strace already cuts strings).
const MAX_LINE: usize = 16 * 1024;

struct Shared {
    collector: Collector,
    /// Every line passes through it before it is kept or read.
    redactor: LineRedactor,
    /// The line being written (no newline yet): with strace, a call still in progress.
    pending: Vec<u8>,
    /// Dropping the rest of an over-long line.
    skipping: bool,
}

pub struct Stream {
    format: Format,
    shared: Arc<Mutex<Shared>>,
    calls: Arc<AtomicU64>,
    reader: Option<JoinHandle<Kept>>,
}

/// The state of a trace at one moment.
pub struct Snapshot {
    pub collector: Collector,
}

impl Stream {
    /// Start reading `src` until its end, each line redacted by `redactor`.
    pub fn start<R: Read + Send + 'static>(
        src: R,
        format: Format,
        sink: Option<Sink>,
        redactor: LineRedactor,
    ) -> Stream {
        let shared = Arc::new(Mutex::new(Shared {
            collector: Collector::default(),
            redactor,
            pending: Vec::new(),
            skipping: false,
        }));
        let calls = Arc::new(AtomicU64::new(0));
        let reader = {
            let shared = shared.clone();
            let calls = calls.clone();
            std::thread::Builder::new()
                .name("gohang-trace".into())
                .spawn(move || pump(src, format, sink, &shared, &calls))
                .ok()
        };
        Stream {
            format,
            shared,
            calls,
            reader,
        }
    }

    /// Calls seen so far (for the progress bar).
    pub fn calls(&self) -> Arc<AtomicU64> {
        self.calls.clone()
    }

    /// The state now; a line still being written counts as a call in progress.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let s = &mut *s;
        let mut collector = s.collector.clone();
        if !s.pending.is_empty() && !s.skipping {
            let text = String::from_utf8_lossy(&s.pending);
            collector.line(self.format, &s.redactor.peek(&text));
        }
        Snapshot { collector }
    }

    /// A command line with the secrets the trace's redactor knows or finds removed (read as
    /// one list: an option and its argument together).
    /// (strace runs the command it traces; dtruss attaches, with no command of the user's.)
    #[cfg(target_os = "linux")]
    pub fn redact_argv(&self, argv: &[String]) -> Vec<String> {
        let mut s = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        s.redactor.redactor().redact_argv("trace", argv)
    }

    /// Text of the tracer's own (its error messages) with secrets removed.
    #[cfg(target_os = "linux")]
    pub fn redact_text(&self, text: &str) -> String {
        let mut s = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        s.redactor.redactor().redact_str("trace", text)
    }

    /// Wait up to `limit` for the output to end; the file kept, None when it did not end.
    pub fn finish(mut self, limit: Duration) -> Option<Kept> {
        let deadline = Instant::now() + limit;
        let reader = self.reader.take()?;
        while !reader.is_finished() {
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        reader.join().ok()
    }
}

/// Finish a stream and also get its last state.
pub fn finish_with_state(stream: Stream, limit: Duration) -> (Snapshot, Option<Kept>) {
    let shared = stream.shared.clone();
    let format = stream.format;
    let kept = stream.finish(limit);
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    let s = &mut *s;
    let mut collector = s.collector.clone();
    if !s.pending.is_empty() && !s.skipping {
        let text = String::from_utf8_lossy(&s.pending);
        collector.line(format, &s.redactor.peek(&text));
    }
    (Snapshot { collector }, kept)
}

fn pump<R: Read>(
    mut src: R,
    format: Format,
    mut sink: Option<Sink>,
    shared: &Mutex<Shared>,
    calls: &AtomicU64,
) -> Kept {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        let s = &mut *s;
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    if !s.skipping {
                        s.pending.extend_from_slice(&rest[..i]);
                    }
                    rest = &rest[i + 1..];
                    s.skipping = false;
                    let text = String::from_utf8_lossy(&s.pending).into_owned();
                    s.pending.clear();
                    let line = s.redactor.line(&text);
                    if let Some(sink) = sink.as_mut() {
                        sink.line(&line);
                    }
                    s.collector.line(format, &line);
                }
                None => {
                    if !s.skipping {
                        s.pending.extend_from_slice(rest);
                        if s.pending.len() > MAX_LINE {
                            s.pending.truncate(MAX_LINE);
                            s.skipping = true;
                        }
                    }
                    rest = &[];
                }
            }
        }
        calls.store(s.collector.calls(), Ordering::Relaxed);
    }
    // The output ended inside a line: the tracer stopped while a call was in progress.
    let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
    let s = &mut *guard;
    if !s.pending.is_empty()
        && let Some(sink) = sink.as_mut()
    {
        sink.line(&s.redactor.line(&String::from_utf8_lossy(&s.pending)));
    }
    drop(guard);
    match sink {
        Some(sink) => sink.finish(),
        None => Kept::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::Redactor;

    fn redactor() -> LineRedactor {
        LineRedactor::new(Redactor::new(false))
    }

    /// A source that hands out its chunks one read at a time.
    struct Chunks(Vec<Vec<u8>>);
    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let c = self.0.remove(0);
            buf[..c.len()].copy_from_slice(&c);
            Ok(c.len())
        }
    }

    #[test]
    fn lines_split_across_reads_and_a_cut_last_line() {
        let chunks = vec![
            b"10 1.0 read(0, \"a\", 1) = 1\n10 1.1 wri".to_vec(),
            b"te(1, \"Authorization: Basic c2VjcmV0\\r\\n\", 40) = 40\n".to_vec(),
            b"11 1.2 flock(3, LOCK_EX".to_vec(),
        ];
        let dir = std::env::temp_dir().join(format!("gohang-stream-{}", std::process::id()));
        let path = dir.join("trace.txt");
        let _ = std::fs::remove_file(&path);
        let sink = Sink::create(&path).unwrap();
        let stream = Stream::start(Chunks(chunks), Format::Strace, Some(sink), redactor());
        let (snap, kept) = finish_with_state(stream, Duration::from_secs(5));
        let kept = kept.expect("the reader ended");
        assert_eq!(kept.path.as_deref(), Some(path.as_path()));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("c2VjcmV0"), "redacted in the file: {text}");
        assert!(text.ends_with("11 1.2 flock(3, LOCK_EX\n"), "{text}");
        let (threads, _) = snap.collector.threads();
        let t11 = threads.iter().find(|t| t.tid == 11).unwrap();
        assert_eq!(t11.sits_in().unwrap().name, "flock");
        let t10 = threads.iter().find(|t| t.tid == 10).unwrap();
        assert_eq!(t10.recent.len(), 2);
        assert!(!t10.recent[1].args.contains("c2VjcmV0"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn over_long_lines_are_cut() {
        let mut big = b"10 1.0 write(1, \"".to_vec();
        big.extend(std::iter::repeat_n(b'x', MAX_LINE * 3));
        big.extend_from_slice(b"\", 1) = 1\n10 1.1 read(0, \"\", 1) = 0\n");
        let stream = Stream::start(Chunks(vec![big]), Format::Strace, None, redactor());
        let (snap, _) = finish_with_state(stream, Duration::from_secs(5));
        let (threads, _) = snap.collector.threads();
        let t = &threads[0];
        // The cut line has no end: it reads as a started write, then the read follows.
        assert_eq!(t.recent.last().unwrap().name, "read");
        assert_eq!(snap.collector.calls(), 2);
    }
}
