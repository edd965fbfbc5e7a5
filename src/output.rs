//! What every command shares about its result: the global flags' effect on printing
//! ([`Output`]), writing the result on stdout ([`emit`]), and the exit outcome of a verdict
//! ([`verdict_exit`]). The dispatcher (`app`) builds an [`Output`] from the command line;
//! the commands use this module, never the dispatcher.

use crate::classify::Classification;
use crate::error::{Exit, UserError};
use crate::evidence::{Evidence, Outcome};
use crate::verdict::{Confidence, VerdictKind};
use std::io::Write;
use std::time::Duration;

/// How a command prints, from the global flags.
#[derive(Clone, Copy, Debug, Default)]
pub struct Output {
    /// `--quiet`: only the verdict line (and errors).
    pub quiet: bool,
    /// `--verbose`: the decision trail too.
    pub verbose: bool,
    /// Colour on stdout: `--color`, NO_COLOR and whether stdout is a terminal, decided.
    pub color: bool,
}

/// Write a command's result on stdout: one JSON document with `--json`, else the human
/// text (told whether to colour). A closed pipe is not an error (`gohang … | head`).
pub fn emit<T: serde::Serialize>(
    out: &Output,
    json: bool,
    value: &T,
    human: impl FnOnce(&mut dyn Write, bool) -> std::io::Result<()>,
) -> Result<(), UserError> {
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let res = if json {
        serde_json::to_writer_pretty(&mut w, value)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(w))
    } else {
        human(&mut w, out.color)
    }
    .and_then(|_| w.flush());
    match res {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(UserError::internal(format!("writing the report: {e}")))
        }
        _ => Ok(()),
    }
}

/// DESIGN.md: 0 finished / not stuck; 1 stall or failure diagnosed; 2 stalled, cause unknown.
pub fn verdict_exit(ev: &Evidence, c: &Classification) -> Exit {
    let p = &c.verdicts[0];
    match (&ev.outcome, p.kind) {
        (_, VerdictKind::Healthy) => Exit::Ok,
        (Outcome::TimedOut { .. } | Outcome::Attached, VerdictKind::Idle)
            if p.confidence == Confidence::Low =>
        {
            Exit::Unidentified
        }
        _ => Exit::Diagnosed,
    }
}

/// What a sampling window longer than the timeout means, said once on stderr.
pub fn window_note(timeout: Duration, window: Duration) -> Option<String> {
    (window > timeout).then(|| {
        format!(
            "--window {:.3?} is longer than --timeout {:.3?}: the tree is sampled for {:.3?} after the \
             deadline, so the report comes after about {:.3?}; a long window helps see slow \
             progress, a short one answers sooner",
            window,
            timeout,
            window,
            timeout + window
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_past_the_timeout_is_noted() {
        assert!(window_note(Duration::from_secs(1), Duration::from_secs(3)).is_some());
        assert!(window_note(Duration::from_secs(10), Duration::from_secs(2)).is_none());
    }
}
