//! Is Rosetta 2 installed? `host_info()` must be fast, so it does not run x86_64 code
//! (the reliable test, `arch -x86_64 /usr/bin/true`, starts a translated process); it
//! looks for Rosetta's files instead.
//!
//! Caveat: a file test can be wrong both ways. NixOS/nix#7168 found
//! `com.apple.oahd.plist` present without a working Rosetta, which is why that file is not
//! used here; Rosetta's runtime files could likewise survive a broken install. A command
//! that fails with EBADARCH (86) is the definitive proof that it is missing.

use crate::evidence::Arch;

/// Files Rosetta 2 installs (`softwareupdate --install-rosetta`): the translator and its
/// runtime library (eclecticlight, "Explainer: Rosetta 2").
pub const ROSETTA_FILES: [&str; 2] = [
    "/Library/Apple/usr/share/rosetta/rosetta",
    "/Library/Apple/usr/libexec/oah/libRosettaRuntime",
];

/// Whether Rosetta 2 looks installed on a Mac with this hardware; None where the question
/// does not arise (Intel Macs run x86_64 natively).
pub fn installed(hardware: &Arch, exists: impl Fn(&str) -> bool) -> Option<bool> {
    match hardware {
        Arch::Aarch64 | Arch::Arm64e => Some(ROSETTA_FILES.iter().any(|f| exists(f))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heuristics() {
        assert_eq!(installed(&Arch::X86_64, |_| true), None);
        assert_eq!(installed(&Arch::Aarch64, |_| false), Some(false));
        assert_eq!(
            installed(&Arch::Aarch64, |p| p.ends_with("libRosettaRuntime")),
            Some(true)
        );
        assert_eq!(
            installed(&Arch::Arm64e, |p| p.ends_with("/rosetta")),
            Some(true)
        );
    }
}
