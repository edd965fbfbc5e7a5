//! The classifier on its own: every `tests/fixtures/<case>/evidence.json` must classify to
//! its `expected.json` (see tests/fixtures/README.md). Pure: no processes involved, so
//! macOS-shaped evidence is checked on Linux and the other way round.

use gohang::app::exit_code;
use gohang::classify::classify;
use gohang::evidence::Evidence;
use gohang::verdict::{Confidence, VerdictKind};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    primary: VerdictKind,
    #[serde(default, deserialize_with = "serde_with_none::deserialize")]
    pid: Option<Option<u32>>,
    confidence: Option<Confidence>,
    chain: Option<Vec<u32>>,
    #[serde(default)]
    also: Vec<VerdictKind>,
    #[serde(default)]
    not: Vec<VerdictKind>,
    #[serde(default)]
    summary_contains: Vec<String>,
    #[serde(default)]
    evidence_contains: Vec<String>,
    #[serde(default)]
    remedy_contains: Vec<String>,
    exit_code: Option<u8>,
}

/// `"pid": null` means "no culprit"; an absent `pid` means "not checked".
mod serde_with_none {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
        Ok(Some(Option::<u32>::deserialize(d)?))
    }
}

fn check(dir: &Path) -> Result<(), String> {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{f}: {e}"));
    let ev: Evidence =
        serde_json::from_str(&read("evidence.json")?).map_err(|e| format!("evidence.json: {e}"))?;
    let want: Expected =
        serde_json::from_str(&read("expected.json")?).map_err(|e| format!("expected.json: {e}"))?;
    let got = classify(&ev);
    let p = &got.verdicts[0];
    let mut errs = Vec::new();
    if p.kind != want.primary {
        errs.push(format!("primary {} != {}", p.kind, want.primary));
    }
    if let Some(pid) = want.pid
        && p.pid != pid
    {
        errs.push(format!("pid {:?} != {:?}", p.pid, pid));
    }
    if let Some(c) = want.confidence
        && p.confidence != c
    {
        errs.push(format!("confidence {} != {}", p.confidence, c));
    }
    if let Some(chain) = &want.chain
        && &got.chain != chain
    {
        errs.push(format!("chain {:?} != {:?}", got.chain, chain));
    }
    let kinds: Vec<VerdictKind> = got.verdicts.iter().map(|v| v.kind).collect();
    for k in &want.also {
        if !kinds[1..].contains(k) {
            errs.push(format!("secondary {k} missing from {kinds:?}"));
        }
    }
    for k in &want.not {
        if kinds.contains(k) {
            errs.push(format!("{k} must not appear: {kinds:?}"));
        }
    }
    for s in &want.summary_contains {
        if !p.summary.contains(s.as_str()) {
            errs.push(format!("summary lacks {s:?}: {}", p.summary));
        }
    }
    for s in &want.evidence_contains {
        if !p.evidence.iter().any(|e| e.contains(s.as_str())) {
            errs.push(format!("evidence lacks {s:?}: {:#?}", p.evidence));
        }
    }
    for s in &want.remedy_contains {
        if !p.remedy.as_deref().unwrap_or("").contains(s.as_str()) {
            errs.push(format!("remedy lacks {s:?}: {:?}", p.remedy));
        }
    }
    if let Some(code) = want.exit_code {
        let got_code = exit_code(&ev, &got);
        if got_code != code {
            errs.push(format!("exit code {got_code} != {code}"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("\n  "))
    }
}

#[test]
fn every_fixture_classifies_as_expected() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("evidence.json").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "fixtures missing under {}", root.display());
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/linux_qemu_aarch64_go/evidence.json");
    let ev: Evidence = serde_json::from_str(&std::fs::read_to_string(root).unwrap()).unwrap();
    assert_eq!(classify(&ev), classify(&ev));
}
