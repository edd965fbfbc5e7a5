//! Where a live process's executable is and how its addresses map: the exe (or, under
//! qemu-user, the guest program the emulator loaded), the load bias of a PIE binary, and
//! qemu's guest base (host address = guest address + base). Linux reads /proc/PID/exe and
//! /proc/PID/maps; macOS walks the task's regions for the executable's Mach-O header.

use super::DumpError;
use super::image::Image;
use std::path::PathBuf;

/// The executable and its address mapping.
pub struct Located {
    pub image: Image,
    pub path: PathBuf,
    /// File vaddr + bias = the address the program itself uses.
    pub bias: u64,
    /// qemu-user: host address = program address + guest_base (0 when native).
    pub guest_base: u64,
    pub qemu: bool,
    /// A host address known to be mapped (to test access before any work).
    pub probe_addr: u64,
}

/// One line of /proc/PID/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    pub path: String,
}

/// Parse /proc/PID/maps text; malformed lines are skipped.
pub fn parse_maps(text: &str) -> Vec<MapEntry> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let range = f.next()?;
            let perms = f.next()?.to_string();
            let offset = u64::from_str_radix(f.next()?, 16).ok()?;
            let _dev = f.next()?;
            let _inode = f.next()?;
            let path = f.collect::<Vec<_>>().join(" ");
            let (a, b) = range.split_once('-')?;
            Some(MapEntry {
                start: u64::from_str_radix(a, 16).ok()?,
                end: u64::from_str_radix(b, 16).ok()?,
                perms,
                offset,
                path,
            })
        })
        .collect()
}

#[cfg(target_os = "linux")]
pub fn locate(pid: u32) -> Result<Located, DumpError> {
    use std::io::ErrorKind;
    let proc = PathBuf::from(format!("/proc/{pid}"));
    if !proc.exists() {
        return Err(DumpError::NoSuchProcess(pid));
    }
    let exe_link = std::fs::read_link(proc.join("exe")).map_err(|e| match e.kind() {
        ErrorKind::PermissionDenied => {
            DumpError::Denied(format!("cannot read /proc/{pid}/exe ({e})"))
        }
        _ if !proc.exists() => DumpError::NoSuchProcess(pid),
        // A kernel thread or a zombie has no executable.
        _ => DumpError::NotGo(format!(
            "pid {pid} is not a Go program: it has no executable (a kernel thread or a zombie)"
        )),
    })?;
    let maps_text = std::fs::read_to_string(proc.join("maps")).map_err(|e| match e.kind() {
        ErrorKind::NotFound => DumpError::NoSuchProcess(pid),
        _ => DumpError::Denied(format!("cannot read /proc/{pid}/maps ({e})")),
    })?;
    let maps = parse_maps(&maps_text);
    let exe_str = exe_link
        .to_string_lossy()
        .trim_end_matches(" (deleted)")
        .to_string();
    let qemu = exe_link
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("qemu-"));
    let load_bias = |image: &Image, path: &str| -> Option<(u64, u64)> {
        let m = maps
            .iter()
            .filter(|m| m.offset == 0 && m.path.trim_end_matches(" (deleted)") == path)
            .min_by_key(|m| m.start)?;
        Some((m.start.wrapping_sub(image.base_vaddr & !0xfff), m.start))
    };
    if !qemu {
        let image = Image::read(&proc.join("exe")).map_err(DumpError::NotGo)?;
        let (bias, probe) = load_bias(&image, &exe_str).ok_or_else(|| {
            DumpError::NotGo(format!("pid {pid}: {exe_str} is not in its memory map"))
        })?;
        return Ok(Located {
            image,
            path: exe_link,
            bias,
            guest_base: 0,
            qemu: false,
            probe_addr: probe,
        });
    }
    // qemu-user: the guest program is the lowest file mapping at offset 0 that is not the
    // emulator itself and parses as an executable with a Go symbol table.
    let mut seen = std::collections::HashSet::new();
    let mut cands: Vec<&MapEntry> = maps
        .iter()
        .filter(|m| m.offset == 0 && m.path.starts_with('/') && m.path != exe_str)
        .collect();
    cands.sort_by_key(|m| m.start);
    for m in cands {
        if !seen.insert(m.path.clone()) {
            continue;
        }
        let file = proc.join("root").join(m.path.trim_start_matches('/'));
        let Ok(image) = Image::read(&file) else {
            continue;
        };
        if image.pclntab_candidates.is_empty() {
            continue;
        }
        if image.pie {
            return Err(DumpError::Unsupported(format!(
                "pid {pid} is a position-independent {} program under qemu-user: gohang cannot \
                 tell qemu's guest base from the program's load address, so it does not read it",
                image.arch.name()
            )));
        }
        let (guest_base, probe) = load_bias(&image, &m.path).ok_or_else(|| {
            DumpError::NotGo(format!("pid {pid}: {} is not in its memory map", m.path))
        })?;
        return Ok(Located {
            image,
            path: PathBuf::from(&m.path),
            bias: 0,
            guest_base,
            qemu: true,
            probe_addr: probe,
        });
    }
    Err(DumpError::NotGo(format!(
        "pid {pid} runs under {exe_str} and no Go program was found in its memory map"
    )))
}

#[cfg(target_os = "macos")]
pub fn locate(pid: u32) -> Result<Located, DumpError> {
    use super::memory::{ProcessMemory, ReadError};
    let mut buf = vec![0u8; libc::PROC_PIDPATHINFO_MAXSIZE as usize];
    // SAFETY: `buf` is writable for PROC_PIDPATHINFO_MAXSIZE bytes, the size proc_pidpath
    // accepts at most.
    let n = unsafe { libc::proc_pidpath(pid as i32, buf.as_mut_ptr().cast(), buf.len() as u32) };
    if n <= 0 {
        let e = std::io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::ESRCH) => DumpError::NoSuchProcess(pid),
            Some(libc::EPERM) => {
                DumpError::Denied(format!("cannot read its executable path ({e})"))
            }
            _ => DumpError::NotGo(format!("pid {pid} has no executable path ({e})")),
        });
    }
    buf.truncate(n as usize);
    let path = PathBuf::from(String::from_utf8_lossy(&buf).into_owned());
    let image = Image::read(&path).map_err(DumpError::NotGo)?;
    let mem = ProcessMemory::attach(pid).map_err(|e| match e {
        ReadError::Denied(w) => DumpError::Denied(w),
        e => DumpError::Internal(format!("pid {pid}: {e}")),
    })?;
    let regions = mem.regions(MAX_REGIONS);
    let header = find_macho_executable(&mem, &regions, &image.bytes)
        .map_err(|why| DumpError::NotGo(format!("pid {pid} ({}): {why}", path.display())))?;
    let bias = macho_slide(header, &image)
        .map_err(|why| DumpError::NotGo(format!("pid {pid} ({}): {why}", path.display())))?;
    Ok(Located {
        image,
        path,
        bias,
        guest_base: 0,
        qemu: false,
        probe_addr: header,
    })
}

/// The most regions of a task looked at for the executable's header.
pub const MAX_REGIONS: usize = 1 << 16;

const MH_MAGIC_64: u32 = 0xfeed_facf;
const MH_EXECUTE: u32 = 2;
/// The most header bytes compared (mach_header_64 plus its load commands).
const MAX_HEADER: usize = 64 << 10;

/// The address at which a task maps the executable whose file is `file`: the start of a
/// region holding a 64-bit MH_EXECUTE Mach-O header equal, load commands included, to
/// the file's own (dyld leaves `__TEXT` as the kernel mapped it). A Rosetta 2 process
/// maps its x86_64 executable the same way, so this finds it too. `regions` are
/// (start, size) pairs; unreadable ones are skipped.
pub fn find_macho_executable(
    mem: &dyn super::memory::Memory,
    regions: &[(u64, u64)],
    file: &[u8],
) -> Result<u64, String> {
    let u32_at = |b: &[u8], off: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
    };
    if u32_at(file, 0) != Some(MH_MAGIC_64) || u32_at(file, 12) != Some(MH_EXECUTE) {
        return Err("its executable is not a 64-bit Mach-O program".into());
    }
    let cmds = u32_at(file, 20).unwrap_or(0) as usize;
    let want = file
        .get(..(32 + cmds).min(MAX_HEADER))
        .ok_or("its executable's Mach-O load commands are cut short")?;
    let mut head = vec![0u8; want.len()];
    for &(start, size) in regions {
        if size < want.len() as u64 || mem.read(start, &mut head[..32]).is_err() {
            continue;
        }
        // Cheap test first: magic, CPU type and file type; then the whole header.
        if head[..16] != want[..16] {
            continue;
        }
        if mem.read(start, &mut head).is_ok() && head == want {
            return Ok(start);
        }
    }
    Err(format!(
        "its executable's Mach-O header was not found in any of its {} memory regions",
        regions.len()
    ))
}

/// The slide of a Mach-O executable whose header the task maps at `header`: the header
/// starts `__TEXT`, whose file offset is 0, so slide = header - `__TEXT`'s vmaddr. A
/// slide is a whole number of pages.
pub fn macho_slide(header: u64, image: &Image) -> Result<u64, String> {
    let text = image
        .segments
        .iter()
        .find(|s| s.offset == 0 && s.filesz > 0)
        .ok_or("no segment of its executable maps the Mach-O header")?;
    let slide = header.wrapping_sub(text.vaddr);
    if slide % 0x1000 != 0 {
        return Err(format!(
            "its Mach-O header is at {header:#x}, not a whole number of pages from __TEXT at {:#x}",
            text.vaddr
        ));
    }
    Ok(slide)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn locate(pid: u32) -> Result<Located, DumpError> {
    Err(DumpError::Unsupported(format!(
        "gohang dump {pid}: not supported on this OS"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines() {
        let m = parse_maps(
            "00400000-00452000 r-xp 00000000 08:01 1234   /usr/bin/my prog\n\
             7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [stack]\nbad line\n",
        );
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].start, 0x400000);
        assert_eq!(m[0].path, "/usr/bin/my prog");
        assert_eq!(m[1].path, "[stack]");
    }
}
