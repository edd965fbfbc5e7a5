//! What a binary file is, as static inspection found it (`crate::inspect` reads the headers):
//! its format, its slices and their machines, and the build info a Go linker embedded. Data
//! only: the classifier and `check` decide from it without touching the file again.

use crate::evidence::{Arch, Os};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a Go program says about its own build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoBuildInfo {
    /// The toolchain that linked it: `go1.23.5`, `devel go1.24-…`.
    pub version: String,
    /// The main package (`cmd/compile`, `example.com/hello`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The main module's path and version, for programs built in module mode outside std.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_version: Option<String>,
    /// `build GOOS=` / `build GOARCH=` (Go ≥ 1.18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goos: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goarch: Option<String>,
}

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
    pub os: Option<Os>,
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
        match &self.os {
            Some(os) if *os == Os::Macos || os.name() == "ios" => self.arch.display_for(&Os::Macos),
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
    pub fn os(&self) -> Option<&Os> {
        let first = self.slices.first()?.os.as_ref()?;
        self.slices
            .iter()
            .all(|s| s.os.as_ref() == Some(first))
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
