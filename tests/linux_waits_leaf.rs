//! Live tests: the fix fits the leaf. A real `go generate` whose directive runs a program that
//! opens a FIFO nobody opens from the other side: the verdict names the FIFO, says the
//! opener is a generator and names its directive's file and line (GOFILE/GOLINE from the
//! generator's environment). A cgo build whose CC was set with `go env -w`: the verdict
//! names the go env file and the line that set it.
#![cfg(target_os = "linux")]

mod util;

use gohang::report::Report;
use gohang::verdict::VerdictKind;
use std::process::Command;
use util::gomod::{Module, isolated_go_env};
use util::*;

fn go_ok() -> bool {
    need(have("go"), "a go on PATH (scripts/setup.sh)")
}

/// `gohang probe --json OPTS -- CMD` in the module, with its isolated go environment
/// changed by `adjust`.
fn probe(m: &Module, opts: &[&str], cmd: &[&str], adjust: impl FnOnce(&mut Command)) -> Report {
    let mut c = gohang();
    c.arg("probe").arg("--json").args(opts).arg("--").args(cmd);
    isolated_go_env(&mut c, m);
    adjust(&mut c);
    report_of(&mut c).0
}

#[test]
fn a_generator_blocked_opening_a_fifo_names_the_fifo_and_its_directive() {
    if !go_ok() || !need(have("mkfifo"), "mkfifo") {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", None);
    let fifo = m.app().join("feed");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Line 3 holds the directive; cat opens the FIFO for reading and waits for a writer.
    std::fs::write(
        m.app().join("gen.go"),
        "package main\n\n//go:generate cat ./feed\n",
    )
    .unwrap();
    let r = probe(
        &m,
        &["--timeout", "3s", "--window", "1s", "--no-goroutines"],
        &["go", "generate", "."],
        |_| {},
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    let cat = r
        .processes
        .iter()
        .find(|q| q.command.starts_with("cat "))
        .unwrap_or_else(|| panic!("{r:#?}"));
    assert_eq!(p.pid, Some(cat.pid), "{r:#?}");
    assert!(
        p.summary.contains(&format!(
            "is blocked opening the FIFO ./feed ({}) for reading",
            fifo.display()
        )),
        "{}",
        p.summary
    );
    let directive = format!("{}/gen.go:3", m.app().display());
    assert!(
        p.evidence.iter().any(|e| e.contains("it is a generator")
            && e.contains(&format!("//go:generate directive at {directive}"))),
        "{:#?}",
        p.evidence
    );
    let fix = p.remedy.as_deref().unwrap_or("");
    assert!(
        fix.contains("open ./feed from the other side")
            && fix.contains(&format!("the directive is {directive}")),
        "{fix}"
    );
    assert_eq!(r.chain.first(), r.target.pid.as_ref(), "{:?}", r.chain);
    assert_eq!(r.chain.last(), Some(&cat.pid), "{:?}", r.chain);
}

#[test]
fn a_cc_set_with_go_env_w_names_the_file_and_line() {
    if !go_ok() || !need(have("gcc") || have("cc"), "a C toolchain for cgo") {
        return;
    }
    let _s = serial();
    let m = Module::new("1.21", None);
    let cc = m.cgo_with_slow_cc();
    let out = m.dir.path().join("out");
    m.warm_cgo_build(&out);
    // The file `go env -w CC=…` writes, pointed to by GOENV; CC on its second line.
    let goenv = m.dir.path().join("goenv");
    std::fs::write(&goenv, format!("GOAMD64=v1\nCC={}\n", cc.to_str().unwrap())).unwrap();
    let r = probe(
        &m,
        &["--timeout", "3s", "--window", "1s", "--no-goroutines"],
        &["go", "build", "-o", out.to_str().unwrap(), "."],
        |c| {
            c.env_remove("CC")
                .env("GOENV", &goenv)
                .env("CGO_ENABLED", "1");
        },
    );
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    let origin = format!(
        "CC={} (set with `go env -w` in {} line 2",
        cc.display(),
        goenv.display()
    );
    assert!(
        p.evidence.iter().any(|e| e.contains(&origin)),
        "{origin}\n{:#?}",
        p.evidence
    );
    let fix = p.remedy.as_deref().unwrap_or("");
    assert!(
        fix.contains(&origin) && fix.contains("go env -u CC"),
        "{fix}"
    );
}
