//! What a dump is (schema `gohang.dump/1`, docs/json.md) and how it prints: the runtime's
//! SIGQUIT traceback format per goroutine (runtime/traceback.go `goroutineheader`,
//! `traceback2`, `printcreatedby1`), so tools that parse Go tracebacks read it unchanged,
//! then a summary that groups identical stacks.

use crate::report::human::visible;
use serde::Serialize;
use std::io::{self, Write};

pub const SCHEMA: &str = "gohang.dump/1";

#[derive(Debug, Clone, Serialize)]
pub struct Dump {
    pub schema: &'static str,
    pub pid: u32,
    pub go_version: String,
    pub goarch: String,
    pub layout_source: &'static str,
    pub goroutines: Vec<Goroutine>,
    pub summary: Vec<Group>,
    pub notes: Vec<String>,
    /// How labels print in this release's traceback (not serialized).
    #[serde(skip)]
    pub label_style: LabelStyle,
}

/// How (and whether) the target's runtime prints pprof labels in a traceback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelStyle {
    /// Not printed (≤1.25, or GODEBUG tracebacklabels=0).
    #[default]
    None,
    /// 1.26 with tracebacklabels=1: ` labels:{"k": "v"}` before `]`.
    Inside,
    /// 1.27: ` {k: v}` after `]`, quoting only what needs it.
    After,
}

#[derive(Debug, Clone, Serialize)]
pub struct Goroutine {
    pub id: u64,
    pub state: String,
    pub status: String,
    pub wait_reason: Option<String>,
    pub wait_minutes: u64,
    pub locked_to_thread: bool,
    pub thread: Option<u32>,
    pub labels: Vec<(String, String)>,
    pub frames: Vec<Frame>,
    pub elided: usize,
    pub created_by: Option<CreatedBy>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Frame {
    pub function: String,
    pub file: String,
    pub line: i64,
    pub pc_offset: Option<u64>,
    pub inlined: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreatedBy {
    pub function: String,
    pub file: String,
    pub line: i64,
    pub pc_offset: Option<u64>,
    pub goroutine: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub count: usize,
    pub status: String,
    pub frames: Vec<String>,
}

/// The runtime prints the first 50 and the last 50 of a longer stack (traceback.go
/// `tracebackInnerFrames`, `tracebackOuterFrames`).
pub const INNER_FRAMES: usize = 50;
pub const OUTER_FRAMES: usize = 50;

/// Cut a goroutine's logical frames as the runtime does; returns the elided count.
pub fn elide(frames: &mut Vec<Frame>) -> usize {
    let n = frames.len();
    if n <= INNER_FRAMES + OUTER_FRAMES {
        return 0;
    }
    let elided = n - INNER_FRAMES - OUTER_FRAMES;
    frames.drain(INNER_FRAMES..INNER_FRAMES + elided);
    elided
}

/// Group goroutines by status and stack, largest group first (ties: first seen first).
pub fn summarize(gs: &[Goroutine]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: std::collections::HashMap<(String, Vec<String>), usize> =
        std::collections::HashMap::new();
    for g in gs {
        let key = (
            g.status.clone(),
            g.frames
                .iter()
                .map(|f| f.function.clone())
                .collect::<Vec<_>>(),
        );
        match index.get(&key) {
            Some(&i) => groups[i].count += 1,
            None => {
                index.insert(key.clone(), groups.len());
                groups.push(Group {
                    count: 1,
                    status: key.0,
                    frames: key.1,
                });
            }
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.count));
    groups
}

/// The runtime's `tracebackStringNeedsQuoting` (1.27): anything outside [A-Za-z0-9./_].
fn needs_quoting(s: &str) -> bool {
    s.is_empty()
        || !s
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'/' | b'_'))
}

/// A Go-quoted string (`strconv.Quote`-like, as the runtime's `quoted` prints it).
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn header(w: &mut dyn Write, g: &Goroutine, style: LabelStyle) -> io::Result<()> {
    write!(w, "goroutine {} [{}", g.id, visible(&g.status))?;
    if g.wait_minutes >= 1 {
        write!(w, ", {} minutes", g.wait_minutes)?;
    }
    if g.locked_to_thread {
        write!(w, ", locked to thread")?;
    }
    if style == LabelStyle::Inside && !g.labels.is_empty() {
        let items: Vec<String> = g
            .labels
            .iter()
            .map(|(k, v)| format!("{}: {}", go_quote(k), go_quote(v)))
            .collect();
        write!(w, " labels:{{{}}}", items.join(", "))?;
    }
    write!(w, "]")?;
    if style == LabelStyle::After && !g.labels.is_empty() {
        let q = |s: &str| {
            if needs_quoting(s) {
                go_quote(s)
            } else {
                s.to_string()
            }
        };
        let items: Vec<String> = g
            .labels
            .iter()
            .map(|(k, v)| format!("{}: {}", q(k), q(v)))
            .collect();
        write!(w, " {{{}}}", items.join(", "))?;
    }
    writeln!(w, ":")
}

fn frame(w: &mut dyn Write, f: &Frame) -> io::Result<()> {
    writeln!(w, "{}(...)", visible(&f.function))?;
    write!(w, "\t{}:{}", visible(&f.file), f.line)?;
    if let Some(off) = f.pc_offset {
        write!(w, " +{off:#x}")?;
    }
    writeln!(w)
}

/// One goroutine in the traceback format.
pub fn write_goroutine(w: &mut dyn Write, g: &Goroutine, style: LabelStyle) -> io::Result<()> {
    header(w, g, style)?;
    if g.state == "running" && g.frames.is_empty() {
        match g.thread {
            Some(tid) => writeln!(w, "\tgoroutine running on thread {tid}; stack unavailable")?,
            None => writeln!(w, "\tgoroutine running on other thread; stack unavailable")?,
        }
    }
    for (i, f) in g.frames.iter().enumerate() {
        if g.elided > 0 && i == INNER_FRAMES {
            writeln!(w, "...{} frames elided...", g.elided)?;
        }
        frame(w, f)?;
    }
    if let Some(e) = &g.error {
        writeln!(w, "\t(gohang: stack not read: {})", visible(e))?;
    }
    if let Some(c) = &g.created_by {
        write!(w, "created by {}", visible(&c.function))?;
        if let Some(p) = c.goroutine {
            write!(w, " in goroutine {p}")?;
        }
        writeln!(w)?;
        write!(w, "\t{}:{}", visible(&c.file), c.line)?;
        if let Some(off) = c.pc_offset {
            write!(w, " +{off:#x}")?;
        }
        writeln!(w)?;
    }
    Ok(())
}

/// The whole dump as text: goroutines in the runtime's order, a blank line between them,
/// then the summary and the notes.
pub fn write_text(w: &mut dyn Write, d: &Dump) -> io::Result<()> {
    for (i, g) in d.goroutines.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        write_goroutine(w, g, d.label_style)?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "Summary: {} goroutines, {} distinct stacks ({}, {}, pid {})",
        d.goroutines.len(),
        d.summary.len(),
        visible(&d.go_version),
        visible(&d.goarch),
        d.pid
    )?;
    for g in &d.summary {
        // The runtime's parking frames say less than the first frame above them.
        let skip = g
            .frames
            .iter()
            .take_while(|f| f.starts_with("runtime.") || f.starts_with("internal/"))
            .count();
        let skip = if skip == g.frames.len() { 0 } else { skip };
        let shown: Vec<&str> = g.frames[skip..]
            .iter()
            .take(4)
            .map(String::as_str)
            .collect();
        let more = if g.frames.len() > skip + 4 {
            " < …"
        } else {
            ""
        };
        writeln!(
            w,
            "{:>7}  [{}]  {}{}",
            g.count,
            visible(&g.status),
            visible(&shown.join(" < ")),
            more
        )?;
    }
    for n in &d.notes {
        writeln!(w, "note: {}", visible(n))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(id: u64, frames: usize) -> Goroutine {
        Goroutine {
            id,
            state: "waiting".into(),
            status: "chan receive".into(),
            wait_reason: Some("chan receive".into()),
            wait_minutes: 3,
            locked_to_thread: true,
            thread: None,
            labels: vec![("job".into(), "worker 1".into()), ("k".into(), "v".into())],
            frames: (0..frames)
                .map(|i| Frame {
                    function: format!("main.f{i}"),
                    file: "/src/target/main.go".into(),
                    line: 81,
                    pc_offset: if i == 0 { None } else { Some(0x45) },
                    inlined: i == 0,
                })
                .collect(),
            elided: 0,
            created_by: Some(CreatedBy {
                function: "main.main".into(),
                file: "/src/target/main.go".into(),
                line: 145,
                pc_offset: Some(0x249),
                goroutine: Some(1),
            }),
            error: None,
        }
    }

    #[test]
    fn prints_like_sigquit() {
        let mut out = Vec::new();
        write_goroutine(&mut out, &g(7, 2), LabelStyle::None).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "goroutine 7 [chan receive, 3 minutes, locked to thread]:\n\
             main.f0(...)\n\t/src/target/main.go:81\n\
             main.f1(...)\n\t/src/target/main.go:81 +0x45\n\
             created by main.main in goroutine 1\n\t/src/target/main.go:145 +0x249\n"
        );
        let mut out = Vec::new();
        write_goroutine(&mut out, &g(7, 0), LabelStyle::After).unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with(
            "goroutine 7 [chan receive, 3 minutes, locked to thread] {job: \"worker 1\", k: v}:\n"
        ));
        let mut out = Vec::new();
        write_goroutine(&mut out, &g(7, 0), LabelStyle::Inside).unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with(
            "goroutine 7 [chan receive, 3 minutes, locked to thread labels:{\"job\": \"worker 1\", \"k\": \"v\"}]:\n"
        ));
    }

    #[test]
    fn elides_the_middle_of_long_stacks() {
        let mut x = g(1, 230);
        x.elided = elide(&mut x.frames);
        assert_eq!(x.elided, 130);
        assert_eq!(x.frames.len(), 100);
        assert_eq!(x.frames[50].function, "main.f180");
        let mut out = Vec::new();
        write_goroutine(&mut out, &x, LabelStyle::None).unwrap();
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("\n...130 frames elided...\nmain.f180(...)\n")
        );
        let mut y = g(1, 100);
        assert_eq!(elide(&mut y.frames), 0);
    }

    #[test]
    fn summary_groups_identical_stacks() {
        let gs = vec![g(1, 2), g(2, 3), g(3, 2)];
        let s = summarize(&gs);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].count, 2);
        assert_eq!(s[0].frames, vec!["main.f0", "main.f1"]);
    }

    #[test]
    fn control_characters_from_the_target_do_not_reach_the_terminal() {
        let mut x = g(1, 1);
        x.frames[0].function = "main.\u{1b}]0;owned\u{7}f".into();
        x.frames[0].file = "/src/a\nb.go".into();
        x.status = "chan\u{9b}31m receive".into();
        x.labels = vec![("k".into(), "\u{9b}v\u{1b}".into())];
        for style in [LabelStyle::None, LabelStyle::Inside, LabelStyle::After] {
            let mut out = Vec::new();
            write_goroutine(&mut out, &x, style).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "{text:?}"
            );
            assert!(text.contains("main.\\x1b]0;owned\\x07f(...)"), "{text}");
            assert!(text.contains("/src/a\\nb.go:"), "{text}");
        }
    }
}
