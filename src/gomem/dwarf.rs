//! Runtime layouts from the target's own DWARF, for a Go release newer than gohang's
//! tables (`layout_source: "dwarf"`): the offsets of the `runtime.g`, `gobuf`, `m`,
//! `stack` and `moduledata` fields gohang reads, by name. Go compresses its DWARF sections
//! (zlib, `SHF_COMPRESSED`); they are inflated with a size limit.
//!
//! gimli parses the DWARF: a hand-written reader of abbreviations and attribute forms
//! would be a second, unfuzzed parser of hostile input for one struct walk.

use super::layout::{GLayout, GobufLayout, Layout, MLayout, ModuleLayout, md};
use gimli::{EndianSlice, LittleEndian, SectionId};
use std::collections::HashMap;
use std::io::Read;

/// The most one inflated DWARF section may take.
const MAX_SECTION: u64 = 512 << 20;
const SHF_COMPRESSED: u64 = 0x800;

/// Struct name → (byte size, member name → offset).
pub type Structs = HashMap<String, (u64, HashMap<String, u64>)>;

/// The `.debug_*` sections of an ELF file, or the `__debug_*`/`__zdebug_*` sections of a
/// Mach-O file's `__DWARF` segment, inflated and named `.debug_*`.
fn sections(bytes: &[u8]) -> Option<HashMap<String, Vec<u8>>> {
    // (name without its prefix, "ZLIB"-prefixed, ELF-compressed, bytes)
    let mut raw: Vec<(String, bool, bool, &[u8])> = Vec::new();
    let file = |off: u64, size: u64| -> Option<&[u8]> {
        let start = usize::try_from(off).ok()?;
        bytes.get(start..start.checked_add(usize::try_from(size).ok()?)?)
    };
    if bytes.starts_with(b"\x7fELF") {
        let elf = goblin::elf::Elf::parse(bytes).ok()?;
        for sh in &elf.section_headers {
            let Some(name) = elf.shdr_strtab.get_at(sh.sh_name) else {
                continue;
            };
            let (bare, z) = match (name.strip_prefix(".debug_"), name.strip_prefix(".zdebug_")) {
                (Some(b), _) => (b, false),
                (_, Some(b)) => (b, true),
                _ => continue,
            };
            let compressed = !z && sh.sh_flags & SHF_COMPRESSED != 0;
            raw.push((
                bare.to_string(),
                z,
                compressed,
                file(sh.sh_offset, sh.sh_size)?,
            ));
        }
    } else {
        let m = goblin::mach::MachO::parse(bytes, 0).ok()?;
        for seg in m.segments.iter() {
            for (sect, _) in seg.sections().ok()? {
                let Ok(name) = sect.name() else { continue };
                let (bare, z) = match (
                    name.strip_prefix("__debug_"),
                    name.strip_prefix("__zdebug_"),
                ) {
                    (Some(b), _) => (b, false),
                    (_, Some(b)) => (b, true),
                    _ => continue,
                };
                raw.push((
                    bare.to_string(),
                    z,
                    false,
                    file(u64::from(sect.offset), sect.size)?,
                ));
            }
        }
    }
    let inflate = |z: &[u8]| -> Option<Vec<u8>> {
        let mut v = Vec::new();
        flate2::read::ZlibDecoder::new(z)
            .take(MAX_SECTION)
            .read_to_end(&mut v)
            .ok()?;
        Some(v)
    };
    let mut out = HashMap::new();
    for (bare, z, compressed, data) in raw {
        // Only what a walk over type definitions needs (line and frame tables are the
        // bulk of Go's DWARF and are not inflated).
        if !matches!(
            bare.as_str(),
            "info" | "abbrev" | "str" | "str_offsets" | "line" | "line_str"
        ) {
            continue;
        }
        let plain = if compressed {
            // Elf64_Chdr: ch_type (1 = zlib), reserved, ch_size, ch_addralign.
            if super::le::u32_at(data, 0)? != 1 {
                continue;
            }
            inflate(data.get(24..)?)?
        } else if z {
            // "ZLIB" + 8-byte big-endian size, then the stream (Go's Mach-O DWARF, and ELF
            // up to Go 1.11).
            if !data.starts_with(b"ZLIB") {
                continue;
            }
            inflate(data.get(12..)?)?
        } else {
            data.to_vec()
        };
        out.insert(format!(".debug_{bare}"), plain);
    }
    Some(out)
}

/// Member offsets of the named struct types (the first definition of each).
pub fn structs(bytes: &[u8], wanted: &[&str]) -> Option<Structs> {
    let secs = sections(bytes)?;
    let load = |id: SectionId| -> Result<EndianSlice<'_, LittleEndian>, gimli::Error> {
        Ok(EndianSlice::new(
            secs.get(id.name()).map(Vec::as_slice).unwrap_or(&[]),
            LittleEndian,
        ))
    };
    let dwarf = gimli::Dwarf::load(load).ok()?;
    let mut res: Structs = HashMap::new();
    let mut units = dwarf.units();
    while let Ok(Some(header)) = units.next() {
        let Ok(unit) = dwarf.unit(header) else {
            continue;
        };
        let mut entries = unit.entries();
        let mut cur: Option<(String, isize)> = None;
        while let Ok(Some(e)) = entries.next_dfs() {
            let depth = e.depth();
            if cur.as_ref().is_some_and(|(_, d)| depth <= *d) {
                cur = None;
            }
            let name = || -> Option<String> {
                let v = e.attr_value(gimli::DW_AT_name)?;
                let s = dwarf.attr_string(&unit, v).ok()?;
                Some(s.to_string_lossy().into_owned())
            };
            if e.tag() == gimli::DW_TAG_structure_type && cur.is_none() {
                if let Some(n) =
                    name().filter(|n| wanted.contains(&n.as_str()) && !res.contains_key(n))
                {
                    let size = e
                        .attr_value(gimli::DW_AT_byte_size)
                        .and_then(|v| v.udata_value())
                        .unwrap_or(0);
                    res.insert(n.clone(), (size, HashMap::new()));
                    cur = Some((n, depth));
                }
            } else if e.tag() == gimli::DW_TAG_member
                && let Some((s, d)) = &cur
                && depth == d + 1
                && let (Some(m), Some(off)) = (
                    name(),
                    e.attr_value(gimli::DW_AT_data_member_location)
                        .and_then(|v| v.udata_value()),
                )
                && let Some(entry) = res.get_mut(s)
            {
                entry.1.insert(m, off);
            }
        }
        if wanted.iter().all(|w| res.contains_key(*w)) {
            break;
        }
    }
    Some(res)
}

/// A [`Layout`] for go1.`minor` from the binary's DWARF, or why not.
pub fn layout(bytes: &[u8], minor: u32) -> Result<Layout, String> {
    let s = structs(
        bytes,
        &[
            "runtime.g",
            "runtime.m",
            "runtime.gobuf",
            "runtime.stack",
            "runtime.moduledata",
        ],
    )
    .ok_or("its DWARF cannot be read")?;
    let off = |st: &str, f: &str| -> Result<usize, String> {
        s.get(st)
            .and_then(|(_, m)| m.get(f))
            .map(|&o| o as usize)
            .ok_or_else(|| format!("its DWARF has no {st}.{f}"))
    };
    let size = |st: &str| -> Result<usize, String> {
        s.get(st)
            .map(|(n, _)| *n as usize)
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("its DWARF has no size for {st}"))
    };
    let stack = off("runtime.g", "stack")?;
    let g = GLayout {
        stack_lo: stack + off("runtime.stack", "lo")?,
        stack_hi: stack + off("runtime.stack", "hi")?,
        m: off("runtime.g", "m")?,
        sched: off("runtime.g", "sched")?,
        syscallsp: off("runtime.g", "syscallsp")?,
        syscallpc: off("runtime.g", "syscallpc")?,
        atomicstatus: off("runtime.g", "atomicstatus")?,
        goid: off("runtime.g", "goid")?,
        waitsince: off("runtime.g", "waitsince")?,
        waitreason: off("runtime.g", "waitreason")?,
        lockedm: off("runtime.g", "lockedm")?,
        parent_goid: off("runtime.g", "parentGoid")?,
        gopc: off("runtime.g", "gopc")?,
        labels: off("runtime.g", "labels")?,
        size: size("runtime.g")?,
    };
    let gobuf = GobufLayout {
        sp: off("runtime.gobuf", "sp")?,
        pc: off("runtime.gobuf", "pc")?,
        g: off("runtime.gobuf", "g")?,
        lr: off("runtime.gobuf", "lr")?,
    };
    let m = MLayout {
        procid: off("runtime.m", "procid")?,
        curg: off("runtime.m", "curg")?,
        id: off("runtime.m", "id")?,
        alllink: off("runtime.m", "alllink")?,
    };
    // gohang reads the module data's first fields at fixed offsets: they must not move.
    for (f, fixed) in [
        ("pcHeader", md::PCHEADER),
        ("funcnametab", md::FUNCNAMETAB),
        ("ftab", md::FTAB),
        ("text", md::TEXT),
        ("bss", md::BSS),
        ("ebss", md::EBSS),
        ("end", md::END),
    ] {
        if off("runtime.moduledata", f)? != fixed {
            return Err(format!("runtime.moduledata.{f} moved"));
        }
    }
    let module = ModuleLayout {
        gofunc: off("runtime.moduledata", "gofunc")?,
        epclntab: off("runtime.moduledata", "epclntab").ok(),
        size: size("runtime.moduledata")?,
    };
    Ok(Layout {
        minor,
        g,
        gobuf,
        m,
        module,
        reasons: None,
    })
}
