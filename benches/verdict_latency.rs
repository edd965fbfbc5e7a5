//! Time from the end of the sampling window to the printed verdict, with every evidence
//! collector on (descriptors, sockets, locks, environment, the go command's context; the
//! goroutine dump is left out, as it waits on the target by design), for a tree of about
//! ten processes. Measured from outside as wall time minus the timeout and the window, so
//! it also counts gohang's start-up and its clean-up of the tree: an upper bound.
//! Target: ≤ 100 ms.
//!
//! cargo bench --bench verdict_latency   (GOHANG_BENCH_ROUNDS for more rounds)

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let gohang = env!("CARGO_BIN_EXE_gohang");
    let sleeper = common::go_fixture("sleeper");
    // A Go program named `go`, so the go command's context is collected too.
    let dir = tempfile::tempdir().unwrap();
    let fake_go = dir.path().join("go");
    std::fs::copy(&sleeper, &fake_go).unwrap();
    let script = format!(
        "for i in 1 2 3 4; do {s} & done; for i in 1 2 3 4; do sleep 300 & done; {g} & wait",
        s = sleeper.display(),
        g = fake_go.display()
    );
    let (timeout_ms, window_ms) = (400u64, 500u64);
    let n = common::rounds(20);
    let mut beyond = Vec::with_capacity(n);
    let mut procs = 0;
    for _ in 0..n {
        let t = Instant::now();
        let out = Command::new(gohang)
            .args([
                "probe",
                "--json",
                "--no-goroutines",
                "--timeout",
                &format!("{timeout_ms}ms"),
                "--window",
            ])
            .arg(format!("{window_ms}ms"))
            .args(["--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .unwrap();
        let wall = t.elapsed().as_secs_f64() * 1000.0;
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a report");
        procs = r["processes"].as_array().map(|a| a.len()).unwrap_or(0);
        beyond.push(wall - (timeout_ms + window_ms) as f64);
    }
    let mut sorted = beyond.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p90 = sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)];
    println!(
        "verdict latency, {n} runs, tree of {procs} processes, timeout {timeout_ms} ms, window {window_ms} ms:"
    );
    println!(
        "  wall time beyond timeout + window (ms): median {:.1}, p90 {:.1}, min {:.1}",
        common::median(&mut beyond),
        p90,
        sorted[0]
    );
}
