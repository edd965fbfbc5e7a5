//! Live tests of waits on local servers that do not answer:
//! - a file access monitor: this test process takes a fanotify group with FAN_OPEN_PERM on
//!   the module's directory and never answers, as a stuck antivirus or endpoint-security
//!   agent would. `go build` then sleeps in D in the kernel's fanotify code opening go.mod.
//!   The verdict names the monitor (this process) and the file, and gohang itself does not
//!   block on the same monitor. Needs root (CAP_SYS_ADMIN).
//! - a unix socket server that accepted the connection and never answers (an ssh-agent,
//!   gpg-agent or nscd that hangs): the verdict names the process holding the other end.
#![cfg(target_os = "linux")]

mod util;

use gohang::verdict::VerdictKind;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use util::gomod::*;
use util::*;

/// A fanotify group asking permission for every open in one directory, answered never.
/// Dropping it closes the group, which allows every open it held (fanotify(7)).
struct Monitor(i32);

impl Monitor {
    fn watch(dir: &Path) -> Monitor {
        // SAFETY: plain system calls with valid arguments; the fd is owned by Monitor.
        let fd = unsafe {
            libc::fanotify_init(
                libc::FAN_CLASS_CONTENT | libc::FAN_CLOEXEC,
                libc::O_RDONLY as u32,
            )
        };
        assert!(
            fd >= 0,
            "fanotify_init: {}",
            std::io::Error::last_os_error()
        );
        let monitor = Monitor(fd);
        let path = CString::new(dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: fd is a fanotify group, path a NUL-terminated string.
        let r = unsafe {
            libc::fanotify_mark(
                fd,
                libc::FAN_MARK_ADD,
                libc::FAN_OPEN_PERM | libc::FAN_EVENT_ON_CHILD,
                libc::AT_FDCWD,
                path.as_ptr(),
            )
        };
        assert_eq!(r, 0, "fanotify_mark: {}", std::io::Error::last_os_error());
        monitor
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        // SAFETY: closing the fd this Monitor owns.
        unsafe { libc::close(self.0) };
    }
}

#[test]
fn a_build_held_by_a_file_access_monitor_names_the_monitor() {
    if !need(
        is_root(),
        "root (a fanotify permission group needs CAP_SYS_ADMIN)",
    ) || !need(have("go"), "go (scripts/setup.sh)")
    {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", None);
    let mut c = gohang();
    c.args([
        "probe",
        "--json",
        "--timeout",
        "2s",
        "--window",
        "1s",
        "--",
        "go",
        "build",
        "-o",
    ])
    .arg("/dev/null")
    .arg(".")
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    isolated_go_env(&mut c, &m);
    c.env("GOFLAGS", "-mod=mod -buildvcs=false");
    // From here on, opening a file in the module directory waits for an answer; the test
    // opens nothing there itself.
    let monitor = Monitor::watch(&m.app());
    let started = Instant::now();
    let g = Guard::spawn_group(&mut c);
    let out = g.wait_output(Duration::from_secs(60));
    drop(monitor);
    let out = out.expect("gohang finished while the monitor held the build");
    let elapsed = started.elapsed();
    let r = parse_report(&out.stdout);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::IoWait, "{r:#?}");
    let me = std::process::id();
    assert!(
        p.summary
            .contains("by a file access permission check (fanotify)")
            && p.summary.contains("go.mod")
            && p.summary.contains(&format!("pid {me} (")),
        "{}",
        p.summary
    );
    assert!(
        p.evidence
            .iter()
            .any(|e| e.starts_with(&format!("pid {me} (")) && e.contains("holds a fanotify group")),
        "{:#?}",
        p.evidence
    );
    // gohang read none of the monitored files itself: it was not held past its window.
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}

/// A unix socket server on `path` that accepts every connection and never answers; it
/// stops by itself after `secs`.
fn silent_unix_server(path: &Path, secs: u32) -> Guard {
    let script = format!(
        "import socket, time\n\
         s = socket.socket(socket.AF_UNIX)\n\
         s.bind({path:?})\n\
         s.listen(4)\n\
         s.settimeout(0.2)\n\
         held, end = [], time.time() + {secs}\n\
         while time.time() < end:\n\
         \x20   try: held.append(s.accept()[0])\n\
         \x20   except socket.timeout: pass\n",
        path = path.to_str().unwrap()
    );
    let mut c = std::process::Command::new("python3");
    c.args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let g = Guard::spawn_group(&mut c);
    wait_for(Duration::from_secs(10), || path.exists().then_some(()))
        .expect("the unix socket server listens");
    g
}

/// `gohang probe --json -- ssh-add -l` with the agent socket at `sock`.
fn probe_ssh_add(sock: &Path) -> gohang::report::Report {
    let out = gohang()
        .args(["probe", "--json", "--timeout", "2s", "--window", "1s", "--"])
        .args(["ssh-add", "-l"])
        .env("SSH_AUTH_SOCK", sock)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    parse_report(&out.stdout)
}

#[test]
fn a_client_of_a_unix_socket_server_that_never_answers_names_the_server() {
    if !need(have("python3") && have("ssh-add"), "python3 and ssh-add") {
        return;
    }
    let _s = serial();
    let d = tempfile::tempdir().unwrap();
    let sock = d.path().join("agent.sock");
    let server = silent_unix_server(&sock, 60);
    let r = probe_ssh_add(&sock);
    let p = r.primary();
    assert_eq!(p.pid, Some(server.pid()), "{r:#?}");
    assert!(
        p.summary.contains("waits for input on its fd ")
            && p.summary.contains(&format!(
                "from the unix socket {}: the other end is held by pid ",
                sock.display()
            ))
            && p.summary
                .contains(&format!("pid {} (python3)", server.pid())),
        "{}",
        p.summary
    );
}

/// An ssh-agent stopped by SIGSTOP before it accepts: the client's connection has no peer
/// inode yet, and the agent is found as the only listener with connections waiting.
#[test]
fn a_client_of_a_stopped_ssh_agent_names_the_agent_and_how_to_resume_it() {
    if !need(
        have("ssh-agent") && have("ssh-add"),
        "ssh-agent and ssh-add",
    ) {
        return;
    }
    let _s = serial();
    let d = tempfile::tempdir().unwrap();
    let sock = d.path().join("agent.sock");
    let mut c = std::process::Command::new("ssh-agent");
    c.arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let agent = Guard::spawn_group(&mut c);
    wait_for(Duration::from_secs(10), || sock.exists().then_some(())).expect("ssh-agent listens");
    let pid = agent.pid();
    // SAFETY: stops the agent this test started, by its pid.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0);
    let r = probe_ssh_add(&sock);
    let p = r.primary();
    assert_eq!(p.pid, Some(pid), "{r:#?}");
    assert!(
        p.summary.contains(&format!(
            "from the unix socket {}, whose server pid {pid} (ssh-agent) has not even accepted the connection",
            sock.display()
        )),
        "{}",
        p.summary
    );
    let fix = p.remedy.as_deref().unwrap_or_default();
    assert!(fix.contains(&format!("`kill -CONT {pid}`")), "{fix}");
}
