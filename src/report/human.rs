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

/// `s` with every control character shown as an escape (`\n`, `\t`, `\x1b`, `\u{9b}`):
/// a command line, a path or a process name comes from the observed processes, and one
/// with a newline would break the report's lines, one with an escape sequence would drive
/// the user's terminal.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The report with every string it prints made [`visible`].
fn printable(r: &Report) -> Report {
    let v = |s: &String| visible(s).into_owned();
    let mut r = r.clone();
    r.target.command = r.target.command.iter().map(v).collect();
    for verdict in &mut r.verdicts {
        verdict.summary = v(&verdict.summary);
        verdict.evidence = verdict.evidence.iter().map(v).collect();
        verdict.remedy = verdict.remedy.as_ref().map(v);
    }
    for q in &mut r.processes {
        q.command = v(&q.command);
    }
    r.notes = r.notes.iter().map(v).collect();
    r.reasons = r.reasons.iter().map(v).collect();
    r
}

pub fn write<W: Write + ?Sized>(w: &mut W, r: &Report, style: &Style) -> io::Result<()> {
    let r = &printable(r);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Evidence, Fact};

    #[test]
    fn control_characters_from_the_processes_are_shown_not_sent() {
        let mut ev: Evidence = serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_idle_go_sleeper/evidence.json"
        ))
        .unwrap();
        for s in &mut ev.samples {
            for p in &mut s.processes {
                p.argv = Fact::Collected(vec![
                    "./sleeper".into(),
                    "line one\nline two".into(),
                    "\x1b[2J\u{9b}31m".into(),
                ]);
            }
        }
        let c = crate::classify::classify(&ev);
        let r = Report::new("probe", &ev, &c, Vec::new(), 2);
        let mut out = Vec::new();
        let style = Style {
            verbose: true,
            color: false,
        };
        write(&mut out, &r, &style).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.lines().all(|l| !l.chars().any(char::is_control)),
            "{text}"
        );
        assert!(
            text.contains("./sleeper line one\\nline two \\x1b[2J\\u{9b}31m"),
            "{text}"
        );
        assert_eq!(visible("plain"), "plain");
    }
}
