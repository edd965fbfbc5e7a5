//! `--trace`: a system call trace of the target, as evidence of where each thread sits.
//!
//! The tracer is the OS's own — `strace` on Linux, `dtruss` on macOS — run by gohang, its
//! output read as it comes (`stream`): every line redacted (`crate::redact::LineRedactor`,
//! the bundle's rules applied line by line: no credential is ever kept), written to a
//! bounded file for the bundle (`sink`), folded into per-thread state (`collect`). The result is a [`TraceSummary`] in the evidence; `classify::trace` reads it.
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
//! Protection lets DTrace trace (`macos::availability`); otherwise the report says why and
//! sampling goes on without it. Its output is parsed by `dtruss.rs`, on every OS.
//!
//! What is traced ([`SYSCALLS`]): the calls a hang sits in or that say what it waits for —
//! reads and writes, sockets, polls, waits for children, file locks, opens, execs, forks,
//! sleeps. Left out: `futex` and `nanosleep`. The Go scheduler parks idle threads in futex
//! and sysmon naps in nanosleep many times a second; tracing them would multiply the
//! tracer's stops for nothing the sampler does not already show (`/proc/TID/syscall`
//! names a thread parked in futex).

mod collect;
mod dtruss;
mod sink;
mod strace;
mod stream;

// The tracer of this OS (`linux.rs` strace, `macos.rs` dtruss, `unsupported.rs`), as
// `os`; its names are re-exported.
crate::sys::os_backend!();

pub use collect::Format;

use crate::evidence::{Sample, SyscallState, TraceSummary};
use crate::redact::{LineRedactor, Redactor};
use std::collections::BTreeMap;
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
    crate::sys::logfile::default_dir().join(format!(
        "trace-{}-{}.txt",
        crate::sys::clock::utc_stamp(),
        std::process::id()
    ))
}

/// A sink for a new trace file at [`new_trace_path`]; when it cannot be created, a note
/// says so and the trace is summarized without being kept.
pub(crate) fn new_sink(notes: &mut Vec<String>) -> Option<sink::Sink> {
    let path = new_trace_path();
    match sink::Sink::create(&path) {
        Ok(s) => Some(s),
        Err(e) => {
            notes.push(format!(
                "--trace: cannot write the trace file {}: {e}; the trace is summarized but not kept",
                path.display()
            ));
            None
        }
    }
}

/// The redactor of a trace: the rules of every redaction, and the secrets of the
/// environments the traced processes run with — gohang's own, which a command it starts
/// inherits, and each attached process's (`pids`) — and of the command line it starts
/// (`argv`), so that a value is removed also where it stands alone.
pub(crate) fn line_redactor(argv: &[String], pids: &[u32]) -> LineRedactor {
    let mut red = Redactor::new(false);
    red.add_env(std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    }));
    for &pid in pids {
        // Time-boxed by the backend: a process in uninterruptible sleep can block the read.
        if let Some(raw) = crate::observe::raw_environ(pid) {
            red.add_environ(&raw);
        }
    }
    red.add_argv(argv);
    LineRedactor::new(red)
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

/// Name the calls strace's attach interrupted, from the sample taken before it attached.
///
/// Attaching interrupts the call each thread sits in, and the kernel resumes a sleep, poll
/// or futex wait through `restart_syscall` (`syscalls::RESUMED_BY_RESTART_SYSCALL`); the
/// name strace prints for the resumed call is the last call it decoded on the thread,
/// which it never saw (`strace::resuming`: `read` for a `sleep` in `clock_nanosleep`).
/// A thread whose first call in the trace is such a `restart_syscall` resumed what
/// `/proc/TID/syscall` showed in `before`, when that is a call resumed this way; it is
/// named so. Otherwise the call stays `restart_syscall` — which call is unknown — and a
/// note says why.
pub fn name_resumed_calls(t: &mut TraceSummary, before: &Sample) {
    let tool = t.tool.clone();
    // (pid, resumed call, strace's claim) → threads; pid → threads left unnamed.
    let mut named: BTreeMap<(u32, String, String), usize> = BTreeMap::new();
    let mut unknown: BTreeMap<u32, (usize, String)> = BTreeMap::new();
    for th in &mut t.threads {
        let first_call = th.calls as usize == th.recent.len();
        let Some(c) = th
            .recent
            .first_mut()
            .filter(|c| first_call && c.name == "restart_syscall")
        else {
            continue;
        };
        let claimed = strace::resuming(&c.args)
            .unwrap_or("system call")
            .to_string();
        let seen = before
            .processes
            .iter()
            .filter(|p| th.pid.is_none_or(|pid| pid == p.pid))
            .find_map(|p| {
                let t = p.threads.iter().find(|x| x.tid == th.tid)?;
                Some((p.pid, t.syscall.value().cloned()))
            });
        let pid = th.pid.or(seen.as_ref().map(|(p, _)| *p)).unwrap_or(th.tid);
        let was_in = seen.and_then(|(_, s)| s);
        match was_in.as_ref().and_then(|s| s.name()) {
            Some(name) if crate::syscalls::RESUMED_BY_RESTART_SYSCALL.contains(&name) => {
                c.name = name.to_string();
                c.args = format!("<... resuming interrupted {name} ...>");
                if claimed != name {
                    *named.entry((pid, name.to_string(), claimed)).or_default() += 1;
                }
            }
            other => {
                let what = match (other, &was_in) {
                    (Some(n), _) => {
                        format!("/proc showed {n} before the attach, a call not resumed this way")
                    }
                    (None, Some(SyscallState::InSyscall { nr, .. })) => {
                        format!("/proc showed syscall {nr} before the attach")
                    }
                    (None, Some(SyscallState::Running)) => {
                        "/proc showed it running before the attach".to_string()
                    }
                    (None, Some(SyscallState::NotInSyscall)) => {
                        "/proc showed it outside any call before the attach".to_string()
                    }
                    (None, None) => {
                        "/proc/TID/syscall could not be read before the attach".to_string()
                    }
                };
                let e = unknown.entry(pid).or_insert((0, String::new()));
                e.0 += 1;
                if e.1.is_empty() {
                    e.1 = format!("{what}, and {tool}'s \"{claimed}\"");
                }
            }
        }
    }
    for ((pid, name, claimed), n) in named {
        t.notes.push(format!(
            "{tool}: {} of pid {pid} resumed {name} after {tool} attached, as /proc/TID/syscall showed before the attach \
             ({tool}'s \"resuming interrupted {claimed}\" names the last call it had decoded on the thread, not the interrupted one)",
            threads(n)
        ));
    }
    for (pid, (n, why)) in unknown {
        t.notes.push(format!(
            "{tool}: {} of pid {pid} resumed a call interrupted by the attach, which one is unknown: {why} \
             names the last call it had decoded on the thread, not necessarily the interrupted one",
            threads(n)
        ));
    }
}

fn threads(n: usize) -> String {
    if n == 1 {
        "a thread".to_string()
    } else {
        format!("{n} threads")
    }
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

    use crate::evidence::{Fact, TracedCall, TracedThread};

    /// Pid 50 with its threads 50 and 51, in these calls before strace attached.
    fn before(calls: [Fact<SyscallState>; 2]) -> Sample {
        let [a, b] = calls;
        let thread = |tid: u32, syscall: Fact<SyscallState>| {
            serde_json::json!({
                "tid": tid, "state": "sleeping", "syscall": syscall, "utime_ms": 0, "stime_ms": 0
            })
        };
        let p = serde_json::json!({
            "pid": 50, "ppid": 1, "comm": "prog", "state": "sleeping",
            "threads": [thread(50, a), thread(51, b)],
        });
        Sample {
            at_ms: 0,
            processes: vec![serde_json::from_value(p).unwrap()],
        }
    }

    fn in_call(name: &str, nr: i64) -> Fact<SyscallState> {
        Fact::Collected(SyscallState::InSyscall {
            nr,
            name: Some(name.to_string()),
            args: [0; 6],
        })
    }

    /// A thread whose trace is `calls`, the last one unfinished.
    fn traced(tid: u32, calls: &[(&str, &str)]) -> TracedThread {
        let n = calls.len();
        TracedThread {
            tid,
            pid: Some(50),
            calls: n as u64,
            recent: calls
                .iter()
                .enumerate()
                .map(|(i, (name, args))| TracedCall {
                    name: name.to_string(),
                    args: args.to_string(),
                    unfinished: i + 1 == n,
                    result: (i + 1 < n).then(|| "0".to_string()),
                    ..TracedCall::default()
                })
                .collect(),
            ..TracedThread::default()
        }
    }

    fn summary(threads: Vec<TracedThread>) -> TraceSummary {
        TraceSummary {
            tool: "strace".into(),
            shows_unfinished: true,
            threads,
            ..TraceSummary::default()
        }
    }

    const RESUMING_READ: &str = "<... resuming interrupted read ...>";

    #[test]
    fn a_call_interrupted_by_the_attach_is_named_from_proc_before_it() {
        let mut t = summary(vec![
            traced(50, &[("restart_syscall", RESUMING_READ)]),
            traced(51, &[("restart_syscall", RESUMING_READ)]),
        ]);
        let b = before([in_call("clock_nanosleep", 230), in_call("futex", 202)]);
        name_resumed_calls(&mut t, &b);
        let sits: Vec<(&str, &str)> = t
            .sitting()
            .map(|(_, c)| (c.name.as_str(), c.args.as_str()))
            .collect();
        assert_eq!(
            sits,
            [
                (
                    "clock_nanosleep",
                    "<... resuming interrupted clock_nanosleep ...>"
                ),
                ("futex", "<... resuming interrupted futex ...>"),
            ]
        );
        assert_eq!(t.notes.len(), 2, "{:?}", t.notes);
        assert!(
            t.notes[0].contains("a thread of pid 50 resumed clock_nanosleep")
                && t.notes[0].contains("\"resuming interrupted read\""),
            "{}",
            t.notes[0]
        );
    }

    #[test]
    fn a_resumed_call_stays_unnamed_when_proc_does_not_say_which() {
        let mut t = summary(vec![
            // Before: in read, which the kernel restarts itself, not through
            // restart_syscall: the thread moved on between the sample and the attach.
            traced(50, &[("restart_syscall", RESUMING_READ)]),
            // Before: unreadable (no ptrace access).
            traced(51, &[("restart_syscall", RESUMING_READ)]),
        ]);
        let b = before([in_call("read", 0), Fact::unavailable("permission denied")]);
        name_resumed_calls(&mut t, &b);
        assert!(t.sitting().all(|(_, c)| c.name == "restart_syscall"));
        assert_eq!(t.notes.len(), 1, "{:?}", t.notes);
        assert!(
            t.notes[0].contains(
                "2 threads of pid 50 resumed a call interrupted by the attach, which one is unknown"
            ),
            "{}",
            t.notes[0]
        );
    }

    #[test]
    fn only_a_threads_first_call_is_the_one_the_attach_interrupted() {
        // Later in the trace strace's own name was not checked (`collect`): the call
        // before the attach says nothing about it.
        let mut t = summary(vec![traced(
            50,
            &[("write", "1, \"x\", 1"), ("restart_syscall", RESUMING_READ)],
        )]);
        let b = before([in_call("clock_nanosleep", 230), in_call("futex", 202)]);
        name_resumed_calls(&mut t, &b);
        assert_eq!(t.sitting().next().unwrap().1.name, "restart_syscall");
        assert!(t.notes.is_empty());
        // Agreeing with strace needs no note.
        let mut t = summary(vec![traced(
            51,
            &[("restart_syscall", "<... resuming interrupted futex ...>")],
        )]);
        name_resumed_calls(&mut t, &b);
        assert_eq!(t.sitting().next().unwrap().1.name, "futex");
        assert!(t.notes.is_empty());
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
