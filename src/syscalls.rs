//! Names of the system calls a stuck thread is found in, for the architectures gohang runs
//! on. Only calls that mean something for a hang are listed; others show as numbers.
//! Numbers from the kernel's `arch/x86/entry/syscalls/syscall_64.tbl` and
//! `include/uapi/asm-generic/unistd.h` (arm64, riscv64, loongarch64).

use crate::evidence::{Arch, DescriptorOp};

const X86_64: &[(i64, &str)] = &[
    (0, "read"),
    (1, "write"),
    (2, "open"),
    (4, "stat"),
    (5, "fstat"),
    (6, "lstat"),
    (80, "chdir"),
    (83, "mkdir"),
    (217, "getdents64"),
    (262, "newfstatat"),
    (332, "statx"),
    (7, "poll"),
    (17, "pread64"),
    (19, "readv"),
    (23, "select"),
    (34, "pause"),
    (35, "nanosleep"),
    (42, "connect"),
    (43, "accept"),
    (45, "recvfrom"),
    (47, "recvmsg"),
    (61, "wait4"),
    (72, "fcntl"),
    (73, "flock"),
    (74, "fsync"),
    (130, "rt_sigsuspend"),
    (128, "rt_sigtimedwait"),
    (202, "futex"),
    (219, "restart_syscall"),
    (230, "clock_nanosleep"),
    (232, "epoll_wait"),
    (247, "waitid"),
    (257, "openat"),
    (270, "pselect6"),
    (271, "ppoll"),
    (281, "epoll_pwait"),
    (288, "accept4"),
    (441, "epoll_pwait2"),
    (18, "pwrite64"),
    (20, "writev"),
    (40, "sendfile"),
    (44, "sendto"),
    (46, "sendmsg"),
    (295, "preadv"),
    (296, "pwritev"),
    (299, "recvmmsg"),
    (307, "sendmmsg"),
    (327, "preadv2"),
    (328, "pwritev2"),
    (437, "openat2"),
    (56, "clone"),
    (57, "fork"),
    (59, "execve"),
    (435, "clone3"),
];

const GENERIC: &[(i64, &str)] = &[
    (25, "fcntl"),
    (34, "mkdirat"),
    (49, "chdir"),
    (61, "getdents64"),
    (79, "newfstatat"),
    (80, "fstat"),
    (291, "statx"),
    (32, "flock"),
    (56, "openat"),
    (63, "read"),
    (64, "write"),
    (65, "readv"),
    (67, "pread64"),
    (72, "pselect6"),
    (73, "ppoll"),
    (82, "fsync"),
    (95, "waitid"),
    (98, "futex"),
    (101, "nanosleep"),
    (115, "clock_nanosleep"),
    (128, "restart_syscall"),
    (133, "rt_sigsuspend"),
    (137, "rt_sigtimedwait"),
    (202, "accept"),
    (203, "connect"),
    (207, "recvfrom"),
    (212, "recvmsg"),
    (220, "clone"),
    (221, "execve"),
    (242, "accept4"),
    (260, "wait4"),
    (22, "epoll_pwait"),
    (441, "epoll_pwait2"),
    (66, "writev"),
    (68, "pwrite64"),
    (69, "preadv"),
    (70, "pwritev"),
    (71, "sendfile"),
    (206, "sendto"),
    (211, "sendmsg"),
    (243, "recvmmsg"),
    (269, "sendmmsg"),
    (286, "preadv2"),
    (287, "pwritev2"),
    (437, "openat2"),
    (435, "clone3"),
];

/// The calls the kernel resumes through `restart_syscall` after an interruption (a stop
/// and SIGCONT, or a tracer attaching): `restart_syscall(2)` lists poll, nanosleep,
/// clock_nanosleep and futex waits, the users of the kernel's `restart_block`. Until such a
/// call ends, `/proc/TID/syscall` shows `restart_syscall` instead of it.
pub const RESUMED_BY_RESTART_SYSCALL: &[&str] = &["nanosleep", "clock_nanosleep", "poll", "futex"];

/// A call that blocks on one descriptor: which way it waits, and which argument holds the
/// descriptor (for an open: the path pointer; `openat(2)`'s first argument is the
/// directory descriptor). `sendfile(2)` writes to its first argument.
pub fn descriptor_call(name: &str) -> Option<(DescriptorOp, usize)> {
    Some(match name {
        "write" | "writev" | "pwrite64" | "pwritev" | "pwritev2" | "sendto" | "sendmsg"
        | "sendmmsg" | "sendfile" => (DescriptorOp::Write, 0),
        "read" | "readv" | "pread64" | "preadv" | "preadv2" | "recvfrom" | "recvmsg"
        | "recvmmsg" => (DescriptorOp::Read, 0),
        "open" => (DescriptorOp::Open, 0),
        "openat" | "openat2" => (DescriptorOp::Open, 1),
        "accept" | "accept4" => (DescriptorOp::Accept, 0),
        "connect" => (DescriptorOp::Connect, 0),
        _ => return None,
    })
}

/// The name of syscall `nr` on `arch`, if listed.
pub fn name(arch: &Arch, nr: i64) -> Option<&'static str> {
    let table = match arch {
        Arch::X86_64 => X86_64,
        Arch::Aarch64 | Arch::Arm64e | Arch::Riscv64 | Arch::Loongarch64 => GENERIC,
        _ => return None,
    };
    table.iter().find(|(n, _)| *n == nr).map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers() {
        assert_eq!(name(&Arch::X86_64, 202), Some("futex"));
        assert_eq!(name(&Arch::X86_64, 247), Some("waitid"));
        assert_eq!(name(&Arch::Aarch64, 98), Some("futex"));
        assert_eq!(name(&Arch::Aarch64, 203), Some("connect"));
        assert_eq!(name(&Arch::X86_64, 219), Some("restart_syscall"));
        assert_eq!(name(&Arch::Aarch64, 128), Some("restart_syscall"));
        assert_eq!(name(&Arch::X86_64, 9999), None);
        assert_eq!(name(&Arch::S390x, 0), None);
        assert_eq!(name(&Arch::X86_64, 20), Some("writev"));
        assert_eq!(name(&Arch::Aarch64, 66), Some("writev"));
        assert_eq!(descriptor_call("writev"), Some((DescriptorOp::Write, 0)));
        assert_eq!(descriptor_call("openat"), Some((DescriptorOp::Open, 1)));
        assert_eq!(descriptor_call("futex"), None);
    }
}
