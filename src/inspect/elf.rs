//! ELF: the machine from the file header, the OS from `EI_OSABI` (or the Go build info),
//! and the Go build info from the `.go.buildinfo` section.
//!
//! Reads the 64-byte header, the program header table (to check the loadable segments are
//! all in the file: a truncated binary fails at exec), the section header table and its
//! name table, and up to 64 KiB of the build-info section. Structure parsing uses goblin's
//! `Header`, `ProgramHeader` and `SectionHeader` on those small buffers.

use super::buildinfo;
use super::{BinaryInfo, Format, InspectError, Slice, Source};
use crate::binary::elf_machine_arch;
use crate::evidence::Os;
use goblin::container::{Container, Ctx};
use goblin::elf::header::{EI_OSABI, Header};
use goblin::elf::program_header::{PF_W, PF_X, PT_LOAD};
use goblin::elf::section_header::{SHN_XINDEX, SHT_NOBITS};
use goblin::elf::{ProgramHeader, SectionHeader};
use scroll::Pread;

const FMT: &str = "ELF file";
/// No table gohang needs is bigger than this (a Go binary has ~25 sections).
const MAX_TABLE: u64 = 1 << 20;

/// `head`: the file's first bytes (up to 64, all an ELF header needs), already read.
pub(super) fn inspect(src: &dyn Source, head: &[u8]) -> Result<BinaryInfo, InspectError> {
    let header: Header = head
        .pread(0)
        .map_err(|e| InspectError::invalid(FMT, format!("bad file header ({e})")))?;
    let container = header
        .container()
        .map_err(|e| InspectError::invalid(FMT, e.to_string()))?;
    let endian = header
        .endianness()
        .map_err(|e| InspectError::invalid(FMT, e.to_string()))?;
    let ctx = Ctx::new(container, endian);
    let is_64 = container == Container::Big;
    let big_endian = endian == scroll::Endian::Big;

    let phdrs = program_headers(src, &header, ctx)?;
    for (i, p) in phdrs.iter().enumerate() {
        if p.p_type == PT_LOAD {
            check_extent(src, p.p_offset, p.p_filesz, &format!("segment {i}"))?;
        }
    }
    let sections = section_headers(src, &header, ctx)?;
    for (i, s) in sections.iter().enumerate() {
        if s.sh_type != SHT_NOBITS && i > 0 {
            check_extent(src, s.sh_offset, s.sh_size, &format!("section {i}"))?;
        }
    }
    let names = section_names(src, &header, &sections)?;

    let go = go_build_info(src, &phdrs, &sections, names.as_deref());
    let os = go
        .as_ref()
        .and_then(|g| g.goos.as_deref())
        .map(Os::from_goos)
        .or_else(|| os_from_osabi(header.e_ident[EI_OSABI]).map(Os::from));
    Ok(BinaryInfo {
        format: Format::Elf,
        fat_header: None,
        slices: vec![Slice {
            arch: elf_machine_arch(header.e_machine, is_64, big_endian),
            bits: if is_64 { 64 } else { 32 },
            big_endian,
            cputype: None,
            cpusubtype: None,
            elf_machine: Some(header.e_machine),
            offset: 0,
            size: src.len(),
            os,
            platform: None,
            min_os: None,
            sdk: None,
            signature: None,
            go,
        }],
    })
}

/// The OS an `EI_OSABI` byte names; 0 (System V) is what Linux and most others use, so
/// it says nothing.
fn os_from_osabi(b: u8) -> Option<String> {
    let s = match b {
        2 => "netbsd",
        3 => "linux",
        6 => "solaris",
        9 => "freebsd",
        12 => "openbsd",
        _ => return None,
    };
    Some(s.to_string())
}

fn check_extent(src: &dyn Source, off: u64, size: u64, what: &str) -> Result<(), InspectError> {
    match off.checked_add(size) {
        Some(end) if end <= src.len() => Ok(()),
        _ => Err(InspectError::invalid(
            FMT,
            format!(
                "truncated: {what} ({size} bytes at offset {off:#x}) runs past the end ({} bytes)",
                src.len()
            ),
        )),
    }
}

/// Bytes of a table of `count` entries of `entsize` at `off`, refusing absurd sizes.
fn table(
    src: &dyn Source,
    off: u64,
    count: u64,
    entsize: u64,
    what: &str,
) -> Result<Vec<u8>, InspectError> {
    let len = count
        .checked_mul(entsize)
        .filter(|l| *l <= MAX_TABLE)
        .ok_or_else(|| {
            InspectError::invalid(FMT, format!("{what}: {count} entries is too many"))
        })?;
    src.read_exact(off, len as usize, FMT, what)
}

fn program_headers(
    src: &dyn Source,
    h: &Header,
    ctx: Ctx,
) -> Result<Vec<ProgramHeader>, InspectError> {
    if h.e_phnum == 0 {
        return Ok(Vec::new());
    }
    let size = ProgramHeader::size(ctx);
    if h.e_phentsize as usize != size {
        return Err(InspectError::invalid(
            FMT,
            format!("program header size {} (expected {size})", h.e_phentsize),
        ));
    }
    let buf = table(
        src,
        h.e_phoff,
        h.e_phnum as u64,
        size as u64,
        "program header table",
    )?;
    ProgramHeader::parse(&buf, 0, h.e_phnum as usize, ctx)
        .map_err(|e| InspectError::invalid(FMT, format!("program headers: {e}")))
}

fn section_headers(
    src: &dyn Source,
    h: &Header,
    ctx: Ctx,
) -> Result<Vec<SectionHeader>, InspectError> {
    if h.e_shoff == 0 {
        return Ok(Vec::new());
    }
    let size = SectionHeader::size(ctx);
    if h.e_shentsize as usize != size {
        return Err(InspectError::invalid(
            FMT,
            format!("section header size {} (expected {size})", h.e_shentsize),
        ));
    }
    // With 0xff00 sections or more, e_shnum is 0 and the count is the null section's sh_size.
    let count = if h.e_shnum == 0 {
        let first = table(src, h.e_shoff, 1, size as u64, "section header table")?;
        let null: SectionHeader = SectionHeader::parse_from(&first, 0, 1, ctx)
            .ok()
            .and_then(|v| v.into_iter().next())
            .ok_or_else(|| InspectError::invalid(FMT, "unreadable section header 0"))?;
        null.sh_size
    } else {
        h.e_shnum as u64
    };
    if count == 0 {
        return Ok(Vec::new());
    }
    let buf = table(src, h.e_shoff, count, size as u64, "section header table")?;
    SectionHeader::parse_from(&buf, 0, count as usize, ctx)
        .map_err(|e| InspectError::invalid(FMT, format!("section headers: {e}")))
}

/// The section name table, when there is one.
fn section_names(
    src: &dyn Source,
    h: &Header,
    sections: &[SectionHeader],
) -> Result<Option<Vec<u8>>, InspectError> {
    if sections.is_empty() {
        return Ok(None);
    }
    let index = if h.e_shstrndx as u32 == SHN_XINDEX {
        sections[0].sh_link as usize
    } else {
        h.e_shstrndx as usize
    };
    let Some(s) = sections.get(index) else {
        return Err(InspectError::invalid(
            FMT,
            format!(
                "section name table index {index} out of range ({} sections)",
                sections.len()
            ),
        ));
    };
    if s.sh_type == SHT_NOBITS || s.sh_size > MAX_TABLE {
        return Ok(None);
    }
    src.read_exact(s.sh_offset, s.sh_size as usize, FMT, "section name table")
        .map(Some)
}

fn name_at(names: &[u8], off: u32) -> &[u8] {
    let Some(rest) = names.get(off as usize..) else {
        return b"";
    };
    let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    &rest[..end]
}

/// Go's `debug/buildinfo` for ELF: the `.go.buildinfo` section, or else the start of the
/// first writable, non-executable loadable segment (binaries without section headers).
fn go_build_info(
    src: &dyn Source,
    phdrs: &[ProgramHeader],
    sections: &[SectionHeader],
    names: Option<&[u8]>,
) -> Option<buildinfo::GoBuildInfo> {
    let section = names.and_then(|n| {
        sections
            .iter()
            .find(|s| name_at(n, s.sh_name as u32) == b".go.buildinfo")
    });
    let (off, size) = match section {
        Some(s) if s.sh_type != SHT_NOBITS => (s.sh_offset, s.sh_size),
        Some(_) => return None,
        None if sections.is_empty() => {
            let p = phdrs
                .iter()
                .find(|p| p.p_type == PT_LOAD && p.p_flags & (PF_X | PF_W) == PF_W)?;
            (p.p_offset, p.p_filesz)
        }
        // Section headers but no build-info section: not a Go program (Go ≥ 1.13 always
        // writes the section).
        None => return None,
    };
    buildinfo::read(src, off, size, &|addr, len| {
        read_vaddr(src, phdrs, addr, len)
    })
}

/// Read `len` bytes at virtual address `addr` through the loadable segments.
fn read_vaddr(src: &dyn Source, phdrs: &[ProgramHeader], addr: u64, len: usize) -> Option<Vec<u8>> {
    if len as u64 > buildinfo::MAX_STRING {
        return None;
    }
    let p = phdrs
        .iter()
        .find(|p| p.p_type == PT_LOAD && addr >= p.p_vaddr && addr - p.p_vaddr < p.p_filesz)?;
    let rel = addr - p.p_vaddr;
    if rel.checked_add(len as u64)? > p.p_filesz {
        return None;
    }
    let b = src.read_upto(p.p_offset.checked_add(rel)?, len).ok()?;
    (b.len() == len).then_some(b)
}
