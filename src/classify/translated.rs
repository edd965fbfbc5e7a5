//! Processes whose instructions are translated: Rosetta 2 on macOS (`P_TRANSLATED`,
//! xnu `bsd/sys/proc.h`), qemu-user or Rosetta for Linux through binfmt_misc on Linux
//! (`/proc/PID/exe` is the registered interpreter; the foreign program is its first
//! argument, see `Documentation/admin-guide/binfmt-misc.rst`).
//!
//! A translated process is not by itself a hang; it becomes the primary verdict only when
//! no external wait explains the stall, because emulator hangs look like spinning or idle
//! (golang/go#42700 and #68485: Go under Rosetta spinning after an assertion in the
//! translator; qemu-user's incomplete futex and signal emulation).

use super::{Findings, tree::Tree};
use crate::classify::remedy;
use crate::evidence::Translation;
use crate::verdict::{Confidence, Verdict, VerdictKind};

pub(super) fn rules(tree: &Tree, f: &mut Findings) {
    let host = &tree.ev.host;
    let hw = host.hardware_arch.display_for(&host.os);
    for p in &tree.procs {
        let t = &p.last.translation;
        if t.is_native() {
            continue;
        }
        let arch = t
            .program_arch()
            .map(|a| a.display_for(&host.os))
            .unwrap_or_else(|| "foreign".to_string());
        let mut v = Verdict::new(
            VerdictKind::Translated,
            Confidence::Medium,
            Some(p.pid()),
            format!(
                "{} is an {arch} program running under {} on this {hw} machine",
                p.label(),
                t.translator()
            ),
        );
        match t {
            Translation::Binfmt {
                interpreter,
                program,
                ..
            } => {
                let handler = host.binfmt.iter().find(|h| {
                    h.enabled
                        && (h.interpreter == *interpreter
                            || h.resolved.as_deref() == Some(interpreter.as_str()))
                });
                v = v.fact(format!(
                    "executable {interpreter} is {}",
                    match handler {
                        Some(h) => format!(
                            "the binfmt_misc interpreter of handler {} (flags {})",
                            h.name, h.flags
                        ),
                        None => "a binfmt_misc interpreter".to_string(),
                    }
                ));
                if let Some(prog) = program {
                    v = v.fact(format!("program {prog}: {arch}"));
                }
            }
            Translation::Rosetta { .. } => {
                v = v.fact("process flag P_TRANSLATED is set (Rosetta 2)".to_string());
            }
            Translation::Native => {}
        }
        v = v.fact(format!("hardware architecture: {hw}"));
        if let Some(share) = p.cpu_share() {
            v = v.fact(format!(
                "CPU over the window: {:.0} % of a core",
                share * 100.0
            ));
        }
        let v = v.remedy(remedy::translated(t, &host.os));
        f.add(
            v,
            p.depth,
            format!("{}: translation {}", p.label(), t.translator()),
        );
    }
}
