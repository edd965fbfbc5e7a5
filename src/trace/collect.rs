//! Folds a tracer's output, line by line, into per-thread state: each thread's last few
//! calls (the last one still open when the thread sits in it), its last `connect`, how it
//! ended, what stopped it. Memory is bounded whatever the trace's length: a few calls per
//! thread, a bounded number of threads (exited ones are forgotten first).

use super::{dtruss, strace};
use crate::evidence::{TracedCall, TracedThread};
use std::collections::{HashMap, VecDeque};

/// Calls kept per thread.
const RECENT: usize = 5;
/// Threads followed at once; past this the least recently active are forgotten.
const MAX_TRACKED: usize = 4096;
/// Threads listed in a summary.
pub const MAX_LISTED: usize = 64;
/// Characters of arguments kept per call.
const MAX_ARGS: usize = 400;
/// strace's own messages kept.
const MAX_MESSAGES: usize = 16;

/// The output formats gohang reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Strace,
    Dtruss,
}

#[derive(Clone, Debug, Default)]
struct ThreadState {
    pid: Option<u32>,
    calls: u64,
    exited: Option<String>,
    stopped_by: Option<String>,
    recent: VecDeque<TracedCall>,
    last_connect: Option<TracedCall>,
    /// When it last printed (a counter).
    tick: u64,
}

/// Per-thread state of a running trace.
#[derive(Clone, Debug, Default)]
pub struct Collector {
    threads: HashMap<u32, ThreadState>,
    tick: u64,
    calls: u64,
    forgotten: u64,
    messages: Vec<String>,
}

impl Collector {
    /// System call lines seen so far.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// The tracer's own messages (errors, attach failures), deduplicated.
    pub fn messages(&self) -> &[String] {
        &self.messages
    }

    /// One line of output (already redacted), in `format`.
    pub fn line(&mut self, format: Format, line: &str) {
        match format {
            Format::Strace => self.strace_line(line),
            Format::Dtruss => self.dtruss_line(line),
        }
    }

    fn strace_line(&mut self, line: &str) {
        use strace::Event;
        let l = strace::parse(line);
        let tid = l.tid.unwrap_or(0);
        match l.event {
            Event::Call { name, args, result } => self.call(
                tid,
                None,
                l.time,
                name,
                args,
                Some(result),
                false,
                Format::Strace,
            ),
            Event::Started { name, args } => {
                self.call(tid, None, l.time, name, args, None, true, Format::Strace)
            }
            Event::Resumed { name, args, result } => self.resumed(tid, name, args, result),
            Event::Stopped { signal } => self.thread(tid).stopped_by = Some(signal.to_string()),
            Event::Exited { how } => self.thread(tid).exited = Some(how.to_string()),
            Event::Message(m) => self.message(m),
            Event::Signal { .. } | Event::Other(_) => {}
        }
    }

    fn dtruss_line(&mut self, line: &str) {
        match dtruss::parse(line) {
            dtruss::Line::Call(c) => {
                let result = c.result();
                self.call(
                    c.tid,
                    Some(c.pid),
                    None,
                    c.name,
                    c.args,
                    Some(&result),
                    false,
                    Format::Dtruss,
                );
            }
            dtruss::Line::Message(m) => self.message(m),
            dtruss::Line::Other => {}
        }
    }

    fn message(&mut self, m: &str) {
        let m = m.trim();
        if !m.is_empty()
            && self.messages.len() < MAX_MESSAGES
            && !self.messages.iter().any(|x| x == m)
        {
            self.messages.push(m.to_string());
        }
    }

    fn thread(&mut self, tid: u32) -> &mut ThreadState {
        self.tick += 1;
        if !self.threads.contains_key(&tid) && self.threads.len() >= MAX_TRACKED {
            self.forget_one();
        }
        let tick = self.tick;
        let t = self.threads.entry(tid).or_default();
        t.tick = tick;
        t
    }

    /// Forget the least recently active thread, an exited one if there is any.
    fn forget_one(&mut self) {
        let victim = self
            .threads
            .iter()
            .min_by_key(|(_, t)| (t.exited.is_none(), t.tick))
            .map(|(tid, _)| *tid);
        if let Some(tid) = victim {
            self.threads.remove(&tid);
            self.forgotten += 1;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        tid: u32,
        pid: Option<u32>,
        time: Option<&str>,
        name: &str,
        args: &str,
        result: Option<&str>,
        unfinished: bool,
        format: Format,
    ) {
        self.calls += 1;
        let name = self.resumed_name(tid, name, args, format);
        let mut c = TracedCall {
            time: time.map(str::to_string),
            name: name.to_string(),
            args: cut(args),
            result: result.map(str::to_string),
            unfinished,
            ..TracedCall::default()
        };
        fill_detail(&mut c, format);
        let t = self.thread(tid);
        if pid.is_some() {
            t.pid = pid;
        }
        t.calls += 1;
        t.stopped_by = None;
        if c.name == "connect" {
            t.last_connect = Some(c.clone());
        }
        if t.recent.len() == RECENT {
            t.recent.pop_front();
        }
        t.recent.push_back(c);
    }

    /// The name for a `restart_syscall(<... resuming interrupted NAME ...>` line: NAME when
    /// this trace showed the thread's last call to be NAME, interrupted (`= ?
    /// ERESTART_RESTARTBLOCK`); otherwise `restart_syscall`, since strace's NAME is then
    /// the last call it decoded, not necessarily the one resumed (`strace::resuming`) — a
    /// thread interrupted by strace's own attach is named later from what `/proc` showed
    /// before it (`super::name_resumed_calls`).
    fn resumed_name<'a>(&self, tid: u32, name: &'a str, args: &'a str, format: Format) -> &'a str {
        if format != Format::Strace || name != "restart_syscall" {
            return name;
        }
        let Some(claimed) = strace::resuming(args) else {
            return name;
        };
        let seen = self
            .threads
            .get(&tid)
            .and_then(|t| t.recent.back())
            .is_some_and(|c| {
                c.name == claimed && c.result.as_deref().is_some_and(|r| r.contains("ERESTART"))
            });
        if seen { claimed } else { name }
    }

    /// `<... name resumed>rest) = result`: complete the thread's open call (a
    /// `restart_syscall` may have been given the name of the call it resumes).
    fn resumed(&mut self, tid: u32, name: &str, args: &str, result: Option<&str>) {
        let t = self.thread(tid);
        let open = t.recent.back_mut().filter(|c| {
            c.unfinished
                && (c.name == name
                    || (name == "restart_syscall" && strace::resuming(&c.args).is_some()))
        });
        let Some(c) = open else {
            // The start was before the trace (or forgotten): keep what is known.
            let result = result.map(str::to_string);
            let unfinished = result.is_none();
            let args = format!("<... resumed>{args}");
            self.calls += 1;
            let t = self.thread(tid);
            t.calls += 1;
            if t.recent.len() == RECENT {
                t.recent.pop_front();
            }
            t.recent.push_back(TracedCall {
                name: name.to_string(),
                args: cut(&args),
                result,
                unfinished,
                ..TracedCall::default()
            });
            return;
        };
        if !args.is_empty() {
            let joined = if c.args.is_empty() {
                args.to_string()
            } else {
                format!("{}, {args}", c.args)
            };
            c.args = cut(&joined);
        }
        if let Some(r) = result {
            c.result = Some(r.to_string());
            c.unfinished = false;
        }
        fill_detail(c, Format::Strace);
        if c.name == "connect" {
            let c = c.clone();
            t.last_connect = Some(c);
        }
    }

    /// The threads, those sitting in a call first, then the most recently active; at most
    /// [`MAX_LISTED`]. Returns them and how many were left out.
    pub fn threads(&self) -> (Vec<TracedThread>, u64) {
        let mut all: Vec<(&u32, &ThreadState)> = self.threads.iter().collect();
        let sits =
            |t: &ThreadState| t.exited.is_none() && t.recent.back().is_some_and(|c| c.unfinished);
        all.sort_by(|a, b| {
            sits(b.1)
                .cmp(&sits(a.1))
                .then(b.1.tick.cmp(&a.1.tick))
                .then(a.0.cmp(b.0))
        });
        let omitted = all.len().saturating_sub(MAX_LISTED) as u64 + self.forgotten;
        let listed = all
            .into_iter()
            .take(MAX_LISTED)
            .map(|(tid, t)| TracedThread {
                tid: *tid,
                pid: t.pid,
                calls: t.calls,
                exited: t.exited.clone(),
                stopped_by: t.stopped_by.clone(),
                recent: t.recent.iter().cloned().collect(),
                last_connect: t.last_connect.clone(),
            })
            .collect();
        (listed, omitted)
    }
}

fn fill_detail(c: &mut TracedCall, format: Format) {
    let d = match format {
        Format::Strace => strace::detail(&c.name, &c.args),
        Format::Dtruss => dtruss::detail(&c.name, &c.args),
    };
    c.fd = d.fd;
    c.fd_target = d.fd_target;
    c.address = d.address;
    c.wait_pid = d.wait_pid;
}

/// At most [`MAX_ARGS`] characters, cut on a character boundary.
fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_ARGS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(lines: &[&str]) -> Collector {
        let mut c = Collector::default();
        for l in lines {
            c.line(Format::Strace, l);
        }
        c
    }

    fn thread(c: &Collector, tid: u32) -> TracedThread {
        c.threads()
            .0
            .into_iter()
            .find(|t| t.tid == tid)
            .expect("thread listed")
    }

    #[test]
    fn a_call_left_open_is_where_the_thread_sits() {
        let c = feed(&[
            "10 12:00:00.000001 openat(AT_FDCWD, \"/m/cache/download/x/@v/v1.lock\", O_RDWR|O_CREAT|O_CLOEXEC, 0666) = 3",
            "10 12:00:00.000002 flock(3, LOCK_EX <unfinished ...>",
            "11 12:00:00.000003 read(4, \"x\", 1) = 1",
            "11 12:00:00.000004 +++ exited with 0 +++",
        ]);
        let t = thread(&c, 10);
        let sits = t.sits_in().expect("sits in flock");
        assert_eq!(sits.name, "flock");
        assert_eq!(sits.fd, Some(3));
        assert_eq!(sits.time.as_deref(), Some("12:00:00.000002"));
        assert_eq!(t.recent.len(), 2);
        let done = thread(&c, 11);
        assert_eq!(done.exited.as_deref(), Some("exited with 0"));
        assert!(done.sits_in().is_none());
        assert_eq!(c.calls(), 3);
        // Threads in a call come first.
        assert_eq!(c.threads().0[0].tid, 10);
    }

    #[test]
    fn resumed_calls_close_and_join_their_arguments() {
        let c = feed(&[
            "5 1.0 connect(7, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"127.0.0.1\")}, 16 <unfinished ...>",
            "6 1.1 wait4(-1,  <unfinished ...>",
            "5 1.2 <... connect resumed>) = -1 EINPROGRESS (Operation now in progress)",
            "6 1.3 <... wait4 resumed> <detached ...>",
        ]);
        let t5 = thread(&c, 5);
        let last = t5.recent.last().unwrap();
        assert!(!last.unfinished);
        assert_eq!(last.address.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(
            last.result.as_deref(),
            Some("-1 EINPROGRESS (Operation now in progress)")
        );
        assert_eq!(
            t5.last_connect.as_ref().unwrap().address.as_deref(),
            Some("127.0.0.1:8080")
        );
        // Detached while inside: still where it sits.
        let t6 = thread(&c, 6);
        assert_eq!(t6.sits_in().unwrap().wait_pid, Some(-1));
    }

    #[test]
    fn a_resumed_call_whose_start_was_not_seen_is_kept() {
        let c = feed(&["5 1.0 <... read resumed>\"abc\", 64) = 3"]);
        let t = thread(&c, 5);
        assert_eq!(t.recent[0].name, "read");
        assert!(t.recent[0].args.starts_with("<... resumed>"));
        assert!(!t.recent[0].unfinished);
    }

    #[test]
    fn a_resumed_call_is_named_only_when_the_trace_saw_it_interrupted() {
        // strace has just attached: its "read" is not the call the thread was in.
        let c = feed(&["7 1.0 restart_syscall(<... resuming interrupted read ...> <detached ...>"]);
        let t = thread(&c, 7);
        let sits = t.sits_in().unwrap();
        assert_eq!(sits.name, "restart_syscall");
        assert_eq!(sits.args, "<... resuming interrupted read ...>");
        assert_eq!(sits.fd, None);
        // The trace showed the sleep interrupted by a stop: the claim is the call.
        let c = feed(&[
            "8 1.0 clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=30, tv_nsec=0}, 0x7ffc) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)",
            "8 1.1 --- stopped by SIGSTOP ---",
            "8 1.2 restart_syscall(<... resuming interrupted clock_nanosleep ...> <unfinished ...>",
            "9 1.3 read(0, \"x\", 1) = 1",
            "8 1.4 <... restart_syscall resumed>) = 0",
        ]);
        let t = thread(&c, 8);
        let last = t.recent.last().unwrap();
        assert_eq!(last.name, "clock_nanosleep");
        assert_eq!(last.result.as_deref(), Some("0"), "{last:?}");
        assert!(!last.unfinished);
        // The last call was another one: the claim is not checked, so not taken.
        let c = feed(&[
            "8 1.0 write(1, \"x\", 1) = 1",
            "8 1.2 restart_syscall(<... resuming interrupted futex ...> <unfinished ...>",
        ]);
        assert_eq!(thread(&c, 8).sits_in().unwrap().name, "restart_syscall");
    }

    #[test]
    fn stops_are_remembered_until_the_next_call() {
        let c = feed(&[
            "9 1.0 read(0, 0xc000, 1) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)",
            "9 1.1 --- SIGTTIN {si_signo=SIGTTIN, si_code=SI_KERNEL} ---",
            "9 1.2 --- stopped by SIGTTIN ---",
        ]);
        assert_eq!(thread(&c, 9).stopped_by.as_deref(), Some("SIGTTIN"));
        let c = feed(&[
            "9 1.2 --- stopped by SIGSTOP ---",
            "9 1.3 read(0, \"\", 1) = 0",
        ]);
        assert_eq!(thread(&c, 9).stopped_by, None);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut c = Collector::default();
        for i in 0..(MAX_TRACKED as u32 + 500) {
            c.line(Format::Strace, &format!("{i} 1.0 write(1, \"x\", 1) = 1"));
            c.line(Format::Strace, &format!("{i} 1.0 +++ exited with 0 +++"));
        }
        for _ in 0..100 {
            c.line(Format::Strace, "1 1.0 write(1, \"x\", 1) = 1");
        }
        let long = format!("2 1.0 write(1, \"{}\", 5000) = 5000", "y".repeat(5000));
        c.line(Format::Strace, &long);
        let (listed, omitted) = c.threads();
        assert!(c.threads.len() <= MAX_TRACKED);
        assert_eq!(listed.len(), MAX_LISTED);
        assert!(omitted > 500);
        let t1 = listed.iter().find(|t| t.tid == 1).unwrap();
        assert_eq!(t1.recent.len(), RECENT);
        let t2 = listed.iter().find(|t| t.tid == 2).unwrap();
        assert!(t2.recent[0].args.chars().count() <= MAX_ARGS + 1);
    }

    #[test]
    fn messages_are_kept_once() {
        let c = feed(&[
            "strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted",
            "strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted",
        ]);
        assert_eq!(c.messages().len(), 1);
    }
}
