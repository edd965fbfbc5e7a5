//! Quoting for a POSIX shell: every command gohang prints for a user to paste quotes its
//! words here, so one rule decides what needs quotes. A word made only of characters no
//! shell treats specially (letters, digits, `/._-+=:@%,`) stays as it is; anything else is
//! put in single quotes, and a single quote inside becomes `'\''` (close, escaped quote,
//! reopen), the one character single quotes cannot hold (POSIX Shell Command Language,
//! 2.2.3 Single-Quotes).

use std::path::Path;

/// `s` as one shell word.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:@%,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A path as one shell word (lossily, as the user's terminal would show it).
pub fn quote_path(p: &Path) -> String {
    quote(&p.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_and_others_are_single_quoted() {
        assert_eq!(quote("/usr/local/go"), "/usr/local/go");
        assert_eq!(
            quote("GOFLAGS=-mod=mod,x@y%z+1"),
            "GOFLAGS=-mod=mod,x@y%z+1"
        );
        assert_eq!(quote("/a b/c"), "'/a b/c'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(quote("é"), "'é'");
        assert_eq!(quote_path(Path::new("/opt/go 1.23")), "'/opt/go 1.23'");
    }
}
