//! Bytes received on each TCP socket, from the kernel's sock_diag netlink interface
//! (`inet_diag`, what `ss -ti` reads): `tcp_info.tcpi_bytes_received` (Linux 4.1), by
//! socket inode. `/proc/net/tcp`'s `rx_queue` only counts bytes received and not yet
//! read, so a connection that trickles data the process reads at once shows 0 there; the
//! counter, compared across samples, tells silence from a slow transfer.
//!
//! The answer covers gohang's own network namespace; a socket of another namespace is
//! simply not found (socket inodes are unique system-wide), and its count stays unknown.
//! Every receive is time-boxed (SO_RCVTIMEO), and the dump is bounded.

use std::collections::HashMap;
use std::io;
use std::os::fd::OwnedFd;

/// `linux/sock_diag.h`
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `linux/inet_diag.h`: the `tcp_info` attribute, asked for with bit `INET_DIAG_INFO - 1`.
const INET_DIAG_INFO: u16 = 2;
/// `struct inet_diag_msg`: family, state, timer, retrans, id (48 bytes), expires, rqueue,
/// wqueue, uid, inode.
const DIAG_MSG_LEN: usize = 72;
const DIAG_MSG_INODE: usize = 68;
/// `struct tcp_info`: `tcpi_bytes_received` (__u64) follows rto … total_retrans,
/// pacing_rate, max_pacing_rate, bytes_acked (`include/uapi/linux/tcp.h`).
const TCPI_BYTES_RECEIVED: usize = 128;
const NLMSG_HDR: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// How many datagrams one dump may take before gohang stops reading.
const MAX_DATAGRAMS: usize = 4096;

/// Bytes received so far by every TCP socket of this network namespace, by inode; None
/// when the kernel does not answer (no sock_diag, a seccomp filter, a timeout).
pub fn bytes_received() -> Option<HashMap<u64, u64>> {
    let sock = super::sockdiag::open(std::time::Duration::from_millis(500))?;
    let mut out = HashMap::new();
    for family in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
        dump(&sock, family, &mut out).ok()?;
    }
    Some(out)
}

fn dump(sock: &OwnedFd, family: u8, out: &mut HashMap<u64, u64>) -> io::Result<()> {
    let mut req = [0u8; NLMSG_HDR + 56];
    let len = req.len() as u32;
    req[0..4].copy_from_slice(&len.to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    req[6..8].copy_from_slice(&flags.to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    // struct inet_diag_req_v2: family, protocol, ext, pad, states, id.
    req[16] = family;
    req[17] = libc::IPPROTO_TCP as u8;
    req[18] = 1 << (INET_DIAG_INFO - 1);
    req[20..24].copy_from_slice(&u32::MAX.to_ne_bytes());
    super::sockdiag::send(sock, &req)?;
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..MAX_DATAGRAMS {
        let n = super::sockdiag::recv(sock, &mut buf)?;
        if parse_datagram(&buf[..n], out) {
            return Ok(());
        }
    }
    Err(io::Error::other("the socket dump did not end"))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Parse one datagram of netlink messages into `out`; true at the end of the dump (or an
/// error message, which ends it too).
pub fn parse_datagram(b: &[u8], out: &mut HashMap<u64, u64>) -> bool {
    let mut at = 0;
    while at + NLMSG_HDR <= b.len() {
        let Some(len) = u32_at(b, at).map(|l| l as usize) else {
            return true;
        };
        let kind = u16_at(b, at + 4).unwrap_or(NLMSG_DONE);
        if len < NLMSG_HDR || at + len > b.len() {
            return true;
        }
        if kind == NLMSG_DONE || kind == NLMSG_ERROR {
            return true;
        }
        if kind == SOCK_DIAG_BY_FAMILY {
            let msg = &b[at + NLMSG_HDR..at + len];
            if let Some((inode, received)) = parse_diag_msg(msg) {
                out.insert(inode, received);
            }
        }
        at += align4(len);
    }
    false
}

/// One `inet_diag_msg` with its attributes: (inode, tcpi_bytes_received).
fn parse_diag_msg(msg: &[u8]) -> Option<(u64, u64)> {
    let inode = u32_at(msg, DIAG_MSG_INODE)? as u64;
    let mut at = DIAG_MSG_LEN;
    while at + 4 <= msg.len() {
        let len = u16_at(msg, at)? as usize;
        let kind = u16_at(msg, at + 2)?;
        if len < 4 || at + len > msg.len() {
            return None;
        }
        if kind == INET_DIAG_INFO {
            let info = &msg[at + 4..at + len];
            return Some((inode, u64_at(info, TCPI_BYTES_RECEIVED)?));
        }
        at += align4(len);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::io::{Read, Write};

    fn inode_of(s: &std::net::TcpStream) -> u64 {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", s.as_raw_fd())).unwrap();
        link.to_string_lossy()
            .trim_start_matches("socket:[")
            .trim_end_matches(']')
            .parse()
            .unwrap()
    }

    /// A real connection on 127.0.0.1: the counter moves by what was received, whether or
    /// not it was read.
    #[test]
    fn counts_what_a_real_socket_received() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut server, _) = l.accept().unwrap();
        let ino = inode_of(&client);
        let before = bytes_received().expect("sock_diag answers")[&ino];
        server.write_all(&[7u8; 1000]).unwrap();
        let mut got = [0u8; 1000];
        client.read_exact(&mut got).unwrap();
        let after = bytes_received().unwrap()[&ino];
        assert_eq!(after - before, 1000);
    }

    #[test]
    fn malformed_answers_end_the_dump() {
        let mut out = HashMap::new();
        assert!(parse_datagram(&[1, 0, 0, 0], &mut out) || out.is_empty());
        let mut msg = vec![0u8; NLMSG_HDR];
        msg[0..4].copy_from_slice(&(NLMSG_HDR as u32).to_ne_bytes());
        msg[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        assert!(parse_datagram(&msg, &mut out));
        // A length beyond the datagram.
        msg[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        msg[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        assert!(parse_datagram(&msg, &mut out));
        assert!(out.is_empty());
    }
}
