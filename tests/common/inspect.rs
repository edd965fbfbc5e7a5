//! Binaries for the inspection, scan and check tests, made at test time with the installed
//! Go — nothing binary is committed. Cross-compiled small programs for darwin/arm64,
//! darwin/amd64, linux/amd64, linux/arm64 (and 32-bit and big-endian ELF), Go's own
//! `cmd/go` and `cmd/compile` for foreign platforms, and copies of the installed Go's
//! native tools.
//!
//! Built once into `$CARGO_TARGET_TMPDIR/gohang-fixtures-<go version>/` (renamed into place
//! when complete, so a half-built cache is never used) and reused by later runs; within a
//! test binary a `OnceLock` builds them once. The first cold build takes a few minutes on
//! two cores (cmd/compile for three platforms); warm runs take milliseconds.
//!
//! Included from test files with `#[path = "common/inspect.rs"] mod fixtures;`.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Bump when the set of fixtures changes.
const LAYOUT: &str = "v1";

pub struct Fixtures {
    pub root: PathBuf,
    /// `go env GOVERSION` of the Go that built them.
    pub go_version: String,
    /// The version stamped into `hello_old` (differs from `go_version`).
    pub old_version: String,
    /// GOARCH of this machine and of the foreign one used for fixtures.
    pub native_arch: String,
    pub foreign_arch: String,
    /// GOOS of this machine.
    pub native_os: String,
    /// The installed Go's GOROOT.
    pub goroot: PathBuf,
}

impl Fixtures {
    /// A small Go program built for `goos`/`goarch`.
    pub fn hello(&self, goos: &str, goarch: &str) -> PathBuf {
        self.root.join("hello").join(format!("{goos}-{goarch}"))
    }
    /// The native program, with another Go version in its build info.
    pub fn hello_old(&self) -> PathBuf {
        self.root.join("hello").join("old")
    }
    /// A Go tool (`go`, `compile`) cross-compiled for `goos`/`goarch`.
    pub fn tool(&self, goos: &str, goarch: &str, name: &str) -> PathBuf {
        self.root
            .join("tools")
            .join(format!("{goos}-{goarch}"))
            .join(name)
    }
    /// A tool of the installed, native Go (`go`, `gofmt`, `compile`, `link`, `asm`).
    pub fn native_tool(&self, name: &str) -> PathBuf {
        self.root.join("native").join(name)
    }
    pub fn native_dir(&self) -> String {
        format!("{}_{}", self.native_os, self.native_arch)
    }
    pub fn foreign_dir(&self) -> String {
        format!("{}_{}", self.native_os, self.foreign_arch)
    }
}

fn go() -> Command {
    let mut c = Command::new("go");
    // Determinism: no user settings, no toolchain switch, no network.
    c.env("GOENV", "off")
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOWORK", "off")
        .env("CGO_ENABLED", "0")
        .env_remove("GOOS")
        .env_remove("GOARCH")
        .env_remove("GOROOT");
    c
}

fn go_env(name: &str) -> String {
    let out = go().args(["env", name]).output().unwrap_or_else(|e| {
        panic!("these tests need `go` on PATH (scripts/setup.sh installs it): {e}")
    });
    assert!(out.status.success(), "go env {name} failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn build(dir: &Path, goos: &str, goarch: &str, out: &Path, pkgs: &[&str], ldflags: Option<&str>) {
    let mut c = go();
    c.current_dir(dir)
        .env("GOOS", goos)
        .env("GOARCH", goarch)
        .args(["build", "-trimpath"]);
    if let Some(l) = ldflags {
        c.arg(format!("-ldflags={l}"));
    }
    c.arg("-o").arg(out).args(pkgs);
    run(c, &format!("go build {pkgs:?} for {goos}/{goarch}"));
}

pub fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(make)
}

fn make() -> Fixtures {
    let go_version = go_env("GOVERSION");
    let native_arch = go_env("GOARCH");
    let native_os = go_env("GOOS");
    let goroot = PathBuf::from(go_env("GOROOT"));
    let foreign_arch = if native_arch == "arm64" {
        "amd64"
    } else {
        "arm64"
    }
    .to_string();
    let old_version = if go_version.starts_with("go1.20.") {
        "go1.19.13"
    } else {
        "go1.20.14"
    }
    .to_string();
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let root = base.join(format!(
        "gohang-fixtures-{LAYOUT}-{go_version}-{native_os}-{native_arch}"
    ));
    let f = Fixtures {
        root: root.clone(),
        go_version,
        old_version,
        native_arch,
        foreign_arch,
        native_os,
        goroot,
    };
    if root.join("complete").is_file() {
        return f;
    }
    fs::create_dir_all(&base).unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("gohang-fixtures-build-")
        .tempdir_in(&base)
        .unwrap();
    let t = tmp.path();
    fs::write(t.join("go.mod"), "module example.com/hello\n\ngo 1.21\n").unwrap();
    fs::write(
        t.join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from a gohang fixture\") }\n",
    )
    .unwrap();
    fs::create_dir_all(t.join("hello")).unwrap();
    for (goos, goarch) in [
        ("darwin", "arm64"),
        ("darwin", "amd64"),
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("linux", "386"),
        ("linux", "s390x"),
    ] {
        build(
            t,
            goos,
            goarch,
            &t.join("hello").join(format!("{goos}-{goarch}")),
            &["."],
            None,
        );
    }
    build(
        t,
        &f.native_os,
        &f.native_arch,
        &t.join("hello").join("old"),
        &["."],
        Some(&format!("-X=runtime.buildVersion={}", f.old_version)),
    );
    for (goos, goarch, pkgs) in [
        ("darwin", "arm64", vec!["cmd/go", "cmd/compile"]),
        ("darwin", "amd64", vec!["cmd/compile"]),
        (
            "linux",
            f.foreign_arch.as_str(),
            vec!["cmd/go", "cmd/compile"],
        ),
    ] {
        let dir = t.join("tools").join(format!("{goos}-{goarch}"));
        fs::create_dir_all(&dir).unwrap();
        // `-o DIR/` with a trailing slash writes each command into DIR.
        let out = PathBuf::from(format!("{}/", dir.display()));
        build(t, goos, goarch, &out, &pkgs, None);
    }
    let native = t.join("native");
    fs::create_dir_all(&native).unwrap();
    for name in ["go", "gofmt"] {
        fs::copy(f.goroot.join("bin").join(name), native.join(name)).unwrap();
    }
    for name in ["compile", "link", "asm"] {
        fs::copy(
            f.goroot.join("pkg/tool").join(f.native_dir()).join(name),
            native.join(name),
        )
        .unwrap();
    }
    fs::write(t.join("complete"), "").unwrap();
    let built = tmp.keep();
    if fs::rename(&built, &root).is_err() {
        // Another run finished first: use its copy.
        let _ = fs::remove_dir_all(&built);
        assert!(
            root.join("complete").is_file(),
            "fixture cache {root:?} is incomplete"
        );
    }
    f
}

/// A fake GOROOT built from fixture files, hard-linked (or copied) into `dir`.
pub struct FakeGoroot {
    pub root: PathBuf,
}

impl FakeGoroot {
    pub fn new(dir: &Path) -> FakeGoroot {
        fs::create_dir_all(dir.join("bin")).unwrap();
        // Every Go tree has its runtime's sources: gohang's fixes replace only a
        // directory laid out like one.
        fs::create_dir_all(dir.join("src/runtime")).unwrap();
        fs::create_dir_all(dir.join("pkg/tool")).unwrap();
        FakeGoroot {
            root: dir.to_path_buf(),
        }
    }
    /// Put `from` at `rel` (e.g. `bin/go`, `pkg/tool/linux_amd64/compile`).
    pub fn put(&self, rel: &str, from: &Path) -> &FakeGoroot {
        let to = self.root.join(rel);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        if fs::hard_link(from, &to).is_err() {
            fs::copy(from, &to).unwrap();
        }
        self
    }
    pub fn version_file(&self, v: &str) -> &FakeGoroot {
        fs::write(
            self.root.join("VERSION"),
            format!("{v}\ntime 2025-01-01T00:00:00Z\n"),
        )
        .unwrap();
        self
    }
    pub fn bin(&self) -> PathBuf {
        self.root.join("bin")
    }
}

/// A temporary directory next to the fixtures (same file system: hard links work).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("gohang-test-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// A universal binary from thin Mach-O files, with a FAT_MAGIC (32-bit offsets) or
/// FAT_MAGIC_64 header written here, slices 16 KiB aligned as lipo aligns arm64.
/// Returns the bytes and each slice's offset.
pub fn universal(slices: &[&[u8]], magic64: bool) -> (Vec<u8>, Vec<u64>) {
    const ALIGN: u64 = 1 << 14;
    let entry = if magic64 { 32 } else { 20 };
    let header = 8 + entry * slices.len() as u64;
    let mut offsets = Vec::new();
    let mut at = header.div_ceil(ALIGN) * ALIGN;
    for s in slices {
        offsets.push(at);
        at = (at + s.len() as u64).div_ceil(ALIGN) * ALIGN;
    }
    let mut out = Vec::new();
    out.extend_from_slice(
        &(if magic64 {
            0xcafe_babf_u32
        } else {
            0xcafe_babe
        })
        .to_be_bytes(),
    );
    out.extend_from_slice(&(slices.len() as u32).to_be_bytes());
    for (s, off) in slices.iter().zip(&offsets) {
        // cputype and cpusubtype are copied from the slice's own (little-endian) header.
        let ct = u32::from_le_bytes(s[4..8].try_into().unwrap());
        let st = u32::from_le_bytes(s[8..12].try_into().unwrap());
        out.extend_from_slice(&ct.to_be_bytes());
        out.extend_from_slice(&st.to_be_bytes());
        if magic64 {
            out.extend_from_slice(&off.to_be_bytes());
            out.extend_from_slice(&(s.len() as u64).to_be_bytes());
            out.extend_from_slice(&14u32.to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
        } else {
            out.extend_from_slice(&(*off as u32).to_be_bytes());
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(&14u32.to_be_bytes());
        }
    }
    for (s, off) in slices.iter().zip(&offsets) {
        out.resize(*off as usize, 0);
        out.extend_from_slice(s);
    }
    (out, offsets)
}

/// The load commands of a little-endian 64-bit thin Mach-O, read independently of gohang:
/// `(cmd, offset)` pairs.
pub fn load_commands(b: &[u8]) -> Vec<(u32, usize)> {
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0xfeed_facf, "not a 64-bit little-endian Mach-O");
    let n = u32_at(16) as usize;
    let mut off = 32;
    let mut v = Vec::new();
    for _ in 0..n {
        v.push((u32_at(off), off));
        off += u32_at(off + 4) as usize;
    }
    v
}
