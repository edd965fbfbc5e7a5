//! Live test: a reader blocked in read(2) at every sample whose input still arrives, slowly,
//! is making progress — its `/proc/PID/io` `rchar` grows — and is not called stuck.
#![cfg(target_os = "linux")]

mod util;

use gohang::verdict::{Confidence, VerdictKind};
use std::process::Stdio;
use std::time::Duration;
use util::*;

#[test]
fn a_pipe_reader_fed_slowly_is_progressing_not_waiting() {
    let _s = serial();
    let mut c = std::process::Command::new("sh");
    c.args([
        "-c",
        "while sleep 0.1; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done | cat > /dev/null",
    ])
    .stdin(Stdio::null());
    let sh = Guard::spawn_group(&mut c);
    let cat = wait_for(Duration::from_secs(10), || {
        children_of(sh.pid())
            .into_iter()
            .find(|p| comm(*p).as_deref() == Some("cat"))
    })
    .expect("the pipeline never started cat");
    std::thread::sleep(Duration::from_millis(300));
    let out = run(&["attach", &sh.pid().to_string(), "--json", "--window", "1s"]);
    let r = parse_report(&out.stdout);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::Progressing, "{r:#?}");
    assert_eq!(p.confidence, Confidence::Low, "{r:#?}");
    assert_eq!(p.pid, Some(cat));
    assert!(
        p.summary.contains("reads slowly from pid")
            && p.summary.contains("B/s), since ")
            && p.summary.contains("it makes progress, nothing is stuck"),
        "{}",
        p.summary
    );
    assert!(
        p.evidence
            .iter()
            .any(|e| e.contains(&format!("/proc/{cat}/io rchar rose by "))),
        "{:#?}",
        p.evidence
    );
    drop(sh);
}

/// A test that never ends under `go test`: the verdict is about the test binary, and the fix
/// about tests (`-timeout`, goroutines), not about modules.
#[test]
fn a_hanging_test_binary_gets_advice_about_tests_not_modules() {
    if !need(have("go"), "a go on PATH (scripts/setup.sh)") {
        return;
    }
    let _s = serial();
    let m = util::gomod::Module::new("1.21", None);
    std::fs::write(
        m.app().join("hang_test.go"),
        "package main\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestHang(t *testing.T) { time.Sleep(time.Hour) }\n",
    )
    .unwrap();
    let mut c = std::process::Command::new("go");
    c.args(["test", "-count=1", "."])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    util::gomod::isolated_go_env(&mut c, &m);
    let go = Guard::spawn_group(&mut c);
    let test = wait_for(Duration::from_secs(120), || {
        descendants_of(go.pid())
            .into_iter()
            .find(|p| comm(*p).is_some_and(|c| c.ends_with(".test")))
    })
    .expect("go test never ran the test binary");
    std::thread::sleep(Duration::from_millis(300));
    let out = run(&["attach", &go.pid().to_string(), "--json", "--window", "1s"]);
    let r = parse_report(&out.stdout);
    let p = r.primary();
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    assert_eq!(p.pid, Some(test), "{r:#?}");
    assert!(
        p.evidence
            .iter()
            .any(|e| e.starts_with("it is the test binary `go test` built and runs")),
        "{:#?}",
        p.evidence
    );
    let fix = p.remedy.as_deref().unwrap();
    assert!(
        fix.starts_with("a test hangs: `go test -run 'NAME' -timeout 30s`"),
        "{fix}"
    );
    assert!(
        !fix.contains("GOPROXY") && !fix.contains("go mod download"),
        "{fix}"
    );
    drop(go);
}
