//! The trace file kept for the bundle: the tracer's lines, already redacted, bounded. The
//! first [`HEAD_BYTES`] go to the file as they come; past that only the newest
//! [`TAIL_BYTES`] are held in memory and appended at the end after a line saying how many
//! were left out. A trace of any length costs at most the sum of both on disk.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub const HEAD_BYTES: u64 = 8 << 20;
pub const TAIL_BYTES: usize = 2 << 20;

pub struct Sink {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    written: u64,
    head: u64,
    tail: VecDeque<String>,
    tail_bytes: usize,
    tail_cap: usize,
    dropped: u64,
}

/// What is left once the trace is over.
#[derive(Debug, Default)]
pub struct Kept {
    pub path: Option<PathBuf>,
    pub truncated: bool,
    pub error: Option<String>,
}

impl Sink {
    /// A new file readable by its owner only (a trace shows what a program reads and writes).
    pub fn create(path: &Path) -> std::io::Result<Sink> {
        Sink::with_limits(path, HEAD_BYTES, TAIL_BYTES)
    }

    pub fn with_limits(path: &Path, head: u64, tail: usize) -> std::io::Result<Sink> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = crate::safeio::create_new(path, 0o600).map_err(std::io::Error::other)?;
        Ok(Sink {
            path: path.to_path_buf(),
            file: Some(BufWriter::new(file)),
            written: 0,
            head,
            tail: VecDeque::new(),
            tail_bytes: 0,
            tail_cap: tail,
            dropped: 0,
        })
    }

    pub fn line(&mut self, line: &str) {
        let len = line.len() as u64 + 1;
        if self.written + len <= self.head && self.tail.is_empty() {
            if let Some(f) = self.file.as_mut()
                && writeln!(f, "{line}").is_err()
            {
                self.file = None;
            }
            self.written += len;
            return;
        }
        self.tail.push_back(line.to_string());
        self.tail_bytes += line.len() + 1;
        while self.tail_bytes > self.tail_cap {
            match self.tail.pop_front() {
                Some(old) => {
                    self.tail_bytes -= old.len() + 1;
                    self.dropped += 1;
                }
                None => break,
            }
        }
    }

    /// Write the held tail and close the file.
    pub fn finish(mut self) -> Kept {
        let Some(mut f) = self.file.take() else {
            return Kept {
                path: None,
                truncated: true,
                error: Some(format!("writing {} failed", self.path.display())),
            };
        };
        let truncated = self.dropped > 0;
        let mut res = Ok(());
        if truncated {
            res = writeln!(
                f,
                "... gohang: {} lines of the trace left out here (the file keeps its first {} MiB and last {} MiB) ...",
                self.dropped,
                self.head >> 20,
                self.tail_cap >> 20
            );
        }
        for l in &self.tail {
            if res.is_ok() {
                res = writeln!(f, "{l}");
            }
        }
        let res = res.and_then(|_| f.flush());
        Kept {
            path: Some(self.path.clone()),
            truncated,
            error: res
                .err()
                .map(|e| format!("writing {}: {e}", self.path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_then_tail_with_a_marker() {
        let dir = std::env::temp_dir().join(format!("gohang-sink-test-{}", std::process::id()));
        let path = dir.join("t.txt");
        let _ = std::fs::remove_file(&path);
        let mut s = Sink::with_limits(&path, 30, 20).unwrap();
        for i in 0..100 {
            s.line(&format!("line {i:03}"));
        }
        let kept = s.finish();
        assert!(kept.truncated && kept.error.is_none());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(&lines[..3], &["line 000", "line 001", "line 002"]);
        assert!(lines[3].contains("lines of the trace left out"), "{text}");
        assert_eq!(lines.last(), Some(&"line 099"));
        assert!(text.len() < 30 + 20 + 120);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A second sink never overwrites an existing file.
        assert!(Sink::create(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn short_traces_are_kept_whole() {
        let dir = std::env::temp_dir().join(format!("gohang-sink-test2-{}", std::process::id()));
        let path = dir.join("t.txt");
        let _ = std::fs::remove_file(&path);
        let mut s = Sink::create(&path).unwrap();
        s.line("a");
        s.line("b");
        let kept = s.finish();
        assert!(!kept.truncated);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nb\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
