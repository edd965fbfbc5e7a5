//! What in a GOROOT is foreign to this machine: tool directories for another platform
//! (`pkg/tool/linux_arm64/` on an x86_64 host, `bin/darwin_amd64/`) and binaries whose
//! format or architecture this hardware does not run natively.
//!
//! Reads headers only (`binary::exe_info`); runs nothing.

use crate::binary;
use crate::evidence::Arch;
pub use crate::evidence::toolchain::Platform;
use serde::Serialize;
use std::path::Path;

/// `linux_arm64` -> true: a name shaped like a Go platform directory.
fn is_platform_dir_name(name: &str) -> bool {
    const OSES: [&str; 14] = [
        "aix",
        "android",
        "darwin",
        "dragonfly",
        "freebsd",
        "illumos",
        "ios",
        "js",
        "linux",
        "netbsd",
        "openbsd",
        "plan9",
        "solaris",
        "windows",
    ];
    name.split_once('_')
        .is_some_and(|(os, arch)| OSES.contains(&os) && !arch.is_empty())
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Binary {
    /// Relative to the GOROOT: `bin/go`, `pkg/tool/linux_amd64/compile`.
    pub path: String,
    pub format: String,
    pub arches: Vec<Arch>,
    /// Rebuilt by make.bash (`bin/go`, `bin/gofmt`, the native tool directory); anything
    /// else in `bin/` is the user's and is not.
    pub rebuilt: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForeignDir {
    /// `pkg/tool/linux_arm64`.
    pub path: String,
    /// `linux_arm64`.
    pub platform: String,
    pub files: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TreeScan {
    pub foreign_dirs: Vec<ForeignDir>,
    pub foreign_binaries: Vec<Binary>,
    /// Native binaries, by relative path.
    pub native_binaries: Vec<String>,
    /// Whether `pkg/tool/<native>/` exists.
    pub native_tool_dir: bool,
}

impl TreeScan {
    pub fn is_native(&self) -> bool {
        self.foreign_dirs.is_empty() && self.foreign_binaries.is_empty()
    }
}

/// Scan `bin/` and `pkg/tool/` of `goroot` against `native`.
pub fn scan(goroot: &Path, native: &Platform) -> TreeScan {
    let mut out = TreeScan::default();
    let native_dir = native.dir_name();
    for name in sorted_names(&goroot.join("bin")) {
        let rel = format!("bin/{name}");
        let path = goroot.join(&rel);
        if path.is_dir() {
            if is_platform_dir_name(&name) && name != native_dir {
                out.foreign_dirs.push(ForeignDir {
                    files: sorted_names(&path).len(),
                    path: rel,
                    platform: name,
                });
            }
            continue;
        }
        let rebuilt = matches!(name.as_str(), "go" | "gofmt" | "go.exe" | "gofmt.exe");
        check_binary(&path, rel, rebuilt, native, &mut out);
    }
    for name in sorted_names(&goroot.join("pkg/tool")) {
        let rel = format!("pkg/tool/{name}");
        let path = goroot.join(&rel);
        if !path.is_dir() {
            continue;
        }
        if name == native_dir {
            out.native_tool_dir = true;
            for tool in sorted_names(&path) {
                let p = path.join(&tool);
                if p.is_file() {
                    check_binary(&p, format!("{rel}/{tool}"), true, native, &mut out);
                }
            }
        } else {
            out.foreign_dirs.push(ForeignDir {
                files: sorted_names(&path).len(),
                path: rel,
                platform: name,
            });
        }
    }
    out
}

fn check_binary(path: &Path, rel: String, rebuilt: bool, native: &Platform, out: &mut TreeScan) {
    // Scripts and data files (a README in bin/) are neither native nor foreign.
    let Ok(info) = binary::exe_info(path) else {
        return;
    };
    if info.format == "script" {
        return;
    }
    if native.runs_natively(&info.format, &info.arches) {
        out.native_binaries.push(rel);
    } else {
        out.foreign_binaries.push(Binary {
            path: rel,
            format: info.format,
            arches: info.arches,
            rebuilt,
        });
    }
}

fn sorted_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn elf(machine: u16) -> Vec<u8> {
        let mut b = vec![0u8; 64];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        b
    }

    fn amd64() -> Platform {
        Platform {
            goos: "linux".into(),
            goarch: "amd64".into(),
            hardware: Arch::X86_64,
        }
    }

    #[test]
    fn finds_foreign_dirs_and_binaries() {
        let d = tempfile::tempdir().unwrap();
        let g = d.path();
        for dir in [
            "bin/linux_arm64",
            "pkg/tool/linux_amd64",
            "pkg/tool/linux_arm64",
        ] {
            fs::create_dir_all(g.join(dir)).unwrap();
        }
        fs::write(g.join("bin/go"), elf(183)).unwrap();
        fs::write(g.join("bin/gofmt"), elf(62)).unwrap();
        fs::write(g.join("bin/dlv"), elf(183)).unwrap();
        fs::write(g.join("bin/README"), "hello").unwrap();
        fs::write(g.join("bin/wrapper"), "#!/bin/sh\n").unwrap();
        fs::write(g.join("bin/linux_arm64/go"), elf(183)).unwrap();
        fs::write(g.join("pkg/tool/linux_amd64/compile"), elf(62)).unwrap();
        fs::write(g.join("pkg/tool/linux_amd64/link"), elf(183)).unwrap();
        fs::write(g.join("pkg/tool/linux_arm64/compile"), elf(183)).unwrap();

        let s = scan(g, &amd64());
        assert!(!s.is_native());
        assert!(s.native_tool_dir);
        let dirs: Vec<_> = s.foreign_dirs.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(dirs, ["bin/linux_arm64", "pkg/tool/linux_arm64"]);
        let bins: Vec<_> = s
            .foreign_binaries
            .iter()
            .map(|b| (b.path.as_str(), b.rebuilt))
            .collect();
        assert_eq!(
            bins,
            [
                ("bin/dlv", false),
                ("bin/go", true),
                ("pkg/tool/linux_amd64/link", true)
            ]
        );
        assert_eq!(
            s.native_binaries,
            ["bin/gofmt", "pkg/tool/linux_amd64/compile"]
        );
    }

    #[test]
    fn universal_binaries_and_other_formats() {
        let mac = Platform {
            goos: "darwin".into(),
            goarch: "arm64".into(),
            hardware: Arch::Aarch64,
        };
        assert!(mac.runs_natively("mach-o-fat", &[Arch::X86_64, Arch::Aarch64]));
        assert!(!mac.runs_natively("mach-o", &[Arch::X86_64]));
        assert!(!mac.runs_natively("elf", &[Arch::Aarch64]));
        assert!(amd64().runs_natively("elf", &[Arch::X86_64]));
        assert!(!amd64().runs_natively("mach-o", &[Arch::X86_64]));
        assert!(is_platform_dir_name("darwin_amd64"));
        assert!(!is_platform_dir_name("linux_"));
        assert!(!is_platform_dir_name("include"));
    }
}
