//! The task-port path: `task_for_pid` + `task_threads` + `thread_info`, used only as root
//! and only when the target's code signature allows it (`darwin::permission::task_port`).
//! It adds what libproc does not give: each thread's `suspend_count` (a thread a debugger
//! suspended) and the task's own suspend count (a task someone `task_suspend`ed).
//!
//! Rules kept here (XNU `bsd/kern/kern_proc.c` `task_for_pid`; docs/macos-permissions.md):
//! - `task_for_pid` can block on taskgated, so it runs on a helper thread with a deadline;
//!   a port that arrives late is released by the helper.
//! - Every send right is released: the task port and each thread port, and the
//!   out-of-line thread array is deallocated (RAII guards, so an early return cannot leak).
//! - Failures are `kern_return_t`s, described with `mach_error_string`, never errno. Each
//!   answer `task_for_pid` can give is told apart (`darwin::permission::task_for_pid_result`):
//!   success with `MACH_PORT_NULL` (a process without a task), `KERN_FAILURE`,
//!   `KERN_PROTECTION_FAILURE` (dead task access port), `KERN_ABORTED` (interrupted upcall).

use crate::darwin::permission;
use libc::{c_char, c_int};
use mach2::kern_return::{KERN_SUCCESS, kern_return_t};
use mach2::mach_port::mach_port_deallocate;
use mach2::mach_types::thread_act_t;
use mach2::message::mach_msg_type_number_t;
use mach2::port::{MACH_PORT_NULL, mach_port_name_t};
use mach2::task::{task_info, task_threads};
use mach2::task_info::{MACH_TASK_BASIC_INFO, MACH_TASK_BASIC_INFO_COUNT, mach_task_basic_info};
use mach2::traps::{mach_task_self, task_for_pid};
use mach2::vm::mach_vm_deallocate;
use std::ffi::CStr;
use std::mem::size_of;
use std::sync::mpsc;
use std::time::Duration;

unsafe extern "C" {
    /// `mach/mach_error.h`: a static description of a Mach error code.
    fn mach_error_string(error_value: kern_return_t) -> *const c_char;
}

const _: () = assert!(size_of::<libc::thread_basic_info>() == 40);
const _: () = assert!(size_of::<libc::thread_identifier_info>() == 24);

/// "(os/kern) failure", as Mach describes `kr`.
pub fn error_text(kr: kern_return_t) -> String {
    // SAFETY: mach_error_string returns a pointer to a static NUL-terminated string.
    let p = unsafe { mach_error_string(kr) };
    if p.is_null() {
        return format!("kern_return_t {kr}");
    }
    // SAFETY: non-null, NUL-terminated, static.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy();
    format!("{s} ({kr})")
}

/// A send right to a task; released on drop.
struct TaskPort(mach_port_name_t);

impl Drop for TaskPort {
    fn drop(&mut self) {
        if self.0 != MACH_PORT_NULL {
            // SAFETY: we own this send right; releasing it once is correct.
            unsafe {
                mach_port_deallocate(mach_task_self(), self.0);
            }
        }
    }
}

/// The out-of-line array `task_threads` returns, with one send right per thread.
struct ThreadList {
    ptr: *mut thread_act_t,
    count: mach_msg_type_number_t,
}

impl ThreadList {
    fn threads(&self) -> &[thread_act_t] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: task_threads returned `count` valid entries at `ptr`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.count as usize) }
    }
}

impl Drop for ThreadList {
    fn drop(&mut self) {
        if self.ptr.is_null() {
            return;
        }
        // SAFETY: each entry is a send right we own; the array is a vm allocation of
        // count × sizeof(thread_act_t) bytes in our own task, released once.
        unsafe {
            let me = mach_task_self();
            for &th in self.threads() {
                mach_port_deallocate(me, th);
            }
            mach_vm_deallocate(
                me,
                self.ptr as u64,
                (self.count as usize * size_of::<thread_act_t>()) as u64,
            );
        }
    }
}

/// One thread as `thread_info` sees it.
#[derive(Clone, Debug)]
pub struct MachThread {
    /// The system-wide unique id (same ids as `PROC_PIDLISTTHREADIDS`).
    pub thread_id: u64,
    pub run_state: i32,
    pub flags: i32,
    pub suspend_count: i32,
    pub user_us: u64,
    pub system_us: u64,
}

/// A task's suspend count and its threads.
#[derive(Clone, Debug)]
pub struct MachTask {
    pub suspend_count: i32,
    pub threads: Vec<MachThread>,
    /// What went wrong on the way, for the evidence's notes.
    pub problems: Vec<String>,
}

/// `task_for_pid` on a helper thread, given up after `limit`.
fn task_port(pid: u32, limit: Duration) -> Result<TaskPort, String> {
    let (tx, rx) = mpsc::channel::<Result<TaskPort, String>>();
    std::thread::Builder::new()
        .name("gohang-task-for-pid".into())
        .spawn(move || {
            let mut port: mach_port_name_t = MACH_PORT_NULL;
            // SAFETY: plain trap with an out-pointer to a local.
            let kr = unsafe { task_for_pid(mach_task_self(), pid as c_int, &mut port) };
            // A port that came with an error, or none with success, is still released.
            let owned = TaskPort(port);
            let r = permission::task_for_pid_result(kr, port == MACH_PORT_NULL, &error_text(kr))
                .map(|()| owned);
            // If the caller gave up, the port is dropped (and released) here.
            let _ = tx.send(r);
        })
        .map_err(|e| format!("task_for_pid: no helper thread: {e}"))?;
    rx.recv_timeout(limit).unwrap_or_else(|_| {
        Err(format!(
            "task_for_pid did not answer within {} ms (waiting on taskgated?)",
            limit.as_millis()
        ))
    })
}

/// The task's suspend count and every thread's basic and identifier info.
pub fn read_task(pid: u32, limit: Duration) -> Result<MachTask, String> {
    let task = task_port(pid, limit)?;

    let mut basic = mach_task_basic_info::default();
    let mut count = MACH_TASK_BASIC_INFO_COUNT;
    // SAFETY: `basic` is a mach_task_basic_info of `count` natural_t units.
    let kr = unsafe {
        task_info(
            task.0,
            MACH_TASK_BASIC_INFO,
            (&mut basic as *mut mach_task_basic_info).cast(),
            &mut count,
        )
    };
    let mut problems = Vec::new();
    let suspend_count = if kr == KERN_SUCCESS {
        basic.suspend_count
    } else {
        problems.push(format!(
            "task_info: {} (the task's suspend count is unknown)",
            error_text(kr)
        ));
        0
    };

    let mut ptr: *mut thread_act_t = std::ptr::null_mut();
    let mut n: mach_msg_type_number_t = 0;
    // SAFETY: out-pointers to locals; on success the kernel hands us the array and rights.
    let kr = unsafe { task_threads(task.0, &mut ptr, &mut n) };
    if kr != KERN_SUCCESS {
        return Err(format!("task_threads: {}", error_text(kr)));
    }
    let list = ThreadList { ptr, count: n };

    let mut threads = Vec::with_capacity(list.threads().len());
    let mut lost: Option<String> = None;
    let mut lost_count = 0;
    for &th in list.threads() {
        // SAFETY: thread_basic_info is plain integers; all-zero is valid.
        let mut bi: libc::thread_basic_info = unsafe { std::mem::zeroed() };
        let mut cnt = libc::THREAD_BASIC_INFO_COUNT;
        // SAFETY: `bi` holds THREAD_BASIC_INFO_COUNT integer_t units.
        let kr = unsafe {
            libc::thread_info(
                th,
                libc::THREAD_BASIC_INFO as libc::thread_flavor_t,
                (&mut bi as *mut libc::thread_basic_info).cast(),
                &mut cnt,
            )
        };
        if kr != KERN_SUCCESS {
            // Usually the thread ended in between; counted and told, not hidden.
            lost_count += 1;
            lost.get_or_insert_with(|| format!("thread_info: {}", error_text(kr)));
            continue;
        }
        // SAFETY: thread_identifier_info is plain integers; all-zero is valid.
        let mut ii: libc::thread_identifier_info = unsafe { std::mem::zeroed() };
        let mut cnt = libc::THREAD_IDENTIFIER_INFO_COUNT;
        // SAFETY: `ii` holds THREAD_IDENTIFIER_INFO_COUNT integer_t units.
        let kr = unsafe {
            libc::thread_info(
                th,
                libc::THREAD_IDENTIFIER_INFO as libc::thread_flavor_t,
                (&mut ii as *mut libc::thread_identifier_info).cast(),
                &mut cnt,
            )
        };
        if kr != KERN_SUCCESS {
            lost_count += 1;
            lost.get_or_insert_with(|| format!("thread_info: {}", error_text(kr)));
            continue;
        }
        let us = |t: libc::time_value_t| {
            t.seconds.max(0) as u64 * 1_000_000 + t.microseconds.max(0) as u64
        };
        threads.push(MachThread {
            thread_id: ii.thread_id,
            run_state: bi.run_state,
            flags: bi.flags,
            suspend_count: bi.suspend_count,
            user_us: us(bi.user_time),
            system_us: us(bi.system_time),
        });
    }
    if let Some(first) = lost {
        problems.push(format!(
            "{lost_count} of {} threads could not be read through the task port ({first})",
            list.threads().len()
        ));
    }
    drop(list);
    drop(task);
    Ok(MachTask {
        suspend_count,
        threads,
        problems,
    })
}
