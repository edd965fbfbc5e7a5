//! Which GOROOT to rebuild, and whether it is gohang's to rebuild.
//!
//! Without `--goroot` the GOROOT is the one `gohang check` reports, found by the same code
//! (`toolchain::discover`): `$GOROOT`, else `GOROOT` in the go/env file, else the first
//! `go` on PATH's own tree. Nothing here runs the tree's `go`, which may be foreign, slow
//! under emulation, or the very thing that hangs.

use crate::evidence::Os;
pub use crate::evidence::guard::Owner;
use crate::toolchain::Env;
use crate::toolchain::discover::{self, GorootSource};
use crate::toolchain::goenv::EnvFindings;
use serde::Serialize;
use std::path::{Component, Path, PathBuf};

/// How the GOROOT was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FoundBy {
    #[serde(rename = "--goroot")]
    Flag,
    #[serde(rename = "$GOROOT")]
    EnvGoroot,
    /// `GOROOT=` in the go/env file (`go env -w GOROOT=…`).
    #[serde(rename = "go env file")]
    GoEnvFile,
    #[serde(rename = "go on PATH")]
    PathGo,
}

impl FoundBy {
    pub fn describe(&self) -> &'static str {
        match self {
            FoundBy::Flag => "--goroot",
            FoundBy::EnvGoroot => "$GOROOT",
            FoundBy::GoEnvFile => "GOROOT in the go env file",
            FoundBy::PathGo => "the go on PATH",
        }
    }
}

/// A directory shaped like a GOROOT: a `bin/go`, `pkg/tool/` or `src/runtime/`, plus one
/// more of them or a `VERSION` file (a bare `bin/go` is any prefix such as /usr).
pub fn has_goroot_layout(dir: &Path) -> bool {
    let marks = [
        dir.join("bin/go").is_file(),
        dir.join("pkg/tool").is_dir(),
        dir.join("src/runtime").is_dir(),
        dir.join("VERSION").is_file(),
    ];
    marks[..3].iter().any(|m| *m) && marks.iter().filter(|m| **m).count() >= 2
}

/// The GOROOT found without `--goroot`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub path: PathBuf,
    pub found_by: FoundBy,
    /// The go/env file, when the GOROOT is set there.
    pub env_file: Option<PathBuf>,
    /// The go on PATH whose tree it is, when found that way.
    pub go: Option<PathBuf>,
}

/// The GOROOT of the `go` the user would run, as `gohang check` finds it. A GOROOT that is
/// set (`$GOROOT`, the go/env file) is returned as set, even when it is not a Go tree: the
/// go command uses it regardless, and rebuilding some other tree instead would leave the
/// go the user runs as it is. `Err` says why nothing was found.
pub fn locate_goroot(env: &Env, envf: &EnvFindings, os: &Os) -> Result<Located, String> {
    let first = discover::path_gos(env).into_iter().next();
    let found = match (discover::goroot_setting(env, envf), &first) {
        (Some(set), _) => Some(set),
        (None, Some(go)) => discover::goroot_for(Path::new(&go.path), env, envf, os),
        (None, None) => None,
    };
    let go = first.map(|g| PathBuf::from(g.path));
    match found {
        Some((path, GorootSource::Environment)) => Ok(Located {
            path,
            found_by: FoundBy::EnvGoroot,
            env_file: None,
            go: None,
        }),
        Some((path, GorootSource::EnvFile(file))) => Ok(Located {
            path,
            found_by: FoundBy::GoEnvFile,
            env_file: Some(PathBuf::from(file)),
            go: None,
        }),
        Some((path, GorootSource::Location | GorootSource::LocationResolved)) => Ok(Located {
            path,
            found_by: FoundBy::PathGo,
            env_file: None,
            go,
        }),
        None => Err(match go {
            Some(g) => format!(
                "no GOROOT found: $GOROOT is not set, and the first go on PATH, {}, has no \
                 pkg/tool/ two or three levels above it (a version manager's shim?); name the \
                 tree with --goroot DIR",
                g.display()
            ),
            None => "no GOROOT found: $GOROOT is not set and there is no go on PATH; name one \
                     with --goroot DIR"
                .to_string(),
        }),
    }
}

/// `link`'s target resolved lexically against the directory holding it, without touching
/// the file system (the target may not exist).
pub fn lexical_target(link: &Path, target: &Path) -> PathBuf {
    let base = if target.is_absolute() {
        PathBuf::new()
    } else {
        link.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let mut out = PathBuf::new();
    for c in base.join(target).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_targets() {
        let l = Path::new("/usr/lib/go-1.23/src");
        assert_eq!(
            lexical_target(l, Path::new("../../share/go-1.23/src")),
            PathBuf::from("/usr/share/go-1.23/src")
        );
        assert_eq!(
            lexical_target(Path::new("/g/pkg/include"), Path::new("../src/x")),
            PathBuf::from("/g/src/x")
        );
        assert_eq!(
            lexical_target(Path::new("/g/a"), Path::new("/etc/passwd")),
            PathBuf::from("/etc/passwd")
        );
    }

    #[test]
    fn layout_and_locate() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("go");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("pkg/tool")).unwrap();
        std::fs::write(root.join("bin/go"), "").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.join("bin/go"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        assert!(has_goroot_layout(&root));
        // A prefix like /usr has bin/go but nothing else.
        let prefix = d.path().join("usr");
        std::fs::create_dir_all(prefix.join("bin")).unwrap();
        std::fs::write(prefix.join("bin/go"), "").unwrap();
        assert!(!has_goroot_layout(&prefix));

        let link_dir = d.path().join("links");
        std::fs::create_dir_all(&link_dir).unwrap();
        std::os::unix::fs::symlink(root.join("bin/go"), link_dir.join("go")).unwrap();
        let path = format!("{}:{}", link_dir.display(), prefix.join("bin").display());
        let env = Env::from_pairs([("PATH", path.as_str())]);
        let none = EnvFindings::default();
        let l = locate_goroot(&env, &none, &Os::Linux).unwrap();
        assert_eq!(l.path, std::fs::canonicalize(&root).unwrap());
        assert_eq!(l.found_by, FoundBy::PathGo);
        assert_eq!(l.go, Some(link_dir.join("go")));

        // A set GOROOT is taken as it is, Go tree or not: no fallback to the go on PATH.
        let env = Env::from_pairs([("PATH", path.as_str()), ("GOROOT", "/not/a/goroot")]);
        let l = locate_goroot(&env, &none, &Os::Linux).unwrap();
        assert_eq!(
            (l.path, l.found_by),
            (PathBuf::from("/not/a/goroot"), FoundBy::EnvGoroot)
        );
        let env = Env::from_pairs([("PATH", path.as_str())]);
        let file = crate::toolchain::goenv::findings_from(
            &env,
            Some("/cfg/go/env".into()),
            vec![("GOROOT".into(), "/from/file".into())],
        );
        let l = locate_goroot(&env, &file, &Os::Linux).unwrap();
        assert_eq!(
            (l.path, l.found_by, l.env_file),
            (
                PathBuf::from("/from/file"),
                FoundBy::GoEnvFile,
                Some(PathBuf::from("/cfg/go/env"))
            )
        );

        // Only the first go counts, as in check: a prefix's go first finds nothing.
        let path = format!("{}:{}", prefix.join("bin").display(), link_dir.display());
        std::fs::set_permissions(
            prefix.join("bin/go"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let env = Env::from_pairs([("PATH", path.as_str())]);
        let e = locate_goroot(&env, &none, &Os::Linux).unwrap_err();
        assert!(e.contains("has no pkg/tool/"), "{e}");
        assert!(
            locate_goroot(&Env::default(), &none, &Os::Linux)
                .unwrap_err()
                .contains("no go on PATH")
        );
    }
}
