//! What observing costs the observed: a busy Go program (tests/go/busyio.go: rounds of
//! seek, write, pread and fstat on a file; it times its own work) run bare and under each
//! observer, alternately (A, B, C, then C, B, A, …) so machine noise hits all alike. Reports the
//! median duration of each and its slowdown against bare: median of the per-round ratios.
//!
//! - attach, sampling: `gohang attach PID --window 600s` on the program for all its work.
//!   Target ≤ 1.02×.
//! - attach, tracing: `gohang attach PID --trace` (strace -p with gohang's filter) against
//!   plain `strace -f -p PID`.
//! - spawn, tracing: `gohang probe --trace -- busyio` (strace -D --seccomp-bpf with the
//!   filter) against plain `strace -f busyio`.
//!
//! Then the latency of one snapshot, `gohang attach PID --window 0`, on a 12-thread Go
//! program, beside `py-spy dump` on a sleeping python when py-spy is installed.
//!
//! cargo bench --bench attach_intrusion   (GOHANG_BENCH_ROUNDS for more rounds)

mod common;

#[cfg(target_os = "linux")]
mod linux {
    use super::common;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::path::Path;
    use std::process::{Child, ChildStdin, Command, Stdio};
    use std::time::{Duration, Instant};

    /// busyio started with -wait: ready to work once a line arrives on stdin.
    struct Busy {
        child: Child,
        stdin: ChildStdin,
    }

    impl Busy {
        fn start(bin: &Path, rounds: u64) -> Busy {
            let mut child = Command::new(bin)
                .args(["-wait", "-n", &rounds.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("busyio");
            let mut line = String::new();
            BufReader::new(child.stderr.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert_eq!(line.trim(), "busyio: ready");
            let stdin = child.stdin.take().unwrap();
            Busy { child, stdin }
        }
        fn pid(&self) -> u32 {
            self.child.id()
        }
        /// Start the work; its duration in milliseconds.
        fn run(mut self) -> f64 {
            self.stdin.write_all(b"go\n").unwrap();
            let mut out = String::new();
            self.child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            assert!(self.child.wait().unwrap().success());
            out.trim()
                .parse::<f64>()
                .expect("busyio printed its duration")
                / 1e6
        }
    }

    fn tracer_of(pid: u32) -> u32 {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("TracerPid:"))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    fn wait_traced(pid: u32) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while tracer_of(pid) == 0 {
            assert!(Instant::now() < deadline, "no tracer attached to {pid}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn quiet(c: &mut Command) -> &mut Command {
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
    }

    #[derive(Clone, Copy)]
    enum Observer {
        Bare,
        Sampler,
        GohangAttachTrace,
        StraceAttach,
        GohangProbeTrace,
        StraceSpawn,
    }

    impl Observer {
        fn name(&self) -> &'static str {
            match self {
                Observer::Bare => "bare",
                Observer::Sampler => "gohang attach --window 600s (sampling)",
                Observer::GohangAttachTrace => "gohang attach --trace",
                Observer::StraceAttach => "strace -f -p PID",
                Observer::GohangProbeTrace => "gohang probe --trace -- busyio",
                Observer::StraceSpawn => "strace -f busyio",
            }
        }
    }

    /// One run of the work under `o`; milliseconds.
    fn once(o: Observer, bin: &Path, rounds: u64, state: &Path) -> f64 {
        let gohang = env!("CARGO_BIN_EXE_gohang");
        let n = rounds.to_string();
        match o {
            Observer::Bare => Busy::start(bin, rounds).run(),
            Observer::Sampler | Observer::GohangAttachTrace => {
                let b = Busy::start(bin, rounds);
                let mut c = Command::new(gohang);
                c.args(["attach", &b.pid().to_string(), "--json", "--window", "600s"]);
                if matches!(o, Observer::GohangAttachTrace) {
                    c.arg("--trace");
                }
                let mut g = quiet(c.env("XDG_STATE_HOME", state)).spawn().unwrap();
                if matches!(o, Observer::GohangAttachTrace) {
                    wait_traced(b.pid());
                } else {
                    // Validation and the first samples are done well within this.
                    std::thread::sleep(Duration::from_millis(600));
                }
                let ms = b.run();
                assert!(g.wait().unwrap().code().is_some());
                ms
            }
            Observer::StraceAttach => {
                let b = Busy::start(bin, rounds);
                let mut s = quiet(Command::new("strace").args([
                    "-f",
                    "-o",
                    "/dev/null",
                    "-p",
                    &b.pid().to_string(),
                ]))
                .spawn()
                .unwrap();
                wait_traced(b.pid());
                let ms = b.run();
                let _ = s.wait();
                ms
            }
            Observer::GohangProbeTrace | Observer::StraceSpawn => {
                let mut c = match o {
                    Observer::GohangProbeTrace => {
                        let mut c = Command::new(gohang);
                        c.args(["probe", "--json", "--trace", "--timeout", "600s", "--"]);
                        c
                    }
                    _ => {
                        let mut c = Command::new("strace");
                        c.args(["-f", "-o", "/dev/null"]);
                        c
                    }
                };
                c.arg(bin).args(["-n", &n]);
                let out = c
                    .env("XDG_STATE_HOME", state)
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                // busyio's own line: the first number printed (gohang passes it through
                // before the report only without --json, so read it from the report).
                duration_from(&text)
            }
        }
    }

    /// busyio's nanoseconds, printed alone (strace) or in the report's stdout tail (probe).
    fn duration_from(text: &str) -> f64 {
        if let Ok(ns) = text.trim().parse::<f64>() {
            return ns / 1e6;
        }
        let v: serde_json::Value = serde_json::from_str(text).expect("a report");
        v["output"]["stdout"]["tail"]
            .as_str()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .expect("busyio's duration in the report")
            / 1e6
    }

    fn group(title: &str, observers: &[Observer], bin: &Path, rounds: u64, n: usize) {
        let state = std::env::temp_dir().join(format!("gohang-bench-{}", std::process::id()));
        std::fs::create_dir_all(&state).unwrap();
        for o in observers {
            once(*o, bin, rounds / 10, &state); // warm caches
        }
        let mut t: Vec<Vec<f64>> = vec![Vec::new(); observers.len()];
        for r in 0..n {
            // A B C, then C B A: whatever the position in a round costs, all pay it alike.
            let mut order: Vec<usize> = (0..observers.len()).collect();
            if r % 2 == 1 {
                order.reverse();
            }
            for i in order {
                t[i].push(once(observers[i], bin, rounds, &state));
            }
        }
        let _ = std::fs::remove_dir_all(&state);
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "{title}: {rounds} rounds of seek+write+pread+fstat, {n} alternating runs (load average after: {})",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!(
            "  {:<42} {:>10} {:>10}",
            "observer", "median ms", "slowdown"
        );
        for (i, o) in observers.iter().enumerate() {
            let mut ratio: Vec<f64> = (0..n).map(|r| t[i][r] / t[0][r]).collect();
            println!(
                "  {:<42} {:>10.1} {:>9.3}×",
                o.name(),
                common::median(&mut t[i].clone()),
                common::median(&mut ratio)
            );
        }
    }

    fn have(cmd: &str) -> bool {
        Command::new("sh")
            .args(["-c", &format!("command -v {cmd}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// py-spy's own binary: the one next to python3's scripts (a pyenv shim on PATH would
    /// add a shell's start to every run), else the one on PATH.
    fn py_spy() -> Option<std::path::PathBuf> {
        if !have("python3") {
            return None;
        }
        let out = Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('scripts'))",
            ])
            .output()
            .ok()?;
        let scripts = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let direct = Path::new(&scripts).join("py-spy");
        if direct.is_file() {
            return Some(direct);
        }
        have("py-spy").then(|| "py-spy".into())
    }

    /// Wall time of `cmd` in milliseconds, median over `n` runs.
    fn latency(cmd: &mut Command, n: usize) -> f64 {
        let mut v: Vec<f64> = (0..n)
            .map(|_| {
                let t = Instant::now();
                let st = cmd.status().unwrap();
                assert!(st.code().is_some());
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        common::median(&mut v)
    }

    pub fn main() {
        let bin = common::go_fixture("busyio");
        // `cargo test --all-targets` runs this too, without `--bench`: then only a quick
        // pass that checks every observer still works, not a measurement.
        let smoke = !std::env::args().any(|a| a == "--bench");
        if smoke {
            println!("attach_intrusion: smoke run (cargo test); these are not measurements");
        }
        let scale = if smoke { 20 } else { 1 };
        let n = if smoke { 1 } else { common::rounds(21) };
        group(
            "sampling",
            &[Observer::Bare, Observer::Sampler],
            &bin,
            100_000 / scale,
            n,
        );
        if have("strace") {
            // Traced runs take seconds each: a third as many.
            let n = (n / 3).max(1);
            group(
                "tracing, attach mode",
                &[
                    Observer::Bare,
                    Observer::GohangAttachTrace,
                    Observer::StraceAttach,
                ],
                &bin,
                10_000 / scale,
                n,
            );
            group(
                "tracing, spawn mode",
                &[
                    Observer::Bare,
                    Observer::GohangProbeTrace,
                    Observer::StraceSpawn,
                ],
                &bin,
                10_000 / scale,
                n,
            );
        } else {
            println!("tracing: strace is not installed; not measured");
        }

        // One snapshot of a 12-thread Go program, against py-spy dump of a python.
        let threads = common::go_fixture("threads");
        let mut t = Command::new(&threads)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut buf = [0u8; 64];
        let _ = t.stderr.as_mut().unwrap().read(&mut buf); // "threads: ready"
        let runs = n * 3;
        let pid = t.id().to_string();
        let ms = latency(
            quiet(
                Command::new(env!("CARGO_BIN_EXE_gohang"))
                    .args(["attach", &pid, "--window", "0", "--json"]),
            ),
            runs,
        );
        println!("single snapshot, median of {runs} runs (wall ms, process start included):");
        println!("  gohang attach PID --window 0 (12-thread Go program)   {ms:8.1}");
        let _ = t.kill();
        let _ = t.wait();
        if let Some(py_spy) = py_spy() {
            let mut py = Command::new("python3")
                .args(["-c", "import time\nwhile True: time.sleep(1)"])
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(300));
            let ms = latency(
                quiet(Command::new(&py_spy).args(["dump", "--pid", &py.id().to_string()])),
                runs,
            );
            println!("  py-spy dump --pid PID (python3 in time.sleep)        {ms:8.1}");
            let _ = py.kill();
            let _ = py.wait();
        } else {
            println!("  py-spy: not installed; not measured");
        }
    }
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("attach_intrusion: Linux only");
}
