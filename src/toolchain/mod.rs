//! The Go toolchain, found and inspected without running it: `go` may be what hangs.
//!
//! - [`discover`]: every `go` on PATH and in the usual install places (Homebrew, gvm, asdf,
//!   goenv, mise, toolchains downloaded by `GOTOOLCHAIN`), and the GOROOT each one uses;
//! - [`goroot`]: the binaries of a GOROOT that matter (`bin/` and `pkg/tool/<os>_<arch>/`);
//! - [`hardware`]: the machine's own architecture and whether gohang's shell is translated;
//! - [`goenv`]: settings in the environment or the `go env -w` file that change the target;
//! - [`analysis`]: pure conclusions from those facts, shared by `check` and the classifier.
//!
//! Everything here reads files and kernel state only; the slow parts run under
//! [`timebox::run`], so a dead NFS mount in PATH cannot hang gohang.

pub use crate::classify::analysis;
pub mod discover;
#[cfg(test)]
pub(crate) mod fake;
pub mod goenv;
pub mod goroot;
pub mod hardware;
pub mod timebox;

pub use crate::evidence::toolchain::{FileKind, FileReport, ToolchainEvidence};
use crate::inspect::{self, InspectError};
use std::collections::BTreeMap;
use std::path::Path;

/// A snapshot of the environment variables, so that every decision made from them can be
/// tested without touching the process's own environment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The process's environment (variables that are not UTF-8 are left out).
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }
    pub fn from_pairs<I, K, V>(pairs: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
    /// A variable's value; unset and empty are the same (as the go command treats them).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    /// `$HOME`, where the user's tools keep their installs.
    pub fn home(&self) -> Option<&str> {
        self.get("HOME")
    }
}

impl FileReport {
    pub fn of(path: &Path) -> FileReport {
        let symlink = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        FileReport::of_entry(path, symlink)
    }

    /// Like [`FileReport::of`], for a directory entry whose type is already known.
    pub fn of_entry(path: &Path, symlink: bool) -> FileReport {
        let (kind, binary, problem) = match inspect::inspect_path(path) {
            Ok(b) => (FileKind::Binary, Some(b), None),
            Err(e @ InspectError::NotBinary(_)) => (FileKind::NotBinary, None, Some(e.to_string())),
            Err(e @ InspectError::Invalid { .. }) => (FileKind::Invalid, None, Some(e.to_string())),
            Err(e @ InspectError::Io(_)) => (FileKind::Unreadable, None, Some(e.to_string())),
        };
        // Only a symlinked file is resolved: canonicalizing every file costs a readlink per
        // path component, most of `scan`'s time. GOROOTs are scanned from their real path.
        let resolved = symlink
            .then(|| std::fs::canonicalize(path).ok())
            .flatten()
            .map(|r| r.display().to_string());
        FileReport {
            path: path.display().to_string(),
            resolved,
            kind,
            binary,
            problem,
        }
    }
}

impl ToolchainEvidence {
    /// Ask the package databases who owns the GOROOT's tree (a program run each), so
    /// that a fix may replace it if nobody does.
    pub fn ask_package_owner(&mut self) {
        if let Some(tree) = self.tree.as_mut() {
            tree.ask_package_owner();
        }
    }
}

/// Inspect the toolchain of the `go` at `go_path` (as PATH names it): the binary, the
/// GOROOT it would use, and that GOROOT's `bin/` and `pkg/tool/*/`. Reads files only: the
/// package databases are not asked who owns the tree until
/// [`ToolchainEvidence::ask_package_owner`], and until then no fix may replace it.
pub fn evidence_for(
    go_path: &Path,
    env: &Env,
    envf: &goenv::EnvFindings,
    host: &crate::evidence::HostInfo,
    translated_shell: bool,
) -> ToolchainEvidence {
    let go = FileReport::of(go_path);
    let mut notes = Vec::new();
    let (goroot, goroot_source) = if go.kind == FileKind::Binary {
        match discover::goroot_for(go_path, env, envf, &host.os) {
            Some((r, s)) => (Some(r), Some(s.describe())),
            None => {
                notes.push(
                    "no GOROOT found: $GOROOT is not set and there is no pkg/tool directory \
                     next to the go binary"
                        .to_string(),
                );
                (None, None)
            }
        }
    } else {
        notes.push(format!(
            "{} is not a Go binary ({}): a version manager's shim? Which go it runs is \
             decided when it runs",
            go.path,
            go.problem.as_deref().unwrap_or("unknown")
        ));
        (None, None)
    };
    let tool_dir = go
        .binary
        .as_ref()
        .and_then(|b| analysis::running_slice(b, host, translated_shell))
        .and_then(analysis::tool_dir_name);
    let scan = goroot
        .as_deref()
        .map(|r| goroot::scan(&std::fs::canonicalize(r).unwrap_or_else(|_| r.to_path_buf())));
    let tree = goroot
        .as_deref()
        .map(|r| crate::guard::TreeFacts::read_layout(r, env.home(), env.get("GOPATH")));
    if let (Some(r), Some(s)) = (&goroot, &scan)
        && s.bin.is_empty()
        && s.tool_dirs.is_empty()
    {
        notes.push(format!(
            "{} holds no bin/ or pkg/tool/ binaries",
            r.display()
        ));
    }
    ToolchainEvidence {
        go_path: go_path.display().to_string(),
        go,
        goroot: goroot.map(|r| r.display().to_string()),
        goroot_source,
        tool_dir,
        scan,
        tree,
        notes,
    }
}

/// Static evidence for `probe`: when the probed command is the go command (named `go`, or
/// a binary whose build info says `cmd/go`), inspect its toolchain within a deadline.
/// `None` for other commands, and when the inspection does not finish in time.
pub fn for_command(
    command: &[String],
    host: &crate::evidence::HostInfo,
) -> Option<ToolchainEvidence> {
    let program = command.first()?.clone();
    let env = Env::from_process();
    let host = host.clone();
    timebox::run("toolchain inspection", timebox::CHECK_LIMIT, move || {
        let path = crate::sys::process::find_program(&program)?;
        let named_go = Path::new(&program).file_name().is_some_and(|n| n == "go");
        let is_go = named_go
            || inspect::go_build_info(&path)
                .ok()
                .flatten()
                .and_then(|g| g.path)
                .is_some_and(|p| p == "cmd/go");
        if !is_go {
            return None;
        }
        let envf = goenv::findings(&env, &host.os);
        let translated_shell = !host.translation.is_native();
        let mut t = evidence_for(&path, &env, &envf, &host, translated_shell);
        // Who owns the tree matters only to a fix that replaces it, and the classifier
        // writes a toolchain fix only for a go that is not native or a toolchain with
        // problems (classify/toolchain.rs, `amend`); a healthy go pays no package query.
        let a = analysis::analyze(&t, &host, translated_shell);
        if a.has_problems() || a.go_fit.as_ref().is_some_and(|f| !f.is_native()) {
            t.ask_package_owner();
        }
        Some(t)
    })
    .ok()
    .flatten()
}
