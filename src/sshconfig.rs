//! OpenSSH client configuration (ssh_config(5)) as pure functions on text: which real host,
//! port, user and proxy an ssh destination — often an alias — ends up with, and the file
//! and line that set each. No file is read here; `remote.rs` reads the files the process's
//! ssh would read (`-F file`, else `~/.ssh/config` then `/etc/ssh/ssh_config`) and hands
//! their lines in, `Include` already expanded.
//!
//! Rules followed (ssh_config(5)): `keyword value` or `keyword=value`, keywords
//! case-insensitive, `#` comments; `Host` patterns (`*`, `?`, `!negation`) match the
//! destination as given on the command line; `Match all` matches, other `Match` criteria
//! are not evaluated here (their lines are skipped, and said so); for each keyword the
//! first value obtained wins, and options given on the command line (`-p`, `-l`, `-J`, `-o`)
//! come before every file.

/// One meaningful line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Lowercased.
    pub keyword: String,
    pub args: Vec<String>,
    pub path: String,
    pub line: usize,
}

/// Parse a config file's lines.
pub fn parse(text: &str, path: &str) -> Vec<Line> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let (kw, rest) = match l.find(|c: char| c.is_whitespace() || c == '=') {
            Some(at) => (&l[..at], l[at..].trim_start()),
            None => (l, ""),
        };
        let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
        out.push(Line {
            keyword: kw.to_ascii_lowercase(),
            args: split_args(rest),
            path: path.to_string(),
            line: i + 1,
        });
    }
    out
}

/// Whitespace-separated arguments, double quotes grouping.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// A shell-style pattern with `*` and `?` (ssh's `match_pattern`), case-insensitive as ssh
/// lowercases host names.
pub fn glob(pattern: &str, s: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), s.as_bytes())
}

/// Does a `Host` line's pattern list match `host`? A matching negated pattern rules the
/// block out (ssh `match_pattern_list`).
pub fn host_matches(patterns: &[String], host: &str) -> bool {
    let mut hit = false;
    for p in patterns {
        for p in p.split(',') {
            if let Some(neg) = p.strip_prefix('!') {
                if glob(neg, host) {
                    return false;
                }
            } else if glob(p, host) {
                hit = true;
            }
        }
    }
    hit
}

/// A value and where it was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub value: String,
    /// `FILE line N`, or `the ssh command line`.
    pub origin: String,
}

/// What ssh makes of a destination.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    pub hostname: Option<Value>,
    pub port: Option<Value>,
    pub user: Option<Value>,
    pub proxy_command: Option<Value>,
    pub proxy_jump: Option<Value>,
    pub connect_timeout: Option<Value>,
    /// `Match` blocks that were not evaluated (file and line).
    pub skipped_match: Vec<String>,
}

/// Options given on ssh's command line, as `(keyword lowercased, value)`.
pub type CommandLine = Vec<(String, String)>;

/// Resolve `host` (as given to ssh) through the command line options, then the files' lines.
pub fn resolve(host: &str, cli: &CommandLine, lines: &[Line]) -> Resolved {
    let mut r = Resolved::default();
    let set = |slot: &mut Option<Value>, value: &str, origin: String| {
        if slot.is_none() {
            *slot = Some(Value {
                value: value.to_string(),
                origin,
            });
        }
    };
    for (k, v) in cli {
        let slot = slot_of(&mut r, k);
        if let Some(slot) = slot {
            set(slot, v, "the ssh command line".to_string());
        }
    }
    let mut active = true;
    for l in lines {
        match l.keyword.as_str() {
            "host" => {
                active = host_matches(&l.args, host);
                continue;
            }
            "match" => {
                active = l
                    .args
                    .first()
                    .is_some_and(|a| a.eq_ignore_ascii_case("all"));
                if !active {
                    r.skipped_match.push(format!("{} line {}", l.path, l.line));
                }
                continue;
            }
            _ => {}
        }
        if !active {
            continue;
        }
        let Some(first) = l.args.first() else {
            continue;
        };
        let value = if l.keyword == "proxycommand" {
            l.args.join(" ")
        } else {
            first.clone()
        };
        let origin = format!("{} line {}", l.path, l.line);
        if let Some(slot) = slot_of(&mut r, &l.keyword) {
            set(slot, &value, origin);
        }
    }
    // `HostName %h.example.com`: %h is the name given (ssh_config(5) TOKENS).
    if let Some(h) = r.hostname.as_mut() {
        h.value = h.value.replace("%h", host).replace("%%", "%");
    }
    r
}

fn slot_of<'a>(r: &'a mut Resolved, keyword: &str) -> Option<&'a mut Option<Value>> {
    Some(match keyword {
        "hostname" => &mut r.hostname,
        "port" => &mut r.port,
        "user" => &mut r.user,
        "proxycommand" => &mut r.proxy_command,
        "proxyjump" => &mut r.proxy_jump,
        "connecttimeout" => &mut r.connect_timeout,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "# mine\nHost *.internal !bastion.internal\n  ProxyJump bastion.internal\nHost gohost\n  HostName 127.0.0.1\n  Port=2222\n  User git\nMatch exec \"true\"\n  Port 9\nHost *\n  Port 22\n  ConnectTimeout 10\n  ProxyCommand nc -X 5 -x proxy:1080 %h %p\n";

    #[test]
    fn an_alias_gets_its_host_and_port_with_their_lines() {
        let lines = parse(CONFIG, "/home/u/.ssh/config");
        let r = resolve("gohost", &Vec::new(), &lines);
        assert_eq!(r.hostname.as_ref().unwrap().value, "127.0.0.1");
        assert_eq!(
            r.hostname.as_ref().unwrap().origin,
            "/home/u/.ssh/config line 5"
        );
        // First obtained value wins: the Host * Port comes too late.
        assert_eq!(r.port.as_ref().unwrap().value, "2222");
        assert_eq!(
            r.port.as_ref().unwrap().origin,
            "/home/u/.ssh/config line 6"
        );
        assert_eq!(r.user.as_ref().unwrap().value, "git");
        assert_eq!(r.connect_timeout.as_ref().unwrap().value, "10");
        assert_eq!(
            r.proxy_command.as_ref().unwrap().value,
            "nc -X 5 -x proxy:1080 %h %p"
        );
        assert_eq!(r.skipped_match, vec!["/home/u/.ssh/config line 8"]);
        assert_eq!(r.proxy_jump, None);
    }

    #[test]
    fn negated_patterns_and_the_command_line() {
        let lines = parse(CONFIG, "c");
        let r = resolve("db.internal", &Vec::new(), &lines);
        assert_eq!(r.proxy_jump.unwrap().value, "bastion.internal");
        let r = resolve("bastion.internal", &Vec::new(), &lines);
        assert_eq!(r.proxy_jump, None);
        let cli = vec![("port".to_string(), "7".to_string())];
        let r = resolve("gohost", &cli, &lines);
        assert_eq!(r.port.unwrap().origin, "the ssh command line");
    }

    #[test]
    fn patterns() {
        assert!(glob("*.Example.com", "git.example.com"));
        assert!(glob("h?st", "host"));
        assert!(!glob("h?st", "hoost"));
        assert!(host_matches(&["a".into(), "b*".into()], "bee"));
        assert!(!host_matches(&["*".into(), "!bee".into()], "bee"));
        assert_eq!(
            split_args("ProxyCommand \"a b\" c"),
            vec!["ProxyCommand", "a b", "c"]
        );
    }
}
