//! Removing secrets from what gohang records: passwords and tokens in URLs.
//! Applied when evidence is collected, so no report, bundle or saved evidence holds them.

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
                out.push_str("REDACTED");
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
