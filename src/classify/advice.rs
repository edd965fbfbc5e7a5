//! When gohang cannot rebuild: the native install to do instead, as commands to paste.
//!
//! The package manager that owns the tree comes first (installing the native package is
//! what fixes it for good), then the official archive for the hardware architecture.

use crate::evidence::guard::Owner;
use crate::evidence::toolchain::Platform;
use crate::evidence::{Arch, HostInfo};
use crate::gover::GoVersion;
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

/// Where a Mac with Apple silicon gets a native (arm64) Go: every fix that says so prints
/// this one text. An x86_64 Homebrew lives in /usr/local and runs under Rosetta, so the arm64
/// one is named by its place.
pub const MAC_ARM64_GO: &str = "the darwin-arm64 archive from go.dev/dl, or `brew install go` from an arm64 Homebrew in /opt/homebrew";

/// Paste-ready lines (comments start with `#`) that install a Go native to `host`.
pub fn install_instead(
    host: &HostInfo,
    version: Option<GoVersion>,
    owner: Option<&Owner>,
) -> Vec<String> {
    let native = &Platform::native(host);
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
                if host.arm64_homebrew == Some(true) {
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
            // A toolchain's module version names its platform (v0.0.1-go1.23.5.linux-amd64,
            // cmd/go/internal/toolchain/select.go), so a native go downloads its own beside
            // this one: nothing needs deleting, and `go clean -modcache` would delete every
            // cached module.
            out.push("# a foreign go downloaded this toolchain for its own architecture: fix that go (below); \
                 the native one downloads its own toolchain when needed, and nothing needs deleting".into());
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
        let pkg = format!("{v}.darwin-{arch}.pkg");
        out.push(format!(
            "curl -fLO https://go.dev/dl/{pkg} && sudo installer -pkg {pkg} -target /"
        ));
    } else {
        out.push(fresh_archive_install(
            Path::new("/usr/local/go"),
            &v,
            file_os,
            arch,
            true,
        ));
        out.push("export PATH=/usr/local/go/bin:$PATH".into());
    }
    out
}

/// The official archive of release `v` (`go1.23.5`) for a platform, as go.dev/dl names
/// it: `go1.23.5.linux-amd64.tar.gz`; 32-bit ARM archives are `armv6l`.
pub fn archive_name(v: &str, goos: &str, goarch: &str) -> String {
    let arch = if goarch == "arm" { "armv6l" } else { goarch };
    format!("{v}.{goos}-{arch}.tar.gz")
}

/// One shell line that unpacks the official archive of release `v` into a new directory
/// `dir`: `mkdir` refuses one that exists, so nothing there is overwritten, and nothing is
/// removed. go.dev/doc/install: never unpack an archive over an existing tree.
pub fn fresh_archive_install(dir: &Path, v: &str, goos: &str, goarch: &str, sudo: bool) -> String {
    let file = archive_name(v, goos, goarch);
    let d = crate::shell::quote_path(dir);
    let su = if sudo { "sudo " } else { "" };
    format!(
        "curl -fLO https://go.dev/dl/{file} && {su}mkdir {d} && \
         {su}tar -C {d} --strip-components=1 -xzf {file}    # mkdir stops it if {d} exists: \
         find out what that is before you replace it"
    )
}

/// One shell line that replaces the Go tree `tree` by the official archive of release
/// `v`, each step only if the one before it worked: download it (`curl -f` fails on an
/// HTTP error), unpack it into `DIR.new` (`mkdir` refuses one left from an earlier try),
/// and only then remove the old tree and move the new one in. Pasted as it is, a failed
/// download or unpacking leaves the old tree untouched. go.dev/doc/install: never unpack
/// an archive over an existing tree. Only a tree `guard` verified can be named.
pub fn replace_with_archive(
    tree: &crate::evidence::guard::VerifiedTree,
    v: &str,
    goos: &str,
    goarch: &str,
    sudo: bool,
) -> String {
    let dir = tree.path();
    let file = archive_name(v, goos, goarch);
    let d = crate::shell::quote_path(dir);
    let new = crate::shell::quote_path(Path::new(&format!("{}.new", dir.display())));
    let su = if sudo { "sudo " } else { "" };
    format!(
        "curl -fLO https://go.dev/dl/{file} && {su}mkdir {new} && \
         {su}tar -C {new} --strip-components=1 -xzf {file} && {su}rm -rf {d} && {su}mv {new} {d}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::evidence::Os;

    fn host(os: Os, hw: Arch) -> HostInfo {
        HostInfo::plain(os, hw, 1)
    }

    #[test]
    fn debian_gets_the_native_package_then_the_archive() {
        let owner = Owner {
            manager: "dpkg".into(),
            package: Some("golang-1.23-go:arm64".into()),
        };
        let v = Some(GoVersion::release(1, 23, 5));
        let lines = install_instead(&host(Os::Linux, Arch::X86_64), v, Some(&owner));
        assert!(
            lines.contains(&"sudo apt install golang-1.23-go:amd64".to_string()),
            "{lines:?}"
        );
        let install = lines
            .iter()
            .find(|l| l.starts_with("curl -fLO https://go.dev/dl/go1.23.5.linux-amd64.tar.gz && "))
            .unwrap_or_else(|| panic!("no download line in {lines:?}"));
        // A fresh install removes nothing: mkdir refuses an existing directory.
        assert!(
            !install.contains("rm ") && !install.contains("mv "),
            "{install}"
        );
        assert!(
            install.contains("sudo mkdir /usr/local/go && "),
            "{install}"
        );
    }

    #[test]
    fn apple_silicon_homebrew_and_pkg() {
        let owner = Owner {
            manager: "homebrew".into(),
            package: Some("go".into()),
        };
        let mut mac = host(Os::Macos, Arch::Aarch64);
        let lines = install_instead(&mac, Some(GoVersion::release(1, 22, 3)), Some(&owner));
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("/opt/homebrew/bin/brew install go")),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"curl -fLO https://go.dev/dl/go1.22.3.darwin-arm64.pkg && sudo installer -pkg go1.22.3.darwin-arm64.pkg -target /".to_string()),
            "{lines:?}"
        );
        // Whether the arm64 Homebrew is there is the evidence's to say, not this machine's.
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("# install Homebrew from a native")),
            "{lines:?}"
        );
        mac.arm64_homebrew = Some(true);
        let lines = install_instead(&mac, None, Some(&owner));
        assert!(
            lines.contains(&"arch -arm64 /opt/homebrew/bin/brew install go".to_string()),
            "{lines:?}"
        );
        assert!(!lines.iter().any(|l| l.starts_with("# install Homebrew")));
        // A development tree has no archive of its own.
        let lines = install_instead(&host(Os::Linux, Arch::Aarch64), None, None);
        assert!(
            lines
                .iter()
                .any(|l| l.contains("goVERSION.linux-arm64.tar.gz"))
        );
    }

    #[test]
    fn replacing_a_tree_removes_nothing_until_the_new_one_is_unpacked() {
        assert_eq!(
            archive_name("go1.23.5", "linux", "arm"),
            "go1.23.5.linux-armv6l.tar.gz"
        );
        let d = tempfile::tempdir().unwrap();
        let g = d.path().join("my go");
        for sub in ["bin", "src/runtime", "pkg/tool"] {
            std::fs::create_dir_all(g.join(sub)).unwrap();
        }
        std::fs::write(g.join("bin/go"), "").unwrap();
        let crate::guard::TreeJudgement::Replaceable(tree) =
            crate::guard::TreeFacts::read(&g, None, None).judge()
        else {
            panic!("a Go tree in a temporary directory is replaceable");
        };
        let real = std::fs::canonicalize(&g).unwrap().display().to_string();
        let line = replace_with_archive(&tree, "go1.23.5", "linux", "arm64", false);
        assert_eq!(
            line,
            format!(
                "curl -fLO https://go.dev/dl/go1.23.5.linux-arm64.tar.gz && mkdir '{real}.new' && \
                 tar -C '{real}.new' --strip-components=1 -xzf go1.23.5.linux-arm64.tar.gz && \
                 rm -rf '{real}' && mv '{real}.new' '{real}'"
            )
        );
    }
}
