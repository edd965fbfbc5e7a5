//! `struct kinfo_proc` (LP64), what `sysctl {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid}`
//! returns for **any** pid without privilege (xnu `bsd/kern/kern_sysctl.c`
//! `fill_user64_proc`). The `libc` crate has no `kinfo_proc`, so it is written out here;
//! its LP64 offsets (`p_flag` 32, `p_stat` 36, `p_pid` 40, `e_ppid` 560, size 648; xnu
//! `bsd/sys/sysctl.h` `struct user64_kinfo_proc`) are asserted at compile time, on every
//! target.
//!
//! What the kernel fills (`fill_user64_externproc`/`fill_user64_eproc`): start time,
//! `p_flag` with `P_TRACED`/`P_PPWAIT`/`P_WEXIT` folded in from `p_lflag`, `p_stat`,
//! `p_pid`, `p_oppid`, `p_comm`, ignored and caught signals, and the eproc's ppid, pgid,
//! credentials and terminal. Pending and blocked signals are **not** filled.

use std::mem::{offset_of, size_of};

/// `p_flag` bits (`bsd/sys/proc.h`).
pub const P_CONTROLT: i32 = 0x0000_0002;
pub const P_LP64: i32 = 0x0000_0004;
/// A vfork parent waiting for its child to exec or exit.
pub const P_PPWAIT: i32 = 0x0000_0010;
/// Being debugged (ptrace); the kernel folds `P_LTRACED` in here.
pub const P_TRACED: i32 = 0x0000_0800;
pub const P_WEXIT: i32 = 0x0000_2000;
pub const P_EXEC: i32 = 0x0000_4000;
/// Runs under Rosetta 2 (set at exec, inherited across fork; alias `P_CLASSIC`).
pub const P_TRANSLATED: i32 = 0x0002_0000;

/// `p_comm`'s length: `MAXCOMLEN + 1` (`bsd/sys/param.h`: MAXCOMLEN 16).
pub const P_COMM_LEN: usize = 17;

/// `struct user64_extern_proc` (296 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExternProc {
    /// `p_un.__p_starttime`: a `user64_timeval` {i64 sec; i32 usec; padding}.
    pub p_starttime_sec: i64,
    pub p_starttime_usec: i32,
    _pad0: i32,
    pub p_vmspace: u64,
    pub p_sigacts: u64,
    pub p_flag: i32,
    pub p_stat: i8,
    _pad1: [u8; 3],
    pub p_pid: i32,
    /// The parent before a debugger re-parented it (0 when never re-parented).
    pub p_oppid: i32,
    pub p_dupfd: i32,
    _pad2: i32,
    pub user_stack: u64,
    pub exit_thread: u64,
    pub p_debugger: i32,
    pub sigwait: i32,
    pub p_estcpu: u32,
    pub p_cpticks: i32,
    pub p_pctcpu: u32,
    _pad3: u32,
    pub p_wchan: u64,
    pub p_wmesg: u64,
    pub p_swtime: u32,
    pub p_slptime: u32,
    /// `struct user64_itimerval`: two `user64_timeval`s.
    pub p_realtimer: [u64; 4],
    pub p_rtime: [u64; 2],
    pub p_uticks: u64,
    pub p_sticks: u64,
    pub p_iticks: u64,
    pub p_traceflag: i32,
    _pad4: i32,
    pub p_tracep: u64,
    pub p_siglist: i32,
    _pad5: i32,
    pub p_textvp: u64,
    pub p_holdcnt: i32,
    pub p_sigmask: u32,
    pub p_sigignore: u32,
    pub p_sigcatch: u32,
    pub p_priority: u8,
    pub p_usrpri: u8,
    pub p_nice: i8,
    /// `MAXCOMLEN + 1` bytes.
    pub p_comm: [u8; P_COMM_LEN],
    _pad6: [u8; 4],
    pub p_pgrp: u64,
    pub p_addr: u64,
    pub p_xstat: u16,
    pub p_acflag: u16,
    _pad7: u32,
    pub p_ru: u64,
}

/// `struct _pcred` as laid out in the LP64 eproc (104 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Pcred {
    pub pc_lock: [u8; 72],
    pub pc_ucred: u64,
    pub p_ruid: u32,
    pub p_svuid: u32,
    pub p_rgid: u32,
    pub p_svgid: u32,
    pub p_refcnt: i32,
    _pad: u32,
}

/// `struct _ucred` (76 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Ucred {
    pub cr_ref: i32,
    pub cr_uid: u32,
    pub cr_ngroups: i16,
    _pad: u16,
    pub cr_groups: [u32; 16],
}

/// `struct vmspace` as exported (64 bytes of dummies).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Vmspace {
    pub vm_refcnt: i32,
    pub vm_shm: u64,
    pub vm_dummies: [i32; 5],
    pub vm_daddr: [u64; 3],
}

/// `struct user64_eproc` (352 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Eproc {
    pub e_paddr: u64,
    pub e_sess: u64,
    pub e_pcred: Pcred,
    pub e_ucred: Ucred,
    pub e_vm: Vmspace,
    pub e_ppid: i32,
    pub e_pgid: i32,
    pub e_jobc: i16,
    _pad0: u16,
    /// Controlling terminal's device, `NODEV` when none.
    pub e_tdev: i32,
    /// The terminal's foreground process group.
    pub e_tpgid: i32,
    _pad1: i32,
    pub e_tsess: u64,
    pub e_wmesg: [u8; 8],
    pub e_xsize: i32,
    pub e_xrssize: i16,
    pub e_xccount: i16,
    pub e_xswrss: i16,
    _pad2: u16,
    pub e_flag: i32,
    pub e_login: [u8; 12],
    pub e_spare: [i32; 4],
    _pad3: i32,
}

/// `struct kinfo_proc` (LP64): 648 bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct KinfoProc {
    pub kp_proc: ExternProc,
    pub kp_eproc: Eproc,
}

const _: () = assert!(size_of::<ExternProc>() == 296);
const _: () = assert!(size_of::<Pcred>() == 104);
const _: () = assert!(size_of::<Ucred>() == 76);
const _: () = assert!(size_of::<Vmspace>() == 64);
const _: () = assert!(size_of::<Eproc>() == 352);
const _: () = assert!(size_of::<KinfoProc>() == 648);
const _: () = assert!(offset_of!(KinfoProc, kp_proc) + offset_of!(ExternProc, p_flag) == 32);
const _: () = assert!(offset_of!(ExternProc, p_stat) == 36);
const _: () = assert!(offset_of!(ExternProc, p_pid) == 40);
const _: () = assert!(offset_of!(ExternProc, p_comm) == 243);
const _: () = assert!(offset_of!(KinfoProc, kp_eproc) == 296);
const _: () = assert!(offset_of!(KinfoProc, kp_eproc) + offset_of!(Eproc, e_ppid) == 560);
const _: () = assert!(offset_of!(KinfoProc, kp_eproc) + offset_of!(Eproc, e_pgid) == 564);
const _: () = assert!(offset_of!(KinfoProc, kp_eproc) + offset_of!(Eproc, e_tdev) == 572);
const _: () = assert!(offset_of!(KinfoProc, kp_eproc) + offset_of!(Eproc, e_tpgid) == 576);

/// The facts gohang reads from a `kinfo_proc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcFacts {
    pub pid: u32,
    /// The current parent (a debugger, while one is attached).
    pub ppid: u32,
    /// The parent before a debugger re-parented it, if one did.
    pub original_ppid: Option<u32>,
    pub pgid: i32,
    pub flag: i32,
    pub stat: u32,
    pub comm: String,
    /// Microseconds since the epoch.
    pub start_us: u64,
    pub ruid: u32,
    pub uid: u32,
    /// `e_tdev` (`NODEV` when none) and the terminal's foreground group.
    pub tdev: u32,
    pub tpgid: i32,
}

impl ProcFacts {
    pub fn translated(&self) -> bool {
        self.flag & P_TRANSLATED != 0
    }
    pub fn traced(&self) -> bool {
        self.flag & P_TRACED != 0
    }
    pub fn has_tty(&self) -> bool {
        self.flag & P_CONTROLT != 0 && self.tdev != super::NODEV
    }
}

impl KinfoProc {
    /// An all-zero record, to be filled by `sysctl`.
    pub fn zeroed() -> KinfoProc {
        // SAFETY: KinfoProc is plain integers and byte arrays; all-zero is a valid value.
        unsafe { std::mem::zeroed() }
    }

    pub fn facts(&self) -> ProcFacts {
        let p = &self.kp_proc;
        let e = &self.kp_eproc;
        let start_us = (p.p_starttime_sec.max(0) as u64) * 1_000_000
            + p.p_starttime_usec.clamp(0, 999_999) as u64;
        ProcFacts {
            pid: p.p_pid.max(0) as u32,
            ppid: e.e_ppid.max(0) as u32,
            original_ppid: (p.p_oppid > 0).then_some(p.p_oppid as u32),
            pgid: e.e_pgid,
            flag: p.p_flag,
            stat: p.p_stat as u8 as u32,
            comm: super::c_str(&p.p_comm),
            start_us,
            ruid: e.e_pcred.p_ruid,
            uid: e.e_ucred.cr_uid,
            tdev: e.e_tdev as u32,
            tpgid: e.e_tpgid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_of_a_translated_traced_process() {
        let mut k = KinfoProc::zeroed();
        k.kp_proc.p_pid = 4242;
        k.kp_proc.p_oppid = 4000;
        k.kp_proc.p_flag = P_TRANSLATED | P_TRACED | P_CONTROLT | P_LP64;
        k.kp_proc.p_stat = 4;
        k.kp_proc.p_starttime_sec = 1_700_000_000;
        k.kp_proc.p_starttime_usec = 250_000;
        k.kp_proc.p_comm[..2].copy_from_slice(b"go");
        k.kp_eproc.e_ppid = 777;
        k.kp_eproc.e_pgid = 4242;
        k.kp_eproc.e_tdev = (16 << 24) | 2;
        k.kp_eproc.e_tpgid = 4100;
        k.kp_eproc.e_pcred.p_ruid = 501;
        k.kp_eproc.e_ucred.cr_uid = 501;
        let f = k.facts();
        assert_eq!(f.pid, 4242);
        assert_eq!(f.ppid, 777);
        assert_eq!(f.original_ppid, Some(4000));
        assert_eq!(f.comm, "go");
        assert_eq!(f.stat, 4);
        assert_eq!(f.start_us, 1_700_000_000_250_000);
        assert!(f.translated() && f.traced() && f.has_tty());
        assert_eq!(f.tpgid, 4100);
        assert_eq!((f.ruid, f.uid), (501, 501));
    }

    #[test]
    fn offsets_match_the_byte_layout() {
        // Write through the struct, read the raw bytes at the offsets named above.
        let mut k = KinfoProc::zeroed();
        k.kp_proc.p_flag = 0x0002_0000;
        k.kp_proc.p_pid = 0x0102_0304;
        k.kp_eproc.e_ppid = 0x0506_0708;
        // SAFETY: KinfoProc is plain old data of 648 bytes; viewing it as bytes is valid.
        let bytes: &[u8] = unsafe {
            std::slice::from_raw_parts(
                (&k as *const KinfoProc).cast::<u8>(),
                size_of::<KinfoProc>(),
            )
        };
        let at = |o: usize| i32::from_ne_bytes(bytes[o..o + 4].try_into().unwrap());
        assert_eq!(at(32), 0x0002_0000);
        assert_eq!(at(40), 0x0102_0304);
        assert_eq!(at(560), 0x0506_0708);
        let mut z = KinfoProc::zeroed();
        z.kp_proc.p_stat = -1i8;
        assert_eq!(z.facts().stat, 255);
    }
}
