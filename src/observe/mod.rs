//! The OS seam: a `Sampler` that snapshots a process tree, and `host_info()`.
//! Each backend has the same names; the rest of gohang does not know which one it has.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub use macos::*;

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod unsupported;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub use unsupported::*;

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

/// Elsewhere a pid names a process, never one of its threads (macOS thread ids are not
/// pids).
#[cfg(not(target_os = "linux"))]
pub fn thread_group(id: u32) -> Option<u32> {
    Some(id)
}
