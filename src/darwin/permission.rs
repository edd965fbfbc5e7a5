//! Who may look at what on macOS, and the one-line messages that name what is missing.
//!
//! - libproc's per-process flavors (threads, file descriptors, task info) and
//!   `KERN_PROCARGS2` need the caller's effective uid to equal the target's, or root
//!   (xnu `proc_security_policy`); `sysctl KERN_PROC_PID`, `proc_pidpath` and
//!   `proc_listchildpids` work for any pid. So the user's own processes need no root.
//! - A task port (`task_for_pid`, and the tools built on it: `/usr/bin/sample`, debuggers)
//!   additionally fails for Apple platform binaries while System Integrity Protection is on,
//!   and for hardened-runtime programs without `com.apple.security.get-task-allow` (AMFI),
//!   even for root.
//! - dtruss needs root and DTrace not restricted by SIP.
//!
//! The remedy named is always the least one: `sudo`, or using what libproc gives. Turning
//! SIP off is never offered: no Go hang needs it, and it weakens the whole machine.

use super::codesign::{CS_GET_TASK_ALLOW, CS_PLATFORM_BINARY, CS_RUNTIME};
use super::csr::Sip;

/// libproc refused information about `pid` (EPERM).
pub fn libproc_denied(pid: u32, target_uid: Option<u32>, my_euid: u32) -> String {
    if my_euid == 0 {
        return format!(
            "pid {pid}: macOS refused process information even to root (a sandbox or MAC policy \
             applies to gohang); run gohang from an ordinary Terminal session"
        );
    }
    match target_uid {
        Some(u) if u != my_euid => format!(
            "pid {pid} belongs to uid {u}, not to you (uid {my_euid}): run gohang with sudo to read \
             its threads, sockets and arguments"
        ),
        _ => format!("pid {pid}: permission denied reading its threads: run gohang with sudo"),
    }
}

/// Why no task port can be had for a process with these code-signing status flags
/// (`csops CS_OPS_STATUS`), whoever asks; None when its signature does not forbid it.
pub fn signature_forbids_task_port(cs_flags: u32, sip: Option<&Sip>) -> Option<String> {
    let sip_allows = sip.is_some_and(|s| s.task_for_pid_allowed);
    if cs_flags & CS_PLATFORM_BINARY != 0 && !sip_allows {
        return Some(
            "it is an Apple platform binary, protected by System Integrity Protection".to_string(),
        );
    }
    if cs_flags & CS_RUNTIME != 0 && cs_flags & CS_GET_TASK_ALLOW == 0 && !sip_allows {
        return Some(
            "it is signed with the hardened runtime and without the \
             com.apple.security.get-task-allow entitlement"
                .to_string(),
        );
    }
    None
}

/// May gohang (effective uid `euid`) take the task port of a process with these
/// code-signing flags? `task_for_pid` is attempted only as root: for anyone else the
/// kernel asks taskgated, which can block or put up an authorization dialog.
pub fn task_port(euid: u32, cs_flags: Option<u32>, sip: Option<&Sip>) -> Result<(), String> {
    if euid != 0 {
        return Err(
            "thread suspend counts need the task port, which needs root (sudo); thread states \
             come from libproc without it"
                .to_string(),
        );
    }
    match cs_flags.and_then(|f| signature_forbids_task_port(f, sip)) {
        Some(why) => Err(format!(
            "no task port: {why}; thread states come from libproc instead"
        )),
        None => Ok(()),
    }
}

/// Why `/usr/bin/sample` could not read pid's stacks, in one line. `sample` says little
/// about why it failed, so the cause is only ever "likely": the signature or owner that
/// would make `task_for_pid` refuse it.
pub fn native_stacks_denied(
    pid: u32,
    cs_flags: Option<u32>,
    sip: Option<&Sip>,
    target_uid: Option<u32>,
    my_euid: u32,
) -> String {
    if let Some(why) = cs_flags.and_then(|f| signature_forbids_task_port(f, sip)) {
        return format!(
            "/usr/bin/sample could not read pid {pid}, likely because {why}; its thread \
             states and sockets are still shown"
        );
    }
    match target_uid {
        Some(u) if my_euid != 0 && u != my_euid => format!(
            "/usr/bin/sample could not read pid {pid}, likely because it belongs to uid {u} \
             (run gohang with sudo)"
        ),
        _ => format!("/usr/bin/sample could not read pid {pid}"),
    }
}

/// `kern_return_t` values `task_for_pid` returns (`mach/kern_return.h`).
pub const KERN_SUCCESS: i32 = 0;
pub const KERN_PROTECTION_FAILURE: i32 = 2;
pub const KERN_FAILURE: i32 = 5;
pub const KERN_ABORTED: i32 = 14;

/// What a `task_for_pid` answer means (xnu `bsd/kern/kern_proc.c` `task_for_pid`):
/// Ok only for a real port. `described` is Mach's own text for `kr`.
pub fn task_for_pid_result(kr: i32, port_is_null: bool, described: &str) -> Result<(), String> {
    match kr {
        KERN_SUCCESS if port_is_null => Err(
            "task_for_pid gave no port (the process has no task yet or any more: it is being \
             created or is exiting)"
                .to_string(),
        ),
        KERN_SUCCESS => Ok(()),
        KERN_FAILURE => Err(format!(
            "task_for_pid refused ({described}): no such process, not allowed by its owner or \
             signature (AMFI, System Integrity Protection), or the process is exiting"
        )),
        KERN_PROTECTION_FAILURE => Err(format!(
            "task_for_pid refused ({described}): the process's task access server (taskgated) \
             is gone"
        )),
        KERN_ABORTED => Err(format!(
            "task_for_pid was interrupted while taskgated decided ({described})"
        )),
        _ => Err(format!("task_for_pid failed: {described}")),
    }
}

/// Can dtruss trace here, and if not, why not.
pub fn dtruss(euid: u32, sip: Option<&Sip>, dtruss_present: bool) -> Result<(), String> {
    if !dtruss_present {
        return Err("dtruss is not installed (/usr/bin/dtruss is missing)".to_string());
    }
    if euid != 0 {
        return Err("dtruss needs root: run gohang with sudo to trace system calls".to_string());
    }
    match sip {
        Some(s) if s.dtrace_allowed => Ok(()),
        Some(s) => Err(format!(
            "System Integrity Protection ({}) restricts DTrace, so dtruss cannot trace system \
             calls here; gohang samples native stacks with /usr/bin/sample instead",
            s.describe()
        )),
        None => Err(
            "the System Integrity Protection status is unknown, so dtruss may not work; gohang \
             samples native stacks with /usr/bin/sample instead"
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::codesign::{CS_ADHOC, CS_VALID};
    use super::super::csr::{CSR_ALLOW_TASK_FOR_PID, CSR_ALLOW_UNRESTRICTED_DTRACE, Sip};
    use super::*;

    fn all_messages() -> Vec<String> {
        let on = Sip::from_config(0);
        let mut v = vec![
            libproc_denied(1, Some(0), 501),
            libproc_denied(1, None, 501),
            libproc_denied(1, Some(501), 0),
            native_stacks_denied(1, Some(CS_PLATFORM_BINARY), Some(&on), Some(0), 0),
            native_stacks_denied(1, Some(CS_RUNTIME), Some(&on), Some(501), 501),
            native_stacks_denied(1, None, None, Some(0), 501),
            native_stacks_denied(1, None, None, None, 0),
        ];
        v.extend(task_port(501, None, None).err());
        v.extend(task_port(0, Some(CS_PLATFORM_BINARY), Some(&on)).err());
        v.extend(task_port(0, Some(CS_RUNTIME), Some(&on)).err());
        v.extend(dtruss(0, Some(&on), true).err());
        v.extend(dtruss(501, Some(&on), true).err());
        v.extend(dtruss(0, None, true).err());
        v.extend(dtruss(0, None, false).err());
        v
    }

    #[test]
    fn never_advise_disabling_sip() {
        for m in all_messages() {
            let l = m.to_ascii_lowercase();
            assert!(!l.contains("csrutil"), "{m}");
            assert!(!l.contains("disable"), "{m}");
            assert!(!m.contains('\n'), "one line: {m}");
        }
    }

    #[test]
    fn task_port_decisions() {
        let on = Sip::from_config(0);
        assert!(task_port(501, Some(CS_VALID), Some(&on)).is_err());
        assert!(task_port(0, Some(CS_VALID | CS_ADHOC), Some(&on)).is_ok());
        assert!(task_port(0, None, None).is_ok());
        let hardened = task_port(0, Some(CS_VALID | CS_RUNTIME), Some(&on)).unwrap_err();
        assert!(hardened.contains("get-task-allow"));
        assert!(task_port(0, Some(CS_RUNTIME | CS_GET_TASK_ALLOW), Some(&on)).is_ok());
        let platform = task_port(0, Some(CS_PLATFORM_BINARY), Some(&on)).unwrap_err();
        assert!(platform.contains("System Integrity Protection"));
        // Debugging restrictions relaxed by the owner: protected processes open to root.
        let relaxed = Sip::from_config(CSR_ALLOW_TASK_FOR_PID);
        assert!(task_port(0, Some(CS_PLATFORM_BINARY), Some(&relaxed)).is_ok());
    }

    #[test]
    fn dtruss_decisions() {
        let dtrace = Sip::from_config(CSR_ALLOW_UNRESTRICTED_DTRACE);
        assert!(dtruss(0, Some(&dtrace), true).is_ok());
        assert!(
            dtruss(501, Some(&dtrace), true)
                .unwrap_err()
                .contains("root")
        );
        assert!(
            dtruss(0, Some(&Sip::from_config(0)), true)
                .unwrap_err()
                .contains("restricts DTrace")
        );
        assert!(dtruss(0, Some(&dtrace), false).is_err());
    }

    #[test]
    fn wording_names_the_need() {
        assert!(libproc_denied(7, Some(0), 501).contains("sudo"));
        assert!(libproc_denied(7, Some(0), 0).contains("root"));
        assert!(native_stacks_denied(7, None, None, Some(0), 501).contains("sudo"));
    }

    #[test]
    fn sample_failures_name_a_likely_cause_never_a_certain_one() {
        let on = Sip::from_config(0);
        for m in [
            native_stacks_denied(7, Some(CS_PLATFORM_BINARY), Some(&on), Some(0), 0),
            native_stacks_denied(7, Some(CS_RUNTIME), Some(&on), Some(501), 501),
            native_stacks_denied(7, None, None, Some(0), 501),
        ] {
            assert!(m.contains("likely because"), "{m}");
            assert!(!m.contains("are unavailable"), "{m}");
        }
        // Nothing known: no cause is named at all.
        let m = native_stacks_denied(7, None, None, Some(501), 501);
        assert_eq!(m, "/usr/bin/sample could not read pid 7");
    }

    #[test]
    fn every_task_for_pid_answer_is_told_apart() {
        assert!(task_for_pid_result(KERN_SUCCESS, false, "(os/kern) successful").is_ok());
        let null = task_for_pid_result(KERN_SUCCESS, true, "(os/kern) successful").unwrap_err();
        assert!(null.contains("no port"), "{null}");
        let texts = [
            null,
            task_for_pid_result(KERN_FAILURE, true, "(os/kern) failure").unwrap_err(),
            task_for_pid_result(
                KERN_PROTECTION_FAILURE,
                true,
                "(os/kern) protection failure",
            )
            .unwrap_err(),
            task_for_pid_result(KERN_ABORTED, true, "(os/kern) aborted").unwrap_err(),
            task_for_pid_result(37, true, "(os/kern) terminated").unwrap_err(),
        ];
        for (i, a) in texts.iter().enumerate() {
            assert!(!a.contains('\n'), "{a}");
            for b in &texts[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert!(texts[2].contains("taskgated"));
        assert!(texts[3].contains("interrupted"));
    }
}
