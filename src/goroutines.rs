//! Goroutine dumps: the Go runtime's answer to SIGQUIT (`runtime/traceback.go`), parsed,
//! and the goroutine that explains a stall picked out by its frames.
//!
//! Format (Go ≥ 1.21 on SIGQUIT prints system goroutines with `gp=… m=…` fields too):
//! ```text
//! goroutine 1 gp=0xc0000061c0 m=0 mp=0x556900 [syscall, 2 minutes, locked to thread]:
//! syscall.Flock(0x4d5aa8?, 0xc000044028?)
//!         syscall/zsyscall_linux_amd64.go:453 +0x25 fp=… sp=… pc=…
//! created by main.main in goroutine 1
//! ```

use crate::evidence::{GoFrame, Goroutine, GoroutineDump};

/// Parse every goroutine of a dump; text around it (other output) is ignored.
pub fn parse(text: &str) -> Vec<Goroutine> {
    let mut out: Vec<Goroutine> = Vec::new();
    let mut cur: Option<Goroutine> = None;
    for line in text.lines() {
        if let Some(g) = parse_header(line) {
            out.extend(cur.take());
            cur = Some(g);
            continue;
        }
        let Some(g) = cur.as_mut() else { continue };
        if line.is_empty() {
            out.extend(cur.take());
            continue;
        }
        if let Some(loc) = line.strip_prefix('\t') {
            if let Some(f) = g.frames.last_mut()
                && f.location.is_none()
            {
                let loc = loc
                    .split(" +0x")
                    .next()
                    .unwrap_or(loc)
                    .split(" fp=")
                    .next()
                    .unwrap_or(loc);
                f.location = Some(loc.trim().to_string());
            }
        } else if line.starts_with("created by ") {
            // The creator is not a frame of this goroutine.
        } else if line.contains('(') || line.ends_with("...") {
            let function = match line.rfind('(') {
                Some(i) if line.ends_with(')') || line.ends_with("...)") => &line[..i],
                _ => line,
            };
            g.frames.push(GoFrame {
                function: function.to_string(),
                location: None,
            });
        }
    }
    out.extend(cur);
    out
}

/// `goroutine 7 [chan receive, 5 minutes, locked to thread]:` (with optional gp=/m= fields).
fn parse_header(line: &str) -> Option<Goroutine> {
    let rest = line.strip_prefix("goroutine ")?;
    let id: u64 = rest.split_whitespace().next()?.parse().ok()?;
    let open = rest.find('[')?;
    let close = rest.rfind("]:")?;
    let inner = rest.get(open + 1..close)?;
    let mut parts = inner.split(", ");
    let state = parts.next()?.to_string();
    let mut minutes = None;
    let mut locked = false;
    for p in parts {
        if let Some(m) = p
            .strip_suffix(" minutes")
            .or_else(|| p.strip_suffix(" minute"))
        {
            minutes = m.trim().parse().ok();
        } else if p == "locked to thread" {
            locked = true;
        }
    }
    Some(Goroutine {
        id,
        state,
        minutes,
        locked_to_thread: locked,
        frames: Vec::new(),
    })
}

/// What a goroutine's frames say it waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A file lock (`cmd/go/internal/lockedfile`, flock).
    Lock,
    /// A toolchain switch (`cmd/go/internal/toolchain`).
    Toolchain,
    /// The network: an HTTP request, a dial, a TLS handshake, a socket read.
    Network,
    /// A child process (`os.(*Process).Wait`, `os/exec.(*Cmd).Wait`).
    Child,
    /// A terminal or pipe read.
    Read,
    /// Opening a file (`syscall.openat`): a FIFO without its other end, a device, a file
    /// held by a dead network mount or a file access monitor.
    Open,
}

impl Cause {
    pub fn describe(&self) -> &'static str {
        match self {
            Cause::Lock => "waits for a file lock",
            Cause::Toolchain => "is switching to another Go toolchain",
            Cause::Network => "waits on the network",
            Cause::Child => "waits for a child process",
            Cause::Read => "waits to read input",
            Cause::Open => "waits to open a file",
        }
    }
}

/// Frame patterns, most specific first.
const PATTERNS: &[(&str, Cause)] = &[
    ("cmd/go/internal/lockedfile", Cause::Lock),
    ("syscall.Flock", Cause::Lock),
    ("cmd/go/internal/toolchain.", Cause::Toolchain),
    ("net/http.", Cause::Network),
    ("net.(*netFD)", Cause::Network),
    ("net.(*conn)", Cause::Network),
    ("net.(*sysDialer)", Cause::Network),
    ("net.(*Resolver)", Cause::Network),
    ("crypto/tls.(*Conn)", Cause::Network),
    ("os.(*Process).wait", Cause::Child),
    ("os.(*Process).Wait", Cause::Child),
    ("os/exec.(*Cmd).Wait", Cause::Child),
    ("os.(*Process).blockUntilWaitable", Cause::Child),
    ("os.(*File).Read", Cause::Read),
    ("os/exec.(*Cmd).writerDescriptor", Cause::Read),
];

/// The frames of an open(2) in progress (`os.OpenFile` ends in `syscall.openat`; Go 1.21
/// on Linux calls `syscall.Open`).
const OPENING: &[&str] = &["syscall.openat", "syscall.Open", "os.openFileNolog"];

/// The cause a goroutine's frames show, and the frame that shows it. A goroutine inside an
/// open call waits for the open, whatever the frames above it are for: lockedfile opens a
/// file before it locks it.
pub fn cause_of(g: &Goroutine) -> Option<(Cause, &GoFrame)> {
    for (pat, cause) in PATTERNS {
        if let Some(i) = g.frames.iter().position(|f| f.function.contains(pat)) {
            let f = &g.frames[i];
            if let Some(open) = g.frames[..i]
                .iter()
                .find(|f| OPENING.contains(&f.function.as_str()))
            {
                return Some((Cause::Open, open));
            }
            // A read on a network connection is network, not input.
            if *cause == Cause::Read && g.state == "IO wait" {
                return Some((Cause::Network, f));
            }
            return Some((*cause, f));
        }
    }
    None
}

/// The goroutine that best explains a stall: one whose frames show `preferred` (the cause
/// the other evidence points to), else any cause (blocked longest first, then the lowest
/// id), else the main goroutine.
pub fn blocking<'a>(
    dump: &'a GoroutineDump,
    preferred: &[Cause],
) -> Option<(&'a Goroutine, Option<(Cause, &'a GoFrame)>)> {
    let mut with_cause: Vec<(&Goroutine, (Cause, &GoFrame))> = dump
        .goroutines
        .iter()
        .filter(|g| g.state != "running")
        .filter_map(|g| cause_of(g).map(|c| (g, c)))
        .collect();
    with_cause.sort_by(|a, b| {
        let pa = preferred.contains(&a.1.0);
        let pb = preferred.contains(&b.1.0);
        pb.cmp(&pa)
            .then(b.0.minutes.cmp(&a.0.minutes))
            .then(a.0.id.cmp(&b.0.id))
    });
    if let Some((g, c)) = with_cause.into_iter().next() {
        return Some((g, Some(c)));
    }
    // In a test binary, goroutine 1 only waits in testing.(*T).Run; the test itself is
    // what is stuck.
    let mut tests: Vec<&Goroutine> = dump
        .goroutines
        .iter()
        .filter(|g| g.state != "running" && test_function(g).is_some())
        .collect();
    tests.sort_by(|a, b| b.minutes.cmp(&a.minutes).then(a.id.cmp(&b.id)));
    if let Some(g) = tests.first() {
        return Some((g, None));
    }
    dump.goroutines
        .iter()
        .find(|g| g.id == 1)
        .map(|g| (g, None))
}

/// The test (or benchmark, fuzz target, or a function it calls through a closure) that a
/// goroutine runs under `testing.tRunner`: the frame just above tRunner, when that frame
/// is not the testing package's own machinery.
fn test_function(g: &Goroutine) -> Option<&GoFrame> {
    let runner = g
        .frames
        .iter()
        .position(|f| f.function == "testing.tRunner" || f.function == "testing.(*B).runN")?;
    let above = g.frames.get(runner.checked_sub(1)?)?;
    (!above.function.starts_with("testing.")).then_some(above)
}

/// "goroutine 7 [syscall, 3 minutes]: syscall.Flock ← cmd/go/internal/lockedfile.(*File).Lock".
pub fn describe(g: &Goroutine) -> String {
    let frames: Vec<&str> = g
        .frames
        .iter()
        .filter(|f| {
            !f.function.starts_with("runtime.") && !f.function.starts_with("internal/runtime")
        })
        .take(3)
        .map(|f| f.function.as_str())
        .collect();
    let mut head = format!("goroutine {} [{}", g.id, g.state);
    if let Some(m) = g.minutes {
        head.push_str(&format!(", {m} minute{}", if m == 1 { "" } else { "s" }));
    }
    head.push(']');
    if frames.is_empty() {
        head
    } else {
        format!("{head}: {}", frames.join(" ← "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_under_lockedfile_is_an_open_not_a_lock() {
        let frames = |names: &[&str]| {
            names
                .iter()
                .map(|n| GoFrame {
                    function: n.to_string(),
                    ..Default::default()
                })
                .collect::<Vec<_>>()
        };
        let mut g = Goroutine {
            id: 1,
            state: "syscall".into(),
            minutes: None,
            locked_to_thread: false,
            frames: frames(&[
                "syscall.Syscall6",
                "syscall.openat",
                "syscall.Open",
                "os.openFileNolog",
                "os.OpenFile",
                "cmd/go/internal/lockedfile.openFile",
                "cmd/go/internal/lockedfile.Open",
            ]),
        };
        let (c, f) = cause_of(&g).unwrap();
        assert_eq!((c, f.function.as_str()), (Cause::Open, "syscall.openat"));
        g.frames = frames(&[
            "syscall.Syscall",
            "syscall.Flock",
            "cmd/go/internal/lockedfile/internal/filelock.lock",
            "cmd/go/internal/lockedfile.openFile",
        ]);
        assert_eq!(cause_of(&g).unwrap().0, Cause::Lock);
    }

    const DUMP: &str = "SIGQUIT: quit\nPC=0x46f0ac m=0 sigcode=0\n\n\
goroutine 1 gp=0xc0000061c0 m=0 mp=0x556900 [semacquire, 2 minutes]:\n\
runtime.gopark(0x0?, 0x0?)\n\t/usr/local/go/src/runtime/proc.go:424 +0xce fp=0xc1 sp=0xc2 pc=0x1\n\
sync.(*WaitGroup).Wait(...)\n\t/usr/local/go/src/sync/waitgroup.go:118\n\
cmd/go/internal/work.(*Builder).Do(0xc000, {0x1, 0x2})\n\t/usr/local/go/src/cmd/go/internal/work/exec.go:230 +0x5\n\
main.main()\n\t/usr/local/go/src/cmd/go/main.go:272 +0x28b\n\n\
goroutine 23 [syscall, 3 minutes, locked to thread]:\n\
syscall.Syscall(0x49, 0x3, 0x2, 0x0)\n\t/usr/local/go/src/syscall/syscall_linux.go:73 +0x25\n\
syscall.Flock(0x4d5aa8?, 0xc000044028?)\n\t/usr/local/go/src/syscall/zsyscall_linux_amd64.go:453 +0x25\n\
cmd/go/internal/lockedfile/internal/filelock.lock({0x9f, 0xc0}, 0x2)\n\t/usr/local/go/src/cmd/go/internal/lockedfile/internal/filelock/filelock_unix.go:23\n\
cmd/go/internal/lockedfile.(*File).Lock(...)\n\t/usr/local/go/src/cmd/go/internal/lockedfile/lockedfile.go:20\n\
created by cmd/go/internal/work.(*Builder).Do in goroutine 1\n\t/usr/local/go/src/cmd/go/internal/work/exec.go:221 +0x1\n\n\
goroutine 30 [IO wait]:\n\
internal/poll.runtime_pollWait(0x7f, 0x72)\n\t/usr/local/go/src/runtime/netpoll.go:351 +0x85\n\
internal/poll.(*FD).Read(0xc000, {0xc0, 0x1000, 0x1000})\n\t/usr/local/go/src/internal/poll/fd_unix.go:165 +0x27a\n\
net.(*conn).Read(0xc00)\n\t/usr/local/go/src/net/net.go:189 +0x45\n";

    #[test]
    fn parses_headers_frames_and_locations() {
        let gs = parse(DUMP);
        assert_eq!(gs.len(), 3);
        assert_eq!(gs[0].id, 1);
        assert_eq!(gs[0].state, "semacquire");
        assert_eq!(gs[0].minutes, Some(2));
        assert_eq!(
            gs[0].frames[2].function,
            "cmd/go/internal/work.(*Builder).Do"
        );
        assert_eq!(
            gs[0].frames[2].location.as_deref(),
            Some("/usr/local/go/src/cmd/go/internal/work/exec.go:230")
        );
        assert!(gs[1].locked_to_thread);
        assert_eq!(
            gs[1].frames.len(),
            4,
            "the creator is not a frame: {:?}",
            gs[1].frames
        );
    }

    #[test]
    fn picks_the_goroutine_that_explains_it() {
        let dump = GoroutineDump {
            source: None,
            pid: 1,
            answered: true,
            goroutines: parse(DUMP),
            note: None,
        };
        let (g, cause) = blocking(&dump, &[]).unwrap();
        assert_eq!(g.id, 23, "blocked longest with a cause");
        let (c, frame) = cause.unwrap();
        assert_eq!(c, Cause::Lock);
        assert_eq!(
            frame.function,
            "cmd/go/internal/lockedfile/internal/filelock.lock"
        );
        assert_eq!(
            describe(g),
            "goroutine 23 [syscall, 3 minutes]: syscall.Syscall ← syscall.Flock ← cmd/go/internal/lockedfile/internal/filelock.lock"
        );
        let net = &dump.goroutines[2];
        assert_eq!(cause_of(net).unwrap().0, Cause::Network);
        assert_eq!(
            blocking(&dump, &[Cause::Network]).unwrap().0.id,
            30,
            "the preferred cause wins"
        );
    }

    #[test]
    fn in_a_test_binary_the_stuck_test_explains_it() {
        let text = "goroutine 1 [chan receive]:\n\
testing.(*T).Run(0xc0001, {0x5, 0x9}, 0x1)\n\t/go/src/testing/testing.go:1751 +0x3ab\n\
testing.runTests.func1(0xc0001)\n\t/go/src/testing/testing.go:2168 +0x37\n\
testing.tRunner(0xc0001, 0xc0002)\n\t/go/src/testing/testing.go:1690 +0xf4\n\
main.main()\n\t_testmain.go:45 +0x9b\n\n\
goroutine 6 [sync.Mutex.Lock, 2 minutes]:\n\
internal/sync.runtime_SemacquireMutex(0xc0003, 0x0, 0x1)\n\t/go/src/runtime/sema.go:95 +0x25\n\
sync.(*Mutex).Lock(...)\n\t/go/src/sync/mutex.go:64\n\
example.com/gt.TestStuck(0xc0004)\n\t/src/gt/gt_test.go:11 +0x4c\n\
testing.tRunner(0xc0004, 0x5d1b28)\n\t/go/src/testing/testing.go:1690 +0xf4\n\
created by testing.(*T).Run in goroutine 1\n\t/go/src/testing/testing.go:1743 +0x390\n";
        let dump = GoroutineDump {
            source: None,
            pid: 1,
            answered: true,
            goroutines: parse(text),
            note: None,
        };
        let (g, cause) = blocking(&dump, &[Cause::Child]).unwrap();
        assert_eq!(g.id, 6, "the test, not testing.(*T).Run's wait for it");
        assert!(cause.is_none());
        assert_eq!(
            test_function(g).unwrap().function,
            "example.com/gt.TestStuck"
        );
        assert!(
            describe(g).contains("example.com/gt.TestStuck"),
            "{}",
            describe(g)
        );
        assert!(test_function(&dump.goroutines[0]).is_none());
    }

    #[test]
    fn garbage_and_truncation() {
        assert!(parse("").is_empty());
        assert!(parse("goroutine x [y]:\nnot a dump").is_empty());
        let cut = &DUMP[..DUMP.len() / 2];
        assert!(!parse(cut).is_empty());
        let dump = GoroutineDump {
            source: None,
            pid: 1,
            answered: true,
            goroutines: parse("goroutine 1 [running]:\nmain.main()\n"),
            note: None,
        };
        assert_eq!(blocking(&dump, &[]).unwrap().0.id, 1);
    }
}
