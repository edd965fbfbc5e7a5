//! Open descriptors, sockets, file locks and the environment of a process: what the wait
//! rules need to say *what* a process waits for.
//!
//! - `/proc/PID/fd/N` links name the target; `/proc/PID/fdinfo/N` has `Pid:` for a pidfd
//!   (Go ≥ 1.23 waits for children through one, LINUX.md).
//! - Sockets are matched by inode to the tables of the process's own network namespace
//!   (`/proc/PID/net/tcp`, `tcp6`, `udp`, `udp6`), read once per namespace per sample.
//! - `/proc/locks` lists holders and, after `->`, waiters of the same lock id
//!   (`proc(5)`, "/proc/locks").

use crate::evidence::{FdInfo, LockHolder, LockInfo, ResolverConf, SocketInfo, WrittenFile};
use procfs::FromReadSI;
use procfs::net::{TcpNetEntries, TcpState, UdpNetEntries};
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// At most this many descriptors are kept per process (a build can hold hundreds).
const MAX_FDS: usize = 256;

/// The descriptors of a process, lowest first.
pub fn fds(dir: &Path) -> Vec<FdInfo> {
    let Ok(rd) = fs::read_dir(dir.join("fd")) else {
        return Vec::new();
    };
    let mut nums: Vec<i32> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    nums.sort_unstable();
    nums.truncate(MAX_FDS);
    nums.into_iter()
        .filter_map(|fd| {
            let target = fs::read_link(dir.join("fd").join(fd.to_string())).ok()?;
            let target = target.to_string_lossy().into_owned();
            let pid = (target == "anon_inode:[pidfd]")
                .then(|| fs::read_to_string(dir.join("fdinfo").join(fd.to_string())).ok())
                .flatten()
                .and_then(|info| pidfd_pid(&info));
            Some(FdInfo { fd, target, pid })
        })
        .collect()
}

/// At most this many files open for writing are kept per process.
const MAX_WRITTEN: usize = 16;

/// The regular files among `fds` open for writing (`flags` of their fdinfo has
/// `O_WRONLY` or `O_RDWR`), with their sizes. Not read while a process of the tree waits
/// on I/O (`stuck_io`): a stat on a dead FUSE or NFS mount would hang gohang too.
pub fn written_files(dir: &Path, fds: &[FdInfo], stuck_io: bool) -> Vec<WrittenFile> {
    if stuck_io {
        return Vec::new();
    }
    fds.iter()
        .filter(|f| f.target.starts_with('/') && !f.target.starts_with("/dev/"))
        .filter_map(|f| {
            let info = fs::read_to_string(dir.join("fdinfo").join(f.fd.to_string())).ok()?;
            let mode = super::descriptors::access_mode(&info)?;
            if mode & 3 == 0 {
                return None;
            }
            let m = fs::metadata(dir.join("fd").join(f.fd.to_string())).ok()?;
            m.is_file().then(|| WrittenFile {
                fd: f.fd,
                path: f.target.clone(),
                size: m.len(),
            })
        })
        .take(MAX_WRITTEN)
        .collect()
}

/// The `Pid:` line of a pidfd's fdinfo (`-1` once the process is reaped).
pub fn pidfd_pid(fdinfo: &str) -> Option<u32> {
    fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|p| *p > 0)
        .map(|p| p as u32)
}

/// The inode of a `socket:[123]` link target.
pub fn socket_inode(target: &str) -> Option<u64> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The inode of a `pipe:[123]` link target.
pub fn pipe_inode(target: &str) -> Option<u64> {
    target
        .strip_prefix("pipe:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// One row of a socket table.
#[derive(Clone, Debug)]
pub struct SocketRow {
    family: &'static str,
    proto: &'static str,
    local: String,
    remote: Option<String>,
    state: Option<String>,
    rx_queue: u64,
    tx_queue: u64,
}

/// Socket tables by network namespace, read on demand during one sample.
#[derive(Default)]
pub struct NetTables {
    by_ns: HashMap<String, HashMap<u64, SocketRow>>,
    /// Received-byte counters of this namespace's TCP sockets (`tcpdiag`), read once.
    received: Option<Option<HashMap<u64, u64>>>,
}

impl NetTables {
    /// The sockets among `fds`, looked up in the tables of the process's namespace.
    pub fn sockets(&mut self, dir: &Path, fds: &[FdInfo]) -> Vec<SocketInfo> {
        let inodes: Vec<(i32, u64)> = fds
            .iter()
            .filter_map(|f| socket_inode(&f.target).map(|i| (f.fd, i)))
            .collect();
        if inodes.is_empty() {
            return Vec::new();
        }
        let ns = fs::read_link(dir.join("ns/net"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| dir.display().to_string());
        let table = self.by_ns.entry(ns).or_insert_with(|| read_tables(dir));
        let any_tcp = inodes
            .iter()
            .any(|(_, i)| table.get(i).is_some_and(|r| r.proto == "tcp"));
        let received = if any_tcp {
            self.received
                .get_or_insert_with(super::tcpdiag::bytes_received)
                .as_ref()
        } else {
            None
        };
        inodes
            .into_iter()
            .filter_map(|(fd, ino)| {
                let r = table.get(&ino)?;
                let bytes_received = (r.proto == "tcp")
                    .then(|| received.and_then(|m| m.get(&ino).copied()))
                    .flatten();
                Some(SocketInfo {
                    fd,
                    family: r.family.to_string(),
                    proto: r.proto.to_string(),
                    local: Some(r.local.clone()),
                    remote: r.remote.clone(),
                    state: r.state.clone(),
                    rx_queue: Some(r.rx_queue),
                    tx_queue: Some(r.tx_queue),
                    bytes_received,
                })
            })
            .collect()
    }
}

fn read_tables(dir: &Path) -> HashMap<u64, SocketRow> {
    let si = procfs::current_system_info();
    let mut out = HashMap::new();
    for (file, family) in [("tcp", "inet"), ("tcp6", "inet6")] {
        let Ok(bytes) = fs::read(dir.join("net").join(file)) else {
            continue;
        };
        let Ok(t) = TcpNetEntries::from_read(&bytes[..], si) else {
            continue;
        };
        for e in t.0 {
            let listening = e.state == TcpState::Listen;
            out.insert(
                e.inode,
                SocketRow {
                    family,
                    proto: "tcp",
                    local: e.local_address.to_string(),
                    remote: (!listening).then(|| e.remote_address.to_string()),
                    state: Some(tcp_state_name(&e.state).to_string()),
                    rx_queue: e.rx_queue as u64,
                    tx_queue: e.tx_queue as u64,
                },
            );
        }
    }
    for (file, family) in [("udp", "inet"), ("udp6", "inet6")] {
        let Ok(bytes) = fs::read(dir.join("net").join(file)) else {
            continue;
        };
        let Ok(t) = UdpNetEntries::from_read(&bytes[..], si) else {
            continue;
        };
        for e in t.0 {
            let connected = e.remote_address.port() != 0;
            out.insert(
                e.inode,
                SocketRow {
                    family,
                    proto: "udp",
                    local: e.local_address.to_string(),
                    remote: connected.then(|| e.remote_address.to_string()),
                    state: None,
                    rx_queue: e.rx_queue as u64,
                    tx_queue: e.tx_queue as u64,
                },
            );
        }
    }
    out
}

/// The names `/proc/net/tcp` users know (`include/net/tcp_states.h`).
fn tcp_state_name(s: &TcpState) -> &'static str {
    match s {
        TcpState::Established => "ESTABLISHED",
        TcpState::SynSent => "SYN_SENT",
        TcpState::SynRecv => "SYN_RECV",
        TcpState::FinWait1 => "FIN_WAIT1",
        TcpState::FinWait2 => "FIN_WAIT2",
        TcpState::TimeWait => "TIME_WAIT",
        TcpState::Close => "CLOSE",
        TcpState::CloseWait => "CLOSE_WAIT",
        TcpState::LastAck => "LAST_ACK",
        TcpState::Listen => "LISTEN",
        TcpState::Closing => "CLOSING",
        TcpState::NewSynRecv => "NEW_SYN_RECV",
    }
}

/// One line of `/proc/locks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRow {
    pub id: u32,
    pub waiting: bool,
    pub kind: String,
    pub mode: String,
    pub pid: u32,
    /// `major:minor:inode`, majors and minors in hex as the kernel prints them.
    pub file: String,
}

/// Parse `/proc/locks`:
/// `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF` and, for a waiter,
/// `1: -> FLOCK  ADVISORY  WRITE 4321 08:01:5678 0 EOF`.
pub fn parse_locks(text: &str) -> Vec<LockRow> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let id = f.next()?.strip_suffix(':')?.parse().ok()?;
            let mut kind = f.next()?;
            let waiting = kind == "->";
            if waiting {
                kind = f.next()?;
            }
            let _advisory = f.next()?;
            let mode = f.next()?;
            let pid: i64 = f.next()?.parse().ok()?;
            let file = f.next()?.to_string();
            Some(LockRow {
                id,
                waiting,
                kind: match kind {
                    "FLOCK" => "flock",
                    "POSIX" => "posix",
                    "OFDLCK" => "ofd",
                    "LEASE" => "lease",
                    _ => "other",
                }
                .to_string(),
                mode: mode.to_ascii_lowercase(),
                pid: u32::try_from(pid).ok()?,
                file,
            })
        })
        .collect()
}

/// The locks `pid` holds or waits for, with the holder of each awaited one and the path
/// when one of the process's descriptors names the locked file.
pub fn locks_of(
    pid: u32,
    rows: &[LockRow],
    fds: &[FdInfo],
    dir: &Path,
    stuck_io: bool,
) -> Vec<LockInfo> {
    let mine: Vec<&LockRow> = rows.iter().filter(|r| r.pid == pid).collect();
    if mine.is_empty() {
        return Vec::new();
    }
    // major:minor:inode of every file descriptor that names a path.
    let by_file: HashMap<String, String> = fds
        .iter()
        .filter(|f| f.target.starts_with('/'))
        // stat() of a file on a dead FUSE/NFS server would hang gohang itself.
        .filter(|f| !stuck_io || super::mounts::remote_fs_at(pid, Path::new(&f.target)).is_none())
        .filter_map(|f| {
            let md = fs::metadata(dir.join("fd").join(f.fd.to_string())).ok()?;
            let dev = md.dev();
            let key = format!(
                "{:02x}:{:02x}:{}",
                libc::major(dev),
                libc::minor(dev),
                md.ino()
            );
            Some((key, f.target.trim_end_matches(" (deleted)").to_string()))
        })
        .collect();
    mine.into_iter()
        .map(|r| {
            let holder = r
                .waiting
                .then(|| rows.iter().find(|h| h.id == r.id && !h.waiting))
                .flatten()
                .map(|h| holder_of(h.pid));
            LockInfo {
                kind: r.kind.clone(),
                mode: r.mode.clone(),
                waiting: r.waiting,
                file: r.file.clone(),
                path: by_file.get(&r.file).cloned(),
                holder,
            }
        })
        .collect()
}

/// A socket to a nameserver: its peer's port is 53 (UDP or TCP).
pub fn to_nameserver(s: &SocketInfo) -> bool {
    s.remote.as_deref().is_some_and(|r| r.ends_with(":53"))
}

/// `resolv.conf` through the process's own root (`/proc/PID/root`, proc(5)): a container
/// or mount namespace has its own. Only a regular file is read, at most 1 MiB.
pub fn resolver_of(dir: &Path) -> Option<ResolverConf> {
    let read =
        |p: &Path| crate::safeio::read_found_text(p, crate::safeio::SMALL_TEXT).ok();
    let text = read(&dir.join("root/etc/resolv.conf"))?;
    let mut conf = parse_resolv_conf(&text);
    conf.differs_from_host = read(Path::new("/etc/resolv.conf")).is_none_or(|h| h != text);
    Some(conf)
}

/// `nameserver` and `search` lines of a resolv.conf (`resolv.conf(5)`: `#` and `;` start
/// comments; the last `search` or `domain` line wins).
pub fn parse_resolv_conf(text: &str) -> ResolverConf {
    let mut conf = ResolverConf {
        file: "/etc/resolv.conf".to_string(),
        nameservers: Vec::new(),
        search: Vec::new(),
        differs_from_host: false,
    };
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => conf.nameservers.extend(words.next().map(str::to_string)),
            Some("search") | Some("domain") => {
                conf.search = words.map(str::to_string).collect();
            }
            _ => {}
        }
    }
    conf
}

fn holder_of(pid: u32) -> LockHolder {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".to_string());
    let command = fs::read(format!("/proc/{pid}/cmdline")).ok().map(|b| {
        b.split(|&c| c == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    });
    // Its start time tells it from a later process given the same pid (LINUX.md).
    let start_time = fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            rest.split_whitespace().nth(19)?.parse::<u64>().ok()
        });
    LockHolder {
        pid,
        start_time,
        comm,
        command: command.filter(|c| !c.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_lines() {
        let c = parse_resolv_conf(
            "# generated\nnameserver 127.0.0.53 # stub\n;nameserver 9.9.9.9\nnameserver ::1\nsearch a.example b.example\noptions edns0\n",
        );
        assert_eq!(c.nameservers, vec!["127.0.0.53", "::1"]);
        assert_eq!(c.search, vec!["a.example", "b.example"]);
        assert!(parse_resolv_conf("").nameservers.is_empty());
    }

    #[test]
    fn lock_lines() {
        let text = "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF\n\
                    1: -> FLOCK  ADVISORY  WRITE 4321 08:01:5678 0 EOF\n\
                    2: POSIX  ADVISORY  READ 99 fd:00:42 0 EOF\n\
                    3: OFDLCK ADVISORY  WRITE -1 00:2e:7 0 EOF\n\
                    garbage\n";
        let rows = parse_locks(text);
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(
            rows[0],
            LockRow {
                id: 1,
                waiting: false,
                kind: "flock".into(),
                mode: "write".into(),
                pid: 1234,
                file: "08:01:5678".into()
            }
        );
        assert!(rows[1].waiting && rows[1].pid == 4321);
        assert_eq!(rows[2].kind, "posix");
        assert_eq!(rows[2].mode, "read");
    }

    #[test]
    fn pidfd_fdinfo() {
        assert_eq!(
            pidfd_pid(
                "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nPid:\t4242\nNSpid:\t4242\n"
            ),
            Some(4242)
        );
        assert_eq!(pidfd_pid("Pid:\t-1\n"), None);
        assert_eq!(pidfd_pid("pos: 0\n"), None);
    }

    #[test]
    fn socket_targets() {
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("pipe:[12345]"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
    }
}
