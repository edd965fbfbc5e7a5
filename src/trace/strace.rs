//! strace's output, one line at a time, as strace 5–6 prints it with `-f -tt -o FILE`
//! (strace(1)): `TID HH:MM:SS.ffffff ` and then one of
//!
//! ```text
//! read(0, "y\n", 1024) = 2                          a call that returned
//! flock(3, LOCK_EX <unfinished ...>                  started; another thread printed meanwhile
//! <... flock resumed>) = 0                           the rest of it
//! flock(3, LOCK_EX <detached ...>                    strace let go while it was inside
//! clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=30, …},  (no newline: still inside at the end)
//! restart_syscall(<... resuming interrupted read ...>   a call resumed after strace attached
//! --- SIGCHLD {si_signo=SIGCHLD, …} ---              a signal
//! --- stopped by SIGTTIN ---                         a stop
//! +++ exited with 0 +++                              the end of a thread
//! ```
//!
//! Parsing is pure and never fails: a line it does not know is `Event::Other`.

/// What one line says.
#[derive(Clone, Debug, PartialEq)]
pub enum Event<'a> {
    /// `name(args) = result`.
    Call {
        name: &'a str,
        args: &'a str,
        result: &'a str,
    },
    /// A call that has started and not returned (`<unfinished ...>`, `<detached ...>`, or
    /// a line cut at the end of the output).
    Started {
        name: &'a str,
        args: &'a str,
    },
    /// `<... name resumed>args) = result`; no result when strace detached meanwhile.
    Resumed {
        name: &'a str,
        args: &'a str,
        result: Option<&'a str>,
    },
    /// `--- SIGxxx {…} ---`.
    Signal {
        signal: &'a str,
    },
    /// `--- stopped by SIGxxx ---`.
    Stopped {
        signal: &'a str,
    },
    /// `+++ exited with 0 +++`, `+++ killed by SIGKILL +++`.
    Exited {
        how: &'a str,
    },
    /// strace's own words (`strace: Process 12 attached`, an error).
    Message(&'a str),
    Other(&'a str),
}

/// One parsed line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line<'a> {
    /// The thread (strace prints task ids with `-f`).
    pub tid: Option<u32>,
    pub time: Option<&'a str>,
    pub event: Event<'a>,
}

const UNFINISHED: &str = "<unfinished ...>";
const DETACHED: &str = "<detached ...>";
const RESUMING: &str = "<... resuming interrupted ";

/// Parse one line (without its newline). A line cut short (the last one, when a thread is
/// still inside a call) parses as `Started`.
pub fn parse(line: &str) -> Line<'_> {
    let line = line.trim_end_matches(['\n', '\r']);
    if let Some(msg) = line.strip_prefix("strace: ") {
        return Line {
            tid: None,
            time: None,
            event: Event::Message(msg),
        };
    }
    let mut rest = line.trim_start();
    let mut tid = None;
    if let Some((first, after)) = rest.split_once(' ')
        && let Ok(t) = first.parse::<u32>()
    {
        tid = Some(t);
        rest = after.trim_start();
    }
    let mut time = None;
    if let Some((first, after)) = rest.split_once(' ')
        && is_time(first)
    {
        time = Some(first);
        rest = after.trim_start();
    }
    Line {
        tid,
        time,
        event: event(rest),
    }
}

/// `12:00:01.123456` or `1700000000.123456` (`-ttt`).
fn is_time(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().any(|b| b == b'.' || b == b':')
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b':')
}

fn event(rest: &str) -> Event<'_> {
    if let Some(s) = rest.strip_prefix("--- ") {
        let s = s.trim_end_matches(" ---");
        if let Some(sig) = s.strip_prefix("stopped by ") {
            return Event::Stopped {
                signal: sig.split_whitespace().next().unwrap_or(sig),
            };
        }
        return Event::Signal {
            signal: s.split_whitespace().next().unwrap_or(s),
        };
    }
    if let Some(s) = rest.strip_prefix("+++ ") {
        return Event::Exited {
            how: s.trim_end_matches(" +++").trim(),
        };
    }
    if let Some(s) = rest.strip_prefix("<... ") {
        let Some((name, after)) = s.split_once(" resumed>") else {
            return Event::Other(rest);
        };
        if after.trim() == DETACHED {
            return Event::Resumed {
                name,
                args: "",
                result: None,
            };
        }
        return match after.rfind(") = ") {
            Some(i) => Event::Resumed {
                name,
                args: after[..i].trim_start(),
                result: Some(after[i + 4..].trim()),
            },
            None => Event::Resumed {
                name,
                args: after.trim_start(),
                result: None,
            },
        };
    }
    let Some(open) = rest.find('(') else {
        return Event::Other(rest);
    };
    let name = &rest[..open];
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'?')
    {
        return Event::Other(rest);
    }
    // `restart_syscall(<... resuming interrupted clock_nanosleep ...>` stays
    // `restart_syscall`: the name inside is only a claim (see [`resuming`]).
    let inner = &rest[open + 1..];
    for marker in [UNFINISHED, DETACHED] {
        if let Some(args) = inner.strip_suffix(marker) {
            return Event::Started {
                name,
                args: args.trim_end().trim_end_matches(','),
            };
        }
    }
    match inner.rfind(") = ") {
        Some(i) => Event::Call {
            name,
            args: &inner[..i],
            result: inner[i + 4..].trim(),
        },
        // A line without its end: the output stops while the thread is inside the call.
        None => Event::Started {
            name,
            args: inner.trim_end().trim_end_matches(','),
        },
    }
}

/// The call a `restart_syscall(<... resuming interrupted NAME ...>` line says is resumed.
///
/// strace prints there the last call it decoded on that thread (`s_prev_ent` in its
/// `SYS_FUNC(restart_syscall)`), which is the interrupted call only when strace saw that
/// call start. A thread strace has just attached to was interrupted in a call strace never
/// saw: strace 6.1 then names `read` (syscall 0 on x86_64) for a `sleep` in
/// `clock_nanosleep`. Callers check the claim (`collect`, [`super::name_resumed_calls`]).
/// None when strace names none (`system call`: it had decoded no call on that thread).
pub fn resuming(args: &str) -> Option<&str> {
    let (name, _) = args.strip_prefix(RESUMING)?.split_once(" ...>")?;
    (!name.is_empty() && !name.contains(' ')).then_some(name)
}

/// The facts a call's arguments carry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Detail {
    pub fd: Option<i32>,
    /// A path strace printed for the descriptor (`-y`: `3</tmp/x.lock>`).
    pub fd_target: Option<String>,
    pub address: Option<String>,
    pub wait_pid: Option<i64>,
}

/// Calls whose first argument is a descriptor.
const FD_FIRST: &[&str] = &[
    "read",
    "readv",
    "pread64",
    "write",
    "writev",
    "pwrite64",
    "recvfrom",
    "recvmsg",
    "sendto",
    "sendmsg",
    "connect",
    "accept",
    "accept4",
    "flock",
    "fcntl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
];

/// Does this call take a descriptor as its first argument?
pub fn takes_fd(name: &str) -> bool {
    FD_FIRST.contains(&name)
}

/// Read the descriptor, the peer address and the waited-for child out of the arguments.
pub fn detail(name: &str, args: &str) -> Detail {
    let mut d = Detail::default();
    let mut parts = args.splitn(3, ',').map(str::trim);
    let first = parts.next().unwrap_or("");
    let second = parts.next().unwrap_or("");
    if takes_fd(name) {
        let digits = first
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(first.len());
        d.fd = first[..digits].parse().ok();
        if let Some(t) = first[digits..]
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
        {
            d.fd_target = Some(t.to_string());
        }
    }
    match name {
        "wait4" => d.wait_pid = first.parse().ok(),
        "waitid" => match first {
            "P_PID" => d.wait_pid = second.parse().ok(),
            "P_ALL" => d.wait_pid = Some(-1),
            "P_PIDFD" => d.fd = second.parse().ok(),
            _ => {}
        },
        _ => {}
    }
    if args.contains("sa_family=") {
        d.address = sockaddr(args);
    }
    d
}

/// The address in a printed `struct sockaddr`.
fn sockaddr(args: &str) -> Option<String> {
    let quoted_after = |key: &str| -> Option<&str> {
        let i = args.find(key)? + key.len();
        let rest = &args[i..];
        let start = rest.find('"')? + 1;
        let len = rest[start..].find('"')?;
        Some(&rest[start..start + len])
    };
    let port_after = |key: &str| -> Option<u16> {
        let i = args.find(key)? + key.len();
        let rest = &args[i..];
        rest[..rest.find(')')?].trim().parse().ok()
    };
    if args.contains("sa_family=AF_INET6") {
        let ip = quoted_after("inet_pton(AF_INET6,")?;
        let port = port_after("sin6_port=htons(")?;
        return Some(format!("[{ip}]:{port}"));
    }
    if args.contains("sa_family=AF_INET") {
        let ip = quoted_after("sin_addr=inet_addr(")?;
        let port = port_after("sin_port=htons(")?;
        return Some(format!("{ip}:{port}"));
    }
    if args.contains("sa_family=AF_UNIX") {
        let abstract_ns = args.contains("sun_path=@");
        let path = quoted_after("sun_path=")?;
        return Some(if abstract_ns {
            format!("@{path}")
        } else {
            path.to_string()
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: &str) -> Event<'_> {
        parse(line).event
    }

    #[test]
    fn prefix_tid_and_time() {
        let l = parse("22178 22:56:37.459257 read(0, \"y\", 1) = 1");
        assert_eq!(l.tid, Some(22178));
        assert_eq!(l.time, Some("22:56:37.459257"));
        assert_eq!(
            l.event,
            Event::Call {
                name: "read",
                args: "0, \"y\", 1",
                result: "1"
            }
        );
        // strace pads pids to a width.
        let l = parse("123   22:56:37.459257 wait4(-1,  <unfinished ...>");
        assert_eq!(l.tid, Some(123));
        assert_eq!(
            l.event,
            Event::Started {
                name: "wait4",
                args: "-1"
            }
        );
        // Without -f there is no tid, without -tt no time.
        let l = parse("flock(3, LOCK_EX) = 0");
        assert_eq!((l.tid, l.time), (None, None));
    }

    #[test]
    fn unfinished_detached_resumed_and_cut_lines() {
        assert_eq!(
            ev("22175 22:56:37.459351 flock(3, LOCK_EX <detached ...>"),
            Event::Started {
                name: "flock",
                args: "3, LOCK_EX"
            }
        );
        assert_eq!(
            ev("5 1.0 <... read resumed>\"hello\\n\", 1024) = 6"),
            Event::Resumed {
                name: "read",
                args: "\"hello\\n\", 1024",
                result: Some("6")
            }
        );
        assert_eq!(
            ev("5 1.0 <... wait4 resumed> <detached ...>"),
            Event::Resumed {
                name: "wait4",
                args: "",
                result: None
            }
        );
        assert_eq!(
            ev("21746 22:55:54.714524 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=30, tv_nsec=0}, "),
            Event::Started {
                name: "clock_nanosleep",
                args: "CLOCK_REALTIME, 0, {tv_sec=30, tv_nsec=0}"
            }
        );
        // The resumed call's name is strace's claim, kept in the arguments.
        assert_eq!(
            ev(
                "9 1.5 restart_syscall(<... resuming interrupted clock_nanosleep ...> <unfinished ...>"
            ),
            Event::Started {
                name: "restart_syscall",
                args: "<... resuming interrupted clock_nanosleep ...>"
            }
        );
        assert_eq!(
            ev("9 1.5 restart_syscall(<... resuming interrupted read ...>) = 1"),
            Event::Call {
                name: "restart_syscall",
                args: "<... resuming interrupted read ...>",
                result: "1"
            }
        );
        // As strace 6.1 prints a `sleep` it has just attached to (no newline: still inside).
        assert_eq!(
            ev(
                "23312 01:12:55.946018 restart_syscall(<... resuming interrupted read ...> <detached ...>"
            ),
            Event::Started {
                name: "restart_syscall",
                args: "<... resuming interrupted read ...>"
            }
        );
        assert_eq!(
            ev("9 1.6 <... restart_syscall resumed>) = 0"),
            Event::Resumed {
                name: "restart_syscall",
                args: "",
                result: Some("0")
            }
        );
    }

    #[test]
    fn the_claimed_name_of_a_resumed_call() {
        assert_eq!(
            resuming("<... resuming interrupted clock_nanosleep ...>"),
            Some("clock_nanosleep")
        );
        assert_eq!(resuming("<... resuming interrupted system call ...>"), None);
        assert_eq!(resuming("3, \"x\", 1"), None);
        assert_eq!(resuming("<... resuming interrupted "), None);
    }

    #[test]
    fn strings_that_look_like_results() {
        // The last ") = " is the real one, whatever the string holds.
        assert_eq!(
            ev(r#"7 1.0 write(1, "f(x) = 5", 8) = 8"#),
            Event::Call {
                name: "write",
                args: r#"1, "f(x) = 5", 8"#,
                result: "8"
            }
        );
        assert_eq!(
            ev("7 1.0 read(3, 0xc000, 512) = -1 EAGAIN (Resource temporarily unavailable)"),
            Event::Call {
                name: "read",
                args: "3, 0xc000, 512",
                result: "-1 EAGAIN (Resource temporarily unavailable)"
            }
        );
        assert_eq!(
            ev("7 1.0 exit_group(0) = ?"),
            Event::Call {
                name: "exit_group",
                args: "0",
                result: "?"
            }
        );
    }

    #[test]
    fn signals_stops_exits_and_messages() {
        assert_eq!(
            ev("7 1.0 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=7, si_uid=0} ---"),
            Event::Signal { signal: "SIGURG" }
        );
        assert_eq!(
            ev("7 1.0 --- stopped by SIGTTIN ---"),
            Event::Stopped { signal: "SIGTTIN" }
        );
        assert_eq!(
            ev("7 1.0 +++ exited with 2 +++"),
            Event::Exited {
                how: "exited with 2"
            }
        );
        assert_eq!(
            ev("7 1.0 +++ killed by SIGKILL +++"),
            Event::Exited {
                how: "killed by SIGKILL"
            }
        );
        assert_eq!(
            ev("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted"),
            Event::Message("attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted")
        );
        assert!(matches!(ev(""), Event::Other(_)));
        assert!(matches!(ev("7 1.0 ???"), Event::Other(_)));
        assert!(matches!(ev("7 1.0 \u{fffd}(x"), Event::Other(_)));
    }

    #[test]
    fn details_of_the_calls_that_matter() {
        assert_eq!(
            detail(
                "connect",
                r#"7, {sa_family=AF_INET, sin_port=htons(41234), sin_addr=inet_addr("127.0.0.1")}, 16"#
            ),
            Detail {
                fd: Some(7),
                address: Some("127.0.0.1:41234".into()),
                ..Detail::default()
            }
        );
        assert_eq!(
            detail(
                "connect",
                r#"3, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28"#
            )
            .address
            .as_deref(),
            Some("[::1]:443")
        );
        assert_eq!(
            detail(
                "connect",
                r#"4, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110"#
            )
            .address
            .as_deref(),
            Some("/run/x.sock")
        );
        assert_eq!(detail("flock", "3, LOCK_EX").fd, Some(3));
        assert_eq!(
            detail("read", "3</dev/pts/1>, \"\", 1")
                .fd_target
                .as_deref(),
            Some("/dev/pts/1")
        );
        assert_eq!(detail("wait4", "-1").wait_pid, Some(-1));
        assert_eq!(
            detail("wait4", "1234, 0xc0000, 0, NULL").wait_pid,
            Some(1234)
        );
        assert_eq!(
            detail("waitid", "P_PID, 77, {}, WEXITED, NULL").wait_pid,
            Some(77)
        );
        let d = detail("waitid", "P_PIDFD, 5, {}, WEXITED, NULL");
        assert_eq!((d.fd, d.wait_pid), (Some(5), None));
        assert_eq!(detail("waitid", "P_ALL, 0, {}, WEXITED").wait_pid, Some(-1));
        assert_eq!(
            detail("openat", "AT_FDCWD, \"/x\", O_RDONLY"),
            Detail::default()
        );
        // Cut or odd arguments give what they can, never a panic.
        assert_eq!(
            detail("connect", "7, {sa_family=AF_INET, sin_port=htons(").fd,
            Some(7)
        );
        assert_eq!(detail("read", ""), Detail::default());
    }
}
