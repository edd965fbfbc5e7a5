//! When gohang cannot rebuild: the native install to do instead, as commands to paste.
//!
//! The package manager that owns the tree comes first (installing the native package is
//! what fixes it for good), then the official archive for the hardware architecture.

use crate::evidence::Arch;
use crate::rebuild::foreign::Platform;
use crate::rebuild::goroot::Owner;
use crate::rebuild::version::GoVersion;
use std::path::Path;

/// Debian's name for an architecture (`dpkg --print-architecture`).
fn dpkg_arch(a: &Arch) -> Option<&'static str> {
    Some(match a {
        Arch::X86_64 => "amd64",
        Arch::Aarch64 | Arch::Arm64e => "arm64",
        Arch::X86 => "i386",
        Arch::Arm => "armhf",
        Arch::Ppc64le => "ppc64el",
        Arch::S390x => "s390x",
        Arch::Riscv64 => "riscv64",
        Arch::Loongarch64 => "loong64",
        _ => return None,
    })
}

/// Paste-ready lines (comments start with `#`).
pub fn install_instead(
    native: &Platform,
    version: Option<GoVersion>,
    owner: Option<&Owner>,
) -> Vec<String> {
    let mut out = Vec::new();
    match owner.map(|o| (o.manager.as_str(), o.package.as_deref())) {
        Some(("dpkg", pkg)) => {
            let name = pkg
                .map(|p| p.split(':').next().unwrap_or(p))
                .unwrap_or("golang-go");
            out.push(format!(
                "# the {} package for this machine's architecture:",
                dpkg_arch(&native.hardware).unwrap_or("native")
            ));
            match dpkg_arch(&native.hardware) {
                Some(a) => out.push(format!("sudo apt install {name}:{a}")),
                None => out.push(format!("sudo apt install --reinstall {name}")),
            }
            out.push("# or Debian's default Go: sudo apt install golang-go".into());
        }
        Some(("rpm", _)) => out.push("sudo dnf install golang".into()),
        Some(("pacman", _)) => out.push("sudo pacman -S go".into()),
        Some(("homebrew", pkg)) => {
            let formula = pkg.unwrap_or("go");
            if native.goos == "darwin" && native.goarch == "arm64" {
                out.push("# Apple Silicon: the arm64 Homebrew in /opt/homebrew (an x86_64 one in /usr/local runs under Rosetta)".into());
                if Path::new("/opt/homebrew/bin/brew").exists() {
                    out.push(format!(
                        "arch -arm64 /opt/homebrew/bin/brew install {formula}"
                    ));
                } else {
                    out.push("# install Homebrew from a native (not Rosetta) terminal first; it goes to /opt/homebrew, then:".into());
                    out.push(format!("/opt/homebrew/bin/brew install {formula}"));
                }
            } else {
                out.push(format!("brew reinstall {formula}"));
            }
        }
        Some(("nix", _)) => out.push("nix profile install nixpkgs#go".into()),
        Some(("snap", _)) => out.push("sudo snap refresh go".into()),
        Some(("macports", _)) => out.push("sudo port -f install go".into()),
        Some(("go-toolchain-cache", _)) => {
            out.push("# a foreign go downloaded this toolchain for its own architecture; fix that go, then".into());
            out.push(
                "go clean -modcache   # the right toolchain is downloaded again on demand".into(),
            );
        }
        _ => {}
    }
    let v = version
        .filter(|v| v.is_release())
        .map(|v| v.go_name())
        .unwrap_or_else(|| "goVERSION".into());
    let file_os = native.goos.as_str();
    let arch = native.goarch.as_str();
    let or = if out.is_empty() { "" } else { "or " };
    out.push(format!("# {or}the official {v} for {file_os}/{arch}:"));
    if version.is_none_or(|v| !v.is_release()) {
        out.push("# (pick a release at https://go.dev/dl/ and put it for goVERSION)".into());
    }
    if native.goos == "darwin" {
        out.push(format!("curl -fLO https://go.dev/dl/{v}.darwin-{arch}.pkg"));
        out.push(format!(
            "sudo installer -pkg {v}.darwin-{arch}.pkg -target /"
        ));
    } else {
        out.push(format!(
            "curl -fLO https://go.dev/dl/{v}.{file_os}-{arch}.tar.gz"
        ));
        out.push(format!(
            "sudo rm -rf /usr/local/go && sudo tar -C /usr/local -xzf {v}.{file_os}-{arch}.tar.gz"
        ));
        out.push("export PATH=/usr/local/go/bin:$PATH".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(goos: &str, goarch: &str, hw: Arch) -> Platform {
        Platform {
            goos: goos.into(),
            goarch: goarch.into(),
            hardware: hw,
        }
    }

    #[test]
    fn debian_gets_the_native_package_then_the_archive() {
        let owner = Owner {
            manager: "dpkg".into(),
            package: Some("golang-1.23-go:arm64".into()),
        };
        let v = Some(GoVersion::release(1, 23, 5));
        let lines = install_instead(&p("linux", "amd64", Arch::X86_64), v, Some(&owner));
        assert!(
            lines.contains(&"sudo apt install golang-1.23-go:amd64".to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"curl -fLO https://go.dev/dl/go1.23.5.linux-amd64.tar.gz".to_string())
        );
    }

    #[test]
    fn apple_silicon_homebrew_and_pkg() {
        let owner = Owner {
            manager: "homebrew".into(),
            package: Some("go".into()),
        };
        let lines = install_instead(
            &p("darwin", "arm64", Arch::Aarch64),
            Some(GoVersion::release(1, 22, 3)),
            Some(&owner),
        );
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("/opt/homebrew/bin/brew install go")),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"curl -fLO https://go.dev/dl/go1.22.3.darwin-arm64.pkg".to_string())
        );
        // A development tree has no archive of its own.
        let lines = install_instead(&p("linux", "arm64", Arch::Aarch64), None, None);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("goVERSION.linux-arm64.tar.gz"))
        );
    }
}
