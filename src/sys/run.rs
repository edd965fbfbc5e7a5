//! The one runner for a helper command under a deadline: in a process group of its own,
//! stdin from /dev/null, each output stream captured up to [`MAX_CAPTURE`] bytes, and
//! nothing left behind. On the deadline, or on a signal caught by a
//! [`crate::sys::signals::Catcher`], the whole group is killed and the child reaped; when
//! it ends by itself, whatever it left in its group is killed too. The group id is the
//! child's pid, which cannot be reused before gohang reaps it.
//!
//! Output is read by helper threads into bounded buffers; a reader still blocked after the
//! end (a grandchild that left the group holds the pipe) is abandoned, not waited for.
//!
//! Used for `go version`, `go env -json`, `go tool compile -V=full` and the package
//! managers' owner queries (`rebuild`, `bundle`, `check`); make.bash, which streams, uses
//! [`stop_group`] and [`group_gone`] (`rebuild/build.rs`). The program and its environment
//! are the caller's `Command`.

use crate::sys::signals;
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// At most this much of each stream is kept (`go env -json` prints a few kilobytes).
pub const MAX_CAPTURE: usize = 1 << 20;
/// How long to wait for the pipes to close once the process (and its group) is gone.
const DRAIN_DEADLINE: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct RunOutput {
    /// None when the process had to be killed.
    pub status: Option<ExitStatus>,
    /// Decoded lossily: the helpers run print UTF-8 (Go's `encoding/json` never emits
    /// anything else).
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub interrupted: Option<Signal>,
    pub elapsed: Duration,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// "exit status 1", "killed by SIGSEGV", "timed out after 30 s", "interrupted by SIGINT".
    pub fn describe(&self) -> String {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = self.interrupted {
            return format!("interrupted by {sig}");
        }
        if self.timed_out {
            return format!("timed out after {:.0} s", self.elapsed.as_secs_f64());
        }
        match self.status {
            Some(s) => match (s.code(), s.signal()) {
                (Some(c), _) => format!("exit status {c}"),
                (None, Some(n)) => match Signal::try_from(n) {
                    Ok(sig) => format!("killed by {sig}"),
                    Err(_) => format!("killed by signal {n}"),
                },
                _ => "ended".to_string(),
            },
            None => "did not finish".to_string(),
        }
    }
}

/// Run `cmd` (stdin from /dev/null, output captured) for at most `timeout`, or until a
/// signal is caught by the [`signals::Catcher`] held meanwhile (Ctrl-C). Err when it
/// could not be started.
pub fn run_boxed(cmd: &mut Command, timeout: Duration) -> std::io::Result<RunOutput> {
    run_until(cmd, timeout, signals::caught)
}

/// [`run_boxed`], stopped early when `stop` returns a signal.
pub fn run_until(
    cmd: &mut Command,
    timeout: Duration,
    stop: impl Fn() -> Option<Signal>,
) -> std::io::Result<RunOutput> {
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let rx = capture(&mut child);
    let mut out = RunOutput::default();
    let ended = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) => {}
            Err(e) => {
                stop_group(&mut child, Duration::ZERO);
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("waiting for it: {e}"),
                ));
            }
        }
        if let Some(sig) = stop() {
            out.interrupted = Some(sig);
            break None;
        }
        if start.elapsed() >= timeout {
            out.timed_out = true;
            break None;
        }
        std::thread::sleep(poll_interval(start.elapsed()));
    };
    out.status = match ended {
        Some(s) => {
            // Whatever the command left in its group goes too.
            let _ = killpg(group_of(&child), Signal::SIGKILL);
            Some(s)
        }
        None => {
            stop_group(&mut child, Duration::ZERO);
            None
        }
    };
    out.elapsed = start.elapsed();
    let deadline = Instant::now() + DRAIN_DEADLINE;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok((0, b)) => out.stdout = String::from_utf8_lossy(&b).into_owned(),
            Ok((_, b)) => out.stderr = String::from_utf8_lossy(&b).into_owned(),
            Err(_) => break,
        }
    }
    Ok(out)
}

/// Read the child's stdout (0) and stderr (1) to their ends on helper threads, keeping the
/// first [`MAX_CAPTURE`] bytes of each.
fn capture(child: &mut Child) -> mpsc::Receiver<(usize, Vec<u8>)> {
    let (tx, rx) = mpsc::channel();
    let streams = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for (i, stream) in streams.into_iter().enumerate() {
        let Some(mut stream) = stream else { continue };
        let tx = tx.clone();
        // Without a thread that stream stays empty.
        let _ = std::thread::Builder::new()
            .name("gohang-run-output".into())
            .spawn(move || {
                let mut kept = Vec::new();
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let room = MAX_CAPTURE.saturating_sub(kept.len());
                            kept.extend_from_slice(&buf[..n.min(room)]);
                        }
                    }
                }
                let _ = tx.send((i, kept));
            });
    }
    rx
}

/// Short polls at first (most helpers finish in milliseconds), then a steadier pace.
fn poll_interval(elapsed: Duration) -> Duration {
    if elapsed < Duration::from_millis(200) {
        Duration::from_millis(5)
    } else {
        Duration::from_millis(50)
    }
}

/// The process group of a child started with `process_group(0)`: its own pid.
pub fn group_of(child: &Child) -> Pid {
    Pid::from_raw(child.id() as i32)
}

/// Stop a child's whole process group: SIGTERM, up to `grace` for it to go, then SIGKILL;
/// reap the child and wait (bounded) until no member of the group is left. Returns the
/// child's exit status when it could be reaped.
pub fn stop_group(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    let pg = group_of(child);
    let mut status = None;
    if !grace.is_zero() {
        let _ = killpg(pg, Signal::SIGTERM);
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if status.is_none() {
                status = child.try_wait().ok().flatten();
            }
            if status.is_some() && group_gone(pg) {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = killpg(pg, Signal::SIGKILL);
    if status.is_none() {
        status = child.wait().ok();
    }
    let until = Instant::now() + Duration::from_secs(5);
    while !group_gone(pg) && Instant::now() < until {
        let _ = killpg(pg, Signal::SIGKILL);
        std::thread::sleep(Duration::from_millis(20));
    }
    status
}

/// No process is left in group `pg` (zombies not yet reaped by their parent still count).
pub fn group_gone(pg: Pid) -> bool {
    killpg(pg, None) == Err(Errno::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let mut c = Command::new("sh");
        c.args(["-c", "echo out; echo err >&2; exit 3"]);
        let o = run_boxed(&mut c, Duration::from_secs(10)).unwrap();
        assert_eq!(o.stdout, "out\n");
        assert_eq!(o.stderr, "err\n");
        assert_eq!(o.status.unwrap().code(), Some(3));
        assert_eq!(o.describe(), "exit status 3");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn timeout_kills_the_whole_group() {
        // The shell starts a grandchild that would outlive it; both must go.
        let mut c = Command::new("sh");
        c.args(["-c", "sleep 60 & echo $!; wait"]);
        let o = run_boxed(&mut c, Duration::from_millis(300)).unwrap();
        assert!(o.timed_out, "{o:?}");
        assert!(o.status.is_none());
        assert!(o.describe().starts_with("timed out"));
        let grandchild: i32 = o.stdout.trim().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while nix::sys::signal::kill(Pid::from_raw(grandchild), None).is_ok() {
            // It may linger as a zombie until init reaps it; a zombie is state Z.
            let stat = std::fs::read_to_string(format!("/proc/{grandchild}/stat"));
            if stat.is_ok_and(|s| s.rsplit(')').next().unwrap_or("").trim().starts_with('Z')) {
                break;
            }
            assert!(Instant::now() < deadline, "sleep {grandchild} survived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn the_callers_environment_reaches_the_helper() {
        let mut c = Command::new("/bin/sh");
        c.args(["-c", "echo \"$GOHANG_RUN_TEST\""])
            .env("GOHANG_RUN_TEST", "seen");
        let o = run_boxed(&mut c, Duration::from_secs(10)).unwrap();
        assert_eq!(o.stdout, "seen\n");
        assert!(o.success());
    }

    #[test]
    fn a_stop_signal_kills_the_group_at_once() {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let t = Instant::now();
        let o = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            let mut c = Command::new("/bin/sh");
            c.args(["-c", "echo started; sleep 60 & sleep 60"]);
            run_until(&mut c, Duration::from_secs(60), || {
                stop.load(std::sync::atomic::Ordering::Relaxed)
                    .then_some(Signal::SIGINT)
            })
            .unwrap()
        });
        assert_eq!(o.interrupted, Some(Signal::SIGINT), "{o:?}");
        assert_eq!(o.stdout, "started\n");
        assert_eq!(o.describe(), "interrupted by SIGINT");
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let mut c = Command::new("/nonexistent/go");
        assert!(run_boxed(&mut c, Duration::from_secs(1)).is_err());
    }
}
