//! `gohang attach PID` on live processes the test starts itself (never gohang): each stuck
//! scenario of the probe tests gets the same verdict through attach, and attach leaves the
//! target as it found it — same state, same signal masks, no tracer at any moment, the same
//! CPU trend, still running afterwards. Every pid attach must refuse gets its one-line
//! message and exit code.
#![cfg(target_os = "linux")]

mod util;

use gohang::report::Report;
use gohang::verdict::VerdictKind;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};
use util::gomod::*;
use util::*;

/// What attach must not change about a process: its state letter, its signal masks and
/// whether anything traces it (`/proc/PID/stat`, `/proc/PID/status`, `proc(5)`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Untouched {
    state: char,
    sig_pnd: String,
    shd_pnd: String,
    sig_blk: String,
    sig_ign: String,
    sig_cgt: String,
    tracer: u32,
}

fn status_field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// SIGURG (23) is the signal the Go runtime preempts its own threads with, many times a
/// second in a busy program (`runtime/signal_unix.go`, `sigPreempt`): one may be pending
/// at any moment, whoever looks. A pending mask without it.
fn pending(status: &str, key: &str) -> String {
    const SIGURG: u64 = 1 << (23 - 1);
    let mask = u64::from_str_radix(&status_field(status, key), 16).expect("a signal mask");
    format!("{:016x}", mask & !SIGURG)
}

fn untouched(pid: u32) -> Untouched {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("target alive");
    Untouched {
        state: stat_state(pid).expect("target alive"),
        sig_pnd: pending(&status, "SigPnd:"),
        shd_pnd: pending(&status, "ShdPnd:"),
        sig_blk: status_field(&status, "SigBlk:"),
        sig_ign: status_field(&status, "SigIgn:"),
        sig_cgt: status_field(&status, "SigCgt:"),
        tracer: status_field(&status, "TracerPid:")
            .parse()
            .unwrap_or(u32::MAX),
    }
}

fn stat_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// utime + stime of the whole process, in clock ticks (stat fields 14, 15).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// CPU used over `over`, as a share of one core.
fn cpu_share(pid: u32, over: Duration) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let a = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(over);
    let b = cpu_ticks(pid);
    (b - a) as f64 / hz / t.elapsed().as_secs_f64()
}

/// Nanoseconds the threads of `pid` have spent on a CPU or waiting in a run queue for one
/// (`/proc/PID/task/TID/schedstat`, fields 1 and 2).
fn cpu_demand_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .map(|s| {
            s.split_whitespace()
                .take(2)
                .map(|f| f.parse::<u64>().unwrap_or(0))
                .sum::<u64>()
        })
        .sum()
}

/// The CPU `pid` wanted over `over`, as a share of one core: running or waiting to run.
/// Near 1.0 for a process that never sleeps, however little CPU a loaded machine gives it.
fn cpu_demand(pid: u32, over: Duration) -> f64 {
    let a = cpu_demand_ns(pid);
    let t = Instant::now();
    std::thread::sleep(over);
    let b = cpu_demand_ns(pid);
    b.saturating_sub(a) as f64 / 1e9 / t.elapsed().as_secs_f64()
}

/// Polls TracerPid of every thread of `pid` while gohang runs: the highest seen.
struct TracerWatch {
    stop: Arc<AtomicBool>,
    seen: Arc<AtomicU32>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TracerWatch {
    fn start(pid: u32) -> TracerWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(AtomicU32::new(0));
        let (s, n) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
                    for t in tasks.flatten() {
                        if let Ok(st) = std::fs::read_to_string(t.path().join("status")) {
                            let tr: u32 = status_field(&st, "TracerPid:").parse().unwrap_or(0);
                            n.fetch_max(tr, Ordering::Relaxed);
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        TracerWatch {
            stop,
            seen,
            thread: Some(thread),
        }
    }
    fn finish(mut self) -> u32 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.seen.load(Ordering::Relaxed)
    }
}

/// `gohang attach PID --json` plus options.
fn attach(pid: u32, opts: &[&str]) -> (Report, i32, Output) {
    let pid_s = pid.to_string();
    let mut args = vec!["attach", pid_s.as_str(), "--json"];
    args.extend_from_slice(opts);
    let out = run(&args);
    assert!(
        !out.stdout.is_empty(),
        "no report; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = parse_report(&out.stdout);
    let code = out.status.code().unwrap_or(-1);
    (r, code, out)
}

/// Attach read-only and check that nothing about the target changed: no tracer at any
/// moment, the same state and signal masks after as before.
fn attach_read_only(pid: u32, opts: &[&str]) -> (Report, i32) {
    let before = untouched(pid);
    assert_eq!(before.tracer, 0, "the target is traced before the test");
    let watch = TracerWatch::start(pid);
    let (r, code, _) = attach(pid, opts);
    let traced = watch.finish();
    assert_eq!(
        traced, 0,
        "a thread of pid {pid} was traced during the attach"
    );
    let after = untouched(pid);
    // R and S are one state for this purpose: a running Go program's leader thread
    // flickers between them on its own.
    let running = |s: char| matches!(s, 'R' | 'S');
    let same_state = before.state == after.state || (running(before.state) && running(after.state));
    assert!(
        same_state,
        "attach changed the state of pid {pid}: {before:?} → {after:?}"
    );
    assert_eq!(
        Untouched {
            state: before.state,
            ..after
        },
        before,
        "attach changed the signal masks of pid {pid}"
    );
    assert_eq!(r.command, "attach");
    assert_eq!(r.target.pid, Some(pid));
    (r, code)
}

fn go_ok() -> bool {
    need(have("go"), "a go on PATH (scripts/setup.sh)")
}

/// A Go program started by the test, in its own process group, with its stderr read up
/// to its first line (the program is then running main).
fn start_fixture(name: &str) -> Guard {
    let bin = go_fixture(name, "amd64");
    let mut c = Command::new(bin);
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut g = Guard::spawn_group(&mut c);
    let mut err = g.child.stderr.take().unwrap();
    let mut buf = [0u8; 64];
    use std::io::Read;
    let n = err.read(&mut buf).unwrap();
    assert!(n > 0, "{name} printed nothing");
    g
}

#[test]
fn stopped_go_program() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let g = start_fixture("sleeper");
    let pid = g.pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    wait_for(Duration::from_secs(5), || {
        (stat_state(pid) == Some('T')).then_some(())
    })
    .expect("the sleeper never stopped");
    let (r, code) = attach_read_only(pid, &["--window", "1s"]);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Stopped, "{r:#?}");
    assert_eq!(p.pid, Some(pid));
    assert!(p.remedy.as_deref().unwrap().contains("kill -CONT"));
    assert_eq!(r.outcome, gohang::evidence::Outcome::Attached);
    assert_eq!(code, 1);
    // It did not run while stopped, and runs when continued.
    assert_eq!(cpu_share(pid, Duration::from_millis(300)), 0.0);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGCONT,
    )
    .unwrap();
    wait_for(Duration::from_secs(5), || {
        (stat_state(pid) == Some('S')).then_some(())
    })
    .expect("the sleeper runs again after SIGCONT");
}

#[test]
fn spinning_go_program_keeps_its_cpu_trend() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let g = start_fixture("spinner");
    let pid = g.pid();
    let before = cpu_demand(pid, Duration::from_secs(1));
    let (r, code) = attach_read_only(pid, &["--window", "2s"]);
    let after = cpu_demand(pid, Duration::from_secs(1));
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Spinning, "{r:#?}");
    assert_eq!(p.pid, Some(pid));
    assert!(p.evidence.iter().any(|e| e.starts_with("used ")), "{p:#?}");
    assert_eq!(code, 1);
    // It wanted a whole core before and after (running, or queued for a CPU on a loaded
    // machine): attach neither stopped nor slowed it.
    assert!(
        before > 0.8 && after > 0.8,
        "CPU demand {before:.2} → {after:.2}"
    );
}

/// Run `cmd` on one CPU only (the first this process may use).
fn pin_to_one_cpu(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: a zeroed cpu_set_t is an empty set; sched_getaffinity fills it.
    let mut mine: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `mine` is a valid cpu_set_t of `size` bytes.
    assert_eq!(unsafe { libc::sched_getaffinity(0, size, &mut mine) }, 0);
    // SAFETY: CPU_ISSET reads a valid set.
    let cpu = (0..libc::CPU_SETSIZE as usize)
        .find(|c| unsafe { libc::CPU_ISSET(*c, &mine) })
        .expect("a CPU this process may run on");
    // SAFETY: the closure runs in the child between fork and exec and only calls
    // async-signal-safe functions on a set built on its stack.
    unsafe {
        cmd.pre_exec(move || {
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut one);
            if libc::sched_setaffinity(0, size, &one) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// A spinner sharing one CPU with five other busy loops gets about a sixth of it, and
/// sampled states show it in R only part of the time; it never sleeps though, and its
/// run-queue wait (schedstat) says so. The verdict must not depend on how loaded the
/// machine is.
#[test]
fn a_spinner_crowded_onto_one_cpu_is_spinning() {
    if !need(have("sh"), "sh") {
        return;
    }
    let _s = serial();
    let busy_loop = || {
        let mut c = Command::new("sh");
        c.args(["-c", "while :; do :; done"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        pin_to_one_cpu(&mut c);
        Guard::spawn_group(&mut c)
    };
    let _neighbours: Vec<Guard> = (0..5).map(|_| busy_loop()).collect();
    let spinner = busy_loop();
    let pid = spinner.pid();
    std::thread::sleep(Duration::from_millis(200));
    let (r, code) = attach_read_only(pid, &["--window", "2s"]);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Spinning, "{r:#?}");
    assert_eq!(p.pid, Some(pid));
    assert_eq!(code, 1);
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("was running or waiting for a CPU") && e.contains("(schedstat)")),
        "{p:#?}"
    );
}

#[test]
fn go_waiting_on_a_silent_module_proxy_is_network_wait() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let server = SilentServer::start(Duration::from_secs(90));
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let mut c = Command::new("go");
    c.args(["mod", "download"]);
    isolated_go_env(&mut c, &m);
    c.env("GOPROXY", server.url())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let g = Guard::spawn_group(&mut c);
    let pid = g.pid();
    wait_for_connection(pid, &server.addr.to_string());
    let (r, code) = attach_read_only(pid, &["--window", "1s"]);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::NetworkWait, "{r:#?}");
    assert_eq!(p.pid, Some(pid));
    assert!(
        p.summary.contains(&server.addr.to_string()),
        "{}",
        p.summary
    );
    assert!(p.summary.contains("GOPROXY"), "{}", p.summary);
    assert_eq!(code, 1);
    assert!(
        alive(pid, start_time(pid).unwrap()),
        "still waiting afterwards"
    );
}

/// The goroutines of the stuck go are read from its memory by default, without a signal:
/// the evidence carries them (source `memory`), the verdict quotes the goroutine waiting
/// on the proxy, and the go command is still waiting afterwards.
#[test]
fn goroutines_of_a_stuck_go_are_read_from_memory_without_a_signal() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let server = SilentServer::start(Duration::from_secs(90));
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let mut c = Command::new("go");
    c.args(["mod", "download"]);
    isolated_go_env(&mut c, &m);
    c.env("GOPROXY", server.url())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let g = Guard::spawn_group(&mut c);
    let pid = g.pid();
    let start = start_time(pid).unwrap();
    wait_for_connection(pid, &server.addr.to_string());
    let saved = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("memdump-{pid}.json"));
    let saved_s = saved.to_string_lossy().into_owned();
    let (r, _code) = attach_read_only(pid, &["--window", "1s", "--save-evidence", &saved_s]);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::NetworkWait, "{r:#?}");
    let quoted = p
        .evidence
        .iter()
        .find(|e| {
            e.starts_with(&format!(
                "Go runtime of pid {pid} (read from memory): goroutine "
            ))
        })
        .unwrap_or_else(|| panic!("no goroutine quoted: {:#?}", p.evidence));
    assert!(
        quoted.contains("waits on the network (in net/http.") || quoted.contains("(in net."),
        "{quoted}"
    );
    assert!(
        r.notes.iter().all(|n| !n.contains("SIGQUIT")),
        "{:#?}",
        r.notes
    );
    let ev: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let _ = std::fs::remove_file(&saved);
    let d = &ev["goroutines"];
    assert_eq!(d["source"], "memory", "{d:#}");
    assert_eq!(d["pid"], pid);
    assert_eq!(d["answered"], true);
    let functions: Vec<&str> = d["goroutines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["frames"].as_array().unwrap().iter())
        .filter_map(|f| f["function"].as_str())
        .collect();
    assert!(
        functions
            .iter()
            .any(|f| f.starts_with("cmd/go/internal/modfetch")),
        "{functions:#?}"
    );
    assert!(
        functions.iter().any(|f| f.starts_with("net/http.")),
        "{functions:#?}"
    );
    assert!(alive(pid, start), "still waiting afterwards");
}

/// Wait until `pid` has a TCP connection to `addr` (read through gohang's own observer).
fn wait_for_connection(pid: u32, addr: &str) {
    let host = gohang::observe::host_info();
    let mut s = gohang::observe::Sampler::new(&host);
    wait_for(Duration::from_secs(60), || {
        let p = s.snapshot(pid).ok()?;
        p.sockets
            .iter()
            .any(|k| k.remote.as_deref() == Some(addr) && k.state.as_deref() == Some("ESTABLISHED"))
            .then_some(())
    })
    .expect("go never connected to the proxy");
}

#[test]
fn go_blocked_on_a_module_cache_lock_is_lock_wait() {
    if !go_ok() || !need(have("flock"), "flock (util-linux)") {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let (holder, go, lock) = go_blocked_on_lock(&m);
    let (r, code) = attach_read_only(go.pid(), &["--window", "1s"]);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::LockWait, "{r:#?}");
    assert!(p.summary.contains(lock.to_str().unwrap()), "{}", p.summary);
    assert!(
        p.summary.contains(&format!("held by pid {}", holder.pid())),
        "{}",
        p.summary
    );
    assert_eq!(code, 1);
}

#[test]
fn go_waiting_for_a_c_compiler_is_child_wait() {
    if !go_ok() || !need(have("gcc") || have("cc"), "a C toolchain for cgo") {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", None);
    let cc = m.cgo_with_slow_cc();
    let out = m.dir.path().join("out");
    m.warm_cgo_build(&out);
    let mut c = Command::new("go");
    c.args(["build", "-o"]).arg(&out).arg(".");
    isolated_go_env(&mut c, &m);
    c.env("CC", &cc)
        .env("CGO_ENABLED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let go = Guard::spawn_group(&mut c);
    let pid = go.pid();
    wait_for(Duration::from_secs(60), || {
        descendants_of(pid)
            .into_iter()
            .any(|d| {
                std::fs::read(format!("/proc/{d}/cmdline")).is_ok_and(|c| c == b"sleep\x00120\x00")
            })
            .then_some(())
    })
    .expect("go never ran the slow C compiler");
    let (r, code) = attach_read_only(pid, &["--window", "1s"]);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    assert_eq!(r.chain[0], pid, "the chain starts at go: {:?}", r.chain);
    assert!(r.chain.len() >= 3, "{:?}", r.chain);
    assert!(
        p.evidence.iter().any(|e| e.contains("CC=")),
        "{:#?}",
        p.evidence
    );
    assert!(
        r.notes.iter().any(|n| n.contains("is a wrapper")),
        "attach says where the work is: {:?}",
        r.notes
    );
    assert_eq!(code, 1);
}

/// A python helper that owns a pty and forks a child reading it, in the foreground or in
/// a background process group of its own.
fn pty_reader(background: bool) -> Guard {
    let helper = format!(
        r#"
import ctypes, os, pty, sys, time
# pty.fork puts the child in a session of its own, out of reach of the guard's group
# kill: each child dies with its parent (PR_SET_PDEATHSIG = 1, SIGKILL = 9).
die_with_parent = lambda: ctypes.CDLL(None).prctl(1, 9)
pid, master = pty.fork()
if pid == 0:
    die_with_parent()
    reader = os.fork()
    if reader == 0:
        die_with_parent()
        if {background}:
            os.setpgid(0, 0)
        os.write(1, b"Password: ")
        os.read(0, 1)
        os._exit(0)
    time.sleep(3600)
else:
    print(pid, flush=True)
    time.sleep(3600)
"#,
        background = if background { "True" } else { "False" }
    );
    let mut c = Command::new("python3");
    c.args(["-c", &helper])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    Guard::spawn_group(&mut c)
}

/// Wait until some descendant of `root` is in `state` or reads fd 0 (syscall 0, read).
fn wait_for_reader(root: u32, want: char) -> u32 {
    wait_for(Duration::from_secs(20), || {
        descendants_of(root).into_iter().find(|d| {
            let state = stat_state(*d);
            let reading = std::fs::read_to_string(format!("/proc/{d}/syscall"))
                .is_ok_and(|s| s.starts_with("0 0x0 "));
            match want {
                'T' => state == Some('T'),
                _ => state == Some('S') && reading,
            }
        })
    })
    .expect("the pty reader never got there")
}

#[test]
fn background_reader_of_a_tty_is_tty_stopped() {
    if !need(have("python3"), "python3") {
        return;
    }
    let _s = serial();
    let g = pty_reader(true);
    let reader = wait_for_reader(g.pid(), 'T');
    let (r, code) = attach_read_only(g.pid(), &["--window", "1s"]);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::TtyStopped, "{r:#?}");
    assert_eq!(p.pid, Some(reader));
    assert!(p.summary.contains("/dev/pts/"), "{}", p.summary);
    assert_eq!(
        r.chain.len(),
        3,
        "python → session leader → reader: {:?}",
        r.chain
    );
    assert_eq!(code, 1);
    assert_eq!(
        stat_state(reader),
        Some('T'),
        "still stopped: attach sent nothing"
    );
}

#[test]
fn foreground_reader_of_a_tty_is_prompt_wait() {
    if !need(have("python3"), "python3") {
        return;
    }
    let _s = serial();
    let g = pty_reader(false);
    let reader = wait_for_reader(g.pid(), 'S');
    let (r, code) = attach_read_only(g.pid(), &["--window", "1s"]);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::PromptWait, "{r:#?}");
    assert_eq!(p.pid, Some(reader));
    assert!(p.summary.contains("/dev/pts/"), "{}", p.summary);
    assert_eq!(code, 1);
}

#[test]
fn one_snapshot_with_window_zero() {
    if !go_ok() {
        return;
    }
    let g = start_fixture("sleeper");
    let (r, code) = attach_read_only(g.pid(), &["--window", "0"]);
    assert_eq!(r.samples, 1);
    assert_eq!(r.window_ms, 0);
    // Asleep in futex: idle, cause unknown, exit 2.
    assert_eq!(r.primary().kind, VerdictKind::Idle, "{r:#?}");
    assert_eq!(code, 2);
}

/// A bad pid: its exit code, and one line on stderr that contains every `words`.
fn refused(out: &Output, code: i32, words: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("gohang: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for w in words {
        assert!(err.contains(w), "{w:?} missing: {err}");
    }
}

#[test]
fn no_such_pid_is_66() {
    // A pid just reaped: free (pids are not reused this quickly).
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    let out = run(&["attach", &pid.to_string()]);
    refused(&out, 66, &["no process with pid", &pid.to_string()]);
    // Above the largest pid the kernel can give.
    let out = run(&["attach", "4194305", "--json"]);
    refused(&out, 66, &["no process with pid 4194305"]);
}

#[test]
fn zombie_is_66_and_names_its_parent() {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    wait_for(Duration::from_secs(5), || {
        (stat_state(pid) == Some('Z')).then_some(())
    })
    .expect("the child never became a zombie");
    let out = run(&["attach", &pid.to_string()]);
    refused(
        &out,
        66,
        &["zombie", &format!("gohang attach {}", std::process::id())],
    );
    c.wait().unwrap();
}

#[test]
fn kernel_thread_is_64() {
    // kthreadd (pid 2) and its children: no exe, no argv.
    let kthread = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|p| {
            let ppid = std::fs::read(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| gohang::observe::parse_stat_ppid(&s));
            (*p == 2 || ppid == Some(2))
                && std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.is_empty())
        });
    if !need(
        kthread.is_some(),
        "a kernel thread visible in /proc (no PID namespace)",
    ) {
        return;
    }
    let pid = kthread.unwrap();
    let out = run(&["attach", &pid.to_string()]);
    refused(&out, 64, &["kernel thread"]);
}

#[test]
fn init_and_zero_are_64() {
    refused(&run(&["attach", "1"]), 64, &["pid 1", "init"]);
    refused(&run(&["attach", "0"]), 64, &["pid 0"]);
}

#[test]
fn gohang_itself_is_64() {
    // exec keeps the shell's pid: gohang is asked to attach to itself.
    let script = format!("exec {} attach $$", env!("CARGO_BIN_EXE_gohang"));
    let out = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    refused(&out, 64, &["gohang itself"]);
}

#[test]
fn another_users_process_without_privilege_is_77() {
    if !need(
        is_root() && have("setpriv"),
        "root and setpriv (util-linux)",
    ) {
        return;
    }
    let mut c = Command::new("sleep");
    c.arg("60").stdin(Stdio::null());
    let g = Guard::spawn_group(&mut c);
    // gohang as user nobody, against root's sleep.
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_gohang"))
        .args(["attach", &g.pid().to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    refused(
        &out,
        77,
        &[
            &format!("pid {}", g.pid()),
            "user 0",
            "root",
            "sudo gohang attach",
        ],
    );
}

#[test]
fn target_exiting_during_sampling_is_not_stuck() {
    let _s = serial();
    // A child of the test that is not reaped: it turns into a zombie mid-window.
    let mut c = Command::new("sleep").arg("0.5").spawn().unwrap();
    let (r, code, _) = attach(c.id(), &["--window", "3s"]);
    assert_eq!(r.primary().kind, VerdictKind::Healthy, "{r:#?}");
    assert!(matches!(
        r.outcome,
        gohang::evidence::Outcome::Vanished { .. }
    ));
    assert!(
        r.notes.iter().any(|n| n.contains("exited")),
        "{:?}",
        r.notes
    );
    assert_eq!(code, 0);
    c.wait().unwrap();

    // A process its own parent reaps: it disappears from /proc mid-window.
    let mut sh = Command::new("sh");
    sh.args(["-c", "sleep 0.7 & echo $!; wait"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut g = Guard::spawn_group(&mut sh);
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(g.child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid: u32 = line.trim().parse().unwrap();
    let (r, code, _) = attach(pid, &["--window", "3s"]);
    assert_eq!(r.primary().kind, VerdictKind::Healthy, "{r:#?}");
    assert_eq!(code, 0);
    assert!(
        r.window_ms < 3000,
        "sampling stopped when it exited: {r:#?}"
    );
}

#[test]
fn attached_to_its_own_parent_gohang_leaves_itself_out() {
    let _s = serial();
    let (sh, r, raw, code) = attach_own_parent(&["--window", "1s"], &[]);
    assert_eq!(r.target.pid, Some(sh));
    let pids: Vec<u32> = r.processes.iter().map(|p| p.pid).collect();
    assert_eq!(pids, [sh], "only the shell: {:#?}", r.processes);
    let mentions_gohang = |l: &String| l.contains("(gohang)");
    assert!(
        !r.reasons.iter().any(mentions_gohang),
        "gohang judged itself: {:#?}",
        r.reasons
    );
    assert!(
        r.verdicts
            .iter()
            .all(|v| v.pid == Some(sh) && !v.evidence.iter().any(mentions_gohang)),
        "{:#?}",
        r.verdicts
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains(&format!("gohang runs inside the tree of pid {sh}"))),
        "{:?}",
        r.notes
    );
    // The shell only waits for gohang, and is named as such (issue 14): not stuck, and no
    // fix that would kill the user's shell.
    assert_eq!(r.primary().kind, VerdictKind::Healthy, "{r:#?}");
    assert!(
        r.primary().summary.contains("waits only for gohang itself"),
        "{:?}",
        r.primary().summary
    );
    assert!(r.verdicts.iter().all(|v| v.remedy.is_none()), "{r:#?}");
    assert_eq!(r.exit_code, 0);
    assert_eq!(code, 0, "the shell carried on after gohang");
    // Attach captured no output, and the report does not pretend it did.
    assert!(raw.get("output").is_none(), "{raw:#}");
}

#[test]
fn a_thread_id_is_64_and_names_its_process() {
    if !need(have("python3"), "python3") {
        return;
    }
    // A python3 with a second thread, which prints that thread's id.
    let mut c = Command::new("python3");
    c.args([
        "-c",
        "import threading, time\n\
         t = threading.Thread(target=time.sleep, args=(60,), daemon=True)\n\
         t.start()\n\
         print(t.native_id, flush=True)\n\
         time.sleep(60)\n",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped());
    let mut g = Guard::spawn_group(&mut c);
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(g.child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let tid: u32 = line.trim().parse().expect("a thread id");
    let pid = g.pid();
    assert_ne!(tid, pid);
    assert!(
        std::fs::metadata(format!("/proc/{pid}/task/{tid}")).is_ok(),
        "{tid} is a thread of {pid}"
    );
    let out = run(&["attach", &tid.to_string(), "--json"]);
    refused(
        &out,
        64,
        &[
            &format!("pid {tid} is a thread"),
            &format!("of pid {pid} ({})", comm(pid).unwrap()),
            &format!("gohang attach {pid}"),
        ],
    );
    // The process itself is accepted.
    let (r, _, _) = attach(pid, &["--window", "0"]);
    assert_eq!(r.target.pid, Some(pid));
}

/// Issue 14: attached to its grandparent, gohang called the parent shell stuck in a
/// child-wait and advised `kill` of it. The chain ends at gohang's parent, which waits only
/// for gohang.
#[test]
fn attached_to_its_grandparent_gohang_kills_no_shell() {
    let _s = serial();
    let script = r#"A=$$; sh -c '"$0" attach "$1" --json --window 1s; true' "$0" "$A"; true"#;
    let mut sh = Command::new("sh");
    sh.args(["-c", script, env!("CARGO_BIN_EXE_gohang")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let g = Guard::spawn_group(&mut sh);
    let grandparent = g.pid();
    let out = g
        .wait_output(Duration::from_secs(120))
        .expect("gohang finished");
    let r = parse_report(&out.stdout);
    assert_eq!(r.target.pid, Some(grandparent));
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Healthy, "{r:#?}");
    assert!(
        p.summary.contains("waits only for gohang itself"),
        "{}",
        p.summary
    );
    assert_ne!(
        p.pid,
        Some(grandparent),
        "the end of the chain is the parent"
    );
    for v in &r.verdicts {
        assert!(
            !v.remedy.as_deref().unwrap_or_default().contains("kill"),
            "{v:#?}"
        );
    }
    assert_eq!(r.exit_code, 0);
}
