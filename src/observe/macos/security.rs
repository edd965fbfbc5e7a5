//! Code-signing status of a process and the SIP configuration, through SPI looked up at
//! run time (`dlsym`), so a macOS without them still runs gohang: `csops(2)` (any pid, no
//! privilege) and `csr_get_active_config` (libsystem_kernel), with `csrutil status` text as
//! the fallback for SIP.

use crate::darwin::codesign::CS_OPS_STATUS;
use crate::darwin::csr::{self, Sip};
use libc::{c_int, c_void};
use std::ffi::CStr;
use std::time::Duration;

type CsopsFn = unsafe extern "C" fn(libc::pid_t, u32, *mut c_void, usize) -> c_int;
type CsrConfigFn = unsafe extern "C" fn(*mut u32) -> c_int;

fn symbol(name: &CStr) -> *mut c_void {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only looks a symbol up.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

/// The code-signing status flags of `pid` (`CS_*`), None when they cannot be read.
pub fn cs_status(pid: u32) -> Option<u32> {
    let p = symbol(c"csops");
    if p.is_null() {
        return None;
    }
    // SAFETY: `csops` has this C signature (sys/codesign.h).
    let csops: CsopsFn = unsafe { std::mem::transmute::<*mut c_void, CsopsFn>(p) };
    let mut flags: u32 = 0;
    // SAFETY: CS_OPS_STATUS writes one u32 into the buffer we pass with its size.
    let rc = unsafe {
        csops(
            pid as libc::pid_t,
            CS_OPS_STATUS,
            (&mut flags as *mut u32).cast(),
            std::mem::size_of::<u32>(),
        )
    };
    (rc == 0).then_some(flags)
}

/// The active SIP configuration, or None when neither the SPI nor `csrutil` answers.
pub fn sip() -> Option<Sip> {
    let p = symbol(c"csr_get_active_config");
    if !p.is_null() {
        // SAFETY: `csr_get_active_config(uint32_t *)` (bsd/sys/csr.h).
        let get: CsrConfigFn = unsafe { std::mem::transmute::<*mut c_void, CsrConfigFn>(p) };
        let mut config: u32 = 0;
        // SAFETY: writes one u32 into `config`.
        if unsafe { get(&mut config) } == 0 {
            return Some(Sip::from_config(config));
        }
    }
    let out = super::run_timeboxed("/usr/bin/csrutil", &["status"], Duration::from_secs(2)).ok()?;
    csr::parse_csrutil_status(&out)
}
