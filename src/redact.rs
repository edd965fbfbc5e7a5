//! Removing secrets from what gohang records.
//!
//! Two layers:
//! - at collection: passwords in URLs are removed and only a whitelist of environment
//!   variables is kept ([`redact_urls`], [`filter_environ`]), so no report or saved evidence
//!   holds them;
//! - before a bundle is written: a [`Redactor`], built once with the secrets gohang knows
//!   (values of secret-named variables, secrets given on the command lines it saw, the
//!   home directory, the user name), makes one pass over every byte that goes into the
//!   archive, with pattern rules for what it cannot know in advance (URL userinfo,
//!   credential headers, Bearer/Basic credentials, JWTs, `NAME=value` assignments, the
//!   arguments of secret-named options, netrc lines and paths). It counts what it removed
//!   by kind and name, never by value.
//!
//! It must never widen what is kept: a rule may over-redact, never under-redact.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// `https://user:secret@host/x` → `https://REDACTED@host/x`, in every comma- or
/// pipe-separated element (GOPROXY lists).
pub fn redact_urls(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find([',', '|', ' ']).unwrap_or(tail.len());
        let (authority_and_path, after) = tail.split_at(end);
        let auth_end = authority_and_path
            .find('/')
            .unwrap_or(authority_and_path.len());
        match authority_and_path[..auth_end].rfind('@') {
            Some(at) => {
                out.push_str(URL_MARK);
                out.push_str(&authority_and_path[at..]);
            }
            None => out.push_str(authority_and_path),
        }
        rest = after;
        if rest.is_empty() {
            break;
        }
        let sep = &rest[..1];
        out.push_str(sep);
        rest = &rest[1..];
    }
    out.push_str(rest);
    out
}

/// Environment variables worth keeping: they steer where the go command connects, how it
/// picks a toolchain, and whether git or ssh may prompt. Nothing else is kept.
const ENV_KEEP: &[&str] = &[
    "GOPROXY",
    "GOSUMDB",
    "GONOSUMDB",
    "GONOSUMCHECK",
    "GOPRIVATE",
    "GONOPROXY",
    "GOINSECURE",
    "GOTOOLCHAIN",
    "GOFLAGS",
    "GOENV",
    "GOROOT",
    "GOPATH",
    "GOMODCACHE",
    "GOCACHE",
    "GOOS",
    "GOARCH",
    "GOHOSTOS",
    "GOHOSTARCH",
    "GO111MODULE",
    "GOWORK",
    "GODEBUG",
    "CGO_ENABLED",
    "CC",
    "CXX",
    "AR",
    "PKG_CONFIG",
    // Set by go generate in a generator's environment: the directive's file, line, package.
    "GOFILE",
    "GOLINE",
    "GOPACKAGE",
    "GIT_TERMINAL_PROMPT",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "SSH_ASKPASS_REQUIRE",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GCM_INTERACTIVE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "HOME",
    "XDG_CONFIG_HOME",
    "DISPLAY",
];

/// Names whose values are never kept, only that they are set.
const ENV_PRESENCE_ONLY: &[&str] = &["GOAUTH"];

/// Keep the variables gohang needs from a raw `environ` (NUL-separated), with passwords
/// in URLs removed.
pub fn filter_environ(raw: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in raw.split(|&b| b == 0) {
        let entry = String::from_utf8_lossy(entry);
        let Some((k, v)) = entry.split_once('=') else {
            continue;
        };
        if ENV_KEEP.contains(&k) {
            out.insert(k.to_string(), redact_urls(v));
        } else if ENV_PRESENCE_ONLY.contains(&k) {
            out.insert(k.to_string(), "<set>".to_string());
        }
    }
    out
}

/// Replaces a secret found by a pattern rule, in every file of a bundle and in every line
/// of a trace; a rule that knows the secret's name writes `[REDACTED:NAME]`.
pub const MARK: &str = "[REDACTED]";
/// Replaces the userinfo of a URL (`https://REDACTED@host`): brackets are not allowed
/// there (RFC 3986, section 3.2.1), and the URL stays one that tools can read.
pub const URL_MARK: &str = "REDACTED";
/// Replaces a home directory when anonymizing.
pub const HOME_PLACEHOLDER: &str = "$HOME";
/// Replaces the user name when anonymizing.
pub const USER_PLACEHOLDER: &str = "$USER";
/// Values of secret-named variables at least this long are searched for everywhere;
/// shorter ones (and numbers, which would hit pids and times) only where they are assigned
/// (`NAME=value`, `"NAME": "value"`).
pub const MIN_LITERAL: usize = 6;

/// At most this many secrets are learned from command lines ([`Redactor::add_argv`]): each
/// costs a pass over every file.
pub const MAX_ARGV_SECRETS: usize = 64;

/// Parts of variable names (split at `_`, `-`, `.`) that make the value a secret.
const SECRET_FRAGMENTS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "COOKIE",
    "PRIVATE",
    "APIKEY",
    "SESSION",
    "NETRC",
    "JWT",
];
/// Whole parts that do.
const SECRET_PARTS: &[&str] = &["PASS", "CREDS", "PAT"];
/// Names that look secret and are not: module path patterns the go command needs.
const NOT_SECRET: &[&str] = &[
    "GOPRIVATE",
    "GONOPROXY",
    "GONOSUMDB",
    "GONOSUMCHECK",
    "GOINSECURE",
];

/// Does a variable (or header, or key) of this name hold a secret? `GITHUB_TOKEN`,
/// `MY_API_KEY`, `DB_PASSWORD`, `GOAUTH`, `Authorization`, `session`… Case-insensitive.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if NOT_SECRET.contains(&upper.as_str()) {
        return false;
    }
    upper.split(['_', '-', '.']).any(|part| {
        SECRET_FRAGMENTS.iter().any(|f| part.contains(f))
            || SECRET_PARTS.contains(&part)
            || part.ends_with("KEY")
            || part.ends_with("KEYS")
            || part.ends_with("AUTH")
            // AUTH_TOKEN, AUTHORIZATION — but not GIT_AUTHOR_NAME.
            || (part.starts_with("AUTH")
                && (!part.starts_with("AUTHOR") || part.starts_with("AUTHORIZ")))
    })
}

/// The passwords of the URLs in a value (`https://u:pw@h,direct` → `pw`).
pub fn url_passwords(v: &str) -> Vec<String> {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = find(b, b"://", from) {
        let start = p + 3;
        let end = authority_end(b, start);
        if let Some(at) = b[start..end].iter().rposition(|&c| c == b'@') {
            let userinfo = &v[start..start + at];
            if let Some((_, pw)) = userinfo.split_once(':')
                && !pw.is_empty()
            {
                out.push(pw.to_string());
            }
        }
        from = end.max(start);
    }
    out
}

/// What a rule removed (names in `redactions.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RedactionKind {
    /// The value of a secret-named environment variable, wherever it appeared.
    EnvValue,
    /// `NAME=value`, `"NAME": "value"` or `NAME: value` with a secret-like NAME.
    Assignment,
    /// `user:password@` in a URL.
    UrlUserinfo,
    /// The argument of a secret-named option (`--password v`, `--token v`), or the password
    /// of `-u user:password`.
    Argument,
    /// An `Authorization` / `Proxy-Authorization` header value, or a Bearer/Basic credential.
    Authorization,
    /// A JSON Web Token (`eyJ….….…`), wherever it appears.
    Jwt,
    /// `login`/`password`/`account` values of netrc lines, and paths of netrc files.
    Netrc,
    /// The body of a PEM private key block (`-----BEGIN … PRIVATE KEY-----` to `END`).
    PrivateKey,
    /// The home directory (replaced by `$HOME`).
    HomeDir,
    /// The user name (replaced by `$USER`).
    UserName,
}

/// One line of `redactions.json`: what was removed, how often, where. Never the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Redaction {
    pub kind: RedactionKind,
    /// The variable or header name, when the rule knows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub count: u64,
    pub files: Vec<String>,
}

#[derive(Clone, Debug)]
struct Literal {
    needle: Vec<u8>,
    name: String,
    /// How it was learned: [`RedactionKind::EnvValue`] from a variable, the rule's kind
    /// from a command line.
    kind: RedactionKind,
}

/// A replacement found by one rule.
struct Span {
    start: usize,
    end: usize,
    with: String,
    kind: RedactionKind,
    name: Option<String>,
}

/// Removes secrets from text before it is written anywhere. Build it once with everything
/// gohang knows ([`Redactor::add_env`], [`Redactor::add_environ`], [`Redactor::add_secret`],
/// [`Redactor::add_home`], [`Redactor::add_user`]), then pass every file through
/// [`Redactor::redact`].
#[derive(Debug, Default)]
pub struct Redactor {
    literals: Vec<Literal>,
    homes: Vec<String>,
    users: Vec<String>,
    anonymize: bool,
    known: BTreeSet<String>,
    /// Secrets learned from command lines so far (bounded by [`MAX_ARGV_SECRETS`]).
    from_argv: usize,
    tally: BTreeMap<(RedactionKind, Option<String>), (u64, BTreeSet<String>)>,
}

impl Redactor {
    /// `anonymize`: also replace the home directory and user name (`--no-anonymize` clears it).
    pub fn new(anonymize: bool) -> Redactor {
        Redactor {
            anonymize,
            ..Redactor::default()
        }
    }

    pub fn anonymizes(&self) -> bool {
        self.anonymize
    }

    /// Search for `value` everywhere, as the secret `name`. Too short or purely numeric
    /// values are left to the assignment rules (see [`MIN_LITERAL`]).
    pub fn add_secret(&mut self, name: &str, value: &str) {
        self.add_literal(name, value, RedactionKind::EnvValue);
    }

    fn add_literal(&mut self, name: &str, value: &str, kind: RedactionKind) {
        let value = value.trim();
        if value.len() < MIN_LITERAL || value.bytes().all(|b| b.is_ascii_digit()) {
            return;
        }
        self.known.insert(name.to_string());
        // As it appears in JSON too (quotes, backslashes, control characters escaped).
        let json = serde_json::to_string(value).expect("a string serializes");
        let json = &json[1..json.len() - 1];
        for needle in [value, json] {
            if !self.literals.iter().any(|l| l.needle == needle.as_bytes()) {
                self.literals.push(Literal {
                    needle: needle.as_bytes().to_vec(),
                    name: name.to_string(),
                    kind,
                });
            }
        }
        self.literals
            .sort_by_key(|l| std::cmp::Reverse(l.needle.len()));
    }

    /// Learn the secrets of an environment: values of secret-named variables and the
    /// passwords of URLs in any value.
    pub fn add_env<I, K, V>(&mut self, vars: I)
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        for (k, v) in vars {
            let (k, v) = (k.as_ref(), v.as_ref());
            if is_secret_name(k) {
                self.add_secret(k, v);
            }
            for pw in url_passwords(v) {
                self.add_secret(&format!("{k}.url-password"), &pw);
            }
        }
    }

    /// [`Redactor::add_env`] for a raw `environ` (NUL-separated `NAME=value`).
    pub fn add_environ(&mut self, raw: &[u8]) {
        let vars: Vec<(String, String)> = raw
            .split(|&b| b == 0)
            .filter_map(|e| {
                let e = String::from_utf8_lossy(e);
                let (k, v) = e.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect();
        self.add_env(vars);
    }

    /// Learn the secrets of a command line: what the pattern rules would remove from it (a
    /// secret-named option's argument, the password of `-u user:password`, a credential
    /// header's value, `NAME=value`, a JWT, a URL's password), so that a value is also
    /// removed where it appears without its option: echoed by the command, passed on to
    /// its children, written in a trace. At most [`MAX_ARGV_SECRETS`] are learned; the
    /// pattern rules still remove the rest next to their options.
    pub fn add_argv<S: AsRef<str>>(&mut self, argv: &[S]) {
        let args: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
        // Named `argv:` and the option, header or variable: where it was learned, and not
        // shaped like an option itself (redactions.json lists the names).
        let mut found: Vec<(String, String, RedactionKind)> = Vec::new();
        for a in &args {
            for pw in url_passwords(a) {
                found.push((
                    "argv:url-password".to_string(),
                    pw,
                    RedactionKind::UrlUserinfo,
                ));
            }
        }
        // The rules read the argv as samples.json prints it: a JSON array, one per line.
        let json = serde_json::to_string_pretty(&args).expect("strings serialize");
        let b = json.as_bytes();
        let rules: [Rule; 5] = [
            authorization_spans,
            credential_spans,
            jwt_spans,
            assignment_spans,
            argument_spans,
        ];
        for rule in rules {
            for s in rule(b) {
                let raw = String::from_utf8_lossy(&b[s.start..s.end]);
                let value = serde_json::from_str::<String>(&format!("\"{raw}\""))
                    .unwrap_or_else(|_| raw.into_owned());
                let name = s
                    .name
                    .unwrap_or_else(|| format!("{:?}", s.kind).to_lowercase());
                // An Authorization header's scheme word stays, as the rule leaves it.
                let value = match value.split_once(' ') {
                    Some((scheme, rest))
                        if name.to_ascii_lowercase().ends_with("authorization")
                            && scheme.len() <= 12
                            && scheme.bytes().all(|c| c.is_ascii_alphabetic()) =>
                    {
                        rest.to_string()
                    }
                    _ => value,
                };
                found.push((format!("argv:{name}"), value, s.kind));
            }
        }
        for (name, value, kind) in found {
            if self.from_argv >= MAX_ARGV_SECRETS {
                return;
            }
            let before = self.literals.len();
            self.add_literal(&name, &value, kind);
            if self.literals.len() > before {
                self.from_argv += 1;
            }
        }
    }

    /// [`Redactor::redact`] for a command line kept as a list (`manifest.json`'s
    /// `target`): the rules see it as a JSON array, so an option and its argument are read
    /// together, as in `samples.json`.
    pub fn redact_argv<S: AsRef<str>>(&mut self, file: &str, argv: &[S]) -> Vec<String> {
        let args: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
        let json = serde_json::to_string_pretty(&args).expect("strings serialize");
        let red = self.redact(file, json.as_bytes());
        match serde_json::from_slice::<Vec<String>>(&red) {
            Ok(v) if v.len() == args.len() => v,
            // Never expected (the rules stop at quotes); never fall back to the input.
            _ => vec![MARK.to_string(); args.len()],
        }
    }

    /// A home directory to replace by `$HOME` (when anonymizing). `/` and relative paths
    /// are ignored.
    pub fn add_home(&mut self, home: &str) {
        let home = home.trim_end_matches('/');
        if !self.anonymize || !home.starts_with('/') || home.len() < 2 {
            return;
        }
        if !self.homes.iter().any(|h| h == home) {
            self.homes.push(home.to_string());
            self.homes.sort_by_key(|h| std::cmp::Reverse(h.len()));
        }
    }

    /// A user name to replace by `$USER` (when anonymizing), as a whole word. `root` and
    /// names shorter than 3 characters are not personal or would mangle the text.
    pub fn add_user(&mut self, name: &str) {
        if !self.anonymize || name.len() < 3 || name == "root" || !name.bytes().all(is_word) {
            return;
        }
        if !self.users.iter().any(|u| u == name) {
            self.users.push(name.to_string());
            self.users.sort_by_key(|u| std::cmp::Reverse(u.len()));
        }
    }

    /// Names of the variables whose values were searched for.
    pub fn known_names(&self) -> Vec<String> {
        self.known.iter().cloned().collect()
    }

    /// The bytes of `file` with every secret replaced.
    pub fn redact(&mut self, file: &str, input: &[u8]) -> Vec<u8> {
        let mut buf = input.to_vec();
        self.redact_in_place(file, &mut buf);
        buf
    }

    /// [`Redactor::redact`] on a buffer, which is left alone (not copied) while no rule
    /// finds anything: most lines of a trace.
    fn redact_in_place(&mut self, file: &str, buf: &mut Vec<u8>) {
        // URLs first: a known password inside one must not hide its user from the rule.
        let spans = url_userinfo_spans(buf);
        self.apply(file, buf, spans);
        for i in 0..self.literals.len() {
            let l = &self.literals[i];
            let spans = literal_spans(buf, &l.needle, |_| {
                (
                    format!("[REDACTED:{}]", l.name),
                    l.kind,
                    Some(l.name.clone()),
                )
            });
            self.apply(file, buf, spans);
        }
        // Each rule but two needs a word that one pass finds (replacing never makes one).
        let has = Triggers::of(buf);
        let rules: [(bool, Rule); 9] = [
            (has.pem, private_key_spans),
            (has.url, url_userinfo_spans),
            (has.authorization, authorization_spans),
            (has.credential, credential_spans),
            (has.jwt, jwt_spans),
            (true, assignment_spans),
            (true, argument_spans),
            (has.netrc_text, netrc_line_spans),
            (has.netrc_path, netrc_path_spans),
        ];
        for (may, rule) in rules {
            if may {
                let spans = rule(buf);
                self.apply(file, buf, spans);
            }
        }
        if self.anonymize {
            for i in 0..self.homes.len() {
                let h = self.homes[i].as_bytes();
                let spans = literal_spans(buf, h, |_| {
                    (HOME_PLACEHOLDER.to_string(), RedactionKind::HomeDir, None)
                })
                .into_iter()
                .filter(|s| stands_alone(buf, s, is_path_char))
                .collect();
                self.apply(file, buf, spans);
            }
            for i in 0..self.users.len() {
                let u = self.users[i].as_bytes();
                let spans = literal_spans(buf, u, |_| {
                    (USER_PLACEHOLDER.to_string(), RedactionKind::UserName, None)
                })
                .into_iter()
                .filter(|s| stands_alone(buf, s, is_word))
                .collect();
                self.apply(file, buf, spans);
            }
        }
    }

    /// [`Redactor::redact`] for text.
    pub fn redact_str(&mut self, file: &str, s: &str) -> String {
        String::from_utf8_lossy(&self.redact(file, s.as_bytes())).into_owned()
    }

    /// What was removed so far, by kind and name.
    pub fn redactions(&self) -> Vec<Redaction> {
        self.tally
            .iter()
            .map(|((kind, name), (count, files))| Redaction {
                kind: *kind,
                name: name.clone(),
                count: *count,
                files: files.iter().cloned().collect(),
            })
            .collect()
    }

    /// Replace `spans` in `buf` and count them.
    fn apply(&mut self, file: &str, buf: &mut Vec<u8>, spans: Vec<Span>) {
        if spans.is_empty() {
            return;
        }
        let mut out = Vec::with_capacity(buf.len());
        let mut at = 0;
        for s in spans {
            if s.start < at {
                continue; // overlaps the previous one: already covered
            }
            out.extend_from_slice(&buf[at..s.start]);
            out.extend_from_slice(s.with.as_bytes());
            at = s.end;
            let e = self.tally.entry((s.kind, s.name)).or_default();
            e.0 += 1;
            e.1.insert(file.to_string());
        }
        out.extend_from_slice(&buf[at..]);
        *buf = out;
    }
}

/// Which of the words the pattern rules start from a text holds, found in one pass: a
/// rule whose word is missing cannot find anything, and is not run (most lines of a trace
/// hold none).
#[derive(Clone, Copy, Debug, Default)]
struct Triggers {
    url: bool,
    pem: bool,
    authorization: bool,
    credential: bool,
    jwt: bool,
    netrc_text: bool,
    netrc_path: bool,
}

impl Triggers {
    fn of(b: &[u8]) -> Triggers {
        let mut t = Triggers::default();
        let at = |i: usize, w: &[u8]| b[i..].starts_with(w);
        let at_ci = |i: usize, w: &[u8]| {
            b.len() - i >= w.len() && b[i..i + w.len()].eq_ignore_ascii_case(w)
        };
        for (i, &c) in b.iter().enumerate() {
            match c {
                b':' => t.url |= at(i, b"://"),
                b'-' => t.pem |= at(i, PEM_BEGIN),
                b'a' | b'A' => t.authorization |= at_ci(i, b"authorization"),
                b'b' | b'B' => t.credential |= at_ci(i, b"bearer") || at_ci(i, b"basic"),
                b'e' => t.jwt |= at(i, b"eyJ"),
                b'm' => t.netrc_text |= at(i, b"machine"),
                b'd' => t.netrc_text |= at(i, b"default"),
                b'.' | b'_' => t.netrc_path |= at(i + 1, b"netrc"),
                _ => {}
            }
        }
        t
    }
}

/// A pattern rule: the replacements it finds in a buffer, in order, not overlapping.
type Rule = fn(&[u8]) -> Vec<Span>;

/// Is the match not part of a longer word (as `part_of` defines a word's bytes)?
fn stands_alone(buf: &[u8], s: &Span, part_of: fn(u8) -> bool) -> bool {
    let after = buf.get(s.end).copied().is_some_and(part_of);
    let before = s.start > 0 && part_of(buf[s.start - 1]);
    !(after || before)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_path_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Position of `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| hay[i] == needle[0] && hay[i..].starts_with(needle))
}

/// Like [`find`], ignoring ASCII case.
fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0].to_ascii_lowercase();
    (from..=hay.len() - needle.len()).find(|&i| {
        hay[i].to_ascii_lowercase() == first
            && hay[i..i + needle.len()].eq_ignore_ascii_case(needle)
    })
}

fn literal_spans(
    buf: &[u8],
    needle: &[u8],
    mark: impl Fn(usize) -> (String, RedactionKind, Option<String>),
) -> Vec<Span> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = find(buf, needle, from) {
        let (with, kind, name) = mark(p);
        out.push(Span {
            start: p,
            end: p + needle.len(),
            with,
            kind,
            name,
        });
        from = p + needle.len();
    }
    out
}

/// Where the authority of a URL starting at `start` ends (path, query, a quote, a list
/// separator, white space).
fn authority_end(b: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < b.len()
        && !matches!(
            b[end],
            b'/' | b'?'
                | b'#'
                | b' '
                | b'\t'
                | b'\n'
                | b'\r'
                | b'"'
                | b'\''
                | b'<'
                | b'>'
                | b'\\'
                | b','
                | b'|'
                | b'`'
                | b')'
                | b']'
                | b'}'
                | b';'
                | 0
        )
    {
        end += 1;
    }
    end
}

/// `scheme://user:password@host` → `scheme://REDACTED@host`.
fn url_userinfo_spans(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = find(b, b"://", from) {
        let start = p + 3;
        let end = authority_end(b, start);
        if p > 0
            && b[p - 1].is_ascii_alphanumeric()
            && let Some(at) = b[start..end].iter().rposition(|&c| c == b'@')
            && at > 0
            && &b[start..start + at] != URL_MARK.as_bytes()
        {
            out.push(Span {
                start,
                end: start + at,
                with: URL_MARK.to_string(),
                kind: RedactionKind::UrlUserinfo,
                name: None,
            });
        }
        from = end.max(start);
    }
    out
}

/// Already redacted (by a more precise rule: a value with a marker inside is left as it
/// is), or a placeholder that says only that something is set.
fn is_marked(v: &[u8]) -> bool {
    v == URL_MARK.as_bytes() || v == b"<set>" || find(v, b"[REDACTED", 0).is_some()
}

/// Does the value end here? At a line end (also an escaped `\n` in JSON or strace
/// output), a quote, or a backslash (an escape inside a JSON string).
fn is_line_end(b: &[u8], i: usize, quote: Option<u8>) -> bool {
    matches!(b[i], b'\n' | b'\r' | b'"' | b'\\') || Some(b[i]) == quote
}

/// `Authorization: Bearer abc`, `"Proxy-Authorization": "Basic …"`,
/// `authorization=…`: the value goes, the scheme word stays.
fn authorization_spans(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = find_ci(b, b"authorization", from) {
        from = p + 13;
        // A word before it makes another word, unless it is an escape's letter
        // (`\r\nAuthorization:`, also printed in JSON as `\\r\\n`).
        if p > 0 && is_word(b[p - 1]) && !(p >= 2 && b[p - 2] == b'\\') {
            continue;
        }
        let name = if p >= 6 && b[p - 6..p].eq_ignore_ascii_case(b"proxy-") {
            "Proxy-Authorization"
        } else {
            "Authorization"
        };
        let mut j = p + 13;
        if j < b.len() && matches!(b[j], b'"' | b'\'') {
            j += 1;
        }
        while j < b.len() && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        if j >= b.len() || !matches!(b[j], b':' | b'=') {
            continue;
        }
        j += 1;
        while j < b.len() && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        let mut quote = None;
        if j < b.len() && matches!(b[j], b'"' | b'\'') {
            quote = Some(b[j]);
            j += 1;
        } else if b[j..].starts_with(b"\\\"") {
            quote = Some(b'"');
            j += 2;
        }
        // Keep the scheme (Bearer, Basic, token, Digest, …).
        let mut k = j;
        while k < b.len() && b[k].is_ascii_alphabetic() {
            k += 1;
        }
        let start = if k > j && k - j <= 12 && b.get(k) == Some(&b' ') {
            k + 1
        } else {
            j
        };
        let mut end = start;
        while end < b.len() && !is_line_end(b, end, quote) {
            end += 1;
        }
        if end > start && !is_marked(&b[start..end]) {
            out.push(Span {
                start,
                end,
                with: MARK.to_string(),
                kind: RedactionKind::Authorization,
                name: Some(name.to_string()),
            });
        }
        from = end.max(from);
    }
    out
}

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// `Bearer <token>` and `Basic <base64>` wherever they appear (a curl command line, a
/// header printed by a tool). A Basic credential must look like base64 (a digit or `+/=`),
/// so prose such as "basic authentication" stays.
fn credential_spans(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    for (word, name) in [(&b"bearer"[..], "Bearer"), (&b"basic"[..], "Basic")] {
        let mut from = 0;
        while let Some(p) = find_ci(b, word, from) {
            from = p + word.len();
            if p > 0 && is_word(b[p - 1]) {
                continue;
            }
            let mut j = from;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            if j == from {
                continue;
            }
            let mut end = j;
            while end < b.len() && is_token_char(b[end]) {
                end += 1;
            }
            let token = &b[j..end];
            let looks_like = token.len() >= 8
                && (name == "Bearer"
                    || token
                        .iter()
                        .any(|c| c.is_ascii_digit() || matches!(c, b'+' | b'/' | b'=')));
            if looks_like {
                out.push(Span {
                    start: j,
                    end,
                    with: MARK.to_string(),
                    kind: RedactionKind::Authorization,
                    name: Some(name.to_string()),
                });
            }
            from = end.max(from);
        }
    }
    out.sort_by_key(|s| s.start);
    out
}

/// Is `b[i]` the letter of an escape (`\n`, `\t`, `\"` in JSON or a tracer's string)? Then
/// a word may start right after it. An odd run of backslashes before it says so.
fn is_escaped(b: &[u8], i: usize) -> bool {
    b[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1
}

fn is_base64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_')
}

/// The shortest first part of a JWT: `{"a":1}` in base64url (`eyJhIjoxfQ`).
const JWT_MIN_HEADER: usize = 10;

/// A JSON Web Token wherever it appears, with or without a name or scheme before it
/// (CI job tokens, OIDC tokens): a base64url part that starts with `eyJ` (base64 of
/// `{"`), then at least two more parts after dots, the last one possibly empty (an
/// unsigned token). More parts (a JWE has five) go too.
fn jwt_spans(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = find(b, b"eyJ", from) {
        from = p + 3;
        if p > 0 && is_base64url(b[p - 1]) && !is_escaped(b, p - 1) {
            continue;
        }
        let mut end = p;
        while end < b.len() && is_base64url(b[end]) {
            end += 1;
        }
        from = end;
        if end - p < JWT_MIN_HEADER {
            continue;
        }
        let mut parts = 1;
        while end < b.len() && b[end] == b'.' {
            let mut k = end + 1;
            while k < b.len() && is_base64url(b[k]) {
                k += 1;
            }
            if k == end + 1 && parts == 1 {
                break; // `eyJ….` then nothing: no payload
            }
            parts += 1;
            end = k;
        }
        if parts >= 3 {
            out.push(Span {
                start: p,
                end,
                with: MARK.to_string(),
                kind: RedactionKind::Jwt,
                name: None,
            });
            from = end;
        }
    }
    out
}

fn is_name_char(c: u8) -> bool {
    is_word(c) || c == b'-'
}

/// Is position `s` the first non-blank of its line?
fn starts_line(b: &[u8], s: usize) -> bool {
    let mut i = s;
    while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    i == 0 || b[i - 1] == b'\n' || (i >= 2 && &b[i - 2..i] == b"\\n")
}

/// Header names that carry credentials and have no `-` (names with one, such as
/// `X-Auth-Token` or `PRIVATE-TOKEN`, are recognized by [`is_secret_name`] alone).
const CREDENTIAL_HEADERS: &[&str] = &["cookie", "authorization"];

/// Options whose argument is a header (curl, wget).
const HEADER_OPTIONS: &[&[u8]] = &[b"-H", b"--header", b"--proxy-header"];

/// Does the secret-named `name` at `s` (followed by `:`) start a header, though not at a
/// line's start? It does when it is shaped like a header name (`X-Api-Key`, `Cookie`),
/// starts a quoted string or argument (`'Token: …'`), or is the argument of `-H`.
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

/// How far back [`word_before`] looks.
const MAX_LOOKBACK: usize = 256;

/// Separators of the arguments of a command line as gohang's files print one: blanks
/// (shell words, a joined argv), quotes and commas (a JSON or strace array), brackets,
/// and the backslash of an escaped quote.
fn is_arg_sep(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'`' | b',' | b'[' | b'(' | b'\\')
}

/// The argument that ends before `end` (separators skipped), within [`MAX_LOOKBACK`]
/// bytes; `--header=` when `end` follows the `=`.
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

/// `NAME=value`, `"NAME": "value"` and `NAME: value` where NAME looks secret
/// ([`is_secret_name`]). `NAME: value` counts at a line's start, and inside a line when it
/// looks like a header ([`is_header_here`]).
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

/// The value assigned to a secret name that starts at `s`, if there is one; and where the
/// name ends.
fn assignment_at(b: &[u8], s: usize) -> (usize, Option<Span>) {
    let mut i = s;
    while i < b.len() && is_name_char(b[i]) {
        i += 1;
    }
    let name_end = i;
    // Only a name followed by one of these can be assigned (see the arms below); most words
    // are not, and cost no more.
    if !matches!(b.get(i), Some(b'"' | b'\\' | b'=' | b':')) {
        return (name_end, None);
    }
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

/// The number of backslashes right before `i`.
fn backslashes_before(b: &[u8], i: usize) -> usize {
    b[..i].iter().rev().take_while(|&&c| c == b'\\').count()
}

/// The value of the JSON member whose key (a secret name) spans `s..i`, quoted with
/// `"` escaped by `k` backslashes (`k` = 0 in plain JSON, 1 inside one JSON string, 3
/// inside two, …): the bytes between the value's quotes, or None when no string follows.
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

/// The first line of a PEM private key block; the label between may name the algorithm
/// (`RSA`, `EC`, `OPENSSH`, `ENCRYPTED`).
const PEM_BEGIN: &[u8] = b"-----BEGIN ";
const PEM_KEY_TAIL: &[u8] = b"PRIVATE KEY-----";
const PEM_END: &[u8] = b"-----END ";

/// The body of each PEM private key block, kept between its BEGIN and END lines. The body
/// ends at the END line, else at the end of the string it is in (an unescaped `"`: base64
/// has none) or of the text, so a block cut short in a tail or a trace is still removed.
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

/// What the argument of an option holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Takes {
    /// A secret, all of it (`--password v`, `--token v`, `sshpass -p v`).
    Secret,
    /// `user:password`, whose password is secret (curl's `-u`, `--user`, `--proxy-user`).
    UserPassword,
}

/// Options whose argument is `user:password` (curl; `-U` is its `--proxy-user`). Where they
/// mean something else (`git push -u origin`), the argument has no `:` and stays.
const USER_PASSWORD_OPTIONS: &[&[u8]] = &[b"-u", b"-U", b"--user", b"--proxy-user"];

/// Programs whose `-p` takes a password. Elsewhere `-p` is a port (`ssh -p 22`), a count
/// (`go build -p 4`), a parent directory flag (`mkdir -p`): not a secret.
const P_PASSWORD_PROGRAMS: &[&[u8]] = &[b"sshpass"];

/// Registry clients whose `login -p` takes a password (`docker login -u u -p v`).
const LOGIN_PROGRAMS: &[&[u8]] = &[
    b"docker", b"podman", b"nerdctl", b"buildah", b"skopeo", b"helm", b"oras",
];

/// MySQL's and MariaDB's clients take the password attached: `mysql -pVALUE`.
fn is_mysql_client(program: &[u8]) -> bool {
    program.starts_with(b"mysql") || program.starts_with(b"mariadb")
}

/// How many arguments before an option are read to know its program.
const PROGRAM_LOOKBACK: usize = 8;

/// The arguments before position `end`, nearest first, at most [`PROGRAM_LOOKBACK`],
/// each reduced to its base name (`/usr/bin/sshpass` → `sshpass`).
fn programs_before(b: &[u8], end: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = end;
    while out.len() < PROGRAM_LOOKBACK {
        let Some(w) = word_before(b, at) else { break };
        at = w.as_ptr() as usize - b.as_ptr() as usize;
        out.push(w.rsplit(|&c| c == b'/').next().unwrap_or(w));
    }
    out
}

/// Options of `sshpass` and of a registry client's `login` that take a value.
const P_PROGRAM_VALUE_OPTIONS: &[&[u8]] = &[
    b"-f",
    b"-d",
    b"-p",
    b"-P",
    b"-u",
    b"--username",
    b"--password",
];

/// Are the arguments between a program and its `-p` (nearest first) all its options,
/// with their values? `sshpass -v -P prompt -p v` is; `sshpass -f f ssh -p 22` is not.
fn only_options(between: &[&[u8]]) -> bool {
    let mut n = 0;
    let forward: Vec<&[u8]> = between.iter().rev().copied().collect();
    while n < forward.len() {
        if !forward[n].starts_with(b"-") {
            return false;
        }
        n += if P_PROGRAM_VALUE_OPTIONS.contains(&forward[n]) {
            2
        } else {
            1
        };
    }
    n == forward.len()
}

/// Does `-p` take a password here? Among `sshpass`'s own options (`sshpass -v -p v cmd`),
/// or among a registry client's `login` options (`docker login -u user -p v`,
/// `helm registry login -p v`); not in a later command (`sshpass -p v ssh -p 22`).
fn p_is_password(before: &[&[u8]]) -> bool {
    before.iter().enumerate().any(|(k, w)| {
        let program = P_PASSWORD_PROGRAMS.contains(w)
            || (*w == b"login"
                && before.get(k + 1).is_some_and(|p| {
                    LOGIN_PROGRAMS.contains(p)
                        || (*p == b"registry" && before.get(k + 2) == Some(&&b"helm"[..]))
                }));
        program && only_options(&before[..k])
    })
}

/// What the argument after `flag` holds, if it is a secret. `before` gives the
/// arguments before it (only `-p` needs them).
fn option_takes<'a>(flag: &[u8], before: impl FnOnce() -> Vec<&'a [u8]>) -> Option<Takes> {
    if USER_PASSWORD_OPTIONS.contains(&flag) {
        return Some(Takes::UserPassword);
    }
    if flag == b"-p" {
        return p_is_password(&before()).then_some(Takes::Secret);
    }
    let name = std::str::from_utf8(flag).ok()?.trim_start_matches('-');
    // One letter after one dash (`-x`) is no name; `-token` (Go's flags) is.
    let secret = name.len() >= 2
        && is_secret_name(name)
        // `--password-stdin` reads the secret elsewhere and takes no argument.
        && !name.to_ascii_lowercase().ends_with("-stdin");
    secret.then_some(Takes::Secret)
}

/// Where an argument that starts at `k` ends: at its closing quote when it opens with one
/// (`"…"` with escapes, `'…'`, `\"…\"` inside a JSON string), else at a blank, a quote or
/// a shell operator. Returns the value's start and end.
fn argument_at(b: &[u8], k: usize) -> (usize, usize) {
    if b[k..].starts_with(b"\\\"") {
        let start = k + 2;
        let end = find(b, b"\\\"", start).unwrap_or(b.len());
        let line = b[start..end].iter().position(|&c| c == b'\n');
        return (start, line.map_or(end, |l| start + l));
    }
    match b.get(k) {
        Some(&q @ (b'"' | b'\'')) => {
            let mut end = k + 1;
            while end < b.len() && b[end] != q && b[end] != b'\n' {
                end += if q == b'"' && b[end] == b'\\' { 2 } else { 1 };
            }
            (k + 1, end.min(b.len()))
        }
        _ => {
            let mut end = k;
            while end < b.len()
                && !b[end].is_ascii_whitespace()
                && !matches!(
                    b[end],
                    b'"' | b'\'' | b'`' | b'\\' | b';' | b'|' | b'&' | b'<' | b'>' | b')' | b']'
                )
            {
                end += 1;
            }
            (k, end)
        }
    }
}

/// Blanks between an option and its argument; more would not be one command line.
const MAX_GAP: usize = 64;

/// The argument after an option that ends at `j`, in the forms gohang's files print an
/// argv: shell words (`--password v`, `--password 'v'`), a JSON or strace array
/// (`"--password", "v"`, also one per line), a command line inside a JSON string
/// (`--password \"v\"`).
fn next_argument(b: &[u8], j: usize) -> Option<(usize, usize)> {
    let mut k = j;
    if b[k..].starts_with(b"\\\"") {
        k += 2;
    } else if matches!(b.get(k), Some(b'"' | b'\'')) {
        k += 1;
    }
    let comma = b.get(k) == Some(&b',');
    if comma {
        k += 1;
    }
    let gap = k;
    while k < b.len()
        && k - gap < MAX_GAP
        && (matches!(b[k], b' ' | b'\t') || (comma && matches!(b[k], b'\n' | b'\r')))
    {
        k += 1;
    }
    if (k == gap && !comma) || k >= b.len() {
        return None;
    }
    let (start, end) = argument_at(b, k);
    // `{"a": "… --token", "b": 1}`: the next string is a key, not an argument.
    let mut after = end + 1;
    while after < b.len() && matches!(b[after], b' ' | b'\t') {
        after += 1;
    }
    if b.get(end) == Some(&b'"') && b.get(after) == Some(&b':') {
        return None;
    }
    Some((start, end))
}

/// The password of a `user:password` value between `start` and `end`, as a span.
fn user_password_span(b: &[u8], start: usize, end: usize, flag: &[u8]) -> Option<Span> {
    let colon = start + b[start..end].iter().position(|&c| c == b':')?;
    let pw = &b[colon + 1..end];
    // `-u https://…` is not a user and a password.
    if pw.is_empty() || pw.starts_with(b"//") || is_marked(pw) {
        return None;
    }
    Some(Span {
        start: colon + 1,
        end,
        with: MARK.to_string(),
        kind: RedactionKind::Argument,
        name: Some(String::from_utf8_lossy(flag).into_owned()),
    })
}

fn secret_span(b: &[u8], start: usize, end: usize, flag: &[u8]) -> Option<Span> {
    (end > start && !is_marked(&b[start..end])).then(|| Span {
        start,
        end,
        with: MARK.to_string(),
        kind: RedactionKind::Argument,
        name: Some(String::from_utf8_lossy(flag).into_owned()),
    })
}

/// Arguments of options that carry secrets, wherever a command line is printed:
/// `--password v`, `--token v`, `-token v` (any secret-looking name, see
/// [`is_secret_name`]); `-u user:pw`, `--user user:pw`, `--user=user:pw`, `-uuser:pw` (the
/// user stays); `-p v` only after `sshpass` or a registry client's `login`, and
/// `-pVALUE` after `mysql`/`mariadb`. `--token=v` is an assignment ([`assignment_spans`]);
/// `-H 'Name: v'` a header.
fn argument_spans(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'-' || !(i == 0 || is_arg_sep(b[i - 1]) || is_escaped(b, i - 1)) {
            i += 1;
            continue;
        }
        let s = i;
        let ns = if b.get(s + 1) == Some(&b'-') {
            s + 2
        } else {
            s + 1
        };
        let mut j = ns;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'-' | b'_' | b'.')) {
            j += 1;
        }
        if j == ns || !b[ns].is_ascii_alphabetic() {
            i = j.max(s + 1);
            continue;
        }
        let span = option_span(b, s, ns, j);
        match span {
            Some(span) => {
                i = span.end;
                out.push(span);
            }
            None => i = j,
        }
    }
    out
}

/// The secret of the option `b[s..j]` (its name starts at `ns`), attached or in the
/// next argument.
fn option_span(b: &[u8], s: usize, ns: usize, j: usize) -> Option<Span> {
    let flag = &b[s..j];
    let ends = j == b.len() || is_arg_sep(b[j]) || b[j] == b']';
    if ends {
        match option_takes(flag, || programs_before(b, s)) {
            Some(Takes::Secret) => {
                let (start, end) = next_argument(b, j)?;
                return secret_span(b, start, end, flag);
            }
            Some(Takes::UserPassword) => {
                let (start, end) = next_argument(b, j)?;
                return user_password_span(b, start, end, flag);
            }
            None => {}
        }
    }
    if b.get(j) == Some(&b'=') && USER_PASSWORD_OPTIONS.contains(&flag) {
        let (start, end) = argument_at(b, j + 1);
        return user_password_span(b, start, end, flag);
    }
    // Attached to a short option: `-uuser:pw`, `mysql -pVALUE`.
    if ns == s + 1 && j > ns + 1 {
        let (start, end) = argument_at(b, ns + 1);
        match b[ns] {
            b'u' | b'U' => return user_password_span(b, start, end, &b[s..ns + 1]),
            b'p' if programs_before(b, s).into_iter().any(is_mysql_client) => {
                return secret_span(b, start, end, &b[s..ns + 1]);
            }
            _ => {}
        }
    }
    None
}

/// Keywords of a netrc file that take a value to withhold.
const NETRC_VALUE_KEYS: &[&[u8]] = &[b"login", b"password", b"passwd", b"account"];

/// The `login`, `password` and `account` values of netrc text (`machine h login u
/// password p`, on one line or spread over several), also inside a trace's escaped string
/// (`read(3, "machine h login u\npassword p", …)`). A line counts as netrc when `machine
/// HOST` is followed by one of those keywords (or ends the line), or when it continues such
/// a line with a keyword.
fn netrc_line_spans(b: &[u8]) -> Vec<Span> {
    // Netrc text starts at `machine` or `default`: without either, nothing to read.
    if find(b, b"machine", 0).is_none() && find(b, b"default", 0).is_none() {
        return Vec::new();
    }
    netrc_scan(b, false).0
}

/// [`netrc_line_spans`], from a state: `continuing` when the text goes on from netrc text
/// (a trace's earlier line). Also says whether its last line with words was netrc text,
/// to go on with in the next.
fn netrc_scan(b: &[u8], mut continuing: bool) -> (Vec<Span>, bool) {
    let mut out = Vec::new();
    let mut last = continuing;
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
            NETRC_VALUE_KEYS.contains(&w) || w == b"machine" || w == b"default" || w == b"macdef"
        };
        let mut netrc = continuing && !toks.is_empty() && is_key(word(0));
        let mut from = 0;
        if let Some(m) = (0..toks.len()).find(|&i| word(i) == b"machine" || word(i) == b"default") {
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
        if !toks.is_empty() {
            last = netrc;
        }
    }
    (out, last)
}

/// Lines, split at newlines and at the escape `\n` of JSON and strace strings, escaped
/// any number of times (`\\n` is a tracer's `\n` inside JSON).
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

/// Words of a line: separated by white space, quotes and escapes (`\t`).
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

/// Paths of netrc files (`/home/u/.netrc`, `C:/…/_netrc`): which file holds the user's
/// credentials is itself withheld.
fn netrc_path_spans(b: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    for name in [&b".netrc"[..], b"_netrc"] {
        let mut from = 0;
        while let Some(p) = find(b, name, from) {
            from = p + name.len();
            if b.get(from).copied().is_some_and(is_path_char) {
                continue;
            }
            let mut start = p;
            while start > 0
                && (is_path_char(b[start - 1]) || matches!(b[start - 1], b'/' | b'~' | b'$'))
            {
                start -= 1;
            }
            if !b[start..p].contains(&b'/') {
                continue;
            }
            out.push(Span {
                start,
                end: from,
                with: "[REDACTED:netrc-path]".to_string(),
                kind: RedactionKind::Netrc,
                name: Some("path".to_string()),
            });
        }
    }
    out.sort_by_key(|s| s.start);
    out
}

/// How many lines a block left open may go on over: a PEM key written or read 64
/// characters a line (an 8192-bit RSA key is about 100 lines), a netrc file printed a line
/// at a time. Past it the next lines are read as new text again.
pub const MAX_CARRIED_LINES: u32 = 512;

/// What a line of a trace leaves open for the next data of the same descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Open {
    /// A private key's body: everything up to its `-----END` line goes.
    PrivateKey,
    /// Netrc text: a line that goes on with a keyword is netrc text too.
    Netrc,
}

#[derive(Clone, Copy, Debug)]
struct Carried {
    open: Open,
    lines: u32,
}

/// Calls whose result is a new descriptor: a block left open on that number is over.
const NEW_FD_CALLS: &[&str] = &["open", "openat", "openat2", "creat", "accept", "accept4"];

/// The parts of a tracer's line that say what continues what: strace's `1234
/// 12:00:00.000001 read(3, "…", 4096) = 60`, `1234 … read(3, <unfinished ...>` then `1234 …
/// <... read resumed>"…", 4096) = 60`; dtruss's `1234/0x5678:  read(0x3, "…", 0x1000) = 60 0`.
#[derive(Debug, Default)]
struct TraceLine<'a> {
    /// The pid (strace -f) or pid/thread (dtruss) the line starts with; empty when none.
    thread: &'a str,
    call: Option<&'a str>,
    /// The first argument, when it is a number (a descriptor) on this line.
    fd: Option<&'a str>,
    /// The call goes on in a later `<... NAME resumed>` line.
    unfinished: bool,
    /// What the call returned, when the line has it.
    result: Option<&'a str>,
    /// The bytes of the call's first string, without its quotes (to the end of the line
    /// when it is cut there).
    data: Option<(usize, usize)>,
}

fn trace_line(text: &str) -> TraceLine<'_> {
    let b = text.as_bytes();
    let lead = text.trim_start();
    let thread = if lead.starts_with("[pid") {
        lead.split(']').next().unwrap_or("")
    } else if lead.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        lead.split_ascii_whitespace().next().unwrap_or("")
    } else {
        ""
    };
    let mut t = TraceLine {
        thread,
        ..TraceLine::default()
    };
    let after = if let Some(r) = text.find("<... ")
        && let Some(e) = text[r + 5..].find(" resumed>")
    {
        t.call = Some(&text[r + 5..r + 5 + e]);
        r + 5 + e + 9
    } else if let Some(open) = text.find('(') {
        let name_start = text[..open]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &text[name_start..open];
        t.call = (!name.is_empty()).then_some(name);
        let first = text[open + 1..]
            .split([',', ')'])
            .next()
            .unwrap_or("")
            .trim();
        t.fd = (!first.is_empty() && first.bytes().all(|c| c.is_ascii_alphanumeric()))
            .then_some(first);
        open + 1
    } else {
        return t;
    };
    t.unfinished = text.ends_with("<unfinished ...>");
    t.result = text
        .rfind(") = ")
        .and_then(|i| text[i + 4..].split_ascii_whitespace().next());
    t.data = b[after.min(b.len())..]
        .iter()
        .position(|&c| c == b'"')
        .map(|q| {
            let start = after + q + 1;
            let mut end = start;
            while end < b.len() && b[end] != b'"' {
                end += if b[end] == b'\\' { 2 } else { 1 };
            }
            (start, end.min(b.len()))
        });
    t
}

/// Does a private key block open in `data` and not end there?
fn leaves_key_open(data: &[u8]) -> bool {
    let spans = private_key_spans(data);
    spans
        .last()
        .is_some_and(|s| !data[s.end..].starts_with(PEM_END))
}

/// A [`Redactor`] for text that comes a line at a time: a tracer's output, redacted as
/// it streams, before it is parsed or written. Each line gets every rule of
/// [`Redactor::redact`], with the same mark. What a rule reads over several lines of a
/// file — a private key's body, netrc text — goes on over the lines of a trace where the
/// data of one descriptor goes on: a key or a netrc file read in pieces (`read(3, …)`, then
/// `read(3, …)`, also resumed), or written a line at a time (`write(1, …)` after
/// `write(1, …)`), by any thread (a Go program's goroutine moves between threads). The
/// block a line leaves open is removed from the next data of the same call and descriptor,
/// up to its end (`-----END`, a line that is not netrc), the end of the file (a read of
/// nothing), a new file on that descriptor (`openat(…) = 3`), or [`MAX_CARRIED_LINES`]. It
/// may remove more than needed there (another process's descriptor of the same number),
/// never less.
#[derive(Debug)]
pub struct LineRedactor {
    red: Redactor,
    /// Blocks left open, by call and descriptor (`read 3`).
    carried: BTreeMap<String, Carried>,
    /// The descriptor of each thread's call in progress, for its `resumed` line.
    pending: BTreeMap<String, String>,
}

impl LineRedactor {
    /// What it counts its redactions under.
    const FILE: &str = "trace";

    pub fn new(red: Redactor) -> LineRedactor {
        LineRedactor {
            red,
            carried: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }

    /// The next line, with every secret removed.
    pub fn line<'a>(&mut self, text: &'a str) -> std::borrow::Cow<'a, str> {
        self.redact_line(text, true)
    }

    /// A line still being written (a call in progress): redacted as the next line would be,
    /// and forgotten (the whole line comes again through [`LineRedactor::line`]).
    pub fn peek<'a>(&mut self, text: &'a str) -> std::borrow::Cow<'a, str> {
        self.redact_line(text, false)
    }

    /// The redactor with its knowledge, for text that is not a line of the stream.
    pub fn redactor(&mut self) -> &mut Redactor {
        &mut self.red
    }

    fn redact_line<'a>(&mut self, text: &'a str, commit: bool) -> std::borrow::Cow<'a, str> {
        let b = text.as_bytes();
        let t = trace_line(text);
        // Looked up only while a block is open somewhere: most of the time none is.
        let key = if self.carried.is_empty() {
            None
        } else {
            self.key_of(&t)
        };
        let mut buf = b.to_vec();
        // The block this descriptor's data left open.
        let carried = key.as_ref().and_then(|k| self.carried.get(k).copied());
        let mut still = None;
        if let (Some(c), Some((s, e))) = (carried, t.data) {
            let data = &b[s..e];
            let (spans, open) = match c.open {
                Open::PrivateKey => {
                    let end = find(data, PEM_END, 0);
                    let end_at = s + end.unwrap_or(data.len());
                    let spans = (end_at > s)
                        .then(|| Span {
                            start: s,
                            end: end_at,
                            with: "[REDACTED:private-key]".to_string(),
                            kind: RedactionKind::PrivateKey,
                            name: None,
                        })
                        .into_iter()
                        .collect();
                    // A read of nothing is the end of the file.
                    (spans, end.is_none() && e > s)
                }
                Open::Netrc => {
                    let (mut spans, open) = netrc_scan(data, true);
                    for sp in &mut spans {
                        sp.start += s;
                        sp.end += s;
                    }
                    (spans, open)
                }
            };
            self.red.apply(Self::FILE, &mut buf, spans);
            still = Some(open);
        }
        self.red.redact_in_place(Self::FILE, &mut buf);
        if commit {
            self.remember(&t, b, key, carried, still);
        }
        if buf == b {
            std::borrow::Cow::Borrowed(text)
        } else {
            std::borrow::Cow::Owned(String::from_utf8_lossy(&buf).into_owned())
        }
    }

    /// `read 3`: the call and the descriptor of a line (of the call it resumes).
    fn key_of(&self, t: &TraceLine) -> Option<String> {
        let call = t.call?;
        let fd = match t.fd {
            Some(fd) => fd,
            None => self.pending.get(t.thread)?.as_str(),
        };
        Some(format!("{call} {fd}"))
    }

    /// Remember what this line leaves open, and the descriptor of a call in progress.
    fn remember(
        &mut self,
        t: &TraceLine,
        b: &[u8],
        key: Option<String>,
        carried: Option<Carried>,
        still: Option<bool>,
    ) {
        let key = key.or_else(|| {
            let data = &b[t.data?.0..t.data?.1];
            // Only a line that may open a block needs one.
            let may_open = find(data, PEM_BEGIN, 0).is_some()
                || find(data, b"machine", 0).is_some()
                || find(data, b"default", 0).is_some();
            may_open.then(|| self.key_of(t)).flatten()
        });
        match (t.unfinished, t.fd) {
            (true, Some(fd)) => match self.pending.get_mut(t.thread) {
                Some(p) => {
                    p.clear();
                    p.push_str(fd);
                }
                None => {
                    self.pending.insert(t.thread.to_string(), fd.to_string());
                }
            },
            (false, None) if t.call.is_some() && !self.pending.is_empty() => {
                self.pending.remove(t.thread);
            }
            _ => {}
        }
        // A new file on a descriptor ends what was open on it.
        if let (Some(call), Some(fd)) = (t.call, t.result)
            && NEW_FD_CALLS.contains(&call)
            && !self.carried.is_empty()
        {
            let suffix = format!(" {fd}");
            self.carried.retain(|k, _| !k.ends_with(&suffix));
        }
        let (Some(key), Some((s, e))) = (key, t.data) else {
            return;
        };
        let data = &b[s..e];
        let mut next = match (carried, still) {
            (Some(mut c), Some(true)) => {
                c.lines += 1;
                (c.lines < MAX_CARRIED_LINES).then_some(c)
            }
            _ => None,
        };
        let netrc_before = next.is_some_and(|c| c.open == Open::Netrc);
        let opens = if leaves_key_open(data) {
            Some(Open::PrivateKey)
        } else if (netrc_before
            || find(data, b"machine", 0).is_some()
            || find(data, b"default", 0).is_some())
            && netrc_scan(data, netrc_before).1
        {
            Some(Open::Netrc)
        } else {
            None
        };
        next = match (opens, next) {
            (Some(open), Some(c)) if c.open == open => Some(c),
            (Some(open), _) => Some(Carried { open, lines: 0 }),
            (None, Some(c)) if c.open == Open::PrivateKey => Some(c),
            (None, _) => None,
        };
        match next {
            Some(c) => {
                self.carried.insert(key, c);
            }
            None => {
                self.carried.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn red(s: &str) -> String {
        Redactor::new(true).redact_str("t", s)
    }

    #[test]
    fn json_escaped_members_are_removed_at_any_depth() {
        // Plain, inside one JSON string (output in report.json), inside two (an `sh -c`
        // argument printed by a tracer, kept in samples.json).
        for (text, secret) in [
            (r#"{"client_secret": "cs-plain-1"}"#, "cs-plain-1"),
            (r#""tail": "{\"client_secret\": \"cs-esc-2\"}""#, "cs-esc-2"),
            (r#""{\\\"client_secret\\\": \\\"cs-esc-3\\\"}""#, "cs-esc-3"),
            (r#"{\"api_token\":\"cs-esc-4 with space\"}"#, "cs-esc-4"),
        ] {
            let r = red(text);
            assert!(!r.contains(secret), "{text} -> {r}");
            assert!(r.contains("[REDACTED]"), "{r}");
        }
        // The structure around stays: a quote in the value is escaped more and is inside.
        let r = red(r#"{\"client_secret\": \"a\\\"b-hidden\", \"x\": 1}"#);
        assert!(!r.contains("b-hidden"), "{r}");
        assert!(r.ends_with(r#"\", \"x\": 1}"#), "{r}");
    }

    #[test]
    fn pem_private_keys_are_removed_whole_or_cut() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpemLine1\nAAAApemLine2\n-----END RSA PRIVATE KEY-----\n";
        let r = red(&format!("before\n{pem}after"));
        assert!(!r.contains("pemLine"), "{r}");
        assert!(r.contains("-----BEGIN RSA PRIVATE KEY-----[REDACTED:private-key]-----END"));
        assert!(r.ends_with("after"));
        // Escaped in JSON, and cut short at the end of a string.
        let json = serde_json::to_string(&pem[..60]).unwrap();
        let r = red(&format!("{{\"tail\": {json}, \"n\": 1}}"));
        assert!(!r.contains("pemLine"), "{r}");
        assert!(serde_json::from_str::<serde_json::Value>(&r).is_ok(), "{r}");
        // A certificate is not a key.
        let cert = "-----BEGIN CERTIFICATE-----\nMIIcert\n-----END CERTIFICATE-----";
        assert_eq!(red(cert), cert);
    }

    #[test]
    fn netrc_over_several_lines_in_a_trace_inside_json() {
        let strace = r#"read(6, "machine h.example\n  login ml-login-9\n  password ml-pass-9\n", 4096) = 60"#;
        for text in [strace.to_string(), serde_json::to_string(strace).unwrap()] {
            let r = red(&text);
            assert!(!r.contains("ml-pass-9") && !r.contains("ml-login-9"), "{r}");
        }
    }

    #[test]
    fn module_patterns_after_an_escaped_newline_stay() {
        let text = r#""out": "GONOPROXY=corp.example.com/x\nGOPRIVATE=corp.example.com/x\n""#;
        assert_eq!(red(text), text);
    }

    #[test]
    fn redaction_keeps_plain_values() {
        assert_eq!(redact_urls("off"), "off");
        assert_eq!(
            redact_urls("https://proxy.golang.org,direct"),
            "https://proxy.golang.org,direct"
        );
        assert_eq!(
            redact_urls("https://a@b/c@d|https://x:y@z"),
            "https://REDACTED@b/c@d|https://REDACTED@z"
        );
    }

    #[test]
    fn environment_is_filtered_and_redacted() {
        let raw = b"PATH=/bin\0GOPROXY=https://user:s3cret@proxy.example.com/mod,direct\0\
                    API_TOKEN=abc\0GOAUTH=git dir\0HTTPS_PROXY=http://u:p@10.0.0.1:3128\0GIT_TERMINAL_PROMPT=1\0";
        let env = filter_environ(raw);
        assert_eq!(
            env.get("GOPROXY").unwrap(),
            "https://REDACTED@proxy.example.com/mod,direct"
        );
        assert_eq!(
            env.get("HTTPS_PROXY").unwrap(),
            "http://REDACTED@10.0.0.1:3128"
        );
        assert_eq!(env.get("GOAUTH").unwrap(), "<set>");
        assert_eq!(env.get("GIT_TERMINAL_PROMPT").unwrap(), "1");
        assert!(!env.contains_key("API_TOKEN") && !env.contains_key("PATH"));
        let all: String = env.values().cloned().collect();
        assert!(!all.contains("s3cret") && !all.contains("user"));
    }
    #[test]
    fn secret_names() {
        for n in [
            "GITHUB_TOKEN",
            "MY_API_KEY",
            "DB_PASSWORD",
            "PGPASSWORD",
            "GOAUTH",
            "AWS_SECRET_ACCESS_KEY",
            "NPM_CONFIG__AUTH",
            "Authorization",
            "session",
            "GH_PAT",
            "SMTP_PASS",
            "APIKEY",
            "x-api-key",
            "NETRC",
            "OAUTH_CLIENT",
            "AUTH_TOKEN",
            "CI_JOB_JWT",
            "CI_JOB_JWT_V2",
            "jwt",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "GOPROXY",
            "GOPRIVATE",
            "GONOSUMDB",
            "PATH",
            "HOME",
            "GIT_ASKPASS",
            "SSH_ASKPASS",
            "GIT_AUTHOR_NAME",
            "KEYBOARD_LAYOUT",
            "PWD",
            "GOFLAGS",
            "authorities",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    fn redact(r: &mut Redactor, s: &str) -> String {
        r.redact_str("f.txt", s)
    }

    #[test]
    fn values_of_secret_variables_go_everywhere_and_are_counted_by_name() {
        let mut r = Redactor::new(true);
        r.add_env([
            ("GITHUB_TOKEN", "ghp_abcdefghij123"),
            ("XDG_SESSION_ID", "3"),
            ("PATH", "/usr/bin"),
            ("GOPROXY", "https://user:hunter22@proxy.example/x,direct"),
            ("WEIRD_SECRET", "a\"b\\c-long"),
        ]);
        assert_eq!(
            redact(&mut r, "https://user:hunter22@proxy.example/x"),
            "https://REDACTED@proxy.example/x",
            "the user goes with the known password"
        );
        let out = redact(
            &mut r,
            "token ghp_abcdefghij123 twice ghp_abcdefghij123, pid 3, /usr/bin, pw hunter22, json \"a\\\"b\\\\c-long\"",
        );
        assert!(
            !out.contains("ghp_abcdefghij123") && !out.contains("hunter22"),
            "{out}"
        );
        assert!(out.contains("[REDACTED:GITHUB_TOKEN]"));
        assert!(
            out.contains("pid 3, /usr/bin"),
            "short and non-secret values stay: {out}"
        );
        assert!(
            !out.contains("c-long"),
            "the JSON-escaped form goes too: {out}"
        );
        let red = r.redactions();
        let gh = red
            .iter()
            .find(|x| x.name.as_deref() == Some("GITHUB_TOKEN"))
            .unwrap();
        assert_eq!((gh.kind, gh.count), (RedactionKind::EnvValue, 2));
        assert_eq!(gh.files, vec!["f.txt".to_string()]);
        assert!(
            r.known_names()
                .contains(&"GOPROXY.url-password".to_string())
        );
        let json = serde_json::to_string(&red).unwrap();
        assert!(!json.contains("ghp_") && !json.contains("hunter"));
    }

    #[test]
    fn pattern_rules() {
        let mut r = Redactor::new(false);
        let cases = [
            (
                "GOPROXY=https://u:p4ss@127.0.0.1:9/mod|https://x@h",
                "GOPROXY=https://REDACTED@127.0.0.1:9/mod|https://REDACTED@h",
            ),
            (
                "git remote: https://oauth2:glpat-XYZ@gitlab.example/x.git",
                "git remote: https://REDACTED@gitlab.example/x.git",
            ),
            (
                "> Authorization: Bearer eyJhbGciOi.J9x\n< 200",
                "> Authorization: Bearer [REDACTED]\n< 200",
            ),
            (
                "Authorization: Bearer eyJhbGciOi.J9x\nnext",
                "Authorization: Bearer [REDACTED]\nnext",
            ),
            (
                "{\"line\": \"Proxy-Authorization: Basic dXNlcjpwYXNz\"}",
                "{\"line\": \"Proxy-Authorization: Basic [REDACTED]\"}",
            ),
            (
                "write(2, \"authorization: token abcd\\n\", 24)",
                "write(2, \"authorization: token [REDACTED]\\n\", 24)",
            ),
            (
                "curl -H 'X: Bearer abcdefgh12' basic authentication",
                "curl -H 'X: Bearer [REDACTED]' basic authentication",
            ),
            (
                "sh -c GITHUB_TOKEN=x1 DB_PASSWORD='a b' go build --token=zz",
                "sh -c GITHUB_TOKEN=[REDACTED] DB_PASSWORD='[REDACTED]' go build --token=[REDACTED]",
            ),
            (
                "{\n  \"GOAUTH\": \"git /home/x\",\n  \"GOPRIVATE\": \"corp.example\",\n  \"session\": 12\n}",
                "{\n  \"GOAUTH\": \"[REDACTED]\",\n  \"GOPRIVATE\": \"corp.example\",\n  \"session\": 12\n}",
            ),
            (
                "  api_key: sk-1234\nname: x",
                "  api_key: [REDACTED]\nname: x",
            ),
            (
                "read(3, \"machine h login user password pw1\\nmachine g login b\\tpassword pw2\", 80)",
                "read(3, \"machine h login [REDACTED] password [REDACTED]\\nmachine g login [REDACTED]\\tpassword [REDACTED]\", 80)",
            ),
            (
                "openat(AT_FDCWD, \"/home/user/.netrc\", O_RDONLY) and ~/.netrc",
                "openat(AT_FDCWD, \"[REDACTED:netrc-path]\", O_RDONLY) and [REDACTED:netrc-path]",
            ),
            (
                "machine h\n  login user\n  password pw3\nthen a login prompt",
                "machine h\n  login [REDACTED]\n  password [REDACTED]\nthen a login prompt",
            ),
            ("GOAUTH=<set> REDACTED@x", "GOAUTH=<set> REDACTED@x"),
            // Escapes of a tracer's string, and a backslash that escapes nothing.
            (
                "read(3, \"x\\ntoken=abc\\tpassword=def\", 20) C:\\password=pw1 b",
                "read(3, \"x\\ntoken=[REDACTED]\\tpassword=[REDACTED]\", 20) C:\\password=[REDACTED] b",
            ),
            (
                "the machine is idle; login prompt",
                "the machine is idle; login prompt",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact(&mut r, input), want, "{input}");
        }
        let kinds: BTreeSet<RedactionKind> = r.redactions().iter().map(|x| x.kind).collect();
        assert!(kinds.contains(&RedactionKind::UrlUserinfo));
        assert!(kinds.contains(&RedactionKind::Authorization));
        assert!(kinds.contains(&RedactionKind::Assignment));
        assert!(kinds.contains(&RedactionKind::Netrc));
    }

    /// A made-up token of the JWT shape (not a real one: its signature is filler).
    const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXBsYWNlaG9sZGVy";

    #[test]
    fn jwts_go_wherever_they_are() {
        let mut r = Redactor::new(false);
        for (input, want) in [
            (
                format!("CI_JOB_JWT={JWT} next"),
                "CI_JOB_JWT=[REDACTED] next",
            ),
            (format!("id token {JWT}."), "id token [REDACTED]"),
            (
                format!("write(1, \"{JWT}\\n\", 90)"),
                "write(1, \"[REDACTED]\\n\", 90)",
            ),
            (
                format!("[\"--id\", \"{JWT}\"]"),
                "[\"--id\", \"[REDACTED]\"]",
            ),
            (
                format!("read(0, \"id\\n{JWT}\\n\", 90)"),
                "read(0, \"id\\n[REDACTED]\\n\", 90)",
            ),
            // Unsigned (the third part empty) and cut by a tracer after the payload.
            (
                "a eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. b".to_string(),
                "a [REDACTED] b",
            ),
            (
                "\"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0\"...".to_string(),
                "\"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0\"...",
            ),
        ] {
            assert_eq!(redact(&mut r, &input), want, "{input}");
        }
        // Not a JWT: too short, no dots, part of a longer word, one dot only.
        for keep in [
            "eyJhIj.x.y",
            "eyJhbGciOiJub25lIn0 alone",
            "keyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0 end",
        ] {
            assert_eq!(redact(&mut r, keep), keep);
        }
        let jwt = r
            .redactions()
            .into_iter()
            .find(|x| x.kind == RedactionKind::Jwt)
            .expect("counted as jwt");
        assert_eq!(jwt.count, 6, "each one, also the assigned one");
    }

    #[test]
    fn credential_headers_go_inside_lines_too() {
        let mut r = Redactor::new(false);
        let cases = [
            (
                "curl -H 'X-Auth-Token: xauthtok55' -H \"PRIVATE-TOKEN: glpat-1\" https://h/x",
                "curl -H 'X-Auth-Token: [REDACTED]' -H \"PRIVATE-TOKEN: [REDACTED]\" https://h/x",
            ),
            // A request in a tracer's escaped string.
            (
                "write(3, \"GET / HTTP/1.1\\r\\nHost: h\\r\\nX-Api-Key: k1\\r\\nCookie: a=b; c=d\\r\\n\\r\\n\", 60) = 60",
                "write(3, \"GET / HTTP/1.1\\r\\nHost: h\\r\\nX-Api-Key: [REDACTED]\\r\\nCookie: [REDACTED]\\r\\n\\r\\n\", 60) = 60",
            ),
            // A script's own escapes, printed in JSON (`\\r\\n` for its `\r\n`).
            (
                "\"printf 'GET /\\\\r\\\\nCookie: c=1\\\\r\\\\n'\"",
                "\"printf 'GET /\\\\r\\\\nCookie: [REDACTED]\\\\r\\\\n'\"",
            ),
            (
                "\"printf 'GET /\\\\r\\\\nAuthorization: token abc1\\\\r\\\\n'\"",
                "\"printf 'GET /\\\\r\\\\nAuthorization: token [REDACTED]\\\\r\\\\n'\"",
            ),
            // An argv joined with spaces inside Markdown code: the value ends with the code.
            (
                "# `sh -c x a0 --header X-Auth-Token: xauthtok55 b` — idle",
                "# `sh -c x a0 --header X-Auth-Token: [REDACTED]` — idle",
            ),
            // Any secret name where an argument or a string starts, or after -H.
            (
                "[\n  \"-H\",\n  \"Token: t-123\"\n]",
                "[\n  \"-H\",\n  \"Token: [REDACTED]\"\n]",
            ),
            ("curl -H Token: t-123", "curl -H Token: [REDACTED]"),
            (
                "wget --header=Token: t-123",
                "wget --header=Token: [REDACTED]",
            ),
            // Unquoted, a value runs to the end of the line: a header value may hold blanks.
            (
                "curl -H X-Auth-Token:t-123 x",
                "curl -H X-Auth-Token:[REDACTED]",
            ),
            (
                "git -c 'http.extraHeader=Job-Token: t-123' fetch",
                "git -c 'http.extraHeader=Job-Token: [REDACTED]' fetch",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact(&mut r, input), want, "{input}");
        }
        // Prose and headers that are not credentials stay.
        for keep in [
            "the session: 3 of 4",
            "curl -H 'Content-Type: text/plain' -H 'X-Request-Id: 42'",
            "one key: two",
        ] {
            assert_eq!(redact(&mut r, keep), keep);
        }
    }

    #[test]
    fn arguments_of_secret_options_go_in_every_form_an_argv_is_printed() {
        let mut r = Redactor::new(false);
        let cases = [
            // Shell words, as a person types them (manifest.json's command, report.md).
            (
                "sh -c x a0 -u curluser:curlPass456 --header 'X-Auth-Token: xauthtok55' --password pwsep12345",
                "sh -c x a0 -u curluser:[REDACTED] --header 'X-Auth-Token: [REDACTED]' --password [REDACTED]",
            ),
            // A JSON array, one element per line (samples.json, report.json).
            (
                "[\n  \"-u\",\n  \"curluser:curlPass456\",\n  \"--token\",\n  \"a\\\"b c\",\n  \"next\"\n]",
                "[\n  \"-u\",\n  \"curluser:[REDACTED]\",\n  \"--token\",\n  \"[REDACTED]\",\n  \"next\"\n]",
            ),
            // strace's execve line.
            (
                "execve(\"/usr/bin/curl\", [\"curl\", \"--user\", \"u:pw1\", \"--api-key\", \"k1\"], 0x7ffd /* 3 vars */) = 0",
                "execve(\"/usr/bin/curl\", [\"curl\", \"--user\", \"u:[REDACTED]\", \"--api-key\", \"[REDACTED]\"], 0x7ffd /* 3 vars */) = 0",
            ),
            // A command line inside a JSON string.
            (
                "\"command\": \"gohang bundle -- sh --password \\\"p w\\\" x\"",
                "\"command\": \"gohang bundle -- sh --password \\\"[REDACTED]\\\" x\"",
            ),
            // Attached forms; Go's single-dash options.
            (
                "curl --user=u:pw2 -uuser:pw3 --proxy-user u:pw4 -token tok1 -p 4",
                "curl --user=u:[REDACTED] -uuser:[REDACTED] --proxy-user u:[REDACTED] -token [REDACTED] -p 4",
            ),
            // -p where it is a password.
            (
                "sshpass -p sp1 ssh -p 22 host",
                "sshpass -p [REDACTED] ssh -p 22 host",
            ),
            (
                "docker login -u user -p regpw1 registry.example && docker run -p 80:80 img",
                "docker login -u user -p [REDACTED] registry.example && docker run -p 80:80 img",
            ),
            (
                "/usr/bin/mysql -uroot -h db -pS3cret! app",
                "/usr/bin/mysql -uroot -h db -p[REDACTED] app",
            ),
            // After an escape's letter in a JSON string.
            ("\"a\\n--token t2\"", "\"a\\n--token [REDACTED]\""),
        ];
        for (input, want) in cases {
            assert_eq!(redact(&mut r, input), want, "{input}");
        }
        // Options that only look like it, or whose argument is no secret.
        for keep in [
            "go build -p 4 ./... && mkdir -p /home/user/x",
            "git push -u origin main; ssh -p 2222 host; curl -u https://h/x",
            "docker login --password-stdin registry.example",
            "patch -p1 < fix.diff; a-token b; x--token y",
            "- `--` list item -- and a-b-c",
            "{\"tail\": \"usage: --token\",\n  \"next\": \"v\"}",
        ] {
            assert_eq!(redact(&mut r, keep), keep);
        }
        let arg = r
            .redactions()
            .into_iter()
            .filter(|x| x.kind == RedactionKind::Argument)
            .map(|x| x.name.unwrap())
            .collect::<BTreeSet<_>>();
        for n in ["--password", "-u", "--user", "-p", "--api-key", "-token"] {
            assert!(arg.contains(n), "{n} in {arg:?}");
        }
    }

    #[test]
    fn an_argv_kept_as_a_list_is_read_as_one() {
        let mut r = Redactor::new(false);
        let argv = [
            "curl",
            "-u",
            "user:pw5",
            "--password",
            "pw6",
            "-H",
            "X-Auth-Token: t7",
            "-H",
            "Token: t8",
            "https://h/x",
        ];
        assert_eq!(
            r.redact_argv("manifest.json", &argv),
            vec![
                "curl",
                "-u",
                "user:[REDACTED]",
                "--password",
                "[REDACTED]",
                "-H",
                "X-Auth-Token: [REDACTED]",
                "-H",
                "Token: [REDACTED]",
                "https://h/x"
            ]
        );
    }

    #[test]
    fn secrets_of_a_command_line_are_learned_and_go_everywhere() {
        let mut r = Redactor::new(false);
        r.add_argv(&[
            "sh",
            "-c",
            "echo \"$@\"",
            "a0",
            "-u",
            "curluser:curlPass456",
            "--header",
            "X-Auth-Token: xauthtok55",
            "--password",
            "pwsep12345",
            "--token=tokAttached9",
            "printf 'GET /\\r\\nAuthorization: Bearer trBearerTok99\\r\\n'",
            "https://user:urlPass77@h/x",
            "short",
            "-p",
            "4",
        ]);
        for n in ["-u", "X-Auth-Token", "--password", "token", "url-password"] {
            let n = format!("argv:{n}");
            assert!(r.known_names().contains(&n), "{n} in {:?}", r.known_names());
        }
        assert_eq!(
            redact(
                &mut r,
                "echo: curlPass456 xauthtok55 pwsep12345 tokAttached9 urlPass77 short 4"
            ),
            "echo: [REDACTED:argv:-u] [REDACTED:argv:X-Auth-Token] [REDACTED:argv:--password] \
             [REDACTED:argv:token] [REDACTED:argv:url-password] short 4"
        );
        let kinds: BTreeMap<String, RedactionKind> = r
            .redactions()
            .into_iter()
            .map(|x| (x.name.unwrap(), x.kind))
            .collect();
        assert_eq!(kinds["argv:--password"], RedactionKind::Argument);
        assert_eq!(
            redact(&mut r, "Authorization: Bearer trBearerTok99"),
            "Authorization: Bearer [REDACTED:argv:Authorization]",
            "the scheme stays"
        );
        assert_eq!(kinds["argv:token"], RedactionKind::Assignment);
        assert_eq!(kinds["argv:url-password"], RedactionKind::UrlUserinfo);
        // A list of the names, as redactions.json has it, keeps them.
        let names = serde_json::to_string_pretty(&r.known_names()).unwrap();
        assert_eq!(redact(&mut r, &names), names);
        // Bounded: each learned value costs a pass over every file.
        let many: Vec<String> = (0..2 * MAX_ARGV_SECRETS)
            .flat_map(|n| ["--token".to_string(), format!("tok-{n:06}")])
            .collect();
        let mut r = Redactor::new(false);
        r.add_argv(&many);
        assert_eq!(r.literals.len(), MAX_ARGV_SECRETS);
        assert_eq!(
            redact(&mut r, &many.join(" "))
                .matches("--token [REDACTED")
                .count(),
            2 * MAX_ARGV_SECRETS,
            "the rest still go next to their option"
        );
    }

    #[test]
    fn home_and_user_are_replaced_only_when_anonymizing_and_only_whole() {
        let text = "/home/user/go and /home/usera/x, user's user_x superuser ~ /home/user";
        let mut r = Redactor::new(true);
        r.add_home("/home/user/");
        r.add_user("user");
        r.add_user("root");
        r.add_user("go");
        assert_eq!(
            redact(&mut r, text),
            "$HOME/go and /home/usera/x, $USER's user_x superuser ~ $HOME"
        );
        assert_eq!(redact(&mut r, "root go"), "root go");
        let mut keep = Redactor::new(false);
        keep.add_home("/home/user");
        keep.add_user("user");
        assert_eq!(redact(&mut keep, text), text);
        assert!(keep.redactions().is_empty());
    }

    #[test]
    fn url_passwords_are_found() {
        assert_eq!(
            url_passwords("https://a:b1@h,https://c@d|http://e:f2@g/x"),
            vec!["b1".to_string(), "f2".to_string()]
        );
        assert!(url_passwords("off").is_empty());
    }

    #[test]
    fn environ_bytes() {
        let mut r = Redactor::new(false);
        r.add_environ(b"A=1\0MY_API_KEY=key-0123456\0broken\0");
        assert_eq!(r.known_names(), vec!["MY_API_KEY".to_string()]);
        assert_eq!(redact(&mut r, "x key-0123456"), "x [REDACTED:MY_API_KEY]");
    }

    fn stream() -> LineRedactor {
        LineRedactor::new(Redactor::new(false))
    }

    #[test]
    fn a_trace_line_gets_the_rules_and_mark_of_a_file() {
        let mut t = stream();
        let l = r#"1234 12:00:00.000001 write(7, "GET /example.com/m/@v/list HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\nUser-Agent: Go-http-client/1.1\r\n\r\n", 140) = 140"#;
        let r = t.line(l);
        assert!(!r.contains("YWxpY2U6czNjcmV0"), "{r}");
        assert!(
            r.contains(r"Authorization: Basic [REDACTED]\r\nUser-Agent"),
            "{r}"
        );
        assert!(
            r.contains("Host: 127.0.0.1:8080") && r.ends_with(") = 140"),
            "{r}"
        );
        // Line by line as a whole file: the same rules, the same mark.
        let mut whole = Redactor::new(false);
        for l in [
            l,
            r#"sendto(3, "proxy-authorization: bearer abcdefghijkl"..., 256, 0, NULL, 0) = 256"#,
            r#"write(5, "cookie: session=xyz\r\n", 21) = 21"#,
            r#"write(1, "protocol=https\nhost=git.example.com\nusername=user\npassword=hunter22\n", 70) = 70"#,
            r#"read(3, "GET /x?access_token=abc123&y=1", 64) = 33"#,
            r#"execve("/usr/bin/git", ["git", "clone", "https://user:tok3n@git.example.com/r"], 0x7ffd /* 30 vars */) = 0"#,
            r#"execve("/usr/bin/curl", ["curl", "--password", "pw1", "-u", "u:pw2"], 0x7ffd /* 3 vars */) = 0"#,
            "write(1, \"GITHUB_TOKEN=ghp_abcdef\\n\", 24) = 24",
            r#"write(1, "{\"client_secret\": \"tr-cs-3\"}\n", 30) = 30"#,
        ] {
            let r = t.line(l);
            assert_eq!(r, whole.redact_str("t", l), "{l}");
            assert_ne!(r, l, "something went: {l}");
            for secret in [
                "abcdefghijkl",
                "xyz",
                "hunter22",
                "abc123",
                "tok3n",
                "pw1",
                "pw2",
                "ghp_abcdef",
                "tr-cs-3",
            ] {
                assert!(!r.contains(secret), "{secret} in {r}");
            }
        }
        assert!(
            t.line(r#"write(1, "username=user\npassword=hunter22\n", 30) = 30"#)
                .contains(r"username=user\npassword=[REDACTED]\n"),
            "a user name is not a secret"
        );
    }

    #[test]
    fn ordinary_trace_lines_are_untouched_and_not_copied() {
        let mut t = stream();
        for l in [
            r#"1234 12:00:00.000001 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)"#,
            r#"1234 12:00:00.000002 flock(3, LOCK_EX <unfinished ...>"#,
            r#"openat(AT_FDCWD, "/home/user/go/pkg/mod/cache/download/x/@v/v1.0.0.lock", O_RDWR|O_CREAT|O_CLOEXEC, 0666) = 3"#,
            r#"write(2, "go: downloading example.com/dep v1.0.0\n", 40) = 40"#,
            r#"read(4, "module example.com/m\n\ngo 1.23\n\nrequire example.com/dep v1.0.0\n", 512) = 60"#,
            "",
        ] {
            assert!(matches!(t.line(l), Cow::Borrowed(_)), "{l}");
        }
    }

    #[test]
    fn what_the_environment_and_command_line_tell_goes_from_a_trace() {
        let mut red = Redactor::new(false);
        red.add_env([("MY_API_KEY", "plantedKey-123")]);
        red.add_argv(&["sh", "-c", "x", "--password", "pwsep12345"]);
        let mut t = LineRedactor::new(red);
        let r = t.line(r#"write(1, "plantedKey-123 and pwsep12345\n", 27) = 27"#);
        assert_eq!(
            r,
            r#"write(1, "[REDACTED:MY_API_KEY] and [REDACTED:argv:--password]\n", 27) = 27"#
        );
    }

    const PEM_LINES: [&str; 6] = [
        r#"100 12:00:00.000001 write(1, "-----BEGIN EC PRIVATE KEY-----\n", 31) = 31"#,
        r#"101 12:00:00.000002 read(4, "unrelated MHcCtext\n", 64) = 19"#,
        r#"100 12:00:00.000003 write(1, "MHcCAQEEcarriedOne\n", 19) = 19"#,
        r#"100 12:00:00.000004 write(1, "AwEHoUQDcarriedTwo\n", 19) = 19"#,
        r#"100 12:00:00.000005 write(1, "-----END EC PRIVATE KEY-----\n", 29) = 29"#,
        r#"100 12:00:00.000006 write(1, "after the key\n", 14) = 14"#,
    ];

    #[test]
    fn a_private_key_written_line_by_line_goes_to_its_end() {
        let mut t = stream();
        let out: Vec<String> = PEM_LINES.iter().map(|l| t.line(l).into_owned()).collect();
        let all = out.join("\n");
        assert!(
            !all.contains("carriedOne") && !all.contains("carriedTwo"),
            "{all}"
        );
        assert!(
            out[2].contains(r#"write(1, "[REDACTED:private-key]", 19)"#),
            "{all}"
        );
        // Another thread, the END line and what follows the key stay.
        assert_eq!(out[1], PEM_LINES[1]);
        assert_eq!(out[4], PEM_LINES[4]);
        assert_eq!(out[5], PEM_LINES[5]);
        let kinds: Vec<RedactionKind> = t.redactor().redactions().iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec![RedactionKind::PrivateKey]);
    }

    #[test]
    fn a_private_key_read_in_pieces_cut_or_resumed_goes() {
        let mut t = stream();
        for (l, secret) in [
            (
                r#"7 read(3, "-----BEGIN RSA PRIVATE KEY-----\nMIIEcutHere"..., 4096) = 4096"#,
                "cutHere",
            ),
            (r#"7 read(3, <unfinished ...>"#, ""),
            (r#"8 write(2, "other thread\n", 13) = 13"#, ""),
            (
                r#"7 <... read resumed>"restOfBody\n-----END RSA PRIVATE KEY-----\n", 4096) = 40"#,
                "restOfBody",
            ),
            (r#"7 read(3, "plain text after\n", 4096) = 17"#, ""),
        ] {
            let r = t.line(l);
            if secret.is_empty() {
                assert_eq!(r, l);
            } else {
                assert!(!r.contains(secret), "{l} -> {r}");
            }
        }
    }

    #[test]
    fn a_block_ends_with_its_file_and_at_the_bound() {
        let mut t = stream();
        let begin = r#"7 read(3, "-----BEGIN PRIVATE KEY-----\nMIIEcut"..., 4096) = 1700"#;
        let body = r#"7 read(3, "MIIEnext\n", 4096) = 9"#;
        // Another thread goes on reading (a goroutine moved); other calls between do not end it.
        t.line(begin);
        assert_ne!(
            t.line(r#"9 fcntl(3, F_GETFL) = 0x8000 (flags O_RDONLY)"#),
            ""
        );
        assert!(!t.line(&body.replace("7 ", "9 ")).contains("MIIEnext"));
        // The end of the file ends it; so does a new file on the descriptor.
        assert_eq!(
            t.line(r#"7 read(3, "", 4096) = 0"#),
            r#"7 read(3, "", 4096) = 0"#
        );
        assert_eq!(t.line(body), body);
        t.line(begin);
        let open = r#"7 openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3"#;
        assert_eq!(t.line(open), open);
        assert_eq!(t.line(body), body);
        // A key with no END line (cut by the tracer) holds for a bounded number of lines.
        t.line(begin);
        for _ in 1..MAX_CARRIED_LINES {
            assert_ne!(t.line(body), body);
        }
        assert_ne!(t.line(body), body);
        assert_eq!(t.line(body), body);
    }

    #[test]
    fn netrc_printed_a_line_at_a_time_goes() {
        let mut t = stream();
        let lines = [
            r#"55 write(1, "machine h.example\n", 18) = 18"#,
            r#"55 write(1, "  login nl-login-5\n", 19) = 19"#,
            r#"56 write(2, "  password other-file\n", 22) = 22"#,
            r#"55 write(1, "  password nl-pass-5\n", 21) = 21"#,
            r#"55 write(1, "done: password reset\n", 21) = 21"#,
            r#"55 read(3, "machine h2 login nl-login-6\n", 64) = 28"#,
            r#"55 read(3, "  password nl-pass-6\n", 64) = 21"#,
        ];
        let out: Vec<String> = lines.iter().map(|l| t.line(l).into_owned()).collect();
        let all = out.join("\n");
        for s in ["nl-login-5", "nl-pass-5", "nl-login-6", "nl-pass-6"] {
            assert!(!all.contains(s), "{s}: {all}");
        }
        assert_eq!(out[2], lines[2], "another descriptor's text is not netrc");
        assert_eq!(out[4], lines[4], "netrc ended");
    }

    #[test]
    fn a_line_in_progress_is_redacted_and_forgotten() {
        let mut t = stream();
        assert_eq!(t.peek(PEM_LINES[0]), stream().line(PEM_LINES[0]));
        assert_eq!(t.line(PEM_LINES[2]), PEM_LINES[2], "peek opened nothing");
        t.line(PEM_LINES[0]);
        assert!(!t.peek(PEM_LINES[2]).contains("carriedOne"));
    }
}
