//! The log-file helper: where gohang keeps its logs and traces ([`default_dir`]), and a log
//! written as it goes (`rebuild`: every step, every command with its full output, the
//! result): a crash leaves all but the last line, as it is flushed after each write.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The default place for logs: `$XDG_STATE_HOME/gohang` or `~/.local/state/gohang`
/// (Linux and others), `~/Library/Logs/gohang` (macOS); the temporary directory when
/// there is no home.
pub fn default_dir() -> PathBuf {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    if cfg!(target_os = "macos")
        && let Some(h) = &home
    {
        return h.join("Library/Logs/gohang");
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("gohang");
    }
    match home {
        Some(h) => h.join(".local/state/gohang"),
        None => std::env::temp_dir().join("gohang"),
    }
}

pub struct Log {
    path: PathBuf,
    file: File,
}

impl Log {
    pub fn create(path: &Path) -> std::io::Result<Log> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // A log named with --log may be anything: never block on it, only a file will do.
        let file = crate::safeio::open_append(path, 0o644).map_err(std::io::Error::other)?;
        Ok(Log {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One line of gohang's own narration, prefixed `gohang: `.
    pub fn note(&mut self, text: &str) {
        for l in text.lines() {
            let _ = writeln!(self.file, "gohang: {l}");
        }
        let _ = self.file.flush();
    }

    /// A section header: `== verify`.
    pub fn section(&mut self, title: &str) {
        let _ = writeln!(self.file, "\n== {title}");
        let _ = self.file.flush();
    }

    /// Output of a command, verbatim.
    pub fn raw(&mut self, bytes: &[u8]) {
        let _ = self.file.write_all(bytes);
        if !bytes.ends_with(b"\n") && !bytes.is_empty() {
            let _ = self.file.write_all(b"\n");
        }
        let _ = self.file.flush();
    }
}
