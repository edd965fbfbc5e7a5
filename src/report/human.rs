//! The report for a person on a terminal: what is stuck, since when, why, what to do.

use super::Report;
use crate::classify::secs;
use crate::evidence::Outcome;
use crate::verdict::VerdictKind;
use std::io::{self, Write};

pub struct Style {
    pub verbose: bool,
    pub color: bool,
}

/// `s` in the SGR colour `code` (`"1;31"`: bold red) when `color`, else as it is. Every
/// human report (probe/attach, check, scan) paints with this.
pub fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        paint(self.color, code, s)
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn kind(&self, k: VerdictKind) -> String {
        let code = match k {
            VerdictKind::Healthy => "1;32",
            VerdictKind::Idle | VerdictKind::Progressing => "1;33",
            _ => "1;31",
        };
        self.paint(code, k.as_str())
    }
}

pub fn write<W: Write + ?Sized>(w: &mut W, r: &Report, style: &Style) -> io::Result<()> {
    let what = r.target.command.join(" ");
    match &r.outcome {
        Outcome::TimedOut { elapsed_ms } => writeln!(
            w,
            "gohang {}: `{what}` did not finish within {}; sampled {} process{} over {}",
            r.command,
            secs(r.target.timeout_ms.unwrap_or(*elapsed_ms)),
            r.processes.len(),
            if r.processes.len() == 1 { "" } else { "es" },
            window_text(r)
        )?,
        Outcome::Attached => writeln!(
            w,
            "gohang {}: pid {} (`{what}`), sampled {} process{} over {}",
            r.command,
            r.target.pid.unwrap_or(0),
            r.processes.len(),
            if r.processes.len() == 1 { "" } else { "es" },
            window_text(r)
        )?,
        Outcome::SpawnFailed { .. } => {
            writeln!(w, "gohang {}: `{what}` could not be started", r.command)?
        }
        Outcome::Exited { .. } | Outcome::Vanished { .. } => {}
    }

    let p = r.primary();
    if p.kind == VerdictKind::Healthy {
        writeln!(
            w,
            "{} {}: {}",
            style.paint("1;32", "✓"),
            style.kind(p.kind),
            p.summary
        )?;
        if style.verbose {
            for e in &p.evidence {
                writeln!(w, "    • {e}")?;
            }
        }
    } else {
        writeln!(w)?;
        writeln!(
            w,
            "{} {} ({} confidence)",
            style.paint("1;31", "✗"),
            style.kind(p.kind),
            p.confidence
        )?;
        writeln!(w, "  {}", style.bold(&p.summary))?;
        if r.chain.len() > 1 {
            let chain: Vec<String> = r
                .chain
                .iter()
                .map(|pid| {
                    let name = r
                        .processes
                        .iter()
                        .find(|q| q.pid == *pid)
                        .map(|q| {
                            q.command
                                .split_whitespace()
                                .next()
                                .unwrap_or("")
                                .rsplit('/')
                                .next()
                                .unwrap_or("")
                                .to_string()
                        })
                        .unwrap_or_default();
                    format!("{pid} {name}").trim().to_string()
                })
                .collect();
            writeln!(w, "  chain: {}", chain.join(" → "))?;
        }
        if !p.evidence.is_empty() {
            writeln!(w, "  evidence:")?;
            for e in &p.evidence {
                writeln!(w, "    • {e}")?;
            }
        }
        if let Some(fix) = &p.remedy {
            writeln!(w, "  fix:")?;
            writeln!(w, "    {}", style.paint("36", fix))?;
        }
    }

    let others: Vec<_> = r.verdicts.iter().skip(1).collect();
    if !others.is_empty() {
        writeln!(w)?;
        writeln!(w, "also:")?;
        for v in others {
            writeln!(
                w,
                "  {} ({}): {}",
                style.kind(v.kind),
                v.confidence,
                v.summary
            )?;
            if style.verbose {
                for e in &v.evidence {
                    writeln!(w, "    • {e}")?;
                }
                if let Some(fix) = &v.remedy {
                    writeln!(w, "    fix: {fix}")?;
                }
            }
        }
    }

    if !r.processes.is_empty() && (style.verbose || p.kind != VerdictKind::Healthy) {
        writeln!(w)?;
        writeln!(w, "processes (newest sample):")?;
        writeln!(
            w,
            "  {:>7} {:>7} {:<5} {:>5} {:<8} COMMAND",
            "PID", "PPID", "STATE", "CPU%", "ARCH"
        )?;
        for q in &r.processes {
            let cpu = q
                .cpu_percent
                .map(|c| format!("{c:.0}"))
                .unwrap_or_else(|| "-".into());
            let arch = match (&q.arch, q.translation.is_native()) {
                (Some(a), true) => a.clone(),
                (Some(a), false) => format!("{a}*"),
                (None, _) => "?".into(),
            };
            let mut cmd = q.command.clone();
            if cmd.len() > 80 {
                let cut = (0..=77)
                    .rev()
                    .find(|i| cmd.is_char_boundary(*i))
                    .unwrap_or(0);
                cmd.truncate(cut);
                cmd.push('…');
            }
            writeln!(
                w,
                "  {:>7} {:>7} {:<5} {:>5} {:<8} {}",
                q.pid,
                q.ppid,
                q.state.letter(),
                cpu,
                arch,
                cmd
            )?;
        }
        if r.processes.iter().any(|q| !q.translation.is_native()) {
            writeln!(w, "  (* runs translated)")?;
        }
    }

    for n in &r.notes {
        writeln!(w, "note: {n}")?;
    }
    if !r.kept_pids.is_empty() {
        let pids: Vec<String> = r.kept_pids.iter().map(|p| p.to_string()).collect();
        writeln!(w, "left running (--keep): {}", pids.join(" "))?;
    }
    if style.verbose && !r.reasons.is_empty() {
        writeln!(w)?;
        writeln!(w, "decision trail:")?;
        for reason in &r.reasons {
            writeln!(w, "  - {reason}")?;
        }
    }
    Ok(())
}

fn window_text(r: &Report) -> String {
    format!(
        "{} ({} sample{})",
        secs(r.window_ms),
        r.samples,
        if r.samples == 1 { "" } else { "s" }
    )
}
