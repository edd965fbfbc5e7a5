//! Every fix gohang prints that removes, kills or overwrites, run against hostile inputs:
//! a GOROOT that names `/`, `/usr`, `/usr/local`, `$HOME`, a GOPATH, a path with spaces
//! and quotes, a package manager's tree, a lone copied go binary; pid 0 and 1, process
//! group 1. No destructive command may survive any of them (issue 13).
//!
//! `gohang check` runs as a user runs it (the built binary, a cleared environment); the
//! classifier's toolchain rule gets its evidence from the same real directories through
//! `toolchain::evidence_for`; the remedy templates that name a pid get the pids directly.

use gohang::classify::{classify, remedy};
use gohang::evidence::{Evidence, HostInfo, Mode, Os, Outcome, Target};
use gohang::toolchain::{Env, evidence_for, goenv};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Text that deletes, moves over, kills or overwrites.
const DESTRUCTIVE: [&str; 8] = [
    "rm -rf",
    "rm -r ",
    " mv ",
    "chmod",
    "go clean -modcache",
    ">>",
    "sed -i",
    "kill ",
];

fn assert_harmless(what: &str, texts: &[String]) {
    for t in texts {
        for d in DESTRUCTIVE {
            assert!(
                !t.contains(d),
                "{what}: a fix still says `{d}`:\n{t}\n(all fixes: {texts:#?})"
            );
        }
    }
}

/// The installed Go's real GOROOT.
fn system_goroot() -> PathBuf {
    let out = Command::new("go")
        .args(["env", "GOROOT"])
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("these tests need Go installed");
    fs::canonicalize(String::from_utf8(out.stdout).unwrap().trim()).unwrap()
}

/// A directory shaped like a Go tree (bin/go, src/runtime, pkg/tool, VERSION).
fn go_layout(dir: &Path) {
    for d in ["bin", "src/runtime", "pkg/tool/linux_amd64"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    fs::write(dir.join("VERSION"), "go1.23.5\n").unwrap();
    fs::copy(system_goroot().join("bin/go"), dir.join("bin/go")).unwrap();
    fs::set_permissions(dir.join("bin/go"), fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every fix `gohang check --json` prints with GOROOT=`goroot` and the system's go first
/// on PATH.
fn check_fixes(goroot: &Path, home: &Path) -> Vec<String> {
    let path = format!("{}/bin:/usr/bin:/bin", system_goroot().display());
    let out = Command::new(env!("CARGO_BIN_EXE_gohang"))
        .args(["check", "--json"])
        .env_clear()
        .env("PATH", &path)
        .env("HOME", home)
        .env("GOROOT", goroot)
        .env("GOPATH", home.join("go"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "check --json with GOROOT={}: {e}\n{}",
            goroot.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["fix"].as_str().map(str::to_string))
        .collect()
}

/// The remedies the classifier gives a stalled `go build` whose toolchain is the go at
/// `go`, with GOROOT=`goroot` (unset when None).
fn probe_remedies(go: &Path, goroot: Option<&Path>, home: &Path) -> Vec<String> {
    let mut pairs = vec![
        ("HOME".to_string(), home.display().to_string()),
        ("GOPATH".to_string(), home.join("go").display().to_string()),
    ];
    if let Some(g) = goroot {
        pairs.push(("GOROOT".into(), g.display().to_string()));
    }
    let env = Env::from_pairs(pairs);
    let envf = goenv::findings_from(&env, None, Vec::new());
    let host = HostInfo::of_build();
    let t = evidence_for(go, &env, &envf, &host, false);
    let target = Target {
        mode: Mode::Spawn,
        command: vec!["go".into(), "build".into()],
        pid: Some(4242),
        timeout_ms: Some(10_000),
    };
    let mut ev = Evidence::new(host, target, Outcome::TimedOut { elapsed_ms: 10_000 });
    ev.toolchain = Some(t);
    classify(&ev)
        .verdicts
        .iter()
        .filter_map(|v| v.remedy.clone())
        .collect()
}

#[test]
fn no_goroot_fix_deletes_a_directory_gohang_did_not_verify() {
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    // $HOME shaped like a Go tree: still never replaced.
    go_layout(&home);
    // A GOPATH with a module cache, Go's layout too.
    let gopath = d.path().join("gopath");
    go_layout(&gopath);
    fs::create_dir_all(gopath.join("pkg/mod/cache")).unwrap();
    // A prefix with spaces and quotes in its name, a bin/go and nothing else of Go's.
    let odd = d.path().join("it's a \"go\" prefix");
    fs::create_dir_all(odd.join("bin")).unwrap();
    fs::copy(system_goroot().join("bin/go"), odd.join("bin/go")).unwrap();
    let hostile: Vec<PathBuf> = vec![
        "/".into(),
        "/usr".into(),
        "/usr/local".into(),
        home.clone(),
        gopath.clone(),
        odd.clone(),
    ];
    let go = system_goroot().join("bin/go");
    for g in &hostile {
        let what = format!("GOROOT={}", g.display());
        let fixes = check_fixes(g, &home);
        assert_harmless(&format!("check, {what}"), &fixes);
        assert_harmless(
            &format!("probe, {what}"),
            &probe_remedies(&go, Some(g), &home),
        );
    }
    // The control: a real Go tree of nobody's gets its safe replacement line, quoted.
    let tree = d.path().join("my \"go\" tree");
    go_layout(&tree);
    fs::write(tree.join("VERSION"), "go1.22.0\n").unwrap();
    let fixes = check_fixes(&tree, &home).join("\n");
    let q = gohang::shell::quote(&fs::canonicalize(&tree).unwrap().display().to_string());
    assert!(
        fixes.contains(&format!("rm -rf {q} && mv ")),
        "a verified tree keeps its fix: {fixes}"
    );
}

#[test]
fn a_lone_copied_go_binary_is_not_replaced_by_a_directory() {
    let d = tempfile::tempdir().unwrap();
    let home = d.path().join("home");
    fs::create_dir_all(&home).unwrap();
    let bin = d.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let go = bin.join("go");
    fs::copy(system_goroot().join("bin/go"), &go).unwrap();
    let r = probe_remedies(&go, None, &home);
    assert_harmless("a lone go binary", &r);
    assert!(
        r.iter().any(|t| t.contains("no Go tree around it")),
        "the fix says what is wrong: {r:#?}"
    );
}

#[test]
fn no_kill_names_pid_0_or_1_or_process_group_1() {
    for pid in [0u32, 1] {
        let texts = vec![
            remedy::resume(pid, None),
            remedy::resume(pid, Some(pid as i32)),
            remedy::resume(4242, Some(pid as i32)),
            remedy::traced(pid, Some("gdb")),
            remedy::lock_wait(Some((pid, "go mod download"))),
            remedy::child_wait(pid, "sleep 3600", None),
            remedy::fork_child(pid),
            remedy::tty_stopped(pid as i32),
            remedy::idle(&remedy::LookCloser {
                pid,
                program: remedy::Program::Go,
                mode: Mode::Attach,
                dump: remedy::Dump::NotTaken,
                traced: false,
                host_os: &Os::Linux,
            }),
        ];
        for t in &texts {
            for bad in [
                format!("kill {pid}"),
                format!("kill -9 {pid}"),
                format!("kill -CONT {pid}"),
                format!("-- -{pid}"),
                format!("attach {pid} --goroutines"),
            ] {
                // `kill -CONT -- -1` and `kill 1…` must not appear; a larger pid that
                // merely starts with the digit is another process.
                let hit = t.match_indices(&bad).any(|(i, _)| {
                    !t[i + bad.len()..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit())
                });
                assert!(!hit, "pid {pid}: `{bad}` in: {t}");
            }
        }
    }
    // The pid a fix may name is still named.
    assert!(remedy::resume(4242, Some(4242)).contains("kill -CONT -- -4242"));
    assert!(remedy::lock_wait(Some((4300, "go"))).contains("kill 4300"));
}
