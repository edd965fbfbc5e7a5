//! The classifier on its own: every `tests/fixtures/<case>/evidence.json` must classify to
//! its `verdict.json` (fields below). Pure: no processes involved, so macOS-shaped evidence
//! is checked on Linux and the other way round.
//!
//! Every fixture must also round-trip through the evidence model unchanged, so a misspelled
//! or stale field in a fixture fails here instead of being ignored. A fixture whose rule is
//! still to be written names the kind it will have in `pending`; until then the test
//! asserts what the classifier says today.

use gohang::classify::classify;
use gohang::evidence::Evidence;
use gohang::output::verdict_exit;
use gohang::verdict::{Confidence, VerdictKind};
use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    /// What the case is and where it comes from.
    case: String,
    /// The primary verdict's kind and culprit (`null`: none).
    kind: VerdictKind,
    pid: Option<u32>,
    #[serde(default)]
    confidence: Option<Confidence>,
    #[serde(default)]
    chain: Option<Vec<u32>>,
    /// Substrings of the primary verdict's summary.
    #[serde(default)]
    summary: Vec<String>,
    /// Substrings that must each appear in some evidence line of the primary verdict.
    #[serde(default)]
    evidence: Vec<String>,
    /// Substrings that must appear in no evidence line of the primary verdict.
    #[serde(default)]
    absent: Vec<String>,
    /// Substrings of the primary verdict's remedy.
    #[serde(default)]
    remedy: Vec<String>,
    /// Kinds that must also be among the secondary verdicts.
    #[serde(default)]
    secondary: Vec<VerdictKind>,
    /// Kinds that must not appear at all.
    #[serde(default)]
    not: Vec<VerdictKind>,
    /// The exit code probe/attach would give.
    #[serde(default)]
    exit_code: Option<u8>,
    /// Sockets the evidence must hold in its last sample.
    #[serde(default)]
    sockets: Vec<ExpectedSocket>,
    #[serde(default)]
    pending: Option<Pending>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedSocket {
    pid: u32,
    fd: i32,
    remote: String,
    state: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pending {
    kind: VerdictKind,
    pid: Option<u32>,
    #[serde(default)]
    evidence: Vec<String>,
    why: String,
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("evidence.json").exists())
        .collect();
    v.sort();
    v
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn substrings(errs: &mut Vec<String>, what: &str, lines: &[String], wanted: &[String]) {
    for w in wanted {
        if !lines.iter().any(|l| l.contains(w.as_str())) {
            errs.push(format!(
                "no {what} line contains {w:?}; got:\n    {}",
                lines.join("\n    ")
            ));
        }
    }
}

fn check(dir: &Path) -> Result<(), String> {
    let raw = read_json(&dir.join("evidence.json"))?;
    let ev: Evidence =
        serde_json::from_value(raw.clone()).map_err(|e| format!("evidence.json: {e}"))?;
    let mut errs = Vec::new();
    if serde_json::to_value(&ev).unwrap() != raw {
        errs.push("evidence.json does not round-trip through the evidence model".to_string());
    }
    let exp: Expected = serde_json::from_value(read_json(&dir.join("verdict.json"))?)
        .map_err(|e| format!("verdict.json: {e}"))?;
    if exp.case.is_empty() {
        errs.push("verdict.json has no case".to_string());
    }
    for s in &exp.sockets {
        let sock = ev
            .samples
            .last()
            .and_then(|l| l.process(s.pid))
            .and_then(|p| p.sockets.iter().find(|k| k.fd == s.fd));
        match sock {
            Some(k)
                if k.remote.as_deref() == Some(s.remote.as_str())
                    && k.state.as_deref() == Some(s.state.as_str()) => {}
            other => errs.push(format!("socket fd {} of pid {}: {other:?}", s.fd, s.pid)),
        }
    }

    let c = classify(&ev);
    let p = &c.verdicts[0];
    if let Some(pend) = exp.pending.as_ref().filter(|pend| p.kind == pend.kind) {
        // The rule this fixture waits for has landed: check what it promises.
        eprintln!(
            "{}: now classifies as {} — tighten verdict.json ({})",
            dir.display(),
            pend.kind,
            pend.why
        );
        if p.pid != pend.pid {
            errs.push(format!("pending pid {:?} != {:?}", p.pid, pend.pid));
        }
        substrings(&mut errs, "evidence", &p.evidence, &pend.evidence);
    } else {
        if p.kind != exp.kind {
            errs.push(format!(
                "primary {} != {}\n  reasons: {:#?}",
                p.kind, exp.kind, c.reasons
            ));
        }
        if p.pid != exp.pid {
            errs.push(format!("pid {:?} != {:?}", p.pid, exp.pid));
        }
        if let Some(conf) = exp.confidence.filter(|c| *c != p.confidence) {
            errs.push(format!("confidence {} != {conf}", p.confidence));
        }
        if let Some(chain) = exp.chain.as_ref().filter(|ch| **ch != c.chain) {
            errs.push(format!("chain {:?} != {chain:?}", c.chain));
        }
        substrings(
            &mut errs,
            "summary",
            std::slice::from_ref(&p.summary),
            &exp.summary,
        );
        substrings(&mut errs, "evidence", &p.evidence, &exp.evidence);
        for a in &exp.absent {
            if p.evidence.iter().any(|l| l.contains(a.as_str())) {
                errs.push(format!("evidence should not say {a:?}"));
            }
        }
        substrings(
            &mut errs,
            "remedy",
            &[p.remedy.clone().unwrap_or_default()],
            &exp.remedy,
        );
        let kinds: Vec<VerdictKind> = c.verdicts.iter().map(|v| v.kind).collect();
        for k in &exp.secondary {
            if !kinds[1..].contains(k) {
                errs.push(format!("no secondary {k} among {kinds:?}"));
            }
        }
        for k in &exp.not {
            if kinds.contains(k) {
                errs.push(format!("{k} must not appear: {kinds:?}"));
            }
        }
        if let Some(code) = exp
            .exit_code
            .filter(|code| *code != verdict_exit(&ev, &c).code())
        {
            errs.push(format!(
                "exit code {} != {code}",
                verdict_exit(&ev, &c).code()
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("\n  "))
    }
}

#[test]
fn every_fixture_classifies_as_recorded() {
    let dirs = fixtures();
    assert!(dirs.len() >= 16, "fixtures missing: found {}", dirs.len());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| {
            check(d)
                .err()
                .map(|e| format!("{}:\n  {e}", d.file_name().unwrap().to_string_lossy()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

#[test]
fn classification_is_deterministic() {
    for d in fixtures() {
        let ev: Evidence =
            serde_json::from_value(read_json(&d.join("evidence.json")).unwrap()).unwrap();
        assert_eq!(classify(&ev), classify(&ev), "{}", d.display());
    }
}
