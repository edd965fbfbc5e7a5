//! The Linux host: kernel, CPU count, registered binfmt_misc handlers, and the hardware's
//! own architecture even when gohang itself runs under an emulator.
//!
//! `uname -m` reports the guest architecture inside qemu-user (qemu fakes `uname`, and
//! `/proc/self/exe` too), so a handler whose architecture equals gohang's own means gohang
//! is translated; the interpreter binary itself is a native file and tells the hardware.

use crate::binary;
use crate::evidence::{Arch, BinfmtHandler, Emulator, HostInfo, Os, Translation};
use std::fs;
use std::path::Path;

pub const BINFMT_DIR: &str = "/proc/sys/fs/binfmt_misc";

/// Parse one `/proc/sys/fs/binfmt_misc/<name>` entry.
pub fn parse_binfmt_entry(name: &str, text: &str) -> Option<BinfmtHandler> {
    let mut enabled = false;
    let mut interpreter = None;
    let mut flags = String::new();
    let mut offset = 0usize;
    let mut magic = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "enabled" {
            enabled = true;
        } else if let Some(v) = line.strip_prefix("interpreter ") {
            interpreter = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("flags:") {
            flags = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("offset ") {
            offset = v.trim().parse().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("magic ") {
            magic = decode_hex(v.trim());
        }
    }
    let interpreter = interpreter?;
    // An ELF handler matches from offset 0 with at least e_machine (bytes 18..20).
    let arch = magic
        .filter(|m| offset == 0 && m.len() >= 20 && m[..4] == *b"\x7fELF")
        .map(|m| {
            let big = m[5] == 2;
            let em = if big {
                u16::from_be_bytes([m[18], m[19]])
            } else {
                u16::from_le_bytes([m[18], m[19]])
            };
            binary::elf_machine_arch(em, m[4] == 2, big)
        });
    Some(BinfmtHandler {
        name: name.to_string(),
        enabled,
        resolved: None,
        interpreter,
        flags,
        arch,
    })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Every registered handler (empty when binfmt_misc is not mounted).
pub fn binfmt_handlers() -> Vec<BinfmtHandler> {
    let Ok(dir) = fs::read_dir(BINFMT_DIR) else {
        return Vec::new();
    };
    let mut v: Vec<BinfmtHandler> = dir
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "register" || name == "status" {
                return None;
            }
            let text = fs::read_to_string(e.path()).ok()?;
            let mut h = parse_binfmt_entry(&name, &text)?;
            let r = resolve(&h.interpreter);
            h.resolved = (r != h.interpreter).then_some(r);
            Some(h)
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// The resolved path of a handler's interpreter (Debian registers a symlink).
pub fn resolve(path: &str) -> String {
    fs::canonicalize(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| path.to_string())
}

pub fn uname_machine() -> Arch {
    match nix::sys::utsname::uname() {
        Ok(u) => Arch::parse(&u.machine().to_string_lossy()),
        Err(_) => Arch::parse(std::env::consts::ARCH),
    }
}

pub fn host_info() -> HostInfo {
    let arch = uname_machine();
    let binfmt = binfmt_handlers();
    let kernel = nix::sys::utsname::uname()
        .ok()
        .map(|u| u.release().to_string_lossy().into_owned());
    // The machine's online CPUs, not a cgroup quota (available_parallelism reads the
    // cgroup files, a cost on every probe): this describes the host.
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as u32;

    // Am I translated? A handler for my own architecture would have run me.
    let mine = binfmt
        .iter()
        .find(|h| h.enabled && h.arch.as_ref() == Some(&arch));
    let (hardware_arch, translation) = match mine {
        Some(h) => {
            let interp = resolve(&h.interpreter);
            let hw = binary::exe_info(Path::new(&interp))
                .ok()
                .and_then(|i| i.arches.into_iter().next())
                .unwrap_or_else(|| arch.clone());
            if hw.runs_natively_on(&arch) && arch.runs_natively_on(&hw) {
                (arch.clone(), Translation::Native)
            } else {
                let t = Translation::Binfmt {
                    emulator: Emulator::from_interpreter(&interp),
                    interpreter: interp,
                    program: std::env::current_exe()
                        .ok()
                        .map(|p| p.to_string_lossy().into_owned()),
                    program_arch: Some(arch.clone()),
                };
                (hw, t)
            }
        }
        None => (arch.clone(), Translation::Native),
    };
    HostInfo {
        os: Os::Linux,
        arch,
        hardware_arch,
        translation,
        kernel,
        cpus,
        binfmt,
        rosetta_installed: None,
        arm64_homebrew: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_qemu_aarch64_entry() {
        let text = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n\
                    magic 7f454c460201010000000000000000000200b700\n\
                    mask ffffffffffffff00fffffffffffffffffeffffff\n";
        let h = parse_binfmt_entry("qemu-aarch64", text).unwrap();
        assert!(h.enabled);
        assert_eq!(h.flags, "PF");
        assert_eq!(h.arch, Some(Arch::Aarch64));
        assert_eq!(h.interpreter, "/usr/libexec/qemu-binfmt/aarch64-binfmt-P");
    }

    #[test]
    fn disabled_and_non_elf_entries() {
        let h = parse_binfmt_entry(
            "jar",
            "disabled\ninterpreter /usr/bin/jexec\nflags: \noffset 0\nmagic 504b0304\n",
        )
        .unwrap();
        assert!(!h.enabled);
        assert_eq!(h.arch, None);
        // Debian's qemu-s390x: a big-endian ELF (EI_DATA = 2), e_machine 22.
        let s390 = "enabled\ninterpreter /usr/bin/qemu-s390x-static\nflags: F\noffset 0\n\
                    magic 7f454c4602020100000000000000000000020016\n";
        assert_eq!(
            parse_binfmt_entry("qemu-s390x", s390).unwrap().arch,
            Some(Arch::S390x)
        );
        assert!(parse_binfmt_entry("broken", "enabled\n").is_none());
    }
}
