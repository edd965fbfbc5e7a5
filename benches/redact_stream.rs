//! What redacting `--trace`'s output costs on the streaming path: every line strace prints
//! passes through the redactor before it is parsed or written, on the thread that reads the
//! FIFO, so a slow redactor slows the reader and, when the pipe fills, the traced command.
//!
//! One run, side by side on the same stream: the trace redactor as it was before the two
//! redactors were made one (`legacy` below, a frozen copy) and `redact::LineRedactor` (the
//! bundle's rules, line by line, carrying what spans lines), built as the tracer builds it
//! (gohang's environment and the command line learned). The stream is made here: 100,000
//! lines shaped and mixed like strace's `-f -tt -s 256` output of a `go build` (fcntl and
//! resumed calls, reads of Go source and ELF bytes, openat, epoll_pwait, SIGURG, clone,
//! execve), with a netrc read, multi-line netrc writes, HTTP requests with credential
//! headers, JSON members and a PEM key written line by line planted every few hundred lines.
//!
//! `cargo bench --bench redact_stream` (`GOHANG_BENCH_ROUNDS`, default 9). Prints the
//! median time per line of each and the median of the per-round ratios; and fails when the
//! unified redactor leaves a planted secret that the old one removed.

mod common;

use gohang::redact::{LineRedactor, Redactor};
use std::time::Instant;

/// Lines in the stream.
const LINES: usize = 100_000;

/// Secrets planted in the stream; each is removed by both redactors.
const PLANTED: &[&str] = &[
    "benchNetrcLogin1",
    "benchNetrcPass1",
    "benchMlLogin2",
    "benchMlPass2",
    "YmVuY2g6YmFzaWMtMw==",
    "benchBearerTok-4",
    "benchCookie-5",
    "benchJsonSecret-6",
    "benchGitPass-7",
    "benchUrlPass-8",
];

/// A secret the old redactor did not remove and the unified one does: a PEM body written a
/// line at a time.
const PEM_BODY: &str = "MHcCAQEEbenchPemBody9";

const GO_SOURCE: &str = "// Copyright 2016 The Go Authors. All rights reserved.\n// Use of this source code is governed by a BSD-style\n// license that can be found in the LICENSE file.\n\npackage os\n\nimport (\n\t\"errors\"\n\t\"syscall\"\n)\n\n// ErrProcessDone indicates a Process has finished.\nvar ErrProcessDone = errors.New(\"os: process already finished\")\n\nfunc (p *Process) wait() (ps *ProcessState, err error) {\n\tif p.Pid == -1 {\n\t\treturn nil, syscall.EINVAL\n\t}\n";

/// strace's escaping of a string, cut at 256 bytes (`-s 256`) with `...` after the quote.
fn quoted(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(256) {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:o}")),
        }
    }
    s.push('"');
    if bytes.len() > 256 {
        s.push_str("...");
    }
    s
}

/// A small deterministic generator (the same stream every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn stream() -> Vec<String> {
    let mut r = Lcg(7);
    let elf: Vec<u8> = (0..400u32).map(|i| (i * 37 % 251) as u8).collect();
    let source = GO_SOURCE.as_bytes();
    let mut out = Vec::with_capacity(LINES);
    let mut n = 0u64;
    while out.len() < LINES {
        n += 1;
        let tid = 3422 + r.next() % 12;
        let ts = format!("10:48:{:02}.{:06}", (n / 10_000) % 60, n % 1_000_000);
        let p = format!("{tid}  {ts} ");
        // Planted every few hundred lines.
        if n.is_multiple_of(500) {
            let k = (n / 500) % 6;
            match k {
                0 => out.push(format!(
                    "{p}read(7, {}, 4096) = 120",
                    quoted(b"machine 127.0.0.1 login benchNetrcLogin1 password benchNetrcPass1\nmachine proxy.example.com\n  login benchMlLogin2\n  password benchMlPass2\n")
                )),
                1 => out.push(format!(
                    "{p}write(9, {}, 160) = 160",
                    quoted(b"GET /example.com/dep/@v/list HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Basic YmVuY2g6YmFzaWMtMw==\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n")
                )),
                2 => out.push(format!(
                    "{p}write(9, {}, 120) = 120",
                    quoted(b"GET /x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer benchBearerTok-4\r\nCookie: session=benchCookie-5\r\n\r\n")
                )),
                3 => out.push(format!(
                    "{p}write(1, {}, 40) = 40",
                    quoted(b"{\"client_secret\": \"benchJsonSecret-6\"}\n")
                )),
                4 => out.push(format!(
                    "{p}write(1, {}, 60) = 60",
                    quoted(b"protocol=https\nhost=git.example.com\nusername=u\npassword=benchGitPass-7\n")
                )),
                _ => {
                    out.push(format!(
                        "{p}execve(\"/usr/bin/git\", [\"git\", \"ls-remote\", \"https://u:benchUrlPass-8@git.example.com/r\"], 0x7ffd /* 30 vars */) = 0"
                    ));
                    for l in [
                        "-----BEGIN EC PRIVATE KEY-----\n",
                        "MHcCAQEEbenchPemBody9\n",
                        "-----END EC PRIVATE KEY-----\n",
                    ] {
                        out.push(format!("{p}write(1, {}, {}) = {}", quoted(l.as_bytes()), l.len(), l.len()));
                    }
                }
            }
            continue;
        }
        // The mix of a real `go build` trace (67,008 lines): fcntl 32 %, resumed calls 20 %,
        // read 16 %, write 13 %, openat 9 %, epoll_pwait 4.5 %, signals 3.4 %, the rest.
        let line = match r.next() % 1000 {
            0..=319 => format!("{p}fcntl({}, F_GETFD) = 0", r.next() % 20),
            320..=419 => {
                format!("{p}<... fcntl resumed>) = 0x8800 (flags O_RDONLY|O_NONBLOCK|O_LARGEFILE)")
            }
            420..=479 => format!("{p}<... openat resumed>) = {}", 3 + r.next() % 10),
            480..=519 => {
                let at = (r.next() as usize) % source.len();
                format!(
                    "{p}<... read resumed>{}, 4096) = 4096",
                    quoted(&source[at..])
                )
            }
            520..=619 => {
                let at = (r.next() as usize) % source.len();
                format!(
                    "{p}read({}, {}, 4096) = {}",
                    3 + r.next() % 10,
                    quoted(&source[at..]),
                    source.len() - at
                )
            }
            620..=679 => format!("{p}read(3, {}, 832) = 832", quoted(&elf)),
            680..=749 => format!("{p}write(6, {}, 400) = 400", quoted(&elf[13..])),
            750..=809 => format!(
                "{p}write(2, {}, 40) = 40",
                quoted(
                    format!(
                        "go: downloading example.com/dep{} v1.{}.0\n",
                        r.next() % 50,
                        r.next() % 9
                    )
                    .as_bytes()
                )
            ),
            810..=899 => format!(
                "{p}openat(AT_FDCWD, \"/home/user/go/pkg/mod/cache/download/example.com/dep{}/@v/v1.0.0.mod\", O_RDONLY|O_CLOEXEC) = {}",
                r.next() % 50,
                3 + r.next() % 10
            ),
            900..=944 => format!("{p}epoll_pwait(4, [], 128, 0, NULL, 0) = 0"),
            945..=978 => format!(
                "{p}--- SIGURG {{si_signo=SIGURG, si_code=SI_TKILL, si_pid=3422, si_uid=0}} ---"
            ),
            979..=985 => format!(
                "{p}clone(child_stack=0xc000038000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS, tls=0xc000056098) = {}",
                tid + 1
            ),
            986..=991 => format!("{p}pread64(3, {}, 784, 64) = 784", quoted(&elf)),
            992..=995 => format!(
                "{p}waitid(P_PID, {}, {{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid={}, si_uid=0, si_status=0, si_utime=0, si_stime=0}}, WEXITED|WNOWAIT, NULL) = 0",
                tid + 50,
                tid + 50
            ),
            996..=997 => format!(
                "{p}execve(\"/usr/lib/go-1.23/pkg/tool/linux_amd64/compile\", [\"/usr/lib/go-1.23/pkg/tool/linux_amd64/compile\", \"-o\", \"/tmp/go-build/b001/_pkg_.a\", \"-trimpath\", \"/tmp/go-build/b001=>\", \"-p\", \"main\", \"-lang=go1.23\", \"-complete\", \"-buildid\", \"abc/abc\", \"-goversion\", \"go1.23.5\", \"-c=2\", \"-nolocalimports\", \"-importcfg\", \"/tmp/go-build/b001/importcfg\", \"-pack\", \"./main.go\"], 0xc000 /* 40 vars */) = 0"
            ),
            _ => format!("{p}+++ exited with 0 +++"),
        };
        out.push(line);
    }
    out.truncate(LINES);
    out
}

/// The unified redactor, built as the tracer builds it for a command it starts.
fn unified() -> LineRedactor {
    let mut red = Redactor::new(false);
    red.add_env(std::env::vars());
    red.add_argv(&["go", "build", "./..."]);
    LineRedactor::new(red)
}

/// Time one pass over the stream; the redacted text, to check.
fn pass(lines: &[String], mut f: impl FnMut(&str) -> usize) -> (f64, usize) {
    let t = Instant::now();
    let mut bytes = 0;
    for l in lines {
        bytes += f(l);
    }
    (t.elapsed().as_secs_f64(), bytes)
}

fn main() {
    let lines = stream();
    let rounds = common::rounds(9);

    // What each removes (once, outside the timing).
    let mut uni = unified();
    let old_text: Vec<String> = lines.iter().map(|l| legacy::line(l).into_owned()).collect();
    let new_text: Vec<String> = lines.iter().map(|l| uni.line(l).into_owned()).collect();
    let (old_all, new_all) = (old_text.join("\n"), new_text.join("\n"));
    for s in PLANTED {
        assert!(!old_all.contains(s), "the old redactor left {s}");
        assert!(!new_all.contains(s), "the unified redactor left {s}");
    }
    assert!(old_all.contains(PEM_BODY) && !new_all.contains(PEM_BODY));
    let changed = |t: &[String]| t.iter().zip(&lines).filter(|(a, b)| a != b).count();
    println!(
        "stream: {LINES} lines, {:.1} MB; lines changed: old {}, unified {}",
        lines.iter().map(|l| l.len() + 1).sum::<usize>() as f64 / 1e6,
        changed(&old_text),
        changed(&new_text)
    );

    let (mut old_t, mut new_t, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate the order: neither always runs on a warmer cache.
        let run_old = || pass(&lines, |l| legacy::line(l).len()).0;
        let mut uni = unified();
        let mut run_new = || pass(&lines, |l| uni.line(l).len()).0;
        let (o, n) = if round.is_multiple_of(2) {
            let o = run_old();
            (o, run_new())
        } else {
            let n = run_new();
            (run_old(), n)
        };
        old_t.push(o);
        new_t.push(n);
        ratios.push(n / o);
    }
    let per_line = |v: &mut Vec<f64>| common::median(v) / LINES as f64 * 1e9;
    println!("rounds: {rounds}");
    println!(
        "old trace redactor: {:.0} ns/line (median)",
        per_line(&mut old_t)
    );
    println!(
        "unified LineRedactor: {:.0} ns/line (median)",
        per_line(&mut new_t)
    );
    println!(
        "unified / old: {:.2}x (median of per-round ratios)",
        common::median(&mut ratios)
    );
}

/// The trace redactor before the two were made one (`src/trace/redact.rs` and the rules of
/// `src/redact.rs` it called, as of the commit that replaced them), frozen here only to be
/// measured against. Not used anywhere else.
#[allow(dead_code, clippy::all)]
mod legacy {
    use gohang::redact::{RedactionKind, is_secret_name};
    use std::collections::{BTreeMap, BTreeSet};

    const MARK: &str = "[REDACTED]";

    struct Span {
        start: usize,
        end: usize,
        with: String,
        kind: RedactionKind,
        name: Option<String>,
    }

    type Rule = fn(&[u8]) -> Vec<Span>;

    /// The part of the old `Redactor` that `pattern_redact` used.
    #[derive(Default)]
    struct Redactor {
        tally: BTreeMap<(RedactionKind, Option<String>), (u64, BTreeSet<String>)>,
    }

    impl Redactor {
        fn new(_anonymize: bool) -> Redactor {
            Redactor::default()
        }

        fn apply(&mut self, file: &str, buf: &[u8], spans: Vec<Span>) -> Vec<u8> {
            if spans.is_empty() {
                return buf.to_vec();
            }
            let mut out = Vec::with_capacity(buf.len());
            let mut at = 0;
            for s in spans {
                if s.start < at {
                    continue;
                }
                out.extend_from_slice(&buf[at..s.start]);
                out.extend_from_slice(s.with.as_bytes());
                at = s.end;
                let e = self.tally.entry((s.kind, s.name)).or_default();
                e.0 += 1;
                e.1.insert(file.to_string());
            }
            out.extend_from_slice(&buf[at..]);
            out
        }
    }

    const PEM_BEGIN: &[u8] = b"-----BEGIN ";

    const PEM_KEY_TAIL: &[u8] = b"PRIVATE KEY-----";

    const PEM_END: &[u8] = b"-----END ";

    const NETRC_VALUE_KEYS: &[&[u8]] = &[b"login", b"password", b"passwd", b"account"];

    const NOT_SECRET: &[&str] = &[
        "GOPRIVATE",
        "GONOPROXY",
        "GONOSUMDB",
        "GONOSUMCHECK",
        "GOINSECURE",
    ];

    const CREDENTIAL_HEADERS: &[&str] = &["cookie", "authorization"];

    const HEADER_OPTIONS: &[&[u8]] = &[b"-H", b"--header", b"--proxy-header"];

    const MAX_LOOKBACK: usize = 256;

    fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
        if needle.is_empty() || hay.len() < needle.len() {
            return None;
        }
        (from..=hay.len() - needle.len())
            .find(|&i| hay[i] == needle[0] && hay[i..].starts_with(needle))
    }

    fn backslashes_before(b: &[u8], i: usize) -> usize {
        b[..i].iter().rev().take_while(|&&c| c == b'\\').count()
    }

    fn private_key_spans(b: &[u8]) -> Vec<Span> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(p) = find(b, PEM_BEGIN, from) {
            let label_start = p + PEM_BEGIN.len();
            // The label stays on one line and is short.
            let line_end = (label_start..b.len().min(label_start + 64))
                .find(|&i| b[i] == b'\n' || b[i] == b'\\' || b[i] == b'"')
                .unwrap_or(b.len().min(label_start + 64));
            let Some(t) = find(&b[..line_end], PEM_KEY_TAIL, label_start) else {
                from = label_start;
                continue;
            };
            let start = t + PEM_KEY_TAIL.len();
            let mut end = start;
            while end < b.len() {
                if b[end..].starts_with(PEM_END) {
                    break;
                }
                if b[end] == b'"' && backslashes_before(b, end) == 0 {
                    break;
                }
                end += 1;
            }
            out.push(Span {
                start,
                end,
                with: "[REDACTED:private-key]".to_string(),
                kind: RedactionKind::PrivateKey,
                name: None,
            });
            from = end.max(start + 1);
        }
        out
    }

    fn netrc_line_spans(b: &[u8]) -> Vec<Span> {
        let mut out = Vec::new();
        let mut continuing = false;
        let lines = logical_lines(b);
        // Does the line after `n` start with a value keyword (`machine h` then `  login u`)?
        let keyed_next = |n: usize| {
            lines.get(n + 1).is_some_and(|&(s, e)| {
                netrc_tokens(b, s, e)
                    .first()
                    .is_some_and(|t| NETRC_VALUE_KEYS.contains(&&b[t.0..t.1]))
            })
        };
        for (n, &(ls, le)) in lines.iter().enumerate() {
            let toks = netrc_tokens(b, ls, le);
            let word = |i: usize| &b[toks[i].0..toks[i].1];
            let is_key = |w: &[u8]| {
                NETRC_VALUE_KEYS.contains(&w)
                    || w == b"machine"
                    || w == b"default"
                    || w == b"macdef"
            };
            let mut netrc = continuing && !toks.is_empty() && is_key(word(0));
            let mut from = 0;
            if let Some(m) =
                (0..toks.len()).find(|&i| word(i) == b"machine" || word(i) == b"default")
            {
                let next = if word(m) == b"machine" { m + 2 } else { m + 1 };
                let keyed = next < toks.len() && NETRC_VALUE_KEYS.contains(&word(next));
                // `machine h` ends the line: netrc when it starts the line, or when the next
                // line goes on with a keyword (in a tracer's string the line starts with
                // `read(6, "`).
                let alone = next == toks.len() && (m == 0 || keyed_next(n));
                if keyed || alone {
                    netrc = true;
                    from = m;
                }
            }
            if netrc {
                for i in from..toks.len().saturating_sub(1) {
                    if NETRC_VALUE_KEYS.contains(&word(i)) && !is_marked(word(i + 1)) {
                        out.push(Span {
                            start: toks[i + 1].0,
                            end: toks[i + 1].1,
                            with: MARK.to_string(),
                            kind: RedactionKind::Netrc,
                            name: Some(String::from_utf8_lossy(word(i)).into_owned()),
                        });
                    }
                }
            }
            continuing = netrc;
        }
        out
    }

    fn logical_lines(b: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let (mut start, mut i) = (0, 0);
        while i < b.len() {
            if b[i] == b'\n' {
                out.push((start, i));
                start = i + 1;
            } else if b[i] == b'\\' {
                let run = b[i..].iter().take_while(|&&c| c == b'\\').count();
                if b.get(i + run) == Some(&b'n') {
                    out.push((start, i));
                    start = i + run + 1;
                }
                i += run; // the escaped byte is skipped below
            }
            i += 1;
        }
        out.push((start, b.len().max(start)));
        out
    }

    fn netrc_tokens(b: &[u8], start: usize, end: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = start;
        let mut tok = None;
        while i < end {
            let sep_len = if b[i] == b'\\' {
                2
            } else if b[i].is_ascii_whitespace() || b[i] == b'"' {
                1
            } else {
                0
            };
            if sep_len > 0 {
                if let Some(t) = tok.take() {
                    out.push((t, i));
                }
                i += sep_len;
            } else {
                tok.get_or_insert(i);
                i += 1;
            }
        }
        if let Some(t) = tok {
            out.push((t, end.min(b.len())));
        }
        out
    }

    fn is_marked(v: &[u8]) -> bool {
        v == b"REDACTED" || v == b"<set>" || find(v, b"[REDACTED", 0).is_some()
    }

    fn json_member_spans(b: &[u8]) -> Vec<Span> {
        assignment_spans(b)
            .into_iter()
            .filter(|s| {
                let before = b[..s.start]
                    .iter()
                    .rev()
                    .find(|&&c| !matches!(c, b'"' | b'\\' | b' ' | b'\t'));
                before == Some(&b':')
            })
            .collect()
    }

    fn assignment_spans(b: &[u8]) -> Vec<Span> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if !(b[i].is_ascii_alphabetic() || b[i] == b'_') || (i > 0 && is_word(b[i - 1])) {
                i += 1;
                continue;
            }
            // After a backslash the name may start with the letter or after it: `\nCookie: …`
            // in a tracer's string, `\\nX-Auth-Token: …` (a program's own escape, printed in
            // JSON), but `\token=…` in a path. The name after the letter is tried first.
            let mut found = None;
            let mut after_escape_not_secret = false;
            if i > 0 && b[i - 1] == b'\\' && i + 1 < b.len() && b[i + 1].is_ascii_alphabetic() {
                found = assignment_at(b, i + 1).1;
                // `\nGOPRIVATE=…` is GOPRIVATE after an escaped newline, not the secret-looking
                // `nGOPRIVATE`: a module path pattern stays (issue 14).
                let mut e = i + 1;
                while e < b.len() && is_name_char(b[e]) {
                    e += 1;
                }
                let rest = String::from_utf8_lossy(&b[i + 1..e]).to_ascii_uppercase();
                after_escape_not_secret = NOT_SECRET.contains(&rest.as_str());
            }
            let (name_end, at) = assignment_at(b, i);
            let at = if after_escape_not_secret { None } else { at };
            match found.or(at) {
                Some(span) => {
                    i = span.end;
                    out.push(span);
                }
                None => i = name_end,
            }
        }
        out
    }

    fn assignment_at(b: &[u8], s: usize) -> (usize, Option<Span>) {
        let mut i = s;
        while i < b.len() && is_name_char(b[i]) {
            i += 1;
        }
        let name_end = i;
        let name = String::from_utf8_lossy(&b[s..i]).into_owned();
        if !is_secret_name(&name) {
            return (name_end, None);
        }
        let (start, end) = match b.get(i) {
            // JSON: "NAME": "value" (strings only; numbers and arrays are not secrets here),
            // also escaped once or more: `{\"NAME\": \"value\"}` inside a JSON string (a
            // command's output in report.json, an `sh -c` argument in samples.json, a tracer's
            // string).
            Some(b'"' | b'\\') if s > 0 && b[s - 1] == b'"' => match json_value(b, s, i) {
                Some(v) => v,
                None => return (name_end, None),
            },
            Some(b'=') => {
                let j = i + 1;
                let (start, quote) = match b.get(j) {
                    Some(&q @ (b'"' | b'\'')) => (j + 1, Some(q)),
                    Some(b'\\') if b.get(j + 1) == Some(&b'"') => (j + 2, Some(b'"')),
                    _ => (j, None),
                };
                let mut end = start;
                while end < b.len() {
                    let c = b[end];
                    let stop = match quote {
                        Some(q) => c == q || c == b'\\' || c == b'\n',
                        None => {
                            c.is_ascii_whitespace()
                                || matches!(
                                    c,
                                    b'"' | b'\''
                                        | b'&'
                                        | b';'
                                        | b','
                                        | b')'
                                        | b'\\'
                                        | b'|'
                                        | b'<'
                                        | b'>'
                                        | b'`'
                                )
                        }
                    };
                    if stop {
                        break;
                    }
                    end += 1;
                }
                (start, end)
            }
            Some(b':') if starts_line(b, s) => {
                let mut start = i + 1;
                while start < b.len() && matches!(b[start], b' ' | b'\t') {
                    start += 1;
                }
                let mut end = start;
                while end < b.len() && !is_line_end(b, end, None) {
                    end += 1;
                }
                (start, end)
            }
            // A header inside a line: `-H 'X-Auth-Token: v'`, `"PRIVATE-TOKEN: v"`, a
            // request in a trace's string. It ends where the argument or string does: at
            // a quote (credentials have none) or the end of Markdown code.
            Some(b':') if is_header_here(b, s, &name) => {
                let mut start = i + 1;
                while start < b.len() && matches!(b[start], b' ' | b'\t') {
                    start += 1;
                }
                let mut end = start;
                while end < b.len() && !is_line_end(b, end, Some(b'\'')) && b[end] != b'`' {
                    end += 1;
                }
                (start, end)
            }
            _ => return (name_end, None),
        };
        let span = (end > start && !is_marked(&b[start..end])).then(|| Span {
            start,
            end,
            with: MARK.to_string(),
            kind: RedactionKind::Assignment,
            name: Some(name),
        });
        (name_end, span)
    }

    fn is_name_char(c: u8) -> bool {
        is_word(c) || c == b'-'
    }

    fn is_word(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'_'
    }

    fn json_value(b: &[u8], s: usize, i: usize) -> Option<(usize, usize)> {
        let k = backslashes_before(b, s - 1);
        // The key's closing quote, escaped the same way.
        let quote_at = |j: usize| -> bool {
            b.len() > j + k && b[j..j + k].iter().all(|&c| c == b'\\') && b[j + k] == b'"'
        };
        if !quote_at(i) {
            return None;
        }
        let mut j = i + k + 1;
        // Blanks, also escaped newlines of pretty-printed JSON inside a string (`\n`).
        let skip = |mut j: usize| {
            loop {
                if j < b.len() && matches!(b[j], b' ' | b'\t' | b'\n' | b'\r') {
                    j += 1;
                } else if k > 0 && b.get(j) == Some(&b'\\') {
                    let run = b[j..].iter().take_while(|&&c| c == b'\\').count();
                    if matches!(b.get(j + run), Some(b'n' | b't' | b'r')) {
                        j += run + 1;
                    } else {
                        return j;
                    }
                } else {
                    return j;
                }
            }
        };
        j = skip(j);
        if b.get(j) != Some(&b':') {
            return None;
        }
        j = skip(j + 1);
        if !quote_at(j) {
            return None;
        }
        let start = j + k + 1;
        if k == 0 {
            let mut end = start;
            while end < b.len() && b[end] != b'"' {
                end += if b[end] == b'\\' { 2 } else { 1 };
            }
            return Some((start, end.min(b.len())));
        }
        // Escaped: the value ends at a quote escaped exactly `k` times (a quote inside the
        // value is escaped more), or at the end of the text.
        let mut end = start;
        while end < b.len() {
            if b[end] == b'"' && backslashes_before(&b[start..], end - start) == k {
                return Some((start, end - k));
            }
            end += 1;
        }
        Some((start, b.len()))
    }

    fn starts_line(b: &[u8], s: usize) -> bool {
        let mut i = s;
        while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
            i -= 1;
        }
        i == 0 || b[i - 1] == b'\n' || (i >= 2 && &b[i - 2..i] == b"\\n")
    }

    fn is_line_end(b: &[u8], i: usize, quote: Option<u8>) -> bool {
        matches!(b[i], b'\n' | b'\r' | b'"' | b'\\') || Some(b[i]) == quote
    }

    fn is_header_here(b: &[u8], s: usize, name: &str) -> bool {
        name.contains('-')
            || CREDENTIAL_HEADERS
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
            || (s > 0 && matches!(b[s - 1], b'"' | b'\'' | b'`'))
            || word_before(b, s).is_some_and(|w| {
                let w = w.strip_suffix(b"=").unwrap_or(w);
                HEADER_OPTIONS.contains(&w)
            })
    }

    fn word_before(b: &[u8], end: usize) -> Option<&[u8]> {
        let limit = end.saturating_sub(MAX_LOOKBACK);
        let mut e = end;
        while e > limit && is_arg_sep(b[e - 1]) {
            e -= 1;
        }
        let mut s = e;
        while s > limit && !is_arg_sep(b[s - 1]) {
            s -= 1;
        }
        (s < e).then(|| &b[s..e])
    }

    fn is_arg_sep(c: u8) -> bool {
        c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'`' | b',' | b'[' | b'(' | b'\\')
    }

    fn pattern_redact(text: &str) -> std::borrow::Cow<'_, str> {
        let mut r = Redactor::new(false);
        let b = text.as_bytes();
        let mut buf = b.to_vec();
        for rule in [
            private_key_spans as Rule,
            netrc_line_spans,
            json_member_spans,
        ] {
            let spans = rule(&buf);
            buf = r.apply("trace", &buf, spans);
        }
        if buf == b {
            std::borrow::Cow::Borrowed(text)
        } else {
            std::borrow::Cow::Owned(String::from_utf8_lossy(&buf).into_owned())
        }
    }

    // Secrets out of trace lines. A tracer prints the bytes a program writes: an HTTP request
    // to a module proxy with its `Authorization:` header, git's credential protocol
    // (`password=…`), a URL with a token in it. Every line is passed through [`line`] before it
    // is parsed or written to the trace file, so neither evidence nor the file (nor a bundle
    // made from them) holds one.
    //
    // Tracers escape control characters: a header ends at a literal `\r` or `\n` (two
    // characters) or at the closing quote of the string, and that is where a value ends.

    use std::borrow::Cow;

    /// What a removed value is replaced with.
    pub const REDACTED: &str = "REDACTED";

    /// Header names whose values are credentials (matched case-insensitively, with the colon).
    const HEADERS: &[&str] = &[
        "authorization:",
        "proxy-authorization:",
        "cookie:",
        "set-cookie:",
        "x-api-key:",
        "private-token:",
        "x-auth-token:",
        "x-goog-api-key:",
    ];

    /// `key=value` pairs whose values are credentials (git credential helpers, query strings,
    /// .netrc-like text). The key must start a word.
    const KEYS: &[&str] = &[
        "password=",
        "passwd=",
        "token=",
        "access_token=",
        "refresh_token=",
        "client_secret=",
        "secret=",
        "api_key=",
        "apikey=",
    ];

    /// Words that introduce a credential in text (`Bearer abc…`, `Basic dXNl…`).
    const SCHEMES: &[&str] = &["bearer ", "basic ", "token "];

    /// Remove every credential from one line of tracer output.
    pub fn line(text: &str) -> Cow<'_, str> {
        if !may_hold_secret(text) {
            return Cow::Borrowed(text);
        }
        // Multi-line netrc, PEM private keys and escaped `\"NAME\": \"value\"` (issue 14),
        // then the rules below on what is left.
        match pattern_redact(text) {
            Cow::Borrowed(_) => header_redact(text),
            Cow::Owned(t) => Cow::Owned(header_redact(&t).into_owned()),
        }
    }

    fn header_redact(text: &str) -> Cow<'_, str> {
        let lower = text.to_ascii_lowercase();
        let mut cuts: Vec<(usize, usize)> = Vec::new();
        for h in HEADERS {
            for (i, _) in lower.match_indices(h) {
                if !starts_word(&lower, i, false) {
                    continue;
                }
                let mut start = i + h.len();
                while text[start..].starts_with(' ') {
                    start += 1;
                }
                cuts.push((start, value_end(text, start, true)));
            }
        }
        for k in KEYS {
            for (i, _) in lower.match_indices(k) {
                // `GITHUB_TOKEN=` counts, `mytoken=` does not.
                if starts_word(&lower, i, true) {
                    let start = i + k.len();
                    cuts.push((start, value_end(text, start, false)));
                }
            }
        }
        for s in SCHEMES {
            for (i, _) in lower.match_indices(s) {
                let start = i + s.len();
                let end = value_end(text, start, false);
                // Only what looks like a token: long enough, no spaces (value_end stops there).
                if starts_word(&lower, i, false) && end - start >= 8 {
                    cuts.push((start, end));
                }
            }
        }
        let redacted_urls = gohang::redact::redact_urls(text);
        if cuts.is_empty() {
            return if redacted_urls == text {
                Cow::Borrowed(text)
            } else {
                Cow::Owned(redacted_urls)
            };
        }
        cuts.sort();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in cuts {
            if end <= at || start >= end {
                continue;
            }
            let start = start.max(at);
            out.push_str(&text[at..start]);
            out.push_str(REDACTED);
            at = end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(gohang::redact::redact_urls(&out))
    }

    /// Could a credential be in this line? Tracers print a program's bytes only inside quoted
    /// strings (escaping `"` and `\\` there), and each form of credential needs a `:` (a header,
    /// a URL), a `=` (key=value) or a space (a scheme and its token) inside one. Most lines
    /// fail this one pass and cost nothing more.
    fn may_hold_secret(text: &str) -> bool {
        let mut in_string = false;
        let mut escaped = false;
        for &b in text.as_bytes() {
            if !in_string {
                in_string = b == b'"';
            } else if escaped {
                escaped = false;
            } else {
                match b {
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    b':' | b'=' | b' ' => return true,
                    _ => {}
                }
            }
        }
        false
    }

    /// Is `i` the start of a word (not in the middle of `xtoken=`)? An escape the tracer
    /// printed (`\n`, `\r`, `\t`) ends the word before it. With `underscore`, a `_` before it
    /// also separates (`GITHUB_TOKEN=`).
    fn starts_word(lower: &str, i: usize, underscore: bool) -> bool {
        let before = lower.as_bytes()[..i].iter().rev();
        let mut before = before.copied();
        match (before.next(), before.next()) {
            (None, _) => true,
            (Some(b'n' | b'r' | b't'), Some(b'\\')) => true,
            (Some(c), _) => !(c.is_ascii_alphanumeric() || (c == b'_' && !underscore) || c == b'-'),
        }
    }

    /// Where a value that starts at `start` ends: at an escaped line end (`\r`, `\n`, as the
    /// tracer prints them), a closing quote, the end of the text; for non-header values also at
    /// `&`, a space, a comma or a backslash.
    fn value_end(text: &str, start: usize, header: bool) -> usize {
        let b = text.as_bytes();
        let mut i = start;
        while i < b.len() {
            match b[i] {
                b'"' | b'\n' | b'\r' => return i,
                b'\\' if header => {
                    if matches!(b.get(i + 1), Some(b'r') | Some(b'n')) {
                        return i;
                    }
                }
                b'\\' | b'&' | b' ' | b',' | b';' | b')' | b'}' if !header => return i,
                _ => {}
            }
            i += 1;
        }
        b.len()
    }
}
