//! A GOROOT's binaries: `bin/` (go, gofmt) and `pkg/tool/<goos>_<goarch>/` (compile, link,
//! asm, …). Only those count: GOROOT's `src/` and `test/` hold foreign binaries on purpose
//! (`src/debug/elf/testdata`, `src/debug/macho/testdata`).
//!
//! Layout facts (Go's `cmd/go/internal/cfg/cfg.go`): the go command takes a directory as a
//! GOROOT when it has `pkg/tool` (`isGOROOT`), and runs its tools from
//! `pkg/tool/<GOOS>_<GOARCH>` of the GOOS/GOARCH it was itself built for
//! (`installedGOOS`/`installedGOARCH` = `runtime.GOOS`/`runtime.GOARCH`) — so an x86_64 go
//! on an arm64 Mac uses `pkg/tool/darwin_amd64`.

use super::FileReport;
pub use crate::evidence::toolchain::{GorootScan, ToolDir};
use std::fs;
use std::path::{Path, PathBuf};

/// The go command's own test (`isGOROOT`): the directory has `pkg/tool`.
pub fn has_tool_root(dir: &Path) -> bool {
    dir.join("pkg").join("tool").is_dir()
}

/// Does `dir` look like a GOROOT to a person pointing gohang at it: `bin/go` and either
/// `pkg/tool/` or Go's sources (`src/runtime`, not just any `src/`: `/usr/local` has
/// `bin/go` and an empty `src/` on Debian).
pub fn is_goroot(dir: &Path) -> bool {
    dir.join("bin").join("go").is_file()
        && (has_tool_root(dir) || dir.join("src").join("runtime").is_dir())
}

/// `<goos>_<goarch>` split in two.
pub fn split_os_arch(name: &str) -> Option<(&str, &str)> {
    let (os, arch) = name.split_once('_')?;
    (!os.is_empty() && !arch.is_empty() && !arch.contains('_')).then_some((os, arch))
}

/// Regular files directly in `dir` (symlinks followed), sorted by name, each with whether
/// it is a symlink. The directory entry's type costs no system call; only symlinks are
/// followed with a `stat`.
pub fn entries_in(dir: &Path) -> Vec<(PathBuf, bool)> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(PathBuf, bool)> = rd
        .flatten()
        .filter_map(|e| {
            let t = e.file_type().ok()?;
            let p = e.path();
            if t.is_file() {
                Some((p, false))
            } else if t.is_symlink() && p.is_file() {
                Some((p, true))
            } else {
                None
            }
        })
        .collect();
    v.sort();
    v
}

fn reports_in(dir: &Path) -> Vec<FileReport> {
    entries_in(dir)
        .iter()
        .map(|(p, link)| FileReport::of_entry(p, *link))
        .collect()
}

pub fn read_version_file(root: &Path) -> Option<String> {
    let text =
        crate::safeio::read_found_text(&root.join("VERSION"), crate::safeio::SMALL_TEXT).ok()?;
    let first = text.lines().next()?.trim();
    (!first.is_empty()).then(|| first.to_string())
}

/// The directories of `pkg/tool/`, by name, sorted.
pub fn scan_dirs(root: &Path) -> Vec<(String, PathBuf)> {
    let Ok(rd) = fs::read_dir(root.join("pkg").join("tool")) else {
        return Vec::new();
    };
    let mut dirs: Vec<(String, PathBuf)> = rd
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(_, p)| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Inspect `bin/` and every `pkg/tool/*/` of `root`.
pub fn scan(root: &Path) -> GorootScan {
    let bin = reports_in(&root.join("bin"));
    let mut tool_dirs = Vec::new();
    for (name, d) in scan_dirs(root) {
        let (goos, goarch) = match split_os_arch(&name) {
            Some((o, a)) => (Some(o.to_string()), Some(a.to_string())),
            None => (None, None),
        };
        let files = reports_in(&d);
        tool_dirs.push(ToolDir {
            name,
            path: d.display().to_string(),
            goos,
            goarch,
            files,
        });
    }
    GorootScan {
        root: root.display().to_string(),
        version_file: read_version_file(root),
        bin,
        tool_dirs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_dir_names() {
        assert_eq!(split_os_arch("linux_amd64"), Some(("linux", "amd64")));
        assert_eq!(split_os_arch("darwin_arm64"), Some(("darwin", "arm64")));
        assert_eq!(split_os_arch("weird"), None);
        assert_eq!(split_os_arch("a_b_c"), None);
    }

    #[test]
    fn layout_is_recognised() {
        let t = tempfile::tempdir().unwrap();
        assert!(!is_goroot(t.path()));
        fs::create_dir_all(t.path().join("bin")).unwrap();
        fs::write(t.path().join("bin/go"), b"#!/bin/sh\n").unwrap();
        assert!(!is_goroot(t.path()));
        fs::create_dir_all(t.path().join("src")).unwrap();
        assert!(
            !is_goroot(t.path()),
            "an empty src/ beside bin/go is /usr/local"
        );
        fs::create_dir_all(t.path().join("src/runtime")).unwrap();
        assert!(is_goroot(t.path()));
        fs::remove_dir_all(t.path().join("src")).unwrap();
        fs::create_dir_all(t.path().join("pkg/tool/linux_amd64")).unwrap();
        assert!(is_goroot(t.path()));
        fs::write(
            t.path().join("VERSION"),
            "go1.23.5\ntime 2025-01-10T16:44:59Z\n",
        )
        .unwrap();
        let s = scan(t.path());
        assert_eq!(s.version_file.as_deref(), Some("go1.23.5"));
        assert_eq!(s.bin.len(), 1);
        assert_eq!(s.bin[0].kind, super::super::FileKind::NotBinary);
        assert_eq!(s.tool_dirs[0].goarch.as_deref(), Some("amd64"));
    }
}
