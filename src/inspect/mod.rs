//! Static inspection of executables: what a file is, for which machines, and which Go built
//! it — read from its headers, never by running it (the toolchain may be what hangs).
//!
//! ELF, thin Mach-O and universal (fat) Mach-O, with both `FAT_MAGIC` and `FAT_MAGIC_64`
//! headers. Per slice: the architecture (arm64e told apart from arm64), the platform and
//! minimum OS (`LC_BUILD_VERSION`, `LC_VERSION_MIN_*`), the code signature, and for Go
//! programs the build info the linker embeds (`go version -m` reads the same blob).
//!
//! It reads only what it needs: a header, the load commands or the section header table, and
//! the build-info section — a few KiB of a 15 MB `compile`. Every length and offset in the
//! file is checked before use, so a truncated or hostile file gives
//! [`InspectError::Invalid`] ("not a valid …"), never a panic or a huge allocation. The
//! fuzz target `fuzz/fuzz_targets/inspect.rs` holds it to that.
//!
//! Header structs are parsed with goblin's types; goblin 0.10 does not know `FAT_MAGIC_64`
//! and its whole-file parsers want the whole file in memory, so the walking is done here.

mod buildinfo;
mod elf;
mod macho;
mod source;

pub use buildinfo::parse_modinfo;
pub use source::{FileSource, Source, SubSource};

pub use crate::evidence::binary::{BinaryInfo, Format, GoBuildInfo, Signature, Slice};
use std::path::Path;

/// Why a file could not be inspected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    /// It could not be read at all.
    #[error("{0}")]
    Io(String),
    /// Neither ELF nor Mach-O: a script, text, or other data.
    #[error("not an executable binary ({0})")]
    NotBinary(String),
    /// It claims to be a binary but is truncated or malformed.
    #[error("not a valid {format}: {why}")]
    Invalid { format: &'static str, why: String },
}

impl InspectError {
    pub(crate) fn invalid(format: &'static str, why: impl Into<String>) -> InspectError {
        InspectError::Invalid {
            format,
            why: why.into(),
        }
    }
}

/// Bytes read to recognise a format.
const PROBE_LEN: usize = 64;

/// Inspect the file at `path`. Opens it without blocking (a FIFO in a `bin/` must not hang
/// gohang) and refuses anything that is not a regular file.
pub fn inspect_path(path: &Path) -> Result<BinaryInfo, InspectError> {
    let src = FileSource::open(path)?;
    inspect(&src)
}

/// Inspect an in-memory image (tests, the fuzz target).
pub fn inspect_bytes(bytes: &[u8]) -> Result<BinaryInfo, InspectError> {
    inspect(&bytes)
}

/// Inspect any [`Source`].
pub fn inspect(src: &dyn Source) -> Result<BinaryInfo, InspectError> {
    let head = src.read_upto(0, PROBE_LEN)?;
    if head.len() >= 4 && head[..4] == *b"\x7fELF" {
        return elf::inspect(src, &head);
    }
    if head.len() >= 4 {
        let be = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if macho::is_fat_magic(be) {
            return macho::inspect_fat(src, be);
        }
        if macho::is_thin_magic(be) {
            let slice = macho::inspect_thin(src, 0, src.len(), None)?;
            return Ok(BinaryInfo {
                format: Format::MachO,
                fat_header: None,
                slices: vec![slice],
            });
        }
    }
    Err(InspectError::NotBinary(describe_other(&head)))
}

/// A word on what a non-binary file looks like.
fn describe_other(head: &[u8]) -> String {
    if head.starts_with(b"#!") {
        let line = head.split(|b| *b == b'\n').next().unwrap_or(head);
        return format!("a script: {}", String::from_utf8_lossy(line).trim());
    }
    if head.is_empty() {
        return "an empty file".to_string();
    }
    if head.starts_with(b"MZ") {
        return "a Windows PE file".to_string();
    }
    if std::str::from_utf8(head).is_ok() {
        return "text".to_string();
    }
    "unknown data".to_string()
}

/// The Go build info of the program at `path`: `Ok(None)` for a valid binary that Go did
/// not link, and for scripts and other non-binaries; `Err` when the file cannot be read or
/// is a broken binary. Cheap enough to call once per process: a few small reads.
pub fn go_build_info(path: &Path) -> Result<Option<GoBuildInfo>, String> {
    match inspect_path(path) {
        Ok(info) => Ok(info.go().cloned()),
        Err(InspectError::NotBinary(_)) => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Mach-O and ELF versions for people: `11.0`, `10.15.4`.
pub(crate) fn nibble_version(v: u32) -> String {
    let (major, minor, patch) = (v >> 16, (v >> 8) & 0xff, v & 0xff);
    if patch == 0 {
        format!("{major}.{minor}")
    } else {
        format!("{major}.{minor}.{patch}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_print_like_apple_tools() {
        assert_eq!(nibble_version(0x000b_0000), "11.0");
        assert_eq!(nibble_version(0x000a_0f04), "10.15.4");
    }

    #[test]
    fn non_binaries_are_named() {
        assert!(matches!(
            inspect_bytes(b"#!/bin/sh\nexec go \"$@\"\n"),
            Err(InspectError::NotBinary(s)) if s.contains("script: #!/bin/sh")
        ));
        assert!(
            matches!(inspect_bytes(b""), Err(InspectError::NotBinary(s)) if s.contains("empty"))
        );
        assert!(matches!(
            inspect_bytes(&[0xde, 0xad, 0xbe, 0xef, 0xff]),
            Err(InspectError::NotBinary(_))
        ));
    }
}
