//! Ground truth for `gohang dump` (issue 20): the runtime's own SIGQUIT traceback of the
//! same process.
//!
//! For every Go toolchain scripts/setup.sh installs (tests/util/toolchains.rs) and build
//! mode (default, `-ldflags=-s -w`, `-buildmode=pie` for 1.23/1.26/1.27, GOARCH=arm64 under
//! qemu-user for 1.23 and 1.27), tests/go/dumptarget is built and run until it says its
//! goroutines wait (channel, select, mutexes, WaitGroup, sleep, loopback TCP read, pipe read
//! in a syscall, exec.Cmd.Wait, labels, generics, a locked thread, a deep recursion, a
//! spinner; with 1.27 also "(leaked)" ones). Then `gohang dump PID --json` and `gohang dump
//! PID` read it from memory, the process gets SIGQUIT (on its main thread, which the
//! program keeps idle, so that the goroutine the signal interrupts is a g0), and its stderr
//! is parsed (tests/util/traceback.rs). Both views must list the same goroutines and, for
//! every goroutine that neither view shows running, runnable or preempted (the spinner: it
//! moves between the two views), the same status, minutes, locked-to-thread, labels (when
//! the runtime printed them), frames (function, file, line, +0x, inlined or not), elided
//! count and created-by. A mismatch fails with a readable diff of every goroutine that
//! differs.
//!
//! Also the `go` command itself (Debian's stripped 1.23 and the official 1.27) stuck in
//! `go mod download` on a 127.0.0.1 module proxy that accepts and never answers: the
//! waiting goroutine shows its cmd/go and net/http frames, and the whole dump matches.
//!
//! The binary under test is `GOHANG_DUMP_BIN` when set (to try another build of the
//! reader), else the gohang cargo built for these tests.
#![cfg(target_os = "linux")]

mod util;

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use util::toolchains::{self, Toolchain};
use util::traceback::{self, LabelStyle};
use util::{Guard, need, qemu_aarch64_registered};

// ---------------------------------------------------------------------------------------
// The JSON of `gohang dump --json` (schema gohang.dump/1), read strictly.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DumpJson {
    schema: String,
    pid: u32,
    go_version: String,
    goarch: String,
    layout_source: String,
    goroutines: Vec<GoroutineJson>,
    summary: Vec<SummaryJson>,
    notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GoroutineJson {
    id: u64,
    state: String,
    status: String,
    wait_reason: Option<String>,
    wait_minutes: u64,
    locked_to_thread: bool,
    thread: Option<u64>,
    labels: Vec<(String, String)>,
    frames: Vec<FrameJson>,
    elided: u64,
    created_by: Option<CreatedByJson>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameJson {
    function: String,
    file: String,
    line: u32,
    pc_offset: Option<u64>,
    inlined: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatedByJson {
    function: String,
    file: String,
    line: u32,
    pc_offset: Option<u64>,
    goroutine: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryJson {
    count: u64,
    status: String,
    frames: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// One common view of a goroutine, from either side, and the comparison.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Frame {
    function: String,
    file: String,
    line: u32,
    pc_offset: Option<u64>,
    inlined: bool,
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{} {}:{}",
            self.function,
            if self.inlined { "(...)" } else { "()" },
            self.file,
            self.line
        )?;
        if let Some(o) = self.pc_offset {
            write!(f, " +{o:#x}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    id: u64,
    status: String,
    minutes: u64,
    locked: bool,
    /// None: this side did not show labels (the runtime prints them only when
    /// tracebacklabels is on).
    labels: Option<Vec<(String, String)>>,
    frames: Vec<Frame>,
    elided: u64,
    /// "F in goroutine N at file:line +0x" (None for goroutine 1 and none).
    created_by: Option<String>,
    /// Running, runnable or preempted (may move between views), running without a stack,
    /// or the goroutine SIGQUIT interrupted.
    moving: bool,
    /// What gohang said it could not read.
    error: Option<String>,
}

fn created_by_text(
    function: &str,
    goroutine: Option<u64>,
    file: &str,
    line: u32,
    off: Option<u64>,
) -> String {
    let mut s = function.to_string();
    if let Some(p) = goroutine.filter(|&p| p != 0) {
        let _ = write!(s, " in goroutine {p}");
    }
    let _ = write!(s, " at {file}:{line}");
    if let Some(o) = off {
        let _ = write!(s, " +{o:#x}");
    }
    s
}

fn moving_status(status: &str) -> bool {
    matches!(status, "running" | "runnable" | "preempted")
        || status.starts_with("running ")
        || status.starts_with("runnable ")
}

/// `gohang_text`: the dump is gohang's text, which prints `(...)` for every frame's
/// arguments (it does not read their values); an inlined frame there is one without +0x.
fn views_of_trace(d: &traceback::Dump, gohang_text: bool) -> BTreeMap<u64, View> {
    let signalled = d.signalled().map(|g| g.id);
    let mut out = BTreeMap::new();
    for g in &d.goroutines {
        if g.id == 0 {
            // A g0 (the thread SIGQUIT interrupted): not a goroutine of allgs.
            continue;
        }
        let v = View {
            id: g.id,
            status: g.status.clone(),
            minutes: g.minutes,
            locked: g.locked_to_thread,
            labels: g.label_style.map(|_| g.labels.clone()),
            frames: g
                .frames
                .iter()
                .map(|f| Frame {
                    function: f.function.clone(),
                    file: f.file.clone(),
                    line: f.line,
                    pc_offset: f.pc_offset,
                    inlined: if gohang_text {
                        f.pc_offset.is_none()
                    } else {
                        f.inlined()
                    },
                })
                .collect(),
            elided: g.elided.map_or(0, |e| e.0),
            created_by: g
                .created_by
                .as_ref()
                .map(|c| created_by_text(&c.function, c.goroutine, &c.file, c.line, c.pc_offset)),
            moving: moving_status(&g.status)
                || g.stack_unavailable.is_some()
                || Some(g.id) == signalled,
            error: None,
        };
        out.insert(g.id, v);
    }
    out
}

fn views_of_json(d: &DumpJson) -> BTreeMap<u64, View> {
    d.goroutines
        .iter()
        .map(|g| {
            let v = View {
                id: g.id,
                status: g.status.clone(),
                minutes: g.wait_minutes,
                locked: g.locked_to_thread,
                labels: Some(g.labels.clone()),
                frames: g
                    .frames
                    .iter()
                    .map(|f| Frame {
                        function: f.function.clone(),
                        file: f.file.clone(),
                        line: f.line,
                        pc_offset: f.pc_offset,
                        inlined: f.inlined,
                    })
                    .collect(),
                elided: g.elided,
                created_by: g.created_by.as_ref().map(|c| {
                    created_by_text(&c.function, c.goroutine, &c.file, c.line, c.pc_offset)
                }),
                moving: moving_status(&g.status) || moving_status(&g.state),
                error: g.error.clone(),
            };
            (g.id, v)
        })
        .collect()
}

/// Compare `got` (gohang) against `want` (SIGQUIT). Returns the number of goroutines
/// compared in full and a report of every difference (empty when they agree).
fn compare(want: &BTreeMap<u64, View>, got: &BTreeMap<u64, View>) -> (usize, String) {
    let mut report = String::new();
    let want_ids: BTreeSet<u64> = want.keys().copied().collect();
    let got_ids: BTreeSet<u64> = got.keys().copied().collect();
    for id in want_ids.difference(&got_ids) {
        let w = &want[id];
        let _ = writeln!(
            report,
            "goroutine {id} [{}]: in SIGQUIT's dump, missing from gohang's",
            w.status
        );
    }
    for id in got_ids.difference(&want_ids) {
        let g = &got[id];
        let _ = writeln!(
            report,
            "goroutine {id} [{}]: in gohang's dump, not in SIGQUIT's",
            g.status
        );
    }
    let mut compared = 0;
    for id in want_ids.intersection(&got_ids) {
        let (w, g) = (&want[id], &got[id]);
        if w.moving || g.moving {
            continue;
        }
        compared += 1;
        let mut diffs = Vec::new();
        if let Some(e) = &g.error {
            diffs.push(format!("gohang could not read it: {e}"));
        }
        if w.status != g.status {
            diffs.push(format!("status: want {:?}, got {:?}", w.status, g.status));
        }
        if w.minutes != g.minutes {
            diffs.push(format!("minutes: want {}, got {}", w.minutes, g.minutes));
        }
        if w.locked != g.locked {
            diffs.push(format!(
                "locked to thread: want {}, got {}",
                w.locked, g.locked
            ));
        }
        if let (Some(wl), Some(gl)) = (&w.labels, &g.labels)
            && wl != gl
        {
            diffs.push(format!("labels: want {wl:?}, got {gl:?}"));
        }
        if w.elided != g.elided {
            diffs.push(format!(
                "frames elided: want {}, got {}",
                w.elided, g.elided
            ));
        }
        if w.frames != g.frames {
            let mut s = String::from("frames (- SIGQUIT, + gohang):");
            let n = w.frames.len().max(g.frames.len());
            for i in 0..n {
                match (w.frames.get(i), g.frames.get(i)) {
                    (Some(a), Some(b)) if a == b => {
                        let _ = write!(s, "\n      {a}");
                    }
                    (a, b) => {
                        if let Some(a) = a {
                            let _ = write!(s, "\n    - {a}");
                        }
                        if let Some(b) = b {
                            let _ = write!(s, "\n    + {b}");
                        }
                    }
                }
            }
            diffs.push(s);
        }
        if w.created_by != g.created_by {
            diffs.push(format!(
                "created by: want {:?}, got {:?}",
                w.created_by, g.created_by
            ));
        }
        if !diffs.is_empty() {
            let _ = writeln!(report, "goroutine {id} [{}]:", w.status);
            for d in diffs {
                let _ = writeln!(report, "  {d}");
            }
        }
    }
    (compared, report)
}

// ---------------------------------------------------------------------------------------
// Building and running the target.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Default,
    Stripped,
    Pie,
    Arm64,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Default => "default",
            Mode::Stripped => "stripped",
            Mode::Pie => "pie",
            Mode::Arm64 => "arm64",
        }
    }
    fn goarch(self) -> &'static str {
        if self == Mode::Arm64 {
            "arm64"
        } else {
            "amd64"
        }
    }
}

/// The tests' scratch directory, made on first use: whichever test comes first on a fresh
/// checkout (a build, or `go env` run in it) finds it there.
fn work_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gomem-truth");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Build tests/go/dumptarget with `tc` in `mode`; the go build cache is kept between runs.
fn build_target(tc: &Toolchain, mode: Mode) -> PathBuf {
    let out = work_dir().join(format!("dumptarget-{}-{}", tc.name(), mode.name()));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/dumptarget");
    let mut c = tc.command(&work_dir());
    c.current_dir(&src).args(["build", "-o"]).arg(&out);
    match mode {
        Mode::Default | Mode::Arm64 => {}
        Mode::Stripped => {
            c.arg("-ldflags=-s -w");
        }
        Mode::Pie => {
            c.arg("-buildmode=pie");
        }
    }
    c.arg(".").env("GOOS", "linux").env("GOARCH", mode.goarch());
    let o = c.output().expect("running go build");
    assert!(
        o.status.success(),
        "{} could not build dumptarget ({}):\n{}",
        tc.name(),
        mode.name(),
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// A running Go program, its stderr collected from the start (a SIGQUIT dump of 10,000
/// goroutines is far larger than a pipe), its process group killed on drop.
struct Target {
    guard: Guard,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Target {
    fn spawn(cmd: &mut Command) -> Target {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut guard = Guard::spawn_group(cmd);
        let mut err = guard.child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = err.read_to_end(&mut v);
            v
        });
        Target {
            guard,
            stderr: Some(stderr),
        }
    }
    fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// Wait for the "ready PID" line on stdout.
    fn wait_ready(&mut self, limit: Duration) {
        let out = self.guard.child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(limit).unwrap_or_else(|_| {
            panic!(
                "dumptarget (pid {}) did not say ready within {limit:?}",
                self.pid()
            )
        });
        assert_eq!(
            line.trim(),
            format!("ready {}", self.pid()),
            "dumptarget's first line"
        );
    }

    /// SIGQUIT to the main thread; the runtime's dump from stderr and the exit status.
    fn sigquit(mut self, limit: Duration) -> (String, Option<i32>) {
        let pid = self.pid() as libc::pid_t;
        // SAFETY: tgkill with a pid/tid of a child this test started and has not reaped.
        let r = unsafe { libc::syscall(libc::SYS_tgkill, pid, pid, libc::SIGQUIT) };
        assert_eq!(r, 0, "tgkill SIGQUIT: {}", std::io::Error::last_os_error());
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Ok(Some(s)) = self.guard.child.try_wait() {
                break Some(s);
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let Some(status) = status else {
            panic!("pid {pid} did not exit within {limit:?} of SIGQUIT");
        };
        // The whole group goes: a child of the target's may hold the stderr pipe open.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let err = self.stderr.take().unwrap().join().unwrap();
        (String::from_utf8_lossy(&err).into_owned(), status.code())
    }
}

fn dump_bin() -> PathBuf {
    std::env::var_os("GOHANG_DUMP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_gohang")))
}

/// `gohang dump PID [args]`: stdout, stderr, exit code. Its output is read while it runs
/// (a dump is larger than a pipe holds), and it is killed if it takes over two minutes.
fn gohang_dump(pid: u32, args: &[&str]) -> (String, String, i32) {
    let mut c = Command::new(dump_bin());
    c.arg("dump").arg(pid.to_string()).args(args);
    let mut t = Target::spawn(&mut c);
    let mut out = t.guard.child.stdout.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let status = util::wait_for(Duration::from_secs(120), || {
        t.guard.child.try_wait().ok().flatten()
    })
    .expect("gohang dump did not finish in 120 s");
    let out = stdout.join().unwrap();
    let err = t.stderr.take().unwrap().join().unwrap();
    (
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
        status.code().unwrap_or(-1),
    )
}

/// Both of gohang's views of `pid` (JSON and text, parsed), checked for the basics.
fn gohang_views(pid: u32, what: &str, go_version: &str, goarch: &str) -> (DumpJson, String) {
    let (out, err, code) = gohang_dump(pid, &["--json"]);
    assert_eq!(
        code,
        0,
        "{what}: `{} dump {pid} --json` exited {code}; stderr:\n{err}",
        dump_bin().display()
    );
    let json: DumpJson = serde_json::from_str(&out).unwrap_or_else(|e| {
        panic!("{what}: gohang dump --json is not schema gohang.dump/1 ({e}):\n{out}")
    });
    assert_eq!(json.schema, "gohang.dump/1", "{what}");
    assert_eq!(json.pid, pid, "{what}");
    assert_eq!(json.go_version, go_version, "{what}: go_version");
    assert_eq!(json.goarch, goarch, "{what}: goarch");
    assert!(
        matches!(json.layout_source.as_str(), "table" | "dwarf"),
        "{what}: layout_source {:?}",
        json.layout_source
    );
    let total: u64 = json.summary.iter().map(|s| s.count).sum();
    assert_eq!(
        total,
        json.goroutines.len() as u64,
        "{what}: the summary counts every goroutine once"
    );
    let (text, err, code) = gohang_dump(pid, &[]);
    assert_eq!(code, 0, "{what}: `gohang dump {pid}` exited {code}:\n{err}");
    (json, text)
}

/// The toolchain's `go env GOVERSION`.
fn go_version(tc: &Toolchain) -> String {
    let o = tc
        .command(&work_dir())
        .args(["env", "GOVERSION"])
        .current_dir(work_dir())
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// What the JSON says about itself must hold together: the status is the wait reason (with
/// " (leaked)" for a leaked goroutine) or else the state's name, a thread only for a
/// goroutine on one, and every summary group counts goroutines that exist.
fn json_consistency(json: &DumpJson) -> String {
    let mut report = String::new();
    for g in &json.goroutines {
        let ok = match &g.wait_reason {
            Some(r) => {
                (g.state == "waiting" && g.status == *r)
                    || (g.state == "leaked" && g.status == format!("{r} (leaked)"))
            }
            None => g.status == g.state || g.status.starts_with(&format!("{} (", g.state)),
        };
        if !ok {
            let _ = writeln!(
                report,
                "goroutine {}: state {:?}, wait_reason {:?} and status {:?} disagree",
                g.id, g.state, g.wait_reason, g.status
            );
        }
        if g.thread.is_some() && !matches!(g.state.as_str(), "running" | "syscall") {
            let _ = writeln!(
                report,
                "goroutine {}: a thread ({:?}) for a goroutine in state {:?}",
                g.id, g.thread, g.state
            );
        }
    }
    for s in &json.summary {
        // A group's frames are its goroutines' functions (maybe fewer of them): at least
        // `count` goroutines with its status hold them in that order.
        let members = json
            .goroutines
            .iter()
            .filter(|g| {
                let mut funcs = g.frames.iter().map(|f| f.function.as_str());
                g.status == s.status && s.frames.iter().all(|want| funcs.any(|f| f == want))
            })
            .count() as u64;
        if members < s.count {
            let _ = writeln!(
                report,
                "summary [{}] {:?}: count {}, but only {} goroutines have that status and those frames",
                s.status, s.frames, s.count, members
            );
        }
    }
    if !json.notes.is_empty() {
        eprintln!("gohang's notes: {:?}", json.notes);
    }
    report
}

struct Checked {
    compared: usize,
    report: String,
}

/// Compare SIGQUIT's dump with gohang's JSON and text; every difference in one report.
fn check_views(what: &str, sigquit: &str, json: &DumpJson, text: &str) -> Checked {
    let truth = traceback::parse(sigquit)
        .unwrap_or_else(|e| panic!("{what}: SIGQUIT's dump does not parse: {e}\n{sigquit}"));
    let want = views_of_trace(&truth, false);
    let (compared, json_report) = compare(&want, &views_of_json(json));
    let mut report = String::new();
    let own = json_consistency(json);
    if !own.is_empty() {
        let _ = writeln!(
            report,
            "{what}: gohang dump --json contradicts itself:\n{own}"
        );
    }
    if !json_report.is_empty() {
        let _ = writeln!(report, "{what}: gohang dump --json differs:\n{json_report}");
    }
    match traceback::parse(text) {
        Err(e) => {
            let _ = writeln!(
                report,
                "{what}: gohang dump's text is not a Go traceback: {e}"
            );
        }
        Ok(t) => {
            // The text shows labels exactly when the runtime does: no labels printed on
            // one side and some on the other is a difference here.
            let printed = |m: &mut BTreeMap<u64, View>| {
                for v in m.values_mut() {
                    v.labels = Some(v.labels.take().unwrap_or_default());
                }
            };
            let mut got = views_of_trace(&t, true);
            let mut want_text = want.clone();
            printed(&mut got);
            printed(&mut want_text);
            let (_, text_report) = compare(&want_text, &got);
            if !text_report.is_empty() {
                let _ = writeln!(report, "{what}: gohang dump (text) differs:\n{text_report}");
            }
        }
    }
    Checked { compared, report }
}

/// One ground-truth round: build, run, dump twice, SIGQUIT, compare.
fn truth_round(tc: &Toolchain, mode: Mode, extra_args: &[&str]) -> Checked {
    let what = format!("{} {} {}", tc.name(), mode.name(), extra_args.join(" "))
        .trim_end()
        .to_string();
    let bin = build_target(tc, mode);
    let mut cmd = Command::new(&bin);
    cmd.args(["-timeout", "5m"]).args(extra_args);
    cmd.env_remove("GODEBUG").env_remove("GOTRACEBACK");
    if tc.minor >= 26 && mode != Mode::Stripped {
        // Labels in SIGQUIT's dump: opt-in in 1.26; in 1.27 the default only for modules
        // that say `go 1.27`, and dumptarget says 1.21. The stripped builds run without it,
        // so that gohang is also seen to print no labels when the runtime would not.
        cmd.env("GODEBUG", "tracebacklabels=1");
    }
    let mut t = Target::spawn(&mut cmd);
    let limit = if mode == Mode::Arm64 { 300 } else { 120 };
    t.wait_ready(Duration::from_secs(limit));
    let pid = t.pid();
    let (json, text) = gohang_views(pid, &what, &go_version(tc), mode.goarch());
    assert!(
        util::alive(pid, util::start_time(pid).unwrap_or(0)),
        "{what}: the target died while gohang read it"
    );
    let (sigquit, code) = t.sigquit(Duration::from_secs(limit));
    assert_eq!(
        code,
        Some(2),
        "{what}: a Go program exits 2 after SIGQUIT; stderr:\n{sigquit}"
    );
    let c = check_views(&what, &sigquit, &json, &text);
    // dumptarget's own goroutines (16, one more with 1.27) plus the runtime's: all but the
    // spinner must have been compared.
    let min = 16 + usize::from(tc.minor >= 27);
    assert!(
        c.compared >= min,
        "{what}: only {} goroutines compared (want ≥ {min})\n{}",
        c.compared,
        c.report
    );
    c
}

/// Every build mode of one toolchain; one failure report for all of them.
fn truth_for(name: &str) {
    let Some(tc) = toolchains::by_name(name) else {
        return;
    };
    let mut modes = vec![Mode::Default, Mode::Stripped];
    if matches!(tc.minor, 23 | 26 | 27) {
        modes.push(Mode::Pie);
    }
    let extra: &[&str] = if tc.minor >= 27 { &["-leak"] } else { &[] };
    let mut report = String::new();
    for mode in modes {
        let c = truth_round(&tc, mode, extra);
        eprintln!(
            "{} {}: {} goroutines compared",
            tc.name(),
            mode.name(),
            c.compared
        );
        report.push_str(&c.report);
    }
    assert!(report.is_empty(), "\n{report}");
}

fn truth_arm64(name: &str) {
    if !need(
        qemu_aarch64_registered(),
        "qemu-aarch64 registered in binfmt_misc",
    ) {
        return;
    }
    let Some(tc) = toolchains::by_name(name) else {
        return;
    };
    let extra: &[&str] = if tc.minor >= 27 { &["-leak"] } else { &[] };
    let c = truth_round(&tc, Mode::Arm64, extra);
    eprintln!("{} arm64: {} goroutines compared", tc.name(), c.compared);
    assert!(c.report.is_empty(), "\n{}", c.report);
}

#[cfg(target_os = "linux")]
#[test]
fn truth_debian_1_21() {
    truth_for("debian-1.21");
}

#[cfg(target_os = "linux")]
#[test]
fn truth_debian_1_22() {
    truth_for("debian-1.22");
}

#[cfg(target_os = "linux")]
#[test]
fn truth_debian_1_23() {
    truth_for("debian-1.23");
}

#[cfg(target_os = "linux")]
#[test]
fn truth_go1_24_11() {
    truth_for("go1.24.11");
}

#[cfg(target_os = "linux")]
#[test]
fn truth_go1_25_5() {
    truth_for("go1.25.5");
}

#[cfg(target_os = "linux")]
#[test]
fn truth_go1_26_6() {
    truth_for("go1.26.6");
}

#[cfg(target_os = "linux")]
#[test]
fn truth_go1_27_3() {
    truth_for("go1.27.3");
}

#[cfg(target_os = "linux")]
#[test]
fn truth_arm64_qemu_debian_1_23() {
    truth_arm64("debian-1.23");
}

#[cfg(target_os = "linux")]
#[test]
fn truth_arm64_qemu_go1_27_3() {
    truth_arm64("go1.27.3");
}

/// 10,000 goroutines parked on one channel, all of them compared.
#[cfg(target_os = "linux")]
#[test]
fn truth_10000_parked_go1_27_3() {
    let Some(tc) = toolchains::by_name("go1.27.3") else {
        return;
    };
    let c = truth_round(&tc, Mode::Default, &["-parked", "10000"]);
    assert!(
        c.compared >= 10_000,
        "only {} goroutines compared",
        c.compared
    );
    assert!(c.report.is_empty(), "\n{}", c.report);
}

// ---------------------------------------------------------------------------------------
// The go command itself, stuck on a module proxy that never answers.

fn go_mod_download_truth(name: &str) {
    let Some(tc) = toolchains::by_name(name) else {
        return;
    };
    let what = format!("{} go mod download", tc.name());
    let home = tempfile::tempdir().unwrap();
    let app = home.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("go.mod"),
        "module example.com/app\n\ngo 1.21\n\nrequire example.com/dep v1.0.0\n",
    )
    .unwrap();
    let proxy = util::proxy::SilentProxy::start(Duration::from_secs(300));
    let mut c = tc.command(home.path());
    c.current_dir(&app)
        .args(["mod", "download"])
        .env("GOPROXY", format!("http://{}", proxy.addr))
        .env("GOSUMDB", "off")
        .env("GOFLAGS", "-mod=mod")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env_remove("GOPRIVATE")
        .env_remove("GONOPROXY");
    let t = Target::spawn(&mut c);
    let pid = t.pid();
    util::wait_for(Duration::from_secs(60), || {
        (proxy.requests.load(std::sync::atomic::Ordering::SeqCst) > 0).then_some(())
    })
    .unwrap_or_else(|| panic!("{what}: go never sent its request to the proxy"));
    // The request is written; go now waits for an answer. Give its goroutines the moment
    // they need to park (polled: the main thread's wait shows in /proc).
    util::wait_for(Duration::from_secs(10), || {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
        let all_sleeping = tasks.flatten().all(|e| {
            std::fs::read_to_string(e.path().join("stat"))
                .is_ok_and(|s| s.rfind(')').is_some_and(|c| s[c + 2..].starts_with('S')))
        });
        all_sleeping.then_some(())
    })
    .unwrap_or_else(|| panic!("{what}: go's threads never all slept"));

    let version = go_version(&tc);
    let (json, text) = gohang_views(pid, &what, &version, "amd64");
    let waiting = json.goroutines.iter().find(|g| {
        g.frames.iter().any(|f| f.function.starts_with("cmd/go/"))
            && g.frames.iter().any(|f| f.function.starts_with("net/http."))
    });
    assert!(
        waiting.is_some(),
        "{what}: no goroutine with both cmd/go and net/http frames in gohang's dump:\n{text}"
    );
    let (sigquit, code) = t.sigquit(Duration::from_secs(60));
    assert_eq!(
        code,
        Some(2),
        "{what}: go exits 2 after SIGQUIT:\n{sigquit}"
    );
    let truth = traceback::parse(&sigquit).unwrap();
    assert!(
        truth.goroutines.iter().any(|g| {
            g.frames.iter().any(|f| f.function.starts_with("cmd/go/"))
                && g.frames.iter().any(|f| f.function.starts_with("net/http."))
        }),
        "{what}: SIGQUIT shows no goroutine waiting in cmd/go and net/http:\n{sigquit}"
    );
    let c = check_views(&what, &sigquit, &json, &text);
    eprintln!("{what}: {} goroutines compared", c.compared);
    assert!(c.compared >= 3, "{what}: only {} compared", c.compared);
    assert!(c.report.is_empty(), "\n{}", c.report);
}

#[cfg(target_os = "linux")]
#[test]
fn go_mod_download_stuck_debian_1_23_stripped_go() {
    go_mod_download_truth("debian-1.23");
}

#[cfg(target_os = "linux")]
#[test]
fn go_mod_download_stuck_official_go1_27_3() {
    go_mod_download_truth("go1.27.3");
}

// ---------------------------------------------------------------------------------------
// The parser, on real SIGQUIT dumps of dumptarget (paths shortened to /src/dumptarget and
// /usr/local/go) and on made-up lines for what those do not hold.

fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tracebacks")
            .join(name),
    )
    .unwrap()
}

fn parse_fixture(name: &str) -> traceback::Dump {
    traceback::parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn find<'a>(d: &'a traceback::Dump, function: &str) -> &'a traceback::Goroutine {
    d.goroutines
        .iter()
        .find(|g| g.frames.iter().any(|f| f.function == function))
        .unwrap_or_else(|| panic!("no goroutine in {function}"))
}

#[test]
fn parse_go1_21_headers_without_gp_and_the_register_trailer() {
    let d = parse_fixture("sigquit-go1.21-amd64.txt");
    assert_eq!(d.preamble[0], "SIGQUIT: quit");
    assert!(d.preamble[1].starts_with("PC=0x"));
    let g0 = d.signalled().unwrap();
    assert_eq!((g0.id, g0.status.as_str(), g0.gp), (0, "idle", None));
    let main = d.get(1).unwrap();
    assert_eq!(main.status, "sleep");
    assert!(main.locked_to_thread);
    assert_eq!(main.created_by, None);
    assert_eq!(main.frames.last().unwrap().function, "runtime.goexit");
    assert!(d.trailer[0].starts_with("rax "), "{:?}", d.trailer);
    // 1.21: `go` statements are main.main.funcN, WaitGroup waits say semacquire.
    let wg = find(&d, "main.waitWaitGroup");
    assert_eq!(wg.status, "semacquire");
    let chan = find(&d, "main.waitChanRecv");
    assert_eq!(chan.status, "chan receive");
    let names = chan.function_names();
    let i = names.iter().position(|n| *n == "main.inlinedRecv").unwrap();
    assert!(chan.frames[i].inlined());
    assert_eq!(chan.frames[i].pc_offset, None);
    assert_eq!(chan.frames[i].fp_sp_pc, None);
    assert_eq!(names[i + 1], "main.waitChanRecv");
    assert!(!chan.frames[i + 1].inlined());
    assert!(chan.frames[i + 1].pc_offset.is_some());
    assert!(chan.frames[i + 1].fp_sp_pc.is_some());
    assert_eq!(chan.frames[i].file, "/src/dumptarget/main.go");
    assert!(names.iter().any(|n| n.starts_with("main.main.func")));
    let cb = chan.created_by.as_ref().unwrap();
    assert_eq!((cb.function.as_str(), cb.goroutine), ("main.main", Some(1)));
    assert_eq!(cb.file, "/src/dumptarget/main.go");
    assert!(cb.pc_offset.is_some());
    assert_eq!(find(&d, "main.waitPipeRead").status, "syscall");
    assert_eq!(find(&d, "main.waitTCPRead").status, "IO wait");
    assert_eq!(find(&d, "main.waitMutex").status, "sync.Mutex.Lock");
    assert_eq!(find(&d, "main.waitRLock").status, "sync.RWMutex.RLock");
    assert_eq!(find(&d, "main.waitWLock").status, "sync.RWMutex.Lock");
    assert_eq!(find(&d, "main.waitSelect").status, "select");
    let locked = find(&d, "main.waitLocked");
    assert_eq!(
        (locked.status.as_str(), locked.locked_to_thread),
        ("chan receive", true)
    );
    // Generic function and method names print with [...].
    assert!(d.goroutines.iter().any(|g| {
        g.frames
            .iter()
            .any(|f| f.function == "main.(*Box[...]).Wait")
    }));
    assert_eq!(find(&d, "main.waitGeneric[...]").status, "chan receive");
    // 150 recursive frames: the first 50 and the last 50 are printed.
    let deep = find(&d, "main.recurse");
    let (n, at) = deep.elided.unwrap();
    assert_eq!(at, 50);
    assert_eq!(deep.frames.len(), 100);
    assert!(n > 0);
    // All 16 of dumptarget's goroutines and the runtime's.
    assert!(d.goroutines.len() >= 20, "{}", d.goroutines.len());
    assert!(d.goroutines.iter().all(|g| g.labels.is_empty()));
}

#[test]
fn parse_go1_23_arm64_with_gp_m_and_mp() {
    let d = parse_fixture("sigquit-go1.23-arm64.txt");
    assert!(d.trailer.iter().any(|l| l.starts_with("lr ")));
    assert!(d.goroutines.iter().all(|g| g.gp.is_some()));
    let sys = find(&d, "main.waitPipeRead");
    assert_eq!(sys.status, "syscall");
    assert!(sys.m.is_some(), "a goroutine in a syscall keeps its M");
    let chan = find(&d, "main.waitChanRecv");
    assert_eq!(chan.m, None);
    assert!(
        chan.function_names()
            .iter()
            .any(|n| n.starts_with("main.main.gowrap"))
    );
}

#[test]
fn parse_go1_26_labels_inside_the_brackets() {
    let d = parse_fixture("sigquit-go1.26-amd64-labels.txt");
    let l = find(&d, "main.waitLabeled.func1");
    assert_eq!(l.status, "chan receive");
    assert_eq!(l.label_style, Some(LabelStyle::Inside));
    assert_eq!(
        l.labels,
        vec![
            ("job".to_string(), "worker 1".to_string()),
            ("k".to_string(), "v".to_string())
        ]
    );
    assert_eq!(find(&d, "main.waitWaitGroup").status, "sync.WaitGroup.Wait");
}

#[test]
fn parse_go1_27_labels_after_the_brackets_leaked_and_generic_methods() {
    let d = parse_fixture("sigquit-go1.27-amd64-labels-leak.txt");
    let l = find(&d, "main.waitLabeled.func1");
    assert_eq!(l.status, "chan receive");
    assert_eq!(l.label_style, Some(LabelStyle::After));
    assert_eq!(
        l.labels,
        vec![
            ("job".to_string(), "worker 1".to_string()),
            ("k".to_string(), "v".to_string())
        ]
    );
    let conv = find(&d, "main.(*Box[...]).Conv[...]");
    assert_eq!(conv.status, "chan receive (leaked)");
    assert!(conv.leaked());
    assert!(d.goroutines.iter().filter(|g| g.leaked()).count() >= 3);
    assert!(!find(&d, "main.waitChanRecv").leaked());
}

#[test]
fn parse_made_up_lines_the_fixtures_lack() {
    let text = "\
goroutine 7 gp=0x1 m=3 mp=0x2 [running]:
\tgoroutine running on other thread; stack unavailable

goroutine 8 [running]:
\tgoroutine running on thread 4242; stack unavailable

goroutine 9 [chan receive, 12 minutes, locked to thread, synctest bubble 3] {\"a b\": \"c\\\"}\\n\", x: y}:
main.f(...)
\t/src/a b/main.go:10
main.g({0x1, 0x2}, 0x3?, ...)
\tC:/src/main.go:20 +0x1f
created by main.main
\t/src/main.go:30

goroutine 10 [select (no cases) labels:{\"k]\": \"v, w\"}]:
main.h()
\t/src/main.go:5 +0x5 fp=0x10 sp=0x8 pc=0x400005
[originating from goroutine 1]:
main.main(...)
\t/src/main.go:40
...additional frames elided...
created by runtime.main
\t/usr/local/go/src/runtime/proc.go:1

summary: 4 goroutines
";
    let d = traceback::parse(text).unwrap();
    assert_eq!(d.goroutines.len(), 4);
    assert_eq!(d.goroutines[0].stack_unavailable, Some(None));
    assert_eq!(d.goroutines[0].m, Some(3));
    assert_eq!(d.goroutines[1].stack_unavailable, Some(Some(4242)));
    let g = &d.goroutines[2];
    assert_eq!(
        (g.status.as_str(), g.minutes, g.locked_to_thread, g.bubble),
        ("chan receive", 12, true, Some(3))
    );
    assert_eq!(
        g.labels,
        vec![
            ("a b".to_string(), "c\"}\n".to_string()),
            ("x".to_string(), "y".to_string())
        ]
    );
    assert_eq!(g.frames[0].file, "/src/a b/main.go");
    assert!(g.frames[0].inlined());
    assert_eq!(g.frames[1].args, "{0x1, 0x2}, 0x3?, ...");
    assert_eq!(
        (
            g.frames[1].file.as_str(),
            g.frames[1].line,
            g.frames[1].pc_offset
        ),
        ("C:/src/main.go", 20, Some(0x1f))
    );
    let cb = g.created_by.as_ref().unwrap();
    assert_eq!((cb.goroutine, cb.pc_offset), (None, None));
    let h = &d.goroutines[3];
    assert_eq!(h.status, "select (no cases)");
    assert_eq!(h.labels, vec![("k]".to_string(), "v, w".to_string())]);
    assert_eq!(h.frames[0].fp_sp_pc, Some((0x10, 0x8, 0x400005)));
    assert_eq!(h.ancestors.len(), 1);
    assert!(h.ancestors[0].more);
    assert_eq!(h.ancestors[0].goroutine, 1);
    assert_eq!(d.trailer, vec!["summary: 4 goroutines".to_string()]);

    for bad in [
        "goroutine 1 [sleep, 3 hours]:\n",
        "goroutine 1 [sleep]:\nmain.f()\n",
        "goroutine 1 [sleep]:\nmain.f()\n\t/src/main.go:x +0x1\n",
        "goroutine 1 [sleep] extra:\n",
        "goroutine 1 [sleep]:\ncreated by main.main\n\t/a.go:1\nmain.f()\n\t/a.go:2\n",
    ] {
        assert!(traceback::parse(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn compare_reports_every_kind_of_difference() {
    let d = parse_fixture("sigquit-go1.27-amd64-labels-leak.txt");
    let want = views_of_trace(&d, false);
    let (compared, report) = compare(&want, &want);
    assert!(compared > 16 && report.is_empty(), "{report}");

    let mut got = want.clone();
    let chan_id = find(&d, "main.waitChanRecv").id;
    let g = got.get_mut(&chan_id).unwrap();
    g.frames[0].pc_offset = Some(0x1234);
    g.status = "select".into();
    g.created_by = None;
    let deep = find(&d, "main.recurse").id;
    got.get_mut(&deep).unwrap().elided += 1;
    let missing = find(&d, "main.waitSleep").id;
    got.remove(&missing);
    let (_, report) = compare(&want, &got);
    for needle in [
        "+0x1234",
        "status: want \"chan receive\", got \"select\"",
        "created by: want Some(",
        "frames elided",
        &format!("goroutine {missing} [sleep]: in SIGQUIT's dump, missing from gohang's"),
    ] {
        assert!(report.contains(needle), "{needle:?} not in\n{report}");
    }
}
