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
    assert_eq!(p.kind, VerdictKind::ChildWait, "{r:#?}");
    assert_eq!(p.confidence, Confidence::Low, "{r:#?}");
    assert_eq!(p.pid, Some(cat));
    assert!(
        p.summary.contains("reads slowly from pid")
            && p.summary
                .contains("B/s): it makes progress, nothing is stuck"),
        "{}",
        p.summary
    );
    assert!(
        p.evidence
            .iter()
            .any(|e| e.starts_with(&format!("/proc/{cat}/io rchar grew by "))),
        "{:#?}",
        p.evidence
    );
    drop(sh);
}
