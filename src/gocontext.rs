//! The go command's context, read from files and the process's environment — never by
//! running `go`, which may be what hangs: the effective GOPROXY, GOSUMDB, GOTOOLCHAIN, … with
//! where each came from (`cmd/go/internal/cfg`: environment, then the user's `go env -w`
//! file, then GOROOT/go.env), the running go's version, the go.mod or go.work that governs
//! the command, and the addresses of the network endpoints the settings name.

use crate::evidence::is_go_command;
use crate::evidence::{
    Endpoint, GoContext, ModuleFile, Os, ProcessSnapshot, RunState, Sample, Setting, Translation,
};
use crate::redact::redact_urls;
use std::collections::BTreeMap;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Settings reported (values of others are not needed to explain a hang).
pub const SETTINGS: &[&str] = &[
    "GOPROXY",
    "GOSUMDB",
    "GOTOOLCHAIN",
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GOFLAGS",
    "GOINSECURE",
    "GOMODCACHE",
    "GOWORK",
    // The programs go runs for cgo and pkg-config (`go help environment`): a stuck leaf
    // started from one of these is named with where it was set.
    "CC",
    "CXX",
    "AR",
    "PKG_CONFIG",
];

/// How long name resolution of all endpoints may take together.
const RESOLVE_LIMIT: Duration = Duration::from_secs(1);

/// Collect the context of the first go command in the newest sample.
pub fn collect(samples: &[Sample], os: &Os) -> Option<GoContext> {
    let last = samples.last()?;
    let go = last.processes.iter().find(|p| is_go_command(p))?;
    // A connection to match against the settings' hosts, or a query to a nameserver
    // (port 53) whose name is likely one of them.
    let want_endpoints = last.processes.iter().any(|p| {
        p.sockets.iter().any(|s| {
            (s.proto == "tcp" && s.remote.is_some())
                || s.remote.as_deref().is_some_and(|r| r.ends_with(":53"))
        })
    });
    // While a process of the tree is in uninterruptible sleep, files on FUSE or network
    // mounts are left alone: reading one could hang gohang itself.
    let stuck_io = last
        .processes
        .iter()
        .any(|p| p.threads.iter().any(|t| t.state == RunState::DiskSleep));
    // A file access monitor (fanotify) that holds a process's opens may hold gohang's too,
    // on any file system: then no file is read at all.
    let monitored = last.processes.iter().any(|p| {
        p.threads
            .iter()
            .any(|t| t.wchan.as_deref().is_some_and(|w| w.contains("fanotify")))
    });
    let pid = go.pid;
    let guard = move |path: &Path| -> Option<String> {
        if monitored {
            return Some(format!(
                "{} not read: a file access monitor (fanotify) holds the opens of a process of the tree, and would hold gohang's",
                path.display()
            ));
        }
        let fs = stuck_io
            .then(|| crate::observe::remote_fs_at(pid, path))
            .flatten()?;
        Some(format!(
            "{} not read: it is on a {fs} file system and a process waits on I/O",
            path.display()
        ))
    };
    Some(context_of(go, os, want_endpoints, &guard))
}

/// Says why a path must not be read (None: it may be).
pub type Guard<'a> = &'a dyn Fn(&Path) -> Option<String>;

/// The context of one go process.
pub fn context_of(go: &ProcessSnapshot, os: &Os, resolve: bool, guard: Guard) -> GoContext {
    let env = &go.env;
    let mut notes = Vec::new();
    let mut readable = |p: &Path| match guard(p) {
        Some(why) => {
            notes.push(why);
            false
        }
        None => true,
    };
    let goroot = env
        .get("GOROOT")
        .cloned()
        .filter(|s| !s.is_empty())
        .or_else(|| goroot_of(go));
    let version = goroot
        .as_deref()
        .filter(|r| readable(Path::new(r)))
        .and_then(|r| read_version(Path::new(r)))
        .or_else(|| go.go_version.clone());

    // Precedence: environment, user file, GOROOT/go.env.
    let mut settings: BTreeMap<String, Setting> = BTreeMap::new();
    let goroot_env = goroot.as_deref().map(|r| Path::new(r).join("go.env"));
    if let Some(file) = goroot_env.as_ref().filter(|f| readable(f)) {
        merge_file(&mut settings, file);
    }
    if let Some(file) = user_env_file(env, os).filter(|f| readable(f)) {
        merge_file(&mut settings, &file);
    }
    for name in SETTINGS {
        if let Some(v) = env.get(*name).filter(|v| !v.is_empty()) {
            settings.insert(
                name.to_string(),
                Setting {
                    value: v.clone(),
                    source: "environment".into(),
                    line: None,
                },
            );
        }
    }
    let module = find_module(
        go,
        settings.get("GOWORK").map(|s| s.value.as_str()),
        &mut readable,
    );
    let endpoints = if resolve {
        endpoints(&settings, env)
    } else {
        Vec::new()
    };
    GoContext {
        pid: go.pid,
        goroot,
        version,
        settings,
        module,
        endpoints,
        notes,
    }
}

/// GOROOT from the executable's location: `<GOROOT>/bin/go` (or `<GOROOT>/pkg/tool/…`).
fn goroot_of(p: &ProcessSnapshot) -> Option<String> {
    let exe = match &p.translation {
        Translation::Binfmt {
            program: Some(prog),
            ..
        } => {
            let prog = PathBuf::from(prog);
            if prog.is_absolute() {
                prog
            } else {
                PathBuf::from(p.cwd.as_deref()?).join(prog)
            }
        }
        _ => PathBuf::from(p.exe.value()?.trim_end_matches(" (deleted)")),
    };
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let root = exe.parent()?.parent()?;
    (root.join("src").is_dir() || root.join("pkg/tool").is_dir() || root.join("VERSION").is_file())
        .then(|| root.to_string_lossy().into_owned())
}

/// The first line of GOROOT/VERSION (`go1.23.5`).
pub fn read_version(goroot: &Path) -> Option<String> {
    let text =
        crate::safeio::read_found_text(&goroot.join("VERSION"), crate::safeio::SMALL_TEXT).ok()?;
    text.lines()
        .next()
        .map(str::trim)
        .filter(|l| l.starts_with("go"))
        .map(str::to_string)
}

/// The user's `go env -w` file: $GOENV, else os.UserConfigDir()/go/env.
fn user_env_file(env: &BTreeMap<String, String>, os: &Os) -> Option<PathBuf> {
    match env.get("GOENV").map(String::as_str) {
        Some("off") => return None,
        Some(f) if !f.is_empty() => return Some(PathBuf::from(f)),
        _ => {}
    }
    let home = env.get("HOME").filter(|h| !h.is_empty());
    let dir = if *os == Os::Macos {
        PathBuf::from(home?).join("Library/Application Support")
    } else {
        match env.get("XDG_CONFIG_HOME").filter(|x| x.starts_with('/')) {
            Some(x) => PathBuf::from(x),
            None => PathBuf::from(home?).join(".config"),
        }
    };
    Some(dir.join("go/env"))
}

/// Read `KEY=VALUE` lines of a go env file (cmd/go's `readEnvFile`: a line whose first
/// byte is not `A`–`Z` or that has no `=` is ignored), overriding what is there.
fn merge_file(settings: &mut BTreeMap<String, Setting>, file: &Path) {
    let Ok(text) = crate::safeio::read_found_text(file, crate::safeio::ENV_FILE) else {
        return;
    };
    for (n, k, v) in parse_env_file_lines(&text) {
        if SETTINGS.contains(&k.as_str()) {
            settings.insert(
                k,
                Setting {
                    value: redact_urls(&v),
                    source: file.display().to_string(),
                    line: Some(n),
                },
            );
        }
    }
}

pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    parse_env_file_lines(text)
        .into_iter()
        .map(|(_, k, v)| (k, v))
        .collect()
}

/// [`parse_env_file`] with each setting's line number (1-based).
pub fn parse_env_file_lines(text: &str) -> Vec<(u32, String, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.as_bytes().first().is_some_and(|b| b.is_ascii_uppercase()))
        .filter_map(|(i, l)| l.split_once('=').map(|(k, v)| (i as u32 + 1, k, v)))
        .map(|(n, k, v)| (n, k.to_string(), v.to_string()))
        .collect()
}

/// The go.work or go.mod above the command's directory (its `-C dir`, else its cwd).
fn find_module(
    go: &ProcessSnapshot,
    gowork: Option<&str>,
    readable: &mut dyn FnMut(&Path) -> bool,
) -> Option<ModuleFile> {
    let argv = go.argv.value().cloned().unwrap_or_default();
    // Under binfmt translation argv starts with the interpreter and the program.
    let args: Vec<String> = match &go.translation {
        Translation::Binfmt { .. } => argv.iter().skip(2).cloned().collect(),
        _ => argv.iter().skip(1).cloned().collect(),
    };
    let cwd = PathBuf::from(go.cwd.as_deref()?);
    let mut dir = match args.iter().position(|a| a == "-C" || a == "--C") {
        Some(i) => args.get(i + 1).map(|d| cwd.join(d))?,
        None => match args.iter().find_map(|a| a.strip_prefix("-C=")) {
            Some(d) => cwd.join(d),
            None => cwd,
        },
    };
    if let Some(w) = gowork.filter(|w| *w != "off" && !w.is_empty() && w.ends_with(".work"))
        && let Some(m) = read_module_file(Path::new(w))
    {
        return Some(m);
    }
    loop {
        if !readable(&dir) {
            return None;
        }
        if gowork != Some("off")
            && let Some(m) = read_module_file(&dir.join("go.work"))
        {
            return Some(m);
        }
        if let Some(m) = read_module_file(&dir.join("go.mod")) {
            return Some(m);
        }
        if !dir.pop() {
            return None;
        }
    }
}

fn read_module_file(path: &Path) -> Option<ModuleFile> {
    let text = crate::safeio::read_found_text(path, crate::safeio::MODULE_FILE).ok()?;
    let (go, toolchain) = parse_module_lines(&text);
    Some(ModuleFile {
        path: path.display().to_string(),
        go,
        toolchain,
    })
}

/// The `go` and `toolchain` directives of a go.mod or go.work.
pub fn parse_module_lines(text: &str) -> (Option<String>, Option<String>) {
    let mut go = None;
    let mut toolchain = None;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        let mut f = line.split_whitespace();
        match (f.next(), f.next()) {
            (Some("go"), Some(v)) => go = Some(v.to_string()),
            (Some("toolchain"), Some(v)) => toolchain = Some(v.to_string()),
            _ => {}
        }
    }
    (go, toolchain)
}

/// host and port of a URL (`http://h:1/x` → (h, 1); default port by scheme).
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit('@').next()?;
    let default = match scheme {
        "https" => 443,
        "http" => 80,
        "socks5" | "socks5h" => 1080,
        _ => return None,
    };
    if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6.split_once(']')?;
        let port = p
            .strip_prefix(':')
            .and_then(|p| p.parse().ok())
            .unwrap_or(default);
        return Some((h.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((authority.to_string(), default)),
    }
}

/// The endpoints the settings name, resolved to addresses (time-boxed as a whole).
fn endpoints(
    settings: &BTreeMap<String, Setting>,
    env: &BTreeMap<String, String>,
) -> Vec<Endpoint> {
    let mut want: Vec<(String, String, u16)> = Vec::new();
    if let Some(p) = settings.get("GOPROXY") {
        for part in p.value.split([',', '|']) {
            if let Some((h, port)) = host_port(part.trim()) {
                want.push(("GOPROXY".into(), h, port));
            }
        }
    }
    if let Some(s) = settings.get("GOSUMDB").filter(|s| s.value != "off") {
        // "name", "name+key" or "name+key url" (cmd/go/internal/modfetch/sumdb.go).
        let mut f = s.value.split_whitespace();
        let name = f.next().unwrap_or("").split('+').next().unwrap_or("");
        match f.next().and_then(host_port) {
            Some((h, port)) => want.push(("GOSUMDB".into(), h, port)),
            None if !name.is_empty() => want.push(("GOSUMDB".into(), name.to_string(), 443)),
            None => {}
        }
    }
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        if let Some((h, port)) = env.get(name).and_then(|v| host_port(v)) {
            want.push((name.to_ascii_uppercase(), h, port));
        }
    }
    want.dedup();
    let (tx, rx) = mpsc::channel();
    for (i, (_, h, port)) in want.iter().enumerate() {
        let (tx, h, port) = (tx.clone(), h.clone(), *port);
        let _ = std::thread::Builder::new()
            .name("gohang-resolve".into())
            .spawn(move || {
                let addrs: Vec<String> = (h.as_str(), port)
                    .to_socket_addrs()
                    .map(|it| it.map(|a| a.to_string()).collect())
                    .unwrap_or_default();
                let _ = tx.send((i, addrs));
            });
    }
    drop(tx);
    let mut resolved: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let deadline = std::time::Instant::now() + RESOLVE_LIMIT;
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok((i, a)) => {
                resolved.insert(i, a);
            }
            Err(_) => break,
        }
    }
    want.into_iter()
        .enumerate()
        .map(|(i, (setting, host, port))| Endpoint {
            setting,
            host,
            port,
            addrs: resolved.remove(&i).unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_lines() {
        let gomod = "module example.com/m\n\ngo 1.99 // newer\n\ntoolchain go1.99.1\n\nrequire (\n\tgolang.org/x/mod v0.1.0\n)\n";
        assert_eq!(
            parse_module_lines(gomod),
            (Some("1.99".into()), Some("go1.99.1".into()))
        );
        assert_eq!(parse_module_lines("module m\n"), (None, None));
    }

    #[test]
    fn env_file_lines() {
        let text =
            "# comment\nGOPROXY=https://goproxy.io,direct\nbad=1\nGOTOOLCHAIN=local\nNOEQUALS\n";
        assert_eq!(
            parse_env_file(text),
            vec![
                ("GOPROXY".into(), "https://goproxy.io,direct".into()),
                ("GOTOOLCHAIN".into(), "local".into())
            ]
        );
        assert_eq!(
            parse_env_file_lines(text)
                .into_iter()
                .map(|(n, k, _)| (n, k))
                .collect::<Vec<_>>(),
            vec![(2, "GOPROXY".into()), (4, "GOTOOLCHAIN".into())]
        );
    }

    #[test]
    fn urls_to_host_and_port() {
        assert_eq!(
            host_port("http://127.0.0.1:41234"),
            Some(("127.0.0.1".into(), 41234))
        );
        assert_eq!(
            host_port("https://proxy.golang.org"),
            Some(("proxy.golang.org".into(), 443))
        );
        assert_eq!(
            host_port("https://u:p@mirror.example/go"),
            Some(("mirror.example".into(), 443))
        );
        assert_eq!(host_port("http://[::1]:8080/x"), Some(("::1".into(), 8080)));
        assert_eq!(host_port("direct"), None);
        assert_eq!(host_port("off"), None);
    }
}
