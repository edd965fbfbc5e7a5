//! Evidence from a system call trace (`--trace`, [`TraceSummary`]).
//!
//! strace prints a call when it starts and completes the line when it returns (strace(1),
//! `<unfinished ...>`), so a thread whose last call never returned sits in it — and the
//! call names the wait in the kernel's own terms: `flock(2)` on a lock file, `connect(2)`
//! to an address, `wait4(2)`/`waitid(2)` for a child, `read(2)` on a terminal. Each such
//! thread adds a line to the verdict another rule gave for the same process, or, when the
//! samples alone found nothing of that kind, proposes the verdict itself.
//!
//! A Go program never leaves a thread in connect or in a read on a socket: its netpoller
//! parks the goroutine and one thread waits in `epoll_pwait`. For a network wait the
//! process's last `connect` (address and result) is then the trace's evidence.
//!
//! dtruss (macOS) prints calls only when they return: it never shows where a thread sits,
//! only the last calls, which are added as context.

use super::{Findings, remedy, tree::Tree};
use crate::evidence::{TraceSummary, TracedCall, TracedThread};
use crate::verdict::{Confidence, Verdict, VerdictKind};
use std::collections::BTreeMap;

pub(super) fn rules(tree: &Tree, f: &mut Findings) {
    let Some(trace) = tree.ev.trace.as_ref() else {
        return;
    };
    let tool = trace.tool.as_str();
    let mut generic: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for th in &trace.threads {
        let Some(pid) = pid_of(tree, th) else {
            continue;
        };
        if tree.ev.own_pids.contains(&pid) || tree.get(pid).is_none() {
            continue;
        }
        if let Some(sig) = th.stopped_by.as_deref().filter(|_| th.exited.is_none()) {
            let fact = format!(
                "{tool}: thread {} of pid {pid} was stopped by {sig}",
                th.tid
            );
            add_to(
                f,
                &[VerdictKind::TtyStopped, VerdictKind::Stopped],
                pid,
                fact,
            );
        }
        let Some(call) = th.sits_in() else { continue };
        let target = fd_target(tree, pid, call);
        let fact = sits_fact(tool, th, pid, call, target.as_deref());
        let used = match classify_call(tree, pid, call, target.as_deref()) {
            Wait::Lock { path } => lock(tree, f, pid, path, fact.clone()),
            Wait::Network { peer } => network(tree, f, pid, peer, fact.clone()),
            Wait::Child => child(tree, f, pid, fact.clone()),
            Wait::Terminal { dev } => prompt(tree, f, pid, dev, fact.clone()),
            Wait::Other => false,
        };
        if !used {
            generic.entry(pid).or_default().push(format!(
                "{}{}",
                short(call),
                target_suffix(call, target.as_deref())
            ));
        }
    }
    for (pid, calls) in generic {
        let fact = format!(
            "{tool}: threads of pid {pid} were inside {} when the trace ended",
            calls.join(", ")
        );
        add_to_any(f, pid, fact);
    }
    last_connects(tree, trace, f);
    if !trace.shows_unfinished {
        last_calls(tree, trace, f);
    }
}

/// What a call a thread sits in waits for.
enum Wait {
    Lock { path: Option<String> },
    Network { peer: Option<String> },
    Child,
    Terminal { dev: String },
    Other,
}

fn classify_call(tree: &Tree, pid: u32, c: &TracedCall, target: Option<&str>) -> Wait {
    match c.name.as_str() {
        // flock(2) blocks unless LOCK_NB; fcntl(2) blocks with F_SETLKW / F_OFD_SETLKW.
        "flock" if !c.args.contains("LOCK_NB") => Wait::Lock {
            path: target.map(str::to_string),
        },
        "fcntl" if c.args.contains("SETLKW") => Wait::Lock {
            path: target.map(str::to_string),
        },
        "connect" => Wait::Network {
            peer: c.address.clone().or_else(|| peer_of(tree, pid, c.fd)),
        },
        "wait4" | "waitid" => Wait::Child,
        "read" | "readv" | "pread64" | "recvfrom" | "recvmsg" => match target {
            Some(t) if is_tty(t) => Wait::Terminal { dev: t.to_string() },
            Some(t) if t.starts_with("socket:") => match peer_of(tree, pid, c.fd) {
                Some(peer) => Wait::Network { peer: Some(peer) },
                None => Wait::Other,
            },
            _ => Wait::Other,
        },
        _ => Wait::Other,
    }
}

fn is_tty(t: &str) -> bool {
    crate::evidence::FdInfo {
        fd: 0,
        target: t.to_string(),
        pid: None,
    }
    .is_tty()
}

/// The thread's process: from the trace, else from the samples' thread lists.
fn pid_of(tree: &Tree, th: &TracedThread) -> Option<u32> {
    th.pid.or_else(|| {
        tree.ev
            .last_sample()?
            .processes
            .iter()
            .find_map(|p| p.threads.iter().any(|t| t.tid == th.tid).then_some(p.pid))
    })
}

/// What the call's descriptor is: as the tracer resolved it, else from the samples.
fn fd_target(tree: &Tree, pid: u32, c: &TracedCall) -> Option<String> {
    if let Some(t) = &c.fd_target {
        return Some(t.clone());
    }
    let fd = c.fd?;
    tree.get(pid)?
        .last
        .fds
        .iter()
        .find(|f| f.fd == fd)
        .map(|f| f.target.clone())
}

/// The remote end of a TCP socket, from the samples.
fn peer_of(tree: &Tree, pid: u32, fd: Option<i32>) -> Option<String> {
    let fd = fd?;
    tree.get(pid)?
        .last
        .sockets
        .iter()
        .find(|s| s.fd == fd)
        .and_then(|s| s.remote.clone())
}

/// `flock(3, LOCK_EX)`, arguments cut.
fn short(c: &TracedCall) -> String {
    if c.args.starts_with("<... resuming interrupted") {
        let fd = c.fd.map(|f| format!("{f}, ")).unwrap_or_default();
        return format!("{}({fd}…, resumed after the tracer attached)", c.name);
    }
    let args = if c.args.chars().count() > 100 {
        format!("{}…", c.args.chars().take(100).collect::<String>())
    } else {
        c.args.clone()
    };
    format!("{}({args})", c.name)
}

fn target_suffix(c: &TracedCall, target: Option<&str>) -> String {
    match (c.fd, target) {
        (Some(fd), Some(t)) => format!(" [fd {fd} is {t}]"),
        _ => String::new(),
    }
}

/// "strace: thread 12 of pid 10 is inside flock(3, LOCK_EX) since 12:00:01.5 [fd 3 is /x.lock]".
fn sits_fact(
    tool: &str,
    th: &TracedThread,
    pid: u32,
    c: &TracedCall,
    target: Option<&str>,
) -> String {
    let mut s = format!(
        "{tool}: thread {} of pid {pid} is inside {}",
        th.tid,
        short(c)
    );
    if let Some(t) = &c.time {
        s.push_str(&format!(" since {t}"));
    }
    s.push_str(&target_suffix(c, target));
    if let Some(p) = c.wait_pid.filter(|p| *p > 0) {
        s.push_str(&format!(", waiting for pid {p}"));
    }
    if let Some(a) = &c.address {
        s.push_str(&format!(", peer {a}"));
    }
    s.push_str(" (it had not returned when the trace ended)");
    s
}

/// Add `fact` to the verdict of one of `kinds` about `pid`; true when there was one.
fn add_to(f: &mut Findings, kinds: &[VerdictKind], pid: u32, fact: String) -> bool {
    let Some(c) = f
        .candidates
        .iter_mut()
        .find(|c| kinds.contains(&c.verdict.kind) && c.verdict.pid == Some(pid))
    else {
        return false;
    };
    let kind = c.verdict.kind;
    if !c.verdict.evidence.contains(&fact) {
        c.verdict.evidence.push(fact);
    }
    f.note(format!("trace: confirms {kind} of pid {pid}"));
    true
}

/// Add `fact` to the highest-ranked verdict about `pid`, if any.
fn add_to_any(f: &mut Findings, pid: u32, fact: String) {
    if let Some(c) = f
        .candidates
        .iter_mut()
        .filter(|c| c.verdict.pid == Some(pid))
        .max_by_key(|c| c.verdict.kind.rank())
    {
        c.verdict.evidence.push(fact);
    }
}

fn lock(tree: &Tree, f: &mut Findings, pid: u32, path: Option<String>, fact: String) -> bool {
    if add_to(f, &[VerdictKind::LockWait], pid, fact.clone()) {
        return true;
    }
    let Some(p) = tree.get(pid) else { return false };
    let what = path.as_deref().unwrap_or("a file");
    let v = Verdict::new(
        VerdictKind::LockWait,
        Confidence::Medium,
        Some(pid),
        format!(
            "{} waits for a file lock on {what} (the trace shows it blocked in the lock call)",
            p.label()
        ),
    )
    .fact(fact)
    .remedy(remedy::lock_wait(None));
    f.add(
        v,
        p.depth,
        format!("{}: trace shows a blocking lock call", p.label()),
    );
    true
}

fn network(tree: &Tree, f: &mut Findings, pid: u32, peer: Option<String>, fact: String) -> bool {
    if add_to(
        f,
        &[VerdictKind::NetworkWait, VerdictKind::ToolchainDownload],
        pid,
        fact.clone(),
    ) {
        return true;
    }
    let (Some(p), Some(peer)) = (tree.get(pid), peer) else {
        return false;
    };
    let v = Verdict::new(
        VerdictKind::NetworkWait,
        Confidence::Medium,
        Some(pid),
        format!(
            "{} waits on the network: the trace shows it blocked on its connection to {peer}",
            p.label()
        ),
    )
    .fact(fact)
    .remedy(remedy::network_wait(None, None, None));
    f.add(
        v,
        p.depth,
        format!("{}: trace shows a blocked socket call to {peer}", p.label()),
    );
    true
}

/// A wait for a child: the child-wait verdict is about the end of the chain, a descendant.
fn child(tree: &Tree, f: &mut Findings, pid: u32, fact: String) -> bool {
    // The deepest (the first of equals): a side branch of a wait for any child ranks at
    // depth 0.
    let Some(c) = f
        .candidates
        .iter_mut()
        .rev()
        .filter(|c| {
            c.verdict.kind == VerdictKind::ChildWait
                && c.verdict
                    .pid
                    .is_some_and(|leaf| tree.chain_to(leaf).contains(&pid))
        })
        .max_by_key(|c| c.depth)
    else {
        return false;
    };
    if !c.verdict.evidence.contains(&fact) {
        c.verdict.evidence.push(fact);
    }
    f.note(format!(
        "trace: pid {pid} waits for a child, as the wait chain says"
    ));
    true
}

fn prompt(tree: &Tree, f: &mut Findings, pid: u32, dev: String, fact: String) -> bool {
    if add_to(f, &[VerdictKind::PromptWait], pid, fact.clone()) {
        return true;
    }
    let Some(p) = tree.get(pid) else { return false };
    let last = p.last;
    let foreground = last
        .tty
        .as_ref()
        .is_none_or(|t| t.foreground_pgrp.is_none_or(|fg| fg == last.pgrp));
    if !foreground {
        return false;
    }
    let v = Verdict::new(
        VerdictKind::PromptWait,
        Confidence::Medium,
        Some(pid),
        format!(
            "{} waits for someone to type at the terminal ({dev}): the trace shows it blocked reading it",
            p.label()
        ),
    )
    .fact(fact)
    .remedy(remedy::prompt_wait(Some(&dev)));
    f.add(
        v,
        p.depth,
        format!("{}: trace shows a read on {dev}", p.label()),
    );
    true
}

/// For a network wait, the process's last connect as the trace saw it.
fn last_connects(tree: &Tree, trace: &TraceSummary, f: &mut Findings) {
    let wanted: Vec<u32> = f
        .candidates
        .iter()
        .filter(|c| {
            matches!(
                c.verdict.kind,
                VerdictKind::NetworkWait | VerdictKind::ToolchainDownload
            )
        })
        .filter_map(|c| c.verdict.pid)
        .collect();
    for pid in wanted {
        let mut connects: Vec<&TracedCall> = trace
            .threads
            .iter()
            .filter(|t| pid_of(tree, t) == Some(pid))
            .filter_map(|t| t.last_connect.as_ref())
            .filter(|c| c.address.is_some())
            .collect();
        connects.sort_by(|a, b| a.time.cmp(&b.time));
        let Some(c) = connects.last() else { continue };
        let fact = format!(
            "{}: pid {pid}'s last connect: fd {} to {}{}{}",
            trace.tool,
            c.fd.map(|f| f.to_string()).unwrap_or_else(|| "?".into()),
            c.address.as_deref().unwrap_or("?"),
            c.time
                .as_deref()
                .map(|t| format!(" at {t}"))
                .unwrap_or_default(),
            c.result
                .as_deref()
                .map(|r| format!(" → {r}"))
                .unwrap_or_else(|| " (not returned)".into())
        );
        add_to(
            f,
            &[VerdictKind::NetworkWait, VerdictKind::ToolchainDownload],
            pid,
            fact,
        );
    }
}

/// dtruss: the last calls of each process a verdict is about.
fn last_calls(tree: &Tree, trace: &TraceSummary, f: &mut Findings) {
    let pids: Vec<u32> = f.candidates.iter().filter_map(|c| c.verdict.pid).collect();
    for pid in pids {
        let mut calls: Vec<String> = trace
            .threads
            .iter()
            .filter(|t| pid_of(tree, t) == Some(pid))
            .filter_map(|t| t.recent.last())
            .map(|c| c.display(60))
            .collect();
        calls.dedup();
        if calls.is_empty() {
            continue;
        }
        calls.truncate(4);
        let fact = format!(
            "{} (shows calls as they return): last calls of pid {pid}: {}",
            trace.tool,
            calls.join("; ")
        );
        if let Some(c) = f
            .candidates
            .iter_mut()
            .filter(|c| c.verdict.pid == Some(pid))
            .max_by_key(|c| c.verdict.kind.rank())
            && !c.verdict.evidence.contains(&fact)
        {
            c.verdict.evidence.push(fact);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::classify::classify;
    use crate::evidence::{
        Evidence, FdInfo, LockHolder, LockInfo, Mode, Outcome, ProcessSnapshot, RunState, Sample,
        SocketInfo, Target, ThreadSample, TraceSummary, TracedCall, TracedThread, Tty,
    };
    use crate::verdict::{Confidence, VerdictKind};

    fn thread(tid: u32) -> ThreadSample {
        ThreadSample {
            tid,
            name: "go".into(),
            state: RunState::Sleeping,
            wchan: None,
            syscall: crate::evidence::Fact::unavailable("permission denied"),
            utime_ms: 0,
            stime_ms: 0,
            run_delay_ms: None,
        }
    }

    fn process(pid: u32, ppid: u32, fds: Vec<FdInfo>) -> ProcessSnapshot {
        let mut p: ProcessSnapshot = serde_json::from_str(&format!(
            r#"{{"pid":{pid},"ppid":{ppid},"comm":"go","state":"sleeping","start_time":7}}"#
        ))
        .unwrap();
        p.pgrp = pid as i32;
        p.threads = vec![thread(pid), thread(pid + 1)];
        p.fds = fds;
        p
    }

    /// Two samples 1 s apart of `procs` (root first), attached, with this trace.
    fn evidence(procs: Vec<ProcessSnapshot>, trace: TraceSummary, own: Vec<u32>) -> Evidence {
        let host = crate::evidence::HostInfo::plain(
            crate::evidence::Os::Linux,
            crate::evidence::Arch::X86_64,
            2,
        );
        let target = Target {
            mode: Mode::Attach,
            command: vec!["go".into()],
            pid: Some(procs[0].pid),
            timeout_ms: None,
        };
        let mut ev = Evidence::new(host, target, Outcome::Attached);
        ev.samples = vec![
            Sample {
                at_ms: 0,
                processes: procs.clone(),
            },
            Sample {
                at_ms: 1000,
                processes: procs,
            },
        ];
        ev.trace = Some(trace);
        ev.own_pids = own;
        ev
    }

    fn sitting(tid: u32, name: &str, args: &str, fd: Option<i32>) -> TracedThread {
        let mut c = TracedCall {
            time: Some("12:00:00.000001".into()),
            name: name.into(),
            args: args.into(),
            unfinished: true,
            fd,
            ..TracedCall::default()
        };
        if name == "connect" {
            c.address = Some("10.1.2.3:443".into());
        }
        if name == "wait4" {
            c.wait_pid = Some(-1);
        }
        TracedThread {
            tid,
            calls: 1,
            recent: vec![c],
            ..TracedThread::default()
        }
    }

    fn strace(threads: Vec<TracedThread>) -> TraceSummary {
        TraceSummary {
            tool: "strace".into(),
            shows_unfinished: true,
            threads,
            ..TraceSummary::default()
        }
    }

    #[test]
    fn a_thread_in_flock_proposes_a_lock_wait_the_samples_missed() {
        let fd = FdInfo {
            fd: 3,
            target: "/m/cache/download/example.com/dep/@v/v1.0.0.lock".into(),
            pid: None,
        };
        let ev = evidence(
            vec![process(100, 1, vec![fd])],
            strace(vec![sitting(101, "flock", "3, LOCK_EX", Some(3))]),
            Vec::new(),
        );
        let c = classify(&ev);
        let p = &c.verdicts[0];
        assert_eq!(p.kind, VerdictKind::LockWait, "{c:#?}");
        assert_eq!(p.pid, Some(100));
        assert_eq!(p.confidence, Confidence::Medium);
        assert!(p.summary.contains("v1.0.0.lock"), "{}", p.summary);
        assert!(
            p.evidence.iter().any(|e| e.starts_with("strace: thread 101 of pid 100 is inside flock(3, LOCK_EX) since 12:00:00.000001 [fd 3 is /m/")),
            "{:#?}",
            p.evidence
        );
        // A non-blocking try proposes nothing.
        let ev = evidence(
            vec![process(100, 1, Vec::new())],
            strace(vec![sitting(101, "flock", "3, LOCK_EX|LOCK_NB", Some(3))]),
            Vec::new(),
        );
        assert_ne!(classify(&ev).verdicts[0].kind, VerdictKind::LockWait);
    }

    #[test]
    fn a_trace_confirms_the_samples_verdict_without_a_second_one() {
        let mut p = process(
            100,
            1,
            vec![FdInfo {
                fd: 3,
                target: "/x.lock".into(),
                pid: None,
            }],
        );
        p.locks = vec![LockInfo {
            kind: "flock".into(),
            mode: "write".into(),
            waiting: true,
            file: "00:1a:42".into(),
            path: Some("/x.lock".into()),
            holder: Some(LockHolder {
                pid: 50,
                start_time: None,
                comm: "flock".into(),
                command: None,
            }),
        }];
        let ev = evidence(
            vec![p],
            strace(vec![sitting(100, "flock", "3, LOCK_EX", Some(3))]),
            Vec::new(),
        );
        let c = classify(&ev);
        assert_eq!(c.verdicts[0].kind, VerdictKind::LockWait);
        assert_eq!(
            c.verdicts
                .iter()
                .filter(|v| v.kind == VerdictKind::LockWait)
                .count(),
            1
        );
        assert!(c.verdicts[0].summary.contains("held by pid 50"));
        assert_eq!(
            c.verdicts[0]
                .evidence
                .iter()
                .filter(|e| e.starts_with("strace:"))
                .count(),
            1,
            "{:#?}",
            c.verdicts[0].evidence
        );
        assert!(
            c.reasons
                .iter()
                .any(|r| r.contains("trace: confirms lock-wait"))
        );
    }

    #[test]
    fn connect_and_terminal_reads_propose_their_waits() {
        let ev = evidence(
            vec![process(
                100,
                1,
                vec![FdInfo {
                    fd: 7,
                    target: "socket:[99]".into(),
                    pid: None,
                }],
            )],
            strace(vec![sitting(
                100,
                "connect",
                "7, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr(\"10.1.2.3\")}, 16",
                Some(7),
            )]),
            Vec::new(),
        );
        let p = &classify(&ev).verdicts[0];
        assert_eq!(p.kind, VerdictKind::NetworkWait);
        assert!(p.summary.contains("10.1.2.3:443"), "{}", p.summary);

        // A read on a socket: the peer comes from the sampled sockets.
        let mut q = process(
            100,
            1,
            vec![FdInfo {
                fd: 5,
                target: "socket:[98]".into(),
                pid: None,
            }],
        );
        q.sockets = vec![SocketInfo {
            fd: 5,
            family: "inet".into(),
            proto: "tcp".into(),
            local: Some("10.0.0.1:5000".into()),
            remote: Some("10.9.9.9:22".into()),
            state: Some("FIN_WAIT2".into()),
            rx_queue: Some(0),
            tx_queue: Some(0),
            bytes_received: None,
        }];
        let ev = evidence(
            vec![q],
            strace(vec![sitting(101, "read", "5", Some(5))]),
            Vec::new(),
        );
        assert!(classify(&ev).verdicts[0].summary.contains("10.9.9.9:22"));

        // A read on the terminal in the foreground: a prompt.
        let mut t = process(
            100,
            1,
            vec![FdInfo {
                fd: 0,
                target: "/dev/pts/4".into(),
                pid: None,
            }],
        );
        t.tty = Some(Tty {
            dev: 34820,
            name: Some("/dev/pts/4".into()),
            foreground_pgrp: Some(100),
        });
        let ev = evidence(
            vec![t.clone()],
            strace(vec![sitting(100, "read", "0", Some(0))]),
            Vec::new(),
        );
        let p = &classify(&ev).verdicts[0];
        assert_eq!(p.kind, VerdictKind::PromptWait);
        assert!(p.summary.contains("/dev/pts/4"));
        // …but not from the background, where the terminal stops the reader instead.
        t.tty.as_mut().unwrap().foreground_pgrp = Some(999);
        let ev = evidence(
            vec![t],
            strace(vec![sitting(100, "read", "0", Some(0))]),
            Vec::new(),
        );
        assert_ne!(classify(&ev).verdicts[0].kind, VerdictKind::PromptWait);
    }

    #[test]
    fn the_tracer_gohang_started_is_not_a_debugger() {
        let mut p = process(100, 1, Vec::new());
        p.tracer_pid = Some(4242);
        p.tracer_comm = Some("strace".into());
        p.threads[0].state = RunState::TracingStop;
        let ev = evidence(vec![p.clone()], strace(Vec::new()), vec![4242]);
        assert!(
            classify(&ev)
                .verdicts
                .iter()
                .all(|v| v.kind != VerdictKind::Traced)
        );
        // Someone else's tracer is one.
        let ev = evidence(vec![p], strace(Vec::new()), Vec::new());
        assert_eq!(classify(&ev).verdicts[0].kind, VerdictKind::Traced);
    }

    #[test]
    fn a_wait_for_a_child_joins_the_child_wait_and_exited_threads_count_for_nothing() {
        let parent = process(100, 1, Vec::new());
        let mut child = process(200, 100, Vec::new());
        child.comm = "sleep".into();
        child.threads = vec![thread(200)];
        let mut gone = sitting(150, "flock", "3, LOCK_EX", Some(3));
        gone.pid = Some(100);
        gone.exited = Some("exited with 0".into());
        let ev = evidence(
            vec![parent, child],
            strace(vec![sitting(100, "wait4", "-1", None), gone]),
            Vec::new(),
        );
        let c = classify(&ev);
        let p = &c.verdicts[0];
        assert_eq!(p.kind, VerdictKind::ChildWait, "{c:#?}");
        assert_eq!(p.pid, Some(200));
        assert!(
            p.evidence
                .iter()
                .any(|e| e.contains("strace: thread 100 of pid 100 is inside wait4(-1)")),
            "{:#?}",
            p.evidence
        );
        assert!(c.verdicts.iter().all(|v| v.kind != VerdictKind::LockWait));
    }

    #[test]
    fn a_stop_seen_through_our_tracer_is_still_a_stop() {
        let mut p = process(100, 1, Vec::new());
        p.tracer_pid = Some(4242);
        for t in &mut p.threads {
            t.state = RunState::TracingStop;
        }
        let th = TracedThread {
            tid: 100,
            pid: Some(100),
            stopped_by: Some("SIGSTOP".into()),
            ..TracedThread::default()
        };
        let ev = evidence(vec![p], strace(vec![th]), vec![4242]);
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::Stopped, "{c:#?}");
        assert!(
            v.evidence.iter().any(|e| e.contains("shown as t")),
            "{:#?}",
            v.evidence
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e == "strace: thread 100 of pid 100 was stopped by SIGSTOP"),
            "{:#?}",
            v.evidence
        );
    }

    #[test]
    fn dtruss_adds_the_last_calls() {
        let mut th = TracedThread {
            tid: 100,
            pid: Some(100),
            calls: 2,
            ..TracedThread::default()
        };
        th.recent.push(TracedCall {
            name: "read".into(),
            args: "0x3, \"\", 0x400".into(),
            result: Some("-1 Err#35".into()),
            ..TracedCall::default()
        });
        let trace = TraceSummary {
            tool: "dtruss".into(),
            shows_unfinished: false,
            threads: vec![th],
            ..TraceSummary::default()
        };
        let ev = evidence(vec![process(100, 1, Vec::new())], trace, Vec::new());
        let p = &classify(&ev).verdicts[0];
        assert!(
            p.evidence.iter().any(|e| e.contains("dtruss (shows calls as they return): last calls of pid 100: read(0x3, \"\", 0x400) = -1 Err#35")),
            "{:#?}",
            p.evidence
        );
    }
}
