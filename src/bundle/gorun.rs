//! `go env -json` and `go version` for the bundle, each run by the one runner
//! ([`crate::sys::run`]) with a deadline, and recorded as the bundle writes it.
//!
//! `go` may be exactly what hangs, so a run that misses its deadline has its whole process
//! group killed, and the bundle says so instead of waiting; Ctrl-C during the runs (caught
//! by the bundle's [`crate::sys::signals::Catcher`]) kills them at once.
//!
//! These runs must not overlap a probe: the supervisor kills and reaps every descendant of
//! gohang when it cleans up.

use crate::sys::run::{RunOutput, run_boxed};
use serde::Serialize;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RunStatus {
    Exited {
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
    },
    /// Still running at the deadline: its process group was killed.
    TimedOut,
    /// gohang was interrupted (Ctrl-C) while it ran: its process group was killed.
    Interrupted,
    /// It could not be started.
    SpawnFailed { error: String },
    /// No `go` on PATH.
    NotFound,
}

/// One time-boxed run.
#[derive(Clone, Debug, Serialize)]
pub struct GoRun {
    /// The command as a person would type it (`GOTOOLCHAIN=local go version`).
    pub command: String,
    /// The program that ran (the `go` found on PATH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    pub status: RunStatus,
    pub elapsed_ms: u64,
    pub limit_ms: u64,
    #[serde(skip)]
    pub stdout: Vec<u8>,
    #[serde(skip)]
    pub stderr: Vec<u8>,
}

impl GoRun {
    /// It ran to the end with exit status 0.
    pub fn succeeded(&self) -> bool {
        matches!(self.status, RunStatus::Exited { code: Some(0), .. })
    }
    pub fn timed_out(&self) -> bool {
        self.status == RunStatus::TimedOut
    }
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
    /// One line for a person: "exit 0 after 0.04 s", "did not finish within 10 s: …".
    pub fn describe(&self) -> String {
        let secs = |ms: u64| format!("{:.2} s", ms as f64 / 1000.0);
        match &self.status {
            RunStatus::Exited {
                code: Some(c),
                signal: _,
            } => format!("exit {c} after {}", secs(self.elapsed_ms)),
            RunStatus::Exited {
                signal: Some(s), ..
            } => format!("killed by signal {s} after {}", secs(self.elapsed_ms)),
            RunStatus::Exited { .. } => format!("ended after {}", secs(self.elapsed_ms)),
            RunStatus::TimedOut => format!(
                "did not finish within {}: its process group was killed (the go command itself hangs)",
                secs(self.limit_ms)
            ),
            RunStatus::Interrupted => "interrupted: its process group was killed".to_string(),
            RunStatus::SpawnFailed { error } => format!("could not be started: {error}"),
            RunStatus::NotFound => "not run: no `go` on PATH".to_string(),
        }
    }
}

/// The run that did not happen because there is no `go`.
pub fn not_found(command: &str, limit: Duration) -> GoRun {
    GoRun {
        command: command.to_string(),
        program: None,
        status: RunStatus::NotFound,
        elapsed_ms: 0,
        limit_ms: limit.as_millis() as u64,
        stdout: Vec::new(),
        stderr: Vec::new(),
    }
}

/// Run `program args…` with `env` added, in the current directory, for at most `limit`,
/// or until a signal is caught.
pub fn run(
    display: &str,
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
) -> GoRun {
    let started = Instant::now();
    let mut cmd = Command::new(program);
    cmd.args(args).envs(env.iter().copied());
    let (status, stdout, stderr) = match run_boxed(&mut cmd, limit) {
        Ok(out) => (status_of(&out), out.stdout, out.stderr),
        Err(e) => (
            RunStatus::SpawnFailed {
                error: e.to_string(),
            },
            String::new(),
            String::new(),
        ),
    };
    GoRun {
        command: display.to_string(),
        program: Some(program.display().to_string()),
        status,
        elapsed_ms: started.elapsed().as_millis() as u64,
        limit_ms: limit.as_millis() as u64,
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
    }
}

fn status_of(out: &RunOutput) -> RunStatus {
    use std::os::unix::process::ExitStatusExt;
    match out.status {
        Some(s) => RunStatus::Exited {
            code: s.code(),
            signal: s.signal(),
        },
        None if out.interrupted.is_some() => RunStatus::Interrupted,
        None => RunStatus::TimedOut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_command_is_captured() {
        let r = run(
            "sh -c",
            Path::new("/bin/sh"),
            &["-c", "echo out; echo err >&2; exit 3"],
            &[("X", "1")],
            Duration::from_secs(10),
        );
        assert_eq!(
            r.status,
            RunStatus::Exited {
                code: Some(3),
                signal: None
            }
        );
        assert_eq!(r.stdout_text(), "out\n");
        assert_eq!(r.stderr_text(), "err\n");
        assert!(r.describe().starts_with("exit 3"));
    }

    #[test]
    fn a_hanging_group_is_killed_at_the_deadline() {
        let t = Instant::now();
        // The shell's child sleeps too: the whole group must go, or the pipe stays open.
        let r = run(
            "sh -c sleep",
            Path::new("/bin/sh"),
            &["-c", "echo started; sleep 60 & sleep 60"],
            &[],
            Duration::from_millis(300),
        );
        assert!(r.timed_out(), "{r:?}");
        assert_eq!(r.stdout_text(), "started\n");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(r.describe().contains("did not finish within 0.30 s"));
    }

    #[test]
    fn a_missing_program_is_a_spawn_failure() {
        let r = run(
            "nope",
            Path::new("/nonexistent/go"),
            &[],
            &[],
            Duration::from_secs(1),
        );
        assert!(matches!(r.status, RunStatus::SpawnFailed { .. }), "{r:?}");
    }
}
