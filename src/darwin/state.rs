//! Mach thread states and BSD process states, mapped onto [`RunState`].
//!
//! - A thread's state is Mach's `run_state` (`thread_basic_info`, also in
//!   `proc_threadinfo.pth_run_state`), derived in xnu `retrieve_thread_basic_info` in the
//!   order TERMINATE → HALTED, RUN → RUNNING (on a CPU *or* runnable), UNINT →
//!   UNINTERRUPTIBLE, SUSP → STOPPED, WAIT → WAITING. A Go thread parked in
//!   `__psynch_cvwait`/`kevent` reads WAITING; a spinning one RUNNING.
//! - The process's `p_stat` (`pbi_status`, `kp_proc.p_stat`) says almost nothing: XNU
//!   assigns SIDL (fork), SRUN, SSTOP and SZOMB, and never SSLEEP (`bsd/kern/kern_fork.c`,
//!   `kern_sig.c`, `kern_exit.c`; SSLEEP appears only in the DTrace script `darwin.d`), so
//!   every live process that is not stopped reads SRUN, whether it spins or waits. Without
//!   its threads (EPERM: another user's process, a setuid one) its state is therefore
//!   unknown, never "running". `p_stat` matters for two holds that stop every thread
//!   whatever Mach says: SSTOP (a stop signal suspends the whole task) and SZOMB. A task
//!   suspended through Mach (`task_suspend`, its suspend count above 0) cannot run either.

use crate::evidence::RunState;

/// `p_stat` values (`bsd/sys/proc.h`).
pub const SIDL: u32 = 1;
pub const SRUN: u32 = 2;
pub const SSLEEP: u32 = 3;
pub const SSTOP: u32 = 4;
pub const SZOMB: u32 = 5;

/// `run_state` values (`mach/thread_info.h`).
pub const TH_STATE_RUNNING: i32 = 1;
pub const TH_STATE_STOPPED: i32 = 2;
pub const TH_STATE_WAITING: i32 = 3;
pub const TH_STATE_UNINTERRUPTIBLE: i32 = 4;
pub const TH_STATE_HALTED: i32 = 5;
/// `TH_FLAGS_IDLE`: the kernel's idle thread.
pub const TH_FLAGS_IDLE: i32 = 0x2;

/// One thread's state from Mach's `run_state`, `flags` and (task-port path only) its own
/// `suspend_count`.
pub fn thread_state(run_state: i32, flags: i32, suspend_count: i32) -> RunState {
    if suspend_count > 0 && run_state != TH_STATE_HALTED {
        return RunState::Stopped;
    }
    match run_state {
        TH_STATE_RUNNING if flags & TH_FLAGS_IDLE != 0 => RunState::Idle,
        TH_STATE_RUNNING => RunState::Running,
        TH_STATE_STOPPED => RunState::Stopped,
        TH_STATE_WAITING => RunState::Sleeping,
        TH_STATE_UNINTERRUPTIBLE => RunState::DiskSleep,
        TH_STATE_HALTED => RunState::Dead,
        _ => RunState::Unknown,
    }
}

/// A hold on the whole process that every thread shares, whatever its Mach state:
/// a zombie, a stop signal (under a tracer: a tracing stop), or a suspended task.
pub fn process_hold(p_stat: u32, traced: bool, task_suspended: bool) -> Option<RunState> {
    match p_stat {
        SZOMB => Some(RunState::Zombie),
        SSTOP if traced => Some(RunState::TracingStop),
        SSTOP => Some(RunState::Stopped),
        _ if task_suspended => Some(RunState::Stopped),
        _ => None,
    }
}

/// Why a process without thread data has an unknown state (for the evidence's notes).
pub const SRUN_WITHOUT_THREADS: &str = "state unknown: macOS reports every live process \
     that is not stopped as SRUN (XNU never sets SSLEEP), and this process's threads could \
     not be read, so whether it runs or waits cannot be told";

/// The process-level state: a hold if there is one, else the busiest of its threads'
/// states; without threads only a hold is known (SRUN says nothing, see the module
/// header).
pub fn process_state(
    p_stat: u32,
    traced: bool,
    task_suspended: bool,
    threads: &[RunState],
) -> RunState {
    if let Some(h) = process_hold(p_stat, traced, task_suspended) {
        return h;
    }
    if !threads.is_empty() {
        return if threads.contains(&RunState::Running) {
            RunState::Running
        } else if threads.contains(&RunState::DiskSleep) {
            RunState::DiskSleep
        } else if threads.iter().all(|s| *s == RunState::Stopped) {
            RunState::Stopped
        } else {
            RunState::Sleeping
        };
    }
    match p_stat {
        // Never set by XNU; kept in case a future kernel does.
        SSLEEP => RunState::Sleeping,
        // SRUN: live and not stopped, nothing more; SIDL: still being created by fork.
        _ => RunState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mach_thread_states() {
        assert_eq!(thread_state(1, 0, 0), RunState::Running);
        assert_eq!(thread_state(1, TH_FLAGS_IDLE, 0), RunState::Idle);
        assert_eq!(thread_state(2, 0, 0), RunState::Stopped);
        assert_eq!(thread_state(3, 0, 0), RunState::Sleeping);
        assert_eq!(thread_state(4, 0, 0), RunState::DiskSleep);
        assert_eq!(thread_state(5, 0, 0), RunState::Dead);
        assert_eq!(thread_state(0, 0, 0), RunState::Unknown);
        assert_eq!(thread_state(99, 0, 0), RunState::Unknown);
        // thread_suspend()ed: cannot run whatever it was doing.
        assert_eq!(thread_state(1, 0, 1), RunState::Stopped);
        assert_eq!(thread_state(5, 0, 1), RunState::Dead);
    }

    #[test]
    fn holds_override_threads() {
        let running = [RunState::Running, RunState::Sleeping];
        assert_eq!(
            process_state(SSTOP, false, false, &running),
            RunState::Stopped
        );
        assert_eq!(
            process_state(SSTOP, true, false, &running),
            RunState::TracingStop
        );
        assert_eq!(process_state(SZOMB, false, false, &[]), RunState::Zombie);
        assert_eq!(
            process_state(SRUN, false, true, &running),
            RunState::Stopped
        );
        assert_eq!(process_hold(SRUN, true, false), None);
    }

    #[test]
    fn process_state_from_threads_or_p_stat() {
        assert_eq!(
            process_state(SRUN, false, false, &[RunState::Sleeping, RunState::Running]),
            RunState::Running
        );
        assert_eq!(
            process_state(
                SRUN,
                false,
                false,
                &[RunState::Sleeping, RunState::DiskSleep]
            ),
            RunState::DiskSleep
        );
        assert_eq!(
            process_state(SRUN, false, false, &[RunState::Sleeping]),
            RunState::Sleeping
        );
        // SRUN is all XNU ever says of a live, unstopped process: without threads, no
        // claim that it runs (it may be idle forever).
        assert_eq!(process_state(SRUN, false, false, &[]), RunState::Unknown);
        assert_eq!(process_state(SSLEEP, false, false, &[]), RunState::Sleeping);
        assert_eq!(process_state(SIDL, false, false, &[]), RunState::Unknown);
    }
}
