//! dtruss on macOS: only as root and only when System Integrity Protection lets DTrace
//! trace (`availability`; `darwin::permission::dtruss` words the reason: with SIP on, the
//! syscall provider is missing or dtrace refuses restricted processes); otherwise `--trace`
//! says why in one line and gohang goes on with sampling (stacks from `/usr/bin/sample`).
//! It never suggests turning SIP off. Its output is parsed by `trace::dtruss`, on every OS.
//!
//! dtruss follows one pid (`-p`) and, with `-f`, the children it starts from then on. It
//! prints calls when they return, so a blocked call never shows: the summary has each
//! thread's last completed calls (`shows_unfinished` false). It runs in a process group of
//! its own (a shell script around dtrace) and ends with SIGINT to that group, at which
//! dtrace prints what it holds and exits; DTrace does not stop the traced process.
//!
//! In spawn mode dtruss is attached to the command right after it starts, so that the
//! command runs as the user and not as the root that `dtruss CMD` would run it as.

use super::Finish;
use super::collect::Format;
use super::stream::{self, Stream};
use crate::evidence::TraceSummary;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

pub const TOOL: &str = "dtruss";

/// Where macOS installs dtruss.
pub const DTRUSS: &str = "/usr/bin/dtruss";

const STOP_LIMIT: Duration = Duration::from_secs(3);

/// Ok when dtruss can trace here, else the one-line reason.
pub fn availability() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    crate::darwin::permission::dtruss(
        euid,
        crate::observe::sip().as_ref(),
        Path::new(DTRUSS).exists(),
    )
}

/// The dtruss command that follows `pid` and its children (`-f`), with elapsed times.
fn command(pid: u32) -> Result<std::process::Command, String> {
    availability()?;
    let mut c = std::process::Command::new(DTRUSS);
    c.arg("-f").arg("-e").arg("-p").arg(pid.to_string());
    Ok(c)
}

fn unavailable(why: String) -> String {
    format!("--trace: {why}; no system calls were traced")
}

/// Spawn mode: nothing wraps the command; dtruss attaches once it runs.
pub struct SpawnTrace {
    calls: Arc<AtomicU64>,
}

impl SpawnTrace {
    pub fn prepare(_path: &Path, _args: &[String], _keep: bool) -> Result<SpawnTrace, String> {
        availability().map_err(unavailable)?;
        Ok(SpawnTrace {
            calls: Arc::new(AtomicU64::new(0)),
        })
    }

    /// dtruss does not wrap the command.
    pub fn exec(&self) -> Option<(&Path, &[String])> {
        None
    }

    pub fn calls(&self) -> Arc<AtomicU64> {
        self.calls.clone()
    }

    pub fn started(self, root: u32) -> Result<Tracer, String> {
        Tracer::attach(&[root])
    }
}

/// A dtruss run.
pub struct Tracer {
    child: Child,
    stream: Stream,
    started: Instant,
    command: Vec<String>,
    notes: Vec<String>,
}

impl Tracer {
    /// Trace `pids[0]` and the children it starts.
    pub fn attach(pids: &[u32]) -> Result<Tracer, String> {
        use std::os::unix::process::CommandExt;
        let Some(&pid) = pids.first() else {
            return Err("--trace: no process to trace".into());
        };
        let mut cmd = command(pid).map_err(unavailable)?;
        let (reader, writer) =
            std::io::pipe().map_err(|e| format!("--trace: cannot make a pipe: {e}"))?;
        let writer2 = writer
            .try_clone()
            .map_err(|e| format!("--trace: cannot make a pipe: {e}"))?;
        cmd.stdin(Stdio::null())
            .stdout(writer)
            .stderr(writer2)
            .process_group(0);
        let mut notes = Vec::new();
        if pids.len() > 1 {
            notes.push(format!(
                "--trace: dtruss follows one process: pid {pid} and the children it starts from now on; {} other process{} of the tree {} not traced",
                pids.len() - 1,
                if pids.len() == 2 { "" } else { "es" },
                if pids.len() == 2 { "was" } else { "were" }
            ));
        }
        let sink = super::new_sink(&mut notes);
        let command: Vec<String> =
            std::iter::once(cmd.get_program().to_string_lossy().into_owned())
                .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
                .collect();
        let child = cmd
            .spawn()
            .map_err(|e| format!("--trace: cannot run dtruss: {e}"))?;
        // Our copies of the pipe's write end go with `cmd`: the reader sees its end when
        // dtruss exits.
        drop(cmd);
        let stream = Stream::start(
            reader,
            Format::Dtruss,
            sink,
            super::line_redactor(&[], pids),
        );
        Ok(Tracer {
            child,
            stream,
            started: Instant::now(),
            command,
            notes,
        })
    }

    pub fn tool(&self) -> &'static str {
        TOOL
    }

    pub fn pid(&self) -> Option<u32> {
        Some(self.child.id())
    }

    pub fn calls(&self) -> Arc<AtomicU64> {
        self.stream.calls()
    }

    pub fn snapshot(&self) -> TraceSummary {
        let snap = self.stream.snapshot();
        super::summarize(
            TOOL,
            &self.command,
            &snap,
            self.started.elapsed(),
            None,
            self.notes.clone(),
        )
    }

    /// Stop dtruss (SIGINT to its group, SIGKILL after a while). DTrace never held the
    /// target, so every way of finishing is the same.
    pub fn finish(mut self, _how: Finish) -> TraceSummary {
        use nix::sys::signal::{Signal, killpg};
        let duration = self.started.elapsed();
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = killpg(group, Signal::SIGINT);
        let deadline = Instant::now() + STOP_LIMIT;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = killpg(group, Signal::SIGKILL);
                    let _ = self.child.wait();
                    self.notes.push(format!(
                        "--trace: dtruss did not stop within {} s of SIGINT and was killed",
                        STOP_LIMIT.as_secs()
                    ));
                    break;
                }
            }
        }
        let (snap, kept) = stream::finish_with_state(self.stream, STOP_LIMIT);
        super::summarize(
            TOOL,
            &self.command,
            &snap,
            duration,
            kept.as_ref(),
            self.notes,
        )
    }
}
