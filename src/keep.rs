//! `probe --keep` of a stopped tree: keep it stopped after gohang exits (issue 14).
//!
//! When gohang exits, the probed processes are re-parented to init (or a subreaper) and
//! their process group becomes *orphaned*: no member has a parent in another group of the
//! same session any more. POSIX has the kernel send SIGHUP and then SIGCONT to every
//! member of a newly orphaned group that has a stopped member (POSIX.1-2017 `_exit`,
//! "Consequences of Process Termination"; Linux `kernel/exit.c` `kill_orphaned_pgrp`), so
//! a stopped `go` would be killed (SIGHUP's default) or resumed, the opposite of `--keep`.
//!
//! gohang keeps the group from becoming orphaned: before it exits, it starts a *keeper*
//! (`gohang __keep-stopped PGID…`, in a process group of its own, in gohang's session),
//! and the keeper starts one *holder* per group (`gohang __hold-pgrp PGID`) that joins
//! the stopped group with `setpgid`. The holder's parent, the keeper, lives in another
//! group of the same session, which is exactly what makes a group not orphaned, so the
//! kernel sends nothing. The holder does nothing but look, four times a second, whether
//! any other process is left in its group, and exits when none is; the keeper exits with
//! its holders. Resuming the group (`kill -CONT -- -PGID`) or killing it
//! (`kill -KILL -- -PGID`) reaches the holder too, which is harmless.
//!
//! What this module must not do: signal, stop or resume any process; the holders only
//! join a group and wait.

use crate::error::Exit;
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const KEEPER: &str = "__keep-stopped";
const HOLDER: &str = "__hold-pgrp";
/// How often a holder looks whether its group is empty.
const POLL: Duration = Duration::from_millis(250);
/// How long gohang waits for the keeper to report its holders.
const HANDSHAKE: Duration = Duration::from_secs(5);

/// A stopped process group that a holder keeps from becoming orphaned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub pgid: i32,
    pub holder: u32,
}

/// The internal entry points, run before the command line is parsed: Some(outcome) when
/// this process is a keeper or a holder.
pub fn internal_entry() -> Option<Exit> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(KEEPER) => Some(keeper(&args[1..])),
        Some(HOLDER) => Some(holder(args.get(1)?.parse().ok()?)),
        _ => None,
    }
}

/// The process groups of `kept` (in gohang's session) that have a stopped member.
pub fn stopped_groups(kept: &[u32]) -> Vec<i32> {
    use nix::unistd::{Pid, getpgid, getsid};
    let Ok(session) = getsid(None) else {
        return Vec::new();
    };
    let mut groups: Vec<i32> = kept
        .iter()
        .filter(|&&p| state(p) == Some('T'))
        .filter(|&&p| getsid(Some(Pid::from_raw(p as i32))) == Ok(session))
        .filter_map(|&p| getpgid(Some(Pid::from_raw(p as i32))).ok())
        .map(Pid::as_raw)
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

/// Start a keeper for `groups` and wait until its holders have joined them.
pub fn hold(groups: &[i32]) -> Result<Vec<Held>, String> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| format!("finding gohang's own program: {e}"))?;
    let mut keeper = Command::new(exe)
        .arg(KEEPER)
        .args(groups.iter().map(i32::to_string))
        // Its own group in gohang's session: its holders' parent must be in another group
        // of the same session. No terminal, no pipe of gohang's.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the keeper: {e}"))?;
    let out = keeper.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if line == "done" {
                break;
            }
            let mut w = line.split_whitespace();
            if let (Some(Ok(pgid)), Some(Ok(holder))) =
                (w.next().map(str::parse), w.next().map(str::parse))
            {
                held.push(Held { pgid, holder });
            }
        }
        let _ = tx.send(held);
    });
    let held = rx
        .recv_timeout(HANDSHAKE)
        .map_err(|_| "the keeper did not answer".to_string())?;
    if held.len() != groups.len() {
        return Err(format!(
            "only {} of {} process groups could be held",
            held.len(),
            groups.len()
        ));
    }
    Ok(held)
}

/// The keeper: one holder per group, each joining it; report them, then wait for them.
fn keeper(groups: &[String]) -> Exit {
    use std::os::unix::process::CommandExt;
    let Ok(exe) = std::env::current_exe() else {
        return Exit::Internal;
    };
    let mut holders = Vec::new();
    let mut out = std::io::stdout();
    for g in groups {
        let Ok(pgid) = g.parse::<i32>() else { continue };
        let child = Command::new(&exe)
            .args([HOLDER, g])
            .process_group(pgid)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(c) = child {
            let _ = writeln!(out, "{pgid} {}", c.id());
            holders.push(c);
        }
    }
    let _ = writeln!(out, "done");
    let _ = out.flush();
    // gohang has read the answer and may be gone: let go of its pipe.
    if let Ok(null) = std::fs::File::options().write(true).open("/dev/null") {
        use std::os::fd::AsRawFd;
        // SAFETY: dup2 onto our own stdout descriptor, from a file open for the call.
        unsafe {
            libc::dup2(null.as_raw_fd(), 1);
        }
    }
    for mut h in holders {
        let _ = h.wait();
    }
    Exit::Ok
}

/// The holder: stay in the group until no other process is left in it.
fn holder(pgid: i32) -> Exit {
    let me = std::process::id();
    loop {
        std::thread::sleep(POLL);
        if !others_in_group(pgid, me) {
            return Exit::Ok;
        }
    }
}

/// Is any process other than `me` in process group `pgid`?
fn others_in_group(pgid: i32, me: u32) -> bool {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return false;
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| p != me)
        .any(|p| stat_fields(p).is_some_and(|(s, g)| g == pgid && s != 'Z'))
}

/// State letter and process group of `pid` from /proc/PID/stat.
fn stat_fields(pid: u32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let _ppid = f.next()?;
    let pgrp = f.next()?.parse().ok()?;
    Some((state, pgrp))
}

fn state(pid: u32) -> Option<char> {
    stat_fields(pid).map(|(s, _)| s)
}
