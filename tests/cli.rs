//! The command line as users and scripts meet it: help, usage errors, exit codes, and the
//! JSON report read back with a typed reader.

mod util;

use gohang::verdict::VerdictKind;
use std::process::Stdio;
use util::*;

#[test]
fn help_lists_the_commands() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["probe", "classify", "--verbose"] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
    let out = run(&["probe", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["--timeout", "--window", "--keep", "--json", "go version"] {
        assert!(text.contains(word), "probe --help lacks {word}:\n{text}");
    }
}

#[test]
fn usage_errors_exit_64() {
    for args in [
        vec!["frobnicate"],
        vec!["probe", "--timeout", "ten"],
        vec!["probe", "--window", "5 parsecs"],
        vec!["probe", "--no-such-flag"],
        vec![],
    ] {
        let out = run(&args);
        assert_eq!(
            out.status.code(),
            Some(64),
            "gohang {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn no_go_on_path_is_66_with_a_hint() {
    let mut c = gohang();
    c.args(["probe"])
        .env("PATH", "/nonexistent")
        .stdin(Stdio::null());
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(66));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("no `go` on PATH") && err.contains("install"),
        "{err}"
    );
}

#[test]
fn unknown_command_is_66() {
    let out = run(&["probe", "--", "/nonexistent/bin/tool"]);
    assert_eq!(out.status.code(), Some(66));
}

#[test]
fn json_report_shape() {
    let out = run(&["probe", "--json", "--", "sh", "-c", "echo hi; exit 3"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a command that fails in time is not a hang"
    );
    let r = parse_report(&out.stdout);
    assert_eq!(r.schema, "gohang.report/1");
    assert_eq!(r.command, "probe");
    assert_eq!(r.verdicts.len(), 1);
    let v = &r.verdicts[0];
    assert_eq!(v.kind, VerdictKind::Healthy);
    assert!(v.summary.contains("exit status 3"), "{}", v.summary);
    assert_eq!(r.host.os.name(), std::env::consts::OS);
    assert_eq!(r.output.stdout.tail, "hi\n");
    // stdout holds the JSON document and nothing else.
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.trim_start().starts_with('{') && text.trim_end().ends_with('}'));
    // The stable fields of DESIGN.md, by name.
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    for k in ["schema", "verdicts", "chain", "host"] {
        assert!(raw.get(k).is_some(), "missing {k}");
    }
    for k in ["kind", "confidence", "pid", "summary", "evidence", "remedy"] {
        assert!(raw["verdicts"][0].get(k).is_some(), "verdict lacks {k}");
    }
    for k in ["os", "arch", "hardware_arch"] {
        assert!(raw["host"].get(k).is_some(), "host lacks {k}");
    }
}

#[test]
fn classify_reads_saved_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let ev = dir.path().join("ev.json");
    let out = run(&[
        "probe",
        "--json",
        "--timeout",
        "300ms",
        "--window",
        "300ms",
        "--save-evidence",
        ev.to_str().unwrap(),
        "--",
        "sleep",
        "30",
    ]);
    let live = parse_report(&out.stdout);
    let again = run(&["classify", "--json", ev.to_str().unwrap()]);
    let replay = parse_report(&again.stdout);
    assert_eq!(
        live.verdicts, replay.verdicts,
        "the same evidence gives the same verdicts"
    );
    assert_eq!(out.status.code(), again.status.code());

    std::fs::write(&ev, "{not json").unwrap();
    let bad = run(&["classify", ev.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(64));
    let missing = run(&["classify", "/nonexistent/ev.json"]);
    assert_eq!(missing.status.code(), Some(66));
}

#[test]
fn completions_and_man_pages_come_from_the_cli_definition() {
    for (shell, marker) in [
        ("bash", "_gohang()"),
        ("zsh", "#compdef gohang"),
        ("fish", "complete -c gohang"),
    ] {
        let out = run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(marker),
            "{shell}: {}",
            &text[..text.len().min(200)]
        );
        assert!(
            text.contains("attach") && text.contains("probe"),
            "{shell} completes the commands"
        );
    }
    let out = run(&["man"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(".ie")
            || String::from_utf8_lossy(&out.stdout).contains(".TH gohang 1")
    );
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    for page in [
        "gohang.1",
        "gohang-probe.1",
        "gohang-attach.1",
        "gohang-check.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page} missing or empty");
    }
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let esc = |out: &std::process::Output| out.stdout.contains(&0x1b);
    let always = run(&["--color", "always", "probe", "--", "true"]);
    assert!(esc(&always), "--color always colours even into a pipe");
    let never = run(&["--color", "never", "probe", "--", "true"]);
    assert!(!esc(&never));
    // auto: not a terminal here, so no colour; NO_COLOR never overrides `always`.
    let auto = run(&["probe", "--", "true"]);
    assert!(!esc(&auto));
    let mut c = gohang();
    c.args(["--color", "always", "probe", "--", "true"])
        .env("NO_COLOR", "1");
    assert!(esc(&c.output().unwrap()));
}

#[test]
fn quiet_prints_only_the_verdict_line() {
    let out = run(&["-q", "probe", "--", "sh", "-c", "echo hello"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("healthy: "), "{text}");
}

/// Issue 14: a zero timeout reported a false stall; a window longer than the timeout was
/// taken silently.
#[test]
fn a_zero_timeout_is_refused_and_a_long_window_explained() {
    for t in ["0", "0s", "0ms"] {
        for cmd in ["probe", "bundle"] {
            let out = run(&[cmd, "--timeout", t, "--", "true"]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(64), "{cmd} --timeout {t}: {err}");
            assert!(err.contains("at least 1ms"), "{err}");
        }
    }
    let out = run(&["probe", "--timeout", "1s", "--window", "3s", "--", "true"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--window 3") && err.contains("longer than --timeout 1"),
        "{err}"
    );
}

/// docs/json.md: with --json, stdout holds one JSON object when the exit code is below 64
/// and nothing otherwise, for every command.
#[test]
fn json_prints_nothing_on_an_error_in_every_command() {
    let t = tempfile::tempdir().unwrap();
    let missing = t.path().join("missing");
    let m = missing.to_str().unwrap();
    for args in [
        vec!["probe", "--json", "--", m],
        vec!["attach", "--json", "999999999"],
        vec!["classify", "--json", m],
        vec!["scan", "--json", m],
        vec!["probe", "--json", "--timeout", "0s"],
    ] {
        let out = run(&args);
        let code = out.status.code().unwrap();
        assert!(code >= 64, "{args:?}: {code}");
        assert!(
            out.stdout.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// Issue 14: ENOEXEC (and ENOENT, EACCES) of files that are not foreign binaries were
/// called "arch-mismatch" or "no such command on PATH". Each has its own message, 66.
#[test]
fn exec_failures_that_are_not_a_foreign_arch_are_told_apart() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: &[u8]| {
        let p = t.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.display().to_string()
    };
    let native = std::fs::read("/bin/true").unwrap();
    // The same program with its loader renamed to one that does not exist.
    let mut no_loader = native.clone();
    let at = no_loader
        .windows(8)
        .position(|w| w == b"ld-linux")
        .expect("a dynamically linked /bin/true");
    no_loader[at..at + 8].copy_from_slice(b"ld-nosuc");
    let cases = [
        (put("script", b"echo hi\nsleep 1\n"), "without a #! line"),
        (
            put("interp", b"#!/nonexistent/sh\necho\n"),
            "#! line names /nonexistent/sh",
        ),
        (put("trunc", &native[..64]), "damaged or truncated"),
        (
            put("garbage", b"\x7fELF\x02\x01garbage"),
            "damaged or truncated",
        ),
        (put("empty", b""), "it is empty"),
        (
            put("noise", &[0xa5u8, 0x00, 0x17, 0xfe, 0x80, 0x01, 0x02, 0x03]),
            "not a program",
        ),
        (put("loader", &no_loader), "program loader"),
        (t.path().display().to_string(), "is a directory"),
    ];
    for (path, says) in cases {
        let out = run(&["probe", "--timeout", "5s", "--", &path]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(66), "{path}: {err}");
        assert!(err.contains(says), "{path}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            !err.contains("chmod") && !err.contains("architecture problem"),
            "{err}"
        );
    }
}
