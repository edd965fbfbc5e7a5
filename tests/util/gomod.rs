//! A Go module in a fresh directory with its own module cache, and a `go` environment that
//! never leaves 127.0.0.1: shared by the tests that run a real `go` into a wait.

use super::{Guard, wait_for};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A module that may require one dependency, in a fresh directory with its own module cache.
pub struct Module {
    pub dir: tempfile::TempDir,
}

impl Module {
    pub fn new(go_line: &str, require: Option<&str>) -> Module {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        let mut gomod = format!("module example.com/app\n\ngo {go_line}\n");
        if let Some(r) = require {
            gomod.push_str(&format!("\nrequire {r}\n"));
        }
        std::fs::write(app.join("go.mod"), gomod).unwrap();
        std::fs::write(app.join("main.go"), "package main\n\nfunc main() {}\n").unwrap();
        Module { dir }
    }
    pub fn app(&self) -> PathBuf {
        self.dir.path().join("app")
    }
    pub fn modcache(&self) -> PathBuf {
        self.dir.path().join("modcache")
    }

    /// Cache the dependency's go.mod and info, so that go goes straight to its zip, whose
    /// lock file (`cmd/go/internal/modfetch.lockVersion`) is returned.
    pub fn cached_dep_lock(&self) -> PathBuf {
        let v = self.modcache().join("cache/download/example.com/dep/@v");
        std::fs::create_dir_all(&v).unwrap();
        std::fs::write(v.join("v1.0.0.mod"), "module example.com/dep\n").unwrap();
        std::fs::write(v.join("v1.0.0.info"), "{\"Version\":\"v1.0.0\"}").unwrap();
        v.join("v1.0.0.lock")
    }

    /// Make main.go a cgo program and return a C compiler script that never returns.
    pub fn cgo_with_slow_cc(&self) -> PathBuf {
        std::fs::write(
            self.app().join("main.go"),
            "package main\n\n// int add(int a, int b) { return a + b; }\nimport \"C\"\n\nfunc main() { println(C.add(1, 2)) }\n",
        )
        .unwrap();
        let cc = self.dir.path().join("slowcc");
        std::fs::write(&cc, "#!/bin/sh\nsleep 120\n").unwrap();
        Command::new("chmod").arg("+x").arg(&cc).status().unwrap();
        cc
    }

    /// Build once with the real C compiler, so that everything but the compiler probe of a
    /// slow CC is cached: a build with that CC then reaches the hang at once.
    pub fn warm_cgo_build(&self, out: &Path) {
        let mut c = Command::new("go");
        c.args(["build", "-o"]).arg(out).arg(".");
        isolated_go_env(&mut c, self);
        c.env("CGO_ENABLED", "1");
        let st = c.status().unwrap();
        assert!(
            st.success(),
            "the cgo program builds with the real C compiler"
        );
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        // The module cache is read-only once filled; make it removable.
        let _ = Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(self.dir.path())
            .status();
    }
}

/// One build cache for all these tests, kept between runs: what they build is tiny, but
/// the standard library it needs is not.
pub fn shared_gocache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("gocache")
}

/// Run in the module with its own cache, no proxy, no checksum database, no toolchain
/// switch, nothing inherited that could reach the network.
pub fn isolated_go_env(c: &mut Command, m: &Module) {
    c.current_dir(m.app())
        .env("GOMODCACHE", m.modcache())
        .env("GOFLAGS", "-mod=mod")
        .env("GOSUMDB", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env_remove("GOPRIVATE")
        .env_remove("GONOSUMDB")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env("GOCACHE", shared_gocache());
}

/// `flock` holding `lock` for the test's lifetime, returned once /proc/locks shows it held.
pub fn hold_lock(lock: &Path) -> Guard {
    let mut holder_cmd = Command::new("flock");
    holder_cmd
        .arg(lock)
        .args(["sleep", "120"])
        .stdin(Stdio::null());
    let holder = Guard::spawn_group(&mut holder_cmd);
    wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string("/proc/locks").ok().filter(|l| {
            l.lines()
                .any(|line| line.contains(&format!(" {} ", holder.pid())))
        })
    })
    .expect("flock never took the lock");
    holder
}

/// `go mod download` in `m`, started by the test (not by gohang) and returned once it
/// waits for the dependency's module cache lock that `flock` holds: (holder, go, lock).
pub fn go_blocked_on_lock(m: &Module) -> (Guard, Guard, PathBuf) {
    let lock = m.cached_dep_lock();
    let holder = hold_lock(&lock);
    let mut c = Command::new("go");
    c.args(["mod", "download"]);
    isolated_go_env(&mut c, m);
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let go = Guard::spawn_group(&mut c);
    let pid = go.pid();
    // A waiter shows in /proc/locks after `->`.
    wait_for(Duration::from_secs(60), || {
        std::fs::read_to_string("/proc/locks").ok().filter(|l| {
            l.lines()
                .any(|line| line.contains("->") && line.contains(&format!(" {pid} ")))
        })
    })
    .expect("go never waited for the lock");
    (holder, go, lock)
}
