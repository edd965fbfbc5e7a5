//! What `gohang dump` costs, and what it costs the target (issue 20).
//!
//! - A stuck `go`: `go mod download` waiting on a 127.0.0.1 module proxy that never answers.
//!   `gohang dump PID` (text, to a pipe read to the end) against the runtime's own dump of
//!   the same kind of process: SIGQUIT to its main thread until it has exited and its
//!   stderr is read. Each round starts a fresh go (SIGQUIT ends it), dumps it with gohang,
//!   then SIGQUITs it. Goal: faster than SIGQUIT, and the target lives.
//! - 10,000 goroutines: tests/go/dumptarget -parked 10000, `gohang dump PID --json`.
//!   Goal: under 200 ms.
//! - Intrusion: dumptarget -work N times N rounds of a fixed computation, bare and while
//!   gohang dumps it every 100 ms, alternately (bare, dumped, dumped, bare, …); the slowdown
//!   is the median of the per-pair ratios. Goal: ≤ 1.02.
//!
//! cargo bench --bench dump     (GOHANG_BENCH_ROUNDS for more rounds; GOHANG_DUMP_BIN to
//! measure another build of gohang; `go` on PATH builds dumptarget and is the stuck go)

mod common;
#[cfg(target_os = "linux")]
#[path = "../tests/util/proxy.rs"]
mod proxy;

#[cfg(target_os = "linux")]
mod linux {
    use super::common;
    use super::proxy::SilentProxy;
    use std::io::{Read, Write};
    use std::os::unix::process::CommandExt;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    fn gohang() -> PathBuf {
        std::env::var_os("GOHANG_DUMP_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_gohang")))
    }

    fn scratch() -> PathBuf {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fixtures");
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn build_dumptarget() -> PathBuf {
        let out = scratch().join("dumptarget");
        let st = Command::new("go")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/dumptarget"))
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .env("CGO_ENABLED", "0")
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-mod=mod")
            .status()
            .expect("go is needed (scripts/setup.sh)");
        assert!(st.success());
        out
    }

    /// A child in its own process group, killed with it on drop.
    struct Proc(Child);

    impl Proc {
        fn spawn(cmd: &mut Command) -> Proc {
            cmd.process_group(0);
            Proc(cmd.spawn().expect("spawn"))
        }
        fn pid(&self) -> i32 {
            self.0.id() as i32
        }
        fn alive(&mut self) -> bool {
            matches!(self.0.try_wait(), Ok(None))
        }
    }

    impl Drop for Proc {
        fn drop(&mut self) {
            // SAFETY: signalling the process group of a child we started and have not reaped.
            unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
            let _ = self.0.wait();
        }
    }

    /// One `gohang dump PID [args]` to the end of its output: milliseconds.
    fn dump_ms(pid: i32, args: &[&str]) -> f64 {
        let t0 = Instant::now();
        let out = Command::new(gohang())
            .arg("dump")
            .arg(pid.to_string())
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("gohang");
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        assert!(
            out.status.success(),
            "gohang dump {pid} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ms
    }

    /// `go mod download` in a fresh module and cache, returned once its request reached
    /// the proxy and all its threads sleep.
    fn stuck_go(proxy: &SilentProxy, home: &Path) -> Proc {
        let app = home.join("app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(
            app.join("go.mod"),
            "module example.com/app\n\ngo 1.21\n\nrequire example.com/dep v1.0.0\n",
        )
        .unwrap();
        let before = proxy.requests.load(Ordering::SeqCst);
        let mut c = Command::new("go");
        c.current_dir(&app)
            .args(["mod", "download"])
            .env("GOPROXY", format!("http://{}", proxy.addr))
            .env("GOSUMDB", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("GOTOOLCHAIN", "local")
            .env("GOMODCACHE", home.join("modcache"))
            .env("GOPATH", home.join("gopath"))
            .env("GOCACHE", scratch().join("gocache"))
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let p = Proc::spawn(&mut c);
        let deadline = Instant::now() + Duration::from_secs(60);
        while proxy.requests.load(Ordering::SeqCst) == before {
            assert!(Instant::now() < deadline, "go never asked the proxy");
            std::thread::sleep(Duration::from_millis(5));
        }
        while !all_threads_sleep(p.pid()) {
            assert!(Instant::now() < deadline, "go's threads never all slept");
            std::thread::sleep(Duration::from_millis(5));
        }
        p
    }

    fn all_threads_sleep(pid: i32) -> bool {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return false;
        };
        tasks.flatten().all(|e| {
            std::fs::read_to_string(e.path().join("stat"))
                .is_ok_and(|s| s.rfind(')').is_some_and(|c| s[c + 2..].starts_with('S')))
        })
    }

    /// SIGQUIT to the main thread until the process exited and its stderr is read:
    /// milliseconds and the dump's size in bytes.
    fn sigquit_ms(mut p: Proc) -> (f64, usize) {
        let mut err = p.0.stderr.take().unwrap();
        let pid = p.pid();
        let t0 = Instant::now();
        // SAFETY: tgkill to the main thread of a child we started and have not reaped.
        let r = unsafe { libc::syscall(libc::SYS_tgkill, pid, pid, libc::SIGQUIT) };
        assert_eq!(r, 0);
        let mut buf = Vec::new();
        err.read_to_end(&mut buf).unwrap();
        let st = p.0.wait().unwrap();
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        assert_eq!(st.code(), Some(2), "go exits 2 after SIGQUIT");
        (ms, buf.len())
    }

    fn stuck_go_round() {
        let rounds = common::rounds(30);
        // Stops by itself after an hour, or when dropped at the end of the bench.
        let proxy = SilentProxy::start(Duration::from_secs(3600));
        let (mut g, mut q, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        let mut size = 0;
        for _ in 0..rounds {
            let home = tempfile::tempdir().unwrap();
            let mut p = stuck_go(&proxy, home.path());
            let a = dump_ms(p.pid(), &[]);
            assert!(p.alive(), "the go gohang dumped is alive");
            let (b, n) = sigquit_ms(p);
            size = n;
            g.push(a);
            q.push(b);
            ratio.push(a / b);
            let _ = std::process::Command::new("chmod")
                .args(["-R", "u+w"])
                .arg(home.path())
                .status();
        }
        println!(
            "stuck go mod download ({rounds} rounds): gohang dump {:.2} ms (target lives), \
             SIGQUIT dump {:.2} ms ({size} bytes, target dies); paired ratio gohang/SIGQUIT {:.3}",
            common::median(&mut g),
            common::median(&mut q),
            common::median(&mut ratio)
        );
    }

    fn start_target(bin: &Path, args: &[&str]) -> (Proc, std::process::ChildStdout) {
        let mut c = Command::new(bin);
        c.args(["-timeout", "10m"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut p = Proc::spawn(&mut c);
        let mut out = p.0.stdout.take().unwrap();
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while out.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
            line.push(b[0]);
        }
        assert_eq!(
            String::from_utf8_lossy(&line),
            format!("ready {}", p.pid()),
            "dumptarget's first line"
        );
        (p, out)
    }

    fn many_goroutines(bin: &Path) {
        let rounds = common::rounds(30);
        let (mut p, _out) = start_target(bin, &["-parked", "10000", "-spin=false"]);
        let mut json: Vec<f64> = (0..rounds).map(|_| dump_ms(p.pid(), &["--json"])).collect();
        let mut text: Vec<f64> = (0..rounds).map(|_| dump_ms(p.pid(), &[])).collect();
        assert!(p.alive());
        println!(
            "10,000 parked goroutines ({rounds} dumps each): gohang dump --json {:.1} ms, text {:.1} ms (goal < 200 ms)",
            common::median(&mut json),
            common::median(&mut text)
        );
    }

    /// One -work run: nanoseconds of work, with gohang dumping every `every` meanwhile.
    fn work_run(bin: &Path, rounds: &str, every: Option<Duration>) -> (f64, usize) {
        let (mut p, mut out) = start_target(bin, &["-spin=false", "-work", rounds]);
        let pid = p.pid();
        let stop = Arc::new(AtomicBool::new(false));
        let dumper = every.map(|every| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let st = Command::new(gohang())
                        .arg("dump")
                        .arg(pid.to_string())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                    if st.is_ok_and(|s| s.success()) {
                        n += 1;
                    }
                    std::thread::sleep(every);
                }
                n
            })
        });
        // Let the dumper start before the work does.
        std::thread::sleep(Duration::from_millis(50));
        p.0.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        stop.store(true, Ordering::Relaxed);
        let dumps = dumper.map_or(0, |d| d.join().unwrap());
        assert!(p.0.wait().unwrap().success());
        (
            s.trim().parse().expect("dumptarget printed its duration"),
            dumps,
        )
    }

    fn intrusion(bin: &Path) {
        let rounds = common::rounds(20);
        let work = std::env::var("GOHANG_BENCH_WORK").unwrap_or_else(|_| "400000".into());
        let every = Duration::from_millis(100);
        let (mut bare, mut dumped, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        let mut dumps = 0;
        for i in 0..rounds {
            let (b, d) = if i % 2 == 0 {
                let b = work_run(bin, &work, None).0;
                let (d, n) = work_run(bin, &work, Some(every));
                dumps += n;
                (b, d)
            } else {
                let (d, n) = work_run(bin, &work, Some(every));
                dumps += n;
                (work_run(bin, &work, None).0, d)
            };
            bare.push(b / 1e6);
            dumped.push(d / 1e6);
            ratio.push(d / b);
        }
        println!(
            "intrusion ({rounds} pairs, -work {work}): bare {:.1} ms, dumped every {every:?} {:.1} ms \
             ({dumps} dumps in all); slowdown {:.3}x (goal <= 1.02)",
            common::median(&mut bare),
            common::median(&mut dumped),
            common::median(&mut ratio)
        );
    }

    pub fn main() {
        let bin = build_dumptarget();
        stuck_go_round();
        many_goroutines(&bin);
        intrusion(&bin);
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    println!("dump: Linux only");
}
