//! Processes as the OS sees them: find a program as the shell would, signal or kill one
//! exact process without racing pid reuse, and reap orphans as a child subreaper.
//!
//! Identity rules (the same as `guard::may_name_pid`): pid 0 and pid 1 are never signalled
//! — `kill(0, …)` would reach gohang's own process group and pid 1 is init (`kill(2)`) —
//! and a pid is signalled only while it still names the process that was seen, told by its
//! start time (pids wrap quickly).

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// Find `name` as the shell would (a name with a slash is a path).
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.exists().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable_file(p))
}

/// A regular file with an execute bit.
pub fn is_executable_file(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// SIGKILL one process without racing pid reuse.
pub fn kill_exact(pid: u32) {
    signal_exact(pid, None, Signal::SIGKILL);
}

/// Signal one process without racing pid reuse: open a pidfd, check that it still names
/// the process we saw (the start time `expect`, or the one read just before), then signal
/// through it. Returns whether the signal was sent. Pids 0 and 1 are refused.
pub fn signal_exact(pid: u32, expect: Option<u64>, sig: Signal) -> bool {
    if pid <= 1 {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        let start = || -> Option<u64> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let rest = &stat[stat.rfind(')')? + 2..];
            rest.split_whitespace().nth(19)?.parse().ok()
        };
        let before = expect.or_else(start);
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
        if fd >= 0 {
            let fd = fd as libc::c_int;
            let mut sent = false;
            if before.is_some() && start() == before {
                // SAFETY: fd is a pidfd we own; a null siginfo means "as kill(2)".
                sent = unsafe {
                    libc::syscall(
                        libc::SYS_pidfd_send_signal,
                        fd,
                        sig as libc::c_int,
                        std::ptr::null::<libc::siginfo_t>(),
                        0,
                    )
                } == 0;
            }
            // SAFETY: closing the descriptor we opened.
            unsafe { libc::close(fd) };
            return sent;
        }
    }
    let _ = expect;
    kill(Pid::from_raw(pid as i32), sig).is_ok()
}

/// What [`reap_exited`] left behind.
#[derive(Debug, PartialEq, Eq)]
pub enum Reaped {
    /// gohang has no child at all any more.
    NoChildren,
    /// Children remain (still running, or an error other than ECHILD).
    SomeLeft,
}

/// Reap every exited child (gohang is a subreaper, so re-parented orphans are its
/// children). Only called once no exit status is wanted any more.
pub fn reap_exited() -> Reaped {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(s) if s.pid().is_some() => continue,
            Ok(_) => return Reaped::SomeLeft,
            Err(nix::errno::Errno::ECHILD) => return Reaped::NoChildren,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return Reaped::SomeLeft,
        }
    }
}

/// Make gohang the reaper of its orphaned descendants, so a daemonizing grandchild stays
/// in its tree instead of moving to init (`prctl(2)` PR_SET_CHILD_SUBREAPER). A no-op where
/// the OS has no such notion.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_0_and_1_are_never_signalled() {
        // kill(0, …) would reach the test's own process group, pid 1 is init. SIGCONT does
        // no harm where it would be sent.
        assert!(!signal_exact(0, None, Signal::SIGCONT));
        assert!(!signal_exact(1, None, Signal::SIGCONT));
    }

    #[test]
    fn a_live_process_is_signalled_and_a_reused_identity_is_not() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let pid = child.id();
        // A start time that is not this process's: refused (Linux checks it through a pidfd).
        #[cfg(target_os = "linux")]
        assert!(!signal_exact(pid, Some(u64::MAX), Signal::SIGKILL));
        assert!(signal_exact(pid, None, Signal::SIGKILL));
        let status = child.wait().expect("wait");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn programs_are_found_on_path_and_by_path() {
        let sh = find_program("sh").expect("sh on PATH");
        assert!(is_executable_file(&sh));
        assert_eq!(find_program("/bin/sh"), Some(PathBuf::from("/bin/sh")));
        assert_eq!(find_program("gohang-no-such-program-here"), None);
    }
}
