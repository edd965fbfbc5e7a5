//! sysctl: `kinfo_proc` of any pid (state, flags with `P_TRANSLATED` and `P_TRACED`,
//! parent, terminal), a process's arguments (`KERN_PROCARGS2`, own processes or root), and
//! named values (`sysctl.proc_translated`, `hw.optional.arm64`, `kern.osproductversion`).

use crate::darwin::kinfo::{KinfoProc, ProcFacts};
use crate::darwin::procargs::{self, Environ};
use libc::{c_int, c_uint, c_void};
use std::ffi::CStr;
use std::io;
use std::mem::size_of;

/// `kinfo_proc` facts of `pid`; `Ok(None)` when there is no such process (the kernel
/// answers success with zero bytes).
pub fn kinfo(pid: u32) -> io::Result<Option<ProcFacts>> {
    let mut mib: [c_int; 4] = [
        libc::CTL_KERN,
        libc::KERN_PROC,
        libc::KERN_PROC_PID,
        pid as c_int,
    ];
    let mut kp = KinfoProc::zeroed();
    let mut len = size_of::<KinfoProc>();
    // SAFETY: `kp` is writable for `len` bytes and `len` is a valid in/out size.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            mib.len() as c_uint,
            (&mut kp as *mut KinfoProc).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    if len < size_of::<KinfoProc>() {
        return Ok(None);
    }
    Ok(Some(kp.facts()))
}

/// An integer sysctl by name; None when it does not exist here (ENOENT).
pub fn by_name_i32(name: &CStr) -> Option<i32> {
    let mut v: i32 = 0;
    let mut len = size_of::<i32>();
    // SAFETY: `v` is writable for `len` bytes; the name is NUL-terminated.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            (&mut v as *mut i32).cast::<c_void>(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    (rc == 0 && len == size_of::<i32>()).then_some(v)
}

/// A 64-bit integer sysctl by name (`hw.tbfrequency` is one, xnu `kern_mib.c`); None when
/// it does not exist here.
pub fn by_name_u64(name: &CStr) -> Option<u64> {
    let mut v: u64 = 0;
    let mut len = size_of::<u64>();
    // SAFETY: `v` is writable for `len` bytes; the name is NUL-terminated.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            (&mut v as *mut u64).cast::<c_void>(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    (rc == 0 && len == size_of::<u64>()).then_some(v)
}

/// A string sysctl by name.
pub fn by_name_string(name: &CStr) -> Option<String> {
    let mut buf = vec![0u8; 256];
    let mut len = buf.len();
    // SAFETY: `buf` is writable for `len` bytes; the name is NUL-terminated.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    buf.truncate(len);
    let s = crate::darwin::c_str(&buf);
    (!s.is_empty()).then_some(s)
}

fn arg_max() -> usize {
    let mut mib: [c_int; 2] = [libc::CTL_KERN, libc::KERN_ARGMAX];
    let mut v: c_int = 0;
    let mut len = size_of::<c_int>();
    // SAFETY: `v` is writable for `len` bytes.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            2,
            (&mut v as *mut c_int).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc == 0 && v > 0 {
        v as usize
    } else {
        1 << 20
    }
}

/// The executable path, argv and raw environment of `pid` (`KERN_PROCARGS2`; the
/// environment is filtered by the caller, see `redact::filter_environ`).
pub fn procargs(pid: u32) -> Result<(String, Vec<String>, Environ), String> {
    let mut buf = vec![0u8; arg_max()];
    let mut mib: [c_int; 3] = [libc::CTL_KERN, libc::KERN_PROCARGS2, pid as c_int];
    let mut len = buf.len();
    // SAFETY: `buf` is writable for `len` bytes.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            3,
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            // The kernel answers EINVAL for another user's process and for zombies.
            Some(libc::EINVAL) | Some(libc::EPERM) => {
                "arguments: not readable (another user's process or a zombie; root can read them)"
                    .to_string()
            }
            _ => format!("arguments: {e}"),
        });
    }
    buf.truncate(len);
    let (exec, argv) = procargs::parse(&buf)?;
    Ok((exec, argv, procargs::environment(&buf)))
}
