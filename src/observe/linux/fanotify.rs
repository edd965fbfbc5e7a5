//! Who answers fanotify permission events: the processes holding a fanotify group
//! (`/proc/PID/fd/N -> anon_inode:[fanotify]`). A process whose open or exec waits for a
//! permission decision sleeps uninterruptibly in the kernel's fanotify code
//! (`fanotify_handle_event`, `fanotify_get_response`) until a listener answers — an
//! antivirus or endpoint-security agent on access scanning (fanotify(7),
//! FAN_OPEN_PERM / FAN_ACCESS_PERM / FAN_OPEN_EXEC_PERM).

use super::descriptors::{Wanted, search};
use crate::evidence::{AccessMonitor, AccessMonitors};
use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

/// The search of `/proc/*/fd` stops after this long (it runs once, only when a thread
/// waits for a permission answer).
const SEARCH_LIMIT: Duration = Duration::from_millis(1500);

/// What `/proc/PID/fd/N` of a fanotify group reads as.
const FANOTIFY_LINK: &str = "anon_inode:[fanotify]";

/// Every process holding a fanotify group, gohang left out.
pub fn listeners() -> AccessMonitors {
    let want = [Wanted::Link(FANOTIFY_LINK.to_string())];
    let (mut found, partial) = search(&want, SEARCH_LIMIT);
    let mut fds_of: BTreeMap<u32, Vec<i32>> = BTreeMap::new();
    for h in found.remove(&want[0]).unwrap_or_default() {
        if h.pid != std::process::id() {
            fds_of.entry(h.pid).or_default().push(h.fd);
        }
    }
    let mut out = AccessMonitors {
        partial,
        ..AccessMonitors::default()
    };
    for (pid, mut fds) in fds_of {
        fds.sort_unstable();
        let comm = fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| c.trim_end().to_string())
            .unwrap_or_default();
        let command = fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| super::split_nul(&b).join(" "))
            .unwrap_or_default();
        out.listeners.push(AccessMonitor {
            pid,
            comm,
            command: crate::redact::redact_urls(&command),
            fds,
        });
    }
    out
}
