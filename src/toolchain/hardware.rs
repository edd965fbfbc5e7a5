//! The hardware's truth, and whether the shell that started gohang is translated.
//!
//! `uname -m` lies under translation: Rosetta 2 reports `x86_64` to a translated process
//! (Homebrew/install#319), qemu-user reports the guest architecture. Linux: the observer's
//! `host_info()` already finds the hardware from the binfmt_misc interpreters (see
//! `observe/linux/host.rs`), and its `Sampler` tells whether a process runs through one.
//! macOS: `hw.optional.arm64` is 1 on Apple Silicon even for a translated caller, and
//! `sysctl.proc_translated` says whether gohang itself is (xnu `bsd/kern/kern_sysctl.c`,
//! Apple's "About the Rosetta translation environment"); `P_TRANSLATED` in a process's
//! `p_flag` (xnu `bsd/sys/proc.h`) says it of the parent shell. Rosetta is inherited across
//! fork, and a translated shell makes every universal binary it starts prefer x86_64.
//! Both, and whether Rosetta 2 is installed (`darwin::rosetta`, one check), are the
//! observer's `host_info()`; this module adds only the walk up the ancestors.

use crate::evidence::{HostInfo, Translation};
use crate::observe;
use serde::{Deserialize, Serialize};

/// One process above gohang: its shell, the terminal, …
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ancestor {
    pub pid: u32,
    pub name: String,
    #[serde(default)]
    pub translation: Translation,
}

/// The machine, with the hardware architecture found even when gohang runs translated.
pub fn host() -> HostInfo {
    observe::host_info()
}

/// gohang's ancestors, parent first, up to `max` or pid 1.
pub fn ancestors(host: &HostInfo, max: usize) -> Vec<Ancestor> {
    imp(host, max)
}

#[cfg(target_os = "linux")]
fn imp(host: &HostInfo, max: usize) -> Vec<Ancestor> {
    let mut sampler = observe::Sampler::new(host);
    let mut pid = std::os::unix::process::parent_id();
    let mut out = Vec::new();
    while pid > 1 && out.len() < max {
        let Ok(p) = sampler.snapshot(pid) else { break };
        out.push(Ancestor {
            pid,
            name: p.display_name(),
            translation: p.translation.clone(),
        });
        pid = p.ppid;
    }
    out
}

/// macOS: `kinfo_proc` (any pid, no privilege) gives the parent and `P_TRANSLATED`; the
/// name comes from libproc where it may be read, else from `p_comm`, so that root-owned
/// ancestors (`login`, `sudo`, `sshd`) are named too.
#[cfg(target_os = "macos")]
fn imp(_host: &HostInfo, max: usize) -> Vec<Ancestor> {
    let mut pid = std::os::unix::process::parent_id();
    let mut out = Vec::new();
    while pid > 1 && out.len() < max {
        let Some(facts) = observe::process_facts(pid) else {
            break;
        };
        let translation = if facts.translated() {
            Translation::Rosetta {
                program_arch: Some(crate::evidence::Arch::X86_64),
            }
        } else {
            Translation::Native
        };
        out.push(Ancestor {
            pid,
            name: observe::process_name(pid, &facts),
            translation,
        });
        pid = facts.ppid;
    }
    out
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn imp(_host: &HostInfo, _max: usize) -> Vec<Ancestor> {
    Vec::new()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn ancestors_of_the_test_runner_are_found() {
        let h = host();
        let a = ancestors(&h, 3);
        assert!(!a.is_empty(), "the test process has a parent");
        assert_eq!(a[0].pid, std::os::unix::process::parent_id());
    }
}
