//! Issue 14, "never harm, never hang": every file gohang writes or reads, named by the user,
//! against real devices, FIFOs and files. A device node is never replaced, a FIFO never
//! blocks, `/dev/zero` is never read without end, and each failure has its exit code.
#![cfg(target_os = "linux")]

mod util;

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use util::*;

/// `gohang ARGS` with a limit: None if it did not finish (it hung).
fn run_within(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Option<(Output, Duration)> {
    let mut c = gohang();
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let t = Instant::now();
    let g = Guard::spawn_group(&mut c);
    let out = g.wait_output(limit)?;
    Some((out, t.elapsed()))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
}

/// A character device node made for the test (a copy of /dev/full or /dev/null), so a
/// regression replaces the test's node, never the machine's.
fn char_node(dir: &Path, name: &str, minor: u64) -> Option<PathBuf> {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    let p = dir.join(name);
    mknod(
        &p,
        SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o666),
        makedev(1, minor),
    )
    .ok()?;
    Some(p)
}

fn is_char_device(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_char_device())
}

fn evidence_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/linux_idle_go_sleeper/evidence.json")
}

#[test]
fn bundle_to_a_full_device_keeps_the_node_and_exits_74() {
    if !need(is_root(), "root (mknod of a test device)") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let full = char_node(t.path(), "full", 7).expect("mknod c 1 7");
    let null = char_node(t.path(), "null", 3).expect("mknod c 1 3");
    let args = |o: &Path| {
        vec![
            "bundle".to_string(),
            "-o".to_string(),
            o.display().to_string(),
            "--timeout".to_string(),
            "2s".to_string(),
            "--window".to_string(),
            "0s".to_string(),
            "--".to_string(),
            "true".to_string(),
        ]
    };
    let a: Vec<String> = args(&full);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (out, _) = run_within(&a, &[], Duration::from_secs(120)).expect("bundle finished");
    assert!(is_char_device(&full), "the device node was replaced");
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    // No temporary file left beside it.
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 2);

    let a: Vec<String> = args(&null);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (out, _) = run_within(&a, &[], Duration::from_secs(120)).expect("bundle finished");
    assert!(is_char_device(&null), "the device node was replaced");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn save_evidence_to_a_fifo_never_blocks() {
    let t = tempfile::tempdir().unwrap();
    let fifo = t.path().join("ev.fifo");
    mkfifo(&fifo);
    // Nobody reads it: a clear error at once, not a hang.
    let (out, took) = run_within(
        &[
            "probe",
            "--timeout",
            "5s",
            "--save-evidence",
            fifo.to_str().unwrap(),
            "--",
            "true",
        ],
        &[],
        Duration::from_secs(30),
    )
    .expect("probe --save-evidence FIFO did not block");
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no process is reading"),
        "{}",
        stderr(&out)
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    // With a reader, the evidence goes through the FIFO.
    let mut cat = Command::new("sh");
    cat.args(["-c", "exec cat \"$0\"", fifo.to_str().unwrap()])
        .stdout(Stdio::piped());
    let reader = Guard::spawn_group(&mut cat);
    let (out, _) = run_within(
        &[
            "probe",
            "--save-evidence",
            fifo.to_str().unwrap(),
            "--",
            "true",
        ],
        &[],
        Duration::from_secs(60),
    )
    .expect("probe finished");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = reader
        .wait_output(Duration::from_secs(20))
        .expect("reader done");
    let v: serde_json::Value = serde_json::from_slice(&got.stdout).expect("evidence JSON");
    assert!(v.get("samples").is_some());
}

#[test]
fn save_evidence_failures_have_their_own_codes() {
    let t = tempfile::tempdir().unwrap();
    // A directory that does not exist: 74, before the probe runs (it would take 20 s).
    let missing = t.path().join("no/such/dir/ev.json");
    let (out, took) = run_within(
        &[
            "probe",
            "--timeout",
            "20s",
            "--save-evidence",
            missing.to_str().unwrap(),
            "--",
            "sleep",
            "30",
        ],
        &[],
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert!(took < Duration::from_secs(10), "failed at once: {took:?}");
    // A directory: refused, left alone.
    let (out, _) = run_within(
        &[
            "probe",
            "--save-evidence",
            t.path().to_str().unwrap(),
            "--",
            "true",
        ],
        &[],
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert!(t.path().is_dir());
    // No permission (run as nobody into a directory only root may write): 77.
    if need(
        is_root() && have("setpriv"),
        "root and setpriv (run gohang as nobody)",
    ) {
        let ro = t.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_gohang"))
            .args(["probe", "--save-evidence"])
            .arg(ro.join("ev.json"))
            .args(["--", "true"])
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = Guard::spawn_group(&mut c)
            .wait_output(Duration::from_secs(60))
            .unwrap();
        assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    }
    // A full device: 74.
    if is_root() {
        let full = char_node(t.path(), "full", 7).unwrap();
        let (out, _) = run_within(
            &[
                "probe",
                "--save-evidence",
                full.to_str().unwrap(),
                "--",
                "true",
            ],
            &[],
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
        assert!(is_char_device(&full));
    }
}

#[test]
fn classify_reads_a_fifo_without_blocking_and_bounds_dev_zero() {
    let t = tempfile::tempdir().unwrap();
    let fifo = t.path().join("in.fifo");
    mkfifo(&fifo);
    // No writer: gives up after a few seconds with a clear error.
    let (out, took) = run_within(
        &["classify", fifo.to_str().unwrap()],
        &[],
        Duration::from_secs(30),
    )
    .expect("classify FIFO did not block");
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing moved"), "{}", stderr(&out));
    assert!(took < Duration::from_secs(20));

    // A writer that comes a moment later: the evidence is read and classified.
    let mut w = Command::new("sh");
    w.args([
        "-c",
        "sleep 0.3; exec cat \"$0\" > \"$1\"",
        evidence_fixture().to_str().unwrap(),
        fifo.to_str().unwrap(),
    ]);
    let _writer = Guard::spawn_group(&mut w);
    let (out, _) = run_within(
        &["classify", "--json", fifo.to_str().unwrap()],
        &[],
        Duration::from_secs(30),
    )
    .unwrap();
    assert!(matches!(out.status.code(), Some(0..=2)), "{}", stderr(&out));
    parse_report(&out.stdout);

    // /dev/zero: bounded, not 4 GB.
    let (out, took) = run_within(&["classify", "/dev/zero"], &[], Duration::from_secs(60))
        .expect("classify /dev/zero finished");
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert!(stderr(&out).contains("too large"), "{}", stderr(&out));
    assert!(took < Duration::from_secs(30));
}

#[test]
fn check_with_goenv_on_dev_zero_says_the_file_was_not_read() {
    let (out, _) = run_within(
        &["check", "--json"],
        &[("GOENV", "/dev/zero")],
        Duration::from_secs(120),
    )
    .expect("check finished");
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("go env file was not read") && notes.contains("not a regular file"),
        "{notes}"
    );
}

#[test]
fn a_rebuild_log_that_is_a_fifo_is_refused_at_once() {
    let t = tempfile::tempdir().unwrap();
    let fifo = t.path().join("log.fifo");
    mkfifo(&fifo);
    // With a reader waiting, opening succeeds; the type check refuses it.
    let mut cat = Command::new("sh");
    cat.args(["-c", "exec cat \"$0\" >/dev/null", fifo.to_str().unwrap()]);
    let _reader = Guard::spawn_group(&mut cat);
    let e = gohang::sys::logfile::Log::create(&fifo)
        .err()
        .expect("refused");
    assert!(e.to_string().contains("not a file"), "{e}");
}

#[test]
fn scan_tells_unreadable_and_not_a_binary_apart() {
    let t = tempfile::tempdir().unwrap();
    let empty = t.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let fifo = t.path().join("fifo");
    mkfifo(&fifo);
    let random = t.path().join("random");
    std::fs::create_dir(&random).unwrap();
    for i in 0..3u8 {
        let bytes: Vec<u8> = (0..4096u32)
            .map(|k| (k.wrapping_mul(2654435761) >> (i + 3)) as u8)
            .collect();
        std::fs::write(random.join(format!("blob{i}")), bytes).unwrap();
    }
    for p in [
        empty.to_str().unwrap(),
        fifo.to_str().unwrap(),
        "/dev/zero",
        random.to_str().unwrap(),
    ] {
        let (out, _) = run_within(&["scan", "--json", p], &[], Duration::from_secs(30))
            .unwrap_or_else(|| panic!("scan {p} blocked"));
        assert_eq!(out.status.code(), Some(3), "scan {p}: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["exit_code"], 3);
        assert_eq!(v["binaries"], 0);
    }
    // A loop of symbolic links is named as one.
    let a = t.path().join("a");
    let b = t.path().join("b");
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    let (out, _) =
        run_within(&["scan", a.to_str().unwrap()], &[], Duration::from_secs(30)).unwrap();
    assert_eq!(out.status.code(), Some(66));
    assert!(
        stderr(&out).contains("loop of symbolic links"),
        "{}",
        stderr(&out)
    );

    // A directory another user cannot list: 4, not "(no files)" and 0.
    if need(
        is_root() && have("setpriv"),
        "root and setpriv (scan as nobody)",
    ) {
        let closed = t.path().join("closed");
        std::fs::create_dir(&closed).unwrap();
        std::fs::write(closed.join("x"), "").unwrap();
        let mut perms = std::fs::metadata(&closed).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
        std::fs::set_permissions(&closed, perms).unwrap();
        // The tempdir itself must be searchable by nobody.
        let mut p = std::fs::metadata(t.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o755);
        std::fs::set_permissions(t.path(), p).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_gohang"))
            .arg("scan")
            .arg(&closed)
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = Guard::spawn_group(&mut c)
            .wait_output(Duration::from_secs(30))
            .unwrap();
        let so = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(4), "{so}{}", stderr(&out));
        assert!(so.contains("permission denied"), "{so}");
        assert!(!so.contains("(no files)"), "{so}");
    }
}

/// GOENV=/dev/zero made the bundle's `go env -json` and `go version` read /dev/zero until
/// killed at the timeout (gigabytes of memory): they run with GOENV=off instead, and a note
/// says why.
#[test]
fn bundle_with_goenv_on_dev_zero_runs_go_without_it() {
    if !need(have("go"), "a go on PATH") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let o = t.path().join("b.tar.gz");
    let (out, took) = run_within(
        &[
            "bundle",
            "--json",
            "-o",
            o.to_str().unwrap(),
            "--timeout",
            "20s",
            "--window",
            "0s",
            "--",
            "true",
        ],
        &[("GOENV", "/dev/zero")],
        Duration::from_secs(120),
    )
    .expect("bundle finished");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let notes = v["manifest"]["notes"].to_string();
    assert!(notes.contains("ran with GOENV=off"), "{notes}");
    assert!(
        took < Duration::from_secs(15),
        "go did not eat /dev/zero for 20 s: {took:?}"
    );
}
