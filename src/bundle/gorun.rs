//! Running `go env -json` and `go version` for the bundle, each with a deadline.
//!
//! `go` may be exactly what hangs, so a run that misses its deadline has its whole process
//! group killed (it runs in a group of its own; the group id is its pid, which cannot be
//! reused before gohang reaps it), and the bundle says so instead of waiting. Output is
//! read by helper threads into bounded buffers; a reader still blocked after the kill (a
//! grandchild that left the group holds the pipe) is abandoned, not waited for.
//!
//! These runs must not overlap a probe: the supervisor kills and reaps every descendant of
//! gohang when it cleans up.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Bytes kept of each stream (`go env -json` prints a few kilobytes).
const KEEP: usize = 1 << 20;
/// How long to wait for a killed group to be reaped and its pipes to close.
const AFTER_KILL: Duration = Duration::from_secs(2);

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
/// or until `cancel` is set.
pub fn run(
    display: &str,
    program: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    limit: Duration,
    cancel: &AtomicBool,
) -> GoRun {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let started = Instant::now();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let done = |status: RunStatus, stdout: Vec<u8>, stderr: Vec<u8>| GoRun {
        command: display.to_string(),
        program: Some(program.display().to_string()),
        status,
        elapsed_ms: started.elapsed().as_millis() as u64,
        limit_ms: limit.as_millis() as u64,
        stdout,
        stderr,
    };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return done(
                RunStatus::SpawnFailed {
                    error: e.to_string(),
                },
                Vec::new(),
                Vec::new(),
            );
        }
    };
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let deadline = started + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => {
                break RunStatus::Exited {
                    code: s.code(),
                    signal: s.signal(),
                };
            }
            Ok(None) if Instant::now() < deadline && !cancel.load(Ordering::Relaxed) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Ok(None) => {
                // Not reaped yet, so the group id (its pid) still names this group.
                let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
                let reap_by = Instant::now() + AFTER_KILL;
                while Instant::now() < reap_by {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                break if cancel.load(Ordering::Relaxed) {
                    RunStatus::Interrupted
                } else {
                    RunStatus::TimedOut
                };
            }
            Err(e) => {
                break RunStatus::SpawnFailed {
                    error: format!("waiting for it: {e}"),
                };
            }
        }
    };
    let wait = if matches!(status, RunStatus::TimedOut | RunStatus::Interrupted) {
        AFTER_KILL
    } else {
        // Exited: the pipes close unless a child it left behind holds them.
        Duration::from_millis(500)
    };
    let stdout = out.recv_timeout(wait).unwrap_or_default();
    let stderr = err.recv_timeout(wait).unwrap_or_default();
    done(status, stdout, stderr)
}

/// Read a pipe to its end (keeping the first [`KEEP`] bytes) on a helper thread.
fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::sync_channel(1);
    if let Some(mut p) = pipe {
        // Without a thread the receiver times out with nothing read.
        let _ = std::thread::Builder::new()
            .name("gohang-go-output".into())
            .spawn(move || {
                let mut kept = Vec::new();
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match p.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let room = KEEP.saturating_sub(kept.len());
                            kept.extend_from_slice(&buf[..n.min(room)]);
                        }
                    }
                }
                let _ = tx.send(kept);
            });
    } else {
        let _ = tx.send(Vec::new());
    }
    rx
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
            &AtomicBool::new(false),
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
            &AtomicBool::new(false),
        );
        assert!(r.timed_out(), "{r:?}");
        assert_eq!(r.stdout_text(), "started\n");
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(r.describe().contains("did not finish within 0.30 s"));
    }

    #[test]
    fn a_cancelled_run_is_killed_at_once() {
        let cancel = std::sync::Arc::new(AtomicBool::new(false));
        let c = cancel.clone();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            c.store(true, Ordering::Relaxed);
        });
        let t = Instant::now();
        let r = run(
            "sleep",
            Path::new("/bin/sh"),
            &["-c", "sleep 60"],
            &[],
            Duration::from_secs(60),
            &cancel,
        );
        setter.join().unwrap();
        assert_eq!(r.status, RunStatus::Interrupted);
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    }

    #[test]
    fn a_missing_program_is_a_spawn_failure() {
        let r = run(
            "nope",
            Path::new("/nonexistent/go"),
            &[],
            &[],
            Duration::from_secs(1),
            &AtomicBool::new(false),
        );
        assert!(matches!(r.status, RunStatus::SpawnFailed { .. }), "{r:?}");
    }
}
