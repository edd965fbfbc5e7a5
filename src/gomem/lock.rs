//! `gohang dump --lock`: pause every thread of the target for a consistent snapshot, as
//! py-spy's `--nonblocking` opposite does. PTRACE_SEIZE + PTRACE_INTERRUPT (never
//! SIGSTOP, which the target or its parent could observe as a job-control stop), and
//! PTRACE_DETACH of every thread on drop, whatever happened in between.

#[cfg(target_os = "linux")]
pub struct Paused {
    tids: Vec<(i32, i32)>,
}

#[cfg(target_os = "linux")]
impl Paused {
    /// Seize and interrupt every thread; new threads appearing meanwhile are picked up in
    /// a few rounds. Errors name what was refused.
    pub fn pause(pid: u32) -> Result<Paused, String> {
        let mut p = Paused { tids: Vec::new() };
        for _round in 0..4 {
            let tids: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
                .map_err(|e| e.to_string())?
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect();
            let mut new = false;
            for tid in tids {
                if p.tids.iter().any(|(t, _)| *t == tid) {
                    continue;
                }
                new = true;
                // SAFETY: plain ptrace requests on a thread id; no memory is passed.
                let r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0, 0) };
                if r != 0 {
                    let e = std::io::Error::last_os_error();
                    if e.raw_os_error() == Some(libc::ESRCH) {
                        continue; // the thread exited
                    }
                    return Err(format!("PTRACE_SEIZE of thread {tid}: {e}"));
                }
                p.tids.push((tid, 0));
                // SAFETY: as above.
                unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0) };
                let sig = wait_stop(tid);
                if let Some(last) = p.tids.last_mut() {
                    last.1 = sig;
                }
            }
            if !new {
                break;
            }
        }
        Ok(p)
    }
}

/// Wait (at most ~1 s) for `tid` to report its stop; returns a signal to hand back on
/// detach when the stop was a signal delivery.
#[cfg(target_os = "linux")]
fn wait_stop(tid: i32) -> i32 {
    for _ in 0..1000 {
        let mut status = 0;
        // SAFETY: waitpid writes one int we own.
        let r = unsafe { libc::waitpid(tid, &mut status, libc::__WALL | libc::WNOHANG) };
        if r == tid {
            if libc::WIFSTOPPED(status) {
                let sig = libc::WSTOPSIG(status);
                // status>>16 != 0: a ptrace event stop (the interrupt); else a signal.
                if status >> 16 == 0 && sig != libc::SIGTRAP && sig != libc::SIGSTOP {
                    return sig;
                }
            }
            return 0;
        }
        if r < 0 {
            return 0;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    0
}

#[cfg(target_os = "linux")]
impl Drop for Paused {
    fn drop(&mut self) {
        for &(tid, sig) in &self.tids {
            // SAFETY: detach a thread we seized; `sig` re-delivers a signal we intercepted.
            unsafe { libc::ptrace(libc::PTRACE_DETACH, tid, 0, sig as libc::c_long) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub struct Paused;

#[cfg(not(target_os = "linux"))]
impl Paused {
    pub fn pause(_pid: u32) -> Result<Paused, String> {
        Err("--lock is implemented on Linux only".to_string())
    }
}
