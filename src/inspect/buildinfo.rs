//! The build info the Go linker embeds in every program it links: the toolchain version
//! and the module information that `go version -m` prints.
//!
//! Format (Go's `cmd/link/internal/ld/data.go` `buildinfo()` writes it, `debug/buildinfo`
//! reads it): a 16-byte-aligned blob in `.go.buildinfo` (ELF) / `__go_buildinfo` (Mach-O),
//! starting with the 14 bytes `"\xff Go buildinf:"`, then the pointer size and a flags byte
//! (bit 0: big endian; bit 1: strings inline). Since Go 1.18 the strings follow the 32-byte
//! header inline, each prefixed by its uvarint length; before, the header held two
//! pointers to Go string headers `{data, len}` in the data segment. The module info is
//! framed by two 16-byte sentinels (cmd/go `modload.infoStart`/`infoEnd`) and is a list of
//! tab-separated lines: `path`, `mod`, `dep`, `build KEY=VALUE`.

use super::Source;
pub use crate::evidence::binary::GoBuildInfo;

pub(super) const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
const ALIGN: usize = 16;
/// The most a build-info string may claim; real module infos are a few KiB.
pub(super) const MAX_STRING: u64 = 1 << 20;
/// How much of the build-info section or data segment Go's own reader searches for the blob.
const WINDOW: u64 = 64 * 1024;

/// The build info in the `size` bytes at file offset `off` of `src` (the build-info section,
/// or the data segment where a format has none), for every format: `read_vaddr(addr, len)`
/// reads at a virtual address through the format's own segments, for the pointers of
/// Go < 1.18.
pub(super) fn read(
    src: &dyn Source,
    off: u64,
    size: u64,
    read_vaddr: &dyn Fn(u64, usize) -> Option<Vec<u8>>,
) -> Option<GoBuildInfo> {
    let window = src.read_upto(off, size.min(WINDOW) as usize).ok()?;
    match decode(locate(&window)?)? {
        Blob::Inline { version, modinfo } => finish(&version, &modinfo),
        Blob::Pointers {
            ptr_size,
            big_endian,
            version_addr,
            modinfo_addr,
        } => {
            let version = pointer_string(version_addr, ptr_size, big_endian, read_vaddr)?;
            let modinfo =
                pointer_string(modinfo_addr, ptr_size, big_endian, read_vaddr).unwrap_or_default();
            finish(&version, &modinfo)
        }
    }
}

/// The blob's header, decoded.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Blob {
    /// Go ≥ 1.18: the two strings follow the header.
    Inline { version: Vec<u8>, modinfo: Vec<u8> },
    /// Go < 1.18: virtual addresses of two Go string headers.
    Pointers {
        ptr_size: usize,
        big_endian: bool,
        version_addr: u64,
        modinfo_addr: u64,
    },
}

/// Find the blob in `window` (the start of the build-info section or of the first data
/// segment): at a 16-byte-aligned offset, with room for the header.
pub(super) fn locate(window: &[u8]) -> Option<&[u8]> {
    let mut at = 0usize;
    while at + HEADER_LEN <= window.len() {
        let rest = &window[at..];
        let i = rest.windows(MAGIC.len()).position(|w| w == MAGIC)?;
        let pos = at + i;
        if pos.is_multiple_of(ALIGN) && window.len() - pos >= HEADER_LEN {
            return Some(&window[pos..]);
        }
        // Not aligned: look again from the next aligned offset after it.
        at = (pos / ALIGN + 1) * ALIGN;
    }
    None
}

/// Decode the header (and the inline strings) of a blob found by [`locate`].
pub(super) fn decode(blob: &[u8]) -> Option<Blob> {
    if blob.len() < HEADER_LEN || blob[..MAGIC.len()] != *MAGIC {
        return None;
    }
    let ptr_size = blob[14] as usize;
    let flags = blob[15];
    if flags & 2 != 0 {
        let (version, rest) = uvarint_string(&blob[HEADER_LEN..])?;
        let modinfo = uvarint_string(rest).map(|(m, _)| m).unwrap_or_default();
        return Some(Blob::Inline {
            version: version.to_vec(),
            modinfo: modinfo.to_vec(),
        });
    }
    if ptr_size != 4 && ptr_size != 8 {
        return None;
    }
    let big_endian = flags & 1 != 0;
    let version_addr = read_uint(&blob[16..], ptr_size, big_endian)?;
    let modinfo_addr = read_uint(&blob[16 + ptr_size..], ptr_size, big_endian)?;
    Some(Blob::Pointers {
        ptr_size,
        big_endian,
        version_addr,
        modinfo_addr,
    })
}

/// Go < 1.18: follow a string header `{data, len}` at `addr`. `read(addr, len)` reads
/// memory at a virtual address (the format maps it to the file).
pub(super) fn pointer_string(
    addr: u64,
    ptr_size: usize,
    big_endian: bool,
    read: &dyn Fn(u64, usize) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let hdr = read(addr, 2 * ptr_size)?;
    let data = read_uint(&hdr, ptr_size, big_endian)?;
    let len = read_uint(hdr.get(ptr_size..)?, ptr_size, big_endian)?;
    if len > MAX_STRING {
        return None;
    }
    if len == 0 {
        return Some(Vec::new());
    }
    let bytes = read(data, len as usize)?;
    (bytes.len() as u64 == len).then_some(bytes)
}

/// Turn the two raw strings into build info; `None` when the version is empty (not a Go
/// program, as `debug/buildinfo` says).
pub(super) fn finish(version: &[u8], modinfo: &[u8]) -> Option<GoBuildInfo> {
    if version.is_empty() || version.len() > 1024 {
        return None;
    }
    let mut info = parse_modinfo(&lossy(strip_framing(modinfo)));
    info.version = lossy(version);
    Some(info)
}

/// The module info without its 16-byte sentinels (empty when it has none, as for
/// programs built outside module mode). The sentinels are not UTF-8: cut them as bytes.
fn strip_framing(b: &[u8]) -> &[u8] {
    if b.len() >= 33 && b[b.len() - 17] == b'\n' {
        &b[16..b.len() - 16]
    } else {
        b""
    }
}

/// Parse module-info lines (`go version -m` shows the same lines). The version is left
/// empty: it is not part of this text.
pub fn parse_modinfo(text: &str) -> GoBuildInfo {
    let mut info = GoBuildInfo {
        version: String::new(),
        path: None,
        module: None,
        module_version: None,
        goos: None,
        goarch: None,
    };
    for line in text.lines() {
        let mut f = line.split('\t');
        match f.next() {
            Some("path") => info.path = f.next().map(str::to_string),
            Some("mod") => {
                info.module = f.next().map(str::to_string);
                info.module_version = f.next().filter(|v| !v.is_empty()).map(str::to_string);
            }
            Some("build") => match f.next().and_then(|kv| kv.split_once('=')) {
                Some(("GOOS", v)) => info.goos = Some(v.to_string()),
                Some(("GOARCH", v)) => info.goarch = Some(v.to_string()),
                _ => {}
            },
            _ => {}
        }
    }
    info
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn read_uint(b: &[u8], size: usize, big_endian: bool) -> Option<u64> {
    let b = b.get(..size)?;
    let mut v = 0u64;
    if big_endian {
        for &x in b {
            v = (v << 8) | x as u64;
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | x as u64;
        }
    }
    Some(v)
}

/// Go's `binary.Uvarint`: 7 bits per byte, low group first, at most 10 bytes.
fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &x) in b.iter().enumerate().take(10) {
        if i == 9 && x > 1 {
            return None; // overflows 64 bits
        }
        v |= ((x & 0x7f) as u64) << (7 * i);
        if x < 0x80 {
            return Some((v, i + 1));
        }
    }
    None
}

fn uvarint_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, n) = uvarint(b)?;
    let rest = &b[n..];
    if len > rest.len() as u64 || len > MAX_STRING {
        return None;
    }
    Some(rest.split_at(len as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline_blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.push(8);
        b.push(2);
        b.resize(HEADER_LEN, 0);
        for s in [version, modinfo] {
            let mut n = s.len();
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    b.push(byte);
                    break;
                }
                b.push(byte | 0x80);
            }
            b.extend_from_slice(s.as_bytes());
        }
        while !b.len().is_multiple_of(16) {
            b.push(0);
        }
        b
    }

    /// Module info as cmd/go frames it: 16-byte sentinels around lines ending in '\n'.
    fn framed(lines: &str) -> String {
        format!("0123456789abcdef{lines}\nfedcba9876543210")
    }

    #[test]
    fn uvarints() {
        assert_eq!(uvarint(&[0x05]), Some((5, 1)));
        assert_eq!(uvarint(&[0x96, 0x01]), Some((150, 2)));
        assert_eq!(uvarint(&[0x80; 11]), None);
        assert_eq!(uvarint(&[]), None);
    }

    #[test]
    fn inline_blob_with_module_info() {
        let modinfo = framed(
            "path\tcmd/compile\nbuild\t-compiler=gc\nbuild\tGOARCH=arm64\nbuild\tGOOS=darwin",
        );
        let mut window = vec![0u8; 48];
        window.extend(inline_blob("go1.23.5", &modinfo));
        let blob = locate(&window).unwrap();
        let Some(Blob::Inline { version, modinfo }) = decode(blob) else {
            panic!("not inline")
        };
        let info = finish(&version, &modinfo).unwrap();
        assert_eq!(info.version, "go1.23.5");
        assert_eq!(info.path.as_deref(), Some("cmd/compile"));
        assert_eq!(info.goos.as_deref(), Some("darwin"));
        assert_eq!(info.goarch.as_deref(), Some("arm64"));
        assert_eq!(info.module, None);
    }

    #[test]
    fn misaligned_magic_is_skipped() {
        let mut window = vec![0u8; 3];
        window.extend(inline_blob("go1.0", ""));
        assert!(locate(&window).is_none());
        let mut window = vec![0u8; 3];
        window.extend(inline_blob("go1.0", ""));
        window.resize(32, 0);
        window.extend(inline_blob("go1.2", ""));
        let Some(Blob::Inline { version, .. }) = decode(locate(&window).unwrap()) else {
            panic!()
        };
        assert_eq!(version, b"go1.2");
    }

    #[test]
    fn lengths_past_the_end_are_refused() {
        let mut b = MAGIC.to_vec();
        b.extend([8, 2]);
        b.resize(HEADER_LEN, 0);
        b.extend([0xff, 0xff, 0x03, b'g']);
        assert_eq!(decode(&b), None);
        assert!(finish(b"", b"").is_none());
    }

    #[test]
    fn pointer_format_follows_string_headers() {
        // Go 1.17 layout: header with two little-endian pointers, memory elsewhere.
        let mut b = MAGIC.to_vec();
        b.extend([8, 0]);
        b.extend(0x1000u64.to_le_bytes());
        b.extend(0x1010u64.to_le_bytes());
        let Some(Blob::Pointers {
            ptr_size,
            big_endian,
            version_addr,
            modinfo_addr,
        }) = decode(&b)
        else {
            panic!()
        };
        let mut mem = vec![0u8; 0x100];
        mem[0..8].copy_from_slice(&0x1080u64.to_le_bytes());
        mem[8..16].copy_from_slice(&7u64.to_le_bytes());
        mem[0x10..0x18].copy_from_slice(&0x1090u64.to_le_bytes());
        mem[0x18..0x20].copy_from_slice(&0u64.to_le_bytes());
        mem[0x80..0x87].copy_from_slice(b"go1.17.");
        let read = |addr: u64, len: usize| -> Option<Vec<u8>> {
            let off = addr.checked_sub(0x1000)? as usize;
            mem.get(off..off.checked_add(len)?).map(|s| s.to_vec())
        };
        let v = pointer_string(version_addr, ptr_size, big_endian, &read).unwrap();
        assert_eq!(v, b"go1.17.");
        assert_eq!(
            pointer_string(modinfo_addr, ptr_size, big_endian, &read).unwrap(),
            b""
        );
        assert_eq!(pointer_string(0x5000, ptr_size, big_endian, &read), None);
    }

    #[test]
    fn module_lines() {
        let i = parse_modinfo(
            "path\texample.com/hello\nmod\texample.com/hello\t(devel)\t\ndep\tx\tv1\th1:\nbuild\tGOOS=linux",
        );
        assert_eq!(i.module.as_deref(), Some("example.com/hello"));
        assert_eq!(i.module_version.as_deref(), Some("(devel)"));
        assert_eq!(i.goos.as_deref(), Some("linux"));
        assert_eq!(strip_framing(b"short"), b"");
        // The real sentinels are not UTF-8 (cmd/go modload.infoStart).
        let mut m = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
        m.extend_from_slice(b"path\tcmd/go\n");
        m.extend_from_slice(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
        let info = finish(b"go1.23.5", &m).unwrap();
        assert_eq!(info.path.as_deref(), Some("cmd/go"));
    }
}
