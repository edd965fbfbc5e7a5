//! System Integrity Protection (SIP): the active configuration, from the
//! `csr_get_active_config` SPI (`bsd/sys/csr.h`, a bit set: 0 = fully enabled) or from the
//! text of `csrutil status`, which needs no privilege.
//!
//! `csrutil disable` sets `CSR_DISABLE_FLAGS` (bits 0–6, `bsd/sys/csr.h`), but the kernel
//! does not report all of them back: on Apple Silicon `csr_bootstrap` clears
//! `CSR_ALLOW_APPLE_INTERNAL` on every Mac that is not an Apple-internal unit, and
//! `csr_check` grants `CSR_ALLOW_KERNEL_DEBUGGER` whenever `CSR_ALLOW_UNTRUSTED_KEXTS` is set
//! (`bsd/kern/kern_csr.c`, xnu-11417.101.15), so a configuration without that bit is just as
//! open. SIP counts as disabled when every other bit of the set is on.
//!
//! gohang reads SIP only to say what it cannot do (dtruss, task ports of protected
//! processes). It never advises turning SIP off to fix a Go hang: no Go hang needs it.

/// `CSR_ALLOW_*` bits.
pub const CSR_ALLOW_UNTRUSTED_KEXTS: u32 = 1 << 0;
pub const CSR_ALLOW_UNRESTRICTED_FS: u32 = 1 << 1;
pub const CSR_ALLOW_TASK_FOR_PID: u32 = 1 << 2;
pub const CSR_ALLOW_KERNEL_DEBUGGER: u32 = 1 << 3;
pub const CSR_ALLOW_APPLE_INTERNAL: u32 = 1 << 4;
pub const CSR_ALLOW_UNRESTRICTED_DTRACE: u32 = 1 << 5;
pub const CSR_ALLOW_UNRESTRICTED_NVRAM: u32 = 1 << 6;

/// `CSR_DISABLE_FLAGS`: what `csrutil disable` sets.
pub const CSR_DISABLE_FLAGS: u32 = CSR_ALLOW_UNTRUSTED_KEXTS
    | CSR_ALLOW_UNRESTRICTED_FS
    | CSR_ALLOW_TASK_FOR_PID
    | CSR_ALLOW_KERNEL_DEBUGGER
    | CSR_ALLOW_APPLE_INTERNAL
    | CSR_ALLOW_UNRESTRICTED_DTRACE
    | CSR_ALLOW_UNRESTRICTED_NVRAM;
/// The part of `CSR_DISABLE_FLAGS` a disabled SIP always reports (see the module comment).
const DISABLED_REPORTS: u32 =
    CSR_DISABLE_FLAGS & !CSR_ALLOW_APPLE_INTERNAL & !CSR_ALLOW_KERNEL_DEBUGGER;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SipState {
    Enabled,
    Disabled,
    /// Some protections relaxed (`csrutil enable --without …`).
    Custom,
}

/// What SIP allows that matters to gohang.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sip {
    pub state: SipState,
    /// DTrace (and so dtruss) may trace any process.
    pub dtrace_allowed: bool,
    /// `task_for_pid` on protected processes is allowed ("Debugging Restrictions" off).
    pub task_for_pid_allowed: bool,
}

impl Sip {
    /// From `csr_get_active_config`'s bit set.
    pub fn from_config(config: u32) -> Sip {
        let state = if config == 0 {
            SipState::Enabled
        } else if config & DISABLED_REPORTS == DISABLED_REPORTS {
            SipState::Disabled
        } else {
            SipState::Custom
        };
        Sip {
            state,
            dtrace_allowed: config & CSR_ALLOW_UNRESTRICTED_DTRACE != 0,
            task_for_pid_allowed: config & CSR_ALLOW_TASK_FOR_PID != 0,
        }
    }

    /// A few words for a report: "enabled", "disabled", "custom (DTrace allowed)".
    pub fn describe(&self) -> String {
        match self.state {
            SipState::Enabled => "enabled".to_string(),
            SipState::Disabled => "disabled".to_string(),
            SipState::Custom => format!(
                "enabled with a custom configuration (DTrace {}, debugging {})",
                if self.dtrace_allowed {
                    "unrestricted"
                } else {
                    "restricted"
                },
                if self.task_for_pid_allowed {
                    "unrestricted"
                } else {
                    "restricted"
                }
            ),
        }
    }
}

/// Parse the output of `csrutil status`:
///
/// ```text
/// System Integrity Protection status: enabled.
/// System Integrity Protection status: disabled.
/// System Integrity Protection status: enabled (Custom Configuration).
/// System Integrity Protection status: unknown (Custom Configuration).
///
/// Configuration:
///     Debugging Restrictions: disabled
///     DTrace Restrictions: disabled
/// ```
pub fn parse_csrutil_status(text: &str) -> Option<Sip> {
    let status = text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("System Integrity Protection status:")
            .map(|s| s.trim().to_ascii_lowercase())
    })?;
    let restriction = |name: &str| -> Option<bool> {
        text.lines().find_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            (k.trim().eq_ignore_ascii_case(name)).then(|| {
                v.trim()
                    .trim_end_matches('.')
                    .eq_ignore_ascii_case("enabled")
            })
        })
    };
    if status.contains("custom") {
        // A restriction that is "disabled" allows the thing; a missing line keeps the default.
        return Some(Sip {
            state: SipState::Custom,
            dtrace_allowed: restriction("DTrace Restrictions") == Some(false),
            task_for_pid_allowed: restriction("Debugging Restrictions") == Some(false),
        });
    }
    if status.starts_with("enabled") {
        Some(Sip {
            state: SipState::Enabled,
            dtrace_allowed: false,
            task_for_pid_allowed: false,
        })
    } else if status.starts_with("disabled") {
        Some(Sip {
            state: SipState::Disabled,
            dtrace_allowed: true,
            task_for_pid_allowed: true,
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_states() {
        let e = parse_csrutil_status("System Integrity Protection status: enabled.\n").unwrap();
        assert_eq!(e.state, SipState::Enabled);
        assert!(!e.dtrace_allowed && !e.task_for_pid_allowed);
        let d = parse_csrutil_status("System Integrity Protection status: disabled.\n").unwrap();
        assert_eq!(d.state, SipState::Disabled);
        assert!(d.dtrace_allowed && d.task_for_pid_allowed);
        assert!(parse_csrutil_status("csrutil: command not found").is_none());
        assert!(parse_csrutil_status("").is_none());
    }

    #[test]
    fn custom_configurations() {
        let old = "System Integrity Protection status: enabled (Custom Configuration).\n\n\
Configuration:\n\tApple Internal: disabled\n\tKext Signing: enabled\n\tFilesystem Protections: enabled\n\
\tDebugging Restrictions: enabled\n\tDTrace Restrictions: disabled\n\tNVRAM Protections: enabled\n\
\tBaseSystem Verification: enabled\n\n\
This is an unsupported configuration, likely to break in the future and leave your machine in an unknown state.\n";
        let s = parse_csrutil_status(old).unwrap();
        assert_eq!(s.state, SipState::Custom);
        assert!(s.dtrace_allowed);
        assert!(!s.task_for_pid_allowed);

        let new = "System Integrity Protection status: unknown (Custom Configuration).\n\n\
Configuration:\n\tApple Internal: disabled\n\tKext Signing: disabled\n\tFilesystem Protections: disabled\n\
\tDebugging Restrictions: disabled\n\tDTrace Restrictions: disabled\n\tNVRAM Protections: disabled\n\
\tBaseSystem Verification: disabled\n\tBoot-arg Restrictions: disabled\n\tKernel Integrity Protections: disabled\n\
\tAuthenticated Root Requirement: enabled\n";
        let s = parse_csrutil_status(new).unwrap();
        assert_eq!(s.state, SipState::Custom);
        assert!(s.dtrace_allowed && s.task_for_pid_allowed);
    }

    #[test]
    fn config_bits() {
        assert_eq!(Sip::from_config(0).state, SipState::Enabled);
        let s = Sip::from_config(CSR_ALLOW_UNRESTRICTED_DTRACE);
        assert_eq!(s.state, SipState::Custom);
        assert!(s.dtrace_allowed && !s.task_for_pid_allowed);
        assert!(s.describe().contains("DTrace unrestricted"));
        assert!(Sip::from_config(CSR_ALLOW_TASK_FOR_PID).task_for_pid_allowed);
    }

    #[test]
    fn csrutil_disable_is_disabled_not_custom() {
        // All of CSR_DISABLE_FLAGS (0x7f), as csr.h defines it.
        let all = Sip::from_config(CSR_DISABLE_FLAGS);
        assert_eq!(CSR_DISABLE_FLAGS, 0x7f);
        assert_eq!(all.state, SipState::Disabled);
        assert!(all.dtrace_allowed && all.task_for_pid_allowed);
        assert_eq!(all.describe(), "disabled");
        // Apple Silicon: the kernel clears CSR_ALLOW_APPLE_INTERNAL (0x6f).
        let arm = Sip::from_config(CSR_DISABLE_FLAGS & !CSR_ALLOW_APPLE_INTERNAL);
        assert_eq!(arm.state, SipState::Disabled);
        // Without the kernel-debugger bit, which csr_check implies (0x67).
        let old = CSR_DISABLE_FLAGS & !CSR_ALLOW_APPLE_INTERNAL & !CSR_ALLOW_KERNEL_DEBUGGER;
        assert_eq!(Sip::from_config(old).state, SipState::Disabled);
        // With more bits on top (unauthenticated root, 1 << 11): still disabled.
        assert_eq!(Sip::from_config(0x6f | 1 << 11).state, SipState::Disabled);
        // One protection of the set still on: a custom configuration.
        let fs_on = Sip::from_config(CSR_DISABLE_FLAGS & !CSR_ALLOW_UNRESTRICTED_FS);
        assert_eq!(fs_on.state, SipState::Custom);
        assert!(
            fs_on
                .describe()
                .starts_with("enabled with a custom configuration")
        );
        let debug_on = Sip::from_config(CSR_DISABLE_FLAGS & !CSR_ALLOW_TASK_FOR_PID);
        assert_eq!(debug_on.state, SipState::Custom);
        assert!(!debug_on.task_for_pid_allowed);
    }

    // ---- Real `csrutil status` output quoted from public reports.

    /// drduh/macOS-Security-and-Privacy-Guide#172
    /// (https://github.com/drduh/macOS-Security-and-Privacy-Guide/issues/172).
    #[test]
    fn real_output_enabled() {
        let s = parse_csrutil_status("System Integrity Protection status: enabled.").unwrap();
        assert_eq!(s.state, SipState::Enabled);
        assert!(!s.dtrace_allowed && !s.task_for_pid_allowed);
    }

    /// lionheart/openradar-mirror#5820 (https://github.com/lionheart/openradar-mirror/issues/5820):
    /// OS X 10.11 says "enabled (Custom Configuration)" with every protection off.
    #[test]
    fn real_output_radar_22361698_enabled_but_all_off() {
        let text = "\
System Integrity Protection status: enabled (Custom Configuration).

Configuration:
    Apple Internal: disabled
    Kext Signing: disabled
    Filesystem Protections: disabled
    Debugging Restrictions: disabled
    DTrace Restrictions: disabled
    NVRAM Protections: disabled

This is an unsupported configuration, likely to break in the future and leave your machine in an unknown state.
";
        let s = parse_csrutil_status(text).unwrap();
        assert_eq!(s.state, SipState::Custom);
        assert!(s.dtrace_allowed && s.task_for_pid_allowed);
    }

    /// asmvik/yabai#1800 (https://github.com/asmvik/yabai/issues/1800): macOS 12 on Apple
    /// Silicon, debugging relaxed, DTrace still restricted (tab-indented, as printed).
    #[test]
    fn real_output_yabai_1800_debugging_only() {
        let text = "\
System Integrity Protection status: unknown (Custom Configuration).

Configuration:
\tApple Internal: disabled
\tKext Signing: enabled
\tFilesystem Protections: disabled
\tDebugging Restrictions: disabled
\tDTrace Restrictions: enabled
\tNVRAM Protections: disabled
\tBaseSystem Verification: enabled
\tBoot-arg Restrictions: disabled
\tKernel Integrity Protections: disabled
\tAuthenticated Root Requirement: enabled

This is an unsupported configuration, likely to break in the future and leave your machine in an unknown state.
";
        let s = parse_csrutil_status(text).unwrap();
        assert_eq!(s.state, SipState::Custom);
        assert!(s.task_for_pid_allowed);
        assert!(!s.dtrace_allowed);
    }

    /// foxlet/macOS-Simple-KVM#363 (https://github.com/foxlet/macOS-Simple-KVM/issues/363):
    /// custom, but both restrictions that matter to gohang still on.
    #[test]
    fn real_output_simple_kvm_363_restrictions_on() {
        let text = "\
System Integrity Protection status: unknown (Custom Configuration).

Configuration:
\tApple Internal: disabled
\tKext Signing: disabled
\tFilesystem Protections: disabled
\tDebugging Restrictions: enabled
\tDTrace Restrictions: enabled
\tNVRAM Protections: enabled
\tBaseSystem Verification: enabled

This is an unsupported configuration, likely to break in the future and leave your machine in an unknown state.
";
        let s = parse_csrutil_status(text).unwrap();
        assert_eq!(s.state, SipState::Custom);
        assert!(!s.task_for_pid_allowed && !s.dtrace_allowed);
    }
}
