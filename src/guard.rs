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
use crate::sys::run::{RunOutput, run_boxed};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long a package manager may take to say who owns a file.
const OWNER_QUERY_TIMEOUT: Duration = Duration::from_secs(10);

impl TreeFacts {
    /// Look at `dir` (its real path): its layout, where it sits, and who owns it. `home`
    /// and `gopath` are `$HOME` and `$GOPATH` as the user's environment has them.
    pub fn read(dir: &Path, home: Option<&str>, gopath: Option<&str>) -> TreeFacts {
        let mut t = TreeFacts::read_layout(dir, home, gopath);
        t.ask_package_owner();
        t
    }

    /// [`TreeFacts::read`] without asking the package databases: the owner is what the path
    /// says (a Homebrew keg, the Nix store, …), and `owner_unchecked` is set for a Go tree
    /// the path says nothing about, so that no fix replaces it until
    /// [`TreeFacts::ask_package_owner`] has run. Each database query is a program run
    /// (`dpkg -S` alone takes tens of milliseconds), which a healthy command should not pay.
    pub fn read_layout(dir: &Path, home: Option<&str>, gopath: Option<&str>) -> TreeFacts {
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
            owner_unchecked: false,
        };
        if t.has_go_layout() {
            t.owner = owner_from_path(&real);
            t.owner_unchecked = t.owner.is_none();
        }
        t
    }

    /// Ask the package databases who owns this tree, if that is still unknown.
    pub fn ask_package_owner(&mut self) {
        if self.owner_unchecked {
            self.owner = package_db_owner(Path::new(&self.path));
            self.owner_unchecked = false;
        }
    }
}

/// A package database query: the tool, its arguments before the file, and the parser of
/// its answer.
type OwnerQuery = (
    &'static str,
    &'static [&'static str],
    fn(&str) -> Option<String>,
);

/// Who owns `goroot` (already canonical): path conventions first, then the package
/// databases that are installed (each query time-boxed).
pub fn package_owner(goroot: &Path) -> Option<Owner> {
    owner_from_path(goroot).or_else(|| package_db_owner(goroot))
}

/// Who owns `goroot` by the package databases installed here (each query time-boxed).
fn package_db_owner(goroot: &Path) -> Option<Owner> {
    let probe = ["bin/go", "VERSION", "src/make.bash"]
        .iter()
        .map(|f| goroot.join(f))
        .find(|p| p.exists())?;
    let probe = probe.to_string_lossy().into_owned();
    let queries: [OwnerQuery; 3] = [
        ("dpkg", &["-S"], parse_dpkg_s),
        ("rpm", &["-qf"], first_line),
        ("pacman", &["-Qqo"], first_line),
    ];
    for (tool, args, parse) in queries {
        let Some(exe) = crate::sys::process::find_program(tool) else {
            continue;
        };
        let mut cmd = Command::new(exe);
        cmd.args(args).arg(&probe).env("LC_ALL", "C");
        if let Ok(RunOutput {
            status: Some(s),
            stdout,
            ..
        }) = run_boxed(&mut cmd, OWNER_QUERY_TIMEOUT)
            && s.success()
            && let Some(package) = parse(&stdout)
        {
            return Some(Owner {
                manager: tool.to_string(),
                package: Some(package),
            });
        }
    }
    None
}

/// Homebrew kegs (`…/Cellar/go/1.23.5/libexec`), the Nix store, snaps, MacPorts, and the
/// toolchains the go command downloads into the module cache (`golang.org/toolchain@v0.0.1-go1.23.5.linux-amd64`).
pub fn owner_from_path(goroot: &Path) -> Option<Owner> {
    let parts: Vec<String> = goroot
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let s = goroot.to_string_lossy();
    if let Some(i) = parts.iter().position(|p| p == "Cellar") {
        return Some(Owner {
            manager: "homebrew".into(),
            package: parts.get(i + 1).cloned(),
        });
    }
    let owner = |m: &str| {
        Some(Owner {
            manager: m.into(),
            package: None,
        })
    };
    if s.starts_with("/nix/store/") {
        return owner("nix");
    }
    if s.starts_with("/snap/") {
        return owner("snap");
    }
    if s.starts_with("/opt/local/") {
        return owner("macports");
    }
    if parts.iter().any(|p| p.starts_with("toolchain@v0.0.1-go")) {
        return owner("go-toolchain-cache");
    }
    None
}

/// `golang-1.23-go:arm64: /usr/lib/go-1.23/bin/go` -> `golang-1.23-go:arm64`; with several
/// owners (`a, b: path`) the first.
pub fn parse_dpkg_s(out: &str) -> Option<String> {
    let line = out.lines().find(|l| !l.starts_with("diversion"))?;
    let (pkgs, _) = line.split_once(": ")?;
    let first = pkgs.split(", ").next()?.trim();
    (!first.is_empty()).then(|| first.to_string())
}

fn first_line(out: &str) -> Option<String> {
    let l = out.lines().next()?.trim();
    (!l.is_empty()).then(|| l.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_output() {
        assert_eq!(
            parse_dpkg_s("golang-1.23-go: /usr/lib/go-1.23/bin/go\n").as_deref(),
            Some("golang-1.23-go")
        );
        assert_eq!(
            parse_dpkg_s("golang-1.23-go:arm64: /usr/lib/go-1.23/bin/go\n").as_deref(),
            Some("golang-1.23-go:arm64")
        );
        assert_eq!(
            parse_dpkg_s("diversion by x from: /a\ngolang-go, golang-src: /usr/lib/go\n")
                .as_deref(),
            Some("golang-go")
        );
        assert_eq!(parse_dpkg_s(""), None);
    }

    #[test]
    fn owners_by_path() {
        let o = owner_from_path(Path::new("/usr/local/Cellar/go/1.23.5/libexec")).unwrap();
        assert_eq!(
            (o.manager.as_str(), o.package.as_deref()),
            ("homebrew", Some("go"))
        );
        let o = owner_from_path(Path::new(
            "/home/u/go/pkg/mod/golang.org/toolchain@v0.0.1-go1.23.5.linux-amd64",
        ))
        .unwrap();
        assert_eq!(o.manager, "go-toolchain-cache");
        assert_eq!(
            owner_from_path(Path::new("/nix/store/abc-go-1.23.5/share/go"))
                .unwrap()
                .manager,
            "nix"
        );
        assert_eq!(owner_from_path(Path::new("/usr/local/go")), None);
        assert_eq!(owner_from_path(Path::new("/home/u/sdk/go1.23.5")), None);
    }

    use std::fs;

    fn tree(dir: &Path) {
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("src/runtime")).unwrap();
        fs::create_dir_all(dir.join("pkg/tool/linux_amd64")).unwrap();
        fs::write(dir.join("bin/go"), "").unwrap();
        fs::write(dir.join("VERSION"), "go1.23.5\n").unwrap();
    }

    #[test]
    fn a_tree_whose_owner_was_not_asked_is_never_replaceable() {
        let d = tempfile::tempdir().unwrap();
        let g = d.path().join("go");
        tree(&g);
        let mut t = TreeFacts::read_layout(&g, None, None);
        assert!(t.owner_unchecked, "{t:?}");
        assert!(
            matches!(t.judge(), TreeJudgement::Refused(w) if w.contains("was not checked")),
            "{t:?}"
        );
        t.ask_package_owner();
        assert!(!t.owner_unchecked);
        // No package database owns a directory made by this test.
        assert!(matches!(t.judge(), TreeJudgement::Replaceable(_)), "{t:?}");
        // What the path alone says needs no database: a Homebrew keg.
        let keg = d.path().join("Cellar/go/1.23.5/libexec");
        tree(&keg);
        let k = TreeFacts::read_layout(&keg, None, None);
        assert!(!k.owner_unchecked && k.owner.is_some(), "{k:?}");
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
