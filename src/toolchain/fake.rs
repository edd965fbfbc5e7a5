//! Made-up binaries for the unit tests of the toolchain analysis, `check` and the
//! toolchain rule: one builder, so the three agree on what a Go binary looks like.

use crate::evidence::{Arch, Os};
use crate::inspect::{BinaryInfo, Format, GoBuildInfo, Slice};
use crate::toolchain::{FileKind, FileReport};

/// A 64-bit slice of a Go program built by `version` for `os`/`arch` (a Mach-O one names
/// macOS 11 as its minimum).
pub fn slice(os: Os, arch: Arch, version: &str) -> Slice {
    let goos = os.goos().to_string();
    let mac = os == Os::Macos;
    Slice {
        arch: arch.clone(),
        bits: 64,
        big_endian: false,
        cputype: None,
        cpusubtype: None,
        elf_machine: None,
        offset: 0,
        size: 1,
        os: Some(os),
        platform: mac.then(|| "macos".into()),
        min_os: mac.then(|| "11.0".into()),
        sdk: None,
        signature: None,
        go: Some(GoBuildInfo {
            version: version.into(),
            path: Some("cmd/go".into()),
            module: None,
            module_version: None,
            goos: Some(goos),
            goarch: Some(arch.goarch().into()),
        }),
    }
}

/// A binary file at `path` (reached through a symlink when `resolved` is set).
pub fn bin(path: &str, resolved: Option<&str>, format: Format, slices: Vec<Slice>) -> FileReport {
    FileReport {
        path: path.into(),
        resolved: resolved.map(str::to_string),
        kind: FileKind::Binary,
        binary: Some(BinaryInfo {
            format,
            fat_header: None,
            slices,
        }),
        problem: None,
    }
}

/// A thin Mach-O Go program.
pub fn mac(path: &str, resolved: Option<&str>, arch: Arch, version: &str) -> FileReport {
    bin(
        path,
        resolved,
        Format::MachO,
        vec![slice(Os::Macos, arch, version)],
    )
}
