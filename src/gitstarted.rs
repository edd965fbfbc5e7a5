//! Gathers which setting of git's configuration started a process of the tree: git runs
//! programs its configuration names — `core.fsmonitor`, a filter driver
//! (`filter.lfs.process = git-lfs filter-process`), `diff.external`, `gpg.program`,
//! `core.pager`, `credential.helper`, an alias starting with `!` — and the hooks of the
//! repository's hooks directory (`$GIT_DIR/hooks`, or `core.hooksPath`) (git-config(1),
//! githooks(5)). When such a program waits, the setting and the file that set it are the
//! fix, not git.
//!
//! A program git runs through the shell (`sh -c 'CMD "$@"'`, or a script run by its
//! interpreter) is matched by the command the shell runs. The configuration is read the way
//! git reads it, as that git process sees it (`remote::git_entries`: its own environment,
//! root and repository). Nothing here decides a verdict.

use crate::evidence::{GitStarted, ProcessSnapshot, Sample};
use crate::gitconfig::Entry;
use crate::remote;
use std::path::{Path, PathBuf};

/// At most this many started processes are looked into per sample.
const MAX_LOOKED_AT: usize = 8;

/// Every process of the newest sample that git started for a setting or as a hook.
pub fn collect(samples: &[Sample]) -> Vec<GitStarted> {
    let Some(last) = remote::files_may_be_read(samples) else {
        return Vec::new();
    };
    last.processes
        .iter()
        .filter(|p| !is_git(p) && remote::is_remote_leaf(p).is_none())
        .filter_map(|p| Some((p, started_by_git(last, p)?)))
        .take(MAX_LOOKED_AT)
        .filter_map(|(p, (git, shell))| find_setting(p, git, shell))
        .collect()
}

/// git itself, or one of its own programs (`git-upload-pack`); a remote helper is the
/// start of a fetch, which `remote` explains.
fn is_git(p: &ProcessSnapshot) -> bool {
    let b = remote::base0(p);
    b == "git" || (b.starts_with("git-") && !b.starts_with("git-remote-") && b != "git-lfs")
}

fn is_shell(p: &ProcessSnapshot) -> bool {
    matches!(
        remote::base0(p).as_str(),
        "sh" | "bash" | "dash" | "zsh" | "ash"
    )
}

/// The git process that started `p`, directly or through one shell, and that shell.
fn started_by_git<'s>(
    sample: &'s Sample,
    p: &ProcessSnapshot,
) -> Option<(&'s ProcessSnapshot, Option<&'s ProcessSnapshot>)> {
    let parent = sample.process(p.ppid)?;
    if is_git(parent) {
        return Some((parent, None));
    }
    if is_shell(parent) && !is_shell(p) {
        let grand = sample.process(parent.ppid)?;
        if is_git(grand) {
            return Some((grand, Some(parent)));
        }
    }
    // A script git ran directly: the shell interpreting it is `p` itself.
    None
}

/// The names `p` may appear under in a setting: its program, the script its interpreter
/// runs, and the command line of the `sh -c` that started it.
fn program_names(p: &ProcessSnapshot, shell: Option<&ProcessSnapshot>) -> Vec<String> {
    let argv = p.argv.value().cloned().unwrap_or_default();
    let mut names: Vec<String> = argv.first().cloned().into_iter().collect();
    if is_shell(p)
        && let Some(script) = argv.get(1).filter(|a| !a.starts_with('-'))
    {
        names.push(script.clone());
    }
    if let Some(sh) = shell
        && let Some(a) = sh.argv.value()
        && let Some(i) = a.iter().position(|x| x == "-c")
        && let Some(cmd) = a.get(i + 1)
        && let Some(first) = cmd.split_whitespace().next()
    {
        names.push(first.to_string());
    }
    names
}

/// The setting of `git`'s configuration that names `p`'s program, or the hook it is.
fn find_setting(
    p: &ProcessSnapshot,
    git: &ProcessSnapshot,
    shell: Option<&ProcessSnapshot>,
) -> Option<GitStarted> {
    let names = program_names(p, shell);
    if names.is_empty() {
        return None;
    }
    let root = PathBuf::from(format!("/proc/{}/root", git.pid));
    let env = remote::environ(git.pid);
    let repo = remote::repo_dir(&root, git, &env);
    let mut files = Vec::new();
    let entries = remote::git_entries(&root, git, &env, repo.as_deref(), &mut files);
    let found = |setting: String, value: &str, origin: String| GitStarted {
        pid: p.pid,
        git_pid: git.pid,
        setting,
        value: remote::redact(value),
        origin,
    };
    // git's last value wins; a later file overrides an earlier one.
    if let Some(e) = entries.iter().rev().find(|e| names_program(e, &names)) {
        return Some(found(
            e.key(),
            e.value.as_deref().unwrap_or(""),
            e.origin.to_string(),
        ));
    }
    let hooks = hooks_dir(&entries, repo.as_deref())?;
    let (dir, origin) = hooks;
    names.iter().find_map(|n| {
        let hook = Path::new(n).strip_prefix(&dir).ok()?.to_str()?.to_string();
        (!hook.contains('/')).then(|| found(format!("hook {hook}"), n, origin.clone()))
    })
}

/// Does the setting's value run one of `names`? Its first word (after an alias's `!`) is
/// the program, compared whole, or by file name when either side is a bare name.
fn names_program(e: &Entry, names: &[String]) -> bool {
    let Some(value) = e.value.as_deref() else {
        return false;
    };
    let value = value.trim().trim_start_matches('!');
    let Some(first) = value.split_whitespace().next() else {
        return false;
    };
    let first = first.trim_matches(|c| c == '"' || c == '\'');
    if matches!(
        first.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "1" | "0"
    ) {
        return false;
    }
    let file = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    names.iter().any(|n| {
        n == first || ((!n.contains('/') || !first.contains('/')) && file(n) == file(first))
    })
}

/// The hooks directory git uses: `core.hooksPath` (with its origin), else `$GIT_DIR/hooks`.
fn hooks_dir(entries: &[Entry], repo: Option<&str>) -> Option<(PathBuf, String)> {
    match entries
        .iter()
        .rev()
        .find(|e| e.section == "core" && e.subsection.is_none() && e.name == "hookspath")
    {
        Some(e) => {
            let v = e.value.as_deref()?;
            let dir = if v.starts_with('/') {
                PathBuf::from(v)
            } else {
                // Relative to where hooks run: the top of the work tree.
                let top = Path::new(repo?).parent()?;
                top.join(v)
            };
            Some((dir, format!("core.hooksPath, set in {}", e.origin)))
        }
        None => Some((
            Path::new(repo?).join("hooks"),
            "the repository's hooks directory".to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gitconfig::Origin;

    fn entry(key: &str, value: &str) -> Entry {
        crate::gitconfig::entry_from_key(
            key,
            Some(value),
            Origin::File {
                path: "/r/.git/config".into(),
                line: 3,
            },
        )
        .unwrap()
    }

    #[test]
    fn a_setting_names_the_program_by_path_or_by_name() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let fsmonitor = entry("core.fsmonitor", "/opt/hooks/watch.sh");
        assert!(names_program(
            &fsmonitor,
            &names(&["/bin/sh", "/opt/hooks/watch.sh"])
        ));
        assert!(!names_program(&fsmonitor, &names(&["/other/watch2.sh"])));
        let lfs = entry("filter.lfs.process", "git-lfs filter-process");
        assert!(names_program(&lfs, &names(&["/usr/bin/git-lfs"])));
        let alias = entry("alias.st", "!tig status");
        assert!(names_program(&alias, &names(&["tig"])));
        // Booleans name no program.
        let on = entry("core.fsmonitor", "true");
        assert!(!names_program(&on, &names(&["true"])));
        // Two different absolute paths with the same file name are different programs.
        let abs = entry("core.pager", "/usr/local/bin/less");
        assert!(!names_program(&abs, &names(&["/usr/bin/less"])));
    }

    #[test]
    fn hooks_come_from_hooks_path_or_the_git_dir() {
        let (dir, origin) = hooks_dir(&[], Some("/r/.git")).unwrap();
        assert_eq!(dir, PathBuf::from("/r/.git/hooks"));
        assert_eq!(origin, "the repository's hooks directory");
        let (dir, origin) =
            hooks_dir(&[entry("core.hooksPath", ".githooks")], Some("/r/.git")).unwrap();
        assert_eq!(dir, PathBuf::from("/r/.githooks"));
        assert_eq!(origin, "core.hooksPath, set in /r/.git/config line 3");
    }
}
