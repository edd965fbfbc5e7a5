//! Who answers fanotify permission events: the processes holding a fanotify group
//! (`/proc/PID/fd/N -> anon_inode:[fanotify]`). A process whose open or exec waits for a
//! permission decision sleeps uninterruptibly in the kernel's fanotify code
//! (`fanotify_handle_event`, `fanotify_get_response`) until a listener answers — an
//! antivirus or endpoint-security agent on access scanning (fanotify(7),
//! FAN_OPEN_PERM / FAN_ACCESS_PERM / FAN_OPEN_EXEC_PERM).

use crate::evidence::{AccessMonitor, AccessMonitors};
use std::fs;
use std::time::{Duration, Instant};

/// The search of `/proc/*/fd` stops after this long, or this many links.
const SEARCH_LIMIT: Duration = Duration::from_millis(1500);
const SEARCH_MAX_LINKS: usize = 200_000;

/// Every process holding a fanotify group, gohang left out.
pub fn listeners() -> AccessMonitors {
    let mut out = AccessMonitors::default();
    let Ok(rd) = fs::read_dir("/proc") else {
        out.partial = true;
        return out;
    };
    let start = Instant::now();
    let mut links = 0usize;
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        if start.elapsed() > SEARCH_LIMIT || links > SEARCH_MAX_LINKS {
            out.partial = true;
            break;
        }
        let entries = match fs::read_dir(format!("/proc/{pid}/fd")) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                out.partial = true;
                continue;
            }
            Err(_) => continue,
        };
        let mut fds = Vec::new();
        for fe in entries.flatten() {
            links += 1;
            if fs::read_link(fe.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:[fanotify]")
                && let Some(fd) = fe.file_name().to_str().and_then(|s| s.parse().ok())
            {
                fds.push(fd);
            }
        }
        if fds.is_empty() {
            continue;
        }
        fds.sort_unstable();
        let comm = fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| c.trim_end().to_string())
            .unwrap_or_default();
        let command = fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
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
