//! Job control like a shell's, so that probing never changes what happens.
//!
//! The probed command runs in its own process group (so the whole tree can be signalled).
//! A process in a background group that reads its terminal gets SIGTTIN and stops
//! (`termios(3)`, "Job control"); so when gohang itself is in the terminal's foreground,
//! it hands the foreground to the command's group, as a shell does for `fg`, and takes it
//! back at the end. gohang ignores SIGTTOU meanwhile, which lets it redraw its progress
//! line and call `tcsetpgrp` from the background.

use nix::sys::signal::{SigHandler, Signal, signal};
use nix::unistd::{Pid, getpgrp, isatty, tcgetpgrp, tcsetpgrp};
use std::io::{IsTerminal, stdin};
use std::os::fd::{AsFd, BorrowedFd};

/// Whether gohang owns the terminal's foreground and hands it on.
#[derive(Debug)]
pub struct JobControl {
    active: bool,
}

fn tty_fd() -> BorrowedFd<'static> {
    // SAFETY: fd 0 stays open for the life of the process; we never close it.
    unsafe { BorrowedFd::borrow_raw(0) }
}

impl JobControl {
    /// Decide once, before spawning: is stdin a terminal whose foreground group is ours?
    pub fn setup() -> JobControl {
        let fd = tty_fd();
        let active = stdin().is_terminal()
            && isatty(fd.as_fd()).unwrap_or(false)
            && tcgetpgrp(fd).map(|g| g == getpgrp()).unwrap_or(false);
        if active {
            // SAFETY: setting a signal to SIG_IGN installs no handler code.
            unsafe {
                let _ = signal(Signal::SIGTTOU, SigHandler::SigIgn);
            }
        }
        JobControl { active }
    }

    pub fn active(&self) -> bool {
        self.active
    }

    /// Parent side: give the terminal to the child's group (the child does the same
    /// before exec; whichever runs first wins the race, as in shells).
    pub fn give_to(&self, pgrp: u32) {
        if self.active {
            let _ = tcsetpgrp(tty_fd(), Pid::from_raw(pgrp as i32));
        }
    }

    /// Take the foreground back.
    pub fn restore(&self) {
        if self.active {
            let _ = tcsetpgrp(tty_fd(), getpgrp());
        }
    }
}

impl Drop for JobControl {
    fn drop(&mut self) {
        self.restore();
    }
}

/// Child side, between fork and exec (async-signal-safe calls only): take the terminal's
/// foreground if asked, and put SIGTTOU back to its default so the command sees the
/// job-control signals a shell would give it.
pub fn child_pre_exec(take_foreground: bool) -> std::io::Result<()> {
    // SAFETY: getpgrp, tcsetpgrp and signal are async-signal-safe.
    unsafe {
        if take_foreground {
            libc::tcsetpgrp(0, libc::getpgrp());
        }
        libc::signal(libc::SIGTTOU, libc::SIG_DFL);
    }
    Ok(())
}
