//! Pipes on macOS: which descriptors of a process are pipe ends, whether a writer waits
//! for room, and who holds the other end — the facts `output-blocked` needs, from libproc.
//!
//! - `PROC_PIDLISTFDS` lists descriptors with their type (`PROX_FDTYPE_PIPE` = 6);
//!   `proc_pidfdinfo(PROC_PIDFDPIPEINFO)` fills a `struct pipe_fdinfo` (XNU
//!   `bsd/sys/proc_info.h`): `proc_fileinfo` (24 bytes), then `pipe_info`: a `vinfo_stat`
//!   (136 bytes), the pipe end's handle, its peer's handle, and its `pipe_state` bits.
//! - XNU (`bsd/kern/sys_pipe.c`, `fill_pipeinfo`) reports in `vst_size` the bytes queued
//!   and in `vst_blksize` the buffer's size — for the write end, those of the peer that
//!   holds the buffer. A writer that waits for room sets `PIPE_WANTW` (0x010, `sys/pipe.h`)
//!   on the read side's pipe, the one whose buffer is full, and sleeps until a reader takes
//!   bytes: that bit, seen through any descriptor of the read end, is what tells a blocked
//!   write on macOS, which reports no thread's current system call.
//! - The holders of the other end: every process (`proc_listallpids`) whose pipe
//!   descriptors carry the peer's handle. Other users' processes answer only to root; a
//!   search that could not read some, or hit its bound, says so.
//!
//! libc has `proc_pidfdinfo`, `proc_fdinfo`, `vinfo_stat` and `PROX_FDTYPE_PIPE`, not the
//! pipe structs and flavor below; their layout is pinned by the asserts underneath.

use super::libproc;
use crate::evidence::{
    DescriptorOp, DescriptorWait, FileType, PeerProcess, PipeBuffer, Fact, RunState,
};
use libc::c_int;
use std::mem::{MaybeUninit, size_of};
use std::time::{Duration, Instant};

/// `proc_pidfdinfo` flavor that fills a `struct pipe_fdinfo`.
const PROC_PIDFDPIPEINFO: c_int = 6;
/// `pipe_state`: a writer waits for space (`sys/pipe.h`).
const PIPE_WANTW: i32 = 0x010;
/// `proc_fileinfo::fi_openflags`: open for reading / writing (`FREAD`, `FWRITE`).
const FREAD: u32 = 0x1;
const FWRITE: u32 = 0x2;
/// `p_stat` values of `proc_bsdinfo::pbi_status` (`sys/proc.h`).
const SRUN: u32 = 2;
const SSLEEP: u32 = 3;
const SSTOP: u32 = 4;
const SZOMB: u32 = 5;
/// The search for the other end stops after this long or this many processes.
const SEARCH_LIMIT: Duration = Duration::from_millis(250);
const MAX_PIDS: usize = 65_536;
/// Pipe descriptors looked at per process, and holders described per pipe.
const MAX_PIPE_FDS: usize = 256;
const MAX_PEERS: usize = 16;
/// A page of a pipe buffer.
const PIPE_PAGE: u64 = 4096;

/// `struct proc_fileinfo`.
#[repr(C)]
#[derive(Clone, Copy)]
struct ProcFileInfo {
    fi_openflags: u32,
    fi_status: u32,
    fi_offset: i64,
    fi_type: i32,
    fi_guardflags: u32,
}

/// `struct pipe_info`.
#[repr(C)]
#[derive(Clone, Copy)]
struct PipeInfo {
    pipe_stat: libc::vinfo_stat,
    pipe_handle: u64,
    pipe_peerhandle: u64,
    pipe_status: i32,
    rfu_1: i32,
}

/// `struct pipe_fdinfo`: what `PROC_PIDFDPIPEINFO` fills.
#[repr(C)]
#[derive(Clone, Copy)]
struct PipeFdInfo {
    pfi: ProcFileInfo,
    pipeinfo: PipeInfo,
}

const _: () = assert!(size_of::<ProcFileInfo>() == 24);
const _: () = assert!(size_of::<libc::vinfo_stat>() == 136);
const _: () = assert!(size_of::<PipeInfo>() == 160);
const _: () = assert!(size_of::<PipeFdInfo>() == 184);
const _: () = assert!(std::mem::offset_of!(PipeFdInfo, pipeinfo) == 24);
const _: () = assert!(std::mem::offset_of!(PipeInfo, pipe_handle) == 136);

/// One pipe descriptor of a process.
#[derive(Clone, Copy, Debug)]
struct PipeEnd {
    fd: i32,
    handle: u64,
    peer: u64,
    status: i32,
    readable: bool,
    writable: bool,
    queued: u64,
    capacity: u64,
}

fn pipe_end(pid: u32, fd: i32) -> Option<PipeEnd> {
    let mut out = MaybeUninit::<PipeFdInfo>::zeroed();
    let size = size_of::<PipeFdInfo>() as c_int;
    // SAFETY: `out` is writable for `size` bytes; the kernel writes at most that many.
    let n = unsafe {
        libc::proc_pidfdinfo(
            pid as c_int,
            fd,
            PROC_PIDFDPIPEINFO,
            out.as_mut_ptr().cast(),
            size,
        )
    };
    if n != size {
        return None;
    }
    // SAFETY: zeroed, then filled by the kernel; plain integers are valid for any bytes.
    let info = unsafe { out.assume_init() };
    let p = info.pipeinfo;
    Some(PipeEnd {
        fd,
        handle: p.pipe_handle,
        peer: p.pipe_peerhandle,
        status: p.pipe_status,
        readable: info.pfi.fi_openflags & FREAD != 0,
        writable: info.pfi.fi_openflags & FWRITE != 0,
        queued: p.pipe_stat.vst_size.max(0) as u64,
        capacity: p.pipe_stat.vst_blksize.max(0) as u64,
    })
}

/// The pipe descriptors of `pid` (empty when it cannot be read).
fn pipe_ends(pid: u32) -> Vec<PipeEnd> {
    let Ok(fds) = libproc::list_fds(pid) else {
        return Vec::new();
    };
    fds.iter()
        .filter(|f| f.proc_fdtype == libc::PROX_FDTYPE_PIPE as u32)
        .take(MAX_PIPE_FDS)
        .filter_map(|f| pipe_end(pid, f.proc_fd))
        .collect()
}

/// Write ends of `pid`'s pipes whose reader's side says a writer waits for room
/// (`PIPE_WANTW`), with the holders of the read end. The waiting thread is not known on
/// macOS: `tid` is 0.
pub fn write_waits(pid: u32) -> Vec<DescriptorWait> {
    // XNU reports the buffer of the read side through the write end too: only a write
    // end whose buffer has less than a page free can have a writer waiting, and only
    // then is every process searched for the read end.
    let ends: Vec<PipeEnd> = pipe_ends(pid)
        .into_iter()
        .filter(|e| e.writable && !e.readable)
        .filter(|e| e.capacity > 0 && e.queued + PIPE_PAGE > e.capacity)
        .collect();
    if ends.is_empty() {
        return Vec::new();
    }
    let (holders, partial) = holders_of(&ends.iter().map(|e| e.peer).collect::<Vec<_>>());
    let mut out = Vec::new();
    for e in ends {
        let readers: Vec<&(u32, PipeEnd)> =
            holders.iter().filter(|(_, h)| h.handle == e.peer).collect();
        // The read side's state: the writer's want shows there.
        let wants_room = readers.iter().any(|(_, h)| h.status & PIPE_WANTW != 0);
        if !wants_room {
            continue;
        }
        let mut peers: Vec<PeerProcess> = Vec::new();
        for (rpid, h) in &readers {
            if let Some(p) = peers.iter_mut().find(|p| p.pid == *rpid) {
                p.fds.push(h.fd);
                continue;
            }
            if peers.len() >= MAX_PEERS {
                break;
            }
            if let Some(mut p) = describe(*rpid) {
                p.fds = vec![h.fd];
                peers.push(p);
            }
        }
        let (queued, capacity) = readers
            .first()
            .map(|(_, h)| (h.queued, h.capacity))
            .unwrap_or((e.queued, e.capacity));
        out.push(DescriptorWait {
            tid: 0,
            call: "write".to_string(),
            op: DescriptorOp::Write,
            fd: Some(e.fd),
            target: format!("pipe:[{:#x}]", e.handle),
            file_type: FileType::Pipe,
            buffer: (capacity > 0).then_some(PipeBuffer { queued, capacity }),
            peers: Some(Fact::Collected(peers)),
            for_writing: None,
            peers_partial: partial,
            unix: None,
        });
    }
    out
}

/// Every (pid, pipe end) whose handle is one of `handles`, and whether the search was
/// incomplete.
fn holders_of(handles: &[u64]) -> (Vec<(u32, PipeEnd)>, bool) {
    let start = Instant::now();
    let mut partial = false;
    let pids = all_pids();
    let mut out = Vec::new();
    for pid in pids {
        if start.elapsed() > SEARCH_LIMIT {
            partial = true;
            break;
        }
        if libproc::list_fds(pid).is_err() {
            // Another user's process without root, or gone.
            partial |= libproc::bsd_info(pid).is_ok();
            continue;
        }
        for e in pipe_ends(pid) {
            if handles.contains(&e.handle) {
                out.push((pid, e));
            }
        }
    }
    (out, partial)
}

/// Every pid (`proc_listallpids`, which returns a count of pids, not bytes).
fn all_pids() -> Vec<u32> {
    let mut cap = 4096usize;
    loop {
        let mut buf = vec![0 as c_int; cap];
        let bytes = (cap * size_of::<c_int>()) as c_int;
        // SAFETY: `buf` is writable for `bytes` bytes.
        let n = unsafe { libc::proc_listallpids(buf.as_mut_ptr().cast(), bytes) };
        if n <= 0 {
            return Vec::new();
        }
        let n = n as usize;
        if n < cap || cap >= MAX_PIDS {
            buf.truncate(n.min(cap));
            return buf
                .into_iter()
                .filter(|p| *p > 0)
                .map(|p| p as u32)
                .collect();
        }
        cap *= 2;
    }
}

/// A holder: its identity, command name and state.
fn describe(pid: u32) -> Option<PeerProcess> {
    let bi = libproc::bsd_info(pid).ok()?;
    let comm_bytes: Vec<u8> = bi
        .pbi_comm
        .iter()
        .take_while(|c| **c != 0)
        .map(|c| *c as u8)
        .collect();
    let state = match bi.pbi_status {
        SRUN => RunState::Running,
        SSLEEP => RunState::Sleeping,
        SSTOP => RunState::Stopped,
        SZOMB => RunState::Zombie,
        _ => RunState::Unknown,
    };
    Some(PeerProcess {
        pid,
        start_time: bi.pbi_start_tvsec * 1_000_000 + bi.pbi_start_tvusec,
        comm: String::from_utf8_lossy(&comm_bytes).into_owned(),
        command: libproc::pid_path(pid).ok(),
        fds: Vec::new(),
        state,
        waits_in: Vec::new(),
        io: None,
    })
}
