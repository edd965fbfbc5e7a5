//! Mach-O, thin and universal.
//!
//! Universal ("fat") files start with a big-endian header: `FAT_MAGIC` (0xcafebabe) with
//! 20-byte `fat_arch` entries of 32-bit offsets, or `FAT_MAGIC_64` (0xcafebabf) with 32-byte
//! `fat_arch_64` entries of 64-bit offsets (`<mach-o/fat.h>`). goblin 0.10 reads only the
//! former, so both tables are walked here (goblin's `FatArch` decodes the 32-bit entries).
//!
//! Each slice is a thin Mach-O whose offsets are relative to the slice's start. From it:
//! the header's `cputype`/`cpusubtype` (arm64e is subtype `CPU_SUBTYPE_ARM64E` = 2, with
//! `CPU_SUBTYPE_PTRAUTH_ABI` in the capability byte; `<mach/machine.h>`), the load
//! commands `LC_BUILD_VERSION` (platform, minos, sdk) or the older `LC_VERSION_MIN_*`,
//! `LC_CODE_SIGNATURE` (and the CodeDirectory flags it points at, `<kern/cs_blobs.h>`), and
//! the segments, to check the file holds them and to find `__go_buildinfo`.

use super::buildinfo::{self, GoBuildInfo};
use super::source::SubSource;
use super::{BinaryInfo, Format, InspectError, Signature, Slice, Source, nibble_version};
use crate::binary::macho_cpu_arch;
use crate::evidence::Os;
use goblin::container::{Container, Ctx};
use goblin::mach::fat::{FAT_MAGIC, FatArch, SIZEOF_FAT_ARCH, SIZEOF_FAT_HEADER};
use goblin::mach::header::{Header, SIZEOF_HEADER_32, SIZEOF_HEADER_64};
use goblin::mach::load_command::{
    CommandVariant, LoadCommand, SIZEOF_SECTION_32, SIZEOF_SECTION_64, SIZEOF_SEGMENT_COMMAND_32,
    SIZEOF_SEGMENT_COMMAND_64, Section32, Section64,
};
use scroll::{BE, Pread};

const FMT: &str = "Mach-O file";
const FMT_FAT: &str = "universal binary";

/// `FAT_MAGIC_64` (`<mach-o/fat.h>`); not in goblin 0.10.
pub const FAT_MAGIC_64: u32 = 0xcafe_babf;
const SIZEOF_FAT_ARCH_64: usize = 32;
/// More slices than this is not a real universal binary: Java class files share
/// 0xcafebabe and put their version (≥ 45) where the slice count is.
pub const MAX_FAT_SLICES: u32 = 32;
/// Real load commands take a few KiB; refuse to read more than this.
const MAX_SIZEOFCMDS: u32 = 1 << 20;

/// `<mach/vm_prot.h>`: VM_PROT_READ | VM_PROT_WRITE.
const VM_PROT_RW: u32 = 3;

/// Code signature blobs (`<kern/cs_blobs.h>`), big-endian.
const CSMAGIC_EMBEDDED_SIGNATURE: u32 = 0xfade_0cc0;
const CSMAGIC_CODEDIRECTORY: u32 = 0xfade_0c02;
const CSSLOT_CODEDIRECTORY: u32 = 0;
const CS_ADHOC: u32 = 0x0000_0002;
const CS_RUNTIME: u32 = 0x0001_0000;
const CS_LINKER_SIGNED: u32 = 0x0002_0000;
const MAX_BLOB_SLOTS: u32 = 64;

pub(super) fn is_fat_magic(be: u32) -> bool {
    be == FAT_MAGIC || be == FAT_MAGIC_64
}

/// MH_MAGIC / MH_MAGIC_64 in either byte order.
pub(super) fn is_thin_magic(be: u32) -> bool {
    matches!(be, 0xfeed_face | 0xfeed_facf | 0xcefa_edfe | 0xcffa_edfe)
}

pub(super) fn inspect_fat(src: &dyn Source, magic: u32) -> Result<BinaryInfo, InspectError> {
    let head = src.read_exact(0, SIZEOF_FAT_HEADER, FMT_FAT, "fat header")?;
    let n = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
    if n == 0 {
        return Err(InspectError::invalid(FMT_FAT, "it has no slices"));
    }
    if n > MAX_FAT_SLICES {
        return Err(InspectError::invalid(
            FMT_FAT,
            format!("{n} slices is not plausible (a Java class file shares this magic)"),
        ));
    }
    let is64 = magic == FAT_MAGIC_64;
    let entsize = if is64 {
        SIZEOF_FAT_ARCH_64
    } else {
        SIZEOF_FAT_ARCH
    };
    let table_end = SIZEOF_FAT_HEADER + n as usize * entsize;
    let table = src.read_exact(
        SIZEOF_FAT_HEADER as u64,
        n as usize * entsize,
        FMT_FAT,
        "slice table",
    )?;
    let bad = |why: String| InspectError::invalid(FMT_FAT, why);
    let mut slices = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        let at = i * entsize;
        let (cputype, cpusubtype, offset, size) = if is64 {
            let e = &table[at..at + entsize];
            let u32_at = |k: usize| u32::from_be_bytes([e[k], e[k + 1], e[k + 2], e[k + 3]]);
            let u64_at = |k: usize| (u32_at(k) as u64) << 32 | u32_at(k + 4) as u64;
            (u32_at(0), u32_at(4), u64_at(8), u64_at(16))
        } else {
            let fa: FatArch = table
                .pread_with(at, BE)
                .map_err(|e| bad(format!("slice {i}: {e}")))?;
            (fa.cputype, fa.cpusubtype, fa.offset as u64, fa.size as u64)
        };
        let name = macho_cpu_arch(cputype, cpusubtype).display_for(&Os::Macos);
        if offset < table_end as u64 {
            return Err(bad(format!(
                "slice {i} ({name}) starts at {offset:#x}, inside the fat header"
            )));
        }
        if offset.checked_add(size).is_none_or(|end| end > src.len()) {
            return Err(bad(format!(
                "truncated: slice {i} ({name}, {size} bytes at offset {offset:#x}) runs past the end ({} bytes)",
                src.len()
            )));
        }
        let slice = inspect_thin(src, offset, size, Some((cputype, cpusubtype)))
            .map_err(|e| bad(format!("slice {i} ({name}): {e}")))?;
        slices.push(slice);
    }
    Ok(BinaryInfo {
        format: Format::MachOFat,
        fat_header: Some(if is64 { "fat64" } else { "fat" }.to_string()),
        slices,
    })
}

/// One segment, as far as gohang cares.
struct Segment {
    name: [u8; 16],
    vmaddr: u64,
    fileoff: u64,
    filesize: u64,
    maxprot: u32,
    initprot: u32,
}

struct Section {
    name: [u8; 16],
    offset: u64,
    size: u64,
}

fn cname(b: &[u8; 16]) -> &[u8] {
    let end = b.iter().position(|c| *c == 0).unwrap_or(16);
    &b[..end]
}

/// A thin Mach-O at `[base, base + size)` of `src`. `fat` is the slice's entry in the fat
/// header, which must agree with its own header.
pub(super) fn inspect_thin(
    src: &dyn Source,
    base: u64,
    size: u64,
    fat: Option<(u32, u32)>,
) -> Result<Slice, InspectError> {
    let s = SubSource::new(src, base, size);
    let head = s.read_upto(0, SIZEOF_HEADER_64)?;
    let (_, ctx) = goblin::mach::parse_magic_and_ctx(&head, 0)
        .map_err(|e| InspectError::invalid(FMT, format!("bad header ({e})")))?;
    let ctx: Ctx = ctx.ok_or_else(|| InspectError::invalid(FMT, "bad magic"))?;
    let is_64 = ctx.container == Container::Big;
    let hsize = if is_64 {
        SIZEOF_HEADER_64
    } else {
        SIZEOF_HEADER_32
    };
    if head.len() < hsize {
        return Err(InspectError::invalid(
            FMT,
            format!(
                "truncated: the header needs {hsize} bytes, the file has {}",
                head.len()
            ),
        ));
    }
    let header: Header = head
        .pread_with(0, ctx)
        .map_err(|e| InspectError::invalid(FMT, format!("bad header ({e})")))?;
    if let Some((ct, st)) = fat
        && (ct != header.cputype || st != header.cpusubtype)
    {
        return Err(InspectError::invalid(
            FMT,
            format!(
                "the fat header says {} but the slice's own header says {}",
                macho_cpu_arch(ct, st).display_for(&Os::Macos),
                macho_cpu_arch(header.cputype, header.cpusubtype).display_for(&Os::Macos)
            ),
        ));
    }
    if header.sizeofcmds > MAX_SIZEOFCMDS {
        return Err(InspectError::invalid(
            FMT,
            format!(
                "load commands of {} bytes are not plausible",
                header.sizeofcmds
            ),
        ));
    }
    if header.ncmds > header.sizeofcmds as usize / 8 {
        return Err(InspectError::invalid(
            FMT,
            format!(
                "{} load commands cannot fit in {} bytes",
                header.ncmds, header.sizeofcmds
            ),
        ));
    }
    let end = hsize + header.sizeofcmds as usize;
    let buf = s.read_exact(0, end, FMT, "load commands")?;
    let le = ctx.le;

    let mut segments = Vec::new();
    let mut sections = Vec::new();
    let mut platform = None;
    let mut min_os = None;
    let mut sdk = None;
    let mut have_build_version = false;
    let mut signature = Signature::Unsigned;
    let mut off = hsize;
    for i in 0..header.ncmds {
        let cmdsize = buf
            .get(off..off + 8)
            .and_then(|b| b.pread_with::<u32>(4, le).ok())
            .ok_or_else(|| {
                InspectError::invalid(FMT, format!("load command {i} runs past sizeofcmds"))
            })? as usize;
        if cmdsize < 8 || off + cmdsize > end {
            return Err(InspectError::invalid(
                FMT,
                format!("load command {i} has a bad size ({cmdsize})"),
            ));
        }
        let mut next = off;
        let lc = LoadCommand::parse(&buf[..off + cmdsize], &mut next, le)
            .map_err(|e| InspectError::invalid(FMT, format!("load command {i}: {e}")))?;
        match lc.command {
            CommandVariant::Segment64(c) => {
                let n = c.nsects as usize;
                if SIZEOF_SEGMENT_COMMAND_64 + n.saturating_mul(SIZEOF_SECTION_64) > cmdsize {
                    return Err(bad_sections(i, n));
                }
                for k in 0..n {
                    let at = off + SIZEOF_SEGMENT_COMMAND_64 + k * SIZEOF_SECTION_64;
                    let sec: Section64 = buf
                        .pread_with(at, le)
                        .map_err(|e| InspectError::invalid(FMT, format!("section: {e}")))?;
                    sections.push(Section {
                        name: sec.sectname,
                        offset: sec.offset as u64,
                        size: sec.size,
                    });
                }
                segments.push(Segment {
                    name: c.segname,
                    vmaddr: c.vmaddr,
                    fileoff: c.fileoff,
                    filesize: c.filesize,
                    maxprot: c.maxprot,
                    initprot: c.initprot,
                });
            }
            CommandVariant::Segment32(c) => {
                let n = c.nsects as usize;
                if SIZEOF_SEGMENT_COMMAND_32 + n.saturating_mul(SIZEOF_SECTION_32) > cmdsize {
                    return Err(bad_sections(i, n));
                }
                for k in 0..n {
                    let at = off + SIZEOF_SEGMENT_COMMAND_32 + k * SIZEOF_SECTION_32;
                    let sec: Section32 = buf
                        .pread_with(at, le)
                        .map_err(|e| InspectError::invalid(FMT, format!("section: {e}")))?;
                    sections.push(Section {
                        name: sec.sectname,
                        offset: sec.offset as u64,
                        size: sec.size as u64,
                    });
                }
                segments.push(Segment {
                    name: c.segname,
                    vmaddr: c.vmaddr as u64,
                    fileoff: c.fileoff as u64,
                    filesize: c.filesize as u64,
                    maxprot: c.maxprot,
                    initprot: c.initprot,
                });
            }
            CommandVariant::BuildVersion(c) => {
                have_build_version = true;
                platform = Some(platform_name(c.platform));
                min_os = Some(nibble_version(c.minos));
                sdk = Some(nibble_version(c.sdk));
            }
            CommandVariant::VersionMinMacosx(c)
            | CommandVariant::VersionMinIphoneos(c)
            | CommandVariant::VersionMinTvos(c)
            | CommandVariant::VersionMinWatchos(c)
                if !have_build_version =>
            {
                platform = Some(
                    match lc.command {
                        CommandVariant::VersionMinMacosx(_) => "macos",
                        CommandVariant::VersionMinIphoneos(_) => "ios",
                        CommandVariant::VersionMinTvos(_) => "tvos",
                        _ => "watchos",
                    }
                    .to_string(),
                );
                min_os = Some(nibble_version(c.version));
                sdk = Some(nibble_version(c.sdk));
            }
            CommandVariant::CodeSignature(c) => {
                let (o, n) = (c.dataoff as u64, c.datasize as u64);
                if o + n > s.len() {
                    return Err(InspectError::invalid(
                        FMT,
                        format!(
                            "truncated: the code signature ({n} bytes at offset {o:#x}) runs past the end ({} bytes)",
                            s.len()
                        ),
                    ));
                }
                signature = code_signature(&s, o, n);
            }
            _ => {}
        }
        off += cmdsize;
    }

    for seg in &segments {
        if seg
            .fileoff
            .checked_add(seg.filesize)
            .is_none_or(|e| e > s.len())
        {
            return Err(InspectError::invalid(
                FMT,
                format!(
                    "truncated: segment {} ({} bytes at offset {:#x}) runs past the end ({} bytes)",
                    String::from_utf8_lossy(cname(&seg.name)),
                    seg.filesize,
                    seg.fileoff,
                    s.len()
                ),
            ));
        }
    }

    let go = go_build_info(&s, &segments, &sections);
    let os = platform
        .as_deref()
        .and_then(os_of_platform)
        .map(Os::from)
        .or_else(|| {
            go.as_ref()
                .and_then(|g| g.goos.as_deref())
                .map(Os::from_goos)
        });
    Ok(Slice {
        arch: macho_cpu_arch(header.cputype, header.cpusubtype),
        bits: if is_64 { 64 } else { 32 },
        big_endian: le == scroll::Endian::Big,
        cputype: Some(header.cputype),
        cpusubtype: Some(header.cpusubtype),
        elf_machine: None,
        offset: base,
        size: s.len(),
        os,
        platform,
        min_os,
        sdk,
        signature: Some(signature),
        go,
    })
}

fn bad_sections(i: usize, n: usize) -> InspectError {
    InspectError::invalid(
        FMT,
        format!("load command {i}: {n} sections do not fit in the command"),
    )
}

/// `PLATFORM_*` of `<mach-o/loader.h>`, as words.
fn platform_name(p: u32) -> String {
    let s = match p {
        1 => "macos",
        2 => "ios",
        3 => "tvos",
        4 => "watchos",
        5 => "bridgeos",
        6 => "maccatalyst",
        7 => "ios-simulator",
        8 => "tvos-simulator",
        9 => "watchos-simulator",
        10 => "driverkit",
        11 => "visionos",
        12 => "visionos-simulator",
        other => return format!("platform-{other}"),
    };
    s.to_string()
}

/// The OS a platform runs on, in gohang's words (a Catalyst app runs on macOS).
fn os_of_platform(p: &str) -> Option<String> {
    let os = match p {
        "macos" | "maccatalyst" | "driverkit" => "macos",
        "ios" | "ios-simulator" => "ios",
        "tvos" | "tvos-simulator" => "tvos",
        "watchos" | "watchos-simulator" => "watchos",
        "visionos" | "visionos-simulator" => "visionos",
        _ => return None,
    };
    Some(os.to_string())
}

/// Read the CodeDirectory flags of the embedded signature at `[off, off + len)`. A blob
/// that cannot be read still means "signed" — only the details are unknown.
fn code_signature(s: &dyn Source, off: u64, len: u64) -> Signature {
    let unknown = Signature::Signed {
        flags: None,
        adhoc: false,
        linker_signed: false,
        hardened_runtime: false,
    };
    let u32_be = |b: &[u8], at: usize| -> Option<u32> { b.pread_with::<u32>(at, BE).ok() };
    let Ok(head) = s.read_upto(off, 12) else {
        return unknown;
    };
    let (Some(magic), Some(count)) = (u32_be(&head, 0), u32_be(&head, 8)) else {
        return unknown;
    };
    if magic != CSMAGIC_EMBEDDED_SIGNATURE || count > MAX_BLOB_SLOTS {
        return unknown;
    }
    let Ok(index) = s.read_upto(off + 12, count as usize * 8) else {
        return unknown;
    };
    let cd = (0..count as usize).find_map(|k| {
        (u32_be(&index, k * 8)? == CSSLOT_CODEDIRECTORY).then(|| u32_be(&index, k * 8 + 4))?
    });
    let Some(cd) = cd.map(u64::from).filter(|c| c + 16 <= len) else {
        return unknown;
    };
    let Ok(dir) = s.read_upto(off + cd, 16) else {
        return unknown;
    };
    match (u32_be(&dir, 0), u32_be(&dir, 12)) {
        (Some(CSMAGIC_CODEDIRECTORY), Some(flags)) => Signature::Signed {
            flags: Some(flags),
            adhoc: flags & CS_ADHOC != 0,
            linker_signed: flags & CS_LINKER_SIGNED != 0,
            hardened_runtime: flags & CS_RUNTIME != 0,
        },
        _ => unknown,
    }
}

/// Go's `debug/buildinfo` for Mach-O: the `__go_buildinfo` section, or else the first
/// read-write segment — the latter only when the binary has Go's sections at all, so a
/// non-Go binary costs no 64 KiB read.
fn go_build_info(
    s: &dyn Source,
    segments: &[Segment],
    sections: &[Section],
) -> Option<GoBuildInfo> {
    let (off, size) = match sections
        .iter()
        .find(|x| cname(&x.name) == b"__go_buildinfo")
    {
        Some(x) => (x.offset, x.size),
        None => {
            let looks_go = sections.iter().any(|x| {
                let n = cname(&x.name);
                n.starts_with(b"__go") || n == b"__noptrdata"
            });
            if !looks_go {
                return None;
            }
            let seg = segments.iter().find(|g| {
                g.vmaddr != 0
                    && g.filesize != 0
                    && g.initprot == VM_PROT_RW
                    && g.maxprot == VM_PROT_RW
            })?;
            (seg.fileoff, seg.filesize)
        }
    };
    buildinfo::read(s, off, size, &|addr, len| {
        read_vaddr(s, segments, addr, len)
    })
}

fn read_vaddr(s: &dyn Source, segments: &[Segment], addr: u64, len: usize) -> Option<Vec<u8>> {
    if len as u64 > buildinfo::MAX_STRING {
        return None;
    }
    let seg = segments.iter().find(|g| {
        cname(&g.name) != b"__PAGEZERO" && addr >= g.vmaddr && addr - g.vmaddr < g.filesize
    })?;
    let rel = addr - seg.vmaddr;
    if rel.checked_add(len as u64)? > seg.filesize {
        return None;
    }
    let b = s.read_upto(seg.fileoff.checked_add(rel)?, len).ok()?;
    (b.len() == len).then_some(b)
}
