//! Go version strings and their order, as the go command compares them
//! (`cmd/go/internal/gover`): `1.21` (a language version) < `1.21rc1` < `1.21.0` < `1.21.1`.

use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

/// A parsed Go version: `go1.21.3`, `1.21`, `1.22rc2`, `go1.9beta1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    /// None for a language version (`1.21`) or a pre-release.
    pub patch: Option<u32>,
    /// `("rc", 1)`, `("beta", 2)`, or None.
    pub pre: Option<(String, u32)>,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let s = s.strip_prefix("go").unwrap_or(s);
        // A toolchain name may carry a suffix: go1.22.1-custom, go1.21.0+auto.
        let s = s.split(['-', '+', ' ']).next()?;
        let mut parts = s.splitn(3, '.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor_raw = parts.next().unwrap_or("0");
        let (minor_digits, pre) = split_pre(minor_raw);
        let minor: u32 = minor_digits.parse().ok()?;
        let patch = match parts.next() {
            Some(p) if pre.is_none() => Some(p.parse().ok()?),
            Some(_) => return None,
            None => None,
        };
        Some(Version {
            major,
            minor,
            patch,
            pre,
        })
    }
}

fn split_pre(s: &str) -> (&str, Option<(String, u32)>) {
    match s.find(|c: char| !c.is_ascii_digit()) {
        None => (s, None),
        Some(i) => {
            let (num, rest) = s.split_at(i);
            let j = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let n = rest[j..].parse().unwrap_or(0);
            (num, Some((rest[..j].to_string(), n)))
        }
    }
}

impl Ord for Version {
    fn cmp(&self, o: &Self) -> Ordering {
        // Within one minor: language version, then pre-releases (alpha < beta < rc), then
        // releases by patch.
        fn rank(v: &Version) -> (u8, String, u32, u32) {
            match (&v.pre, v.patch) {
                (Some((kind, n)), _) => (1, kind.clone(), *n, 0),
                (None, Some(p)) => (2, String::new(), 0, p),
                (None, None) => (0, String::new(), 0, 0),
            }
        }
        (self.major, self.minor)
            .cmp(&(o.major, o.minor))
            .then_with(|| rank(self).cmp(&rank(o)))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Compare two version strings; None if either does not parse.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(Version::parse(a)?.cmp(&Version::parse(b)?))
}

// A release or release-candidate version as `rebuild` reads it from a GOROOT (`VERSION`,
// `go version`) and compares it with make.bash's bootstrap floor; its `Ord` puts
// `go1.24rc1` before `go1.24.0`.
/// Where a release stands in its cycle; later stages sort higher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// A development tree (`devel go1.24-…`, or no VERSION file).
    Devel,
    Beta(u32),
    Rc(u32),
    Release,
}

/// `go1.MINOR[.PATCH]`, with pre-releases and development trees ordered before the release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GoVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    pub stage: Stage,
}

impl Ord for GoVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.major, self.minor, self.stage, self.patch).cmp(&(o.major, o.minor, o.stage, o.patch))
    }
}

impl PartialOrd for GoVersion {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl GoVersion {
    pub const fn release(major: u32, minor: u32, patch: u32) -> GoVersion {
        GoVersion {
            major,
            minor,
            patch,
            stage: Stage::Release,
        }
    }

    /// Parse `go1.23.5`, `go1.21rc2`, `go1.20beta1`, `go1.23`, `1.20.6`,
    /// `devel go1.24-4e7e9b8 Tue …`, `go1.23.5 X:boringcrypto`. Text after the version is
    /// ignored.
    pub fn parse(s: &str) -> Option<GoVersion> {
        let s = s.trim();
        let (devel, s) = match s.strip_prefix("devel ") {
            Some(rest) => (true, rest.trim_start()),
            None => (false, s),
        };
        let s = s.strip_prefix("go").unwrap_or(s);
        let (major, rest) = leading_number(s)?;
        let rest = rest.strip_prefix('.')?;
        let (minor, mut rest) = leading_number(rest)?;
        let mut patch = 0;
        let mut stage = Stage::Release;
        if let Some(r) = rest.strip_prefix('.')
            && let Some((p, r)) = leading_number(r)
        {
            patch = p;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("rc") {
            let (n, r) = leading_number(r)?;
            stage = Stage::Rc(n);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("beta") {
            let (n, r) = leading_number(r)?;
            stage = Stage::Beta(n);
            rest = r;
        }
        // What may follow: nothing, a space and more words, or a `-hash` on devel trees.
        if !(rest.is_empty() || rest.starts_with([' ', '\t', '-', '+'])) {
            return None;
        }
        if devel {
            stage = Stage::Devel;
        }
        Some(GoVersion {
            major,
            minor,
            patch,
            stage,
        })
    }

    /// The `goX.Y.Z` spelling used in release file names (`go1.23.5`, `go1.21rc2`).
    pub fn go_name(&self) -> String {
        match self.stage {
            Stage::Release if self.patch > 0 || (self.major, self.minor) >= (1, 21) => {
                format!("go{}.{}.{}", self.major, self.minor, self.patch)
            }
            Stage::Release => format!("go{}.{}", self.major, self.minor),
            Stage::Rc(n) => format!("go{}.{}rc{n}", self.major, self.minor),
            Stage::Beta(n) => format!("go{}.{}beta{n}", self.major, self.minor),
            Stage::Devel => format!("devel go{}.{}", self.major, self.minor),
        }
    }

    pub fn is_release(&self) -> bool {
        self.stage == Stage::Release
    }
}

fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 || end > 6 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.go_name())
    }
}

impl Serialize for GoVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.go_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_matches_the_go_command() {
        let seq = [
            "1.20", "1.21", "1.21rc1", "1.21rc2", "go1.21.0", "1.21.1", "go1.22", "1.22.10",
            "1.23.5", "go1.99",
        ];
        for w in seq.windows(2) {
            assert_eq!(
                compare(w[0], w[1]),
                Some(Ordering::Less),
                "{} < {}",
                w[0],
                w[1]
            );
        }
        assert_eq!(compare("go1.23.5", "1.23.5"), Some(Ordering::Equal));
        assert_eq!(compare("go1.9beta1", "go1.9rc1"), Some(Ordering::Less));
        assert_eq!(compare("go1.22.1-custom", "1.22.1"), Some(Ordering::Equal));
        assert!(Version::parse("local").is_none());
        assert!(Version::parse("").is_none());
        assert!(Version::parse("1.x").is_none());
    }
}
