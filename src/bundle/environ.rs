//! The raw environment of another process, read only to learn which values to redact
//! (`Redactor::add_environ`): it is never written anywhere.
//!
//! The OS backend reads it (`observe::raw_environ`: Linux `/proc/PID/environ`, macOS the
//! environment area of `KERN_PROCARGS2`). The read is time-boxed: a process in
//! uninterruptible sleep can block a read of its memory.

use crate::toolchain::timebox;
use std::time::Duration;

/// How long one read may take.
const LIMIT: Duration = Duration::from_millis(500);

/// The NUL-separated `NAME=value` entries of `pid`'s environment, when they can be read.
pub fn raw(pid: u32) -> Option<Vec<u8>> {
    timebox::run("environment", LIMIT, move || {
        crate::observe::raw_environ(pid)
    })
    .ok()
    .flatten()
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
        // Between fork and exec the child still shows the test binary's own environment, and
        // one read is time-boxed to LIMIT, which a loaded machine can exceed: poll to a
        // deadline for the environment `sleep` was started with rather than trust one try.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut text = String::new();
        while std::time::Instant::now() < deadline {
            if let Some(env) = raw(child.id()) {
                text = String::from_utf8_lossy(&env).into_owned();
                if text.contains("GOHANG_TEST_SECRET_TOKEN=") {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(!text.is_empty(), "own child's environ is readable");
        assert!(text.contains("GOHANG_TEST_SECRET_TOKEN=planted-value-123"));
    }
}
