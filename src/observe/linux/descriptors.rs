//! Threads asleep in a call on one descriptor, and what is at the other end: the facts
//! that let the wait rules name the object instead of concluding `idle`.
//!
//! - The call and its descriptor come from `/proc/PID/task/TID/syscall` (the number and
//!   the raw arguments, `proc(5)`); which argument is the descriptor, from
//!   [`crate::syscalls::descriptor_call`].
//! - The descriptor's target is its `/proc/PID/fd/N` link (`pipe:[INODE]`, a path,
//!   `socket:[INODE]`); a path's file type comes from `stat` through that link, never when
//!   the process is stuck on a remote file system (gohang must not hang itself).
//! - The path an `open` waits on is read from the target's memory (`/proc/PID/mem`, the
//!   same ptrace access the syscall file needs), bounded to `PATH_MAX`.
//! - How full a pipe is: `FIONREAD` and `F_GETPIPE_SZ` (`pipe(7)`) on a second read-only,
//!   non-blocking descriptor opened through the magic link. Never for a FIFO a thread is
//!   still opening: opening its other end would complete that open.
//! - Who holds the other end: one pass over `/proc/*/fd` for the objects a sample waits
//!   on that earlier samples did not search (later samples re-check each holder's link), matching the pipe's
//!   link text (or a FIFO's path, confirmed by device and inode), with the access mode from
//!   `/proc/PID/fdinfo/N` `flags:`. Bounded in time and in links read; a search cut short,
//!   or one that could not read other users' descriptors, says so (`peers_partial`).

use super::files::pipe_inode;
use crate::evidence::{
    Arch, DescriptorOp, DescriptorWait, FdInfo, FileType, IoCounters, PeerProcess, PipeBuffer, UnixPeer,
    Fact, RunState, ThreadSample,
};
use crate::syscalls;
use std::collections::HashMap;
use std::fs::{self, File};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `PATH_MAX` (`limits.h`): the longest path an open can wait on.
const PATH_MAX: usize = 4096;
/// The search for a pipe's other end stops after this long …
const SEARCH_LIMIT: Duration = Duration::from_millis(250);
/// … or after this many descriptor links, whichever comes first.
const SEARCH_MAX_LINKS: usize = 200_000;
/// At most this many holders are described per descriptor, and threads read per holder.
const MAX_PEERS: usize = 16;
const MAX_PEER_THREADS: usize = 64;
/// `AT_FDCWD` (`fcntl.h`), as `/proc/PID/syscall` shows a 32-bit -100.
const AT_FDCWD: i32 = -100;
/// `O_ACCMODE` values (`fcntl.h`).
const O_WRONLY: u32 = 1;
const O_RDWR: u32 = 2;

/// The descriptor waits of one process in one sample, without the other end's holders
/// (see [`find_peers`]).
pub fn waits(
    dir: &Path,
    threads: &[ThreadSample],
    fds: &[FdInfo],
    arch: &Arch,
    stuck_io: bool,
) -> Vec<DescriptorWait> {
    let mut out = Vec::new();
    for t in threads {
        // A thread in D is left alone (its memory may not be readable without blocking),
        // except one in an open that waits for a fanotify permission answer: a system call
        // at its start, holding no lock of its memory.
        let permission_wait = t.state == RunState::DiskSleep
            && t.wchan.as_deref().is_some_and(|w| w.contains("fanotify"));
        if t.state != RunState::Sleeping && !permission_wait {
            continue;
        }
        let Some(crate::evidence::SyscallState::InSyscall { nr, name, args }) = t.syscall.value()
        else {
            continue;
        };
        let Some(call) = name
            .clone()
            .or_else(|| syscalls::name(arch, *nr).map(str::to_string))
        else {
            continue;
        };
        let Some((op, arg)) = syscalls::descriptor_call(&call) else {
            continue;
        };
        let w = if op == DescriptorOp::Open {
            open_wait(dir, t.tid, &call, args, arg, stuck_io)
        } else {
            fd_wait(dir, t.tid, &call, op, args[arg] as i32, fds, stuck_io)
        };
        if let Some(w) = w {
            out.push(w);
        }
    }
    out
}

fn fd_wait(
    dir: &Path,
    tid: u32,
    call: &str,
    op: DescriptorOp,
    fd: i32,
    fds: &[FdInfo],
    stuck_io: bool,
) -> Option<DescriptorWait> {
    if fd < 0 {
        return None;
    }
    let link = dir.join("fd").join(fd.to_string());
    let target = match fds.iter().find(|f| f.fd == fd) {
        Some(f) => f.target.clone(),
        None => fs::read_link(&link).ok()?.to_string_lossy().into_owned(),
    };
    let file_type = if target.starts_with("pipe:[") {
        FileType::Pipe
    } else if target.starts_with("socket:[") {
        FileType::Socket
    } else if target.starts_with("anon_inode:") {
        FileType::AnonInode
    } else if (FdInfo {
        fd,
        target: target.clone(),
        pid: None,
    })
    .is_tty()
    {
        FileType::Terminal
    } else if stuck_io && target.starts_with('/') {
        FileType::Unknown
    } else {
        fs::metadata(&link)
            .map(|m| file_type_of(&m))
            .unwrap_or(FileType::Unknown)
    };
    let buffer = matches!(file_type, FileType::Pipe | FileType::Fifo)
        .then(|| pipe_buffer(&link))
        .flatten();
    Some(DescriptorWait {
        tid,
        call: call.to_string(),
        op,
        fd: Some(fd),
        target,
        file_type,
        buffer,
        peers: None,
        for_writing: None,
        peers_partial: false,
        unix: None,
    })
}

/// A thread in open/openat/openat2: the path it opens, read from its memory.
fn open_wait(
    dir: &Path,
    tid: u32,
    call: &str,
    args: &[u64; 6],
    arg: usize,
    stuck_io: bool,
) -> Option<DescriptorWait> {
    let path = read_c_string(&dir.join("mem"), args[arg])?;
    // The path as this process sees it: under its root, its cwd, or openat's directory.
    let seen = if path.starts_with('/') {
        dir.join("root").join(path.trim_start_matches('/'))
    } else if arg == 1 && args[0] as i32 != AT_FDCWD {
        dir.join("fd")
            .join((args[0] as i32).to_string())
            .join(&path)
    } else {
        dir.join("cwd").join(&path)
    };
    let file_type = if stuck_io {
        FileType::Unknown
    } else {
        fs::metadata(&seen)
            .map(|m| file_type_of(&m))
            .unwrap_or(FileType::Unknown)
    };
    // open(path, flags) and openat(dirfd, path, flags); openat2 passes a struct.
    let for_writing = (call != "openat2").then(|| args[arg + 1] as u32 & 3 != 0);
    Some(DescriptorWait {
        tid,
        call: call.to_string(),
        op: DescriptorOp::Open,
        fd: None,
        target: path,
        file_type,
        buffer: None,
        peers: None,
        for_writing,
        peers_partial: false,
        unix: None,
    })
}

fn file_type_of(m: &fs::Metadata) -> FileType {
    let t = m.file_type();
    if t.is_fifo() {
        FileType::Fifo
    } else if t.is_socket() {
        FileType::Socket
    } else if t.is_char_device() {
        FileType::CharDevice
    } else if t.is_block_device() {
        FileType::BlockDevice
    } else if t.is_dir() {
        FileType::Directory
    } else if t.is_file() {
        FileType::File
    } else {
        FileType::Unknown
    }
}

/// A NUL-terminated string at `addr` in the process's memory, at most `PATH_MAX` bytes.
fn read_c_string(mem: &Path, addr: u64) -> Option<String> {
    if addr == 0 {
        return None;
    }
    let f = File::open(mem).ok()?;
    let mut out = Vec::new();
    let mut chunk = [0u8; 256];
    while out.len() < PATH_MAX {
        let n = f.read_at(&mut chunk, addr + out.len() as u64).ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = chunk[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..end]);
            return (!out.is_empty()).then(|| String::from_utf8_lossy(&out).into_owned());
        }
        out.extend_from_slice(&chunk[..n]);
    }
    None
}

/// Bytes queued in a pipe and its capacity, through a second read-only, non-blocking
/// descriptor (it reads nothing).
fn pipe_buffer(link: &Path) -> Option<PipeBuffer> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(link)
        .ok()?;
    let mut queued: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the pointer; F_GETPIPE_SZ takes no argument.
    let (r, cap) = unsafe {
        (
            libc::ioctl(f.as_raw_fd(), libc::FIONREAD, &mut queued),
            libc::fcntl(f.as_raw_fd(), libc::F_GETPIPE_SZ),
        )
    };
    (r == 0 && cap > 0).then_some(PipeBuffer {
        queued: queued.max(0) as u64,
        capacity: cap as u64,
    })
}

/// `/proc/PID/io` `rchar`/`wchar`/`read_bytes` (needs ptrace read access, as the syscall
/// file does).
pub fn io_counters(dir: &Path) -> Option<IoCounters> {
    parse_io(&fs::read_to_string(dir.join("io")).ok()?)
}

pub fn parse_io(text: &str) -> Option<IoCounters> {
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    Some(IoCounters {
        rchar: field("rchar:")?,
        wchar: field("wchar:")?,
        read_bytes: field("read_bytes:"),
    })
}

/// What one holder search looks for: an object by the text of its `/proc/PID/fd` link (a
/// pipe, or the peer of a unix socket), or a FIFO by its path and identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Wanted {
    Link(String),
    Fifo { path: String, dev: u64, ino: u64 },
}

/// For each unix socket of `waits` (by its link text): the link text of the socket that
/// serves it, when known, and what sock_diag says of its other end. An accepted
/// connection names its peer; one not yet accepted has no peer inode, and is taken to be
/// for the listener with connections waiting when there is exactly one such listener.
fn socket_peers(
    waits: &[(u32, &mut Vec<DescriptorWait>)],
) -> HashMap<String, (Option<String>, UnixPeer)> {
    let mut out = HashMap::new();
    let mut pending: Option<Option<Vec<super::unixdiag::PendingListener>>> = None;
    for w in waits.iter().flat_map(|(_, ws)| ws.iter()) {
        if w.file_type != FileType::Socket || out.contains_key(&w.target) {
            continue;
        }
        let Some(inode) = w
            .target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let Some(u) = super::unixdiag::query(inode) else {
            continue;
        };
        let found = match u.peer {
            Some(peer) => (
                Some(format!("socket:[{peer}]")),
                UnixPeer {
                    accepted: true,
                    path: super::unixdiag::query(peer).and_then(|p| p.path),
                    guessed: false,
                },
            ),
            None if u.state == super::unixdiag::STATE_ESTABLISHED => {
                let listeners = pending
                    .get_or_insert_with(super::unixdiag::pending_listeners)
                    .as_deref()
                    .unwrap_or_default();
                match listeners {
                    [one] => (
                        Some(format!("socket:[{}]", one.inode)),
                        UnixPeer {
                            accepted: false,
                            path: one.path.clone(),
                            guessed: true,
                        },
                    ),
                    _ => (None, UnixPeer::default()),
                }
            }
            None => continue,
        };
        out.insert(w.target.clone(), found);
    }
    out
}

/// The identity of a wait's object, for the search; None when there is nothing to search.
fn wanted(
    pid: u32,
    w: &DescriptorWait,
    sockets: &HashMap<String, (Option<String>, UnixPeer)>,
) -> Option<Wanted> {
    match w.file_type {
        FileType::Pipe => pipe_inode(&w.target).map(|_| Wanted::Link(w.target.clone())),
        FileType::Socket => sockets
            .get(&w.target)
            .and_then(|(link, _)| link.clone())
            .map(Wanted::Link),
        FileType::Fifo => {
            let proc_dir = PathBuf::from(format!("/proc/{pid}"));
            let path = match w.fd {
                Some(fd) => proc_dir.join("fd").join(fd.to_string()),
                None if w.target.starts_with('/') => {
                    proc_dir.join("root").join(w.target.trim_start_matches('/'))
                }
                None => proc_dir.join("cwd").join(&w.target),
            };
            let m = fs::metadata(path).ok()?;
            Some(Wanted::Fifo {
                path: w.target.clone(),
                dev: m.dev(),
                ino: m.ino(),
            })
        }
        _ => None,
    }
}

/// Holders found by earlier samples of the same sampler: an object is searched for across
/// all processes once, and its holders are checked again (their link still names it) in
/// every later sample.
#[derive(Default)]
pub struct PeerCache {
    found: HashMap<Wanted, (Vec<Holder>, bool)>,
}

/// One holder of a wanted object: (pid, fd, access mode).
#[derive(Clone)]
pub(super) struct Holder {
    pub pid: u32,
    pub fd: i32,
    pub mode: u32,
}

/// Fill `peers` of every pipe and FIFO wait of `waits` ((pid, waits) per process) with the
/// processes holding the other end, in one bounded pass over `/proc/*/fd`.
pub fn find_peers(
    waits: &mut [(u32, &mut Vec<DescriptorWait>)],
    arch: &Arch,
    cache: &mut PeerCache,
) {
    let sockets = socket_peers(waits);
    for (_, ws) in waits.iter_mut() {
        for w in ws.iter_mut() {
            if let Some((_, u)) = sockets.get(&w.target) {
                w.unix = Some(u.clone());
            }
        }
    }
    let mut want: Vec<Wanted> = Vec::new();
    for (pid, ws) in waits.iter() {
        for w in ws.iter() {
            if let Some(k) = wanted(*pid, w, &sockets)
                && !want.contains(&k)
            {
                want.push(k);
            }
        }
    }
    if want.is_empty() {
        return;
    }
    let missing: Vec<Wanted> = want
        .iter()
        .filter(|k| !cache.found.contains_key(*k))
        .cloned()
        .collect();
    if !missing.is_empty() {
        let (mut found, partial) = search(&missing, SEARCH_LIMIT);
        for k in missing {
            let holders = found.remove(&k).unwrap_or_default();
            cache.found.insert(k, (holders, partial));
        }
    }
    cache.found.retain(|k, _| want.contains(k));
    let mut holders: HashMap<Wanted, Vec<Holder>> = HashMap::new();
    let mut partial_of: HashMap<Wanted, bool> = HashMap::new();
    for (k, (hs, partial)) in cache.found.iter_mut() {
        // Still open there, to the same object.
        hs.retain(|h| {
            fs::read_link(format!("/proc/{}/fd/{}", h.pid, h.fd)).is_ok_and(|t| {
                let t = t.to_string_lossy();
                match k {
                    Wanted::Link(text) => *t == **text,
                    Wanted::Fifo { path, .. } => *t == **path,
                }
            })
        });
        holders.insert(k.clone(), hs.clone());
        partial_of.insert(k.clone(), *partial);
    }
    let mut described: HashMap<u32, Option<PeerProcess>> = HashMap::new();
    for (pid, ws) in waits.iter_mut() {
        for w in ws.iter_mut() {
            let Some(k) = wanted(*pid, w, &sockets) else {
                continue;
            };
            let empty = Vec::new();
            let found = holders.get(&k).unwrap_or(&empty);
            let mut peers: Vec<PeerProcess> = Vec::new();
            for h in found {
                let is_reader = h.mode != O_WRONLY;
                let is_writer = h.mode == O_WRONLY || h.mode == O_RDWR;
                let fits = match w.op {
                    DescriptorOp::Write => is_reader,
                    DescriptorOp::Read => is_writer,
                    _ => true,
                };
                // The waiting descriptor itself is not its own other end.
                if !fits || (h.pid == *pid && Some(h.fd) == w.fd) {
                    continue;
                }
                if let Some(p) = peers.iter_mut().find(|p| p.pid == h.pid) {
                    p.fds.push(h.fd);
                    continue;
                }
                if peers.len() >= MAX_PEERS {
                    break;
                }
                let d = described
                    .entry(h.pid)
                    .or_insert_with(|| describe_process(h.pid, arch));
                if let Some(mut p) = d.clone() {
                    p.fds = vec![h.fd];
                    peers.push(p);
                }
            }
            w.peers = Some(Fact::Collected(peers));
            w.peers_partial = partial_of.get(&k).copied().unwrap_or(true);
        }
    }
}

/// Every holder of each wanted object, in one pass over `/proc/*/fd` that stops after
/// `limit` (or `SEARCH_MAX_LINKS` links), and whether the search was cut short or could not
/// read some processes' descriptors.
pub(super) fn search(want: &[Wanted], limit: Duration) -> (HashMap<Wanted, Vec<Holder>>, bool) {
    let mut out: HashMap<Wanted, Vec<Holder>> = HashMap::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return (out, true);
    };
    let start = Instant::now();
    let mut links = 0usize;
    let mut partial = false;
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if start.elapsed() > limit || links > SEARCH_MAX_LINKS {
            partial = true;
            break;
        }
        let fd_dir = PathBuf::from(format!("/proc/{pid}/fd"));
        let entries = match fs::read_dir(&fd_dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                partial = true;
                continue;
            }
            Err(_) => continue, // exited, or a kernel thread
        };
        for fe in entries.flatten() {
            links += 1;
            let Some(fd) = fe.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(t) = fs::read_link(fe.path()) else {
                continue;
            };
            let t = t.to_string_lossy();
            for k in want {
                let hit = match k {
                    Wanted::Link(text) => *t == **text,
                    // The same path, confirmed by identity (another mount namespace may
                    // show another file under the same name).
                    Wanted::Fifo { path, dev, ino } => {
                        *t == **path
                            && fs::metadata(fe.path())
                                .is_ok_and(|m| m.dev() == *dev && m.ino() == *ino)
                    }
                };
                if hit {
                    let mode = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
                        .ok()
                        .and_then(|i| access_mode(&i))
                        .unwrap_or(O_RDWR);
                    out.entry(k.clone())
                        .or_default()
                        .push(Holder { pid, fd, mode });
                }
            }
        }
    }
    (out, partial)
}

/// The access mode (`O_ACCMODE` bits) of an fdinfo's octal `flags:` line.
pub fn access_mode(fdinfo: &str) -> Option<u32> {
    let flags = fdinfo.lines().find_map(|l| l.strip_prefix("flags:"))?;
    u32::from_str_radix(flags.trim(), 8).ok().map(|f| f & 3)
}

/// A holder: its identity, command, state and what its threads sleep in.
fn describe_process(pid: u32, arch: &Arch) -> Option<PeerProcess> {
    let dir = PathBuf::from(format!("/proc/{pid}"));
    let stat = fs::read(dir.join("stat")).ok()?;
    let (comm, state, start_time) = parse_stat_identity(&stat)?;
    let command = super::read_timeboxed(dir.join("cmdline"), super::SLOW_READ_LIMIT)
        .ok()
        .map(|b| super::split_nul(&b).join(" "))
        .filter(|c| !c.is_empty());
    Some(PeerProcess {
        pid,
        start_time,
        comm,
        command,
        fds: Vec::new(),
        state: RunState::from_linux(state),
        waits_in: sleeps_in(&dir, arch),
        io: io_counters(&dir),
    })
}

/// comm, state and start time (field 22) of a `/proc/PID/stat` line.
pub fn parse_stat_identity(stat: &[u8]) -> Option<(String, char, u64)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let comm = String::from_utf8_lossy(stat.get(open + 1..close)?).into_owned();
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    let mut f = rest.split_ascii_whitespace();
    let state = f.next()?.chars().next()?;
    let start = f.nth(18)?.parse().ok()?;
    Some((comm, state, start))
}

/// What the threads of a holder sleep in, most telling first: calls on a descriptor (with
/// the descriptor's target), then other calls, then futex waits; wait channels where the
/// syscall file cannot be read.
fn sleeps_in(dir: &Path, arch: &Arch) -> Vec<String> {
    let Ok(rd) = fs::read_dir(dir.join("task")) else {
        return Vec::new();
    };
    let mut tids: Vec<u32> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    tids.truncate(MAX_PEER_THREADS);
    let mut found: Vec<(u8, String)> = Vec::new();
    for tid in tids {
        let tdir = dir.join("task").join(tid.to_string());
        let entry = match fs::read(tdir.join("syscall"))
            .ok()
            .map(|b| super::parse_syscall(&b, arch))
        {
            Some(Fact::Collected(crate::evidence::SyscallState::InSyscall { nr, name, args })) => {
                let name = name.unwrap_or_else(|| format!("syscall {nr}"));
                match syscalls::descriptor_call(&name) {
                    Some((DescriptorOp::Open, _)) | None => {
                        (if name == "futex" { 2 } else { 1 }, name)
                    }
                    Some((_, arg)) => {
                        let fd = args[arg] as i32;
                        let target = fs::read_link(dir.join("fd").join(fd.to_string()))
                            .map(|t| format!(" ({})", t.to_string_lossy()))
                            .unwrap_or_default();
                        (0, format!("{name} on fd {fd}{target}"))
                    }
                }
            }
            Some(Fact::Collected(crate::evidence::SyscallState::Running)) => {
                (1, "running".to_string())
            }
            _ => match fs::read_to_string(tdir.join("wchan")) {
                Ok(w) if !w.trim().is_empty() && w.trim() != "0" => (1, w.trim().to_string()),
                _ => continue,
            },
        };
        if !found.iter().any(|(_, s)| *s == entry.1) {
            found.push(entry);
        }
    }
    found.sort_by_key(|(rank, _)| *rank);
    found.into_iter().take(4).map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_access_modes() {
        assert_eq!(
            access_mode("pos:\t0\nflags:\t02000001\nmnt_id:\t15\n"),
            Some(1)
        );
        assert_eq!(access_mode("pos:\t0\nflags:\t0100000\n"), Some(0));
        assert_eq!(access_mode("flags:\t02\n"), Some(2));
        assert_eq!(access_mode("pos:\t0\n"), None);
    }

    #[test]
    fn io_file() {
        let t = "rchar: 2012\nwchar: 65536\nsyscr: 3\nsyscw: 1\nread_bytes: 0\n";
        assert_eq!(
            parse_io(t),
            Some(IoCounters {
                rchar: 2012,
                wchar: 65536,
                read_bytes: Some(0),
            })
        );
        assert_eq!(parse_io("rchar: 1\n"), None);
    }

    #[test]
    fn stat_identity_with_odd_comm() {
        let line = b"42 (a) b) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0";
        assert_eq!(
            parse_stat_identity(line),
            Some(("a) b".to_string(), 'S', 987654))
        );
        assert_eq!(parse_stat_identity(b"42 (x"), None);
    }

    #[test]
    fn a_pipe_full_and_its_reader_found() {
        // A pipe whose reader (this process) never reads, filled by a writer thread that
        // then blocks: the wait, the full buffer and the holder of the read end.
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 writes two descriptors into the array.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let (r, w) = (fds[0], fds[1]);
        let link = PathBuf::from(format!("/proc/self/fd/{w}"));
        let target = fs::read_link(&link).unwrap().to_string_lossy().into_owned();
        let me = std::process::id();
        let writer = std::thread::spawn(move || {
            let buf = vec![b'x'; 1 << 20];
            // SAFETY: writes from a live buffer to our own pipe; it blocks when full.
            unsafe { libc::write(w, buf.as_ptr().cast(), buf.len()) };
        });
        let dir = PathBuf::from(format!("/proc/{me}"));
        let host = super::super::host_info();
        let mut found = None;
        for _ in 0..200 {
            let mut s = super::super::Backend::new(&host);
            let p = s.snapshot(me).unwrap();
            let mut ws = waits(&dir, &p.threads, &p.fds, &host.arch, false);
            ws.retain(|x| x.fd == Some(w));
            if !ws.is_empty() {
                found = Some(ws);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut ws = found.expect("the writer thread blocks in write");
        assert_eq!(ws[0].op, DescriptorOp::Write);
        assert_eq!(ws[0].target, target);
        assert_eq!(ws[0].file_type, FileType::Pipe);
        let b = ws[0].buffer.unwrap();
        assert_eq!(b.queued, b.capacity, "full: {b:?}");
        find_peers(&mut [(me, &mut ws)], &host.arch, &mut PeerCache::default());
        let peers = ws[0].peers.as_ref().unwrap().value().unwrap();
        assert!(
            peers.iter().any(|p| p.pid == me && p.fds == vec![r]),
            "{peers:?}"
        );
        // Drain the pipe so the writer returns, then close both ends.
        let mut buf = vec![0u8; 1 << 16];
        // SAFETY: reads into a live buffer; closes descriptors this test opened.
        unsafe { libc::fcntl(r, libc::F_SETFL, libc::O_NONBLOCK) };
        while !writer.is_finished() {
            // SAFETY: reads into a live buffer from this test's own pipe.
            unsafe { libc::read(r, buf.as_mut_ptr().cast(), buf.len()) };
            std::thread::sleep(Duration::from_millis(1));
        }
        writer.join().unwrap();
        // SAFETY: both descriptors belong to this test.
        unsafe {
            libc::close(r);
            libc::close(w);
        }
    }
}
