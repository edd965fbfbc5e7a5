//! `struct socket_fdinfo` — what `proc_pidfdinfo(pid, fd, PROC_PIDFDSOCKETINFO)` fills for
//! one socket of a process (same uid or root) — and its decoding into the shared
//! [`SocketInfo`]. The `libc` crate has none of these structs, so they are written out from
//! xnu `bsd/sys/proc_info.h`, with their sizes and offsets asserted at compile time
//! (LP64: `socket_fdinfo` 792, `socket_info` 768 with `soi_kind` at 232 and
//! the protocol union at 240, `in_sockinfo` 80, `tcp_sockinfo` 120, `un_sockinfo` 528).
//!
//! A hung `go mod download` shows here as a TCP socket in `SYN_SENT` (a peer that does not
//! answer) or `ESTABLISHED` with no progress, with the peer's address.

use crate::evidence::SocketInfo;
use std::mem::{offset_of, size_of};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// Flavor of `proc_pidfdinfo` (`PROC_PIDFDSOCKETINFO`).
pub const PROC_PIDFDSOCKETINFO: i32 = 3;
/// `proc_fdtype` of a socket in `PROC_PIDLISTFDS` results.
pub const PROX_FDTYPE_SOCKET: u32 = 2;

/// `soi_kind`.
pub const SOCKINFO_IN: i32 = 1;
pub const SOCKINFO_TCP: i32 = 2;
pub const SOCKINFO_UN: i32 = 3;
/// `insi_vflag`.
pub const INI_IPV4: u8 = 0x1;
pub const INI_IPV6: u8 = 0x2;
/// Darwin's address families and socket types (`sys/socket.h`; `AF_INET6` is 30 here).
pub const AF_UNIX: i32 = 1;
pub const AF_INET: i32 = 2;
pub const AF_INET6: i32 = 30;
pub const SOCK_STREAM: i32 = 1;
pub const SOCK_DGRAM: i32 = 2;
pub const SOCK_SEQPACKET: i32 = 5;
pub const IPPROTO_TCP: i32 = 6;
pub const IPPROTO_UDP: i32 = 17;

/// `struct proc_fileinfo` (24).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ProcFileinfo {
    pub fi_openflags: u32,
    pub fi_status: u32,
    pub fi_offset: i64,
    pub fi_type: i32,
    pub fi_guardflags: u32,
}

/// `struct vinfo_stat` (136).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct VinfoStat {
    pub vst_dev: u32,
    pub vst_mode: u16,
    pub vst_nlink: u16,
    pub vst_ino: u64,
    pub vst_uid: u32,
    pub vst_gid: u32,
    pub vst_times: [i64; 8],
    pub vst_size: i64,
    pub vst_blocks: i64,
    pub vst_blksize: i32,
    pub vst_flags: u32,
    pub vst_gen: u32,
    pub vst_rdev: u32,
    pub vst_qspare: [i64; 2],
}

/// `struct sockbuf_info` (24).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SockbufInfo {
    pub sbi_cc: u32,
    pub sbi_hiwat: u32,
    pub sbi_mbcnt: u32,
    pub sbi_mbmax: u32,
    pub sbi_lowat: u32,
    pub sbi_flags: i16,
    pub sbi_timeo: i16,
}

/// `struct in_sockinfo` (80). The address unions (`in4in6_addr` / `in6_addr`) are kept as
/// 16 bytes: IPv4 sits in the last four (`i46a_addr4`), network order.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct InSockinfo {
    /// Ports in network byte order in the low 16 bits.
    pub insi_fport: i32,
    pub insi_lport: i32,
    pub insi_gencnt: u64,
    pub insi_flags: u32,
    pub insi_flow: u32,
    pub insi_vflag: u8,
    pub insi_ip_ttl: u8,
    _pad0: [u8; 2],
    pub rfu_1: u32,
    pub insi_faddr: [u8; 16],
    pub insi_laddr: [u8; 16],
    pub insi_v4_tos: u8,
    _pad1: [u8; 3],
    pub in6_hlim: u8,
    _pad2: [u8; 3],
    pub in6_cksum: i32,
    pub in6_ifindex: u16,
    pub in6_hops: i16,
}

/// `struct tcp_sockinfo` (120).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TcpSockinfo {
    pub tcpsi_ini: InSockinfo,
    pub tcpsi_state: i32,
    pub tcpsi_timer: [i32; 4],
    pub tcpsi_mss: i32,
    pub tcpsi_flags: u32,
    pub rfu_1: u32,
    pub tcpsi_tp: u64,
}

/// `struct un_sockinfo` (528): the two addresses are `sockaddr_un` in a
/// `SOCK_MAXADDRLEN` (255) byte union.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UnSockinfo {
    pub unsi_conn_so: u64,
    pub unsi_conn_pcb: u64,
    pub unsi_addr: [u8; 255],
    pub unsi_caddr: [u8; 255],
}

/// `soi_proto`: the protocol-dependent part, chosen by `soi_kind`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union SoiProto {
    pub pri_in: InSockinfo,
    pub pri_tcp: TcpSockinfo,
    pub pri_un: UnSockinfo,
    /// The largest member fixes the size (528).
    pub raw: [u64; 66],
}

/// `struct socket_info` (768).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SocketInfoC {
    pub soi_stat: VinfoStat,
    pub soi_so: u64,
    pub soi_pcb: u64,
    pub soi_type: i32,
    pub soi_protocol: i32,
    pub soi_family: i32,
    pub soi_options: i16,
    pub soi_linger: i16,
    pub soi_state: i16,
    pub soi_qlen: i16,
    pub soi_incqlen: i16,
    pub soi_qlimit: i16,
    pub soi_timeo: i16,
    pub soi_error: u16,
    pub soi_oobmark: u32,
    pub soi_rcv: SockbufInfo,
    pub soi_snd: SockbufInfo,
    pub soi_kind: i32,
    pub rfu_1: u32,
    pub soi_proto: SoiProto,
}

/// `struct socket_fdinfo` (792).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SocketFdinfo {
    pub pfi: ProcFileinfo,
    pub psi: SocketInfoC,
}

const _: () = assert!(size_of::<ProcFileinfo>() == 24);
const _: () = assert!(size_of::<VinfoStat>() == 136);
const _: () = assert!(size_of::<SockbufInfo>() == 24);
const _: () = assert!(size_of::<InSockinfo>() == 80);
const _: () = assert!(offset_of!(InSockinfo, insi_vflag) == 24);
const _: () = assert!(offset_of!(InSockinfo, insi_faddr) == 32);
const _: () = assert!(offset_of!(InSockinfo, insi_laddr) == 48);
const _: () = assert!(size_of::<TcpSockinfo>() == 120);
const _: () = assert!(size_of::<UnSockinfo>() == 528);
const _: () = assert!(size_of::<SoiProto>() == 528);
const _: () = assert!(size_of::<SocketInfoC>() == 768);
const _: () = assert!(offset_of!(SocketInfoC, soi_kind) == 232);
const _: () = assert!(offset_of!(SocketInfoC, soi_proto) == 240);
const _: () = assert!(size_of::<SocketFdinfo>() == 792);

impl SocketFdinfo {
    /// An all-zero record, to be filled by `proc_pidfdinfo`.
    pub fn zeroed() -> SocketFdinfo {
        // SAFETY: every field is an integer, an integer array or a union of such; the
        // all-zero bit pattern is a valid value of each.
        unsafe { std::mem::zeroed() }
    }
}

/// TCP state (`TSI_S_*`) in Linux `/proc/net/tcp` naming, so both backends say the same.
pub fn tcp_state_name(state: i32) -> Option<&'static str> {
    Some(match state {
        0 => "CLOSE",
        1 => "LISTEN",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "ESTABLISHED",
        5 => "CLOSE_WAIT",
        6 => "FIN_WAIT1",
        7 => "CLOSING",
        8 => "LAST_ACK",
        9 => "FIN_WAIT2",
        10 => "TIME_WAIT",
        _ => return None,
    })
}

/// `ip:port` of one end, or None for an unbound / unconnected end (`0.0.0.0:0`).
fn endpoint(vflag: u8, addr: &[u8; 16], port_be: i32) -> Option<String> {
    let port = u16::from_be(port_be as u16);
    let ip: std::net::IpAddr = if vflag & INI_IPV4 != 0 {
        Ipv4Addr::new(addr[12], addr[13], addr[14], addr[15]).into()
    } else if vflag & INI_IPV6 != 0 {
        Ipv6Addr::from(*addr).into()
    } else {
        return None;
    };
    if port == 0 && ip.is_unspecified() {
        return None;
    }
    Some(SocketAddr::new(ip, port).to_string())
}

/// The path in a `sockaddr_un` {u8 sun_len; u8 sun_family; char sun_path[104]}.
fn unix_path(sa: &[u8; 255]) -> Option<String> {
    let len = (sa[0] as usize).clamp(2, sa.len());
    let path = super::c_str(&sa[2..len]);
    (!path.is_empty()).then_some(path)
}

/// The shared description of one socket; None for kinds gohang does not report (kernel
/// control, event and route sockets …).
pub fn decode(fd: i32, si: &SocketFdinfo) -> Option<SocketInfo> {
    let psi = &si.psi;
    let family = match psi.soi_family {
        AF_INET => "inet",
        AF_INET6 => "inet6",
        AF_UNIX => "unix",
        _ => return None,
    };
    match psi.soi_kind {
        SOCKINFO_TCP => {
            // SAFETY: soi_kind says the union holds tcp_sockinfo; any bit pattern is valid.
            let tcp = unsafe { psi.soi_proto.pri_tcp };
            let ini = &tcp.tcpsi_ini;
            Some(SocketInfo {
                fd,
                family: family.to_string(),
                proto: "tcp".to_string(),
                local: endpoint(ini.insi_vflag, &ini.insi_laddr, ini.insi_lport),
                remote: endpoint(ini.insi_vflag, &ini.insi_faddr, ini.insi_fport),
                state: tcp_state_name(tcp.tcpsi_state).map(str::to_string),
                rx_queue: None,
                tx_queue: None,
                bytes_received: None,
            })
        }
        SOCKINFO_IN => {
            // SAFETY: soi_kind says the union holds in_sockinfo; any bit pattern is valid.
            let ini = unsafe { psi.soi_proto.pri_in };
            let proto = match (psi.soi_protocol, psi.soi_type) {
                (IPPROTO_TCP, _) | (_, SOCK_STREAM) => "tcp",
                (IPPROTO_UDP, _) | (_, SOCK_DGRAM) => "udp",
                _ => return None,
            };
            Some(SocketInfo {
                fd,
                family: family.to_string(),
                proto: proto.to_string(),
                local: endpoint(ini.insi_vflag, &ini.insi_laddr, ini.insi_lport),
                remote: endpoint(ini.insi_vflag, &ini.insi_faddr, ini.insi_fport),
                state: None,
                rx_queue: None,
                tx_queue: None,
                bytes_received: None,
            })
        }
        SOCKINFO_UN => {
            // SAFETY: soi_kind says the union holds un_sockinfo; any bit pattern is valid.
            let un = unsafe { psi.soi_proto.pri_un };
            let proto = match psi.soi_type {
                SOCK_STREAM => "stream",
                SOCK_DGRAM => "dgram",
                SOCK_SEQPACKET => "seqpacket",
                _ => "unknown",
            };
            Some(SocketInfo {
                fd,
                family: "unix".to_string(),
                proto: proto.to_string(),
                local: unix_path(&un.unsi_addr),
                remote: unix_path(&un.unsi_caddr),
                state: None,
                rx_queue: None,
                tx_queue: None,
                bytes_received: None,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp4(state: i32, faddr: [u8; 4], fport: u16, laddr: [u8; 4], lport: u16) -> SocketFdinfo {
        let mut s = SocketFdinfo::zeroed();
        s.psi.soi_family = AF_INET;
        s.psi.soi_type = SOCK_STREAM;
        s.psi.soi_protocol = IPPROTO_TCP;
        s.psi.soi_kind = SOCKINFO_TCP;
        // SAFETY: writing plain integers into the union's tcp member of a zeroed record.
        unsafe {
            let t = &mut s.psi.soi_proto.pri_tcp;
            t.tcpsi_state = state;
            t.tcpsi_ini.insi_vflag = INI_IPV4;
            t.tcpsi_ini.insi_faddr[12..].copy_from_slice(&faddr);
            t.tcpsi_ini.insi_laddr[12..].copy_from_slice(&laddr);
            t.tcpsi_ini.insi_fport = fport.to_be() as i32;
            t.tcpsi_ini.insi_lport = lport.to_be() as i32;
        }
        s
    }

    #[test]
    fn tcp_connect_in_progress() {
        let s = tcp4(2, [142, 250, 74, 113], 443, [192, 168, 1, 20], 53124);
        let d = decode(7, &s).unwrap();
        assert_eq!(d.fd, 7);
        assert_eq!(d.family, "inet");
        assert_eq!(d.proto, "tcp");
        assert_eq!(d.remote.as_deref(), Some("142.250.74.113:443"));
        assert_eq!(d.local.as_deref(), Some("192.168.1.20:53124"));
        assert_eq!(d.state.as_deref(), Some("SYN_SENT"));
    }

    #[test]
    fn listening_socket_has_no_peer() {
        let s = tcp4(1, [0; 4], 0, [127, 0, 0, 1], 8080);
        let d = decode(3, &s).unwrap();
        assert_eq!(d.remote, None);
        assert_eq!(d.state.as_deref(), Some("LISTEN"));
    }

    #[test]
    fn tcp6_and_udp() {
        let mut s = SocketFdinfo::zeroed();
        s.psi.soi_family = AF_INET6;
        s.psi.soi_type = SOCK_STREAM;
        s.psi.soi_kind = SOCKINFO_TCP;
        let peer: Ipv6Addr = "2607:f8b0:4004:c1b::8d".parse().unwrap();
        // SAFETY: writing plain integers into the union's tcp member of a zeroed record.
        unsafe {
            let t = &mut s.psi.soi_proto.pri_tcp;
            t.tcpsi_state = 4;
            t.tcpsi_ini.insi_vflag = INI_IPV6;
            t.tcpsi_ini.insi_faddr = peer.octets();
            t.tcpsi_ini.insi_fport = 443u16.to_be() as i32;
        }
        let d = decode(9, &s).unwrap();
        assert_eq!(d.family, "inet6");
        assert_eq!(d.remote.as_deref(), Some("[2607:f8b0:4004:c1b::8d]:443"));
        assert_eq!(d.local, None);
        assert_eq!(d.state.as_deref(), Some("ESTABLISHED"));

        let mut u = SocketFdinfo::zeroed();
        u.psi.soi_family = AF_INET;
        u.psi.soi_type = SOCK_DGRAM;
        u.psi.soi_protocol = IPPROTO_UDP;
        u.psi.soi_kind = SOCKINFO_IN;
        // SAFETY: writing plain integers into the union's in member of a zeroed record.
        unsafe {
            let i = &mut u.psi.soi_proto.pri_in;
            i.insi_vflag = INI_IPV4;
            i.insi_faddr[12..].copy_from_slice(&[192, 168, 1, 1]);
            i.insi_fport = 53u16.to_be() as i32;
        }
        let d = decode(4, &u).unwrap();
        assert_eq!(
            (d.proto.as_str(), d.remote.as_deref()),
            ("udp", Some("192.168.1.1:53"))
        );
        assert_eq!(d.state, None);
    }

    #[test]
    fn unix_sockets_and_unknown_kinds() {
        let mut s = SocketFdinfo::zeroed();
        s.psi.soi_family = AF_UNIX;
        s.psi.soi_type = SOCK_STREAM;
        s.psi.soi_kind = SOCKINFO_UN;
        let path = b"/private/var/run/mDNSResponder";
        // SAFETY: writing bytes into the union's un member of a zeroed record.
        unsafe {
            let u = &mut s.psi.soi_proto.pri_un;
            u.unsi_caddr[0] = (2 + path.len()) as u8;
            u.unsi_caddr[1] = AF_UNIX as u8;
            u.unsi_caddr[2..2 + path.len()].copy_from_slice(path);
        }
        let d = decode(5, &s).unwrap();
        assert_eq!(d.family, "unix");
        assert_eq!(d.proto, "stream");
        assert_eq!(d.local, None);
        assert_eq!(d.remote.as_deref(), Some("/private/var/run/mDNSResponder"));

        let mut k = SocketFdinfo::zeroed();
        k.psi.soi_family = 32; // AF_SYSTEM
        k.psi.soi_kind = 6;
        assert!(decode(6, &k).is_none());
        assert_eq!(tcp_state_name(11), None);
    }
}
