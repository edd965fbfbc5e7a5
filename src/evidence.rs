//! The evidence model: everything gohang observed about a target, as plain data.
//!
//! Backends (`observe::*`) fill it; the classifier reads it; the report and the bundle
//! serialize it. It must stay free of OS types and of `cfg`: a macOS-shaped evidence file
//! is classified on Linux in the tests, and the other way round.
//!
//! Missing facts are data, not errors: a field that could not be read is
//! [`Fact::Unavailable`] with the reason, and never aborts a sample.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub mod binary;
pub mod guard;
pub mod toolchain;
mod trace;
pub use trace::{TraceSummary, TracedCall, TracedThread};

/// Version of the evidence file format (`--save-evidence`, bundles, test fixtures).
pub const EVIDENCE_SCHEMA: &str = "gohang.evidence/1";

/// A fact that may be missing. Serialized as the value itself, or as
/// `{"unavailable": "reason"}` when it could not be collected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Fact<T> {
    Unavailable { unavailable: String },
    Collected(T),
}

impl<T> Fact<T> {
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Fact::Unavailable {
            unavailable: reason.into(),
        }
    }
    pub fn value(&self) -> Option<&T> {
        match self {
            Fact::Collected(v) => Some(v),
            Fact::Unavailable { .. } => None,
        }
    }
    pub fn reason(&self) -> Option<&str> {
        match self {
            Fact::Collected(_) => None,
            Fact::Unavailable { unavailable } => Some(unavailable),
        }
    }
}

impl<T> From<Result<T, String>> for Fact<T> {
    fn from(r: Result<T, String>) -> Self {
        match r {
            Ok(v) => Fact::Collected(v),
            Err(e) => Fact::unavailable(e),
        }
    }
}

impl<T> Default for Fact<T> {
    fn default() -> Self {
        Fact::unavailable("not collected")
    }
}

/// A CPU architecture, named as the Linux kernel (`uname -m`) names it.
/// Mach-O's `arm64` is `Aarch64` here; [`Arch::display_for`] gives each OS's own word.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    #[serde(rename = "x86_64")]
    X86_64,
    Aarch64,
    /// arm64e (pointer authentication ABI): a Mach-O subtype of arm64.
    Arm64e,
    X86,
    Arm,
    Riscv64,
    Ppc64le,
    Ppc64,
    S390x,
    Loongarch64,
    Mips64,
    #[serde(untagged)]
    Other(String),
}

impl Arch {
    /// From `uname -m` / Go's GOARCH / Mach-O names.
    pub fn parse(s: &str) -> Arch {
        match s {
            "x86_64" | "amd64" | "x86-64" | "x64" | "x86_64h" => Arch::X86_64,
            "aarch64" | "arm64" => Arch::Aarch64,
            "arm64e" => Arch::Arm64e,
            "i386" | "i486" | "i586" | "i686" | "386" | "x86" => Arch::X86,
            "arm" | "armv7l" | "armv6l" | "armhf" | "armel" => Arch::Arm,
            "riscv64" => Arch::Riscv64,
            "ppc64le" => Arch::Ppc64le,
            "ppc64" => Arch::Ppc64,
            "s390x" => Arch::S390x,
            "loongarch64" | "loong64" => Arch::Loongarch64,
            "mips64" | "mips64le" => Arch::Mips64,
            other => Arch::Other(other.to_string()),
        }
    }

    /// Go's GOARCH for this architecture, where there is one.
    pub fn goarch(&self) -> &str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 | Arch::Arm64e => "arm64",
            Arch::X86 => "386",
            Arch::Arm => "arm",
            Arch::Riscv64 => "riscv64",
            Arch::Ppc64le => "ppc64le",
            Arch::Ppc64 => "ppc64",
            Arch::S390x => "s390x",
            Arch::Loongarch64 => "loong64",
            Arch::Mips64 => "mips64",
            Arch::Other(s) => s,
        }
    }

    /// The word a user of `os` knows: `arm64` on macOS, `aarch64` on Linux.
    pub fn display_for(&self, os: &Os) -> String {
        match (self, os) {
            (Arch::Aarch64, Os::Macos) => "arm64".to_string(),
            _ => self.to_string(),
        }
    }

    /// Can code of `self` run natively on hardware of `hw`? (arm64e runs on arm64 Macs,
    /// 32-bit x86 on x86_64 kernels with IA-32 emulation.)
    pub fn runs_natively_on(&self, hw: &Arch) -> bool {
        self == hw
            || matches!(
                (self, hw),
                (Arch::Arm64e, Arch::Aarch64)
                    | (Arch::Aarch64, Arch::Arm64e)
                    | (Arch::X86, Arch::X86_64)
            )
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Arm64e => "arm64e",
            Arch::X86 => "i386",
            Arch::Arm => "arm",
            Arch::Riscv64 => "riscv64",
            Arch::Ppc64le => "ppc64le",
            Arch::Ppc64 => "ppc64",
            Arch::S390x => "s390x",
            Arch::Loongarch64 => "loongarch64",
            Arch::Mips64 => "mips64",
            Arch::Other(s) => s,
        };
        f.write_str(s)
    }
}

/// An operating system, named as Rust's `std::env::consts::OS` names it: `linux`, `macos`,
/// `freebsd`, …. The host gohang runs on is one ([`HostInfo::os`]); so is the OS a binary's
/// headers say it is for ([`Slice::os`](binary::Slice), which may be `ios`, `netbsd`, …).
/// Serialized as that name, so evidence files read the same as when this was a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Os {
    Linux,
    Macos,
    /// Any other name: a host without an observer backend (`std::env::consts::OS` of the
    /// build), a binary for another system, or a name from an evidence file.
    Other(String),
}

impl Os {
    /// The OS of a name as `std::env::consts::OS` spells it.
    pub fn parse(name: &str) -> Os {
        match name {
            "linux" => Os::Linux,
            "macos" => Os::Macos,
            other => Os::Other(other.to_string()),
        }
    }

    /// The OS this build of gohang runs on.
    pub fn of_build() -> Os {
        Os::parse(std::env::consts::OS)
    }

    /// The OS a Go `GOOS` names (`darwin` is `macos`; the rest keep Go's word).
    pub fn from_goos(goos: &str) -> Os {
        match goos {
            "darwin" => Os::Macos,
            other => Os::parse(other),
        }
    }

    /// The name, as `std::env::consts::OS` spells it.
    pub fn name(&self) -> &str {
        match self {
            Os::Linux => "linux",
            Os::Macos => "macos",
            Os::Other(s) => s,
        }
    }

    /// Go's `GOOS` for this OS (`macos` is `darwin`; the rest are spelled alike).
    pub fn goos(&self) -> &str {
        match self {
            Os::Macos => "darwin",
            other => other.name(),
        }
    }
}

impl From<String> for Os {
    fn from(s: String) -> Os {
        Os::parse(&s)
    }
}

impl From<Os> for String {
    fn from(os: Os) -> String {
        match os {
            Os::Other(s) => s,
            known => known.name().to_string(),
        }
    }
}

impl fmt::Display for Os {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What runs a process's instructions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Translation {
    #[default]
    Native,
    /// macOS: Rosetta 2 (`P_TRANSLATED` in the process flags).
    Rosetta {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        program_arch: Option<Arch>,
    },
    /// Linux: a binfmt_misc interpreter runs a foreign program (qemu-user, Rosetta for Linux).
    Binfmt {
        emulator: Emulator,
        /// The interpreter's path, as `/proc/PID/exe` shows it.
        interpreter: String,
        /// The program it runs (the foreign binary).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        program: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        program_arch: Option<Arch>,
    },
}

impl Translation {
    pub fn is_native(&self) -> bool {
        matches!(self, Translation::Native)
    }
    /// A short name of the translator: "Rosetta 2", "qemu-user", "Rosetta for Linux".
    pub fn translator(&self) -> &'static str {
        match self {
            Translation::Native => "native",
            Translation::Rosetta { .. } => "Rosetta 2",
            Translation::Binfmt { emulator, .. } => match emulator {
                Emulator::Qemu => "qemu-user",
                Emulator::RosettaLinux => "Rosetta for Linux",
                Emulator::Other => "a binfmt_misc interpreter",
            },
        }
    }
    pub fn program_arch(&self) -> Option<&Arch> {
        match self {
            Translation::Native => None,
            Translation::Rosetta { program_arch } | Translation::Binfmt { program_arch, .. } => {
                program_arch.as_ref()
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Emulator {
    Qemu,
    RosettaLinux,
    Other,
}

impl Emulator {
    /// Tell the emulator from its interpreter's path.
    pub fn from_interpreter(path: &str) -> Emulator {
        let base = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        let full = path.to_ascii_lowercase();
        if base.contains("qemu") || full.contains("/qemu") {
            Emulator::Qemu
        } else if full.contains("rosetta") {
            Emulator::RosettaLinux
        } else {
            Emulator::Other
        }
    }
}

/// One registered binfmt_misc handler (Linux).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinfmtHandler {
    pub name: String,
    pub enabled: bool,
    pub interpreter: String,
    /// The interpreter with symlinks resolved — what `/proc/PID/exe` of a translated
    /// process shows (Debian registers `/usr/libexec/qemu-binfmt/aarch64-binfmt-P`, a link
    /// to `/usr/bin/qemu-aarch64-static`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
    pub flags: String,
    /// The ELF machine its magic matches, when it is an ELF handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<Arch>,
}

/// The machine gohang runs on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// `linux`, `macos`, … (Rust's `std::env::consts::OS`).
    pub os: Os,
    /// The architecture gohang's own process sees (`uname -m`; it lies under translation).
    pub arch: Arch,
    /// The machine's own architecture, found even when gohang itself runs translated.
    pub hardware_arch: Arch,
    /// How gohang itself runs.
    #[serde(default)]
    pub translation: Translation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    #[serde(default)]
    pub cpus: u32,
    /// Registered binfmt_misc handlers (Linux); empty elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binfmt: Vec<BinfmtHandler>,
    /// macOS: whether Rosetta 2 is installed (None where it does not apply or is unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rosetta_installed: Option<bool>,
    /// macOS on Apple silicon: whether the arm64 Homebrew is installed (`/opt/homebrew/bin/brew`
    /// exists); None where it does not apply or is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm64_homebrew: Option<bool>,
}

impl HostInfo {
    /// A native `os` machine of architecture `arch` with `cpus` CPUs, no binfmt handlers
    /// and nothing known of Rosetta: the host of the unit tests' made-up evidence, and
    /// what gohang assumes of its own host when it cannot read it (see [`Self::of_build`]).
    pub fn plain(os: Os, arch: Arch, cpus: u32) -> HostInfo {
        HostInfo {
            os,
            arch: arch.clone(),
            hardware_arch: arch,
            translation: Translation::Native,
            kernel: None,
            cpus,
            binfmt: Vec::new(),
            rosetta_installed: None,
            arm64_homebrew: None,
        }
    }

    /// The host as this build's target names it (`std::env::consts`), one CPU: for a system
    /// without an observer, or when reading the real host failed.
    pub fn of_build() -> HostInfo {
        HostInfo::plain(Os::of_build(), Arch::parse(std::env::consts::ARCH), 1)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// gohang started the command (`probe`).
    Spawn,
    /// gohang attached to a running process (`attach`).
    Attach,
}

/// What gohang was pointed at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub mode: Mode,
    /// The command line (spawn mode) or the attached process's argv.
    pub command: Vec<String>,
    /// The root process of the observed tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The watchdog's deadline (spawn mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// How the target's run ended, as far as gohang saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Outcome {
    /// The command finished before the deadline.
    Exited {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
        elapsed_ms: u64,
    },
    /// The command could not be started (exec failed).
    SpawnFailed {
        program: String,
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        errno: Option<i32>,
        /// The program's own architecture, read from its header.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        program_arch: Option<Arch>,
        /// Every architecture the file holds (each slice of a universal binary), so a
        /// report can say which one is missing.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        slices: Vec<Arch>,
    },
    /// Still running when the deadline passed.
    TimedOut { elapsed_ms: u64 },
    /// A running process gohang attached to.
    Attached,
    /// The attached process (or the probed root) exited while it was sampled.
    Vanished { after_ms: u64 },
}

impl Outcome {
    pub fn is_stall(&self) -> bool {
        matches!(self, Outcome::TimedOut { .. } | Outcome::Attached)
    }
}

/// Run state of a process or thread, in terms every OS can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// On a CPU or runnable (Linux R; Mach TH_STATE_RUNNING).
    Running,
    /// Interruptible sleep (Linux S; Mach TH_STATE_WAITING).
    Sleeping,
    /// Uninterruptible sleep (Linux D; Mach TH_STATE_UNINTERRUPTIBLE).
    DiskSleep,
    /// Stopped by a signal (Linux T; BSD SSTOP; Mach TH_STATE_STOPPED).
    Stopped,
    /// Stopped by a tracer (Linux t).
    TracingStop,
    Zombie,
    Dead,
    /// Kernel idle thread (Linux I).
    Idle,
    Unknown,
}

impl RunState {
    /// From the one-letter state of Linux `/proc/PID/stat`.
    pub fn from_linux(c: char) -> RunState {
        match c {
            'R' | 'W' => RunState::Running,
            'S' => RunState::Sleeping,
            'D' | 'K' => RunState::DiskSleep,
            'T' => RunState::Stopped,
            't' => RunState::TracingStop,
            'Z' => RunState::Zombie,
            'X' | 'x' => RunState::Dead,
            'I' | 'P' => RunState::Idle,
            _ => RunState::Unknown,
        }
    }
    pub fn letter(&self) -> char {
        match self {
            RunState::Running => 'R',
            RunState::Sleeping => 'S',
            RunState::DiskSleep => 'D',
            RunState::Stopped => 'T',
            RunState::TracingStop => 't',
            RunState::Zombie => 'Z',
            RunState::Dead => 'X',
            RunState::Idle => 'I',
            RunState::Unknown => '?',
        }
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            RunState::Running => "running",
            RunState::Sleeping => "sleeping",
            RunState::DiskSleep => "uninterruptible sleep",
            RunState::Stopped => "stopped",
            RunState::TracingStop => "tracing stop",
            RunState::Zombie => "zombie",
            RunState::Dead => "dead",
            RunState::Idle => "idle",
            RunState::Unknown => "unknown",
        };
        f.write_str(s)
    }
}

/// Where a blocked thread is, from `/proc/PID/task/TID/syscall` (Linux) or a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SyscallState {
    /// On a CPU: no syscall to show.
    Running,
    /// Blocked outside any syscall (e.g. stopped in signal delivery).
    NotInSyscall,
    /// Blocked in a system call.
    InSyscall {
        nr: i64,
        /// Its name, when gohang knows the number on this architecture.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        args: [u64; 6],
    },
}

impl SyscallState {
    pub fn name(&self) -> Option<&str> {
        match self {
            SyscallState::InSyscall { name, .. } => name.as_deref(),
            _ => None,
        }
    }
}

/// One thread at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadSample {
    pub tid: u32,
    #[serde(default)]
    pub name: String,
    pub state: RunState,
    /// Kernel function the thread sleeps in (`wchan`), when known and not `0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wchan: Option<String>,
    #[serde(default)]
    pub syscall: Fact<SyscallState>,
    /// CPU time in user and kernel mode, milliseconds since the thread started.
    pub utime_ms: u64,
    pub stime_ms: u64,
    /// Time spent runnable but waiting for a CPU, milliseconds since the thread started
    /// (Linux `/proc/PID/task/TID/schedstat`, second field). On a loaded machine a busy
    /// thread's CPU time grows slowly, but CPU plus this wait still covers the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_delay_ms: Option<u64>,
}

impl ThreadSample {
    pub fn cpu_ms(&self) -> u64 {
        self.utime_ms + self.stime_ms
    }
}

/// Signal bit masks (bit N-1 set = signal N), Linux `/proc/PID/status` style.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalMasks {
    /// Pending for the process (shared) or any thread.
    pub pending: u64,
    pub blocked: u64,
    pub ignored: u64,
    pub caught: u64,
}

/// The process's controlling terminal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tty {
    /// Device number (`tty_nr` / `e_tdev`).
    pub dev: u64,
    /// `/dev/pts/3`, when gohang could name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The terminal's foreground process group (`tpgid`), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreground_pgrp: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    V1,
    V2,
}

/// The process's cgroup, as far as freezing is concerned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CgroupInfo {
    pub version: CgroupVersion,
    /// Path inside the hierarchy (`/docker/abc…`).
    pub path: String,
    /// The file that says whether it is frozen (`…/freezer.state`, `…/cgroup.events`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_file: Option<String>,
    pub frozen: bool,
    /// v1: `FROZEN`, `FREEZING` or `THAWED`; v2: `frozen 1` / `frozen 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// When frozen: the cgroup whose own freeze holds it (itself, or an ancestor: a cgroup
    /// stays frozen while any ancestor is), and the file that thaws that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_by: Option<FrozenBy>,
    /// The nearest CPU bandwidth limit on the process's cgroup or an ancestor, with its
    /// throttling counters so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<CpuQuota>,
}

/// The cgroup that was frozen on purpose, as found by walking up from a frozen one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrozenBy {
    /// Path inside the hierarchy.
    pub path: String,
    /// `…/cgroup.freeze` (v2) or `…/freezer.state` (v1) of that cgroup.
    pub control_file: String,
}

/// A cgroup's CPU bandwidth limit (v2 `cpu.max`, v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`)
/// and its `cpu.stat` counters (kernel `Documentation/scheduler/sched-bwc.rst`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuQuota {
    /// The cgroup that sets the limit (the process's own or an ancestor).
    pub path: String,
    /// The file the limit was read from.
    pub file: String,
    pub quota_us: u64,
    pub period_us: u64,
    /// Periods in which the group used up its quota and was held back.
    pub nr_throttled: u64,
    /// Time held back, in microseconds (v1 `throttled_time` is in nanoseconds).
    pub throttled_us: u64,
}

/// The executable's format and architecture, read from its header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExeInfo {
    /// `elf`, `mach-o`, `mach-o-fat`, `script`, …
    pub format: String,
    /// Every architecture the file holds (one, or each slice of a universal binary).
    pub arches: Vec<Arch>,
}

/// One open socket of a process, with its peer. Filled by every backend (Linux from
/// `/proc/PID/fd` + `/proc/net/*`, macOS from `proc_pidfdinfo(PROC_PIDFDSOCKETINFO)`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketInfo {
    pub fd: i32,
    /// `inet`, `inet6` or `unix`.
    pub family: String,
    /// `tcp` or `udp` (for `unix`: `stream`, `dgram` or `seqpacket`).
    pub proto: String,
    /// `ip:port` (IPv6 in brackets), or a unix socket's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    /// The peer, when connected (or connecting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// TCP state in Linux `/proc/net/tcp` naming: `SYN_SENT`, `ESTABLISHED`, `LISTEN`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Bytes received and not yet read by the process (Linux `rx_queue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_queue: Option<u64>,
    /// Bytes sent and not yet acknowledged by the peer (Linux `tx_queue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_queue: Option<u64>,
    /// Bytes received on this connection since it opened, read or not (Linux
    /// `tcp_info.tcpi_bytes_received` through sock_diag); compared across samples it tells
    /// a silent peer from a slow one. None when the kernel did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_received: Option<u64>,
}

/// `resolv.conf` as one process sees it (`resolv.conf(5)`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolverConf {
    /// The file as the process names it (`/etc/resolv.conf`, read through its own root).
    pub file: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    /// The file differs from gohang's own `/etc/resolv.conf` (a container, a chroot, a
    /// mount namespace).
    #[serde(default)]
    pub differs_from_host: bool,
}

/// One open file descriptor, kept for what waits need: sockets, pipes, terminals,
/// pidfds, lock files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdInfo {
    pub fd: i32,
    /// What it refers to: a path, `socket:[123]`, `pipe:[456]`, `anon_inode:[pidfd]`.
    pub target: String,
    /// For a pidfd, the process it refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

impl FdInfo {
    /// Is this a terminal device (`/dev/pts/N`, `/dev/ttyN`, `/dev/tty`, `/dev/console`)?
    pub fn is_tty(&self) -> bool {
        let t = self.target.as_str();
        t.starts_with("/dev/pts/") || t.starts_with("/dev/tty") || t == "/dev/console"
    }
}

/// Which way a thread waits on a descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DescriptorOp {
    /// write, writev, pwrite64, sendto, sendmsg, sendfile: waits for room.
    Write,
    /// read, readv, pread64, recvfrom, recvmsg: waits for data.
    Read,
    /// open/openat of a FIFO: waits for a process to open the other end.
    Open,
    /// accept/accept4: waits for a connection.
    Accept,
    /// connect: waits for the peer to answer.
    Connect,
}

impl DescriptorOp {
    /// The end of a pipe or FIFO that would let this call go on: readers for a write,
    /// writers for a read; both for an open (the other side of the FIFO).
    pub fn other_end(&self) -> &'static str {
        match self {
            DescriptorOp::Write => "read",
            DescriptorOp::Read => "write",
            _ => "other",
        }
    }
}

/// What a descriptor refers to, as far as a wait is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileType {
    Pipe,
    Fifo,
    Socket,
    Terminal,
    File,
    CharDevice,
    BlockDevice,
    Directory,
    /// An `anon_inode:` (eventfd, epoll, inotify, pidfd, …).
    AnonInode,
    Unknown,
}

impl FileType {
    /// "a pipe", "a FIFO", "a terminal", …
    pub fn describe(&self) -> &'static str {
        match self {
            FileType::Pipe => "a pipe",
            FileType::Fifo => "a FIFO (named pipe)",
            FileType::Socket => "a socket",
            FileType::Terminal => "a terminal",
            FileType::File => "a regular file",
            FileType::CharDevice => "a character device",
            FileType::BlockDevice => "a block device",
            FileType::Directory => "a directory",
            FileType::AnonInode => "an anonymous inode",
            FileType::Unknown => "a descriptor of unknown type",
        }
    }
}

/// How full a pipe or FIFO is (bytes queued, of its capacity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipeBuffer {
    pub queued: u64,
    pub capacity: u64,
}

/// Bytes a process moved through read/write calls since it started (Linux
/// `/proc/PID/io` `rchar`/`wchar`, macOS `rusage_info` disk bytes are not the same and are
/// not used): growth over the window is progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoCounters {
    pub rchar: u64,
    pub wchar: u64,
    /// Bytes the process caused to be fetched from storage (`read_bytes`), when the kernel
    /// accounts it (CONFIG_TASK_IO_ACCOUNTING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_bytes: Option<u64>,
}

/// A regular file the process has open for writing, with its size at the sample: compared
/// across samples, a file that grows (the go command's `<version>.zip<N>.tmp` in
/// `GOMODCACHE/cache/download`, an object in GOCACHE) is progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenFile {
    pub fd: i32,
    pub path: String,
    pub size: u64,
}

/// A process holding the other end of a pipe or FIFO, as found by the pipe's identity
/// (Linux: its inode across `/proc/*/fd`; macOS: libproc's pipe handles).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerProcess {
    pub pid: u32,
    /// With the pid, the identity of the process (see `ProcessSnapshot::start_time`).
    #[serde(default)]
    pub start_time: u64,
    pub comm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Its descriptors on that end.
    #[serde(default)]
    pub fds: Vec<i32>,
    pub state: RunState,
    /// What its threads sleep in: syscall names, `write on fd 1 (pipe:[…])` for a call on a
    /// descriptor, or a wait channel; most telling first, at most a few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waits_in: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<IoCounters>,
}

/// A thread asleep in a system call on a descriptor, and what is at its other end: what
/// the wait rules need to name the object a process waits for instead of calling it idle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DescriptorWait {
    /// The waiting thread; 0 where the observer sees the wait in the object's state but
    /// not in a thread (macOS: a pipe whose read side says a writer waits for room).
    pub tid: u32,
    /// The call as the kernel names it: `write`, `read`, `openat`, `accept4`, …
    pub call: String,
    pub op: DescriptorOp,
    /// The descriptor (None for an open, which has none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd: Option<i32>,
    /// What it refers to: `pipe:[123]`, a path, `socket:[456]`; for an open, the path.
    pub target: String,
    pub file_type: FileType,
    /// For a pipe or FIFO: how full it is, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer: Option<PipeBuffer>,
    /// For a pipe or FIFO: every process holding its other end (readers of a write,
    /// writers of a read, either of an open), found across all processes; unavailable
    /// when the search could not be done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Fact<Vec<PeerProcess>>>,
    /// For an open: whether it opens for writing (`O_WRONLY`/`O_RDWR`), when the flags
    /// could be read; a FIFO's open for reading waits for a writer and the other way round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_writing: Option<bool>,
    /// True when some processes could not be searched (other users' without root, the
    /// search's time or size bound): an empty `peers` then proves nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub peers_partial: bool,
    /// For a unix socket: what the kernel (sock_diag) says of its other end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unix: Option<UnixPeer>,
}

/// The other end of a connected unix socket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnixPeer {
    /// False: connected, but the server has not accepted the connection (accept(2)).
    pub accepted: bool,
    /// The path the server's socket is bound to; an abstract name starts with `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The server was taken to be the only listening socket with connections waiting to be
    /// accepted: the kernel does not say which listener an unaccepted connection is for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guessed: bool,
}

impl DescriptorWait {
    /// "stdout (fd 1)", "stderr (fd 2)", "fd 7", or the path of an open.
    pub fn descriptor(&self) -> String {
        match self.fd {
            Some(0) => "stdin (fd 0)".to_string(),
            Some(1) => "stdout (fd 1)".to_string(),
            Some(2) => "stderr (fd 2)".to_string(),
            Some(n) => format!("fd {n}"),
            None => self.target.clone(),
        }
    }
}

/// The process holding a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    /// Its start time (clock ticks since boot), when read: a sampled process with the same
    /// pid and another start time is a different one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<u64>,
    pub comm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// A file lock a process holds or waits for (Linux `/proc/locks`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// `flock`, `posix` (fcntl) or `ofd` (open file description).
    pub kind: String,
    /// `read` or `write`.
    pub mode: String,
    /// True when this process waits for the lock, false when it holds it.
    pub waiting: bool,
    /// The locked file, `major:minor:inode` as `/proc/locks` names it.
    pub file: String,
    /// The locked file's path, when one of the process's descriptors names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For a waiter: who holds the lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<LockHolder>,
}

/// One process at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessSnapshot {
    pub pid: u32,
    pub ppid: u32,
    #[serde(default)]
    pub pgrp: i32,
    #[serde(default)]
    pub session: i32,
    /// Start time since boot in clock ticks (Linux) or µs since the epoch (macOS):
    /// with the pid, it identifies the process across pid reuse.
    #[serde(default)]
    pub start_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    pub comm: String,
    #[serde(default)]
    pub exe: Fact<String>,
    #[serde(default)]
    pub argv: Fact<Vec<String>>,
    /// The process-level state (Linux: the thread-group leader's; see `threads` for all).
    pub state: RunState,
    /// The pid of a tracer or debugger holding it (`TracerPid`, `P_TRACED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracer_pid: Option<u32>,
    /// The tracer's command name, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracer_comm: Option<String>,
    #[serde(default)]
    pub signals: Fact<SignalMasks>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<Tty>,
    /// The architecture of the executable (under binfmt translation: the interpreter's;
    /// the foreign program's is in `translation`).
    #[serde(default)]
    pub binary: Fact<ExeInfo>,
    #[serde(default)]
    pub translation: Translation,
    /// For a Go program, the Go version that built it (from its build info); None for
    /// programs Go did not link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go_version: Option<String>,
    #[serde(default)]
    pub cgroup: Fact<CgroupInfo>,
    /// Total CPU time of the process (all threads, live and exited), milliseconds.
    #[serde(default)]
    pub cpu_ms: u64,
    #[serde(default)]
    pub threads: Vec<ThreadSample>,
    /// Open sockets with their peers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sockets: Vec<SocketInfo>,
    /// Open descriptors that matter for waits (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fds: Vec<FdInfo>,
    /// File locks held or awaited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<LockInfo>,
    /// Threads asleep in a call on a descriptor, with what is at the other end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub descriptor_waits: Vec<DescriptorWait>,
    /// Bytes read and written through system calls so far (Linux `/proc/PID/io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<IoCounters>,
    /// Regular files open for writing, with their sizes (bounded; not read while a process
    /// of the tree waits on I/O).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub written_files: Vec<WrittenFile>,
    /// The resolver configuration as the process sees it (its own root's
    /// `/etc/resolv.conf`), read when it has a socket to a nameserver's port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<ResolverConf>,
    /// The environment variables that matter for a hang (Go, proxy, git and ssh settings),
    /// with any password in a URL removed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// What the observer could not tell about this process, and why (e.g. macOS withholds
    /// the environment of a restricted program; a state read without thread data).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ProcessSnapshot {
    /// The command to show a person: argv joined, else `comm`.
    pub fn command_line(&self) -> String {
        match self.argv.value() {
            Some(a) if !a.is_empty() => a.join(" "),
            _ => self.comm.clone(),
        }
    }
    /// A short display name: the guest program under translation, else `comm`.
    pub fn display_name(&self) -> String {
        if let Translation::Binfmt {
            program: Some(p), ..
        } = &self.translation
        {
            return p.rsplit('/').next().unwrap_or(p).to_string();
        }
        self.comm.clone()
    }
}

/// The process tree at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Milliseconds since the target started (spawn) or since sampling began (attach).
    pub at_ms: u64,
    pub processes: Vec<ProcessSnapshot>,
}

impl Sample {
    pub fn process(&self, pid: u32) -> Option<&ProcessSnapshot> {
        self.processes.iter().find(|p| p.pid == pid)
    }
}

/// The tail of one output stream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamTail {
    /// The last bytes written, decoded lossily.
    pub tail: String,
    /// Bytes written in all.
    pub total_bytes: u64,
    /// True when the tail is shorter than what was written.
    pub truncated: bool,
}

/// What the command printed (spawn mode).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutputTail {
    pub stdout: StreamTail,
    pub stderr: StreamTail,
}

/// Native call stacks of stuck processes, taken by the OS's own sampler when the Go runtime
/// cannot speak (macOS `/usr/bin/sample PID 1`). Only frames are kept, not addresses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NativeStacks {
    /// The tool that took them, e.g. `/usr/bin/sample`.
    pub tool: String,
    #[serde(default)]
    pub processes: Vec<ProcessStacks>,
}

/// The call tree of one process, reduced to each thread's heaviest path.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessStacks {
    pub pid: u32,
    /// The sampler's `Code Type` line: `ARM64`, `X86-64`, `X86-64 (translated)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_type: Option<String>,
    /// The executable's path as the sampler saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default)]
    pub threads: Vec<NativeThread>,
    /// The sampler's leaf-frame histogram ("Sort by top of stack"), hottest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_of_stack: Vec<NativeFrame>,
    /// Why no stacks could be taken (timeout, protection, the process exited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One thread's heaviest path through the call tree.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NativeThread {
    /// The sampler's thread line: `Thread_123: Main Thread   DispatchQueue_1: …`.
    pub name: String,
    /// Samples in which this thread was seen.
    pub samples: u32,
    /// Outermost frame first; at each level the child seen in most samples.
    #[serde(default)]
    pub stack: Vec<NativeFrame>,
}

/// One frame: a symbol (`???` when unknown), its image, and how many samples it was in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeFrame {
    pub symbol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub count: u32,
}

/// Everything observed about one target. Built by the supervisor, read by the classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub schema: String,
    pub host: HostInfo,
    pub target: Target,
    pub outcome: Outcome,
    /// Samples of the process tree, oldest first (empty when the command finished in time).
    #[serde(default)]
    pub samples: Vec<Sample>,
    #[serde(default)]
    pub output: OutputTail,
    /// Pids of helpers gohang itself started (a tracer): never culprits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub own_pids: Vec<u32>,
    /// When gohang ran inside the observed tree (attached to one of its own ancestors):
    /// its pid and its parent's. The parent waits for gohang, not for a stuck cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observer: Option<Observer>,
    /// Things the observer could not do, in plain words (e.g. "no permission to read …").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Native stacks of some processes of the tree, where the OS could take them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_stacks: Option<NativeStacks>,
    /// The go command's settings and module, read from files without running `go`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go: Option<GoContext>,
    /// The goroutines of the Go program nearest the end of the wait chain: read from its
    /// memory at the end of the window (the default; it keeps running), or its runtime's
    /// answer to SIGQUIT (`--goroutines`). `GoroutineDump::source` says which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goroutines: Option<GoroutineDump>,
    /// The toolchain the command runs, inspected from its files (`probe` of a go command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<toolchain::ToolchainEvidence>,
    /// A system call trace (`--trace`), when taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceSummary>,
    /// The remotes that ssh or `git-remote-*` processes of the tree serve, read from the
    /// processes' own git and ssh configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remotes: Vec<RemoteContext>,
    /// Processes of the tree that git started because its configuration names them (a
    /// hook, core.fsmonitor, a filter driver, …), read from that git's own configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub git_started: Vec<GitStarted>,
    /// The processes answering file access permission events (Linux fanotify), looked
    /// for when a thread of the tree waits for such an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_monitors: Option<AccessMonitors>,
}

/// The processes that hold a fanotify group: they decide whether a watched open or exec
/// may go on (an antivirus or endpoint-security agent scanning on access).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessMonitors {
    pub listeners: Vec<AccessMonitor>,
    /// Some processes' descriptors could not be read (not root), or the search was cut
    /// short: there may be others.
    #[serde(default)]
    pub partial: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessMonitor {
    pub pid: u32,
    pub comm: String,
    pub command: String,
    /// Its fanotify descriptors.
    pub fds: Vec<i32>,
}

/// A process git started because a setting of its configuration names the program.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitStarted {
    /// The started process (the program itself, not a `sh -c` in between).
    pub pid: u32,
    /// The git process that started it.
    pub git_pid: u32,
    /// The setting: `core.fsmonitor`, `filter.lfs.process`, or `hook pre-push` for a hook
    /// found in the hooks directory.
    pub setting: String,
    /// Its value, URL passwords removed.
    pub value: String,
    /// Where it was set: `FILE line N`, `GIT_CONFIG_PARAMETERS`, the hooks directory.
    pub origin: String,
}

/// Where a go setting's value came from, in the go command's order of precedence
/// (`go help environment`): the environment, the user's `go env -w` file, GOROOT/go.env,
/// the built-in default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub value: String,
    /// `environment`, a file path, or `default`.
    pub source: String,
    /// The line of `source` that set it, when it is a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl Setting {
    /// Where it was set, for a person: `the environment`, `FILE line N`, `FILE`, `default`.
    pub fn origin(&self) -> String {
        match (self.source.as_str(), self.line) {
            ("environment", _) => "the environment".to_string(),
            (file, Some(n)) => format!("{file} line {n}"),
            (other, None) => other.to_string(),
        }
    }
}

/// The go.mod or go.work that governs the command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleFile {
    pub path: String,
    /// The `go` line (`1.23`, `1.24.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go: Option<String>,
    /// The `toolchain` line (`go1.24.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
}

/// A network endpoint named by a setting, with the addresses it resolved to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// `GOPROXY`, `GOSUMDB`, `HTTPS_PROXY`, …
    pub setting: String,
    pub host: String,
    pub port: u16,
    /// `ip:port` strings, as sockets show peers.
    #[serde(default)]
    pub addrs: Vec<String>,
}

/// What the go command will do, read from files and the process's environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoContext {
    /// The go process these were read for.
    pub pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goroot: Option<String>,
    /// The running go's version (`go1.23.5`), from GOROOT/VERSION or the binary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Effective GOPROXY, GOSUMDB, GOTOOLCHAIN, GOPRIVATE, GONOSUMDB, GONOPROXY, GOFLAGS,
    /// GOINSECURE, GOMODCACHE, with their sources.
    #[serde(default)]
    pub settings: BTreeMap<String, Setting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<ModuleFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
    /// What could not be read, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl GoContext {
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(|s| s.value.as_str())
    }
}

/// A goroutine dump: the Go runtime's answer to SIGQUIT, or read from the program's memory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GoroutineDump {
    /// The process it was asked of.
    pub pid: u32,
    /// `memory` when read from the program's memory (no signal; it kept running); absent
    /// for the runtime's answer to SIGQUIT (evidence written before this field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// False when the runtime printed nothing in time (wedged, or not a Go program after all).
    pub answered: bool,
    #[serde(default)]
    pub goroutines: Vec<Goroutine>,
    /// Why it was not taken or not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One goroutine of a dump.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Goroutine {
    pub id: u64,
    /// `chan receive`, `IO wait`, `syscall`, `select`, `running`, …
    pub state: String,
    /// How long it has been blocked, when the runtime says (`, 5 minutes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u64>,
    #[serde(default)]
    pub locked_to_thread: bool,
    /// Innermost first.
    #[serde(default)]
    pub frames: Vec<GoFrame>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoFrame {
    /// `cmd/go/internal/lockedfile.(*File).Lock`.
    pub function: String,
    /// `/usr/local/go/src/…/file.go:123`, or `…/file.go:123` from a toolchain built with -trimpath.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// gohang itself, inside the tree it observes (`Evidence::observer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observer {
    pub pid: u32,
    /// gohang's parent: a process of the tree, which waits for gohang.
    pub parent: u32,
}

impl Evidence {
    pub fn new(host: HostInfo, target: Target, outcome: Outcome) -> Evidence {
        Evidence {
            schema: EVIDENCE_SCHEMA.to_string(),
            host,
            target,
            outcome,
            samples: Vec::new(),
            output: OutputTail::default(),
            own_pids: Vec::new(),
            observer: None,
            notes: Vec::new(),
            native_stacks: None,
            go: None,
            goroutines: None,
            toolchain: None,
            trace: None,
            remotes: Vec::new(),
            git_started: Vec::new(),
            access_monitors: None,
        }
    }
    pub fn first_sample(&self) -> Option<&Sample> {
        self.samples.first()
    }
    pub fn last_sample(&self) -> Option<&Sample> {
        self.samples.last()
    }
}

/// Is this process the go command (natively or translated)?
pub fn is_go_command(p: &ProcessSnapshot) -> bool {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    if let Translation::Binfmt {
        program: Some(prog),
        ..
    } = &p.translation
    {
        return base(prog) == "go";
    }
    p.comm == "go"
        || p.argv
            .value()
            .and_then(|a| a.first())
            .is_some_and(|a0| base(a0) == "go")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_round_trips_both_shapes() {
        let a: Fact<String> = Fact::Collected("x".into());
        let b: Fact<String> = Fact::unavailable("EACCES");
        let ja = serde_json::to_string(&a).unwrap();
        let jb = serde_json::to_string(&b).unwrap();
        assert_eq!(ja, "\"x\"");
        assert_eq!(jb, r#"{"unavailable":"EACCES"}"#);
        assert_eq!(serde_json::from_str::<Fact<String>>(&ja).unwrap(), a);
        assert_eq!(serde_json::from_str::<Fact<String>>(&jb).unwrap(), b);
    }

    #[test]
    fn arch_names() {
        assert_eq!(Arch::parse("arm64"), Arch::Aarch64);
        assert_eq!(Arch::parse("amd64"), Arch::X86_64);
        assert_eq!(Arch::Aarch64.display_for(&Os::Macos), "arm64");
        assert_eq!(Arch::Aarch64.display_for(&Os::Linux), "aarch64");
        assert_eq!(serde_json::to_string(&Arch::X86_64).unwrap(), "\"x86_64\"");
        assert_eq!(
            serde_json::from_str::<Arch>("\"sparc64\"").unwrap(),
            Arch::Other("sparc64".into())
        );
        assert!(Arch::Arm64e.runs_natively_on(&Arch::Aarch64));
        assert!(!Arch::Aarch64.runs_natively_on(&Arch::X86_64));
    }

    /// An `Os` reads and writes the name a string held before it, and maps to and from GOOS.
    #[test]
    fn os_names_and_goos() {
        for (os, name, goos) in [
            (Os::Linux, "linux", "linux"),
            (Os::Macos, "macos", "darwin"),
            (Os::Other("freebsd".into()), "freebsd", "freebsd"),
            (Os::Other("ios".into()), "ios", "ios"),
        ] {
            let json = serde_json::to_string(&os).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<Os>(&json).unwrap(), os);
            assert_eq!(os.goos(), goos);
            assert_eq!(Os::from_goos(goos), os);
            assert_eq!(Os::parse(name), os);
        }
        // A name once unknown and now known reads as the known variant.
        assert_eq!(Os::from(String::from("macos")), Os::Macos);
    }

    #[test]
    fn emulator_from_interpreter_path() {
        assert_eq!(
            Emulator::from_interpreter("/usr/bin/qemu-aarch64-static"),
            Emulator::Qemu
        );
        assert_eq!(
            Emulator::from_interpreter("/usr/libexec/qemu-binfmt/aarch64-binfmt-P"),
            Emulator::Qemu
        );
        assert_eq!(
            Emulator::from_interpreter("/mnt/lima-rosetta/rosetta"),
            Emulator::RosettaLinux
        );
        assert_eq!(
            Emulator::from_interpreter("/usr/bin/box64"),
            Emulator::Other
        );
    }
}

/// A value and where it was set: `FILE line N`, `the ssh command line`, `GIT_CONFIG_KEY_0`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sourced {
    pub value: String,
    pub origin: String,
}

/// What an ssh or `git-remote-*` process fetches: the module and repository it serves, the
/// URL as asked for and as git's `url.<base>.insteadOf` rewrote it, and the real host and
/// port ssh's configuration gives the destination.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteContext {
    /// The ssh or `git-remote-*` process.
    pub pid: u32,
    /// `ssh`, `git-remote-https`, …
    pub program: String,
    /// The git process that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_pid: Option<u32>,
    /// The module the go command above asked for (`example.com/m@v1.2.3`), from its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The go command's repository directory (`GOMODCACHE/cache/vcs/<hash>`), git's cwd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The URL as git was asked for it, and where that was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<Sourced>,
    /// The URL after git's rewriting (the same as `asked` when no rule applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The `url.<base>.insteadOf` rule applied: `base`, the prefix it replaced, its origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<UrlRewrite>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshHost>,
    /// The config files read, in the order the program reads them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One `url.<base>.insteadOf` rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlRewrite {
    pub base: String,
    pub instead_of: String,
    pub origin: String,
}

/// What ssh's configuration makes of a destination.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshHost {
    /// The destination as given to ssh (often an alias).
    pub destination: String,
    /// `HostName`, when a config line or option set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<Sourced>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Sourced>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Sourced>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_command: Option<Sourced>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_jump: Option<Sourced>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<Sourced>,
}

impl SshHost {
    /// The host ssh really connects to.
    pub fn host(&self) -> &str {
        self.hostname
            .as_ref()
            .map(|h| h.value.as_str())
            .unwrap_or(&self.destination)
    }
}
