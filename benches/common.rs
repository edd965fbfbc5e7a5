//! Shared by the benchmarks: medians, paired comparison, and Go fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Build tests/go/<name>.go for the host into the target dir; returns the binary.
pub fn go_fixture(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(name);
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/go")
        .join(format!("{name}.go"));
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(&src)
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .status()
        .expect("go is needed (scripts/setup.sh)");
    assert!(st.success());
    out
}

/// Rounds from the environment (`GOHANG_BENCH_ROUNDS`), else `default` under `cargo bench`
/// (an optimized build), else a few: `cargo test --all-targets` runs the benchmarks,
/// unoptimized, as a smoke test.
pub fn rounds(default: usize) -> usize {
    if let Some(n) = std::env::var("GOHANG_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return n;
    }
    if cfg!(debug_assertions) {
        default.min(3)
    } else {
        default
    }
}
