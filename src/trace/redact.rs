//! Secrets out of trace lines. A tracer prints the bytes a program writes: an HTTP request
//! to a module proxy with its `Authorization:` header, git's credential protocol
//! (`password=…`), a URL with a token in it. Every line is passed through [`line`] before it
//! is parsed or written to the trace file, so neither evidence nor the file (nor a bundle
//! made from them) holds one.
//!
//! Tracers escape control characters: a header ends at a literal `\r` or `\n` (two
//! characters) or at the closing quote of the string, and that is where a value ends.

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
    match crate::redact::pattern_redact(text) {
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
    let redacted_urls = crate::redact::redact_urls(text);
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
    Cow::Owned(crate::redact::redact_urls(&out))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_values_are_removed() {
        let l = r#"1234 12:00:00.000001 write(7, "GET /example.com/m/@v/list HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\nUser-Agent: Go-http-client/1.1\r\n\r\n", 140) = 140"#;
        let r = line(l);
        assert!(!r.contains("YWxpY2U6czNjcmV0"), "{r}");
        assert!(r.contains(r"Authorization: REDACTED\r\nUser-Agent"), "{r}");
        assert!(r.contains("Host: 127.0.0.1:8080"), "the rest stays: {r}");
        assert!(r.ends_with(") = 140"));
    }

    #[test]
    fn header_names_are_case_insensitive_and_values_may_be_cut() {
        let r = line(
            r#"sendto(3, "proxy-authorization: bearer abcdefghijkl"..., 256, 0, NULL, 0) = 256"#,
        );
        assert!(!r.contains("abcdefghijkl"), "{r}");
        assert!(r.contains("proxy-authorization: REDACTED\"..."), "{r}");
        let r = line(r#"write(5, "cookie: session=xyz\r\n", 21) = 21"#);
        assert!(!r.contains("xyz"), "{r}");
    }

    #[test]
    fn credential_helper_output_is_removed() {
        let r = line(
            r#"write(1, "protocol=https\nhost=git.example.com\nusername=user\npassword=hunter22\n", 70) = 70"#,
        );
        assert!(!r.contains("hunter22"), "{r}");
        assert!(r.contains(r"password=REDACTED\n"), "{r}");
        assert!(
            r.contains("username=user"),
            "a user name is not a secret: {r}"
        );
        let r = line(r#"read(3, "GET /x?access_token=abc123&y=1", 64) = 33"#);
        assert!(!r.contains("abc123") && r.contains("&y=1"), "{r}");
    }

    #[test]
    fn url_credentials_are_removed() {
        let r = line(
            r#"execve("/usr/bin/git", ["git", "clone", "https://user:tok3n@git.example.com/r"], 0x7ffd /* 30 vars */) = 0"#,
        );
        assert!(!r.contains("tok3n") && !r.contains("user:"), "{r}");
        assert!(r.contains("REDACTED@git.example.com"), "{r}");
    }

    #[test]
    fn the_quick_test_skips_only_what_cannot_hold_one() {
        assert!(!may_hold_secret(r#"write(3, "\0\1\2\3", 4) = 4"#));
        assert!(!may_hold_secret("flock(3, LOCK_EX) = 0"));
        assert!(!may_hold_secret(r#"read(0, "a\"b", 3) = 3"#));
        assert!(may_hold_secret(r#"write(1, "x: y", 4) = 4"#));
        assert!(may_hold_secret(
            r#"write(1, "\"", 1) = 1 write(1, "a=b", 3)"#
        ));
        assert!(may_hold_secret(r#"write(1, "Bearer abcdefgh", 15) = 15"#));
        // An escaped quote does not end the string.
        assert!(may_hold_secret(r#"write(1, "\"token=x", 8) = 8"#));
        // A cut line (no closing quote) is still looked at.
        assert!(may_hold_secret(r#"write(1, "password=x"#));
    }

    #[test]
    fn ordinary_lines_are_untouched() {
        for l in [
            r#"connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)"#,
            r#"flock(3, LOCK_EX <unfinished ...>"#,
            r#"openat(AT_FDCWD, "/home/user/go/pkg/mod/cache/download/x/@v/v1.0.0.lock", O_RDWR|O_CREAT|O_CLOEXEC, 0666) = 3"#,
            r#"write(2, "go: downloading example.com/dep v1.0.0\n", 40) = 40"#,
            "",
        ] {
            assert!(matches!(line(l), Cow::Borrowed(_)), "{l}");
        }
        // A word that only contains a key is not one; a variable named after it is.
        assert!(matches!(
            line("write(1, \"mytoken=abc\", 11) = 11"),
            Cow::Borrowed(_)
        ));
        let r = line("write(1, \"GITHUB_TOKEN=ghp_abcdef\\n\", 24) = 24");
        assert!(!r.contains("ghp_abcdef"), "{r}");
    }

    #[test]
    fn netrc_pem_and_escaped_json_members_are_removed() {
        for (l, secret) in [
            (
                r#"read(6, "machine h.example\n  login tr-login-1\n  password tr-pass-1\n", 4096) = 50"#,
                "tr-pass-1",
            ),
            (
                r#"read(6, "machine h.example\n  login tr-login-1\n  password tr-pass-1\n", 4096) = 50"#,
                "tr-login-1",
            ),
            (
                r#"write(1, "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEtrPem2\n-----END EC PRIVATE KEY-----\n", 80) = 80"#,
                "trPem2",
            ),
            (
                r#"write(1, "{\"client_secret\": \"tr-cs-3\"}\n", 30) = 30"#,
                "tr-cs-3",
            ),
        ] {
            let r = line(l);
            assert!(!r.contains(secret), "{l} -> {r}");
        }
    }
}
