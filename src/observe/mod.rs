//! The OS seam: a `Sampler` that snapshots a process tree, and `host_info()`.
//!
//! A backend (`linux/`, `macos/`, `unsupported.rs`, chosen by `sys::os_backend!`) has the
//! same names in each: `Backend` reads one process (`snapshot_in`, `snapshot`) and
//! `parent_map` reads who the children of each process are. Walking the trees and
//! sampling them on a [`Schedule`] happen once, above the backends (`tree`, `sampler`);
//! the rest of gohang does not know which backend it has.

crate::sys::os_backend!();

mod sampler;
pub mod tree;

pub use sampler::{SAMPLE_INTERVAL, Sampler, Schedule};

/// Native stacks need the OS's own sampler; only the macOS backend has one
/// (`/usr/bin/sample`). Elsewhere there are none to add.
#[cfg(not(target_os = "macos"))]
pub fn native_stacks(
    _samples: &[crate::evidence::Sample],
    _cancel: &std::sync::atomic::AtomicBool,
) -> Option<crate::evidence::NativeStacks> {
    None
}

/// Only Linux tells FUSE and network mounts apart cheaply; elsewhere every path counts as
/// local.
#[cfg(not(target_os = "linux"))]
pub fn remote_fs_at(_pid: u32, _path: &std::path::Path) -> Option<String> {
    None
}

/// fanotify is Linux's; elsewhere no wait names a file access monitor.
#[cfg(not(target_os = "linux"))]
pub fn access_monitors(
    _samples: &[crate::evidence::Sample],
) -> Option<crate::evidence::AccessMonitors> {
    None
}

/// Elsewhere a pid names a process, never one of its threads (macOS thread ids are not
/// pids).
#[cfg(not(target_os = "linux"))]
pub fn thread_group(id: u32) -> Option<u32> {
    Some(id)
}
