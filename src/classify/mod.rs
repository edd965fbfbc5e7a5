//! The classifier: a pure function from [`Evidence`] to ordered verdicts.
//!
//! No I/O, no clock, no `cfg`: the same evidence gives the same verdicts on every OS, and
//! every rule can be tested from a JSON fixture. Each rule reads one kind of signal, says
//! in a comment where the signal comes from, and appends to the decision trail
//! (`reasons`) why it fired or did not.
//!
//! Ranking (DESIGN.md): the primary verdict is the root cause at the end of the wait
//! chain; external causes (frozen, stopped, traced, waits) outrank `translated`, which
//! outranks `spinning` and `idle`.

mod activity;
pub mod advice;
pub mod analysis;
mod descriptors;
mod frames;
mod messages;
mod monitor;
mod native;
mod observer;
mod outcome;
mod progress;
pub mod remedy;
mod started;
mod stopped;
mod toolchain;
mod trace;
mod translated;
mod tree;
mod waits;

use crate::evidence::Evidence;
use crate::verdict::{Verdict, VerdictKind};
use serde::{Deserialize, Serialize};
use tree::Tree;

/// The classifier's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Primary first, then secondary verdicts by rank; at least one.
    pub verdicts: Vec<Verdict>,
    /// Pids from the root of the observed tree to the primary culprit.
    pub chain: Vec<u32>,
    /// The decision trail: why each verdict was chosen (shown with `-v`).
    pub reasons: Vec<String>,
}

/// A verdict proposed by a rule, with where its culprit sits in the tree.
pub(crate) struct Candidate {
    pub verdict: Verdict,
    pub depth: usize,
    /// The chain to report when this verdict is primary, where it leaves the tree's
    /// parent links (a wait across processes: writer → the reader of its pipe).
    pub chain: Option<Vec<u32>>,
    /// The rank this candidate sorts by when not its kind's own: a cause found at the end
    /// of a wait across processes outranks the wait it explains (a holder's network wait
    /// under the lock wait of the process that waits for it).
    pub rank: Option<u8>,
}

impl Candidate {
    fn rank(&self) -> u8 {
        self.rank.unwrap_or_else(|| self.verdict.kind.rank())
    }
}

/// Collects candidates and the decision trail while the rules run.
pub(crate) struct Findings {
    pub candidates: Vec<Candidate>,
    pub reasons: Vec<String>,
    /// Processes a verdict of another process accounts for (a writer upstream of a blocked
    /// one, a reader whose writer is named): no `idle` or `child-wait` of their own.
    pub explained: Vec<u32>,
}

impl Findings {
    pub fn add(&mut self, verdict: Verdict, depth: usize, reason: String) {
        self.reasons.push(format!("{}: {}", verdict.kind, reason));
        self.candidates.push(Candidate {
            verdict,
            depth,
            chain: None,
            rank: None,
        });
    }
    pub fn add_with_chain(
        &mut self,
        verdict: Verdict,
        depth: usize,
        reason: String,
        chain: Vec<u32>,
    ) {
        self.reasons.push(format!("{}: {}", verdict.kind, reason));
        self.candidates.push(Candidate {
            verdict,
            depth,
            chain: Some(chain),
            rank: None,
        });
    }
    pub fn explain(&mut self, pid: u32) {
        if !self.explained.contains(&pid) {
            self.explained.push(pid);
        }
    }
    pub fn note(&mut self, reason: String) {
        self.reasons.push(reason);
    }
}

/// Classify evidence into verdicts, primary first.
pub fn classify(ev: &Evidence) -> Classification {
    let tree = Tree::new(ev);
    let mut f = Findings {
        candidates: Vec::new(),
        reasons: Vec::new(),
        explained: Vec::new(),
    };

    outcome::rules(&tree, &mut f);
    messages::rules(&tree, &mut f);
    if ev.outcome.is_stall() {
        let graph = waits::WaitGraph::build(&tree);
        for e in &graph.edges {
            f.note(format!(
                "pid {} waits for pid {} ({}{}){}",
                e.parent,
                e.child,
                e.how,
                if e.explicit { "" } else { ", inferred" },
                e.choice
                    .as_ref()
                    .map(|c| format!(", picked among its children: {}", c.why))
                    .unwrap_or_default()
            ));
        }
        for e in &graph.passed_over {
            f.note(format!(
                "pid {} may wait for pid {} too ({}): passed over",
                e.parent, e.child, e.how
            ));
        }
        stopped::rules(&tree, &mut f);
        waits::rules(&tree, &mut f);
        descriptors::rules(&tree, &mut f);
        translated::rules(&tree, &mut f);
        activity::rules(&tree, &graph, &mut f);
        native::rules(&tree, &mut f);
        trace::rules(&tree, &mut f);
        waits::across(&tree, &mut f);
    }
    let c = frames::amend(ev, finish(&tree, f));
    observer::amend(ev, toolchain::amend(ev, started::amend(ev, c)))
}

/// Order the candidates: highest rank first; among equals, the deepest process (the end of
/// the chain) and then the higher confidence. Keep one verdict per kind.
fn finish(tree: &Tree, f: Findings) -> Classification {
    let Findings {
        mut candidates,
        mut reasons,
        explained: accounted,
    } = f;
    candidates.sort_by(|a, b| {
        b.rank()
            .cmp(&a.rank())
            .then(b.depth.cmp(&a.depth))
            .then(b.verdict.confidence.cmp(&a.verdict.confidence))
            .then(a.verdict.pid.cmp(&b.verdict.pid))
    });
    // `idle` and `child-wait` mean "asleep, no cause found here": drop them for a process
    // that another rule explained (a wait, a prompt at _dyld_start, …).
    let explained: Vec<u32> = candidates
        .iter()
        .filter(|c| c.verdict.kind.rank() > VerdictKind::ChildWait.rank())
        .filter_map(|c| c.verdict.pid)
        .chain(accounted)
        .collect();
    candidates.retain(|c| {
        !(matches!(c.verdict.kind, VerdictKind::Idle | VerdictKind::ChildWait)
            && c.chain.is_none()
            && c.verdict.pid.is_some_and(|p| explained.contains(&p)))
    });
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut primary_chain: Option<Vec<u32>> = None;
    for c in candidates {
        if !verdicts.iter().any(|v| v.kind == c.verdict.kind) {
            if verdicts.is_empty() {
                primary_chain = c.chain;
            }
            verdicts.push(c.verdict);
        }
    }
    if verdicts.is_empty() {
        // Nothing matched: say so honestly rather than guess.
        reasons.push("no rule matched the evidence".to_string());
        verdicts.push(
            Verdict::new(
                VerdictKind::Idle,
                crate::verdict::Confidence::Low,
                tree.root,
                "no cause could be identified from the evidence collected",
            )
            .facts(tree.ev.notes.iter().cloned()),
        );
    }
    goroutine_evidence(tree.ev, &mut verdicts[0], &mut reasons);
    let chain = match verdicts[0].pid {
        _ if primary_chain.is_some() => primary_chain.unwrap_or_default(),
        Some(pid) if !tree.procs.is_empty() => tree.chain_to(pid),
        Some(pid) => vec![pid],
        None => tree.root.into_iter().collect(),
    };
    if let Some(p) = verdicts.first() {
        reasons.push(format!(
            "primary: {} (rank {}), chain {:?}",
            p.kind,
            p.kind.rank(),
            chain
        ));
    }
    Classification {
        verdicts,
        chain,
        reasons,
    }
}

/// The Go runtime's own account (a goroutine dump) joins the primary verdict's evidence:
/// the goroutine that explains the stall and the frame that shows why, or the fact that
/// the runtime did not answer at all (itself a sign of a wedged emulator or a stop).
fn goroutine_evidence(ev: &Evidence, primary: &mut Verdict, reasons: &mut Vec<String>) {
    let Some(dump) = &ev.goroutines else { return };
    if !dump.answered {
        if let Some(note) = &dump.note {
            primary.evidence.push(format!("pid {}: {note}", dump.pid));
        }
        return;
    }
    let Some(line) = goroutine_line(dump, primary.kind) else {
        return;
    };
    reasons.push(format!("goroutine dump: {line}"));
    // `idle` and `spinning` quote the dump of their own process already.
    if !primary.evidence.contains(&line) {
        primary.evidence.push(line);
    }
}

/// The goroutine of an answered dump that matters most for a verdict of `kind`, as one
/// evidence line: "Go runtime of pid 42 (read from memory): goroutine 7 [syscall]: … waits
/// for a file lock (in …)".
pub(crate) fn goroutine_line(
    dump: &crate::evidence::GoroutineDump,
    kind: VerdictKind,
) -> Option<String> {
    use crate::goroutines::Cause;
    let preferred: &[Cause] = match kind {
        VerdictKind::LockWait => &[Cause::Lock],
        VerdictKind::NetworkWait => &[Cause::Network],
        VerdictKind::ToolchainDownload => &[Cause::Toolchain, Cause::Network],
        VerdictKind::ChildWait => &[Cause::Child],
        VerdictKind::PromptWait => &[Cause::Child, Cause::Read],
        _ => &[],
    };
    let (g, cause) = crate::goroutines::blocking(dump, preferred)?;
    Some(match cause {
        Some((c, frame)) => format!(
            "{}: {} {} (in {})",
            runtime_of(dump),
            crate::goroutines::describe(g),
            c.describe(),
            frame.function
        ),
        None => format!("{}: {}", runtime_of(dump), crate::goroutines::describe(g)),
    })
}

/// "Go runtime of pid 42", and where the goroutines came from when it was not the runtime's
/// own answer to SIGQUIT: "Go runtime of pid 42 (read from memory)".
pub(crate) fn runtime_of(dump: &crate::evidence::GoroutineDump) -> String {
    match dump.source.as_deref() {
        Some(s) => format!("Go runtime of pid {} (read from {s})", dump.pid),
        None => format!("Go runtime of pid {}", dump.pid),
    }
}

/// Milliseconds as seconds for people: "2.0 s", "0.35 s".
pub(crate) fn secs(ms: u64) -> String {
    if ms >= 10_000 {
        format!("{:.0} s", ms as f64 / 1000.0)
    } else if ms >= 1000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{:.2} s", ms as f64 / 1000.0)
    }
}
