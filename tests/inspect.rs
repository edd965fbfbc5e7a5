//! The binary inspector on real binaries: cross-compiled Go programs and Go's own tools,
//! universal binaries assembled here with both fat headers, and truncated or corrupted
//! copies. Expected values come from the build (GOOS/GOARCH, `go env GOVERSION`) or from
//! an independent reading of the bytes, never from gohang itself.

#[path = "common/inspect.rs"]
mod fixtures;

use fixtures::{fixtures, load_commands, universal};
use gohang::evidence::{Arch, Os};
use gohang::inspect::{
    BinaryInfo, Format, InspectError, Signature, Source, inspect_bytes, inspect_path,
};
use std::cell::Cell;
use std::path::Path;

fn arch_of(goarch: &str) -> Arch {
    Arch::parse(goarch)
}

/// LC_CODE_SIGNATURE (`<mach-o/loader.h>`).
const LC_CODE_SIGNATURE: u32 = 0x1d;

#[test]
fn macho_programs_for_both_mac_architectures() {
    let f = fixtures();
    for goarch in ["arm64", "amd64"] {
        let path = f.hello("darwin", goarch);
        let bytes = std::fs::read(&path).unwrap();
        let info = inspect_path(&path).unwrap();
        assert_eq!(info.format, Format::MachO);
        assert_eq!(info.slices.len(), 1);
        let s = &info.slices[0];
        assert_eq!(s.arch, arch_of(goarch));
        assert_eq!(s.bits, 64);
        assert_eq!(s.os, Some(Os::Macos));
        assert_eq!(s.platform.as_deref(), Some("macos"));
        let min = s.min_os.as_deref().expect("Go writes LC_BUILD_VERSION");
        let major: u32 = min.split('.').next().unwrap().parse().unwrap();
        assert!(major >= 10, "minos {min}");
        // Signed exactly when the file has LC_CODE_SIGNATURE (the Go linker signs arm64).
        let has_sig = load_commands(&bytes)
            .iter()
            .any(|(c, _)| *c == LC_CODE_SIGNATURE);
        match s.signature.as_ref().unwrap() {
            Signature::Unsigned => assert!(!has_sig, "{goarch}"),
            Signature::Signed {
                flags,
                adhoc,
                linker_signed,
                ..
            } => {
                assert!(has_sig, "{goarch}");
                // The Go linker's signature is ad hoc and linker-signed (cs_blobs.h flags).
                assert_eq!(flags.map(|x| x & 0x2_0002), Some(0x2_0002));
                assert!(*adhoc && *linker_signed);
            }
        }
        if goarch == "arm64" {
            assert!(has_sig, "darwin/arm64 binaries must be signed to run");
        }
        let go = s.go.as_ref().expect("Go build info");
        assert_eq!(go.version, f.go_version);
        assert_eq!(go.goos.as_deref(), Some("darwin"));
        assert_eq!(go.goarch.as_deref(), Some(goarch));
        assert_eq!(go.module.as_deref(), Some("example.com/hello"));
        assert_eq!(go.path.as_deref(), Some("example.com/hello"));
    }
}

#[test]
fn elf_programs_of_four_architectures() {
    let f = fixtures();
    for (goarch, bits, big) in [
        ("amd64", 64, false),
        ("arm64", 64, false),
        ("386", 32, false),
        ("s390x", 64, true),
    ] {
        let info = inspect_path(&f.hello("linux", goarch)).unwrap();
        assert_eq!(info.format, Format::Elf, "{goarch}");
        let s = &info.slices[0];
        assert_eq!(s.arch, arch_of(goarch), "{goarch}");
        assert_eq!((s.bits, s.big_endian), (bits, big), "{goarch}");
        assert_eq!(s.os, Some(Os::Linux));
        assert_eq!(s.signature, None, "ELF has no code signature");
        let go = s.go.as_ref().unwrap();
        assert_eq!(go.version, f.go_version);
        assert_eq!(go.goarch.as_deref(), Some(goarch));
    }
}

#[test]
fn go_tools_cross_compiled_and_native() {
    let f = fixtures();
    let cases = [
        (
            f.tool("darwin", "arm64", "compile"),
            "darwin",
            "arm64",
            "cmd/compile",
        ),
        (f.tool("darwin", "arm64", "go"), "darwin", "arm64", "cmd/go"),
        (
            f.tool("darwin", "amd64", "compile"),
            "darwin",
            "amd64",
            "cmd/compile",
        ),
        (
            f.tool("linux", &f.foreign_arch, "compile"),
            "linux",
            f.foreign_arch.as_str(),
            "cmd/compile",
        ),
        (
            f.native_tool("compile"),
            f.native_os.as_str(),
            f.native_arch.as_str(),
            "cmd/compile",
        ),
        (
            f.native_tool("go"),
            f.native_os.as_str(),
            f.native_arch.as_str(),
            "cmd/go",
        ),
    ];
    for (path, goos, goarch, pkg) in cases {
        let info = inspect_path(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert_eq!(info.arches(), vec![arch_of(goarch)], "{path:?}");
        let go = info.go().unwrap();
        assert_eq!(go.path.as_deref(), Some(pkg), "{path:?}");
        assert_eq!(go.goos.as_deref(), Some(goos), "{path:?}");
        // Go's std commands have no main module.
        assert_eq!(go.module, None);
        assert_eq!(
            gohang::inspect::go_build_info(&path)
                .unwrap()
                .unwrap()
                .version,
            go.version
        );
    }
    let old = inspect_path(&f.hello_old()).unwrap();
    assert_eq!(old.go().unwrap().version, f.old_version);
}

#[test]
fn universal_binaries_with_both_fat_headers() {
    let f = fixtures();
    let x86 = std::fs::read(f.hello("darwin", "amd64")).unwrap();
    let arm = std::fs::read(f.hello("darwin", "arm64")).unwrap();
    for magic64 in [false, true] {
        let (bytes, offsets) = universal(&[&x86, &arm], magic64);
        let info = inspect_bytes(&bytes).unwrap();
        assert_eq!(info.format, Format::MachOFat);
        assert_eq!(
            info.fat_header.as_deref(),
            Some(if magic64 { "fat64" } else { "fat" })
        );
        assert_eq!(info.arches(), vec![Arch::X86_64, Arch::Aarch64]);
        assert_eq!(info.arch_names(), "x86_64 + arm64");
        for ((s, off), thin) in info.slices.iter().zip(&offsets).zip([&x86, &arm]) {
            assert_eq!(s.offset, *off);
            assert_eq!(s.size, thin.len() as u64);
            // Each slice inspected alone gives the same answer.
            let alone = inspect_bytes(thin).unwrap();
            let mut expect = alone.slices[0].clone();
            expect.offset = *off;
            assert_eq!(*s, expect);
        }
        assert_eq!(
            info.native_slice(&Arch::Aarch64)
                .unwrap()
                .go
                .as_ref()
                .unwrap()
                .goarch
                .as_deref(),
            Some("arm64")
        );
    }
}

/// Rewrite the cpusubtype of a thin little-endian Mach-O.
fn with_subtype(thin: &[u8], subtype: u32) -> Vec<u8> {
    let mut b = thin.to_vec();
    b[8..12].copy_from_slice(&subtype.to_le_bytes());
    b
}

#[test]
fn arm64e_is_told_apart_from_arm64() {
    let f = fixtures();
    let arm = std::fs::read(f.hello("darwin", "arm64")).unwrap();
    // CPU_SUBTYPE_ARM64E with CPU_SUBTYPE_PTRAUTH_ABI in the capability byte.
    let arm64e = with_subtype(&arm, 0x8000_0002);
    let info = inspect_bytes(&arm64e).unwrap();
    assert_eq!(info.arches(), vec![Arch::Arm64e]);
    assert_eq!(info.slices[0].cpusubtype, Some(0x8000_0002));
    let (fat, _) = universal(&[&arm, &arm64e], true);
    let info = inspect_bytes(&fat).unwrap();
    assert_eq!(info.arches(), vec![Arch::Aarch64, Arch::Arm64e]);
    assert_eq!(info.arch_names(), "arm64 + arm64e");
}

fn expect_invalid(r: Result<BinaryInfo, InspectError>, what: &str) -> String {
    match r {
        Err(e @ InspectError::Invalid { .. }) => {
            let s = e.to_string();
            assert!(s.starts_with("not a valid "), "{what}: {s}");
            s
        }
        other => panic!("{what}: expected 'not a valid …', got {other:?}"),
    }
}

#[test]
fn truncated_copies_are_not_valid() {
    let f = fixtures();
    let x86 = std::fs::read(f.hello("darwin", "amd64")).unwrap();
    let arm = std::fs::read(f.hello("darwin", "arm64")).unwrap();
    let (fat, offsets) = universal(&[&x86, &arm], false);
    let (fat64, _) = universal(&[&x86, &arm], true);
    let mut files: Vec<(String, Vec<u8>)> = ["amd64", "arm64", "386", "s390x"]
        .iter()
        .map(|a| {
            (
                format!("linux-{a}"),
                std::fs::read(f.hello("linux", a)).unwrap(),
            )
        })
        .collect();
    files.push(("darwin-amd64".into(), x86.clone()));
    files.push(("darwin-arm64".into(), arm.clone()));
    files.push(("fat".into(), fat.clone()));
    files.push(("fat64".into(), fat64));
    for (name, b) in &files {
        for cut in [b.len() - 1, b.len() / 2, b.len() / 10, 4096, 100] {
            let msg = expect_invalid(inspect_bytes(&b[..cut]), &format!("{name} cut at {cut}"));
            assert!(
                msg.contains("truncated") || msg.contains("past"),
                "{name} cut at {cut}: {msg}"
            );
        }
    }
    // A cut inside the second slice names that slice.
    let msg = expect_invalid(
        inspect_bytes(&fat[..offsets[1] as usize + 1000]),
        "fat cut in slice 1",
    );
    assert!(msg.contains("slice 1 (arm64"), "{msg}");
    // And through a file, too.
    let dir = fixtures::tempdir();
    let p = dir.path().join("truncated");
    std::fs::write(&p, &arm[..arm.len() / 3]).unwrap();
    expect_invalid(inspect_path(&p), "truncated file");
    assert!(gohang::inspect::go_build_info(&p).is_err());
}

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn corrupted_copies_never_panic() {
    let f = fixtures();
    let x86 = std::fs::read(f.hello("darwin", "amd64")).unwrap();
    let arm = std::fs::read(f.hello("darwin", "arm64")).unwrap();
    let (fat, _) = universal(&[&x86, &arm], true);
    let elf = std::fs::read(f.hello("linux", "arm64")).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, original) in [("fat64", &fat), ("elf", &elf), ("macho", &arm)] {
        for round in 0..300 {
            let mut b = original.clone();
            // Damage the headers and tables, where lengths and offsets live.
            for _ in 0..1 + rng.next() % 8 {
                let limit = if round % 2 == 0 { 4096 } else { b.len() };
                let at = (rng.next() as usize) % limit;
                b[at] = rng.next() as u8;
            }
            // Either answer is fine; a panic or a hang is not.
            let _ = inspect_bytes(&b);
        }
        println!("{name}: 300 corrupted copies inspected");
    }
    // Targeted corruptions give clear answers.
    let mut b = arm.clone();
    b[16..20].copy_from_slice(&u32::MAX.to_le_bytes()); // ncmds
    expect_invalid(inspect_bytes(&b), "huge ncmds");
    let mut b = arm.clone();
    b[20..24].copy_from_slice(&0x7fff_ffff_u32.to_le_bytes()); // sizeofcmds
    expect_invalid(inspect_bytes(&b), "huge sizeofcmds");
    let mut b = fat.clone();
    b[4..8].copy_from_slice(&52u32.to_be_bytes()); // a Java class file's "slice count"
    let msg = expect_invalid(inspect_bytes(&b), "java-like fat header");
    assert!(msg.contains("not plausible"), "{msg}");
    let mut b = fat.clone();
    b[8..12].copy_from_slice(&0x0100_000c_u32.to_be_bytes()); // slice 0 claims arm64
    let msg = expect_invalid(inspect_bytes(&b), "fat/slice disagreement");
    assert!(msg.contains("fat header says arm64"), "{msg}");
    let mut b = elf.clone();
    b[0x3a..0x3c].copy_from_slice(&7u16.to_le_bytes()); // e_shentsize
    expect_invalid(inspect_bytes(&b), "bad e_shentsize");
}

#[test]
fn scripts_and_data_are_not_binaries() {
    let dir = fixtures::tempdir();
    let script = dir.path().join("go");
    std::fs::write(&script, "#!/bin/sh\nexec /usr/lib/go/bin/go \"$@\"\n").unwrap();
    assert!(
        matches!(inspect_path(&script), Err(InspectError::NotBinary(s)) if s.contains("script"))
    );
    assert_eq!(gohang::inspect::go_build_info(&script), Ok(None));
    assert!(matches!(
        inspect_path(dir.path()),
        Err(InspectError::NotBinary(s)) if s.contains("directory")
    ));
    assert!(matches!(
        inspect_path(&dir.path().join("missing")),
        Err(InspectError::Io(_))
    ));
    // A valid binary that Go did not link: no build info, no error.
    let sh = Path::new("/bin/sh");
    assert_eq!(gohang::inspect::go_build_info(sh), Ok(None));
}

/// A source that counts what it is asked for.
struct Counting<'a> {
    inner: &'a dyn Source,
    bytes: Cell<u64>,
    reads: Cell<u32>,
}

impl Source for Counting<'_> {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_upto(&self, off: u64, len: usize) -> Result<Vec<u8>, InspectError> {
        let b = self.inner.read_upto(off, len)?;
        self.bytes.set(self.bytes.get() + b.len() as u64);
        self.reads.set(self.reads.get() + 1);
        Ok(b)
    }
}

#[test]
fn reads_only_headers_and_build_info() {
    let f = fixtures();
    for path in [
        f.native_tool("compile"),
        f.tool("darwin", "arm64", "compile"),
        f.tool("linux", &f.foreign_arch, "go"),
    ] {
        let file = gohang::inspect::FileSource::open(&path).unwrap();
        let counting = Counting {
            inner: &file,
            bytes: Cell::new(0),
            reads: Cell::new(0),
        };
        let info = gohang::inspect::inspect(&counting).unwrap();
        assert!(info.go().is_some());
        let size = file.len();
        let read = counting.bytes.get();
        assert!(
            read < 256 * 1024 && read * 20 < size,
            "{path:?}: read {read} of {size} bytes in {} reads",
            counting.reads.get()
        );
    }
}

/// LC_BUILD_VERSION and LC_VERSION_MIN_MACOSX (`<mach-o/loader.h>`).
const LC_BUILD_VERSION: u32 = 0x32;
const LC_VERSION_MIN_MACOSX: u32 = 0x24;

#[test]
fn version_min_macosx_of_older_binaries() {
    // Toolchains before Mojave wrote LC_VERSION_MIN_MACOSX {cmd, cmdsize, version, sdk};
    // turn the Go binary's LC_BUILD_VERSION into one, in place.
    let f = fixtures();
    let mut b = std::fs::read(f.hello("darwin", "amd64")).unwrap();
    let (_, at) = *load_commands(&b)
        .iter()
        .find(|(c, _)| *c == LC_BUILD_VERSION)
        .expect("Go writes LC_BUILD_VERSION");
    b[at..at + 4].copy_from_slice(&LC_VERSION_MIN_MACOSX.to_le_bytes());
    b[at + 8..at + 12].copy_from_slice(&0x000a_0d00_u32.to_le_bytes()); // 10.13
    b[at + 12..at + 16].copy_from_slice(&0x000a_0e04_u32.to_le_bytes()); // 10.14.4
    let s = &inspect_bytes(&b).unwrap().slices[0];
    assert_eq!(s.platform.as_deref(), Some("macos"));
    assert_eq!(s.min_os.as_deref(), Some("10.13"));
    assert_eq!(s.sdk.as_deref(), Some("10.14.4"));
}
