//! Native stacks where Go cannot speak: `/usr/bin/sample PID 1`, time-boxed, on a few
//! processes of a stalled tree, parsed by `darwin::sample_text`.
//!
//! Why: a process parked at `_dyld_start` (a Gatekeeper/XProtect assessment of a new
//! binary), a forked child spinning inside `fork()` before exec, or a Go program wedged in
//! Rosetta's translator never reaches the Go runtime's own goroutine dump. `sample` is
//! Apple's tool, works with SIP on, and needs no root for the user's own processes that are
//! not hardened. Every stall is sampled, whether or not a goroutine dump is asked for:
//! `probe` samples once the deadline has passed and `attach` after its window, both before
//! any SIGQUIT, since the runtime's dump ends the program and says nothing about a process
//! that never reached the runtime.

use super::{libproc, run_timeboxed, security};
use crate::darwin::{codesign, permission, sample_text};
use crate::evidence::{NativeStacks, ProcessStacks, Sample};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const SAMPLE: &str = "/usr/bin/sample";
/// Seconds each `sample` runs.
const SAMPLE_SECONDS: &str = "1";
/// All samplers together may take this long (sampling plus symbolication).
const SAMPLE_LIMIT: Duration = Duration::from_secs(10);
/// Processes sampled at most per stall.
const MAX_PROCESSES: usize = 4;

struct Job {
    pid: u32,
    report: PathBuf,
    errors: PathBuf,
    child: Result<Child, String>,
    done: bool,
}

fn temp_path(pid: u32, what: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "gohang-{}-sample-{pid}-{nanos}.{what}",
        std::process::id()
    ))
}

fn start(pid: u32) -> Job {
    let report = temp_path(pid, "txt");
    let errors = temp_path(pid, "err");
    let child = File::create(&errors)
        .map_err(|e| format!("{}: {e}", errors.display()))
        .and_then(|err| {
            Command::new(SAMPLE)
                .arg(pid.to_string())
                .arg(SAMPLE_SECONDS)
                .arg("-mayDie")
                .arg("-file")
                .arg(&report)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(err))
                .spawn()
                .map_err(|e| format!("{SAMPLE}: {e}"))
        });
    Job {
        pid,
        report,
        errors,
        child,
        done: false,
    }
}

/// Why sampling `pid` failed, in one line.
fn explain_failure(pid: u32, stderr: &str) -> String {
    let first = stderr.lines().map(str::trim).find(|l| !l.is_empty());
    let cs = security::cs_status(pid).or_else(|| {
        // Without csops, ask codesign about the executable.
        let path = libproc::pid_path(pid).ok()?;
        let text =
            run_timeboxed("/usr/bin/codesign", &["-dv", &path], Duration::from_secs(3)).ok()?;
        let sig = codesign::parse_codesign_dv(&text);
        Some(if sig.hardened_runtime() {
            codesign::CS_RUNTIME
        } else {
            0
        })
    });
    let target_uid = super::sysctl::kinfo(pid).ok().flatten().map(|f| f.uid);
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    let why = permission::native_stacks_denied(pid, cs, security::sip().as_ref(), target_uid, euid);
    match first {
        Some(l) if why.starts_with(SAMPLE) => format!("{why}: {l}"),
        _ => why,
    }
}

fn finish(job: &mut Job, timed_out: bool) -> ProcessStacks {
    let mut out = ProcessStacks {
        pid: job.pid,
        ..ProcessStacks::default()
    };
    match &mut job.child {
        Err(e) => out.error = Some(e.clone()),
        Ok(child) => {
            if timed_out {
                let _ = child.kill();
                let _ = child.wait();
                out.error = Some(format!(
                    "{SAMPLE} did not finish within {} s",
                    SAMPLE_LIMIT.as_secs()
                ));
            } else {
                match fs::read_to_string(&job.report) {
                    Ok(text) if text.contains("Call graph:") => {
                        out = sample_text::parse(&text, job.pid);
                    }
                    _ => {
                        let stderr = fs::read_to_string(&job.errors).unwrap_or_default();
                        out.error = Some(explain_failure(job.pid, &stderr));
                    }
                }
            }
        }
    }
    let _ = fs::remove_file(&job.report);
    let _ = fs::remove_file(&job.errors);
    out
}

/// Native stacks of the stalled tree's most telling processes.
pub fn native_stacks(samples: &[Sample], cancel: &AtomicBool) -> Option<NativeStacks> {
    let last = samples.last()?;
    let pids = crate::darwin::sample_candidates(last, MAX_PROCESSES);
    if pids.is_empty() || cancel.load(Ordering::Relaxed) {
        return None;
    }
    let mut stacks = NativeStacks {
        tool: SAMPLE.to_string(),
        processes: Vec::new(),
    };
    if !Path::new(SAMPLE).exists() {
        stacks.processes = pids
            .into_iter()
            .map(|pid| ProcessStacks {
                pid,
                error: Some(format!("{SAMPLE} is missing")),
                ..ProcessStacks::default()
            })
            .collect();
        return Some(stacks);
    }
    let mut jobs: Vec<Job> = pids.into_iter().map(start).collect();
    let deadline = Instant::now() + SAMPLE_LIMIT;
    loop {
        for job in jobs.iter_mut().filter(|j| !j.done) {
            job.done = match &mut job.child {
                Ok(c) => !matches!(c.try_wait(), Ok(None)),
                Err(_) => true,
            };
        }
        let all_done = jobs.iter().all(|j| j.done);
        if all_done || Instant::now() >= deadline || cancel.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for job in jobs.iter_mut() {
        let timed_out = !job.done;
        stacks.processes.push(finish(job, timed_out));
    }
    Some(stacks)
}
