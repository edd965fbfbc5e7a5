//! `report.md`: the bundle as an issue a person can paste — the verdict first, then its
//! evidence, the processes, the environment, and the command that made it. Built from the
//! same report as `report.json`; the redactor passes over it like over every other file.

use super::collect::GoEnvDoc;
use super::gorun::GoRun;
use super::host::{self, HostFacts};
use crate::classify::secs;
use crate::evidence::{GoroutineDump, Outcome};
use crate::report::Report;
use crate::verdict::VerdictKind;
use std::fmt::Write;

/// Lines of each output stream shown in the Markdown (output-tail.txt has the rest).
const OUTPUT_LINES: usize = 30;
/// Goroutines shown (goroutines.txt has them all).
const GOROUTINES_SHOWN: usize = 8;
/// Settings shown from `go env`, in this order.
const GO_SETTINGS: &[&str] = &[
    "GOVERSION",
    "GOROOT",
    "GOOS",
    "GOARCH",
    "GOHOSTARCH",
    "GOTOOLCHAIN",
    "GOPROXY",
    "GOSUMDB",
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GOINSECURE",
    "GOFLAGS",
    "CGO_ENABLED",
    "GOMODCACHE",
    "GOENV",
];

pub struct MdInput<'a> {
    pub report: &'a Report,
    /// The gohang command line that made the bundle.
    pub invocation: &'a str,
    /// When (RFC 3339, UTC).
    pub created: &'a str,
    pub host: &'a HostFacts,
    pub go_version: &'a GoRun,
    /// What the go binary says statically, when `go version` did not answer.
    pub go_version_static: Option<&'a str>,
    pub go_env: &'a GoEnvDoc,
    /// `check.json`'s document (its `toolchain` and `analysis` fields are read).
    pub check: &'a serde_json::Value,
    pub goroutines: Option<&'a GoroutineDump>,
    /// Every file of the bundle with its description.
    pub files: &'a [(String, String)],
}

/// Inline code that survives backticks inside.
fn code(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A fenced block whose fence is longer than any run of backticks inside.
fn block(lang: &str, s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let body = if s.ends_with('\n') || s.is_empty() {
        s.to_string()
    } else {
        format!("{s}\n")
    };
    format!("{fence}{lang}\n{body}{fence}\n")
}

/// A table cell: no line breaks, pipes escaped.
fn cell(s: &str) -> String {
    s.replace('\n', " ").replace('|', "\\|")
}

fn last_lines(s: &str, n: usize) -> (String, usize) {
    let lines: Vec<&str> = s.lines().collect();
    let skip = lines.len().saturating_sub(n);
    (lines[skip..].join("\n"), skip)
}

fn outcome_text(r: &Report) -> String {
    let procs = |n: usize| format!("{n} process{}", if n == 1 { "" } else { "es" });
    let window = format!(
        "{} ({} sample{})",
        secs(r.window_ms),
        r.samples,
        if r.samples == 1 { "" } else { "s" }
    );
    match &r.outcome {
        Outcome::Exited {
            code,
            signal,
            elapsed_ms,
        } => match (code, signal) {
            (Some(c), _) => format!("finished with exit status {c} after {}", secs(*elapsed_ms)),
            (None, Some(s)) => format!("killed by signal {s} after {}", secs(*elapsed_ms)),
            _ => format!("finished after {}", secs(*elapsed_ms)),
        },
        Outcome::SpawnFailed { error, .. } => format!("could not be started: {error}"),
        Outcome::TimedOut { elapsed_ms } => format!(
            "did not finish within {}; sampled {} over {window}",
            secs(r.target.timeout_ms.unwrap_or(*elapsed_ms)),
            procs(r.processes.len())
        ),
        Outcome::Attached => format!(
            "attached to pid {}; sampled {} over {window}",
            r.target.pid.unwrap_or(0),
            procs(r.processes.len())
        ),
        Outcome::Vanished { after_ms } => {
            format!("exited while it was observed ({} in)", secs(*after_ms))
        }
    }
}

pub fn write(i: &MdInput) -> String {
    let mut s = String::new();
    summary(&mut s, i);
    verdicts(&mut s, i);
    processes(&mut s, i);
    goroutines(&mut s, i);
    output(&mut s, i);
    go_version(&mut s, i);
    toolchain(&mut s, i);
    go_env(&mut s, i);
    notes(&mut s, i);
    files(&mut s, i);
    s
}

/// The title, who made the bundle, and the summary.
fn summary(s: &mut String, i: &MdInput) {
    let r = i.report;
    let p = r.primary();
    let what = r.target.command.join(" ");
    let _ = writeln!(s, "# gohang: {} — {}", code(&what), p.kind);
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Made by {} (gohang {}) at {}.",
        code(i.invocation),
        i.host.gohang_version,
        i.created
    );
    let _ = writeln!(s);

    let _ = writeln!(s, "## Summary");
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "**{}** ({} confidence): {}",
        p.kind, p.confidence, p.summary
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "- {}: {}", code(&what), outcome_text(r));
    if r.chain.len() > 1 {
        let chain: Vec<String> = r.chain.iter().map(u32::to_string).collect();
        let _ = writeln!(s, "- wait chain (pids): {}", chain.join(" → "));
    }
    let _ = writeln!(s, "- gohang {} exit code: {}", r.command, r.exit_code);
    let _ = writeln!(s);
}

/// Every verdict with its evidence and fix.
fn verdicts(s: &mut String, i: &MdInput) {
    let r = i.report;
    let _ = writeln!(s, "## Verdicts");
    for (n, v) in r.verdicts.iter().enumerate() {
        let _ = writeln!(s);
        let pid = v.pid.map(|p| format!(", pid {p}")).unwrap_or_default();
        let _ = writeln!(
            s,
            "### {}. {} — {} confidence{pid}",
            n + 1,
            v.kind,
            v.confidence
        );
        let _ = writeln!(s);
        let _ = writeln!(s, "{}", v.summary);
        if !v.evidence.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "Evidence:");
            let _ = writeln!(s);
            for e in &v.evidence {
                let _ = writeln!(s, "- {e}");
            }
        }
        if let Some(fix) = &v.remedy {
            let _ = writeln!(s);
            let _ = writeln!(s, "Fix:");
            let _ = writeln!(s);
            let _ = write!(s, "{}", block("", fix));
        }
    }
    let _ = writeln!(s);
}

/// The processes of the newest sample, as a table.
fn processes(s: &mut String, i: &MdInput) {
    let r = i.report;
    if !r.processes.is_empty() {
        let _ = writeln!(s, "## Processes (newest sample)");
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "| pid | ppid | state | CPU % | arch | translation | threads | command |"
        );
        let _ = writeln!(s, "| ---: | ---: | :---: | ---: | --- | --- | ---: | --- |");
        for q in &r.processes {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                q.pid,
                q.ppid,
                q.state.letter(),
                q.cpu_percent
                    .map(|c| format!("{c:.0}"))
                    .unwrap_or_else(|| "-".into()),
                q.arch.as_deref().unwrap_or("?"),
                q.translation.translator(),
                q.threads,
                cell(&code(&q.command))
            );
        }
        let _ = writeln!(s);
    }
}

/// The goroutines blocked on something external.
fn goroutines(s: &mut String, i: &MdInput) {
    if let Some(d) = i.goroutines {
        let _ = writeln!(s, "## Goroutines of pid {}", d.pid);
        let _ = writeln!(s);
        if let Some(n) = &d.note {
            let _ = writeln!(s, "{n}");
            let _ = writeln!(s);
        }
        if !d.goroutines.is_empty() {
            let blocking = d
                .goroutines
                .iter()
                .filter_map(|g| crate::goroutines::cause_of(g).map(|_| g))
                .take(GOROUTINES_SHOWN);
            let _ = writeln!(
                s,
                "{} goroutines; those blocked on something external (goroutines.txt has all):",
                d.goroutines.len()
            );
            let _ = writeln!(s);
            let mut text = String::new();
            for g in blocking {
                let _ = writeln!(text, "{}", crate::goroutines::describe(g));
            }
            if text.is_empty() {
                text = "none".to_string();
            }
            let _ = write!(s, "{}", block("text", &text));
            let _ = writeln!(s);
        }
    }
}

/// The last lines of the command's output.
fn output(s: &mut String, i: &MdInput) {
    let r = i.report;
    let shown: Vec<(&str, &crate::evidence::StreamTail)> =
        [("stdout", &r.output.stdout), ("stderr", &r.output.stderr)]
            .into_iter()
            .filter(|(_, t)| !t.tail.is_empty())
            .collect();
    if !shown.is_empty() {
        let _ = writeln!(s, "## Output");
        for (name, t) in shown {
            let (text, skipped) = last_lines(&t.tail, OUTPUT_LINES);
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "<details><summary>{name}: {} bytes{}</summary>",
                t.total_bytes,
                if skipped > 0 || t.truncated {
                    format!(", last {OUTPUT_LINES} lines (output-tail.txt has more)")
                } else {
                    String::new()
                }
            );
            let _ = writeln!(s);
            let _ = write!(s, "{}", block("text", &text));
            let _ = writeln!(s);
            let _ = writeln!(s, "</details>");
        }
        let _ = writeln!(s);
    }
}

/// The host and `go version`.
fn go_version(s: &mut String, i: &MdInput) {
    let _ = writeln!(s, "## Environment");
    let _ = writeln!(s);
    let h = i.host;
    let _ = write!(s, "{}", block("text", &host::to_text(h)));
    let _ = writeln!(s);
    let _ = writeln!(s, "{}:", code(&i.go_version.command));
    let _ = writeln!(s);
    if i.go_version.succeeded() {
        let _ = write!(s, "{}", block("text", i.go_version.stdout_text().trim()));
    } else {
        let mut text = format!("{}\n", i.go_version.describe());
        if let Some(st) = i.go_version_static {
            let _ = write!(text, "read from files instead:\n{st}\n");
        }
        let _ = write!(s, "{}", block("text", &text));
    }
    let _ = writeln!(s);
}

/// The toolchain facts `check` read from files.
fn toolchain(s: &mut String, i: &MdInput) {
    let analysis = &i.check["analysis"];
    let toolchain = &i.check["toolchain"];
    let field = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let facts: Vec<String> = [
        ("go on PATH", field(&toolchain["go_path"])),
        ("GOROOT", field(&toolchain["goroot"])),
        ("built by", field(&analysis["go_version"])),
        ("arch", field(&analysis["go_arch"])),
        ("runs", field(&analysis["go_fit"]["kind"])),
        ("toolchain binaries", field(&analysis["state"])),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some(format!("- {k}: {}", code(&v?))))
    .collect();
    if !facts.is_empty() {
        let _ = writeln!(s, "Toolchain, read from files (check.json):");
        let _ = writeln!(s);
        for f in facts {
            let _ = writeln!(s, "{f}");
        }
        let _ = writeln!(s);
    }
}

/// The Go settings: `go env`, or what was read from files.
fn go_env(s: &mut String, i: &MdInput) {
    let _ = writeln!(s, "{}:", code(&i.go_env.run.command));
    let _ = writeln!(s);
    let mut settings = String::new();
    match &i.go_env.env {
        Some(env) => {
            for k in GO_SETTINGS {
                if let Some(v) = env[*k].as_str() {
                    let _ = writeln!(settings, "{k}={v}");
                }
            }
        }
        None => {
            let _ = writeln!(settings, "# {}", i.go_env.run.describe());
            let _ = writeln!(settings, "# read from files instead (source after #):");
            if let Some(v) = &i.go_env.from_files.version {
                let _ = writeln!(settings, "GOVERSION={v}");
            }
            if let Some(r) = &i.go_env.from_files.goroot {
                let _ = writeln!(settings, "GOROOT={r}");
            }
            for (k, v) in &i.go_env.from_files.settings {
                let _ = writeln!(settings, "{k}={}  # {}", v.value, v.source);
            }
        }
    }
    let _ = write!(s, "{}", block("sh", &settings));
    let _ = writeln!(s);
}

/// The report's notes.
fn notes(s: &mut String, i: &MdInput) {
    let r = i.report;
    if !r.notes.is_empty() {
        let _ = writeln!(s, "## Notes");
        let _ = writeln!(s);
        for n in &r.notes {
            let _ = writeln!(s, "- {n}");
        }
        let _ = writeln!(s);
    }
}

/// The files of the bundle, and what to do next.
fn files(s: &mut String, i: &MdInput) {
    let p = i.report.primary();
    let _ = writeln!(s, "## Files in this bundle");
    let _ = writeln!(s);
    let _ = writeln!(s, "| file | what it holds |");
    let _ = writeln!(s, "| --- | --- |");
    for (name, desc) in i.files {
        let _ = writeln!(s, "| {} | {} |", code(name), cell(desc));
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Secrets were removed before anything was written (redactions.json lists what, by name). \
         `gohang classify samples.json` classifies the samples again."
    );
    if p.kind == VerdictKind::Healthy {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "The command finished in time here: if it hangs elsewhere, run the bundle there (`gohang bundle -- CMD`, or `--pid PID` for a process that is stuck now)."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_and_blocks_survive_backticks() {
        assert_eq!(code("go build"), "`go build`");
        assert_eq!(code("echo `x`"), "`` echo `x` ``");
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(block("", "x"), "```\nx\n```\n");
        assert_eq!(block("text", "```\n"), "````text\n```\n````\n");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(last_lines("1\n2\n3", 2), ("2\n3".to_string(), 1));
    }
}
