//! Removing secrets from what gohang records: passwords and tokens in URLs.
//! Applied when evidence is collected, so no report, bundle or saved evidence holds them.

use std::collections::BTreeMap;

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

    #[test]
    fn environment_is_filtered_and_redacted() {
        let raw = b"PATH=/bin\0GOPROXY=https://alice:s3cret@proxy.example.com/mod,direct\0\
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
        assert!(!all.contains("s3cret") && !all.contains("alice"));
    }
}
