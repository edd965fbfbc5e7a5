//! Rules over what the command printed: messages that name a cause outright.
//!
//! Each rule says where the message comes from. They look at the captured tails of
//! stdout and stderr only, so a message scrolled out of the tail is missed, not invented.

use super::{Findings, tree::Tree};
use crate::classify::remedy;
use crate::verdict::{Confidence, Verdict, VerdictKind};

pub(super) fn rules(tree: &Tree, f: &mut Findings) {
    let out = &tree.ev.output;
    for text in [&out.stderr.tail, &out.stdout.tail] {
        for line in text.lines() {
            exec_of_foreign_binary(tree, line, f);
        }
    }
}

/// `fork/exec /path/to/tool: exec format error` (Linux ENOEXEC) or `bad CPU type in
/// executable` (macOS EBADARCH), printed by Go's os/exec when the go command runs a tool
/// of the wrong architecture (e.g. a foreign `pkg/tool/<os>_<arch>/compile`).
fn exec_of_foreign_binary(tree: &Tree, line: &str, f: &mut Findings) {
    let lower = line.to_ascii_lowercase();
    let err = if lower.contains("exec format error") {
        "exec format error"
    } else if lower.contains("bad cpu type in executable") {
        "bad CPU type in executable"
    } else {
        return;
    };
    if f.candidates
        .iter()
        .any(|c| c.verdict.kind == VerdictKind::ArchMismatch)
    {
        return;
    }
    // The path sits between "fork/exec " (Go) or "zsh: "/"sh: " and the ": <error>".
    let binary = line
        .find("fork/exec ")
        .map(|i| &line[i + "fork/exec ".len()..])
        .and_then(|rest| rest.split(": ").next())
        .map(str::to_string);
    let ev = tree.ev;
    let hw = ev.host.hardware_arch.display_for(&ev.host.os);
    let summary = match &binary {
        Some(b) => format!("`{b}` is not built for this {hw} machine and could not be run ({err})"),
        None => format!("a program of the wrong architecture could not be run ({err})"),
    };
    let v = Verdict::new(VerdictKind::ArchMismatch, Confidence::High, None, summary)
        .fact(format!("output: {}", line.trim()))
        .fact(format!("hardware architecture: {hw}"))
        .remedy(remedy::arch_mismatch(&ev.host.os, None));
    f.add(v, 0, format!("the output says `{err}`"));
}
