//! dtruss's output (macOS; the DTrace script from the DTraceToolkit). With `-f` each line
//! is `%5d/0x%x:  ` (pid/thread), the optional columns asked for (`-e`: elapsed µs), then
//! `name(args)\t\t = ret Err#errno` or `= ret 0`. Arguments are mostly hex (`0x3`).
//!
//! dtruss prints a call when it *returns* (`syscall:::return`), so a thread blocked in a
//! call never shows it: on macOS the trace tells the last calls, never where a thread sits.
//! Parsing is pure and never fails.

use super::strace::Detail;

/// One parsed line.
#[derive(Clone, Debug, PartialEq)]
pub enum Line<'a> {
    Call(Call<'a>),
    /// dtrace's or dtruss's own words (`dtrace: system integrity protection is on, …`).
    Message(&'a str),
    Other,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call<'a> {
    pub pid: u32,
    /// Mach thread id, cut to 32 bits as the sampler cuts it.
    pub tid: u32,
    pub name: &'a str,
    pub args: &'a str,
    pub ret: &'a str,
    /// `0`, or `Err#35`.
    pub err: &'a str,
}

impl Call<'_> {
    /// `5`, or `-1 Err#35`.
    pub fn result(&self) -> String {
        if self.err == "0" || self.err.is_empty() {
            self.ret.to_string()
        } else {
            format!("{} {}", self.ret, self.err)
        }
    }
}

pub fn parse(line: &str) -> Line<'_> {
    let l = line.trim();
    if let Some(m) = l.strip_prefix("dtrace: ") {
        return Line::Message(m);
    }
    let Some((id, rest)) = l.split_once(':') else {
        return Line::Other;
    };
    let Some((pid, tid)) = id.split_once('/') else {
        return Line::Other;
    };
    let (Ok(pid), Some(tid)) = (
        pid.trim().parse::<u32>(),
        tid.strip_prefix("0x")
            .and_then(|t| u64::from_str_radix(t, 16).ok()),
    ) else {
        return Line::Other;
    };
    // Skip the numeric columns (relative time, elapsed, CPU).
    let mut rest = rest.trim_start();
    while let Some((first, after)) = rest.split_once(' ')
        && !first.is_empty()
        && first
            .trim_end_matches(':')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        rest = after.trim_start();
    }
    let Some(open) = rest.find('(') else {
        return Line::Other;
    };
    let Some(eq) = rest.rfind(" = ") else {
        return Line::Other;
    };
    let name = &rest[..open];
    if eq < open || name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Line::Other;
    }
    let call = rest[open + 1..eq].trim_end();
    let args = call.strip_suffix(')').unwrap_or(call);
    let mut result = rest[eq + 3..].split_whitespace();
    Line::Call(Call {
        pid,
        tid: tid as u32,
        name,
        args,
        ret: result.next().unwrap_or(""),
        err: result.next().unwrap_or(""),
    })
}

/// Calls whose first argument is a descriptor (macOS names, `_nocancel` variants too).
fn fd_first(name: &str) -> bool {
    let base = name.trim_end_matches("_nocancel");
    matches!(
        base,
        "read"
            | "write"
            | "readv"
            | "writev"
            | "pread"
            | "pwrite"
            | "recvfrom"
            | "recvmsg"
            | "sendto"
            | "sendmsg"
            | "connect"
            | "accept"
            | "flock"
            | "fcntl"
    )
}

/// The descriptor and waited-for child, from hex arguments.
pub fn detail(name: &str, args: &str) -> Detail {
    let first = args.split(',').next().unwrap_or("").trim();
    let hex = |s: &str| {
        s.strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
    };
    let mut d = Detail::default();
    if fd_first(name) {
        d.fd = hex(first).map(|v| v as u32 as i32);
    }
    if name.trim_end_matches("_nocancel") == "wait4" {
        d.wait_pid = hex(first).map(|v| v as u32 as i32 as i64);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_with_and_without_columns() {
        let l = parse("  612/0x1a2b:      1034 read(0x3, \"hello\\0\", 0x400)\t\t = 6 0");
        let Line::Call(c) = l else { panic!("{l:?}") };
        assert_eq!((c.pid, c.tid), (612, 0x1a2b));
        assert_eq!(c.name, "read");
        assert_eq!(c.args, "0x3, \"hello\\0\", 0x400");
        assert_eq!(c.result(), "6");
        assert_eq!(detail(c.name, c.args).fd, Some(3));

        let l = parse("99/0x5:  connect_nocancel(0x7, 0x16F6A1234, 0x10)\t\t = -1 Err#36");
        let Line::Call(c) = l else { panic!("{l:?}") };
        assert_eq!(c.result(), "-1 Err#36");
        assert_eq!(detail(c.name, c.args).fd, Some(7));

        let l = parse("  700/0x9:  wait4(0xFFFFFFFF, 0x7FF7B, 0x0)\t\t = 701 0");
        let Line::Call(c) = l else { panic!("{l:?}") };
        assert_eq!(detail(c.name, c.args).wait_pid, Some(-1));
        let l = parse("  700/0x9:  fork()\t\t = 0 0");
        assert!(matches!(l, Line::Call(Call { name: "fork", .. })));
    }

    #[test]
    fn other_lines() {
        assert_eq!(
            parse("dtrace: system integrity protection is on, some features will not be available"),
            Line::Message("system integrity protection is on, some features will not be available")
        );
        assert_eq!(
            parse("  PID/THRD  ELAPSD SYSCALL(args) \t\t = return"),
            Line::Other
        );
        assert_eq!(parse(""), Line::Other);
        assert_eq!(parse("12/0xzz:  read(0x1) = 1 0"), Line::Other);
        assert_eq!(parse("12/0x1:  no-paren = 1 0"), Line::Other);
    }

    // ---- Real dtruss lines quoted from public reports.

    /// rust-lang/rust-analyzer#4443 (https://github.com/rust-lang/rust-analyzer/issues/4443):
    /// `dtruss -p PID -f` with SIP on: the header, pid/thread prefixes, dtrace's errors.
    #[test]
    fn real_lines_rust_analyzer_4443() {
        assert_eq!(
            parse("dtrace: system integrity protection is on, some features will not be available"),
            Line::Message("system integrity protection is on, some features will not be available")
        );
        assert_eq!(
            parse("\tPID/THRD  SYSCALL(args) \t\t = return"),
            Line::Other
        );
        let Line::Call(c) = parse(
            "57898/0x6427ba:  psynch_cvsignal(0x7FA9B94095A0, 0x2620000026300, 0x26200)\t\t = 257 0",
        ) else {
            panic!("a call")
        };
        assert_eq!((c.pid, c.tid), (57898, 0x6427ba));
        assert_eq!(c.name, "psynch_cvsignal");
        assert_eq!(c.args, "0x7FA9B94095A0, 0x2620000026300, 0x26200");
        assert_eq!(c.result(), "257");
        let Line::Call(w) = parse(
            "57898/0x6427b6:  psynch_cvwait(0x7FA9B94095A0, 0x2630100026400, 0x26300)\t\t = 0 0",
        ) else {
            panic!("a call")
        };
        assert_eq!((w.name, w.result().as_str()), ("psynch_cvwait", "0"));
        assert!(matches!(
            parse(
                "dtrace: error on enabled probe ID 2184 (ID 167: syscall::write:return): invalid kernel access in action #13 at DIF offset 68"
            ),
            Line::Message(m) if m.starts_with("error on enabled probe")
        ));
    }

    /// bdwgc/bdwgc#423 (https://github.com/bdwgc/bdwgc/issues/423): `dtruss -a`, whose
    /// RELATIVE, ELAPSD and CPU columns come between the thread and the call.
    #[test]
    fn real_lines_bdwgc_423_with_columns() {
        assert_eq!(
            parse("\tPID/THRD  RELATIVE  ELAPSD    CPU SYSCALL(args) \t\t = return"),
            Line::Other
        );
        let Line::Call(c) = parse(
            "20001/0x128f0:      2562     128     67 open(\"/dev/dtracehelper\\0\", 0x2, 0xFFFFFFFFEA6F5AB0)\t\t = 3 0",
        ) else {
            panic!("a call")
        };
        assert_eq!((c.pid, c.tid), (20001, 0x128f0));
        assert_eq!(c.name, "open");
        assert_eq!(c.args, "\"/dev/dtracehelper\\0\", 0x2, 0xFFFFFFFFEA6F5AB0");
        assert_eq!(c.result(), "3");
    }

    /// pulumi/pulumi-docker#614 (https://github.com/pulumi/pulumi-docker/issues/614):
    /// `dtruss -p PID` without `-f` prints no pid/thread, which gohang never asks for; such
    /// a line is not mistaken for a call of some pid.
    #[test]
    fn real_lines_pulumi_614_without_thread_prefix() {
        assert_eq!(
            parse("__semwait_signal(0x903, 0x0, 0x1)\t\t = -1 Err#60"),
            Line::Other
        );
        assert_eq!(parse("kevent(0x3, 0x0, 0x0)\t\t = 0 0"), Line::Other);
    }
}
