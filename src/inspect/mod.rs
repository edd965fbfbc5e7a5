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

pub use buildinfo::{GoBuildInfo, parse_modinfo};
pub use source::{FileSource, Source, SubSource};

use crate::evidence::Arch;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// The container format of an executable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Elf,
    MachO,
    /// A universal binary: a fat header and one Mach-O per architecture.
    MachOFat,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Elf => "ELF",
            Format::MachO => "Mach-O",
            Format::MachOFat => "universal Mach-O",
        })
    }
}

/// A Mach-O code signature (`LC_CODE_SIGNATURE`), as far as the binary itself says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Signature {
    /// No `LC_CODE_SIGNATURE`: arm64 macOS kills such a program at exec.
    Unsigned,
    Signed {
        /// CodeDirectory flags (`cs_blobs.h`), when the blob could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        flags: Option<u32>,
        /// `CS_ADHOC`: no certificate (what the Go linker and `codesign -s -` produce).
        adhoc: bool,
        /// `CS_LINKER_SIGNED`: signed by the linker itself.
        linker_signed: bool,
        /// `CS_RUNTIME`: the hardened runtime.
        hardened_runtime: bool,
    },
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signature::Unsigned => f.write_str("unsigned"),
            Signature::Signed { flags: None, .. } => f.write_str("signed"),
            Signature::Signed {
                adhoc,
                linker_signed,
                hardened_runtime,
                ..
            } => {
                let mut s = if *adhoc { "ad-hoc" } else { "signed" }.to_string();
                if *linker_signed {
                    s.push_str(" (linker)");
                }
                if *hardened_runtime {
                    s.push_str(", hardened runtime");
                }
                f.write_str(&s)
            }
        }
    }
}

/// One architecture's image: the whole file for ELF and thin Mach-O, one slice of a
/// universal binary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    pub arch: Arch,
    /// 32 or 64.
    pub bits: u8,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub big_endian: bool,
    /// Mach-O `cputype` / `cpusubtype` (with the capability bits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cputype: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpusubtype: Option<u32>,
    /// ELF `e_machine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elf_machine: Option<u16>,
    /// Where the image starts in the file and how long it is.
    pub offset: u64,
    pub size: u64,
    /// The operating system it is for, in gohang's words (`linux`, `macos`, `ios`, …), from
    /// the headers or else from the Go build info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Mach-O platform of `LC_BUILD_VERSION` / `LC_VERSION_MIN_*` (`macos`, `ios-simulator`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Minimum OS version (`minos`), e.g. `11.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<String>,
    /// Mach-O only; `None` for ELF, where signatures do not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// Build info, when a Go toolchain linked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go: Option<GoBuildInfo>,
}

impl Slice {
    /// `arch` as its OS names it (`arm64` on macOS).
    pub fn arch_name(&self) -> String {
        match self.os.as_deref() {
            Some("macos") | Some("ios") => self.arch.display_for("macos"),
            _ => self.arch.to_string(),
        }
    }
}

/// What a binary file holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinaryInfo {
    pub format: Format,
    /// Universal binaries: `fat` (FAT_MAGIC, 32-bit offsets) or `fat64` (FAT_MAGIC_64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fat_header: Option<String>,
    /// One entry, or one per slice of a universal binary (in file order).
    pub slices: Vec<Slice>,
}

impl BinaryInfo {
    pub fn arches(&self) -> Vec<Arch> {
        self.slices.iter().map(|s| s.arch.clone()).collect()
    }
    /// The build info of the first slice that has one (all slices of a universal Go binary
    /// come from one build).
    pub fn go(&self) -> Option<&GoBuildInfo> {
        self.slices.iter().find_map(|s| s.go.as_ref())
    }
    /// The operating system, when the slices agree on one.
    pub fn os(&self) -> Option<&str> {
        let first = self.slices.first()?.os.as_deref()?;
        self.slices
            .iter()
            .all(|s| s.os.as_deref() == Some(first))
            .then_some(first)
    }
    /// The slice the kernel would pick on `hardware` (the first that runs natively), if any.
    pub fn native_slice(&self, hardware: &Arch) -> Option<&Slice> {
        // arm64e before arm64 would be the kernel's order on arm64e hardware; gohang's
        // hardware arch is never arm64e, so "runs natively" is enough.
        self.slices
            .iter()
            .find(|s| s.arch == *hardware)
            .or_else(|| {
                self.slices
                    .iter()
                    .find(|s| s.arch.runs_natively_on(hardware))
            })
    }
    /// Architectures joined for people: `x86_64`, `x86_64 + arm64`.
    pub fn arch_names(&self) -> String {
        let v: Vec<String> = self.slices.iter().map(|s| s.arch_name()).collect();
        v.join(" + ")
    }
}

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

/// gohang's OS name for a Go GOOS (`darwin` is `macos`, as `std::env::consts::OS` says).
pub fn os_from_goos(goos: &str) -> String {
    match goos {
        "darwin" => "macos".to_string(),
        other => other.to_string(),
    }
}

/// The GOOS for one of gohang's OS names.
pub fn goos_from_os(os: &str) -> String {
    match os {
        "macos" => "darwin".to_string(),
        other => other.to_string(),
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
