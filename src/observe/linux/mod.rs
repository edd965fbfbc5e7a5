//! The Linux observer: samples a process tree from /proc. It collects and decides nothing.
//!
//! Facts it relies on (LINUX.md, `proc(5)`):
//! - `/proc/PID/status` `State:` is the thread-group leader's only; every thread's state
//!   and CPU time come from `/proc/PID/task/TID/stat`.
//! - A process is identified by (pid, start time): pids wrap quickly.
//! - Reading `cmdline`/`environ` of a task in `D` can block on its memory lock, so those
//!   reads are time-boxed on a helper thread; gohang must never hang itself.
//! - `/proc/PID/task/TID/syscall` needs ptrace access; without it the field is
//!   recorded as unavailable, and the sample goes on.

mod cgroup;
mod descriptors;
mod fanotify;
mod files;
mod host;
mod mounts;
mod sockdiag;
mod tcpdiag;
mod unixdiag;

pub use host::{binfmt_handlers, host_info};
pub use mounts::remote_fs_at;

/// The fanotify listeners of the machine, when a thread of the newest sample sleeps in the
/// kernel's fanotify code (waiting for a permission decision); None otherwise.
pub fn access_monitors(samples: &[crate::evidence::Sample]) -> Option<crate::evidence::AccessMonitors> {
    let waits = samples.last()?.processes.iter().any(|p| {
        p.threads
            .iter()
            .any(|t| t.wchan.as_deref().is_some_and(|w| w.contains("fanotify")))
    });
    waits.then(fanotify::listeners)
}

use crate::binary;
use crate::error::ObserveError;
use crate::evidence::{
    Arch, CgroupInfo, CgroupVersion, Emulator, ExeInfo, HostInfo, Fact, ProcessSnapshot, RunState,
    SignalMasks, SyscallState, ThreadSample, Translation, Tty,
};
use crate::syscalls;
use super::tree::{ParentMap, descendants};
use procfs::FromRead;
use procfs::process::{Stat, Status};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

/// How long a read that can block on the target's memory lock may take.
const SLOW_READ_LIMIT: Duration = Duration::from_millis(300);

/// How many times a lock holder outside the tree is followed to the holder of the lock
/// it waits for in turn, and how many such processes one sample takes at most.
const HOLDER_HOPS: usize = 4;
const HOLDER_PROCS: usize = 32;

/// Facts about a process that do not change while it lives, read once.
#[derive(Clone)]
struct Static {
    exe: Fact<String>,
    argv: Fact<Vec<String>>,
    binary: Fact<ExeInfo>,
    translation: Translation,
    env: BTreeMap<String, String>,
    cwd: Option<String>,
    go_version: Option<String>,
}

/// What one sample reads once for all its processes.
#[derive(Default)]
pub struct SampleCtx {
    net: files::NetTables,
    locks: Option<Vec<files::LockRow>>,
}

impl SampleCtx {
    fn locks(&mut self) -> &[files::LockRow] {
        self.locks.get_or_insert_with(|| {
            fs::read_to_string("/proc/locks")
                .map(|t| files::parse_locks(&t))
                .unwrap_or_default()
        })
    }
}

/// Reads processes from /proc for `observe::Sampler`. Keeps per-process facts between
/// samples, so a second sample of the same tree reads only what changes.
pub struct Backend {
    host: HostInfo,
    /// Enabled binfmt handlers' interpreters, resolved (as `/proc/PID/exe` shows them).
    /// Found on first use: a probe that finishes in time never needs them.
    interpreters: OnceLock<Vec<(String, Emulator, Option<Arch>)>>,
    statics: HashMap<(u32, u64), Static>,
    ms_per_tick: f64,
    cgroups: OnceLock<cgroup::Mounts>,
    buf: Vec<u8>,
    /// Holders of the pipes and FIFOs waited on, found once and checked each sample.
    peers: descriptors::PeerCache,
}

impl Backend {
    /// Cheap: no I/O until the first snapshot.
    pub fn new(host: &HostInfo) -> Backend {
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Backend {
            host: host.clone(),
            interpreters: OnceLock::new(),
            statics: HashMap::new(),
            ms_per_tick: 1000.0 / if ticks > 0 { ticks as f64 } else { 100.0 },
            cgroups: OnceLock::new(),
            buf: Vec::with_capacity(4096),
            peers: descriptors::PeerCache::default(),
        }
    }

    fn interpreters(&self) -> &[(String, Emulator, Option<Arch>)] {
        self.interpreters.get_or_init(|| {
            self.host
                .binfmt
                .iter()
                .filter(|h| h.enabled)
                .map(|h| {
                    let resolved = h.resolved.clone().unwrap_or_else(|| h.interpreter.clone());
                    (
                        resolved,
                        Emulator::from_interpreter(&h.interpreter),
                        h.arch.clone(),
                    )
                })
                .collect()
        })
    }

    /// What one sample adds once every process of the trees is read: the holders of the
    /// locks they wait for (with their descendants), and the other ends of the pipes they
    /// wait on.
    pub fn complete(
        &mut self,
        children: &ParentMap,
        excluded: &HashSet<u32>,
        seen: &mut HashSet<u32>,
        processes: &mut Vec<ProcessSnapshot>,
        ctx: &mut SampleCtx,
    ) {
        self.follow_lock_holders(children, excluded, seen, processes, ctx);
        self.find_peers(processes);
    }

    /// Forget the facts kept about processes no longer alive (pid, start time).
    pub fn retain_live(&mut self, live: &HashSet<(u32, u64)>) {
        self.statics.retain(|k, _| live.contains(k));
    }

    /// The holders of the locks sampled processes wait for are usually not their
    /// descendants (another go, gopls, a CI job): sample them and their descendants too, so
    /// that what a holder itself waits for can be told. A holder waiting for a lock in turn
    /// is followed again, up to [`HOLDER_HOPS`] hops and [`HOLDER_PROCS`] processes; a
    /// process already sampled is never taken twice (a cycle of lock waits ends there).
    fn follow_lock_holders(
        &mut self,
        children: &ParentMap,
        excluded: &HashSet<u32>,
        seen: &mut HashSet<u32>,
        processes: &mut Vec<ProcessSnapshot>,
        ctx: &mut SampleCtx,
    ) {
        let mut from = 0;
        let mut added = 0;
        for _ in 0..HOLDER_HOPS {
            let holders: Vec<(u32, Option<u64>)> = processes[from..]
                .iter()
                .flat_map(|p| p.locks.iter())
                .filter(|l| l.waiting)
                .filter_map(|l| l.holder.as_ref().map(|h| (h.pid, h.start_time)))
                .filter(|(pid, _)| !seen.contains(pid) && !excluded.contains(pid))
                .collect();
            if holders.is_empty() {
                return;
            }
            from = processes.len();
            for (holder, start) in holders {
                // The holder itself first: a pid taken since by another process (its start
                // time differs) is not the holder, and nothing below it is sampled.
                let Ok(h) = self.snapshot_in(holder, ctx) else {
                    continue;
                };
                if start.is_some_and(|t| t != h.start_time) || !seen.insert(holder) {
                    continue;
                }
                processes.push(h);
                added += 1;
                for pid in descendants(children, &[holder]).into_iter().skip(1) {
                    if added >= HOLDER_PROCS {
                        return;
                    }
                    if excluded.contains(&pid) || !seen.insert(pid) {
                        continue;
                    }
                    if let Ok(p) = self.snapshot_in(pid, ctx) {
                        processes.push(p);
                        added += 1;
                    }
                }
            }
        }
    }

    /// One process, all its threads.
    pub fn snapshot(&mut self, pid: u32) -> Result<ProcessSnapshot, ObserveError> {
        let p = self.snapshot_in(pid, &mut SampleCtx::default())?;
        let mut one = [p];
        self.find_peers(&mut one);
        let [p] = one;
        Ok(p)
    }

    /// Who holds the other end of the pipes and FIFOs threads of `processes` wait on: one
    /// search for all of them.
    fn find_peers(&mut self, processes: &mut [ProcessSnapshot]) {
        let mut waits: Vec<(u32, &mut Vec<crate::evidence::DescriptorWait>)> = processes
            .iter_mut()
            .filter(|p| !p.descriptor_waits.is_empty())
            .map(|p| (p.pid, &mut p.descriptor_waits))
            .collect();
        if !waits.is_empty() {
            descriptors::find_peers(&mut waits, &self.host.arch, &mut self.peers);
        }
    }

    /// One process of a sample: what it shares with the other processes of the sample
    /// (the socket and lock tables) is read once, into `ctx`.
    pub fn snapshot_in(
        &mut self,
        pid: u32,
        ctx: &mut SampleCtx,
    ) -> Result<ProcessSnapshot, ObserveError> {
        let dir = PathBuf::from(format!("/proc/{pid}"));
        read_into(&dir.join("stat"), &mut self.buf).map_err(|e| proc_error(pid, "stat", e))?;
        let stat = Stat::from_read(&self.buf[..]).map_err(|e| ObserveError::Io {
            context: format!("parsing /proc/{pid}/stat"),
            source: io::Error::other(e.to_string()),
        })?;
        let status = read_into(&dir.join("status"), &mut self.buf)
            .ok()
            .and_then(|_| Status::from_read(&self.buf[..]).ok());

        let threads = self.threads(&dir);
        // A thread in uninterruptible sleep may be waiting on a dead FUSE or NFS server:
        // then no file of that kind is touched (see `mounts`).
        let stuck_io = threads.iter().any(|t| t.state == RunState::DiskSleep);
        let key = (pid, stat.starttime);
        if !self.statics.contains_key(&key) {
            let s = self.read_static(pid, &dir, stuck_io);
            self.statics.insert(key, s);
        }
        let st = self.statics[&key].clone();

        let signals = match &status {
            Some(s) => Fact::Collected(SignalMasks {
                pending: s.sigpnd | s.shdpnd,
                blocked: s.sigblk,
                ignored: s.sigign,
                caught: s.sigcgt,
            }),
            None => Fact::unavailable("status unreadable"),
        };
        let tracer_pid = status
            .as_ref()
            .map(|s| s.tracerpid)
            .filter(|t| *t > 0)
            .map(|t| t as u32);
        let tty = (stat.tty_nr != 0).then(|| Tty {
            dev: stat.tty_nr as u32 as u64,
            name: tty_name(stat.tty_nr as u32),
            foreground_pgrp: (stat.tpgid > 0).then_some(stat.tpgid),
        });
        let cgroup: Fact<CgroupInfo> = match read_into(&dir.join("cgroup"), &mut self.buf) {
            Ok(()) => {
                let mounts = self.cgroups.get_or_init(cgroup::Mounts::read);
                let quota = mounts.cpu_quota_of(&self.buf);
                match (mounts.state_of(&self.buf), quota) {
                    (Ok(mut c), q) => {
                        c.cpu_quota = q;
                        Fact::Collected(c)
                    }
                    // No freezer state to read, but a CPU limit: that much is known.
                    (Err(_), Some(q)) => Fact::Collected(CgroupInfo {
                        version: if q.file.ends_with("cpu.cfs_quota_us") {
                            CgroupVersion::V1
                        } else {
                            CgroupVersion::V2
                        },
                        path: q.path.clone(),
                        state_file: None,
                        frozen: false,
                        state: None,
                        frozen_by: None,
                        cpu_quota: Some(q),
                    }),
                    (Err(e), None) => Fact::unavailable(e),
                }
            }
            Err(e) => Fact::unavailable(e.to_string()),
        };
        let fds = files::fds(&dir);
        let sockets = ctx.net.sockets(&dir, &fds);
        let locks = files::locks_of(pid, ctx.locks(), &fds, &dir, stuck_io);
        let descriptor_waits = descriptors::waits(&dir, &threads, &fds, &self.host.arch, stuck_io);
        let io = descriptors::io_counters(&dir);
        let written_files = files::written_files(&dir, &fds, stuck_io);
        let resolver = if !stuck_io && sockets.iter().any(files::to_nameserver) {
            files::resolver_of(&dir)
        } else {
            None
        };

        Ok(ProcessSnapshot {
            pid,
            ppid: stat.ppid.max(0) as u32,
            pgrp: stat.pgrp,
            session: stat.session,
            start_time: stat.starttime,
            uid: status.as_ref().map(|s| s.ruid),
            comm: stat.comm.clone(),
            exe: st.exe,
            argv: st.argv,
            state: RunState::from_linux(stat.state),
            tracer_pid,
            tracer_comm: tracer_pid
                .and_then(|t| fs::read_to_string(format!("/proc/{t}/comm")).ok())
                .map(|s| s.trim().to_string()),
            signals,
            tty,
            binary: st.binary,
            translation: st.translation,
            go_version: st.go_version,
            cgroup,
            cpu_ms: self.ticks_ms(stat.utime + stat.stime),
            threads,
            sockets,
            fds,
            locks,
            descriptor_waits,
            io,
            written_files,
            resolver,
            env: st.env,
            cwd: st.cwd,
            notes: Vec::new(),
        })
    }

    fn ticks_ms(&self, ticks: u64) -> u64 {
        (ticks as f64 * self.ms_per_tick).round() as u64
    }

    fn threads(&mut self, dir: &Path) -> Vec<ThreadSample> {
        let Ok(entries) = fs::read_dir(dir.join("task")) else {
            return Vec::new();
        };
        let mut tids: Vec<u32> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
            .collect();
        tids.sort_unstable();
        let mut out = Vec::with_capacity(tids.len());
        for tid in tids {
            let tdir = dir.join("task").join(tid.to_string());
            if read_into(&tdir.join("stat"), &mut self.buf).is_err() {
                continue; // the thread exited
            }
            let Ok(ts) = Stat::from_read(&self.buf[..]) else {
                continue;
            };
            let wchan = fs::read_to_string(tdir.join("wchan"))
                .ok()
                .map(|w| w.trim().to_string())
                .filter(|w| !w.is_empty() && w != "0");
            let syscall = match read_into(&tdir.join("syscall"), &mut self.buf) {
                Ok(()) => parse_syscall(&self.buf, &self.host.arch),
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Fact::unavailable(
                    "permission denied (needs ptrace access to the process: root, or the same user with kernel.yama.ptrace_scope=0)",
                ),
                Err(e) => Fact::unavailable(e.to_string()),
            };
            out.push(ThreadSample {
                tid,
                name: ts.comm.clone(),
                state: RunState::from_linux(ts.state),
                wchan,
                syscall,
                utime_ms: self.ticks_ms(ts.utime),
                stime_ms: self.ticks_ms(ts.stime),
                run_delay_ms: read_into(&tdir.join("schedstat"), &mut self.buf)
                    .ok()
                    .and_then(|()| parse_run_delay_ms(&self.buf)),
            });
        }
        out
    }

    fn read_static(&self, pid: u32, dir: &Path, stuck_io: bool) -> Static {
        let exe: Fact<String> = fs::read_link(dir.join("exe"))
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|e| describe(&e, "exe"))
            .into();
        let argv: Fact<Vec<String>> = read_timeboxed(dir.join("cmdline"), SLOW_READ_LIMIT)
            .map(|b| split_nul(&b))
            .into();
        // Not a path the process may be stuck on (see `mounts`).
        let unsafe_path = |path: &str| -> Option<String> {
            let fs = stuck_io
                .then(|| mounts::remote_fs_at(pid, Path::new(path)))
                .flatten()?;
            Some(format!(
                "not read: {path} is on a {fs} file system and the process is in uninterruptible sleep"
            ))
        };
        let exe_risk = exe.value().and_then(|e| unsafe_path(e));
        // Opening /proc/PID/exe opens the executable itself, even if it was deleted.
        let binary: Fact<ExeInfo> = match &exe_risk {
            Some(why) => Fact::unavailable(why.clone()),
            None => binary::exe_info(&dir.join("exe")).into(),
        };
        let translation = match &exe_risk {
            Some(_) => Translation::Native,
            None => self.translation_of(dir, exe.value(), argv.value()),
        };
        let env = read_timeboxed(dir.join("environ"), SLOW_READ_LIMIT)
            .map(|raw| crate::redact::filter_environ(&raw))
            .unwrap_or_default();
        let cwd = fs::read_link(dir.join("cwd"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        // The program itself: under binfmt translation the foreign binary, else the exe.
        let cwd_risky = cwd.as_deref().and_then(unsafe_path).is_some();
        let program = match &translation {
            Translation::Binfmt {
                program: Some(p), ..
            } if !cwd_risky => Some(resolve_in(dir, p)),
            Translation::Binfmt { .. } => None,
            _ if exe_risk.is_some() => None,
            _ => Some(dir.join("exe")),
        };
        let go_version = program
            .and_then(|p| crate::inspect::go_build_info(&p).ok().flatten())
            .map(|b| b.version);
        Static {
            exe,
            argv,
            binary,
            translation,
            env,
            cwd,
            go_version,
        }
    }

    /// Under binfmt_misc, `/proc/PID/exe` is the interpreter and argv[1] the program
    /// (for flags with and without `P`; `Documentation/admin-guide/binfmt-misc.rst`).
    fn translation_of(
        &self,
        dir: &Path,
        exe: Option<&String>,
        argv: Option<&Vec<String>>,
    ) -> Translation {
        let Some(exe) = exe else {
            return Translation::Native;
        };
        let exe_clean = exe.trim_end_matches(" (deleted)");
        let Some((interp, emulator, handler_arch)) =
            self.interpreters().iter().find(|(i, _, _)| i == exe_clean)
        else {
            return Translation::Native;
        };
        let program = argv.and_then(|a| a.get(1)).cloned();
        let program_arch = program
            .as_deref()
            .map(|p| resolve_in(dir, p))
            .and_then(|path| binary::exe_info(&path).ok())
            .and_then(|i| i.arches.into_iter().next())
            .or_else(|| handler_arch.clone());
        Translation::Binfmt {
            emulator: *emulator,
            interpreter: interp.clone(),
            program,
            program_arch,
        }
    }
}

/// The raw NUL-separated environment of `pid` (`/proc/PID/environ`, its initial one),
/// time-boxed like every read that may block on the target's memory lock.
pub fn raw_environ(pid: u32) -> Option<Vec<u8>> {
    read_timeboxed(
        PathBuf::from(format!("/proc/{pid}/environ")),
        SLOW_READ_LIMIT,
    )
    .ok()
}

/// A path as the process sees it: absolute ones under its root, relative ones under its
/// working directory (it may live in another mount namespace, e.g. a container).
fn resolve_in(dir: &Path, p: &str) -> PathBuf {
    if p.starts_with('/') {
        dir.join("root").join(p.trim_start_matches('/'))
    } else {
        dir.join("cwd").join(p)
    }
}

/// The process (thread group) a task id belongs to: `Tgid:` in `/proc/ID/status`, which
/// the kernel serves for a thread's id too although only processes are listed in `/proc`
/// (proc(5)). Equal to `id` for a process; None when there is no such task.
pub fn thread_group(id: u32) -> Option<u32> {
    fs::read_to_string(format!("/proc/{id}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` is dead and waiting to be reaped (state `Z` or `X` in `/proc/PID/stat`).
pub fn is_zombie(pid: u32) -> bool {
    fs::read(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|b| {
            let close = b.iter().rposition(|&c| c == b')')?;
            b.get(close + 2).copied()
        })
        .is_some_and(|s| s == b'Z' || s == b'X')
}

/// ppid → children, from every `/proc/PID/stat` (CONFIG_PROC_CHILDREN is often off).
pub fn parent_map() -> ParentMap {
    let mut map: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return ParentMap::Table(map);
    };
    let mut buf = Vec::with_capacity(512);
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if read_into(&PathBuf::from(format!("/proc/{pid}/stat")), &mut buf).is_ok()
            && let Some(ppid) = parse_stat_ppid(&buf)
        {
            map.entry(ppid).or_default().push(pid);
        }
    }
    for v in map.values_mut() {
        v.sort_unstable();
    }
    ParentMap::Table(map)
}

/// The ppid (field 4) of a `/proc/PID/stat` line. `comm` may hold spaces and `)`, so
/// the fields after it are found from the last `)`.
pub fn parse_stat_ppid(stat: &[u8]) -> Option<u32> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    let mut f = rest.split_ascii_whitespace();
    let _state = f.next()?;
    f.next()?.parse().ok()
}

/// `/proc/PID/task/TID/syscall`: `running`, `-1 sp pc` (blocked outside a syscall), or
/// `nr arg0 … arg5 sp pc` with the arguments in hex (`proc(5)`). Parsed here because
/// procfs 0.18 rejects the three-field `-1` form.
pub fn parse_syscall(bytes: &[u8], arch: &Arch) -> Fact<SyscallState> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text == "running" {
        return Fact::Collected(SyscallState::Running);
    }
    let mut fields = text.split_ascii_whitespace();
    let Some(nr) = fields.next().and_then(|f| f.parse::<i64>().ok()) else {
        return Fact::unavailable(format!("unparsable syscall file: {text:?}"));
    };
    if nr < 0 {
        return Fact::Collected(SyscallState::NotInSyscall);
    }
    let mut args = [0u64; 6];
    for a in args.iter_mut() {
        let Some(v) = fields
            .next()
            .and_then(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).ok())
        else {
            return Fact::unavailable(format!("unparsable syscall file: {text:?}"));
        };
        *a = v;
    }
    Fact::Collected(SyscallState::InSyscall {
        nr,
        name: syscalls::name(arch, nr).map(str::to_string),
        args,
    })
}

/// A device number as `/dev/pts/N` or `/dev/ttyN` (`Documentation/admin-guide/devices.txt`).
pub fn tty_name(dev: u32) -> Option<String> {
    let major = (dev >> 8) & 0xfff;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    match major {
        136..=143 => Some(format!("/dev/pts/{}", (major - 136) * 256 + minor)),
        4 if minor < 64 => Some(format!("/dev/tty{minor}")),
        4 => Some(format!("/dev/ttyS{}", minor - 64)),
        5 if minor == 0 => Some("/dev/tty".to_string()),
        5 if minor == 1 => Some("/dev/console".to_string()),
        _ => None,
    }
}

fn split_nul(b: &[u8]) -> Vec<String> {
    b.split(|&c| c == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// Read a whole small file into `buf` (reused between reads).
/// The run-queue wait of `/proc/PID/task/TID/schedstat` ("<on-cpu ns> <waiting ns>
/// <timeslices>", Documentation/scheduler/sched-stats.rst), in milliseconds.
fn parse_run_delay_ms(b: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(b).ok()?;
    let mut fields = text.split_ascii_whitespace();
    let _on_cpu: u64 = fields.next()?.parse().ok()?;
    let waiting: u64 = fields.next()?.parse().ok()?;
    Some(waiting / 1_000_000)
}

fn read_into(path: &Path, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    File::open(path)?.read_to_end(buf)?;
    Ok(())
}

/// Read a file on a helper thread, giving up after `limit`.
fn read_timeboxed(path: PathBuf, limit: Duration) -> Result<Vec<u8>, String> {
    let (tx, rx) = mpsc::channel();
    let what = path.display().to_string();
    std::thread::Builder::new()
        .name("gohang-slow-read".into())
        .spawn(move || {
            let _ = tx.send(fs::read(&path));
        })
        .map_err(|e| e.to_string())?;
    match rx.recv_timeout(limit) {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => Err(describe(&e, &what)),
        Err(_) => Err(format!(
            "reading {what} took over {} ms (the process may be in uninterruptible sleep holding its memory lock)",
            limit.as_millis()
        )),
    }
}

fn describe(e: &io::Error, what: &str) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => {
            format!("{what}: permission denied (run as root or as the process's user)")
        }
        io::ErrorKind::NotFound => format!("{what}: the process exited"),
        _ => format!("{what}: {e}"),
    }
}

fn proc_error(pid: u32, what: &str, e: io::Error) -> ObserveError {
    match e.kind() {
        io::ErrorKind::NotFound => ObserveError::NoSuchProcess { pid },
        io::ErrorKind::PermissionDenied => ObserveError::PermissionDenied {
            pid,
            need: "run gohang as root or as the process's user".to_string(),
        },
        _ => ObserveError::Io {
            context: format!("reading /proc/{pid}/{what}"),
            source: e,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_with_odd_comm() {
        assert_eq!(parse_stat_ppid(b"123 (go) S 45 123 123 0 -1"), Some(45));
        assert_eq!(parse_stat_ppid(b"123 (a) b) c) R 7 1 1"), Some(7));
        assert_eq!(parse_stat_ppid(b"123 (sp ace) S 9 1"), Some(9));
        assert_eq!(parse_stat_ppid(b"123 (\xff\xfe) S 11 1"), Some(11));
        assert_eq!(parse_stat_ppid(b"123 (go"), None);
        assert_eq!(parse_stat_ppid(b""), None);
    }

    #[test]
    fn schedstat_run_delay() {
        assert_eq!(parse_run_delay_ms(b"8812345678 2500000000 1234\n"), Some(2500));
        assert_eq!(parse_run_delay_ms(b"0 999999 0\n"), Some(0));
        assert_eq!(parse_run_delay_ms(b"12\n"), None);
        assert_eq!(parse_run_delay_ms(b""), None);
        // This thread's own file parses.
        let own = std::fs::read(format!("/proc/self/task/{}/schedstat", nix::unistd::gettid()));
        if let Ok(b) = own {
            assert!(parse_run_delay_ms(&b).is_some(), "{:?}", String::from_utf8_lossy(&b));
        }
    }

    #[test]
    fn syscall_file_shapes() {
        let a = Arch::X86_64;
        assert_eq!(
            parse_syscall(b"running\n", &a),
            Fact::Collected(SyscallState::Running)
        );
        assert_eq!(
            parse_syscall(b"-1 0x7ffc 0x4567\n", &a),
            Fact::Collected(SyscallState::NotInSyscall)
        );
        match parse_syscall(b"202 0xc000 0x80 0x0 0x0 0x0 0x0 0x7ffe 0x46\n", &a) {
            Fact::Collected(SyscallState::InSyscall { nr, name, args }) => {
                assert_eq!(nr, 202);
                assert_eq!(name.as_deref(), Some("futex"));
                assert_eq!(args[0], 0xc000);
                assert_eq!(args[1], 0x80);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse_syscall(b"garbage", &a).reason().is_some());
        assert!(parse_syscall(b"202 0x1 0x2", &a).reason().is_some());
        assert!(parse_syscall(b"", &a).reason().is_some());
    }

    #[test]
    fn tty_names() {
        assert_eq!(tty_name((136 << 8) | 3).as_deref(), Some("/dev/pts/3"));
        assert_eq!(tty_name((4 << 8) | 1).as_deref(), Some("/dev/tty1"));
        assert_eq!(tty_name(0), None);
        assert_eq!(tty_name(0x1234 << 8), None);
    }

    #[test]
    fn cmdline_split() {
        assert_eq!(split_nul(b"go\0version\0"), vec!["go", "version"]);
        assert!(split_nul(b"").is_empty());
    }

    #[test]
    fn snapshot_of_self_has_threads_and_identity() {
        let host = host_info();
        let mut s = Backend::new(&host);
        let me = std::process::id();
        let p = s.snapshot(me).unwrap();
        assert_eq!(p.pid, me);
        assert!(!p.threads.is_empty());
        assert!(p.start_time > 0);
        assert!(p.translation.is_native());
        assert!(matches!(
            s.snapshot(u32::MAX - 1),
            Err(ObserveError::NoSuchProcess { .. })
        ));
    }
}
