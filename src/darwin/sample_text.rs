//! A parser of the report `/usr/bin/sample` writes (`sample(1)`): the header (process, path,
//! `Code Type`, which says `(translated)` under Rosetta), the call graph, and the
//! "Sort by top of stack" leaf histogram.
//!
//! The call graph is a tree printed one frame a line: a sample count, then the frame,
//! indented one level to the right of its caller; the characters `+ | : !` that draw the
//! tree "are arbitrary and have no specific meaning" (sample(1)), so a frame's depth is
//! the column its count starts at. A thread's root line reads `COUNT Thread_ID…`; a frame
//! line `COUNT SYMBOL  (in IMAGE) + OFFSET  [ADDRESS]  [FILE:LINE]`, with `???` for an
//! unknown symbol. Each thread is reduced to its heaviest path (the child seen in most
//! samples at each level), which is the stack it spent the window in.

use crate::evidence::{NativeFrame, NativeThread, ProcessStacks};

/// Characters that draw the tree in front of a count.
const TREE_CHARS: &[char] = &[' ', '+', '|', ':', '!', '*'];

struct Node {
    frame: NativeFrame,
    children: Vec<usize>,
}

struct ThreadTree {
    name: String,
    samples: u32,
    nodes: Vec<Node>,
    roots: Vec<usize>,
    /// (column, node) of the frames above the line being read.
    open: Vec<(usize, usize)>,
    col: usize,
}

impl ThreadTree {
    fn new(name: String, samples: u32, col: usize) -> ThreadTree {
        ThreadTree {
            name,
            samples,
            nodes: Vec::new(),
            roots: Vec::new(),
            open: Vec::new(),
            col,
        }
    }

    fn push(&mut self, col: usize, frame: NativeFrame) {
        while self.open.last().is_some_and(|(c, _)| *c >= col) {
            self.open.pop();
        }
        let idx = self.nodes.len();
        self.nodes.push(Node {
            frame,
            children: Vec::new(),
        });
        match self.open.last() {
            Some(&(_, parent)) => self.nodes[parent].children.push(idx),
            None => self.roots.push(idx),
        }
        self.open.push((col, idx));
    }

    fn heaviest(&self, among: &[usize]) -> Option<usize> {
        // The first of equals: sample prints siblings heaviest first.
        among
            .iter()
            .copied()
            .fold(None, |best: Option<usize>, i| match best {
                Some(b) if self.nodes[b].frame.count >= self.nodes[i].frame.count => Some(b),
                _ => Some(i),
            })
    }

    fn into_thread(self) -> NativeThread {
        let mut stack = Vec::new();
        let mut level = self.heaviest(&self.roots);
        while let Some(i) = level {
            stack.push(self.nodes[i].frame.clone());
            level = self.heaviest(&self.nodes[i].children);
        }
        NativeThread {
            name: self.name,
            samples: self.samples,
            stack,
        }
    }
}

/// Split a tree line into (column of its count, count, rest); None for other lines.
fn tree_line(line: &str) -> Option<(usize, u32, &str)> {
    let col = line.find(|c: char| !TREE_CHARS.contains(&c))?;
    let rest = &line[col..];
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    if digits == 0 {
        return None;
    }
    let count = rest[..digits].parse().ok()?;
    let content = rest[digits..].strip_prefix(' ')?.trim();
    (!content.is_empty()).then_some((col, count, content))
}

/// `SYMBOL  (in IMAGE) + 12  [0x…]` → (symbol, image).
pub fn frame_parts(content: &str) -> (String, Option<String>) {
    if let Some(i) = content.find("  (in ") {
        let symbol = content[..i].trim().to_string();
        let after = &content[i + "  (in ".len()..];
        let image = after.find(')').map(|j| after[..j].trim().to_string());
        return (symbol, image.filter(|s| !s.is_empty()));
    }
    let end = [content.find("  ["), content.find(" + ")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(content.len());
    (content[..end].trim().to_string(), None)
}

fn header_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.strip_prefix(key)
        .and_then(|r| r.strip_prefix(':'))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Parse one `sample` report of process `pid`.
pub fn parse(text: &str, pid: u32) -> ProcessStacks {
    #[derive(PartialEq)]
    enum Section {
        Header,
        CallGraph,
        TopOfStack,
        Other,
    }
    let mut out = ProcessStacks {
        pid,
        ..ProcessStacks::default()
    };
    let mut section = Section::Header;
    let mut threads: Vec<ThreadTree> = Vec::new();
    let mut header_pid = None;
    let mut saw_graph = false;

    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.starts_with("Call graph:") {
            section = Section::CallGraph;
            saw_graph = true;
            continue;
        }
        if trimmed.starts_with("Sort by top of stack") {
            section = Section::TopOfStack;
            continue;
        }
        if trimmed.starts_with("Total number in stack") || trimmed.starts_with("Binary Images:") {
            section = Section::Other;
            continue;
        }
        match section {
            Section::Header => {
                if let Some(v) = header_value(trimmed, "Process") {
                    header_pid = v
                        .rsplit_once('[')
                        .and_then(|(_, p)| p.trim_end_matches(']').trim().parse::<u32>().ok());
                } else if let Some(v) = header_value(trimmed, "Path") {
                    out.path = Some(v.to_string());
                } else if let Some(v) = header_value(trimmed, "Code Type") {
                    out.code_type = Some(v.to_string());
                }
            }
            Section::CallGraph => {
                let Some((col, count, content)) = tree_line(line) else {
                    continue;
                };
                let new_thread =
                    content.starts_with("Thread_") || threads.last().is_none_or(|t| col <= t.col);
                if new_thread {
                    threads.push(ThreadTree::new(content.to_string(), count, col));
                } else if let Some(t) = threads.last_mut() {
                    let (symbol, image) = frame_parts(content);
                    t.push(
                        col,
                        NativeFrame {
                            symbol,
                            image,
                            count,
                        },
                    );
                }
            }
            Section::TopOfStack => {
                if trimmed.is_empty() {
                    if !out.top_of_stack.is_empty() {
                        section = Section::Other;
                    }
                    continue;
                }
                let Some((content, count)) = trimmed
                    .rsplit_once(char::is_whitespace)
                    .and_then(|(c, n)| Some((c.trim(), n.parse::<u32>().ok()?)))
                else {
                    continue;
                };
                let (symbol, image) = frame_parts(content);
                out.top_of_stack.push(NativeFrame {
                    symbol,
                    image,
                    count,
                });
            }
            Section::Other => {}
        }
    }
    out.threads = threads.into_iter().map(ThreadTree::into_thread).collect();
    if let Some(h) = header_pid.filter(|h| *h != pid) {
        out.error = Some(format!("the sample report is of pid {h}, not {pid}"));
    } else if !saw_graph {
        out.error = Some("the sampler printed no call graph".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape of `sample PID 1` for a binary parked before main (reports of Gatekeeper
    // and amfid stalls show exactly this: one thread, one dyld frame, 96K footprint).
    const DYLD: &str = "\
Analysis of sampling hello.test (pid 7311) every 1 millisecond
Process:         hello.test [7311]
Path:            /private/var/folders/xy/T/go-build123/b001/hello.test
Load Address:    0x100c4c000
Identifier:      hello.test
Version:         0
Code Type:       ARM64
Platform:        macOS
Parent Process:  go [7290]

Date/Time:       2025-02-11 10:02:44.512 +0100
OS Version:      macOS 15.3 (24D60)
Report Version:  7
Analysis Tool:   /usr/bin/sample

Physical footprint:         96K
Physical footprint (peak):  96K
----

Call graph:
    826 Thread_9127551: Main Thread   DispatchQueue_<multiple>
      826 _dyld_start  (in dyld) + 0  [0x18b2d4e40]

Total number in stack (recursive counted multiple, when >=5):

Sort by top of stack, same collapsed (when >= 5):
        _dyld_start  (in dyld)        826

Binary Images:
       0x100c4c000 -        0x100d1bfff +hello.test (0) <5C0E…> /private/var/folders/xy/T/go-build123/b001/hello.test
";

    #[test]
    fn dyld_start_only() {
        let p = parse(DYLD, 7311);
        assert_eq!(p.error, None);
        assert_eq!(p.code_type.as_deref(), Some("ARM64"));
        assert!(p.path.as_deref().unwrap().ends_with("hello.test"));
        assert_eq!(p.threads.len(), 1);
        let t = &p.threads[0];
        assert!(t.name.starts_with("Thread_9127551: Main Thread"));
        assert_eq!(t.samples, 826);
        assert_eq!(t.stack.len(), 1);
        assert_eq!(t.stack[0].symbol, "_dyld_start");
        assert_eq!(t.stack[0].image.as_deref(), Some("dyld"));
        assert_eq!(p.top_of_stack.len(), 1);
        assert_eq!(p.top_of_stack[0].count, 826);
    }

    const BRANCHY: &str = "\
Process:         go [501]
Code Type:       X86-64 (translated)
Call graph:
    2757 Thread_1166804   DispatchQueue_1: com.apple.main-thread  (serial)
    + 2757 start  (in dyld) + 1903  [0x7ff80c6c9366]
    +   2757 main  (in go) + 74  [0x100a2f5d4]
    +     2500 runtime.mstart.abi0  (in go) + 12  [0x1000677ac]
    +     ! 2500 ???  (in runtime)  load address 0x7ff7ffc36000 + 0x4294  [0x7ff7ffc3a294]
    +     257 runtime.usleep.abi0  (in go) + 20  [0x1000686d4]
    +       257 usleep  (in libsystem_c.dylib) + 53  [0x7ff80c7a81a0]
    2757 Thread_1167037: com.apple.rosetta.exceptionserver
      2757 ???  (in runtime)  load address 0x7ff7ffc36000 + 0x10e4  [0x7ff7ffc370e4]
    12 Thread_1167040
      12 dyld4::start(dyld4::KernelArgs*, void*, void*)::$_0::operator()() const  (in dyld) + 88  [0x1]

Total number in stack (recursive counted multiple, when >=5):

Sort by top of stack, same collapsed (when >= 5):
        ???  (in runtime)        5257
        usleep  (in libsystem_c.dylib)        257

Binary Images:
";

    #[test]
    fn heaviest_path_and_odd_symbols() {
        let p = parse(BRANCHY, 501);
        assert_eq!(p.code_type.as_deref(), Some("X86-64 (translated)"));
        assert_eq!(p.threads.len(), 3);
        let main: Vec<&str> = p.threads[0]
            .stack
            .iter()
            .map(|f| f.symbol.as_str())
            .collect();
        assert_eq!(main, vec!["start", "main", "runtime.mstart.abi0", "???"]);
        assert_eq!(p.threads[0].stack[3].image.as_deref(), Some("runtime"));
        assert_eq!(p.threads[0].stack[3].count, 2500);
        assert!(
            p.threads[1]
                .name
                .contains("com.apple.rosetta.exceptionserver")
        );
        assert_eq!(
            p.threads[2].stack[0].symbol,
            "dyld4::start(dyld4::KernelArgs*, void*, void*)::$_0::operator()() const"
        );
        assert_eq!(p.top_of_stack[0].symbol, "???");
        assert_eq!(
            p.top_of_stack[1].image.as_deref(),
            Some("libsystem_c.dylib")
        );
    }

    #[test]
    fn failures_and_mismatches() {
        let e = parse(
            "sample[812]: sample cannot examine process 77 (go) for unknown reasons, even though it appears to exist; try running with `sudo`.\n",
            77,
        );
        assert!(e.threads.is_empty());
        assert!(e.error.is_some());
        let m = parse(DYLD, 1);
        assert!(m.error.as_deref().unwrap().contains("7311"));
        assert!(parse("", 1).error.is_some());
    }

    #[test]
    fn frame_shapes() {
        assert_eq!(
            frame_parts("_dyld_start  (in dyld) + 0  [0x104a809c0]"),
            ("_dyld_start".to_string(), Some("dyld".to_string()))
        );
        assert_eq!(
            frame_parts("???  (in <unknown binary>)  [0x7ff8a4faaae0]"),
            ("???".to_string(), Some("<unknown binary>".to_string()))
        );
        assert_eq!(
            frame_parts("0x1234  [0x1234]"),
            ("0x1234".to_string(), None)
        );
        assert_eq!(frame_parts("fork + 12"), ("fork".to_string(), None));
        assert_eq!(
            tree_line("    + ! 12 fork  (in libsystem_c.dylib)").map(|t| t.0),
            Some(8)
        );
        assert_eq!(tree_line("Call graph:"), None);
        assert_eq!(tree_line("    + !   "), None);
        assert_eq!(tree_line("    12"), None);
    }

    // ---- Real reports, quoted from public bug reports (the lines as posted; a report cut
    // short in the issue is cut at the same place here).

    /// golang/go#45765 (https://github.com/golang/go/issues/45765): a cgo Go module inside
    /// nginx, hung in pthread_cond_wait, macOS 10.15 on Intel. Plain indentation, no `+`.
    const GO_45765: &str = "\
Sampling process 96294 for 3 seconds with 1 millisecond of run time between samples
Sampling completed, processing symbols...
Analysis of sampling nginx (pid 96294) every 1 millisecond
Process:         nginx [96294]
Path:            /Users/USER/*/nginx
Load Address:    0x1066c3000
Identifier:      nginx
Version:         0
Code Type:       X86-64
Parent Process:  nginx [96290]

Date/Time:       2021-04-26 11:48:24.660 +0800
Launch Time:     2021-04-26 11:28:40.561 +0800
OS Version:      Mac OS X 10.15.7 (19H114)
Report Version:  7
Analysis Tool:   /usr/bin/sample

Physical footprint:         5892K
Physical footprint (peak):  5892K
----

Call graph:
    2969 Thread_5240835   DispatchQueue_1: com.apple.main-thread  (serial)
      2969 runtime.asmcgocall  (in ngx_http_xxx_module.so) + 112  [0x1068c2250]  asm_amd64.s:667
        2969 runtime.pthread_cond_wait_trampoline  (in ngx_http_xxx_module.so) + 16  [0x1068c42f0]  sys_darwin_amd64.s:564
          2969 _pthread_cond_wait  (in libsystem_pthread.dylib) + 698  [0x7fff673e7425]
            2969 __psynch_cvwait  (in libsystem_kernel.dylib) + 10  [0x7fff67326882]

Total number in stack (recursive counted multiple, when >=5):
";

    #[test]
    fn real_report_go_45765_cgo_wait_on_intel() {
        let p = parse(GO_45765, 96294);
        assert_eq!(p.error, None);
        assert_eq!(p.code_type.as_deref(), Some("X86-64"));
        assert_eq!(p.path.as_deref(), Some("/Users/USER/*/nginx"));
        assert_eq!(p.threads.len(), 1);
        let t = &p.threads[0];
        assert!(t.name.starts_with("Thread_5240835"), "{}", t.name);
        assert_eq!(t.samples, 2969);
        let symbols: Vec<&str> = t.stack.iter().map(|f| f.symbol.as_str()).collect();
        assert_eq!(
            symbols,
            [
                "runtime.asmcgocall",
                "runtime.pthread_cond_wait_trampoline",
                "_pthread_cond_wait",
                "__psynch_cvwait"
            ]
        );
        assert_eq!(t.stack[3].image.as_deref(), Some("libsystem_kernel.dylib"));
        // Another pid's report is refused, not attributed.
        assert!(parse(GO_45765, 1).error.is_some());
    }

    /// 1Password/shell-plugins#416 (https://github.com/1Password/shell-plugins/issues/416):
    /// `op`, a Go program, hanging on macOS 14.2.1 on Apple Silicon; cut where the issue's
    /// excerpt of it ends.
    const OP_416: &str = "\
Analysis of sampling op (pid 46825) every 1 millisecond
Process:         op [46825]
Path:            /opt/homebrew/*/op
Load Address:    0x102f44000
Identifier:      op
Version:         0
Code Type:       ARM64
Platform:        macOS
Parent Process:  fish [45218]

Date/Time:       2023-12-30 21:16:45.530 -0700
Launch Time:     2023-12-30 21:10:08.521 -0700
OS Version:      macOS 14.2.1 (23C71)
Report Version:  7
Analysis Tool:   /usr/bin/sample

Physical footprint:         10.2M
Physical footprint (peak):  10.2M
Idle exit:                  untracked
----

Call graph:
    2464 Thread_1760964   DispatchQueue_1: com.apple.main-thread  (serial)
    + 2464 runtime.asmcgocall.abi0  (in op) + 200  [0x102fab0c8]
    +   2464 runtime.pthread_cond_wait_trampoline.abi0  (in op) + 24  [0x102fac3c8]
    +     2464 _pthread_cond_wait  (in libsystem_pthread.dylib) + 1228  [0x18986e5fc]
    +       2464 __psynch_cvwait  (in libsystem_kernel.dylib) + 8  [0x18983106c]
    2464 Thread_1760968
    + 2464 runtime.asmcgocall.abi0  (in op) + 200  [0x102fab0c8]
    +   2464 runtime.pthread_cond_timedwait_relative_np_trampoline.abi0  (in op) + 28  [0x102fac3fc]
    +     2464 _pthread_cond_wait  (in libsystem_pthread.dylib) + 1272  [0x18986e628]
";

    #[test]
    fn real_report_op_416_go_on_apple_silicon() {
        let p = parse(OP_416, 46825);
        assert_eq!(p.error, None);
        assert_eq!(p.code_type.as_deref(), Some("ARM64"));
        assert_eq!(p.threads.len(), 2);
        assert_eq!(p.threads[0].stack.len(), 4);
        assert_eq!(p.threads[0].stack[0].image.as_deref(), Some("op"));
        assert_eq!(p.threads[0].stack.last().unwrap().symbol, "__psynch_cvwait");
        assert_eq!(p.threads[1].name, "Thread_1760968");
        assert_eq!(p.threads[1].stack.len(), 3);
        assert_eq!(p.threads[1].stack[2].symbol, "_pthread_cond_wait");
    }

    /// golang/go#42649 (https://github.com/golang/go/issues/42649): a Go program spinning
    /// in an AVX-512 instruction on macOS; `!` marks and a frame without symbol (`???`).
    const GO_42649: &str = "\
Call graph:
    2819 Thread_355890   DispatchQueue_1: com.apple.main-thread  (serial)
    + 2816 ???  (in <unknown binary>)  [0xc00009e7d0]
    + ! 2816 main.popcnt  (in vpopcntw) + 0  [0x105c8e0]
    + 3 runtime.main  (in vpopcntw) + 521  [0x102ee69]
    +   3 0x0
    +     2 _sigtramp  (in libsystem_platform.dylib) + 0  [0x7fff685985e0]
    +     1 _sigtramp  (in libsystem_platform.dylib) + 29  [0x7fff685985fd]
    +       1 runtime.sigtramp  (in vpopcntw) + 51  [0x105aeb3]
    +         1 ???  (in <unknown binary>)  [0xc000000480]
    +           1 runtime.setg  (in vpopcntw) + 5  [0x1059405]
    2819 Thread_355892
    + 2819 thread_start  (in libsystem_pthread.dylib) + 15  [0x7fff6859fb8b]
    +   2819 runtime.mstart_stub  (in vpopcntw) + 46  [0x105b14e]
    +     2819 runtime.mstart  (in vpopcntw) + 102  [0x10316a6]
    +       2819 runtime.mstart1  (in vpopcntw) + 200  [0x1031788]
    +         2818 runtime.sysmon  (in vpopcntw) + 173  [0x10399ed]
    +         ! 2818 runtime.usleep  (in vpopcntw) + 49  [0x1047dd1]
    +         !   2818 runtime.asmcgocall  (in vpopcntw) + 173  [0x10593ed]
    +         !     2818 runtime.usleep_trampoline  (in vpopcntw) + 11  [0x105b02b]
    +         !       2818 usleep  (in libsystem_c.dylib) + 53  [0x7fff68466de4]
";

    #[test]
    fn real_report_go_42649_spinning_main_thread() {
        let p = parse(GO_42649, 0);
        let main: Vec<&str> = p.threads[0]
            .stack
            .iter()
            .map(|f| f.symbol.as_str())
            .collect();
        // The heaviest path is the spin (2816 of 2819), not runtime.main's 3 samples.
        assert_eq!(main, ["???", "main.popcnt"]);
        assert_eq!(p.threads[0].stack[1].count, 2816);
        let sysmon: Vec<&str> = p.threads[1]
            .stack
            .iter()
            .map(|f| f.symbol.as_str())
            .collect();
        assert_eq!(sysmon.last(), Some(&"usleep"));
        assert_eq!(sysmon.len(), 9);
    }

    /// racket/racket#4903 (https://github.com/racket/racket/issues/4903): the leaf
    /// histogram of a hung process on Apple Silicon, alone (as quoted), cut where the
    /// excerpt is complete.
    const RACKET_4903_TOP: &str = "\
Sort by top of stack, same collapsed (when >= 5):
        mach_msg2_trap  (in libsystem_kernel.dylib)        2290
        __select  (in libsystem_kernel.dylib)        2281
        __workq_kernreturn  (in libsystem_kernel.dylib)        2281
        ???  (in <unknown binary>)  [0x105870d08]        205
        kevent  (in libsystem_kernel.dylib)        81
";

    #[test]
    fn real_report_racket_4903_top_of_stack() {
        let p = parse(RACKET_4903_TOP, 0);
        // Only the histogram was quoted: no call graph, which is said.
        assert!(p.error.is_some());
        let top: Vec<(&str, u32)> = p
            .top_of_stack
            .iter()
            .map(|f| (f.symbol.as_str(), f.count))
            .collect();
        assert_eq!(
            top,
            [
                ("mach_msg2_trap", 2290),
                ("__select", 2281),
                ("__workq_kernreturn", 2281),
                ("???", 205),
                ("kevent", 81)
            ]
        );
        assert_eq!(
            p.top_of_stack[0].image.as_deref(),
            Some("libsystem_kernel.dylib")
        );
    }
}
