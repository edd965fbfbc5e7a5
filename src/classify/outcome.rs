//! Rules on how the run ended: finished in time (`healthy`), or could not start at all
//! because the program is of the wrong architecture (`arch-mismatch`).
//!
//! Exec of a foreign binary never blocks: the kernel refuses it at once with ENOEXEC
//! ("exec format error", Linux `fs/exec.c` when no binfmt handler accepts the file) or,
//! on macOS, EBADARCH (86, "Bad CPU type in executable", xnu `bsd/kern/kern_exec.c`).

use super::{Findings, secs, tree::Tree};
use crate::classify::remedy;
use crate::evidence::{Arch, Os, Outcome};
use crate::verdict::{Confidence, Verdict, VerdictKind};

/// ENOEXEC is 8 on Linux and on macOS.
const ENOEXEC: i32 = 8;
/// macOS `EBADARCH` (`bsd/sys/errno.h`).
const EBADARCH: i32 = 86;

pub(super) fn rules(tree: &Tree, f: &mut Findings) {
    let ev = tree.ev;
    let command = ev.target.command.join(" ");
    match &ev.outcome {
        Outcome::Exited {
            code,
            signal,
            elapsed_ms,
        } => {
            let how = match (code, signal) {
                (Some(c), _) => format!("exit status {c}"),
                (None, Some(s)) => format!("killed by signal {s}"),
                _ => "an unknown status".to_string(),
            };
            let mut v = Verdict::new(
                VerdictKind::Healthy,
                Confidence::High,
                ev.target.pid,
                format!("`{command}` finished in {} with {how}", secs(*elapsed_ms)),
            )
            .fact(format!("elapsed {} ms", elapsed_ms));
            if let Some(t) = ev.target.timeout_ms {
                v = v.fact(format!("within the {} timeout", secs(t)));
            }
            if *code != Some(0) {
                v = v.fact(
                    "a non-zero status is a failure, not a hang: see the command's output"
                        .to_string(),
                );
            }
            f.add(
                v,
                0,
                format!("the command exited ({how}) before the deadline"),
            );
        }
        Outcome::Vanished { after_ms } => {
            let v = Verdict::new(
                VerdictKind::Healthy,
                Confidence::Medium,
                ev.target.pid,
                format!(
                    "the process exited {} into sampling: it was not stuck",
                    secs(*after_ms)
                ),
            );
            f.add(v, 0, "the target exited while it was sampled".to_string());
        }
        Outcome::SpawnFailed {
            program,
            error,
            errno,
            program_arch,
            slices,
        } => {
            let lower = error.to_ascii_lowercase();
            let wrong_arch = matches!(errno, Some(ENOEXEC) | Some(EBADARCH))
                || lower.contains("exec format error")
                || lower.contains("bad cpu type");
            if !wrong_arch {
                f.note(format!(
                    "spawn failed ({error}); not an architecture problem"
                ));
                return;
            }
            let hw = ev.host.hardware_arch.display_for(&ev.host.os);
            let pa = program_arch.as_ref().map(|a| a.display_for(&ev.host.os));
            let summary = match &pa {
                _ if slices.len() > 1 => format!(
                    "`{program}` is a universal binary ({}) and this {hw} machine can run none of it ({error})",
                    slices
                        .iter()
                        .map(|a| a.display_for(&ev.host.os))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(a) => format!(
                    "`{program}` is an {a} binary and this {hw} machine cannot run it ({error})"
                ),
                None => format!("`{program}` cannot be executed on this {hw} machine ({error})"),
            };
            let mut v = Verdict::new(VerdictKind::ArchMismatch, Confidence::High, None, summary)
                .fact(format!(
                    "exec failed: {error}{}",
                    errno.map(|e| format!(" (errno {e})")).unwrap_or_default()
                ))
                .fact(format!("hardware architecture: {hw}"));
            if slices.len() > 1 {
                let names: Vec<String> =
                    slices.iter().map(|a| a.display_for(&ev.host.os)).collect();
                v = v.fact(format!(
                    "{program}: universal binary with slices {}, none for {hw}",
                    names.join(", ")
                ));
            } else if let Some(a) = &pa {
                v = v.fact(format!("{program}: {a}"));
            }
            // macOS: an x86_64 program on an arm64 Mac needs Rosetta 2 (EBADARCH without it).
            if ev.host.rosetta_installed == Some(false)
                && slices
                    .iter()
                    .chain(program_arch)
                    .any(|a| *a == Arch::X86_64)
            {
                v = v.fact(
                    "Rosetta 2 is not installed, so x86_64 programs cannot run on this Mac"
                        .to_string(),
                );
            }
            if ev.host.os == Os::Linux {
                let handlers: Vec<String> = ev
                    .host
                    .binfmt
                    .iter()
                    .filter(|h| h.enabled && h.arch.is_some() && h.arch == *program_arch)
                    .map(|h| h.name.clone())
                    .collect();
                v = v.fact(if handlers.is_empty() {
                    format!(
                        "no enabled binfmt_misc handler for {} binaries",
                        pa.as_deref().unwrap_or("its")
                    )
                } else {
                    format!(
                        "binfmt_misc handlers {} exist but did not run it",
                        handlers.join(", ")
                    )
                });
            }
            let held: Vec<Arch> = if slices.is_empty() {
                program_arch.iter().cloned().collect()
            } else {
                slices.clone()
            };
            let v = v.remedy(remedy::arch_mismatch(
                &ev.host.os,
                &ev.host.hardware_arch,
                &held,
                ev.host.rosetta_installed,
            ));
            f.add(
                v,
                0,
                format!("spawn failed with {error} → the binary is foreign"),
            );
        }
        Outcome::TimedOut { .. } | Outcome::Attached => {}
    }
}
