//! `--trace` on live processes: in spawn mode (probe runs the command under strace) and
//! attach mode (strace -p for the window), the report names the system call a stuck thread
//! sits in; the tracer is never mistaken for a debugger; the target survives the detach
//! (still running, TracerPid 0 afterwards); what is kept has no credentials in it.
#![cfg(target_os = "linux")]

mod util;

use gohang::report::Report;
use gohang::verdict::VerdictKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use util::gomod::*;
use util::*;

fn strace_ok() -> bool {
    need(have("strace"), "strace (scripts/setup.sh installs it)")
}

/// gohang with its trace files in `state` (XDG_STATE_HOME).
fn gohang_in(state: &Path, args: &[&str]) -> Command {
    let mut c = gohang();
    c.args(args)
        .env("XDG_STATE_HOME", state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn finish(mut c: Command) -> (Report, i32, Output) {
    let out = Guard::spawn_group(&mut c)
        .wait_output(Duration::from_secs(120))
        .expect("gohang finished");
    assert!(
        !out.stdout.is_empty(),
        "no report; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = parse_report(&out.stdout);
    (r, out.status.code().unwrap_or(-1), out)
}

/// `gohang attach PID --json --trace --window 1s`, finished: the report and exit code.
fn attach_traced(state: &Path, pid: u32) -> (Report, i32) {
    let pid = pid.to_string();
    let args = ["attach", &pid, "--json", "--trace", "--window", "1s"];
    let (r, code, _) = finish(gohang_in(state, &args));
    (r, code)
}

/// The trace file a report's notes name.
fn trace_file(r: &Report) -> PathBuf {
    let note = r
        .notes
        .iter()
        .find(|n| n.starts_with("syscall trace: strace"))
        .unwrap_or_else(|| panic!("no trace note: {:?}", r.notes));
    PathBuf::from(note.rsplit(" in ").next().unwrap())
}

fn tracer_pid(pid: u32) -> Option<u32> {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    st.lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// No verdict takes gohang's own strace for a debugger.
fn not_traced(r: &Report) {
    assert!(
        r.verdicts.iter().all(|v| v.kind != VerdictKind::Traced),
        "strace was taken for a debugger: {r:#?}"
    );
}

fn strace_line<'a>(r: &'a Report, kind: VerdictKind, needle: &str) -> &'a str {
    let v = r
        .verdicts
        .iter()
        .find(|v| v.kind == kind)
        .unwrap_or_else(|| panic!("no {kind}: {r:#?}"));
    v.evidence
        .iter()
        .find(|e| e.starts_with("strace:") && e.contains(needle))
        .unwrap_or_else(|| panic!("no strace line with {needle:?}: {:#?}", v.evidence))
}

#[test]
fn probe_trace_names_the_flock_go_sits_in() {
    if !strace_ok() || !need(have("go") && have("flock"), "go and flock") {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let lock = m.cached_dep_lock();
    let _holder = hold_lock(&lock);
    let mut c = gohang_in(
        state.path(),
        &[
            "probe",
            "--json",
            "--trace",
            "--timeout",
            "3s",
            "--window",
            "1s",
            "--",
            "go",
            "mod",
            "download",
        ],
    );
    isolated_go_env(&mut c, &m);
    let (r, code, _) = finish(c);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::LockWait, "{r:#?}");
    let line = strace_line(&r, VerdictKind::LockWait, "inside flock(");
    assert!(
        line.contains(lock.to_str().unwrap()),
        "the descriptor is named as the lock file: {line}"
    );
    not_traced(&r);
    assert_eq!(code, 1);
    // The raw trace is kept, private, and shows the call.
    let file = trace_file(&r);
    assert!(file.starts_with(state.path()), "{}", file.display());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("flock("), "{text}");
    assert!(
        text.contains("execve("),
        "the trace starts with the command: {text}"
    );
}

#[test]
fn probe_trace_of_a_shell_waiting_for_its_child() {
    if !strace_ok() {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    let c = gohang_in(
        state.path(),
        &[
            "probe",
            "--json",
            "--trace",
            "--timeout",
            "1s",
            "--window",
            "1s",
            "--",
            "sh",
            "-c",
            "sleep 60; echo never",
        ],
    );
    let (r, code, _) = finish(c);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    let sh = r.target.pid.unwrap();
    let line = strace_line(&r, VerdictKind::ChildWait, "inside wait4(");
    assert!(line.contains(&format!("of pid {sh} ")), "{line}");
    not_traced(&r);
    assert_eq!(code, 1);
}

#[test]
fn attach_trace_names_the_flock_and_the_target_survives_the_detach() {
    if !strace_ok() || !need(have("go") && have("flock"), "go and flock") {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let (holder, go, lock) = go_blocked_on_lock(&m);
    let pid = go.pid();

    let (r, code) = attach_traced(state.path(), pid);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::LockWait, "{r:#?}");
    let line = strace_line(&r, VerdictKind::LockWait, "inside flock(");
    assert!(line.contains(lock.to_str().unwrap()), "{line}");
    not_traced(&r);
    assert_eq!(code, 1);

    // Detached: no tracer on any thread, still waiting for the lock, and it goes on when
    // the lock is released (GOPROXY=off then ends it with an error, not a hang).
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let tid: u32 = t.file_name().to_str().unwrap().parse().unwrap();
        assert_eq!(tracer_pid(tid), Some(0), "thread {tid} is still traced");
    }
    assert!(alive(pid, start_time(pid).unwrap()));
    drop(holder);
    let out = go
        .wait_output(Duration::from_secs(60))
        .expect("go carried on once the lock was released");
    assert!(out.status.code().is_some(), "go exited normally: {out:?}");
}

#[test]
fn attach_trace_on_a_shell_in_wait4_which_then_finishes_normally() {
    if !strace_ok() {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    let mut sh = Command::new("sh");
    sh.args(["-c", "sleep 3; echo done"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let g = Guard::spawn_group(&mut sh);
    let pid = g.pid();
    wait_for(Duration::from_secs(5), || {
        children_of(pid)
            .into_iter()
            .any(|c| comm(c).as_deref() == Some("sleep"))
            .then_some(())
    })
    .expect("sh never started sleep");
    let (r, _) = attach_traced(state.path(), pid);
    assert_eq!(r.primary().kind, VerdictKind::ChildWait, "{r:#?}");
    strace_line(&r, VerdictKind::ChildWait, "wait4(");
    assert_eq!(tracer_pid(pid), Some(0));
    // The interrupted wait4 was restarted after the detach: sh sees its child end and
    // carries on as if nothing happened.
    let out = g
        .wait_output(Duration::from_secs(10))
        .expect("sh finished after the detach");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
}

#[test]
fn attach_trace_on_a_stopped_process_leaves_it_stopped() {
    if !strace_ok() {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    let mut c = Command::new("sleep");
    c.arg("60").stdin(Stdio::null());
    let g = Guard::spawn_group(&mut c);
    let pid = g.pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let state_of = |pid: u32| {
        let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        st[st.rfind(')').unwrap() + 2..].chars().next().unwrap()
    };
    wait_for(Duration::from_secs(5), || {
        (state_of(pid) == 'T').then_some(())
    })
    .expect("sleep never stopped");
    let (r, code) = attach_traced(state.path(), pid);
    assert_eq!(r.primary().kind, VerdictKind::Stopped, "{r:#?}");
    strace_line(&r, VerdictKind::Stopped, "was stopped by SIGSTOP");
    not_traced(&r);
    assert_eq!(code, 1);
    assert_eq!(state_of(pid), 'T', "still stopped after the detach");
    assert_eq!(tracer_pid(pid), Some(0));
}

#[test]
fn keep_with_trace_leaves_the_command_running_untraced_and_working() {
    if !strace_ok() {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    let out_file = state.path().join("kept-output");
    let script = format!("sleep 2; echo works > {}", out_file.display());
    let c = gohang_in(
        state.path(),
        &[
            "probe",
            "--json",
            "--trace",
            "--keep",
            "--timeout",
            "500ms",
            "--window",
            "0",
            "--",
            "sh",
            "-c",
            &script,
        ],
    );
    let (r, _, _) = finish(c);
    assert!(!r.kept_pids.is_empty(), "{r:#?}");
    for p in &r.kept_pids {
        assert_eq!(tracer_pid(*p), Some(0), "kept pid {p} is still traced");
    }
    // A tracer that let go must leave no seccomp filter behind: the kept shell still
    // writes its file (it would fail with ENOSYS otherwise).
    let text = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&out_file).ok()
    })
    .expect("the kept command never finished its work");
    assert_eq!(text, "works\n");
}

#[test]
fn credentials_never_reach_the_trace_file() {
    if !strace_ok() {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    // printf is a shell builtin: sh itself writes these bytes with write(2). A key and a
    // netrc written a line at a time (one write each), and a value only the environment
    // tells is secret.
    let script = r#"printf 'GET / HTTP/1.1\r\nAuthorization: Basic c2VjcmV0LXRva2Vu\r\n\r\n' >/dev/null; printf 'username=u\npassword=hunter22\n' >/dev/null; { printf -- '-----BEGIN EC PRIVATE KEY-----\n'; printf 'MHcCAQEEsplitPemBody61\n'; printf -- '-----END EC PRIVATE KEY-----\n'; printf 'machine h.example\n'; printf '  login splitLogin62\n'; printf '  password splitPass62\n'; printf '%s\n' "$GOHANG_T_DEPLOY_TOKEN"; } >/dev/null; sleep 60"#;
    let mut c = gohang_in(
        state.path(),
        &[
            "probe",
            "--json",
            "--trace",
            "--timeout",
            "1s",
            "--window",
            "0",
            "--",
            "sh",
            "-c",
            script,
        ],
    );
    c.env("GOHANG_T_DEPLOY_TOKEN", "envOnlyValue63");
    let (r, _, out) = finish(c);
    let text = std::fs::read_to_string(trace_file(&r)).unwrap();
    assert!(text.contains("Authorization: Basic [REDACTED"), "{text}");
    assert!(text.contains("password=[REDACTED"), "{text}");
    assert!(text.contains("-----END EC PRIVATE KEY-----"), "{text}");
    // Nor does the evidence taken from it (the command line itself is the user's own).
    let from_trace: Vec<&String> = r
        .verdicts
        .iter()
        .flat_map(|v| v.evidence.iter())
        .chain(r.notes.iter())
        .collect();
    for secret in [
        "c2VjcmV0LXRva2Vu",
        "hunter22",
        "splitPemBody61",
        "splitLogin62",
        "splitPass62",
        "envOnlyValue63",
    ] {
        assert!(!text.contains(secret), "{secret} in the trace file");
        assert!(
            from_trace.iter().all(|l| !l.contains(secret)),
            "{secret} in {from_trace:#?}"
        );
    }
    assert!(out.status.code().is_some());
}

#[test]
fn without_strace_there_is_a_note_and_the_probe_goes_on() {
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    // A PATH with a shell and a sleep but no strace.
    let bin = state.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in ["sh", "sleep"] {
        std::os::unix::fs::symlink(
            gohang::sys::process::find_program(tool).unwrap(),
            bin.join(tool),
        )
        .unwrap();
    }
    let mut c = gohang_in(
        state.path(),
        &[
            "probe",
            "--json",
            "--trace",
            "--timeout",
            "500ms",
            "--window",
            "500ms",
            "--",
            "sh",
            "-c",
            "sleep 60",
        ],
    );
    c.env("PATH", &bin);
    let (r, code, out) = finish(c);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("strace is not installed") && err.contains("apt install strace"),
        "{err}"
    );
    assert!(r.notes.iter().any(|n| n.contains("apt install strace")));
    assert_eq!(r.primary().kind, VerdictKind::ChildWait, "{r:#?}");
    assert_eq!(code, 1);

    let mut c = Command::new("sleep");
    c.arg("60").stdin(Stdio::null());
    let g = Guard::spawn_group(&mut c);
    let mut a = gohang_in(
        state.path(),
        &[
            "attach",
            &g.pid().to_string(),
            "--json",
            "--trace",
            "--window",
            "0",
        ],
    );
    a.env("PATH", &bin);
    let (r, _, out) = finish(a);
    assert!(String::from_utf8_lossy(&out.stderr).contains("apt install strace"));
    assert_eq!(r.samples, 1, "sampling went on");
}

#[test]
fn probe_trace_of_go_on_a_silent_proxy_names_its_connect() {
    if !strace_ok() || !need(have("go"), "go") {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    let server = SilentServer::start(Duration::from_secs(90));
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let mut c = gohang_in(
        state.path(),
        &[
            "probe",
            "--json",
            "--trace",
            "--no-goroutines",
            "--timeout",
            "3s",
            "--window",
            "1s",
            "--",
            "go",
            "mod",
            "download",
        ],
    );
    isolated_go_env(&mut c, &m);
    c.env("GOPROXY", server.url());
    let (r, code, _) = finish(c);
    assert_eq!(r.primary().kind, VerdictKind::NetworkWait, "{r:#?}");
    // Go never blocks a thread in connect: the evidence is the connect it made.
    let line = strace_line(&r, VerdictKind::NetworkWait, "last connect");
    assert!(line.contains(&server.addr.to_string()), "{line}");
    assert!(
        line.contains("EINPROGRESS"),
        "a non-blocking connect: {line}"
    );
    not_traced(&r);
    assert_eq!(code, 1);
}

#[test]
fn attach_trace_of_go_on_a_silent_proxy() {
    if !strace_ok() || !need(have("go"), "go") {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    let server = SilentServer::start(Duration::from_secs(90));
    let m = Module::new("1.21", Some("example.com/dep v1.0.0"));
    let mut c = Command::new("go");
    c.args(["mod", "download"]);
    isolated_go_env(&mut c, &m);
    c.env("GOPROXY", server.url())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let go = Guard::spawn_group(&mut c);
    let pid = go.pid();
    let host = gohang::observe::host_info();
    let mut sampler = gohang::observe::Sampler::new(&host);
    let addr = server.addr.to_string();
    wait_for(Duration::from_secs(60), || {
        let p = sampler.snapshot(pid).ok()?;
        p.sockets
            .iter()
            .any(|k| k.remote.as_deref() == Some(addr.as_str()))
            .then_some(())
    })
    .expect("go never connected to the proxy");
    let (r, code) = attach_traced(state.path(), pid);
    assert_eq!(r.primary().kind, VerdictKind::NetworkWait, "{r:#?}");
    // The connect was before the trace; the netpoller's wait is what it sees.
    strace_line(&r, VerdictKind::NetworkWait, "epoll_pwait(");
    not_traced(&r);
    assert_eq!(code, 1);
    assert_eq!(tracer_pid(pid), Some(0));
    assert!(
        alive(pid, start_time(pid).unwrap()),
        "go still waits on the proxy"
    );
}

#[test]
fn attach_trace_of_its_own_parent_traces_neither_gohang_nor_strace() {
    if !strace_ok() {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    let evidence = state.path().join("evidence.json");
    let opts = [
        "--trace",
        "--window",
        "1s",
        "--save-evidence",
        evidence.to_str().unwrap(),
    ];
    let (sh, r, _, code) = attach_own_parent(&opts, &[("XDG_STATE_HOME", state.path())]);
    let pids: Vec<u32> = r.processes.iter().map(|p| p.pid).collect();
    assert_eq!(pids, [sh], "only the shell: {:#?}", r.processes);
    not_traced(&r);
    // strace was told about the shell alone: every line of the trace is the shell's.
    let file = trace_file(&r);
    // trace-STAMP-PID.txt: the pid is gohang's.
    let me = file
        .file_stem()
        .and_then(|s| s.to_str()?.rsplit('-').next()?.parse::<u32>().ok())
        .unwrap();
    assert_ne!(me, sh);
    let text = std::fs::read_to_string(&file).unwrap();
    let tids: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    assert_eq!(
        tids.into_iter().collect::<Vec<_>>(),
        [sh.to_string()],
        "gohang is pid {me}; the trace:\n{text}"
    );
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&evidence).unwrap()).unwrap();
    let threads = ev["trace"]["threads"].as_array().unwrap();
    assert!(threads.iter().all(|t| t["pid"] == sh), "{:#}", ev["trace"]);
    // The shell sits in wait4 (for gohang, which is left out).
    let sits = threads[0]["recent"].as_array().unwrap().last().unwrap();
    assert_eq!(sits["name"], "wait4", "{sits:#}");
    assert_eq!(code, 0, "the shell carried on after the detach");
}

#[test]
fn attach_trace_of_a_sleep_names_the_sleep_not_the_call_strace_guesses() {
    if !strace_ok() {
        return;
    }
    let _s = serial();
    let state = tempfile::tempdir().unwrap();
    let mut c = Command::new("sleep");
    c.arg("60").stdin(Stdio::null());
    let g = Guard::spawn_group(&mut c);
    let pid = g.pid();
    // What the sleep sits in, read as gohang reads it (clock_nanosleep with glibc).
    let host = gohang::observe::host_info();
    let call = wait_for(Duration::from_secs(5), || {
        let raw = std::fs::read(format!("/proc/{pid}/syscall")).ok()?;
        let s = gohang::observe::parse_syscall(&raw, &host.arch);
        s.value()?
            .name()
            .filter(|n| n.contains("nanosleep"))
            .map(str::to_string)
    })
    .expect("sleep never slept in a nanosleep");
    let (r, code) = attach_traced(state.path(), pid);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Idle, "{r:#?}");
    assert_eq!(p.pid, Some(pid));
    assert!(
        p.evidence.contains(&format!("waiting in: 1× {call}")),
        "the samples after the attach show restart_syscall; the sleep is what it is in: {:#?}",
        p.evidence
    );
    let line = strace_line(&r, VerdictKind::Idle, "inside");
    assert!(
        line.contains(&format!("inside {call}(")),
        "strace says `resuming interrupted read`; the call is {call}: {line}"
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains(&format!("resumed {call} after strace attached"))),
        "{:?}",
        r.notes
    );
    not_traced(&r);
    assert_eq!(code, 2);
    // Detached, and still asleep.
    assert_eq!(tracer_pid(pid), Some(0));
    assert!(alive(pid, start_time(pid).unwrap()));
}
