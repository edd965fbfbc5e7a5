//! Carrying out a plan: check, move the original aside, copy, clean, make.bash, verify;
//! on any failure or signal, put the original back.
//!
//! The invariant: from the rename on, every path out of [`execute`] either leaves a
//! verified native tree at the GOROOT with the original kept as the backup, or renames
//! the original back (and says so, with the proof of a metadata comparison). The only
//! exit that breaks it is one gohang cannot catch (SIGKILL, a power cut); for those the
//! log gives, right after the rename, the one command that restores the original (and it
//! checks that the backup exists before it removes anything).

use crate::rebuild::backup::{self, Manifest, copy_tree, manifest, remove_tree};
use crate::rebuild::build::{self, BuildRun, PHASES, Stopped};
use crate::rebuild::display::Display;
use crate::rebuild::plan::{Plan, human_bytes};
use crate::rebuild::procs;
use crate::rebuild::verify::{Verification, parse_go_version, verify};
use crate::rebuild::version::GoVersion;
use crate::sys::logfile::Log;
use crate::sys::run::run_boxed;
use crate::sys::signals::{self, Catcher};
use nix::sys::signal::Signal;
use serde::Serialize;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct ExecOptions {
    pub build_timeout: Duration,
    /// Per verification command, and for the bootstrap's `go version`.
    pub command_timeout: Duration,
}

/// Where a rebuild stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Checks before any change.
    Preflight,
    /// Renaming the original aside.
    Backup,
    /// Copying the original back to build in.
    Copy,
    /// Removing foreign tool directories and binaries.
    Clean,
    Build,
    Verify,
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Preflight => "the checks before any change",
            Step::Backup => "moving the original aside",
            Step::Copy => "copying the tree to build in",
            Step::Clean => "removing foreign files",
            Step::Build => "make.bash",
            Step::Verify => "verification",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecOutcome {
    /// Rebuilt and verified; the original kept as the backup.
    Rebuilt,
    /// Nothing was changed (a check failed before the original was moved).
    Refused,
    /// The rebuild failed or was interrupted; the original is back.
    RolledBack,
    /// The rebuild failed and the original could not be put back automatically.
    RollbackFailed,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BuildSummary {
    pub pid: u32,
    /// `phase 3/6 (go_bootstrap)`.
    pub reached: String,
    pub ended: String,
    pub seconds: f64,
    pub tail: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Restored {
    /// Every entry's type, mode, owner, size, times, link target and inode are as before.
    pub identical: bool,
    pub entries: usize,
    pub differences: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExecResult {
    pub outcome: ExecOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<Step>,
    /// One line: what happened.
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// `--json`-friendly code for a refusal that needs privileges (77) vs others.
    #[serde(skip)]
    pub needs_privilege: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored: Option<Restored>,
    /// The original, kept after a success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<PathBuf>,
    /// What to run by hand when the rollback failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manual_restore: Vec<String>,
    pub log: PathBuf,
    pub seconds: f64,
}

/// A failure after the original was moved: rolled back by the caller.
struct Failure {
    step: Step,
    reason: String,
    signal: Option<Signal>,
    build: Option<Box<BuildSummary>>,
    verification: Option<Box<Verification>>,
}

impl Failure {
    fn new(step: Step, reason: impl Into<String>) -> Failure {
        Failure {
            step,
            reason: reason.into(),
            signal: None,
            build: None,
            verification: None,
        }
    }
    fn interrupted(step: Step, sig: Signal) -> Failure {
        Failure {
            signal: Some(sig),
            ..Failure::new(step, format!("interrupted by {sig} during {}", step.name()))
        }
    }
}

pub fn execute(plan: &Plan, opts: &ExecOptions, display: &Display) -> ExecResult {
    let start = Instant::now();
    let mut result = ExecResult {
        outcome: ExecOutcome::Refused,
        failed_step: Some(Step::Preflight),
        summary: String::new(),
        interrupted_by: None,
        needs_privilege: false,
        build: None,
        verification: None,
        restored: None,
        backup: None,
        manual_restore: Vec::new(),
        log: plan.log.clone(),
        seconds: 0.0,
    };
    match Catcher::install() {
        Ok(_catcher) => attempt(plan, opts, display, &mut result),
        Err(e) => result.summary = format!("cannot install signal handlers: {e}"),
    }
    result.seconds = start.elapsed().as_secs_f64();
    result
}

/// The procedure, with signals caught: log, preflight, move the original aside, rebuild
/// and verify; on a failure after the move, roll back. `result` says how far it got.
fn attempt(plan: &Plan, opts: &ExecOptions, display: &Display, result: &mut ExecResult) {
    let g = &plan.goroot.path;
    let mut log = match start_log(plan) {
        Ok(l) => l,
        Err(e) => {
            result.summary = format!("cannot write the log {}: {e}", plan.log.display());
            return;
        }
    };

    // Preflight: nothing has changed yet, so a failure here is a refusal.
    log.section("preflight");
    display.step("checking the bootstrap toolchain");
    if let Err(reason) = preflight(plan, opts, &mut log) {
        log.note(&format!("refused: {reason}"));
        result.summary = reason;
        if let Some(sig) = signals::caught() {
            result.interrupted_by = Some(sig.to_string());
        }
        return;
    }
    let before = match manifest(g) {
        Ok(m) => m,
        Err(e) => {
            result.summary = format!("cannot read the tree {}: {e}", g.display());
            return;
        }
    };
    log.note(&format!("the original has {} entries", before.0.len()));
    if let Some(sig) = signals::caught() {
        result.summary = format!("interrupted by {sig} before any change");
        result.interrupted_by = Some(sig.to_string());
        return;
    }

    let Some(MovedAside(original_inode)) = move_aside(plan, display, &mut log, result) else {
        return;
    };
    match rebuild_steps(plan, opts, display, &mut log) {
        Ok((v, build)) => {
            log.section("done");
            log.note(&format!(
                "rebuilt and verified; the original is kept at {}",
                plan.backup.display()
            ));
            result.outcome = ExecOutcome::Rebuilt;
            result.failed_step = None;
            result.summary = format!(
                "rebuilt {} as a native {} toolchain, verified",
                g.display(),
                plan.platform.slash()
            );
            result.verification = Some(v);
            result.backup = Some(plan.backup.clone());
            result.build = Some(build);
        }
        Err(f) => recover(plan, f, original_inode, &before, display, &mut log, result),
    }
}

/// The log, opened with what is about to happen and the whole plan.
fn start_log(plan: &Plan) -> std::io::Result<Log> {
    let mut log = Log::create(&plan.log)?;
    log.note(&format!(
        "gohang {} rebuild of {}",
        env!("CARGO_PKG_VERSION"),
        plan.goroot.path.display()
    ));
    log.note(&format!(
        "the original is to be moved to {} once the checks pass",
        plan.backup.display()
    ));
    log.section("plan");
    log.raw(
        serde_json::to_string_pretty(plan)
            .unwrap_or_default()
            .as_bytes(),
    );
    Ok(log)
}

/// The original, moved aside: the backup's (device, inode), when it could be read back.
struct MovedAside(Option<(u64, u64)>);

/// Rename the original to the backup path; None when it was not moved (nothing changed).
fn move_aside(
    plan: &Plan,
    display: &Display,
    log: &mut Log,
    result: &mut ExecResult,
) -> Option<MovedAside> {
    let (g, b) = (&plan.goroot.path, &plan.backup);
    log.section("backup");
    display.step(&format!("moving {} aside", g.display()));
    // rename(2) would silently replace an empty directory that appeared there since the plan.
    if std::fs::symlink_metadata(b).is_ok() {
        result.failed_step = Some(Step::Backup);
        result.summary = format!(
            "{} appeared since the plan was made; nothing was changed",
            b.display()
        );
        log.note(&result.summary);
        return None;
    }
    if let Err(e) = std::fs::rename(g, b) {
        result.failed_step = Some(Step::Backup);
        result.needs_privilege = matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM));
        result.summary = format!(
            "cannot move {} to {}: {e}; nothing was changed",
            g.display(),
            b.display()
        );
        log.note(&result.summary);
        return None;
    }
    log.note(&format!("renamed {} to {}", g.display(), b.display()));
    // Only now does the backup exist: from here on, the way back if gohang dies.
    log.note("if gohang dies before it prints its result, restore the original with:");
    log.note(&format!("  {}", plan.rollback_commands[0]));
    Some(MovedAside(
        std::fs::symlink_metadata(b)
            .map(|m| (m.dev(), m.ino()))
            .ok(),
    ))
}

/// A step after the move failed: put the original back and record how that went.
fn recover(
    plan: &Plan,
    f: Failure,
    original_inode: Option<(u64, u64)>,
    before: &Manifest,
    display: &Display,
    log: &mut Log,
    result: &mut ExecResult,
) {
    let (g, b) = (&plan.goroot.path, &plan.backup);
    display.step("rolling back");
    log.section("rollback");
    log.note(&format!("failed: {}", f.reason));
    result.failed_step = Some(f.step);
    result.summary = f.reason;
    result.interrupted_by = f.signal.map(|s| s.to_string());
    result.build = f.build.map(|b| *b);
    result.verification = f.verification.map(|v| *v);
    match roll_back(g, b, original_inode, before, &plan.rollback_commands, log) {
        Ok(r) => {
            result.outcome = ExecOutcome::RolledBack;
            log.note(&format!(
                "restored {}: {}",
                g.display(),
                if r.identical {
                    "identical to the original".to_string()
                } else {
                    format!("differs: {}", r.differences.join("; "))
                }
            ));
            result.restored = Some(r);
        }
        Err(e) => {
            result.outcome = ExecOutcome::RollbackFailed;
            log.note(&format!("ROLLBACK FAILED: {e}"));
            result.summary = format!("{}; and the rollback failed: {e}", result.summary);
            result.manual_restore = vec![
                format!("# the original is intact at {}", b.display()),
                plan.rollback_commands[0].clone(),
            ];
        }
    }
}

/// Checks right before the rename: nobody runs a program from the tree, and the bootstrap
/// really is a native Go of the required version (it is run, time-boxed).
fn preflight(plan: &Plan, opts: &ExecOptions, log: &mut Log) -> Result<(), String> {
    let running = procs::running_from(&plan.watch_roots, &plan.interpreters);
    if !running.is_empty() {
        let list: Vec<String> = running
            .iter()
            .map(|r| format!("pid {} ({})", r.pid, r.exe.display()))
            .collect();
        return Err(format!(
            "programs from {} are running: {}; nothing was changed",
            plan.goroot.path.display(),
            list.join(", ")
        ));
    }
    let chosen = plan
        .bootstrap
        .chosen
        .as_ref()
        .ok_or("no bootstrap toolchain")?;
    let go = chosen.goroot.join("bin/go");
    let mut cmd = Command::new(&go);
    cmd.arg("version");
    // As make.bash runs it (its `bootstrapenv`), plus no toolchain switch.
    for k in [
        "GOOS",
        "GOARCH",
        "GOEXPERIMENT",
        "GOFLAGS",
        "GOHOSTOS",
        "GOHOSTARCH",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("GOROOT", &chosen.goroot)
        .env("GO111MODULE", "off")
        .env("GOENV", "off")
        .env("GOTOOLCHAIN", "local");
    log.section(&format!("{} version", go.display()));
    let out = run_boxed(&mut cmd, opts.command_timeout).map_err(|e| {
        format!(
            "the bootstrap {} cannot run: {e}; nothing was changed",
            go.display()
        )
    })?;
    log.raw(out.stdout.as_bytes());
    log.raw(out.stderr.as_bytes());
    if let Some(sig) = out.interrupted {
        return Err(format!("interrupted by {sig} before any change"));
    }
    if !out.success() {
        let err = out.stderr.trim().lines().last().unwrap_or("").to_string();
        return Err(format!(
            "the bootstrap toolchain fails: `{} version` {}{}; nothing was changed",
            go.display(),
            out.describe(),
            if err.is_empty() {
                String::new()
            } else {
                format!(" ({err})")
            }
        ));
    }
    let Some((version, platform)) = parse_go_version(&out.stdout) else {
        return Err(format!(
            "the bootstrap's `go version` printed {:?}, not a Go version; nothing was changed",
            out.stdout.trim()
        ));
    };
    if platform != plan.platform.slash() {
        return Err(format!(
            "the bootstrap {} is {platform}, not {}: it would build a foreign toolchain again; nothing was changed",
            go.display(),
            plan.platform.slash()
        ));
    }
    if let (Some(req), Some(v)) = (plan.bootstrap.required, GoVersion::parse(&version))
        && v < req
    {
        return Err(format!(
            "the bootstrap is {v}, older than the {req} this make.bash needs; nothing was changed"
        ));
    }
    log.note(&format!("bootstrap ok: {version} {platform}"));
    Ok(())
}

/// Copy, clean, build, verify. Any error is a [`Failure`] to roll back.
fn rebuild_steps(
    plan: &Plan,
    opts: &ExecOptions,
    display: &Display,
    log: &mut Log,
) -> Result<(Verification, BuildSummary), Failure> {
    copy_step(plan, display, log)?;
    check_signal(Step::Copy)?;
    clean_step(plan, display, log)?;
    check_signal(Step::Clean)?;
    let summary = build_step(plan, opts, display, log)?;
    check_signal(Step::Build)?;
    let v = verify_step(plan, opts, display, log, &summary)?;
    Ok((v, summary))
}

/// A signal caught during `step` ends the attempt there.
fn check_signal(step: Step) -> Result<(), Failure> {
    match signals::caught() {
        Some(sig) => Err(Failure::interrupted(step, sig)),
        None => Ok(()),
    }
}

/// Copy the backup back to the GOROOT's place, to build in.
fn copy_step(plan: &Plan, display: &Display, log: &mut Log) -> Result<(), Failure> {
    let (g, b) = (&plan.goroot.path, &plan.backup);
    log.section("copy");
    display.step(&format!(
        "copying the tree to build in ({})",
        human_bytes(plan.goroot.tree.bytes)
    ));
    let total = plan.goroot.tree.bytes;
    copy_tree(b, g, &mut |done| display.copied(done, total), &|| {
        signals::caught().is_some()
    })
    .map_err(|e| match e {
        backup::CopyError::Stopped => {
            Failure::interrupted(Step::Copy, signals::caught().unwrap_or(Signal::SIGINT))
        }
        e if e.is_disk_full() => Failure::new(
            Step::Copy,
            format!("the disk filled up while copying the tree ({e})"),
        ),
        e => Failure::new(Step::Copy, format!("copying the tree failed: {e}")),
    })?;
    log.note(&format!("copied {} to {}", b.display(), g.display()));
    Ok(())
}

/// Remove the foreign tool directories and binaries from the copy.
fn clean_step(plan: &Plan, display: &Display, log: &mut Log) -> Result<(), Failure> {
    let g = &plan.goroot.path;
    log.section("clean");
    display.step("removing foreign tool directories and binaries");
    for d in &plan.foreign.foreign_dirs {
        let p = g.join(&d.path);
        remove_tree(&p).map_err(|e| {
            Failure::new(Step::Clean, format!("cannot remove {}: {e}", p.display()))
        })?;
        log.note(&format!(
            "removed {} ({} files, for {})",
            d.path, d.files, d.platform
        ));
    }
    for bin in &plan.foreign.foreign_binaries {
        if plan
            .foreign
            .foreign_dirs
            .iter()
            .any(|d| bin.path.starts_with(&d.path))
        {
            continue;
        }
        let p = g.join(&bin.path);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Failure::new(
                    Step::Clean,
                    format!("cannot remove {}: {e}", p.display()),
                ));
            }
        }
        let arches: Vec<String> = bin.arches.iter().map(|a| a.to_string()).collect();
        log.note(&format!(
            "removed {} ({} {})",
            bin.path,
            bin.format,
            arches.join("+")
        ));
    }
    Ok(())
}

/// Run make.bash in the copy; its summary, or why it failed.
fn build_step(
    plan: &Plan,
    opts: &ExecOptions,
    display: &Display,
    log: &mut Log,
) -> Result<BuildSummary, Failure> {
    let g = &plan.goroot.path;
    log.section("make.bash");
    let env = plan
        .environment
        .as_ref()
        .ok_or_else(|| Failure::new(Step::Build, "no build environment (no bootstrap)"))?;
    display.step("make.bash: starting");
    let run = build::run_make_bash(
        g,
        &plan.make_bash_argv,
        env,
        log,
        opts.build_timeout,
        &mut |i, line| display.phase(i, PHASES.len(), line),
    )
    .map_err(|e| Failure::new(Step::Build, format!("cannot start make.bash: {e}")))?;
    let summary = summarize(&run);
    log.note(&format!(
        "make.bash: {} after {:.0} s, reached {}",
        summary.ended,
        run.elapsed.as_secs_f64(),
        summary.reached
    ));
    if !run.success() {
        let mut f = match run.stopped {
            Some(Stopped::Signal(sig)) => Failure {
                signal: Some(sig),
                ..Failure::new(
                    Step::Build,
                    format!(
                        "interrupted by {sig} while make.bash was in {}",
                        summary.reached
                    ),
                )
            },
            Some(Stopped::Timeout) => Failure::new(
                Step::Build,
                format!(
                    "make.bash did not finish within {} s; stopped in {}",
                    opts.build_timeout.as_secs(),
                    summary.reached
                ),
            ),
            None if run_says_disk_full(&run) => Failure::new(
                Step::Build,
                format!(
                    "the disk filled up during make.bash ({}, in {})",
                    summary.ended, summary.reached
                ),
            ),
            None => Failure::new(
                Step::Build,
                format!(
                    "make.bash failed ({}) in {}",
                    summary.ended, summary.reached
                ),
            ),
        };
        f.build = Some(Box::new(summary));
        return Err(f);
    }
    Ok(summary)
}

/// Verify the new toolchain: native, and the version it should be.
fn verify_step(
    plan: &Plan,
    opts: &ExecOptions,
    display: &Display,
    log: &mut Log,
    summary: &BuildSummary,
) -> Result<Verification, Failure> {
    let g = &plan.goroot.path;
    log.section("verify");
    display.step("verifying the new toolchain");
    let v = verify(
        g,
        &plan.platform,
        plan.goroot.version,
        opts.command_timeout,
        log,
    );
    if let Some(sig) = v.interrupted {
        return Err(Failure {
            verification: Some(Box::new(v)),
            build: Some(Box::new(summary.clone())),
            ..Failure::interrupted(Step::Verify, sig)
        });
    }
    if !v.ok {
        let reason = format!(
            "make.bash succeeded but the result is not a native toolchain: {}",
            v.problems().join("; ")
        );
        return Err(Failure {
            build: Some(Box::new(summary.clone())),
            verification: Some(Box::new(v)),
            ..Failure::new(Step::Verify, reason)
        });
    }
    Ok(v)
}

fn summarize(run: &BuildRun) -> BuildSummary {
    let ended = match run.stopped {
        Some(Stopped::Signal(sig)) => format!("stopped on {sig}"),
        Some(Stopped::Timeout) => "stopped at the time limit".to_string(),
        None => {
            let out = crate::sys::run::RunOutput {
                status: run.status,
                ..Default::default()
            };
            out.describe()
        }
    };
    BuildSummary {
        pid: run.pid,
        reached: run.phase_name(),
        ended,
        seconds: run.elapsed.as_secs_f64(),
        tail: run.tail.clone(),
    }
}

fn run_says_disk_full(run: &BuildRun) -> bool {
    run.tail.iter().any(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("no space left on device") || l.contains("disk quota exceeded")
    })
}

/// Put the original back: remove what is at the GOROOT path now (our copy, never the
/// original: checked by inode), rename the backup back, and compare with the manifest
/// taken before.
fn roll_back(
    g: &Path,
    b: &Path,
    original_inode: Option<(u64, u64)>,
    before: &Manifest,
    rollback_commands: &[String],
    log: &mut Log,
) -> Result<Restored, String> {
    log.note(&format!(
        "by hand this is: {}",
        rollback_commands.join("; ")
    ));
    match std::fs::symlink_metadata(g) {
        Ok(md) => {
            if Some((md.dev(), md.ino())) == original_inode {
                return Err(format!(
                    "{} is the original itself; not touching it",
                    g.display()
                ));
            }
            if let Err(e) = remove_tree(g) {
                // The original must come back even if the copy cannot be deleted.
                let aside = g.with_file_name(format!(
                    "{}.gohang-failed-{}",
                    g.file_name().unwrap_or_default().to_string_lossy(),
                    std::process::id()
                ));
                std::fs::rename(g, &aside).map_err(|e2| {
                    format!(
                        "cannot remove the partial tree at {} ({e}) nor move it aside ({e2})",
                        g.display()
                    )
                })?;
                log.note(&format!(
                    "could not remove the partial tree ({e}); moved it to {}",
                    aside.display()
                ));
            } else {
                log.note(&format!("removed the partial tree at {}", g.display()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot inspect {}: {e}", g.display())),
    }
    std::fs::rename(b, g)
        .map_err(|e| format!("cannot rename {} back to {}: {e}", b.display(), g.display()))?;
    log.note(&format!("renamed {} back to {}", b.display(), g.display()));
    let after = manifest(g).map_err(|e| format!("cannot read the restored tree: {e}"))?;
    let differences = before.differences(&after, 10);
    Ok(Restored {
        identical: differences.is_empty(),
        entries: after.0.len(),
        differences,
    })
}
