//! The other end of a unix socket, from the kernel's sock_diag netlink interface
//! (`unix_diag`, what `ss -xp` reads): asked for one socket by its inode, the kernel gives
//! its bound path (`UNIX_DIAG_NAME`) and the inode of its peer (`UNIX_DIAG_PEER`). The
//! process holding the peer inode is then found like a pipe's other end, so a read on a
//! unix socket names the program that serves it — ssh-agent, gpg-agent, nscd, docker —
//! and its state.
//!
//! One request per socket, time-boxed (SO_RCVTIMEO); sockets of another network namespace
//! are not found (sock_diag answers for gohang's own).


const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `linux/unix_diag.h`: what to show, and the attribute types of the answer.
const UDIAG_SHOW_NAME: u32 = 0x1;
const UDIAG_SHOW_PEER: u32 = 0x4;
const UDIAG_SHOW_RQLEN: u32 = 0x10;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_RQLEN: u16 = 4;
/// Socket states as unix_diag reports them (the TCP names, `net/tcp_states.h`).
pub const STATE_ESTABLISHED: u8 = 1;
const STATE_LISTEN: u8 = 10;
const NLMSG_DONE: u16 = 3;
/// How many datagrams one dump may take before gohang stops reading.
const MAX_DATAGRAMS: usize = 1024;
const NLMSG_HDR: usize = 16;
const NLMSG_ERROR: u16 = 2;
/// `struct unix_diag_req`: family, protocol, pad, states, ino, show, cookie[2].
const REQ_LEN: usize = 24;
/// `struct unix_diag_msg`: family, type, state, pad, ino, cookie[2].
const MSG_LEN: usize = 16;

/// A unix socket as sock_diag describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnixSocket {
    /// The path it is bound to; an abstract name starts with `@`.
    pub path: Option<String>,
    /// The inode of the socket it is connected to. A connection the server has not
    /// accepted yet has none: its other end has no inode until accept(2) gives it one.
    pub peer: Option<u64>,
    /// `STATE_ESTABLISHED` for a connected socket, 10 for a listener.
    pub state: u8,
    /// For a listener: connections waiting to be accepted.
    pub backlog: Option<u32>,
}

/// A listening socket with connections its server has not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingListener {
    pub inode: u64,
    pub path: Option<String>,
    pub waiting: u32,
}

/// The socket with this inode, or None when the kernel does not answer (not a unix socket,
/// another namespace, no sock_diag, a timeout).
pub fn query(inode: u64) -> Option<UnixSocket> {
    let ino = u32::try_from(inode).ok()?;
    let sock = super::sockdiag::open(std::time::Duration::from_millis(300))?;
    let req = request(libc::NLM_F_REQUEST as u16, u32::MAX, ino, UDIAG_SHOW_NAME | UDIAG_SHOW_PEER);
    super::sockdiag::send(&sock, &req).ok()?;
    let mut buf = vec![0u8; 8192];
    let n = super::sockdiag::recv(&sock, &mut buf).ok()?;
    parse_for(&buf[..n], ino)
}

/// Every listening unix socket with connections waiting to be accepted (one dump).
pub fn pending_listeners() -> Option<Vec<PendingListener>> {
    let sock = super::sockdiag::open(std::time::Duration::from_millis(300))?;
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    let req = request(flags, 1 << STATE_LISTEN, 0, UDIAG_SHOW_NAME | UDIAG_SHOW_RQLEN);
    super::sockdiag::send(&sock, &req).ok()?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    for _ in 0..MAX_DATAGRAMS {
        let n = super::sockdiag::recv(&sock, &mut buf).ok()?;
        let mut o = 0;
        while o + NLMSG_HDR <= n {
            let len = u32::from_ne_bytes(buf[o..o + 4].try_into().ok()?) as usize;
            let kind = u16::from_ne_bytes(buf[o + 4..o + 6].try_into().ok()?);
            if kind == NLMSG_DONE {
                return Some(out);
            }
            if kind == NLMSG_ERROR || len < NLMSG_HDR || o + len > n {
                return None;
            }
            if let Some((ino, u)) = parse(&buf[o..o + len])
                && u.state == STATE_LISTEN
                && let Some(waiting) = u.backlog.filter(|b| *b > 0)
            {
                out.push(PendingListener {
                    inode: ino as u64,
                    path: u.path,
                    waiting,
                });
            }
            o += (len + 3) & !3;
        }
    }
    Some(out)
}

/// A `unix_diag_req` for sockets in `states` (a bit per state), one inode (0: any).
fn request(flags: u16, states: u32, ino: u32, show: u32) -> [u8; NLMSG_HDR + REQ_LEN] {
    let mut req = [0u8; NLMSG_HDR + REQ_LEN];
    req[0..4].copy_from_slice(&((NLMSG_HDR + REQ_LEN) as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&flags.to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    let body = &mut req[NLMSG_HDR..];
    body[0] = libc::AF_UNIX as u8;
    body[4..8].copy_from_slice(&states.to_ne_bytes());
    body[8..12].copy_from_slice(&ino.to_ne_bytes());
    body[12..16].copy_from_slice(&show.to_ne_bytes());
    // No cookie to check (INET_DIAG_NOCOOKIE, all ones).
    body[16..24].copy_from_slice(&[0xff; 8]);
    req
}

/// The answer for socket `ino`.
fn parse_for(b: &[u8], ino: u32) -> Option<UnixSocket> {
    parse(b).filter(|(i, _)| *i == ino).map(|(_, u)| u)
}

/// One netlink message with a `unix_diag_msg` and its attributes: the socket's inode and
/// what was asked of it.
fn parse(b: &[u8]) -> Option<(u32, UnixSocket)> {
    let u16_at = |o: usize| Some(u16::from_ne_bytes(b.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_ne_bytes(b.get(o..o + 4)?.try_into().ok()?));
    let len = (u32_at(0)? as usize).min(b.len());
    if u16_at(4)? == NLMSG_ERROR || len < NLMSG_HDR + MSG_LEN {
        return None;
    }
    let ino = u32_at(NLMSG_HDR + 4)?;
    let mut out = UnixSocket {
        state: b[NLMSG_HDR + 2],
        ..Default::default()
    };
    let mut o = NLMSG_HDR + MSG_LEN;
    while o + 4 <= len {
        let alen = u16_at(o)? as usize;
        let kind = u16_at(o + 2)?;
        if alen < 4 || o + alen > len {
            break;
        }
        let data = &b[o + 4..o + alen];
        match kind {
            UNIX_DIAG_NAME if !data.is_empty() => {
                let name = match data.split_first() {
                    // An abstract name: a NUL, then bytes that may hold more NULs.
                    Some((0, rest)) => format!("@{}", String::from_utf8_lossy(rest)),
                    _ => {
                        let end = data.iter().position(|c| *c == 0).unwrap_or(data.len());
                        String::from_utf8_lossy(&data[..end]).into_owned()
                    }
                };
                out.path = Some(name);
            }
            UNIX_DIAG_PEER if data.len() >= 4 => {
                let peer = u32::from_ne_bytes(data[..4].try_into().ok()?);
                out.peer = (peer != 0).then_some(peer as u64);
            }
            // struct unix_diag_rqlen: for a listener, the connections not yet accepted.
            UNIX_DIAG_RQLEN if data.len() >= 8 => {
                out.backlog = Some(u32::from_ne_bytes(data[..4].try_into().ok()?));
            }
            _ => {}
        }
        o += (alen + 3) & !3;
    }
    Some((ino, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::net::{UnixListener, UnixStream};

    fn inode(fd: i32) -> u64 {
        std::fs::metadata(format!("/proc/self/fd/{fd}")).unwrap().ino()
    }

    #[test]
    fn a_connected_pair_names_each_other_and_the_bound_path() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("agent.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let client = UnixStream::connect(&path).unwrap();
        let (server, _) = listener.accept().unwrap();
        let (c, s) = (inode(client.as_raw_fd()), inode(server.as_raw_fd()));
        let Some(q) = query(c) else {
            // No unix_diag in this kernel: say so rather than fail.
            eprintln!("SKIPPED: sock_diag has no unix_diag here");
            return;
        };
        assert_eq!(q.peer, Some(s));
        let q = query(s).unwrap();
        assert_eq!(q.peer, Some(c));
        assert_eq!(q.path.as_deref(), Some(path.to_str().unwrap()));
        // A socket inode that does not exist.
        assert_eq!(query(u32::MAX as u64 - 3), None);
    }

    #[test]
    fn a_connection_not_yet_accepted_has_no_peer_and_its_listener_waits() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("stuck.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let client = UnixStream::connect(&path).unwrap();
        let Some(q) = query(inode(client.as_raw_fd())) else {
            eprintln!("SKIPPED: sock_diag has no unix_diag here");
            return;
        };
        assert_eq!((q.peer, q.state), (None, STATE_ESTABLISHED));
        let pending = pending_listeners().unwrap();
        let mine = pending
            .iter()
            .find(|l| l.inode == inode(listener.as_raw_fd()))
            .unwrap_or_else(|| panic!("{pending:?}"));
        assert_eq!(mine.path.as_deref(), Some(path.to_str().unwrap()));
        assert_eq!(mine.waiting, 1);
    }

    #[test]
    fn attributes_are_read_with_their_alignment() {
        let mut b = vec![0u8; NLMSG_HDR + MSG_LEN];
        b[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        b[NLMSG_HDR + 4..NLMSG_HDR + 8].copy_from_slice(&77u32.to_ne_bytes());
        // An abstract name of 5 bytes (padded to 8), then the peer.
        b.extend_from_slice(&9u16.to_ne_bytes());
        b.extend_from_slice(&UNIX_DIAG_NAME.to_ne_bytes());
        b.extend_from_slice(b"\0abcd\0\0\0");
        b.extend_from_slice(&8u16.to_ne_bytes());
        b.extend_from_slice(&UNIX_DIAG_PEER.to_ne_bytes());
        b.extend_from_slice(&99u32.to_ne_bytes());
        let len = b.len() as u32;
        b[0..4].copy_from_slice(&len.to_ne_bytes());
        let q = parse_for(&b, 77).unwrap();
        assert_eq!(q.path.as_deref(), Some("@abcd"));
        assert_eq!(q.peer, Some(99));
        assert_eq!(parse_for(&b, 78), None);
    }
}
