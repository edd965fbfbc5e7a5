//! Collecting what a bundle holds, as data: the target (a probe or an attach), `go env
//! -json` and `go version` (time-boxed, see `gorun`), the toolchain as read from files, the
//! host. Nothing here writes or redacts; `bundle::run` does both, in that order reversed.

use super::gorun::{self, GoRun};
use crate::attach::{self, AttachOptions};
use crate::error::UserError;
use crate::evidence::{Evidence, GoContext, GoroutineDump, Os};
use crate::supervisor::{self, ProbeOptions};
use crate::toolchain::timebox::{self, CHECK_LIMIT};
use crate::toolchain::{Env, FileReport};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Version of `go-env.json`.
pub const GO_ENV_SCHEMA: &str = "gohang.go-env/1";

/// What the bundle is about.
#[derive(Clone, Debug)]
pub enum Target {
    /// Run this command under the watchdog (`gohang bundle -- CMD`, default `go version`).
    Probe(Vec<String>),
    /// Observe a process already running (`--pid`).
    Attach(u32),
}

/// The evidence about the target.
pub struct TargetRun {
    pub evidence: Evidence,
    /// `probe` or `attach`: the report's `command`.
    pub mode: &'static str,
    /// For the user on stderr (attach's warnings).
    pub warnings: Vec<String>,
}

/// Probe or attach, as `gohang probe` / `gohang attach` would, without printing. The probe
/// asks a stuck Go program for its goroutines (it is stopped afterwards anyway); attach
/// stays read-only unless `trace` asks for a tracer over the window.
pub fn target(
    t: &Target,
    timeout: Duration,
    window: Duration,
    trace: bool,
    progress: bool,
) -> Result<TargetRun, UserError> {
    match t {
        Target::Probe(command) => {
            let opts = ProbeOptions {
                command: command.clone(),
                timeout,
                window,
                keep: false,
                // Read from memory, as probe does by default: no signal.
                goroutines: false,
                trace,
                stream_output: false,
                progress,
            };
            let run = crate::sys::runtime::runtime()?.block_on(supervisor::probe(&opts))?;
            if let Some(sig) = run.interrupted {
                return Err(UserError::interrupted(
                    sig,
                    format!(
                        "interrupted by {sig}: the probed command was stopped and no bundle was written"
                    ),
                ));
            }
            Ok(TargetRun {
                evidence: run.evidence,
                mode: "probe",
                warnings: Vec::new(),
            })
        }
        Target::Attach(pid) => {
            let run = attach::attach(&AttachOptions {
                pid: *pid,
                window,
                goroutines: false,
                trace,
                progress,
            })?;
            Ok(TargetRun {
                evidence: run.evidence,
                mode: "attach",
                warnings: run.warnings,
            })
        }
    }
}

/// `go env -json` and `GOTOOLCHAIN=local go version`, run side by side.
pub struct GoRuns {
    /// The `go` on PATH they ran.
    pub go: Option<PathBuf>,
    pub env: GoRun,
    pub version: GoRun,
    /// How they were run differently from the user's environment, and why.
    pub notes: Vec<String>,
}

/// `GOENV` naming something the go command would read without end or block on
/// (`/dev/zero`, a FIFO nobody writes): the go command reads it whole at start-up with
/// `os.ReadFile` (`cmd/go/internal/cfg` `readEnvFile`), growing to gigabytes until it is
/// killed. Then the runs get `GOENV=off`, and a note says why (issue 14).
fn unusable_goenv() -> Option<String> {
    let f = std::env::var_os("GOENV").filter(|v| !v.is_empty() && v != "off")?;
    let path = std::path::Path::new(&f);
    // A regular file, or none at all, the go command handles.
    if std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    // A device or FIFO: read it as gohang reads one (bounded, never blocking for long).
    let e = crate::safeio::read(path, crate::safeio::ENV_FILE).err()?;
    Some(format!(
        "`go env -json` and `go version` ran with GOENV=off: GOENV names {}, which the go command \
         would read without end or wait on ({e})",
        path.display()
    ))
}

pub const GO_ENV_COMMAND: &str = "go env -json";
pub const GO_VERSION_COMMAND: &str = "GOTOOLCHAIN=local go version";

/// Run both with `limit` each (both end at once on a caught signal). Must not overlap a
/// probe (see `gorun`).
pub fn go_runs(limit: Duration) -> GoRuns {
    let Some(go) = crate::sys::process::find_program("go") else {
        return GoRuns {
            go: None,
            env: gorun::not_found(GO_ENV_COMMAND, limit),
            version: gorun::not_found(GO_VERSION_COMMAND, limit),
            notes: Vec::new(),
        };
    };
    let note = unusable_goenv();
    let off: &[(&str, &str)] = if note.is_some() {
        &[("GOENV", "off")]
    } else {
        &[]
    };
    let (env, version) = std::thread::scope(|s| {
        let env = s.spawn(|| gorun::run(GO_ENV_COMMAND, &go, &["env", "-json"], off, limit));
        let version = s.spawn(|| {
            let mut vars = vec![("GOTOOLCHAIN", "local")];
            vars.extend_from_slice(off);
            gorun::run(GO_VERSION_COMMAND, &go, &["version"], &vars, limit)
        });
        (
            env.join().expect("go env runner"),
            version.join().expect("go version runner"),
        )
    });
    GoRuns {
        go: Some(go),
        env,
        version,
        notes: note.into_iter().collect(),
    }
}

/// `go-env.json`: what `go env -json` said, or why it said nothing, and always what gohang
/// read from files without running go.
#[derive(Clone, Debug, Serialize)]
pub struct GoEnvDoc {
    pub schema: String,
    pub run: GoRun,
    /// The output of `go env -json`; null when it did not run to the end or was not JSON.
    pub env: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Read from files and gohang's environment, without running go: the effective
    /// GOPROXY, GOSUMDB, GOTOOLCHAIN, … with their sources, GOROOT, its version, the module.
    pub from_files: GoContext,
}

pub fn go_env_doc(run: &GoRun, from_files: GoContext) -> GoEnvDoc {
    let env = run
        .succeeded()
        .then(|| serde_json::from_slice::<serde_json::Value>(&run.stdout).ok())
        .flatten();
    let stdout = (env.is_none() && !run.stdout.is_empty()).then(|| run.stdout_text());
    let stderr = (!run.stderr.is_empty()).then(|| run.stderr_text());
    let note = if run.timed_out() {
        Some(format!(
            "`{}` did not finish within {} s: the go command itself hangs (report.json says where). \
             `from_files` holds what gohang read from files instead.",
            run.command,
            run.limit_ms as f64 / 1000.0
        ))
    } else if env.is_none() {
        Some(format!(
            "`{}` {}; `from_files` holds what gohang read from files.",
            run.command,
            run.describe()
        ))
    } else {
        None
    };
    GoEnvDoc {
        schema: GO_ENV_SCHEMA.to_string(),
        run: run.clone(),
        env,
        stdout,
        stderr,
        note,
        from_files,
    }
}

/// The go command's settings as read from files (`gocontext`), for the `go` at `go` run in
/// the current directory with gohang's environment: the answer when `go env` hangs.
pub fn go_context_from_files(go: Option<&Path>, os: &Os) -> GoContext {
    let mut raw = Vec::new();
    for (k, v) in std::env::vars_os() {
        use std::os::unix::ffi::OsStrExt;
        raw.extend_from_slice(k.as_bytes());
        raw.push(b'=');
        raw.extend_from_slice(v.as_bytes());
        raw.push(0);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    go_context_for(go, os, &raw, &cwd)
}

/// [`go_context_from_files`] for a given environment (raw `environ`) and directory.
pub fn go_context_for(go: Option<&Path>, os: &Os, environ: &[u8], cwd: &Path) -> GoContext {
    let env = crate::redact::filter_environ(environ);
    let cwd = cwd.display().to_string();
    let go_version = go
        .and_then(|p| crate::inspect::go_build_info(p).ok().flatten())
        .map(|b| b.version);
    // `gocontext` reads a process snapshot; this one describes a go that was not started.
    // Built from JSON so that fields added to the snapshot later keep their defaults.
    let snapshot = serde_json::json!({
        "pid": 0,
        "ppid": 0,
        "comm": "go",
        "state": "sleeping",
        "exe": go.map(|p| p.display().to_string()).unwrap_or_default(),
        "argv": ["go", "env"],
        "env": env,
        "cwd": cwd,
        "go_version": go_version,
    });
    match serde_json::from_value(snapshot) {
        Ok(p) => {
            let os = os.clone();
            timebox::run("go settings", CHECK_LIMIT, move || {
                crate::gocontext::context_of(&p, &os, false, &|_| None)
            })
            .unwrap_or_else(|e| empty_context(e.to_string()))
        }
        Err(e) => empty_context(format!("internal: {e}")),
    }
}

fn empty_context(note: String) -> GoContext {
    GoContext {
        pid: 0,
        goroot: None,
        version: None,
        settings: Default::default(),
        module: None,
        endpoints: Vec::new(),
        notes: vec![note],
    }
}

/// `check.json`: the report `gohang check --json` prints (schema `gohang.check/1`), from the
/// same files, read the same way (every step time-boxed).
pub fn check_json(env: &Env) -> serde_json::Value {
    serde_json::to_value(crate::check::evaluate(&crate::check::gather(env)))
        .expect("the check report serializes")
}

/// What the go binary on PATH says about itself statically: for `go-version.txt` when
/// `go version` does not answer.
pub fn static_version(go: &Path) -> String {
    let p = go.to_path_buf();
    let found = timebox::run("go binary", CHECK_LIMIT, move || {
        let f = FileReport::of(&p);
        let root = p
            .canonicalize()
            .ok()
            .and_then(|r| Some(r.parent()?.parent()?.to_path_buf()));
        let version_file =
            root.and_then(|r| Some((crate::gocontext::read_version(&r)?, r.display().to_string())));
        (f, version_file)
    });
    let Ok((f, version_file)) = found else {
        return format!("{} could not be read in time", go.display());
    };
    let mut lines = Vec::new();
    match (&f.binary, f.go_version()) {
        (Some(b), Some(v)) => lines.push(format!(
            "{}: a Go binary built by {v} for {} (its build info)",
            f.real_path(),
            b.arch_names()
        )),
        (Some(b), None) => lines.push(format!(
            "{}: a {} binary without Go build info",
            f.real_path(),
            b.arch_names()
        )),
        (None, _) => lines.push(format!(
            "{}: not a binary ({})",
            f.real_path(),
            f.problem.as_deref().unwrap_or("unknown")
        )),
    }
    if let Some((v, root)) = version_file {
        lines.push(format!("{root}/VERSION: {v}"));
    }
    lines.join("\n")
}

/// `goroutines.txt`: the Go runtime's own text when the dump is in the captured stderr
/// (from `SIGQUIT: quit` on), else the parsed goroutines written back in its format.
pub fn goroutines_text(dump: &GoroutineDump, stderr_tail: &str) -> String {
    if let Some(i) = stderr_tail.find("SIGQUIT: quit") {
        return stderr_tail[i..].to_string();
    }
    let mut s = crate::gomem::evidence::source_line(dump);
    if let Some(n) = &dump.note {
        s.push_str(&format!("# {n}\n\n"));
    }
    for g in &dump.goroutines {
        let mut head = format!("goroutine {} [{}", g.id, g.state);
        if let Some(m) = g.minutes {
            head.push_str(&format!(", {m} minutes"));
        }
        if g.locked_to_thread {
            head.push_str(", locked to thread");
        }
        s.push_str(&head);
        s.push_str("]:\n");
        for f in &g.frames {
            s.push_str(&format!("{}(...)\n", f.function));
            if let Some(l) = &f.location {
                s.push_str(&format!("\t{l}\n"));
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{GoFrame, Goroutine};

    fn dump() -> GoroutineDump {
        GoroutineDump {
            source: None,
            pid: 7,
            answered: true,
            goroutines: vec![Goroutine {
                id: 1,
                state: "IO wait".into(),
                minutes: Some(2),
                locked_to_thread: false,
                frames: vec![GoFrame {
                    function: "internal/poll.runtime_pollWait".into(),
                    location: Some("/go/src/runtime/netpoll.go:345".into()),
                }],
            }],
            note: None,
        }
    }

    #[test]
    fn goroutines_from_stderr_or_rendered() {
        let tail = "go: downloading x\nSIGQUIT: quit\nPC=0x1 m=0\n\ngoroutine 1 [IO wait]:\n";
        assert!(goroutines_text(&dump(), tail).starts_with("SIGQUIT: quit\nPC=0x1"));
        let r = goroutines_text(&dump(), "");
        assert_eq!(
            r,
            "goroutine 1 [IO wait, 2 minutes]:\ninternal/poll.runtime_pollWait(...)\n\t/go/src/runtime/netpoll.go:345\n\n"
        );
        // What was rendered parses back to the same goroutines.
        assert_eq!(crate::goroutines::parse(&r), dump().goroutines);
    }

    #[test]
    fn go_env_doc_says_why_there_is_no_env() {
        let mut run = gorun::not_found(GO_ENV_COMMAND, Duration::from_secs(10));
        run.status = gorun::RunStatus::TimedOut;
        let d = go_env_doc(&run, empty_context("x".into()));
        assert!(d.env.is_none());
        assert!(d.note.unwrap().contains("did not finish within 10 s"));
        run.status = gorun::RunStatus::Exited {
            code: Some(0),
            signal: None,
        };
        run.stdout = br#"{"GOPROXY": "off"}"#.to_vec();
        let d = go_env_doc(&run, empty_context("x".into()));
        assert_eq!(d.env.unwrap()["GOPROXY"], "off");
        assert!(d.note.is_none() && d.stdout.is_none());
    }

    #[test]
    fn settings_from_files_and_environment() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        std::fs::create_dir_all(home.join(".config/go")).unwrap();
        std::fs::write(
            home.join(".config/go/env"),
            "GOTOOLCHAIN=go1.99.0\nGOFLAGS=-mod=mod\n",
        )
        .unwrap();
        let app = t.path().join("app/sub");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(t.path().join("app/go.mod"), "module x\n\ngo 1.22\n").unwrap();
        let environ = format!(
            "HOME={}\0GOPROXY=https://u:pw9@127.0.0.1:1/x\0GOFLAGS=-v\0",
            home.display()
        );
        let c = go_context_for(None, &Os::Linux, environ.as_bytes(), &app);
        assert_eq!(c.pid, 0);
        assert_eq!(c.setting("GOTOOLCHAIN"), Some("go1.99.0"));
        assert!(c.settings["GOTOOLCHAIN"].source.ends_with(".config/go/env"));
        assert_eq!(c.setting("GOFLAGS"), Some("-v"), "the environment wins");
        assert_eq!(c.settings["GOFLAGS"].source, "environment");
        assert_eq!(
            c.setting("GOPROXY"),
            Some("https://REDACTED@127.0.0.1:1/x"),
            "passwords are gone at collection already"
        );
        let m = c.module.unwrap();
        assert_eq!(m.go.as_deref(), Some("1.22"));
        assert!(m.path.ends_with("app/go.mod"));
    }
}
