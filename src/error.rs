//! Errors callers branch on, and the user-facing failure that carries an exit code.

use std::fmt;

/// Why a process could not be observed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("no process with pid {pid}")]
    NoSuchProcess { pid: u32 },
    #[error("permission denied reading pid {pid}: {need}")]
    PermissionDenied { pid: u32, need: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// Exit codes (DESIGN.md, docs/exit-codes.md).
pub mod exit {
    /// Finished in time / not stuck; `check`: native and consistent.
    pub const OK: u8 = 0;
    /// A stall or failure was diagnosed; `check`: wrong architecture or translated.
    pub const DIAGNOSED: u8 = 1;
    /// Stalled, cause not identified; `check`: mixed.
    pub const UNIDENTIFIED: u8 = 2;
    pub const USAGE: u8 = 64;
    /// No such process or file; no `go` found.
    pub const NO_INPUT: u8 = 66;
    pub const INTERNAL: u8 = 70;
    /// A file gohang was asked to write (or read) failed: no space, an I/O error, a FIFO
    /// nobody reads, a target that is not a file, a file past its size bound (sysexits EX_IOERR).
    pub const IO_ERROR: u8 = 74;
    /// Permission denied (the message says which privilege is needed).
    pub const NO_PERMISSION: u8 = 77;
    /// Interrupted by SIGINT (128 + 2), as shells report it.
    pub const INTERRUPTED: u8 = 130;
    /// Terminated by SIGTERM (128 + 15).
    pub const TERMINATED: u8 = 143;
}

/// A failure to show the user as one line, with the exit code it maps to.
#[derive(Debug)]
pub struct UserError {
    pub code: u8,
    pub message: String,
}

impl UserError {
    pub fn new(code: u8, message: impl Into<String>) -> UserError {
        UserError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

impl From<ObserveError> for UserError {
    fn from(e: ObserveError) -> UserError {
        let code = match &e {
            ObserveError::NoSuchProcess { .. } => exit::NO_INPUT,
            ObserveError::PermissionDenied { .. } => exit::NO_PERMISSION,
            ObserveError::Unsupported(_) | ObserveError::Io { .. } => exit::INTERNAL,
        };
        UserError::new(code, e.to_string())
    }
}
