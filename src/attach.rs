//! `gohang attach PID`: the same observation, classification and report as `probe`, on a
//! process gohang did not start.
//!
//! Read-only by default: no signal, no ptrace, nothing that changes the target's state.
//! The goroutines of the Go program nearest the end of the wait chain are read from its
//! memory at the end of the window (`gomem::evidence`), as `gohang dump` does.
//! Only `--goroutines` (SIGQUIT, which ends a Go program after its dump) and `--trace`
//! (strace attached for the window, then detached; `trace`) touch it, and both say so.
//! The pid is checked first — a missing pid, a zombie, a kernel thread, a thread of
//! another process, init, gohang itself, another user's process without privilege — each
//! with a one-line message and its exit code.
//!
//! gohang never observes itself: attached to one of its own ancestors (a shell or a CI
//! step that runs gohang), the walk down the tree would reach gohang and its tracer, so
//! both, with what they start, are left out of the samples and of the trace.
//!
//! The first sample is taken before any tracer attaches: attaching interrupts the call
//! each thread sits in, and from then on `/proc` shows a sleep or a futex wait as
//! `restart_syscall` (`carry_restarted_calls`, `trace::name_resumed_calls`).

use crate::error::{ObserveError, UserError};
use crate::evidence::{
    Evidence, GoroutineDump, Mode, Outcome, ProcessSnapshot, RunState, Sample, SyscallState, Target,
};
use crate::observe::{self, Sampler, Schedule};
use crate::progress::Progress;
use crate::sys::process::signal_exact;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct AttachOptions {
    pub pid: u32,
    pub window: Duration,
    /// Send SIGQUIT to the Go program nearest the culprit (ends it).
    pub goroutines: bool,
    /// Trace the tree's system calls over the window.
    pub trace: bool,
    pub progress: bool,
}

/// The shortest trace: attaching takes a moment, and a snapshot (`--window 0`) alone would
/// leave the tracer no time to see a call.
const MIN_TRACE: Duration = Duration::from_secs(1);

/// What an attach produced.
pub struct AttachRun {
    pub evidence: Evidence,
    /// Warnings for the user (printed on stderr, also kept as notes).
    pub warnings: Vec<String>,
}

/// Check that `pid` can and should be attached to; returns its first snapshot.
pub fn validate(pid: u32, sampler: &mut Sampler) -> Result<ProcessSnapshot, UserError> {
    if pid == 0 {
        return Err(UserError::usage(
            "pid 0 is not a process: give the pid of the stuck go command (pgrep -a go)",
        ));
    }
    if pid == std::process::id() {
        return Err(UserError::usage(format!(
            "pid {pid} is gohang itself: give the pid of the stuck go command (pgrep -a go)"
        )));
    }
    // /proc/TID answers for a thread as for a process: without this check a thread would
    // be reported as a process of its own.
    if let Some(tgid) = observe::thread_group(pid).filter(|t| *t != pid) {
        return Err(not_a_process(pid, tgid, sampler));
    }
    if pid == 1 {
        return Err(UserError::usage(
            "pid 1 is the init process, whose tree is the whole system: give the pid of the stuck go command (pgrep -a go)",
        ));
    }
    let snap = match sampler.snapshot(pid) {
        Ok(s) => s,
        Err(ObserveError::NoSuchProcess { .. }) => {
            return Err(UserError::no_input(format!(
                "no process with pid {pid} (it may have exited): list candidates with pgrep -a go"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    if matches!(snap.state, RunState::Zombie | RunState::Dead) {
        return Err(UserError::no_input(format!(
            "pid {pid} ({}) has exited and is a zombie waiting for its parent to reap it: look at the parent instead: gohang attach {}",
            snap.comm, snap.ppid
        )));
    }
    let kernel_thread = snap.state == RunState::Idle
        || (snap.exe.value().is_none()
            && snap.argv.value().is_some_and(|a| a.is_empty())
            && matches!(snap.ppid, 0 | 2));
    if kernel_thread {
        return Err(UserError::usage(format!(
            "pid {pid} ({}) is a kernel thread, not a program: give the pid of the stuck go command",
            snap.comm
        )));
    }
    if let Some(uid) = snap.uid {
        let me = nix::unistd::geteuid().as_raw();
        if me != 0 && uid != me {
            return Err(UserError::no_permission(format!(
                "pid {pid} ({}) belongs to user {uid}, not to you (user {me}): reading its threads, files and sockets needs root — run: sudo gohang attach {pid}",
                snap.comm
            )));
        }
    }
    Ok(snap)
}

/// "pid 1235 is a thread (worker) of pid 1234 (python3), not a process: …". Refused
/// rather than attached to the process, so that the report is never about another pid
/// than the one asked for; the message gives the command to run.
fn not_a_process(tid: u32, tgid: u32, sampler: &mut Sampler) -> UserError {
    if tgid == std::process::id() {
        return UserError::usage(format!(
            "pid {tid} is a thread of gohang itself: give the pid of the stuck go command (pgrep -a go)"
        ));
    }
    let process = sampler.snapshot(tgid).ok();
    let thread = process
        .as_ref()
        .and_then(|p| p.threads.iter().find(|t| t.tid == tid))
        .map(|t| format!(" ({})", t.name))
        .unwrap_or_default();
    let comm = process
        .as_ref()
        .map(|p| format!(" ({})", p.comm))
        .unwrap_or_default();
    UserError::usage(format!(
        "pid {tid} is a thread{thread} of pid {tgid}{comm}, not a process: attach to the process: gohang attach {tgid}"
    ))
}

/// What limits a non-root attach on this machine (Linux Yama), as a note for the report.
fn ptrace_scope_note() -> Option<String> {
    if nix::unistd::geteuid().is_root() {
        return None;
    }
    let scope: u32 = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (scope >= 1).then(|| {
        format!(
            "kernel.yama.ptrace_scope={scope}: without root, the system calls, environment and files of a process \
             gohang did not start cannot be read; run as root (sudo) for the full picture"
        )
    })
}

/// Attach, sample the tree under `pid` for the window, and build the evidence.
pub fn attach(opts: &AttachOptions) -> Result<AttachRun, UserError> {
    let host = observe::host_info();
    let mut sampler = Sampler::new(&host);
    let first = validate(opts.pid, &mut sampler)?;
    let identity = first.start_time;
    let mut warnings = Vec::new();
    let mut notes: Vec<String> = ptrace_scope_note().into_iter().collect();
    let roots = [opts.pid];
    let me = std::process::id();
    let progress = Progress::new(opts.progress);
    // Sample 0 begins the schedule: the later samples keep its spacing.
    let schedule = Schedule::new(opts.window, Instant::now());
    let n = schedule.count();
    progress.sampling(n);

    // Sample 0, before any tracer: the calls threads sit in, as they are.
    let before = sampler.sample(&roots, &[me], 0);
    progress.sampled();
    // gohang's parent sampled means gohang is inside the tree (it was left out).
    let inside = before
        .process(nix::unistd::getppid().as_raw() as u32)
        .is_some();
    if inside {
        notes.push(format!(
            "gohang runs inside the tree of pid {} (it is one of gohang's ancestors): gohang and the processes it starts are left out of the observation",
            opts.pid
        ));
    }

    let tracer = if opts.trace {
        start_trace(&mut sampler, opts.pid, inside, &mut warnings)
    } else {
        None
    };
    let traced_since = Instant::now();
    let own_pids: Vec<u32> = tracer.as_ref().and_then(|t| t.pid()).into_iter().collect();
    let exclude: Vec<u32> = std::iter::once(me)
        .chain(own_pids.iter().copied())
        .collect();
    let trace_window = opts.window.max(MIN_TRACE);
    if let Some(t) = &tracer {
        progress.tracing(t.tool(), trace_window, t.calls());
    }

    // The rest of the window, on the schedule sample 0 began.
    let cancel = AtomicBool::new(false);
    let mut samples = vec![before];
    if let Some((step, rest)) = schedule.after_first()
        && !samples[0].processes.is_empty()
    {
        if let Some(wait) = (schedule.epoch + step).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        samples
            .extend(sampler.sample_over(&roots, &exclude, &rest, &cancel, || progress.sampled()));
    }
    let trace = tracer.map(|t| {
        if let Some(rest) = trace_window.checked_sub(traced_since.elapsed())
            && samples
                .last()
                .is_some_and(|s| s.process(opts.pid).is_some())
        {
            std::thread::sleep(rest);
        }
        let mut summary = t.finish(crate::trace::Finish::Detach);
        crate::trace::name_resumed_calls(&mut summary, &samples[0]);
        summary
    });
    progress.finish();
    notes.extend(carry_restarted_calls(&mut samples));

    let (kept, outcome, gone) = settle(samples, opts.pid, identity, n as usize);
    notes.extend(gone);

    let target = Target {
        mode: Mode::Attach,
        command: first
            .argv
            .value()
            .cloned()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| vec![first.comm.clone()]),
        pid: Some(opts.pid),
        timeout_ms: None,
    };
    let mut evidence = Evidence::new(host.clone(), target, outcome);
    evidence.go = crate::gocontext::collect(&kept, &host.os);
    evidence.remotes = crate::remote::collect(&kept);
    evidence.git_started = crate::gitstarted::collect(&kept);
    evidence.access_monitors = crate::observe::access_monitors(&kept);
    evidence.native_stacks = observe::native_stacks(&kept, &cancel);
    evidence.samples = kept;
    evidence.own_pids = own_pids;
    if inside {
        evidence.observer = Some(crate::evidence::Observer {
            pid: me,
            parent: nix::unistd::getppid().as_raw() as u32,
        });
    }
    if let Some(t) = &trace {
        notes.push(crate::trace::describe(t));
        notes.extend(t.notes.iter().cloned());
    }
    evidence.trace = trace;

    // A wrapper of gohang's own parent only says where gohang itself runs.
    if let Some(w) = wrapper_note(&evidence).filter(|_| !inside) {
        notes.push(w);
    }
    if evidence.outcome == Outcome::Attached {
        take_goroutines(opts, &mut evidence, &mut notes, &mut warnings);
    }
    evidence.notes = notes;
    evidence.notes.extend(warnings.iter().cloned());
    Ok(AttachRun { evidence, warnings })
}

/// `--trace`: strace on every process of the tree under `pid` but gohang's own (when
/// gohang runs `inside` it), from just after the first sample to after the last one.
fn start_trace(
    sampler: &mut Sampler,
    pid: u32,
    inside: bool,
    warnings: &mut Vec<String>,
) -> Option<crate::trace::Tracer> {
    let mut pids = sampler.tree_pids(&[pid]);
    if inside {
        let ours = sampler.tree_pids(&[std::process::id()]);
        pids.retain(|p| !ours.contains(p));
    }
    match crate::trace::Tracer::attach(&pids) {
        Ok(t) => Some(t),
        Err(why) => {
            warnings.push(why);
            None
        }
    }
}

/// The goroutines of the Go program nearest the culprit: read from memory by default (no
/// signal, the target runs on), asked for with SIGQUIT with `--goroutines`.
fn take_goroutines(
    opts: &AttachOptions,
    evidence: &mut Evidence,
    notes: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    if opts.goroutines {
        let (dump, warning) = goroutines(evidence);
        warnings.extend(warning);
        evidence.goroutines = dump;
        return;
    }
    // By default the goroutines are read from memory: no signal, the target runs on.
    match crate::gomem::evidence::read(evidence) {
        Ok(dump) => evidence.goroutines = Some(dump),
        Err(note) => notes.extend(note),
    }
}

/// A thread seen in a sleep, a poll or a futex wait that later shows `restart_syscall`
/// (and wchan `do_syscall_64`) is still in that call: the kernel resumes it that way after
/// an interruption — strace attaching, or a stop and SIGCONT
/// (`syscalls::RESUMED_BY_RESTART_SYSCALL`). Such threads are reported in the call seen
/// before, with its wait channel; the note returned says so.
fn carry_restarted_calls(samples: &mut [Sample]) -> Option<String> {
    type Seen = (SyscallState, Option<String>);
    let mut last: HashMap<(u32, u64, u32), Seen> = HashMap::new();
    let mut carried: BTreeMap<(u32, String), Vec<u32>> = BTreeMap::new();
    for s in samples.iter_mut() {
        for p in &mut s.processes {
            for t in &mut p.threads {
                let key = (p.pid, p.start_time, t.tid);
                let call = t.syscall.value().and_then(|c| c.name()).map(str::to_string);
                match call.as_deref() {
                    Some("restart_syscall") => {
                        if let Some((state, wchan)) = last.get(&key) {
                            let name = state.name().unwrap_or_default().to_string();
                            let tids = carried.entry((p.pid, name)).or_default();
                            if !tids.contains(&t.tid) {
                                tids.push(t.tid);
                            }
                            t.syscall = crate::evidence::Fact::Collected(state.clone());
                            t.wchan = wchan.clone();
                        }
                    }
                    Some(name) if crate::syscalls::RESUMED_BY_RESTART_SYSCALL.contains(&name) => {
                        if let Some(state) = t.syscall.value() {
                            last.insert(key, (state.clone(), t.wchan.clone()));
                        }
                    }
                    _ => {
                        last.remove(&key);
                    }
                }
            }
        }
    }
    if carried.is_empty() {
        return None;
    }
    let who: Vec<String> = carried
        .iter()
        .map(|((pid, call), tids)| {
            let n = tids.len();
            let threads = if n == 1 {
                format!("thread {}", tids[0])
            } else {
                format!("{n} threads")
            };
            format!("{threads} of pid {pid} (in {call} before)")
        })
        .collect();
    Some(format!(
        "restart_syscall in later samples of {} is the kernel resuming the call after an interruption \
         (strace attaching, or a stop; restart_syscall(2)): reported as the call seen before",
        who.join(", ")
    ))
}

/// Keep the samples in which `pid` is still the process first seen (pids wrap: the same
/// pid with another start time is another process; a zombie has exited, only its parent
/// has not reaped it yet). Returns them, the outcome, and a note when it ended early.
fn settle(
    samples: Vec<Sample>,
    pid: u32,
    identity: u64,
    expected: usize,
) -> (Vec<Sample>, Outcome, Option<String>) {
    let same = |s: &Sample| {
        s.process(pid).is_some_and(|p| {
            p.start_time == identity && !matches!(p.state, RunState::Zombie | RunState::Dead)
        })
    };
    let end = samples.iter().position(|s| !same(s));
    let why = end.map(|i| match samples[i].process(pid) {
        Some(p) if p.start_time != identity => format!(
            "pid {pid} exited during sampling and its pid was reused by another process ({}): the samples from {} ms on are left out",
            p.display_name(),
            samples[i].at_ms
        ),
        _ => format!("pid {pid} exited during sampling"),
    });
    let mut kept = samples;
    kept.truncate(end.unwrap_or(kept.len()));
    if kept.is_empty() {
        return (kept, Outcome::Vanished { after_ms: 0 }, why);
    }
    if kept.len() < expected {
        let after_ms = kept.last().map(|s| s.at_ms).unwrap_or(0);
        let why = why.unwrap_or_else(|| format!("pid {pid} exited during sampling"));
        return (kept, Outcome::Vanished { after_ms }, Some(why));
    }
    (kept, Outcome::Attached, None)
}

/// "pid 100 (sh) is a wrapper: the work happens in pid 120 (go)".
fn wrapper_note(ev: &Evidence) -> Option<String> {
    let c = crate::classify::classify(ev);
    let culprit = *c.chain.last()?;
    let root = ev.target.pid?;
    if culprit == root {
        return None;
    }
    let last = ev.samples.last()?;
    let (r, p) = (last.process(root)?, last.process(culprit)?);
    Some(format!(
        "pid {root} ({}) is a wrapper: the stuck work is in pid {culprit} ({}), {} level{} below it",
        r.display_name(),
        p.display_name(),
        c.chain.len() - 1,
        if c.chain.len() == 2 { "" } else { "s" }
    ))
}

/// SIGQUIT to the Go program nearest the culprit. Its dump goes to *its* stderr, which
/// gohang does not own: when that is a regular file it is read back; otherwise the user is
/// told where to look.
fn goroutines(ev: &Evidence) -> (Option<GoroutineDump>, Vec<String>) {
    let c = crate::classify::classify(ev);
    let Some(last) = ev.samples.last() else {
        return (None, Vec::new());
    };
    let target = c
        .chain
        .iter()
        .rev()
        .filter_map(|pid| last.process(*pid))
        .chain(last.processes.iter())
        .find(|p| p.go_version.is_some());
    let Some(t) = target else {
        return (
            None,
            vec!["--goroutines: no Go program in the tree; nothing was sent".to_string()],
        );
    };
    let stderr = std::fs::read_link(format!("/proc/{}/fd/2", t.pid))
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    let mut warnings = vec![format!(
        "--goroutines: sent SIGQUIT to pid {} ({}): the Go runtime prints its goroutines and the process exits; the dump goes to its own stderr ({})",
        t.pid,
        t.display_name(),
        stderr.as_deref().unwrap_or("unknown")
    )];
    let file = stderr
        .as_deref()
        .filter(|s| s.starts_with('/') && std::path::Path::new(s).is_file())
        .map(str::to_string);
    let before = file
        .as_ref()
        .and_then(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .unwrap_or(0);
    if !signal_exact(t.pid, Some(t.start_time), nix::sys::signal::Signal::SIGQUIT) {
        return (
            None,
            vec!["--goroutines: the process was gone before SIGQUIT could be sent".to_string()],
        );
    }
    let Some(file) = file else {
        warnings.push(format!(
            "the dump was written to {}, which gohang cannot read back: look there",
            stderr.as_deref().unwrap_or("the process's stderr")
        ));
        return (
            Some(GoroutineDump {
                source: None,
                pid: t.pid,
                answered: false,
                goroutines: Vec::new(),
                note: Some("dump written to the process's own stderr, not captured".to_string()),
            }),
            warnings,
        );
    };
    // Read what the runtime appended to the file, until it stops growing.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last_len = before;
    let mut quiet = Instant::now();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let len = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(before);
        if len != last_len {
            last_len = len;
            quiet = Instant::now();
        } else if len > before && quiet.elapsed() > Duration::from_millis(300) {
            break;
        }
    }
    let text = std::fs::read(&file)
        .map(|b| String::from_utf8_lossy(b.get(before as usize..).unwrap_or_default()).into_owned())
        .unwrap_or_default();
    let gs = crate::goroutines::parse(&text);
    let answered = !gs.is_empty();
    (
        Some(GoroutineDump {
            source: None,
            pid: t.pid,
            answered,
            note: (!answered)
                .then(|| format!("nothing parseable appeared in {file} within 3 s of SIGQUIT")),
            goroutines: gs,
        }),
        warnings,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Fact;

    /// A sample at `at_ms` of the processes `(pid, start_time, state, threads)`, each thread
    /// `(tid, syscall number and name, wchan)`.
    type Thread<'a> = (u32, Option<(i64, &'a str)>, Option<&'a str>);
    fn sample(at_ms: u64, procs: &[(u32, u64, &str, &[Thread])]) -> Sample {
        let processes = procs
            .iter()
            .map(|(pid, start, state, threads)| {
                let threads: Vec<serde_json::Value> = threads
                    .iter()
                    .map(|(tid, call, wchan)| {
                        let syscall = match call {
                            Some((nr, name)) => serde_json::json!({
                                "kind": "in-syscall", "nr": nr, "name": name, "args": [7, 0, 0, 0, 0, 0]
                            }),
                            None => serde_json::json!({ "kind": "running" }),
                        };
                        serde_json::json!({
                            "tid": tid, "state": "sleeping", "wchan": wchan, "syscall": syscall,
                            "utime_ms": 0, "stime_ms": 0
                        })
                    })
                    .collect();
                serde_json::from_value(serde_json::json!({
                    "pid": pid, "ppid": 1, "start_time": start, "comm": format!("p{pid}"),
                    "state": state, "threads": threads
                }))
                .unwrap()
            })
            .collect();
        Sample { at_ms, processes }
    }

    const SLEEP: Option<(i64, &str)> = Some((230, "clock_nanosleep"));
    const FUTEX: Option<(i64, &str)> = Some((202, "futex"));
    const RESTART: Option<(i64, &str)> = Some((219, "restart_syscall"));
    const READ: Option<(i64, &str)> = Some((0, "read"));

    fn call_of(s: &Sample, pid: u32, tid: u32) -> (Option<String>, Option<String>) {
        let t = s
            .process(pid)
            .unwrap()
            .threads
            .iter()
            .find(|t| t.tid == tid)
            .unwrap();
        (
            t.syscall.value().and_then(|c| c.name()).map(str::to_string),
            t.wchan.clone(),
        )
    }

    #[test]
    fn a_call_resumed_through_restart_syscall_is_the_call_seen_before() {
        let threads_before: &[Thread] = &[
            (50, SLEEP, Some("hrtimer_nanosleep")),
            (51, FUTEX, Some("futex_wait_queue")),
            (52, READ, Some("pipe_read")),
        ];
        let threads_after: &[Thread] = &[
            (50, RESTART, Some("do_syscall_64")),
            (51, RESTART, Some("do_syscall_64")),
            // read is restarted by the kernel itself: a restart_syscall is a new call.
            (52, RESTART, Some("do_syscall_64")),
        ];
        let mut samples = vec![
            sample(0, &[(50, 9, "sleeping", threads_before)]),
            sample(250, &[(50, 9, "sleeping", threads_after)]),
            sample(500, &[(50, 9, "sleeping", threads_after)]),
        ];
        let note = carry_restarted_calls(&mut samples).expect("a note");
        for s in &samples[1..] {
            assert_eq!(
                call_of(s, 50, 50),
                (
                    Some("clock_nanosleep".into()),
                    Some("hrtimer_nanosleep".into())
                )
            );
            assert_eq!(call_of(s, 50, 51).0.as_deref(), Some("futex"));
            assert_eq!(call_of(s, 50, 52).0.as_deref(), Some("restart_syscall"));
        }
        // The arguments are the call's own.
        let Some(SyscallState::InSyscall { args, .. }) =
            samples[2].processes[0].threads[0].syscall.value()
        else {
            panic!("in a call")
        };
        assert_eq!(args[0], 7);
        assert!(
            note.contains("thread 50 of pid 50 (in clock_nanosleep before)")
                && note.contains("thread 51 of pid 50 (in futex before)"),
            "{note}"
        );
        assert!(!note.contains("thread 52"), "{note}");
    }

    #[test]
    fn a_restart_after_the_thread_moved_on_or_in_another_process_is_left_alone() {
        let mut samples = vec![
            sample(0, &[(50, 9, "sleeping", &[(50, SLEEP, None)])]),
            // Running in between: the sleep ended, a later call was interrupted.
            sample(250, &[(50, 9, "running", &[(50, None, None)])]),
            sample(500, &[(50, 9, "sleeping", &[(50, RESTART, None)])]),
            // Same pid and tid, another process (pid reused).
            sample(750, &[(60, 9, "sleeping", &[(60, SLEEP, None)])]),
            sample(1000, &[(60, 10, "sleeping", &[(60, RESTART, None)])]),
        ];
        assert_eq!(carry_restarted_calls(&mut samples), None);
        assert_eq!(
            call_of(&samples[2], 50, 50).0.as_deref(),
            Some("restart_syscall")
        );
        assert_eq!(
            call_of(&samples[4], 60, 60).0.as_deref(),
            Some("restart_syscall")
        );
        // Nothing to carry in an evidence file without syscalls.
        let mut none = vec![sample(0, &[(50, 9, "sleeping", &[])])];
        none[0].processes[0]
            .threads
            .push(crate::evidence::ThreadSample {
                tid: 50,
                name: "x".into(),
                state: RunState::Sleeping,
                wchan: None,
                syscall: Fact::unavailable("permission denied"),
                utime_ms: 0,
                stime_ms: 0,
                run_delay_ms: None,
            });
        assert_eq!(carry_restarted_calls(&mut none), None);
    }

    #[test]
    fn a_pid_reused_during_sampling_ends_the_samples_of_the_target() {
        let target = |start: u64| (100, start, "sleeping", &[] as &[Thread]);
        let samples = vec![
            sample(0, &[target(5000)]),
            sample(250, &[target(5000)]),
            // The target exited and its pid went to a new process (another start time).
            sample(500, &[target(7777)]),
            sample(750, &[target(7777)]),
            sample(1000, &[target(7777)]),
        ];
        let (kept, outcome, note) = settle(samples, 100, 5000, 5);
        assert_eq!(kept.len(), 2);
        assert!(
            kept.iter()
                .all(|s| s.process(100).unwrap().start_time == 5000)
        );
        assert_eq!(outcome, Outcome::Vanished { after_ms: 250 });
        let note = note.expect("a note");
        assert!(
            note.contains(
                "pid 100 exited during sampling and its pid was reused by another process (p100)"
            ) && note.contains("from 500 ms on"),
            "{note}"
        );

        // Reused before the first sample: nothing of the target at all.
        let (kept, outcome, note) = settle(vec![sample(0, &[target(7777)])], 100, 5000, 1);
        assert!(kept.is_empty());
        assert_eq!(outcome, Outcome::Vanished { after_ms: 0 });
        assert!(note.unwrap().contains("reused"));
    }

    #[test]
    fn an_exit_or_a_zombie_ends_the_samples_and_a_full_window_is_attached() {
        let alive = (100, 5000, "sleeping", &[] as &[Thread]);
        let zombie = (100, 5000, "zombie", &[] as &[Thread]);
        let samples = vec![
            sample(0, &[alive]),
            sample(250, &[zombie]),
            sample(500, &[zombie]),
        ];
        let (kept, outcome, note) = settle(samples, 100, 5000, 3);
        assert_eq!(kept.len(), 1);
        assert_eq!(outcome, Outcome::Vanished { after_ms: 0 });
        assert_eq!(note.as_deref(), Some("pid 100 exited during sampling"));
        // Gone from /proc (sampling stops at an empty sample).
        let (kept, outcome, _) = settle(vec![sample(0, &[alive]), sample(250, &[])], 100, 5000, 5);
        assert_eq!(
            (kept.len(), outcome),
            (1, Outcome::Vanished { after_ms: 0 })
        );
        let full: Vec<Sample> = (0..5).map(|i| sample(i * 250, &[alive])).collect();
        let (kept, outcome, note) = settle(full, 100, 5000, 5);
        assert_eq!((kept.len(), outcome, note), (5, Outcome::Attached, None));
    }
}
