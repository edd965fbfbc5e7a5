//! `gohang probe -- go version` against bare `go version` and `timeout 30 go version`,
//! run alternately (A, B, C, A, B, C, …) in one process so machine noise hits all three
//! alike. Reports medians and the paired overheads (each run minus the bare run of the
//! same round). Target: gohang's overhead no larger than `timeout`'s.
//!
//! cargo bench --bench probe_overhead   (GOHANG_BENCH_ROUNDS=200 for more rounds)

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

fn time(cmd: &[&str]) -> f64 {
    let t = Instant::now();
    let st = Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawn");
    assert!(st.success(), "{cmd:?} failed");
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let gohang = env!("CARGO_BIN_EXE_gohang");
    let n = common::rounds(100);
    let variants: [(&str, Vec<&str>); 3] = [
        ("go version", vec!["go", "version"]),
        (
            "timeout 30 go version",
            vec!["timeout", "30", "go", "version"],
        ),
        (
            "gohang probe -q -- go version",
            vec![gohang, "probe", "-q", "--", "go", "version"],
        ),
    ];
    for (_, c) in &variants {
        time(c); // warm caches
    }
    let mut t: Vec<Vec<f64>> = vec![Vec::new(); 3];
    for _ in 0..n {
        for (i, (_, c)) in variants.iter().enumerate() {
            t[i].push(time(c));
        }
    }
    let mut over_timeout: Vec<f64> = (0..n).map(|i| t[1][i] - t[0][i]).collect();
    let mut over_gohang: Vec<f64> = (0..n).map(|i| t[2][i] - t[0][i]).collect();
    let mut ratio: Vec<f64> = (0..n).map(|i| t[2][i] / t[1][i]).collect();
    println!("probe overhead, {n} alternating rounds (wall ms, median):");
    for (i, (name, _)) in variants.iter().enumerate() {
        println!("  {:<32} {:8.2}", name, common::median(&mut t[i].clone()));
    }
    let ot = common::median(&mut over_timeout);
    let og = common::median(&mut over_gohang);
    println!("  overhead vs bare: timeout {ot:+.2} ms, gohang {og:+.2} ms");
    println!(
        "  paired ratio gohang/timeout (median of per-round ratios): {:.3}",
        common::median(&mut ratio)
    );
}
