//! Job control like a shell's, so that probing never changes what happens.
//!
//! The probed command runs in its own process group (so the whole tree can be signalled).
//! A process in a background group that reads its terminal gets SIGTTIN and stops
//! (`termios(3)`, "Job control"); so when gohang itself is in the foreground of its
//! controlling terminal, it hands the foreground to the command's group, as a shell does
//! for `fg`, and takes it back at the end. gohang ignores SIGTTOU meanwhile, which lets it
//! redraw its progress line and call `tcsetpgrp` from the background.
//!
//! What counts is the controlling terminal (`/dev/tty`), not stdin: `git` and `ssh` open
//! /dev/tty to ask for a password even when stdin is a file or /dev/null, and in a
//! background group that read would stop them with SIGTTIN, a stall of gohang's making.

use nix::fcntl::{OFlag, open};
use nix::sys::signal::{SigHandler, Signal, signal};
use nix::sys::stat::Mode;
use nix::unistd::{Pid, getpgrp, tcgetpgrp, tcsetpgrp};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Whether gohang owns the terminal's foreground and hands it on.
#[derive(Debug)]
pub struct JobControl {
    /// The controlling terminal, open, when gohang's group is its foreground.
    tty: Option<OwnedFd>,
}

impl JobControl {
    /// Decide once, before spawning: does gohang have a controlling terminal whose
    /// foreground group is gohang's own?
    pub fn setup() -> JobControl {
        // O_CLOEXEC: the command gets the terminal through its own fds 0-2 (or by opening
        // /dev/tty), never through this one; it stays open in the child only until exec,
        // for child_pre_exec.
        let tty = open(
            "/dev/tty",
            OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()
        .filter(|fd| tcgetpgrp(fd).is_ok_and(|g| g == getpgrp()));
        if tty.is_some() {
            // SAFETY: setting a signal to SIG_IGN installs no handler code.
            unsafe {
                let _ = signal(Signal::SIGTTOU, SigHandler::SigIgn);
            }
        }
        JobControl { tty }
    }

    pub fn active(&self) -> bool {
        self.tty.is_some()
    }

    /// The terminal's descriptor for [`child_pre_exec`], when gohang hands it on.
    pub fn child_fd(&self) -> Option<RawFd> {
        self.tty.as_ref().map(|fd| fd.as_raw_fd())
    }

    /// Parent side: give the terminal to the child's group (the child does the same
    /// before exec; whichever runs first wins the race, as in shells).
    pub fn give_to(&self, pgrp: u32) {
        if let Some(fd) = &self.tty {
            let _ = tcsetpgrp(fd, Pid::from_raw(pgrp as i32));
        }
    }

    /// Take the foreground back.
    pub fn restore(&self) {
        if let Some(fd) = &self.tty {
            let _ = tcsetpgrp(fd, getpgrp());
        }
    }
}

impl Drop for JobControl {
    fn drop(&mut self) {
        self.restore();
    }
}

/// Child side, between fork and exec (async-signal-safe calls only): take the terminal's
/// foreground through `tty` if given, and put SIGTTOU back to its default so the command
/// sees the job-control signals a shell would give it.
pub fn child_pre_exec(tty: Option<RawFd>) -> std::io::Result<()> {
    // SAFETY: getpgrp, tcsetpgrp and signal are async-signal-safe.
    unsafe {
        if let Some(fd) = tty {
            libc::tcsetpgrp(fd, libc::getpgrp());
        }
        libc::signal(libc::SIGTTOU, libc::SIG_DFL);
    }
    Ok(())
}
