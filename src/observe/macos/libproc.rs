//! libproc (`<libproc.h>`): per-process and per-thread facts without a task port.
//!
//! Thread listing uses `PROC_PIDLISTTHREADIDS` (28) and `PROC_PIDTHREADID64INFO` (15):
//! unique thread ids, which need no task port for the caller's own processes (xnu
//! `bsd_kern.c` `fill_taskthreadlist` / `fill_taskthreadinfo` run `thread_info` internally).
//! The per-process flavors need the same effective uid or root (EPERM otherwise);
//! `proc_pidpath` and `proc_listchildpids` work for any pid.
//! Return convention: bytes written, `0` with errno on error.

use crate::darwin;
use crate::darwin::socket::{self, PROC_PIDFDSOCKETINFO, PROX_FDTYPE_SOCKET, SocketFdinfo};
use crate::evidence::SocketInfo;
use libc::c_int;
use std::io;
use std::mem::{MaybeUninit, size_of};

/// `PROC_PIDLISTTHREADIDS`: the unique ids of a process's threads (private flavor, public
/// in the 10.15 SDK; not in `libc`).
pub const PROC_PIDLISTTHREADIDS: c_int = 28;
/// `PROC_PIDTHREADID64INFO`: `proc_threadinfo` of the thread with a unique id.
pub const PROC_PIDTHREADID64INFO: c_int = 15;
/// `PROC_PIDPATHINFO_MAXSIZE` (4 × MAXPATHLEN).
pub(super) const PATH_MAX_SIZE: usize = 4096;
/// Sockets read per process at most: a stuck `go` has a handful.
const MAX_SOCKETS: usize = 128;

const _: () = assert!(size_of::<libc::proc_bsdinfo>() == 136);
const _: () = assert!(size_of::<libc::proc_taskinfo>() == 96);
const _: () = assert!(size_of::<libc::proc_threadinfo>() == 112);
const _: () = assert!(size_of::<libc::proc_fdinfo>() == 8);

fn last_error() -> io::Error {
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(0) {
        io::Error::other("libproc returned no data")
    } else {
        e
    }
}

/// One fixed-size flavor of `proc_pidinfo` into a zeroed `T`.
///
/// SAFETY (for callers): `T` must be the plain-integer struct the flavor fills.
unsafe fn pidinfo<T>(pid: u32, flavor: c_int, arg: u64) -> io::Result<T> {
    let mut out = MaybeUninit::<T>::zeroed();
    let size = size_of::<T>() as c_int;
    // SAFETY: `out` is writable for `size` bytes; the kernel writes at most `size`.
    let n = unsafe { libc::proc_pidinfo(pid as c_int, flavor, arg, out.as_mut_ptr().cast(), size) };
    if n <= 0 {
        return Err(last_error());
    }
    if n < size {
        return Err(io::Error::other(format!(
            "libproc flavor {flavor}: {n} of {size} bytes"
        )));
    }
    // SAFETY: zero-initialised and then filled; T is plain integers, valid for any bytes.
    Ok(unsafe { out.assume_init() })
}

/// `PROC_PIDTBSDINFO`, zombies included (`arg` 1).
pub fn bsd_info(pid: u32) -> io::Result<libc::proc_bsdinfo> {
    // SAFETY: PROC_PIDTBSDINFO fills a proc_bsdinfo.
    unsafe { pidinfo(pid, libc::PROC_PIDTBSDINFO, 1) }
}

/// `PROC_PIDTASKINFO`: CPU totals in Mach absolute-time ticks, thread count.
pub fn task_info(pid: u32) -> io::Result<libc::proc_taskinfo> {
    // SAFETY: PROC_PIDTASKINFO fills a proc_taskinfo.
    unsafe { pidinfo(pid, libc::PROC_PIDTASKINFO, 0) }
}

/// `PROC_PIDTHREADID64INFO`: one thread's state, times (nanoseconds) and name.
pub fn thread_info(pid: u32, thread_id: u64) -> io::Result<libc::proc_threadinfo> {
    // SAFETY: PROC_PIDTHREADID64INFO fills a proc_threadinfo.
    unsafe { pidinfo(pid, PROC_PIDTHREADID64INFO, thread_id) }
}

/// The unique ids of the process's threads; `hint` is the expected count.
pub fn thread_ids(pid: u32, hint: usize) -> io::Result<Vec<u64>> {
    let mut cap = hint.max(4) + 16;
    loop {
        let mut ids = vec![0u64; cap];
        let bytes = (cap * size_of::<u64>()) as c_int;
        // SAFETY: `ids` is writable for `bytes` bytes.
        let n = unsafe {
            libc::proc_pidinfo(
                pid as c_int,
                PROC_PIDLISTTHREADIDS,
                0,
                ids.as_mut_ptr().cast(),
                bytes,
            )
        };
        if n <= 0 {
            return Err(last_error());
        }
        let got = n as usize / size_of::<u64>();
        if got < cap || cap >= 1 << 16 {
            ids.truncate(got);
            return Ok(ids);
        }
        cap *= 2;
    }
}

/// The working directory (`PROC_PIDVNODEPATHINFO`, same uid or root).
pub fn cwd(pid: u32) -> io::Result<String> {
    // SAFETY: PROC_PIDVNODEPATHINFO fills a proc_vnodepathinfo.
    let info: libc::proc_vnodepathinfo = unsafe { pidinfo(pid, libc::PROC_PIDVNODEPATHINFO, 0)? };
    // The whole MAXPATHLEN bytes: libc declares the field as 32 arrays of 32 (see
    // `darwin::nested_c_chars`).
    Ok(darwin::c_str(darwin::nested_c_chars(
        &info.pvi_cdir.vip_path,
    )))
}

/// The executable's path (any user's process).
pub fn pid_path(pid: u32) -> io::Result<String> {
    let mut buf = vec![0u8; PATH_MAX_SIZE];
    // SAFETY: `buf` is writable for PATH_MAX_SIZE bytes, the documented maximum.
    let n = unsafe { libc::proc_pidpath(pid as c_int, buf.as_mut_ptr().cast(), buf.len() as u32) };
    if n <= 0 {
        return Err(last_error());
    }
    buf.truncate(n as usize);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Direct children of `pid` (any user). `proc_listchildpids` takes its size in **bytes**
/// and returns a **count** of pids (libproc.c divides by `sizeof(pid_t)`).
pub fn child_pids(pid: u32) -> Vec<u32> {
    // SAFETY: a NULL buffer asks only for an estimate.
    let estimate = unsafe { libc::proc_listchildpids(pid as c_int, std::ptr::null_mut(), 0) };
    let mut cap = estimate.max(0) as usize + 16;
    loop {
        let mut buf = vec![0 as libc::pid_t; cap];
        let bytes = (cap * size_of::<libc::pid_t>()) as c_int;
        // SAFETY: `buf` is writable for `bytes` bytes.
        let n = unsafe { libc::proc_listchildpids(pid as c_int, buf.as_mut_ptr().cast(), bytes) };
        if n < 0 {
            return Vec::new();
        }
        let n = n as usize;
        if n < cap || cap >= 1 << 16 {
            buf.truncate(n);
            let mut v: Vec<u32> = buf
                .into_iter()
                .filter(|p| *p > 0)
                .map(|p| p as u32)
                .collect();
            v.sort_unstable();
            v.dedup();
            return v;
        }
        cap *= 2;
    }
}

/// Open file descriptors and their types.
pub fn list_fds(pid: u32) -> io::Result<Vec<libc::proc_fdinfo>> {
    // SAFETY: a NULL buffer asks only for the size in bytes.
    let estimate = unsafe {
        libc::proc_pidinfo(
            pid as c_int,
            libc::PROC_PIDLISTFDS,
            0,
            std::ptr::null_mut(),
            0,
        )
    };
    if estimate <= 0 {
        return Err(last_error());
    }
    let cap = estimate as usize / size_of::<libc::proc_fdinfo>() + 16;
    let mut fds: Vec<libc::proc_fdinfo> = Vec::with_capacity(cap);
    let bytes = (cap * size_of::<libc::proc_fdinfo>()) as c_int;
    // SAFETY: the vector's spare capacity is writable for `bytes` bytes.
    let n = unsafe {
        libc::proc_pidinfo(
            pid as c_int,
            libc::PROC_PIDLISTFDS,
            0,
            fds.as_mut_ptr().cast(),
            bytes,
        )
    };
    if n <= 0 {
        return Err(last_error());
    }
    let got = (n as usize / size_of::<libc::proc_fdinfo>()).min(cap);
    // SAFETY: the kernel initialised `got` entries (n bytes) of plain integers.
    unsafe { fds.set_len(got) };
    Ok(fds)
}

/// The sockets of `pid` with their peers (same uid or root).
pub fn sockets(pid: u32) -> io::Result<Vec<SocketInfo>> {
    let fds = list_fds(pid)?;
    let mut out = Vec::new();
    for fd in fds
        .iter()
        .filter(|f| f.proc_fdtype == PROX_FDTYPE_SOCKET)
        .take(MAX_SOCKETS)
    {
        let mut si = SocketFdinfo::zeroed();
        let size = size_of::<SocketFdinfo>() as c_int;
        // SAFETY: `si` is a socket_fdinfo of `size` (792) bytes, the flavor's output struct.
        let n = unsafe {
            libc::proc_pidfdinfo(
                pid as c_int,
                fd.proc_fd,
                PROC_PIDFDSOCKETINFO,
                (&mut si as *mut SocketFdinfo).cast(),
                size,
            )
        };
        if n != size {
            continue; // closed in between, or not a socket any more
        }
        if let Some(s) = socket::decode(fd.proc_fd, &si) {
            out.push(s);
        }
    }
    Ok(out)
}
