//! Reports: verdicts plus the evidence behind them, for people (`human`) and programs
//! (`json`). One data model feeds both printers.
//!
//! # JSON format (`gohang.report/1`)
//!
//! One object on stdout. Stable fields (DESIGN.md): `schema`, `verdicts[]` (`kind`,
//! `confidence`, `pid`, `summary`, `evidence[]`, `remedy`), `chain`, `host` (`os`, `arch`,
//! `hardware_arch`). Also: `command`, `target`, `outcome`, `processes` (the newest sample,
//! one entry per process), `samples` and `window_ms` (how many samples, over how long),
//! `output` (tails of stdout and stderr; `probe` only — `attach` does not own the process's
//! output, and leaves the field out), `reasons` (the decision trail), `notes`, `kept_pids`,
//! `exit_code`. A change that breaks a reader bumps `schema`.

pub mod human;

use crate::classify::Classification;
use crate::evidence::{
    Evidence, HostInfo, Mode, Outcome, OutputTail, RunState, Target, Translation,
};
use crate::verdict::Verdict;
use serde::ser::{SerializeStruct, Serializer};
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

/// Written by hand (`Serialize` below) only to leave `output` out in attach mode.
#[derive(Clone, Debug, PartialEq, Deserialize)]
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
    /// What the command printed. Spawn mode only: gohang does not own an attached
    /// process's stdout and stderr, so in attach mode this stays empty and the JSON has
    /// no `output` (read back as empty).
    #[serde(default)]
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

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // An empty `output` in attach mode would read as "the command printed nothing".
        let output = self.target.mode != Mode::Attach;
        let mut r = s.serialize_struct("Report", 15)?;
        r.serialize_field("schema", &self.schema)?;
        r.serialize_field("command", &self.command)?;
        r.serialize_field("target", &self.target)?;
        r.serialize_field("outcome", &self.outcome)?;
        r.serialize_field("verdicts", &self.verdicts)?;
        r.serialize_field("chain", &self.chain)?;
        r.serialize_field("host", &self.host)?;
        r.serialize_field("processes", &self.processes)?;
        r.serialize_field("samples", &self.samples)?;
        r.serialize_field("window_ms", &self.window_ms)?;
        if output {
            r.serialize_field("output", &self.output)?;
        } else {
            r.skip_field("output")?;
        }
        r.serialize_field("reasons", &self.reasons)?;
        r.serialize_field("notes", &self.notes)?;
        r.serialize_field("kept_pids", &self.kept_pids)?;
        r.serialize_field("exit_code", &self.exit_code)?;
        r.end()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn report(mode: Mode) -> Report {
        let target = Target {
            mode,
            command: vec!["go".into(), "build".into()],
            pid: Some(10),
            timeout_ms: None,
        };
        let outcome = match mode {
            Mode::Spawn => Outcome::TimedOut { elapsed_ms: 10 },
            Mode::Attach => Outcome::Attached,
        };
        let mut ev = Evidence::new(crate::observe::host_info(), target, outcome);
        if mode == Mode::Spawn {
            ev.output.stdout.tail = "hi\n".into();
            ev.output.stdout.total_bytes = 3;
        }
        let c = crate::classify::classify(&ev);
        Report::new("probe", &ev, &c, vec![10], 2)
    }

    fn round_trip(r: &Report) -> (serde_json::Value, Report) {
        let mut buf = Vec::new();
        write_json(&mut buf, r).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        (
            v,
            serde_json::from_slice(&buf).expect("the typed reader reads it back"),
        )
    }

    #[test]
    fn a_probe_report_reads_back_whole() {
        let r = report(Mode::Spawn);
        let (v, back) = round_trip(&r);
        assert_eq!(v["output"]["stdout"]["tail"], "hi\n");
        assert_eq!(back, r);
    }

    #[test]
    fn an_attach_report_has_no_output() {
        let r = report(Mode::Attach);
        let (v, back) = round_trip(&r);
        let fields = v.as_object().unwrap();
        assert!(!fields.contains_key("output"), "{v:#}");
        // Every other field is there.
        assert_eq!(fields.len(), 14, "{:?}", fields.keys());
        assert_eq!(back, r);
    }
}
