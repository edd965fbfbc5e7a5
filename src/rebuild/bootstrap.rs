//! The bootstrap toolchain: a native Go, new enough for this GOROOT's make.bash.
//!
//! It must be native: make.bash builds cmd/dist with it and runs it, and dist takes the
//! host architecture from `uname -m` (`src/cmd/dist/main.go`), which under qemu-user
//! reports the emulated machine, so a foreign bootstrap builds a foreign toolchain again
//! (on macOS dist looks for `RELEASE_ARM64` in `uname -a` to see through Rosetta, but the
//! whole bootstrap then runs translated). It must be at least the floor of
//! `version::bootstrap_floor` (make.bash fails with `building_Go_requires_Go_1_20_6_or_later`
//! otherwise). Candidates are found by reading files only; the chosen one is run
//! (`go version`) before anything changes, in `execute`.

use crate::binary;
use crate::rebuild::foreign::Platform;
use crate::rebuild::goroot::has_goroot_layout;
use crate::rebuild::version::{GoVersion, tree_version};
use serde::Serialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The environment the search reads (a struct, so tests can give their own).
#[derive(Clone, Debug, Default)]
pub struct SearchEnv {
    pub path: Option<OsString>,
    pub home: Option<PathBuf>,
    pub goroot_bootstrap: Option<OsString>,
    pub gomodcache: Option<OsString>,
    pub gopath: Option<OsString>,
    /// Fixed install locations to look in (system-wide ones by default).
    pub system_dirs: Vec<PathBuf>,
}

impl SearchEnv {
    pub fn from_process() -> SearchEnv {
        let var = |k| std::env::var_os(k).filter(|v| !v.is_empty());
        SearchEnv {
            path: var("PATH"),
            home: var("HOME").map(PathBuf::from),
            goroot_bootstrap: var("GOROOT_BOOTSTRAP"),
            gomodcache: var("GOMODCACHE"),
            gopath: var("GOPATH"),
            system_dirs: SYSTEM_DIRS.iter().map(PathBuf::from).collect(),
        }
    }
}

/// Where Go is commonly installed, system-wide. Globs end in `*`.
const SYSTEM_DIRS: &[&str] = &[
    "/usr/local/go",
    "/usr/local/go*",
    "/usr/lib/go",
    "/usr/lib/go-*",
    "/usr/lib/golang",
    "/usr/local/lib/go",
    "/opt/go",
    "/opt/go*",
    "/opt/homebrew/opt/go/libexec",
    "/opt/homebrew/Cellar/go/*",
    "/opt/homebrew/Cellar/go@*/*",
    "/usr/local/opt/go/libexec",
    "/usr/local/Cellar/go/*",
    "/home/linuxbrew/.linuxbrew/opt/go/libexec",
    "/snap/go/current",
];

/// Per-user locations, relative to $HOME: golang.org/dl's `~/sdk/goX`, make.bash's own
/// defaults `~/goX` and `~/go1.4`, and version managers.
const HOME_DIRS: &[&str] = &[
    "sdk/go*",
    "go1.*",
    "go",
    ".go",
    ".local/go",
    "goroot",
    ".goenv/versions/*",
    ".gimme/versions/go*",
    ".gvm/gos/go*",
    ".asdf/installs/golang/*/go",
    ".local/share/mise/installs/go/*",
    ".local/share/go",
];

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub goroot: PathBuf,
    /// `--bootstrap`, `$GOROOT_BOOTSTRAP`, `go on PATH`, `install dir`, `home`, `toolchain cache`.
    pub found_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<GoVersion>,
    /// Why it cannot be used; None when it can.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

/// Every directory that may be a Go tree, in the order of preference of where it was found.
pub fn discover(env: &SearchEnv) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    if let Some(b) = &env.goroot_bootstrap {
        out.push((PathBuf::from(b), "$GOROOT_BOOTSTRAP".into()));
    }
    if let Some(path) = &env.path {
        for dir in std::env::split_paths(path) {
            let go = dir.join("go");
            if go.is_file()
                && let Ok(real) = std::fs::canonicalize(&go)
                && let Some(root) = real.parent().and_then(Path::parent)
            {
                out.push((root.to_path_buf(), "go on PATH".into()));
            }
        }
    }
    for pat in &env.system_dirs {
        for p in expand(pat) {
            out.push((p, "install dir".into()));
        }
    }
    if let Some(home) = &env.home {
        for pat in HOME_DIRS {
            for p in expand(&home.join(pat)) {
                out.push((p, "home".into()));
            }
        }
    }
    // Toolchains the go command downloaded for GOTOOLCHAIN (`go1.21` and later):
    // $GOMODCACHE/golang.org/toolchain@v0.0.1-go1.23.5.linux-amd64.
    let modcache = env.gomodcache.clone().map(PathBuf::from).or_else(|| {
        let gopath = env
            .gopath
            .as_ref()
            .and_then(|g| std::env::split_paths(g).next())
            .or_else(|| env.home.as_ref().map(|h| h.join("go")))?;
        Some(gopath.join("pkg/mod"))
    });
    if let Some(mc) = modcache {
        for p in expand(&mc.join("golang.org/toolchain@v0.0.1-go*")) {
            out.push((p, "toolchain cache".into()));
        }
    }
    out
}

/// A path whose last component may end in `*` (a prefix match); other components are
/// literal, except a `*` component, which matches any directory.
fn expand(pat: &Path) -> Vec<PathBuf> {
    let mut bases = vec![PathBuf::new()];
    for comp in pat.components() {
        let c = comp.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &bases {
            if let Some(prefix) = c.strip_suffix('*') {
                let dir = if base.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    base.clone()
                };
                let Ok(rd) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut names: Vec<_> = rd
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(prefix) && !n.starts_with('.'))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| base.join(n)));
            } else {
                next.push(base.join(comp));
            }
        }
        bases = next;
    }
    bases.into_iter().filter(|p| p.is_dir()).collect()
}

/// Judge one directory as a bootstrap for a tree of version `target` needing `floor`.
/// `explicit`: named by the user, so a `bin/go` that is a script is trusted (its
/// architecture cannot be read).
pub fn judge(
    dir: &Path,
    found_by: &str,
    floor: Option<GoVersion>,
    target_goroot: &Path,
    native: &Platform,
    explicit: bool,
) -> Candidate {
    let goroot = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut c = Candidate {
        goroot: goroot.clone(),
        found_by: found_by.to_string(),
        version: None,
        rejected: None,
    };
    let go = goroot.join("bin/go");
    if !go.is_file() {
        c.rejected = Some("no bin/go".into());
        return c;
    }
    if !explicit && !has_goroot_layout(&goroot) {
        c.rejected = Some("not a Go tree".into());
        return c;
    }
    if goroot == target_goroot || goroot.starts_with(target_goroot) {
        c.rejected = Some("it is the GOROOT being rebuilt".into());
        return c;
    }
    c.version = tree_version(&goroot).map(|(v, _)| v);
    match binary::exe_info(&go) {
        Ok(info) if info.format == "script" && explicit => {}
        Ok(info) if info.format == "script" => {
            c.rejected = Some("bin/go is a script; name it with --bootstrap to use it".into());
            return c;
        }
        Ok(info) if !native.runs_natively(&info.format, &info.arches) => {
            let arches: Vec<String> = info.arches.iter().map(|a| a.to_string()).collect();
            c.rejected = Some(format!(
                "bin/go is {} {}, not native",
                info.format,
                arches.join("+")
            ));
            return c;
        }
        Ok(_) => {}
        Err(e) => {
            c.rejected = Some(format!("bin/go: {e}"));
            return c;
        }
    }
    match (floor, c.version) {
        (Some(f), Some(v)) if v < f => {
            c.rejected = Some(format!("{v} is older than the {f} make.bash needs"));
        }
        // A tree named with --bootstrap is asked with `go version` before the build.
        (Some(_), None) if !explicit => {
            c.rejected = Some(
                "its version cannot be read (no VERSION file, and bin/go carries no Go build info)"
                    .into(),
            );
        }
        _ => {}
    }
    c
}

/// The chosen bootstrap and every candidate considered.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BootstrapChoice {
    pub chosen: Option<Candidate>,
    pub considered: Vec<Candidate>,
}

/// Pick a bootstrap. An explicit `--bootstrap` is the only candidate when given (never a
/// silent fallback). Otherwise usable candidates are ranked: releases no newer than the
/// target first, newest of those (what Go's builders do: build 1.N with an older
/// release), then newer ones, oldest first.
pub fn choose(
    explicit: Option<&Path>,
    env: &SearchEnv,
    floor: Option<GoVersion>,
    target_version: Option<GoVersion>,
    target_goroot: &Path,
    native: &Platform,
) -> BootstrapChoice {
    if let Some(dir) = explicit {
        // Accept the go binary itself too: `--bootstrap /usr/lib/go-1.22/bin/go`.
        let dir = if dir.is_file() {
            dir.parent()
                .and_then(Path::parent)
                .unwrap_or(dir)
                .to_path_buf()
        } else {
            dir.to_path_buf()
        };
        let c = judge(&dir, "--bootstrap", floor, target_goroot, native, true);
        return BootstrapChoice {
            chosen: c.rejected.is_none().then(|| c.clone()),
            considered: vec![c],
        };
    }
    let mut seen = std::collections::HashSet::new();
    let mut considered = Vec::new();
    for (dir, how) in discover(env) {
        let key = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        if !seen.insert(key) {
            continue;
        }
        if !dir.join("bin/go").is_file() {
            continue;
        }
        considered.push(judge(&dir, &how, floor, target_goroot, native, false));
    }
    // Sort key: (0, newest first) for releases up to the target, (1, oldest first) after.
    let rank = |c: &Candidate| {
        let v = c.version.expect("usable candidates have a version");
        match target_version {
            Some(t) if v > t => (1, None, Some(v)),
            _ => (0, Some(std::cmp::Reverse(v)), None),
        }
    };
    let chosen = considered
        .iter()
        .enumerate()
        .filter(|(_, c)| c.rejected.is_none() && c.version.is_some())
        .min_by_key(|(i, c)| (rank(c), *i))
        .map(|(_, c)| c.clone());
    BootstrapChoice { chosen, considered }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Arch;
    use std::fs;

    fn elf(machine: u16) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b
    }

    fn tree(dir: &Path, version: &str, machine: u16) {
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("pkg/tool")).unwrap();
        fs::write(dir.join("bin/go"), elf(machine)).unwrap();
        fs::write(dir.join("VERSION"), format!("{version}\ntime x\n")).unwrap();
    }

    fn amd64() -> Platform {
        Platform {
            goos: "linux".into(),
            goarch: "amd64".into(),
            hardware: Arch::X86_64,
        }
    }

    #[test]
    fn picks_the_newest_release_not_newer_than_the_target() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("home");
        let target = d.path().join("target");
        tree(&target, "go1.23.5", 183);
        tree(&home.join("sdk/go1.19.13"), "go1.19.13", 62);
        tree(&home.join("sdk/go1.21.13"), "go1.21.13", 62);
        tree(&home.join("sdk/go1.22.8"), "go1.22.8", 62);
        tree(&home.join("sdk/go1.22.9"), "go1.22.9", 183);
        tree(&home.join("sdk/go1.25.0"), "go1.25.0", 62);
        tree(
            &home.join("go/pkg/mod/golang.org/toolchain@v0.0.1-go1.24.1.linux-amd64"),
            "go1.24.1",
            62,
        );
        let env = SearchEnv {
            home: Some(home.clone()),
            ..Default::default()
        };
        let floor = Some(GoVersion::release(1, 20, 6));
        let target_v = Some(GoVersion::release(1, 23, 5));
        let c = choose(None, &env, floor, target_v, &target, &amd64());
        let chosen = c.chosen.unwrap();
        assert_eq!(chosen.version, Some(GoVersion::release(1, 22, 8)));
        let why = |v: &str| {
            c.considered
                .iter()
                .find(|k| k.goroot.ends_with(v))
                .and_then(|k| k.rejected.clone())
        };
        assert!(why("go1.19.13").unwrap().contains("older than"));
        assert!(why("go1.22.9").unwrap().contains("not native"));
        assert_eq!(why("go1.21.13"), None);
        assert_eq!(why("go1.25.0"), None);
        assert!(
            c.considered
                .iter()
                .any(|k| k.found_by == "toolchain cache" && k.rejected.is_none())
        );

        // Only newer ones: the oldest of them.
        for v in ["go1.21.13", "go1.22.8"] {
            fs::remove_dir_all(home.join("sdk").join(v)).unwrap();
        }
        let c = choose(None, &env, floor, target_v, &target, &amd64());
        assert_eq!(
            c.chosen.unwrap().version,
            Some(GoVersion::release(1, 24, 1))
        );
    }

    #[test]
    fn explicit_bootstrap_is_the_only_candidate() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        tree(&target, "go1.23.5", 183);
        let old = d.path().join("old");
        tree(&old, "go1.17.13", 62);
        let floor = Some(GoVersion::release(1, 20, 6));
        let c = choose(
            Some(&old),
            &SearchEnv::default(),
            floor,
            None,
            &target,
            &amd64(),
        );
        assert!(c.chosen.is_none());
        assert_eq!(c.considered.len(), 1);
        // The target itself, even named explicitly, is refused.
        let c = choose(
            Some(&target.join("bin/go")),
            &SearchEnv::default(),
            floor,
            None,
            &fs::canonicalize(&target).unwrap(),
            &amd64(),
        );
        assert!(
            c.considered[0]
                .rejected
                .as_ref()
                .unwrap()
                .contains("being rebuilt")
        );
        // A script is trusted only when named.
        let script = d.path().join("script");
        tree(&script, "go1.22.0", 62);
        fs::write(script.join("bin/go"), "#!/bin/sh\nexit 1\n").unwrap();
        let c = choose(
            Some(&script),
            &SearchEnv::default(),
            floor,
            None,
            &target,
            &amd64(),
        );
        assert!(c.chosen.is_some());
        let j = judge(&script, "home", floor, &target, &amd64(), false);
        assert!(j.rejected.unwrap().contains("script"));
    }

    #[test]
    fn expands_prefix_globs() {
        let d = tempfile::tempdir().unwrap();
        for n in ["go1.22.1", "go1.23.0", "gopath"] {
            fs::create_dir_all(d.path().join("sdk").join(n)).unwrap();
        }
        fs::write(d.path().join("sdk/go1.x-file"), "").unwrap();
        let got = expand(&d.path().join("sdk/go1.*"));
        let names: Vec<_> = got
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["go1.22.1", "go1.23.0"]);
        assert!(expand(&d.path().join("nope/*")).is_empty());
    }
}
