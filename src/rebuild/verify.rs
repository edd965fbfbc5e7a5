//! Is the rebuilt GOROOT native and consistent? Four independent witnesses:
//! the headers of every binary in `bin/` and `pkg/tool/<native>/`, `go version`,
//! `go env -json`, and `go tool compile -V=full`. Each command is time-boxed and run with
//! the variables that would override the toolchain's own defaults removed (GOARCH in the
//! environment makes `go env GOARCH` say so whatever the toolchain is) and `GOENV=off`
//! (a `go env -w GOARCH=…` file likewise).

use crate::rebuild::build::{CLEARED, CLEARED_PREFIXES};
use crate::rebuild::foreign::{Platform, scan};
use crate::rebuild::version::GoVersion;
use crate::sys::logfile::Log;
use crate::sys::run::{RunOutput, run_boxed};
use nix::sys::signal::Signal;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    pub name: String,
    pub command: String,
    pub ok: bool,
    /// The command's output (trimmed), or what the check read.
    pub output: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Verification {
    pub ok: bool,
    pub checks: Vec<Check>,
    /// Set when a signal stopped the verification.
    #[serde(skip)]
    pub interrupted: Option<Signal>,
}

impl Verification {
    pub fn problems(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|c| c.problem.as_ref().map(|p| format!("{}: {p}", c.name)))
            .collect()
    }
}

/// Verify `goroot` (canonical) for `native`; `expected` is the tree's own version.
pub fn verify(
    goroot: &Path,
    native: &Platform,
    expected: Option<GoVersion>,
    timeout: Duration,
    log: &mut Log,
) -> Verification {
    let mut v = Verification::default();
    v.checks.push(binaries(goroot, native));
    let go = goroot.join("bin/go");

    let out = run_go(&go, &["version"], goroot, timeout, log);
    let (check, reported) = go_version(&out, native, expected);
    v.checks.push(check);
    if stop(&mut v, &out) {
        return v;
    }

    let env_args = [
        "env",
        "-json",
        "GOARCH",
        "GOHOSTARCH",
        "GOOS",
        "GOHOSTOS",
        "GOROOT",
        "GOTOOLDIR",
        "GOVERSION",
    ];
    let out = run_go(&go, &env_args, goroot, timeout, log);
    v.checks
        .push(go_env(&out, native, goroot, reported.as_deref()));
    if stop(&mut v, &out) {
        return v;
    }

    let out = run_go(&go, &["tool", "compile", "-V=full"], goroot, timeout, log);
    v.checks.push(compile_version(&out, reported.as_deref()));
    if stop(&mut v, &out) {
        return v;
    }
    v.ok = v.checks.iter().all(|c| c.ok);
    v
}

fn stop(v: &mut Verification, out: &RunOutput) -> bool {
    v.interrupted = out.interrupted;
    out.interrupted.is_some()
}

fn run_go(go: &Path, args: &[&str], goroot: &Path, timeout: Duration, log: &mut Log) -> RunOutput {
    let mut cmd = Command::new(go);
    cmd.args(args).current_dir(goroot);
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str()
            && (CLEARED.iter().any(|(c, _)| *c == k)
                || CLEARED_PREFIXES.iter().any(|p| k.starts_with(p)))
        {
            cmd.env_remove(k);
        }
    }
    cmd.env("GOENV", "off").env("GOTOOLCHAIN", "local");
    let shown = format!("{} {}", go.display(), args.join(" "));
    log.section(&shown);
    let out = run_boxed(&mut cmd, timeout).unwrap_or_else(|e| RunOutput {
        stderr: format!("cannot run {}: {e}", go.display()),
        ..Default::default()
    });
    log.raw(out.stdout.as_bytes());
    log.raw(out.stderr.as_bytes());
    log.note(&format!("{shown}: {}", out.describe()));
    out
}

fn check(name: &str, command: &str, output: String, problems: Vec<String>) -> Check {
    Check {
        name: name.into(),
        command: command.into(),
        ok: problems.is_empty(),
        output,
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

fn failed_run(out: &RunOutput) -> Option<String> {
    if out.success() {
        return None;
    }
    let err = out.stderr.trim();
    Some(if err.is_empty() {
        out.describe()
    } else {
        format!("{}: {}", out.describe(), err.lines().last().unwrap_or(err))
    })
}

/// Every binary in bin/ and pkg/tool/<native>/ is native, and the native tool dir exists.
pub fn binaries(goroot: &Path, native: &Platform) -> Check {
    let s = scan(goroot, native);
    let mut problems = Vec::new();
    for b in &s.foreign_binaries {
        let arches: Vec<String> = b.arches.iter().map(|a| a.to_string()).collect();
        problems.push(format!("{} is {} {}", b.path, b.format, arches.join("+")));
    }
    for d in &s.foreign_dirs {
        problems.push(format!("{} is for {}", d.path, d.platform));
    }
    if !s.native_tool_dir {
        problems.push(format!("pkg/tool/{} is missing", native.dir_name()));
    }
    if !s.native_binaries.iter().any(|b| b == "bin/go") {
        problems.push("bin/go is missing or not a native binary".into());
    }
    check(
        "binaries",
        &format!("headers of bin/* and pkg/tool/{}/*", native.dir_name()),
        format!("{} native binaries", s.native_binaries.len()),
        problems,
    )
}

/// `go version go1.23.5 linux/amd64`; returns the reported version text (`go1.23.5`,
/// `devel go1.24-abc…`).
fn go_version(
    out: &RunOutput,
    native: &Platform,
    expected: Option<GoVersion>,
) -> (Check, Option<String>) {
    let text = out.stdout.trim().to_string();
    let mut problems: Vec<String> = failed_run(out).into_iter().collect();
    let mut reported = None;
    if problems.is_empty() {
        match parse_go_version(&text) {
            Some((version, platform)) => {
                if platform != native.slash() {
                    problems.push(format!("reports {platform}, not {}", native.slash()));
                }
                if let (Some(e), Some(got)) = (expected, GoVersion::parse(&version))
                    && (got.major, got.minor, got.patch) != (e.major, e.minor, e.patch)
                {
                    problems.push(format!("reports {got}, the tree is {e}"));
                }
                reported = Some(version);
            }
            None => problems.push(format!("unexpected output {text:?}")),
        }
    }
    (check("go version", "go version", text, problems), reported)
}

/// `go version go1.23.5 linux/amd64` -> (`go1.23.5`, `linux/amd64`).
pub fn parse_go_version(line: &str) -> Option<(String, String)> {
    let rest = line.trim().strip_prefix("go version ")?;
    let (version, platform) = rest.rsplit_once(' ')?;
    platform
        .contains('/')
        .then(|| (version.trim().to_string(), platform.to_string()))
}

fn go_env(out: &RunOutput, native: &Platform, goroot: &Path, reported: Option<&str>) -> Check {
    let text = out.stdout.trim().to_string();
    let mut problems: Vec<String> = failed_run(out).into_iter().collect();
    if problems.is_empty() {
        match serde_json::from_str::<std::collections::BTreeMap<String, String>>(&text) {
            Ok(env) => {
                let get = |k: &str| env.get(k).map(String::as_str).unwrap_or("");
                for (k, want) in [
                    ("GOARCH", native.goarch.as_str()),
                    ("GOHOSTARCH", native.goarch.as_str()),
                    ("GOOS", native.goos.as_str()),
                    ("GOHOSTOS", native.goos.as_str()),
                ] {
                    if get(k) != want {
                        problems.push(format!("{k} is {:?}, not {want:?}", get(k)));
                    }
                }
                let tooldir = goroot.join("pkg/tool").join(native.dir_name());
                for (k, want) in [("GOROOT", goroot.to_path_buf()), ("GOTOOLDIR", tooldir)] {
                    if !same_path(Path::new(get(k)), &want) {
                        problems.push(format!("{k} is {:?}, not {}", get(k), want.display()));
                    }
                }
                if let Some(r) = reported
                    && get("GOVERSION") != r
                {
                    problems.push(format!(
                        "GOVERSION is {:?}, go version says {r:?}",
                        get("GOVERSION")
                    ));
                }
            }
            Err(e) => problems.push(format!("not JSON: {e}")),
        }
    }
    check(
        "go env",
        "go env -json GOARCH GOHOSTARCH GOOS GOHOSTOS GOROOT GOTOOLDIR GOVERSION",
        text,
        problems,
    )
}

fn same_path(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
    !a.as_os_str().is_empty() && canon(a) == canon(b)
}

/// `compile version go1.23.5` (a development build adds ` buildID=…`): the compiler that
/// runs is the one this tree's go names.
fn compile_version(out: &RunOutput, reported: Option<&str>) -> Check {
    let text = out.stdout.trim().to_string();
    let mut problems: Vec<String> = failed_run(out).into_iter().collect();
    if problems.is_empty() {
        let Some(v) = text.strip_prefix("compile version ") else {
            problems.push(format!("unexpected output {text:?}"));
            return check(
                "go tool compile",
                "go tool compile -V=full",
                text.clone(),
                problems,
            );
        };
        // `devel go1.24-abc Tue …` in go version, `devel go1.24-abc buildID=…` here:
        // compare up to the first word that differs in kind (the date or the buildID).
        if let Some(r) = reported {
            let want: Vec<&str> = r
                .split_whitespace()
                .take(if r.starts_with("devel") { 2 } else { 1 })
                .collect();
            let got: Vec<&str> = v.split_whitespace().take(want.len()).collect();
            if want != got {
                problems.push(format!("reports {v:?}, go version says {r:?}"));
            }
        }
    }
    check("go tool compile", "go tool compile -V=full", text, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(stdout: &str) -> RunOutput {
        use std::os::unix::process::ExitStatusExt;
        RunOutput {
            status: Some(std::process::ExitStatus::from_raw(0)),
            stdout: stdout.into(),
            ..Default::default()
        }
    }

    fn amd64() -> Platform {
        Platform {
            goos: "linux".into(),
            goarch: "amd64".into(),
            hardware: crate::evidence::Arch::X86_64,
        }
    }

    #[test]
    fn go_version_lines() {
        assert_eq!(
            parse_go_version("go version go1.23.5 linux/amd64\n"),
            Some(("go1.23.5".into(), "linux/amd64".into()))
        );
        assert_eq!(
            parse_go_version("go version devel go1.24-abc Tue Jun 4 2024 darwin/arm64"),
            Some((
                "devel go1.24-abc Tue Jun 4 2024".into(),
                "darwin/arm64".into()
            ))
        );
        assert_eq!(parse_go_version("go: cannot find GOROOT"), None);

        let e = Some(GoVersion::release(1, 23, 5));
        let (c, r) = go_version(&ok("go version go1.23.5 linux/amd64\n"), &amd64(), e);
        assert!(c.ok, "{c:?}");
        assert_eq!(r.as_deref(), Some("go1.23.5"));
        let (c, _) = go_version(&ok("go version go1.23.5 linux/arm64\n"), &amd64(), e);
        assert!(c.problem.unwrap().contains("linux/arm64"));
        let (c, _) = go_version(&ok("go version go1.22.1 linux/amd64\n"), &amd64(), e);
        assert!(c.problem.unwrap().contains("go1.22.1"));
    }

    #[test]
    fn go_env_checks() {
        let d = tempfile::tempdir().unwrap();
        let g = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(g.join("pkg/tool/linux_amd64")).unwrap();
        let json = |arch: &str| {
            format!(
                r#"{{"GOARCH":"{arch}","GOHOSTARCH":"{arch}","GOOS":"linux","GOHOSTOS":"linux","GOROOT":"{0}","GOTOOLDIR":"{0}/pkg/tool/linux_{arch}","GOVERSION":"go1.23.5"}}"#,
                g.display()
            )
        };
        let c = go_env(&ok(&json("amd64")), &amd64(), &g, Some("go1.23.5"));
        assert!(c.ok, "{c:?}");
        let c = go_env(&ok(&json("arm64")), &amd64(), &g, Some("go1.23.5"));
        let p = c.problem.unwrap();
        assert!(p.contains("GOARCH is \"arm64\""), "{p}");
        assert!(p.contains("GOTOOLDIR"), "{p}");
        let c = go_env(&ok("not json"), &amd64(), &g, None);
        assert!(!c.ok);
    }

    #[test]
    fn compile_version_checks() {
        assert!(compile_version(&ok("compile version go1.23.5\n"), Some("go1.23.5")).ok);
        assert!(!compile_version(&ok("compile version go1.22.0\n"), Some("go1.23.5")).ok);
        assert!(
            compile_version(
                &ok("compile version devel go1.24-abc buildID=xyz\n"),
                Some("devel go1.24-abc Tue Jun 4 2024")
            )
            .ok
        );
        assert!(!compile_version(&ok("garbage"), Some("go1.23.5")).ok);
    }
}
