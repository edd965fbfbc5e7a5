//! Executable headers: which format and architecture a file is, read from its first bytes.
//!
//! Reads only what it needs (a header, or a fat header's slice table) and never trusts a
//! length in the file: a truncated or hostile file gives `Err("not a valid …")`, not a panic.

use crate::evidence::{Arch, ExeInfo, Os};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// ELF `e_machine` values (`elf.h`).
mod em {
    pub const X86: u16 = 3;
    pub const MIPS: u16 = 8;
    pub const PPC64: u16 = 21;
    pub const S390: u16 = 22;
    pub const ARM: u16 = 40;
    pub const X86_64: u16 = 62;
    pub const AARCH64: u16 = 183;
    pub const RISCV: u16 = 243;
    pub const LOONGARCH: u16 = 258;
}

/// Mach-O `cputype` values (`mach/machine.h`).
mod cpu {
    pub const ABI64: u32 = 0x0100_0000;
    pub const X86: u32 = 7;
    pub const ARM: u32 = 12;
    pub const X86_64: u32 = X86 | ABI64;
    pub const ARM64: u32 = ARM | ABI64;
    pub const PPC64: u32 = 18 | ABI64;
    /// `CPU_SUBTYPE_ARM64E`.
    pub const SUBTYPE_ARM64E: u32 = 2;
    pub const SUBTYPE_MASK: u32 = 0x00ff_ffff;
}

/// The architecture of an ELF `e_machine` (`big_endian` tells ppc64 from ppc64le).
pub fn elf_machine_arch(machine: u16, is_64: bool, big_endian: bool) -> Arch {
    match machine {
        em::X86_64 => Arch::X86_64,
        em::AARCH64 => Arch::Aarch64,
        em::X86 => Arch::X86,
        em::ARM => Arch::Arm,
        em::RISCV if is_64 => Arch::Riscv64,
        em::PPC64 if big_endian => Arch::Ppc64,
        em::PPC64 => Arch::Ppc64le,
        em::S390 => Arch::S390x,
        em::LOONGARCH => Arch::Loongarch64,
        em::MIPS if is_64 => Arch::Mips64,
        other => Arch::Other(format!("elf-machine-{other}")),
    }
}

/// The architecture of a Mach-O `cputype`/`cpusubtype`.
pub fn macho_cpu_arch(cputype: u32, cpusubtype: u32) -> Arch {
    match cputype {
        cpu::X86_64 => Arch::X86_64,
        cpu::ARM64 if cpusubtype & cpu::SUBTYPE_MASK == cpu::SUBTYPE_ARM64E => Arch::Arm64e,
        cpu::ARM64 => Arch::Aarch64,
        cpu::X86 => Arch::X86,
        cpu::ARM => Arch::Arm,
        cpu::PPC64 => Arch::Ppc64,
        other => Arch::Other(format!("mach-cputype-{other:#x}")),
    }
}

const FAT_MAGIC: u32 = 0xcafe_babe;
const FAT_MAGIC_64: u32 = 0xcafe_babf;
/// Fat headers with more slices than this are not real binaries (Java class files share
/// the 0xcafebabe magic and put their version there).
const MAX_FAT_SLICES: u32 = 32;

/// Format and architectures from the first bytes of a file.
pub fn exe_info_from_bytes(b: &[u8]) -> Result<ExeInfo, String> {
    if b.len() >= 20 && b[..4] == *b"\x7fELF" {
        let is_64 = b[4] == 2;
        let big = b[5] == 2;
        let m = if big {
            u16::from_be_bytes([b[18], b[19]])
        } else {
            u16::from_le_bytes([b[18], b[19]])
        };
        return Ok(ExeInfo {
            format: "elf".into(),
            arches: vec![elf_machine_arch(m, is_64, big)],
        });
    }
    if b.len() >= 12 {
        let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if le == 0xfeed_facf || le == 0xfeed_face {
            let ct = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            let st = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
            return Ok(ExeInfo {
                format: "mach-o".into(),
                arches: vec![macho_cpu_arch(ct, st)],
            });
        }
        let be = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        if be == FAT_MAGIC || be == FAT_MAGIC_64 {
            let n = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            if n == 0 || n > MAX_FAT_SLICES {
                return Err(format!("not a valid universal binary ({n} slices)"));
            }
            let entry = if be == FAT_MAGIC { 20 } else { 32 };
            let mut arches = Vec::new();
            for i in 0..n as usize {
                let off = 8 + i * entry;
                let Some(e) = b.get(off..off + 8) else {
                    return Err("not a valid universal binary (truncated slice table)".into());
                };
                let ct = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
                let st = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
                arches.push(macho_cpu_arch(ct, st));
            }
            return Ok(ExeInfo {
                format: "mach-o-fat".into(),
                arches,
            });
        }
    }
    if b.starts_with(b"#!") {
        return Ok(ExeInfo {
            format: "script".into(),
            arches: Vec::new(),
        });
    }
    Err("not a valid executable (no ELF or Mach-O header)".into())
}

/// Format and architectures of the file at `path` (reads at most 4 KiB). Opened without
/// blocking: a FIFO where a program should be is refused, not waited on.
pub fn exe_info(path: &Path) -> Result<ExeInfo, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !f.metadata().is_ok_and(|m| m.is_file()) {
        return Err(format!("{}: not a regular file", path.display()));
    }
    let mut buf = [0u8; 4096];
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    exe_info_from_bytes(&buf[..n])
}

/// Why the kernel refused to execute a file, when it is not a foreign architecture
/// (issue 14): ENOEXEC, ENOENT and EACCES each have causes that say nothing of the
/// architecture, and each needs another fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecProblem {
    /// ENOEXEC on a text file without `#!`: the kernel cannot tell what runs it
    /// (execve(2): only `#!` scripts and binary formats are executed).
    NoShebang,
    /// ENOEXEC on a file with no executable header and no text: empty, random bytes.
    NotAProgram { empty: bool },
    /// ENOEXEC on an ELF or Mach-O that is malformed, truncated, or of this machine's own
    /// architecture (so not a foreign one).
    Corrupt { why: String },
    /// ENOENT although the file exists: its `#!` interpreter or ELF loader (PT_INTERP) is
    /// missing (execve(2) ENOENT).
    MissingInterpreter { interpreter: String, shebang: bool },
    /// EACCES on a directory.
    Directory,
}

impl ExecProblem {
    /// One line for the user: what is wrong and what to do.
    pub fn message(&self, path: &Path) -> String {
        let p = path.display();
        match self {
            ExecProblem::NoShebang => format!(
                "cannot execute {p}: a text file without a #! line, so the system does not know what runs it; \
                 add one (e.g. #!/bin/sh) as its first line, or name the interpreter: -- sh {p}"
            ),
            ExecProblem::NotAProgram { empty: true } => {
                format!("cannot execute {p}: it is empty; name the program to probe")
            }
            ExecProblem::NotAProgram { empty: false } => format!(
                "cannot execute {p}: not a program (no ELF or Mach-O header and no #! line); name the program to probe"
            ),
            ExecProblem::Corrupt { why } => format!(
                "cannot execute {p}: {why}; it is damaged or truncated — reinstall or rebuild it \
                 (`gohang scan {p}` shows its headers)"
            ),
            ExecProblem::MissingInterpreter {
                interpreter,
                shebang: true,
            } => format!(
                "cannot execute {p}: its #! line names {interpreter}, which does not exist; install it or fix the #! line"
            ),
            ExecProblem::MissingInterpreter {
                interpreter,
                shebang: false,
            } => format!(
                "cannot execute {p}: its program loader {interpreter} does not exist \
                 (built for another C library or system?); rebuild it here, or for Go with CGO_ENABLED=0"
            ),
            ExecProblem::Directory => {
                format!("cannot execute {p}: it is a directory; name the program to probe")
            }
        }
    }
}

/// Why exec of `path` failed with `errno`, when the cause is not a foreign architecture;
/// None when it may be one (or is something else: a permission, a missing file).
/// Reads at most 4 KiB of the file, without blocking.
pub fn exec_problem(path: &Path, errno: i32, hardware: &Arch) -> Option<ExecProblem> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_dir() {
        return (errno == libc::EACCES).then_some(ExecProblem::Directory);
    }
    let head = head_bytes(path)?;
    match errno {
        libc::ENOENT => {
            if let Some(line) = head.strip_prefix(b"#!") {
                let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
                let text = String::from_utf8_lossy(line);
                let interp = text.split_whitespace().next()?.to_string();
                return (!Path::new(&interp).exists()).then_some(ExecProblem::MissingInterpreter {
                    interpreter: interp,
                    shebang: true,
                });
            }
            let interp = elf_interpreter(&head)?;
            (!Path::new(&interp).exists()).then_some(ExecProblem::MissingInterpreter {
                interpreter: interp,
                shebang: false,
            })
        }
        libc::ENOEXEC => match exe_info_from_bytes(&head) {
            Ok(info) if info.format == "script" => None,
            // A valid header of this machine's own architecture: not a foreign binary.
            Ok(info) if !info.arches.is_empty() && info.arches.iter().all(|a| a == hardware) => {
                Some(ExecProblem::Corrupt {
                    why: format!(
                        "the kernel refused it although its {} header names {}, this machine's own \
                         architecture",
                        if info.format.starts_with("mach-o") {
                            "Mach-O"
                        } else {
                            "ELF"
                        },
                        hardware.display_for(&Os::Linux)
                    ),
                })
            }
            Ok(_) => None,
            Err(why) => {
                let magic = head.starts_with(b"\x7fELF")
                    || [0xfeedface_u32, 0xfeedfacf, 0xcafebabe].iter().any(|m| {
                        head.starts_with(&m.to_be_bytes()) || head.starts_with(&m.to_le_bytes())
                    });
                if magic {
                    Some(ExecProblem::Corrupt { why })
                } else if head.is_empty() {
                    Some(ExecProblem::NotAProgram { empty: true })
                } else if looks_like_text(&head) {
                    Some(ExecProblem::NoShebang)
                } else {
                    Some(ExecProblem::NotAProgram { empty: false })
                }
            }
        },
        _ => None,
    }
}

/// The first 4 KiB of a regular file, opened without blocking.
fn head_bytes(path: &Path) -> Option<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut buf = Vec::new();
    f.take(4096).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// Mostly printable UTF-8: a script or a text file.
fn looks_like_text(b: &[u8]) -> bool {
    let s = String::from_utf8_lossy(b);
    let bad = s
        .chars()
        .filter(|c| *c == '\u{fffd}' || (c.is_control() && !c.is_whitespace()))
        .count();
    bad * 20 < s.chars().count().max(1)
}

/// The PT_INTERP path of an ELF, when its program headers and the path lie in `head`.
fn elf_interpreter(head: &[u8]) -> Option<String> {
    use goblin::elf::{Elf, program_header::PT_INTERP};
    let hdr = Elf::parse_header(head).ok()?;
    let ctx = goblin::container::Ctx::new(
        if hdr.e_ident[4] == 2 {
            goblin::container::Container::Big
        } else {
            goblin::container::Container::Little
        },
        if hdr.e_ident[5] == 2 {
            goblin::container::Endian::Big
        } else {
            goblin::container::Endian::Little
        },
    );
    let phs =
        goblin::elf::ProgramHeader::parse(head, hdr.e_phoff as usize, hdr.e_phnum as usize, ctx)
            .ok()?;
    let ph = phs.iter().find(|p| p.p_type == PT_INTERP)?;
    let bytes = head.get(ph.p_offset as usize..(ph.p_offset + ph.p_filesz) as usize)?;
    let s = String::from_utf8_lossy(bytes.split(|&b| b == 0).next()?).into_owned();
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(machine: u16) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b
    }

    #[test]
    fn exe_info_of_a_fifo_does_not_block() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("go");
        nix::unistd::mkfifo(&f, nix::sys::stat::Mode::from_bits_truncate(0o755)).unwrap();
        assert!(exe_info(&f).unwrap_err().contains("not a regular file"));
    }

    #[test]
    fn elf_machines() {
        assert_eq!(
            exe_info_from_bytes(&elf(62)).unwrap().arches,
            vec![Arch::X86_64]
        );
        assert_eq!(
            exe_info_from_bytes(&elf(183)).unwrap().arches,
            vec![Arch::Aarch64]
        );
    }

    #[test]
    fn macho_thin_and_fat() {
        let mut thin = vec![0u8; 32];
        thin[..4].copy_from_slice(&0xfeed_facf_u32.to_le_bytes());
        thin[4..8].copy_from_slice(&cpu::ARM64.to_le_bytes());
        thin[8..12].copy_from_slice(&(0x8000_0000u32 | 2).to_le_bytes());
        assert_eq!(
            exe_info_from_bytes(&thin).unwrap().arches,
            vec![Arch::Arm64e]
        );

        let mut fat = Vec::new();
        fat.extend_from_slice(&FAT_MAGIC.to_be_bytes());
        fat.extend_from_slice(&2u32.to_be_bytes());
        for (ct, st) in [(cpu::X86_64, 3u32), (cpu::ARM64, 0)] {
            fat.extend_from_slice(&ct.to_be_bytes());
            fat.extend_from_slice(&st.to_be_bytes());
            fat.extend_from_slice(&[0u8; 12]);
        }
        let info = exe_info_from_bytes(&fat).unwrap();
        assert_eq!(info.format, "mach-o-fat");
        assert_eq!(info.arches, vec![Arch::X86_64, Arch::Aarch64]);
        assert!(exe_info_from_bytes(&fat[..20]).is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for n in 0..80 {
            let _ = exe_info_from_bytes(&vec![0xca; n]);
            let _ = exe_info_from_bytes(&elf(62)[..n.min(64)]);
        }
        assert!(exe_info_from_bytes(b"hello").is_err());
        assert_eq!(
            exe_info_from_bytes(b"#!/bin/sh\n").unwrap().format,
            "script"
        );
    }
}
