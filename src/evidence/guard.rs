//! What a printed fix may act on. Users paste gohang's fixes as they are, often as root, so
//! a command that removes, kills or overwrites is printed only for a target gohang has
//! verified; every remedy template asks here first, and says what to check when the answer
//! is no.
//!
//! - A directory may be replaced (`rm -rf DIR && mv DIR.new DIR`) only when it is a Go tree
//!   by its layout — `bin/go`, `src/runtime/` and one of `pkg/tool/` or `VERSION`, as a
//!   release archive unpacks — and none of: the file system root, `$HOME` or a directory
//!   above it, a GOPATH (`$GOPATH`, or a `pkg/mod` module cache inside), a git checkout,
//!   a tree a package manager owns (its reinstall is the fix). A variable that names a
//!   directory (`GOROOT=/usr/local`) proves nothing.
//! - A pid may be named in `kill PID` only when it is greater than 1: `kill 0` signals the
//!   caller's own process group, and pid 1 is init (kill(2)). A process group id only
//!   when greater than 1: `kill -- -1` signals every process the caller may signal.
//!
//! The facts about a directory are read once (`TreeFacts::read` (in `crate::guard`), file system and the
//! package database, where I/O is allowed) and kept in the evidence, so the pure
//! classifier and `check` decide from the same record.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// What was found at a directory a fix might replace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeFacts {
    /// The directory, symlinks resolved.
    pub path: String,
    pub bin_go: bool,
    pub src_runtime: bool,
    pub pkg_tool: bool,
    pub version_file: bool,
    /// `pkg/mod`: the module cache of a GOPATH, never part of a GOROOT.
    #[serde(default)]
    pub module_cache: bool,
    /// `.git`: a checkout of Go's sources, updated with git, not replaced.
    #[serde(default)]
    pub git_checkout: bool,
    /// It is `$HOME`, or a directory above it.
    #[serde(default)]
    pub home: bool,
    /// It is one of the `$GOPATH` entries.
    #[serde(default)]
    pub gopath: bool,
    /// The package manager that owns it (asked only for a tree with a Go layout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// The package databases were not asked who owns this Go tree (each answer costs a
    /// program run, and only a fix that replaces the tree needs it): no such fix may be
    /// printed for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owner_unchecked: bool,
}

impl TreeFacts {
    /// The facts of an unpacked release at `path` nobody owns, for tests made of made-up
    /// evidence.
    #[cfg(test)]
    pub fn release_tree(path: &str) -> TreeFacts {
        TreeFacts {
            path: path.to_string(),
            bin_go: true,
            src_runtime: true,
            pkg_tool: true,
            version_file: true,
            ..TreeFacts::default()
        }
    }

    /// `bin/go`, `src/runtime/`, and `pkg/tool/` or `VERSION`: what a Go release unpacks
    /// to. `/usr/local` may have `bin/go` (a symlink) but has no `src/runtime`.
    pub fn has_go_layout(&self) -> bool {
        self.bin_go && self.src_runtime && (self.pkg_tool || self.version_file)
    }

    /// Why no fix may replace this directory, whatever its layout: where it is (see
    /// [`TreeFacts::place_refusal`]), or a git checkout.
    pub fn location_refusal(&self) -> Option<String> {
        self.place_refusal().or_else(|| {
            self.git_checkout.then(|| {
                "it is a git checkout of Go's sources: update it with git and rebuild it with \
                 src/make.bash instead"
                    .to_string()
            })
        })
    }

    /// Why neither a fix nor `gohang rebuild` may move this directory aside: the file
    /// system root, `$HOME` or a directory above it, a GOPATH.
    pub fn place_refusal(&self) -> Option<String> {
        if Path::new(&self.path).parent().is_none() {
            Some("it is the file system root".to_string())
        } else if self.home {
            Some("it is your home directory or holds it".to_string())
        } else if self.gopath || self.module_cache {
            Some(
                "it is a GOPATH (it holds the module cache pkg/mod, or $GOPATH names it)"
                    .to_string(),
            )
        } else {
            None
        }
    }

    /// What a fix may do with this directory.
    pub fn judge(&self) -> TreeJudgement {
        let why = if let Some(w) = self.location_refusal() {
            Some(w)
        } else if !self.has_go_layout() {
            let mut missing = Vec::new();
            if !self.bin_go {
                missing.push("bin/go");
            }
            if !self.src_runtime {
                missing.push("src/runtime/");
            }
            if !self.pkg_tool && !self.version_file {
                missing.push("pkg/tool/ or VERSION");
            }
            Some(format!(
                "it is not a Go tree (no {})",
                missing.join(", no ")
            ))
        } else {
            None
        };
        match (why, &self.owner) {
            (Some(w), _) => TreeJudgement::Refused(w),
            (None, Some(o)) => TreeJudgement::Owned(o.clone()),
            (None, None) if self.owner_unchecked => TreeJudgement::Refused(
                "whether a package manager owns it was not checked (dpkg -S, rpm -qf or pacman -Qo \
                 on its bin/go says)"
                    .to_string(),
            ),
            (None, None) => TreeJudgement::Replaceable(VerifiedTree {
                path: self.path.clone(),
            }),
        }
    }
}

/// A directory [`TreeFacts::judge`] found to be a Go tree nobody's package manager owns.
/// Only this module makes one, and the commands that remove a tree
/// (`rebuild::advice::replace_with_archive`) take one: a path that was not judged cannot
/// reach them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTree {
    path: String,
}

impl VerifiedTree {
    /// Its real path.
    pub fn path(&self) -> &Path {
        Path::new(&self.path)
    }
}

/// Whether a fix may remove and replace a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeJudgement {
    /// A Go tree nobody's package manager owns.
    Replaceable(VerifiedTree),
    /// A Go tree a package manager owns: its reinstall is the fix.
    Owned(Owner),
    /// Not to be touched, and why.
    Refused(String),
}

/// The judgement on a directory gohang may not have looked at (`None`).
pub fn judge_tree(facts: Option<&TreeFacts>) -> TreeJudgement {
    match facts {
        Some(t) => t.judge(),
        None => TreeJudgement::Refused("gohang did not verify what is there".to_string()),
    }
}

/// The text for a refused replacement of `dir`: what to check, no command that deletes.
pub fn refused_replacement(dir: &str, why: &str) -> String {
    format!(
        "gohang will not print a command that replaces {dir}: {why}. Check where GOROOT \
         is set (`go env GOROOT`, `go env -w`, your shell's profile) and whether {dir} is \
         really the Go installation; install a Go release into a new, empty directory \
         (go.dev/doc/install) and put its bin/ first on PATH"
    )
}

/// May `kill PID` name this pid? Only a real process other than init: `kill 0` signals
/// the caller's own process group and `kill -1` every process it may (kill(2)); pid 0 is
/// also how a process outside the observer's pid namespace shows up.
pub fn may_name_pid(pid: u32) -> bool {
    pid > 1
}

/// May `kill -- -PGID` name this process group? Only one greater than 1: `-1` means every
/// process, and process group 1 is init's (kill(2)).
pub fn may_name_group(pgid: i32) -> bool {
    pgid > 1
}

/// What to say instead of `kill PID` for a pid that may not be named.
pub fn unnamed_pid(pid: u32) -> String {
    format!(
        "the process shows as pid {pid}, which no kill command may name (pid 0 means it is not \
         visible in this pid namespace, 1 is init): find it where it runs (its container or host: \
         ps -ef) and stop it there"
    )
}

/// A package manager (or the go command itself) that owns the tree: a rebuild would fight
/// it, and its next upgrade would undo or corrupt the rebuild.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// `dpkg`, `rpm`, `pacman`, `homebrew`, `macports`, `nix`, `snap`, `go-toolchain-cache`.
    pub manager: String,
    /// The package, when the manager names one (`golang-1.23-go:arm64`, `go@1.22`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

impl Owner {
    pub fn describe(&self) -> String {
        let what = match self.manager.as_str() {
            "dpkg" => "the Debian package",
            "rpm" => "the RPM package",
            "pacman" => "the pacman package",
            "homebrew" => "the Homebrew formula",
            "macports" => "MacPorts",
            "nix" => "the Nix store",
            "snap" => "a snap",
            "go-toolchain-cache" => "the go command's toolchain cache (GOTOOLCHAIN downloads)",
            _ => "a package manager",
        };
        match &self.package {
            Some(p) => format!("{what} {p}"),
            None => what.to_string(),
        }
    }
}
