//! dtruss (DTrace's truss) for `--trace` on macOS. The attach/trace issue wires it in; this
//! module decides whether it can run here and says why not: it needs root, and DTrace
//! must not be restricted by System Integrity Protection (with SIP on, the syscall provider
//! is missing or dtrace refuses restricted processes). Where it cannot run, gohang falls
//! back to sampling stacks with `/usr/bin/sample`; it never suggests turning SIP off.

use super::security;
use crate::darwin::permission;
use std::path::Path;
use std::process::Command;

pub const DTRUSS: &str = "/usr/bin/dtruss";

/// Ok when dtruss can trace here, else the one-line reason.
pub fn availability() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    permission::dtruss(euid, security::sip().as_ref(), Path::new(DTRUSS).exists())
}

/// The dtruss command that follows `pid` and its children (`-f`), with elapsed times.
pub fn command(pid: u32) -> Result<Command, String> {
    availability()?;
    let mut c = Command::new(DTRUSS);
    c.arg("-f").arg("-e").arg("-p").arg(pid.to_string());
    Ok(c)
}
