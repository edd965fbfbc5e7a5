//! What a system call tracer (`strace`, `dtruss`) saw, as plain data: for each thread its
//! last calls, with the arguments that say what it waits for, and whether it was still in
//! the last one when the trace ended — then that call is where the thread sits.
//!
//! Filled by `crate::trace`, read by `classify::trace`. Every string in it has gone through
//! `redact::LineRedactor` (no `Authorization:` value, password or URL credential is kept).

use serde::{Deserialize, Serialize};

/// A syscall trace of the target over a window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// `strace` or `dtruss`.
    pub tool: String,
    /// How it was run (program and options; no secrets: syscall names, pids, paths).
    #[serde(default)]
    pub command: Vec<String>,
    /// The raw trace, redacted and bounded, kept for the bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// True when the file holds only the beginning and the end of the trace.
    #[serde(default)]
    pub file_truncated: bool,
    /// How long it traced, in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
    /// System call lines the tracer printed in all.
    #[serde(default)]
    pub calls: u64,
    /// Whether the tool prints a call when it starts (strace), so a call still running
    /// at the end shows where a thread sits; dtruss prints calls only when they return.
    #[serde(default)]
    pub shows_unfinished: bool,
    /// Threads, those still inside a call first, then the most recently active; bounded.
    #[serde(default)]
    pub threads: Vec<TracedThread>,
    /// Threads seen but not listed (over the bound).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub threads_omitted: u64,
    /// What went wrong or is worth knowing: a pid it could not attach to, an early exit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TraceSummary {
    /// Threads that were inside a call when the trace ended and did not exit.
    pub fn sitting(&self) -> impl Iterator<Item = (&TracedThread, &TracedCall)> {
        self.threads.iter().filter_map(|t| Some((t, t.sits_in()?)))
    }
}

/// One thread (task) of a traced process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TracedThread {
    pub tid: u32,
    /// Its process (thread group), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Calls seen from this thread.
    #[serde(default)]
    pub calls: u64,
    /// How it ended during the trace (`exited with 0`, `killed by SIGKILL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited: Option<String>,
    /// The signal that stopped it, when the tracer saw the stop (`SIGTTIN`, `SIGSTOP`),
    /// and no call came after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
    /// Its last calls, oldest first; the last one is where it sits when unfinished.
    #[serde(default)]
    pub recent: Vec<TracedCall>,
    /// Its last `connect`, kept even when later calls pushed it out of `recent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_connect: Option<TracedCall>,
}

impl TracedThread {
    /// The call this thread was inside when the trace ended, if it is still alive.
    pub fn sits_in(&self) -> Option<&TracedCall> {
        if self.exited.is_some() {
            return None;
        }
        self.recent.last().filter(|c| c.unfinished)
    }
}

/// One system call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TracedCall {
    /// The time the tracer printed for it (`12:00:01.123456`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub name: String,
    /// The arguments as the tracer printed them: strings cut, credentials removed.
    #[serde(default)]
    pub args: String,
    /// The result (`0`, `-1 EAGAIN (Resource temporarily unavailable)`); None while unfinished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Still inside the call when the trace ended.
    #[serde(default)]
    pub unfinished: bool,
    /// The descriptor it works on (first argument of read, write, connect, flock, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
    /// What that descriptor is: a path, `socket:[123]`, `pipe:[45]`, `/dev/pts/3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd_target: Option<String>,
    /// The peer of a connect/sendto/recvfrom: `127.0.0.1:8080`, `[::1]:443`, a unix path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The child a wait4/waitid waits for (-1: any child).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_pid: Option<i64>,
}

impl TracedCall {
    /// `flock(3, LOCK_EX)` with the arguments cut to `max` characters.
    pub fn display(&self, max: usize) -> String {
        let args = if self.args.chars().count() > max {
            let cut: String = self.args.chars().take(max).collect();
            format!("{cut}…")
        } else {
            self.args.clone()
        };
        match &self.result {
            Some(r) => format!("{}({args}) = {r}", self.name),
            None => format!("{}({args}", self.name),
        }
    }
}
