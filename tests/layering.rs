//! The layering of the source, read from its `use crate::…` edges (docs/ARCHITECTURE.md).
//!
//! Two rules: a core module (pure computation over evidence) imports only other core modules,
//! std and serde, and asks the file system nothing (`.exists()`, `metadata(`, …); and no two
//! top-level modules import each other, directly or through others.
//! The test reads every `src/**/*.rs` file, drops comments, string literals and `#[cfg(test)]`
//! items, and collects the first segment of every `crate::` path (grouped `use crate::{a, b}`
//! included). `lib.rs` and `main.rs` only declare and dispatch, so they are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The core: decided facts and the rules over them. No file system, processes, clock or network.
const CORE: &[&str] = &[
    "evidence",
    "verdict",
    "gover",
    "classify",
    "report",
    "redact",
    "syscalls",
    "goroutines",
    "shell",
];

/// Crates a core file may name besides `crate`.
const CORE_CRATES: &[&str] = &["std", "core", "alloc", "serde", "serde_json"];

/// Parts of std that reach outside the process's memory, which the core must not use.
const CORE_FORBIDDEN_STD: &[&str] = &[
    "std::fs",
    "std::process",
    "std::thread",
    "std::time::SystemTime",
    "std::time::Instant",
    "std::net::TcpStream",
    "std::net::TcpListener",
    "std::net::UdpSocket",
    "std::net::ToSocketAddrs",
    "std::env::var",
    "std::env::args",
    "std::env::current_dir",
    "std::io::stdin",
    "std::io::stdout",
    "std::io::stderr",
];

/// Calls that ask the file system about a path (std's `Path`/`PathBuf` methods and `fs`
/// functions), which the core must not make even without naming `std::fs`: a rule that asked
/// whether a file exists would decide from the machine it runs on, not from the evidence.
const CORE_FORBIDDEN_CALLS: &[&str] = &[
    ".exists(",
    ".try_exists(",
    "::exists(",
    ".is_file(",
    ".is_dir(",
    ".is_symlink(",
    "metadata(",
    "read_dir(",
    "read_link(",
    "canonicalize(",
];

/// One `crate::` reference: where it is and what top-level module it names.
#[derive(Debug, Clone)]
struct Edge {
    file: String,
    line: usize,
    target: String,
}

/// A file's text with comments, string and char literals blanked out (newlines kept, so line
/// numbers stay right).
fn strip(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_'))
        {
            // Raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while j < b.len() && b[j] == '#' {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.push('"');
            j += 1;
            for _ in i + 1..j {
                out.push(' ');
            }
            out.pop();
            i = j;
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    out.push('"');
                    for _ in 0..hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < b.len() {
                if b[i] == '\\' {
                    blank(&mut out, b[i]);
                    if let Some(&n) = b.get(i + 1) {
                        blank(&mut out, n);
                    }
                    i += 2;
                } else if b[i] == '"' {
                    out.push('"');
                    i += 1;
                    break;
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F}') or a lifetime ('a): only the former is blanked.
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&k| b[k] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    out.push('\'');
                    for _ in i + 1..end {
                        out.push(' ');
                    }
                    out.push('\'');
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Blanks every item marked `#[cfg(test)]` (a test module, a test-only function or import).
fn drop_test_items(src: &str) -> String {
    let mut b: Vec<char> = src.chars().collect();
    let pat: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + pat.len() <= b.len() {
        if b[i..i + pat.len()] != pat[..] {
            i += 1;
            continue;
        }
        // From the attribute to the end of the item: a `;` or the `}` that closes its first
        // brace, whichever comes first at the item's own level.
        let start = i;
        let mut j = i + pat.len();
        let mut depth = 0i32;
        let mut brackets = 0i32;
        while j < b.len() {
            match b[j] {
                '[' => brackets += 1,
                ']' => brackets -= 1,
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                ';' if depth == 0 && brackets == 0 => break,
                _ => {}
            }
            j += 1;
        }
        let end = (j + 1).min(b.len());
        for c in &mut b[start..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = end;
    }
    b.into_iter().collect()
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads an identifier at `i`, skipping white space first; returns it and the index after it.
fn ident_at(b: &[char], mut i: usize) -> (String, usize) {
    while i < b.len() && b[i].is_whitespace() {
        i += 1;
    }
    let s = i;
    while i < b.len() && is_ident(b[i]) {
        i += 1;
    }
    (b[s..i].iter().collect(), i)
}

/// The top-level modules named by `crate::` paths in a stripped file, with their lines.
fn crate_refs(text: &str) -> Vec<(usize, String)> {
    let b: Vec<char> = text.chars().collect();
    let line_of = |pos: usize| b[..pos].iter().filter(|&&c| c == '\n').count() + 1;
    let pat: Vec<char> = "crate".chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + pat.len() <= b.len() {
        let before_ok = i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == '$');
        if !(before_ok && b[i..i + pat.len()] == pat[..]) {
            i += 1;
            continue;
        }
        let mut j = i + pat.len();
        while j < b.len() && b[j].is_whitespace() {
            j += 1;
        }
        if !(b.get(j) == Some(&':') && b.get(j + 1) == Some(&':')) {
            i = j.max(i + 1);
            continue;
        }
        j += 2;
        while j < b.len() && b[j].is_whitespace() {
            j += 1;
        }
        if b.get(j) == Some(&'{') {
            // `crate::{a::X, b, c::{…}}`: the first segment of each item at the group's level.
            let mut depth = 0;
            let mut k = j;
            let mut expect = true;
            while k < b.len() {
                match b[k] {
                    '{' => {
                        depth += 1;
                        if depth == 1 {
                            expect = true;
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => expect = true,
                    c if depth == 1 && expect && is_ident(c) => {
                        let (name, after) = ident_at(&b, k);
                        if name != "self" {
                            out.push((line_of(k), name));
                        }
                        expect = false;
                        k = after;
                        continue;
                    }
                    _ => {}
                }
                k += 1;
            }
            i = k;
        } else {
            let (name, after) = ident_at(&b, j);
            if !name.is_empty() {
                out.push((line_of(i), name));
            }
            i = after;
        }
    }
    out
}

/// The `std::…`/extern-crate paths a stripped file names, as `(line, path)`.
fn extern_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if !is_ident(chars[i]) || (i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
                i += 1;
                continue;
            }
            let s = i;
            while i < chars.len() && (is_ident(chars[i]) || chars[i] == ':') {
                i += 1;
            }
            let path: String = chars[s..i].iter().collect();
            if path.contains("::") {
                out.push((n + 1, path));
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to: `src/a.rs` and `src/a/**` are `a`.
fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.strip_suffix(".rs").unwrap_or(&first).to_string()
}

struct Source {
    /// module -> (module it names -> first place it does).
    edges: BTreeMap<String, BTreeMap<String, Edge>>,
    /// Every reference a core file makes outside the core (crate modules).
    core_escapes: Vec<Edge>,
    /// Extern crates and I/O parts of std named by core files.
    core_io: Vec<Edge>,
}

fn read_source() -> Source {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeMap<String, Edge>> = BTreeMap::new();
    let mut core_escapes = Vec::new();
    let mut core_io = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).unwrap();
        if rel == Path::new("lib.rs") || rel == Path::new("main.rs") {
            continue;
        }
        let from = top_module(rel);
        let raw = fs::read_to_string(&path).unwrap();
        let text = drop_test_items(&strip(&raw));
        let file = format!("src/{}", rel.display());
        let core = CORE.contains(&from.as_str());
        edges.entry(from.clone()).or_default();
        for (line, target) in crate_refs(&text) {
            let edge = Edge {
                file: file.clone(),
                line,
                target: target.clone(),
            };
            if core && !CORE.contains(&target.as_str()) {
                core_escapes.push(edge.clone());
            }
            if target != from {
                edges
                    .entry(from.clone())
                    .or_default()
                    .entry(target)
                    .or_insert(edge);
            }
        }
        if core {
            for (n, l) in text.lines().enumerate() {
                let squeezed: String = l.chars().filter(|c| !c.is_whitespace()).collect();
                for call in CORE_FORBIDDEN_CALLS {
                    if squeezed.contains(call) {
                        core_io.push(Edge {
                            file: file.clone(),
                            line: n + 1,
                            target: call.trim_end_matches('(').to_string(),
                        });
                    }
                }
            }
            for (line, path) in extern_paths(&text) {
                let first = path.split("::").next().unwrap_or_default();
                let forbidden_std = CORE_FORBIDDEN_STD.iter().any(|f| path.starts_with(f));
                let known_crate = [
                    "anyhow",
                    "clap",
                    "clap_complete",
                    "clap_mangen",
                    "flate2",
                    "gimli",
                    "goblin",
                    "indicatif",
                    "libc",
                    "nix",
                    "scroll",
                    "sha2",
                    "tar",
                    "thiserror",
                    "tokio",
                    "procfs",
                    "mach2",
                    "tempfile",
                ]
                .contains(&first);
                if forbidden_std || (known_crate && !CORE_CRATES.contains(&first)) {
                    core_io.push(Edge {
                        file: file.clone(),
                        line,
                        target: path,
                    });
                }
            }
        }
    }
    Source {
        edges,
        core_escapes,
        core_io,
    }
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeMap<String, Edge>>) -> Vec<Vec<String>> {
    struct St<'a> {
        edges: &'a BTreeMap<String, BTreeMap<String, Edge>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on: BTreeSet<String>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit(s: &mut St, v: &str) {
        s.index.insert(v.to_string(), s.next);
        s.low.insert(v.to_string(), s.next);
        s.next += 1;
        s.stack.push(v.to_string());
        s.on.insert(v.to_string());
        let targets: Vec<String> = s
            .edges
            .get(v)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for w in targets {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let lw = s.low[&w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(&w) {
                let iw = s.index[&w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on.remove(&w);
                let done = w == v;
                comp.push(w);
                if done {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = St {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    let nodes: Vec<String> = edges.keys().cloned().collect();
    for v in nodes {
        if !s.index.contains_key(&v) {
            visit(&mut s, &v);
        }
    }
    s.out
}

/// A shortest loop through `start` inside one component (breadth-first), as module names.
fn shortest_loop(
    edges: &BTreeMap<String, BTreeMap<String, Edge>>,
    comp: &BTreeSet<&str>,
    start: &str,
) -> Vec<String> {
    let mut prev: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.to_string()]);
    while let Some(v) = queue.pop_front() {
        for w in edges.get(&v).into_iter().flat_map(|m| m.keys()) {
            if !comp.contains(w.as_str()) {
                continue;
            }
            if w == start {
                let mut path = vec![v.clone()];
                let mut cur = v.clone();
                while let Some(p) = prev.get(&cur) {
                    path.push(p.clone());
                    cur = p.clone();
                }
                path.reverse();
                path.push(start.to_string());
                return path;
            }
            if !prev.contains_key(w) && w != start {
                prev.insert(w.clone(), v.clone());
                queue.push_back(w.clone());
            }
        }
    }
    Vec::new()
}

fn show(e: &Edge) -> String {
    format!("{}:{}", e.file, e.line)
}

#[test]
fn core_imports_only_core_std_and_serde() {
    let s = read_source();
    let mut msg = String::new();
    for e in &s.core_escapes {
        msg.push_str(&format!(
            "  core file {} imports crate::{} (not core)\n",
            show(e),
            e.target
        ));
    }
    for e in &s.core_io {
        msg.push_str(&format!(
            "  core file {} names {} (I/O, a file system query, or a crate other than std/serde)\n",
            show(e),
            e.target
        ));
    }
    assert!(
        msg.is_empty(),
        "the core ({}) must import only itself, std and serde:\n{msg}",
        CORE.join(", ")
    );
}

#[test]
fn top_level_modules_import_no_loop() {
    let s = read_source();
    let loops = cycles(&s.edges);
    let mut msg = String::new();
    for comp in &loops {
        let set: BTreeSet<&str> = comp.iter().map(String::as_str).collect();
        msg.push_str(&format!("import loop among {{{}}}:\n", comp.join(", ")));
        let path = shortest_loop(&s.edges, &set, &comp[0]);
        msg.push_str(&format!("  e.g. {}\n", path.join(" -> ")));
        for from in comp {
            for (to, e) in &s.edges[from] {
                if set.contains(to.as_str()) {
                    msg.push_str(&format!("  {from} -> {to}  ({})\n", show(e)));
                }
            }
        }
    }
    assert!(
        loops.is_empty(),
        "top-level modules import in a loop:\n{msg}"
    );
}

/// The reader itself: comments, strings and test items are not edges; groups are.
#[test]
fn reader_sees_paths_not_comments_strings_or_tests() {
    let src = r##"
// use crate::commented;
/* crate::blocked /* nested crate::deep */ */
const S: &str = "crate::quoted";
const R: &str = r#"crate::raw "quoted""#;
fn f<'a>(x: &'a str) -> char { let _ = crate::real::f(); 'c' }
use crate::{alpha::X, beta, gamma::{self, Y}};
pub(crate) fn g() {}
#[cfg(test)]
mod tests {
    use crate::only_in_tests;
}
#[cfg(test)]
use crate::test_import;
macro_rules! m { () => { $crate::in_macro() } }
"##;
    let text = drop_test_items(&strip(src));
    let names: Vec<String> = crate_refs(&text).into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["real", "alpha", "beta", "gamma"]);
}
