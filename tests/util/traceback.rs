//! A parser of the Go runtime's goroutine traceback as SIGQUIT prints it (and `gohang dump`
//! prints it), kept to the runtime's own printing code so that the ground-truth tests
//! compare field by field: runtime/traceback.go `goroutineheader`, `traceback2`,
//! `printcreatedby1` and `tracebackothers` (Go 1.21–1.27).
//!
//! What it reads, per goroutine:
//! - the header `goroutine N[ gp=0x… m=N mp=0x…| m=nil] [status(, N minutes)(, locked to
//!   thread)(, synctest bubble N)( labels:{…})]( {…}):` — the status keeps its ` (leaked)`,
//!   ` (scan)` and ` (durable)` suffixes, labels are read in the 1.26 style (inside the
//!   brackets, always quoted) and in the 1.27 style (after them, quoted only when needed);
//! - frames `function(args)` + `\tfile:line[ +0xOFF][ fp=… sp=… pc=…]`, an inlined frame being
//!   the one printed with `(...)` and no `+0x`;
//! - `...N frames elided...`, `created by F[ in goroutine N]` with its location,
//!   `goroutine running on other thread; stack unavailable` (and gohang's `on thread TID`);
//! - `[originating from goroutine N]:` ancestor stacks (GODEBUG=tracebackancestors).
//!
//! Lines before the first goroutine (`SIGQUIT: quit`, `PC=… m=N sigcode=N`) are the preamble,
//! and whatever follows the last goroutine after a blank line (the register dump, gohang's
//! summary) the trailer. Anything else is an error naming the line: a format change must
//! not pass silently.
#![allow(dead_code)]

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dump {
    pub preamble: Vec<String>,
    pub goroutines: Vec<Goroutine>,
    pub trailer: Vec<String>,
}

impl Dump {
    /// The goroutine whose stack came from the signal's context: the first printed after a
    /// `PC=` line (the runtime prints it before all others). Its frames are where the
    /// signal hit, not a saved context.
    pub fn signalled(&self) -> Option<&Goroutine> {
        if self.preamble.iter().any(|l| l.starts_with("PC=")) {
            self.goroutines.first()
        } else {
            None
        }
    }
    pub fn get(&self, id: u64) -> Option<&Goroutine> {
        self.goroutines.iter().find(|g| g.id == id)
    }
}

/// Which way labels were printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelStyle {
    /// Go 1.26 with GODEBUG=tracebacklabels=1: ` labels:{"k": "v"}` inside the brackets.
    Inside,
    /// Go 1.27: ` {k: v}` after the closing bracket.
    After,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Goroutine {
    pub id: u64,
    /// `gp=` (Go 1.22+ at traceback level 2).
    pub gp: Option<u64>,
    /// `m=N` when on an M, None for `m=nil` or when not printed.
    pub m: Option<u64>,
    /// The first item inside the brackets: the wait reason or the status name, with the
    /// runtime's suffixes (` (leaked)`, ` (scan)`, ` (durable)`).
    pub status: String,
    /// `, N minutes`; 0 when not printed.
    pub minutes: u64,
    pub locked_to_thread: bool,
    /// `, synctest bubble N` (1.25+) or `, synctest group N` (1.24).
    pub bubble: Option<u64>,
    pub labels: Vec<(String, String)>,
    pub label_style: Option<LabelStyle>,
    pub frames: Vec<Frame>,
    /// `...N frames elided...`: N, and how many frames were printed before it.
    pub elided: Option<(u64, usize)>,
    pub created_by: Option<CreatedBy>,
    /// `goroutine running on other thread; stack unavailable`: Some(None); gohang's
    /// `goroutine running on thread TID; stack unavailable`: Some(Some(TID)).
    pub stack_unavailable: Option<Option<u64>>,
    pub ancestors: Vec<Ancestor>,
}

impl Goroutine {
    /// The status without the runtime's suffixes: the wait reason or status name proper.
    pub fn leaked(&self) -> bool {
        self.status.ends_with(" (leaked)")
    }
    pub fn is_running(&self) -> bool {
        self.status == "running"
    }
    pub fn function_names(&self) -> Vec<&str> {
        self.frames.iter().map(|f| f.function.as_str()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// As printed, e.g. `main.(*Box[...]).Conv[...]`.
    pub function: String,
    /// The text between the parentheses: `...` for an inlined frame.
    pub args: String,
    pub file: String,
    pub line: u32,
    /// `+0x…`: None when not printed (inlined frames, a pc at the function's entry).
    pub pc_offset: Option<u64>,
    /// fp, sp, pc printed at traceback level 2 (physical frames only).
    pub fp_sp_pc: Option<(u64, u64, u64)>,
}

impl Frame {
    pub fn inlined(&self) -> bool {
        self.args == "..."
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreatedBy {
    pub function: String,
    /// ` in goroutine N`; None when the parent's id was 0 (not printed).
    pub goroutine: Option<u64>,
    pub file: String,
    pub line: u32,
    pub pc_offset: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ancestor {
    pub goroutine: u64,
    pub frames: Vec<Frame>,
    pub more: bool,
    pub created_by: Option<CreatedBy>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub text: String,
    pub what: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {:?}", self.line, self.what, self.text)
    }
}

impl std::error::Error for ParseError {}

/// Parse a whole traceback (SIGQUIT's stderr, or `gohang dump`'s text).
pub fn parse(text: &str) -> Result<Dump, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut d = Dump::default();
    let mut i = 0;
    // Preamble: everything up to the first header.
    while i < lines.len() && !is_header(lines[i]) {
        if !lines[i].is_empty() {
            d.preamble.push(lines[i].to_string());
        }
        i += 1;
    }
    while i < lines.len() {
        let line = lines[i];
        if line.is_empty() {
            i += 1;
            continue;
        }
        if !is_header(line) {
            // After a blank line, something that is not a goroutine: the trailer.
            d.trailer = lines[i..].iter().map(|s| s.to_string()).collect();
            break;
        }
        let err = |i: usize, what: &str| ParseError {
            line: i + 1,
            text: lines[i].to_string(),
            what: what.to_string(),
        };
        let mut g = parse_header(line).map_err(|w| err(i, &w))?;
        i += 1;
        // Body: until a blank line or the end.
        let mut in_ancestor: Option<Ancestor> = None;
        while i < lines.len() && !lines[i].is_empty() {
            let l = lines[i];
            if let Some(rest) = l.strip_prefix("\tgoroutine running on ") {
                let tid = if rest == "other thread; stack unavailable" {
                    None
                } else {
                    let n = rest
                        .strip_prefix("thread ")
                        .and_then(|r| r.strip_suffix("; stack unavailable"))
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| err(i, "unknown 'running on' line"))?;
                    Some(n)
                };
                g.stack_unavailable = Some(tid);
                i += 1;
                continue;
            }
            if l == "...additional frames elided..." {
                let a = in_ancestor
                    .as_mut()
                    .ok_or_else(|| err(i, "'additional frames' outside an ancestor"))?;
                a.more = true;
                i += 1;
                continue;
            }
            if let Some(n) = l
                .strip_prefix("...")
                .and_then(|r| r.strip_suffix(" frames elided..."))
            {
                let n = n.parse().map_err(|_| err(i, "bad elided count"))?;
                if g.elided.is_some() {
                    return Err(err(i, "two elisions in one goroutine"));
                }
                g.elided = Some((n, g.frames.len()));
                i += 1;
                continue;
            }
            if let Some(n) = l
                .strip_prefix("[originating from goroutine ")
                .and_then(|r| r.strip_suffix("]:"))
            {
                if let Some(a) = in_ancestor.take() {
                    g.ancestors.push(a);
                }
                in_ancestor = Some(Ancestor {
                    goroutine: n.parse().map_err(|_| err(i, "bad ancestor id"))?,
                    ..Default::default()
                });
                i += 1;
                continue;
            }
            let loc = lines
                .get(i + 1)
                .filter(|n| n.starts_with('\t'))
                .ok_or_else(|| err(i, "a frame line without its file:line below"))?;
            let (file, line_no, off, regs) = parse_location(loc).map_err(|w| err(i + 1, &w))?;
            if let Some(rest) = l.strip_prefix("created by ") {
                let (function, goroutine) = match rest.rsplit_once(" in goroutine ") {
                    Some((f, n)) => (
                        f.to_string(),
                        Some(n.parse().map_err(|_| err(i, "bad parent id"))?),
                    ),
                    None => (rest.to_string(), None),
                };
                if regs.is_some() {
                    return Err(err(i + 1, "fp/sp/pc on a created-by line"));
                }
                let c = CreatedBy {
                    function,
                    goroutine,
                    file,
                    line: line_no,
                    pc_offset: off,
                };
                match in_ancestor.as_mut() {
                    Some(a) => a.created_by = Some(c),
                    None => {
                        if g.created_by.is_some() {
                            return Err(err(i, "two created-by lines"));
                        }
                        g.created_by = Some(c);
                    }
                }
            } else {
                let (function, args) = split_call(l).ok_or_else(|| err(i, "not a frame"))?;
                let f = Frame {
                    function,
                    args,
                    file,
                    line: line_no,
                    pc_offset: off,
                    fp_sp_pc: regs,
                };
                match in_ancestor.as_mut() {
                    Some(a) => a.frames.push(f),
                    None => {
                        if g.created_by.is_some() {
                            return Err(err(i, "a frame after created-by"));
                        }
                        g.frames.push(f);
                    }
                }
            }
            i += 2;
        }
        if let Some(a) = in_ancestor.take() {
            g.ancestors.push(a);
        }
        d.goroutines.push(g);
    }
    Ok(d)
}

fn is_header(l: &str) -> bool {
    l.strip_prefix("goroutine ")
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()) && (l.ends_with(':')))
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// `goroutine N[ gp=… m=…] [status…]( {labels}):`
fn parse_header(l: &str) -> Result<Goroutine, String> {
    let mut g = Goroutine::default();
    let rest = l.strip_prefix("goroutine ").unwrap();
    let rest = rest.strip_suffix(':').ok_or("header without ':'")?;
    let (id, mut rest) = rest.split_once(' ').ok_or("header without status")?;
    g.id = id.parse().map_err(|_| "bad goroutine id")?;
    if let Some(r) = rest.strip_prefix("gp=") {
        let (gp, r) = r.split_once(' ').ok_or("bad gp=")?;
        g.gp = Some(hex(gp).ok_or("bad gp= value")?);
        let r = r.strip_prefix("m=").ok_or("gp= without m=")?;
        let (m, r) = r.split_once(' ').ok_or("bad m=")?;
        if m != "nil" {
            g.m = Some(m.parse().map_err(|_| "bad m= value")?);
            let r2 = r.strip_prefix("mp=").ok_or("m= without mp=")?;
            let (_, r2) = r2.split_once(' ').ok_or("bad mp=")?;
            rest = r2;
        } else {
            rest = r;
        }
    }
    let inner = rest.strip_prefix('[').ok_or("status without '['")?;
    // The bracket closes at the first ']' that is not inside a 1.26 labels list (whose
    // quoted strings may hold ']'): find the labels first.
    let (inside, after) = if let Some(at) = inner.find(" labels:{") {
        let (labels, used) = parse_labels(&inner[at + " labels:".len()..])?;
        g.labels = labels;
        g.label_style = Some(LabelStyle::Inside);
        let tail = &inner[at + " labels:".len() + used..];
        let after = tail.strip_prefix(']').ok_or("labels not followed by ']'")?;
        (&inner[..at], after)
    } else {
        let close = inner.find(']').ok_or("status without ']'")?;
        (&inner[..close], &inner[close + 1..])
    };
    if !after.is_empty() {
        let l = after
            .strip_prefix(' ')
            .ok_or("text after the status bracket")?;
        let (labels, used) = parse_labels(l)?;
        if used != l.len() {
            return Err("text after the labels".into());
        }
        g.labels = labels;
        g.label_style = Some(LabelStyle::After);
    }
    let mut items = inside.split(", ");
    g.status = items.next().unwrap_or_default().to_string();
    if g.status.is_empty() {
        return Err("empty status".into());
    }
    for item in items {
        if let Some(n) = item.strip_suffix(" minutes") {
            g.minutes = n.parse().map_err(|_| "bad minutes")?;
        } else if item == "locked to thread" {
            g.locked_to_thread = true;
        } else if let Some(n) = item
            .strip_prefix("synctest bubble ")
            .or_else(|| item.strip_prefix("synctest group "))
        {
            g.bubble = Some(n.parse().map_err(|_| "bad synctest id")?);
        } else {
            return Err(format!("unknown status item {item:?}"));
        }
    }
    Ok(g)
}

/// `{k: v, "k 2": "v\n"}` → pairs and the bytes used (through the closing brace).
fn parse_labels(s: &str) -> Result<(Vec<(String, String)>, usize), String> {
    let b = s.as_bytes();
    if b.first() != Some(&b'{') {
        return Err("labels without '{'".into());
    }
    let mut i = 1;
    let mut out = Vec::new();
    if b.get(1) == Some(&b'}') {
        return Ok((out, 2));
    }
    loop {
        let (k, n) = label_token(&s[i..], b':')?;
        i += n;
        if !s[i..].starts_with(": ") {
            return Err("label key without ': '".into());
        }
        i += 2;
        let (v, n) = label_token(&s[i..], b',')?;
        i += n;
        out.push((k, v));
        if s[i..].starts_with(", ") {
            i += 2;
        } else if s[i..].starts_with('}') {
            return Ok((out, i + 1));
        } else {
            return Err("labels not closed".into());
        }
    }
}

/// A quoted string (runtime `printquoted` escapes) or a bare word ending before `stop` or
/// `}`.
fn label_token(s: &str, stop: u8) -> Result<(String, usize), String> {
    if let Some(body) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => return Ok((out, at + 2)),
                '\\' => {
                    let (_, e) = chars.next().ok_or("dangling backslash")?;
                    let width = match e {
                        'n' => {
                            out.push('\n');
                            0
                        }
                        'r' => {
                            out.push('\r');
                            0
                        }
                        't' => {
                            out.push('\t');
                            0
                        }
                        '\\' | '"' => {
                            out.push(e);
                            0
                        }
                        'x' => 2,
                        'u' => 4,
                        'U' => 8,
                        _ => return Err(format!("unknown escape \\{e}")),
                    };
                    if width > 0 {
                        let mut h = String::new();
                        for _ in 0..width {
                            h.push(chars.next().ok_or("short escape")?.1);
                        }
                        let v = u32::from_str_radix(&h, 16).map_err(|_| "bad escape")?;
                        if e == 'x' {
                            // An invalid byte: keep it visible as U+FFFD, as lossy decoding would.
                            out.push(if v < 0x80 {
                                char::from_u32(v).unwrap()
                            } else {
                                '\u{fffd}'
                            });
                        } else {
                            out.push(char::from_u32(v).ok_or("bad code point")?);
                        }
                    }
                }
                c => out.push(c),
            }
        }
        Err("unterminated quoted label".into())
    } else {
        let end = s
            .bytes()
            .position(|c| c == stop || c == b'}')
            .ok_or("unterminated label")?;
        Ok((s[..end].to_string(), end))
    }
}

/// `\tfile:line[ +0xOFF][ fp=0x… sp=0x… pc=0x…]`
#[allow(clippy::type_complexity)]
fn parse_location(l: &str) -> Result<(String, u32, Option<u64>, Option<(u64, u64, u64)>), String> {
    let mut rest = l.strip_prefix('\t').ok_or("location without tab")?;
    let mut regs = None;
    if let Some(at) = rest.find(" fp=0x") {
        let mut it = rest[at + 1..].split(' ');
        let mut get = |k: &str| {
            it.next()
                .and_then(|t| t.strip_prefix(k))
                .and_then(hex)
                .ok_or(format!("bad {k}"))
        };
        let fp = get("fp=")?;
        let sp = get("sp=")?;
        let pc = get("pc=")?;
        if it.next().is_some() {
            return Err("text after pc=".into());
        }
        regs = Some((fp, sp, pc));
        rest = &rest[..at];
    }
    let mut off = None;
    if let Some(at) = rest.rfind(" +0x") {
        off = Some(hex(&rest[at + 2..]).ok_or("bad +0x offset")?);
        rest = &rest[..at];
    }
    let (file, line) = rest.rsplit_once(':').ok_or("location without ':'")?;
    let line = line
        .parse()
        .map_err(|_| format!("bad line number {line:?}"))?;
    Ok((file.to_string(), line, off, regs))
}

/// `name(args)` → (name, args), args being the last balanced parenthesized group.
fn split_call(l: &str) -> Option<(String, String)> {
    if l.starts_with(char::is_whitespace) {
        return None;
    }
    let body = l.strip_suffix(')')?;
    let mut depth = 1usize;
    for (i, c) in body.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    let name = &body[..i];
                    if name.is_empty() {
                        return None;
                    }
                    return Some((name.to_string(), body[i + 1..].to_string()));
                }
            }
            _ => {}
        }
    }
    None
}
