//! Classifier fixtures shaped exactly like the macOS backend's output
//! (`tests/fixtures/macos_*/evidence.json`), each with the verdict it must give
//! (`verdict.json`). They run on every OS: the classifier is pure.
//!
//! Besides the verdict, every fixture must round-trip through the evidence model unchanged,
//! so a misspelled or stale field in a fixture fails here instead of being ignored.
//!
//! A fixture whose rule is still being written elsewhere names the kind it will have in
//! `pending`; until then the test asserts what the classifier says today, and once the rule
//! lands the pending expectation is checked instead (and the fixture should be tightened).

use gohang::classify::classify;
use gohang::evidence::Evidence;
use gohang::verdict::{Confidence, VerdictKind};
use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    /// What the case is and where it comes from.
    case: String,
    kind: VerdictKind,
    pid: Option<u32>,
    #[serde(default)]
    confidence: Option<Confidence>,
    #[serde(default)]
    chain: Option<Vec<u32>>,
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
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("macos_"))
        })
        .collect();
    v.sort();
    v
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check_substrings(case: &str, what: &str, lines: &[String], wanted: &[String]) {
    for w in wanted {
        assert!(
            lines.iter().any(|l| l.contains(w.as_str())),
            "{case}: no {what} line contains {w:?}; got:\n  {}",
            lines.join("\n  ")
        );
    }
}

#[test]
fn macos_fixtures_classify_as_recorded() {
    let dirs = fixtures();
    assert!(
        dirs.len() >= 6,
        "expected the macOS fixtures, found {}",
        dirs.len()
    );
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let raw = read_json(&dir.join("evidence.json"));
        let ev: Evidence = serde_json::from_value(raw.clone())
            .unwrap_or_else(|e| panic!("{name}: evidence.json: {e}"));
        // The fixture is exactly what the model would write: no unknown or stale fields.
        assert_eq!(
            serde_json::to_value(&ev).unwrap(),
            raw,
            "{name}: evidence.json does not round-trip through the evidence model"
        );
        assert_eq!(ev.host.os, "macos", "{name}: not a macOS fixture");

        let exp: Expected = serde_json::from_value(read_json(&dir.join("verdict.json")))
            .unwrap_or_else(|e| panic!("{name}: verdict.json: {e}"));
        assert!(!exp.case.is_empty());

        for s in &exp.sockets {
            let last = ev.samples.last().expect("samples");
            let p = last
                .process(s.pid)
                .unwrap_or_else(|| panic!("{name}: pid {} not in the last sample", s.pid));
            let sock = p
                .sockets
                .iter()
                .find(|k| k.fd == s.fd)
                .unwrap_or_else(|| panic!("{name}: pid {} has no socket fd {}", s.pid, s.fd));
            assert_eq!(sock.remote.as_deref(), Some(s.remote.as_str()), "{name}");
            assert_eq!(sock.state.as_deref(), Some(s.state.as_str()), "{name}");
        }

        let c = classify(&ev);
        let primary = &c.verdicts[0];
        if let Some(p) = exp.pending.as_ref().filter(|p| primary.kind == p.kind) {
            // The rule this fixture waits for has landed: check what it promises.
            eprintln!(
                "{name}: {} now classifies as {} — tighten verdict.json ({})",
                name, p.kind, p.why
            );
            assert_eq!(primary.pid, p.pid, "{name}: pending pid");
            check_substrings(&name, "evidence", &primary.evidence, &p.evidence);
            continue;
        }
        assert_eq!(
            primary.kind, exp.kind,
            "{name}: primary verdict {:#?}\nreasons: {:#?}",
            primary, c.reasons
        );
        assert_eq!(primary.pid, exp.pid, "{name}: culprit pid");
        if let Some(conf) = exp.confidence {
            assert_eq!(primary.confidence, conf, "{name}: confidence");
        }
        if let Some(chain) = &exp.chain {
            assert_eq!(&c.chain, chain, "{name}: chain");
        }
        check_substrings(&name, "evidence", &primary.evidence, &exp.evidence);
        for a in &exp.absent {
            assert!(
                !primary.evidence.iter().any(|l| l.contains(a.as_str())),
                "{name}: evidence should not say {a:?}"
            );
        }
        let remedy = primary.remedy.clone().unwrap_or_default();
        check_substrings(&name, "remedy", &[remedy], &exp.remedy);
        for k in &exp.secondary {
            assert!(
                c.verdicts[1..].iter().any(|v| v.kind == *k),
                "{name}: no secondary {k} among {:?}",
                c.verdicts.iter().map(|v| v.kind).collect::<Vec<_>>()
            );
        }
    }
}

fn load(case: &str) -> Evidence {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(case)
        .join("evidence.json");
    serde_json::from_value(read_json(&path)).unwrap()
}

/// The verdicts above come from the macOS evidence, not from a default: without it they
/// change.
#[test]
fn macos_evidence_is_what_decides() {
    let mut dyld = load("macos_dyld_start");
    assert_eq!(classify(&dyld).verdicts[0].kind, VerdictKind::PromptWait);
    dyld.native_stacks = None;
    let c = classify(&dyld);
    assert_ne!(c.verdicts[0].kind, VerdictKind::PromptWait);
    assert!(c.verdicts.iter().all(|v| v.kind != VerdictKind::PromptWait));

    let mut rosetta = load("macos_rosetta_go_spinning");
    rosetta.native_stacks = None;
    rosetta.output.stderr.tail.clear();
    let c = classify(&rosetta);
    assert_eq!(c.verdicts[0].kind, VerdictKind::Translated);
    assert_eq!(c.verdicts[0].confidence, Confidence::Medium);

    let mut fork = load("macos_fork_child_spin");
    fork.native_stacks = None;
    let c = classify(&fork);
    assert_eq!(c.verdicts[0].kind, VerdictKind::Spinning);
    assert!(c.verdicts[0].evidence.iter().all(|e| !e.contains("fork")));
    assert!(
        c.verdicts[0]
            .remedy
            .as_deref()
            .unwrap_or("")
            .contains("SIGQUIT")
    );

    let mut stop = load("macos_sigstop");
    for s in &mut stop.samples {
        for p in &mut s.processes {
            p.state = gohang::evidence::RunState::Sleeping;
            for t in &mut p.threads {
                t.state = gohang::evidence::RunState::Sleeping;
            }
        }
    }
    assert_ne!(classify(&stop).verdicts[0].kind, VerdictKind::Stopped);
}

/// Rosetta's runtime frames say "the translator is busy" only while the process burns CPU:
/// a sleeping translated program also waits in them (its system calls go through Rosetta).
#[test]
fn rosetta_frames_of_an_idle_process_claim_nothing() {
    let mut ev = load("macos_rosetta_go_spinning");
    ev.output.stderr.tail.clear();
    let frozen_cpu = ev.samples[0].processes[0].cpu_ms;
    for s in &mut ev.samples {
        for p in &mut s.processes {
            p.cpu_ms = frozen_cpu;
            for t in &mut p.threads {
                t.state = gohang::evidence::RunState::Sleeping;
            }
        }
    }
    let c = classify(&ev);
    assert_eq!(c.verdicts[0].kind, VerdictKind::Translated);
    assert_eq!(c.verdicts[0].confidence, Confidence::Medium);
    assert!(
        c.verdicts[0]
            .evidence
            .iter()
            .all(|e| !e.contains("Rosetta's runtime"))
    );
}
