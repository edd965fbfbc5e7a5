//! Live tests of a build stuck in its version control stamp: `go build` runs
//! `git status --porcelain` in the module's repository (-buildvcs), and git runs a program
//! its configuration names — a core.fsmonitor hook, a clean filter — that never returns.
//! The verdict names go's step and git's setting with the file and line that set it.
#![cfg(target_os = "linux")]

mod util;

use gohang::report::Report;
use gohang::verdict::VerdictKind;
use std::path::Path;
use std::process::{Command, Stdio};
use util::gomod::*;
use util::*;

/// A module in a git repository whose configuration (set by `configure`) makes
/// `git status` run `script`, a program that sleeps; probed while `go build` hangs.
fn probe_build_in_repo(configure: impl FnOnce(&Path, &Path)) -> Report {
    let m = Module::new("1.21", None);
    let repo = m.app();
    let home = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let st = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("HOME", home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "git {args:?}");
    };
    std::fs::write(repo.join(".gitattributes"), "*.txt filter=slow\n").unwrap();
    std::fs::write(repo.join("data.txt"), "hello\n").unwrap();
    git(&["init", "-q", "."]);
    git(&["add", "."]);
    git(&[
        "-c",
        "user.email=t@example.com",
        "-c",
        "user.name=t",
        "commit",
        "-qm",
        "init",
    ]);
    let script = m.dir.path().join("hangs.sh");
    std::fs::write(&script, "#!/bin/sh\nsleep 120\n").unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    configure(&repo, &script);

    let mut c = gohang();
    c.args([
        "probe",
        "--json",
        "--timeout",
        "3s",
        "--window",
        "1s",
        "--",
        "go",
        "build",
        "-o",
    ])
    .arg("/dev/null")
    .arg(".");
    isolated_go_env(&mut c, &m);
    c.env("HOME", home.path()).env("GIT_CONFIG_NOSYSTEM", "1");
    let out = c.output().unwrap();
    parse_report(&out.stdout)
}

fn set(repo: &Path, key: &str, value: &Path) {
    let st = Command::new("git")
        .args(["config", key])
        .arg(value)
        .current_dir(repo)
        .status()
        .unwrap();
    assert!(st.success());
}

fn assert_stamp_and_setting(r: &Report, setting: &str) {
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    assert!(
        p.evidence.iter().any(
            |e| e.starts_with("go build runs `git status --porcelain` in ")
                && e.contains("to stamp the binary with version control information")
        ),
        "{:#?}",
        p.evidence
    );
    let named = p.evidence.iter().find(|e| {
        e.contains(&format!("for its setting {setting} = `"))
            && e.contains("hangs.sh`")
            && e.contains("/.git/config line ")
    });
    assert!(named.is_some(), "{:#?}", p.evidence);
    let fix = p.remedy.as_deref().unwrap_or_default();
    assert!(
        fix.starts_with(&format!("the program git runs for {setting}")),
        "{fix}"
    );
    assert!(fix.contains("-buildvcs=false"), "{fix}");
}

#[test]
fn a_build_whose_git_status_runs_a_hanging_fsmonitor_hook() {
    if !need(have("go") && have("git"), "go and git (scripts/setup.sh)") {
        return;
    }
    let _s = serial();
    let r = probe_build_in_repo(|repo, script| set(repo, "core.fsmonitor", script));
    assert_stamp_and_setting(&r, "core.fsmonitor");
}

#[test]
fn a_build_whose_git_status_runs_a_hanging_clean_filter() {
    if !need(have("go") && have("git"), "go and git (scripts/setup.sh)") {
        return;
    }
    let _s = serial();
    let r = probe_build_in_repo(|repo, script| {
        set(repo, "filter.slow.clean", script);
        // The same content with a newer time: git status must run the clean filter to
        // compare it with the index.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let f = repo.join("data.txt");
        std::fs::write(&f, "hello\n").unwrap();
    });
    assert_stamp_and_setting(&r, "filter.slow.clean");
}
