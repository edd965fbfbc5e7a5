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

use crate::evidence::{HostInfo, Translation};
use crate::observe;
use serde::{Deserialize, Serialize};

/// Where Rosetta 2 puts its runtime when installed (eclecticlight "Explainer: Rosetta 2").
/// Checking it runs nothing; `arch -x86_64 /usr/bin/true` would be surer but starts a
/// process, and `check` starts none.
pub const ROSETTA_RUNTIME: &str = "/Library/Apple/usr/share/rosetta/rosetta";

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
    #[allow(unused_mut)]
    let mut h = observe::host_info();
    #[cfg(target_os = "macos")]
    macos::correct(&mut h);
    h
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

#[cfg(target_os = "macos")]
fn imp(_host: &HostInfo, max: usize) -> Vec<Ancestor> {
    let mut pid = std::os::unix::process::parent_id();
    let mut out = Vec::new();
    while pid > 1 && out.len() < max {
        let Some((flags, ppid)) = macos::kinfo(pid) else {
            break;
        };
        let translation = if flags & macos::P_TRANSLATED != 0 {
            Translation::Rosetta {
                program_arch: Some(crate::evidence::Arch::X86_64),
            }
        } else {
            Translation::Native
        };
        out.push(Ancestor {
            pid,
            name: macos::name(pid),
            translation,
        });
        pid = ppid;
    }
    out
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn imp(_host: &HostInfo, _max: usize) -> Vec<Ancestor> {
    Vec::new()
}

/// The few sysctls gohang's static checks need on macOS. The full observer lives in
/// `observe/macos*`; this stays deliberately thin.
#[cfg(target_os = "macos")]
mod macos {
    use crate::evidence::{Arch, HostInfo, Translation};
    use std::ffi::{CStr, c_void};

    /// `bsd/sys/proc.h`.
    pub const P_TRANSLATED: i32 = 0x0002_0000;
    /// `sizeof(struct kinfo_proc)` on LP64, and the offsets of `kp_proc.p_flag` and
    /// `kp_eproc.e_ppid` in it (libc has no `kinfo_proc` for Apple targets).
    const KINFO_PROC_SIZE: usize = 648;
    const P_FLAG_OFFSET: usize = 32;
    const E_PPID_OFFSET: usize = 560;

    fn sysctl_int(name: &CStr) -> Option<i32> {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>();
        // SAFETY: `v` and `len` are valid for writes of the sizes given; no new value is set.
        let r = unsafe {
            libc::sysctlbyname(
                name.as_ptr(),
                (&mut v as *mut libc::c_int).cast::<c_void>(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        (r == 0 && len == std::mem::size_of::<libc::c_int>()).then_some(v)
    }

    /// Fix what `uname` gets wrong under Rosetta.
    pub fn correct(h: &mut HostInfo) {
        let arm64 = sysctl_int(c"hw.optional.arm64") == Some(1);
        // -1/ENOENT on Intel Macs and before Big Sur: native.
        let translated = sysctl_int(c"sysctl.proc_translated") == Some(1);
        if arm64 {
            h.hardware_arch = Arch::Aarch64;
            h.rosetta_installed = Some(std::path::Path::new(super::ROSETTA_RUNTIME).exists());
        }
        if translated {
            h.translation = Translation::Rosetta {
                program_arch: Some(h.arch.clone()),
            };
        }
    }

    /// `p_flag` and the parent pid of `pid` (`sysctl {CTL_KERN, KERN_PROC, KERN_PROC_PID}`,
    /// any user may ask).
    pub fn kinfo(pid: u32) -> Option<(i32, u32)> {
        let mut mib = [
            libc::CTL_KERN,
            libc::KERN_PROC,
            libc::KERN_PROC_PID,
            pid as libc::c_int,
        ];
        let mut buf = [0u8; KINFO_PROC_SIZE];
        let mut len = buf.len();
        // SAFETY: `mib` holds 4 ints; `buf` is valid for `len` bytes of writes.
        let r = unsafe {
            libc::sysctl(
                mib.as_mut_ptr(),
                mib.len() as libc::c_uint,
                buf.as_mut_ptr().cast::<c_void>(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        if r != 0 || len < KINFO_PROC_SIZE {
            return None; // a missing pid "succeeds" with len 0
        }
        let i32_at = |o: usize| i32::from_ne_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]]);
        Some((i32_at(P_FLAG_OFFSET), i32_at(E_PPID_OFFSET).max(0) as u32))
    }

    pub fn name(pid: u32) -> String {
        let mut buf = [0u8; 256];
        // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
        let n = unsafe {
            libc::proc_name(
                pid as libc::c_int,
                buf.as_mut_ptr().cast::<c_void>(),
                buf.len() as u32,
            )
        };
        if n <= 0 {
            return String::new();
        }
        String::from_utf8_lossy(&buf[..(n as usize).min(buf.len())]).into_owned()
    }
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
