//! The macOS-shaped fixtures decide through their macOS evidence (native stacks, the
//! Rosetta assertion, SSTOP): without it the verdict changes. The fixtures themselves run
//! with all the others in tests/classify.rs.

use gohang::classify::classify;
use gohang::evidence::Evidence;
use gohang::verdict::{Confidence, VerdictKind};
use std::fs;
use std::path::Path;

fn read_json(path: &Path) -> serde_json::Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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

fn remedy(ev: &Evidence) -> String {
    let c = classify(ev);
    assert_eq!(c.verdicts[0].kind, VerdictKind::ArchMismatch);
    c.verdicts[0].remedy.clone().unwrap()
}

/// EBADARCH's fix comes from the binary's slices and the Mac: Rosetta 2 only for x86_64
/// code on Apple silicon; nothing runs i386 or PowerPC code; an Intel Mac needs x86_64.
#[test]
fn ebadarch_remedy_follows_the_slices_and_the_hardware() {
    let mut x86 = load("macos_ebadarch");
    let r = remedy(&x86);
    assert!(r.contains("softwareupdate --install-rosetta"), "{r}");
    x86.host.rosetta_installed = Some(true);
    let r = remedy(&x86);
    assert!(r.contains("Rosetta 2 looks installed"), "{r}");
    assert!(r.contains("arch -x86_64 /usr/bin/true"), "{r}");

    let mut old = load("macos_ebadarch_fat_no_arm64");
    let r = remedy(&old);
    assert!(
        !r.contains("softwareupdate"),
        "Rosetta 2 cannot run i386/ppc: {r}"
    );
    assert!(
        r.contains("10.15 Catalina") && r.contains("10.7 Lion"),
        "{r}"
    );
    assert!(r.contains("Get a build for arm64"), "{r}");
    // The same binary on an Intel Mac: an x86_64 build, and no word of Rosetta 2.
    old.host.hardware_arch = gohang::evidence::Arch::X86_64;
    old.host.rosetta_installed = None;
    let r = remedy(&old);
    assert!(
        r.contains("Get a build for x86_64") && r.contains("darwin-amd64"),
        "{r}"
    );
    assert!(!r.contains("Rosetta") && !r.contains("darwin-arm64"), "{r}");

    let intel = load("macos_ebadarch_arm64_on_intel");
    let r = remedy(&intel);
    assert!(
        !r.contains("darwin-arm64") && !r.contains("softwareupdate"),
        "{r}"
    );
}
