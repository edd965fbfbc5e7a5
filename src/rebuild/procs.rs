//! Processes running a program from inside a GOROOT. A rebuild moves the tree away and
//! replaces its binaries; a `go build` or `gopls`-started `go` running from it meanwhile
//! would fail in odd ways or write into the tree, so the rebuild refuses while one runs.
//!
//! Linux: `/proc/PID/exe`; a program run through binfmt_misc (qemu-user) shows the
//! interpreter there, so for those the program path is taken from the command line (with
//! the `P` flag: `[interpreter, program, argv0, …]`, LINUX.md). macOS: libproc's
//! `proc_listallpids` + `proc_pidpath` (a Rosetta-translated process reports its own x86_64
//! executable, so no special case is needed there).

use serde::Serialize;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunningTool {
    pub pid: u32,
    pub exe: PathBuf,
}

/// Processes (other than gohang itself) whose executable lies under one of `roots`
/// (the GOROOT as given and as resolved). `interpreters` are binfmt_misc interpreters.
pub fn running_from(roots: &[PathBuf], interpreters: &[PathBuf]) -> Vec<RunningTool> {
    let me = std::process::id();
    let mut v: Vec<RunningTool> = imp::executables(interpreters)
        .into_iter()
        .filter(|(pid, _)| *pid != me)
        .filter(|(_, exe)| roots.iter().any(|r| exe.starts_with(r)))
        .map(|(pid, exe)| RunningTool { pid, exe })
        .collect();
    v.sort_by_key(|t| t.pid);
    v
}

#[cfg(target_os = "linux")]
mod imp {
    use std::path::{Path, PathBuf};

    /// `/usr/lib/go/bin/go (deleted)` -> `/usr/lib/go/bin/go`: a running binary whose file
    /// was replaced still counts.
    pub fn strip_deleted(p: &Path) -> PathBuf {
        let s = p.to_string_lossy();
        PathBuf::from(s.strip_suffix(" (deleted)").unwrap_or(&s).to_string())
    }

    pub fn executables(interpreters: &[PathBuf]) -> Vec<(u32, PathBuf)> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            // Unreadable (another user's process without privilege, or gone): skipped.
            let Ok(exe) = std::fs::read_link(e.path().join("exe")) else {
                continue;
            };
            let exe = strip_deleted(&exe);
            if interpreters.contains(&exe)
                && let Ok(cmdline) = std::fs::read(e.path().join("cmdline"))
            {
                // The program is the first absolute argument after the interpreter.
                if let Some(prog) = cmdline
                    .split(|b| *b == 0)
                    .skip(1)
                    .take(2)
                    .map(|a| PathBuf::from(String::from_utf8_lossy(a).into_owned()))
                    .find(|p| p.is_absolute())
                {
                    out.push((pid, prog));
                    continue;
                }
            }
            out.push((pid, exe));
        }
        out
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use std::path::PathBuf;

    pub fn executables(_interpreters: &[PathBuf]) -> Vec<(u32, PathBuf)> {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: a null buffer asks for the number of pids.
        let n = unsafe { libc::proc_listallpids(std::ptr::null_mut(), 0) };
        if n <= 0 {
            return Vec::new();
        }
        // Room for processes started since the count.
        let mut pids = vec![0 as libc::pid_t; n as usize + 64];
        let bytes = (pids.len() * std::mem::size_of::<libc::pid_t>()) as libc::c_int;
        // SAFETY: the buffer holds `bytes` bytes; the call returns how many pids it wrote.
        let n = unsafe { libc::proc_listallpids(pids.as_mut_ptr().cast(), bytes) };
        pids.truncate(n.max(0) as usize);
        let mut out = Vec::new();
        let mut buf = vec![0u8; libc::PROC_PIDPATHINFO_MAXSIZE as usize];
        for pid in pids.into_iter().filter(|p| *p > 0) {
            // SAFETY: buf has PROC_PIDPATHINFO_MAXSIZE bytes, as proc_pidpath requires.
            let len = unsafe { libc::proc_pidpath(pid, buf.as_mut_ptr().cast(), buf.len() as u32) };
            if len > 0 {
                let p = std::ffi::OsStr::from_bytes(&buf[..len as usize]);
                out.push((pid as u32, PathBuf::from(p)));
            }
        }
        out
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod imp {
    use std::path::PathBuf;

    pub fn executables(_interpreters: &[PathBuf]) -> Vec<(u32, PathBuf)> {
        Vec::new()
    }
}

// Both read /proc: Linux only.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn deleted_suffix() {
        use imp::strip_deleted;
        assert_eq!(
            strip_deleted(Path::new("/g/bin/go (deleted)")),
            PathBuf::from("/g/bin/go")
        );
        assert_eq!(
            strip_deleted(Path::new("/g/bin/go")),
            PathBuf::from("/g/bin/go")
        );
    }

    #[test]
    fn finds_a_process_running_from_a_tree() {
        let d = tempfile::tempdir().unwrap();
        let bin = d.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let sleep = bin.join("sleep");
        std::fs::copy("/bin/sleep", &sleep).unwrap();
        // A fork elsewhere in the test binary may briefly hold the copy open (ETXTBSY).
        let mut child = (0..50)
            .find_map(
                |_| match std::process::Command::new(&sleep).arg("30").spawn() {
                    Ok(c) => Some(c),
                    Err(_) => {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        None
                    }
                },
            )
            .expect("spawn the copied sleep");
        let root = std::fs::canonicalize(d.path()).unwrap();
        let found = running_from(std::slice::from_ref(&root), &[]);
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            found.iter().any(|t| t.pid == child.id()),
            "{found:?} lacks {}",
            child.id()
        );
        assert!(running_from(&[root.join("nothing")], &[]).is_empty());
    }
}
