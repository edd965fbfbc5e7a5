//! Live tests of the wait causes: a module proxy on 127.0.0.1 that accepts and never
//! answers, a toolchain download through it, a module-cache lock held by another process,
//! a C compiler that never returns, a prompt on a terminal. Each runs a real `go`.
#![cfg(target_os = "linux")]

mod util;

use gohang::report::Report;
use gohang::verdict::VerdictKind;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use util::gomod::*;
use util::*;

/// `gohang probe --json` with a go environment that never leaves 127.0.0.1.
fn probe_go(m: &Module, env: &[(&str, &str)], opts: &[&str], cmd: &[&str]) -> (Report, i32) {
    let mut c = gohang();
    c.arg("probe").arg("--json").args(opts).arg("--").args(cmd);
    isolated_go_env(&mut c, m);
    for (k, v) in env {
        c.env(k, v);
    }
    report_of(&mut c)
}

fn go_ok() -> bool {
    need(have("go"), "a go on PATH (scripts/setup.sh)")
}

#[test]
fn silent_module_proxy_is_network_wait() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let server = SilentServer::start(Duration::from_secs(90));
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let (r, code) = probe_go(
        &m,
        &[("GOPROXY", &server.url())],
        &["--timeout", "2s", "--window", "1s"],
        &["go", "mod", "download"],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::NetworkWait, "{r:#?}");
    assert!(
        p.summary.contains(&server.addr.to_string()),
        "names the address: {}",
        p.summary
    );
    assert!(
        p.summary.contains("GOPROXY"),
        "names the setting: {}",
        p.summary
    );
    assert!(
        p.evidence.iter().any(|e| e.contains("ESTABLISHED")),
        "{:#?}",
        p.evidence
    );
    assert!(p.remedy.as_deref().unwrap().contains("GOPRIVATE"));
    assert!(
        !p.remedy.as_deref().unwrap().contains("-mod=mod"),
        "-mod=mod is not a fix for a hang"
    );
    // The goroutine dump was taken and names the net/http frame.
    assert!(
        p.evidence
            .iter()
            .any(|e| e.starts_with("Go runtime of pid") && e.contains("net/http")),
        "{:#?}",
        p.evidence
    );
    assert_eq!(code, 1);
}

/// A proxy that answers at 20 B/s: its connection shows rx_queue 0 (go reads what comes at
/// once), yet it is not silent. gohang reports a slow transfer with its rate (issue 13):
/// progressing, not a network wait (issue 17).
#[test]
fn trickling_module_proxy_is_slow_not_silent() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let server = TrickleServer::start(Duration::from_secs(90));
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let (r, _) = probe_go(
        &m,
        &[("GOPROXY", &server.url())],
        &["--timeout", "2s", "--window", "2s", "--no-goroutines"],
        &["go", "mod", "download"],
    );
    let v = r
        .verdicts
        .iter()
        .find(|v| v.kind == VerdictKind::Progressing)
        .unwrap_or_else(|| panic!("{r:#?}"));
    assert!(v.summary.contains("receives slowly"), "{r:#?}");
    assert!(v.summary.contains("B/s"), "{}", v.summary);
    assert!(
        v.evidence.iter().all(|e| !e.contains("nothing received")),
        "{:#?}",
        v.evidence
    );
}

#[test]
fn wrapper_does_not_hide_the_network_wait() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let server = SilentServer::start(Duration::from_secs(90));
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let (r, _) = probe_go(
        &m,
        &[("GOPROXY", &server.url())],
        &["--timeout", "2s", "--window", "1s", "--no-goroutines"],
        &["sh", "-c", "go mod download; echo done"],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::NetworkWait, "{r:#?}");
    assert_eq!(r.chain.len(), 2, "sh → go: {:?}", r.chain);
    assert_eq!(r.chain[0], r.target.pid.unwrap());
    assert_eq!(p.pid, Some(r.chain[1]));
}

#[test]
fn newer_go_line_with_gotoolchain_auto_is_toolchain_download() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let server = SilentServer::start(Duration::from_secs(90));
    let m = Module::new("1.99", None);
    let (r, code) = probe_go(
        &m,
        &[("GOPROXY", &server.url()), ("GOTOOLCHAIN", "auto")],
        &["--timeout", "2s", "--window", "1s"],
        &["go", "build"],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ToolchainDownload, "{r:#?}");
    assert!(
        p.summary.contains("go1.99.0") && p.summary.contains("GOTOOLCHAIN=auto"),
        "{}",
        p.summary
    );
    assert!(p.evidence.iter().any(|e| e.contains("go 1.99")));
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("go: downloading go1.99.0")),
        "{:#?}",
        p.evidence
    );
    assert!(p.remedy.as_deref().unwrap().contains("GOTOOLCHAIN=local"));
    assert!(
        r.verdicts
            .iter()
            .any(|v| v.kind == VerdictKind::NetworkWait),
        "the network wait stays as context"
    );
    assert_eq!(code, 1);
}

#[test]
fn module_cache_lock_held_by_another_process_is_lock_wait() {
    if !go_ok() || !need(have("flock"), "flock (util-linux)") {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    // The dependency's go.mod is already cached, so go needs no network: it goes straight
    // to the zip, whose lock (cmd/go/internal/modfetch.lockVersion) another process holds.
    let lock = m.cached_dep_lock();
    let holder = hold_lock(&lock);

    let (r, code) = probe_go(
        &m,
        &[],
        &["--timeout", "2s", "--window", "1s"],
        &["go", "mod", "download"],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::LockWait, "{r:#?}");
    assert!(
        p.summary.contains(lock.to_str().unwrap()),
        "names the lock file: {}",
        p.summary
    );
    assert!(
        p.summary.contains(&format!("held by pid {}", holder.pid())),
        "names the holder: {}",
        p.summary
    );
    assert!(p.summary.contains("example.com/dep@v1.0.0"));
    assert!(
        p.remedy
            .as_deref()
            .unwrap()
            .contains(&format!("kill {}", holder.pid()))
    );
    // The goroutine dump names the lockedfile frame.
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("Go runtime of pid") && e.contains("cmd/go/internal/lockedfile")),
        "{:#?}",
        p.evidence
    );
    assert_eq!(code, 1);
}

#[test]
fn cc_that_never_returns_is_child_wait() {
    if !go_ok() || !need(have("gcc") || have("cc"), "a C toolchain for cgo") {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", None);
    let cc = m.cgo_with_slow_cc();
    let out = m.dir.path().join("out");
    m.warm_cgo_build(&out);
    let (r, code) = probe_go(
        &m,
        &[("CC", cc.to_str().unwrap()), ("CGO_ENABLED", "1")],
        &["--timeout", "3s", "--window", "1s"],
        &["go", "build", "-o", out.to_str().unwrap(), "."],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    // go → … → the script (sh running slowcc) → its sleep
    assert!(r.chain.len() >= 3, "{:?}", r.chain);
    assert_eq!(r.chain[0], r.target.pid.unwrap(), "the chain starts at go");
    let names: Vec<String> = r
        .chain
        .iter()
        .map(|pid| {
            r.processes
                .iter()
                .find(|q| q.pid == *pid)
                .map(|q| q.command.clone())
                .unwrap_or_default()
        })
        .collect();
    assert!(
        names.iter().any(|n| n.contains("slowcc")),
        "the script is in the chain: {names:?}"
    );
    assert!(
        p.evidence.iter().any(|e| e.contains("CC=")),
        "the CC setting is named: {:#?}",
        p.evidence
    );
    assert_eq!(code, 1);
}

#[test]
fn reading_the_terminal_is_prompt_wait() {
    if !need(have("python3"), "python3") {
        return;
    }
    let _s = serial();
    // The helper owns a pty; its child, in the foreground, asks and reads like git does.
    let helper = r#"
import os, pty, time
pid, master = pty.fork()
if pid == 0:
    os.write(1, b"Username for 'https://git.example.com': ")
    os.read(0, 1)
    os._exit(0)
time.sleep(3600)
"#;
    let out = run(&[
        "probe",
        "--json",
        "--timeout",
        "1500ms",
        "--window",
        "1s",
        "--",
        "python3",
        "-c",
        helper,
    ]);
    let r = parse_report(&out.stdout);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::PromptWait, "{r:#?}");
    assert!(p.summary.contains("/dev/pts/"), "{}", p.summary);
    assert!(
        p.evidence.iter().any(|e| e.contains("fd 0")),
        "{:#?}",
        p.evidence
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn user_setting_that_re_enables_git_prompts_is_named() {
    if !go_ok() || !need(have("python3"), "python3") {
        return;
    }
    let _s = serial();
    // A go whose child prompts on a terminal, with GIT_TERMINAL_PROMPT=1 set by the user.
    let helper = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prompting-child.py");
    std::fs::write(
        &helper,
        "import os, pty, time\npid, master = pty.fork()\nif pid == 0:\n    os.read(0, 1)\n    os._exit(0)\ntime.sleep(3600)\n",
    )
    .unwrap();
    let m = Module::new("1.21", None);
    // go generate runs the helper as the go command's child.
    std::fs::write(
        m.app().join("main.go"),
        format!(
            "package main\n\n//go:generate python3 {}\n\nfunc main() {{}}\n",
            helper.display()
        ),
    )
    .unwrap();
    let (r, _) = probe_go(
        &m,
        &[("GIT_TERMINAL_PROMPT", "1")],
        &["--timeout", "2s", "--window", "1s", "--no-goroutines"],
        &["go", "generate"],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::PromptWait, "{r:#?}");
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("GIT_TERMINAL_PROMPT=1")),
        "the setting is named: {:#?}",
        p.evidence
    );
}

/// A shell waits for any child (`wait4(-1)`): the chain follows the command it runs in the
/// foreground — the newest child — not the background job, and says it had to choose.
#[test]
fn a_shell_waiting_for_any_child_is_followed_to_its_foreground_command() {
    let _s = serial();
    // `; :` keeps the shell from exec-ing its last command; the subshell is a background
    // branch one level deeper than the foreground sleep, which must not win for its depth.
    for script in ["sleep 104 & sleep 105; :", "(sleep 104; :) & sleep 105; :"] {
        let out = run(&[
            "probe",
            "--json",
            "--timeout",
            "1s",
            "--window",
            "500ms",
            "--",
            "sh",
            "-c",
            script,
        ]);
        let r = parse_report(&out.stdout);
        let p = r.primary();
        assert_eq!(p.kind, VerdictKind::ChildWait, "{script}: {r:#?}");
        let leaf = r
            .processes
            .iter()
            .find(|q| Some(q.pid) == p.pid)
            .expect("the culprit is in the report");
        assert_eq!(leaf.command, "sleep 105", "{script}: {r:#?}");
        assert_eq!(
            r.chain,
            vec![r.target.pid.unwrap(), leaf.pid],
            "{script}: sh → sleep 105"
        );
        assert!(
            p.evidence
                .iter()
                .any(|e| e.contains("waits for any of its children") && e.contains("a guess")),
            "{script}: the choice is said to be a guess: {:#?}",
            p.evidence
        );
    }
}

/// Is `pid` listed in /proc/locks, waiting (`->`) or holding?
fn in_proc_locks(pid: u32, waiting: bool) -> bool {
    std::fs::read_to_string("/proc/locks").is_ok_and(|l| {
        l.lines()
            .any(|line| line.contains("->") == waiting && line.contains(&format!(" {pid} ")))
    })
}

#[test]
fn lock_wait_whose_holder_is_stuck_is_explained_by_the_holder() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let server = SilentServer::start(Duration::from_secs(90));
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let lock = m.cached_dep_lock();
    let go = |m: &Module| {
        let mut c = std::process::Command::new("go");
        c.args(["mod", "download"]);
        isolated_go_env(&mut c, m);
        c.env("GOPROXY", server.url())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Guard::spawn_group(&mut c)
    };
    // The first go takes the zip's lock and waits on the proxy, which never answers; the
    // second, sharing the module cache (not its child), waits for that lock.
    let first = go(&m);
    wait_for(Duration::from_secs(60), || {
        in_proc_locks(first.pid(), false).then_some(())
    })
    .expect("the first go never took the lock");
    let second = go(&m);
    wait_for(Duration::from_secs(60), || {
        in_proc_locks(second.pid(), true).then_some(())
    })
    .expect("the second go never waited for the lock");

    let r = attach_json(second.pid());
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::NetworkWait, "{r:#?}");
    assert_eq!(p.pid, Some(first.pid()), "the holder is the culprit");
    assert_eq!(r.chain, vec![second.pid(), first.pid()], "{r:#?}");
    assert!(
        p.summary.contains(lock.to_str().unwrap()) && p.summary.contains(&server.addr.to_string()),
        "the lock and the holder's wait: {}",
        p.summary
    );
    assert!(
        p.evidence.iter().any(|e| e.starts_with("chain: ")),
        "{:#?}",
        p.evidence
    );
    assert!(
        r.verdicts.iter().any(|v| v.kind == VerdictKind::LockWait),
        "the lock wait stays as context: {r:#?}"
    );

    // Stopped, the holder explains the wait by its stop.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first.pid() as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{}/stat", first.pid()))
            .ok()
            .filter(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('T'))
            })
    })
    .expect("the first go never stopped");
    let r = attach_json(second.pid());
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Stopped, "{r:#?}");
    assert_eq!(p.pid, Some(first.pid()));
    assert_eq!(r.chain, vec![second.pid(), first.pid()], "{r:#?}");
    assert!(p.summary.contains("waits for the lock on"), "{}", p.summary);
    drop(second);
    drop(first);
}

/// A UDP server on 127.0.0.1:53 that takes queries and never answers; None (said loudly)
/// when the port cannot be had (not root, or a resolver listens there).
struct SilentNameserver {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentNameserver {
    fn start(limit: Duration) -> Option<SilentNameserver> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let sock = match std::net::UdpSocket::bind("127.0.0.1:53") {
            Ok(s) => s,
            Err(e) => {
                need(
                    false,
                    &format!("127.0.0.1:53 for a silent nameserver ({e})"),
                );
                return None;
            }
        };
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + limit;
            let mut buf = [0u8; 1500];
            while !flag.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
                let _ = sock.recv_from(&mut buf);
            }
        });
        Some(SilentNameserver {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for SilentNameserver {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn name_resolution_nobody_answers_is_network_wait_for_dns() {
    if !go_ok()
        || !need(
            is_root() && have("unshare"),
            "root and unshare (a private mount namespace)",
        )
    {
        return;
    }
    let _s = serial();
    let Some(_ns) = SilentNameserver::start(Duration::from_secs(90)) else {
        return;
    };
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    // The go command's own resolv.conf (a private mount namespace) names the silent server;
    // one attempt with a long timeout keeps one query socket open through the window.
    let conf = m.dir.path().join("resolv.conf");
    std::fs::write(
        &conf,
        "nameserver 127.0.0.1\noptions timeout:30 attempts:1\n",
    )
    .unwrap();
    let mut c = std::process::Command::new("unshare");
    c.args([
        "-m",
        "sh",
        "-c",
        "mount --bind \"$0\" /etc/resolv.conf && exec go mod download",
    ])
    .arg(&conf);
    isolated_go_env(&mut c, &m);
    c.env("GOPROXY", "http://modproxy.gohang-test.invalid:8080")
        .env("GODEBUG", "netdns=go")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let go = Guard::spawn_group(&mut c);
    let pid = go.pid();
    // 0100007F:0035 is 127.0.0.1:53 in /proc/PID/net/udp.
    wait_for(Duration::from_secs(60), || {
        std::fs::read_to_string(format!("/proc/{pid}/net/udp"))
            .ok()
            .filter(|t| {
                t.lines()
                    .any(|l| l.split_whitespace().nth(2) == Some("0100007F:0035"))
            })
            .filter(|_| comm(pid).as_deref() == Some("go"))
    })
    .expect("go never sent a query to 127.0.0.1:53");

    let r = attach_json(pid);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::NetworkWait, "{r:#?}");
    assert_eq!(p.pid, Some(pid));
    assert!(
        p.summary
            .contains("name resolution of modproxy.gohang-test.invalid (the GOPROXY host)")
            && p.summary.contains("nameserver 127.0.0.1:53 get no answer"),
        "{}",
        p.summary
    );
    assert!(
        p.evidence.iter().any(|e| e
            .starts_with("/etc/resolv.conf as the process sees it (not gohang's")
            && e.contains("nameserver 127.0.0.1")),
        "{:#?}",
        p.evidence
    );
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("udp") && e.contains("no answer came back")),
        "{:#?}",
        p.evidence
    );
    assert!(
        p.remedy
            .as_deref()
            .unwrap()
            .contains("dig @127.0.0.1 modproxy.gohang-test.invalid")
    );
    drop(go);
}

/// An HTTP server on 127.0.0.1 that asks every request for credentials (401, Basic),
/// like a private git host; it stops by itself.
struct AuthServer {
    addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AuthServer {
    fn start(limit: Duration) -> AuthServer {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + limit;
            while !flag.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 4096];
                        let _ = conn.read(&mut buf);
                        let _ = conn.write_all(
                            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"private\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        AuthServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn askpass_that_never_answers_is_prompt_wait_naming_the_setting() {
    if !need(have("git"), "git") {
        return;
    }
    let _s = serial();
    let server = AuthServer::start(Duration::from_secs(90));
    let dir = tempfile::tempdir().unwrap();
    // A dialog nobody answers.
    let askpass = dir.path().join("askpass-dialog");
    std::fs::write(&askpass, "#!/bin/sh\nsleep 120\n").unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&askpass)
        .status()
        .unwrap();
    let mut c = std::process::Command::new("git");
    c.args([
        "ls-remote",
        &format!("http://{}/private/repo.git", server.addr),
    ])
    .env("HOME", dir.path())
    .env("XDG_CONFIG_HOME", dir.path())
    .env("GIT_CONFIG_NOSYSTEM", "1")
    .env("GIT_ASKPASS", &askpass)
    // As go sets it: it turns off the terminal prompt, not the askpass.
    .env("GIT_TERMINAL_PROMPT", "0")
    .env_remove("SSH_ASKPASS")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let git = Guard::spawn_group(&mut c);
    let script = askpass.to_str().unwrap().to_string();
    let helper = wait_for(Duration::from_secs(30), || {
        descendants_of(git.pid()).into_iter().find(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|b| String::from_utf8_lossy(&b).contains(&script))
        })
    })
    .expect("git never ran the askpass");

    let r = attach_json(git.pid());
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::PromptWait, "{r:#?}");
    assert_eq!(p.pid, Some(helper));
    assert!(
        p.summary.contains(&format!("GIT_ASKPASS={script}")),
        "{}",
        p.summary
    );
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("comes from the environment")),
        "{:#?}",
        p.evidence
    );
    assert!(p.remedy.as_deref().unwrap().contains("GIT_ASKPASS="));
    drop(git);
}

/// A cgroup with a CPU bandwidth limit, created for the test and removed on drop (after
/// the processes put in it have been killed).
struct QuotaCgroup {
    dir: std::path::PathBuf,
}

impl QuotaCgroup {
    /// `quota_us` per 100 ms, in cgroup v2 where its cpu controller is usable, else in
    /// the v1 cpu hierarchy.
    fn create(quota_us: u64) -> Option<QuotaCgroup> {
        let name = format!("gohang-test-{}", std::process::id());
        for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
            let ctl = std::fs::read_to_string(format!("{root}/cgroup.subtree_control"))
                .unwrap_or_default();
            if ctl.split_whitespace().any(|c| c == "cpu") {
                let dir = std::path::Path::new(root).join(&name);
                std::fs::create_dir(&dir).ok()?;
                let cg = QuotaCgroup { dir };
                std::fs::write(cg.dir.join("cpu.max"), format!("{quota_us} 100000")).ok()?;
                return Some(cg);
            }
        }
        let v1 = std::path::Path::new("/sys/fs/cgroup/cpu");
        if v1.join("cpu.cfs_quota_us").exists() {
            let dir = v1.join(&name);
            std::fs::create_dir(&dir).ok()?;
            let cg = QuotaCgroup { dir };
            std::fs::write(cg.dir.join("cpu.cfs_period_us"), "100000").ok()?;
            std::fs::write(cg.dir.join("cpu.cfs_quota_us"), quota_us.to_string()).ok()?;
            return Some(cg);
        }
        None
    }

    fn add(&self, pid: u32) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string()).unwrap();
    }
}

impl Drop for QuotaCgroup {
    fn drop(&mut self) {
        // Empty once its processes are gone; they may take a moment to be reaped.
        let _ = wait_for(Duration::from_secs(5), || {
            std::fs::remove_dir(&self.dir).ok()
        });
    }
}

#[test]
fn a_cpu_bound_process_throttled_by_its_cgroup_quota_says_so() {
    if !need(is_root(), "root, to create a cgroup") {
        return;
    }
    let _s = serial();
    let Some(cg) = QuotaCgroup::create(2000) else {
        need(false, "a cgroup with the cpu controller");
        return;
    };
    let mut c = std::process::Command::new("sh");
    c.args(["-c", "while :; do :; done"]).stdin(Stdio::null());
    let spinner = Guard::spawn_group(&mut c);
    cg.add(spinner.pid());
    let r = attach_json(spinner.pid());
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Spinning, "{r:#?}");
    assert!(
        p.summary
            .contains("throttled by its cgroup's CPU quota (2 % of a core"),
        "{}",
        p.summary
    );
    assert!(
        p.evidence
            .iter()
            .any(|e| e.starts_with("cpu.stat: throttled ")),
        "{:#?}",
        p.evidence
    );
    assert!(
        p.remedy
            .as_deref()
            .unwrap()
            .contains("allows 2 % of a core")
    );
    drop(spinner);
    drop(cg);
}

#[test]
fn ssh_remote_that_never_sends_a_banner_names_the_rewrite_and_the_timeout() {
    if !need(have("git") && have("ssh"), "git and ssh") {
        return;
    }
    let _s = serial();
    let server = SilentServer::start(Duration::from_secs(90));
    let dir = tempfile::tempdir().unwrap();
    let mut c = std::process::Command::new("git");
    // The URL as asked for, rewritten to ssh by the process's own git config.
    c.arg("-c")
        .arg(format!(
            "url.ssh://git@127.0.0.1:{}/.insteadOf=https://git.example.com/",
            server.addr.port()
        ))
        .args(["ls-remote", "https://git.example.com/org/private.git"])
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env(
            "GIT_SSH_COMMAND",
            "ssh -o ControlMaster=no -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let git = Guard::spawn_group(&mut c);
    let ssh = wait_for(Duration::from_secs(30), || {
        descendants_of(git.pid())
            .into_iter()
            .find(|p| comm(*p).as_deref() == Some("ssh"))
    })
    .expect("git never ran ssh");
    // Connected: the silent server accepted it.
    std::thread::sleep(Duration::from_millis(300));

    let r = attach_json(git.pid());
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::NetworkWait, "{r:#?}");
    assert_eq!(p.pid, Some(ssh));
    assert!(
        p.summary.contains(&format!(
            "the ssh server 127.0.0.1 port {}, repository /org/private.git",
            server.addr.port()
        )),
        "{}",
        p.summary
    );
    assert!(
        p.evidence.iter().any(|e| e.contains(
            "was asked for https://git.example.com/org/private.git, and git rewrote it to ssh"
        )),
        "{:#?}",
        p.evidence
    );
    assert!(
        p.remedy
            .as_deref()
            .unwrap()
            .contains("GIT_SSH_COMMAND='ssh -o ConnectTimeout=15")
    );
    drop(git);
}
