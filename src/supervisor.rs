//! The supervisor: runs a command under a watchdog, samples its process tree when it does
//! not finish, and always cleans up what it started.
//!
//! It owns processes and time; it decides nothing about causes (that is `classify`).
//! Guarantees:
//! - the command runs in its own process group, with the terminal handed to it as a shell
//!   would (`terminal`), so probing does not create a SIGTTIN stop of its own;
//! - output is streamed through and kept as a bounded tail;
//! - on exit, timeout, Ctrl-C or SIGTERM, every process of the tree is killed and reaped
//!   (gohang is a child subreaper, so even re-parented grandchildren are found), unless
//!   `--keep`, and then their pids are reported.

use crate::capture::{DEFAULT_TAIL, TailBuffer};
use crate::error::{UserError, exit};
use crate::evidence::{Evidence, HostInfo, Mode, Outcome, OutputTail, Sample, Target};
use crate::observe::{self, Sampler};
use crate::progress::Progress;
use crate::terminal::{self, JobControl};
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{SignalKind, signal};

/// Interval between samples of the tree.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(250);
/// How long to wait for killed processes to disappear.
const REAP_DEADLINE: Duration = Duration::from_secs(3);

#[derive(Clone, Debug)]
pub struct ProbeOptions {
    pub command: Vec<String>,
    pub timeout: Duration,
    pub window: Duration,
    pub keep: bool,
    /// Copy the command's output to ours as it comes (off with `--json`).
    pub stream_output: bool,
    pub progress: bool,
}

/// What a probe produced.
pub struct ProbeRun {
    pub evidence: Evidence,
    /// Pids left running on purpose (`--keep`).
    pub kept: Vec<u32>,
    /// Set when a signal (SIGINT/SIGTERM/SIGHUP) ended the probe early.
    pub interrupted: Option<Signal>,
    /// Processes that could not be killed (a frozen cgroup, uninterruptible sleep).
    pub survivors: Vec<u32>,
}

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

fn is_executable_file(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn not_found(program: &str) -> UserError {
    if program == "go" {
        UserError::new(
            exit::NO_INPUT,
            "no `go` on PATH: install Go (https://go.dev/dl/, or `apt install golang-go`, `brew install go`) \
             or name the command after `--`",
        )
    } else {
        UserError::new(
            exit::NO_INPUT,
            format!("`{program}`: no such command on PATH"),
        )
    }
}

/// Run the probe. Errors are for things that prevent a probe at all (no command, no
/// permission); everything else ends up in the evidence.
pub async fn probe(opts: &ProbeOptions, host: HostInfo) -> Result<ProbeRun, UserError> {
    let program = opts
        .command
        .first()
        .ok_or_else(|| UserError::new(exit::USAGE, "no command to probe"))?;
    let path = find_program(program).ok_or_else(|| not_found(program))?;
    let target = Target {
        mode: Mode::Spawn,
        command: opts.command.clone(),
        pid: None,
        timeout_ms: Some(opts.timeout.as_millis() as u64),
    };

    become_subreaper();
    let mut signals = Signals::new()?;
    let jobs = JobControl::setup();
    let take_fg = jobs.active();

    let mut cmd = tokio::process::Command::new(&path);
    cmd.arg0(program)
        .args(&opts.command[1..])
        .process_group(0)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
    // SAFETY: the closure only makes async-signal-safe calls (see terminal::child_pre_exec).
    unsafe {
        cmd.pre_exec(move || terminal::child_pre_exec(take_fg));
    }

    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return spawn_failed(&path, program, e, host, target),
    };
    let root = child.id().expect("a freshly spawned child has a pid");
    jobs.give_to(root);

    let progress = Progress::new(opts.progress);
    progress.waiting(&opts.command.join(" "), opts.timeout);

    let stdout_tail = Arc::new(Mutex::new(TailBuffer::new(DEFAULT_TAIL)));
    let stderr_tail = Arc::new(Mutex::new(TailBuffer::new(DEFAULT_TAIL)));
    let readers = [
        child.stdout.take().map(|s| {
            pump(
                s,
                stdout_tail.clone(),
                opts.stream_output.then_some(Sink::Stdout),
                progress.clone(),
            )
        }),
        child.stderr.take().map(|s| {
            pump(
                s,
                stderr_tail.clone(),
                opts.stream_output.then_some(Sink::Stderr),
                progress.clone(),
            )
        }),
    ];

    let mut interrupted = None;
    let mut outcome = tokio::select! {
        status = child.wait() => {
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match status {
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    // The user's Ctrl-C reaches the command when it owns the terminal.
                    if take_fg && matches!(s.signal(), Some(libc::SIGINT)) {
                        interrupted = Some(Signal::SIGINT);
                    }
                    Outcome::Exited { code: s.code(), signal: s.signal(), elapsed_ms }
                }
                Err(e) => return Err(UserError::new(exit::INTERNAL, format!("waiting for the command: {e}"))),
            }
        }
        _ = tokio::time::sleep(opts.timeout) => Outcome::TimedOut { elapsed_ms: started.elapsed().as_millis() as u64 },
        sig = signals.next() => { interrupted = Some(sig); Outcome::TimedOut { elapsed_ms: started.elapsed().as_millis() as u64 } }
    };

    let mut sampler = Sampler::new(&host);
    let mut samples = Vec::new();
    let mut native_stacks = None;
    let mut notes = Vec::new();
    if matches!(outcome, Outcome::TimedOut { .. }) && interrupted.is_none() {
        progress.sampling(sample_count(opts.window));
        let cancel = Arc::new(AtomicBool::new(false));
        let job = {
            let cancel = cancel.clone();
            let progress = progress.clone();
            let window = opts.window;
            tokio::task::spawn_blocking(move || {
                let samples = sample_window(
                    &mut sampler,
                    &[root],
                    &[],
                    window,
                    started,
                    &cancel,
                    &progress,
                );
                let stacks = observe::native_stacks(&samples, &cancel);
                (sampler, (samples, stacks))
            })
        };
        tokio::pin!(job);
        let (s, taken) = tokio::select! {
            r = &mut job => r.map_err(|e| UserError::new(exit::INTERNAL, format!("sampler failed: {e}")))?,
            sig = signals.next() => {
                interrupted = Some(sig);
                cancel.store(true, Ordering::Relaxed);
                job.await.map_err(|e| UserError::new(exit::INTERNAL, format!("sampler failed: {e}")))?
            }
        };
        sampler = s;
        (samples, native_stacks) = taken;
        if samples.iter().all(|s| s.process(root).is_none()) {
            notes.push("the command exited as sampling began".to_string());
            outcome = Outcome::Vanished {
                after_ms: started.elapsed().as_millis() as u64,
            };
        }
    }
    progress.finish();

    // Clean up: the tree gohang started, and anything re-parented to it.
    let (kept, survivors) = if opts.keep {
        let mut kept = sampler.tree_pids(&[std::process::id()]);
        kept.retain(|p| *p != std::process::id());
        (kept, Vec::new())
    } else {
        (Vec::new(), kill_tree(&mut sampler, root).await)
    };
    jobs.restore();
    if !opts.keep {
        let _ = tokio::time::timeout(REAP_DEADLINE, child.wait()).await;
    }
    for r in readers.into_iter().flatten() {
        // Readers end at EOF once every writer is gone; with --keep they may not.
        let _ = tokio::time::timeout(Duration::from_millis(200), r).await;
    }
    if let Some(code) = child.try_wait().ok().flatten()
        && let Outcome::TimedOut { .. } = outcome
    {
        notes.push(format!(
            "after sampling, the command ended with {code} when gohang stopped it"
        ));
    }
    for pid in &survivors {
        notes.push(format!(
            "pid {pid} could not be killed (a frozen cgroup or uninterruptible sleep holds it); it will end when released"
        ));
    }

    let mut target = target;
    target.pid = Some(root);
    let mut evidence = Evidence::new(host, target, outcome);
    evidence.samples = samples;
    evidence.output = OutputTail {
        stdout: stdout_tail.lock().unwrap().to_stream_tail(),
        stderr: stderr_tail.lock().unwrap().to_stream_tail(),
    };
    evidence.notes = notes;
    evidence.native_stacks = native_stacks;
    Ok(ProbeRun {
        evidence,
        kept,
        interrupted,
        survivors,
    })
}

fn spawn_failed(
    path: &Path,
    program: &str,
    e: std::io::Error,
    host: HostInfo,
    target: Target,
) -> Result<ProbeRun, UserError> {
    let errno = e.raw_os_error();
    match errno {
        Some(libc::ENOENT) => return Err(not_found(program)),
        Some(libc::EACCES) => {
            return Err(UserError::new(
                exit::NO_PERMISSION,
                format!(
                    "cannot execute {}: permission denied (is it executable? chmod +x {})",
                    path.display(),
                    path.display()
                ),
            ));
        }
        _ => {}
    }
    // Name the file's slices: "x86_64, i386" says why an arm64 Mac refuses it (EBADARCH).
    let slices = crate::binary::exe_info(path)
        .map(|i| i.arches)
        .unwrap_or_default();
    let program_arch = slices.first().cloned();
    let msg = e.to_string();
    let error = msg.split(" (os error").next().unwrap_or(&msg).to_string();
    let outcome = Outcome::SpawnFailed {
        program: path.display().to_string(),
        error,
        errno,
        program_arch,
        slices,
    };
    Ok(ProbeRun {
        evidence: Evidence::new(host, target, outcome),
        kept: Vec::new(),
        interrupted: None,
        survivors: Vec::new(),
    })
}

/// Samples per window: one every SAMPLE_INTERVAL, both ends included; one for a zero window.
pub fn sample_count(window: Duration) -> u64 {
    (window.as_millis() / SAMPLE_INTERVAL.as_millis()) as u64 + 1
}

/// Sample the trees under `roots` over `window`. Stops early when the roots are gone or
/// `cancel` is set.
pub fn sample_window(
    sampler: &mut Sampler,
    roots: &[u32],
    exclude: &[u32],
    window: Duration,
    epoch: Instant,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Vec<Sample> {
    let n = sample_count(window);
    let begin = Instant::now();
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let due = begin
            + window.mul_f64(if n > 1 {
                i as f64 / (n - 1) as f64
            } else {
                0.0
            });
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let s = sampler.sample(roots, exclude, epoch.elapsed().as_millis() as u64);
        progress.sampled();
        let gone = s.processes.is_empty();
        out.push(s);
        if gone {
            break;
        }
    }
    out
}

/// Kill every process descended from gohang (the probed tree and re-parented orphans),
/// reap them, and return the pids still alive at the deadline.
async fn kill_tree(sampler: &mut Sampler, root: u32) -> Vec<u32> {
    let me = std::process::id();
    let deadline = Instant::now() + REAP_DEADLINE;
    let _ = killpg(Pid::from_raw(root as i32), Signal::SIGKILL);
    loop {
        let mut pids = sampler.tree_pids(&[me]);
        pids.retain(|p| *p != me);
        // Zombies are dead already; reaping them is all that is left.
        let alive: Vec<u32> = pids
            .into_iter()
            .filter(|p| !observe::is_zombie(*p))
            .collect();
        for pid in &alive {
            let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
        }
        reap_orphans();
        if alive.is_empty() || Instant::now() >= deadline {
            return alive;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reap children re-parented to gohang (it is a subreaper). Only called once the tree
/// has been sent SIGKILL, when no exit status is wanted any more.
fn reap_orphans() {
    while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
        if status.pid().is_none() {
            break;
        }
    }
}

/// Make gohang the reaper of its orphaned descendants, so a daemonizing grandchild stays
/// in its tree instead of moving to init (`prctl(2)` PR_SET_CHILD_SUBREAPER).
fn become_subreaper() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

enum Sink {
    Stdout,
    Stderr,
}

/// Copy a child's stream into its tail, and through to ours when asked.
fn pump<R>(
    mut r: R,
    tail: Arc<Mutex<TailBuffer>>,
    sink: Option<Sink>,
    progress: Progress,
) -> tokio::task::JoinHandle<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            tail.lock().unwrap().push(&buf[..n]);
            if let Some(sink) = &sink {
                progress.suspend(|| {
                    let _ = match sink {
                        Sink::Stdout => {
                            let mut o = std::io::stdout().lock();
                            o.write_all(&buf[..n]).and_then(|_| o.flush())
                        }
                        Sink::Stderr => std::io::stderr().lock().write_all(&buf[..n]),
                    };
                });
            }
        }
    })
}

/// SIGINT, SIGTERM and SIGHUP, as one stream.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals, UserError> {
        let mk = |k| {
            signal(k).map_err(|e| {
                UserError::new(exit::INTERNAL, format!("installing signal handlers: {e}"))
            })
        };
        Ok(Signals {
            int: mk(SignalKind::interrupt())?,
            term: mk(SignalKind::terminate())?,
            hup: mk(SignalKind::hangup())?,
        })
    }
    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.int.recv() => Signal::SIGINT,
            _ = self.term.recv() => Signal::SIGTERM,
            _ = self.hup.recv() => Signal::SIGHUP,
        }
    }
}
