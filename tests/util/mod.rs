//! Helpers shared by the integration tests: the built binary, Go fixtures compiled at test
//! time, guards that kill what a test started, polling waits, and the typed report reader.
#![allow(dead_code)]

pub mod gomod;
pub mod proxy;
pub mod toolchains;
pub mod traceback;

use gohang::report::Report;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The gohang binary cargo built for these tests.
pub fn gohang() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gohang"));
    c.env_remove("NO_COLOR");
    c
}

/// Whether every live test must run (CI, as root, with scripts/setup.sh done).
pub fn require_all() -> bool {
    std::env::var("GOHANG_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Skip a test loudly when `ok` is false, or fail it when every test must run.
/// Returns whether the test may go on.
pub fn need(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if require_all() {
        panic!("required for this test but missing: {what} (run scripts/setup.sh as root)");
    }
    eprintln!("\n*** SKIPPED: {what} — this test did not run ***\n");
    false
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn qemu_aarch64_registered() -> bool {
    std::fs::read_to_string("/proc/sys/fs/binfmt_misc/qemu-aarch64")
        .is_ok_and(|s| s.starts_with("enabled"))
}

/// Tests that measure CPU or timing hold this lock, so they do not compete for the CPUs.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Build `tests/go/<name>.go` for `goarch` once per test process; returns the binary.
pub fn go_fixture(name: &str, goarch: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<std::collections::HashMap<String, PathBuf>>> = OnceLock::new();
    let map = BUILT.get_or_init(Default::default);
    let key = format!("{name}-{goarch}");
    let mut m = map.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = m.get(&key) {
        return p.clone();
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(&key);
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/go")
        .join(format!("{name}.go"));
    // Build to a private name and rename: other test binaries may build the same fixture.
    let tmp = dir.join(format!(".{key}.{}", std::process::id()));
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&tmp)
        .arg(&src)
        .env("GOARCH", goarch)
        .env("GOOS", "linux")
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .status()
        .expect("go is needed to build test fixtures (scripts/setup.sh installs it)");
    assert!(st.success(), "building {name} for {goarch} failed");
    std::fs::rename(&tmp, &out).unwrap();
    m.insert(key, out.clone());
    out
}

/// Kills a child's whole process group when dropped (py-spy's ScriptRunner idea).
pub struct Guard {
    pub child: Child,
    group: bool,
}

impl Guard {
    /// Spawn `cmd` in a new process group, killed with it on drop.
    pub fn spawn_group(cmd: &mut Command) -> Guard {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        Guard {
            child: cmd.spawn().expect("spawn"),
            group: true,
        }
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    /// Wait for exit up to `limit`; returns the output if it ended.
    pub fn wait_output(mut self, limit: Duration) -> Option<Output> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        let out = child.wait_with_output().ok();
        self.group = false;
        out
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        if self.group {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `f` until it returns Some or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Parse a `--json` report with the typed reader (unknown fields are an error).
pub fn parse_report(stdout: &[u8]) -> Report {
    let text = String::from_utf8_lossy(stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not a gohang report ({e}):\n{text}"))
}

/// The report a `--json` run printed, or a failure quoting its stderr.
pub fn report_in(out: &Output) -> Report {
    assert!(
        !out.stdout.is_empty(),
        "no report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_report(&out.stdout)
}

/// Run a prepared `gohang … --json` command in its own process group (killed with it if
/// the test fails) with no input, and return its report and exit status.
pub fn report_of(c: &mut Command) -> (Report, i32) {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = Guard::spawn_group(c)
        .wait_output(Duration::from_secs(120))
        .expect("gohang finished");
    (report_in(&out), out.status.code().unwrap_or(-1))
}

/// `gohang attach PID --json` with a short window.
pub fn attach_json(pid: u32) -> Report {
    report_in(&run(&[
        "attach",
        &pid.to_string(),
        "--json",
        "--window",
        "1s",
    ]))
}

/// Run `gohang <args>` to completion (with a generous limit) and return its output.
pub fn run(args: &[&str]) -> Output {
    let mut c = gohang();
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let g = Guard::spawn_group(&mut c);
    g.wait_output(Duration::from_secs(120))
        .expect("gohang did not finish in 120 s")
}

/// `gohang attach $$ --json OPTS` run by a shell that waits for it (`; true` keeps the
/// shell from exec-ing gohang, so `$$` stays the shell): gohang attaches to its own parent.
/// Returns the shell's pid, the report as typed and as raw JSON, and gohang's exit code.
pub fn attach_own_parent(
    opts: &[&str],
    env: &[(&str, &Path)],
) -> (u32, Report, serde_json::Value, i32) {
    let script = format!(r#""$0" attach $$ --json {}; true"#, opts.join(" "));
    let mut sh = Command::new("sh");
    sh.args(["-c", &script, env!("CARGO_BIN_EXE_gohang")])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let g = Guard::spawn_group(&mut sh);
    let sh_pid = g.pid();
    let out = g
        .wait_output(Duration::from_secs(120))
        .expect("gohang finished");
    let err = String::from_utf8_lossy(&out.stderr);
    let raw: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}); stderr:\n{err}"));
    let r = parse_report(&out.stdout);
    (sh_pid, r, raw, out.status.code().unwrap_or(-1))
}

/// Children of `pid` (from every /proc/*/stat).
#[cfg(target_os = "linux")]
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Ok(stat) = std::fs::read(format!("/proc/{p}/stat"))
            && gohang::observe::parse_stat_ppid(&stat) == Some(pid)
        {
            v.push(p);
        }
    }
    v
}

/// All descendants of `pid`.
#[cfg(target_os = "linux")]
pub fn descendants_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children_of(p) {
            out.push(c);
            todo.push(c);
        }
    }
    out
}

/// The process's start time (stat field 22): with the pid, its identity.
#[cfg(target_os = "linux")]
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Is (pid, start) still a live (non-zombie) process?
#[cfg(target_os = "linux")]
pub fn alive(pid: u32, start: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    let state = stat[close + 2..].chars().next();
    start_time(pid) == Some(start) && !matches!(state, Some('Z') | Some('X'))
}

#[cfg(target_os = "linux")]
pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// A TCP server on 127.0.0.1 that accepts connections and never answers, like a module
/// proxy or VCS host that hangs. It stops by itself when dropped, or after `limit`.
pub struct SilentServer {
    pub addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentServer {
    pub fn start(limit: Duration) -> SilentServer {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + limit;
            let mut held = Vec::new();
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((conn, _)) => held.push(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        SilentServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An HTTP server on 127.0.0.1 that answers every request with a 100 000-byte body sent
/// one byte every 50 ms (20 B/s): a peer that answers, too slowly. It stops by itself at
/// `limit`, or when dropped.
pub struct TrickleServer {
    pub addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TrickleServer {
    pub fn start(limit: Duration) -> TrickleServer {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + limit;
            let mut conns: Vec<std::net::TcpStream> = Vec::new();
            let mut last = Instant::now();
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Ok((mut c, _)) = listener.accept() {
                    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    let mut req = [0u8; 4096];
                    let _ = c.read(&mut req);
                    let _ = c.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n",
                    );
                    conns.push(c);
                }
                if last.elapsed() >= Duration::from_millis(50) {
                    last = Instant::now();
                    conns.retain_mut(|c| c.write_all(b"x").is_ok());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        TrickleServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for TrickleServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
