//! gohang attached to one of its own ancestors (`gohang attach $$` from a shell, or its
//! grandparent): gohang leaves itself out of the observation, so its parent looks asleep
//! in `wait4` with its child gone from view, and the wait rules would call it stuck and
//! advise killing it — the user's shell. A parent whose only wait is gohang is named as
//! such instead (issue 14), with no fix that kills anything.

use super::Classification;
use crate::evidence::Evidence;
use crate::verdict::{Confidence, Verdict, VerdictKind};

/// Replace a primary "asleep / waits for a child" verdict that ends at gohang's parent.
pub(super) fn amend(ev: &Evidence, mut c: Classification) -> Classification {
    let Some(o) = ev.observer else { return c };
    let p = &c.verdicts[0];
    let at_parent = p.pid == Some(o.parent) || c.chain.last() == Some(&o.parent);
    if !at_parent || !matches!(p.kind, VerdictKind::ChildWait | VerdictKind::Idle) {
        return c;
    }
    let name = ev
        .last_sample()
        .and_then(|s| s.process(o.parent))
        .map(|p| p.comm.clone())
        .unwrap_or_else(|| "its parent".to_string());
    let via = if c.chain.len() > 1 {
        format!(
            "; the chain {} ends there",
            c.chain
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" → ")
        )
    } else {
        String::new()
    };
    let v = Verdict::new(
        VerdictKind::Healthy,
        Confidence::High,
        Some(o.parent),
        format!(
            "{name} (pid {}) waits only for gohang itself (pid {}, this observation): it is not stuck on anything else{via}",
            o.parent, o.pid
        ),
    )
    .fact(format!(
        "gohang (pid {}) is a child of pid {} and was left out of the observation",
        o.pid, o.parent
    ))
    .fact("nothing to fix: the wait ends when gohang does".to_string());
    c.reasons.push(format!(
        "the primary verdict ({}) ended at pid {}, gohang's own parent, which waits for gohang → replaced",
        p.kind, o.parent
    ));
    c.verdicts = vec![v];
    c
}
