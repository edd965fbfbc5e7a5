//! The raw environment of another process, read only to learn which values to redact
//! (`Redactor::add_environ`): it is never written anywhere.
//!
//! Linux: `/proc/PID/environ` (the process's initial environment; readable by its user and
//! root). macOS: the environment area of `KERN_PROCARGS2`, after the arguments
//! (`darwin::procargs::environment`). Elsewhere: nothing. The read is time-boxed: a process
//! in uninterruptible sleep can block a read of its memory.

use crate::toolchain::timebox;
use std::time::Duration;

/// How long one read may take.
const LIMIT: Duration = Duration::from_millis(500);

/// The NUL-separated `NAME=value` entries of `pid`'s environment, when they can be read.
pub fn raw(pid: u32) -> Option<Vec<u8>> {
    timebox::run("environment", LIMIT, move || imp(pid))
        .ok()
        .flatten()
}

#[cfg(target_os = "linux")]
fn imp(pid: u32) -> Option<Vec<u8>> {
    std::fs::read(format!("/proc/{pid}/environ")).ok()
}

#[cfg(target_os = "macos")]
fn imp(pid: u32) -> Option<Vec<u8>> {
    // The kernel's limit on arguments plus environment (`kern.argmax`) bounds the buffer.
    let mut argmax: libc::c_int = 0;
    let mut size = std::mem::size_of::<libc::c_int>();
    let mut mib = [libc::CTL_KERN, libc::KERN_ARGMAX];
    // SAFETY: `argmax` is writable for `size` bytes; `mib` holds 2 ints.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            2,
            (&mut argmax as *mut libc::c_int).cast(),
            &mut size,
            std::ptr::null_mut(),
            0,
        )
    };
    let cap = if rc == 0 && argmax > 0 {
        argmax as usize
    } else {
        1 << 20
    };
    let mut buf = vec![0u8; cap];
    let mut len = buf.len();
    let mut mib = [libc::CTL_KERN, libc::KERN_PROCARGS2, pid as libc::c_int];
    // SAFETY: `buf` is writable for `len` bytes; `mib` holds 3 ints.
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
        return None;
    }
    buf.truncate(len);
    Some(crate::darwin::procargs::environment(&buf))
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn imp(_pid: u32) -> Option<Vec<u8>> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_a_child_environment() {
        let mut child = std::process::Command::new("sleep")
            .arg("10")
            .env("GOHANG_TEST_SECRET_TOKEN", "planted-value-123")
            .spawn()
            .unwrap();
        let env = raw(child.id());
        let _ = child.kill();
        let _ = child.wait();
        let env = env.expect("own child's environ is readable");
        let text = String::from_utf8_lossy(&env);
        assert!(text.contains("GOHANG_TEST_SECRET_TOKEN=planted-value-123"));
    }
}
