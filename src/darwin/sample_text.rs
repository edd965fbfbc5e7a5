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
}
