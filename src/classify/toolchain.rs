//! Static findings about the toolchain, added to the verdicts of a probe.
//!
//! Signal: `Evidence::toolchain`, filled by `probe` from the files of the go it ran (its
//! binary, its GOROOT's `bin/` and `pkg/tool/<os>_<arch>/`), read from headers and build
//! info — never by running them. The conclusions come from `toolchain::analysis`, which
//! `gohang check` uses too.
//!
//! A foreign or mixed toolchain is a reason to fail (exec refused: ENOEXEC, EBADARCH) or to
//! run slowly translated (golang/go#42700, #68485 under Rosetta), and a Go version mismatch
//! between go and `pkg/tool` stops every build (`compile: version … does not match go tool
//! version …`, `cmd/compile/internal/base/flag.go`). None of this by itself shows why a
//! process is stuck now, so the verdict is secondary: it leads only when nothing else
//! explains a stall (the classifier found no cause), and it adds its facts to an
//! `arch-mismatch` verdict that exec failures already produced.

use super::Classification;
use crate::classify::advice::install_instead;
use crate::classify::analysis::{self, Analysis, ArchState, Fit};
use crate::evidence::guard;
use crate::evidence::toolchain::Platform;
use crate::evidence::toolchain::ToolchainEvidence;
use crate::evidence::{Evidence, Os, Outcome};
use crate::gover::GoVersion;
use crate::verdict::{Confidence, Verdict, VerdictKind};

/// Files listed one by one before "and N more".
const MAX_LISTED: usize = 8;

pub(super) fn amend(ev: &Evidence, mut c: Classification) -> Classification {
    let Some(t) = &ev.toolchain else {
        return c;
    };
    let a = analysis::analyze(t, &ev.host, !ev.host.translation.is_native());
    let go_native = a.go_fit.as_ref().is_none_or(Fit::is_native);
    if !a.has_problems() && go_native {
        c.reasons.push(format!(
            "toolchain: {} binaries of {} are native and of one Go version",
            a.binaries,
            t.goroot.as_deref().unwrap_or(&t.go_path)
        ));
        return c;
    }
    let v = verdict(ev, t, &a);
    if let Some(existing) = c
        .verdicts
        .iter_mut()
        .find(|x| x.kind == VerdictKind::ArchMismatch)
    {
        for fact in v.evidence {
            if !existing.evidence.contains(&fact) {
                existing.evidence.push(fact);
            }
        }
        c.reasons.push(
            "toolchain: static findings added to the arch-mismatch verdict already found"
                .to_string(),
        );
        return c;
    }
    let p = &c.verdicts[0];
    let unexplained = matches!(ev.outcome, Outcome::TimedOut { .. } | Outcome::Attached)
        && p.kind == VerdictKind::Idle
        && p.confidence == Confidence::Low;
    if unexplained {
        c.reasons.push(
            "toolchain: nothing else explains the stall, so the static arch-mismatch leads"
                .to_string(),
        );
        c.chain = ev.target.pid.into_iter().collect();
        c.verdicts.insert(0, v);
    } else {
        c.reasons.push(format!(
            "toolchain: arch-mismatch found statically, secondary to {}",
            p.kind
        ));
        c.verdicts.push(v);
    }
    c
}

fn verdict(ev: &Evidence, t: &ToolchainEvidence, a: &Analysis) -> Verdict {
    let os = &ev.host.os;
    let hw = ev.host.hardware_arch.display_for(os);
    let root = t
        .scan
        .as_ref()
        .map(|s| s.root.clone())
        .or_else(|| t.goroot.clone())
        .unwrap_or_else(|| t.go_path.clone());
    let go_arch = a.go_arch.clone().unwrap_or_else(|| "?".to_string());
    let summary = match (&a.go_fit, a.state) {
        (Some(Fit::Translated { by }), _) => {
            format!(
                "the go toolchain {root} is {go_arch}: on this {hw} machine it runs translated by {by}"
            )
        }
        (Some(Fit::Foreign { why }), _) => {
            format!("the go toolchain {root} cannot run on this machine: {why}")
        }
        (_, ArchState::Mixed | ArchState::Foreign) => {
            let bad = a.foreign.len() + a.invalid.len();
            format!(
                "the GOROOT {root} mixes architectures: {bad} of {} binaries {} not native to this {hw} machine",
                a.binaries,
                if bad == 1 { "is" } else { "are" }
            )
        }
        _ if a.tool_dir.is_some() && !a.tool_dir_present => format!(
            "the GOROOT {root} has no pkg/tool/{}: this go finds no compiler",
            a.tool_dir.clone().unwrap_or_default()
        ),
        _ => format!(
            "the GOROOT {root} mixes Go versions: builds stop with `compile: version … does not match go tool version …`"
        ),
    };
    let mut v = Verdict::new(VerdictKind::ArchMismatch, Confidence::Medium, None, summary);
    v = v.fact(format!(
        "go: {} ({go_arch}, {}, {})",
        t.go.real_path(),
        a.go_version.as_deref().unwrap_or("no build info"),
        a.go_fit
            .as_ref()
            .map(Fit::describe)
            .unwrap_or_else(|| "not inspected".to_string())
    ));
    let rel = |p: &str| {
        p.strip_prefix(&root)
            .map(|r| r.trim_start_matches('/').to_string())
            .unwrap_or_else(|| p.to_string())
    };
    let listed: Vec<String> = a
        .foreign
        .iter()
        .chain(&a.invalid)
        .map(|x| format!("{}: {}, {}", rel(&x.path), x.arch, x.detail))
        .chain(a.version_mismatches.iter().map(|x| {
            format!(
                "{}: built by {}, go is {}",
                rel(&x.path),
                x.detail,
                a.go_version.as_deref().unwrap_or("?")
            )
        }))
        .collect();
    let more = listed.len().saturating_sub(MAX_LISTED);
    v = v.facts(listed.into_iter().take(MAX_LISTED));
    if more > 0 {
        v = v.fact(format!("and {more} more (gohang check lists them all)"));
    }
    for d in &a.stale_dirs {
        v = v.fact(format!(
            "{}: binaries for another machine (ignored by go)",
            rel(d)
        ));
    }
    v = v.fact(format!("hardware architecture: {hw}"));
    let release = a
        .go_version
        .as_deref()
        .and_then(crate::gover::GoVersion::parse)
        .filter(|g| g.is_release());
    v.remedy(remedy(ev, t, a, &root, release))
}

/// The fix for a toolchain found wrong, by what `guard` says of its tree: a Go tree
/// nobody owns may be rebuilt or replaced (nothing removed before the new one is
/// unpacked); a package manager's tree is reinstalled with it; anything else (a GOROOT
/// naming a prefix such as /usr/local, $HOME, a lone copied go binary) gets no command
/// that deletes, only what to check and a fresh install elsewhere.
fn remedy(
    ev: &Evidence,
    t: &ToolchainEvidence,
    a: &Analysis,
    root: &str,
    release: Option<GoVersion>,
) -> String {
    let os = &ev.host.os;
    let platform = Platform::native(&ev.host);
    let tree = match guard::judge_tree(t.tree.as_ref()) {
        guard::TreeJudgement::Replaceable(tree) => tree,
        guard::TreeJudgement::Owned(owner) => {
            let lines: Vec<String> = install_instead(&ev.host, release, Some(&owner))
                .into_iter()
                .map(|l| l.trim_start_matches("# ").to_string())
                .collect();
            return format!(
                "{root} belongs to {}: reinstall it with its package manager, not by hand: {}",
                owner.describe(),
                lines.join("; ")
            );
        }
        guard::TreeJudgement::Refused(_) if t.goroot.is_none() => {
            return format!(
                "{} has no Go tree around it (no GOROOT: a copied go binary?), and the go command \
                 needs its whole tree: install a Go release into a new, empty directory \
                 (go.dev/doc/install) and put its bin/ first on PATH, or set GOROOT to the tree \
                 this go came from",
                t.go_path
            );
        }
        guard::TreeJudgement::Refused(why) => return guard::refused_replacement(root, &why),
    };
    let q = crate::shell::quote(&tree.path().display().to_string());
    if a.state == ArchState::Native && go_native_or_none(a) {
        match release {
            Some(v) => format!(
                "reinstall {v} into an empty directory: a release unpacked over another leaves stale tools. \
                 This line downloads first and removes the old tree only once the new one is unpacked \
                 (put sudo before each step if the directory is not yours): {}",
                crate::classify::advice::replace_with_archive(
                    &tree,
                    &v.go_name(),
                    &platform.goos,
                    &platform.goarch,
                    false,
                )
            ),
            None => format!(
                "reinstall Go into an empty directory: download a release archive from go.dev/dl, \
                 unpack it into a new directory, and only then replace {q} with it; a release \
                 unpacked over another leaves stale tools"
            ),
        }
    } else if *os == Os::Macos {
        format!(
            "use a Go built for this Mac: {}; or rebuild this one natively: gohang rebuild --goroot {q}",
            crate::classify::advice::MAC_ARM64_GO
        )
    } else {
        format!(
            "use a Go built for this machine (the linux-{} archive from go.dev/dl), or rebuild \
             this one natively: gohang rebuild --goroot {q}; `gohang check` shows every foreign file",
            ev.host.hardware_arch.goarch()
        )
    }
}

fn go_native_or_none(a: &Analysis) -> bool {
    a.go_fit.as_ref().is_none_or(Fit::is_native)
}

#[cfg(test)]
mod tests {
    use crate::classify::classify;
    use crate::evidence::{Arch, Evidence, HostInfo, Mode, Os, Outcome, Target, Translation};

    use crate::toolchain::ToolchainEvidence;
    use crate::toolchain::goroot::{GorootScan, ToolDir};
    use crate::verdict::{Confidence, VerdictKind};

    fn host() -> HostInfo {
        HostInfo {
            os: Os::Macos,
            arch: Arch::Aarch64,
            hardware_arch: Arch::Aarch64,
            translation: Translation::Native,
            kernel: None,
            cpus: 8,
            binfmt: Vec::new(),
            rosetta_installed: Some(true),
            arm64_homebrew: None,
        }
    }

    /// An arm64 go whose pkg/tool/darwin_arm64 holds an x86_64 compile when `mixed`.
    fn toolchain(mixed: bool) -> ToolchainEvidence {
        let go =
            crate::toolchain::fake::mac("/usr/local/go/bin/go", None, Arch::Aarch64, "go1.23.5");
        let compile_arch = if mixed { Arch::X86_64 } else { Arch::Aarch64 };
        ToolchainEvidence {
            go_path: go.path.clone(),
            go: go.clone(),
            goroot: Some("/usr/local/go".into()),
            goroot_source: Some("location of the go binary".into()),
            tool_dir: Some("darwin_arm64".into()),
            scan: Some(GorootScan {
                root: "/usr/local/go".into(),
                version_file: None,
                bin: vec![go],
                tool_dirs: vec![ToolDir {
                    name: "darwin_arm64".into(),
                    path: "/usr/local/go/pkg/tool/darwin_arm64".into(),
                    goos: Some("darwin".into()),
                    goarch: Some("arm64".into()),
                    files: vec![crate::toolchain::fake::mac(
                        "/usr/local/go/pkg/tool/darwin_arm64/compile",
                        None,
                        compile_arch,
                        "go1.23.5",
                    )],
                }],
            }),
            tree: Some(crate::guard::TreeFacts::release_tree("/usr/local/go")),
            notes: Vec::new(),
        }
    }

    fn evidence(outcome: Outcome, mixed: bool) -> Evidence {
        let target = Target {
            mode: Mode::Spawn,
            command: vec!["go".into(), "build".into()],
            pid: Some(4242),
            timeout_ms: Some(10_000),
        };
        let mut ev = Evidence::new(host(), target, outcome);
        ev.toolchain = Some(toolchain(mixed));
        ev
    }

    #[test]
    fn healthy_run_keeps_its_verdict_and_gains_a_secondary_one() {
        let ev = evidence(
            Outcome::Exited {
                code: Some(0),
                signal: None,
                elapsed_ms: 40,
            },
            true,
        );
        let c = classify(&ev);
        assert_eq!(c.verdicts[0].kind, VerdictKind::Healthy);
        let v = &c.verdicts[1];
        assert_eq!(v.kind, VerdictKind::ArchMismatch);
        assert_eq!(v.confidence, Confidence::Medium);
        assert!(v.summary.contains("mixes architectures"), "{}", v.summary);
        assert!(
            v.evidence
                .iter()
                .any(|e| e.starts_with("pkg/tool/darwin_arm64/compile: x86_64")),
            "{:?}",
            v.evidence
        );
        assert!(v.remedy.as_deref().unwrap().contains("gohang rebuild"));
    }

    #[test]
    fn a_release_unpacked_over_another_gets_a_safe_reinstall_line() {
        let mut ev = evidence(Outcome::TimedOut { elapsed_ms: 10_000 }, false);
        let t = ev.toolchain.as_mut().unwrap();
        t.scan.as_mut().unwrap().tool_dirs[0].files[0] = crate::toolchain::fake::mac(
            "/usr/local/go/pkg/tool/darwin_arm64/compile",
            None,
            Arch::Aarch64,
            "go1.22.0",
        );
        let c = classify(&ev);
        let v = c
            .verdicts
            .iter()
            .find(|v| v.kind == VerdictKind::ArchMismatch)
            .unwrap_or_else(|| panic!("{:#?}", c.reasons));
        let r = v.remedy.as_deref().unwrap();
        // Download first, delete last, each step only if the one before worked.
        let line = r.split(": ").last().unwrap();
        assert!(
            line.starts_with("curl -fLO https://go.dev/dl/go1.23.5.darwin-arm64.tar.gz && "),
            "{r}"
        );
        let (curl, rm) = (line.find("curl").unwrap(), line.find("rm -rf").unwrap());
        assert!(
            curl < rm && line.ends_with("mv /usr/local/go.new /usr/local/go"),
            "{r}"
        );
        assert!(!r.contains("goVERSION"), "{r}");
    }

    /// A tree a package manager owns (Debian's /usr/lib/go-1.23, a Homebrew keg) is
    /// reinstalled with it, never deleted by hand.
    #[test]
    fn a_package_managers_tree_gets_its_reinstall() {
        for (manager, package, want) in [
            ("dpkg", "golang-1.23-go", "apt install"),
            ("homebrew", "go", "brew "),
        ] {
            let mut ev = evidence(Outcome::TimedOut { elapsed_ms: 10_000 }, true);
            if manager == "dpkg" {
                ev.host.os = Os::Linux;
            }
            let t = ev.toolchain.as_mut().unwrap();
            t.tree.as_mut().unwrap().owner = Some(crate::rebuild::goroot::Owner {
                manager: manager.into(),
                package: Some(package.into()),
            });
            let c = classify(&ev);
            let v = c
                .verdicts
                .iter()
                .find(|v| v.kind == VerdictKind::ArchMismatch)
                .unwrap();
            let r = v.remedy.as_deref().unwrap();
            assert!(
                !r.contains("rm -rf") && !r.contains("gohang rebuild"),
                "{r}"
            );
            assert!(r.contains("package manager") && r.contains(want), "{r}");
        }
    }

    #[test]
    fn leads_when_nothing_else_explains_a_stall() {
        let ev = evidence(Outcome::TimedOut { elapsed_ms: 10_000 }, true);
        let c = classify(&ev);
        assert_eq!(
            c.verdicts[0].kind,
            VerdictKind::ArchMismatch,
            "{:?}",
            c.reasons
        );
        assert_eq!(c.verdicts[1].kind, VerdictKind::Idle);
        assert_eq!(c.chain, vec![4242]);
    }

    #[test]
    fn joins_the_exec_failure_verdict() {
        let ev = evidence(
            Outcome::SpawnFailed {
                program: "/usr/local/go/bin/go".into(),
                error: "bad CPU type in executable".into(),
                errno: Some(86),
                program_arch: Some(Arch::X86_64),
                slices: vec![Arch::X86_64],
            },
            true,
        );
        let c = classify(&ev);
        let arch: Vec<_> = c
            .verdicts
            .iter()
            .filter(|v| v.kind == VerdictKind::ArchMismatch)
            .collect();
        assert_eq!(arch.len(), 1);
        assert!(
            arch[0]
                .evidence
                .iter()
                .any(|e| e.starts_with("go: /usr/local/go/bin/go"))
        );
    }

    #[test]
    fn a_consistent_toolchain_adds_nothing() {
        let ev = evidence(Outcome::TimedOut { elapsed_ms: 10_000 }, false);
        let c = classify(&ev);
        assert!(
            c.verdicts
                .iter()
                .all(|v| v.kind != VerdictKind::ArchMismatch)
        );
        assert!(
            c.reasons
                .iter()
                .any(|r| r.starts_with("toolchain: 2 binaries"))
        );
        // The evidence round-trips with its toolchain part.
        let back: Evidence = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back, ev);
    }
}
