//! The macOS observer: samples a process tree with libproc and sysctl, and — as root, where
//! the target's signature allows — Mach task ports. It collects and decides nothing; the
//! pure parts (struct layouts, state mapping, parsers, permission wording) live in
//! `crate::darwin` and are tested on every OS.
//!
//! Facts it relies on (XNU `bsd/kern/proc_info.c`, `osfmk/kern/bsd_kern.c`,
//! `bsd/kern/kern_sysctl.c`; docs/macos-permissions.md lists the sources):
//! - Thread states and CPU times come from `PROC_PIDLISTTHREADIDS` +
//!   `PROC_PIDTHREADID64INFO`, which need no task port for the user's own processes.
//! - `sysctl KERN_PROC_PID` works for any pid: state, `P_TRANSLATED` (Rosetta 2),
//!   `P_TRACED`, parent, terminal. Another user's process gives only these (and its path)
//!   without root; `snapshot` then refuses with `PermissionDenied`, naming what is needed.
//! - Task-level CPU totals (`proc_taskinfo`) are Mach absolute-time ticks (×125/3 ns on
//!   Apple Silicon), per-thread times nanoseconds. A gohang itself running under Rosetta is
//!   told the Intel timebase (1/1) and converts with `hw.tbfrequency` instead
//!   (`darwin::ticks`).
//! - `task_for_pid` is tried only as root, time-boxed, and only when `csops` says the
//!   target's signature allows it; libproc remains the source of thread states.

mod abi;
mod fdinfo;
mod libproc;
mod mach;
mod sample;
mod security;
mod sysctl;


pub use mach::{MachTask, MachThread, read_task};
pub use sample::native_stacks;
pub use security::sip;

use crate::binary;
use crate::darwin::procargs::{self, Environ};
use crate::darwin::ticks::TickRate;
use crate::darwin::{self, permission, rosetta, state};
use crate::error::ObserveError;
use crate::evidence::{
    Arch, ExeInfo, HostInfo, Fact, Os, ProcessSnapshot, RunState, ThreadSample, Translation,
    Tty,
};
use super::tree::ParentMap;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `task_for_pid` may take before gohang gives up on it.
const TASK_PORT_LIMIT: Duration = Duration::from_millis(300);
const NO_SYSCALL: &str =
    "macOS does not report a thread's current system call (dtruss can trace them as root)";
const NO_SIGNALS: &str = "macOS does not report another process's pending or blocked signals";
const NO_CGROUPS: &str = "macOS has no cgroups";

fn rosetta_translation() -> Translation {
    // Rosetta 2 translates x86_64 code only.
    Translation::Rosetta {
        program_arch: Some(Arch::X86_64),
    }
}

/// The Mac gohang runs on. Fast: sysctls and two file tests, no x86 code is run.
pub fn host_info() -> HostInfo {
    let uts = nix::sys::utsname::uname().ok();
    let arch = uts
        .as_ref()
        .map(|u| Arch::parse(&u.machine().to_string_lossy()))
        .unwrap_or_else(|| Arch::parse(std::env::consts::ARCH));
    // 1 translated, 0 native, absent (ENOENT) on Intel Macs and before Big Sur.
    let translated = sysctl::by_name_i32(c"sysctl.proc_translated") == Some(1);
    // 1 on Apple Silicon even when asked from a translated process (Homebrew/install#319).
    let hardware_arch = match sysctl::by_name_i32(c"hw.optional.arm64") {
        Some(1) => Arch::Aarch64,
        _ if translated => Arch::Aarch64,
        _ => arch.clone(),
    };
    let product = sysctl::by_name_string(c"kern.osproductversion");
    let release = uts
        .as_ref()
        .map(|u| u.release().to_string_lossy().into_owned());
    let kernel = match (product, release) {
        (Some(p), Some(r)) => Some(format!("macOS {p} (Darwin {r})")),
        (Some(p), None) => Some(format!("macOS {p}")),
        (None, Some(r)) => Some(format!("Darwin {r}")),
        (None, None) => None,
    };
    // The arm64 Homebrew's own place; an x86_64 one lives in /usr/local (Homebrew's install
    // script picks the prefix by the architecture it runs as).
    let arm64_homebrew =
        (hardware_arch == Arch::Aarch64).then(|| Path::new("/opt/homebrew/bin/brew").exists());
    HostInfo {
        os: Os::Macos,
        rosetta_installed: rosetta::installed(&hardware_arch, |p| Path::new(p).exists()),
        arm64_homebrew,
        arch,
        hardware_arch,
        translation: if translated {
            rosetta_translation()
        } else {
            Translation::Native
        },
        kernel,
        cpus: std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1),
        binfmt: Vec::new(),
    }
}

/// The raw NUL-separated environment of `pid` (the area after argv in `KERN_PROCARGS2`).
/// None when it cannot be read, or when macOS withholds it (a restricted program).
pub fn raw_environ(pid: u32) -> Option<Vec<u8>> {
    match sysctl::procargs(pid).ok()?.2 {
        Environ::Present(env) => Some(env),
        Environ::Withheld => None,
    }
}

/// `kinfo_proc` facts of any pid (no privilege needed); None when there is no such process.
pub fn process_facts(pid: u32) -> Option<darwin::kinfo::ProcFacts> {
    sysctl::kinfo(pid).ok().flatten()
}

/// The name of `pid`: libproc's (`pbi_name`, up to 32 bytes; same uid or root), else
/// `kinfo_proc`'s `p_comm` (16 bytes, any pid). `proc_name(3)` goes through the same
/// `PROC_PIDTBSDINFO` and so returns nothing for another user's process.
pub fn process_name(pid: u32, facts: &darwin::kinfo::ProcFacts) -> String {
    libproc::bsd_info(pid)
        .ok()
        .map(|b| bsd_name(&b))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| facts.comm.clone())
}

/// `pbi_name` (the longer name, if one is registered), else `pbi_comm`.
fn bsd_name(b: &libc::proc_bsdinfo) -> String {
    let name: Vec<u8> = b.pbi_name.iter().map(|&c| c as u8).collect();
    let comm: Vec<u8> = b.pbi_comm.iter().map(|&c| c as u8).collect();
    let n = darwin::c_str(&name);
    if n.is_empty() {
        darwin::c_str(&comm)
    } else {
        n
    }
}

/// Whether `pid` is dead and waiting to be reaped.
pub fn is_zombie(pid: u32) -> bool {
    matches!(sysctl::kinfo(pid), Ok(Some(f)) if f.stat == state::SZOMB)
}

/// Run a system tool with a deadline; its stdout and stderr together.
pub(crate) fn run_timeboxed(
    program: &str,
    args: &[&str],
    limit: Duration,
) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} did not finish within {} ms",
                    limit.as_millis()
                ));
            }
        }
    }
    let mut text = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut text);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut text);
    }
    Ok(text)
}

/// Facts about a process that do not change until it execs.
#[derive(Clone)]
struct Static {
    exe: Fact<String>,
    argv: Fact<Vec<String>>,
    binary: Fact<ExeInfo>,
    env: std::collections::BTreeMap<String, String>,
    /// Set when macOS withheld the environment.
    env_withheld: bool,
    cwd: Option<String>,
    go_version: Option<String>,
    /// Code-signing status (`csops`), for the task-port decision.
    cs_flags: Option<u32>,
}

/// Reads processes with libproc and sysctl for `observe::Sampler`. Keeps per-process
/// facts between samples, keyed by pid, start time and command name (an exec keeps the
/// first two and changes the third).
pub struct Backend {
    euid: u32,
    /// Mach absolute-time ticks → nanoseconds.
    tick_rate: TickRate,
    statics: HashMap<(u32, u64, String), Static>,
    sip: Option<Option<darwin::csr::Sip>>,
}

/// Nothing a sample reads once for all its processes.
#[derive(Default)]
pub struct SampleCtx;

/// The children of a process, asked of the kernel pid by pid (any user's).
pub fn parent_map() -> ParentMap {
    ParentMap::Live(libproc::child_pids)
}

impl Backend {
    pub fn new(_host: &HostInfo) -> Backend {
        let mut tb = mach2::mach_time::mach_timebase_info::default();
        // SAFETY: writes the two fields of `tb`.
        let kr = unsafe { mach2::mach_time::mach_timebase_info(&mut tb) };
        let translated = sysctl::by_name_i32(c"sysctl.proc_translated") == Some(1);
        let tick_rate = TickRate::choose(
            (kr == 0).then_some((tb.numer, tb.denom)),
            translated,
            sysctl::by_name_u64(c"hw.tbfrequency"),
        );
        Backend {
            // SAFETY: geteuid has no preconditions.
            euid: unsafe { libc::geteuid() },
            tick_rate,
            statics: HashMap::new(),
            sip: None,
        }
    }

    /// One process of a sample; another user's process is kept with what any user may
    /// read.
    pub fn snapshot_in(
        &mut self,
        pid: u32,
        _ctx: &mut SampleCtx,
    ) -> Result<ProcessSnapshot, ObserveError> {
        self.read_process(pid, false)
    }

    /// Nothing to add once the trees are read: the holders of what processes wait for
    /// are found per process (`fdinfo`).
    pub fn complete(
        &mut self,
        _children: &ParentMap,
        _excluded: &HashSet<u32>,
        _seen: &mut HashSet<u32>,
        _processes: &mut Vec<ProcessSnapshot>,
        _ctx: &mut SampleCtx,
    ) {
    }

    /// Forget the facts kept about processes no longer alive (pid, start time).
    pub fn retain_live(&mut self, live: &HashSet<(u32, u64)>) {
        self.statics
            .retain(|(pid, start, _), _| live.contains(&(*pid, *start)));
    }

    /// One process, all its threads. Another user's process without root is refused with
    /// `PermissionDenied` saying what is needed.
    pub fn snapshot(&mut self, pid: u32) -> Result<ProcessSnapshot, ObserveError> {
        self.read_process(pid, true)
    }

    fn read_static(&self, pid: u32) -> Static {
        let exe: Fact<String> = libproc::pid_path(pid)
            .map_err(|e| format!("executable path: {e}"))
            .into();
        let args = sysctl::procargs(pid);
        let (env, env_withheld) = match args.as_ref() {
            Ok((_, _, Environ::Present(raw))) => (crate::redact::filter_environ(raw), false),
            Ok((_, _, Environ::Withheld)) => (Default::default(), true),
            Err(_) => (Default::default(), false),
        };
        let argv: Fact<Vec<String>> = args.map(|(_, a, _)| a).into();
        let binary: Fact<ExeInfo> = match exe.value() {
            Some(p) => binary::exe_info(Path::new(p)).into(),
            None => Fact::unavailable("executable path unknown"),
        };
        let go_version = exe
            .value()
            .and_then(|p| crate::inspect::go_build_info(Path::new(p)).ok().flatten())
            .map(|b| b.version);
        Static {
            exe,
            argv,
            binary,
            env,
            env_withheld,
            cwd: libproc::cwd(pid).ok(),
            go_version,
            cs_flags: security::cs_status(pid),
        }
    }

    fn sip(&mut self) -> Option<darwin::csr::Sip> {
        *self.sip.get_or_insert_with(security::sip)
    }

    fn read_process(&mut self, pid: u32, strict: bool) -> Result<ProcessSnapshot, ObserveError> {
        let facts = match sysctl::kinfo(pid) {
            Ok(Some(f)) => f,
            Ok(None) => return Err(ObserveError::NoSuchProcess { pid }),
            Err(e) => {
                return Err(ObserveError::Io {
                    context: format!("sysctl KERN_PROC_PID {pid}"),
                    source: e,
                });
            }
        };
        let bsd = match libproc::bsd_info(pid) {
            Ok(b) => Some(b),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                return Err(ObserveError::NoSuchProcess { pid });
            }
            Err(e) if e.raw_os_error() == Some(libc::EPERM) && strict => {
                return Err(ObserveError::PermissionDenied {
                    pid,
                    need: permission::libproc_denied(pid, Some(facts.uid), self.euid),
                });
            }
            Err(_) => None,
        };

        let key = (pid, facts.start_us, facts.comm.clone());
        if !self.statics.contains_key(&key) {
            let s = self.read_static(pid);
            self.statics.insert(key.clone(), s);
        }
        let st = self.statics[&key].clone();

        let zombie = facts.stat == state::SZOMB;
        let traced = facts.traced();

        // Threads, from libproc.
        let mut threads: Vec<(u64, ThreadSample)> = Vec::new();
        let task = if bsd.is_some() && !zombie {
            libproc::task_info(pid).ok()
        } else {
            None
        };
        if bsd.is_some() && !zombie {
            let hint = task.map(|t| t.pti_threadnum.max(0) as usize).unwrap_or(16);
            for id in libproc::thread_ids(pid, hint).unwrap_or_default() {
                let Ok(ti) = libproc::thread_info(pid, id) else {
                    continue; // the thread ended in between
                };
                let name = ti.pth_name.iter().map(|&c| c as u8).collect::<Vec<u8>>();
                threads.push((
                    id,
                    ThreadSample {
                        // Unique thread ids are 64-bit; they stay far below 2^32 in practice.
                        tid: id as u32,
                        name: darwin::c_str(&name),
                        state: state::thread_state(ti.pth_run_state, ti.pth_flags, 0),
                        wchan: None,
                        syscall: Fact::unavailable(NO_SYSCALL),
                        utime_ms: ti.pth_user_time / 1_000_000,
                        stime_ms: ti.pth_system_time / 1_000_000,
                        run_delay_ms: None,
                    },
                ));
            }
        }

        // The task port adds suspend counts (root only, where the signature allows it).
        let mut task_suspended = false;
        // (SIP is looked up only as root: task_port refuses everyone else first.)
        let sip = if self.euid == 0 { self.sip() } else { None };
        let mut notes: Vec<String> = Vec::new();
        let task_port = match permission::task_port(self.euid, st.cs_flags, sip.as_ref()) {
            _ if zombie => None,
            Ok(()) => match mach::read_task(pid, TASK_PORT_LIMIT) {
                Ok(mt) => Some(mt),
                Err(e) => {
                    notes.push(format!("task port: {e}"));
                    None
                }
            },
            // Only root could have had it: said then, not for every process of a user run.
            Err(why) if self.euid == 0 => {
                notes.push(why);
                None
            }
            Err(_) => None,
        };
        if let Some(mt) = task_port {
            notes.extend(mt.problems.iter().map(|p| format!("task port: {p}")));
            task_suspended = mt.suspend_count > 0;
            // Threads come from libproc; the task port only fills in when it gave none.
            let from_libproc = !threads.is_empty();
            for m in &mt.threads {
                match threads.iter_mut().find(|(id, _)| *id == m.thread_id) {
                    Some((_, t)) => {
                        t.state = state::thread_state(m.run_state, m.flags, m.suspend_count);
                    }
                    None if !from_libproc => threads.push((
                        m.thread_id,
                        ThreadSample {
                            tid: m.thread_id as u32,
                            name: String::new(),
                            state: state::thread_state(m.run_state, m.flags, m.suspend_count),
                            wchan: None,
                            syscall: Fact::unavailable(NO_SYSCALL),
                            utime_ms: m.user_us / 1000,
                            stime_ms: m.system_us / 1000,
                            run_delay_ms: None,
                        },
                    )),
                    None => {}
                }
            }
        }

        let mut threads: Vec<ThreadSample> = threads.into_iter().map(|(_, t)| t).collect();
        if let Some(hold) = state::process_hold(facts.stat, traced, task_suspended) {
            for t in &mut threads {
                if t.state != RunState::Dead {
                    t.state = hold;
                }
            }
        }
        let states: Vec<RunState> = threads.iter().map(|t| t.state).collect();
        let run_state = state::process_state(facts.stat, traced, task_suspended, &states);
        if threads.is_empty() && run_state == RunState::Unknown && facts.stat == state::SRUN {
            notes.push(match &bsd {
                None if facts.uid != self.euid && self.euid != 0 => format!(
                    "{} (it belongs to uid {}; as root gohang can read them)",
                    state::SRUN_WITHOUT_THREADS,
                    facts.uid
                ),
                _ => state::SRUN_WITHOUT_THREADS.to_string(),
            });
        }
        if st.env_withheld {
            notes.push(procargs::WITHHELD.to_string());
        }

        let cpu_ms = task
            .and_then(|t| {
                self.tick_rate
                    .ticks_to_ms(t.pti_total_user.saturating_add(t.pti_total_system))
            })
            .unwrap_or_else(|| threads.iter().map(|t| t.cpu_ms()).sum());

        // A debugger re-parents what it attaches to: the current parent is the tracer,
        // the original one is kept in p_oppid.
        let tracer_pid = traced.then_some(facts.ppid).filter(|p| *p > 1);
        let ppid = match (traced, facts.original_ppid) {
            (true, Some(orig)) => orig,
            _ => facts.ppid,
        };
        let tracer_comm = tracer_pid
            .and_then(|t| sysctl::kinfo(t).ok().flatten())
            .map(|f| f.comm);

        let (tdev, tpgid) = match &bsd {
            Some(b) => (b.e_tdev, b.e_tpgid as i32),
            None => (facts.tdev, facts.tpgid),
        };
        let tty = (facts.has_tty() || tdev != darwin::NODEV && tdev != 0).then(|| Tty {
            dev: tdev as u64,
            name: darwin::tty_name(tdev),
            foreground_pgrp: (tpgid > 0).then_some(tpgid),
        });

        let comm = bsd
            .as_ref()
            .map(bsd_name)
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| facts.comm.clone());

        let sockets = if bsd.is_some() && !zombie {
            libproc::sockets(pid).unwrap_or_default()
        } else {
            Vec::new()
        };

        // SAFETY: getsid has no memory preconditions; -1 means unknown.
        let session = unsafe { libc::getsid(pid as libc::pid_t) }.max(0);

        Ok(ProcessSnapshot {
            pid,
            ppid,
            pgrp: facts.pgid,
            session,
            start_time: facts.start_us,
            uid: Some(facts.ruid),
            comm,
            exe: st.exe,
            argv: st.argv,
            state: run_state,
            tracer_pid,
            tracer_comm,
            signals: Fact::unavailable(NO_SIGNALS),
            tty,
            binary: st.binary,
            translation: if facts.translated() {
                rosetta_translation()
            } else {
                Translation::Native
            },
            go_version: st.go_version,
            cgroup: Fact::unavailable(NO_CGROUPS),
            cpu_ms,
            threads,
            sockets,
            // Not read on macOS yet. PROC_PIDLISTFDS gives each descriptor's number and type
            // only; its path needs `proc_pidfdinfo(PROC_PIDFDVNODEPATHINFO)` into a
            // `vnode_fdinfowithpath`, whose flavor number and layout have not been verified
            // for this backend (darwin::socket asserts every layout it reads), and no call
            // verified for it lists a file's lock holders and waiters as Linux /proc/locks
            // does. So prompt-wait on a terminal read and lock-wait are not seen here (nor
            // is the current system call, which a terminal read would also need).
            fds: Vec::new(),
            locks: Vec::new(),
            descriptor_waits: fdinfo::write_waits(pid),
            io: None,
            written_files: Vec::new(),
            resolver: None,
            env: st.env,
            cwd: st.cwd,
            notes,
        })
    }
}
