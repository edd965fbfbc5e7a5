//! Code-signature facts, from the kernel (`csops(pid, CS_OPS_STATUS)`, any pid, no
//! privilege) or from the text `codesign -dv` / `codesign -d --entitlements -` print.
//!
//! They decide whether a task port (and so `/usr/bin/sample`, a debugger, dtruss) can reach
//! a process: Apple's platform binaries and hardened-runtime programs without the
//! `com.apple.security.get-task-allow` entitlement are closed even to root
//! (`osfmk/kern/cs_blobs.h`; Apple's "Hardened Runtime" documentation). Official Go
//! toolchains are Developer-ID signed without the hardened runtime (golang/go#34986); what
//! `go build` links on arm64 carries an ad-hoc linker signature.

/// `csops` operation returning the status flags.
pub const CS_OPS_STATUS: u32 = 0;
/// Status flags (`osfmk/kern/cs_blobs.h`).
pub const CS_VALID: u32 = 0x0000_0001;
pub const CS_ADHOC: u32 = 0x0000_0002;
pub const CS_GET_TASK_ALLOW: u32 = 0x0000_0004;
pub const CS_HARD: u32 = 0x0000_0100;
pub const CS_KILL: u32 = 0x0000_0200;
pub const CS_RESTRICT: u32 = 0x0000_0800;
pub const CS_RUNTIME: u32 = 0x0001_0000;
pub const CS_LINKER_SIGNED: u32 = 0x0002_0000;
pub const CS_PLATFORM_BINARY: u32 = 0x0400_0000;

/// What `codesign -dv` says about a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeSignature {
    pub signed: bool,
    pub identifier: Option<String>,
    /// `Mach-O thin (arm64)`, `Mach-O universal (x86_64 arm64)`.
    pub format: Option<String>,
    /// The CodeDirectory flags (`CS_*` bits) and their names as printed.
    pub flags: u32,
    pub flag_names: Vec<String>,
    pub adhoc: bool,
    pub authorities: Vec<String>,
    pub team_id: Option<String>,
}

impl CodeSignature {
    pub fn hardened_runtime(&self) -> bool {
        self.flags & CS_RUNTIME != 0 || self.flag_names.iter().any(|n| n == "runtime")
    }
}

/// Parse `codesign -dv [--verbose=N] PATH` (it prints on stderr).
pub fn parse_codesign_dv(text: &str) -> CodeSignature {
    let mut sig = CodeSignature::default();
    if text.contains("code object is not signed at all") {
        return sig;
    }
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "Identifier" => {
                sig.signed = true;
                sig.identifier = Some(value.to_string());
            }
            "Format" => sig.format = Some(value.to_string()),
            "CodeDirectory v" => {
                sig.signed = true;
                // `20400 size=… flags=0x20002(adhoc,linker-signed) hashes=…`
                if let Some(f) = value
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("flags="))
                {
                    let (hex, names) = f.split_once('(').unwrap_or((f, ""));
                    sig.flags = u32::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap_or(0);
                    sig.flag_names = names
                        .trim_end_matches(')')
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty() && s != "none")
                        .collect();
                }
            }
            "Signature" if value == "adhoc" => sig.adhoc = true,
            "Authority" => sig.authorities.push(value.to_string()),
            "TeamIdentifier" if value != "not set" => sig.team_id = Some(value.to_string()),
            _ => {}
        }
    }
    sig.adhoc |= sig.flags & CS_ADHOC != 0 || sig.flag_names.iter().any(|n| n == "adhoc");
    sig
}

/// Whether the entitlements printed by `codesign -d --entitlements - PATH` grant
/// `com.apple.security.get-task-allow` (XML plist or the newer bracketed dump).
pub fn get_task_allow(entitlements: &str) -> bool {
    const KEY: &str = "com.apple.security.get-task-allow";
    let Some(i) = entitlements.find(KEY) else {
        return false;
    };
    let rest = &entitlements[i + KEY.len()..];
    // The value follows the key; stop at the next key.
    let next_key = ["<key>", "[Key]"]
        .iter()
        .filter_map(|k| rest.find(k))
        .min()
        .unwrap_or(rest.len());
    let value = &rest[..next_key];
    value.contains("<true/>") || value.contains("[Bool] true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_go_toolchain() {
        let text = "Executable=/usr/local/go/bin/go\nIdentifier=go\nFormat=Mach-O thin (x86_64)\n\
CodeDirectory v=20400 size=123456 flags=0x0(none) hashes=3852+2 location=embedded\n\
Signature size=9000\nAuthority=Developer ID Application: Google LLC (EQHXZ8M8AV)\n\
Authority=Developer ID Certification Authority\nAuthority=Apple Root CA\n\
Timestamp=Feb 4, 2025 at 18:11:02\nInfo.plist=not bound\nTeamIdentifier=EQHXZ8M8AV\n\
Sealed Resources=none\nInternal requirements count=1 size=168\n";
        let s = parse_codesign_dv(text);
        assert!(s.signed);
        assert_eq!(s.identifier.as_deref(), Some("go"));
        assert_eq!(s.format.as_deref(), Some("Mach-O thin (x86_64)"));
        assert_eq!(s.flags, 0);
        assert!(s.flag_names.is_empty());
        assert!(!s.hardened_runtime() && !s.adhoc);
        assert_eq!(s.authorities.len(), 3);
        assert_eq!(s.team_id.as_deref(), Some("EQHXZ8M8AV"));
    }

    #[test]
    fn go_built_binary_and_hardened_app() {
        let adhoc = "Executable=/tmp/hello\nIdentifier=a.out\nFormat=Mach-O thin (arm64)\n\
CodeDirectory v=20400 size=1234 flags=0x20002(adhoc,linker-signed) hashes=33+0 location=embedded\n\
Signature=adhoc\nInfo.plist=not bound\nTeamIdentifier=not set\nSealed Resources=none\n";
        let s = parse_codesign_dv(adhoc);
        assert!(s.signed && s.adhoc);
        assert_eq!(s.flags, CS_ADHOC | CS_LINKER_SIGNED);
        assert_eq!(s.flag_names, vec!["adhoc", "linker-signed"]);
        assert_eq!(s.team_id, None);

        let hardened = "Identifier=com.example.tool\n\
CodeDirectory v=20500 size=999 flags=0x10000(runtime) hashes=20+7 location=embedded\n\
Runtime Version=14.2.0\n";
        assert!(parse_codesign_dv(hardened).hardened_runtime());

        let unsigned = parse_codesign_dv("/tmp/x: code object is not signed at all\n");
        assert!(!unsigned.signed);
    }

    #[test]
    fn entitlements_both_formats() {
        let xml = "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict>\
<key>com.apple.security.cs.allow-jit</key><true/>\
<key>com.apple.security.get-task-allow</key><true/></dict></plist>";
        assert!(get_task_allow(xml));
        let xml_false = "<dict><key>com.apple.security.get-task-allow</key><false/>\
<key>com.apple.security.cs.allow-jit</key><true/></dict>";
        assert!(!get_task_allow(xml_false));
        let bracketed = "Executable=/x\n[Dict]\n\t[Key] com.apple.security.get-task-allow\n\t[Value]\n\t\t[Bool] true\n";
        assert!(get_task_allow(bracketed));
        assert!(!get_task_allow(""));
    }

    // ---- Real `codesign` output quoted from public reports.

    /// ocaml/dune#5650 (https://github.com/ocaml/dune/issues/5650): a program an arm64
    /// linker signed ad hoc, as the Go linker signs darwin/arm64 binaries.
    const DUNE_5650: &str = "\
Executable=/Users/thomas/git/cohttp/foo
Identifier=foo
Format=Mach-O thin (arm64)
CodeDirectory v=20400 size=3324 flags=0x20002(adhoc,linker-signed) hashes=101+0 location=embedded
VersionPlatform=1
VersionMin=786432
VersionSDK=787200
Hash type=sha256 size=32
CandidateCDHash sha256=9ac8f2b102c6f2b8dafc777574099063f0e209f9
CandidateCDHashFull sha256=9ac8f2b102c6f2b8dafc777574099063f0e209f97f21d7afe4986451a0c30ab3
Hash choices=sha256
CMSDigest=9ac8f2b102c6f2b8dafc777574099063f0e209f97f21d7afe4986451a0c30ab3
CMSDigestType=2
Executable Segment base=0
Executable Segment limit=196608
Executable Segment flags=0x1
Page size=4096
CDHash=9ac8f2b102c6f2b8dafc777574099063f0e209f9
Signature=adhoc
Info.plist=not bound
TeamIdentifier=not set
Sealed Resources=none
Internal requirements=none
";

    #[test]
    fn real_output_dune_5650_linker_signed_adhoc() {
        let s = parse_codesign_dv(DUNE_5650);
        assert!(s.signed && s.adhoc);
        assert_eq!(s.identifier.as_deref(), Some("foo"));
        assert_eq!(s.format.as_deref(), Some("Mach-O thin (arm64)"));
        assert_eq!(s.flags, CS_ADHOC | CS_LINKER_SIGNED);
        assert_eq!(s.flag_names, ["adhoc", "linker-signed"]);
        assert!(!s.hardened_runtime());
        assert_eq!(s.team_id, None);
        assert!(s.authorities.is_empty());
    }

    /// real-world-systems.com's codesign page
    /// (https://real-world-systems.com/docs/codesign.1.html): `codesign --display
    /// --verbose --verbose $PPID` of /usr/bin/login, an Apple platform binary (the
    /// CodeDirectory line wrapped as the page prints it, without its trailing blank).
    const LOGIN_PLATFORM: &str = "\
Executable=/usr/bin/login
Identifier=com.apple.login
Format=Mach-O thin (arm64e)
CodeDirectory v=20400 size=776 flags=0x0(none)
              hashes=14+7 location=embedded
Platform identifier=15
Signature size=4442
Authority=Software Signing
Authority=Apple Code Signing Certification Authority
Authority=Apple Root CA
Signed Time=Feb 10, 2024 at 03:42:04
Info.plist=not bound
TeamIdentifier=not set
Sealed Resources=none
";

    #[test]
    fn real_output_login_apple_signed() {
        let s = parse_codesign_dv(LOGIN_PLATFORM);
        assert!(s.signed && !s.adhoc);
        assert_eq!(s.identifier.as_deref(), Some("com.apple.login"));
        assert_eq!(s.format.as_deref(), Some("Mach-O thin (arm64e)"));
        assert_eq!(s.flags, 0);
        assert!(s.flag_names.is_empty());
        assert_eq!(
            s.authorities,
            [
                "Software Signing",
                "Apple Code Signing Certification Authority",
                "Apple Root CA"
            ]
        );
    }
}
