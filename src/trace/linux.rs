//! strace on Linux: runs it, reads its output through a FIFO, ends it cleanly.
//!
//! strace writes to a FIFO in a private directory (`-o FIFO`); gohang reads it as it comes,
//! so the trace file stays bounded whatever strace prints. strace marks its output
//! close-on-exec, so the traced programs never hold the FIFO: its end of file is strace's.
//!
//! Facts this relies on (strace(1), ptrace(2), checked with strace 6.1):
//! - `-D`: the tracee is the process gohang started, strace a grandchild; it lands as
//!   gohang's child when its middle parent exits (gohang is a subreaper), and sits in the
//!   command's process group, so killing the group ends it too.
//! - When a tracer dies, even by SIGKILL, the kernel detaches its tracees and they run on
//!   (strace sets PTRACE_O_EXITKILL only for commands it starts without `-D`).
//! - strace started with a command and `-o` blocks fatal signals by default (`-I3`); with
//!   `-p` it acts on SIGTERM between two calls: it detaches and exits. A blocked call shows
//!   as `<detached ...>`.
//! - Attaching interrupts a blocking call, which the kernel restarts: strace then shows it
//!   again (`flock(3, LOCK_EX <detached ...>`), or, for a sleep, a poll or a futex wait, as
//!   `restart_syscall(<... resuming interrupted NAME ...>` — where NAME is the last call
//!   strace decoded on the thread, not the interrupted one (`read` for a `sleep` just
//!   attached to; `strace::resuming`). A Go netpoller's `epoll_pwait` returns EINTR once
//!   instead, which the Go runtime retries.

use super::collect::Format;
use super::stream::{self, Stream};
use super::{Finish, SYSCALLS};
use crate::evidence::TraceSummary;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TOOL: &str = "strace";

/// How long strace may take to attach, and to let go.
const ATTACH_LIMIT: Duration = Duration::from_secs(5);
const DETACH_LIMIT: Duration = Duration::from_secs(3);

/// The strace to run, or the one-line note that says how to get one.
fn strace_path() -> Result<PathBuf, String> {
    crate::sys::process::find_program(TOOL).ok_or_else(|| {
        "--trace: strace is not installed, so no system calls were traced (install it: \
         apt install strace, or dnf install strace); the samples are reported without a trace"
            .to_string()
    })
}

/// Options common to both modes: follow forks and threads, wall-clock times, strings cut
/// at 256 bytes, the calls that matter, no Go preemption or child-exit signal noise.
fn common_args(fifo: &Path) -> Vec<String> {
    let calls: Vec<String> = SYSCALLS.iter().map(|s| format!("?{s}")).collect();
    vec![
        "-f".into(),
        "-q".into(),
        "-tt".into(),
        "-s".into(),
        "256".into(),
        "-e".into(),
        format!("trace={}", calls.join(",")),
        "-e".into(),
        "signal=!SIGURG,SIGCHLD".into(),
        "-o".into(),
        fifo.display().to_string(),
    ]
}

/// A FIFO in a directory of its own (mode 0700), removed on drop. Dropping it also tells
/// its reader to stop waiting for a writer that never came.
struct Fifo {
    dir: PathBuf,
    path: PathBuf,
    give_up: Arc<AtomicBool>,
}

impl Fifo {
    fn create() -> Result<(Fifo, FifoReader), String> {
        use std::os::unix::fs::DirBuilderExt;
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "gohang-trace-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("--trace: cannot create {}: {e}", dir.display()))?;
        let path = dir.join("strace.fifo");
        let fifo = Fifo {
            dir,
            path,
            give_up: Arc::new(AtomicBool::new(false)),
        };
        nix::unistd::mkfifo(
            &fifo.path,
            nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        )
        .map_err(|e| {
            format!(
                "--trace: cannot create a FIFO in {}: {e}",
                fifo.dir.display()
            )
        })?;
        // Non-blocking, so that opening does not wait for strace and strace's open does
        // not wait for us.
        let c = std::ffi::CString::new(fifo.path.as_os_str().as_encoded_bytes())
            .map_err(|_| "--trace: the temporary directory's path has a NUL byte".to_string())?;
        // SAFETY: open(2) on a valid C string.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(format!(
                "--trace: cannot open {}: {}",
                fifo.path.display(),
                std::io::Error::last_os_error()
            ));
        }
        // A larger pipe lets strace run on while the reader naps (FifoReader::read); the
        // kernel caps it at fs.pipe-max-size, and the default 64 KiB works too.
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20) };
        let reader = FifoReader {
            // SAFETY: fd is a descriptor we just opened and own.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            give_up: fifo.give_up.clone(),
            drained: false,
        };
        Ok((fifo, reader))
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        self.give_up.store(true, Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// The read end of the FIFO. Waits with poll(2): a FIFO that no writer has opened yet
/// polls as nothing at all, one whose writer has gone polls as hung up and reads as end of
/// file. `give_up` ends the wait for a writer that will never come.
struct FifoReader {
    fd: OwnedFd,
    give_up: Arc<AtomicBool>,
    /// The last read emptied the pipe.
    drained: bool,
}

/// How long the reader naps once it has emptied the pipe. strace writes each line as it
/// goes; reading them one wake-up at a time would cost the traced program a context switch
/// per line on a busy machine, while a nap lets them gather in the pipe.
const NAP: Duration = Duration::from_millis(10);

impl Read for FifoReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if std::mem::take(&mut self.drained) && !self.give_up.load(Ordering::Relaxed) {
            std::thread::sleep(NAP);
        }
        loop {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, 100) };
            if r < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if r == 0 {
                if self.give_up.load(Ordering::Relaxed) {
                    return Ok(0);
                }
                continue;
            }
            // SAFETY: reading into a buffer of buf.len() bytes.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n >= 0 {
                self.drained = (n as usize) < buf.len();
                return Ok(n as usize);
            }
            let e = std::io::Error::last_os_error();
            if !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
            ) {
                return Err(e);
            }
        }
    }
}

/// Start reading the FIFO into a new trace file, redacted with what `argv` and the
/// environments of `pids` tell (`super::line_redactor`).
fn open_stream(
    reader: FifoReader,
    notes: &mut Vec<String>,
    argv: &[String],
    pids: &[u32],
) -> Stream {
    let redactor = super::line_redactor(argv, pids);
    Stream::start(reader, Format::Strace, super::new_sink(notes), redactor)
}

/// The command line as evidence: the program's own arguments with credentials removed.
fn describe_command(stream: &Stream, program: &Path, args: &[String]) -> Vec<String> {
    let argv: Vec<String> = std::iter::once(program.display().to_string())
        .chain(args.iter().cloned())
        .collect();
    stream.redact_argv(&argv)
}

/// A trace being taken.
pub struct Tracer {
    how: How,
    stream: Stream,
    fifo: Fifo,
    started: Instant,
    command: Vec<String>,
    notes: Vec<String>,
}

enum How {
    /// `strace -p`: gohang's child.
    Attached {
        child: Child,
        stderr: Option<std::thread::JoinHandle<String>>,
    },
    /// `strace -D` around a command gohang started (`tracee`); the tracer's pid is the
    /// tracee's TracerPid, found when first asked.
    Spawned {
        tracee: u32,
        tracer: Mutex<Option<u32>>,
    },
}

/// Spawn mode, before the command starts: what to exec instead of it.
pub struct SpawnTrace {
    program: PathBuf,
    args: Vec<String>,
    stream: Stream,
    fifo: Fifo,
    notes: Vec<String>,
}

impl SpawnTrace {
    /// Prepare `strace -D -f … -- path args`. With `keep`, no seccomp filter (see the
    /// module documentation of `trace`).
    pub fn prepare(path: &Path, args: &[String], keep: bool) -> Result<SpawnTrace, String> {
        let strace = strace_path()?;
        let (fifo, reader) = Fifo::create()?;
        let mut notes = Vec::new();
        let argv: Vec<String> = std::iter::once(path.display().to_string())
            .chain(args.iter().cloned())
            .collect();
        let stream = open_stream(reader, &mut notes, &argv, &[]);
        let mut a = vec!["-D".to_string()];
        a.extend(common_args(&fifo.path));
        if !keep {
            a.push("--seccomp-bpf".into());
        }
        a.push("--".into());
        a.push(path.display().to_string());
        a.extend(args.iter().cloned());
        Ok(SpawnTrace {
            program: strace,
            args: a,
            stream,
            fifo,
            notes,
        })
    }

    /// The program to exec instead of the command, and its arguments after argv[0].
    pub fn exec(&self) -> Option<(&Path, &[String])> {
        Some((&self.program, &self.args))
    }

    /// Calls seen so far (for the progress line).
    pub fn calls(&self) -> Arc<AtomicU64> {
        self.stream.calls()
    }

    /// The command has started as pid `root` (the tracee).
    pub fn started(self, root: u32) -> Result<Tracer, String> {
        Ok(Tracer {
            how: How::Spawned {
                tracee: root,
                tracer: Mutex::new(None),
            },
            command: describe_command(&self.stream, &self.program, &self.args),
            stream: self.stream,
            fifo: self.fifo,
            started: Instant::now(),
            notes: self.notes,
        })
    }
}

impl Tracer {
    /// Attach to `pids` (all their threads, and the children they start from now on).
    /// Err is the one-line reason there is no trace.
    pub fn attach(pids: &[u32]) -> Result<Tracer, String> {
        use std::os::unix::process::CommandExt;
        let strace = strace_path()?;
        let Some(&first) = pids.first() else {
            return Err("--trace: no process to trace".into());
        };
        let (fifo, reader) = Fifo::create()?;
        let mut args = common_args(&fifo.path);
        for p in pids {
            args.push("-p".into());
            args.push(p.to_string());
        }
        let mut cmd = Command::new(&strace);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // gohang may run with signals ignored or blocked (a background job): strace
                // must act on SIGTERM, and get it if gohang dies first.
                for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
                    libc::signal(sig, libc::SIG_DFL);
                }
                let mut none: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut none);
                libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
                Ok(())
            });
        }
        let mut notes = Vec::new();
        let stream = open_stream(reader, &mut notes, &[], pids);
        let command = describe_command(&stream, &strace, &args);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("--trace: cannot run {}: {e}", strace.display()))?;
        let stderr = child.stderr.take().map(|mut s| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if text.len() < 8192 {
                        text.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
                text
            })
        });
        let tracer = Tracer {
            how: How::Attached { child, stderr },
            stream,
            fifo,
            started: Instant::now(),
            command,
            notes,
        };
        tracer.wait_attached(first)
    }

    /// Wait until strace holds `pid`; if strace ends first, say why.
    fn wait_attached(mut self, pid: u32) -> Result<Tracer, String> {
        let deadline = Instant::now() + ATTACH_LIMIT;
        let me = self.pid();
        loop {
            if tracer_of(pid).is_some() && tracer_of(pid) == me {
                self.started = Instant::now();
                return Ok(self);
            }
            let How::Attached { child, stderr } = &mut self.how else {
                return Ok(self);
            };
            if let Ok(Some(status)) = child.try_wait() {
                let text = stderr
                    .take()
                    .and_then(|h| h.join().ok())
                    .unwrap_or_default();
                self.fifo.give_up.store(true, Ordering::Relaxed);
                return Err(attach_failed(pid, status, &text));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.fifo.give_up.store(true, Ordering::Relaxed);
                return Err(format!(
                    "--trace: strace did not attach to pid {pid} within {} s; no trace was taken",
                    ATTACH_LIMIT.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn tool(&self) -> &'static str {
        TOOL
    }

    /// The tracer's pid (never a culprit: `Evidence::own_pids`).
    pub fn pid(&self) -> Option<u32> {
        match &self.how {
            How::Attached { child, .. } => Some(child.id()),
            How::Spawned { tracee, tracer } => {
                let mut t = tracer.lock().unwrap_or_else(|e| e.into_inner());
                if t.is_none() {
                    *t = tracer_of(*tracee);
                }
                *t
            }
        }
    }

    /// Calls seen so far (for the progress bar).
    pub fn calls(&self) -> Arc<AtomicU64> {
        self.stream.calls()
    }

    /// The trace as it stands, while it goes on.
    pub fn snapshot(&self) -> TraceSummary {
        let snap = self.stream.snapshot();
        let mut t = super::summarize(
            TOOL,
            &self.command,
            &snap,
            self.started.elapsed(),
            None,
            self.notes.clone(),
        );
        resolve(&mut t);
        t
    }

    /// End the trace (see [`Finish`]) and return it, with the file kept.
    pub fn finish(self, how: Finish) -> TraceSummary {
        let duration = self.started.elapsed();
        let mut notes = self.notes;
        let tracer_pid = match &self.how {
            How::Attached { child, .. } => Some(child.id()),
            How::Spawned { tracee, tracer } => {
                let t = *tracer.lock().unwrap_or_else(|e| e.into_inner());
                t.or_else(|| tracer_of(*tracee))
            }
        };
        match self.how {
            How::Attached { mut child, stderr } => {
                // SIGTERM: strace detaches from every tracee and exits.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGTERM,
                );
                let deadline = Instant::now() + DETACH_LIMIT;
                loop {
                    match child.try_wait() {
                        Ok(Some(_)) => break,
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(10))
                        }
                        _ => {
                            // The kernel detaches the tracees of a dead tracer.
                            let _ = child.kill();
                            let _ = child.wait();
                            notes.push(format!(
                                "--trace: strace did not exit within {} s of SIGTERM and was killed (its tracees were detached by the kernel)",
                                DETACH_LIMIT.as_secs()
                            ));
                            break;
                        }
                    }
                }
                let text = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
                notes.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .take(8)
                        .map(|l| self.stream.redact_text(l)),
                );
            }
            How::Spawned { .. } => {
                if how == Finish::Release
                    && let Some(p) = tracer_pid
                {
                    // Killing the tracer detaches the tracees, which run on (no seccomp
                    // filter with --keep).
                    crate::sys::process::signal_exact(p, None, nix::sys::signal::Signal::SIGKILL);
                }
            }
        }
        self.fifo.give_up.store(true, Ordering::Relaxed);
        let (snap, kept) = stream::finish_with_state(self.stream, DETACH_LIMIT);
        if kept.is_none() {
            // Still writing: a tracer that outlived its tree; end it.
            if let Some(p) = tracer_pid {
                crate::sys::process::signal_exact(p, None, nix::sys::signal::Signal::SIGKILL);
            }
            notes.push(
                "--trace: the trace output did not end in time; the file may be incomplete".into(),
            );
        }
        let mut t = super::summarize(TOOL, &self.command, &snap, duration, kept.as_ref(), notes);
        resolve(&mut t);
        t
    }
}

/// One line for an attach that failed, naming the privilege when that is the reason.
fn attach_failed(pid: u32, status: std::process::ExitStatus, stderr: &str) -> String {
    let said = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message");
    if stderr.contains("Operation not permitted") {
        let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
            .ok()
            .map(|s| format!(" (kernel.yama.ptrace_scope={})", s.trim()))
            .unwrap_or_default();
        return format!(
            "--trace: strace may not attach to pid {pid}{scope}: tracing a process needs root (sudo), \
             or the same user with ptrace_scope 0, and no other tracer on it; strace said: {said}"
        );
    }
    format!("--trace: strace could not attach to pid {pid} ({status}): {said}")
}

/// `TracerPid:` of a task, when it has one.
fn tracer_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|p| *p > 0)
}

/// Fill in each thread's process and, for the call a thread sits in, what its descriptor
/// is (its fd is still open while the call is). Calls that returned are left alone: their
/// descriptor may have been closed and its number reused since.
fn resolve(t: &mut TraceSummary) {
    for th in &mut t.threads {
        if th.pid.is_none() {
            th.pid = crate::observe::thread_group(th.tid);
        }
        let Some(pid) = th.pid else { continue };
        if th.exited.is_some() {
            continue;
        }
        let Some(c) = th.recent.last_mut().filter(|c| c.unfinished) else {
            continue;
        };
        if c.fd.is_none() && super::strace::takes_fd(&c.name) {
            // A call named from a `restart_syscall(<... resuming interrupted NAME ...>`
            // line shows no arguments: the kernel still has them.
            c.fd = current_fd(pid, th.tid, &c.name);
        }
        let Some(fd) = c.fd else { continue };
        if c.fd_target.is_none() {
            c.fd_target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
                .ok()
                .map(|p| p.to_string_lossy().into_owned());
        }
        if c.name == "waitid"
            && c.wait_pid.is_none()
            && c.fd_target.as_deref() == Some("anon_inode:[pidfd]")
        {
            c.wait_pid = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
                .ok()
                .and_then(|info| {
                    info.lines()
                        .find_map(|l| l.strip_prefix("Pid:"))
                        .and_then(|v| v.trim().parse().ok())
                });
        }
    }
}

/// The first argument of the call `tid` is blocked in, if that call is `name`
/// (`/proc/PID/task/TID/syscall`: number, then arguments in hex; needs ptrace access).
fn current_fd(pid: u32, tid: u32, name: &str) -> Option<i32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok()?;
    let mut f = text.split_whitespace();
    let nr: i64 = f.next()?.parse().ok()?;
    let arch = crate::evidence::Arch::parse(std::env::consts::ARCH);
    if crate::syscalls::name(&arch, nr) != Some(name) {
        return None;
    }
    let arg0 = u64::from_str_radix(f.next()?.trim_start_matches("0x"), 16).ok()?;
    Some(arg0 as u32 as i32)
}
