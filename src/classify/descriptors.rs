//! Waits on one descriptor: a write nobody drains (`output-blocked`), a read of a pipe
//! whose writer does not write, an open of a FIFO nobody opens from the other side — and,
//! for what no kind fits, the call and the descriptor, so that `idle` is never concluded
//! while a wait can be named.
//!
//! Signals read (the observers' `descriptor_waits`, Linux `/proc/PID/task/TID/syscall`
//! with the descriptor's link and fdinfo):
//! - a thread in write(2) and friends on the same descriptor in every sample, and the
//!   process's written bytes (`wchar`) not growing: it is stuck, not slow. `pipe(7)`: a
//!   write to a full pipe blocks until a reader makes room; a pipe holds 64 KiB by default.
//!   A reader that drains slowly lets the writer's bytes grow: progress, not a verdict.
//! - the processes holding the other end of the pipe, found by its inode across all
//!   processes, with their state and what they sleep in. A reader that is itself blocked
//!   writing (go relaying a test binary's output, `go test -v`,
//!   `cmd/go/internal/test/test.go` copies it to its own stdout) passes the question on:
//!   the chain is followed to the reader at its end.
//! - a read of a pipe or FIFO whose writers do not write, and an open of a FIFO (`fifo(7)`:
//!   an open blocks until the other end is opened too): the process waits for another
//!   one (or for one that does not exist yet): `child-wait`, naming it.

use super::{Findings, remedy, secs, tree::ProcView, tree::Tree};
use crate::evidence::{DescriptorOp, DescriptorWait, FileType, PeerProcess, RunState, guard};
use crate::verdict::{Confidence, Verdict, VerdictKind};
use std::collections::HashMap;

/// The page a pipe buffer's slots hold (4 KiB on the architectures gohang runs on).
const PIPE_PAGE: u64 = 4096;

/// A write that stayed blocked over the window.
struct StuckWrite<'a> {
    proc_: &'a ProcView<'a>,
    wait: &'a DescriptorWait,
    /// Samples it was seen blocked in, of all samples of the process.
    seen: usize,
    /// Bytes written by the process over the window (None: not readable).
    written: Option<u64>,
}

impl StuckWrite<'_> {
    fn readers(&self) -> &[PeerProcess] {
        self.wait
            .peers
            .as_ref()
            .and_then(|p| p.value())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Is this process one the wait rules look at (alive, not stopped or traced)?
fn active(p: &ProcView) -> bool {
    !matches!(
        p.last.state,
        RunState::Zombie | RunState::Dead | RunState::Stopped | RunState::TracingStop
    )
}

/// The wait `w` of the newest sample in every sample of `p` (same thread, call direction,
/// descriptor and object): how many samples show it.
fn persistence(p: &ProcView, w: &DescriptorWait) -> usize {
    p.history
        .iter()
        .filter(|(_, s)| {
            s.descriptor_waits
                .iter()
                .any(|o| o.tid == w.tid && o.op == w.op && o.fd == w.fd && o.target == w.target)
        })
        .count()
}

/// Bytes the process wrote over the window (`wchar` growth), when known at both ends.
fn written(p: &ProcView) -> Option<u64> {
    let first = p.history.first()?.1.io?;
    let last = p.last.io?;
    Some(last.wchar.saturating_sub(first.wchar))
}

pub(super) fn rules(tree: &Tree, f: &mut Findings) {
    let mut stuck: Vec<StuckWrite> = Vec::new();
    for p in tree.procs.iter().filter(|p| active(p)) {
        for w in p
            .last
            .descriptor_waits
            .iter()
            .filter(|w| w.op == DescriptorOp::Write)
        {
            let seen = persistence(p, w);
            let written = written(p);
            if seen < p.samples() {
                f.note(format!(
                    "{}: in {} on {} in {seen}/{} samples only: it makes progress",
                    p.label(),
                    w.call,
                    w.descriptor(),
                    p.samples()
                ));
                continue;
            }
            if let Some(n) = written.filter(|n| *n > 0) {
                f.note(format!(
                    "{}: blocked in {} on {} → {} at each sample, but it wrote {n} bytes over {}: a slow reader, progressing, not stuck",
                    p.label(),
                    w.call,
                    w.descriptor(),
                    w.target,
                    secs(p.span_ms())
                ));
                continue;
            }
            stuck.push(StuckWrite {
                proc_: p,
                wait: w,
                seen,
                written,
            });
        }
    }
    output_blocked(tree, &stuck, f);
    for p in tree.procs.iter().filter(|p| active(p)) {
        device_open(tree, p, f);
        input_wait(tree, p, f);
        fifo_open_by_wchan(tree, p, f);
    }
}

/// Kernel functions a thread sleeps in while its open(2) of a FIFO waits for the other end
/// (`fs/pipe.c`: `fifo_open` calls `wait_for_partner`; which one `wchan` shows depends on
/// inlining).
const FIFO_OPEN_WCHANS: &[&str] = &["wait_for_partner", "fifo_open"];

/// A FIFO open seen only in the wait channel: the thread's system call was not readable
/// (no descriptor wait), but it sleeps in the kernel's FIFO open at every sample. The path
/// comes from a trace's unfinished `open`/`openat` when one was taken; else it is unknown.
fn fifo_open_by_wchan(tree: &Tree, p: &ProcView, f: &mut Findings) {
    if !super::waits::asleep(p)
        || p.last
            .descriptor_waits
            .iter()
            .any(|w| w.op == DescriptorOp::Open)
        || f.candidates.iter().any(|c| c.verdict.pid == Some(p.pid()))
    {
        return;
    }
    fn in_open(s: &crate::evidence::ProcessSnapshot) -> Option<&crate::evidence::ThreadSample> {
        s.threads.iter().find(|t| {
            t.wchan
                .as_deref()
                .is_some_and(|w| FIFO_OPEN_WCHANS.contains(&w))
        })
    }
    let Some(t) = in_open(p.last) else {
        return;
    };
    if p.history.iter().any(|(_, s)| in_open(s).is_none()) {
        return;
    }
    let wchan = t.wchan.clone().unwrap_or_default();
    // strace prints `openat(AT_FDCWD, "./feed", O_RDONLY <unfinished ...>`: the path is
    // the first quoted argument.
    let traced = tree.ev.trace.as_ref().and_then(|tr| {
        tr.sitting()
            .find(|(th, c)| {
                th.tid == t.tid && matches!(c.name.as_str(), "open" | "openat" | "openat2")
            })
            .and_then(|(_, c)| {
                let rest = c.args.split_once('"')?.1;
                Some((rest.split_once('"')?.0.to_string(), tr.tool.clone()))
            })
    });
    let path = traced.as_ref().map(|(path, _)| path.clone());
    let named = path.as_deref().map(|x| format!(" {x}")).unwrap_or_default();
    let mut v = Verdict::new(
        VerdictKind::ChildWait,
        if path.is_some() && p.samples() >= 2 {
            Confidence::High
        } else {
            Confidence::Medium
        },
        Some(p.pid()),
        format!(
            "{} is blocked opening the FIFO{named}: no process has its other end open, and open(2) waits until one does",
            p.label()
        ),
    )
    .fact(format!(
        "thread {} sleeps in the kernel's FIFO open ({wchan}) in {}/{} samples over {}",
        t.tid,
        p.samples(),
        p.samples(),
        secs(p.span_ms())
    ));
    v = match &traced {
        Some((path, tool)) => v.fact(format!(
            "{tool}: thread {} sits in an open of {path} that has not returned",
            t.tid
        )),
        None => v.fact(
            "which FIFO is not known: its system call was not readable (/proc/PID/syscall needs ptrace access) and no trace was taken (--trace names it)"
                .to_string(),
        ),
    };
    let which = path.unwrap_or_else(|| format!("the FIFO (ls -l /proc/{}/cwd)", p.pid()));
    let fix = fifo_open_fix(&which, "");
    f.explain(p.pid());
    f.add_with_chain(
        remedy_for_leaf(tree, p, v, fix),
        p.depth,
        format!("{}: asleep in {wchan} all window", p.label()),
        tree.chain_to(p.pid()),
    );
}

/// The path an open names, with the directory it resolves in when it is relative: `./feed
/// (/src/gen/feed)`.
fn opened_path(p: &ProcView, w: &DescriptorWait) -> String {
    match p.last.cwd.as_deref() {
        Some(dir) if !w.target.starts_with('/') => format!(
            "{} ({}/{})",
            w.target,
            dir.trim_end_matches('/'),
            w.target.trim_start_matches("./")
        ),
        _ => w.target.clone(),
    }
}

/// A thread blocked in open(2) of a device node at every sample: the driver holds the open
/// until the device is ready — a serial line waits for carrier detect unless it is opened
/// with O_NONBLOCK or set to CLOCAL (termios(3), `tty_port_block_til_ready` in Linux), other
/// drivers for their hardware or the daemon behind them. Nothing in the tree will end it.
fn device_open(tree: &Tree, p: &ProcView, f: &mut Findings) {
    if !super::waits::asleep(p) {
        return;
    }
    let Some(w) = p.last.descriptor_waits.iter().find(|w| {
        w.op == DescriptorOp::Open
            && matches!(
                w.file_type,
                FileType::CharDevice | FileType::BlockDevice | FileType::Terminal
            )
            && persistence(p, w) == p.samples()
    }) else {
        return;
    };
    let tty = w.target.starts_with("/dev/tty") || w.file_type == FileType::Terminal;
    let what = if tty {
        "a terminal or serial line: its driver holds the open until the line is ready (a serial port waits for carrier detect unless opened with O_NONBLOCK or set to CLOCAL)"
    } else {
        "its driver holds the open until the device (or the program behind it) is ready"
    };
    let v = Verdict::new(
        VerdictKind::IoWait,
        if p.samples() >= 2 {
            Confidence::High
        } else {
            Confidence::Medium
        },
        Some(p.pid()),
        format!(
            "{} is blocked opening the device {}: {what}",
            p.label(),
            opened_path(p, w)
        ),
    )
    .fact(blocked_all_window(p, w));
    let mut fix = format!(
        "connect or power the device behind {0} (or start what serves it); if the program should not open {0}, change what names it (its arguments, configuration or directive)",
        w.target
    );
    if tty {
        fix.push_str(&format!(
            "; a program that must not wait for carrier opens it with O_NONBLOCK, or set the line local first: stty -F {} clocal",
            w.target
        ));
    }
    f.explain(p.pid());
    f.add_with_chain(
        remedy_for_leaf(tree, p, v, fix),
        p.depth,
        format!("{}: {} of {} all window", p.label(), w.call, w.target),
        tree.chain_to(p.pid()),
    );
}

/// One `output-blocked` verdict per chain of blocked writers, for the writer at its end
/// (the one whose readers are not themselves blocked writers of this tree).
fn output_blocked(tree: &Tree, stuck: &[StuckWrite], f: &mut Findings) {
    let by_pid: HashMap<u32, usize> = stuck
        .iter()
        .enumerate()
        .map(|(i, s)| (s.proc_.pid(), i))
        .collect();
    // The stuck writer downstream of each: a reader of its pipe that is itself stuck.
    let next = |s: &StuckWrite| -> Option<usize> {
        s.readers()
            .iter()
            .filter(|r| r.pid != s.proc_.pid())
            .find_map(|r| by_pid.get(&r.pid).copied())
    };
    // Everything upstream of `i`, nearest first.
    let upstream_of = |i: usize| -> Vec<usize> {
        let mut upstream: Vec<usize> = Vec::new();
        let mut frontier = vec![i];
        while let Some(j) = frontier.pop() {
            for (k, s) in stuck.iter().enumerate() {
                if k != i && !upstream.contains(&k) && next(s) == Some(j) {
                    upstream.push(k);
                    frontier.push(k);
                }
            }
            if upstream.len() > 64 {
                break;
            }
        }
        upstream
    };
    let mut covered: Vec<usize> = Vec::new();
    for (i, end) in stuck.iter().enumerate() {
        if next(end).is_some() {
            continue;
        }
        let upstream = upstream_of(i);
        covered.push(i);
        covered.extend(&upstream);
        let up: Vec<&StuckWrite> = upstream.iter().map(|k| &stuck[*k]).collect();
        verdict_for(tree, end, &up, false, f);
    }
    // Writers left are in a cycle: each blocked on a pipe the next one should read, the
    // last on one the first should read. One verdict, for the first of them.
    for i in 0..stuck.len() {
        if covered.contains(&i) {
            continue;
        }
        let upstream = upstream_of(i);
        covered.push(i);
        covered.extend(&upstream);
        let up: Vec<&StuckWrite> = upstream.iter().map(|k| &stuck[*k]).collect();
        verdict_for(tree, &stuck[i], &up, true, f);
    }
}

fn verdict_for(
    tree: &Tree,
    s: &StuckWrite,
    upstream: &[&StuckWrite],
    cycle: bool,
    f: &mut Findings,
) {
    let p = s.proc_;
    let w = s.wait;
    let readers = s.readers();
    let searched = w.peers.as_ref().and_then(|x| x.value()).is_some();
    let (what, end) = match w.file_type {
        FileType::Pipe | FileType::Fifo if !readers.is_empty() => {
            let names: Vec<String> = readers.iter().map(|r| reader_name(p, r)).collect();
            let how = if readers.len() == 1 {
                format!(
                    "the read end is held by {}, which does not read it ({})",
                    names[0],
                    reader_state(&readers[0])
                )
            } else {
                format!(
                    "the read end is held by {}, none of which reads it",
                    names.join(", ")
                )
            };
            (
                format!("{} that nobody drains: {how}", w.file_type.describe()),
                remedy::OutputEnd::Readers(
                    readers
                        .iter()
                        .map(|r| {
                            (
                                r.pid,
                                r.command.as_deref().unwrap_or(&r.comm),
                                r.pid > 1 && r.start_time > 0,
                            )
                        })
                        .collect(),
                ),
            )
        }
        FileType::Pipe | FileType::Fifo => (
            format!(
                "{} whose read end no process {}holds",
                w.file_type.describe(),
                if !searched || w.peers_partial {
                    "that gohang could search "
                } else {
                    ""
                }
            ),
            remedy::OutputEnd::NoReader(&w.target),
        ),
        FileType::Socket => {
            let sock = p.last.sockets.iter().find(|x| Some(x.fd) == w.fd);
            let peer = sock.and_then(|x| x.remote.as_deref());
            (
                match sock {
                    Some(x) => format!(
                        "a {} {} socket whose peer{} does not take the data",
                        x.family,
                        x.proto,
                        peer.map(|r| format!(" {r}")).unwrap_or_default()
                    ),
                    None => "a socket whose peer does not take the data".to_string(),
                },
                remedy::OutputEnd::Socket(peer),
            )
        }
        FileType::Terminal => (
            format!("the terminal {}, which takes no output", w.target),
            remedy::OutputEnd::Terminal(&w.target),
        ),
        other => (
            format!("{} ({}), which takes no data", w.target, other.describe()),
            remedy::OutputEnd::Other(&w.target, other.describe()),
        ),
    };
    // A pipe is a ring of pages (`pipe(7)`, `fs/pipe.c`): with less than a page free
    // every slot is taken and a write of more than the rest waits.
    let full = w.buffer.is_some_and(|b| b.queued + PIPE_PAGE > b.capacity);
    let confidence = if s.seen >= 2 && p.span_ms() >= 200 && s.written == Some(0) {
        // A pipe's bytes alone do not say it is full (writes fill pages in chunks), but
        // named readers and no byte written over the window do.
        if full || !readers.is_empty() || !matches!(w.file_type, FileType::Pipe | FileType::Fifo) {
            Confidence::High
        } else {
            Confidence::Medium
        }
    } else if s.seen >= 2 {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    let mut v = Verdict::new(
        VerdictKind::OutputBlocked,
        confidence,
        Some(p.pid()),
        format!(
            "{} is blocked writing its {} to {what}",
            p.label(),
            w.descriptor()
        ),
    )
    .fact(format!(
        "{} is blocked in {} on {} → {} in {}/{} samples over {}",
        thread(w),
        w.call,
        w.descriptor(),
        w.target,
        s.seen,
        p.samples(),
        secs(p.span_ms())
    ))
    .fact(match s.written {
        Some(n) => format!("it wrote {n} bytes over the window (/proc/PID/io wchar): no progress"),
        None => "bytes written over the window: unknown (its I/O counters could not be read)"
            .to_string(),
    });
    if let Some(b) = w.buffer {
        v = v.fact(format!(
            "the pipe holds {} of {} bytes{}",
            b.queued,
            b.capacity,
            if full { ": full" } else { "" }
        ));
    }
    for r in readers {
        v = v.fact(format!(
            "read end: {} as fd {}, {}{}",
            reader_name(p, r),
            r.fds
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            reader_state(r),
            tree.get(r.pid)
                .map(|_| ", part of the observed tree")
                .unwrap_or_default()
        ));
    }
    if w.peers_partial {
        v = v.fact(
            "the search for the read end's holders was incomplete (other users' processes need root, or it hit its bound)"
                .to_string(),
        );
    }
    for u in upstream {
        let reader = tree
            .get(
                u.readers()
                    .iter()
                    .find(|r| r.pid != u.proc_.pid())
                    .map(|r| r.pid)
                    .unwrap_or(0),
            )
            .map(|q| q.label())
            .unwrap_or_else(|| "a blocked writer".to_string());
        v = v.fact(format!(
            "upstream: {} is blocked in {} on its {} → {}, which {reader} reads; it does not read while its own write is blocked",
            u.proc_.label(),
            u.wait.call,
            u.wait.descriptor(),
            u.wait.target,
        ));
        f.explain(u.proc_.pid());
    }
    if cycle {
        v = v.fact(
            "the blocked writers form a cycle: each waits for a process that is itself blocked writing, so none will read again (a deadlock)"
                .to_string(),
        );
    }
    // The command to run differently: the go command above the writer, else the writer.
    let command = tree
        .chain_to(p.pid())
        .iter()
        .rev()
        .filter_map(|pid| tree.get(*pid))
        .find(|q| crate::evidence::is_go_command(q.last))
        .map(|q| q.last.command_line())
        .unwrap_or_else(|| p.last.command_line());
    let v = v.remedy(remedy::output_blocked(&end, &command));
    // The chain: from the probed process down to the first blocked writer, then each
    // writer downstream, then the reader at the end.
    let mut flow: Vec<u32> = upstream.iter().rev().map(|u| u.proc_.pid()).collect();
    flow.push(p.pid());
    if let Some(r) = readers.iter().find(|r| r.pid != p.pid())
        && !flow.contains(&r.pid)
    {
        flow.push(r.pid);
    }
    let mut chain: Vec<u32> = tree
        .chain_to(flow[0])
        .into_iter()
        .filter(|pid| !flow.contains(pid))
        .collect();
    chain.extend(flow);
    f.add_with_chain(
        v,
        p.depth,
        format!(
            "{}: {} on {} blocked in {}/{} samples, nothing written",
            p.label(),
            w.call,
            w.target,
            s.seen,
            p.samples()
        ),
        chain,
    );
}

/// `v` with `fix` as its remedy and, when the blocked process is a leaf with a role (a
/// generator, a test binary, a tool), what it is to go and where the directive or setting
/// that started it is, with the advice that fits it.
fn remedy_for_leaf(tree: &Tree, p: &ProcView, mut v: Verdict, mut fix: String) -> Verdict {
    if let Some((fact, advice)) = super::activity::leaf_role(tree, p) {
        v = v.fact(fact);
        fix = format!("{fix}; {advice}");
    }
    v.remedy(fix)
}

/// The fix for an open of a FIFO nobody opens from the other side; `also` is said before
/// why (how to end the opener, when it may be named).
fn fifo_open_fix(which: &str, also: &str) -> String {
    format!(
        "start the program that should open {which} from the other side{also}; a FIFO needs both ends open before either open returns"
    )
}

/// "thread 7 is blocked in openat of /src/feed (FIFO) in 9/9 samples over 2.0 s".
fn blocked_all_window(p: &ProcView, w: &DescriptorWait) -> String {
    format!(
        "{} is blocked in {} of {} ({}) in {}/{} samples over {}",
        thread(w),
        w.call,
        w.target,
        w.file_type.describe(),
        p.samples(),
        p.samples(),
        secs(p.span_ms())
    )
}

/// "thread 123", or "a thread" where the observer names none (macOS sees a waiting
/// writer in the pipe's state, not in a thread).
fn thread(w: &DescriptorWait) -> String {
    if w.tid == 0 {
        "a thread (the pipe's state says a writer waits; which one is not known)".to_string()
    } else {
        format!("thread {}", w.tid)
    }
}

/// "pid 4300 (sleep)", or "pid 42 (go) itself" when the writer holds the read end too.
fn reader_name(writer: &ProcView, r: &PeerProcess) -> String {
    if r.pid == writer.pid() {
        format!("pid {} ({}) itself", r.pid, r.comm)
    } else {
        format!("pid {} ({})", r.pid, r.comm)
    }
}

/// "state S, asleep in clock_nanosleep", "`cmd`, state S, …".
fn reader_state(r: &PeerProcess) -> String {
    let cmd = r
        .command
        .as_deref()
        .map(|c| format!("`{c}`, "))
        .unwrap_or_default();
    let sleeps = if r.waits_in.is_empty() {
        String::new()
    } else {
        format!(", in {}", r.waits_in.join(", "))
    };
    format!("{cmd}state {}{sleeps}", r.state.letter())
}

/// A process asleep reading a pipe or FIFO whose writers do not write, or opening a FIFO
/// nobody opens from the other side: it waits for another process (or for one that does
/// not exist yet). Where a parent reads its own child's output, the wait graph already
/// follows it (`child-wait`); this names the writer that is not a child.
fn input_wait(tree: &Tree, p: &ProcView, f: &mut Findings) {
    if !super::waits::asleep(p) {
        return;
    }
    let children: Vec<u32> = tree.children_of(p.pid()).iter().map(|c| c.pid()).collect();
    for w in &p.last.descriptor_waits {
        let is_pipe = matches!(w.file_type, FileType::Pipe | FileType::Fifo);
        let peers: &[PeerProcess] = w
            .peers
            .as_ref()
            .and_then(|x| x.value())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        // A unix socket is named by the process holding its peer (sock_diag); without one
        // it is left to the network and idle rules.
        let is_socket = w.file_type == FileType::Socket && !peers.is_empty();
        let named = match w.op {
            DescriptorOp::Read => is_pipe || is_socket,
            DescriptorOp::Open => w.file_type == FileType::Fifo,
            _ => false,
        };
        if !named || persistence(p, w) < p.samples() {
            continue;
        }
        let other_end = if is_socket { "other end" } else { "write end" };
        // A child it reads from: the wait graph's edge already explains it.
        if peers.iter().any(|x| children.contains(&x.pid)) {
            continue;
        }
        let writer = peers.iter().find(|x| x.pid != p.pid());
        let mut v;
        let mut chain = tree.chain_to(p.pid());
        if w.op == DescriptorOp::Open {
            v = Verdict::new(
                VerdictKind::ChildWait,
                if p.samples() >= 2 { Confidence::High } else { Confidence::Medium },
                Some(p.pid()),
                format!(
                    "{} is blocked opening the FIFO {}{}: no process has its other end open{}, and open(2) waits until one does",
                    p.label(),
                    opened_path(p, w),
                    match w.for_writing {
                        Some(true) => " for writing",
                        Some(false) => " for reading",
                        None => "",
                    },
                    match w.for_writing {
                        Some(true) => " for reading",
                        Some(false) => " for writing",
                        None => "",
                    }
                ),
            )
            .fact(blocked_all_window(p, w));
            for x in peers {
                v = v.fact(format!(
                    "also holding it: pid {} ({}) as fd {:?}, {}",
                    x.pid,
                    x.comm,
                    x.fds,
                    reader_state(x)
                ));
            }
            let end_it = if p.pid() > 1 {
                format!(
                    ", or end pid {} if nothing will (kill {})",
                    p.pid(),
                    p.pid()
                )
            } else {
                String::new()
            };
            let fix = fifo_open_fix(&w.target, &end_it);
            v = remedy_for_leaf(tree, p, v, fix);
        } else if let Some(x) = writer
            && let grew = super::progress::of(p)
            && let Some(pv) = super::progress::verdict(
                tree,
                p,
                &grew,
                &format!(
                    "{} reads slowly from pid {} ({}) through {}",
                    p.label(),
                    x.pid,
                    x.comm,
                    w.file_type.describe()
                ),
            )
        {
            // Blocked in read at every sample, yet reading: the writer writes, slowly, and
            // the reader is back in read(2) before each sample. Progress, not a stall.
            let rate = grew[0].rate_text();
            v = pv
                .fact(format!(
                    "{} was in {} on {} → {} at each of {} samples: data arrives between samples",
                    thread(w),
                    w.call,
                    w.descriptor(),
                    w.target,
                    p.samples()
                ))
                .remedy(format!(
                    "nothing is stuck: pid {} ({}) feeds pid {} at {rate}; if that is too slow, look at what the writer waits for between writes (gohang attach {})",
                    x.pid,
                    x.comm,
                    p.pid(),
                    x.pid
                ));
            if !chain.contains(&x.pid) {
                chain.push(x.pid);
            }
            f.explain(p.pid());
        } else if let Some(x) = writer {
            let unix = w.unix.as_ref();
            let from = match unix.and_then(|u| u.path.as_deref()) {
                Some(path) => format!("the unix socket {path}"),
                None if unix.is_some() => "a unix socket".to_string(),
                None => w.file_type.describe().to_string(),
            };
            let summary = if unix.is_some_and(|u| !u.accepted) {
                format!(
                    "{} waits for an answer on its {} from {from}, whose server pid {} ({}) has not even accepted the connection ({})",
                    p.label(),
                    w.descriptor(),
                    x.pid,
                    x.comm,
                    reader_state(x)
                )
            } else {
                format!(
                    "{} waits for input on its {} from {from}: the {other_end} is held by pid {} ({}), which does not write ({})",
                    p.label(),
                    w.descriptor(),
                    x.pid,
                    x.comm,
                    reader_state(x)
                )
            };
            let confidence = if unix.is_some_and(|u| u.guessed) || p.samples() < 2 {
                Confidence::Medium
            } else {
                Confidence::High
            };
            v = Verdict::new(VerdictKind::ChildWait, confidence, Some(x.pid), summary).fact(
                format!(
                    "{} is blocked in {} on {} → {} in {}/{} samples over {}",
                    thread(w),
                    w.call,
                    w.descriptor(),
                    w.target,
                    p.samples(),
                    p.samples(),
                    secs(p.span_ms())
                ),
            );
            if unix.is_some_and(|u| u.guessed) {
                v = v.fact(
                    "the connection is not accepted yet (the kernel gives its other end no inode until accept(2)); its server is taken to be the only listening unix socket with connections waiting",
                );
            }
            for x in peers {
                v = v.fact(format!(
                    "{other_end}: pid {} ({}) as fd {}, {}",
                    x.pid,
                    x.comm,
                    x.fds
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    reader_state(x)
                ));
            }
            let cmd = x.command.as_deref().unwrap_or(&x.comm);
            // A pid gohang may name (guard) whose start time identifies the process seen.
            let nameable = guard::may_name_pid(x.pid) && x.start_time > 0;
            let end_it = if nameable {
                format!("; ending it (kill {}) gives the reader end-of-file", x.pid)
            } else {
                format!(
                    "; end it once you have checked that pid {} still runs `{cmd}`",
                    x.pid
                )
            };
            let resume = if x.state == RunState::Stopped && nameable {
                format!(
                    "pid {} is stopped (by a signal or a job-control stop): resume it with `{}` if it should run; ",
                    x.pid,
                    remedy::resume(x.pid, None)
                )
            } else {
                String::new()
            };
            v = v.remedy(format!(
                "{resume}pid {} (`{cmd}`) holds the {other_end} and does not write: look at what it is waiting for (gohang attach {}){end_it}",
                x.pid, x.pid
            ));
            // A writer above the reader (its parent feeding it) is in the chain already.
            if !chain.contains(&x.pid) {
                chain.push(x.pid);
            }
            f.explain(p.pid());
        } else {
            // A read of a pipe without writers returns end-of-file (pipe(7)): a blocked
            // read means a writer exists that gohang could not see.
            continue;
        }
        let reason = format!(
            "{}: {} on {} with the other end {}",
            p.label(),
            w.call,
            w.target,
            if writer.is_some() {
                "asleep"
            } else {
                "not open"
            }
        );
        f.add_with_chain(v, p.depth, reason, chain);
        return;
    }
}

/// The descriptor calls a process sleeps in that no verdict explained, one line each:
/// `idle` still names them ("thread 12 is blocked in accept4 on fd 3 → socket:[…]").
pub(super) fn unexplained(p: &ProcView) -> Vec<String> {
    p.last
        .descriptor_waits
        .iter()
        .map(|w| {
            let sock = p
                .last
                .sockets
                .iter()
                .find(|s| Some(s.fd) == w.fd)
                .map(|s| {
                    format!(
                        " ({} {} {}{}{})",
                        s.family,
                        s.proto,
                        s.local.as_deref().unwrap_or("?"),
                        s.remote
                            .as_deref()
                            .map(|r| format!(" → {r}"))
                            .unwrap_or_default(),
                        s.state
                            .as_deref()
                            .map(|st| format!(" {st}"))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            let holders = match w.peers.as_ref().and_then(|x| x.value()) {
                Some(v) if !v.is_empty() => format!(
                    "; other end held by {}",
                    v.iter()
                        .map(|x| format!("pid {} ({}, {})", x.pid, x.comm, reader_state(x)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(_) if w.peers_partial => {
                    "; no process gohang could search holds its other end".to_string()
                }
                Some(_) => "; no process holds its other end".to_string(),
                None => String::new(),
            };
            let on = match w.fd {
                Some(_) => format!("on {} → {}", w.descriptor(), w.target),
                None => format!("of {}", w.target),
            };
            format!(
                "{} is blocked in {} {on} ({}){sock}{holders}",
                thread(w),
                w.call,
                w.file_type.describe()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::classify::classify;
    use crate::evidence::{
        DescriptorOp, DescriptorWait, Evidence, Fact, FileType, IoCounters, PeerProcess,
        ProcessSnapshot, RunState,
    };
    use crate::verdict::{Confidence, VerdictKind};

    /// go test -v whose test binary blocks writing to go, and go to a FIFO a sleep holds
    /// (recorded).
    fn chain_fixture() -> Evidence {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_go_test_output_blocked/evidence.json"
        ))
        .unwrap()
    }

    fn procs_mut(ev: &mut Evidence, pid: u32) -> impl Iterator<Item = &mut ProcessSnapshot> {
        ev.samples
            .iter_mut()
            .flat_map(|s| s.processes.iter_mut())
            .filter(move |p| p.pid == pid)
    }

    #[test]
    fn the_chain_ends_at_the_reader_and_the_test_binary_gets_no_verdict() {
        let c = classify(&chain_fixture());
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::OutputBlocked, "{:#?}", c.reasons);
        assert_eq!(v.pid, Some(11304));
        assert_eq!(c.chain, vec![11349, 11304, 11303]);
        assert!(c.verdicts.iter().all(|v| v.pid != Some(11349)), "{c:#?}");
    }

    #[test]
    fn writers_whose_bytes_grow_are_slow_not_stuck() {
        // The same waits, but both writers wrote over the window: a reader that drains.
        let mut ev = chain_fixture();
        for pid in [11304, 11349] {
            for (i, p) in procs_mut(&mut ev, pid).enumerate() {
                let io = p.io.as_mut().unwrap();
                io.wchar += 16384 * i as u64;
            }
        }
        let c = classify(&ev);
        assert!(
            c.verdicts
                .iter()
                .all(|v| v.kind != VerdictKind::OutputBlocked),
            "{c:#?}"
        );
        assert!(
            c.reasons.iter().any(|r| r
                .contains("pid 11304 (go): blocked in write on stdout (fd 1)")
                && r.contains("a slow reader, progressing, not stuck")),
            "{:#?}",
            c.reasons
        );
    }

    #[test]
    fn only_the_downstream_writer_stuck_is_the_end_itself() {
        // go's write makes progress, the test binary's does not: go is the reader that
        // does not read (it is busy elsewhere), and the test binary is the blocked writer.
        let mut ev = chain_fixture();
        for (i, p) in procs_mut(&mut ev, 11304).enumerate() {
            p.io.as_mut().unwrap().wchar += 4096 * i as u64;
        }
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::OutputBlocked);
        assert_eq!(v.pid, Some(11349));
        assert!(
            v.summary
                .contains("held by pid 11304 (go), which does not read it"),
            "{}",
            v.summary
        );
        assert_eq!(c.chain, vec![11349, 11304]);
    }

    #[test]
    fn writers_blocked_on_each_other_are_a_deadlock_not_silence() {
        // As if the test binary held the read end of go's output and never read it.
        let mut ev = chain_fixture();
        let tb = ev.samples[0]
            .processes
            .iter()
            .find(|p| p.pid == 11349)
            .unwrap()
            .clone();
        for p in procs_mut(&mut ev, 11304) {
            p.descriptor_waits[0].peers = Some(Fact::Collected(vec![PeerProcess {
                pid: 11349,
                start_time: tb.start_time,
                comm: tb.comm.clone(),
                command: None,
                fds: vec![5],
                state: RunState::Sleeping,
                waits_in: vec!["write on fd 1 (pipe:[119833])".into()],
                io: None,
            }]));
        }
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::OutputBlocked, "{:#?}", c.reasons);
        assert!(
            v.evidence.iter().any(|e| e.contains("form a cycle")),
            "{:#?}",
            v.evidence
        );
        assert_eq!(c.chain.len(), 2, "{:?}", c.chain);
    }

    #[test]
    fn a_write_seen_in_some_samples_only_is_progress() {
        let mut ev = chain_fixture();
        for p in procs_mut(&mut ev, 11304).take(1) {
            p.descriptor_waits.clear();
        }
        let c = classify(&ev);
        assert!(
            c.reasons.iter().any(
                |r| r.contains("pid 11304 (go): in write on stdout (fd 1) in 4/5 samples only")
            ),
            "{:#?}",
            c.reasons
        );
    }

    #[test]
    fn no_reader_found_says_the_search_was_incomplete() {
        let mut ev = chain_fixture();
        for p in procs_mut(&mut ev, 11304) {
            let w = &mut p.descriptor_waits[0];
            w.peers = Some(Fact::Collected(Vec::new()));
            w.peers_partial = true;
        }
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::OutputBlocked);
        assert!(
            v.summary
                .contains("whose read end no process that gohang could search holds"),
            "{}",
            v.summary
        );
        assert!(v.remedy.as_deref().unwrap().contains(
            "no process gohang could search holds the read end of /home/gopher/ci/log.fifo"
        ));
        assert!(v.evidence.iter().any(|e| e.contains("incomplete")));
        assert!(!v.remedy.as_deref().unwrap().contains("kill"));
    }

    /// One process asleep in one call on a descriptor, attached, three samples.
    fn one_asleep(wait: DescriptorWait, sockets: &str) -> Evidence {
        let mut p: ProcessSnapshot = serde_json::from_str(&format!(
            r#"{{"pid":500,"ppid":1,"comm":"srv","state":"sleeping","start_time":9,
                "sockets":{sockets}}}"#
        ))
        .unwrap();
        p.threads = vec![crate::evidence::ThreadSample {
            tid: 500,
            name: "srv".into(),
            state: RunState::Sleeping,
            wchan: None,
            syscall: Fact::Collected(crate::evidence::SyscallState::InSyscall {
                nr: -1,
                name: Some(wait.call.clone()),
                args: [3, 0, 0, 0, 0, 0],
            }),
            utime_ms: 0,
            stime_ms: 0,
            run_delay_ms: None,
        }];
        p.descriptor_waits = vec![wait];
        p.io = Some(IoCounters::default());
        let host = crate::evidence::HostInfo::plain(
            crate::evidence::Os::Linux,
            crate::evidence::Arch::X86_64,
            2,
        );
        let target = crate::evidence::Target {
            mode: crate::evidence::Mode::Attach,
            command: vec!["srv".into()],
            pid: Some(500),
            timeout_ms: None,
        };
        let mut ev = Evidence::new(host, target, crate::evidence::Outcome::Attached);
        ev.samples = (0..3)
            .map(|i| crate::evidence::Sample {
                at_ms: i * 500,
                processes: vec![p.clone()],
            })
            .collect();
        ev
    }

    fn wait(
        call: &str,
        op: DescriptorOp,
        fd: Option<i32>,
        target: &str,
        ft: FileType,
    ) -> DescriptorWait {
        DescriptorWait {
            tid: 500,
            call: call.into(),
            op,
            fd,
            target: target.into(),
            file_type: ft,
            buffer: None,
            peers: None,
            for_writing: None,
            peers_partial: false,
            unix: None,
        }
    }

    #[test]
    fn a_fifo_open_seen_only_in_the_wait_channel_is_still_named() {
        // The recorded go generate case, as an observer without ptrace access sees it: the
        // generator's wchan, but no system call and so no descriptor wait.
        let mut ev: Evidence = serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_go_generate_fifo_open/evidence.json"
        ))
        .unwrap();
        for s in &mut ev.samples {
            for p in s.processes.iter_mut().filter(|p| p.pid == 12221) {
                p.descriptor_waits.clear();
                for t in &mut p.threads {
                    t.syscall = Fact::unavailable("EACCES");
                }
            }
        }
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::ChildWait, "{c:#?}");
        assert_eq!(v.pid, Some(12221));
        assert_eq!(v.confidence, Confidence::Medium);
        assert!(
            v.summary
                == "pid 12221 (cat) is blocked opening the FIFO: no process has its other end open, and open(2) waits until one does",
            "{}",
            v.summary
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("(wait_for_partner) in 5/5 samples"))
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("which FIFO is not known"))
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("directive at /home/dev/src/gen/gen.go:3")),
            "{:#?}",
            v.evidence
        );
        assert_eq!(c.chain, vec![12211, 12221]);

        // With a trace, strace's unfinished openat names the FIFO.
        ev.trace = Some(crate::evidence::TraceSummary {
            tool: "strace".into(),
            shows_unfinished: true,
            threads: vec![crate::evidence::TracedThread {
                tid: 12221,
                pid: Some(12221),
                recent: vec![crate::evidence::TracedCall {
                    name: "openat".into(),
                    args: r#"AT_FDCWD, "./feed", O_RDONLY"#.into(),
                    unfinished: true,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::ChildWait, "{c:#?}");
        assert_eq!(v.confidence, Confidence::High);
        assert!(
            v.summary.contains("opening the FIFO ./feed:"),
            "{}",
            v.summary
        );
        assert!(
            v.evidence.iter().any(
                |e| e == "strace: thread 12221 sits in an open of ./feed that has not returned"
            )
        );
        assert!(
            v.remedy
                .as_deref()
                .unwrap()
                .contains("open ./feed from the other side")
        );
    }

    #[test]
    fn an_open_of_a_device_names_the_device_and_what_it_waits_for() {
        let w = wait(
            "openat",
            DescriptorOp::Open,
            None,
            "/dev/ttyUSB0",
            FileType::CharDevice,
        );
        let c = classify(&one_asleep(w, "[]"));
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::IoWait, "{c:#?}");
        assert_eq!(v.pid, Some(500));
        assert_eq!(v.confidence, Confidence::High);
        assert!(
            v.summary.contains("pid 500 (srv) is blocked opening the device /dev/ttyUSB0: a terminal or serial line")
                && v.summary.contains("carrier detect"),
            "{}",
            v.summary
        );
        assert!(
            v.evidence[0].contains("openat of /dev/ttyUSB0 (a character device) in 3/3 samples")
        );
        let fix = v.remedy.as_deref().unwrap();
        assert!(
            fix.contains("connect or power the device behind /dev/ttyUSB0"),
            "{fix}"
        );
        assert!(fix.contains("stty -F /dev/ttyUSB0 clocal"), "{fix}");
        assert!(c.verdicts.iter().all(|v| v.kind != VerdictKind::Idle));

        // Another device, named relative to the working directory: no serial advice.
        let w = wait(
            "openat",
            DescriptorOp::Open,
            None,
            "./sensor",
            FileType::CharDevice,
        );
        let mut ev = one_asleep(w, "[]");
        for s in &mut ev.samples {
            s.processes[0].cwd = Some("/dev/bus".into());
        }
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::IoWait, "{c:#?}");
        assert!(
            v.summary.contains(
                "opening the device ./sensor (/dev/bus/sensor): its driver holds the open"
            ),
            "{}",
            v.summary
        );
        assert!(!v.remedy.as_deref().unwrap().contains("stty"));
    }

    #[test]
    fn idle_still_names_the_descriptor_it_waits_on() {
        let ev = one_asleep(
            wait(
                "accept4",
                DescriptorOp::Accept,
                Some(3),
                "socket:[777]",
                FileType::Socket,
            ),
            r#"[{"fd":3,"family":"inet","proto":"tcp","local":"127.0.0.1:8080","state":"LISTEN"}]"#,
        );
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::Idle);
        assert!(
            v.evidence.iter().any(|e| e
                == "thread 500 is blocked in accept4 on fd 3 → socket:[777] (a socket) (inet tcp 127.0.0.1:8080 LISTEN)"),
            "{:#?}",
            v.evidence
        );
        assert!(
            v.remedy
                .as_deref()
                .unwrap()
                .contains("first look at what should serve the descriptor it waits on: thread 500 is blocked in accept4")
        );
    }

    #[test]
    fn a_fifo_open_and_a_pipe_read_are_named_not_idle() {
        let ev = one_asleep(
            wait(
                "openat",
                DescriptorOp::Open,
                None,
                "/run/ci/in.fifo",
                FileType::Fifo,
            ),
            "[]",
        );
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::ChildWait, "{c:#?}");
        assert_eq!(v.pid, Some(500));
        assert!(
            v.summary
                .contains("is blocked opening the FIFO /run/ci/in.fifo")
        );
        assert!(c.verdicts.iter().all(|v| v.kind != VerdictKind::Idle));

        let mut w = wait(
            "read",
            DescriptorOp::Read,
            Some(0),
            "pipe:[42]",
            FileType::Pipe,
        );
        w.peers = Some(Fact::Collected(vec![PeerProcess {
            pid: 77,
            start_time: 5,
            comm: "sleep".into(),
            command: Some("sleep 300".into()),
            fds: vec![1],
            state: RunState::Sleeping,
            waits_in: vec!["clock_nanosleep".into()],
            io: None,
        }]));
        let c = classify(&one_asleep(w.clone(), "[]"));
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::ChildWait, "{c:#?}");
        assert_eq!(v.pid, Some(77));
        assert_eq!(v.confidence, Confidence::High);
        assert_eq!(c.chain, vec![500, 77]);
        assert!(
            v.summary.contains(
                "pid 500 (srv) waits for input on its stdin (fd 0) from a pipe: the write end is held by pid 77 (sleep), which does not write"
            ),
            "{}",
            v.summary
        );
        assert!(v.remedy.as_deref().unwrap().contains("kill 77"));
        assert!(c.verdicts.iter().all(|v| v.kind != VerdictKind::Idle));

        // The same read, with bytes arriving between samples: slow, not stuck.
        let mut ev = one_asleep(w, "[]");
        for (i, sample) in ev.samples.iter_mut().enumerate() {
            for p in sample.processes.iter_mut().filter(|p| p.pid == 500) {
                p.io.as_mut().unwrap().rchar = 100 * i as u64;
            }
        }
        let c = classify(&ev);
        let v = &c.verdicts[0];
        assert_eq!(v.kind, VerdictKind::Progressing, "{c:#?}");
        assert_eq!(v.confidence, Confidence::Low);
        assert_eq!(v.pid, Some(500));
        assert!(
            v.summary.contains(
                "reads slowly from pid 77 (sleep) through a pipe: the bytes it reads grew by "
            ) && v.summary.contains("it makes progress, nothing is stuck"),
            "{}",
            v.summary
        );
        assert!(!v.summary.contains("does not write"));
    }
}
