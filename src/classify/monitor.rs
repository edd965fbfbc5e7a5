//! A process held by a file access monitor: its open or exec waits, uninterruptibly, for
//! a fanotify listener to allow it (fanotify(7): FAN_OPEN_PERM, FAN_ACCESS_PERM,
//! FAN_OPEN_EXEC_PERM). The listener is usually an antivirus or endpoint-security agent
//! scanning on access; a build that opens thousands of files waits on it for each, and an
//! agent that stops answering stops the build. The kernel shows the wait as state D with
//! the wait channel in its fanotify code (`fanotify_handle_event`, on older kernels
//! `fanotify_get_response`), which is not a disk, NFS or FUSE server.
//!
//! Signal: `ThreadSample::wchan`, the thread's open (`descriptor_waits`), and
//! `Evidence::access_monitors` (the processes holding a fanotify group).

use super::tree::{ProcView, Tree};
use crate::evidence::{DescriptorOp, ThreadSample};
use crate::verdict::{Confidence, Verdict, VerdictKind};

/// The io-wait of `p` when its threads in D wait for a fanotify permission decision.
pub(super) fn permission_wait(
    tree: &Tree,
    p: &ProcView,
    d_threads: &[&ThreadSample],
    samples: (usize, usize),
) -> Option<Verdict> {
    let held: Vec<&&ThreadSample> = d_threads
        .iter()
        .filter(|t| t.wchan.as_deref().is_some_and(|w| w.contains("fanotify")))
        .collect();
    let first = held.first()?;
    let (d_in, n) = samples;
    let opening = p
        .last
        .descriptor_waits
        .iter()
        .find(|w| w.op == DescriptorOp::Open && held.iter().any(|t| t.tid == w.tid));
    let what = match opening {
        Some(w) => format!("in {} of {}", w.call, w.target),
        None => "opening or running a file".to_string(),
    };
    let monitors = tree.ev.access_monitors.as_ref();
    let listeners: Vec<String> = monitors
        .map(|m| {
            m.listeners
                .iter()
                .map(|l| format!("pid {} ({})", l.pid, l.comm))
                .collect()
        })
        .unwrap_or_default();
    let partial = monitors.is_none_or(|m| m.partial);
    let who = match (listeners.is_empty(), partial) {
        (false, _) => listeners.join(", "),
        (true, true) => "the file access monitor (its process was not found: as root gohang reads every process's descriptors)".to_string(),
        (true, false) => "the file access monitor (no process holds a fanotify group any more)".to_string(),
    };
    let confidence = if !listeners.is_empty() && n >= 2 {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let mut v = Verdict::new(
        VerdictKind::IoWait,
        confidence,
        Some(p.pid()),
        format!(
            "{} is held {what} by a file access permission check (fanotify): {who} has not answered whether it may go on",
            p.label()
        ),
    )
    .fact(format!(
        "state D in {d_in}/{n} samples; thread {} sleeps in {} (the kernel's fanotify permission wait)",
        first.tid,
        first.wchan.as_deref().unwrap_or_default()
    ));
    if let Some(m) = monitors {
        for l in &m.listeners {
            v = v.fact(format!(
                "pid {} ({}) holds a fanotify group as fd {:?}: `{}`",
                l.pid, l.comm, l.fds, l.command
            ));
        }
        if m.partial {
            v = v.fact("the search for fanotify listeners was incomplete (descriptors of other users' processes need root)");
        }
    }
    let agent = match monitors.and_then(|m| m.listeners.first()) {
        Some(l) => format!("pid {} (`{}`)", l.pid, l.comm),
        None => "an antivirus or endpoint-security agent".to_string(),
    };
    Some(v.remedy(format!(
        "{agent} decides whether each watched open or exec may go on, and has not answered: look at its logs and state (a scan that hangs, an overloaded or crashed agent), and ask whoever runs it to exclude Go's directories from on-access scanning (`go env GOROOT GOCACHE GOMODCACHE` and the project); the process stays blocked until the agent answers or closes its fanotify descriptor, which allows what it had not answered (fanotify(7))"
    )))
}
