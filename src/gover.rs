//! Go versions and their order, as the go command compares them (`cmd/go/internal/gover`,
//! whose `Compare` and `parse` live in `internal/gover/gover.go` since Go 1.22).
//!
//! Within one minor version: the language version `1.21` < `devel go1.21-…` < `1.21alpha1` <
//! `1.21beta1` < `1.21rc1` < `1.21.0` < `1.21.1`. A two-part name means two things, by its
//! minor: before Go 1.21 the first release of a minor was named `go1.20` (no `.0`), so `1.20`
//! *is* that release and sorts after its release candidates ("Patch missing is same as "0"
//! for older versions", gover.go); from Go 1.21 on, `1.21` is the language version, below
//! every toolchain of that minor ("Starting in Go 1.21, patch missing is different from
//! explicit .0"). Development trees are gohang's addition (cmd/go does not order them): a
//! `devel go1.24-…` tree comes before the pre-releases of 1.24.

use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

/// Where a version stands in its minor's cycle; later stages sort higher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// The language version `1.21` (Go 1.21 and later: a two-part name without `.0`).
    Language,
    /// A development tree (`devel go1.24-…`, or no VERSION file).
    Devel,
    Alpha(u32),
    Beta(u32),
    Rc(u32),
    Release,
}

/// A Go version: `go1.23.5`, `1.21` (a language version), `go1.21rc2`, `devel go1.24-…`.
/// Ordered as the go command orders toolchains (see the module header); `patch` is 0 for
/// every stage but [`Stage::Release`] (and a rare `devel go1.N.P-…`).
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

    /// Parse a version as `go version`, a `VERSION` file or build info say it: `go1.23.5`,
    /// `go1.21rc2`, `go1.20beta1`, `go1.20` (that release), `1.20.6`,
    /// `devel go1.24-4e7e9b8 Tue …`, `go1.23.5 X:boringcrypto`. Text after the version is
    /// ignored.
    pub fn parse(s: &str) -> Option<GoVersion> {
        let s = s.trim();
        match s.strip_prefix("devel ") {
            Some(rest) => {
                let v = GoVersion::parse_name(rest)?;
                Some(GoVersion {
                    stage: Stage::Devel,
                    ..v
                })
            }
            None => GoVersion::parse_name(s),
        }
    }

    /// Parse a version as the go command names one in go.mod's `go` and `toolchain` lines
    /// and in GOTOOLCHAIN: `1.21`, `go1.21rc1`, `go1.22.1`, `go1.22.1-custom`. A `devel`
    /// version is not one of these (None).
    pub fn parse_name(s: &str) -> Option<GoVersion> {
        let s = s.trim();
        let s = s.strip_prefix("go").unwrap_or(s);
        let (major, rest) = leading_number(s)?;
        let rest = rest.strip_prefix('.')?;
        let (minor, mut rest) = leading_number(rest)?;
        // Two parts: before 1.21 the release itself, from 1.21 on the language version.
        let mut v = if (major, minor) >= (1, 21) {
            GoVersion {
                major,
                minor,
                patch: 0,
                stage: Stage::Language,
            }
        } else {
            GoVersion::release(major, minor, 0)
        };
        if let Some(r) = rest.strip_prefix('.')
            && let Some((p, r)) = leading_number(r)
        {
            v = GoVersion::release(major, minor, p);
            rest = r;
        } else {
            for (word, stage) in [
                ("rc", Stage::Rc as fn(u32) -> Stage),
                ("beta", Stage::Beta),
                ("alpha", Stage::Alpha),
            ] {
                if let Some(r) = rest.strip_prefix(word) {
                    let (n, r) = leading_number(r)?;
                    v.stage = stage(n);
                    v.patch = 0;
                    rest = r;
                    break;
                }
            }
        }
        // What may follow: nothing, a space and more words, or a `-hash`/`-custom`/`+auto`.
        if !(rest.is_empty() || rest.starts_with([' ', '\t', '-', '+'])) {
            return None;
        }
        Some(v)
    }

    /// The `goX.Y.Z` spelling used in release file names (`go1.23.5`, `go1.21rc2`, `go1.20`),
    /// and the language version's own (`go1.21`).
    pub fn go_name(&self) -> String {
        let (major, minor) = (self.major, self.minor);
        match self.stage {
            Stage::Release if self.patch > 0 || (major, minor) >= (1, 21) => {
                format!("go{major}.{minor}.{}", self.patch)
            }
            Stage::Release | Stage::Language => format!("go{major}.{minor}"),
            Stage::Rc(n) => format!("go{major}.{minor}rc{n}"),
            Stage::Beta(n) => format!("go{major}.{minor}beta{n}"),
            Stage::Alpha(n) => format!("go{major}.{minor}alpha{n}"),
            Stage::Devel => format!("devel go{major}.{minor}"),
        }
    }

    pub fn is_release(&self) -> bool {
        self.stage == Stage::Release
    }
}

/// Compare two version names as the go command does (`gover.Compare`); None if either is
/// not a version name ([`GoVersion::parse_name`]: `local`, `devel …`, empty).
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(GoVersion::parse_name(a)?.cmp(&GoVersion::parse_name(b)?))
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

    fn p(s: &str) -> GoVersion {
        GoVersion::parse(s).unwrap_or_else(|| panic!("{s} does not parse"))
    }

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
        assert!(GoVersion::parse_name("local").is_none());
        assert!(GoVersion::parse_name("").is_none());
        assert!(GoVersion::parse_name("1.x").is_none());
    }

    /// The merged order, stage by stage, across the Go 1.21 change of meaning of `1.N`
    /// (internal/gover/gover_test.go orders the same pairs).
    #[test]
    fn one_order_for_language_versions_pre_releases_and_releases() {
        // Before 1.21 a two-part name is the first release: after its pre-releases, equal
        // to `.0`.
        let old = [
            "devel go1.20-abc",
            "go1.20alpha1",
            "go1.20beta1",
            "go1.20rc1",
            "go1.20",
            "go1.20.1",
        ];
        for w in old.windows(2) {
            assert!(p(w[0]) < p(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(p("go1.20"), p("go1.20.0"));
        assert_eq!(compare("1.20", "1.20rc1"), Some(Ordering::Greater));
        // From 1.21 on, the language version comes first.
        let new = [
            "1.21",
            "devel go1.21-abc",
            "go1.21alpha1",
            "go1.21beta2",
            "go1.21rc1",
            "go1.21.0",
            "go1.21.1",
            "1.22",
        ];
        for w in new.windows(2) {
            assert!(p(w[0]) < p(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(p("1.21").stage, Stage::Language);
        assert!(!p("1.21").is_release());
        assert_ne!(p("go1.21"), p("go1.21.0"));
        // Names read back as written.
        for s in [
            "go1.20",
            "go1.21",
            "go1.21.0",
            "go1.21rc1",
            "go1.9beta1",
            "go1.21alpha1",
        ] {
            assert_eq!(p(s).go_name(), s);
        }
        // cmd/go's names exclude development trees.
        assert_eq!(compare("devel go1.24-abc", "go1.23.0"), None);
    }
}
