//! Go release versions, and the oldest Go that can bootstrap a given release.
//!
//! A GOROOT says its version in its `VERSION` file (`go1.23.5`, first line) or, in a git
//! checkout, only in `src/internal/goversion/goversion.go` (`const Version = 24`, a
//! development tree). Its `src/make.bash` names the minimum bootstrap itself
//! (`bootgo=1.20.6` since Go 1.22; a comment `Go tree >= Go 1.17.13` before), which is the
//! ground truth; [`bootstrap_floor`] is the table behind it, for trees whose make.bash says
//! nothing readable. Sources for each row are in docs/rebuild.md.

pub use crate::gover::{GoVersion, Stage};
use serde::Serialize;
use std::path::Path;

/// How a tree's version was learnt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionSource {
    /// The first line of `$GOROOT/VERSION`.
    VersionFile,
    /// `const Version = N` in `src/internal/goversion/goversion.go` (a development tree).
    Goversion,
    /// The Go version the linker recorded in `bin/go`'s build info: the toolchain that
    /// linked the go command, which in a tree make.bash built is the tree's own (its last
    /// step builds cmd/go with the new toolchain). Read without running it.
    BuildInfo,
}

/// The version of the Go tree at `goroot`, read from files only (nothing is run: the
/// tree's `go` may be foreign, slow under emulation, or broken): `VERSION`, else
/// goversion.go, else the build info of `bin/go` (a tree without either, such as a
/// bootstrap copied without its VERSION file).
pub fn tree_version(goroot: &Path) -> Option<(GoVersion, VersionSource)> {
    if let Ok(text) =
        crate::safeio::read_found_text(&goroot.join("VERSION"), crate::safeio::SMALL_TEXT)
        && let Some(v) = text.lines().next().and_then(GoVersion::parse)
    {
        return Some((v, VersionSource::VersionFile));
    }
    if let Ok(gv) = crate::safeio::read_found_text(
        &goroot.join("src/internal/goversion/goversion.go"),
        crate::safeio::SOURCE_FILE,
    ) && let Some(minor) = parse_goversion_const(&gv)
    {
        let v = GoVersion {
            major: 1,
            minor,
            patch: 0,
            stage: Stage::Devel,
        };
        return Some((v, VersionSource::Goversion));
    }
    let info = crate::inspect::go_build_info(&goroot.join("bin/go")).ok()??;
    GoVersion::parse(&info.version).map(|v| (v, VersionSource::BuildInfo))
}

/// `const Version = 24` in goversion.go (go.dev/issue/40705).
pub fn parse_goversion_const(text: &str) -> Option<u32> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("const Version")?;
        let n = rest.trim_start().strip_prefix('=')?.trim();
        n.parse().ok()
    })
}

/// The minimum bootstrap as `src/make.bash` states it: `bootgo=1.20.6` (Go 1.22 and
/// later), or the comment `GOROOT_BOOTSTRAP: A working Go tree >= Go 1.17.13 for
/// bootstrap.` (Go 1.5 to 1.21).
pub fn make_bash_floor(make_bash: &str) -> Option<GoVersion> {
    for line in make_bash.lines() {
        if let Some(v) = line.trim().strip_prefix("bootgo=") {
            return GoVersion::parse(v.trim_matches(['"', '\'']));
        }
    }
    make_bash.lines().find_map(|line| {
        let i = line.find("Go tree >= Go ")?;
        let v = &line[i + "Go tree >= Go ".len()..];
        GoVersion::parse(v.trim_end_matches(|c: char| c == '.' || c.is_whitespace()))
            .or_else(|| GoVersion::parse(v.split_whitespace().next()?.trim_end_matches('.')))
    })
}

/// The oldest Go that can bootstrap `target`, from Go's own sources: None before Go 1.5
/// (built with a C toolchain). Go 1.5–1.19 need Go 1.4 (go.dev/s/go15bootstrap);
/// 1.20–1.21 Go 1.17.13 (`src/cmd/dist/notgo117.go`); 1.22–1.23 Go 1.20.6 (`notgo120.go`);
/// 1.24–1.25 Go 1.22.6 (`notgo122.go`); 1.26–1.27 Go 1.24.6 (`notgo124.go`); 1.28 Go
/// 1.26.0 (`notgo126.go`). Later releases follow the rule of go.dev/issue/54265
/// ("Go 1.N requires Go 1.M, M = N-2 rounded down to even"), at patch .0 until make.bash
/// says otherwise.
pub fn bootstrap_floor(target: &GoVersion) -> Option<GoVersion> {
    if target.major != 1 || target.minor < 5 {
        return None;
    }
    let v = GoVersion::release;
    Some(match target.minor {
        5..=19 => v(1, 4, 0),
        20 | 21 => v(1, 17, 13),
        22 | 23 => v(1, 20, 6),
        24 | 25 => v(1, 22, 6),
        26 | 27 => v(1, 24, 6),
        n => {
            let m = n - 2;
            v(1, m - m % 2, 0)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> GoVersion {
        GoVersion::parse(s).unwrap_or_else(|| panic!("{s} does not parse"))
    }

    #[test]
    fn parses_release_pre_release_and_devel() {
        assert_eq!(p("go1.23.5"), GoVersion::release(1, 23, 5));
        assert_eq!(p("go1.23.5 X:boringcrypto"), GoVersion::release(1, 23, 5));
        assert_eq!(p("1.20.6"), GoVersion::release(1, 20, 6));
        assert_eq!(p("go1.4"), GoVersion::release(1, 4, 0));
        assert_eq!(p("go1.21rc2").stage, Stage::Rc(2));
        assert_eq!(p("go1.20beta1").stage, Stage::Beta(1));
        let d = p("devel go1.24-4e7e9b8 Tue Jun 4 10:00:00 2024 +0000");
        assert_eq!((d.minor, d.stage), (24, Stage::Devel));
        assert!(GoVersion::parse("go").is_none());
        assert!(GoVersion::parse("gofoo").is_none());
        assert!(GoVersion::parse("go1.x").is_none());
        assert!(GoVersion::parse("go1.23abc").is_none());
        assert!(GoVersion::parse("").is_none());
    }

    #[test]
    fn orders_like_go() {
        assert!(p("go1.20.6") > p("go1.20.5"));
        assert!(p("go1.20.6") > p("go1.20rc1"));
        assert!(p("go1.20rc2") > p("go1.20rc1"));
        assert!(p("go1.20rc1") > p("go1.20beta1"));
        assert!(p("go1.20beta1") > p("devel go1.20-abc"));
        assert!(p("devel go1.21-abc") > p("go1.20.14"));
        assert!(p("go1.22.0") > p("go1.21.13"));
        assert_eq!(p("go1.22.0").go_name(), "go1.22.0");
        assert_eq!(p("go1.20").go_name(), "go1.20");
        assert_eq!(p("go1.21.0").go_name(), "go1.21.0");
    }

    #[test]
    fn floors_per_release() {
        let f = |s: &str| bootstrap_floor(&p(s)).map(|v| v.go_name());
        assert_eq!(f("go1.4.3"), None);
        assert_eq!(f("go1.5"), Some("go1.4".into()));
        assert_eq!(f("go1.19.13"), Some("go1.4".into()));
        assert_eq!(f("go1.20.14"), Some("go1.17.13".into()));
        assert_eq!(f("go1.21.0"), Some("go1.17.13".into()));
        assert_eq!(f("go1.22.0"), Some("go1.20.6".into()));
        assert_eq!(f("go1.23.5"), Some("go1.20.6".into()));
        assert_eq!(f("go1.24.2"), Some("go1.22.6".into()));
        assert_eq!(f("go1.25.0"), Some("go1.22.6".into()));
        assert_eq!(f("go1.26.1"), Some("go1.24.6".into()));
        assert_eq!(f("go1.27rc1"), Some("go1.24.6".into()));
        assert_eq!(f("devel go1.28-abc"), Some("go1.26.0".into()));
        assert_eq!(f("go1.29.0"), Some("go1.26.0".into()));
        assert_eq!(f("go1.30.0"), Some("go1.28.0".into()));
    }

    #[test]
    fn make_bash_states_its_floor() {
        let new = "# GOROOT_BOOTSTRAP: A working Go tree >= Go 1.20.6 for bootstrap.\n\nbootgo=1.20.6\n\nset -e\n";
        assert_eq!(make_bash_floor(new), Some(GoVersion::release(1, 20, 6)));
        let old = "# GOROOT_BOOTSTRAP: A working Go tree >= Go 1.17.13 for bootstrap.\n# If $GOROOT_BOOTSTRAP/bin/go is missing\n";
        assert_eq!(make_bash_floor(old), Some(GoVersion::release(1, 17, 13)));
        let older = "# GOROOT_BOOTSTRAP: A working Go tree >= Go 1.4 for bootstrap.\n";
        assert_eq!(make_bash_floor(older), Some(GoVersion::release(1, 4, 0)));
        assert_eq!(make_bash_floor("#!/bin/sh\nexit 0\n"), None);
    }

    #[test]
    fn goversion_const() {
        let text = "package goversion\n\n// comment\nconst Version = 24\n";
        assert_eq!(parse_goversion_const(text), Some(24));
        assert_eq!(parse_goversion_const("package x\n"), None);
    }
}
