//! Finding Go toolchains without running one.
//!
//! - Every `go` on PATH, in order, with symlinks resolved (`/usr/local/bin/go` is often a
//!   link into a Cellar or `/usr/lib/go-1.x`).
//! - The GOROOT a `go` uses, found the way `cmd/go/internal/cfg/cfg.go` `findGOROOT` finds
//!   it: `$GOROOT` (environment, then the go/env file); else the directory two (or three,
//!   go.dev/issue/62119) levels above the executable if it has `pkg/tool`, first as
//!   `os.Executable` names it, then with symlinks resolved. On Linux `os.Executable` is
//!   `/proc/self/exe`, already resolved. The go command's last resort, the GOROOT the
//!   linker stored in `runtime.defaultGOROOT`, is not read: release toolchains are built
//!   with `-trimpath`, and then the linker stores none (docs/check-and-scan.md says more).
//! - Installs in the usual places: Homebrew (`/opt/homebrew` is the arm64 prefix,
//!   `/usr/local` the x86_64 one — Homebrew's install script picks by hardware), gvm
//!   (`~/.gvm/gos/*`), asdf (`~/.asdf/installs/golang/*/go`), goenv (`~/.goenv/versions/*`),
//!   mise (`~/.local/share/mise/installs/go/*`), and toolchains `GOTOOLCHAIN` downloaded into
//!   the module cache (`golang.org/toolchain@v0.0.1-go1.22.0.darwin-arm64`, see
//!   `cmd/go/internal/toolchain/select.go`).

use super::goenv::EnvFindings;
use super::goroot::has_tool_root;
use super::{Env, FileReport};
use crate::evidence::{Arch, Os};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// One `go` found on PATH.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PathGo {
    /// The PATH entry's `go`, as PATH names it.
    pub path: String,
    /// Symlinks resolved.
    pub resolved: String,
    /// Its position among PATH's directories (0 = first).
    pub dir_index: usize,
}

/// Every executable `go` on PATH, in PATH order.
pub fn path_gos(env: &Env) -> Vec<PathGo> {
    let Some(path) = env.get("PATH") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, dir) in path.split(':').enumerate() {
        // An empty entry is the current directory (POSIX, and Go's exec.LookPath).
        let dir = if dir.is_empty() { "." } else { dir };
        let p = Path::new(dir).join("go");
        if crate::sys::process::is_executable_file(&p) {
            let resolved = fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            out.push(PathGo {
                path: p.display().to_string(),
                resolved: resolved.display().to_string(),
                dir_index: i,
            });
        }
    }
    out
}

/// Where the GOROOT a go command uses comes from, in the order `findGOROOT` tries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GorootSource {
    /// `$GOROOT`.
    Environment,
    /// `GOROOT=` in the go/env file at this path.
    EnvFile(String),
    /// Two (or three) levels above the go binary, as it is named.
    Location,
    /// The same, with symlinks resolved.
    LocationResolved,
}

impl GorootSource {
    pub fn describe(&self) -> String {
        match self {
            GorootSource::Environment => "GOROOT environment variable".to_string(),
            GorootSource::EnvFile(file) => format!("GOROOT in {file}"),
            GorootSource::Location => "location of the go binary".to_string(),
            GorootSource::LocationResolved => {
                "location of the go binary (symlinks resolved)".to_string()
            }
        }
    }
}

/// A GOROOT that is set rather than found: `$GOROOT`, else `GOROOT` in the go/env file.
/// The go command takes it as it is, whether or not it is a Go tree (`findGOROOT` returns
/// it without looking), so callers must not fall back to another when it is not one.
pub fn goroot_setting(env: &Env, envf: &EnvFindings) -> Option<(PathBuf, GorootSource)> {
    if let Some(g) = env.get("GOROOT") {
        return Some((PathBuf::from(g), GorootSource::Environment));
    }
    let g = envf.effective(env, "GOROOT")?;
    let file = envf.env_file.clone().unwrap_or_default();
    Some((PathBuf::from(g), GorootSource::EnvFile(file)))
}

/// The GOROOT the go command at `go` would use, and where it came from.
pub fn goroot_for(
    go: &Path,
    env: &Env,
    envf: &EnvFindings,
    os: &Os,
) -> Option<(PathBuf, GorootSource)> {
    if let Some(set) = goroot_setting(env, envf) {
        return Some(set);
    }
    let resolved = fs::canonicalize(go).ok();
    let as_named = if *os == Os::Linux {
        resolved.clone()
    } else {
        std::path::absolute(go).ok()
    };
    let try_exe = |exe: &Path| -> Option<PathBuf> {
        let two = exe.parent()?.parent()?;
        if has_tool_root(two) {
            return Some(two.to_path_buf());
        }
        let three = two.parent()?;
        has_tool_root(three).then(|| three.to_path_buf())
    };
    if let Some(r) = as_named.as_deref().and_then(try_exe) {
        return Some((r, GorootSource::Location));
    }
    resolved
        .as_deref()
        .and_then(try_exe)
        .map(|r| (r, GorootSource::LocationResolved))
}

/// Who put a toolchain where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstallSource {
    Homebrew,
    Gvm,
    Asdf,
    Goenv,
    Mise,
    /// Downloaded by the go command for `GOTOOLCHAIN`.
    GoToolchain,
    /// A system or archive location (`/usr/local/go`, `/usr/lib/go-1.x`).
    System,
}

impl InstallSource {
    pub fn label(&self) -> &'static str {
        match self {
            InstallSource::Homebrew => "Homebrew",
            InstallSource::Gvm => "gvm",
            InstallSource::Asdf => "asdf",
            InstallSource::Goenv => "goenv",
            InstallSource::Mise => "mise",
            InstallSource::GoToolchain => "GOTOOLCHAIN download",
            InstallSource::System => "system",
        }
    }
}

/// A toolchain found outside PATH (or also on it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Install {
    pub source: InstallSource,
    pub goroot: String,
    /// `GOROOT/bin/go`, inspected.
    pub go: FileReport,
    /// The architecture a Homebrew prefix is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_arch: Option<Arch>,
}

/// Where to look. Built per OS; tests make their own.
#[derive(Clone, Debug, PartialEq)]
pub struct Places {
    /// Homebrew prefixes and the architecture each is for (None: any).
    pub homebrew: Vec<(PathBuf, Option<Arch>)>,
    /// Fixed GOROOT candidates; a trailing `*` in the last component matches by prefix.
    pub system: Vec<PathBuf>,
}

impl Places {
    pub fn for_os(os: &Os) -> Places {
        if *os == Os::Macos {
            Places {
                homebrew: vec![
                    (PathBuf::from("/opt/homebrew"), Some(Arch::Aarch64)),
                    (PathBuf::from("/usr/local"), Some(Arch::X86_64)),
                ],
                system: vec![PathBuf::from("/usr/local/go")],
            }
        } else {
            Places {
                homebrew: vec![(PathBuf::from("/home/linuxbrew/.linuxbrew"), None)],
                system: vec![
                    PathBuf::from("/usr/local/go"),
                    PathBuf::from("/usr/lib/go"),
                    PathBuf::from("/usr/lib/go-*"),
                    PathBuf::from("/usr/lib/golang"),
                    PathBuf::from("/snap/go/current"),
                ],
            }
        }
    }
    /// The Homebrew prefix `path` lies in, with its architecture.
    pub fn homebrew_prefix_of(&self, path: &str) -> Option<(&Path, Option<&Arch>)> {
        self.homebrew.iter().find_map(|(p, a)| {
            let p_str = p.to_str()?;
            let inside = ["/Cellar/", "/opt/", "/bin/"]
                .iter()
                .any(|sub| path.starts_with(&format!("{p_str}{sub}")));
            inside.then_some((p.as_path(), a.as_ref()))
        })
    }
}

/// Subdirectories of `dir` (sorted), optionally only those whose name starts with `prefix`.
fn subdirs(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// The module cache, as the go command finds it: GOMODCACHE, else the first GOPATH entry's
/// `pkg/mod`, else `$HOME/go/pkg/mod`.
pub fn module_cache(env: &Env, envf: &EnvFindings) -> Option<PathBuf> {
    if let Some(m) = envf.effective(env, "GOMODCACHE") {
        return Some(PathBuf::from(m));
    }
    let gopath = envf
        .effective(env, "GOPATH")
        .and_then(|g| g.split(':').find(|p| !p.is_empty()).map(PathBuf::from))
        .or_else(|| env.home().map(|h| Path::new(h).join("go")))?;
    Some(gopath.join("pkg").join("mod"))
}

/// Candidate GOROOTs, before inspection.
pub fn candidates(
    env: &Env,
    envf: &EnvFindings,
    places: &Places,
) -> Vec<(InstallSource, PathBuf, Option<Arch>)> {
    let mut out: Vec<(InstallSource, PathBuf, Option<Arch>)> = Vec::new();
    let home = env.home().map(PathBuf::from);
    let from = |var: &str, default: Option<PathBuf>| env.get(var).map(PathBuf::from).or(default);

    for (prefix, arch) in &places.homebrew {
        for d in subdirs(&prefix.join("opt"), "go") {
            let name = d
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if name == "go" || name.starts_with("go@") {
                out.push((InstallSource::Homebrew, d.join("libexec"), arch.clone()));
            }
        }
    }
    if let Some(root) = from("GVM_ROOT", home.as_ref().map(|h| h.join(".gvm"))) {
        for d in subdirs(&root.join("gos"), "") {
            out.push((InstallSource::Gvm, d, None));
        }
    }
    if let Some(root) = from("ASDF_DATA_DIR", home.as_ref().map(|h| h.join(".asdf"))) {
        for d in subdirs(&root.join("installs").join("golang"), "") {
            out.push((InstallSource::Asdf, d.join("go"), None));
        }
    }
    if let Some(root) = from("GOENV_ROOT", home.as_ref().map(|h| h.join(".goenv"))) {
        for d in subdirs(&root.join("versions"), "") {
            out.push((InstallSource::Goenv, d, None));
        }
    }
    let mise = env
        .get("MISE_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| env.get("XDG_DATA_HOME").map(|x| Path::new(x).join("mise")))
        .or_else(|| home.as_ref().map(|h| h.join(".local/share/mise")));
    if let Some(root) = mise {
        for d in subdirs(&root.join("installs").join("go"), "") {
            // Versions are extracted with or without the archive's top-level `go/`.
            let root = if d.join("go").join("bin").join("go").is_file() {
                d.join("go")
            } else {
                d
            };
            out.push((InstallSource::Mise, root, None));
        }
    }
    if let Some(cache) = module_cache(env, envf) {
        for d in subdirs(&cache.join("golang.org"), "toolchain@v0.0.1-go") {
            out.push((InstallSource::GoToolchain, d, None));
        }
    }
    for p in &places.system {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        match (name.strip_suffix('*'), p.parent()) {
            (Some(prefix), Some(parent)) => {
                for d in subdirs(parent, prefix) {
                    out.push((InstallSource::System, d, None));
                }
            }
            _ => out.push((InstallSource::System, p.clone(), None)),
        }
    }
    out.retain(|(_, root, _)| root.join("bin").join("go").is_file());
    // One entry per real directory (a symlinked `go` → `go-1.23` is listed once).
    let mut seen = std::collections::HashSet::new();
    out.retain(|(_, root, _)| seen.insert(fs::canonicalize(root).unwrap_or_else(|_| root.clone())));
    out
}

/// Every toolchain found in the usual places, its `bin/go` inspected.
pub fn installs(env: &Env, envf: &EnvFindings, places: &Places) -> Vec<Install> {
    candidates(env, envf, places)
        .into_iter()
        .map(|(source, root, prefix_arch)| Install {
            source,
            go: FileReport::of(&root.join("bin").join("go")),
            goroot: root.display().to_string(),
            prefix_arch,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolchain::goenv;

    fn fake_goroot(root: &Path) {
        fs::create_dir_all(root.join("bin")).unwrap();
        fs::create_dir_all(root.join("pkg/tool/linux_amd64")).unwrap();
        fs::write(root.join("bin/go"), b"#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root.join("bin/go"), fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn path_order_and_goroot_from_location() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        fake_goroot(&a);
        fake_goroot(&b);
        let links = t.path().join("links");
        fs::create_dir_all(&links).unwrap();
        std::os::unix::fs::symlink(b.join("bin/go"), links.join("go")).unwrap();
        let path = format!(
            "{}:/nonexistent:{}",
            links.display(),
            a.join("bin").display()
        );
        let env = Env::from_pairs([("PATH", path.as_str())]);
        let gos = path_gos(&env);
        assert_eq!(gos.len(), 2);
        assert_eq!(gos[0].dir_index, 0);
        assert_eq!(gos[1].dir_index, 2);
        let real_b = fs::canonicalize(&b).unwrap();
        assert_eq!(Path::new(&gos[0].resolved), real_b.join("bin/go"));

        let envf = goenv::findings_from(&env, None, Vec::new());
        // Through the symlink the GOROOT is the link target's (links/.. has no pkg/tool).
        let (root, src) = goroot_for(Path::new(&gos[0].path), &env, &envf, &Os::Macos).unwrap();
        assert_eq!(fs::canonicalize(root).unwrap(), real_b);
        assert_eq!(src, GorootSource::LocationResolved);
        // $GOROOT wins, and the go/env file's GOROOT comes next.
        let env2 = Env::from_pairs([("GOROOT", "/elsewhere")]);
        assert_eq!(
            goroot_for(Path::new(&gos[0].path), &env2, &envf, &Os::Linux)
                .unwrap()
                .0,
            PathBuf::from("/elsewhere")
        );
        let envf2 = goenv::findings_from(
            &env,
            Some("/cfg/env".into()),
            vec![("GOROOT".into(), "/from-file".into())],
        );
        let (r, s) = goroot_for(Path::new(&gos[0].path), &env, &envf2, &Os::Linux).unwrap();
        assert_eq!(
            (r, s.describe().as_str()),
            (PathBuf::from("/from-file"), "GOROOT in /cfg/env")
        );
    }

    #[test]
    fn version_managers_and_downloaded_toolchains() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path();
        fake_goroot(&home.join(".gvm/gos/go1.21.0"));
        fake_goroot(&home.join(".asdf/installs/golang/1.22.1/go"));
        fake_goroot(&home.join(".goenv/versions/1.20.3"));
        fake_goroot(&home.join(".local/share/mise/installs/go/1.23.0"));
        fake_goroot(&home.join("go/pkg/mod/golang.org/toolchain@v0.0.1-go1.24.0.linux-amd64"));
        fake_goroot(&home.join("brew/opt/go@1.22/libexec"));
        fs::create_dir_all(home.join(".gvm/gos/empty")).unwrap();
        let env = Env::from_pairs([("HOME", home.to_str().unwrap())]);
        let envf = goenv::findings_from(&env, None, Vec::new());
        let places = Places {
            homebrew: vec![(home.join("brew"), Some(Arch::Aarch64))],
            system: vec![home.join("sys/go-*")],
        };
        let found: Vec<(InstallSource, String)> = candidates(&env, &envf, &places)
            .into_iter()
            .map(|(s, r, _)| (s, r.strip_prefix(home).unwrap().display().to_string()))
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    InstallSource::Homebrew,
                    "brew/opt/go@1.22/libexec".to_string()
                ),
                (InstallSource::Gvm, ".gvm/gos/go1.21.0".to_string()),
                (
                    InstallSource::Asdf,
                    ".asdf/installs/golang/1.22.1/go".to_string()
                ),
                (InstallSource::Goenv, ".goenv/versions/1.20.3".to_string()),
                (
                    InstallSource::Mise,
                    ".local/share/mise/installs/go/1.23.0".to_string()
                ),
                (
                    InstallSource::GoToolchain,
                    "go/pkg/mod/golang.org/toolchain@v0.0.1-go1.24.0.linux-amd64".to_string()
                ),
            ]
        );
        assert_eq!(
            places
                .homebrew_prefix_of(&format!("{}/brew/Cellar/go/1.22/bin/go", home.display()))
                .map(|(_, a)| a.cloned()),
            Some(Some(Arch::Aarch64))
        );
    }

    #[test]
    fn module_cache_location() {
        let env = Env::from_pairs([("HOME", "/h")]);
        let envf = goenv::findings_from(&env, None, Vec::new());
        assert_eq!(
            module_cache(&env, &envf).unwrap(),
            PathBuf::from("/h/go/pkg/mod")
        );
        let env = Env::from_pairs([("HOME", "/h"), ("GOPATH", "/p1:/p2")]);
        assert_eq!(
            module_cache(&env, &envf).unwrap(),
            PathBuf::from("/p1/pkg/mod")
        );
        let env = Env::from_pairs([("GOMODCACHE", "/m")]);
        assert_eq!(module_cache(&env, &envf).unwrap(), PathBuf::from("/m"));
    }
}
