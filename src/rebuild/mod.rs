//! `gohang rebuild`: turn a GOROOT with foreign binaries into a native toolchain, safely.
//!
//! Plan first (`plan`): the GOROOT, what in it is foreign, the bootstrap Go, the disk
//! space, the commands; without `--yes` nothing else happens. With `--yes` (`execute`):
//! refuse while a program from the tree runs, move the original aside, build in a copy
//! with `src/make.bash`, verify, and on any failure or signal put the original back.
//! See docs/rebuild.md.
//!
//! # Exit codes
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | the plan is ready (no `--yes`), the tree was rebuilt and verified, it was already native, or backups were pruned |
//! | 1 | the rebuild failed or was interrupted, and the original GOROOT was restored |
//! | 2 | refused, nothing changed: a rebuild is not possible here (a native install is shown instead), or not now (a go running from the tree, too little disk space, a failing bootstrap) |
//! | 64 | usage error |
//! | 66 | no GOROOT found, or the one named (`--goroot`, `$GOROOT`, the go env file) is not one |
//! | 70 | internal error, including a rollback that could not finish (the message gives the one command that restores the original) |
//! | 77 | the GOROOT or its parent directory is not writable |
//!
//! # JSON (`--json`, schema `gohang.rebuild/1`)
//!
//! One object: `schema`; `status` (`ready`, `nothing-to-do`, `blocked`, `rebuilt`,
//! `rolled-back`, `refused`, `rollback-failed`, `prune-ready`, `pruned`); `plan` (the
//! [`plan::Plan`]: `host`, `goroot`, `foreign`, `bootstrap`, `disk`, `backup`, `log`,
//! `environment`, `commands`, `rollback_commands`, `running`, `previous_backups`,
//! `blockers` (`kind`, `message`), `install_instead`); `result` (after `--yes`: the
//! [`execute::ExecResult`]); `pruned` (with `--prune-backup`).

pub use crate::classify::advice;
pub mod backup;
pub mod bootstrap;
pub mod build;
pub mod display;
pub mod execute;
pub mod foreign;
pub mod goroot;
pub mod plan;
pub mod procs;
pub mod verify;
pub mod version;

use crate::error::{Exit, UserError};
use crate::observe;
use crate::output::Output;
use crate::shell::quote_path as sh;
use display::Display;
use execute::{ExecOptions, ExecOutcome, ExecResult};
use plan::{BlockerKind, Inputs, Plan, human_bytes};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

pub const SCHEMA: &str = "gohang.rebuild/1";

/// How long each verification command (and the bootstrap's `go version`) may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ready,
    NothingToDo,
    Blocked,
    Rebuilt,
    RolledBack,
    Refused,
    RollbackFailed,
    PruneReady,
    Pruned,
}

/// The one document `--json` prints.
#[derive(Serialize)]
pub struct Report<'a> {
    pub schema: &'static str,
    pub status: Status,
    pub plan: &'a Plan,
    pub result: Option<&'a ExecResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned: Option<Vec<PathBuf>>,
}

/// What `gohang rebuild` was asked.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The GOROOT to rebuild (default: $GOROOT, else the one of the go on PATH).
    pub goroot: Option<PathBuf>,
    /// A native Go tree to build with (default: the best one found).
    pub bootstrap: Option<PathBuf>,
    /// Do it; without it only the plan is printed.
    pub yes: bool,
    /// One JSON document (gohang.rebuild/1) on stdout.
    pub json: bool,
    /// Delete (with `yes`; else list) the backups earlier rebuilds left.
    pub prune_backup: bool,
    /// Where the log goes (default: in [`crate::sys::logfile::default_dir`]).
    pub log: Option<PathBuf>,
    /// Stop make.bash and roll back when it runs longer than this.
    pub build_timeout: Duration,
}

pub fn run(out: &Output, args: &Options) -> Result<Exit, UserError> {
    let host = observe::host_info();
    let inputs = Inputs {
        goroot: args.goroot.as_deref(),
        bootstrap: args.bootstrap.as_deref(),
        log: args.log.as_deref(),
        stamp: crate::sys::clock::utc_stamp(),
    };
    let search = bootstrap::SearchEnv::from_process();
    let env: Vec<_> = std::env::vars_os().collect();
    let plan =
        plan::make_plan(&inputs, &host, &search, &env).map_err(|e| UserError::no_input(e.0))?;
    // The log must not be part of what is moved, copied and compared.
    let log_dir = plan
        .log
        .parent()
        .and_then(|d| std::fs::canonicalize(d).ok());
    if log_dir.is_some_and(|d| d.starts_with(&plan.goroot.path)) {
        return Err(UserError::usage(format!(
            "--log {} is inside the GOROOT being rebuilt; put it elsewhere",
            plan.log.display()
        )));
    }

    if args.prune_backup {
        return prune(out, args, &plan);
    }
    let blocked = !plan.blockers.is_empty() && !plan.nothing_to_do();
    if !args.yes || blocked || plan.nothing_to_do() {
        let status = if plan.nothing_to_do() {
            Status::NothingToDo
        } else if blocked {
            Status::Blocked
        } else {
            Status::Ready
        };
        emit(out, args, &plan, status, None, None)?;
        return Ok(match status {
            Status::Blocked if only_permission(&plan) => Exit::NoPermission,
            Status::Blocked => Exit::Unidentified,
            _ => Exit::Ok,
        });
    }

    let display = Display::new(std::io::stderr().is_terminal(), args.json || out.quiet);
    let opts = ExecOptions {
        build_timeout: args.build_timeout,
        command_timeout: COMMAND_TIMEOUT,
    };
    let result = execute::execute(&plan, &opts, &display);
    display.finish();
    let (status, exit) = match result.outcome {
        ExecOutcome::Rebuilt => (Status::Rebuilt, Exit::Ok),
        ExecOutcome::RolledBack => (Status::RolledBack, Exit::Diagnosed),
        ExecOutcome::Refused if result.needs_privilege => (Status::Refused, Exit::NoPermission),
        ExecOutcome::Refused => (Status::Refused, Exit::Unidentified),
        ExecOutcome::RollbackFailed => (Status::RollbackFailed, Exit::Internal),
    };
    emit(out, args, &plan, status, Some(&result), None)?;
    Ok(exit)
}

fn only_permission(plan: &Plan) -> bool {
    plan.blockers
        .iter()
        .all(|b| b.kind == BlockerKind::NotWritable)
}

/// `--prune-backup`: list (or, with `--yes`, delete) the backups earlier rebuilds left.
fn prune(out: &Output, args: &Options, plan: &Plan) -> Result<Exit, UserError> {
    let backups = plan.previous_backups.clone();
    if !args.yes {
        emit(out, args, plan, Status::PruneReady, None, Some(backups))?;
        return Ok(Exit::Ok);
    }
    let mut removed = Vec::new();
    for b in &backups {
        backup::remove_tree(b).map_err(|e| {
            UserError::internal(format!("cannot remove the backup {}: {e}", b.display()))
        })?;
        removed.push(b.clone());
    }
    emit(out, args, plan, Status::Pruned, None, Some(removed))?;
    Ok(Exit::Ok)
}

fn emit(
    out: &Output,
    args: &Options,
    plan: &Plan,
    status: Status,
    result: Option<&ExecResult>,
    pruned: Option<Vec<PathBuf>>,
) -> Result<(), UserError> {
    let report = Report {
        schema: SCHEMA,
        status,
        plan,
        result,
        pruned,
    };
    crate::output::emit(out, args.json, &report, |w, _color| {
        write_human(w, out, args, &report)
    })
}

fn write_human(
    w: &mut dyn Write,
    out: &Output,
    args: &Options,
    report: &Report,
) -> std::io::Result<()> {
    let Report {
        plan,
        status,
        result,
        ..
    } = *report;
    let g = &plan.goroot.path;
    if let Some(list) = &report.pruned {
        if list.is_empty() {
            return writeln!(w, "no backups of {} to prune", g.display());
        }
        let verb = if status == Status::Pruned {
            "removed"
        } else {
            "would remove (run again with --yes)"
        };
        for b in list {
            writeln!(w, "{verb}: {}", b.display())?;
        }
        return Ok(());
    }
    if out.quiet {
        let line = match (status, result) {
            (_, Some(r)) => r.summary.clone(),
            (Status::Blocked, _) => plan.blockers[0].message.clone(),
            (Status::NothingToDo, _) => format!("{} is already native", g.display()),
            _ => format!("ready to rebuild {}", g.display()),
        };
        return writeln!(w, "{line}");
    }
    if let Some(r) = result {
        return write_result(w, plan, r);
    }
    let title = match status {
        Status::NothingToDo => "nothing to do",
        Status::Blocked => "cannot rebuild (nothing has been changed)",
        _ => "plan (nothing has been changed)",
    };
    writeln!(w, "gohang rebuild: {title}\n")?;
    if status == Status::NothingToDo {
        writeln!(
            w,
            "{} is already native: its {} binaries in bin/ and pkg/tool/{}/ run natively on this {}.",
            g.display(),
            plan.foreign.native_binaries.len(),
            plan.host.native,
            plan.host.hardware_arch
        )?;
        for p in &plan.previous_backups {
            writeln!(
                w,
                "an earlier backup exists: {} (remove it with --prune-backup --yes)",
                p.display()
            )?;
        }
        return Ok(());
    }
    write_plan(w, out.verbose, plan, status == Status::Ready)?;
    match status {
        Status::Blocked => {
            writeln!(w)?;
            for b in &plan.blockers {
                writeln!(w, "cannot rebuild: {}", b.message)?;
            }
            if !plan.install_instead.is_empty() {
                writeln!(w, "\ninstall a native Go instead:")?;
                for l in &plan.install_instead {
                    writeln!(w, "  {l}")?;
                }
            }
        }
        _ => {
            let mut again = format!("gohang rebuild --goroot {}", sh(g));
            if let Some(c) = &plan.bootstrap.chosen {
                again.push_str(&format!(" --bootstrap {}", sh(&c.goroot)));
            }
            if args.log.is_some() {
                again.push_str(&format!(" --log {}", sh(&plan.log)));
            }
            writeln!(w, "\nto do it: {again} --yes")?;
        }
    }
    Ok(())
}

/// The facts, and with `steps` the backup, log, environment and commands.
fn write_plan(w: &mut dyn Write, verbose: bool, plan: &Plan, steps: bool) -> std::io::Result<()> {
    write_tree(w, plan)?;
    write_bootstrap_and_disk(w, verbose, plan)?;
    if steps {
        write_steps(w, plan)?;
    }
    Ok(())
}

/// The GOROOT, the hardware, what in the tree is foreign and what is native.
fn write_tree(w: &mut dyn Write, plan: &Plan) -> std::io::Result<()> {
    let g = &plan.goroot;
    let version = match (g.version, &g.owner) {
        (Some(v), _) => v.to_string(),
        (None, _) => "version unknown".into(),
    };
    let from = match &g.env_file {
        Some(f) => format!("GOROOT in {}", f.display()),
        None => g.found_by.describe().to_string(),
    };
    writeln!(
        w,
        "GOROOT     {} ({version}; from {from})",
        g.path.display()
    )?;
    let translated = if plan.host.arch != plan.host.hardware_arch {
        format!(" (gohang itself runs as {})", plan.host.arch)
    } else {
        String::new()
    };
    writeln!(
        w,
        "hardware   {} {}{translated}: native tools are {}",
        plan.host.os, plan.host.hardware_arch, plan.host.native
    )?;
    if plan.foreign.is_native() {
        writeln!(w, "foreign    nothing")?;
    }
    let mut first = true;
    for d in &plan.foreign.foreign_dirs {
        let label = if first { "foreign   " } else { "          " };
        first = false;
        writeln!(
            w,
            "{label} {}/ (tools for {}, {} files)",
            d.path, d.platform, d.files
        )?;
    }
    for b in &plan.foreign.foreign_binaries {
        if plan
            .foreign
            .foreign_dirs
            .iter()
            .any(|d| b.path.starts_with(&d.path))
        {
            continue;
        }
        let label = if first { "foreign   " } else { "          " };
        first = false;
        let arches: Vec<String> = b.arches.iter().map(|a| a.to_string()).collect();
        let note = if b.rebuilt {
            ""
        } else {
            " (not part of Go: removed, reinstall it with the new go)"
        };
        writeln!(
            w,
            "{label} {}: {} {}{note}",
            b.path,
            b.format,
            arches.join("+")
        )?;
    }
    if !plan.foreign.native_tool_dir {
        writeln!(w, "           pkg/tool/{}/ is missing", plan.host.native)?;
    }
    writeln!(
        w,
        "native     {} binaries",
        plan.foreign.native_binaries.len()
    )?;
    Ok(())
}

/// The bootstrap Go chosen (and, verbose or without one, those rejected) and the disk space.
fn write_bootstrap_and_disk(w: &mut dyn Write, verbose: bool, plan: &Plan) -> std::io::Result<()> {
    let b = &plan.bootstrap;
    let need = match b.required {
        Some(r) => format!("make.bash needs {r} or later ({})", b.required_source),
        None => "minimum unknown".into(),
    };
    match &b.chosen {
        Some(c) => writeln!(
            w,
            "bootstrap  {} ({}, {}); {need}",
            c.goroot.display(),
            c.version
                .map(|v| v.to_string())
                .unwrap_or("version unknown".into()),
            c.found_by
        )?,
        None => writeln!(w, "bootstrap  none usable; {need}")?,
    }
    if verbose || b.chosen.is_none() {
        for c in b.considered.iter().filter(|c| c.rejected.is_some()) {
            writeln!(
                w,
                "           not {}: {}",
                c.goroot.display(),
                c.rejected.as_deref().unwrap_or("")
            )?;
        }
    }
    if let Some(d) = &plan.disk {
        writeln!(
            w,
            "disk       {} needed on the file system of {} ({} copy + {} build); {} free",
            human_bytes(d.needed_bytes),
            d.filesystem_of.display(),
            human_bytes(d.copy_bytes),
            human_bytes(d.build_bytes),
            human_bytes(d.free_bytes)
        )?;
    }
    Ok(())
}

/// The backup, the log, the environment, the commands and the way back.
fn write_steps(w: &mut dyn Write, plan: &Plan) -> std::io::Result<()> {
    writeln!(
        w,
        "backup     {} (the original, renamed; kept after success)",
        plan.backup.display()
    )?;
    writeln!(w, "log        {}", plan.log.display())?;
    if let Some(env) = &plan.environment
        && !env.unset.is_empty()
    {
        writeln!(
            w,
            "env        unset for the build: {} (they would be baked into the new toolchain)",
            env.unset.join(" ")
        )?;
    }
    for p in &plan.previous_backups {
        writeln!(
            w,
            "note       an earlier backup exists: {} (remove with --prune-backup --yes)",
            p.display()
        )?;
    }
    writeln!(w, "\ncommands")?;
    for c in &plan.commands {
        writeln!(w, "  {c}")?;
    }
    writeln!(w, "on failure or Ctrl-C, gohang puts the original back:")?;
    for c in &plan.rollback_commands {
        writeln!(w, "  {c}")?;
    }
    Ok(())
}

fn write_result(w: &mut dyn Write, plan: &Plan, r: &ExecResult) -> std::io::Result<()> {
    match r.outcome {
        ExecOutcome::Rebuilt => writeln!(w, "{}", r.summary)?,
        ExecOutcome::Refused => writeln!(w, "rebuild refused: {}", r.summary)?,
        _ => writeln!(w, "rebuild failed: {}", r.summary)?,
    }
    if let Some(b) = &r.build {
        writeln!(
            w,
            "  make.bash: {} after {:.0} s, reached {}",
            b.ended, b.seconds, b.reached
        )?;
        if r.outcome != ExecOutcome::Rebuilt && !b.tail.is_empty() {
            writeln!(w, "  its last lines:")?;
            for l in b.tail.iter().rev().take(8).rev() {
                writeln!(w, "    {l}")?;
            }
        }
    }
    if let Some(v) = &r.verification {
        for c in &v.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            let first = c.output.lines().next().unwrap_or("");
            let first = if c.name == "go env" {
                c.output.split_whitespace().collect::<Vec<_>>().join(" ")
            } else {
                first.to_string()
            };
            writeln!(w, "  {mark} {}: {first}", c.name)?;
            if let Some(p) = &c.problem {
                writeln!(w, "       {p}")?;
            }
        }
    }
    match (&r.restored, r.outcome) {
        (Some(res), _) if res.identical => writeln!(
            w,
            "rolled back: {} is the original again ({} entries checked: same files, modes, links, times)",
            plan.goroot.path.display(),
            res.entries
        )?,
        (Some(res), _) => writeln!(
            w,
            "rolled back, but the tree differs from before: {}",
            res.differences.join("; ")
        )?,
        (None, ExecOutcome::RollbackFailed) => {
            writeln!(w, "THE ORIGINAL WAS NOT PUT BACK. Restore it by hand:")?;
            for l in &r.manual_restore {
                writeln!(w, "  {l}")?;
            }
        }
        _ => {}
    }
    if let Some(b) = &r.backup {
        writeln!(
            w,
            "the original is kept at {}; remove it with: gohang rebuild --goroot {} --prune-backup --yes",
            b.display(),
            sh(&plan.goroot.path)
        )?;
    }
    writeln!(w, "log: {}", r.log.display())
}
