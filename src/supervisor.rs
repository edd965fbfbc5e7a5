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
use crate::error::UserError;
use crate::evidence::{
    Evidence, GoContext, GoroutineDump, HostInfo, Mode, NativeStacks, Outcome, OutputTail,
    ProcessSnapshot, Sample, Target,
};
use crate::observe::{self, Sampler, Schedule};
use crate::progress::Progress;
use crate::sys::process::{Reaped, become_subreaper, kill_exact, reap_exited, signal_exact};
use crate::sys::signals::Catcher;
use crate::terminal::{self, JobControl};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// How long to wait for killed processes to disappear.
const REAP_DEADLINE: Duration = Duration::from_secs(3);

#[derive(Clone, Debug)]
pub struct ProbeOptions {
    pub command: Vec<String>,
    pub timeout: Duration,
    pub window: Duration,
    pub keep: bool,
    /// Ask the stuck Go process for its goroutines (SIGQUIT) before cleaning up.
    pub goroutines: bool,
    /// Run the command under a system call tracer (`trace`).
    pub trace: bool,
    /// Copy the command's output to ours as it comes (off with `--json`).
    pub stream_output: bool,
    pub progress: bool,
}

/// Re-exported for `bundle/collect.rs` until its call site names `sys::process`.
use crate::sys::process::find_program;

/// What a probe produced.
pub struct ProbeRun {
    pub evidence: Evidence,
    /// Pids left running on purpose (`--keep`).
    pub kept: Vec<u32>,
    /// Set when a signal (SIGINT/SIGTERM/SIGHUP) ended the probe early.
    pub interrupted: Option<Signal>,
    /// Processes that could not be killed (a frozen cgroup, uninterruptible sleep).
    pub survivors: Vec<u32>,
    /// Things to tell the user on stderr (also kept as notes), e.g. why there is no trace.
    pub warnings: Vec<String>,
}

fn not_found(program: &str) -> UserError {
    if program == "go" {
        UserError::no_input(
            "no `go` on PATH: install Go (https://go.dev/dl/, or `apt install golang-go`, `brew install go`) \
             or name the command after `--`",
        )
    } else {
        UserError::no_input(format!("`{program}`: no such command on PATH"))
    }
}

/// Run the probe. Errors are for things that prevent a probe at all (no command, no
/// permission); everything else ends up in the evidence.
///
/// The steps, in order: start the command (under a tracer with `--trace`), wait for it or
/// for the deadline, sample the stuck tree over the window, take the goroutines, clean up
/// (kill and reap, or keep), and put the evidence together. The host is described
/// (`observe::host_info`) while the command already runs, so that gohang's own start-up
/// adds nothing to the command's wall-clock time.
pub async fn probe(opts: &ProbeOptions) -> Result<ProbeRun, UserError> {
    let program = opts
        .command
        .first()
        .ok_or_else(|| UserError::usage("no command to probe"))?;
    let path = find_program(program).ok_or_else(|| not_found(program))?;
    let target = Target {
        mode: Mode::Spawn,
        command: opts.command.clone(),
        pid: None,
        timeout_ms: Some(opts.timeout.as_millis() as u64),
    };

    become_subreaper();
    let signals = Catcher::install()
        .map_err(|e| UserError::internal(format!("installing signal handlers: {e}")))?;
    let jobs = JobControl::setup();
    let mut warnings = Vec::new();
    let (mut child, started, tracer) = match start(opts, &path, &jobs, &mut warnings)? {
        Ok(started) => started,
        Err(e) => return spawn_failed(&path, program, e, observe::host_info(), target),
    };
    let root = child.id().expect("a freshly spawned child has a pid");
    let host = observe::host_info();
    let toolchain_job = inspect_toolchain(&opts.command, &host);

    let progress = waiting_progress(opts, tracer.as_ref());
    let (output, readers) = Output::capture(&mut child, opts.stream_output, &progress);
    let own_pids: Vec<u32> = tracer.as_ref().and_then(|t| t.pid()).into_iter().collect();
    let mut run = Spawned {
        child,
        root,
        started,
        jobs,
        output,
        readers,
        own_pids,
    };

    let (mut outcome, mut interrupted) = run.wait(opts.timeout, &signals).await?;
    let mut sampler = Sampler::new(&host);
    let mut window = Window::default();
    let mut goroutines = None;
    let mut notes = Vec::new();
    let mut trace_summary = None;
    if stuck(&outcome, interrupted) {
        let tracer = tracer.as_ref();
        let (s, w, signal) = run
            .sample(sampler, opts.window, &host, tracer, &progress, &signals)
            .await?;
        (sampler, window) = (s, w);
        interrupted = interrupted.or(signal);
        if let Some(gone) = vanished(&window, root, started) {
            notes.push("the command exited as sampling began".to_string());
            outcome = gone;
        }
        // Where the threads sit now, before a goroutine dump or the kill moves them.
        trace_summary = tracer.as_ref().map(|t| t.snapshot());
    }
    if stuck(&outcome, interrupted) {
        let mut partial = Evidence::new(host.clone(), target.clone(), outcome.clone());
        (partial.target.pid, partial.own_pids) = (Some(root), run.own_pids.clone());
        partial.samples = window.samples.clone();
        match take_goroutines(opts, partial, &window, root, &run.output, &progress).await {
            Ok(dump) => goroutines = Some(dump),
            Err(note) => notes.extend(note),
        }
    }
    progress.finish();

    // Clean up: the tree gohang started, and anything re-parented to it.
    if matches!(outcome, Outcome::TimedOut { .. }) {
        run.output.mute.store(true, Ordering::Relaxed);
    }
    // With --keep the tracer lets go first, so that what is left runs untraced.
    let tracer = match tracer {
        Some(t) if opts.keep => {
            end_trace(t, crate::trace::Finish::Release, &mut trace_summary);
            None
        }
        other => other,
    };
    let (kept, survivors) = run
        .clean_up(opts, &mut sampler, &outcome, &mut notes, &mut warnings)
        .await;
    if let Some(t) = tracer {
        // The traced tree has exited or been killed: the tracer ends with it.
        end_trace(t, crate::trace::Finish::Wait, &mut trace_summary);
    }
    if let Some(t) = &trace_summary {
        notes.extend(std::iter::once(crate::trace::describe(t)).chain(t.notes.iter().cloned()));
    }
    notes.extend(warnings.iter().cloned());

    if let Some(errno) = exec_error_under_trace(trace_summary.is_some(), &outcome, &run.output) {
        let e = std::io::Error::from_raw_os_error(errno);
        let mut run = spawn_failed(&path, program, e, host, target)?;
        (run.evidence.trace, run.evidence.notes) = (trace_summary, notes);
        run.warnings = warnings;
        return Ok(run);
    }

    let mut evidence = run.evidence(host, target, outcome, window);
    evidence.notes = notes;
    evidence.goroutines = goroutines;
    evidence.trace = trace_summary;
    // Bounded: the inspection has its own deadline (toolchain::timebox).
    evidence.toolchain = toolchain_job.and_then(|j| j.join().ok()).flatten();
    Ok(ProbeRun {
        evidence,
        kept,
        interrupted,
        survivors,
        warnings,
    })
}

/// The command gohang started, and what gohang holds of it.
struct Spawned {
    child: tokio::process::Child,
    root: u32,
    started: Instant,
    jobs: JobControl,
    output: Output,
    readers: [Reader; 2],
    /// gohang's helpers in the tree (the tracer), never sampled as the command's.
    own_pids: Vec<u32>,
}

impl Spawned {
    /// The evidence of the run: what was sampled and what the command printed.
    fn evidence(
        &self,
        host: HostInfo,
        mut target: Target,
        outcome: Outcome,
        window: Window,
    ) -> Evidence {
        target.pid = Some(self.root);
        let mut evidence = Evidence::new(host, target, outcome);
        evidence.samples = window.samples;
        evidence.output = self.output.tails();
        evidence.native_stacks = window.native_stacks;
        evidence.go = window.go;
        evidence.remotes = window.remotes;
        evidence.git_started = window.git_started;
        evidence.access_monitors = window.access_monitors;
        evidence.own_pids = self.own_pids.clone();
        evidence
    }

    /// Wait for the command to exit, for the deadline, or for a signal to gohang.
    async fn wait(
        &mut self,
        timeout: Duration,
        signals: &Catcher,
    ) -> Result<(Outcome, Option<Signal>), UserError> {
        let owns_terminal = self.jobs.active();
        wait_or_deadline(
            &mut self.child,
            timeout,
            owns_terminal,
            signals,
            self.started,
        )
        .await
    }

    /// Sample the stuck tree over `window`, with the processes that double-forked out of
    /// it and were re-parented to gohang (a subreaper): they are killed with the tree too
    /// (issue 14).
    async fn sample(
        &self,
        sampler: Sampler,
        window: Duration,
        host: &HostInfo,
        tracer: Option<&crate::trace::Tracer>,
        progress: &Progress,
        signals: &Catcher,
    ) -> Result<(Sampler, Window, Option<Signal>), UserError> {
        let schedule = Schedule::new(window, self.started);
        match tracer {
            Some(t) => progress.tracing(t.tool(), window, t.calls()),
            None => progress.sampling(schedule.count()),
        }
        let mut roots = vec![self.root];
        roots.extend(escapees(self.root, &self.own_pids));
        sample_stuck(sampler, roots, schedule, host, progress, signals).await
    }

    /// Kill and reap the tree (or leave it running with `--keep`), take the terminal back,
    /// and drain the output. Returns the pids kept and the pids that could not be killed.
    async fn clean_up(
        &mut self,
        opts: &ProbeOptions,
        sampler: &mut Sampler,
        outcome: &Outcome,
        notes: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> (Vec<u32>, Vec<u32>) {
        let (kept, survivors) = if opts.keep {
            let kept = keep_tree(sampler, &self.own_pids, notes, warnings);
            (kept, Vec::new())
        } else {
            let root_unreaped = !matches!(outcome, Outcome::Exited { .. });
            (
                Vec::new(),
                kill_tree(sampler, self.root, root_unreaped).await,
            )
        };
        self.jobs.restore();
        if !opts.keep {
            let _ = tokio::time::timeout(REAP_DEADLINE, self.child.wait()).await;
        }
        for r in self.readers.iter_mut().filter_map(Option::take) {
            // Readers end at EOF once every writer is gone; with --keep they may not.
            let _ = tokio::time::timeout(Duration::from_millis(200), r).await;
        }
        if let Some(code) = self.child.try_wait().ok().flatten()
            && let Outcome::TimedOut { .. } = *outcome
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
        (kept, survivors)
    }
}

/// Start the command — under a tracer that execs it with `--trace` (strace), or with the
/// tracer attached once it runs (dtruss) — and hand it the terminal. The inner Err is the
/// spawn's own failure, which `spawn_failed` explains.
#[allow(clippy::type_complexity)]
fn start(
    opts: &ProbeOptions,
    path: &Path,
    jobs: &JobControl,
    warnings: &mut Vec<String>,
) -> Result<
    Result<(tokio::process::Child, Instant, Option<crate::trace::Tracer>), std::io::Error>,
    UserError,
> {
    let trace_plan = prepare_trace(opts, path, warnings);
    let mut cmd = command(opts, path, trace_plan.as_ref(), jobs)?;
    let started = Instant::now();
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let root = child.id().expect("a freshly spawned child has a pid");
    jobs.give_to(root);
    let tracer = trace_plan.and_then(|p| match p.started(root) {
        Ok(t) => Some(t),
        Err(why) => {
            warnings.push(why);
            None
        }
    });
    Ok(Ok((child, started, tracer)))
}

/// End the tracer and complete the trace taken after the window with what only its end
/// knows (`merge_trace`).
fn end_trace(
    tracer: crate::trace::Tracer,
    how: crate::trace::Finish,
    trace: &mut Option<crate::evidence::TraceSummary>,
) {
    let done = tracer.finish(how);
    *trace = Some(merge_trace(trace.take(), done));
}

/// strace reports an exec it could not do on the command's stderr: the errno of the exec
/// failure the command would have had without a tracer, if that is how it ended.
fn exec_error_under_trace(traced: bool, outcome: &Outcome, output: &Output) -> Option<i32> {
    if !traced || !matches!(outcome, Outcome::Exited { code: Some(1), .. }) {
        return None;
    }
    let tail = output.stderr.lock().unwrap().to_stream_tail().tail;
    crate::trace::exec_error(&tail).map(|(_, errno)| errno)
}

/// The progress line while gohang waits for the command (and counts the tracer's calls).
fn waiting_progress(opts: &ProbeOptions, tracer: Option<&crate::trace::Tracer>) -> Progress {
    let progress = Progress::new(opts.progress);
    if let Some(t) = tracer {
        progress.traced_by(t.tool(), t.calls());
    }
    progress.waiting(&opts.command.join(" "), opts.timeout);
    progress
}

/// `Vanished` when no sample of the window holds the command's root: it exited as
/// sampling began.
fn vanished(window: &Window, root: u32, started: Instant) -> Option<Outcome> {
    window
        .samples
        .iter()
        .all(|s| s.process(root).is_none())
        .then(|| Outcome::Vanished {
            after_ms: started.elapsed().as_millis() as u64,
        })
}

/// Whether the command is stuck and gohang is to look at it: the deadline passed, and no
/// signal ended the probe.
fn stuck(outcome: &Outcome, interrupted: Option<Signal>) -> bool {
    matches!(outcome, Outcome::TimedOut { .. }) && interrupted.is_none()
}

/// `--trace`: the command may run under a tracer that execs it (strace -D), or the tracer
/// attaches once it runs (dtruss). Without a tracer, say why and go on.
fn prepare_trace(
    opts: &ProbeOptions,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Option<crate::trace::SpawnTrace> {
    if !opts.trace {
        return None;
    }
    match crate::trace::SpawnTrace::prepare(path, &opts.command[1..], opts.keep) {
        Ok(p) => Some(p),
        Err(why) => {
            warnings.push(why);
            None
        }
    }
}

/// The command to spawn: the tracer around the command, or the command itself, in a
/// process group of its own, its output piped to gohang.
fn command(
    opts: &ProbeOptions,
    path: &Path,
    trace_plan: Option<&crate::trace::SpawnTrace>,
    jobs: &JobControl,
) -> Result<tokio::process::Command, UserError> {
    let (run_path, run_arg0, run_args): (PathBuf, &str, Vec<String>) =
        match trace_plan.and_then(|p| p.exec()) {
            Some((tracer, args)) => (tracer.to_path_buf(), crate::trace::TOOL, args.to_vec()),
            None => (
                path.to_path_buf(),
                &opts.command[0],
                opts.command[1..].to_vec(),
            ),
        };
    let mut cmd = tokio::process::Command::new(&run_path);
    cmd.process_group(0)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
    if jobs.active() {
        // The child must take the terminal and restore SIGTTOU between fork and exec.
        let tty_fd = jobs.child_fd();
        let exec = Exec::new(&run_path, run_arg0, &run_args)?;
        // SAFETY: the closure only makes async-signal-safe calls (see
        // terminal::child_pre_exec and Exec::execve); everything it touches was allocated
        // before the fork.
        unsafe {
            cmd.pre_exec(move || {
                terminal::child_pre_exec(tty_fd)?;
                Err(exec.execve())
            });
        }
    } else {
        // Nothing to do between fork and exec: std can use posix_spawn (a vfork, much
        // cheaper than copying gohang's page tables), whose exec has no /bin/sh fallback
        // on ENOEXEC either (glibc's __spawni execs with execve/__execvpex).
        cmd.arg0(run_arg0).args(&run_args);
    }
    Ok(cmd)
}

/// While the command runs, inspect the toolchain it uses from its files (a foreign or
/// mixed GOROOT is context for any verdict, classify/toolchain.rs) on a helper thread, so
/// that it adds nothing to the command's time.
fn inspect_toolchain(
    command: &[String],
    host: &HostInfo,
) -> Option<std::thread::JoinHandle<Option<crate::toolchain::ToolchainEvidence>>> {
    let (command, host) = (command.to_vec(), host.clone());
    std::thread::Builder::new()
        .name("gohang-toolchain".into())
        .spawn(move || crate::toolchain::for_command(&command, &host))
        .ok()
}

/// The command's output as gohang reads it: a bounded tail of each stream, the switch that
/// stops copying it to the user's terminal, and the pipes' names.
struct Output {
    stdout: Arc<Mutex<TailBuffer>>,
    stderr: Arc<Mutex<TailBuffer>>,
    /// Set once the deadline passes: what the stuck tree prints then (a goroutine dump,
    /// the noise of being killed) is kept as evidence but not poured onto the user's
    /// terminal.
    mute: Arc<AtomicBool>,
    /// The pipes gohang reads, as /proc names them: a goroutine dump is only asked of a
    /// process whose output reaches one of them (see `dump_sink`).
    pipes: OurPipes,
}

type Reader = Option<tokio::task::JoinHandle<()>>;

impl Output {
    /// Start reading the child's stdout and stderr, copied through to ours when `stream`.
    fn capture(
        child: &mut tokio::process::Child,
        stream: bool,
        progress: &Progress,
    ) -> (Output, [Reader; 2]) {
        let out = Output {
            stdout: Arc::new(Mutex::new(TailBuffer::new(DEFAULT_TAIL))),
            stderr: Arc::new(Mutex::new(TailBuffer::new(DEFAULT_TAIL))),
            mute: Arc::new(AtomicBool::new(false)),
            pipes: OurPipes {
                stdout: child.stdout.as_ref().and_then(pipe_name),
                stderr: child.stderr.as_ref().and_then(pipe_name),
            },
        };
        let readers = [
            child.stdout.take().map(|s| {
                pump(
                    s,
                    out.stdout.clone(),
                    stream.then_some(Sink::Stdout),
                    out.mute.clone(),
                    progress.clone(),
                )
            }),
            child.stderr.take().map(|s| {
                pump(
                    s,
                    out.stderr.clone(),
                    stream.then_some(Sink::Stderr),
                    out.mute.clone(),
                    progress.clone(),
                )
            }),
        ];
        (out, readers)
    }

    fn tails(&self) -> OutputTail {
        OutputTail {
            stdout: self.stdout.lock().unwrap().to_stream_tail(),
            stderr: self.stderr.lock().unwrap().to_stream_tail(),
        }
    }
}

/// Wait for the command to exit, for the deadline, or for a signal to gohang.
async fn wait_or_deadline(
    child: &mut tokio::process::Child,
    timeout: Duration,
    owns_terminal: bool,
    signals: &Catcher,
    started: Instant,
) -> Result<(Outcome, Option<Signal>), UserError> {
    let mut interrupted = None;
    let outcome = tokio::select! {
        status = child.wait() => {
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match status {
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    // The user's Ctrl-C reaches the command when it owns the terminal.
                    if owns_terminal && matches!(s.signal(), Some(libc::SIGINT)) {
                        interrupted = Some(Signal::SIGINT);
                    }
                    Outcome::Exited { code: s.code(), signal: s.signal(), elapsed_ms }
                }
                Err(e) => return Err(UserError::internal(format!("waiting for the command: {e}"))),
            }
        }
        _ = tokio::time::sleep(timeout) => Outcome::TimedOut { elapsed_ms: started.elapsed().as_millis() as u64 },
        sig = signals.next() => { interrupted = Some(sig); Outcome::TimedOut { elapsed_ms: started.elapsed().as_millis() as u64 } }
    };
    Ok((outcome, interrupted))
}

/// What the window after the deadline saw.
#[derive(Default)]
struct Window {
    samples: Vec<Sample>,
    native_stacks: Option<NativeStacks>,
    go: Option<GoContext>,
    /// What each `ssh` or `git-remote-*` of the tree serves, from its own git and ssh config.
    remotes: Vec<crate::evidence::RemoteContext>,
    git_started: Vec<crate::evidence::GitStarted>,
    access_monitors: Option<crate::evidence::AccessMonitors>,
}

/// Sample the stuck tree over the window on a blocking thread, then its native stacks and
/// Go context; a signal to gohang cuts the window short (and is returned).
async fn sample_stuck(
    mut sampler: Sampler,
    roots: Vec<u32>,
    schedule: Schedule,
    host: &HostInfo,
    progress: &Progress,
    signals: &Catcher,
) -> Result<(Sampler, Window, Option<Signal>), UserError> {
    let cancel = Arc::new(AtomicBool::new(false));
    let job = {
        let cancel = cancel.clone();
        let progress = progress.clone();
        let host_os = host.os.clone();
        tokio::task::spawn_blocking(move || {
            let samples =
                sampler.sample_over(&roots, &[], &schedule, &cancel, || progress.sampled());
            let native_stacks = observe::native_stacks(&samples, &cancel);
            let go = crate::gocontext::collect(&samples, &host_os);
            let remotes = crate::remote::collect(&samples);
            let git_started = crate::gitstarted::collect(&samples);
            let access_monitors = observe::access_monitors(&samples);
            let window = Window {
                samples,
                native_stacks,
                go,
                remotes,
                git_started,
                access_monitors,
            };
            (sampler, window)
        })
    };
    tokio::pin!(job);
    let failed = |e| UserError::internal(format!("sampler failed: {e}"));
    let mut interrupted = None;
    let (sampler, window) = tokio::select! {
        r = &mut job => r.map_err(failed)?,
        sig = signals.next() => {
            interrupted = Some(sig);
            cancel.store(true, Ordering::Relaxed);
            job.await.map_err(failed)?
        }
    };
    Ok((sampler, window, interrupted))
}

/// The goroutines of the stuck program: by default read from its memory, before the kill
/// and without a signal; with `--goroutines` asked for with SIGQUIT, when its dump would
/// reach gohang. Err holds the notes that say why there are none.
async fn take_goroutines(
    opts: &ProbeOptions,
    mut partial: Evidence,
    window: &Window,
    root: u32,
    output: &Output,
    progress: &Progress,
) -> Result<GoroutineDump, Option<String>> {
    if !opts.goroutines {
        // By default the goroutines are read from memory, before the kill: no signal.
        return crate::gomem::evidence::read(&partial);
    }
    partial.go = window.go.clone();
    let Some(p) = dump_target(&partial) else {
        return Err(None);
    };
    Ok(match dump_sink(&partial, p, root, &output.pipes) {
        Ok(sink) => {
            output.mute.store(true, Ordering::Relaxed);
            let pid = p.pid;
            progress.message(&format!("asking pid {pid} for its goroutines (SIGQUIT)"));
            let tails = [&output.stdout, &output.stderr];
            goroutine_dump(pid, p.start_time, tails, sink).await
        }
        Err(why) => GoroutineDump {
            source: None,
            pid: p.pid,
            answered: false,
            goroutines: Vec::new(),
            note: Some(why),
        },
    })
}

/// `--keep`: the pids of gohang's tree left running (gohang's helpers and zombies left
/// out). A stopped group would get SIGHUP and SIGCONT from the kernel when gohang exits
/// (orphaned process groups); a holder keeps it stopped (keep.rs), and a note says how to
/// resume or end it.
fn keep_tree(
    sampler: &mut Sampler,
    own_pids: &[u32],
    notes: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Vec<u32> {
    let mut kept = sampler.tree_pids(&[std::process::id()]);
    kept.retain(|p| *p != std::process::id() && !own_pids.contains(p) && !observe::is_zombie(*p));
    let groups = crate::keep::stopped_groups(&kept);
    if groups.is_empty() {
        return kept;
    }
    match crate::keep::hold(&groups) {
        Ok(held) => {
            for h in held {
                notes.push(format!(
                    "--keep: process group {pgid} stays stopped: gohang left pid {holder} \
                     (`gohang __hold-pgrp {pgid}`) in it so that the kernel does not send it \
                     SIGHUP and SIGCONT when gohang exits; it leaves when the group is empty. \
                     Resume the group with `kill -CONT -- -{pgid}`, or end it with `kill -KILL -- -{pgid}`",
                    pgid = h.pgid,
                    holder = h.holder
                ));
            }
        }
        Err(why) => warnings.push(format!(
            "--keep: the stopped processes could not be held ({why}): the kernel will send them \
             SIGHUP and then SIGCONT when gohang exits (orphaned process groups)"
        )),
    }
    kept
}

/// The trace as it stood after the window (where threads sat before the dump and the kill
/// moved them), completed with what only the end of the trace knows: the file, the notes.
fn merge_trace(
    frozen: Option<crate::evidence::TraceSummary>,
    done: crate::evidence::TraceSummary,
) -> crate::evidence::TraceSummary {
    match frozen {
        Some(mut f) => {
            f.file = done.file;
            f.file_truncated = done.file_truncated;
            for n in done.notes {
                if !f.notes.contains(&n) {
                    f.notes.push(n);
                }
            }
            f
        }
        None => done,
    }
}

fn spawn_failed(
    path: &Path,
    program: &str,
    e: std::io::Error,
    host: HostInfo,
    target: Target,
) -> Result<ProbeRun, UserError> {
    let errno = e.raw_os_error();
    // Causes that are not a foreign architecture, each with its own fix (issue 14): a
    // missing #! interpreter or loader, a script without #!, a corrupt file, a directory.
    if let Some(n) = errno
        && let Some(problem) = crate::binary::exec_problem(path, n, &host.hardware_arch)
    {
        return Err(UserError::no_input(problem.message(path)));
    }
    match errno {
        Some(libc::ENOENT) => return Err(not_found(program)),
        Some(libc::EACCES) => {
            return Err(UserError::no_permission(format!(
                "cannot execute {}: permission denied (is it executable? chmod +x {})",
                path.display(),
                path.display()
            )));
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
    let mut evidence = Evidence::new(host, target, outcome);
    evidence.toolchain = crate::toolchain::for_command(&evidence.target.command, &evidence.host);
    Ok(ProbeRun {
        evidence,
        kept: Vec::new(),
        interrupted: None,
        survivors: Vec::new(),
        warnings: Vec::new(),
    })
}

/// gohang's own children other than the command's root and gohang's helpers: processes
/// that left the command's tree (fork, fork, exit) and were re-parented to gohang, a
/// child subreaper. None where gohang is no subreaper.
fn escapees(root: u32, own: &[u32]) -> Vec<u32> {
    #[cfg(target_os = "linux")]
    fn imp(root: u32, own: &[u32]) -> Vec<u32> {
        let me = std::process::id();
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut v: Vec<u32> = rd
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&p| p != root && p != me && !own.contains(&p))
            .filter(|&p| {
                std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .ok()
                    .and_then(|s| {
                        let rest = &s[s.rfind(')')? + 2..];
                        rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                    })
                    == Some(me)
            })
            .filter(|&p| !observe::is_zombie(p))
            .collect();
        v.sort_unstable();
        v
    }
    #[cfg(not(target_os = "linux"))]
    fn imp(_root: u32, _own: &[u32]) -> Vec<u32> {
        Vec::new()
    }
    imp(root, own)
}

/// Kill every process descended from gohang (the probed tree and re-parented orphans),
/// reap them, and return the pids still alive at the deadline.
///
/// `root_unreaped`: the root has not been waited for, so its pid, and with it its process
/// group id, cannot have been reused: only then is `killpg` safe. Every other process is
/// killed through a pidfd opened and checked before the signal, so a pid reused meanwhile
/// is never hit.
async fn kill_tree(sampler: &mut Sampler, root: u32, root_unreaped: bool) -> Vec<u32> {
    let me = std::process::id();
    let deadline = Instant::now() + REAP_DEADLINE;
    if root_unreaped {
        let _ = killpg(Pid::from_raw(root as i32), Signal::SIGKILL);
    }
    loop {
        // Reap what has exited; with no children left at all, nothing can remain (gohang
        // is a subreaper: every orphaned descendant would be its child).
        if reap_exited() == Reaped::NoChildren {
            return Vec::new();
        }
        let mut pids = sampler.tree_pids(&[me]);
        pids.retain(|p| *p != me);
        // Zombies are dead already; reaping them is all that is left.
        let alive: Vec<u32> = pids
            .into_iter()
            .filter(|p| !observe::is_zombie(*p))
            .collect();
        for pid in &alive {
            kill_exact(*pid);
        }
        if alive.is_empty() && reap_exited() == Reaped::NoChildren {
            return Vec::new();
        }
        if Instant::now() >= deadline {
            return alive;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pipes gohang reads the command's output from, as `/proc/PID/fd` links name them
/// (`pipe:[INODE]`).
struct OurPipes {
    stdout: Option<String>,
    stderr: Option<String>,
}

impl OurPipes {
    fn contains(&self, target: &str) -> bool {
        [&self.stdout, &self.stderr]
            .into_iter()
            .any(|p| p.as_deref() == Some(target))
    }
}

/// `pipe:[INODE]` for the read end gohang holds (both ends of a pipe share the inode).
fn pipe_name(fd: &impl std::os::fd::AsFd) -> Option<String> {
    let st = nix::sys::stat::fstat(fd.as_fd()).ok()?;
    Some(format!("pipe:[{}]", st.st_ino))
}

/// Where a goroutine dump of `p` would go, judged from its fd 2 (the Go runtime writes
/// the dump there): straight into one of gohang's pipes, or into a pipe that another
/// process of the tree reads and relays (`go test` does that for its test binary). Err
/// says why the process is not asked: SIGQUIT ends it, and a dump that would land in the
/// user's own file, on a terminal or in /dev/null tells gohang nothing.
fn dump_sink(
    ev: &Evidence,
    p: &ProcessSnapshot,
    root: u32,
    pipes: &OurPipes,
) -> Result<DumpSink, String> {
    let Some(fd2) = p.fds.iter().find(|f| f.fd == 2) else {
        // Descriptors unknown (not readable, or an OS that does not list them): only the
        // command gohang started is known to write into its pipes.
        return if p.pid == root {
            Ok(DumpSink::Ours)
        } else {
            Err(format!(
                "not asked for goroutines: where its stderr goes is unknown; `kill -QUIT {}` makes the Go runtime print them there (and ends it)",
                p.pid
            ))
        };
    };
    if pipes.contains(&fd2.target) {
        return Ok(DumpSink::Ours);
    }
    // A pipe another process of the tree reads (`go test` reads its test binary's
    // output): follow the readers, a few hops at most, to one whose stdout or stderr is
    // gohang's. Anywhere else the dump would land in the user's own file or terminal.
    let mut relay = None;
    let mut target = fd2.target.clone();
    if let Some(s) = ev.samples.last() {
        let mut writer = p.pid;
        for _ in 0..4 {
            if !target.starts_with("pipe:[") {
                break;
            }
            let Some(q) = s
                .processes
                .iter()
                .filter(|q| q.pid != writer && !is_descendant(s, q.pid, writer))
                .find(|q| q.fds.iter().any(|f| f.target == target))
            else {
                break;
            };
            relay.get_or_insert((q.pid, q.command_line()));
            let out: Vec<&str> = q
                .fds
                .iter()
                .filter(|f| f.fd == 1 || f.fd == 2)
                .map(|f| f.target.as_str())
                .collect();
            if out.iter().any(|t| pipes.contains(t)) {
                let (pid, command) = relay.expect("set above");
                return Ok(DumpSink::Relayed { pid, command });
            }
            let Some(next) = out.into_iter().find(|t| t.starts_with("pipe:[")) else {
                target = q
                    .fds
                    .iter()
                    .find(|f| f.fd == 1)
                    .map_or_else(|| target.clone(), |f| f.target.clone());
                break;
            };
            target = next.to_string();
            writer = q.pid;
        }
    }
    let via = match &relay {
        Some((q, cmd)) => format!(" read by pid {q} (`{cmd}`), whose output goes to {target}"),
        None => String::new(),
    };
    Err(format!(
        "not asked for goroutines: its stderr is {}{via}, not a pipe gohang reads; `kill -QUIT {}` makes the Go runtime print them there (and ends it)",
        fd2.target, p.pid
    ))
}

/// Whether `pid` descends from `ancestor` in sample `s`.
fn is_descendant(s: &Sample, mut pid: u32, ancestor: u32) -> bool {
    for _ in 0..64 {
        let Some(p) = s.process(pid) else {
            return false;
        };
        if p.ppid == ancestor {
            return true;
        }
        if p.ppid <= 1 {
            return false;
        }
        pid = p.ppid;
    }
    false
}

/// Where the dump is expected to arrive.
enum DumpSink {
    /// Straight into gohang's stdout or stderr pipe.
    Ours,
    /// Into a pipe read by another process of the tree, which may pass it on.
    Relayed { pid: u32, command: String },
}

/// How long the Go runtime gets to print its goroutines after SIGQUIT.
const DUMP_DEADLINE: Duration = Duration::from_secs(3);

/// Ask a Go process for its goroutines (SIGQUIT: the runtime prints every goroutine's
/// stack to the process's stderr and exits with status 2) and parse what arrives on
/// either captured stream (a relaying parent such as `go test` prints it on its stdout).
async fn goroutine_dump(
    pid: u32,
    start_time: u64,
    tails: [&Arc<Mutex<TailBuffer>>; 2],
    sink: DumpSink,
) -> GoroutineDump {
    let marks = tails.map(|t| t.lock().unwrap().total());
    let since = |i: usize| tails[i].lock().unwrap().since(marks[i]);
    if !signal_exact(pid, Some(start_time), Signal::SIGQUIT) {
        return GoroutineDump {
            source: None,
            pid,
            answered: false,
            goroutines: Vec::new(),
            note: Some("the process was gone before SIGQUIT could be sent".to_string()),
        };
    }
    let begin = Instant::now();
    let mut last_len = 0;
    let mut quiet_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let texts = [since(0), since(1)];
        let len = texts[0].len() + texts[1].len();
        if len != last_len {
            last_len = len;
            quiet_since = Instant::now();
        }
        let has_dump = texts
            .iter()
            .any(|t| t.windows(10).any(|w| w == b"goroutine "));
        // Done once the dump has stopped growing for a moment (the runtime exits after it).
        if has_dump && quiet_since.elapsed() > Duration::from_millis(300) {
            break;
        }
        if begin.elapsed() > DUMP_DEADLINE {
            break;
        }
    }
    // The stream that carries the dump holds the most goroutines.
    let goroutines = [since(0), since(1)]
        .iter()
        .map(|t| crate::goroutines::parse(&String::from_utf8_lossy(t)))
        .max_by_key(Vec::len)
        .unwrap_or_default();
    let answered = !goroutines.is_empty();
    let secs = DUMP_DEADLINE.as_secs();
    GoroutineDump {
        source: None,
        pid,
        answered,
        note: (!answered).then(|| match sink {
            DumpSink::Ours => format!(
                "the Go runtime printed no goroutines within {secs} s of SIGQUIT: its threads are not running Go code \
                 (an emulator or translator wedged, a process stopped or frozen, or not yet started)"
            ),
            DumpSink::Relayed { pid: q, command } => format!(
                "no goroutines reached gohang within {secs} s of SIGQUIT: its stderr is a pipe read by pid {q} (`{command}`), \
                 which did not pass a dump on in time"
            ),
        }),
        goroutines,
    }
}

/// The process to ask for goroutines: the Go program nearest the end of the wait chain.
fn dump_target(ev: &Evidence) -> Option<&ProcessSnapshot> {
    let c = crate::classify::classify(ev);
    let last = ev.samples.last()?;
    c.chain
        .iter()
        .rev()
        .filter_map(|pid| last.process(*pid))
        .chain(last.processes.iter())
        .find(|p| p.go_version.is_some() && p.state != crate::evidence::RunState::Zombie)
}

/// A prepared execve(2). std's spawn ends in execvp, and glibc's execvp answers ENOEXEC by
/// running the file with /bin/sh (POSIX's rule for scripts without `#!`): a foreign binary
/// would then be "run" as a shell script instead of failing with `exec format error`. So
/// the child execs here itself, in pre_exec; when execve returns, its error travels back to
/// `spawn()` like any exec failure.
struct Exec {
    _strings: Vec<std::ffi::CString>,
    path: *const libc::c_char,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

// SAFETY: the pointers point into `_strings`, owned by the same struct and never mutated.
unsafe impl Send for Exec {}
// SAFETY: as above; execve only reads them.
unsafe impl Sync for Exec {}

impl Exec {
    fn new(path: &Path, arg0: &str, args: &[String]) -> Result<Exec, UserError> {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let bad = |what: &str| UserError::usage(format!("{what} contains a NUL byte"));
        let mut strings =
            vec![CString::new(path.as_os_str().as_bytes()).map_err(|_| bad("the program path"))?];
        let mut argv_idx = Vec::new();
        for a in std::iter::once(arg0).chain(args.iter().map(String::as_str)) {
            argv_idx.push(strings.len());
            strings.push(CString::new(a).map_err(|_| bad("an argument"))?);
        }
        let mut env_idx = Vec::new();
        for (k, v) in std::env::vars_os() {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            if let Ok(c) = CString::new(kv) {
                env_idx.push(strings.len());
                strings.push(c);
            }
        }
        let ptr = |i: usize| strings[i].as_ptr();
        let path = ptr(0);
        let mut argv: Vec<_> = argv_idx.into_iter().map(ptr).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<_> = env_idx.into_iter().map(ptr).collect();
        envp.push(std::ptr::null());
        Ok(Exec {
            _strings: strings,
            path,
            argv,
            envp,
        })
    }

    /// Replace the process image; returns only on failure (async-signal-safe).
    fn execve(&self) -> std::io::Error {
        // SAFETY: path, argv and envp are NUL-terminated arrays of valid C strings.
        unsafe { libc::execve(self.path, self.argv.as_ptr(), self.envp.as_ptr()) };
        std::io::Error::last_os_error()
    }
}

enum Sink {
    Stdout,
    Stderr,
}

/// Whether what was streamed to our stdout / stderr ended in the middle of a line (a
/// command whose output has no trailing newline): the report must not be glued to it.
static STDOUT_OPEN_LINE: AtomicBool = AtomicBool::new(false);
static STDERR_OPEN_LINE: AtomicBool = AtomicBool::new(false);

/// End the line the streamed output left open, on each stream, before gohang prints
/// anything of its own there.
pub fn end_streamed_lines() {
    if STDOUT_OPEN_LINE.swap(false, Ordering::Relaxed) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(b"\n").and_then(|_| o.flush());
    }
    if STDERR_OPEN_LINE.swap(false, Ordering::Relaxed) {
        let _ = std::io::stderr().lock().write_all(b"\n");
    }
}

/// Copy a child's stream into its tail, and through to ours when asked.
fn pump<R>(
    mut r: R,
    tail: Arc<Mutex<TailBuffer>>,
    sink: Option<Sink>,
    mute: Arc<AtomicBool>,
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
            if let Some(sink) = sink.as_ref().filter(|_| !mute.load(Ordering::Relaxed)) {
                progress.suspend(|| {
                    let open = buf[n - 1] != b'\n';
                    let _ = match sink {
                        Sink::Stdout => {
                            STDOUT_OPEN_LINE.store(open, Ordering::Relaxed);
                            let mut o = std::io::stdout().lock();
                            o.write_all(&buf[..n]).and_then(|_| o.flush())
                        }
                        Sink::Stderr => {
                            STDERR_OPEN_LINE.store(open, Ordering::Relaxed);
                            std::io::stderr().lock().write_all(&buf[..n])
                        }
                    };
                });
            }
        }
    })
}
