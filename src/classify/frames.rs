//! Goroutine frames decide what the /proc view cannot: a Go program that sleeps on futexes
//! and epoll looks `idle` there whatever it waits for, but its goroutines say it (a name
//! lookup, a cmd/go file lock, a child, a test blocked on a channel).
//!
//! Signal: `Evidence::goroutines` (read from memory at the end of the window, or the
//! runtime's answer to SIGQUIT). Only an `idle` primary verdict on the very process whose
//! goroutines were read is amended: where another rule already found a cause, that rule
//! stands.

use super::Classification;
use crate::evidence::{Evidence, GoFrame, Goroutine, GoroutineDump};
use crate::verdict::{Confidence, Verdict, VerdictKind};

/// What a goroutine's frames show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shown {
    /// cmd/go's file lock (cmd/go/internal/lockedfile, over flock/fcntl locks).
    Lock,
    /// A host name lookup: net.(*Resolver), the resolver's configuration (net.(*conf)),
    /// the pure-Go resolver (net.goLookup…).
    Resolution,
    /// os/exec.(*Cmd).Wait: for the child, and for the goroutines that copy its output.
    Child,
}

/// Frame patterns in the order they are tried; the first goroutine that shows one wins.
fn shown(f: &GoFrame) -> Option<Shown> {
    let name = f.function.as_str();
    // The package path ends at the last '/'; `lockedfile.` also matches a copy of the
    // package vendored under another path.
    let tail = name.rsplit('/').next().unwrap_or(name);
    if name.contains("cmd/go/internal/lockedfile") || tail.starts_with("lockedfile.") {
        Some(Shown::Lock)
    } else if name.starts_with("net.(*Resolver)")
        || name.starts_with("net.(*conf).")
        || name.starts_with("net.goLookup")
    {
        Some(Shown::Resolution)
    } else if name == "os/exec.(*Cmd).Wait" {
        Some(Shown::Child)
    } else {
        None
    }
}

/// The runtime's parking points of a goroutine blocked on a channel, a select or a
/// semaphore (sync.Mutex, sync.WaitGroup).
fn parked(f: &GoFrame) -> bool {
    let n = f.function.as_str();
    n == "runtime.chanrecv"
        || n == "runtime.chanrecv1"
        || n == "runtime.chanrecv2"
        || n == "runtime.selectgo"
        || n.contains("emacquire")
}

/// The `TestXxx` a goroutine runs under testing.tRunner, and the frame it is in.
fn test_of(g: &Goroutine) -> Option<(String, &GoFrame)> {
    if !g.frames.iter().any(|f| f.function == "testing.tRunner") {
        return None;
    }
    g.frames.iter().find_map(|f| {
        let tail = f.function.rsplit('/').next()?;
        let (_, func) = tail.split_once('.')?;
        let test = func.split('.').next()?;
        let rest = test.strip_prefix("Test")?;
        // `Test` alone or followed by an upper-case letter, a digit or `_` (go help testfunc).
        (rest.is_empty() || !rest.starts_with(|c: char| c.is_ascii_lowercase()))
            .then(|| (test.to_string(), f))
    })
}

pub(super) fn amend(ev: &Evidence, mut c: Classification) -> Classification {
    if !ev.outcome.is_stall() {
        return c;
    }
    let Some(dump) = ev.goroutines.as_ref().filter(|d| d.answered) else {
        return c;
    };
    let Some(primary) = c.verdicts.first() else {
        return c;
    };
    if primary.kind != VerdictKind::Idle || primary.pid != Some(dump.pid) {
        return c;
    }
    let blocked = || dump.goroutines.iter().filter(|g| g.state != "running");
    let found = [Shown::Lock, Shown::Resolution, Shown::Child]
        .into_iter()
        .find_map(|want| {
            blocked()
                // A goroutine in an open call waits for the open, not for what follows it
                // (lockedfile opens, then locks).
                .filter(|g| {
                    crate::goroutines::cause_of(g).map(|c| c.0)
                        != Some(crate::goroutines::Cause::Open)
                })
                .find_map(|g| {
                    g.frames
                        .iter()
                        .find(|f| shown(f) == Some(want))
                        .map(|f| (want, g, f))
                })
        });
    if let Some((what, g, f)) = found {
        let v = verdict(dump, what, g, f, &c.verdicts[0]);
        c.reasons.push(format!(
            "{}: pid {}'s goroutine {} is in {} (goroutine frames; the /proc view showed it idle)",
            v.kind, dump.pid, g.id, f.function
        ));
        // The idle verdict it replaces said "no cause found here".
        c.verdicts.remove(0);
        c.verdicts.retain(|x| x.kind != v.kind);
        c.verdicts.insert(0, v);
        return c;
    }
    // A test binary: the test whose goroutine is parked is what hangs.
    let test = blocked()
        .filter(|g| g.frames.iter().any(parked))
        .filter_map(|g| test_of(g).map(|(t, f)| (g, t, f)))
        .max_by(|a, b| a.0.minutes.cmp(&b.0.minutes).then(b.0.id.cmp(&a.0.id)));
    if let Some((g, test, f)) = test {
        let v = &mut c.verdicts[0];
        v.summary = format!(
            "{test} of pid {} is blocked ({}) and nothing else runs: {}",
            dump.pid,
            g.state,
            v.summary.trim_end_matches('.')
        );
        let line = frame_line(dump, g, f);
        if !v.evidence.contains(&line) {
            v.evidence.insert(0, line);
        }
        c.reasons.push(format!(
            "idle: pid {}'s goroutine {} runs {test} and is parked in {}",
            dump.pid, g.id, g.state
        ));
    }
    c
}

/// "Go runtime of pid 42 (read from memory): goroutine 7 [select]: … (in net.(*Resolver)…)".
fn frame_line(dump: &GoroutineDump, g: &Goroutine, f: &GoFrame) -> String {
    format!(
        "{}: {} (in {})",
        super::runtime_of(dump),
        crate::goroutines::describe(g),
        f.function
    )
}

fn verdict(
    dump: &GoroutineDump,
    what: Shown,
    g: &Goroutine,
    f: &GoFrame,
    idle: &Verdict,
) -> Verdict {
    let pid = dump.pid;
    let (kind, summary, fix) = match what {
        Shown::Lock => (
            VerdictKind::LockWait,
            format!(
                "pid {pid} waits for a file lock of the go command (its goroutines are in cmd/go/internal/lockedfile)"
            ),
            super::remedy::lock_wait(None),
        ),
        Shown::Resolution => (
            VerdictKind::NetworkWait,
            format!("pid {pid} waits for name resolution (a goroutine is in a host name lookup)"),
            super::remedy::name_resolution(),
        ),
        Shown::Child => (
            VerdictKind::ChildWait,
            format!("pid {pid} waits in os/exec.(*Cmd).Wait for a command it started"),
            super::remedy::cmd_wait(),
        ),
    };
    let mut v = Verdict::new(kind, Confidence::Medium, Some(pid), summary)
        .fact(frame_line(dump, g, f))
        .remedy(fix);
    for line in &idle.evidence {
        if !v.evidence.contains(line) {
            v.evidence.push(line.clone());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use crate::classify::classify;
    use crate::evidence::{Evidence, GoroutineDump};
    use crate::verdict::VerdictKind;

    /// A real idle Go program (tests/go/sleeper.go) as probe recorded it: pid 22143.
    fn sleeper_with(dump: &str) -> Evidence {
        let mut ev: Evidence = serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_idle_go_sleeper/evidence.json"
        ))
        .unwrap();
        ev.goroutines = Some(memory_dump(22143, dump));
        ev
    }

    fn memory_dump(pid: u32, text: &str) -> GoroutineDump {
        GoroutineDump {
            pid,
            source: Some("memory".into()),
            answered: true,
            goroutines: crate::goroutines::parse(text),
            note: None,
        }
    }

    const MAIN: &str = "goroutine 1 [semacquire, 3 minutes]:\n\
sync.runtime_Semacquire(0xc0)\n\t/go/src/runtime/sema.go:71 +0x25\n\
sync.(*WaitGroup).Wait(0xc0)\n\t/go/src/sync/waitgroup.go:118 +0x48\n\
main.main()\n\t/src/main.go:9 +0x1\n\n";

    const DNS: &str = "goroutine 9 [select, 3 minutes]:\n\
runtime.selectgo(0xc0, 0xc0, 0x0, 0x0, 0x2, 0x1)\n\t/go/src/runtime/select.go:335 +0x7a5\n\
net.(*Resolver).lookupIPAddr(0x0, {0x9, 0xc0}, {0x3, 0x0}, {0xc0, 0xe})\n\t/go/src/net/lookup.go:336 +0x5a5\n\
net.(*Resolver).internetAddrList(0x0, {0x9, 0xc0}, {0x8, 0x3}, {0xc0, 0x12})\n\t/go/src/net/ipsock.go:288 +0x6ac\n\
net/http.(*Transport).dialConn(0xc0, {0x9, 0xc0}, {{}, 0x0, {0xc0, 0x5}, {0xc0, 0x12}, 0x0})\n\t/go/src/net/http/transport.go:1776 +0x7d1\n";

    const LOCK: &str = "goroutine 7 [syscall, 3 minutes]:\n\
syscall.Syscall(0x49, 0x3, 0x2, 0x0)\n\t/go/src/syscall/syscall_linux.go:73 +0x25\n\
syscall.Flock(0x4d5aa8?, 0xc000044028?)\n\t/go/src/syscall/zsyscall_linux_amd64.go:453 +0x25\n\
cmd/go/internal/lockedfile/internal/filelock.lock({0x9f, 0xc0}, 0x2)\n\t/go/src/cmd/go/internal/lockedfile/internal/filelock/filelock_unix.go:23\n\
cmd/go/internal/lockedfile.(*File).Lock(...)\n\t/go/src/cmd/go/internal/lockedfile/lockedfile.go:20\n";

    const CHILD: &str = "goroutine 1 [chan receive, 3 minutes]:\n\
os/exec.(*Cmd).awaitGoroutines(0xc0, 0x0)\n\t/go/src/os/exec/exec.go:957 +0x3e5\n\
os/exec.(*Cmd).Wait(0xc0)\n\t/go/src/os/exec/exec.go:924 +0x22e\n\
main.main()\n\t/src/main.go:14 +0x1\n";

    const TEST: &str = "goroutine 1 [chan receive, 3 minutes]:\n\
testing.(*T).Run(0xc0, {0x5, 0x7}, 0x5)\n\t/go/src/testing/testing.go:1751 +0x3ab\n\
main.main()\n\t_testmain.go:45 +0x9b\n\n\
goroutine 6 [chan receive, 3 minutes]:\n\
runtime.chanrecv1(0xc0, 0x0)\n\t/go/src/runtime/chan.go:489 +0x12\n\
example.com/m.TestHang.func1(...)\n\t/src/m_test.go:8\n\
example.com/m.TestHang(0xc0)\n\t/src/m_test.go:9 +0x2a\n\
testing.tRunner(0xc0, 0x5)\n\t/go/src/testing/testing.go:1690 +0xf4\n";

    #[test]
    fn a_name_lookup_makes_an_idle_go_a_network_wait() {
        let c = classify(&sleeper_with(&format!("{MAIN}{DNS}")));
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::NetworkWait, "{:#?}", c.reasons);
        assert_eq!(v.pid, Some(22143));
        assert!(v.summary.contains("name resolution"), "{}", v.summary);
        assert!(
            v.evidence.iter().any(|e| e.starts_with(
                "Go runtime of pid 22143 (read from memory): goroutine 9 [select, 3 minutes]"
            ) && e.ends_with("(in net.(*Resolver).lookupIPAddr)")),
            "{:#?}",
            v.evidence
        );
        assert!(
            c.verdicts.iter().all(|v| v.kind != VerdictKind::Idle),
            "the idle verdict is replaced: {:#?}",
            c.verdicts
        );
    }

    #[test]
    fn a_cmd_go_file_lock_makes_an_idle_go_a_lock_wait() {
        // Lock outranks the name lookup of another goroutine.
        let c = classify(&sleeper_with(&format!("{MAIN}{DNS}\n{LOCK}")));
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::LockWait, "{:#?}", c.reasons);
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("(in cmd/go/internal/lockedfile")),
            "{:#?}",
            v.evidence
        );
        assert!(v.remedy.as_deref().unwrap().contains("/proc/locks"));
    }

    #[test]
    fn cmd_wait_makes_an_idle_go_a_child_wait() {
        let c = classify(&sleeper_with(CHILD));
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::ChildWait, "{:#?}", c.reasons);
        assert!(v.summary.contains("os/exec.(*Cmd).Wait"), "{}", v.summary);
    }

    #[test]
    fn a_test_parked_on_a_channel_is_named() {
        let c = classify(&sleeper_with(TEST));
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::Idle, "{:#?}", c.reasons);
        assert!(
            v.summary
                .starts_with("TestHang of pid 22143 is blocked (chan receive)"),
            "{}",
            v.summary
        );
        assert!(
            v.evidence[0].contains("goroutine 6 [chan receive, 3 minutes]")
                && v.evidence[0].ends_with("(in example.com/m.TestHang.func1)"),
            "{:#?}",
            v.evidence
        );
    }

    #[test]
    fn frames_without_a_known_wait_leave_idle_alone() {
        let plain = classify(&sleeper_with(MAIN));
        assert_eq!(plain.verdicts[0].kind, VerdictKind::Idle);
        assert!(!plain.verdicts[0].summary.contains("Test"));
        // `Testing…` is not a test function (go help testfunc).
        let not_a_test = TEST.replace("TestHang", "Testinghang");
        let c = classify(&sleeper_with(&not_a_test));
        assert_eq!(c.verdicts[0].summary, plain.verdicts[0].summary);
    }

    #[test]
    fn frames_of_another_process_or_a_decided_verdict_change_nothing() {
        // The dump is of another process than the idle one.
        let mut ev = sleeper_with(DNS);
        ev.goroutines.as_mut().unwrap().pid = 1;
        assert_eq!(classify(&ev).verdicts[0].kind, VerdictKind::Idle);
        // Another rule decided (a go on a dead FUSE mount): its verdict stands.
        let mut ev: Evidence = serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_go_on_dead_fuse_mount/evidence.json"
        ))
        .unwrap();
        let before = classify(&ev);
        assert_eq!(before.verdicts[0].kind, VerdictKind::IoWait);
        ev.goroutines = Some(memory_dump(before.verdicts[0].pid.unwrap(), DNS));
        assert_eq!(classify(&ev).verdicts[0].kind, VerdictKind::IoWait);
    }
}
