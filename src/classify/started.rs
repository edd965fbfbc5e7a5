//! Why the processes of the primary chain were started, where the program above them says
//! so: go stamps binaries with version control information (`-buildvcs`) by running the
//! repository's VCS (`git status --porcelain`, cmd/go/internal/vcs); git runs the programs
//! its configuration names and the repository's hooks (`Evidence::git_started`). A wait at
//! the end of such a chain is fixed at that step — a flag, a setting in a named file — so
//! the primary verdict gains the step as a fact, and its advice before the verdict's own.
//!
//! Signal: the argv of consecutive processes of `Classification::chain`, and
//! `Evidence::git_started`.

use super::Classification;
use crate::evidence::{Evidence, ProcessSnapshot, is_go_command};

/// The commands cmd/go/internal/vcs runs for a build's version control stamp (its
/// `gitStatus`, `hgStatus`, `bzrStatus`, `fossilStatus`), by VCS program: the arguments
/// that start each command, after any `-c name=value` options.
const STAMP_COMMANDS: &[(&str, &[&[&str]])] = &[
    (
        "git",
        &[
            &["status", "--porcelain"],
            &["log", "-1", "--format=%H:%ct"],
        ],
    ),
    ("hg", &[&["log", "-l1"], &["status"]]),
    ("bzr", &[&["version-info"], &["status"]]),
    ("fossil", &[&["info"], &["changes"]]),
];

/// go subcommands that build a main package and so may stamp it.
const STAMPING: &[&str] = &["build", "install", "run", "test", "list", "vet"];

pub(crate) fn amend(ev: &Evidence, mut c: Classification) -> Classification {
    let Some(last) = ev.samples.last() else {
        return c;
    };
    // Facts in the chain's order (go's stamp, then what git ran); advice from the cause
    // nearest the wait (the setting) to the workaround (the flag).
    let (mut facts, mut advice) = (Vec::new(), Vec::new());
    let (mut stamp_facts, mut stamp_advice) = (Vec::new(), Vec::new());
    for pid in &c.chain {
        let Some(g) = ev.git_started.iter().find(|g| g.pid == *pid) else {
            continue;
        };
        let name = last
            .process(*pid)
            .map(|p| p.display_name())
            .unwrap_or_default();
        facts.push(format!(
            "pid {pid} ({name}) was started by git (pid {}) for its setting {} = `{}` ({})",
            g.git_pid, g.setting, g.value, g.origin
        ));
        advice.push(format!(
            "the program git runs for {} (`{}`, from {}) is where the wait is: fix it, or unset the setting there to confirm",
            g.setting, g.value, g.origin
        ));
    }
    for w in c.chain.windows(2) {
        let (Some(parent), Some(child)) = (last.process(w[0]), last.process(w[1])) else {
            continue;
        };
        if let Some((fact, fix)) = stamping(parent, child) {
            stamp_facts.push(fact);
            stamp_advice.push(fix);
        }
    }
    stamp_facts.append(&mut facts);
    let facts = stamp_facts;
    advice.append(&mut stamp_advice);
    if facts.is_empty() {
        return c;
    }
    let Some(v) = c.verdicts.first_mut() else {
        return c;
    };
    v.evidence.extend(facts);
    let own = v.remedy.take();
    v.remedy = Some(advice.into_iter().chain(own).collect::<Vec<_>>().join("; "));
    c.reasons
        .push("the chain passes through a step its parent explains (started.rs)".to_string());
    c
}

/// A go command running its VCS for the version control stamp: the fact and the advice.
fn stamping(go: &ProcessSnapshot, vcs: &ProcessSnapshot) -> Option<(String, String)> {
    if !is_go_command(go) {
        return None;
    }
    let go_args = go.argv.value()?;
    let sub = go_args.iter().skip(1).find(|a| !a.starts_with('-'))?;
    if !STAMPING.contains(&sub.as_str()) {
        return None;
    }
    let argv = vcs.argv.value()?;
    let program = argv.first()?;
    let base = program.rsplit('/').next().unwrap_or(program);
    let (_, commands) = STAMP_COMMANDS.iter().find(|(p, _)| *p == base)?;
    // Skip `-c name=value` pairs before the command.
    let mut rest = &argv[1..];
    while rest.first().is_some_and(|a| a == "-c") && rest.len() >= 2 {
        rest = &rest[2..];
    }
    let matches = commands
        .iter()
        .any(|c| c.len() <= rest.len() && c.iter().zip(rest).all(|(want, got)| got == want));
    if !matches {
        return None;
    }
    let where_ = vcs
        .cwd
        .as_deref()
        .map(|d| format!(" in {d}"))
        .unwrap_or_default();
    Some((
        format!(
            "go {sub} runs `{}`{where_} to stamp the binary with version control information (-buildvcs: by default go stamps when the main package, its module and the current directory are in one repository, `go help build`)",
            argv.join(" ")
        ),
        format!(
            "`go {sub} -buildvcs=false` (or GOFLAGS=-buildvcs=false) skips the version control stamp, and with it the `{}` that waits here (run it{where_} to see it wait)",
            argv.join(" ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{Fact, GitStarted};
    use crate::verdict::{Confidence, Verdict, VerdictKind};

    fn proc(pid: u32, ppid: u32, argv: &[&str], cwd: &str) -> ProcessSnapshot {
        let comm = argv[0].rsplit('/').next().unwrap();
        let mut p: ProcessSnapshot = serde_json::from_str(&format!(
            r#"{{"pid":{pid},"ppid":{ppid},"comm":"{comm}","state":"sleeping","start_time":7}}"#
        ))
        .unwrap();
        p.argv = Fact::Collected(argv.iter().map(|s| s.to_string()).collect());
        p.cwd = Some(cwd.to_string());
        p
    }

    fn evidence(procs: Vec<ProcessSnapshot>) -> Evidence {
        let mut ev: Evidence = serde_json::from_str(include_str!(
            "../../tests/fixtures/linux_idle_go_sleeper/evidence.json"
        ))
        .unwrap();
        ev.samples.truncate(1);
        ev.samples[0].processes = procs;
        ev
    }

    fn classification(chain: Vec<u32>) -> Classification {
        Classification {
            verdicts: vec![
                Verdict::new(VerdictKind::ChildWait, Confidence::High, Some(4), "waits")
                    .remedy("look at pid 4"),
            ],
            chain,
            reasons: Vec::new(),
        }
    }

    #[test]
    fn a_build_waiting_on_its_vcs_stamp_and_a_git_hook() {
        let mut ev = evidence(vec![
            proc(1, 0, &["go", "build", "-o", "/dev/null", "."], "/src/m"),
            proc(2, 1, &["git", "status", "--porcelain"], "/src/m"),
            proc(3, 2, &["/bin/sh", "/src/hook.sh", "2", "17"], "/src/m"),
            proc(4, 3, &["sleep", "600"], "/src/m"),
        ]);
        ev.git_started = vec![GitStarted {
            pid: 3,
            git_pid: 2,
            setting: "core.fsmonitor".into(),
            value: "/src/hook.sh".into(),
            origin: "/src/m/.git/config line 8".into(),
        }];
        let c = amend(&ev, classification(vec![1, 2, 3, 4]));
        let v = &c.verdicts[0];
        assert!(
            v.evidence.iter().any(|e| e.starts_with(
                "go build runs `git status --porcelain` in /src/m to stamp the binary with version control information"
            )),
            "{:#?}",
            v.evidence
        );
        assert!(
            v.evidence.iter().any(|e| e.starts_with("pid 3 (") && e.ends_with(
                ") was started by git (pid 2) for its setting core.fsmonitor = `/src/hook.sh` (/src/m/.git/config line 8)"
            )),
            "{:#?}",
            v.evidence
        );
        let fix = v.remedy.as_deref().unwrap();
        assert!(
            fix.starts_with("the program git runs for core.fsmonitor"),
            "{fix}"
        );
        assert!(fix.contains("`go build -buildvcs=false`"), "{fix}");
        assert!(fix.ends_with("look at pid 4"), "{fix}");
    }

    #[test]
    fn a_fetch_is_not_a_stamp() {
        // go mod download runs git to fetch, not to stamp; go build running `git fetch` is
        // not one of the stamp's commands either.
        for (go, git) in [
            (
                vec!["go", "mod", "download"],
                vec!["git", "status", "--porcelain"],
            ),
            (vec!["go", "build", "."], vec!["git", "fetch", "origin"]),
        ] {
            let ev = evidence(vec![proc(1, 0, &go, "/m"), proc(2, 1, &git, "/m")]);
            let c = amend(&ev, classification(vec![1, 2]));
            assert_eq!(c.verdicts[0].evidence, Vec::<String>::new());
            assert_eq!(c.verdicts[0].remedy.as_deref(), Some("look at pid 4"));
        }
        // The second stamp command, after git's -c options.
        let ev = evidence(vec![
            proc(1, 0, &["go", "install", "./cmd/x"], "/m"),
            proc(
                2,
                1,
                &[
                    "git",
                    "-c",
                    "log.showsignature=false",
                    "log",
                    "-1",
                    "--format=%H:%ct",
                ],
                "/m",
            ),
        ]);
        let c = amend(&ev, classification(vec![1, 2]));
        assert_eq!(c.verdicts[0].evidence.len(), 1, "{:#?}", c.verdicts[0]);
    }
}
