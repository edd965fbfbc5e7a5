//! Gathers what an ssh or `git-remote-*` process of the tree fetches: the module the go
//! command above asked for, the repository (go's VCS cache directory, git's cwd), the URL
//! as git was asked for it and as the git process's own configuration rewrote it, and for
//! ssh the real host, port and proxy its configuration gives the destination.
//!
//! It reads files the way the programs do, as the process sees them (through
//! `/proc/PID/root`), and the process's own environment: git reads the system file
//! (`/etc/gitconfig`, `GIT_CONFIG_SYSTEM`, none with `GIT_CONFIG_NOSYSTEM`), the global ones
//! (`$XDG_CONFIG_HOME/git/config` or `~/.config/git/config`, then `~/.gitconfig`; only
//! `GIT_CONFIG_GLOBAL` when set), the repository's `config`, then `GIT_CONFIG_COUNT` /
//! `GIT_CONFIG_KEY_n` / `GIT_CONFIG_VALUE_n`, `GIT_CONFIG_PARAMETERS` and `-c` (git-config(1)
//! "FILES", "ENVIRONMENT"); `include.path` and `includeIf "gitdir:…"` are followed. ssh
//! reads `-F FILE` alone, else `~/.ssh/config` of the user's passwd home and then
//! `/etc/ssh/ssh_config` (ssh(1) "FILES"). Parsing is in the pure `gitconfig` and
//! `sshconfig` modules; nothing here decides a verdict.

use crate::evidence::{
    ProcessSnapshot, RemoteContext, RunState, Sample, Sourced, SshHost, UrlRewrite,
};
use crate::gitconfig::{self, Entry, Origin};
use crate::sshconfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How deep include files may nest (git stops at 10 too, `config.c` MAX_INCLUDE_DEPTH).
const MAX_INCLUDE_DEPTH: usize = 10;
/// A process's environment must be read within this time.
const ENVIRON_LIMIT: Duration = Duration::from_millis(500);

/// Is this the program at the end of a fetch: ssh or a git remote helper?
pub fn is_remote_leaf(p: &ProcessSnapshot) -> Option<String> {
    let argv0 = p.argv.value().and_then(|a| a.first()).cloned();
    let base = argv0
        .as_deref()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_else(|| p.comm.clone());
    (base == "ssh" || base.starts_with("git-remote-")).then_some(base)
}

/// The remote of every ssh / `git-remote-*` in the newest sample.
pub fn collect(samples: &[Sample]) -> Vec<RemoteContext> {
    let Some(last) = files_may_be_read(samples) else {
        return Vec::new();
    };
    last.processes
        .iter()
        .filter_map(|p| Some((p, is_remote_leaf(p)?)))
        .take(8)
        .map(|(p, program)| remote_of(last, p, program))
        .collect()
}

/// The newest sample, when the configuration files of its processes may be read: not while
/// a process is in uninterruptible sleep, which may be on a dead file system (or held by a
/// file access monitor) that would hold gohang's reads too.
pub(crate) fn files_may_be_read(samples: &[Sample]) -> Option<&Sample> {
    let last = samples.last()?;
    let stuck = last
        .processes
        .iter()
        .any(|p| p.threads.iter().any(|t| t.state == RunState::DiskSleep));
    (!stuck).then_some(last)
}

fn remote_of(sample: &Sample, leaf: &ProcessSnapshot, program: String) -> RemoteContext {
    let mut r = RemoteContext {
        pid: leaf.pid,
        program: program.clone(),
        ..Default::default()
    };
    let ancestors = ancestors(sample, leaf);
    // The git that was asked: not the `git remote-http …` step git may run on the way to
    // its helper, which is given the URL already rewritten.
    let git = ancestors.iter().copied().find(|q| {
        let b = base0(q);
        let wrapper = q
            .argv
            .value()
            .and_then(|a| a.get(1))
            .is_some_and(|a| a.starts_with("remote-"));
        (b == "git" && !wrapper) || (b.starts_with("git-") && !b.starts_with("git-remote-"))
    });
    let go = ancestors
        .iter()
        .copied()
        .find(|q| crate::evidence::is_go_command(q));
    r.module = go.and_then(module_of);
    let root = PathBuf::from(format!("/proc/{}/root", leaf.pid));
    if let Some(git) = git {
        r.git_pid = Some(git.pid);
        let env = environ(git.pid);
        let repo = repo_dir(&root, git, &env);
        r.repository = repo.as_ref().filter(|d| d.contains("/cache/vcs/")).cloned();
        let mut files = Vec::new();
        let entries = git_entries(&root, git, &env, repo.as_deref(), &mut files);
        r.files = files;
        let asked = asked_url(git, &entries);
        if let Some((url, from)) = &asked {
            let rw = gitconfig::rewrite(url, &entries);
            r.url = Some(redact(rw.as_ref().map(|w| w.url.as_str()).unwrap_or(url)));
            r.rewrite = rw.map(|w| UrlRewrite {
                base: redact(&w.base),
                instead_of: redact(&w.instead_of),
                origin: w.origin.to_string(),
            });
            r.asked = Some(Sourced {
                value: redact(url),
                origin: from.clone(),
            });
        }
    }
    // A remote helper is given the URL git settled on (gitremote-helpers(7)).
    if program.starts_with("git-remote-")
        && let Some(u) = leaf.argv.value().and_then(|a| a.get(2))
    {
        r.url = Some(redact(u));
    }
    if program == "ssh" {
        let mut files = Vec::new();
        r.ssh = ssh_host(&root, leaf, &mut files, &mut r.notes);
        r.files.extend(files);
    }
    r
}

pub(crate) fn redact(s: &str) -> String {
    crate::redact::redact_urls(s)
}

pub(crate) fn base0(p: &ProcessSnapshot) -> String {
    p.argv
        .value()
        .and_then(|a| a.first())
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_else(|| p.comm.clone())
}

/// The processes above `p` in the sample, nearest first.
fn ancestors<'s>(sample: &'s Sample, p: &ProcessSnapshot) -> Vec<&'s ProcessSnapshot> {
    let mut out = Vec::new();
    let mut cur = p.ppid;
    while let Some(q) = sample.process(cur) {
        if out.len() > 64 || out.iter().any(|o: &&ProcessSnapshot| o.pid == q.pid) {
            break;
        }
        out.push(q);
        cur = q.ppid;
    }
    out
}

/// The module (`path@version` or `path`) a go command names on its command line: the
/// first argument after the subcommand(s) that looks like a module path.
pub fn module_of(go: &ProcessSnapshot) -> Option<String> {
    let argv = go.argv.value()?;
    let args = argv.iter().skip(1);
    let mut subcommand = false;
    for a in args {
        if a.starts_with('-') {
            continue;
        }
        if !subcommand {
            subcommand = true;
            continue;
        }
        let path = a.split('@').next().unwrap_or(a);
        let first = path.split('/').next().unwrap_or("");
        if first.contains('.') && !a.starts_with('.') && !a.starts_with('/') && !a.ends_with(".go")
        {
            return Some(a.clone());
        }
    }
    None
}

/// A process's environment, read within a time limit (the read can block while the
/// process holds its mmap lock, LINUX.md).
pub(crate) fn environ(pid: u32) -> BTreeMap<String, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = std::thread::Builder::new()
        .name("gohang-environ".into())
        .spawn(move || {
            let _ = tx.send(std::fs::read(format!("/proc/{pid}/environ")));
        });
    let Ok(Ok(raw)) = rx.recv_timeout(ENVIRON_LIMIT) else {
        return BTreeMap::new();
    };
    raw.split(|b| *b == 0)
        .filter_map(|e| {
            let e = String::from_utf8_lossy(e);
            let (k, v) = e.split_once('=')?;
            let keep = k.starts_with("GIT_")
                || matches!(k, "HOME" | "XDG_CONFIG_HOME" | "GOMODCACHE" | "GOPATH");
            keep.then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// A path as the process sees it, read through its root.
pub(crate) fn under(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

fn read(root: &Path, path: &str) -> Option<String> {
    crate::safeio::read_found_text(&under(root, path), crate::safeio::ENV_FILE).ok()
}

/// The repository git works in: `GIT_DIR`, else its cwd or a parent that is a bare
/// repository or holds `.git`.
pub(crate) fn repo_dir(
    root: &Path,
    git: &ProcessSnapshot,
    env: &BTreeMap<String, String>,
) -> Option<String> {
    let cwd = git.cwd.clone()?;
    if let Some(d) = env.get("GIT_DIR").filter(|d| !d.is_empty()) {
        return Some(if d.starts_with('/') {
            d.clone()
        } else {
            format!("{cwd}/{d}")
        });
    }
    let mut dir = PathBuf::from(&cwd);
    for _ in 0..32 {
        let d = dir.to_string_lossy().into_owned();
        let inside = under(root, &d);
        if inside.join("HEAD").is_file()
            && inside.join("config").is_file()
            && inside.join("objects").is_dir()
        {
            return Some(d);
        }
        if inside.join(".git/config").is_file() {
            return Some(format!("{}/.git", d.trim_end_matches('/')));
        }
        if !dir.pop() {
            break;
        }
    }
    None
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// Every config entry git would see, in git's order, includes expanded.
pub(crate) fn git_entries(
    root: &Path,
    git: &ProcessSnapshot,
    env: &BTreeMap<String, String>,
    repo: Option<&str>,
    files: &mut Vec<String>,
) -> Vec<Entry> {
    let home = env.get("HOME").filter(|h| !h.is_empty()).cloned();
    let mut out = Vec::new();
    if !truthy(env.get("GIT_CONFIG_NOSYSTEM")) {
        let system = env
            .get("GIT_CONFIG_SYSTEM")
            .cloned()
            .unwrap_or_else(|| "/etc/gitconfig".into());
        read_file(root, &system, home.as_deref(), repo, 0, files, &mut out);
    }
    match env.get("GIT_CONFIG_GLOBAL") {
        Some(g) => read_file(root, g, home.as_deref(), repo, 0, files, &mut out),
        None => {
            let xdg = match env.get("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
                Some(x) => Some(format!("{x}/git/config")),
                None => home.as_ref().map(|h| format!("{h}/.config/git/config")),
            };
            for f in xdg
                .into_iter()
                .chain(home.as_ref().map(|h| format!("{h}/.gitconfig")))
            {
                read_file(root, &f, home.as_deref(), repo, 0, files, &mut out);
            }
        }
    }
    if let Some(r) = repo {
        read_file(
            root,
            &format!("{r}/config"),
            home.as_deref(),
            repo,
            0,
            files,
            &mut out,
        );
    }
    if let Some(n) = env
        .get("GIT_CONFIG_COUNT")
        .and_then(|c| c.parse::<usize>().ok())
    {
        for i in 0..n.min(256) {
            if let Some(k) = env.get(&format!("GIT_CONFIG_KEY_{i}")) {
                let v = env.get(&format!("GIT_CONFIG_VALUE_{i}"));
                out.extend(gitconfig::entry_from_key(
                    k,
                    v.map(String::as_str),
                    Origin::Command(format!("GIT_CONFIG_KEY_{i}/GIT_CONFIG_VALUE_{i}")),
                ));
            }
        }
    }
    if let Some(p) = env.get("GIT_CONFIG_PARAMETERS") {
        out.extend(gitconfig::parse_parameters(p));
    }
    // `git -c name=value` on this git's own command line (its children get them through
    // GIT_CONFIG_PARAMETERS; its own environ does not show them).
    let argv = git.argv.value().cloned().unwrap_or_default();
    let mut i = 1;
    while i + 1 < argv.len() && argv[i].starts_with('-') {
        if argv[i] == "-c" {
            let kv = &argv[i + 1];
            let (k, v) = match kv.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (kv.as_str(), None),
            };
            out.extend(gitconfig::entry_from_key(
                k,
                v,
                Origin::Command(format!("`git -c {}` (pid {})", redact(kv), git.pid)),
            ));
            i += 2;
        } else if matches!(argv[i].as_str(), "-C" | "--git-dir" | "--work-tree") {
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

/// Read one config file and the files it includes.
fn read_file(
    root: &Path,
    path: &str,
    home: Option<&str>,
    repo: Option<&str>,
    depth: usize,
    files: &mut Vec<String>,
    out: &mut Vec<Entry>,
) {
    if depth > MAX_INCLUDE_DEPTH {
        return;
    }
    let Some(text) = read(root, path) else {
        return;
    };
    files.push(path.to_string());
    let dir = Path::new(path)
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let expand = |p: &str| -> Option<String> {
        if let Some(rest) = p.strip_prefix("~/") {
            Some(format!("{}/{rest}", home?))
        } else if p.starts_with('/') {
            Some(p.to_string())
        } else {
            Some(format!("{dir}/{p}"))
        }
    };
    for e in gitconfig::parse(&text, path) {
        let include = match (e.section.as_str(), e.name.as_str()) {
            ("include", "path") if e.subsection.is_none() => e.value.clone(),
            ("includeif", "path") => e
                .subsection
                .as_deref()
                .filter(|cond| gitdir_matches(cond, repo, home, &dir))
                .and(e.value.clone()),
            _ => None,
        };
        out.push(e);
        if let Some(target) = include.as_deref().and_then(expand) {
            read_file(root, &target, home, repo, depth + 1, files, out);
        }
    }
}

/// `includeIf "gitdir:PATTERN"` (and `gitdir/i:`): does the repository's git directory
/// match? A pattern ending in `/` matches everything below; `~/` is the home, `./` the
/// including file's directory; `*` and `**` are globs (git-config(1) "Conditional includes").
fn gitdir_matches(cond: &str, repo: Option<&str>, home: Option<&str>, dir: &str) -> bool {
    let (pat, fold) = if let Some(p) = cond.strip_prefix("gitdir:") {
        (p, false)
    } else if let Some(p) = cond.strip_prefix("gitdir/i:") {
        (p, true)
    } else {
        return false;
    };
    let Some(repo) = repo else { return false };
    let mut pat = if let Some(rest) = pat.strip_prefix("~/") {
        match home {
            Some(h) => format!("{h}/{rest}"),
            None => return false,
        }
    } else if let Some(rest) = pat.strip_prefix("./") {
        format!("{dir}/{rest}")
    } else if pat.starts_with('/') {
        pat.to_string()
    } else {
        format!("**/{pat}")
    };
    if pat.ends_with('/') {
        pat.push_str("**");
    }
    let repo = format!("{}/", repo.trim_end_matches('/'));
    let (pat, repo) = if fold {
        (pat.to_ascii_lowercase(), repo.to_ascii_lowercase())
    } else {
        (pat, repo)
    };
    // `**` and `*` both as "anything" here: a broader match than git's wildmatch for `*`.
    sshconfig::glob(&pat.replace("**", "*"), &repo)
        || sshconfig::glob(&pat.replace("**", "*"), repo.trim_end_matches('/'))
}

/// The URL git was asked for: one on its command line (`git ls-remote URL`, `git clone
/// URL`), else the remote it fetches from (`remote.<name>.url`, origin by default).
fn asked_url(git: &ProcessSnapshot, entries: &[Entry]) -> Option<(String, String)> {
    let argv = git.argv.value()?;
    let looks_like_url = |a: &str| {
        a.contains("://")
            || (a.contains(':') && a.contains('@') && !a.starts_with('-') && !a.contains('='))
    };
    let mut skip = false;
    for a in argv.iter().skip(1) {
        if skip {
            skip = false;
            continue;
        }
        if a == "-c" || a == "-C" {
            skip = true;
            continue;
        }
        if looks_like_url(a) {
            return Some((a.clone(), format!("the arguments of git (pid {})", git.pid)));
        }
    }
    // `git fetch [options] NAME …`: the first non-option after the subcommand, if it is a
    // configured remote; else origin.
    let sub = argv
        .iter()
        .skip(1)
        .position(|a| matches!(a.as_str(), "fetch" | "ls-remote" | "pull" | "remote-https"))
        .map(|i| i + 2);
    let named = sub
        .and_then(|i| argv.get(i..))
        .and_then(|rest| rest.iter().find(|a| !a.starts_with('-')).cloned());
    for name in named.iter().map(String::as_str).chain(["origin"]) {
        if let Some(e) = gitconfig::last(entries, &format!("remote.{name}.url"))
            && let Some(v) = &e.value
        {
            return Some((v.clone(), format!("remote.{name}.url in {}", e.origin)));
        }
    }
    None
}

/// Options an ssh was given (ssh(1): options with a value are `-BbcDEeFIiJLlmOoPpRSWw`),
/// its destination and config file.
struct SshArgs {
    destination: Option<String>,
    config_file: Option<String>,
    options: sshconfig::CommandLine,
}

fn ssh_args(argv: &[String]) -> SshArgs {
    let mut a = SshArgs {
        destination: None,
        config_file: None,
        options: Vec::new(),
    };
    let mut i = 1;
    while i < argv.len() {
        let arg = &argv[i];
        let Some(opt) = arg.strip_prefix('-').filter(|o| !o.is_empty()) else {
            a.destination = Some(arg.clone());
            break;
        };
        let flag = opt.chars().next().unwrap_or(' ');
        let value = if "BbcDEeFIiJLlmOoPpRSWw".contains(flag) {
            if opt.len() > 1 {
                Some(opt[1..].to_string())
            } else {
                i += 1;
                argv.get(i).cloned()
            }
        } else {
            None
        };
        if let Some(v) = value {
            match flag {
                'p' => a.options.push(("port".into(), v)),
                'l' => a.options.push(("user".into(), v)),
                'J' => a.options.push(("proxyjump".into(), v)),
                'F' => a.config_file = Some(v),
                'o' => {
                    let (k, val) = v
                        .split_once('=')
                        .or_else(|| v.split_once(' '))
                        .unwrap_or((v.as_str(), ""));
                    a.options
                        .push((k.trim().to_ascii_lowercase(), val.trim().to_string()));
                }
                _ => {}
            }
        }
        i += 1;
    }
    // user@host: the user given with the destination comes first.
    if let Some(d) = a.destination.take() {
        match d.rsplit_once('@') {
            Some((u, h)) => {
                a.options.insert(0, ("user".into(), u.to_string()));
                a.destination = Some(h.to_string());
            }
            None => a.destination = Some(d),
        }
    }
    a
}

/// The user's home as ssh finds it: the passwd entry of the process's uid (ssh uses
/// `pw_dir`, not $HOME).
fn passwd_home(root: &Path, uid: u32) -> Option<String> {
    let text = read(root, "/etc/passwd")?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
    })
}

fn ssh_host(
    root: &Path,
    ssh: &ProcessSnapshot,
    files: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<SshHost> {
    let argv = ssh.argv.value()?;
    let args = ssh_args(argv);
    let dest = args.destination.clone()?;
    let home = ssh
        .uid
        .and_then(|u| passwd_home(root, u))
        .or_else(|| ssh.env.get("HOME").cloned());
    let mut lines = Vec::new();
    let user_dir = home.as_ref().map(|h| format!("{h}/.ssh"));
    match &args.config_file {
        Some(f) if f == "none" => {}
        Some(f) => {
            let f = if f.starts_with('/') {
                f.clone()
            } else if let Some(rest) = f.strip_prefix("~/") {
                format!("{}/{rest}", home.clone().unwrap_or_default())
            } else {
                format!("{}/{f}", ssh.cwd.clone().unwrap_or_default())
            };
            read_ssh(root, &f, user_dir.as_deref(), 0, files, &mut lines);
        }
        None => {
            if let Some(d) = &user_dir {
                read_ssh(
                    root,
                    &format!("{d}/config"),
                    user_dir.as_deref(),
                    0,
                    files,
                    &mut lines,
                );
            }
            read_ssh(
                root,
                "/etc/ssh/ssh_config",
                Some("/etc/ssh"),
                0,
                files,
                &mut lines,
            );
        }
    }
    let r = sshconfig::resolve(&dest, &args.options, &lines);
    for m in &r.skipped_match {
        notes.push(format!(
            "ssh config: the Match block at {m} was not evaluated"
        ));
    }
    let conv = |v: Option<sshconfig::Value>| {
        v.map(|v| Sourced {
            value: v.value,
            origin: v.origin,
        })
    };
    Some(SshHost {
        destination: dest,
        hostname: conv(r.hostname),
        port: conv(r.port),
        user: conv(r.user),
        proxy_command: conv(r.proxy_command),
        proxy_jump: conv(r.proxy_jump),
        connect_timeout: conv(r.connect_timeout),
    })
}

/// Read an ssh config file, splicing in its `Include`s (relative paths are under `~/.ssh`
/// for the user's file and `/etc/ssh` for the system's; a `*` in the last component is
/// expanded).
fn read_ssh(
    root: &Path,
    path: &str,
    rel_dir: Option<&str>,
    depth: usize,
    files: &mut Vec<String>,
    out: &mut Vec<sshconfig::Line>,
) {
    if depth > MAX_INCLUDE_DEPTH {
        return;
    }
    let Some(text) = read(root, path) else {
        return;
    };
    files.push(path.to_string());
    for l in sshconfig::parse(&text, path) {
        if l.keyword != "include" {
            out.push(l);
            continue;
        }
        for inc in &l.args {
            let full = if inc.starts_with('/') {
                inc.clone()
            } else {
                format!("{}/{inc}", rel_dir.unwrap_or(""))
            };
            for f in expand_star(root, &full) {
                read_ssh(root, &f, rel_dir, depth + 1, files, out);
            }
        }
    }
}

fn expand_star(root: &Path, path: &str) -> Vec<String> {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    if !name.contains('*') && !name.contains('?') {
        return vec![path.to_string()];
    }
    let Ok(rd) = std::fs::read_dir(under(root, dir)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| sshconfig::glob(name, n))
        .map(|n| format!("{dir}/{n}"))
        .take(64)
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_arguments() {
        let argv: Vec<String> = [
            "ssh",
            "-F",
            "/x/cfg",
            "-o",
            "ControlMaster=no",
            "-p2222",
            "git@gohost",
            "git-upload-pack '/o/r.git'",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = ssh_args(&argv);
        assert_eq!(a.destination.as_deref(), Some("gohost"));
        assert_eq!(a.config_file.as_deref(), Some("/x/cfg"));
        assert_eq!(
            a.options,
            vec![
                ("user".to_string(), "git".to_string()),
                ("controlmaster".to_string(), "no".to_string()),
                ("port".to_string(), "2222".to_string())
            ]
        );
    }

    #[test]
    fn gitdir_conditions() {
        assert!(gitdir_matches(
            "gitdir:~/src/",
            Some("/h/src/a/.git"),
            Some("/h"),
            "/h"
        ));
        assert!(!gitdir_matches(
            "gitdir:~/src/",
            Some("/h/play/.git"),
            Some("/h"),
            "/h"
        ));
        assert!(gitdir_matches(
            "gitdir/i:/CACHE/",
            Some("/cache/vcs/ab"),
            None,
            "/"
        ));
        assert!(!gitdir_matches("onbranch:main", Some("/r"), None, "/"));
    }
}
