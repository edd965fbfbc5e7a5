//! Remedy texts, in one place so the docs (`docs/verdicts.md`) and the code can be held
//! together by a test. Each is true for the case it is given for; where a command is
//! printed it is meant to be pasted as is.

use crate::evidence::{CgroupInfo, CgroupVersion, Translation};

/// Resume a process (or its whole process group) stopped by a signal.
pub fn resume(pid: u32, pgrp: Option<i32>) -> String {
    match pgrp {
        Some(g) if g > 0 => format!(
            "kill -CONT -- -{g}    # resumes the whole process group; or only the process: kill -CONT {pid}"
        ),
        _ => format!("kill -CONT {pid}"),
    }
}

/// A background job stopped by SIGTTIN/SIGTTOU.
pub fn tty_stopped(pgrp: i32) -> String {
    format!(
        "bring the job to the foreground with `fg` in the shell that started it; to run it in the \
         background instead, give it no terminal input (`</dev/null`) and allow output \
         (`stty -tostop`), then resume it: kill -CONT -- -{pgrp}"
    )
}

/// A process held by a tracer or debugger.
pub fn traced(tracer_pid: u32, tracer: Option<&str>) -> String {
    let who = tracer.map(|c| format!(" ({c})")).unwrap_or_default();
    format!(
        "detach or quit the debugger/tracer pid {tracer_pid}{who}; if it is gone or stuck itself: kill {tracer_pid}"
    )
}

/// A frozen cgroup.
pub fn thaw(cg: &CgroupInfo) -> String {
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

/// Uninterruptible sleep on a device or remote file system.
pub fn io_wait(pid: u32) -> String {
    format!(
        "find the mount it waits on (as root: cat /proc/{pid}/stack; findmnt) and bring its server \
         back, or detach it with umount -l MOUNTPOINT; the process cannot be killed until the I/O ends"
    )
}

/// Ask the Go runtime where every goroutine is.
pub fn goroutine_dump(pid: u32) -> String {
    format!(
        "see where it is: run it again under `gohang probe --goroutines -- …`, or send SIGQUIT \
         (kill -QUIT {pid}): the Go runtime prints every goroutine's stack to the process's stderr and exits"
    )
}

/// A program that is translated (Rosetta 2, qemu-user, Rosetta for Linux).
pub fn translated(t: &Translation, host_os: &str) -> String {
    match t {
        Translation::Rosetta { .. } => "install a native arm64 Go (the darwin-arm64 archive from go.dev/dl, or \
             `brew install go` from an arm64 Homebrew in /opt/homebrew) and run it from a native shell; \
             until then GODEBUG=asyncpreemptoff=1 avoids the known Rosetta stalls of Go programs \
             (golang/go#42700, #68485); `gohang rebuild` rebuilds a GOROOT natively"
            .to_string(),
        Translation::Binfmt { .. } if host_os == "linux" => "run a native toolchain instead of an emulated one: in a container build use \
             `FROM --platform=$BUILDPLATFORM golang` and cross-compile with GOOS/GOARCH (Go needs no \
             emulator to cross-compile); for a GOROOT with foreign binaries, `gohang rebuild`"
            .to_string(),
        _ => "run a toolchain built for this machine's own architecture".to_string(),
    }
}

/// An executable of the wrong architecture that could not start.
pub fn arch_mismatch(host_os: &str, program_arch: Option<&str>) -> String {
    if host_os == "macos" {
        "use a Go built for this Mac (the darwin-arm64 archive from go.dev/dl, or `brew install go` \
         from /opt/homebrew); an x86_64-only binary needs Rosetta 2: \
         softwareupdate --install-rosetta --agree-to-license"
            .to_string()
    } else {
        let arch = program_arch.unwrap_or("its");
        format!(
            "use a build for this machine's architecture (`gohang check` shows which binaries are \
             foreign; `gohang rebuild` fixes a GOROOT), or register an emulator for {arch} binaries: \
             apt install qemu-user-static binfmt-support"
        )
    }
}

/// Busy on the CPU without finishing.
pub fn spinning(pid: u32) -> String {
    goroutine_dump(pid)
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
    format!(
        "kill the stuck child (kill -9 {pid}); its parent then sees the failure and the command \
         can be run again. An at-fork handler that deadlocks or spins on a lock held at fork time \
         is a bug of the library it belongs to: if it repeats under Rosetta 2, use a native arm64 \
         toolchain, otherwise report the stack above to the Go issue tracker"
    )
}
