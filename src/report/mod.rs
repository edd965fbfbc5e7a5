//! Reports: verdicts plus the evidence behind them, for people (`human`) and programs
//! (`json`). One data model feeds both printers.
//!
//! # JSON format (`gohang.report/1`)
//!
//! One object on stdout. Stable fields (DESIGN.md): `schema`, `verdicts[]` (`kind`,
//! `confidence`, `pid`, `summary`, `evidence[]`, `remedy`), `chain`, `host` (`os`, `arch`,
//! `hardware_arch`). Also: `command`, `target`, `outcome`, `processes` (the newest sample,
//! one entry per process), `samples` and `window_ms` (how many samples, over how long), `output` (tails of stdout and stderr), `reasons` (the decision
//! trail), `notes`, `kept_pids`, `exit_code`. A change that breaks a reader bumps `schema`.

pub mod human;

use crate::classify::Classification;
use crate::evidence::{Evidence, HostInfo, Outcome, OutputTail, RunState, Target, Translation};
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};

pub const REPORT_SCHEMA: &str = "gohang.report/1";

/// One process of the newest sample, as a table row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSummary {
    pub pid: u32,
    pub ppid: u32,
    pub state: RunState,
    pub command: String,
    /// Architecture of the program (under translation: the foreign program's).
    pub arch: Option<String>,
    pub translation: Translation,
    /// CPU over the window, percent of one core.
    pub cpu_percent: Option<f64>,
    pub threads: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema: String,
    /// The gohang command that made it: `probe`, `attach`.
    pub command: String,
    pub target: Target,
    pub outcome: Outcome,
    pub verdicts: Vec<Verdict>,
    pub chain: Vec<u32>,
    pub host: HostInfo,
    pub processes: Vec<ProcessSummary>,
    /// Number of samples taken and the time they span.
    pub samples: usize,
    pub window_ms: u64,
    pub output: OutputTail,
    pub reasons: Vec<String>,
    pub notes: Vec<String>,
    pub kept_pids: Vec<u32>,
    pub exit_code: u8,
}

impl Report {
    pub fn new(
        command: &str,
        ev: &Evidence,
        c: &Classification,
        kept: Vec<u32>,
        exit_code: u8,
    ) -> Report {
        Report {
            schema: REPORT_SCHEMA.to_string(),
            command: command.to_string(),
            target: ev.target.clone(),
            outcome: ev.outcome.clone(),
            verdicts: c.verdicts.clone(),
            chain: c.chain.clone(),
            host: ev.host.clone(),
            processes: summarize(ev),
            samples: ev.samples.len(),
            window_ms: match (ev.samples.first(), ev.samples.last()) {
                (Some(a), Some(b)) => b.at_ms.saturating_sub(a.at_ms),
                _ => 0,
            },
            output: ev.output.clone(),
            reasons: c.reasons.clone(),
            notes: ev.notes.clone(),
            kept_pids: kept,
            exit_code,
        }
    }

    pub fn primary(&self) -> &Verdict {
        &self.verdicts[0]
    }
}

fn summarize(ev: &Evidence) -> Vec<ProcessSummary> {
    let (Some(first), Some(last)) = (ev.samples.first(), ev.samples.last()) else {
        return Vec::new();
    };
    let span = last.at_ms.saturating_sub(first.at_ms);
    last.processes
        .iter()
        .map(|p| {
            let before = first
                .processes
                .iter()
                .find(|q| q.pid == p.pid && q.start_time == p.start_time);
            let cpu_percent = before.filter(|_| span > 0).map(|b| {
                ((p.cpu_ms.saturating_sub(b.cpu_ms)) as f64 * 100.0 / span as f64).round()
            });
            let arch = p
                .translation
                .program_arch()
                .cloned()
                .or_else(|| p.binary.value().and_then(|b| b.arches.first().cloned()))
                .map(|a| a.display_for(&ev.host.os));
            ProcessSummary {
                pid: p.pid,
                ppid: p.ppid,
                state: p.state,
                command: p.command_line(),
                arch,
                translation: p.translation.clone(),
                cpu_percent,
                threads: p.threads.len(),
            }
        })
        .collect()
}

/// Write the report as one JSON document and a newline.
pub fn write_json<W: std::io::Write>(w: &mut W, r: &Report) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, r)?;
    writeln!(w)
}
