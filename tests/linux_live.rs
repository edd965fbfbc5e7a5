//! Live tests on Linux: real stuck processes, probed by the real binary. Each test starts
//! what it needs behind a guard that kills it, and checks the verdict gohang gives.
#![cfg(target_os = "linux")]

mod util;

use gohang::report::Report;
use gohang::verdict::VerdictKind;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use util::*;

/// Run `gohang probe --json` with these options on `cmd` and parse the report.
fn probe(opts: &[&str], cmd: &[&str]) -> (Report, i32) {
    let mut args = vec!["probe", "--json"];
    args.extend_from_slice(opts);
    args.push("--");
    args.extend_from_slice(cmd);
    let out = run(&args);
    assert!(
        !out.stdout.is_empty(),
        "no report; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (parse_report(&out.stdout), out.status.code().unwrap_or(-1))
}

fn kinds(r: &Report) -> Vec<VerdictKind> {
    r.verdicts.iter().map(|v| v.kind).collect()
}

#[test]
fn healthy_go_version() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let (r, code) = probe(&["--timeout", "60s"], &["go", "version"]);
    assert_eq!(r.primary().kind, VerdictKind::Healthy, "{r:#?}");
    assert_eq!(code, 0);
    assert!(
        r.output.stdout.tail.starts_with("go version go1."),
        "{:?}",
        r.output.stdout
    );
    assert!(r.samples == 0 && r.processes.is_empty());
    assert_eq!(r.schema, "gohang.report/1");
}

/// A healthy go costs no package-database query (`dpkg -S` takes tens of milliseconds, and
/// probe waits for its toolchain inspection): the GOROOT's owner is left unasked, which
/// keeps any fix from replacing that tree.
#[test]
fn healthy_go_version_asks_no_package_database() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("evidence.json");
    let (r, _) = probe(
        &[
            "--timeout",
            "60s",
            "--save-evidence",
            &saved.to_string_lossy(),
        ],
        &["go", "version"],
    );
    assert_eq!(r.primary().kind, VerdictKind::Healthy, "{r:#?}");
    let ev: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    let tree = &ev["toolchain"]["tree"];
    assert!(
        tree.is_object(),
        "no GOROOT tree in the evidence: {:#}",
        ev["toolchain"]
    );
    // A tree whose owner its path tells (Homebrew, Nix, …) needs no query either.
    assert!(
        tree["owner_unchecked"] == true || tree["owner"].is_object(),
        "{tree:#}"
    );
    if tree["owner"].is_object() {
        assert_ne!(tree["owner"]["manager"], "dpkg", "{tree:#}");
    }
}

#[test]
fn default_command_is_go_version() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let out = run(&["probe", "--json", "--timeout", "60s"]);
    let r = parse_report(&out.stdout);
    assert_eq!(r.target.command, vec!["go", "version"]);
    assert_eq!(r.primary().kind, VerdictKind::Healthy);
}

#[test]
fn sigstopped_go_is_stopped() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let _s = serial();
    let sleeper = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/sleeper.go");
    let mut c = gohang();
    c.args([
        "probe",
        "--json",
        "--timeout",
        "20s",
        "--window",
        "1s",
        "--",
        "go",
        "run",
    ])
    .arg(&sleeper)
    .env("GOTOOLCHAIN", "local")
    .env("GOFLAGS", "")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let g = Guard::spawn_group(&mut c);
    // Find the `go` gohang started, wait until it runs the program, then stop it.
    let go = wait_for(Duration::from_secs(60), || {
        let go = children_of(g.pid())
            .into_iter()
            .find(|p| comm(*p).as_deref() == Some("go"))?;
        descendants_of(go)
            .into_iter()
            .any(|d| comm(d).as_deref() == Some("sleeper"))
            .then_some(go)
    })
    .expect("go run never started the sleeper");
    let go_start = start_time(go).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(go as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let out = g
        .wait_output(Duration::from_secs(60))
        .expect("gohang did not finish");
    let r = parse_report(&out.stdout);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Stopped, "{r:#?}");
    assert_eq!(p.pid, Some(go));
    assert!(p.evidence.iter().any(|e| e.contains("state T")), "{p:#?}");
    assert!(p.remedy.as_deref().unwrap().contains("kill -CONT"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        wait_for(Duration::from_secs(5), || (!alive(go, go_start))
            .then_some(()))
        .is_some(),
        "the stopped go was left behind"
    );
}

#[test]
fn spinning_go_program() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let _s = serial();
    let spinner = go_fixture("spinner", "amd64");
    let (r, code) = probe(
        &["--timeout", "1s", "--window", "2s"],
        &[spinner.to_str().unwrap()],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Spinning, "{r:#?}");
    assert_eq!(p.pid, r.target.pid);
    assert!(p.evidence.iter().any(|e| e.starts_with("used ")), "{p:#?}");
    assert_eq!(code, 1);
}

#[test]
fn idle_go_program_in_futex() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let _s = serial();
    let sleeper = go_fixture("sleeper", "amd64");
    let (r, code) = probe(
        &["--timeout", "1s", "--window", "1s"],
        &[sleeper.to_str().unwrap()],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Idle, "{r:#?}");
    assert!(p.evidence.iter().any(|e| e.contains("futex")), "{p:#?}");
    assert_eq!(code, 2, "an idle stall with no cause is exit 2");
    assert!(r.output.stderr.tail.contains("sleeper: started"));
    // By default probe reads the goroutines from memory: no SIGQUIT, so the program kept
    // running until probe stopped it, and its stderr holds no runtime dump.
    assert!(
        p.evidence.iter().any(|e| e.starts_with(&format!(
            "Go runtime of pid {} (read from memory): goroutine",
            p.pid.unwrap()
        ))),
        "{p:#?}"
    );
    assert!(
        !r.output.stderr.tail.contains("SIGQUIT"),
        "{}",
        r.output.stderr.tail
    );
    let remedy = p.remedy.as_deref().unwrap();
    assert!(
        remedy.starts_with("its goroutines were read from its memory (no signal)"),
        "{remedy}"
    );
}

/// `--keep`: the goroutines are read from memory and the program is left running.
#[test]
fn kept_go_program_lives_after_its_goroutines_are_read() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let _s = serial();
    let sleeper = go_fixture("sleeper", "amd64");
    let (r, _code) = probe(
        &["--keep", "--timeout", "1s", "--window", "500ms"],
        &[sleeper.to_str().unwrap()],
    );
    let p = r.primary();
    let pid = p.pid.unwrap();
    // The kept program is ours to clean up: kill it (by pid) whatever the assertions say.
    struct Kill(i32);
    impl Drop for Kill {
        fn drop(&mut self) {
            // SAFETY: kill(2) on the pid of the program this test started through probe.
            unsafe { libc::kill(self.0, libc::SIGKILL) };
        }
    }
    let _k = Kill(pid as i32);
    assert!(
        p.evidence
            .iter()
            .any(|e| e.starts_with(&format!("Go runtime of pid {pid} (read from memory)"))),
        "{p:#?}"
    );
    assert!(
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z ")),
        "the program whose goroutines were read is alive"
    );
}

/// `--goroutines` asks for the runtime's own dump (SIGQUIT, which ends the program).
#[test]
fn idle_go_program_with_explicit_sigquit() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let _s = serial();
    let sleeper = go_fixture("sleeper", "amd64");
    let (r, code) = probe(
        &["--goroutines", "--timeout", "1s", "--window", "1s"],
        &[sleeper.to_str().unwrap()],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Idle, "{r:#?}");
    assert_eq!(code, 2, "an idle stall with no cause is exit 2");
    assert!(
        p.evidence
            .iter()
            .any(|e| e.starts_with(&format!("Go runtime of pid {}: goroutine", p.pid.unwrap()))),
        "{p:#?}"
    );
    let remedy = p.remedy.as_deref().unwrap();
    assert!(
        remedy.starts_with("the Go runtime already answered SIGQUIT"),
        "{remedy}"
    );
}

/// `sleep` is no Go program: the advice must not be a goroutine dump (SIGQUIT would only
/// end it), under probe nor under attach.
#[test]
fn idle_program_that_is_not_go_gets_no_goroutine_advice() {
    let _s = serial();
    let (r, code) = probe(&["--timeout", "1s", "--window", "500ms"], &["sleep", "30"]);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Idle, "{r:#?}");
    assert_eq!(code, 2);
    let remedy = p.remedy.as_deref().unwrap();
    assert!(remedy.starts_with("it is not a Go program"), "{remedy}");
    assert!(remedy.contains("gohang probe --trace -- …"), "{remedy}");
    assert!(
        !remedy.contains("kill -QUIT") && !remedy.contains("--goroutines"),
        "{remedy}"
    );

    let mut cmd = std::process::Command::new("sleep");
    cmd.arg("30").stdin(Stdio::null());
    let target = Guard::spawn_group(&mut cmd);
    let pid = target.pid().to_string();
    let out = run(&["attach", &pid, "--json", "--window", "500ms"]);
    let r = parse_report(&out.stdout);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Idle, "{r:#?}");
    let remedy = p.remedy.as_deref().unwrap();
    assert!(
        remedy.contains(&format!("gohang attach {pid} --trace")),
        "{remedy}"
    );
    assert!(!remedy.contains("--goroutines"), "{remedy}");
}

#[test]
fn aarch64_go_under_qemu_is_translated() {
    if !need(
        qemu_aarch64_registered(),
        "qemu-aarch64 registered in binfmt_misc",
    ) || !need(have("go"), "go")
    {
        return;
    }
    let _s = serial();
    let sleeper = go_fixture("sleeper", "arm64");
    let (r, code) = probe(
        &["--timeout", "3s", "--window", "1s"],
        &[sleeper.to_str().unwrap()],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Translated, "{r:#?}");
    assert!(
        p.summary.contains("aarch64") && p.summary.contains("qemu"),
        "{}",
        p.summary
    );
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("qemu-aarch64-static") && e.contains("handler qemu-aarch64")),
        "the interpreter and its binfmt_misc handler are named: {:#?}",
        p.evidence
    );
    assert!(
        kinds(&r).contains(&VerdictKind::Idle),
        "idle stays as a secondary verdict"
    );
    assert_eq!(code, 1);
}

/// Runs gohang inside a new user and mount namespace with a private, empty binfmt_misc
/// (Linux ≥ 6.7), so no handler applies without touching the machine's registrations.
fn in_namespace_without_binfmt(args: &[&str]) -> Option<std::process::Output> {
    let script = r#"mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && exec "$@""#;
    let probe = std::process::Command::new("unshare")
        .args(["-Urm", "sh", "-c", script, "sh", "true"])
        .output()
        .ok()?;
    if !probe.status.success() {
        return None;
    }
    let mut c = std::process::Command::new("unshare");
    c.args([
        "-Urm",
        "sh",
        "-c",
        script,
        "sh",
        env!("CARGO_BIN_EXE_gohang"),
    ])
    .args(args)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    Guard::spawn_group(&mut c).wait_output(Duration::from_secs(120))
}

#[test]
fn aarch64_binary_without_handler_is_arch_mismatch() {
    if !need(have("go") && have("unshare"), "go and unshare") {
        return;
    }
    let sleeper = go_fixture("sleeper", "arm64");
    let out = in_namespace_without_binfmt(&[
        "probe",
        "--json",
        "--timeout",
        "5s",
        "--",
        sleeper.to_str().unwrap(),
    ]);
    if !need(
        out.is_some(),
        "a private binfmt_misc in a user namespace (Linux >= 6.7)",
    ) {
        return;
    }
    let out = out.unwrap();
    let r = parse_report(&out.stdout);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ArchMismatch, "{r:#?}");
    assert!(
        p.summary.contains("aarch64") && p.summary.contains("x86_64"),
        "{}",
        p.summary
    );
    assert!(p.summary.contains(sleeper.to_str().unwrap()));
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("no enabled binfmt_misc handler")),
        "{:#?}",
        p.evidence
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn go_running_a_foreign_binary_is_arch_mismatch() {
    if !need(have("go") && have("unshare"), "go and unshare") {
        return;
    }
    let sleeper = go_fixture("sleeper", "arm64");
    // `go vet -vettool=X` executes X: with X foreign, Go's os/exec reports ENOEXEC.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("go.mod"),
        "module example.com/m\n\ngo 1.21\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("m.go"), "package m\n").unwrap();
    let vettool = format!("-vettool={}", sleeper.display());
    let args = [
        "probe",
        "--json",
        "--timeout",
        "60s",
        "--",
        "go",
        "-C",
        dir.path().to_str().unwrap(),
        "vet",
        &vettool,
        ".",
    ];
    let out = in_namespace_without_binfmt(&args);
    if !need(
        out.is_some(),
        "a private binfmt_misc in a user namespace (Linux >= 6.7)",
    ) {
        return;
    }
    let r = parse_report(&out.unwrap().stdout);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ArchMismatch, "{r:#?}");
    assert!(
        p.summary.contains(sleeper.to_str().unwrap()),
        "{}",
        p.summary
    );
    assert!(p.evidence.iter().any(|e| e.contains("exec format error")));
}

/// Spawn gohang on a tree (a shell with two children and a daemonized grandchild), wait
/// until the tree is up, signal gohang, and check that nothing of the tree survives.
fn signal_leaves_no_orphans(sig: nix::sys::signal::Signal, expect_code: i32) {
    let _s = serial();
    let script = "sleep 300 & sleep 300 & (setsid sleep 301 &) ; wait";
    let mut c = gohang();
    c.args(["probe", "--timeout", "60s", "--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let g = Guard::spawn_group(&mut c);
    let tree = wait_for(Duration::from_secs(20), || {
        let d = descendants_of(g.pid());
        (d.iter()
            .filter(|p| comm(**p).as_deref() == Some("sleep"))
            .count()
            == 3)
            .then_some(d)
    })
    .expect("the probed tree never came up");
    let ids: Vec<(u32, u64)> = tree
        .iter()
        .filter_map(|p| start_time(*p).map(|s| (*p, s)))
        .collect();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(g.pid() as i32), sig).unwrap();
    let out = g
        .wait_output(Duration::from_secs(20))
        .expect("gohang did not exit after the signal");
    assert_eq!(
        out.status.code(),
        Some(expect_code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left = wait_for(Duration::from_secs(5), || {
        let left: Vec<_> = ids.iter().filter(|(p, s)| alive(*p, *s)).collect();
        left.is_empty().then_some(())
    });
    assert!(
        left.is_some(),
        "processes of the probed tree survived: {ids:?}"
    );
}

#[test]
fn sigint_leaves_no_orphans() {
    signal_leaves_no_orphans(nix::sys::signal::Signal::SIGINT, 130);
}

#[test]
fn sigterm_leaves_no_orphans() {
    signal_leaves_no_orphans(nix::sys::signal::Signal::SIGTERM, 143);
}

#[test]
fn timeout_kills_the_tree_and_keep_leaves_it() {
    let _s = serial();
    let (r, _) = probe(
        &["--timeout", "500ms", "--window", "0"],
        &["sh", "-c", "sleep 300 & (setsid sleep 302 &); wait"],
    );
    let pids: Vec<u32> = r.processes.iter().map(|p| p.pid).collect();
    assert!(pids.len() >= 2, "{r:#?}");
    assert_eq!(r.samples, 1, "--window 0 takes one snapshot");
    for p in &pids {
        assert!(
            wait_for(Duration::from_secs(5), || (!std::path::Path::new(
                &format!("/proc/{p}")
            )
            .exists()
                || comm(*p).is_none()
                || start_time(*p).is_none())
            .then_some(()))
            .is_some(),
            "pid {p} left running"
        );
    }

    let (r, _) = probe(
        &["--timeout", "500ms", "--window", "0", "--keep"],
        &["sleep", "300"],
    );
    assert_eq!(r.kept_pids.len(), 1, "{r:#?}");
    let kept = r.kept_pids[0];
    let st = start_time(kept).expect("--keep left the process running");
    assert_eq!(comm(kept).as_deref(), Some("sleep"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(kept as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert!(wait_for(Duration::from_secs(5), || (!alive(kept, st)).then_some(())).is_some());
}

#[test]
fn exit_in_time_still_cleans_up_background_children() {
    let (r, code) = probe(
        &["--timeout", "20s"],
        &["sh", "-c", "sleep 303 & echo started; exit 0"],
    );
    assert_eq!(r.primary().kind, VerdictKind::Healthy);
    assert_eq!(code, 0);
    // The background sleep was a child of sh; it must not outlive the probe.
    std::thread::sleep(Duration::from_millis(200));
    let survivors: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c == b"sleep\x00303\x00")
        })
        .collect();
    assert!(
        survivors.is_empty(),
        "background child survived: {survivors:?}"
    );
}

#[test]
fn output_is_bounded_and_streamed() {
    // 64 MiB of output: the report keeps a bounded tail and counts every byte.
    let (r, _) = probe(
        &["--timeout", "60s"],
        &[
            "sh",
            "-c",
            "head -c 67108864 /dev/zero | tr '\\0' x; echo; echo END",
        ],
    );
    assert_eq!(r.output.stdout.total_bytes, 64 * 1024 * 1024 + 5);
    assert!(r.output.stdout.truncated);
    assert!(r.output.stdout.tail.len() <= 256 * 1024);
    assert!(r.output.stdout.tail.ends_with("END\n"));

    // Without --json, the command's output goes through to ours.
    let out = run(&[
        "probe",
        "--",
        "sh",
        "-c",
        "echo to-stdout; echo to-stderr >&2",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("to-stdout\n"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("to-stderr"));
}

/// A background job that reads its terminal: the kernel stops it with SIGTTIN. The test's
/// helper owns a pty (the session's terminal), keeps the foreground itself, and forks a
/// reader into a background process group.
#[test]
fn background_reader_of_a_tty_is_tty_stopped() {
    if !need(have("python3"), "python3") {
        return;
    }
    let _s = serial();
    let helper = r#"
import os, pty, time
pid, master = pty.fork()
if pid == 0:
    reader = os.fork()
    if reader == 0:
        os.setpgid(0, 0)
        os.read(0, 1)
        os._exit(0)
    time.sleep(3600)
else:
    time.sleep(3600)
"#;
    let (r, code) = probe(
        &["--timeout", "1500ms", "--window", "1s"],
        &["python3", "-c", helper],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::TtyStopped, "{r:#?}");
    assert!(p.summary.contains("/dev/pts/"), "{}", p.summary);
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("foreground process group"))
    );
    assert!(p.remedy.as_deref().unwrap().contains("fg"));
    assert_eq!(
        r.chain.len(),
        3,
        "python → session leader → background reader: {:?}",
        r.chain
    );
    assert_eq!(code, 1);
}

/// A cgroup the test freezes itself: v1 freezer when mounted, else cgroup v2.
struct FrozenCgroup {
    dir: std::path::PathBuf,
    v1: bool,
}

impl FrozenCgroup {
    fn new(v1: bool) -> Option<FrozenCgroup> {
        let base = if v1 {
            std::path::PathBuf::from("/sys/fs/cgroup/freezer")
        } else {
            cgroup2_mount()?
        };
        let probe_file = if v1 { "freezer.state" } else { "cgroup.procs" };
        if !base.join(if v1 { "tasks" } else { probe_file }).exists() {
            return None;
        }
        let dir = base.join(format!(
            "gohang-test-{}-{}",
            std::process::id(),
            if v1 { "v1" } else { "v2" }
        ));
        std::fs::create_dir(&dir).ok()?;
        let cg = FrozenCgroup { dir, v1 };
        (!v1 && !cg.dir.join("cgroup.freeze").exists())
            .then_some(())
            .map_or(Some(cg), |_| None)
    }
    fn procs(&self) -> String {
        std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default()
    }
    fn freeze(&self, on: bool) {
        if self.v1 {
            std::fs::write(
                self.dir.join("freezer.state"),
                if on { "FROZEN" } else { "THAWED" },
            )
            .unwrap();
        } else {
            std::fs::write(self.dir.join("cgroup.freeze"), if on { "1" } else { "0" }).unwrap();
        }
    }
}

impl Drop for FrozenCgroup {
    fn drop(&mut self) {
        self.freeze(false);
        // Killed tasks leave once thawed; then the directory can go.
        let _ = wait_for(Duration::from_secs(5), || {
            self.procs().trim().is_empty().then_some(())
        });
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn cgroup2_mount() -> Option<std::path::PathBuf> {
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mi.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mount_point = pre.split_whitespace().nth(4)?;
        post.starts_with("cgroup2 ")
            .then(|| std::path::PathBuf::from(mount_point))
    })
}

fn frozen_case(v1: bool) {
    let _s = serial();
    let Some(cg) = FrozenCgroup::new(v1) else {
        need(
            false,
            if v1 {
                "a cgroup v1 freezer (as root)"
            } else {
                "cgroup v2 with cgroup.freeze (as root)"
            },
        );
        return;
    };
    let sleeper = go_fixture("sleeper", "amd64");
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec {}",
        cg.dir.display(),
        sleeper.display()
    );
    let mut c = gohang();
    c.args([
        "probe",
        "--json",
        "--timeout",
        "2s",
        "--window",
        "1s",
        "--",
        "sh",
        "-c",
        &script,
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let g = Guard::spawn_group(&mut c);
    let pid = wait_for(Duration::from_secs(20), || {
        let pid: u32 = cg.procs().lines().next()?.trim().parse().ok()?;
        comm(pid)
            .is_some_and(|c| c.starts_with("sleeper"))
            .then_some(pid)
    })
    .expect("the sleeper never joined the cgroup");
    cg.freeze(true);
    let out = g
        .wait_output(Duration::from_secs(60))
        .expect("gohang did not finish");
    let r = parse_report(&out.stdout);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Frozen, "{r:#?}");
    assert_eq!(p.pid, Some(pid));
    let name = cg.dir.file_name().unwrap().to_str().unwrap();
    assert!(p.summary.contains(name), "{}", p.summary);
    assert!(
        p.remedy
            .as_deref()
            .unwrap()
            .contains(if v1 { "THAWED" } else { "cgroup.freeze" })
    );
    if v1 {
        // A frozen v1 task acts on SIGKILL only when thawed: gohang says it is left behind.
        assert!(
            r.notes.iter().any(|n| n.contains(&pid.to_string())),
            "the unkillable pid is reported: {:?}",
            r.notes
        );
    } else {
        // v2 delivers SIGKILL to frozen tasks: gohang's cleanup ends it before thawing.
        assert!(
            r.notes.iter().all(|n| !n.contains("could not be killed")),
            "{:?}",
            r.notes
        );
        assert!(
            cg.procs().trim().is_empty(),
            "the frozen v2 task was killed: {}",
            cg.procs()
        );
    }
    drop(cg);
    let st = start_time(pid);
    assert!(
        st.is_none()
            || wait_for(Duration::from_secs(5), || (!alive(pid, st.unwrap()))
                .then_some(()))
            .is_some()
    );
}

/// A process in a child cgroup whose parent is frozen: its own `cgroup.freeze` is 0 and
/// writing 0 there changes nothing; the fix names the parent (issue 13).
#[test]
fn a_cgroup_frozen_through_its_parent_names_the_parent() {
    let _s = serial();
    let Some(parent) = FrozenCgroup::new(false) else {
        need(false, "cgroup v2 with cgroup.freeze (as root)");
        return;
    };
    struct Child(std::path::PathBuf);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = wait_for(Duration::from_secs(5), || {
                std::fs::read_to_string(self.0.join("cgroup.procs"))
                    .unwrap_or_default()
                    .trim()
                    .is_empty()
                    .then_some(())
            });
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let child = parent.dir.join("job");
    std::fs::create_dir(&child).unwrap();
    let child = Child(child);
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec sleep 3600",
        child.0.display()
    );
    let mut c = gohang();
    c.args([
        "probe",
        "--json",
        "--timeout",
        "2s",
        "--window",
        "1s",
        "--",
        "sh",
        "-c",
        &script,
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let g = Guard::spawn_group(&mut c);
    wait_for(Duration::from_secs(20), || {
        let pid: u32 = std::fs::read_to_string(child.0.join("cgroup.procs"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()?;
        comm(pid).is_some_and(|c| c == "sleep").then_some(pid)
    })
    .expect("the sleep never joined the child cgroup");
    parent.freeze(true);
    let out = g
        .wait_output(Duration::from_secs(60))
        .expect("gohang did not finish");
    let r = parse_report(&out.stdout);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Frozen, "{r:#?}");
    let remedy = p.remedy.as_deref().unwrap();
    let parent_file = parent.dir.join("cgroup.freeze");
    assert!(
        remedy.contains(&format!("echo 0 > {}", parent_file.display())),
        "{remedy}"
    );
    assert!(
        !remedy.contains(&child.0.join("cgroup.freeze").display().to_string()),
        "{remedy}"
    );
    // The child goes first: a cgroup with a child cannot be removed.
    drop(child);
    drop(parent);
}

#[test]
fn frozen_cgroup_v1() {
    if std::path::Path::new("/sys/fs/cgroup/freezer/tasks").exists()
        || require_all() && cgroup2_mount().is_none()
    {
        frozen_case(true);
    } else {
        eprintln!("no cgroup v1 freezer on this machine: the v2 test covers frozen");
    }
}

#[test]
fn frozen_cgroup_v2() {
    if cgroup2_mount().is_some() || !std::path::Path::new("/sys/fs/cgroup/freezer/tasks").exists() {
        frozen_case(false);
    } else {
        eprintln!("no cgroup v2 on this machine: the v1 test covers frozen");
    }
}

/// A FUSE mount whose server never answers (not even FUSE_INIT): every lookup waits in
/// the kernel, killable but uninterruptible (state D), like a dead NFS or FUSE server.
struct DeadFuse {
    dir: tempfile::TempDir,
    fd: Option<std::os::fd::OwnedFd>,
}

impl DeadFuse {
    fn mount() -> Option<DeadFuse> {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let dir = tempfile::tempdir().ok()?;
        // SAFETY: plain open(2) of a device node.
        let raw = unsafe { libc::open(c"/dev/fuse".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if raw < 0 {
            return None;
        }
        // SAFETY: raw is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let target = std::ffi::CString::new(dir.path().to_str()?).ok()?;
        let opts = std::ffi::CString::new(format!(
            "fd={},rootmode=40000,user_id=0,group_id=0",
            fd.as_raw_fd()
        ))
        .ok()?;
        // SAFETY: all pointers are valid C strings for the duration of the call.
        let rc = unsafe {
            libc::mount(
                c"gohang-test".as_ptr(),
                target.as_ptr(),
                c"fuse".as_ptr(),
                0,
                opts.as_ptr().cast(),
            )
        };
        (rc == 0).then_some(DeadFuse { dir, fd: Some(fd) })
    }
}

impl Drop for DeadFuse {
    fn drop(&mut self) {
        drop(self.fd.take()); // aborts the connection: waiters get ENOTCONN
        let target = std::ffi::CString::new(self.dir.path().to_str().unwrap()).unwrap();
        // SAFETY: valid C string.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

#[test]
fn go_on_a_dead_fuse_mount_is_io_wait() {
    if !need(
        is_root() && std::path::Path::new("/dev/fuse").exists(),
        "root and /dev/fuse",
    ) || !need(have("go"), "go")
    {
        return;
    }
    let _s = serial();
    let Some(fuse) = DeadFuse::mount() else {
        need(false, "mounting a FUSE file system");
        return;
    };
    let dir = fuse.dir.path().join("module");
    let (r, code) = probe(
        &["--timeout", "1s", "--window", "1s"],
        &["go", "-C", dir.to_str().unwrap(), "version"],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::IoWait, "{r:#?}");
    assert!(
        p.summary.contains("a FUSE file system server"),
        "{}",
        p.summary
    );
    assert!(
        p.evidence.iter().any(|e| e.contains("fuse")),
        "{:#?}",
        p.evidence
    );
    assert_eq!(code, 1);
    drop(fuse);
}

/// A tracer that attaches and never lets go: the tracee sits in `t (tracing stop)`.
#[test]
fn process_held_by_a_tracer_is_traced() {
    if !need(have("python3"), "python3") || !need(is_root(), "root (ptrace of a sibling)") {
        return;
    }
    let _s = serial();
    let sleeper = go_fixture("sleeper", "amd64");
    let tracer = "import ctypes,sys,time; l=ctypes.CDLL(None,use_errno=True); \
                  rc=l.ptrace(16, int(sys.argv[1]), 0, 0); print('attach', rc, ctypes.get_errno(), flush=True); time.sleep(3600)";
    let script = format!("{} & python3 -c \"{tracer}\" $! ; wait", sleeper.display());
    let (r, code) = probe(
        &["--timeout", "1500ms", "--window", "1s"],
        &["sh", "-c", &script],
    );
    assert!(
        r.output.stdout.tail.contains("attach 0 0"),
        "{:?}",
        r.output.stdout
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Traced, "{r:#?}");
    assert!(
        p.summary.contains("python3"),
        "the tracer is named: {}",
        p.summary
    );
    assert_eq!(code, 1);
}

/// A module whose one test deadlocks on a mutex, and `gohang probe --json` of `cmd` in it.
fn probe_deadlocked_test(flags: &[&str], cmd: &[&str]) -> (Report, util::gomod::Module) {
    let m = util::gomod::Module::new("1.21", None);
    std::fs::write(
        m.app().join("stuck_test.go"),
        "package main\n\nimport (\n\t\"sync\"\n\t\"testing\"\n)\n\n\
         func TestStuck(t *testing.T) {\n\tvar mu sync.Mutex\n\tmu.Lock()\n\tmu.Lock()\n}\n",
    )
    .unwrap();
    let mut c = gohang();
    c.args(["probe", "--json", "--timeout", "15s", "--window", "1s"])
        .args(flags)
        .arg("--")
        .args(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    util::gomod::isolated_go_env(&mut c, &m);
    // The test binary must be running when the deadline passes: build it first.
    let mut warm = std::process::Command::new("go");
    warm.args(["test", "-c", "-o", "/dev/null", "."]);
    util::gomod::isolated_go_env(&mut warm, &m);
    assert!(warm.status().unwrap().success(), "the test builds");
    let out = Guard::spawn_group(&mut c)
        .wait_output(Duration::from_secs(120))
        .expect("gohang finished");
    (parse_report(&out.stdout), m)
}

/// Without SIGQUIT (`--no-goroutines`, the default), probe reads the goroutines of the stuck test
/// binary from its memory before stopping it, and the parked test is named.
#[test]
fn probe_without_sigquit_reads_goroutines_from_memory_and_names_the_test() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let _s = serial();
    let m = util::gomod::Module::new("1.21", None);
    std::fs::write(
        m.app().join("stuck_test.go"),
        "package main\n\nimport (\n\t\"sync\"\n\t\"testing\"\n)\n\n\
         func TestStuck(t *testing.T) {\n\tvar mu sync.Mutex\n\tmu.Lock()\n\tmu.Lock()\n}\n",
    )
    .unwrap();
    let bin = m.app().join("stuck.test");
    let mut build = std::process::Command::new("go");
    build.args(["test", "-c", "-o"]).arg(&bin).arg(".");
    util::gomod::isolated_go_env(&mut build, &m);
    assert!(build.status().unwrap().success(), "the test builds");
    let saved = m.app().join("evidence.json");
    let (bin_s, saved_s) = (bin.to_string_lossy(), saved.to_string_lossy());
    let (r, _code) = probe(
        &[
            "--no-goroutines",
            "--timeout",
            "3s",
            "--window",
            "1s",
            "--save-evidence",
            &saved_s,
        ],
        &[&bin_s, "-test.run", "TestStuck", "-test.timeout", "5m"],
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Idle, "{r:#?}");
    assert!(p.summary.starts_with("TestStuck of pid "), "{}", p.summary);
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("(read from memory)") && e.ends_with(".TestStuck)")),
        "{:#?}",
        p.evidence
    );
    let ev: serde_json::Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(ev["goroutines"]["source"], "memory");
    assert_eq!(ev["goroutines"]["pid"], r.target.pid.unwrap());
}

#[test]
fn go_test_relays_the_dump_of_its_stuck_test_binary() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let _s = serial();
    let (r, _m) = probe_deadlocked_test(&[], &["go", "test", "-count=1", "."]);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    // go test passes the test binary's output on; the dump is found there and names the
    // test, not testing.(*T).Run waiting for it.
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("Go runtime of pid") && e.contains("sync.Mutex.Lock")),
        "{:#?}",
        p.evidence
    );
}

#[test]
fn a_go_whose_stderr_is_the_users_file_is_not_sent_sigquit() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let _s = serial();
    let log = tempfile::NamedTempFile::new().unwrap();
    let script = format!("go test -count=1 . >{} 2>&1", log.path().display());
    // SIGQUIT is sent only when asked for (by default the goroutines are read from memory):
    // asked for, it must still not be sent to a go whose dump would land in the user's file.
    let (r, _m) = probe_deadlocked_test(&["--goroutines"], &["sh", "-c", &script]);
    let p = r.primary();
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains("not asked for goroutines") && e.contains("kill -QUIT")),
        "{:#?}",
        p.evidence
    );
    let text = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        !text.contains("goroutine ") && !text.contains("SIGQUIT"),
        "a dump landed in the user's file:\n{text}"
    );
}

/// gohang on a terminal (a pty it controls) with stdin from /dev/null probes a command
/// that opens /dev/tty to ask, as git and ssh do: the command must get the terminal's
/// foreground and wait for a person, not be stopped by a SIGTTIN of gohang's making.
#[test]
fn a_prompt_on_dev_tty_is_not_stopped_when_stdin_is_redirected() {
    if !need(have("python3"), "python3") {
        return;
    }
    let _s = serial();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("report.json");
    let helper = r#"
import os, pty, select, sys
out, gohang = sys.argv[1], sys.argv[2]
pid, master = pty.fork()
if pid == 0:
    os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
    os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
    os.execv(gohang, [gohang, "probe", "--json", "--timeout", "1500ms", "--window", "1s",
                      "--", "sh", "-c", "printf 'Password: ' >/dev/tty; read x </dev/tty"])
while select.select([master], [], [], 60)[0]:
    try:
        if not os.read(master, 1024):
            break
    except OSError:
        break
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
"#;
    let mut c = std::process::Command::new("python3");
    c.args(["-c", helper])
        .arg(&out)
        .arg(env!("CARGO_BIN_EXE_gohang"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let res = Guard::spawn_group(&mut c)
        .wait_output(Duration::from_secs(60))
        .expect("gohang on a pty finished");
    let r = parse_report(&std::fs::read(&out).unwrap());
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::PromptWait, "{r:#?}");
    assert!(p.summary.contains("/dev/tty"), "{}", p.summary);
    assert_eq!(res.status.code(), Some(1));
}

/// Kills a process group on drop (a tree `--keep` left behind).
struct GroupGuard(i32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

fn group_members(pgid: i32) -> Vec<(u32, char)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        if f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) {
            v.push((pid, f[0].chars().next().unwrap_or('?')));
        }
    }
    v
}

/// Issue 14: `probe --keep` of a stopped tree. When gohang exits the kept group becomes
/// orphaned, and the kernel sent it SIGHUP and SIGCONT: the stopped shell died. It must stay
/// stopped, and resume when the user sends SIGCONT.
#[test]
fn keep_leaves_a_stopped_tree_stopped_after_gohang_exits() {
    let t = tempfile::tempdir().unwrap();
    let resumed = t.path().join("resumed");
    let script = format!("kill -STOP $$; echo yes > '{}'", resumed.display());
    let out = run(&[
        "probe",
        "--keep",
        "--json",
        "--timeout",
        "1s",
        "--window",
        "200ms",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    let r = parse_report(&out.stdout);
    assert_eq!(r.primary().kind, VerdictKind::Stopped, "{r:#?}");
    let root = *r.kept_pids.first().expect("kept pids");
    let _cleanup = GroupGuard(root as i32);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains(&format!("kill -CONT -- -{root}"))),
        "says how to resume: {:?}",
        r.notes
    );
    // gohang has exited; give the kernel's orphaned-group rule time to act, had it.
    std::thread::sleep(Duration::from_millis(700));
    let members = group_members(root as i32);
    assert!(
        members.iter().any(|&(p, s)| p == root && s == 'T'),
        "the shell is still there and stopped: {members:?}"
    );
    assert!(!resumed.exists(), "not resumed");
    // The user resumes it: it runs to its end, and the holder leaves after it.
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(root as i32),
        nix::sys::signal::Signal::SIGCONT,
    )
    .unwrap();
    wait_for(Duration::from_secs(10), || {
        (resumed.exists() && group_members(root as i32).is_empty()).then_some(())
    })
    .unwrap_or_else(|| panic!("left in the group: {:?}", group_members(root as i32)));
}

/// Issue 14: output without a trailing newline had the report's first line glued to it.
#[test]
fn the_report_starts_on_its_own_line_after_output_without_a_newline() {
    let out = run(&[
        "probe",
        "--",
        "sh",
        "-c",
        "printf 'no newline here'; printf 'nor here' >&2",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let so = String::from_utf8_lossy(&out.stdout);
    let first = so.lines().next().unwrap_or_default();
    assert_eq!(first, "no newline here", "{so}");
    assert!(
        so.lines().nth(1).is_some_and(|l| l.contains("healthy")),
        "{so}"
    );
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(se.starts_with("nor here\n"), "{se:?}");
}

/// Issue 14: a process that double-forked out of the tree (re-parented to gohang, a
/// subreaper) was killed at clean-up but missing from the report's process table.
#[test]
fn a_double_forked_escapee_is_in_the_process_table_and_killed() {
    let marker = format!("{}.75", 700_000 + std::process::id());
    // The subshell forks sleep and exits: sleep is re-parented to gohang.
    let script = format!("(sleep {marker} &); exec sleep 300");
    let out = run(&[
        "probe",
        "--json",
        "--timeout",
        "1s",
        "--window",
        "300ms",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    let r = parse_report(&out.stdout);
    let escapee = r
        .processes
        .iter()
        .find(|p| p.command.contains(&marker))
        .unwrap_or_else(|| panic!("the escapee is in the table: {:#?}", r.processes));
    assert_ne!(Some(escapee.ppid), r.target.pid, "it left the tree");
    let gone = wait_for(Duration::from_secs(5), || {
        (!std::path::Path::new(&format!("/proc/{}", escapee.pid)).exists()
            || comm(escapee.pid).is_none())
        .then_some(())
    });
    assert!(gone.is_some(), "pid {} was killed at clean-up", escapee.pid);
}
