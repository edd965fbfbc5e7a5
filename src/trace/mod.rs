//! `--trace`: a system call trace of the target, as evidence of where each thread sits.
//!
//! The tracer is the OS's own — `strace` on Linux, `dtruss` on macOS — run by gohang, its
//! output read as it comes (`stream`): every line redacted (`redact`: no credential is ever
//! kept), written to a bounded file for the bundle (`sink`), folded into per-thread state
//! (`collect`). The result is a [`TraceSummary`] in the evidence; `classify::trace` reads it.
//!
//! Linux (`linux.rs`):
//! - spawn mode (`probe --trace`): the command runs under `strace -D -f`, so it stays
//!   gohang's own child (exit status, process group, terminal as without a tracer) while
//!   strace runs as a grandchild. `--seccomp-bpf` makes only the traced calls stop the
//!   tracee — except with `--keep`: a seccomp filter outlives its tracer, and then every
//!   traced call fails with ENOSYS (`seccomp(2)`, SECCOMP_RET_TRACE "if there is no tracer
//!   present"), which would break the processes left running.
//! - attach mode: `strace -f -p PID…` for every process of the tree, for the window, then
//!   SIGTERM: strace detaches and the target runs on (strace refuses `--seccomp-bpf` with
//!   `-p`, so each syscall of the target stops it while attached: this is why `--trace`
//!   is opt-in).
//!
//! macOS (`macos.rs`): `dtruss -f -p PID`, only as root and only when System Integrity
//! Protection lets DTrace trace (`observe::dtruss`); otherwise the report says why and
//! sampling goes on without it.
//!
//! What is traced ([`SYSCALLS`]): the calls a hang sits in or that say what it waits for —
//! reads and writes, sockets, polls, waits for children, file locks, opens, execs, forks,
//! sleeps. Left out: `futex` and `nanosleep`. The Go scheduler parks idle threads in futex
//! and sysmon naps in nanosleep many times a second; tracing them would multiply the
//! tracer's stops for nothing the sampler does not already show (`/proc/TID/syscall`
//! names a thread parked in futex).

mod collect;
mod dtruss;
pub mod redact;
mod sink;
mod strace;
mod stream;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub use macos::*;

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod unsupported;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub use unsupported::*;

pub use collect::Format;

use crate::evidence::TraceSummary;
use std::path::PathBuf;
use std::time::Duration;

/// The system calls strace is asked to show (`-e trace=`). Each is written `?name` so
/// that a name this architecture lacks (`poll`, `epoll_wait` on arm64) is skipped.
pub const SYSCALLS: &[&str] = &[
    "read",
    "readv",
    "pread64",
    "write",
    "writev",
    "connect",
    "accept",
    "accept4",
    "recvfrom",
    "recvmsg",
    "sendto",
    "sendmsg",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "wait4",
    "waitid",
    "flock",
    "fcntl",
    "open",
    "openat",
    "execve",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "clock_nanosleep",
    "restart_syscall",
];

/// How to end a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// Attach mode: let go of the target, which runs on.
    Detach,
    /// Spawn mode, the traced tree has exited or been killed: wait for the tracer's end.
    Wait,
    /// Spawn mode with `--keep`: let go of a tree that is left running.
    Release,
}

/// Where a new trace file goes: `trace-STAMP-PID.txt` in gohang's state directory
/// (`$XDG_STATE_HOME/gohang`, `~/.local/state/gohang`, `~/Library/Logs/gohang`).
pub fn new_trace_path() -> PathBuf {
    crate::rebuild::logfile::default_dir().join(format!(
        "trace-{}-{}.txt",
        crate::rebuild::plan::utc_stamp(),
        std::process::id()
    ))
}

/// Build the evidence from the state of a stream.
pub(crate) fn summarize(
    tool: &str,
    command: &[String],
    snapshot: &stream::Snapshot,
    duration: Duration,
    kept: Option<&sink::Kept>,
    mut notes: Vec<String>,
) -> TraceSummary {
    let (threads, omitted) = snapshot.collector.threads();
    for m in snapshot.collector.messages() {
        notes.push(format!("{tool}: {m}"));
    }
    if let Some(e) = kept.and_then(|k| k.error.clone()) {
        notes.push(e);
    }
    TraceSummary {
        tool: tool.to_string(),
        command: command.to_vec(),
        file: kept
            .and_then(|k| k.path.as_ref())
            .map(|p| p.display().to_string()),
        file_truncated: kept.is_some_and(|k| k.truncated),
        duration_ms: duration.as_millis() as u64,
        calls: snapshot.collector.calls(),
        shows_unfinished: tool == "strace",
        threads,
        threads_omitted: omitted,
        notes,
    }
}

/// One line for the report: what was traced and where the file is.
pub fn describe(t: &TraceSummary) -> String {
    let sitting = t.sitting().count();
    let mut s = format!(
        "syscall trace: {} over {}, {} calls, {} thread{} inside a call at the end",
        t.tool,
        crate::classify::secs(t.duration_ms),
        t.calls,
        sitting,
        if sitting == 1 { "" } else { "s" }
    );
    if let Some(f) = &t.file {
        s.push_str(&format!(
            "; raw trace (credentials removed{}) in {f}",
            if t.file_truncated {
                ", middle left out"
            } else {
                ""
            }
        ));
    }
    s
}

/// strace could not start the command (`strace: exec: Exec format error` on the command's
/// stderr, exit status 1): the error text and its errno, so the probe reports the exec
/// failure it would have seen without a tracer.
pub fn exec_error(stderr: &str) -> Option<(String, i32)> {
    let msg = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("strace: exec: "))?;
    let errno = match msg {
        "Exec format error" => libc::ENOEXEC,
        "Permission denied" => libc::EACCES,
        "No such file or directory" => libc::ENOENT,
        "Text file busy" => libc::ETXTBSY,
        _ => return None,
    };
    Some((msg.to_string(), errno))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_errors_of_strace() {
        assert_eq!(
            exec_error("strace: exec: Exec format error\n"),
            Some(("Exec format error".to_string(), libc::ENOEXEC))
        );
        assert_eq!(exec_error("go: downloading x\n"), None);
        assert_eq!(exec_error("strace: exec: Something new\n"), None);
    }

    #[test]
    fn trace_files_are_named_by_time_and_pid() {
        let p = new_trace_path();
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("trace-") && name.ends_with(&format!("-{}.txt", std::process::id()))
        );
    }
}
