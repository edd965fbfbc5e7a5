//! `gohang scan PATH…`: the architecture, platform, minimum OS, signature and Go version of
//! binaries, and which of them are foreign to this machine's hardware.
//!
//! A PATH is a file, a GOROOT (recognised by its layout: `bin/go` and `pkg/tool/` or `src/runtime/`;
//! only `bin/` and `pkg/tool/*/` are scanned, since `src/` holds foreign test binaries on
//! purpose), or another directory (the files directly in it).
//!
//! # JSON format (`gohang.scan/1`)
//!
//! One object: `schema`, `host` (as in `gohang.report/1`), `targets[]` (`path`, `kind`:
//! `goroot`/`directory`/`file`, `files[]`: `path`, `resolved`, `kind`:
//! `binary`/`not-binary`/`invalid`/`unreadable`, `binary` (format, slices with arch, os,
//! platform, min_os, sdk, signature, go), `problem`, `fit` (`native`, `translated` with
//! `by`, `foreign` with `why`), `group`), `problem` (a directory that could not be listed)),
//! `binaries`, `native`, `not_native`, `invalid`, `not_binary`, `unreadable`, `exit_code`.
//! Exit codes: 0 all binaries native, 1 none, 2 some; 3 no binary at all among the files
//! (empty files, scripts, data, FIFOs, devices); 4 something could not be read (and no
//! binary that was read is foreign); 66 a PATH that does not exist or is a loop of
//! symbolic links.

use crate::error::{Exit, UserError};
use crate::evidence::{HostInfo, Os};
use crate::inspect::BinaryInfo;
use crate::output::{Output, emit};
use crate::toolchain::analysis::{self, Fit};
use crate::toolchain::goroot::{self, entries_in};
use crate::toolchain::{FileKind, FileReport, hardware};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

pub const SCAN_SCHEMA: &str = "gohang.scan/1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Goroot,
    Directory,
    File,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScannedFile {
    #[serde(flatten)]
    pub file: FileReport,
    /// `bin`, `pkg/tool/linux_amd64`, or empty for a file named directly.
    pub group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<Fit>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanTarget {
    pub path: String,
    pub kind: TargetKind,
    pub files: Vec<ScannedFile>,
    /// Why a directory's files could not be listed (permission denied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    pub schema: String,
    pub host: HostInfo,
    pub targets: Vec<ScanTarget>,
    /// Binaries (valid or not) among the files.
    pub binaries: usize,
    pub native: usize,
    /// Valid binaries that run translated or not at all.
    pub not_native: usize,
    pub invalid: usize,
    /// Files that are not binaries: scripts, data, empty files, FIFOs, devices.
    #[serde(default)]
    pub not_binary: usize,
    /// Files and directories that could not be read.
    #[serde(default)]
    pub unreadable: usize,
    pub exit_code: u8,
}

fn scanned(path: &Path, symlink: Option<bool>, group: &str, host: &HostInfo) -> ScannedFile {
    let file = match symlink {
        Some(link) => FileReport::of_entry(path, link),
        None => FileReport::of(path),
    };
    let fit = file.binary.as_ref().map(|b| analysis::fit(b, host));
    ScannedFile {
        file,
        group: group.to_string(),
        fit,
    }
}

/// Scan one PATH.
pub fn scan_target(path: &Path, host: &HostInfo) -> ScanTarget {
    let mut files = Vec::new();
    let mut problem = None;
    // A directory that cannot be listed is not an empty one (another user's private directory).
    if path.is_dir()
        && let Err(e) = std::fs::read_dir(path)
    {
        problem = Some(if e.kind() == std::io::ErrorKind::PermissionDenied {
            format!(
                "cannot list {}: permission denied (run as its owner or root)",
                path.display()
            )
        } else {
            format!("cannot list {}: {e}", path.display())
        });
    }
    let kind = if path.is_dir() {
        if goroot::is_goroot(path) {
            for (f, link) in entries_in(&path.join("bin")) {
                files.push(scanned(&f, Some(link), "bin", host));
            }
            let s = goroot::scan_dirs(path);
            for (name, dir) in s {
                let group = format!("pkg/tool/{name}");
                for (f, link) in entries_in(&dir) {
                    files.push(scanned(&f, Some(link), &group, host));
                }
            }
            TargetKind::Goroot
        } else {
            for (f, link) in entries_in(path) {
                files.push(scanned(&f, Some(link), "", host));
            }
            TargetKind::Directory
        }
    } else {
        files.push(scanned(path, None, "", host));
        TargetKind::File
    };
    ScanTarget {
        path: path.display().to_string(),
        kind,
        files,
        problem,
    }
}

/// Scan every PATH and count.
pub fn scan(paths: &[&Path], host: HostInfo) -> ScanReport {
    let targets: Vec<ScanTarget> = paths.iter().map(|p| scan_target(p, &host)).collect();
    let (mut binaries, mut native, mut not_native, mut invalid) = (0, 0, 0, 0);
    let mut not_binary = 0;
    let mut unreadable = targets.iter().filter(|t| t.problem.is_some()).count();
    for f in targets.iter().flat_map(|t| &t.files) {
        match (&f.file.kind, &f.fit) {
            (FileKind::Binary, Some(fit)) => {
                binaries += 1;
                if fit.is_native() {
                    native += 1;
                } else {
                    not_native += 1;
                }
            }
            (FileKind::Invalid, _) => {
                binaries += 1;
                invalid += 1;
            }
            (FileKind::Unreadable, _) => unreadable += 1,
            _ => not_binary += 1,
        }
    }
    let exit_code = outcome(binaries, native, unreadable).code();
    ScanReport {
        schema: SCAN_SCHEMA.to_string(),
        host,
        targets,
        binaries,
        native,
        not_native,
        invalid,
        not_binary,
        unreadable,
        exit_code,
    }
}

/// What a scan comes to (docs/exit-codes.md). A foreign or invalid binary is the finding;
/// then what could not be read (the answer is incomplete: [`Exit::Incomplete`], below 64,
/// so `--json` still prints the report); then nothing to judge at all
/// ([`Exit::NoBinary`]). Only a read binary vouches for "native".
fn outcome(binaries: usize, native: usize, unreadable: usize) -> Exit {
    if native < binaries {
        if native == 0 {
            Exit::Diagnosed
        } else {
            Exit::Unidentified
        }
    } else if unreadable > 0 {
        Exit::Incomplete
    } else if binaries == 0 {
        Exit::NoBinary
    } else {
        Exit::Ok
    }
}

/// What `gohang scan` was asked.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Files, directories, or GOROOTs.
    pub paths: Vec<std::path::PathBuf>,
    /// One JSON report (gohang.scan/1) on stdout.
    pub json: bool,
}

pub fn run(out: &Output, args: &Options) -> Result<Exit, UserError> {
    for p in &args.paths {
        if let Err(e) = std::fs::metadata(p) {
            let why = match e.raw_os_error() {
                Some(libc::ELOOP) => {
                    "a loop of symbolic links (see where it points with `ls -l`)".to_string()
                }
                Some(libc::ENOENT) if std::fs::symlink_metadata(p).is_ok() => {
                    "a symbolic link to nothing".to_string()
                }
                Some(libc::ENOENT) => "no such file or directory".to_string(),
                Some(libc::EACCES) => {
                    return Err(UserError::no_permission(format!(
                        "{}: permission denied (run as its owner or root)",
                        p.display()
                    )));
                }
                _ => e.to_string(),
            };
            return Err(UserError::no_input(format!("{}: {why}", p.display())));
        }
    }
    let paths: Vec<&Path> = args.paths.iter().map(|p| p.as_path()).collect();
    let report = scan(&paths, hardware::host());
    emit(out, args.json, &report, |w, color| {
        write_human(w, &report, out.quiet, color)
    })?;
    Ok(outcome(report.binaries, report.native, report.unreadable))
}

/// The columns of one file.
fn columns(b: &BinaryInfo) -> [String; 5] {
    let join = |v: Vec<String>| {
        let mut u: Vec<String> = Vec::new();
        for s in v {
            if !u.contains(&s) {
                u.push(s);
            }
        }
        u.join("/")
    };
    let dash = |o: Option<String>| o.unwrap_or_else(|| "-".to_string());
    let arch = b.arch_names();
    let platform = join(
        b.slices
            .iter()
            .map(|s| {
                dash(
                    s.platform
                        .clone()
                        .or_else(|| s.os.as_ref().map(Os::to_string)),
                )
            })
            .collect(),
    );
    let min_os = join(b.slices.iter().map(|s| dash(s.min_os.clone())).collect());
    let sig = join(
        b.slices
            .iter()
            .map(|s| dash(s.signature.as_ref().map(|x| x.to_string())))
            .collect(),
    );
    let go = dash(b.go().map(|g| g.version.clone()));
    [arch, platform, min_os, sig, go]
}

pub fn write_human<W: Write + ?Sized>(
    w: &mut W,
    r: &ScanReport,
    quiet: bool,
    color: bool,
) -> std::io::Result<()> {
    let paint = |code: &str, s: &str| crate::report::human::paint(color, code, s);
    let hw = r.host.hardware_arch.display_for(&r.host.os);
    let mut verdict = format!(
        "{} binar{} on this {hw} {} machine: {} native, {} not native, {} invalid",
        r.binaries,
        if r.binaries == 1 { "y" } else { "ies" },
        r.host.os,
        r.native,
        r.not_native,
        r.invalid
    );
    if r.unreadable > 0 {
        verdict.push_str(&format!(", {} could not be read", r.unreadable));
    }
    if r.binaries == 0 && r.unreadable == 0 {
        verdict.push_str(&format!(
            " (no binary among {} file{})",
            r.not_binary,
            if r.not_binary == 1 { "" } else { "s" }
        ));
    }
    if quiet {
        return writeln!(w, "{verdict}");
    }
    for t in &r.targets {
        let label = match t.kind {
            TargetKind::Goroot => "GOROOT",
            TargetKind::Directory => "directory",
            TargetKind::File => "file",
        };
        writeln!(w, "{} ({label})", paint("1", &t.path))?;
        if let Some(p) = &t.problem {
            writeln!(w, "  {}", paint("31", p))?;
            continue;
        }
        if t.files.is_empty() {
            writeln!(w, "  (no files)")?;
            continue;
        }
        let rows: Vec<(String, [String; 5], String)> = t
            .files
            .iter()
            .map(|f| {
                let name = match t.kind {
                    TargetKind::File => f.file.path.clone(),
                    _ => Path::new(&f.file.path)
                        .strip_prefix(&t.path)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| f.file.path.clone()),
                };
                match (&f.file.binary, &f.fit) {
                    (Some(b), Some(fit)) => {
                        let note = match fit {
                            Fit::Native => String::new(),
                            Fit::Translated { by } => {
                                paint("33", &format!("foreign: runs translated by {by}"))
                            }
                            Fit::Foreign { why } => paint("31", &format!("foreign: {why}")),
                        };
                        (name, columns(b), note)
                    }
                    _ => {
                        let problem = f.file.problem.clone().unwrap_or_default();
                        let note = if f.file.kind == FileKind::NotBinary {
                            problem
                        } else {
                            paint("31", &problem)
                        };
                        (name, Default::default(), note)
                    }
                }
            })
            .collect();
        let width = |i: usize, head: &str| {
            rows.iter()
                .map(|r| {
                    if i == 0 {
                        r.0.chars().count()
                    } else {
                        r.1[i - 1].chars().count()
                    }
                })
                .chain([head.len()])
                .max()
                .unwrap_or(0)
        };
        let heads = ["FILE", "ARCH", "PLATFORM", "MIN OS", "SIGNATURE", "GO"];
        let ws: Vec<usize> = heads.iter().enumerate().map(|(i, h)| width(i, h)).collect();
        let mut line = String::from("  ");
        for (h, wd) in heads.iter().zip(&ws) {
            line.push_str(&format!("{h:<wd$}  "));
        }
        writeln!(w, "{}", line.trim_end())?;
        for (name, cols, note) in rows {
            let mut line = format!("  {name:<w0$}  ", w0 = ws[0]);
            for (c, wd) in cols.iter().zip(&ws[1..]) {
                line.push_str(&format!("{c:<wd$}  "));
            }
            line.push_str(&note);
            writeln!(w, "{}", line.trim_end())?;
        }
    }
    writeln!(w, "{verdict}")
}
