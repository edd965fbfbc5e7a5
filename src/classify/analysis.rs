//! Conclusions about a toolchain from static facts: which binaries run natively on this
//! machine, which run translated or not at all, whether the GOROOT is all one architecture
//! and one Go version. Pure: `check` and the classifier (`classify/toolchain.rs`) share it
//! and it is tested on hand-made facts for any OS.
//!
//! The version rule is the go command's own: it passes its version to the compiler
//! (`-goversion`), and `compile` exits with `compile: version "…" does not match go tool
//! version "…"` when they differ (`cmd/compile/internal/base/flag.go`).

use crate::evidence::binary::{BinaryInfo, Format, Slice};
use crate::evidence::toolchain::{FileKind, FileReport, ToolchainEvidence};
use crate::evidence::{Arch, Emulator, HostInfo, Os};
use serde::{Deserialize, Serialize};

/// How a binary runs on this machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fit {
    Native,
    /// Through Rosetta 2 or a binfmt_misc emulator: it runs, slowly and with its bugs.
    Translated {
        by: String,
    },
    /// Not at all here.
    Foreign {
        why: String,
    },
}

impl Fit {
    pub fn is_native(&self) -> bool {
        matches!(self, Fit::Native)
    }
    pub fn describe(&self) -> String {
        match self {
            Fit::Native => "native".to_string(),
            Fit::Translated { by } => format!("runs translated by {by}"),
            Fit::Foreign { why } => format!("cannot run here: {why}"),
        }
    }
}

/// The OS a binary is for, where its format or headers say.
fn binary_os(info: &BinaryInfo) -> Option<Os> {
    info.os().cloned().or(match info.format {
        Format::MachO | Format::MachOFat => Some(Os::Macos),
        Format::Elf => None,
    })
}

/// How `info` runs on `host`.
pub fn fit(info: &BinaryInfo, host: &HostInfo) -> Fit {
    let host_os = &host.os;
    let hw = &host.hardware_arch;
    if let Some(os) = binary_os(info)
        && os != *host_os
    {
        return Fit::Foreign {
            why: format!("a {os} binary on {host_os}"),
        };
    }
    if info.format == Format::Elf && *host_os == Os::Macos {
        return Fit::Foreign {
            why: "an ELF binary on macOS".to_string(),
        };
    }
    if info.native_slice(hw).is_some() {
        return Fit::Native;
    }
    let arches = info.arch_names();
    let hw_name = hw.display_for(host_os);
    if *host_os == Os::Macos
        && *hw == Arch::Aarch64
        && info.slices.iter().any(|s| s.arch == Arch::X86_64)
    {
        return if host.rosetta_installed == Some(false) {
            Fit::Foreign {
                why: format!("{arches} on an {hw_name} Mac without Rosetta 2"),
            }
        } else {
            Fit::Translated {
                by: "Rosetta 2".to_string(),
            }
        };
    }
    if *host_os == Os::Linux
        && let Some(h) = host.binfmt.iter().find(|h| {
            h.enabled
                && h.arch
                    .as_ref()
                    .is_some_and(|a| info.slices.iter().any(|s| s.arch == *a))
        })
    {
        let emulator = match Emulator::from_interpreter(&h.interpreter) {
            Emulator::Qemu => "qemu-user",
            Emulator::RosettaLinux => "Rosetta for Linux",
            Emulator::Other => "an emulator",
        };
        return Fit::Translated {
            by: format!("{emulator} (binfmt_misc handler {})", h.name),
        };
    }
    Fit::Foreign {
        why: format!("{arches} on {hw_name} hardware"),
    }
}

/// The slice the kernel runs when a shell starts `info`: under a translated macOS shell the
/// x86_64 slice of a universal binary is preferred (DeterminateSystems/nix-installer#344),
/// else the native one, else the first.
pub fn running_slice<'a>(
    info: &'a BinaryInfo,
    host: &HostInfo,
    translated_shell: bool,
) -> Option<&'a Slice> {
    if translated_shell
        && host.os == Os::Macos
        && let Some(s) = info.slices.iter().find(|s| s.arch == Arch::X86_64)
    {
        return Some(s);
    }
    info.native_slice(&host.hardware_arch)
        .or_else(|| info.slices.first())
}

/// `<goos>_<goarch>` of a slice: from its build info, else from its headers.
pub fn tool_dir_name(slice: &Slice) -> Option<String> {
    if let Some(g) = &slice.go
        && let (Some(os), Some(arch)) = (&g.goos, &g.goarch)
    {
        return Some(format!("{os}_{arch}"));
    }
    let os = slice.os.as_ref()?;
    Some(format!("{}_{}", os.goos(), slice.arch.goarch()))
}

/// Is a GOROOT all native, all foreign, or a mix?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchState {
    Native,
    Foreign,
    Mixed,
}

/// One binary that is not native, or not valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFinding {
    pub path: String,
    /// Its architectures, for people (`x86_64`, `x86_64 + arm64`).
    pub arch: String,
    pub detail: String,
}

/// Everything gohang concludes about one toolchain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// How the `go` binary runs; `None` when it is not a binary (a shim script) or broken.
    pub go_fit: Option<Fit>,
    pub go_arch: Option<String>,
    pub go_version: Option<String>,
    /// `<goos>_<goarch>` the go command runs its tools from, and whether it exists.
    pub tool_dir: Option<String>,
    pub tool_dir_present: bool,
    /// Binaries counted: the go binary, `bin/`, and the tool directory in use.
    pub binaries: usize,
    pub native: usize,
    /// Binaries among them that are translated or cannot run.
    pub foreign: Vec<FileFinding>,
    /// Files among them that are broken binaries.
    pub invalid: Vec<FileFinding>,
    /// Other `pkg/tool/*` directories holding foreign binaries: left over from another
    /// machine or a cross-build; the go command ignores them.
    pub stale_dirs: Vec<String>,
    /// Binaries whose Go version differs from the go binary's (the compile trap).
    pub version_mismatches: Vec<FileFinding>,
    /// `GOROOT/VERSION` when it disagrees with the go binary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_file_mismatch: Option<String>,
    pub state: ArchState,
}

impl Analysis {
    /// Anything wrong with the toolchain's binaries (not counting stale directories).
    pub fn has_problems(&self) -> bool {
        self.state != ArchState::Native
            || !self.version_mismatches.is_empty()
            || self.version_file_mismatch.is_some()
            || (self.tool_dir.is_some() && !self.tool_dir_present)
    }
}

fn finding(f: &FileReport, detail: String) -> FileFinding {
    FileFinding {
        path: f.path.clone(),
        arch: f
            .binary
            .as_ref()
            .map(BinaryInfo::arch_names)
            .unwrap_or_else(|| "?".to_string()),
        detail,
    }
}

/// The commands a Go distribution puts in GOROOT/bin.
pub fn is_goroot_bin(name: &str) -> bool {
    matches!(name, "go" | "gofmt" | "go.exe" | "gofmt.exe")
}

/// Analyse the toolchain evidence. `translated_shell`: gohang's shell runs translated.
pub fn analyze(t: &ToolchainEvidence, host: &HostInfo, translated_shell: bool) -> Analysis {
    let go_bin =
        t.go.binary
            .as_ref()
            .filter(|_| t.go.kind == FileKind::Binary);
    let go_fit = go_bin.map(|b| fit(b, host));
    let go_slice = go_bin.and_then(|b| running_slice(b, host, translated_shell));
    let go_version = go_bin.and_then(|b| b.go()).map(|g| g.version.clone());
    let tool_dir = t
        .tool_dir
        .clone()
        .or_else(|| go_slice.and_then(tool_dir_name));

    let mut counted: Vec<&FileReport> = vec![&t.go];
    let mut stale_dirs = Vec::new();
    let mut tool_dir_present = false;
    if let Some(scan) = &t.scan {
        // Only go and gofmt belong in GOROOT/bin: the go command installs every other
        // command of the distribution into pkg/tool (cmd/go/internal/load/pkg.go,
        // InstallTargetDir). Anything else there is not Go's (a GOROOT set to a prefix such
        // as /usr/local sees its docker, kubectl…), so it is neither counted nor judged.
        counted.extend(
            scan.bin
                .iter()
                .filter(|f| is_goroot_bin(f.name()))
                .filter(|f| f.real_path() != t.go.real_path()),
        );
        for d in &scan.tool_dirs {
            if Some(&d.name) == tool_dir.as_ref() {
                tool_dir_present = true;
                counted.extend(d.files.iter());
            } else if d
                .files
                .iter()
                .filter_map(|f| f.binary.as_ref())
                .any(|b| !fit(b, host).is_native())
            {
                stale_dirs.push(d.path.clone());
            }
        }
    }

    let mut native = 0;
    let mut binaries = 0;
    let mut foreign = Vec::new();
    let mut invalid = Vec::new();
    let mut version_mismatches = Vec::new();
    for f in &counted {
        match (&f.kind, &f.binary) {
            (FileKind::Binary, Some(b)) => {
                binaries += 1;
                let fit = fit(b, host);
                if fit.is_native() {
                    native += 1;
                } else {
                    foreign.push(finding(f, fit.describe()));
                }
                if let (Some(want), Some(got)) = (&go_version, b.go().map(|g| &g.version))
                    && want != got
                {
                    version_mismatches.push(finding(f, got.clone()));
                }
            }
            (FileKind::Invalid | FileKind::Unreadable, _) => {
                binaries += 1;
                invalid.push(finding(f, f.problem.clone().unwrap_or_default()));
            }
            _ => {}
        }
    }
    let version_file_mismatch = t
        .scan
        .as_ref()
        .and_then(|s| s.version_file.clone())
        .filter(|v| {
            let want = go_version
                .as_deref()
                .and_then(|g| g.split_whitespace().next());
            want.is_some_and(|w| v.split_whitespace().next() != Some(w))
        });
    let state = if native == binaries && invalid.is_empty() {
        ArchState::Native
    } else if native == 0 {
        ArchState::Foreign
    } else {
        ArchState::Mixed
    };
    Analysis {
        go_fit,
        go_arch: go_slice.map(Slice::arch_name),
        go_version,
        tool_dir,
        tool_dir_present,
        binaries,
        native,
        foreign,
        invalid,
        stale_dirs,
        version_mismatches,
        version_file_mismatch,
        state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::BinfmtHandler;

    use crate::toolchain::goroot::{GorootScan, ToolDir};

    fn host(os: Os, hw: Arch) -> HostInfo {
        HostInfo::plain(os, hw, 1)
    }

    fn mac(path: &str, arch: Arch, v: &str) -> FileReport {
        crate::toolchain::fake::bin(
            path,
            None,
            Format::MachO,
            vec![crate::toolchain::fake::slice(Os::Macos, arch, v)],
        )
    }

    fn toolchain(go: FileReport, dirs: Vec<(&str, Vec<FileReport>)>) -> ToolchainEvidence {
        ToolchainEvidence {
            go_path: go.path.clone(),
            go: go.clone(),
            goroot: Some("/g".into()),
            goroot_source: None,
            tool_dir: None,
            scan: Some(GorootScan {
                root: "/g".into(),
                version_file: None,
                bin: vec![go],
                tool_dirs: dirs
                    .into_iter()
                    .map(|(n, files)| ToolDir {
                        name: n.into(),
                        path: format!("/g/pkg/tool/{n}"),
                        goos: None,
                        goarch: None,
                        files,
                    })
                    .collect(),
            }),
            tree: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn rosetta_and_qemu_are_translation_not_native() {
        let mut m1 = host(Os::Macos, Arch::Aarch64);
        let x86 = BinaryInfo {
            format: Format::MachO,
            fat_header: None,
            slices: vec![crate::toolchain::fake::slice(
                Os::Macos,
                Arch::X86_64,
                "go1.22.0",
            )],
        };
        assert_eq!(
            fit(&x86, &m1),
            Fit::Translated {
                by: "Rosetta 2".into()
            }
        );
        m1.rosetta_installed = Some(false);
        assert!(matches!(fit(&x86, &m1), Fit::Foreign { .. }));
        let mut l = host(Os::Linux, Arch::X86_64);
        let arm = BinaryInfo {
            format: Format::Elf,
            fat_header: None,
            slices: vec![crate::toolchain::fake::slice(
                Os::Linux,
                Arch::Aarch64,
                "go1.23.5",
            )],
        };
        assert!(matches!(fit(&arm, &l), Fit::Foreign { .. }));
        l.binfmt.push(BinfmtHandler {
            name: "qemu-aarch64".into(),
            enabled: true,
            interpreter: "/usr/bin/qemu-aarch64-static".into(),
            resolved: None,
            flags: "F".into(),
            arch: Some(Arch::Aarch64),
        });
        assert_eq!(
            fit(&arm, &l),
            Fit::Translated {
                by: "qemu-user (binfmt_misc handler qemu-aarch64)".into()
            }
        );
        // A Mach-O cannot run on Linux whatever its architecture.
        assert!(matches!(
            fit(&x86, &host(Os::Linux, Arch::X86_64)),
            Fit::Foreign { .. }
        ));
    }

    #[test]
    fn universal_binary_slice_depends_on_the_shell() {
        let m1 = host(Os::Macos, Arch::Aarch64);
        let fat = BinaryInfo {
            format: Format::MachOFat,
            fat_header: Some("fat".into()),
            slices: vec![
                crate::toolchain::fake::slice(Os::Macos, Arch::X86_64, "go1.23.5"),
                crate::toolchain::fake::slice(Os::Macos, Arch::Aarch64, "go1.23.5"),
            ],
        };
        assert!(fit(&fat, &m1).is_native());
        assert_eq!(running_slice(&fat, &m1, false).unwrap().arch, Arch::Aarch64);
        let s = running_slice(&fat, &m1, true).unwrap();
        assert_eq!(tool_dir_name(s).as_deref(), Some("darwin_amd64"));
    }

    #[test]
    fn x86_go_on_apple_silicon_is_all_foreign() {
        let m1 = host(Os::Macos, Arch::Aarch64);
        let t = toolchain(
            mac("/g/bin/go", Arch::X86_64, "go1.22.0"),
            vec![(
                "darwin_amd64",
                vec![mac(
                    "/g/pkg/tool/darwin_amd64/compile",
                    Arch::X86_64,
                    "go1.22.0",
                )],
            )],
        );
        let a = analyze(&t, &m1, false);
        assert_eq!(a.tool_dir.as_deref(), Some("darwin_amd64"));
        assert!(a.tool_dir_present);
        assert_eq!(a.binaries, 2, "bin/go is counted once");
        assert_eq!(a.state, ArchState::Foreign);
        assert!(a.has_problems());
    }

    #[test]
    fn mixed_versions_and_stale_dirs() {
        let m1 = host(Os::Macos, Arch::Aarch64);
        let t = toolchain(
            mac("/g/bin/go", Arch::Aarch64, "go1.23.5"),
            vec![
                (
                    "darwin_amd64",
                    vec![mac(
                        "/g/pkg/tool/darwin_amd64/compile",
                        Arch::X86_64,
                        "go1.21.0",
                    )],
                ),
                (
                    "darwin_arm64",
                    vec![
                        mac(
                            "/g/pkg/tool/darwin_arm64/compile",
                            Arch::Aarch64,
                            "go1.22.0",
                        ),
                        mac("/g/pkg/tool/darwin_arm64/link", Arch::X86_64, "go1.23.5"),
                    ],
                ),
            ],
        );
        let a = analyze(&t, &m1, false);
        assert_eq!(a.tool_dir.as_deref(), Some("darwin_arm64"));
        assert_eq!(a.state, ArchState::Mixed);
        assert_eq!(a.stale_dirs, vec!["/g/pkg/tool/darwin_amd64".to_string()]);
        assert_eq!(a.version_mismatches.len(), 1);
        assert_eq!(a.version_mismatches[0].detail, "go1.22.0");
        assert_eq!(a.foreign.len(), 1);
    }
}
