//! Go version strings and their order, as the go command compares them
//! (`cmd/go/internal/gover`): `1.21` (a language version) < `1.21rc1` < `1.21.0` < `1.21.1`.

use std::cmp::Ordering;

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
