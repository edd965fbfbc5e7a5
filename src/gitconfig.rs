//! git's configuration syntax and the URL rewriting it drives, as pure functions on text:
//! no file is read here (the gathering layer, `remote.rs`, reads the files a process's git
//! would read and hands their text in), so the classifier and tests can use it anywhere.
//!
//! Syntax (git-config(1) "CONFIGURATION FILE"): `[section]`, `[section "subsection"]`
//! (subsection case-sensitive), the old `[section.subsection]` (lowercased), `name = value`
//! or a bare `name` (true); `#`/`;` start a comment outside double quotes; `\"`, `\\`,
//! `\n`, `\t`, `\b` escapes; a `\` at the end of a line continues the value. Section and
//! variable names are case-insensitive.
//!
//! Rewriting (git-config(1) `url.<base>.insteadOf`): a URL that starts with an insteadOf
//! value has that prefix replaced by `<base>`; when several match, the longest wins (git
//! `remote.c` `alias_url`, first seen on a tie). `pushInsteadOf` applies to pushes only,
//! and go only fetches.

/// Where an entry was set: a file and line, or a command-line / environment setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    File {
        path: String,
        line: usize,
    },
    /// `git -c` (`GIT_CONFIG_PARAMETERS` in git's children) or `GIT_CONFIG_KEY_n`.
    Command(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{path} line {line}"),
            Origin::Command(how) => f.write_str(how),
        }
    }
}

/// One `section[.subsection].name = value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Lowercased.
    pub section: String,
    /// As written (case-sensitive), when quoted; lowercased in the old dotted form.
    pub subsection: Option<String>,
    /// Lowercased.
    pub name: String,
    /// None for a bare `name` (boolean true).
    pub value: Option<String>,
    pub origin: Origin,
}

impl Entry {
    /// `section.subsection.name`, with section and name lowercased.
    pub fn key(&self) -> String {
        match &self.subsection {
            Some(s) => format!("{}.{s}.{}", self.section, self.name),
            None => format!("{}.{}", self.section, self.name),
        }
    }
}

/// The entries of one config file, in order. Lines git would reject are skipped.
pub fn parse(text: &str, path: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut subsection: Option<String> = None;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let mut line = lines[i].trim_start().to_string();
        i += 1;
        if line.starts_with('[') {
            let Some(end) = header_end(&line) else {
                continue;
            };
            let header = &line[1..end];
            match header.split_once(char::is_whitespace) {
                Some((s, rest)) => {
                    let rest = rest.trim();
                    let Some(q) = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
                        continue;
                    };
                    section = s.to_ascii_lowercase();
                    subsection = Some(q.replace("\\\"", "\"").replace("\\\\", "\\"));
                }
                None => match header.split_once('.') {
                    Some((s, sub)) => {
                        section = s.to_ascii_lowercase();
                        subsection = Some(sub.to_ascii_lowercase());
                    }
                    None => {
                        section = header.to_ascii_lowercase();
                        subsection = None;
                    }
                },
            }
            line = line[end + 1..].to_string();
            if line.trim().is_empty() {
                continue;
            }
            line = line.trim_start().to_string();
        }
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') || section.is_empty() {
            continue;
        }
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(line.len());
        let name = line[..name_end].to_ascii_lowercase();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let rest = line[name_end..].trim_start();
        let value = if let Some(v) = rest.strip_prefix('=') {
            // A trailing backslash continues the value on the next line.
            let mut raw = v.to_string();
            while ends_continued(&raw) && i < lines.len() {
                raw.pop();
                raw.push_str(lines[i]);
                i += 1;
            }
            Some(unquote(&raw))
        } else if rest.is_empty() || rest.starts_with('#') || rest.starts_with(';') {
            None
        } else {
            continue;
        };
        out.push(Entry {
            section: section.clone(),
            subsection: subsection.clone(),
            name,
            value,
            origin: Origin::File {
                path: path.to_string(),
                line: lineno,
            },
        });
    }
    out
}

/// The `]` closing a section header, skipping quoted text.
fn header_end(line: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ']' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// Does this raw value end in a continuation backslash (outside a comment)?
fn ends_continued(raw: &str) -> bool {
    let mut quoted = false;
    let mut escaped = false;
    let mut last_escape = false;
    for c in raw.chars() {
        last_escape = false;
        match c {
            _ if escaped => escaped = false,
            '\\' => {
                escaped = true;
                last_escape = true;
            }
            '"' => quoted = !quoted,
            '#' | ';' if !quoted => return false,
            _ => {}
        }
    }
    last_escape && escaped
}

/// A value as git reads it: quotes removed, escapes resolved, comments and surrounding
/// unquoted whitespace dropped.
fn unquote(raw: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut pending_space = String::new();
    let mut chars = raw.trim_start().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push_str(&pending_space);
                pending_space.clear();
                quoted = !quoted;
            }
            '\\' => {
                out.push_str(&pending_space);
                pending_space.clear();
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('b') => {
                        out.pop();
                    }
                    Some(o) => out.push(o),
                    None => {}
                }
            }
            '#' | ';' if !quoted => break,
            c if c.is_whitespace() && !quoted => pending_space.push(c),
            c => {
                out.push_str(&pending_space);
                pending_space.clear();
                out.push(c);
            }
        }
    }
    out
}

/// A `name=value` given with `git -c` or one of `GIT_CONFIG_PARAMETERS`'s quoted items:
/// `section[.subsection].name`, the subsection being everything between the first and the
/// last dot.
pub fn entry_from_key(key: &str, value: Option<&str>, origin: Origin) -> Option<Entry> {
    let (section, rest) = key.split_once('.')?;
    let (subsection, name) = match rest.rsplit_once('.') {
        Some((sub, name)) => (Some(sub.to_string()), name),
        None => (None, rest),
    };
    (!section.is_empty() && !name.is_empty()).then(|| Entry {
        section: section.to_ascii_lowercase(),
        subsection,
        name: name.to_ascii_lowercase(),
        value: value.map(str::to_string),
        origin,
    })
}

/// The items of `GIT_CONFIG_PARAMETERS`: `'key=value'` or `'key'='value'`, space separated,
/// single quotes with `'\''` for a quote (git `quote.c` `sq_quote_buf`).
pub fn parse_parameters(params: &str) -> Vec<Entry> {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = params.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' if !quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
        .iter()
        .filter_map(|w| {
            let (k, v) = match w.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (w.as_str(), None),
            };
            entry_from_key(
                k,
                v,
                Origin::Command("GIT_CONFIG_PARAMETERS (git -c)".into()),
            )
        })
        .collect()
}

/// A URL rewritten by `url.<base>.insteadOf`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrite {
    pub url: String,
    pub base: String,
    pub instead_of: String,
    pub origin: Origin,
}

/// Apply the longest matching `url.<base>.insteadOf` to `url` (None: no rule matches).
pub fn rewrite(url: &str, entries: &[Entry]) -> Option<Rewrite> {
    let mut best: Option<&Entry> = None;
    let mut best_len = 0;
    for e in entries {
        if e.section != "url" || e.name != "insteadof" || e.subsection.is_none() {
            continue;
        }
        let Some(prefix) = e.value.as_deref() else {
            continue;
        };
        if url.starts_with(prefix) && (best.is_none() || prefix.len() > best_len) {
            best = Some(e);
            best_len = prefix.len();
        }
    }
    let e = best?;
    let base = e.subsection.clone()?;
    Some(Rewrite {
        url: format!("{base}{}", &url[best_len..]),
        base,
        instead_of: e.value.clone().unwrap_or_default(),
        origin: e.origin.clone(),
    })
}

/// The last value of `key` (git's "last one wins" for single-valued settings).
pub fn last<'a>(entries: &'a [Entry], key: &str) -> Option<&'a Entry> {
    entries.iter().rev().find(|e| e.key() == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_values_and_lines() {
        let text = "# top\n[core]\n\tbare = true\n  askPass\n[remote \"origin\"]\n\turl = \"https://x/a b\" ; comment\n[url \"ssh://git@h/\"] insteadOf = https://h/\n[Sub.Dotted]\nKey = v \\\n  continued\n";
        let e = parse(text, "/etc/gitconfig");
        let keys: Vec<String> = e.iter().map(Entry::key).collect();
        assert_eq!(
            keys,
            vec![
                "core.bare",
                "core.askpass",
                "remote.origin.url",
                "url.ssh://git@h/.insteadof",
                "sub.dotted.key"
            ]
        );
        assert_eq!(e[1].value, None);
        assert_eq!(e[2].value.as_deref(), Some("https://x/a b"));
        assert_eq!(
            e[2].origin,
            Origin::File {
                path: "/etc/gitconfig".into(),
                line: 6
            }
        );
        assert_eq!(e[3].value.as_deref(), Some("https://h/"));
        assert_eq!(e[4].value.as_deref(), Some("v   continued"));
        assert_eq!(e[3].origin.to_string(), "/etc/gitconfig line 7");
    }

    #[test]
    fn broken_lines_are_skipped() {
        let e = parse("orphan = 1\n[unterminated\n[ok]\n=novalue\nx = 1\n", "f");
        assert_eq!(e.iter().map(Entry::key).collect::<Vec<_>>(), vec!["ok.x"]);
    }

    #[test]
    fn longest_insteadof_wins_and_pushinsteadof_does_not_count() {
        let text = "[url \"ssh://short/\"]\n\tinsteadOf = https://\n[url \"ssh://git@long/\"]\n\tinsteadOf = https://git.example.com/\n[url \"ssh://push/\"]\n\tpushInsteadOf = https://git.example.com/org/\n";
        let e = parse(text, "c");
        let r = rewrite("https://git.example.com/org/x.git", &e).unwrap();
        assert_eq!(r.url, "ssh://git@long/org/x.git");
        assert_eq!(r.instead_of, "https://git.example.com/");
        assert_eq!(r.origin.to_string(), "c line 4");
        assert_eq!(
            rewrite("https://other/x", &e).unwrap().url,
            "ssh://short/other/x"
        );
        assert_eq!(rewrite("git@h:x", &e), None);
    }

    #[test]
    fn command_line_parameters() {
        let e = parse_parameters(
            "'url.ssh://git@127.0.0.1:22/.insteadOf=https://h/' 'core.askpass'='/bin/ask' 'it'\\''s.x=1'",
        );
        assert_eq!(e[0].key(), "url.ssh://git@127.0.0.1:22/.insteadof");
        assert_eq!(e[0].value.as_deref(), Some("https://h/"));
        assert_eq!(e[1].key(), "core.askpass");
        assert_eq!(e[1].value.as_deref(), Some("/bin/ask"));
        assert_eq!(e[2].section, "it's");
        let r = rewrite("https://h/o/r", &e).unwrap();
        assert_eq!(r.url, "ssh://git@127.0.0.1:22/o/r");
        assert_eq!(r.origin.to_string(), "GIT_CONFIG_PARAMETERS (git -c)");
    }
}
