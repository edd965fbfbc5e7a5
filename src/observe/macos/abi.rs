//! Compile-time checks of every Apple struct and constant gohang declares by hand, against
//! the `libc` (and `mach2`) crates' declarations where those crates have one.
//!
//! `crate::darwin` writes out what it reads from the kernel so that its parsers and
//! decoders are tested on every OS; its own asserts pin sizes and offsets to the numbers
//! read in XNU (tag xnu-11417.101.15). The asserts here compare the same items with a second,
//! independently maintained source, and only compile for Apple targets, where `libc`
//! declares them: `scripts/darwin-check.sh` type-checks both Apple targets, and evaluates
//! these `const` items, so a drift on either side fails there, on Linux, without a Mac.
//!
//! Items libc does not declare (`kinfo_proc`, `socket_fdinfo` and its parts, `csops`, the
//! `CS_*` and `CSR_*` bits, `P_TRANSLATED`, `PROC_PIDLISTTHREADIDS`) are checked against
//! XNU's numbers in their own modules only.

use crate::darwin::{kinfo, permission, socket, state};
use std::mem::{align_of, offset_of, size_of};

// ---- darwin::state: p_stat values and Mach thread states.
const _: () = assert!(state::SIDL == libc::SIDL);
const _: () = assert!(state::SRUN == libc::SRUN);
const _: () = assert!(state::SSLEEP == libc::SSLEEP);
const _: () = assert!(state::SSTOP == libc::SSTOP);
const _: () = assert!(state::SZOMB == libc::SZOMB);
const _: () = assert!(state::TH_STATE_RUNNING == libc::TH_STATE_RUNNING);
const _: () = assert!(state::TH_STATE_STOPPED == libc::TH_STATE_STOPPED);
const _: () = assert!(state::TH_STATE_WAITING == libc::TH_STATE_WAITING);
const _: () = assert!(state::TH_STATE_UNINTERRUPTIBLE == libc::TH_STATE_UNINTERRUPTIBLE);
const _: () = assert!(state::TH_STATE_HALTED == libc::TH_STATE_HALTED);
const _: () = assert!(state::TH_FLAGS_IDLE == libc::TH_FLAGS_IDLE);

// ---- darwin::permission: the kern_return_t values task_for_pid answers with.
const _: () = assert!(permission::KERN_SUCCESS == mach2::kern_return::KERN_SUCCESS);
const _: () = assert!(permission::KERN_FAILURE == mach2::kern_return::KERN_FAILURE);
const _: () =
    assert!(permission::KERN_PROTECTION_FAILURE == mach2::kern_return::KERN_PROTECTION_FAILURE);
const _: () = assert!(permission::KERN_ABORTED == mach2::kern_return::KERN_ABORTED);
const _: () = assert!(permission::KERN_PROTECTION_FAILURE == libc::KERN_PROTECTION_FAILURE);

// ---- darwin::kinfo: p_comm holds MAXCOMLEN characters and a NUL.
const _: () = assert!(kinfo::P_COMM_LEN == libc::MAXCOMLEN + 1);

// ---- darwin::socket: constants of the socket decoder.
const _: () = assert!(socket::PROX_FDTYPE_SOCKET == libc::PROX_FDTYPE_SOCKET as u32);
const _: () = assert!(socket::AF_UNIX == libc::AF_UNIX);
const _: () = assert!(socket::AF_INET == libc::AF_INET);
const _: () = assert!(socket::AF_INET6 == libc::AF_INET6);
const _: () = assert!(socket::SOCK_STREAM == libc::SOCK_STREAM);
const _: () = assert!(socket::SOCK_DGRAM == libc::SOCK_DGRAM);
const _: () = assert!(socket::SOCK_SEQPACKET == libc::SOCK_SEQPACKET);
const _: () = assert!(socket::IPPROTO_TCP == libc::IPPROTO_TCP);
const _: () = assert!(socket::IPPROTO_UDP == libc::IPPROTO_UDP);

// ---- darwin::socket::VinfoStat against libc::vinfo_stat: size, alignment, every field
// (`vst_times` is libc's eight time fields, atime..birthtimensec, as one array).
const _: () = {
    type Ours = socket::VinfoStat;
    type Libc = libc::vinfo_stat;
    assert!(size_of::<Ours>() == size_of::<Libc>());
    assert!(align_of::<Ours>() == align_of::<Libc>());
    assert!(offset_of!(Ours, vst_dev) == offset_of!(Libc, vst_dev));
    assert!(offset_of!(Ours, vst_mode) == offset_of!(Libc, vst_mode));
    assert!(offset_of!(Ours, vst_nlink) == offset_of!(Libc, vst_nlink));
    assert!(offset_of!(Ours, vst_ino) == offset_of!(Libc, vst_ino));
    assert!(offset_of!(Ours, vst_uid) == offset_of!(Libc, vst_uid));
    assert!(offset_of!(Ours, vst_gid) == offset_of!(Libc, vst_gid));
    assert!(offset_of!(Ours, vst_times) == offset_of!(Libc, vst_atime));
    assert!(offset_of!(Ours, vst_times) + 8 == offset_of!(Libc, vst_atimensec));
    assert!(offset_of!(Ours, vst_times) + 16 == offset_of!(Libc, vst_mtime));
    assert!(offset_of!(Ours, vst_times) + 24 == offset_of!(Libc, vst_mtimensec));
    assert!(offset_of!(Ours, vst_times) + 32 == offset_of!(Libc, vst_ctime));
    assert!(offset_of!(Ours, vst_times) + 40 == offset_of!(Libc, vst_ctimensec));
    assert!(offset_of!(Ours, vst_times) + 48 == offset_of!(Libc, vst_birthtime));
    assert!(offset_of!(Ours, vst_times) + 56 == offset_of!(Libc, vst_birthtimensec));
    assert!(offset_of!(Ours, vst_size) == offset_of!(Libc, vst_size));
    assert!(offset_of!(Ours, vst_blocks) == offset_of!(Libc, vst_blocks));
    assert!(offset_of!(Ours, vst_blksize) == offset_of!(Libc, vst_blksize));
    assert!(offset_of!(Ours, vst_flags) == offset_of!(Libc, vst_flags));
    assert!(offset_of!(Ours, vst_gen) == offset_of!(Libc, vst_gen));
    assert!(offset_of!(Ours, vst_rdev) == offset_of!(Libc, vst_rdev));
    assert!(offset_of!(Ours, vst_qspare) == offset_of!(Libc, vst_qspare));
};

// ---- libc's own declarations that gohang reads, against XNU's numbers
// (bsd/sys/proc_info.h): the other direction, so that a libc change is noticed too.
const _: () = assert!(size_of::<libc::proc_bsdinfo>() == 136);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, pbi_status) == 4);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, pbi_comm) == 48);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, pbi_name) == 64);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, e_tdev) == 108);
const _: () = assert!(offset_of!(libc::proc_bsdinfo, e_tpgid) == 112);
const _: () = assert!(size_of::<libc::proc_taskinfo>() == 96);
const _: () = assert!(offset_of!(libc::proc_taskinfo, pti_total_user) == 16);
const _: () = assert!(offset_of!(libc::proc_taskinfo, pti_total_system) == 24);
const _: () = assert!(offset_of!(libc::proc_taskinfo, pti_threadnum) == 84);
const _: () = assert!(size_of::<libc::proc_threadinfo>() == 112);
const _: () = assert!(offset_of!(libc::proc_threadinfo, pth_run_state) == 24);
const _: () = assert!(offset_of!(libc::proc_threadinfo, pth_flags) == 28);
const _: () = assert!(offset_of!(libc::proc_threadinfo, pth_name) == 48);
const _: () = assert!(size_of::<libc::proc_fdinfo>() == 8);
// proc_vnodepathinfo: two vnode_info_path {vnode_info (152), char vip_path[MAXPATHLEN]}.
const _: () = assert!(size_of::<libc::vnode_info_path>() == 152 + 1024);
const _: () = assert!(offset_of!(libc::vnode_info_path, vip_path) == 152);
const _: () = assert!(size_of::<[[libc::c_char; 32]; 32]>() == 1024);
const _: () = assert!(size_of::<libc::proc_vnodepathinfo>() == 2 * (152 + 1024));
// PROC_PIDPATHINFO_MAXSIZE, the buffer proc_pidpath is given.
const _: () = assert!(super::libproc::PATH_MAX_SIZE == libc::PROC_PIDPATHINFO_MAXSIZE as usize);
// thread_info flavors (osfmk/mach/thread_info.h).
const _: () = assert!(size_of::<libc::thread_basic_info>() == 40);
const _: () = assert!(offset_of!(libc::thread_basic_info, run_state) == 24);
const _: () = assert!(offset_of!(libc::thread_basic_info, suspend_count) == 32);
const _: () = assert!(size_of::<libc::thread_identifier_info>() == 24);
