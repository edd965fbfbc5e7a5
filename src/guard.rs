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
//! The facts about a directory are read once ([`TreeFacts::read`], file system and the
//! package database, where I/O is allowed) and kept in the evidence, so the pure
//! classifier and `check` decide from the same record.

pub use crate::evidence::guard::*;
use crate::rebuild::goroot::package_owner;
use std::path::{Path, PathBuf};

impl TreeFacts {
    /// Look at `dir` (its real path): its layout, where it sits, and who owns it. `home`
    /// and `gopath` are `$HOME` and `$GOPATH` as the user's environment has them.
    pub fn read(dir: &Path, home: Option<&str>, gopath: Option<&str>) -> TreeFacts {
        let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let canon = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
        let mut t = TreeFacts {
            path: real.display().to_string(),
            bin_go: real.join("bin/go").is_file(),
            src_runtime: real.join("src/runtime").is_dir(),
            pkg_tool: real.join("pkg/tool").is_dir(),
            version_file: real.join("VERSION").is_file(),
            module_cache: real.join("pkg/mod").is_dir(),
            git_checkout: real.join(".git").exists(),
            home: home.is_some_and(|h| canon(h).starts_with(&real)),
            gopath: gopath.is_some_and(|g| {
                g.split(':')
                    .filter(|e| !e.is_empty())
                    .any(|e| canon(e) == real)
            }),
            owner: None,
        };
        if t.has_go_layout() {
            t.owner = package_owner(&real);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree(dir: &Path) {
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("src/runtime")).unwrap();
        fs::create_dir_all(dir.join("pkg/tool/linux_amd64")).unwrap();
        fs::write(dir.join("bin/go"), "").unwrap();
        fs::write(dir.join("VERSION"), "go1.23.5\n").unwrap();
    }

    #[test]
    fn only_a_go_tree_by_its_layout_is_replaceable() {
        let d = tempfile::tempdir().unwrap();
        let g = d.path().join("it's a \"go\" tree");
        tree(&g);
        let t = TreeFacts::read(&g, Some("/nonexistent-home"), None);
        assert!(
            matches!(t.judge(), TreeJudgement::Replaceable(v) if v.path() == std::fs::canonicalize(&g).unwrap()),
            "{t:?}"
        );
        // A prefix with a bin/go is not one.
        let p = d.path().join("prefix");
        fs::create_dir_all(p.join("bin")).unwrap();
        fs::write(p.join("bin/go"), "").unwrap();
        fs::create_dir_all(p.join("src")).unwrap();
        assert!(matches!(
            TreeFacts::read(&p, None, None).judge(),
            TreeJudgement::Refused(w) if w.contains("not a Go tree")
        ));
        // A tree that holds a module cache, or is $GOPATH, or holds $HOME.
        fs::create_dir_all(g.join("pkg/mod")).unwrap();
        assert!(
            matches!(TreeFacts::read(&g, None, None).judge(), TreeJudgement::Refused(w) if w.contains("GOPATH"))
        );
        fs::remove_dir_all(g.join("pkg/mod")).unwrap();
        let gp = g.display().to_string();
        assert!(
            matches!(TreeFacts::read(&g, None, Some(&format!("/x:{gp}"))).judge(), TreeJudgement::Refused(w) if w.contains("GOPATH"))
        );
        let home = g.join("home/u").display().to_string();
        fs::create_dir_all(&home).unwrap();
        assert!(
            matches!(TreeFacts::read(&g, Some(&home), None).judge(), TreeJudgement::Refused(w) if w.contains("home"))
        );
        fs::create_dir_all(g.join(".git")).unwrap();
        assert!(
            matches!(TreeFacts::read(&g, None, None).judge(), TreeJudgement::Refused(w) if w.contains("git"))
        );
        assert!(matches!(
            TreeFacts::read(Path::new("/"), None, None).judge(),
            TreeJudgement::Refused(w) if w.contains("root")
        ));
        assert!(matches!(judge_tree(None), TreeJudgement::Refused(_)));
    }

    /// A real package's tree, where this machine has one (Debian's golang-go): owned, so
    /// its package manager's reinstall is the fix.
    #[test]
    fn a_debian_go_is_owned_by_its_package() {
        let Some(g) = ["/usr/lib/go", "/usr/lib/go-1.23"]
            .iter()
            .map(Path::new)
            .find(|g| g.join("bin/go").is_file() && Path::new("/var/lib/dpkg").is_dir())
        else {
            eprintln!("SKIPPED: no Debian-packaged Go here");
            return;
        };
        let t = TreeFacts::read(g, None, None);
        assert!(t.has_go_layout(), "{t:?}");
        match t.judge() {
            TreeJudgement::Owned(o) => assert_eq!(o.manager, "dpkg"),
            other => panic!("{} judged {other:?}", g.display()),
        }
    }

    #[test]
    fn pids_and_groups_that_may_be_named() {
        assert!(!may_name_pid(0) && !may_name_pid(1) && may_name_pid(2));
        assert!(!may_name_group(-1) && !may_name_group(0) && !may_name_group(1));
        assert!(may_name_group(4242));
    }
}
