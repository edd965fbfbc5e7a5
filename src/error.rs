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

/// What a command's run came to, as far as its exit status goes. [`Exit::code`] is the one
/// mapping to the numbers DESIGN.md and docs/exit-codes.md document; commands return an
/// `Exit` (or a [`UserError`] carrying one) and `app::main` turns it into the status once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Finished in time / not stuck; `check`: native and consistent; a command that did
    /// what was asked.
    Ok,
    /// A stall or failure was diagnosed; `check`: wrong architecture or translated;
    /// `rebuild`: rolled back.
    Diagnosed,
    /// Stalled, cause not identified; `check`: mixed; `rebuild`: refused or blocked.
    Unidentified,
    /// `scan`: no binary at all among the files.
    NoBinary,
    /// `scan`: a file or directory could not be read, and no binary read is foreign.
    Incomplete,
    /// Bad command line or input (sysexits EX_USAGE).
    Usage,
    /// No such process or file; no `go` found (EX_NOINPUT).
    NoInput,
    /// gohang itself failed (EX_SOFTWARE).
    Internal,
    /// A file gohang was asked to write (or read) failed: no space, an I/O error, a FIFO
    /// nobody reads, a target that is not a file, a file past its size bound (EX_IOERR).
    IoError,
    /// Permission denied (the message says which privilege is needed) (EX_NOPERM).
    NoPermission,
    /// Ended by this signal (its number), reported as shells do: 128 + n.
    Signal(i32),
}

impl Exit {
    /// The exit status.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Diagnosed => 1,
            Exit::Unidentified => 2,
            Exit::NoBinary => 3,
            Exit::Incomplete => 4,
            Exit::Usage => 64,
            Exit::NoInput => 66,
            Exit::Internal => 70,
            Exit::IoError => 74,
            Exit::NoPermission => 77,
            Exit::Signal(n) => 128u8.wrapping_add(n as u8),
        }
    }

    /// Ended by `sig`.
    pub fn signal(sig: nix::sys::signal::Signal) -> Exit {
        Exit::Signal(sig as i32)
    }

    /// The outcome an exit status names; a status no outcome has is an internal error.
    pub const fn from_code(code: u8) -> Exit {
        match code {
            0 => Exit::Ok,
            1 => Exit::Diagnosed,
            2 => Exit::Unidentified,
            3 => Exit::NoBinary,
            4 => Exit::Incomplete,
            64 => Exit::Usage,
            66 => Exit::NoInput,
            74 => Exit::IoError,
            77 => Exit::NoPermission,
            129..=255 => Exit::Signal(code as i32 - 128),
            _ => Exit::Internal,
        }
    }
}

/// A failure to show the user as one line, with the outcome its exit status comes from.
#[derive(Debug)]
pub struct UserError {
    pub exit: Exit,
    pub message: String,
}

impl UserError {
    pub fn with(exit: Exit, message: impl Into<String>) -> UserError {
        UserError {
            exit,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> UserError {
        UserError::with(Exit::Usage, message)
    }

    pub fn no_input(message: impl Into<String>) -> UserError {
        UserError::with(Exit::NoInput, message)
    }

    pub fn internal(message: impl Into<String>) -> UserError {
        UserError::with(Exit::Internal, message)
    }

    pub fn no_permission(message: impl Into<String>) -> UserError {
        UserError::with(Exit::NoPermission, message)
    }

    /// The work was stopped by `sig`.
    pub fn interrupted(sig: nix::sys::signal::Signal, message: impl Into<String>) -> UserError {
        UserError::with(Exit::signal(sig), message)
    }

    /// The exit status.
    pub fn code(&self) -> u8 {
        self.exit.code()
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
        let exit = match &e {
            ObserveError::NoSuchProcess { .. } => Exit::NoInput,
            ObserveError::PermissionDenied { .. } => Exit::NoPermission,
            ObserveError::Unsupported(_) | ObserveError::Io { .. } => Exit::Internal,
        };
        UserError::with(exit, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_statuses() {
        let all = [
            (Exit::Ok, 0),
            (Exit::Diagnosed, 1),
            (Exit::Unidentified, 2),
            (Exit::NoBinary, 3),
            (Exit::Incomplete, 4),
            (Exit::Usage, 64),
            (Exit::NoInput, 66),
            (Exit::Internal, 70),
            (Exit::IoError, 74),
            (Exit::NoPermission, 77),
            (Exit::Signal(libc::SIGHUP), 129),
            (Exit::Signal(libc::SIGINT), 130),
            (Exit::Signal(libc::SIGTERM), 143),
        ];
        for (exit, code) in all {
            assert_eq!(exit.code(), code, "{exit:?}");
            assert_eq!(Exit::from_code(code), exit);
        }
        assert_eq!(Exit::from_code(5), Exit::Internal);
    }
}
