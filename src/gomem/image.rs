//! The target's executable file, as gohang needs it to read goroutines: its loadable
//! segments (to translate addresses and to know which memory is writable data), the
//! pclntab (read-only, so the file's bytes are what the process sees), the few runtime
//! symbols worth a look-up when `.symtab` survived, and the architecture. ELF and Mach-O
//! through goblin; no process access here.

use super::filemap::FileBytes;
use super::le::{u32_at, u64_at};
use super::pclntab;
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
    /// The file, mapped: only the pages a dump touches are read.
    pub bytes: FileBytes,
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
    /// File offset and size of the build-info section (`.go.buildinfo`,
    /// `__go_buildinfo`) when section headers name it.
    pub buildinfo: Option<(u64, u64)>,
    pub symbols: HashMap<&'static str, u64>,
    /// Sizes of those symbols (ELF `st_size`), where known.
    pub symbol_sizes: HashMap<&'static str, u64>,
    pub has_dwarf: bool,
}

impl Image {
    pub fn read(path: &std::path::Path) -> Result<Image, String> {
        let bytes = FileBytes::map(path, MAX_FILE)?;
        Image::parse(bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(bytes: impl Into<FileBytes>) -> Result<Image, String> {
        let bytes: FileBytes = bytes.into();
        let mut img = if bytes.starts_with(b"\x7fELF") {
            from_elf(&bytes)?
        } else {
            match goblin::Object::parse(&bytes).map_err(|e| format!("not an executable ({e})"))? {
                goblin::Object::Mach(goblin::mach::Mach::Binary(m)) => from_macho(&m)?,
                goblin::Object::Mach(_) => {
                    return Err(
                        "a universal binary: gohang reads the running slice's file only".into(),
                    );
                }
                _ => return Err("not an ELF or Mach-O executable".into()),
            }
        };
        if img.pclntab_candidates.is_empty() {
            img.pclntab_candidates = search_magic(&bytes, &img.segments, img.arch.min_lc());
        }
        img.bytes = bytes;
        Ok(img)
    }

    /// The file bytes that hold the build info: its section when named, otherwise the
    /// writable segments (the linker puts it at the start of the data).
    pub fn buildinfo_bytes(&self) -> Vec<&[u8]> {
        let file = |off: u64, len: u64| {
            let start = usize::try_from(off).ok()?;
            let end = start.checked_add(usize::try_from(len).ok()?)?;
            self.bytes.get(start..end.min(self.bytes.len()))
        };
        if let Some(b) = self.buildinfo.and_then(|(off, len)| file(off, len)) {
            return vec![b];
        }
        self.segments
            .iter()
            .filter(|s| s.writable)
            .filter_map(|s| file(s.offset, s.filesz))
            .collect()
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

/// The ELF headers gohang needs, read by hand: program headers, section names, and the
/// handful of `.symtab` entries in [`WANTED_SYMBOLS`]. (A general parser builds a table
/// of every string of `.strtab` first: tens of thousands for the official `go`, which
/// cost more than the rest of a dump.)
fn from_elf(b: &[u8]) -> Result<Image, String> {
    const PT_LOAD: u32 = 1;
    const PF_X: u32 = 1;
    const PF_W: u32 = 2;
    const ET_DYN: u16 = 3;
    const EM_X86_64: u16 = 62;
    const EM_AARCH64: u16 = 183;
    const SHT_SYMTAB: u32 = 2;
    const SHT_NOBITS: u32 = 8;
    const MAX_HEADERS: usize = 1 << 16;
    let short = || "the ELF header is cut short".to_string();
    if b.len() < 64 || b[..4] != *b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    if b[4] != 2 || b[5] != 1 {
        return Err("not a 64-bit little-endian program".into());
    }
    let u16_at = |off: usize| -> Option<u16> {
        Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
    };
    let e_type = u16_at(16).ok_or_else(short)?;
    let arch = match u16_at(18).ok_or_else(short)? {
        EM_X86_64 => GoArch::Amd64,
        EM_AARCH64 => GoArch::Arm64,
        m => return Err(format!("ELF machine {m} is not amd64 or arm64")),
    };
    let word = |off: usize| u64_at(b, off).and_then(|v| usize::try_from(v).ok());
    let (phoff, shoff) = (word(32).ok_or_else(short)?, word(40).ok_or_else(short)?);
    let (phentsize, phnum) = (
        usize::from(u16_at(54).ok_or_else(short)?),
        usize::from(u16_at(56).ok_or_else(short)?),
    );
    let (shentsize, shnum, shstrndx) = (
        usize::from(u16_at(58).ok_or_else(short)?),
        usize::from(u16_at(60).ok_or_else(short)?),
        usize::from(u16_at(62).ok_or_else(short)?),
    );
    if phentsize < 56 || phnum > MAX_HEADERS {
        return Err("the ELF program headers are malformed".into());
    }
    let mut segments = Vec::new();
    for i in 0..phnum {
        let at = phoff
            .checked_add(i * phentsize)
            .ok_or("the ELF program headers are malformed")?;
        let p = b
            .get(at..at.saturating_add(56))
            .ok_or("the ELF program headers lie outside the file")?;
        if u32_at(p, 0) != Some(PT_LOAD) {
            continue;
        }
        let flags = u32_at(p, 4).unwrap_or(0);
        segments.push(Segment {
            offset: u64_at(p, 8).unwrap_or(0),
            vaddr: u64_at(p, 16).unwrap_or(0),
            filesz: u64_at(p, 32).unwrap_or(0),
            memsz: u64_at(p, 40).unwrap_or(0),
            writable: flags & PF_W != 0,
            exec: flags & PF_X != 0,
        });
    }
    let base_vaddr = segments
        .iter()
        .find(|s| s.offset == 0)
        .map(|s| s.vaddr)
        .ok_or("no segment maps the start of the file")?;
    let mut img = Image {
        bytes: FileBytes::Owned(Vec::new()),
        arch,
        segments,
        pie: e_type == ET_DYN,
        base_vaddr,
        pclntab_candidates: Vec::new(),
        pclntab_end: None,
        buildinfo: None,
        symbols: HashMap::new(),
        symbol_sizes: HashMap::new(),
        has_dwarf: false,
    };
    // Section headers are optional (a stripped-by-hand binary may lack them).
    if shoff == 0 || shnum == 0 || shentsize < 64 || shnum > MAX_HEADERS {
        return Ok(img);
    }
    let shdr = |i: usize| -> Option<&[u8]> {
        let at = shoff.checked_add(i.checked_mul(shentsize)?)?;
        b.get(at..at.checked_add(64)?)
    };
    let range = |s: &[u8]| -> Option<&[u8]> {
        let (off, size) = (word_in(s, 24)?, word_in(s, 32)?);
        b.get(off..off.checked_add(size)?)
    };
    let Some(names) = shdr(shstrndx).and_then(range) else {
        return Ok(img);
    };
    let mut symtab = None;
    for i in 0..shnum {
        let Some(s) = shdr(i) else { break };
        let name = u32_at(s, 0)
            .and_then(|n| names.get(n as usize..))
            .map(|n| &n[..n.iter().position(|&c| c == 0).unwrap_or(n.len())])
            .unwrap_or(b"");
        let (addr, size) = (u64_at(s, 16).unwrap_or(0), u64_at(s, 32).unwrap_or(0));
        match name {
            b".gopclntab" | b".data.rel.ro.gopclntab" => {
                img.pclntab_candidates = vec![addr];
                img.pclntab_end = addr.checked_add(size);
            }
            b".go.buildinfo" if u32_at(s, 4) != Some(SHT_NOBITS) => {
                img.buildinfo = Some((u64_at(s, 24).unwrap_or(0), size));
            }
            b".debug_info" | b".zdebug_info" => img.has_dwarf = true,
            _ => {}
        }
        if u32_at(s, 4) == Some(SHT_SYMTAB) {
            symtab = Some(s);
        }
    }
    if let Some(st) = symtab {
        let strtab = u32_at(st, 40)
            .and_then(|link| shdr(link as usize))
            .and_then(range);
        if let (Some(syms), Some(strtab)) = (range(st), strtab) {
            find_symbols(&mut img, syms, strtab);
        }
    }
    Ok(img)
}

fn word_in(s: &[u8], off: usize) -> Option<usize> {
    u64_at(s, off).and_then(|v| usize::try_from(v).ok())
}

/// The [`WANTED_SYMBOLS`] among ELF64 symbols `syms` (24 bytes each) named in `strtab`.
fn find_symbols(img: &mut Image, syms: &[u8], strtab: &[u8]) {
    for sym in syms.chunks_exact(24) {
        let Some(name) = u32_at(sym, 0).and_then(|n| strtab.get(n as usize..)) else {
            continue;
        };
        // Every wanted name starts with "runtime.": most symbols fail at the first byte.
        if !name.starts_with(b"runtime.") {
            continue;
        }
        let Some(w) = WANTED_SYMBOLS
            .iter()
            .find(|w| name.get(..w.len()) == Some(w.as_bytes()) && name.get(w.len()) == Some(&0))
        else {
            continue;
        };
        img.symbols.insert(w, u64_at(sym, 8).unwrap_or(0));
        img.symbol_sizes.insert(w, u64_at(sym, 16).unwrap_or(0));
        if img.symbols.len() == WANTED_SYMBOLS.len() {
            break;
        }
    }
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
        bytes: FileBytes::Owned(Vec::new()),
        arch,
        segments: Vec::new(),
        pie: true,
        base_vaddr: 0,
        pclntab_candidates: Vec::new(),
        pclntab_end: None,
        buildinfo: None,
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
            match sect.name().ok() {
                Some("__gopclntab") => {
                    img.pclntab_candidates = vec![sect.addr];
                    img.pclntab_end = sect.addr.checked_add(sect.size);
                }
                Some("__go_buildinfo") => {
                    img.buildinfo = Some((u64::from(sect.offset), sect.size));
                }
                _ => {}
            }
        }
    }
    // nlist entries have no size: a wanted symbol's is the distance to the next defined
    // symbol above it (an upper bound; what uses a size checks it).
    let mut addrs = Vec::new();
    for (name, nlist) in m.symbols().flatten() {
        if nlist.n_sect != 0 {
            addrs.push(nlist.n_value);
        }
        let name = name.strip_prefix('_').unwrap_or(name);
        if let Some(w) = WANTED_SYMBOLS.iter().find(|w| **w == name) {
            img.symbols.insert(w, nlist.n_value);
        }
    }
    addrs.sort_unstable();
    for (w, &a) in &img.symbols {
        let next = addrs.partition_point(|&x| x <= a);
        if let Some(&n) = addrs.get(next) {
            img.symbol_sizes.insert(w, n - a);
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
