//! Running `src/make.bash`: a clean environment, its own process group, its output into
//! the log, and its phases as progress.
//!
//! The phases are the lines make.bash and cmd/dist print (Go 1.23: `src/make.bash`
//! "Building Go cmd/dist using …"; `src/cmd/dist/buildtool.go` "Building Go toolchain1
//! using …"; `src/cmd/dist/build.go` `cmdbootstrap` for the rest). Go 1.20 to 1.26 print
//! the same lines; an unknown line only means a phase is not shown.

use crate::sys::logfile::Log;
use crate::sys::run::{group_gone, group_of, stop_group};
use crate::sys::signals;
use nix::sys::signal::{Signal, killpg};
use serde::Serialize;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// make.bash's phases: the start of the line it prints, and a short name.
pub const PHASES: [(&str, &str); 6] = [
    ("Building Go cmd/dist using ", "cmd/dist"),
    ("Building Go toolchain1 using ", "toolchain1"),
    ("Building Go bootstrap cmd/go", "go_bootstrap"),
    ("Building Go toolchain2 using ", "toolchain2"),
    ("Building Go toolchain3 using ", "toolchain3"),
    (
        "Building packages and commands for ",
        "packages and commands",
    ),
];

/// The phase (0-based) a line of make.bash output starts, if it starts one.
pub fn phase_of(line: &str) -> Option<usize> {
    let line = line.trim_end();
    PHASES
        .iter()
        .position(|(prefix, _)| line.starts_with(prefix))
        // Cross builds (never gohang's) print this for the host half.
        .or_else(|| {
            line.starts_with("Building commands for host, ")
                .then_some(5)
        })
}

/// Variables removed from make.bash's environment, and why. Most would be *baked into*
/// the new toolchain as its defaults (cmd/dist writes them into zbootstrap.go,
/// zdefaultcc.go and zcgo.go), which is how a Rosetta-era shell makes a "native" build
/// that is not.
pub const CLEARED: &[(&str, &str)] = &[
    ("GOOS", "the target OS: dist builds for it"),
    ("GOARCH", "the target architecture: dist builds for it"),
    (
        "GOHOSTOS",
        "dist takes the host OS from it (cmd/dist/build.go xinit)",
    ),
    (
        "GOHOSTARCH",
        "dist takes the host architecture from it instead of its own",
    ),
    ("GO386", "an architecture level baked in as the default"),
    ("GOAMD64", "an architecture level baked in as the default"),
    ("GOARM", "an architecture level baked in as the default"),
    ("GOARM64", "an architecture level baked in as the default"),
    ("GOMIPS", "an architecture level baked in as the default"),
    ("GOMIPS64", "an architecture level baked in as the default"),
    ("GOPPC64", "an architecture level baked in as the default"),
    ("GORISCV64", "an architecture level baked in as the default"),
    ("GOWASM", "an architecture level baked in as the default"),
    ("GOEXPERIMENT", "baked in as the default experiments"),
    ("GOFIPS140", "baked in as the default FIPS mode"),
    (
        "CGO_ENABLED",
        "baked in as the default; unset, Go enables cgo when a C compiler works",
    ),
    ("CC", "baked in as the default C compiler"),
    ("CXX", "baked in as the default C++ compiler"),
    ("PKG_CONFIG", "baked in as the default pkg-config"),
    (
        "CGO_CFLAGS",
        "a Rosetta-era `-arch x86_64` would build foreign cgo objects",
    ),
    ("CGO_CPPFLAGS", "as CGO_CFLAGS"),
    ("CGO_CXXFLAGS", "as CGO_CFLAGS"),
    ("CGO_FFLAGS", "as CGO_CFLAGS"),
    ("CGO_LDFLAGS", "as CGO_CFLAGS"),
    ("GO_EXTLINK_ENABLED", "baked in as the default"),
    ("GO_LDSO", "baked in as the default dynamic linker"),
    ("GO_GCFLAGS", "compiler flags for the toolchain's own build"),
    ("GO_LDFLAGS", "linker flags for the toolchain's own build"),
    ("BOOT_GO_GCFLAGS", "compiler flags for toolchain1"),
    ("BOOT_GO_LDFLAGS", "linker flags for toolchain1"),
    ("GO_DISTFLAGS", "extra flags make.bash passes to dist"),
    (
        "GOROOT",
        "make.bash sets it to the tree it runs in; another value is wrong",
    ),
    (
        "GOROOT_FINAL",
        "Go before 1.23 bakes it in as the toolchain's path",
    ),
    ("GOBIN", "dist installs into $GOROOT/bin and sets it itself"),
    (
        "GOFLAGS",
        "flags added to every go command of the build (-tags, -mod, …)",
    ),
    ("GOENV", "a go env file could set any of the above"),
    ("GO111MODULE", "module mode is dist's choice"),
    ("GOWORK", "a workspace must not steer the build"),
    ("GODEBUG", "runtime settings for the bootstrap's go"),
];

/// Prefixes of variables removed too (`CC_FOR_linux_arm64`, baked-in per-target compilers).
pub const CLEARED_PREFIXES: &[&str] = &["CC_FOR_", "CXX_FOR_"];

/// The environment change for make.bash.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BuildEnv {
    /// Variables set in gohang's environment that make.bash will not see.
    pub unset: Vec<String>,
    /// Variables set for make.bash.
    pub set: Vec<(String, String)>,
}

/// `GOROOT_BOOTSTRAP` names the bootstrap; `GOTOOLCHAIN=local` keeps the bootstrap's go
/// from switching to (or downloading) another toolchain because of a go.mod or go.env.
pub fn build_env(bootstrap: &Path, current: &[(OsString, OsString)]) -> BuildEnv {
    let mut unset: Vec<String> = current
        .iter()
        .filter_map(|(k, _)| k.to_str())
        .filter(|k| {
            CLEARED.iter().any(|(c, _)| c == k) || CLEARED_PREFIXES.iter().any(|p| k.starts_with(p))
        })
        .map(str::to_string)
        .collect();
    unset.sort();
    unset.dedup();
    BuildEnv {
        unset,
        set: vec![
            (
                "GOROOT_BOOTSTRAP".into(),
                bootstrap.to_string_lossy().into_owned(),
            ),
            ("GOTOOLCHAIN".into(), "local".into()),
        ],
    }
}

impl BuildEnv {
    pub fn apply(&self, cmd: &mut Command) {
        for k in &self.unset {
            cmd.env_remove(k);
        }
        for (k, v) in &self.set {
            cmd.env(k, v);
        }
    }
}

/// How make.bash was started: the program and arguments (on a translated macOS gohang,
/// `arch -arm64` first, so the build runs natively and not under Rosetta).
pub fn make_bash_command(goroot: &Path, translated_on_macos: Option<&str>) -> Vec<OsString> {
    let script = goroot.join("src/make.bash");
    let mut argv: Vec<OsString> = Vec::new();
    if let Some(arch) = translated_on_macos {
        argv.push("/usr/bin/arch".into());
        argv.push(format!("-{arch}").into());
    }
    argv.push(script.into_os_string());
    argv
}

/// Why make.bash did not finish by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    Signal(Signal),
    Timeout,
}

#[derive(Debug)]
pub struct BuildRun {
    pub status: Option<ExitStatus>,
    pub stopped: Option<Stopped>,
    /// The last phase reached (0-based).
    pub phase: Option<usize>,
    /// The last lines of output, for the failure message.
    pub tail: Vec<String>,
    pub pid: u32,
    pub elapsed: Duration,
}

impl BuildRun {
    pub fn success(&self) -> bool {
        self.stopped.is_none() && self.status.is_some_and(|s| s.success())
    }

    pub fn phase_name(&self) -> String {
        match self.phase {
            Some(i) => format!("phase {}/{} ({})", i + 1, PHASES.len(), PHASES[i].1),
            None => "before its first phase".to_string(),
        }
    }
}

/// How many output lines to keep for the message.
const TAIL_LINES: usize = 15;
/// Grace between SIGTERM and SIGKILL for the build's process group.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Run make.bash in `goroot/src` and wait for it, or until a signal or the timeout.
/// Every output line goes to the log; `on_phase(index, line)` is called as phases start.
pub fn run_make_bash(
    goroot: &Path,
    argv: &[OsString],
    env: &BuildEnv,
    log: &mut Log,
    timeout: Duration,
    on_phase: &mut dyn FnMut(usize, &str),
) -> std::io::Result<BuildRun> {
    let (reader, writer) = std::io::pipe()?;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .current_dir(goroot.join("src"))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    env.apply(&mut cmd);
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    // Our copies of the write end must go, or the reader never sees end of file.
    drop(cmd);
    let pid = child.id();
    log.note(&format!(
        "make.bash started: pid {pid}, in its own process group {pid}"
    ));

    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut r = BufReader::new(reader);
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });

    let mut run = BuildRun {
        status: None,
        stopped: None,
        phase: None,
        tail: Vec::new(),
        pid,
        elapsed: Duration::ZERO,
    };
    let mut take = |line: Vec<u8>, run: &mut BuildRun, log: &mut Log| {
        log.raw(&line);
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        if let Some(i) = phase_of(&text) {
            run.phase = Some(i);
            on_phase(i, &text);
        }
        run.tail.push(text);
        if run.tail.len() > TAIL_LINES {
            run.tail.remove(0);
        }
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => take(line, &mut run, log),
            // Output closed: the process ends soon, or has.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Some(s) = child.try_wait()? {
            run.status = Some(s);
            break;
        }
        if let Some(sig) = signals::caught() {
            run.stopped = Some(Stopped::Signal(sig));
            log.note(&format!(
                "{sig} received: stopping make.bash (process group {pid})"
            ));
            run.status = stop_group(&mut child, STOP_GRACE);
            break;
        }
        if start.elapsed() >= timeout {
            run.stopped = Some(Stopped::Timeout);
            log.note(&format!(
                "make.bash still running after {} s: stopping it (process group {pid})",
                timeout.as_secs()
            ));
            run.status = stop_group(&mut child, STOP_GRACE);
            break;
        }
    }
    // Leftovers of the group (a compiler a failed build left behind) go too.
    let pg = group_of(&child);
    let gone_by = Instant::now() + Duration::from_secs(5);
    while !group_gone(pg) && Instant::now() < gone_by {
        let _ = killpg(pg, Signal::SIGKILL);
        std::thread::sleep(Duration::from_millis(20));
    }
    let drain_until = Instant::now() + Duration::from_secs(2);
    while let Some(left) = drain_until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => take(line, &mut run, log),
            Err(_) => break,
        }
    }
    run.elapsed = start.elapsed();
    Ok(run)
}

/// The path of make.bash in a tree.
pub fn make_bash_path(goroot: &Path) -> PathBuf {
    goroot.join("src/make.bash")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_of_go_1_23_output() {
        let out = [
            "Building Go cmd/dist using /usr/lib/go-1.23. (go1.23.5 linux/amd64)",
            "Building Go toolchain1 using /usr/lib/go-1.23.",
            "Building Go bootstrap cmd/go (go_bootstrap) using Go toolchain1.",
            "Building Go toolchain2 using go_bootstrap and Go toolchain1.",
            "Building Go toolchain3 using go_bootstrap and Go toolchain2.",
            "Building packages and commands for linux/amd64.",
            "---",
            "Installed Go for linux/amd64 in /tmp/go",
        ];
        let got: Vec<_> = out.iter().map(|l| phase_of(l)).collect();
        assert_eq!(
            got,
            [
                Some(0),
                Some(1),
                Some(2),
                Some(3),
                Some(4),
                Some(5),
                None,
                None
            ]
        );
    }

    #[test]
    fn env_clears_what_would_be_baked_in() {
        let cur: Vec<(OsString, OsString)> = [
            ("GOARCH", "arm64"),
            ("PATH", "/usr/bin"),
            ("CC_FOR_linux_arm64", "aarch64-linux-gnu-gcc"),
            ("CGO_CFLAGS", "-arch x86_64"),
            ("GOTOOLCHAIN", "auto"),
            ("HOME", "/root"),
        ]
        .iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect();
        let e = build_env(Path::new("/b"), &cur);
        assert_eq!(e.unset, ["CC_FOR_linux_arm64", "CGO_CFLAGS", "GOARCH"]);
        assert!(e.set.contains(&("GOTOOLCHAIN".into(), "local".into())));
        assert!(e.set.contains(&("GOROOT_BOOTSTRAP".into(), "/b".into())));
    }
}
