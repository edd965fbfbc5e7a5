//! Waits: what a sleeping process waits for, and the chain of waits from the probed
//! process down to the one really stuck.
//!
//! Signals read:
//! - a thread in `wait4(pid)` / `waitid(P_PID|P_PIDFD|P_ALL, …)` waits for that child; a
//!   pidfd's target comes from `/proc/PID/fdinfo` (Go ≥ 1.23 waits this way, LINUX.md);
//!   a thread reading a pipe another process writes waits for that process;
//! - `flock(2)`/`fcntl(F_SETLKW)` in a thread and `->` waiter lines of `/proc/locks`: a lock,
//!   and its holder (the go command's module cache locks are flock(2) on `….lock` files,
//!   `cmd/go/internal/modfetch/cache.go`, `lockedfile`);
//! - a blocking `read` on a terminal descriptor in the foreground: a prompt;
//! - a TCP socket to a remote peer in SYN_SENT or ESTABLISHED with nothing to read, for
//!   the whole window, in a process that is otherwise asleep: the network. Go never blocks
//!   a thread in connect or read — its netpoller parks the goroutine — so for Go programs
//!   the sockets themselves are the evidence.
//! - go.mod/go.work asking for a newer Go than the running one while GOTOOLCHAIN allows a
//!   switch (`cmd/go/internal/toolchain/select.go`): a toolchain download.

use super::progress::{Grew, Progress};
use super::{Findings, remedy, secs, tree::ProcView, tree::Tree};
use crate::evidence::{
    Endpoint, GoContext, LockInfo, ProcessSnapshot, RemoteContext, RunState, SocketInfo,
};
use crate::gover;
use crate::verdict::{Confidence, Verdict, VerdictKind};
use std::cmp::Ordering;

/// One "waits for" edge: `parent` waits for `child`.
#[derive(Clone, Debug)]
pub(crate) struct WaitEdge {
    pub parent: u32,
    pub child: u32,
    /// How: "waitid on a pidfd", "wait4", "reads its output".
    pub how: String,
    /// Seen in a syscall (true) or only inferred from a sleeping parent (false).
    pub explicit: bool,
    /// The parent waits for any of several children and this one was picked: why, and
    /// whether that is a guess.
    pub choice: Option<Choice>,
}

/// How one child was picked among several a parent may be waiting for.
#[derive(Clone, Debug)]
pub(crate) struct Choice {
    /// "it is in its terminal's foreground process group", "it started last".
    pub why: String,
    /// True when nothing but the order they started in tells them apart.
    pub guess: bool,
    /// The children passed over.
    pub others: Vec<u32>,
}

/// Who waits for whom in the newest sample.
#[derive(Default)]
pub(crate) struct WaitGraph {
    pub edges: Vec<WaitEdge>,
    /// Children a parent may be waiting for but that were not picked (see [`Choice`]).
    pub passed_over: Vec<WaitEdge>,
}

/// P_ALL, P_PID, P_PGID, P_PIDFD (`include/uapi/linux/wait.h`).
const P_ALL: u64 = 0;
const P_PID: u64 = 1;
const P_PGID: u64 = 2;
const P_PIDFD: u64 = 3;

/// Below this CPU share a parent counts as asleep while its children work.
const ASLEEP_SHARE: f64 = 0.05;

/// What one thread of a parent waits for.
enum Waits {
    /// These children, each by name (wait4(pid), waitid(P_PID/P_PIDFD), a pipe it reads).
    Each(Vec<(u32, &'static str)>),
    /// Whichever of these children ends first (wait4(-1), wait4(0), waitid(P_ALL/P_PGID)).
    AnyOf(Vec<u32>, String),
}

impl WaitGraph {
    pub fn build(tree: &Tree) -> WaitGraph {
        let mut g = WaitGraph::default();
        for p in &tree.procs {
            let children = tree.children_of(p.pid());
            if children.is_empty() {
                continue;
            }
            let mut each: Vec<(u32, String)> = Vec::new();
            let mut any: Option<(Vec<u32>, String)> = None;
            for t in &p.last.threads {
                let Some((name, args)) = tree.syscall_of(t) else {
                    continue;
                };
                match thread_waits(p, &children, &name, args) {
                    Some(Waits::Each(targets)) => {
                        for (child, how) in targets {
                            if children.iter().any(|c| c.pid() == child)
                                && !each.iter().any(|(c, _)| *c == child)
                            {
                                each.push((child, how.to_string()));
                            }
                        }
                    }
                    Some(Waits::AnyOf(pids, how)) if !pids.is_empty() && any.is_none() => {
                        any = Some((pids, how));
                    }
                    _ => {}
                }
            }
            // A child waited for by name is the one; a wait for any child names no one.
            if !each.is_empty() {
                for (child, how) in each {
                    g.edges.push(WaitEdge {
                        parent: p.pid(),
                        child,
                        how,
                        explicit: true,
                        choice: None,
                    });
                }
            } else if let Some((pids, how)) = any {
                g.pick(tree, p.pid(), &pids, how, true);
            } else if asleep(p) {
                let pids: Vec<u32> = children.iter().map(|c| c.pid()).collect();
                g.pick(
                    tree,
                    p.pid(),
                    &pids,
                    "sleeps while it runs".to_string(),
                    false,
                );
            }
        }
        g
    }

    /// The parent waits for whichever of `pids` ends first: link it to the one most likely
    /// to be the one it really waits for, and keep the others aside. A shell with job
    /// control runs its foreground job in the terminal's foreground process group and
    /// background jobs in their own (bash(1), "JOB CONTROL"); without job control (`sh -c
    /// 'a & b'`) every job shares the shell's group and only the order tells: the command
    /// a shell waits for is the last it started.
    fn pick(&mut self, tree: &Tree, parent: u32, pids: &[u32], how: String, explicit: bool) {
        let mut candidates: Vec<&ProcView> = pids.iter().filter_map(|pid| tree.get(*pid)).collect();
        if candidates.is_empty() {
            return;
        }
        let foreground: Vec<&ProcView> = candidates
            .iter()
            .copied()
            .filter(|c| {
                c.last
                    .tty
                    .as_ref()
                    .and_then(|t| t.foreground_pgrp)
                    .is_some_and(|fg| fg == c.last.pgrp)
            })
            .collect();
        let by_terminal = !foreground.is_empty() && foreground.len() < candidates.len();
        if by_terminal {
            candidates = foreground;
        }
        // Newest last: start time, then pid for children started in the same clock tick.
        candidates.sort_by_key(|c| (c.last.start_time, c.pid()));
        let chosen = candidates[candidates.len() - 1].pid();
        let others: Vec<u32> = pids.iter().copied().filter(|p| *p != chosen).collect();
        let choice = (!others.is_empty()).then(|| Choice {
            why: match (by_terminal, candidates.len()) {
                (true, 1) => "it is in its terminal's foreground process group".to_string(),
                (true, _) => {
                    "it is in its terminal's foreground process group and started last".to_string()
                }
                (false, _) => "it is the newest (by start time, then pid)".to_string(),
            },
            guess: candidates.len() > 1,
            others: others.clone(),
        });
        for child in others {
            self.passed_over.push(WaitEdge {
                parent,
                child,
                how: how.clone(),
                explicit,
                choice: None,
            });
        }
        self.edges.push(WaitEdge {
            parent,
            child: chosen,
            how,
            explicit,
            choice,
        });
    }

    /// Does `pid` wait for a child?
    pub fn waits(&self, pid: u32) -> bool {
        self.edges.iter().any(|e| e.parent == pid)
    }

    /// The edge by which `pid`'s parent waits for it.
    pub fn waited_by(&self, pid: u32) -> Option<&WaitEdge> {
        self.edges.iter().find(|e| e.child == pid)
    }

    /// The edge by which `pid`'s parent may wait for it, when another child was picked
    /// as the one it waits for.
    pub fn passed_over(&self, pid: u32) -> Option<&WaitEdge> {
        self.passed_over.iter().find(|e| e.child == pid)
    }

    /// The child `pid` was taken to wait for, when it waits for any of several.
    pub fn waited_by_any(&self, pid: u32) -> Option<&WaitEdge> {
        self.edges
            .iter()
            .find(|e| e.parent == pid && e.choice.is_some())
    }

    /// The edges from the top of the wait chain down to `pid`.
    pub fn chain_to(&self, pid: u32) -> Vec<&WaitEdge> {
        let mut out = Vec::new();
        let mut cur = pid;
        while let Some(e) = self.waited_by(cur) {
            if out.len() > 64 {
                break;
            }
            out.push(e);
            cur = e.parent;
        }
        out.reverse();
        out
    }
}

/// What a thread of `p` sitting in syscall `name` waits for, among `children`.
fn thread_waits(
    p: &ProcView,
    children: &[&ProcView],
    name: &str,
    args: &[u64; 6],
) -> Option<Waits> {
    let in_group = |pgrp: i64| -> Vec<u32> {
        children
            .iter()
            .filter(|c| c.last.pgrp as i64 == pgrp)
            .map(|c| c.pid())
            .collect()
    };
    let all = || children.iter().map(|c| c.pid()).collect::<Vec<u32>>();
    Some(match name {
        // wait4(2): pid > 0 that child; -1 any child; 0 any child in the caller's process
        // group; < -1 any child in process group -pid.
        "wait4" => match args[0] as i32 {
            pid if pid > 0 => Waits::Each(vec![(pid as u32, "wait4")]),
            -1 => Waits::AnyOf(all(), "wait4(-1): any child".to_string()),
            0 => Waits::AnyOf(
                in_group(p.last.pgrp as i64),
                "wait4(0): any child in its process group".to_string(),
            ),
            pid => Waits::AnyOf(
                in_group(-(pid as i64)),
                format!("wait4({pid}): any child in process group {}", -(pid as i64)),
            ),
        },
        "waitid" => match args[0] {
            P_PIDFD => Waits::Each(
                p.last
                    .fds
                    .iter()
                    .find(|f| f.fd as u64 == args[1])
                    .and_then(|f| f.pid)
                    .map(|pid| vec![(pid, "waitid on a pidfd")])
                    .unwrap_or_default(),
            ),
            P_PID => Waits::Each(vec![(args[1] as u32, "waitid")]),
            // waitid(2): P_PGID with id 0 is the caller's own group (Linux 5.4 and later).
            P_PGID => {
                let pgrp = if args[1] == 0 {
                    p.last.pgrp as i64
                } else {
                    args[1] as i64
                };
                Waits::AnyOf(
                    in_group(pgrp),
                    format!("waitid(P_PGID): any child in process group {pgrp}"),
                )
            }
            P_ALL => Waits::AnyOf(all(), "waitid(P_ALL): any child".to_string()),
            _ => return None,
        },
        "read" | "readv" => {
            let pipe = p
                .last
                .fds
                .iter()
                .find(|f| f.fd as u64 == args[0])
                .map(|f| f.target.as_str())
                .filter(|t| t.starts_with("pipe:"))?;
            Waits::Each(
                children
                    .iter()
                    .filter(|c| c.last.fds.iter().any(|f| f.target == pipe))
                    .map(|c| (c.pid(), "reads its output through a pipe"))
                    .collect(),
            )
        }
        _ => return None,
    })
}

/// All threads asleep over the window and (nearly) no CPU used.
pub(crate) fn asleep(p: &ProcView) -> bool {
    p.samples() > 0
        && p.samples_where_all(&[RunState::Sleeping, RunState::Idle]) == p.samples()
        && p.cpu_share().is_none_or(|s| s < ASLEEP_SHARE)
}

pub(super) fn rules(tree: &Tree, f: &mut Findings) {
    for p in &tree.procs {
        if matches!(
            p.last.state,
            RunState::Zombie | RunState::Dead | RunState::Stopped | RunState::TracingStop
        ) {
            continue;
        }
        lock_wait(tree, p, f);
        prompt_wait(tree, p, f);
        network_wait(tree, p, f);
        dns_wait(tree, p, f);
    }
    toolchain_download(tree, f);
}

/// A lock this process waits for: a `->` line of /proc/locks, or a thread in flock(2) or
/// fcntl(F_SETLKW / F_OFD_SETLKW) on a descriptor.
fn lock_wait(tree: &Tree, p: &ProcView, f: &mut Findings) {
    const F_SETLKW: u64 = 7;
    const F_OFD_SETLKW: u64 = 38;
    let waiting: Vec<&LockInfo> = p.last.locks.iter().filter(|l| l.waiting).collect();
    let in_syscall = p.last.threads.iter().find_map(|t| {
        let (name, args) = tree.syscall_of(t)?;
        let blocking =
            name == "flock" || (name == "fcntl" && matches!(args[1], F_SETLKW | F_OFD_SETLKW));
        blocking.then(|| {
            (
                t.tid,
                name,
                p.last
                    .fds
                    .iter()
                    .find(|fd| fd.fd as u64 == args[0])
                    .map(|fd| fd.target.clone()),
            )
        })
    });
    if waiting.is_empty() && in_syscall.is_none() {
        return;
    }
    let lock = waiting.first().copied();
    let path = lock
        .and_then(|l| l.path.clone())
        .or_else(|| in_syscall.as_ref().and_then(|(_, _, p)| p.clone()))
        .unwrap_or_else(|| {
            lock.map(|l| format!("file {}", l.file))
                .unwrap_or_else(|| "a file".to_string())
        });
    let holder = lock.and_then(|l| l.holder.as_ref());
    let held_by = match holder {
        Some(h) => format!(" held by pid {} ({})", h.pid, h.comm),
        None => String::new(),
    };
    let what = lock_purpose(&path);
    let mut v = Verdict::new(
        VerdictKind::LockWait,
        if lock.is_some() && in_syscall.is_some() {
            Confidence::High
        } else {
            Confidence::Medium
        },
        Some(p.pid()),
        format!(
            "{} waits for a file lock on {path}{held_by}{}",
            p.label(),
            what.map(|w| format!(": {w}")).unwrap_or_default()
        ),
    );
    if let Some(l) = lock {
        v = v.fact(format!(
            "/proc/locks: waits for a {} {} lock on {}",
            l.kind, l.mode, l.file
        ));
    }
    if let Some((tid, name, _)) = &in_syscall {
        v = v.fact(format!("thread {tid} is blocked in {name}"));
    }
    if let Some(h) = holder {
        v = v.fact(format!(
            "holder: pid {} ({}){}",
            h.pid,
            h.comm,
            h.command
                .as_deref()
                .map(|c| format!(", command: {c}"))
                .unwrap_or_default()
        ));
        if tree.get(h.pid).is_some() && tree.chain_to(h.pid).first() == tree.root.as_ref() {
            v = v.fact(format!(
                "the holder is part of this process tree (pid {})",
                h.pid
            ));
        }
    }
    v = v.fact(format!("waiting for {} of the window", secs(p.span_ms())));
    let v = v.remedy(remedy::lock_wait(
        holder.map(|h| (h.pid, h.command.as_deref().unwrap_or(&h.comm))),
    ));
    f.add(v, p.depth, format!("{}: waits for lock {path}", p.label()));
}

/// Waits across processes: a lock wait whose holder is itself stuck is explained by the
/// holder's own verdict. The holder is usually not a descendant of the waiter (another go,
/// gopls, a CI job); the observer samples it and its descendants for this. The cause — the
/// holder stopped, frozen, traced, waiting on the network, or a child of it doing so — is
/// given as the primary verdict, with the whole chain waiter → holder → the holder's wait
/// in `chain` and in the text. A holder that waits for a lock in turn is followed to that
/// lock's holder; a cycle is a deadlock. A holder is taken only when the sampled process
/// with its pid has the start time `/proc/locks`' holder had (pid reuse).
pub(super) fn across(tree: &Tree, f: &mut Findings) {
    let waits: Vec<usize> = (0..f.candidates.len())
        .filter(|i| f.candidates[*i].verdict.kind == VerdictKind::LockWait)
        .collect();
    for i in waits {
        let Some(waiter) = f.candidates[i].verdict.pid else {
            continue;
        };
        let mut path = vec![waiter];
        let mut cur = waiter;
        let mut locks: Vec<String> = Vec::new();
        let cause = loop {
            let Some((holder, lock)) = holder_in_tree(tree, cur, f) else {
                break None;
            };
            if path.contains(&holder) {
                // Every process of the cycle waits for the next one's lock: none can go on.
                let cycle: Vec<String> = path
                    .iter()
                    .skip_while(|p| **p != holder)
                    .filter_map(|p| tree.get(*p).map(|v| v.label()))
                    .collect();
                let text = format!(
                    "a deadlock: {} → back to {}: each waits for a lock the next one holds",
                    cycle.join(" → "),
                    tree.get(holder).map(|v| v.label()).unwrap_or_default()
                );
                f.note(format!("{}: {text}", f.candidates[i].verdict.summary));
                let c = &mut f.candidates[i];
                c.verdict.confidence = Confidence::High;
                c.verdict.evidence.insert(0, text);
                break None;
            }
            locks.push(lock);
            path.push(holder);
            cur = holder;
            match cause_under(tree, holder, &path[..path.len() - 1], f) {
                Some(j) if f.candidates[j].verdict.kind == VerdictKind::LockWait => {
                    // The holder waits for a lock too: follow that lock to its holder.
                    if f.candidates[j].verdict.pid != Some(holder) {
                        break Some(j);
                    }
                }
                Some(j) => break Some(j),
                None => break None,
            }
        };
        let Some(j) = cause else {
            if path.len() > 1 {
                f.note(format!(
                    "pid {waiter}'s lock is held by pid {}, in which no wait of its own was found",
                    path[path.len() - 1]
                ));
            }
            continue;
        };
        explain_across(tree, f, i, j, &path, &locks);
    }
}

/// The holder of the lock `pid` waits for, as a sampled process with the holder's start
/// time, and the lock's path.
fn holder_in_tree(tree: &Tree, pid: u32, f: &mut Findings) -> Option<(u32, String)> {
    let p = tree.get(pid)?;
    let lock = p.last.locks.iter().find(|l| l.waiting)?;
    let h = lock.holder.as_ref()?;
    let view = tree.get(h.pid)?;
    if h.start_time.is_some_and(|t| t != view.last.start_time) {
        f.note(format!(
            "pid {}'s lock holder pid {} started at {} but the sampled pid {} at {}: another process, not followed",
            pid,
            h.pid,
            h.start_time.unwrap_or_default(),
            h.pid,
            view.last.start_time
        ));
        return None;
    }
    let path = lock
        .path
        .clone()
        .unwrap_or_else(|| format!("file {}", lock.file));
    Some((h.pid, path))
}

/// The strongest verdict of `holder` or of a process below it (its own wait chain): the
/// index of its candidate. `idle` and `child-wait` say only that it sleeps.
fn cause_under(tree: &Tree, holder: u32, path: &[u32], f: &Findings) -> Option<usize> {
    (0..f.candidates.len())
        .filter(|j| f.candidates[*j].verdict.kind.rank() > VerdictKind::ChildWait.rank())
        // Not another chain's explanation, nor a process already on this chain.
        .filter(|j| f.candidates[*j].rank.is_none())
        .filter(|j| {
            f.candidates[*j]
                .verdict
                .pid
                .is_none_or(|p| !path.contains(&p))
        })
        .filter(|j| {
            f.candidates[*j]
                .verdict
                .pid
                .is_some_and(|p| p == holder || tree.chain_to(p).contains(&holder))
        })
        .max_by(|a, b| {
            let (a, b) = (&f.candidates[*a], &f.candidates[*b]);
            a.rank()
                .cmp(&b.rank())
                // Its own lock wait first: that is followed to the next holder.
                .then((a.verdict.pid == Some(holder)).cmp(&(b.verdict.pid == Some(holder))))
                .then(a.depth.cmp(&b.depth))
                .then(a.verdict.confidence.cmp(&b.verdict.confidence))
        })
}

/// Add the cause (candidate `j`) as the explanation of the lock wait (candidate `i`):
/// its own kind and remedy, the chain from the probed process through each holder.
fn explain_across(
    tree: &Tree,
    f: &mut Findings,
    i: usize,
    j: usize,
    path: &[u32],
    locks: &[String],
) {
    let waiter = path[0];
    let last_holder = path[path.len() - 1];
    let cause = &f.candidates[j];
    let culprit = cause.verdict.pid.unwrap_or(last_holder);
    let mut chain = tree.chain_to(waiter);
    chain.extend(&path[1..]);
    let below: Vec<u32> = match &cause.chain {
        Some(c) => c.clone(),
        None => tree.chain_to(culprit),
    };
    if let Some(at) = below.iter().position(|p| *p == last_holder) {
        chain.extend(below[at + 1..].iter().copied());
    } else if !chain.contains(&culprit) {
        chain.push(culprit);
    }
    let label = |pid: u32| {
        tree.get(pid)
            .map(|v| v.label())
            .unwrap_or_else(|| format!("pid {pid}"))
    };
    let mut v = cause.verdict.clone();
    let holds: Vec<String> = path
        .windows(2)
        .zip(locks)
        .map(|(w, lock)| {
            format!(
                "{} waits for the lock on {lock} that {} holds",
                label(w[0]),
                label(w[1])
            )
        })
        .collect();
    v.summary = format!("{}; {}", holds.join(", and "), v.summary);
    let mut facts = vec![format!(
        "chain: {}",
        chain
            .iter()
            .map(|p| label(*p))
            .collect::<Vec<_>>()
            .join(" → ")
    )];
    facts.extend(holds.iter().map(|h| format!("lock: {h}")));
    if let Some(start) = tree.get(last_holder).map(|h| h.last.start_time) {
        facts.push(format!(
            "the holder {} was matched by its start time ({start} ticks after boot) as well as its pid",
            label(last_holder)
        ));
    }
    v.evidence.splice(0..0, facts);
    let rank = cause.rank().max(f.candidates[i].rank());
    let depth = cause.depth.max(f.candidates[i].depth) + path.len();
    let reason = format!(
        "the lock {} waits for is held by a stuck process: {}",
        label(waiter),
        chain
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(" → ")
    );
    for p in path {
        f.explain(*p);
    }
    f.reasons.push(format!("{}: {reason}", v.kind));
    f.candidates.push(super::Candidate {
        verdict: v,
        depth,
        chain: Some(chain),
        rank: Some(rank),
    });
}

/// What a lock file guards, from the go command's layout of the module cache.
fn lock_purpose(path: &str) -> Option<String> {
    if let Some(i) = path.find("/cache/download/") {
        let rest = &path[i + "/cache/download/".len()..];
        if let Some((module, file)) = rest.split_once("/@v/") {
            let version = file.strip_suffix(".lock").unwrap_or(file);
            return Some(format!(
                "the module cache's lock for {module}@{version} (a go command takes it while it downloads that module)"
            ));
        }
    }
    if path.ends_with("/cache/lock") {
        return Some(
            "the module cache's side lock (another go command is updating go.mod/go.sum files)"
                .to_string(),
        );
    }
    if path.contains("/cache/vcs/") {
        return Some(
            "the module cache's lock on a VCS checkout (another go command is running git)"
                .to_string(),
        );
    }
    None
}

/// A process waiting for a person: a blocking read on a terminal in the foreground, or
/// an askpass helper whose dialog nobody sees.
fn prompt_wait(tree: &Tree, p: &ProcView, f: &mut Findings) {
    let last = p.last;
    let foreground = last
        .tty
        .as_ref()
        .is_none_or(|t| t.foreground_pgrp.is_none_or(|fg| fg == last.pgrp));
    let tty_read = last.threads.iter().find_map(|t| {
        let (name, args) = tree.syscall_of(t)?;
        if !matches!(name.as_str(), "read" | "readv" | "pread64") {
            return None;
        }
        let fd = last.fds.iter().find(|fd| fd.fd as u64 == args[0])?;
        fd.is_tty().then(|| (t.tid, fd.fd, fd.target.clone()))
    });
    let askpass = askpass_helper(tree, last);
    let (Some(reading), true) = (tty_read.as_ref(), foreground) else {
        if let Some(helper) = askpass
            && asleep(p)
        {
            let what = if helper.role == "credential" {
                "a git credential helper"
            } else {
                "an askpass helper"
            };
            let mut v = Verdict::new(
                VerdictKind::PromptWait,
                Confidence::Medium,
                Some(p.pid()),
                format!(
                    "{} is {what} started by {} waiting for someone to answer its dialog",
                    p.label(),
                    helper.setting
                ),
            )
            .fact(format!("command: {}", last.command_line()))
            .fact(format!("{} comes from {}", helper.setting, helper.origin));
            if let Some(parent) = tree.get(last.ppid) {
                v = v.fact(format!(
                    "started by {}: {}",
                    parent.label(),
                    parent.last.command_line()
                ));
            }
            let v = v
                .fact(format!("asleep for {} of the window", secs(p.span_ms())))
                .remedy(remedy::helper_wait(&helper.setting, helper.role));
            f.add(
                v,
                p.depth,
                format!("{}: {what} ({})", p.label(), helper.setting),
            );
        }
        return;
    };
    let (tid, fd, dev) = reading;
    let mut v = Verdict::new(
        VerdictKind::PromptWait,
        Confidence::High,
        Some(p.pid()),
        format!(
            "{} waits for someone to type at the terminal ({dev})",
            p.label()
        ),
    )
    .fact(format!(
        "thread {tid} is blocked reading fd {fd} → {dev}, in the terminal's foreground"
    ));
    if let Some(prompt) = captured_prompt(tree) {
        v = v.fact(format!("last output: {prompt}"));
    }
    for note in prompt_settings(tree, p) {
        v = v.fact(note);
    }
    let v = v.remedy(remedy::prompt_wait(Some(dev)));
    f.add(v, p.depth, format!("{}: read on {dev} fd {fd}", p.label()));
}

/// The last line the command printed, if it looks like a question.
fn captured_prompt(tree: &Tree) -> Option<String> {
    let out = &tree.ev.output;
    [&out.stderr.tail, &out.stdout.tail]
        .into_iter()
        .find_map(|t| {
            let line = t.lines().rev().find(|l| !l.trim().is_empty())?.trim();
            (line.ends_with(':')
                || line.ends_with('?')
                || line.to_ascii_lowercase().contains("password"))
            .then(|| line.chars().take(160).collect())
        })
}

/// Settings of the processes above `p` that let git or ssh prompt although the go command
/// turns prompting off (`cmd/go/internal/modload/init.go`: GIT_TERMINAL_PROMPT=0 and
/// GIT_SSH_COMMAND="ssh -o ControlMaster=no -o BatchMode=yes" unless the user set them).
fn prompt_settings(tree: &Tree, p: &ProcView) -> Vec<String> {
    let mut notes = Vec::new();
    let chain = tree.chain_to(p.pid());
    let go = chain
        .iter()
        .filter_map(|pid| tree.get(*pid))
        .find(|q| crate::evidence::is_go_command(q.last));
    let Some(go) = go else { return notes };
    let env = &go.last.env;
    if env.get("GIT_TERMINAL_PROMPT").is_some_and(|v| v != "0") {
        notes.push(format!(
            "GIT_TERMINAL_PROMPT={} is set in the go command's environment: go turns git's prompts off only when it is unset",
            env["GIT_TERMINAL_PROMPT"]
        ));
    }
    match (env.get("GIT_SSH_COMMAND"), env.get("GIT_SSH")) {
        (Some(c), _) if !c.contains("BatchMode=yes") => notes.push(format!(
            "GIT_SSH_COMMAND={c} is set: go then does not add `-o BatchMode=yes`, so ssh may ask for a passphrase or a host key"
        )),
        (None, Some(s)) => notes.push(format!("GIT_SSH={s} is set: go then does not make ssh non-interactive")),
        _ => {}
    }
    notes
}

/// Which setting started a helper that waits for a person, and where it was set.
pub(crate) struct Helper {
    /// `GIT_ASKPASS=/usr/bin/ksshaskpass`, `core.askPass=…`, `credential.helper (git-credential-libsecret)`.
    pub setting: String,
    /// "the environment of pid 41 (go), inherited", "git -c / GIT_CONFIG_PARAMETERS", …
    pub origin: String,
    /// `askpass` (a dialog asking for a username, password or passphrase) or `credential`.
    pub role: &'static str,
}

/// The program a process runs: argv[0], or for a script run through its `#!` interpreter
/// (the kernel puts the interpreter first, the script second: execve(2)), the script.
fn programs(p: &ProcessSnapshot) -> Vec<String> {
    let argv = p.argv.value().cloned().unwrap_or_default();
    let mut out: Vec<String> = argv.iter().take(1).cloned().collect();
    if let Some(first) = argv.first() {
        let base = first.rsplit('/').next().unwrap_or(first);
        let interpreter = [
            "sh", "bash", "dash", "zsh", "python", "python3", "perl", "env",
        ]
        .iter()
        .any(|i| base == *i || base.starts_with("python3."));
        if interpreter && let Some(script) = argv.get(1) {
            out.push(script.clone());
        }
    }
    if out.is_empty() {
        out.push(p.comm.clone());
    }
    out
}

fn same_program(a: &str, b: &str) -> bool {
    a == b || (!b.contains('/') && a.rsplit('/').next() == Some(b))
}

/// core.askPass given on a command line (`git -c`) or through the environment
/// (`GIT_CONFIG_PARAMETERS`, `GIT_CONFIG_COUNT` with `GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`,
/// git-config(1) "ENVIRONMENT").
fn askpass_in_git_env(
    env: &std::collections::BTreeMap<String, String>,
) -> Option<(String, String)> {
    if let Some(params) = env.get("GIT_CONFIG_PARAMETERS") {
        // 'core.askpass=/x' or 'core.askPass'='/x', space separated.
        for part in params.split("' '") {
            let part = part.trim_matches('\'').replace("'='", "=");
            if let Some((k, v)) = part.split_once('=')
                && k.eq_ignore_ascii_case("core.askpass")
            {
                return Some((
                    v.to_string(),
                    "GIT_CONFIG_PARAMETERS (git -c core.askPass=…)".into(),
                ));
            }
        }
    }
    let count: usize = env.get("GIT_CONFIG_COUNT")?.parse().ok()?;
    (0..count.min(64)).find_map(|i| {
        let k = env.get(&format!("GIT_CONFIG_KEY_{i}"))?;
        k.eq_ignore_ascii_case("core.askpass").then(|| {
            (
                env.get(&format!("GIT_CONFIG_VALUE_{i}"))
                    .cloned()
                    .unwrap_or_default(),
                format!("GIT_CONFIG_KEY_{i}/GIT_CONFIG_VALUE_{i}"),
            )
        })
    })
}

/// Is this process an askpass or credential helper, and what started it? git asks
/// GIT_ASKPASS, then core.askPass, then SSH_ASKPASS (git `prompt.c`, gitcredentials(7)),
/// even with GIT_TERMINAL_PROMPT=0, which only turns the terminal prompt off; ssh runs
/// SSH_ASKPASS without a terminal (ssh(1)). A credential helper is `git credential-NAME`
/// or `git-credential-NAME` (credential.helper).
fn askpass_helper(tree: &Tree, p: &ProcessSnapshot) -> Option<Helper> {
    let progs = programs(p);
    let argv = p.argv.value().cloned().unwrap_or_default();
    let parent = tree.get(p.ppid);
    // Where a variable of the parent's environment was set: the topmost process of the
    // chain above that has the same value.
    let origin = |var: &str, value: &str| -> String {
        let chain = tree.chain_to(p.ppid);
        let top = chain
            .iter()
            .filter_map(|pid| tree.get(*pid))
            .find(|q| q.last.env.get(var).map(String::as_str) == Some(value));
        match top {
            Some(q) if q.pid() != p.ppid => format!(
                "the environment: set above {} already, in {}, and inherited",
                parent.map(|x| x.label()).unwrap_or_default(),
                q.label()
            ),
            Some(q) => format!("the environment of {}", q.label()),
            None => "the environment".to_string(),
        }
    };
    if let Some(parent) = parent {
        for var in ["GIT_ASKPASS", "SSH_ASKPASS"] {
            if let Some(v) = parent.last.env.get(var).filter(|v| !v.is_empty())
                && progs
                    .iter()
                    .any(|a| same_program(a, v) || same_program(v, a))
            {
                return Some(Helper {
                    setting: format!("{var}={v}"),
                    origin: origin(var, v),
                    role: "askpass",
                });
            }
        }
        if let Some((v, via)) = askpass_in_git_env(&parent.last.env)
            && progs
                .iter()
                .any(|a| same_program(a, &v) || same_program(&v, a))
        {
            return Some(Helper {
                setting: format!("core.askPass={v}"),
                origin: via,
                role: "askpass",
            });
        }
    }
    // A credential helper: git-credential-NAME, or `git credential-NAME ACTION`.
    let cred = progs.iter().chain(argv.get(1)).find_map(|a| {
        let base = a.rsplit('/').next().unwrap_or(a);
        base.strip_prefix("git-credential-")
            .or_else(|| base.strip_prefix("credential-"))
            // credential-cache--daemon serves the cache; it asks nobody.
            .filter(|n| !n.ends_with("--daemon"))
            .map(str::to_string)
    });
    if let Some(name) = cred {
        return Some(Helper {
            setting: format!("credential.helper ({name})"),
            origin: "a git config file (`git config --show-origin --get-all credential.helper` names it)"
                .to_string(),
            role: "credential",
        });
    }
    // Named like one, started by git or ssh: core.askPass from a git config file, or a
    // default askpass.
    let named = progs.iter().find(|a| {
        a.rsplit('/')
            .next()
            .unwrap_or(a)
            .to_ascii_lowercase()
            .contains("askpass")
    })?;
    let by_git = parent.is_some_and(|q| {
        let c = q.last.comm.as_str();
        c.starts_with("git") || c == "ssh"
    });
    Some(Helper {
        setting: if by_git {
            format!("core.askPass or a default askpass ({named})")
        } else {
            named.clone()
        },
        origin: if by_git {
            "not the environment: a git config file (`git config --show-origin core.askPass` names it)"
                .to_string()
        } else {
            "its name".to_string()
        },
        role: "askpass",
    })
}

/// Bytes received on socket `s` since the first sample, when the kernel counted them for
/// both (`bytes_received`, Linux tcp_info). `rx_queue` 0 only says nothing is waiting to be
/// read: a peer that trickles data the process reads at once shows 0 there too.
fn received_over_window(first: &ProcessSnapshot, s: &SocketInfo) -> Option<u64> {
    let before = first
        .sockets
        .iter()
        .find(|o| o.fd == s.fd && o.remote == s.remote)?
        .bytes_received?;
    Some(s.bytes_received?.saturating_sub(before))
}

/// TCP connections to remote peers that stay open and silent for the whole window; or, when
/// the only ones left receive data, slowly, a slow transfer with its rate.
fn network_wait(tree: &Tree, p: &ProcView, f: &mut Findings) {
    if p.cpu_share().is_some_and(|s| s >= 0.5) || p.samples() == 0 {
        return;
    }
    let first = p.history.first().map(|(_, s)| *s).unwrap_or(p.last);
    let waiting: Vec<_> = p
        .last
        .sockets
        .iter()
        .filter(|s| s.proto == "tcp")
        // Name resolution has its own rule (`dns_wait`).
        .filter(|s| !to_nameserver(s))
        .filter(|s| matches!(s.state.as_deref(), Some("SYN_SENT") | Some("ESTABLISHED")))
        .filter(|s| s.rx_queue.unwrap_or(0) == 0)
        .filter(|s| {
            // Open since the first sample, to the same peer.
            first
                .sockets
                .iter()
                .any(|o| o.fd == s.fd && o.remote == s.remote)
        })
        .filter(|s| {
            // Not a connection to another process of this tree.
            let remote = s.remote.as_deref().unwrap_or("");
            !tree.procs.iter().any(|q| {
                q.last
                    .sockets
                    .iter()
                    .any(|o| o.local.as_deref() == Some(remote))
            })
        })
        .collect();
    if waiting.is_empty() {
        return;
    }
    let (silent, moving): (Vec<_>, Vec<_>) = waiting
        .into_iter()
        .partition(|s| received_over_window(first, s).is_none_or(|n| n == 0));
    // Slow is not stuck: bytes that still arrive (a connection's received bytes, the file
    // the download goes into, or, where no connection's bytes were counted, the process's
    // reads) make this progress, not a network wait.
    let unmeasured = silent
        .iter()
        .any(|s| received_over_window(first, s).is_none());
    let grew: Vec<_> = super::progress::of(p)
        .into_iter()
        .filter(|g| {
            !matches!(g.grew, Grew::Read | Grew::Storage) || unmeasured || !moving.is_empty()
        })
        .collect();
    if !grew.is_empty() {
        slow_transfer(tree, p, &grew, &silent, f);
        return;
    }
    let waiting = silent;
    let ctx = tree.ev.go.as_ref();
    let s = waiting
        .iter()
        .find(|s| role_of(ctx, s.remote.as_deref().unwrap_or("")).is_some())
        .copied()
        .unwrap_or(waiting[0]);
    let remote = s.remote.clone().unwrap_or_default();
    let state = s.state.clone().unwrap_or_default();
    let role = role_of(ctx, &remote);
    let vcs = vcs_of(p.last);
    let ssh = ssh_target(p.last);
    let served = tree.ev.remotes.iter().find(|r| r.pid == p.pid());
    let whose = match (&role, &vcs, &ssh) {
        (Some(e), _, _) => format!(" ({}={})", e.setting, setting_text(ctx, e)),
        (None, _, Some(t)) => format!(
            " (the ssh server {}{}{})",
            real_host_port(t, served),
            t.repo_text(),
            alias_text(served)
        ),
        (None, Some(host), None) => format!(" (the VCS server {host})"),
        _ => String::new(),
    };
    let how = if state == "SYN_SENT" {
        "is still connecting: the peer or a firewall does not answer"
    } else {
        "is connected and gets no answer"
    };
    let explicit = p.last.threads.iter().any(|t| {
        tree.syscall_of(t).is_some_and(|(name, args)| {
            matches!(
                name.as_str(),
                "connect" | "read" | "recvfrom" | "recvmsg" | "poll" | "ppoll"
            ) && args[0] == s.fd as u64
        })
    });
    // Silence is measured only where the kernel counted received bytes (or the connection
    // is not even up); otherwise all that is known is that nothing waits to be read.
    let counted = received_over_window(first, s);
    let measured = counted.is_some() || state == "SYN_SENT";
    let received = match (counted, s.bytes_received) {
        (Some(_), Some(total)) => format!(
            "nothing received over the window (tcp_info bytes_received stayed at {total}; rx_queue 0)"
        ),
        _ if state == "SYN_SENT" => "not connected yet, so nothing received".to_string(),
        _ => "no unread data (rx_queue 0); whether any arrived during the window is unknown \
              (no received-byte count for this socket)"
            .to_string(),
    };
    let how = if measured || state == "SYN_SENT" {
        how
    } else {
        "is connected and has nothing unread (whether the peer sends anything was not measured)"
    };
    let confidence = match (explicit || role.is_some(), measured) {
        (true, true) => Confidence::High,
        (false, true) | (true, false) => Confidence::Medium,
        (false, false) => Confidence::Low,
    };
    let mut v = Verdict::new(
        VerdictKind::NetworkWait,
        confidence,
        Some(p.pid()),
        format!(
            "{} waits on the network: its connection to {remote}{whose} {how}",
            p.label()
        ),
    )
    .fact(format!(
        "fd {} tcp {} → {remote} {state} for {} (every sample), {received}, tx_queue {}",
        s.fd,
        s.local.as_deref().unwrap_or("?"),
        secs(p.span_ms()),
        s.tx_queue.unwrap_or(0)
    ));
    for other in waiting.iter().filter(|o| o.fd != s.fd).take(3) {
        v = v.fact(format!(
            "also fd {} → {} {}",
            other.fd,
            other.remote.as_deref().unwrap_or("?"),
            other.state.as_deref().unwrap_or("")
        ));
    }
    if let Some(e) = &role {
        let src = ctx
            .and_then(|c| c.settings.get(&e.setting))
            .map(|s| s.source.clone());
        let named = if e.host.parse::<std::net::IpAddr>().is_ok() {
            String::new()
        } else {
            format!(" ({}:{})", e.host, e.port)
        };
        v = v.fact(format!(
            "{remote}{named} is the endpoint of {}{}",
            e.setting,
            src.map(|s| format!(", set in {s}")).unwrap_or_default()
        ));
    }
    if let Some(share) = p.cpu_share() {
        v = v.fact(format!(
            "CPU {:.0} % of a core: asleep while it waits",
            share * 100.0
        ));
    }
    let setting = role.as_ref().map(|e| e.setting.as_str());
    let current = role.as_ref().map(|e| setting_text(ctx, e));
    let v = match (&role, &ssh) {
        (None, Some(t)) => {
            let mut v = v;
            for fact in ssh_facts(tree, p, t) {
                v = v.fact(fact);
            }
            let (host, port) = real_target(t, served);
            v.remedy(remedy::ssh_wait(&host, port.as_deref()))
        }
        _ => served
            .map(served_facts)
            .unwrap_or_default()
            .into_iter()
            .fold(v, |v, fact| v.fact(fact))
            .remedy(remedy::network_wait(
                setting,
                current.as_deref(),
                vcs.as_deref(),
            )),
    };
    f.add(
        v,
        p.depth,
        format!("{}: tcp {remote} {state} all window", p.label()),
    );
}

/// Bytes still arrive for a process with open connections: a slow transfer, reported as
/// `progressing` with its rate and since when; connections that stayed silent meanwhile are
/// named in the evidence (a second fetch may still hang).
fn slow_transfer(
    tree: &Tree,
    p: &ProcView,
    grew: &[Progress],
    silent: &[&SocketInfo],
    f: &mut Findings,
) {
    let ctx = tree.ev.go.as_ref();
    let remote = grew.iter().find_map(|g| match &g.grew {
        Grew::Socket { remote, .. } => Some(remote.clone()),
        _ => None,
    });
    let role = remote.as_deref().and_then(|r| role_of(ctx, r));
    let whose = role
        .map(|e| format!(" ({}={})", e.setting, setting_text(ctx, e)))
        .unwrap_or_default();
    let head = match &remote {
        Some(r) => format!("{} receives slowly from {r}{whose}", p.label()),
        None => format!("{} is connected and asleep, yet", p.label()),
    };
    let Some(mut v) = super::progress::verdict(tree, p, grew, &head) else {
        return;
    };
    for s in silent.iter().take(3) {
        v = v.fact(format!(
            "meanwhile fd {} tcp → {} {} received nothing",
            s.fd,
            s.remote.as_deref().unwrap_or("?"),
            s.state.as_deref().unwrap_or("")
        ));
    }
    let fetches = crate::evidence::is_go_command(p.last) || vcs_of(p.last).is_some();
    let rate = grew[0].rate_text();
    let v = v.remedy(remedy::progressing(
        &rate,
        fetches || grew[0].area(p.last).is_some(),
        role.map(|e| e.setting.as_str()),
    ));
    f.add(
        v,
        p.depth,
        format!(
            "{}: {} grew by {} bytes over the window",
            p.label(),
            grew[0].what(p.last),
            grew[0].bytes
        ),
    );
}

/// `20 B/s`, `3.1 KiB/s`, `2.0 MiB/s`.
pub(crate) fn rate_text(bytes_per_s: f64) -> String {
    if bytes_per_s < 1024.0 {
        format!("{bytes_per_s:.0} B/s")
    } else if bytes_per_s < 1024.0 * 1024.0 {
        format!("{:.1} KiB/s", bytes_per_s / 1024.0)
    } else {
        format!("{:.1} MiB/s", bytes_per_s / (1024.0 * 1024.0))
    }
}

/// Where an ssh that git started connects: `ssh [options] [user@]host [command]`, the
/// command being `git-upload-pack 'path'` (git's `connect.c`).
pub(crate) struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<String>,
    pub repo: Option<String>,
}

impl SshTarget {
    fn host_port(&self) -> String {
        match &self.port {
            Some(p) => format!("{} port {p}", self.host),
            None => self.host.clone(),
        }
    }
    fn repo_text(&self) -> String {
        self.repo
            .as_ref()
            .map(|r| format!(", repository {r}"))
            .unwrap_or_default()
    }
}

/// ssh's destination, port and remote command from its arguments (ssh(1): options that
/// take a value are `-BbcDEeFIiJLlmOoPpRSWw`).
fn ssh_target(p: &ProcessSnapshot) -> Option<SshTarget> {
    let argv = p.argv.value()?;
    if argv.first()?.rsplit('/').next()? != "ssh" {
        return None;
    }
    let mut port = None;
    let mut user = None;
    let mut i = 1;
    while i < argv.len() {
        let a = &argv[i];
        if let Some(opt) = a.strip_prefix('-').filter(|o| !o.is_empty()) {
            let flag = opt.chars().next().unwrap_or(' ');
            let takes = "BbcDEeFIiJLlmOoPpRSWw".contains(flag);
            let value = if opt.len() > 1 && takes {
                Some(opt[1..].to_string())
            } else if takes {
                i += 1;
                argv.get(i).cloned()
            } else {
                None
            };
            match flag {
                'p' => port = value,
                'l' => user = value,
                'o' => {
                    if let Some(v) = value
                        && let Some((k, val)) = v.split_once('=')
                    {
                        if k.eq_ignore_ascii_case("port") {
                            port = Some(val.to_string());
                        } else if k.eq_ignore_ascii_case("user") {
                            user = Some(val.to_string());
                        }
                    }
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        let (u, host) = match a.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h.to_string()),
            None => (user.clone(), a.clone()),
        };
        let command = argv[i + 1..].join(" ");
        let repo = command
            .split_once("git-upload-pack")
            .or_else(|| command.split_once("git-receive-pack"))
            .map(|(_, r)| r.trim().trim_matches('\'').to_string())
            .filter(|r| !r.is_empty());
        return Some(SshTarget {
            user: u,
            host,
            port,
            repo,
        });
    }
    None
}

/// What led to this ssh: the URL the git above it was given, whether git rewrote it
/// (url.<base>.insteadOf), the module the go command above fetches, the host alias.
fn ssh_facts(tree: &Tree, p: &ProcView, t: &SshTarget) -> Vec<String> {
    let mut out = vec![format!(
        "ssh connects to {}{}{}",
        t.user.as_ref().map(|u| format!("{u}@")).unwrap_or_default(),
        t.host_port(),
        t.repo
            .as_ref()
            .map(|r| format!(" to run git-upload-pack {r}"))
            .unwrap_or_default()
    )];
    if let Some(r) = tree.ev.remotes.iter().find(|r| r.pid == p.pid()) {
        out.extend(served_facts(r));
        if r.asked.is_some() {
            out.extend(timeout_fact(p));
            return out;
        }
    }
    let chain = tree.chain_to(p.pid());
    let url = chain
        .iter()
        .rev()
        .skip(1)
        .filter_map(|pid| tree.get(*pid))
        .find_map(|q| {
            let argv = q.last.argv.value()?;
            argv.first()?
                .rsplit('/')
                .next()?
                .starts_with("git")
                .then_some(())?;
            // Not the value of a `-c name=value` before the subcommand.
            argv.windows(2)
                .filter(|w| w[0] != "-c")
                .map(|w| &w[1])
                .find(|a| a.contains("://") || (a.contains('@') && a.contains(':')))
                .map(|u| (q.label(), u.clone()))
        });
    if let Some((who, url)) = url {
        let ssh_url = url.starts_with("ssh://")
            || url.starts_with("git+ssh://")
            || (!url.contains("://") && url.contains('@'));
        if ssh_url {
            out.push(format!("{who} was asked for {url}"));
        } else {
            out.push(format!(
                "{who} was asked for {url}, and git rewrote it to ssh: a url.<base>.insteadOf (or pushInsteadOf) in that process's git config — its HOME, XDG_CONFIG_HOME, GIT_CONFIG_* and the repository's config; `git config --show-origin --get-regexp '^url\\.'` names it"
            ));
        }
    }
    if t.host.parse::<std::net::IpAddr>().is_err() && !t.host.contains('.') {
        out.push(format!(
            "{} looks like a host alias: `ssh -G {}` shows the host, port and options ~/.ssh/config gives it",
            t.host, t.host
        ));
    }
    out.extend(timeout_fact(p));
    out
}

fn timeout_fact(p: &ProcView) -> Option<String> {
    p.last
        .env
        .get("GIT_SSH_COMMAND")
        .is_none_or(|c| !c.contains("ConnectTimeout"))
        .then(|| {
            "no ConnectTimeout in GIT_SSH_COMMAND (the go command's default, `ssh -o ControlMaster=no -o BatchMode=yes`, sets none; ~/.ssh/config may): without one ssh waits for the server's banner as long as the connection stays open"
                .to_string()
        })
}

/// The host and port ssh really connects to: its configuration's HostName and Port for
/// the destination (which the command line's `-p` overrides), else its arguments.
fn real_target(t: &SshTarget, r: Option<&RemoteContext>) -> (String, Option<String>) {
    match r.and_then(|r| r.ssh.as_ref()) {
        Some(s) => (
            s.host().to_string(),
            s.port.as_ref().map(|p| p.value.clone()).or(t.port.clone()),
        ),
        None => (t.host.clone(), t.port.clone()),
    }
}

fn real_host_port(t: &SshTarget, r: Option<&RemoteContext>) -> String {
    match real_target(t, r) {
        (h, Some(p)) => format!("{h} port {p}"),
        (h, None) => h,
    }
}

/// `, host alias gohost (~/.ssh/config line 5)` when ssh's configuration renamed the host.
fn alias_text(r: Option<&RemoteContext>) -> String {
    let Some(s) = r.and_then(|r| r.ssh.as_ref()) else {
        return String::new();
    };
    match &s.hostname {
        Some(h) if h.value != s.destination => {
            format!(
                ", host alias {} (HostName set in {})",
                s.destination, h.origin
            )
        }
        _ => String::new(),
    }
}

/// What the gathering layer found about the remote a process serves (`remote.rs`): the
/// module, the repository, the URL as asked and as rewritten by which rule, and what ssh's
/// configuration made of the destination, each with the file and line that set it.
fn served_facts(r: &RemoteContext) -> Vec<String> {
    let mut out = Vec::new();
    match (&r.module, &r.repository) {
        (Some(m), Some(d)) => out.push(format!(
            "it serves module {m} (the go command's argument), repository {d} (git's directory in the go command's VCS cache)"
        )),
        (Some(m), None) => out.push(format!("it serves module {m} (the go command's argument)")),
        (None, Some(d)) => out.push(format!(
            "it serves the repository {d} (git's directory in the go command's VCS cache)"
        )),
        (None, None) => {}
    }
    let git = r
        .git_pid
        .map(|g| format!("git (pid {g})"))
        .unwrap_or_else(|| "git".to_string());
    match (&r.asked, &r.rewrite, &r.url) {
        (Some(a), Some(w), Some(u)) => {
            let to = if u.starts_with("ssh://")
                || u.starts_with("git+ssh://")
                || (!u.contains("://") && u.contains('@'))
            {
                "ssh"
            } else {
                "this URL"
            };
            out.push(format!(
                "{git} was asked for {}, and git rewrote it to {to}: url.{}.insteadOf={} at {} makes it {u} (the URL asked for is from {})",
                a.value, w.base, w.instead_of, w.origin, a.origin
            ));
        }
        (Some(a), None, _) => out.push(format!(
            "{git} was asked for {} ({}); no url.<base>.insteadOf in its git config rewrites it",
            a.value, a.origin
        )),
        (None, _, Some(u)) => out.push(format!("{} was given {u}", r.program)),
        _ => {}
    }
    if let Some(s) = &r.ssh {
        let mut parts = Vec::new();
        for (name, v) in [
            ("HostName", &s.hostname),
            ("Port", &s.port),
            ("User", &s.user),
            ("ProxyCommand", &s.proxy_command),
            ("ProxyJump", &s.proxy_jump),
            ("ConnectTimeout", &s.connect_timeout),
        ] {
            if let Some(v) = v {
                parts.push(format!("{name} {} ({})", v.value, v.origin));
            }
        }
        if parts.is_empty() {
            out.push(format!(
                "ssh's configuration sets nothing for {}: it connects to that name, port 22",
                s.destination
            ));
        } else {
            out.push(format!(
                "ssh destination {}: {}",
                s.destination,
                parts.join(", ")
            ));
        }
    }
    if !r.files.is_empty() {
        out.push(format!("config files read: {}", r.files.join(", ")));
    }
    out.extend(r.notes.iter().cloned());
    out
}

/// A socket to a nameserver: UDP or TCP to port 53 (`resolv.conf(5)` names no port;
/// the systemd-resolved stub 127.0.0.53 listens there too).
fn to_nameserver(s: &crate::evidence::SocketInfo) -> bool {
    s.family != "unix" && s.remote.as_deref().is_some_and(|r| r.ends_with(":53"))
}

/// Name resolution that does not finish: a process asleep with a socket to a nameserver in
/// every sample. Go's own resolver (`net/dnsclient_unix.go`) dials one connected UDP socket
/// per query and closes it when the answer arrives or its timeout (resolv.conf `timeout`,
/// 5 s by default) passes, so the same socket (descriptor and local port) in every sample
/// means no answer came back for that long; sockets replaced between samples mean queries
/// are answered or retried — slow, not silent. The nameserver and the resolver
/// configuration come from the process's own root (`/proc/PID/root/etc/resolv.conf`).
fn dns_wait(tree: &Tree, p: &ProcView, f: &mut Findings) {
    if p.cpu_share().is_some_and(|s| s >= 0.5) || p.samples() < 2 {
        return;
    }
    let every = p
        .history
        .iter()
        .all(|(_, s)| s.sockets.iter().any(to_nameserver));
    if !every {
        return;
    }
    let queries: Vec<_> = p.last.sockets.iter().filter(|s| to_nameserver(s)).collect();
    let first = p.history.first().map(|(_, s)| *s).unwrap_or(p.last);
    let same: Vec<_> = queries
        .iter()
        .filter(|s| {
            first
                .sockets
                .iter()
                .any(|o| o.fd == s.fd && o.local == s.local && o.remote == s.remote)
        })
        .copied()
        .collect();
    let s = same.first().copied().unwrap_or(queries[0]);
    let server = s.remote.clone().unwrap_or_default();
    let ns_ip = server
        .rsplit_once(':')
        .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']').to_string())
        .unwrap_or_default();
    let silent = !same.is_empty();
    let stub = ns_ip == "127.0.0.53";
    let host = resolving(tree, p);
    let mut v = Verdict::new(
        VerdictKind::NetworkWait,
        if silent {
            Confidence::High
        } else {
            Confidence::Medium
        },
        Some(p.pid()),
        format!(
            "{} waits for name resolution{}: {}",
            p.label(),
            host.as_ref()
                .map(|(h, why)| format!(" of {h} ({why})"))
                .unwrap_or_default(),
            if silent {
                format!(
                    "its queries to the nameserver {server}{} get no answer",
                    if stub {
                        " (the systemd-resolved stub)"
                    } else {
                        ""
                    }
                )
            } else {
                format!("the nameserver {server} answers slowly or its queries are retried")
            }
        ),
    );
    for q in queries.iter().take(4) {
        v = v.fact(format!(
            "fd {} {} {} → {}{}",
            q.fd,
            q.proto,
            q.local.as_deref().unwrap_or("?"),
            q.remote.as_deref().unwrap_or("?"),
            if same.iter().any(|o| o.fd == q.fd) {
                format!(
                    ", the same socket for {} (every sample): no answer came back (nothing unread, rx_queue {})",
                    secs(p.span_ms()),
                    q.rx_queue.unwrap_or(0)
                )
            } else {
                ", opened during the window".to_string()
            }
        ));
    }
    if !silent {
        v = v.fact(format!(
            "a socket to a nameserver in each of {} samples, replaced between them: queries are retried or answered slowly",
            p.samples()
        ));
    }
    match &p.last.resolver {
        Some(r) => {
            let listed = r.nameservers.contains(&ns_ip);
            v = v.fact(format!(
                "{} as the process sees it{}: nameserver {}{}",
                r.file,
                if r.differs_from_host {
                    " (not gohang's: another root or mount namespace)"
                } else {
                    ""
                },
                if r.nameservers.is_empty() {
                    "none (then 127.0.0.1 and ::1)".to_string()
                } else {
                    r.nameservers.join(", ")
                },
                if listed || r.nameservers.is_empty() {
                    String::new()
                } else {
                    format!("; {ns_ip} is not among them (another resolver configuration)")
                }
            ));
        }
        None => v = v.fact("its resolv.conf could not be read".to_string()),
    }
    let v = v.remedy(remedy::dns_wait(
        &ns_ip,
        p.last.resolver.as_ref().map(|r| r.file.as_str()),
        host.as_ref().map(|(h, _)| h.as_str()),
        stub,
    ));
    f.add(
        v,
        p.depth,
        format!("{}: a socket to {server} in every sample", p.label()),
    );
}

/// The host a process is likely resolving: the VCS host of a git/ssh, or the go
/// command's endpoints that are names and have no address yet.
fn resolving(tree: &Tree, p: &ProcView) -> Option<(String, String)> {
    if let Some(h) = vcs_of(p.last) {
        return Some((h, "the VCS host in its arguments".to_string()));
    }
    let ctx = tree.ev.go.as_ref()?;
    let names: Vec<&Endpoint> = ctx
        .endpoints
        .iter()
        .filter(|e| e.host.parse::<std::net::IpAddr>().is_err())
        .filter(|e| {
            // Not one it is connected to already.
            !e.addrs.iter().any(|a| {
                p.last
                    .sockets
                    .iter()
                    .any(|s| s.remote.as_deref() == Some(a.as_str()))
            })
        })
        .collect();
    match names.as_slice() {
        [] => None,
        [e] => Some((e.host.clone(), format!("the {} host", e.setting))),
        more => Some((
            more.iter()
                .map(|e| e.host.as_str())
                .collect::<Vec<_>>()
                .join(" or "),
            more.iter()
                .map(|e| e.setting.as_str())
                .collect::<Vec<_>>()
                .join(", ")
                + " hosts",
        )),
    }
}

/// The setting whose endpoint is this peer (`ip:port`).
fn role_of<'c>(ctx: Option<&'c GoContext>, remote: &str) -> Option<&'c Endpoint> {
    ctx?.endpoints
        .iter()
        .find(|e| e.addrs.iter().any(|a| a == remote))
}

fn setting_text(ctx: Option<&GoContext>, e: &Endpoint) -> String {
    ctx.and_then(|c| c.setting(&e.setting).map(str::to_string))
        .unwrap_or_else(|| format!("{}:{}", e.host, e.port))
}

/// The VCS host a git or ssh process talks to, from its arguments.
fn vcs_of(p: &ProcessSnapshot) -> Option<String> {
    let argv = p.argv.value()?;
    let base = argv.first()?.rsplit('/').next()?.to_string();
    if !(base.starts_with("git")
        || base == "ssh"
        || base == "hg"
        || base == "svn"
        || base == "bzr"
        || base == "fossil")
    {
        return None;
    }
    argv.iter().skip(1).find_map(|a| {
        if let Some((_, rest)) = a.split_once("://") {
            return Some(rest.split('/').next()?.rsplit('@').next()?.to_string());
        }
        // scp-like git@host:path, or ssh's plain host argument.
        a.split_once(':')
            .filter(|(h, _)| h.contains('@'))
            .map(|(h, _)| h.rsplit('@').next().unwrap_or(h).to_string())
    })
}

/// A GOTOOLCHAIN switch that downloads a toolchain: told by go.mod/go.work and the
/// settings (confirmed by the go command's own message), or by the message alone.
fn toolchain_download(tree: &Tree, f: &mut Findings) {
    let message = downloading_message(tree);
    if !from_module(tree, message.as_ref(), f)
        && let Some(m) = &message
    {
        from_message(tree, m, f);
    }
}

/// `go: downloading go1.25.0 (linux/amd64)`: the go command fetches toolchain module
/// `golang.org/toolchain` and prints this when its zip is not in the module cache yet
/// (`cmd/go/internal/modfetch/fetch.go`, `DownloadZip`; the form is seen in
/// golang/go#65568 and #66175). Module downloads print a path and a `v` version instead.
struct Downloading {
    line: String,
    version: String,
}

fn downloading_message(tree: &Tree) -> Option<Downloading> {
    tree.ev.output.stderr.tail.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("go: downloading ")?;
        let (version, platform) = rest.split_once(' ')?;
        let toolchain = version
            .strip_prefix("go")
            .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()));
        let platform = platform.strip_prefix('(')?.strip_suffix(')')?;
        (toolchain && platform.split('/').count() == 2 && !platform.contains(' ')).then(|| {
            Downloading {
                line: l.trim().to_string(),
                version: version.to_string(),
            }
        })
    })
}

/// From go.mod/go.work, the running go's version and GOTOOLCHAIN. Returns whether it
/// added a verdict.
fn from_module(tree: &Tree, message: Option<&Downloading>, f: &mut Findings) -> bool {
    let Some(ctx) = tree.ev.go.as_ref() else {
        return false;
    };
    let (Some(module), Some(local)) = (ctx.module.as_ref(), ctx.version.as_deref()) else {
        return false;
    };
    let gt = ctx.settings.get("GOTOOLCHAIN");
    let mode = gt.map(|s| s.value.as_str()).unwrap_or("");
    // The toolchain the module asks for: its `toolchain` line when at least its `go`
    // line, else go<go line> (cmd/go/internal/toolchain/select.go).
    // A `go 1.21`-style language version names release go1.21.0 (Go ≥ 1.21 toolchains).
    let go_line = module
        .go
        .as_deref()
        .map(|g| match gover::GoVersion::parse_name(g) {
            Some(v) if v.stage == gover::Stage::Language => format!("go{g}.0"),
            _ => format!("go{g}"),
        });
    let module_wants = match (&module.toolchain, &go_line) {
        (Some(t), Some(g)) if gover::compare(t, g) != Some(Ordering::Less) => Some(t.clone()),
        (_, Some(g)) => Some(g.clone()),
        (Some(t), None) => Some(t.clone()),
        (None, None) => None,
    };
    // GOTOOLCHAIN is `auto`, `path`, `local`, NAME, NAME+auto or NAME+path. NAME (else the
    // local toolchain) is the minimum; only with +auto/+path (or auto/path) may go.mod
    // raise it. A bare NAME means exactly that toolchain (select.go).
    let (min, suffix) = match mode.split_once('+') {
        Some((m, s)) => (m, s),
        None if mode == "auto" || mode == "path" => ("local", mode),
        None => (mode, ""),
    };
    let named = !min.is_empty() && min != "local";
    let may_raise = matches!(suffix, "auto" | "path");
    if !named && !may_raise {
        // GOTOOLCHAIN=local (or unset here): this go runs, whatever the module asks.
        if let Some(m) = module_wants
            .as_ref()
            .filter(|m| gover::compare(m, local) == Some(Ordering::Greater))
        {
            f.note(format!(
                "{} asks for {m} but GOTOOLCHAIN={mode:?}: go stops with an error instead of switching",
                module.path
            ));
        }
        return false;
    }
    let mut wanted = if named {
        min.to_string()
    } else {
        local.to_string()
    };
    let mut cause = remedy::SwitchCause::Setting;
    if may_raise
        && let Some(m) = &module_wants
        && gover::compare(m, &wanted) == Some(Ordering::Greater)
    {
        wanted = m.clone();
        cause = remedy::SwitchCause::Module;
    }
    if wanted == local || gover::compare(&wanted, local) == Some(Ordering::Equal) {
        return false;
    }
    if suffix == "path" {
        f.note(format!(
            "GOTOOLCHAIN={mode}: {wanted} is looked up on PATH, never downloaded"
        ));
        return false;
    }
    let Some(proc_) = tree.get(ctx.pid) else {
        return false;
    };
    let message = message.map(|m| m.line.clone());
    let net = f
        .candidates
        .iter()
        .find(|c| c.verdict.kind == VerdictKind::NetworkWait && c.verdict.pid == Some(ctx.pid))
        .map(|c| c.verdict.summary.clone());
    let goroutine = tree
        .ev
        .goroutines
        .as_ref()
        .and_then(|d| crate::goroutines::blocking(d, &[crate::goroutines::Cause::Toolchain]))
        .and_then(|(_, c)| c)
        .map(|(c, _)| c);
    let confirmed = message.is_some()
        || net.is_some()
        || goroutine == Some(crate::goroutines::Cause::Toolchain);
    let mut v = Verdict::new(
        VerdictKind::ToolchainDownload,
        if confirmed { Confidence::High } else { Confidence::Medium },
        Some(ctx.pid),
        match cause {
            remedy::SwitchCause::Module => format!(
                "{} is switching to {wanted}: {} asks for it, this go is {local}, and GOTOOLCHAIN={mode} lets it download one",
                proc_.label(),
                module.path
            ),
            _ => format!(
                "{} is switching to {wanted}: GOTOOLCHAIN={mode} names that toolchain (a bare name means exactly it), this go is {local}",
                proc_.label()
            ),
        },
    )
    .fact(format!(
        "{}: {}{}",
        module.path,
        module.go.as_deref().map(|g| format!("go {g}")).unwrap_or_default(),
        module.toolchain.as_deref().map(|t| format!(", toolchain {t}")).unwrap_or_default()
    ))
    .fact(format!("running go: {local}{}", ctx.goroot.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()))
    .fact(format!("GOTOOLCHAIN={mode} (from {})", gt.map(|s| s.source.as_str()).unwrap_or("default")));
    if let Some(m) = message {
        v = v.fact(format!("output: {m}"));
    }
    if let Some(n) = net {
        v = v.fact(format!("the download: {n}"));
    }
    let proxy = ctx.setting("GOPROXY").map(str::to_string);
    let v = v.remedy(remedy::toolchain_download(
        &wanted,
        Some(local),
        proxy.as_deref(),
        cause,
    ));
    f.add(
        v,
        proc_.depth,
        match cause {
            remedy::SwitchCause::Module => {
                format!("go.mod wants {wanted} > {local}, GOTOOLCHAIN={mode}")
            }
            _ => format!("GOTOOLCHAIN={mode} names {wanted}, this go is {local}"),
        },
    );
    true
}

/// The go command said it is downloading a toolchain and has not finished, but go.mod,
/// the running version or the settings could not tell why (unreadable, or a switch asked
/// for by GOTOOLCHAIN itself): medium confidence, the message is the evidence.
fn from_message(tree: &Tree, m: &Downloading, f: &mut Findings) {
    let ctx = tree.ev.go.as_ref();
    let go = ctx
        .and_then(|c| tree.get(c.pid))
        .or_else(|| {
            tree.procs
                .iter()
                .find(|q| crate::evidence::is_go_command(q.last))
        })
        .or_else(|| tree.root.and_then(|r| tree.get(r)));
    let Some(go) = go else {
        f.note(format!(
            "`{}` printed, but no go process is left to blame",
            m.line
        ));
        return;
    };
    // After the download the go command execs the new toolchain from the module cache
    // (`cmd/go/internal/toolchain/select.go`, same pid): then the download is over.
    if let Some(exe) = go
        .last
        .exe
        .value()
        .filter(|e| e.contains("/golang.org/toolchain@"))
    {
        f.note(format!(
            "`{}` printed, but pid {} already runs the downloaded toolchain ({exe})",
            m.line,
            go.pid()
        ));
        return;
    }
    let local = ctx
        .and_then(|c| c.version.clone())
        .or_else(|| go.last.go_version.clone());
    let mut v = Verdict::new(
        VerdictKind::ToolchainDownload,
        Confidence::Medium,
        Some(go.pid()),
        format!(
            "{} is downloading the Go toolchain {}{}, and has not finished",
            go.label(),
            m.version,
            local
                .as_deref()
                .map(|l| format!(" to run instead of {l}"))
                .unwrap_or_default()
        ),
    )
    .fact(format!("output: {}", m.line));
    let why = match ctx {
        None => {
            "the go command's settings and go.mod could not be read, so why it switches is unknown"
                .to_string()
        }
        Some(c) => match &c.module {
            None => format!(
                "no go.mod or go.work was read{}, so why it switches is unknown",
                if c.notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", c.notes.join("; "))
                }
            ),
            Some(module) => format!(
                "{} does not ask for it ({}); GOTOOLCHAIN={} ({})",
                module.path,
                module
                    .go
                    .as_deref()
                    .map(|g| format!("go {g}"))
                    .unwrap_or_else(|| "no go line".to_string()),
                c.setting("GOTOOLCHAIN").unwrap_or(""),
                c.settings
                    .get("GOTOOLCHAIN")
                    .map(|s| s.source.as_str())
                    .unwrap_or("default")
            ),
        },
    };
    v = v.fact(why);
    if let Some(l) = &local {
        v = v.fact(format!("running go: {l}"));
    }
    if let Some(n) = f
        .candidates
        .iter()
        .find(|c| c.verdict.kind == VerdictKind::NetworkWait && c.verdict.pid == Some(go.pid()))
    {
        v = v.fact(format!("the download: {}", n.verdict.summary));
    }
    let proxy = ctx.and_then(|c| c.setting("GOPROXY")).map(str::to_string);
    let v = v.remedy(remedy::toolchain_download(
        &m.version,
        local.as_deref(),
        proxy.as_deref(),
        remedy::SwitchCause::Unknown,
    ));
    f.add(
        v,
        go.depth,
        format!(
            "the output says `{}` and the command has not finished",
            m.line
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classify;
    use crate::evidence::{
        Evidence, Fact, HostInfo, Mode, Outcome, Sample, SyscallState, Target, ThreadSample, Tty,
    };

    /// A process asleep in one syscall (`nr` and `args` as x86_64 /proc shows them).
    fn asleep_in(
        pid: u32,
        ppid: u32,
        comm: &str,
        start: u64,
        call: (&str, i64, u64),
    ) -> ProcessSnapshot {
        let mut p: ProcessSnapshot = serde_json::from_str(&format!(
            r#"{{"pid":{pid},"ppid":{ppid},"comm":"{comm}","state":"sleeping","start_time":{start}}}"#
        ))
        .unwrap();
        p.pgrp = 100;
        p.binary = Fact::Collected(crate::evidence::ExeInfo {
            format: "elf".into(),
            arches: vec![crate::evidence::Arch::X86_64],
        });
        p.threads = vec![ThreadSample {
            tid: pid,
            name: comm.into(),
            state: RunState::Sleeping,
            wchan: None,
            syscall: Fact::Collected(SyscallState::InSyscall {
                nr: call.1,
                name: Some(call.0.into()),
                args: [call.2, 0, 0, 0, 0, 0],
            }),
            utime_ms: 0,
            stime_ms: 0,
            run_delay_ms: None,
        }];
        p
    }

    fn sh(wait_arg: u64) -> ProcessSnapshot {
        asleep_in(100, 1, "sh", 1, ("wait4", 61, wait_arg))
    }

    fn sleep(pid: u32, ppid: u32, start: u64) -> ProcessSnapshot {
        asleep_in(pid, ppid, "sleep", start, ("clock_nanosleep", 230, 0))
    }

    /// wait4's pid argument as /proc/PID/syscall shows it (a 32-bit pid_t, zero-extended).
    fn pid_arg(pid: i32) -> u64 {
        pid as u32 as u64
    }

    /// Three samples over a second of `procs` (root first), attached.
    fn evidence(procs: Vec<ProcessSnapshot>) -> Evidence {
        let host = HostInfo::plain(crate::evidence::Os::Linux, crate::evidence::Arch::X86_64, 2);
        let target = Target {
            mode: Mode::Attach,
            command: vec!["sh".into()],
            pid: Some(procs[0].pid),
            timeout_ms: None,
        };
        let mut ev = Evidence::new(host, target, Outcome::Attached);
        ev.samples = (0..3)
            .map(|i| Sample {
                at_ms: i * 500,
                processes: procs.clone(),
            })
            .collect();
        ev
    }

    fn primary(ev: &Evidence) -> (crate::verdict::Verdict, Vec<u32>, Vec<String>) {
        let c = classify(ev);
        (c.verdicts[0].clone(), c.chain, c.reasons)
    }

    #[test]
    fn a_wait_for_any_child_follows_the_newest_and_says_it_is_a_guess() {
        // sh -c 'sleep 104 & sleep 105': both in the shell's group, the background one first.
        let ev = evidence(vec![
            sh(pid_arg(-1)),
            sleep(101, 100, 5),
            sleep(102, 100, 6),
        ]);
        let (v, chain, reasons) = primary(&ev);
        assert_eq!(v.kind, VerdictKind::ChildWait, "{reasons:#?}");
        assert_eq!(chain, vec![100, 102]);
        assert_eq!(
            v.confidence,
            Confidence::Medium,
            "a guess is not high confidence"
        );
        assert!(
            v.evidence.iter().any(|e| e
                .contains("pid 102 (sleep) is taken as the one because it is the newest")
                && e.contains("a guess")
                && e.contains("passed over: pid 101 (sleep)")),
            "{:#?}",
            v.evidence
        );
        // Started in the same clock tick: the higher pid is the newer.
        let ev = evidence(vec![
            sh(pid_arg(-1)),
            sleep(101, 100, 5),
            sleep(102, 100, 5),
        ]);
        assert_eq!(primary(&ev).1, vec![100, 102]);
        // The order of the sample does not decide.
        let ev = evidence(vec![
            sh(pid_arg(-1)),
            sleep(102, 100, 6),
            sleep(101, 100, 5),
        ]);
        assert_eq!(primary(&ev).1, vec![100, 102]);
    }

    #[test]
    fn the_terminals_foreground_job_is_the_one_a_shell_waits_for() {
        // An interactive shell: a newer background job in group 101, the foreground job
        // in group 102, which the terminal's foreground is.
        let tty = |fg| {
            Some(Tty {
                dev: 0x8801,
                name: Some("/dev/pts/1".into()),
                foreground_pgrp: Some(fg),
            })
        };
        let mut fg = sleep(102, 100, 5);
        fg.pgrp = 102;
        fg.tty = tty(102);
        let mut bg = sleep(101, 100, 9);
        bg.pgrp = 101;
        bg.tty = tty(102);
        let ev = evidence(vec![sh(pid_arg(-1)), bg, fg]);
        let (v, chain, _) = primary(&ev);
        assert_eq!(chain, vec![100, 102]);
        assert_eq!(v.confidence, Confidence::High);
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("because it is in its terminal's foreground process group;")),
            "{:#?}",
            v.evidence
        );
        assert!(v.evidence.iter().all(|e| !e.contains("guess")));
    }

    #[test]
    fn the_fix_fits_the_leaf_a_test_binary_or_a_toolexec_program() {
        let with_argv = |mut p: ProcessSnapshot, argv: &[&str]| {
            p.argv = Fact::Collected(argv.iter().map(|s| s.to_string()).collect());
            p
        };
        let go = |args: &[&str]| with_argv(asleep_in(100, 1, "go", 1, ("wait4", 61, 200)), args);
        let leaf =
            |argv: &[&str]| with_argv(asleep_in(200, 100, "leaf", 2, ("futex", 202, 0)), argv);
        let ev = evidence(vec![
            go(&["go", "test", "./..."]),
            leaf(&[
                "/tmp/go-build1/b001/x.test",
                "-test.paniconexit0",
                "-test.timeout=10m0s",
            ]),
        ]);
        let (v, chain, _) = primary(&ev);
        assert_eq!(chain, vec![100, 200]);
        assert_eq!(v.kind, VerdictKind::ChildWait);
        assert!(
            v.evidence
                .iter()
                .any(|e| e.starts_with("it is the test binary `go test` built and runs")),
            "{:#?}",
            v.evidence
        );
        let fix = v.remedy.unwrap();
        assert!(
            fix.starts_with("a test hangs: `go test -run 'NAME' -timeout 30s`"),
            "{fix}"
        );
        assert!(!fix.contains("GOPROXY") && !fix.contains("go mod download"));

        let ev = evidence(vec![
            go(&["go", "build", "-toolexec=/opt/bin/wrap -v", "./..."]),
            leaf(&[
                "/opt/bin/wrap",
                "-v",
                "/usr/lib/go/pkg/tool/linux_amd64/compile",
                "-o",
                "x.a",
            ]),
        ]);
        let (v, _, _) = primary(&ev);
        assert!(v.evidence.iter().any(|e| e == "it is the -toolexec program `/opt/bin/wrap -v` (from the go command's arguments), which go runs in front of every tool"), "{:#?}", v.evidence);
        assert!(
            v.remedy
                .unwrap()
                .starts_with("the -toolexec program `/opt/bin/wrap -v` is what hangs")
        );

        let ev = evidence(vec![
            go(&["go", "generate", "./..."]),
            leaf(&["stringer", "-type=Pill"]),
        ]);
        let (v, _, _) = primary(&ev);
        assert!(
            v.remedy
                .unwrap()
                .starts_with("the generator `stringer` hangs, not go")
        );
    }

    #[test]
    fn a_wait_for_one_pid_or_group_picks_nothing() {
        // wait4(101): the older child, named.
        let ev = evidence(vec![sh(101), sleep(101, 100, 5), sleep(102, 100, 6)]);
        let (v, chain, _) = primary(&ev);
        assert_eq!(chain, vec![100, 101]);
        assert_eq!(v.confidence, Confidence::High);
        assert!(v.evidence.iter().all(|e| !e.contains("passed over")));
        // wait4(0): only the child in the shell's own process group.
        let mut other = sleep(102, 100, 6);
        other.pgrp = 102;
        let ev = evidence(vec![sh(0), sleep(101, 100, 5), other.clone()]);
        assert_eq!(primary(&ev).1, vec![100, 101]);
        // wait4(-102): only the child in group 102.
        let ev = evidence(vec![sh(pid_arg(-102)), sleep(101, 100, 5), other]);
        assert_eq!(primary(&ev).1, vec![100, 102]);
    }

    #[test]
    fn a_deeper_chain_below_a_passed_over_child_does_not_win() {
        // sh -c '(sleep 104; :) & sleep 105': the background subshell waits for its own
        // child, one level deeper than the foreground sleep.
        let sub = asleep_in(101, 100, "sh", 5, ("wait4", 61, pid_arg(-1)));
        let ev = evidence(vec![
            sh(pid_arg(-1)),
            sub,
            sleep(103, 101, 6),
            sleep(102, 100, 7),
        ]);
        let (v, chain, reasons) = primary(&ev);
        assert_eq!(v.pid, Some(102), "{reasons:#?}");
        assert_eq!(chain, vec![100, 102]);
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("pid 103 (sleep): leaf of a wait chain (a side branch)")),
            "{reasons:#?}"
        );
        // Without the foreground sleep, the side branch is all there is: it is still
        // named, at low confidence.
        let sub = asleep_in(101, 100, "sh", 5, ("wait4", 61, pid_arg(-1)));
        let mut gone = sleep(102, 100, 7);
        gone.state = RunState::Zombie;
        let ev = evidence(vec![sh(pid_arg(-1)), sub, sleep(103, 101, 6), gone]);
        let (v, chain, _) = primary(&ev);
        assert_eq!(v.kind, VerdictKind::ChildWait);
        assert_eq!(chain, vec![100, 101, 103]);
    }

    /// go build in a module asking for go 1.99, GOTOOLCHAIN=auto, a silent proxy (recorded).
    fn toolchain_fixture() -> Evidence {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_gotoolchain_auto_download/evidence.json"
        ))
        .unwrap()
    }

    fn toolchain_verdict(ev: &Evidence) -> Option<crate::verdict::Verdict> {
        classify(ev)
            .verdicts
            .into_iter()
            .find(|v| v.kind == VerdictKind::ToolchainDownload)
    }

    #[test]
    fn the_download_message_alone_is_a_medium_toolchain_download() {
        // go.mod could not be read.
        let mut ev = toolchain_fixture();
        ev.go.as_mut().unwrap().module = None;
        ev.go.as_mut().unwrap().notes = vec!["/home/gopher/src/app not read".into()];
        let v = toolchain_verdict(&ev).expect("the message says it");
        assert_eq!(v.pid, Some(10396));
        assert_eq!(v.confidence, Confidence::Medium);
        assert!(
            v.summary
                .contains("downloading the Go toolchain go1.99.0 to run instead of go1.23.5"),
            "{}",
            v.summary
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e == "output: go: downloading go1.99.0 (linux/amd64)"),
            "{:#?}",
            v.evidence
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e
                    .starts_with("no go.mod or go.work was read (/home/gopher/src/app not read)")),
            "{:#?}",
            v.evidence
        );
        assert!(
            v.evidence.iter().any(|e| e.starts_with("the download: ")),
            "{:#?}",
            v.evidence
        );
        assert!(
            v.remedy
                .as_deref()
                .unwrap()
                .contains("stay on go1.23.5 with GOTOOLCHAIN=local")
        );

        // No go context at all: the go process is found in the tree, the version in its
        // build info.
        ev.go = None;
        let v = toolchain_verdict(&ev).expect("the message says it");
        assert_eq!(v.pid, Some(10396));
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("settings and go.mod could not be read"))
        );

        // Without the message, nothing tells.
        ev.output.stderr.tail.clear();
        assert!(toolchain_verdict(&ev).is_none());
    }

    #[test]
    fn a_go_mod_that_explains_the_switch_keeps_high_confidence() {
        let v = toolchain_verdict(&toolchain_fixture()).unwrap();
        assert_eq!(v.confidence, Confidence::High);
        assert!(v.summary.contains("go.mod asks for it"), "{}", v.summary);
    }

    /// A bare GOTOOLCHAIN name means exactly that toolchain; only NAME+auto lets go.mod
    /// raise it (cmd/go/internal/toolchain/select.go).
    #[test]
    fn a_bare_gotoolchain_name_is_the_toolchain_go_switches_to() {
        let mut ev = toolchain_fixture();
        let set = |ev: &mut Evidence, v: &str| {
            ev.go
                .as_mut()
                .unwrap()
                .settings
                .get_mut("GOTOOLCHAIN")
                .unwrap()
                .value = v.to_string();
        };
        set(&mut ev, "go1.22.0");
        ev.output.stderr.tail = "go: downloading go1.22.0 (linux/amd64)\n".into();
        let v = toolchain_verdict(&ev).expect("a switch to go1.22.0");
        assert!(
            v.summary.contains("switching to go1.22.0") && !v.summary.contains("go1.99"),
            "{}",
            v.summary
        );
        let r = v.remedy.as_deref().unwrap();
        assert!(
            r.contains("GOTOOLCHAIN=go1.22.0 names that toolchain"),
            "{r}"
        );
        // Toolchains are checked against the checksum database whatever GOSUMDB says.
        assert!(r.contains("even with GOSUMDB=off or GONOSUMDB"), "{r}");

        set(&mut ev, "go1.22.0+auto");
        ev.output.stderr.tail = "go: downloading go1.99.0 (linux/amd64)\n".into();
        let v = toolchain_verdict(&ev).unwrap();
        assert!(v.summary.contains("switching to go1.99.0"), "{}", v.summary);
        assert!(v.summary.contains("asks for it"), "{}", v.summary);
    }

    /// `rx_queue` 0 means nothing unread, not nothing received: silence is claimed only
    /// when the received-byte count did not grow; a trickle is a slow transfer, with its rate.
    #[test]
    fn an_ssh_alias_is_named_by_its_real_host_and_the_rewrite_by_its_rule() {
        use crate::evidence::{RemoteContext, Sourced, SshHost, UrlRewrite};
        let mut ev: Evidence = serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_silent_goproxy_network_wait/evidence.json"
        ))
        .unwrap();
        ev.go = None;
        let pid = classify(&ev).verdicts[0].pid.unwrap();
        for sample in &mut ev.samples {
            for p in sample.processes.iter_mut().filter(|p| p.pid == pid) {
                p.comm = "ssh".into();
                p.argv = Fact::Collected(
                    [
                        "ssh",
                        "-o",
                        "BatchMode=yes",
                        "gohost",
                        "git-upload-pack '/org/r.git'",
                    ]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                );
            }
        }
        let at = |v: &str, o: &str| Sourced {
            value: v.into(),
            origin: o.into(),
        };
        ev.remotes = vec![RemoteContext {
            pid,
            program: "ssh".into(),
            git_pid: Some(7),
            module: Some("git.example.com/org/r.git@latest".into()),
            repository: Some("/m/cache/vcs/ab12".into()),
            asked: Some(at(
                "https://git.example.com/org/r.git",
                "remote.origin.url in /m/cache/vcs/ab12/config line 5",
            )),
            url: Some("ssh://gohost/org/r.git".into()),
            rewrite: Some(UrlRewrite {
                base: "ssh://gohost/".into(),
                instead_of: "https://git.example.com/".into(),
                origin: "/home/u/.gitconfig line 2".into(),
            }),
            ssh: Some(SshHost {
                destination: "gohost".into(),
                hostname: Some(at("127.0.0.1", "/home/u/.ssh/config line 5")),
                port: Some(at("2222", "/home/u/.ssh/config line 6")),
                ..Default::default()
            }),
            files: vec!["/home/u/.gitconfig".into(), "/home/u/.ssh/config".into()],
            notes: Vec::new(),
        }];
        let v = classify(&ev).verdicts.remove(0);
        assert_eq!(v.kind, VerdictKind::NetworkWait);
        assert!(
            v.summary.contains("(the ssh server 127.0.0.1 port 2222, repository /org/r.git, host alias gohost (HostName set in /home/u/.ssh/config line 5))"),
            "{}",
            v.summary
        );
        let has = |want: &str| v.evidence.iter().any(|e| e.contains(want));
        assert!(
            has(
                "it serves module git.example.com/org/r.git@latest (the go command's argument), repository /m/cache/vcs/ab12"
            ),
            "{:#?}",
            v.evidence
        );
        assert!(
            has(
                "git (pid 7) was asked for https://git.example.com/org/r.git, and git rewrote it to ssh: url.ssh://gohost/.insteadOf=https://git.example.com/ at /home/u/.gitconfig line 2 makes it ssh://gohost/org/r.git (the URL asked for is from remote.origin.url in /m/cache/vcs/ab12/config line 5)"
            ),
            "{:#?}",
            v.evidence
        );
        assert!(!has("looks like a host alias"));
        assert!(
            v.remedy.as_deref().unwrap().contains("127.0.0.1"),
            "{:?}",
            v.remedy
        );
    }

    #[test]
    fn a_trickling_peer_is_slow_not_silent() {
        let fixture = || -> Evidence {
            serde_json::from_str(include_str!(
                "../../tests/fixtures/linux_silent_goproxy_network_wait/evidence.json"
            ))
            .unwrap()
        };
        let count = |ev: &mut Evidence, per_s: u64| {
            for sample in &mut ev.samples {
                let at = sample.at_ms;
                for p in &mut sample.processes {
                    for s in &mut p.sockets {
                        s.bytes_received = Some(5000 + per_s * at / 1000);
                    }
                }
            }
        };
        let of_kind = |ev: &Evidence, kind: VerdictKind| {
            classify(ev)
                .verdicts
                .into_iter()
                .find(|v| v.kind == kind)
                .unwrap()
        };
        let network = |ev: &Evidence| of_kind(ev, VerdictKind::NetworkWait);
        // A proxy trickling 20 B/s: progressing, not a network wait.
        let mut ev = fixture();
        count(&mut ev, 20);
        let c = classify(&ev);
        assert_eq!(c.verdicts[0].kind, VerdictKind::Progressing, "{c:#?}");
        assert!(
            c.verdicts
                .iter()
                .all(|v| v.kind != VerdictKind::NetworkWait)
        );
        let v = of_kind(&ev, VerdictKind::Progressing);
        assert!(v.summary.contains("receives slowly"), "{}", v.summary);
        assert!(v.summary.contains("(20 B/s)"), "{}", v.summary);
        assert!(v.summary.contains(", since "), "{}", v.summary);
        assert_eq!(v.confidence, Confidence::Medium);
        assert!(v.evidence.iter().all(|e| !e.contains("nothing received")));
        // A silent one, measured: high confidence, and it says how it knows.
        let mut ev = fixture();
        count(&mut ev, 0);
        let v = network(&ev);
        assert_eq!(v.confidence, Confidence::High);
        assert!(
            v.evidence.iter().any(|e| e.contains(
                "nothing received over the window (tcp_info bytes_received stayed at 5000"
            )),
            "{:#?}",
            v.evidence
        );
        // Not measured: no claim of silence.
        let v = network(&fixture());
        assert_eq!(v.confidence, Confidence::Medium);
        assert!(v.evidence.iter().all(|e| !e.contains("nothing received")));
    }

    #[test]
    fn only_the_toolchain_form_of_the_message_counts() {
        let mut ev = toolchain_fixture();
        ev.go = None;
        ev.output.stderr.tail =
            "go: downloading go1.example.com/m v1.0.0\ngo: downloading golang.org/x/mod v0.20.0\n"
                .into();
        assert!(toolchain_verdict(&ev).is_none());
    }

    #[test]
    fn a_go_already_running_the_downloaded_toolchain_is_past_the_download() {
        let mut ev = toolchain_fixture();
        ev.go = None;
        for s in &mut ev.samples {
            for p in &mut s.processes {
                p.exe = Fact::Collected(
                    "/home/gopher/go/pkg/mod/golang.org/toolchain@v0.0.1-go1.99.0.linux-amd64/bin/go".into(),
                );
            }
        }
        let c = classify(&ev);
        assert!(
            c.verdicts
                .iter()
                .all(|v| v.kind != VerdictKind::ToolchainDownload)
        );
        assert!(
            c.reasons
                .iter()
                .any(|r| r.contains("already runs the downloaded toolchain"))
        );
    }

    /// `pid` in flock(2), waiting for a lock `holder` (started at `holder_start`) holds.
    fn lock_waiter(pid: u32, ppid: u32, start: u64, holder: (u32, Option<u64>)) -> ProcessSnapshot {
        let mut p = asleep_in(pid, ppid, "go", start, ("flock", 73, 3));
        p.locks = vec![LockInfo {
            kind: "flock".into(),
            mode: "write".into(),
            waiting: true,
            file: "08:01:42".into(),
            path: Some(format!(
                "/m/cache/download/example.com/dep/@v/v1.0.0.lock#{pid}"
            )),
            holder: Some(crate::evidence::LockHolder {
                pid: holder.0,
                start_time: holder.1,
                comm: "go".into(),
                command: None,
            }),
        }];
        p
    }

    #[test]
    fn a_stopped_lock_holder_outside_the_tree_is_the_cause() {
        let mut holder = sleep(200, 1, 7);
        holder.comm = "go".into();
        holder.state = RunState::Stopped;
        holder.threads[0].state = RunState::Stopped;
        let ev = evidence(vec![lock_waiter(100, 1, 5, (200, Some(7))), holder.clone()]);
        let (v, chain, reasons) = primary(&ev);
        assert_eq!(v.kind, VerdictKind::Stopped, "{reasons:#?}");
        assert_eq!(v.pid, Some(200));
        assert_eq!(chain, vec![100, 200]);
        assert!(
            v.summary
                .starts_with("pid 100 (go) waits for the lock on /m/cache/download/example.com/dep/@v/v1.0.0.lock#100 that pid 200 (go) holds; "),
            "{}",
            v.summary
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e == "chain: pid 100 (go) → pid 200 (go)")
        );
        let c = classify(&ev);
        assert!(c.verdicts.iter().any(|v| v.kind == VerdictKind::LockWait));

        // The pid now belongs to another process: it is not followed (the observer does
        // not sample it either).
        let ev = evidence(vec![lock_waiter(100, 1, 5, (200, Some(6))), holder]);
        let c = classify(&ev);
        assert!(
            c.verdicts
                .iter()
                .all(|v| !v.summary.contains("that pid 200 (go) holds;")),
            "{:#?}",
            c.verdicts
        );
        assert_ne!(c.chain, vec![100, 200]);
        assert!(
            c.reasons
                .iter()
                .any(|r| r.contains("another process, not followed"))
        );
    }

    #[test]
    fn holders_followed_through_a_second_lock_and_a_cycle_is_a_deadlock() {
        // 100 waits for 200's lock, 200 for 300's, and 300 is stopped.
        let mut third = sleep(300, 1, 9);
        third.state = RunState::Stopped;
        third.threads[0].state = RunState::Stopped;
        let ev = evidence(vec![
            lock_waiter(100, 1, 5, (200, None)),
            lock_waiter(200, 1, 7, (300, Some(9))),
            third,
        ]);
        let (v, chain, reasons) = primary(&ev);
        assert_eq!(v.kind, VerdictKind::Stopped, "{reasons:#?}");
        assert_eq!(chain, vec![100, 200, 300]);
        assert!(
            v.summary.contains(", and pid 200 (go) waits for the lock"),
            "{}",
            v.summary
        );

        // 100 and 200 wait for each other.
        let ev = evidence(vec![
            lock_waiter(100, 1, 5, (200, Some(7))),
            lock_waiter(200, 1, 7, (100, Some(5))),
        ]);
        let (v, _, reasons) = primary(&ev);
        assert_eq!(v.kind, VerdictKind::LockWait, "{reasons:#?}");
        assert!(
            v.evidence.iter().any(|e| e.starts_with("a deadlock: ")),
            "{:#?}",
            v.evidence
        );
    }

    fn udp(fd: i32, port: u16, to: &str) -> crate::evidence::SocketInfo {
        crate::evidence::SocketInfo {
            fd,
            family: "inet".into(),
            proto: "udp".into(),
            local: Some(format!("10.0.0.2:{port}")),
            remote: Some(to.into()),
            state: None,
            rx_queue: Some(0),
            tx_queue: Some(0),
            bytes_received: None,
        }
    }

    #[test]
    fn queries_unanswered_and_queries_replaced_are_told_apart() {
        let mut p = asleep_in(100, 1, "go", 1, ("futex", 202, 0));
        p.sockets = vec![udp(7, 40000, "10.0.0.53:53")];
        p.resolver = Some(crate::evidence::ResolverConf {
            file: "/etc/resolv.conf".into(),
            nameservers: vec!["10.0.0.53".into()],
            search: vec![],
            differs_from_host: true,
        });
        let ev = evidence(vec![p.clone()]);
        let (v, _, reasons) = primary(&ev);
        assert_eq!(v.kind, VerdictKind::NetworkWait, "{reasons:#?}");
        assert_eq!(v.confidence, Confidence::High);
        assert!(
            v.summary.contains("10.0.0.53:53 get no answer"),
            "{}",
            v.summary
        );
        assert!(
            v.evidence.iter().any(|e| e.contains("not gohang's")),
            "{:#?}",
            v.evidence
        );

        // A new query socket in each sample: answered slowly or retried.
        let mut ev = evidence(vec![p]);
        for (i, s) in ev.samples.iter_mut().enumerate() {
            s.processes[0].sockets = vec![udp(7 + i as i32, 40000 + i as u16, "10.0.0.53:53")];
        }
        let (v, _, _) = primary(&ev);
        assert_eq!(v.kind, VerdictKind::NetworkWait);
        assert_eq!(v.confidence, Confidence::Medium);
        assert!(
            v.summary
                .contains("answers slowly or its queries are retried"),
            "{}",
            v.summary
        );

        // No socket to a nameserver in one sample: not a wait for it.
        ev.samples[1].processes[0].sockets.clear();
        assert_ne!(primary(&ev).0.kind, VerdictKind::NetworkWait);
    }

    #[test]
    fn askpass_given_through_git_config_environment() {
        let env = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let (v, via) = askpass_in_git_env(&env(&[(
            "GIT_CONFIG_PARAMETERS",
            "'core.askpass'='/opt/dialog' 'a.b'='c'",
        )]))
        .unwrap();
        assert_eq!(v, "/opt/dialog");
        assert!(via.starts_with("GIT_CONFIG_PARAMETERS"));
        let (v, via) = askpass_in_git_env(&env(&[
            ("GIT_CONFIG_COUNT", "2"),
            ("GIT_CONFIG_KEY_0", "user.name"),
            ("GIT_CONFIG_VALUE_0", "x"),
            ("GIT_CONFIG_KEY_1", "core.askPass"),
            ("GIT_CONFIG_VALUE_1", "/opt/other"),
        ]))
        .unwrap();
        assert_eq!(
            (v.as_str(), via.as_str()),
            ("/opt/other", "GIT_CONFIG_KEY_1/GIT_CONFIG_VALUE_1")
        );
        assert!(askpass_in_git_env(&env(&[("GIT_CONFIG_COUNT", "0")])).is_none());
    }

    #[test]
    fn an_asleep_credential_helper_is_prompt_wait_and_the_cache_daemon_is_not() {
        let mut git = asleep_in(100, 1, "git-remote-http", 1, ("wait4", 61, 101));
        git.argv = Fact::Collected(vec!["git-remote-https".into(), "origin".into()]);
        let mut helper = asleep_in(101, 100, "git", 2, ("read", 0, 0));
        helper.argv = Fact::Collected(vec![
            "git".into(),
            "credential-libsecret".into(),
            "get".into(),
        ]);
        let ev = evidence(vec![git.clone(), helper.clone()]);
        let (v, chain, reasons) = primary(&ev);
        assert_eq!(v.kind, VerdictKind::PromptWait, "{reasons:#?}");
        assert_eq!(chain, vec![100, 101]);
        assert!(
            v.summary.contains("credential.helper (libsecret)"),
            "{}",
            v.summary
        );
        helper.argv = Fact::Collected(vec!["git".into(), "credential-cache--daemon".into()]);
        let ev = evidence(vec![git, helper]);
        assert_ne!(primary(&ev).0.kind, VerdictKind::PromptWait);
    }

    #[test]
    fn ssh_destinations_from_arguments() {
        let mut p: ProcessSnapshot =
            serde_json::from_str(r#"{"pid":1,"ppid":0,"comm":"ssh","state":"sleeping"}"#).unwrap();
        p.argv = crate::evidence::Fact::Collected(
            [
                "ssh",
                "-o",
                "SendEnv=GIT_PROTOCOL",
                "-p",
                "2222",
                "git@gitalias",
                "git-upload-pack '/org/r.git'",
            ]
            .map(String::from)
            .to_vec(),
        );
        let t = ssh_target(&p).unwrap();
        assert_eq!(
            (
                t.user.as_deref(),
                t.host.as_str(),
                t.port.as_deref(),
                t.repo.as_deref()
            ),
            (Some("git"), "gitalias", Some("2222"), Some("/org/r.git"))
        );
        p.argv = crate::evidence::Fact::Collected(
            [
                "ssh",
                "-oPort=22",
                "-l",
                "me",
                "host.example",
                "git-receive-pack 'x'",
            ]
            .map(String::from)
            .to_vec(),
        );
        let t = ssh_target(&p).unwrap();
        assert_eq!(
            (t.user.as_deref(), t.port.as_deref()),
            (Some("me"), Some("22"))
        );
    }

    #[test]
    fn lock_purposes() {
        assert_eq!(
            lock_purpose("/home/u/go/pkg/mod/cache/download/example.com/m/@v/v1.0.0.lock").unwrap(),
            "the module cache's lock for example.com/m@v1.0.0 (a go command takes it while it downloads that module)"
        );
        assert!(
            lock_purpose("/home/u/go/pkg/mod/cache/lock")
                .unwrap()
                .contains("side lock")
        );
        assert!(
            lock_purpose("/home/u/go/pkg/mod/cache/vcs/abc.lock")
                .unwrap()
                .contains("VCS")
        );
        assert_eq!(lock_purpose("/tmp/x.lock"), None);
    }

    #[test]
    fn vcs_hosts_from_arguments() {
        let mut p: ProcessSnapshot = serde_json::from_str(
            r#"{"pid":1,"ppid":0,"comm":"git-remote-http","state":"sleeping"}"#,
        )
        .unwrap();
        p.argv = crate::evidence::Fact::Collected(vec![
            "git-remote-https".into(),
            "origin".into(),
            "https://git.example.com/org/repo".into(),
        ]);
        assert_eq!(vcs_of(&p).as_deref(), Some("git.example.com"));
        p.argv = crate::evidence::Fact::Collected(vec![
            "ssh".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "git@github.example:org/repo".into(),
        ]);
        assert_eq!(vcs_of(&p).as_deref(), Some("github.example"));
        p.argv = crate::evidence::Fact::Collected(vec!["go".into(), "build".into()]);
        assert_eq!(vcs_of(&p), None);
    }
}
