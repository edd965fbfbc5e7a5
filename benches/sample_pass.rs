//! The cost of one sampling pass over a ~12-thread Go process against the floor: reading
//! the same /proc files (stat, status, cgroup and freezer state, every thread's stat, wchan, schedstat
//! and syscall, the descriptor links, /proc/locks) with no parsing at all. Alternates the two in one process.
//! Target: a warm snapshot ≤ 1.5× the floor.
//!
//! cargo bench --bench sample_pass   (GOHANG_BENCH_ROUNDS for more rounds)

mod common;

#[cfg(target_os = "linux")]
fn main() {
    use gohang::observe::{Sampler, host_info};
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let bin = common::go_fixture("threads");
    let mut child = Command::new(&bin).stderr(Stdio::piped()).spawn().unwrap();
    let mut buf = [0u8; 64];
    let _ = child.stderr.as_mut().unwrap().read(&mut buf); // "threads: ready"
    std::thread::sleep(Duration::from_millis(100));
    let pid = child.id();

    let host = host_info();
    let mut sampler = Sampler::new(&host);
    let snap = sampler.snapshot(pid).unwrap(); // warm: static facts read once
    let threads = snap.threads.len();

    // The files a warm snapshot reads, read raw.
    let cgroup_files: Vec<String> = match snap.cgroup.value().and_then(|c| c.state_file.clone()) {
        Some(f) => vec![f],
        None => Vec::new(),
    };
    let raw = |data: &mut Vec<u8>| {
        let rd = |p: &str, data: &mut Vec<u8>| {
            data.clear();
            if let Ok(mut f) = std::fs::File::open(p) {
                let _ = f.read_to_end(data);
            }
        };
        for f in ["stat", "status", "cgroup"] {
            rd(&format!("/proc/{pid}/{f}"), data);
        }
        for f in &cgroup_files {
            rd(f, data);
        }
        for e in std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .flatten()
        {
            let t = e.file_name();
            let t = t.to_str().unwrap();
            for f in ["stat", "wchan", "syscall", "schedstat"] {
                rd(&format!("/proc/{pid}/task/{t}/{f}"), data);
            }
        }
        // The descriptors (each link read) and the lock table, as the wait rules need.
        for e in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
        {
            let _ = std::fs::read_link(e.path());
        }
        rd("/proc/locks", data);
    };

    let n = common::rounds(2000);
    let mut data = Vec::with_capacity(4096);
    let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        raw(&mut data);
        a.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        let s = sampler.snapshot(pid).unwrap();
        b.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(s.pid, pid);
    }
    let mut ratio: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y / x).collect();
    println!(
        "sampling pass over pid {pid} ({threads} threads), {n} alternating rounds (µs, median):"
    );
    println!(
        "  raw reads of the same files {:8.1}",
        common::median(&mut a.clone())
    );
    println!(
        "  Sampler::snapshot (warm)    {:8.1}",
        common::median(&mut b.clone())
    );
    println!(
        "  paired ratio snapshot/raw   {:8.3}",
        common::median(&mut ratio)
    );

    // The tree scan a full sample adds (proportional to the processes on the machine).
    let procs = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|s| s.parse::<u32>().is_ok())
        })
        .count();
    let mut c: Vec<f64> = (0..(common::rounds(2000) / 10).max(1))
        .map(|_| {
            let t = Instant::now();
            let s = sampler.sample(&[pid], &[], 0);
            assert_eq!(s.processes.len(), 1);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    println!(
        "  full sample incl. tree scan {:8.1}  ({procs} processes on the machine)",
        common::median(&mut c)
    );

    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("sample_pass: Linux only");
}
