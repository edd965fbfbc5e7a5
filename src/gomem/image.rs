//! The target's executable file, as gohang needs it to read goroutines: its loadable
//! segments (to translate addresses and to know which memory is writable data), the
//! pclntab (read-only, so the file's bytes are what the process sees), the few runtime
//! symbols worth a look-up when `.symtab` survived, and the architecture. ELF and Mach-O
//! through goblin; no process access here.

use super::pclntab;
use goblin::Object;
use std::collections::HashMap;

/// Go architectures gohang can unwind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoArch {
    Amd64,
    Arm64,
}

impl GoArch {
    pub fn name(self) -> &'static str {
        match self {
            GoArch::Amd64 => "amd64",
            GoArch::Arm64 => "arm64",
        }
    }
    /// Whether calls leave the return address in a link register (arm64).
    pub fn uses_lr(self) -> bool {
        self == GoArch::Arm64
    }
    fn min_lc(self) -> u8 {
        match self {
            GoArch::Amd64 => 1,
            GoArch::Arm64 => 4,
        }
    }
}

/// A loadable segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    pub writable: bool,
    pub exec: bool,
}

/// Runtime symbols looked up in `.symtab` / the Mach-O symbol table when present.
pub const WANTED_SYMBOLS: [&str; 5] = [
    "runtime.firstmoduledata",
    "runtime.allgs",
    "runtime.allglen",
    "runtime.allm",
    "runtime.waitReasonStrings",
];

/// Largest executable gohang reads whole.
const MAX_FILE: u64 = 2 << 30;

#[derive(Debug)]
pub struct Image {
    pub bytes: Vec<u8>,
    pub arch: GoArch,
    pub segments: Vec<Segment>,
    /// Position-independent (ELF ET_DYN, or any Mach-O executable).
    pub pie: bool,
    /// Virtual address of the segment that maps file offset 0 (ELF), or of `__TEXT`.
    pub base_vaddr: u64,
    /// File virtual addresses of candidate pclntab headers (the section, or every
    /// header-magic match in read-only data when section headers are gone).
    pub pclntab_candidates: Vec<u64>,
    /// End (file vaddr) of the pclntab section when known.
    pub pclntab_end: Option<u64>,
    pub symbols: HashMap<&'static str, u64>,
    /// Sizes of those symbols (ELF `st_size`), where known.
    pub symbol_sizes: HashMap<&'static str, u64>,
    pub has_dwarf: bool,
}

impl Image {
    pub fn read(path: &std::path::Path) -> Result<Image, String> {
        let len = std::fs::metadata(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        if len > MAX_FILE {
            return Err(format!("{} is larger than 2 GiB", path.display()));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Image::parse(bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(bytes: Vec<u8>) -> Result<Image, String> {
        let mut img = match Object::parse(&bytes).map_err(|e| format!("not an executable ({e})"))? {
            Object::Elf(elf) => from_elf(&elf)?,
            Object::Mach(goblin::mach::Mach::Binary(m)) => from_macho(&m)?,
            Object::Mach(_) => {
                return Err(
                    "a universal binary: gohang reads the running slice's file only".into(),
                );
            }
            _ => return Err("not an ELF or Mach-O executable".into()),
        };
        if img.pclntab_candidates.is_empty() {
            img.pclntab_candidates = search_magic(&bytes, &img.segments, img.arch.min_lc());
        }
        img.bytes = bytes;
        Ok(img)
    }

    /// File bytes from file-vaddr `vaddr` to the end of its segment's file-backed part.
    pub fn slice_at(&self, vaddr: u64) -> Option<&[u8]> {
        let s = self
            .segments
            .iter()
            .find(|s| vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz)?;
        let start = s.offset.checked_add(vaddr - s.vaddr)? as usize;
        let end = (s.offset.checked_add(s.filesz)? as usize).min(self.bytes.len());
        self.bytes.get(start..end)
    }

    /// The pclntab bytes at `hdr` (a candidate), cut at the section end when known.
    pub fn pclntab_at(&self, hdr: u64) -> Option<&[u8]> {
        let s = self.slice_at(hdr)?;
        match self.pclntab_end {
            Some(end) if end > hdr => Some(&s[..s.len().min((end - hdr) as usize)]),
            _ => Some(s),
        }
    }
}

fn from_elf(elf: &goblin::elf::Elf) -> Result<Image, String> {
    use goblin::elf::header::{EM_AARCH64, EM_X86_64, ET_DYN};
    use goblin::elf::program_header::{PF_W, PF_X, PT_LOAD};
    if !elf.is_64 || !elf.little_endian {
        return Err("not a 64-bit little-endian program".into());
    }
    let arch = match elf.header.e_machine {
        EM_X86_64 => GoArch::Amd64,
        EM_AARCH64 => GoArch::Arm64,
        m => return Err(format!("ELF machine {m} is not amd64 or arm64")),
    };
    let segments: Vec<Segment> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .map(|p| Segment {
            vaddr: p.p_vaddr,
            memsz: p.p_memsz,
            offset: p.p_offset,
            filesz: p.p_filesz,
            writable: p.p_flags & PF_W != 0,
            exec: p.p_flags & PF_X != 0,
        })
        .collect();
    let base_vaddr = segments
        .iter()
        .find(|s| s.offset == 0)
        .map(|s| s.vaddr)
        .ok_or("no segment maps the start of the file")?;
    let mut img = Image {
        bytes: Vec::new(),
        arch,
        segments,
        pie: elf.header.e_type == ET_DYN,
        base_vaddr,
        pclntab_candidates: Vec::new(),
        pclntab_end: None,
        symbols: HashMap::new(),
        symbol_sizes: HashMap::new(),
        has_dwarf: false,
    };
    for sh in &elf.section_headers {
        let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("");
        match name {
            ".gopclntab" | ".data.rel.ro.gopclntab" => {
                img.pclntab_candidates = vec![sh.sh_addr];
                img.pclntab_end = sh.sh_addr.checked_add(sh.sh_size);
            }
            ".debug_info" | ".zdebug_info" => img.has_dwarf = true,
            _ => {}
        }
    }
    for sym in elf.syms.iter() {
        let Some(name) = elf.strtab.get_at(sym.st_name) else {
            continue;
        };
        if let Some(w) = WANTED_SYMBOLS.iter().find(|w| **w == name) {
            img.symbols.insert(w, sym.st_value);
            img.symbol_sizes.insert(w, sym.st_size);
        }
    }
    Ok(img)
}

fn from_macho(m: &goblin::mach::MachO) -> Result<Image, String> {
    use goblin::mach::constants::cputype::{CPU_TYPE_ARM64, CPU_TYPE_X86_64};
    if !m.is_64 || !m.little_endian {
        return Err("not a 64-bit little-endian program".into());
    }
    let arch = match m.header.cputype {
        CPU_TYPE_X86_64 => GoArch::Amd64,
        CPU_TYPE_ARM64 => GoArch::Arm64,
        c => return Err(format!("Mach-O CPU type {c:#x} is not x86_64 or arm64")),
    };
    const VM_PROT_WRITE: u32 = 2;
    const VM_PROT_EXECUTE: u32 = 4;
    let mut img = Image {
        bytes: Vec::new(),
        arch,
        segments: Vec::new(),
        pie: true,
        base_vaddr: 0,
        pclntab_candidates: Vec::new(),
        pclntab_end: None,
        symbols: HashMap::new(),
        symbol_sizes: HashMap::new(),
        has_dwarf: false,
    };
    for seg in m.segments.iter() {
        let name = seg.name().unwrap_or("");
        if name == "__PAGEZERO" {
            continue;
        }
        if name == "__TEXT" {
            img.base_vaddr = seg.vmaddr;
        }
        img.segments.push(Segment {
            vaddr: seg.vmaddr,
            memsz: seg.vmsize,
            offset: seg.fileoff,
            filesz: seg.filesize,
            writable: seg.initprot & VM_PROT_WRITE != 0,
            exec: seg.initprot & VM_PROT_EXECUTE != 0,
        });
        if name == "__DWARF" {
            img.has_dwarf = true;
        }
        for (sect, _) in seg.sections().map_err(|e| e.to_string())? {
            if sect.name().ok() == Some("__gopclntab") {
                img.pclntab_candidates = vec![sect.addr];
                img.pclntab_end = sect.addr.checked_add(sect.size);
            }
        }
    }
    for (name, nlist) in m.symbols().flatten() {
        let name = name.strip_prefix('_').unwrap_or(name);
        if let Some(w) = WANTED_SYMBOLS.iter().find(|w| **w == name) {
            img.symbols.insert(w, nlist.n_value);
        }
    }
    Ok(img)
}

/// Headers matching `f1 ff ff ff 00 00 <minLC> 08` at 8-aligned addresses in segments
/// that are not executable (read-only data, or RELRO data in PIE binaries).
fn search_magic(bytes: &[u8], segs: &[Segment], min_lc: u8) -> Vec<u64> {
    let mut magic = [0u8; 8];
    magic[..4].copy_from_slice(&pclntab::MAGIC.to_le_bytes());
    magic[6] = min_lc;
    magic[7] = 8;
    let mut out = Vec::new();
    for s in segs.iter().filter(|s| !s.exec) {
        let (Ok(start), Ok(len)) = (usize::try_from(s.offset), usize::try_from(s.filesz)) else {
            continue;
        };
        let Some(data) = bytes.get(start..start.saturating_add(len).min(bytes.len())) else {
            continue;
        };
        let skew = (8 - (s.vaddr % 8) as usize) % 8;
        let mut i = skew;
        while i + 8 <= data.len() {
            if data[i..i + 8] == magic {
                out.push(s.vaddr + i as u64);
                if out.len() >= 16 {
                    return out;
                }
            }
            i += 8;
        }
    }
    out
}
