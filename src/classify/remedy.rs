//! Remedy texts, in one place so the docs (`docs/verdicts.md`) and the code can be held
//! together by a test. Each is true for the case it is given for; where a command is
//! printed it is meant to be pasted as is.

use crate::classify::advice::MAC_ARM64_GO;
use crate::evidence::guard;
use crate::evidence::{Arch, CgroupInfo, CgroupVersion, Mode, Os, Translation};

/// Resume a process (or its whole process group) stopped by a signal.
/// Only a group and a pid `guard` lets a command name are named.
pub fn resume(pid: u32, pgrp: Option<i32>) -> String {
    match pgrp {
        Some(g) if guard::may_name_group(g) && guard::may_name_pid(pid) => format!(
            "kill -CONT -- -{g}    # resumes the whole process group; or only the process: kill -CONT {pid}"
        ),
        Some(g) if guard::may_name_group(g) => {
            format!("kill -CONT -- -{g}    # resumes the whole process group")
        }
        _ if guard::may_name_pid(pid) => format!("kill -CONT {pid}"),
        _ => guard::unnamed_pid(pid),
    }
}

/// A background job stopped by SIGTTIN/SIGTTOU. Resuming it with SIGCONT does not help a
/// job that reads the terminal or changes its settings: the kernel stops it again at its
/// next read or tcsetattr (termios(3), "job control"); and a running process's standard
/// input cannot be redirected from outside. So: `fg` and answer, or start it again
/// without the terminal.
pub fn tty_stopped(pgrp: i32) -> String {
    let only_output = if guard::may_name_group(pgrp) {
        format!(
            "; if it only wanted to write (SIGTTOU with `stty tostop` set), `stty -tostop` in that \
             terminal and kill -CONT -- -{pgrp} let it go on"
        )
    } else {
        String::new()
    };
    format!(
        "bring the job to the foreground with `fg` in the shell that started it (`jobs` lists them) \
         and answer what it asks: resumed in the background (kill -CONT), a job that reads the \
         terminal or changes its settings is stopped again at once. To run it in the background, \
         start it again without the terminal: CMD </dev/null >LOG 2>&1 &{only_output}"
    )
}

/// A process held by a tracer or debugger.
pub fn traced(tracer_pid: u32, tracer: Option<&str>) -> String {
    let who = tracer.map(|c| format!(" ({c})")).unwrap_or_default();
    if !guard::may_name_pid(tracer_pid) {
        return format!(
            "detach or quit the debugger/tracer{who}; {}",
            guard::unnamed_pid(tracer_pid)
        );
    }
    format!(
        "detach or quit the debugger/tracer pid {tracer_pid}{who}; if it is gone or stuck itself: kill {tracer_pid}"
    )
}

/// A frozen cgroup. A cgroup stays frozen while any ancestor is: when the freeze was set
/// on an ancestor, that one is thawed.
pub fn thaw(cg: &CgroupInfo) -> String {
    if let Some(by) = cg.frozen_by.as_ref().filter(|b| b.path != cg.path) {
        let value = match cg.version {
            CgroupVersion::V1 => "THAWED",
            CgroupVersion::V2 => "0",
        };
        return format!(
            "its cgroup {} is frozen because its ancestor {} is (a cgroup stays frozen while any \
             ancestor is): thaw that one: echo {value} > {}    # or, if a tool froze it: docker \
             unpause <container> / systemctl thaw <unit>",
            cg.path, by.path, by.control_file
        );
    }
    let dir = cg
        .state_file
        .as_deref()
        .and_then(|f| f.rsplit_once('/').map(|(d, _)| d.to_string()));
    let cmd = match (cg.version, dir) {
        (CgroupVersion::V1, Some(d)) => format!("echo THAWED > {d}/freezer.state"),
        (CgroupVersion::V2, Some(d)) => format!("echo 0 > {d}/cgroup.freeze"),
        (CgroupVersion::V1, None) => {
            format!("echo THAWED > <freezer mount>{}/freezer.state", cg.path)
        }
        (CgroupVersion::V2, None) => format!("echo 0 > <cgroup2 mount>{}/cgroup.freeze", cg.path),
    };
    format!("{cmd}    # or, if a tool froze it: docker unpause <container> / systemctl thaw <unit>")
}

/// Uninterruptible sleep on a device or remote file system. /proc, findmnt and lazy
/// unmounts (`umount -l`) are Linux's; macOS's umount(8) has only `-f`.
pub fn io_wait(pid: u32, host_os: &Os) -> String {
    if *host_os == Os::Macos {
        return "find the network or FUSE mount it waits on (`mount` lists them; macOS does not say which \
                one) and bring its server back, or force it off: umount -f MOUNTPOINT (for a disk: diskutil \
                unmount force MOUNTPOINT); SIGKILL ends the process only where the kernel's wait can be \
                interrupted"
            .to_string();
    }
    format!(
        "find the mount it waits on (as root: cat /proc/{pid}/stack; findmnt) and bring its server \
         back. A lazy unmount (umount -l) only hides the mount: processes already blocked in it stay \
         blocked. For a FUSE mount, abort its connection: echo 1 > /sys/fs/fuse/connections/N/abort, \
         where N is the minor device number findmnt -no MAJ:MIN MOUNTPOINT shows (0:N); for NFS, \
         umount -f MOUNTPOINT fails the requests waiting on the server. SIGKILL ends the process only \
         where the kernel's wait is killable (NFS and FUSE waits usually are, a disk's usually is not)"
    )
}

/// What the culprit runs, as far as its executable tells: advice about goroutine dumps
/// only fits a Go program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    /// Its executable carries Go build info.
    Go,
    /// Its executable was read and carries none: SIGQUIT gives no goroutine dump.
    Other,
    /// Its executable could not be read.
    Unknown,
}

/// Whether the Go runtime of the culprit was already asked for its goroutines (SIGQUIT)
/// in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dump {
    /// Neither read from memory nor asked (the read failed, and no `--goroutines`; or
    /// another process was asked).
    NotTaken,
    /// The runtime printed its goroutines and gohang parsed them.
    Answered,
    /// gohang read its goroutines from its memory (no signal).
    ReadFromMemory,
    /// `probe` sent SIGQUIT and the runtime printed nothing in time.
    Silent,
    /// `attach --goroutines` sent SIGQUIT; the dump went to the process's own stderr and
    /// was not read back.
    NotCaptured,
}

/// What gohang was run as, and what it already did, for the "look closer" advice of
/// `idle` and `spinning`.
#[derive(Clone, Copy, Debug)]
pub struct LookCloser<'a> {
    pub pid: u32,
    pub program: Program,
    pub mode: Mode,
    pub dump: Dump,
    /// A system call trace is already part of the evidence (`--trace`).
    pub traced: bool,
    pub host_os: &'a Os,
}

/// Asleep, no cause found: how to see where it waits.
pub fn idle(l: &LookCloser) -> String {
    look_closer(l, false)
}

/// Busy on the CPU without finishing: how to see what it is busy with.
pub fn spinning(l: &LookCloser) -> String {
    look_closer(l, true)
}

/// The next step for a process no rule explained. Only a Go program answers SIGQUIT with a
/// goroutine dump (the runtime's default SIGQUIT handling, `os/signal` docs); for any other
/// program the default action of SIGQUIT ends it (signal(7)). `probe` leaves nothing
/// running (unless --keep), so its advice is to run the command again; `attach` leaves the
/// process as it was, so its advice names the pid.
fn look_closer(l: &LookCloser, busy: bool) -> String {
    match l.program {
        Program::Go => go_advice(l, busy),
        Program::Other => format!(
            "it is not a Go program (its executable has no Go build info), so SIGQUIT gives no \
             goroutine dump (it usually just ends such a program): {}",
            threads_advice(l, busy)
        ),
        Program::Unknown => format!(
            "its executable could not be read, so whether it is a Go program is unknown: if it is, {}; \
             if not, {}",
            go_advice(l, busy),
            threads_advice(l, busy)
        ),
    }
}

fn go_advice(l: &LookCloser, busy: bool) -> String {
    let pid = l.pid;
    let what = if busy {
        "what every goroutine is doing"
    } else {
        "where every goroutine waits"
    };
    match (l.dump, l.mode) {
        (Dump::Answered, mode) => format!(
            "the Go runtime already answered SIGQUIT with its goroutine dump; the evidence quotes the \
             goroutine most likely to matter (one blocked on a known cause, else the main goroutine); {}",
            match mode {
                Mode::Spawn =>
                    "to read the whole dump, run the command again under `gohang bundle -- …`, \
                     which keeps it as goroutines.txt",
                Mode::Attach => "the whole dump is at the end of the process's own stderr",
            }
        ),
        (Dump::ReadFromMemory, mode) => format!(
            "its goroutines were read from its memory (no signal); the evidence quotes the goroutine \
             most likely to matter (one blocked on a known cause, else the main goroutine); {}",
            match mode {
                Mode::Spawn => "to read them all, run the command again and, while it hangs, \
                                `gohang dump PID` (the pid of the stuck Go program)"
                    .to_string(),
                Mode::Attach if !guard::may_name_pid(pid) =>
                    "`gohang dump` of the same pid prints them all".to_string(),
                Mode::Attach => format!("`gohang dump {pid}` prints them all"),
            }
        ),
        (Dump::NotCaptured, _) => {
            "SIGQUIT was already sent (--goroutines) and gohang got no goroutine dump back: if the \
             Go runtime printed one, it is at the end of the process's own stderr"
                .to_string()
        }
        (Dump::Silent, _) => format!(
            "no goroutine dump came back for SIGQUIT. Either the program handles SIGQUIT itself (the go \
             command does while `go run` and `go test` wait for the program they started: send it to \
             that program instead), or GOTRACEBACK=none is set (the runtime then prints no stacks), or \
             its threads were not running Go code (an emulator or translator wedged, the process \
             stopped or frozen, or not started yet): {}",
            threads_advice(l, busy)
        ),
        (Dump::NotTaken, Mode::Spawn) => format!(
            "ask the Go runtime {what}: run the command again under `gohang probe --goroutines -- …`; \
             probe then sends SIGQUIT before it stops the command and adds the runtime's answer \
             to the report"
        ),
        (Dump::NotTaken, Mode::Attach) if !guard::may_name_pid(pid) => format!(
            "its goroutines cannot be asked for from here: {}",
            guard::unnamed_pid(pid)
        ),
        (Dump::NotTaken, Mode::Attach) => format!(
            "ask the Go runtime {what}: `gohang attach {pid} --goroutines` sends it SIGQUIT; the \
             runtime prints every goroutine's stack to the process's own stderr, and the program exits"
        ),
    }
}

/// How to see a program's threads without its runtime's help.
fn threads_advice(l: &LookCloser, busy: bool) -> String {
    let pid = l.pid;
    let linux = *l.host_os == Os::Linux;
    let calls = if busy {
        "whether its threads make system calls at all"
    } else {
        "each thread's last system calls, the one it sits in included"
    };
    match (l.mode, linux, l.traced) {
        (Mode::Attach, true, false) => format!(
            "`gohang attach {pid} --trace` shows {calls}, and, as root, \
             `cat /proc/{pid}/task/*/stack` shows where each thread waits in the kernel"
        ),
        (Mode::Attach, true, true) => format!(
            "the system call trace is in the evidence; as root, `cat /proc/{pid}/task/*/stack` shows \
             where each thread waits in the kernel"
        ),
        (Mode::Spawn, true, false) => {
            format!("run the command again under `gohang probe --trace -- …`, which shows {calls}")
        }
        (Mode::Spawn, true, true) => "the system call trace is in the evidence; to look further, run the command again under \
             `gohang probe --keep -- …` and, as root, read where each of its threads waits in the kernel: \
             cat /proc/PID/task/*/stack"
            .to_string(),
        (Mode::Attach, false, _) => {
            format!("`sample {pid}` prints the native stack of each of its threads")
        }
        (Mode::Spawn, false, _) => "run the command again under `gohang probe --keep -- …` and look at its threads with `sample PID` \
             (it prints the native stack of each)"
            .to_string(),
    }
}

/// A program that is translated (Rosetta 2, qemu-user, Rosetta for Linux).
pub fn translated(t: &Translation, host_os: &Os) -> String {
    match t {
        Translation::Rosetta { .. } => format!(
            "install a native arm64 Go ({MAC_ARM64_GO}) and run it from a native shell; \
             until then GODEBUG=asyncpreemptoff=1 avoids the known Rosetta stalls of Go programs \
             (golang/go#42700, #68485); `gohang rebuild` rebuilds a GOROOT natively"
        ),
        Translation::Binfmt { .. } if *host_os == Os::Linux => "run a native toolchain instead of an emulated one: in a container build use \
             `FROM --platform=$BUILDPLATFORM golang` and cross-compile with GOOS/GOARCH (Go needs no \
             emulator to cross-compile); for a GOROOT with foreign binaries, `gohang rebuild`"
            .to_string(),
        _ => "run a toolchain built for this machine's own architecture".to_string(),
    }
}

/// An executable of the wrong architecture that could not start. `slices` are the
/// architectures the file holds (each slice of a universal binary), empty when unknown.
///
/// On a Mac the way out depends on both: Rosetta 2 runs x86_64 code on Apple silicon and
/// nothing else (no arm64 on Intel, no i386 or PowerPC anywhere); macOS has run no 32-bit
/// program since 10.15 Catalina, and no PowerPC one since Rosetta left with 10.7 Lion.
pub fn arch_mismatch(
    host_os: &Os,
    hardware: &Arch,
    slices: &[Arch],
    rosetta_installed: Option<bool>,
) -> String {
    if *host_os != Os::Macos {
        let arch = slices
            .first()
            .map(|a| a.display_for(host_os))
            .unwrap_or_else(|| "its".to_string());
        return format!(
            "use a build for this machine's architecture (`gohang check` shows which binaries are \
             foreign; `gohang rebuild` fixes a GOROOT); for Go itself, the archive for this machine \
             from go.dev/dl. Only as a last resort run {arch} binaries under an emulator (qemu-user, \
             binfmt_misc): the Go toolchain hangs and crashes under it (golang/go#70329, #68976)"
        );
    }
    let apple_silicon = matches!(hardware, Arch::Aarch64 | Arch::Arm64e);
    let (build, goarch, archive) = if apple_silicon {
        ("arm64", "arm64", "darwin-arm64")
    } else {
        ("x86_64", "amd64", "darwin-amd64")
    };
    let native = |a: &Arch| match a {
        Arch::Aarch64 | Arch::Arm64e => apple_silicon,
        Arch::X86_64 => !apple_silicon,
        _ => false,
    };
    let names: Vec<String> = slices.iter().map(|a| a.display_for(&Os::Macos)).collect();
    if slices.is_empty() || slices.iter().any(native) {
        // Which binary failed, or why a fitting slice was refused, is not known here.
        return if apple_silicon {
            format!(
                "use a Go built for this Mac ({MAC_ARM64_GO}); an x86_64-only binary needs \
                 Rosetta 2: softwareupdate --install-rosetta --agree-to-license"
            )
        } else {
            "use a Go built for this Intel Mac (the darwin-amd64 archive from go.dev/dl); an \
             arm64-only binary cannot run on it"
                .to_string()
        };
    }
    if apple_silicon && slices.contains(&Arch::X86_64) {
        let go = format!("better, use an arm64 build (for Go itself, {MAC_ARM64_GO})");
        return match rosetta_installed {
            Some(true) => format!(
                "Rosetta 2 looks installed, yet this x86_64 program could not start: check that it runs \
                 x86_64 code at all (arch -x86_64 /usr/bin/true) and reinstall it if not \
                 (softwareupdate --install-rosetta --agree-to-license); {go}"
            ),
            _ => format!(
                "this x86_64 program needs Rosetta 2 on this Mac: \
                 softwareupdate --install-rosetta --agree-to-license; {go}"
            ),
        };
    }
    let mut why: Vec<String> = Vec::new();
    for a in slices {
        let reason = match a {
            Arch::Aarch64 | Arch::Arm64e => {
                "an Intel Mac cannot run arm64 code, and Rosetta 2 only goes the other \
                 way (x86_64 code on Apple silicon)"
                    .to_string()
            }
            Arch::X86 => "macOS has run no 32-bit (i386) programs since 10.15 Catalina".to_string(),
            // CPU_TYPE_POWERPC is 18 (osfmk/mach/machine.h); binary.rs names it by number.
            Arch::Ppc64 => "macOS has run no PowerPC programs since 10.7 Lion".to_string(),
            Arch::Other(o) if o == "mach-cputype-0x12" => {
                "macOS has run no PowerPC programs since 10.7 Lion".to_string()
            }
            Arch::Arm => "macOS runs no 32-bit arm programs".to_string(),
            other => format!("macOS runs no {} programs", other.display_for(&Os::Macos)),
        };
        if !why.contains(&reason) {
            why.push(reason);
        }
    }
    if apple_silicon {
        why.push("Rosetta 2 translates only x86_64 code".to_string());
    }
    format!(
        "this Mac cannot run it as built ({}): {}. Get a build for {build}: for a Go program, build it \
         again with GOOS=darwin GOARCH={goarch}; for Go itself, the {archive} archive from go.dev/dl",
        names.join(", "),
        why.join("; ")
    )
}

/// A file lock held by another process.
pub fn lock_wait(holder: Option<(u32, &str)>) -> String {
    match holder {
        Some((pid, cmd)) if !guard::may_name_pid(pid) => format!(
            "let `{cmd}` finish; it holds the lock and {}",
            guard::unnamed_pid(pid)
        ),
        Some((pid, cmd)) => format!(
            "let pid {pid} (`{cmd}`) finish, or stop it: kill {pid}; the lock is released when it exits, \
             and the go command then carries on"
        ),
        None => "find the process holding the lock (`cat /proc/locks`, `fuser -v FILE`) and let it finish or stop it".to_string(),
    }
}

/// A Go program whose goroutines are in a host name lookup.
pub fn name_resolution() -> String {
    "check the resolver it uses: the nameservers of /etc/resolv.conf, `getent hosts HOST` for the \
     host it contacts (GOPROXY, GOSUMDB, a VCS host); GODEBUG=netdns=go+2 makes a Go program \
     print how it resolves names"
        .to_string()
}

/// A Go program whose goroutines wait in os/exec.(*Cmd).Wait.
pub fn cmd_wait() -> String {
    "Cmd.Wait returns once the child exited and, where its stdout or stderr goes to a Go writer \
     (not an *os.File), that output reached end of file: look for the child, or for a process it \
     left running that still holds those pipes open (`ls -l /proc/*/fd | grep pipe`); in the \
     program's own code, Cmd.WaitDelay (Go 1.20) bounds that wait"
        .to_string()
}

/// A process waiting for someone to answer a prompt.
pub fn prompt_wait(tty: Option<&str>) -> String {
    let answer = match tty {
        Some(t) => format!("answer it in the terminal ({t}), or "),
        None => String::new(),
    };
    format!(
        "{answer}make the access non-interactive: for HTTPS a git credential helper or a ~/.netrc entry \
         with a token; for SSH an agent (ssh-add) and the host's key in ~/.ssh/known_hosts, added only \
         once `ssh-keyscan HOST | ssh-keygen -lf -` shows the fingerprint the host publishes. The go \
         command sets GIT_TERMINAL_PROMPT=0, GCM_INTERACTIVE=never and ssh's BatchMode=yes unless you \
         set them (cmd/go/internal/modload/init.go), so leave those unset; an askpass helper \
         (GIT_ASKPASS, core.askPass, SSH_ASKPASS) still opens its dialog: GIT_ASKPASS= (empty) turns \
         git's off. A public module needs no credentials when it comes through GOPROXY: check that \
         GOPRIVATE or GONOPROXY do not send it to its server directly"
    )
}

/// A helper git or ssh started to ask for credentials waits for someone: `setting` is what
/// started it (`GIT_ASKPASS=…`, `core.askPass=…`, `credential.helper (NAME)`).
pub fn helper_wait(setting: &str, role: &str) -> String {
    let off = if role == "credential" {
        "unlock the keyring or answer the helper's dialog; to bypass it for one run: git -c credential.helper= …"
            .to_string()
    } else if setting.starts_with("SSH_ASKPASS") {
        "answer its dialog (it may be on another display or behind a locked screen); to make ssh fail instead of \
         waiting, unset SSH_ASKPASS (or set SSH_ASKPASS_REQUIRE=never)"
            .to_string()
    } else if setting.starts_with("GIT_ASKPASS") {
        "answer its dialog (it may be on another display or behind a locked screen); to make git fail instead of \
         waiting, set it empty: GIT_ASKPASS= (and unset core.askPass)"
            .to_string()
    } else {
        "answer its dialog (it may be on another display or behind a locked screen); to make git fail instead of \
         waiting, unset it: git config --unset core.askPass (in the file --show-origin names), or GIT_ASKPASS= for one run"
            .to_string()
    };
    format!(
        "{off}; for modules, give go the credentials instead: GOPRIVATE=your.host/* with a ~/.netrc entry (or GOAUTH, Go 1.24+), \
         or for ssh an agent (ssh-add) so nothing needs asking"
    )
}

/// A process held back by its cgroup's CPU limit (`allowed`: cores per period).
pub fn cpu_throttled(cgroup: &str, allowed: f64) -> String {
    format!(
        "the cgroup {cgroup} allows {:.0} % of a core: give it more (docker run --cpus, systemd CPUQuota=, a Kubernetes \
         CPU limit) or wait, it is working at that rate",
        allowed * 100.0
    )
}

/// An ssh (started by git) whose server does not answer.
pub fn ssh_wait(host: &str, port: Option<&str>) -> String {
    let p = port.map(|p| format!(" -p {p}")).unwrap_or_default();
    format!(
        "check the server: `ssh -v{p} {host}` shows where it stops (no banner: the server or a firewall in between); \
         make ssh give up instead of waiting: GIT_SSH_COMMAND='ssh -o ConnectTimeout=15 -o ServerAliveInterval=15 -o BatchMode=yes' \
         (ConnectTimeout covers the connection and the first handshake, ssh_config(5)); or fetch the module through GOPROXY \
         instead of from the repository"
    )
}

/// Name resolution that gets no answer from `nameserver`.
pub fn dns_wait(nameserver: &str, file: Option<&str>, host: Option<&str>, stub: bool) -> String {
    let name = host.unwrap_or("the host");
    let check = format!(
        "check the nameserver: `dig @{nameserver} {name}` (or `nslookup {name} {nameserver}`)"
    );
    let fix = if stub {
        "the systemd-resolved stub forwards to the upstream servers `resolvectl status` lists: fix those (a VPN's DNS that is gone, a captive network)".to_string()
    } else {
        format!(
            "then fix the nameserver line of {} as the process sees it (a container's own, a VPN's DNS that is gone)",
            file.unwrap_or("/etc/resolv.conf")
        )
    };
    format!(
        "{check}; {fix}; naming the server by IP in GOPROXY is no fix for https, whose certificate names the host; a private host can go in /etc/hosts"
    )
}

/// A connection that gets no answer; `setting` is the go/proxy setting the peer belongs to.
pub fn network_wait(
    setting: Option<&str>,
    current: Option<&str>,
    vcs_host: Option<&str>,
) -> String {
    let watch = "watch what it fetches with `go mod download -x` (or `go build -x`)";
    match setting {
        Some("GOPROXY") => {
            let other = if current.is_some_and(|c| c.contains("proxy.golang.org")) {
                "check your network, firewall or HTTP proxy settings"
            } else {
                "or use another: GOPROXY=https://proxy.golang.org,direct"
            };
            format!(
                "the module proxy {} does not answer: check it (curl -sSI URL) {other}; for private modules skip \
                 the proxy with GOPRIVATE=your.host/*; {watch}",
                current.unwrap_or("")
            )
        }
        Some("GOSUMDB") => format!(
            "the checksum database {} does not answer: the go command reaches it through the first GOPROXY \
             that proxies it (PROXY/sumdb/NAME/supported), else directly (cmd/go/internal/modfetch/sumdb.go), \
             so check both; for private modules list them in GOPRIVATE (or GONOSUMDB) so they are not looked \
             up; GOSUMDB=off turns verification off for modules (not advised), never for toolchain downloads; \
             {watch}",
            current.unwrap_or("")
        ),
        Some(proxy) if proxy.ends_with("_PROXY") => format!(
            "the HTTP proxy {proxy}={} does not answer: fix or unset it, and list hosts that need no proxy in NO_PROXY",
            current.unwrap_or("")
        ),
        _ => match vcs_host {
            Some(h) => format!(
                "the VCS server {h} does not answer: check access with `git ls-remote` on the repository URL, or \
                 fetch modules through a proxy (GOPROXY) instead of directly; {watch}"
            ),
            None => {
                format!("find out why the peer does not answer (firewall, VPN, proxy); {watch}")
            }
        },
    }
}

/// Why the go command switches toolchains (cmd/go/internal/toolchain/select.go).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchCause {
    /// go.mod or go.work asks for a newer Go, and GOTOOLCHAIN (auto, NAME+auto) allows it.
    Module,
    /// GOTOOLCHAIN names the toolchain itself (`GOTOOLCHAIN=go1.22.0`): exactly that one.
    Setting,
    /// Not known.
    Unknown,
}

/// A process that is asleep at every sample yet still moves bytes (`progressing`): what
/// to do depends on what grew. `fetches_modules`: the process fetches modules (a go
/// command, or a VCS under it), so the module advice applies; `setting`: the go setting
/// whose endpoint it receives from.
pub fn progressing(rate: &str, fetches_modules: bool, setting: Option<&str>) -> String {
    if fetches_modules {
        let via = setting
            .map(|s| format!(" (the endpoint of {s})"))
            .unwrap_or_default();
        format!(
            "nothing is stuck: the download moves at {rate}. A large module or a slow proxy{via}: give it time, or find what slows it (an HTTP proxy, a VPN, a rate limit); `go mod download -x` shows each fetch as it goes, and a nearer GOPROXY (a company proxy or mirror) is the lasting fix"
        )
    } else {
        format!(
            "nothing is stuck: it moves at {rate}. If that is too slow, look at what feeds it (the peer, the writer of its input, the disk) rather than at this process"
        )
    }
}

/// A toolchain download started by GOTOOLCHAIN. Toolchains are verified against the
/// checksum database whatever GOSUMDB and GONOSUMDB say: they cannot be listed in go.sum
/// (cmd/go/internal/modfetch/sumdb.go, useSumDB), so GOSUMDB=off makes the download fail.
pub fn toolchain_download(
    wanted: &str,
    local: Option<&str>,
    goproxy: Option<&str>,
    cause: SwitchCause,
) -> String {
    let local = local.unwrap_or("the installed go");
    let stay = match cause {
        SwitchCause::Setting => format!(
            "GOTOOLCHAIN={wanted} names that toolchain, so the go command runs it and no other: unset \
             it or set GOTOOLCHAIN=local to stay on {local}"
        ),
        _ => format!(
            "stay on {local} with GOTOOLCHAIN=local (go then stops with \"requires go >= …\" if the \
             module really needs {wanted})"
        ),
    };
    format!(
        "{stay}, or install {wanted} yourself (go.dev/dl) and put it first on PATH; the download comes \
         through GOPROXY{} like any module, which has to answer, and it is always checked against the \
         checksum database (sum.golang.org unless GOSUMDB names another), even with GOSUMDB=off or \
         GONOSUMDB, so that database has to answer too",
        goproxy.map(|p| format!(" ({p})")).unwrap_or_default()
    )
}

/// A child that never returns.
pub fn child_wait(pid: u32, command: &str, tool_setting: Option<&str>) -> String {
    let setting = tool_setting
        .map(|s| format!("; it was started because of {s}, so check that setting"))
        .unwrap_or_default();
    if !guard::may_name_pid(pid) {
        return format!(
            "look at what `{command}` is waiting for; {}{setting}",
            guard::unnamed_pid(pid)
        );
    }
    format!(
        "look at what pid {pid} (`{command}`) is waiting for (gohang attach {pid}); killing it (kill {pid}) lets \
         its parent go on with an error{setting}"
    )
}

/// A new executable held at `_dyld_start` while macOS assesses it (Gatekeeper/XProtect,
/// code-signature checks).
pub fn dyld_assessment(path: Option<&str>) -> String {
    let path = path.unwrap_or("PATH");
    format!(
        "answer any security prompt on the screen (the check may be waiting for it); let your \
         terminal run the programs it builds without that check: `spctl developer-mode \
         enable-terminal`, then allow the terminal under System Settings → Privacy & Security → \
         Developer Tools; for a downloaded binary, clear its quarantine flag: \
         xattr -d com.apple.quarantine {path}"
    )
}

/// A forked child stuck in fork()'s child-side (at-fork) handlers, before exec.
pub fn fork_child(pid: u32) -> String {
    let kill = if guard::may_name_pid(pid) {
        format!("kill the stuck child (kill -9 {pid})")
    } else {
        format!("stop the stuck child ({})", guard::unnamed_pid(pid))
    };
    format!(
        "{kill}; its parent then sees the failure and the command \
         can be run again. An at-fork handler that deadlocks or spins on a lock held at fork time \
         is a bug of the library it belongs to: if it repeats under Rosetta 2, use a native arm64 \
         toolchain, otherwise report the stack above to the Go issue tracker"
    )
}

/// A program failing inside qemu-user.
pub fn emulator_failure() -> String {
    "run the Go toolchain natively instead of under the emulator: build on a native machine, or \
     cross-compile from the build platform (`FROM --platform=$BUILDPLATFORM golang`, then \
     GOOS/GOARCH=the target); Go needs no emulator to cross-compile"
        .to_string()
}

/// Go ≥ 1.23 under qemu-user 7.2–7.x (clone with CLONE_PIDFD rejected).
pub fn qemu_clone_pidfd() -> String {
    "best, do not run the toolchain emulated at all: cross-compile from the build platform \
     (`FROM --platform=$BUILDPLATFORM golang`, GOOS/GOARCH=the target). Otherwise use a later Go \
     release, which starts the child without CLONE_PIDFD when qemu rejects it (golang/go#69259), or \
     qemu-user 8.0 or newer (Debian 12's qemu-user-static is 7.2)"
        .to_string()
}

/// What sits at the other end of a write nobody drains.
pub enum OutputEnd<'a> {
    /// The processes holding a pipe's or FIFO's read end: (pid, command, verified), where
    /// verified means gohang observed that very process (pid > 1, its start time read).
    Readers(Vec<(u32, &'a str, bool)>),
    /// No process gohang could search holds the read end: the pipe's link text.
    NoReader(&'a str),
    /// A socket and its peer, when known.
    Socket(Option<&'a str>),
    /// A terminal device.
    Terminal(&'a str),
    /// Anything else: its path and what it is.
    Other(&'a str, &'a str),
}

/// A process blocked writing output that the other end does not take: name the reader
/// that does not read, and how to run the command so that it cannot recur (`pipe(7)`: a
/// write to a full pipe blocks until a reader makes room; with no reader left it fails
/// with EPIPE and SIGPIPE).
/// `command` is the blocked writer's command line, or the go command above it.
pub fn output_blocked(end: &OutputEnd, command: &str) -> String {
    let recur = format!(
        "so that it cannot recur, send the output to a file ({command} > out.log 2>&1) and read the \
         file afterwards, or pipe it only into a reader that keeps reading"
    );
    let recur = recur.as_str();
    match end {
        OutputEnd::Readers(readers) => {
            let first = readers.first();
            let named: Vec<String> = readers
                .iter()
                .map(|(pid, cmd, _)| format!("pid {pid} (`{cmd}`)"))
                .collect();
            let end_it = match first {
                Some((pid, _, true)) if *pid > 1 => {
                    format!("or end it (kill {pid}): the writer then gets EPIPE and stops")
                }
                Some((pid, cmd, _)) => {
                    format!("or end it once you have checked that pid {pid} still runs `{cmd}`")
                }
                None => String::new(),
            };
            let attach = first
                .map(|(pid, _, _)| format!("see what it waits for instead (gohang attach {pid}), "))
                .unwrap_or_default();
            format!(
                "{} {} the read end and {} not read: {attach}{end_it}; {recur}",
                named.join(", "),
                if readers.len() > 1 { "hold" } else { "holds" },
                if readers.len() > 1 { "do" } else { "does" },
            )
        }
        OutputEnd::NoReader(pipe) => {
            let ino = pipe.trim_start_matches("pipe:[").trim_end_matches(']');
            format!(
                "no process gohang could search holds the read end of {pipe}: find the one that does \
                 (as root: ls -l /proc/*/fd 2>/dev/null | grep 'pipe:\\[{ino}\\]'; another container's \
                 processes are only visible from its host) and make it read, or end it; {recur}"
            )
        }
        OutputEnd::Socket(peer) => format!(
            "the peer{} does not read what is sent to it: look at the program at that end, or \
             close the connection there; {recur}",
            peer.map(|p| format!(" {p}")).unwrap_or_default()
        ),
        OutputEnd::Terminal(tty) => format!(
            "the terminal {tty} takes no output: if it was paused with Ctrl-S, press Ctrl-Q (stty -ixon \
             turns that pause off); {recur}"
        ),
        OutputEnd::Other(target, what) => {
            format!("{target} ({what}) takes no data: find out what should consume it; {recur}")
        }
    }
}

/// Every remedy, rendered with example values (pid 4242, process group 4242, …), with the
/// verdict kind it belongs to. docs/verdicts.md quotes each of these verbatim after a
/// `<!-- remedy:NAME -->` marker; a test holds the two together.
pub fn catalog() -> Vec<(&'static str, crate::verdict::VerdictKind, String)> {
    use crate::evidence::{CgroupInfo, CgroupVersion, Emulator};
    use crate::verdict::VerdictKind as K;
    let v1 = CgroupInfo {
        version: CgroupVersion::V1,
        path: "/docker/4f2c".into(),
        state_file: Some("/sys/fs/cgroup/freezer/docker/4f2c/freezer.state".into()),
        frozen: true,
        state: Some("FROZEN".into()),
        frozen_by: None,
        cpu_quota: None,
    };
    let v2 = CgroupInfo {
        version: CgroupVersion::V2,
        path: "/user.slice/build.scope".into(),
        state_file: Some("/sys/fs/cgroup/user.slice/build.scope/cgroup.events".into()),
        frozen: true,
        state: Some("frozen 1".into()),
        frozen_by: None,
        cpu_quota: None,
    };
    let v2_child = CgroupInfo {
        path: "/user.slice/build.scope/job".into(),
        state_file: Some("/sys/fs/cgroup/user.slice/build.scope/job/cgroup.events".into()),
        frozen_by: Some(crate::evidence::FrozenBy {
            path: "/user.slice/build.scope".into(),
            control_file: "/sys/fs/cgroup/user.slice/build.scope/cgroup.freeze".into(),
        }),
        ..v2.clone()
    };
    let qemu = Translation::Binfmt {
        emulator: Emulator::Qemu,
        interpreter: "/usr/bin/qemu-aarch64-static".into(),
        program: Some("/usr/local/go/bin/go".into()),
        program_arch: None,
    };
    let look = |program, mode, dump, host_os| LookCloser {
        pid: 4242,
        program,
        mode,
        dump,
        traced: false,
        host_os,
    };
    vec![
        ("resume", K::Stopped, resume(4242, None)),
        ("resume-group", K::Stopped, resume(4242, Some(4242))),
        ("tty-stopped", K::TtyStopped, tty_stopped(4242)),
        ("traced", K::Traced, traced(4300, Some("gdb"))),
        ("thaw-v1", K::Frozen, thaw(&v1)),
        ("thaw-v2", K::Frozen, thaw(&v2)),
        ("thaw-v2-ancestor", K::Frozen, thaw(&v2_child)),
        ("io-wait", K::IoWait, io_wait(4242, &Os::Linux)),
        (
            "output-blocked-reader",
            K::OutputBlocked,
            output_blocked(
                &OutputEnd::Readers(vec![(4300, "logship --follow", true)]),
                "go list -json std",
            ),
        ),
        (
            "output-blocked-no-reader",
            K::OutputBlocked,
            output_blocked(&OutputEnd::NoReader("pipe:[88123]"), "go test -v ./..."),
        ),
        (
            "output-blocked-terminal",
            K::OutputBlocked,
            output_blocked(&OutputEnd::Terminal("/dev/pts/3"), "go build -x ./..."),
        ),
        ("io-wait-macos", K::IoWait, io_wait(4242, &Os::Macos)),
        (
            "idle-go-probe",
            K::Idle,
            idle(&look(Program::Go, Mode::Spawn, Dump::NotTaken, &Os::Linux)),
        ),
        (
            "idle-go-attach",
            K::Idle,
            idle(&look(Program::Go, Mode::Attach, Dump::NotTaken, &Os::Linux)),
        ),
        (
            "idle-go-read",
            K::Idle,
            idle(&look(
                Program::Go,
                Mode::Attach,
                Dump::ReadFromMemory,
                &Os::Linux,
            )),
        ),
        ("network-wait-resolution", K::NetworkWait, name_resolution()),
        ("child-wait-cmd-wait", K::ChildWait, cmd_wait()),
        (
            "idle-go-dumped",
            K::Idle,
            idle(&look(Program::Go, Mode::Spawn, Dump::Answered, &Os::Linux)),
        ),
        (
            "idle-go-silent",
            K::Idle,
            idle(&look(Program::Go, Mode::Spawn, Dump::Silent, &Os::Linux)),
        ),
        (
            "idle-other-probe",
            K::Idle,
            idle(&look(
                Program::Other,
                Mode::Spawn,
                Dump::NotTaken,
                &Os::Linux,
            )),
        ),
        (
            "idle-other-attach",
            K::Idle,
            idle(&look(
                Program::Other,
                Mode::Attach,
                Dump::NotTaken,
                &Os::Linux,
            )),
        ),
        (
            "idle-other-attach-macos",
            K::Idle,
            idle(&look(
                Program::Other,
                Mode::Attach,
                Dump::NotTaken,
                &Os::Macos,
            )),
        ),
        (
            "spinning-go-probe",
            K::Spinning,
            spinning(&look(Program::Go, Mode::Spawn, Dump::NotTaken, &Os::Linux)),
        ),
        (
            "spinning-other-attach",
            K::Spinning,
            spinning(&look(
                Program::Other,
                Mode::Attach,
                Dump::NotTaken,
                &Os::Linux,
            )),
        ),
        (
            "translated-rosetta",
            K::Translated,
            translated(&Translation::Rosetta { program_arch: None }, &Os::Macos),
        ),
        (
            "translated-qemu",
            K::Translated,
            translated(&qemu, &Os::Linux),
        ),
        ("emulator-failure", K::Translated, emulator_failure()),
        ("qemu-clone-pidfd", K::Translated, qemu_clone_pidfd()),
        (
            "arch-mismatch-linux",
            K::ArchMismatch,
            arch_mismatch(&Os::Linux, &Arch::X86_64, &[Arch::Aarch64], None),
        ),
        (
            "arch-mismatch-macos",
            K::ArchMismatch,
            arch_mismatch(&Os::Macos, &Arch::Aarch64, &[], None),
        ),
        (
            "arch-mismatch-macos-rosetta",
            K::ArchMismatch,
            arch_mismatch(&Os::Macos, &Arch::Aarch64, &[Arch::X86_64], Some(false)),
        ),
        (
            "arch-mismatch-macos-obsolete",
            K::ArchMismatch,
            arch_mismatch(
                &Os::Macos,
                &Arch::Aarch64,
                &[Arch::X86, Arch::Ppc64],
                Some(true),
            ),
        ),
        (
            "arch-mismatch-macos-intel",
            K::ArchMismatch,
            arch_mismatch(&Os::Macos, &Arch::X86_64, &[Arch::Aarch64], None),
        ),
        (
            "lock-wait",
            K::LockWait,
            lock_wait(Some((4300, "go mod download"))),
        ),
        (
            "prompt-wait",
            K::PromptWait,
            prompt_wait(Some("/dev/pts/3")),
        ),
        (
            "dyld-assessment",
            K::PromptWait,
            dyld_assessment(Some("./hello.test")),
        ),
        (
            "prompt-git-askpass",
            K::PromptWait,
            helper_wait("GIT_ASKPASS=/usr/bin/ksshaskpass", "askpass"),
        ),
        (
            "prompt-credential-helper",
            K::PromptWait,
            helper_wait("credential.helper (libsecret)", "credential"),
        ),
        (
            "spinning-throttled",
            K::Spinning,
            cpu_throttled("/docker/3f2a", 0.5),
        ),
        (
            "network-ssh",
            K::NetworkWait,
            ssh_wait("git.example.com", Some("2222")),
        ),
        (
            "network-dns",
            K::NetworkWait,
            dns_wait(
                "10.0.0.53",
                Some("/etc/resolv.conf"),
                Some("goproxy.example.com"),
                false,
            ),
        ),
        (
            "network-goproxy",
            K::NetworkWait,
            network_wait(Some("GOPROXY"), Some("https://goproxy.example.com"), None),
        ),
        (
            "network-gosumdb",
            K::NetworkWait,
            network_wait(Some("GOSUMDB"), Some("sum.golang.org"), None),
        ),
        (
            "progressing-download",
            K::Progressing,
            progressing("20 B/s", true, Some("GOPROXY")),
        ),
        (
            "progressing-reader",
            K::Progressing,
            progressing("3.1 KiB/s", false, None),
        ),
        (
            "network-proxy",
            K::NetworkWait,
            network_wait(Some("HTTPS_PROXY"), Some("http://10.0.0.1:3128"), None),
        ),
        (
            "network-vcs",
            K::NetworkWait,
            network_wait(None, None, Some("git.example.com")),
        ),
        (
            "toolchain-download",
            K::ToolchainDownload,
            toolchain_download(
                "go1.25.0",
                Some("go1.23.5"),
                Some("https://proxy.golang.org,direct"),
                SwitchCause::Module,
            ),
        ),
        (
            "toolchain-download-setting",
            K::ToolchainDownload,
            toolchain_download(
                "go1.22.0",
                Some("go1.23.5"),
                Some("https://proxy.golang.org,direct"),
                SwitchCause::Setting,
            ),
        ),
        (
            "toolchain-download-unknown-local",
            K::ToolchainDownload,
            toolchain_download("go1.25.0", None, None, SwitchCause::Unknown),
        ),
        (
            "child-wait",
            K::ChildWait,
            child_wait(4300, "sleep 3600", Some("CC=/usr/local/bin/slowcc")),
        ),
        ("fork-child", K::Spinning, fork_child(4300)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tty_stopped_says_fg_or_restart_not_a_resume_that_stops_again() {
        let r = tty_stopped(4242);
        assert!(r.contains("`fg`") && r.contains("stopped again"), "{r}");
        assert!(
            r.contains("start it again without the terminal: CMD </dev/null"),
            "{r}"
        );
        assert!(!r.contains("give it no terminal input"), "{r}");
    }

    #[test]
    fn prompt_wait_checks_host_keys_and_names_what_really_prompts() {
        let r = prompt_wait(Some("/dev/pts/3"));
        assert!(
            !r.contains(">> ~/.ssh/known_hosts"),
            "no unverified host key: {r}"
        );
        assert!(r.contains("ssh-keygen -lf -"), "{r}");
        assert!(r.contains("GIT_ASKPASS= (empty)"), "{r}");
        assert!(
            r.contains("GCM_INTERACTIVE") && r.contains("GOPRIVATE"),
            "{r}"
        );
    }

    #[test]
    fn io_wait_does_not_promise_that_a_lazy_unmount_wakes_anyone() {
        let r = io_wait(4242, &Os::Linux);
        assert!(r.contains("stay blocked"), "{r}");
        assert!(r.contains("/sys/fs/fuse/connections/N/abort"), "{r}");
        assert!(r.contains("umount -f MOUNTPOINT"), "{r}");
    }

    #[test]
    fn network_remedies_hold_no_false_offline_hint() {
        let r = network_wait(Some("GOPROXY"), Some("https://goproxy.example.com"), None);
        assert!(!r.contains("-mod=vendor"), "{r}");
        let r = network_wait(Some("GOSUMDB"), Some("sum.golang.org"), None);
        assert!(
            r.contains("through the first GOPROXY that proxies it"),
            "{r}"
        );
        assert!(r.contains("never for toolchain downloads"), "{r}");
    }

    #[test]
    fn qemu_advice_puts_native_first_and_knows_the_fallback() {
        let r = qemu_clone_pidfd();
        assert!(r.contains("golang/go#69259"), "{r}");
        let r = arch_mismatch(&Os::Linux, &Arch::X86_64, &[Arch::Aarch64], None);
        assert!(!r.contains("apt install qemu-user-static"), "{r}");
        assert!(
            r.contains("last resort") && r.contains("golang/go#70329"),
            "{r}"
        );
    }

    #[test]
    fn a_toolchain_from_the_module_cache_is_not_fixed_by_emptying_it() {
        let owner = crate::rebuild::goroot::Owner {
            manager: "go-toolchain-cache".into(),
            package: None,
        };
        let host = crate::evidence::HostInfo::plain(Os::Linux, Arch::X86_64, 1);
        let lines = crate::rebuild::advice::install_instead(&host, None, Some(&owner));
        assert!(
            lines.iter().all(|l| !l.contains("go clean -modcache")),
            "{lines:?}"
        );
    }
}
