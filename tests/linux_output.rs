//! Live tests of waits on one descriptor: a go whose output nobody reads (`output-blocked`),
//! the chain test binary → go → reader of `go test -v`, a process blocked opening a FIFO
//! nobody opens, one reading a pipe whose writer sleeps — and the negatives: a slow
//! reader that drains, a writer that finishes.
#![cfg(target_os = "linux")]

mod util;

use gohang::report::Report;
use gohang::verdict::VerdictKind;
use std::process::{Command, Stdio};
use std::time::Duration;
use util::gomod::*;
use util::*;

/// `gohang attach PID --json` with a short window.
fn attach(pid: u32, window: &str) -> (Report, i32) {
    let out = run(&["attach", &pid.to_string(), "--json", "--window", window]);
    (report_in(&out), out.status.code().unwrap_or(-1))
}

/// A process that holds its stdin (the read end of a pipe) and never reads it.
fn sleeping_reader() -> Guard {
    let mut c = Command::new("sleep");
    c.arg("300")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Guard::spawn_group(&mut c)
}

/// Does some thread of `pid` sit in write(2) (x86_64 1, arm64 64) on `fd`?
fn in_write_on(pid: u32, fd: u64) -> bool {
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    rd.flatten().any(|t| {
        std::fs::read_to_string(t.path().join("syscall")).is_ok_and(|s| {
            let mut f = s.split_whitespace();
            let nr = f.next().unwrap_or("");
            let arg0 = f.next().unwrap_or("");
            (nr == "1" || nr == "64")
                && u64::from_str_radix(arg0.trim_start_matches("0x"), 16) == Ok(fd)
        })
    })
}

/// The go environment of the tests: nothing leaves the machine, the shared build cache.
fn go_command(m: &Module, args: &[&str]) -> Command {
    let mut c = Command::new("go");
    c.args(args);
    isolated_go_env(&mut c, m);
    c.stdin(Stdio::null()).stderr(Stdio::null());
    c
}

fn go_ok() -> bool {
    need(have("go"), "a go on PATH (scripts/setup.sh)")
        && need(is_root(), "root (/proc/PID/syscall of other processes)")
}

#[test]
fn go_list_into_a_reader_that_sleeps_is_output_blocked() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", None);
    let mut reader = sleeping_reader();
    let pipe = reader.child.stdin.take().unwrap();
    let mut c = go_command(&m, &["list", "-json", "std"]);
    c.stdout(Stdio::from(pipe));
    let go = Guard::spawn_group(&mut c);
    wait_for(Duration::from_secs(60), || {
        in_write_on(go.pid(), 1).then_some(())
    })
    .expect("go list fills the pipe and blocks writing its stdout");

    let (r, code) = attach(go.pid(), "1s");
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::OutputBlocked, "{r:#?}");
    assert_eq!(p.pid, Some(go.pid()));
    assert!(p.summary.contains("stdout (fd 1)"), "{}", p.summary);
    assert!(
        p.summary.contains(&format!("pid {} (sleep)", reader.pid())),
        "names the reader: {}",
        p.summary
    );
    assert!(
        p.evidence.iter().any(|e| e.contains("bytes: full")),
        "{:#?}",
        p.evidence
    );
    assert!(
        p.evidence.iter().any(|e| e
            .starts_with(&format!("read end: pid {} (sleep) as fd 0", reader.pid()))
            && e.contains("clock_nanosleep")),
        "{:#?}",
        p.evidence
    );
    let fix = p.remedy.as_deref().unwrap();
    assert!(
        fix.contains(&format!("gohang attach {}", reader.pid())),
        "{fix}"
    );
    assert!(fix.contains(&format!("kill {}", reader.pid())), "{fix}");
    assert!(fix.contains("go list -json std > out.log"), "{fix}");
    assert_eq!(r.chain, vec![go.pid(), reader.pid()]);
    assert_eq!(code, 1);
}

#[test]
fn go_test_relaying_a_loud_test_is_explained_to_the_reader() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", None);
    // Megabytes on stdout: more than go's pipe from the test binary and go's own stdout
    // pipe hold together.
    std::fs::write(
        m.app().join("loud_test.go"),
        "package main\n\nimport (\n\t\"os\"\n\t\"strings\"\n\t\"testing\"\n)\n\n\
         func TestLoud(t *testing.T) {\n\tline := strings.Repeat(\"x\", 1023) + \"\\n\"\n\
         \tfor i := 0; i < 4096; i++ {\n\t\tos.Stdout.WriteString(line)\n\t}\n}\n",
    )
    .unwrap();
    let mut reader = sleeping_reader();
    let pipe = reader.child.stdin.take().unwrap();
    // A package named on the command line with -v: go copies the test binary's output
    // to its own stdout as it comes (cmd/go/internal/test/test.go).
    let mut c = go_command(&m, &["test", "-v", "-count=1", "."]);
    c.stdout(Stdio::from(pipe));
    let go = Guard::spawn_group(&mut c);
    let test_bin = wait_for(Duration::from_secs(180), || {
        children_of(go.pid())
            .into_iter()
            .find(|c| comm(*c).as_deref() == Some("app.test") && in_write_on(*c, 1))
            .filter(|_| in_write_on(go.pid(), 1))
    })
    .expect("the test binary and go both block writing their stdout");

    let (r, code) = attach(go.pid(), "1s");
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::OutputBlocked, "{r:#?}");
    assert_eq!(p.pid, Some(go.pid()), "the writer at the end: {r:#?}");
    assert!(
        p.summary.contains(&format!("pid {} (sleep)", reader.pid())),
        "{}",
        p.summary
    );
    assert!(
        p.evidence.iter().any(|e| e.starts_with(&format!(
            "upstream: pid {test_bin} (app.test) is blocked in write on its stdout (fd 1)"
        )) && e.contains(&format!("pid {} (go) reads", go.pid()))),
        "{:#?}",
        p.evidence
    );
    assert_eq!(r.chain, vec![test_bin, go.pid(), reader.pid()]);
    // The test binary gets no verdict of its own (it is the start of the same story).
    assert!(
        r.verdicts.iter().all(|v| v.pid != Some(test_bin)),
        "{:#?}",
        r.verdicts
    );
    assert_eq!(code, 1);
}

#[test]
fn opening_a_fifo_nobody_writes_to_is_named() {
    if !need(is_root(), "root") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("in.fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let mut c = Command::new("cat");
    c.arg(&fifo)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let cat = Guard::spawn_group(&mut c);
    wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{}/wchan", cat.pid()))
            .ok()
            .filter(|w| w.contains("fifo") || w.contains("pipe") || w.contains("partner"))
    })
    .expect("cat blocks opening the FIFO");

    let (r, code) = attach(cat.pid(), "1s");
    let p = r.primary();
    assert_ne!(p.kind, VerdictKind::Idle, "{r:#?}");
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    assert!(
        p.summary
            .contains(&format!("is blocked opening the FIFO {}", fifo.display()))
            && p.summary.contains("no process has its other end open"),
        "{}",
        p.summary
    );
    assert!(
        p.remedy
            .as_deref()
            .unwrap()
            .contains(&format!("kill {}", cat.pid()))
    );
    assert_eq!(code, 1);
}

#[test]
fn reading_a_pipe_whose_writer_sleeps_names_the_writer() {
    if !need(is_root(), "root") {
        return;
    }
    let mut w = Command::new("sleep");
    w.arg("300")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut writer = Guard::spawn_group(&mut w);
    let out = writer.child.stdout.take().unwrap();
    let mut c = Command::new("cat");
    c.stdin(Stdio::from(out))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let cat = Guard::spawn_group(&mut c);
    wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(format!("/proc/{}/syscall", cat.pid()))
            .ok()
            .filter(|s| s.starts_with("0 0x0 ") || s.starts_with("63 0x0 "))
    })
    .expect("cat blocks reading its stdin");

    let (r, code) = attach(cat.pid(), "1s");
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    assert_eq!(p.pid, Some(writer.pid()));
    assert!(
        p.summary.contains("waits for input on its stdin (fd 0)")
            && p.summary.contains(&format!(
                "held by pid {} (sleep), which does not write",
                writer.pid()
            )),
        "{}",
        p.summary
    );
    assert!(
        p.remedy
            .as_deref()
            .unwrap()
            .contains(&format!("gohang attach {}", writer.pid()))
    );
    assert_eq!(r.chain, vec![cat.pid(), writer.pid()]);
    assert_eq!(code, 1);
}

#[test]
fn a_slow_reader_that_drains_is_not_output_blocked() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", None);
    // Reads 16 KiB every 0.2 s: go's writes wait for room, but bytes move.
    let mut rc = Command::new("sh");
    rc.args([
        "-c",
        "while :; do dd bs=16384 count=1 iflag=fullblock of=/dev/null 2>/dev/null || exit 0; sleep 0.2; done",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let mut reader = Guard::spawn_group(&mut rc);
    let pipe = reader.child.stdin.take().unwrap();
    let mut c = go_command(&m, &["list", "-json", "std"]);
    c.stdout(Stdio::from(pipe));
    let go = Guard::spawn_group(&mut c);
    wait_for(Duration::from_secs(60), || {
        in_write_on(go.pid(), 1).then_some(())
    })
    .expect("go list writes faster than the reader drains");

    let (r, _) = attach(go.pid(), "2s");
    assert!(
        r.verdicts
            .iter()
            .all(|v| v.kind != VerdictKind::OutputBlocked),
        "{r:#?}"
    );
    assert!(
        r.reasons
            .iter()
            .any(|x| x.contains("a slow reader, progressing, not stuck")
                || x.contains("only: it makes progress")),
        "says why it is not output-blocked: {:#?}",
        r.reasons
    );
}

#[test]
fn a_writer_whose_reader_catches_up_finishes_healthy() {
    if !go_ok() {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", None);
    // go list fills the pipe while the reader sleeps, then the reader drains everything:
    // go finishes in time, and nothing is blamed.
    let mut c = gohang();
    c.args([
        "probe",
        "--json",
        "--timeout",
        "30s",
        "--",
        "sh",
        "-c",
        "go list -json std | (sleep 1; cat >/dev/null)",
    ]);
    isolated_go_env(&mut c, &m);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = Guard::spawn_group(&mut c)
        .wait_output(Duration::from_secs(120))
        .expect("gohang finished");
    let r = parse_report(&out.stdout);
    assert_eq!(r.primary().kind, VerdictKind::Healthy, "{r:#?}");
    assert_eq!(out.status.code(), Some(0));
}
