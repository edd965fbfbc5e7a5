//! `gohang bundle`: one `.tar.gz` with what a bug report about a hanging `go` needs — the
//! report, the samples, the toolchain, the host, `go env` and `go version` — and nothing
//! private.
//!
//! Order matters: everything is collected into memory first (the target, then the go runs,
//! the toolchain and the host); then a [`Redactor`] is built from every secret gohang knows
//! of, and each file's bytes pass through it; then the largest files are cut to fit
//! `--max-size`; then `redactions.json` and `manifest.json` are made and the archive is
//! written to a temporary file and renamed into place. Nothing reaches the disk before it
//! was redacted. docs/bundle.md describes the result for its readers.
//!
//! Exit code: 0 once the bundle is written — the verdict is inside (report.json's
//! `exit_code` is what `probe`/`attach` would have returned). Errors that prevent a bundle
//! (no such pid, no command, an output path that cannot be written) use the usual codes.

pub mod archive;
pub mod collect;
mod environ;
pub mod gorun;
pub mod host;
pub mod markdown;

use crate::classify::classify;
use crate::error::{Exit, UserError};
use crate::evidence::{Evidence, Mode};
use crate::output::{Output, verdict_exit};
use crate::progress::Progress;
use crate::redact::{Redaction, Redactor};
use crate::report::Report;
use crate::sys::clock;
use crate::sys::signals::Catcher;
use crate::toolchain::Env;
use crate::toolchain::timebox::{self, CHECK_LIMIT};
use archive::{FileEntry, Part, Shrink};
use collect::Target;
use serde::{Deserialize, Serialize};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The files of a bundle and what each holds (`report.md` and the manifest list them).
pub mod names {
    pub const REPORT_JSON: &str = "report.json";
    pub const REPORT_MD: &str = "report.md";
    pub const SAMPLES: &str = "samples.json";
    pub const CHECK: &str = "check.json";
    pub const HOST_TXT: &str = "host.txt";
    pub const HOST_JSON: &str = "host.json";
    pub const GO_ENV: &str = "go-env.json";
    pub const GO_VERSION: &str = "go-version.txt";
    pub const GOROUTINES_TXT: &str = "goroutines.txt";
    pub const GOROUTINES_JSON: &str = "goroutines.json";
    pub const NATIVE_STACKS: &str = "native-stacks.json";
    pub const TRACE: &str = "trace.txt";
    pub const OUTPUT_TAIL: &str = "output-tail.txt";
    pub const REDACTIONS: &str = "redactions.json";
    pub const MANIFEST: &str = "manifest.json";

    /// What each file holds, for people.
    pub fn describe(name: &str) -> &'static str {
        match name {
            REPORT_JSON => "the verdicts and their evidence (gohang.report/1, as `probe --json`)",
            REPORT_MD => "the report as Markdown, ready to paste into an issue",
            SAMPLES => {
                "the full evidence: every sample of the process tree (gohang.evidence/1; `gohang classify` reads it)"
            }
            CHECK => "the Go toolchain inspected from files: go on PATH, GOROOT, its binaries",
            HOST_TXT => "the machine: OS, kernel, architectures, translation, CPUs",
            HOST_JSON => "host.txt as JSON",
            GO_ENV => "`go env -json` (time-boxed) and the settings read from files",
            GO_VERSION => "`GOTOOLCHAIN=local go version` (time-boxed)",
            GOROUTINES_TXT => "the Go runtime's goroutine dump (SIGQUIT)",
            GOROUTINES_JSON => "the goroutine dump, parsed",
            NATIVE_STACKS => "native call stacks taken by the OS's sampler",
            TRACE => "the raw system-call trace",
            OUTPUT_TAIL => "the last output of the probed command (stdout, stderr)",
            REDACTIONS => "what was removed, by kind and name (never the values)",
            MANIFEST => "every other file with its size and SHA-256",
            _ => "",
        }
    }
}

/// `manifest.json` (`gohang.bundle/1`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema: String,
    /// When the bundle was made (RFC 3339, UTC).
    pub created: String,
    pub gohang_version: String,
    /// The gohang command line that made it.
    pub command: String,
    /// `probe` or `attach`.
    pub mode: String,
    /// The probed command, or the attached process's command line.
    pub target: Vec<String>,
    /// The primary verdict's kind and summary.
    pub verdict: String,
    pub summary: String,
    /// What `gohang probe`/`attach` would have exited with.
    pub report_exit_code: u8,
    /// The home directory and user name were replaced by `$HOME` and `$USER`.
    pub anonymized: bool,
    pub max_size: u64,
    /// Sum of the sizes of the files listed.
    pub total_size: u64,
    /// How long collecting took.
    pub elapsed_ms: u64,
    pub notes: Vec<String>,
    /// Every file of the bundle except this one.
    pub files: Vec<FileEntry>,
}

/// `redactions.json`.
#[derive(Serialize)]
struct RedactionsDoc<'a> {
    schema: &'static str,
    anonymized: bool,
    /// Variables (and, as `argv:NAME`, values given on command lines) whose values were
    /// searched for in every file (found or not).
    searched_for: Vec<String>,
    /// What was replaced, by kind and name, how often, in which files.
    redacted: &'a [Redaction],
    /// What gohang never reads or never puts into a bundle.
    never_collected: &'static [&'static str],
}

const NEVER_COLLECTED: &[&str] = &[
    "netrc files (never opened; their lines and paths are redacted wherever they appear)",
    "environment variables other than the Go, proxy, git and ssh settings listed in docs/bundle.md",
    "file contents other than go.mod/go.work directive lines, GOROOT/VERSION, go/env settings and os-release",
    "git credentials, ssh keys, the keychain",
];

/// What `gohang bundle` was asked.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Where to write the bundle (a file or a directory; default: the current directory).
    pub output: Option<PathBuf>,
    /// Bundle this running process instead of probing a command.
    pub pid: Option<u32>,
    /// How long the probed command may run; also the limit of each go run.
    pub timeout: Duration,
    /// How long to sample the process tree.
    pub window: Duration,
    /// Trace system calls while sampling.
    pub trace: bool,
    /// Keep the home directory and user name.
    pub no_anonymize: bool,
    /// Largest total size of the files before compression.
    pub max_size: u64,
    /// Print the bundle's path and manifest as one JSON object.
    pub json: bool,
    /// The command to probe (default: go version).
    pub command: Vec<String>,
}

/// Build the bundle: [`Exit::Ok`] once it is written.
pub fn run(out: &Output, args: &Options) -> Result<Exit, UserError> {
    let started = Instant::now();
    let created = clock::now_secs();
    let interactive = !args.json && !out.quiet && std::io::stderr().is_terminal();
    let path = output_path(args.output.as_deref(), created)?;

    // 1. The target: gohang's own children must be gone before `go` is run again below.
    let run = observe_target(out, args, interactive)?;
    let ev = &run.evidence;

    // 2. go env / go version (side by side, time-boxed), the toolchain and the host.
    let progress = Progress::new(interactive);
    let facts = gather_facts(args, ev, &progress)?;

    // 3. Everything gohang knows of that must not leave the machine.
    progress.step("removing secrets and writing the bundle");
    let mut red = redactor(args, ev, &facts);

    // 4. The files, each redacted as it is made.
    let c = classify(ev);
    let report_code = verdict_exit(ev, &c).code();
    let report = Report::new(run.mode, ev, &c, Vec::new(), report_code);
    let invocation = invocation();
    let mut parts = files(args, ev, &report, &facts, &invocation, created);
    for p in &mut parts {
        p.bytes = red.redact(&p.name, &p.bytes);
    }

    // 5. Fit the size, then say what was removed.
    let notes = fit_size(&mut parts, &mut red, &facts.runs, args.max_size);
    let redactions = red.redactions();
    parts.push(redactions_part(&mut red, &redactions));

    // 6. The manifest (its strings redacted one by one: its digests must stay as they
    // are) and the archive.
    let files = archive::entries(&parts);
    let primary = report.primary();
    let manifest = Manifest {
        schema: archive::MANIFEST_SCHEMA.to_string(),
        created: clock::rfc3339(created),
        gohang_version: env!("CARGO_PKG_VERSION").to_string(),
        command: red.redact_str(names::MANIFEST, &invocation),
        mode: run.mode.to_string(),
        target: red.redact_argv(names::MANIFEST, &ev.target.command),
        verdict: primary.kind.to_string(),
        summary: red.redact_str(names::MANIFEST, &primary.summary),
        report_exit_code: report_code,
        anonymized: red.anonymizes(),
        max_size: args.max_size,
        total_size: files.iter().map(|f| f.size).sum(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        notes: notes
            .iter()
            .map(|n| red.redact_str(names::MANIFEST, n))
            .collect(),
        files,
    };
    parts.push(Part::json(
        names::MANIFEST,
        names::describe(names::MANIFEST),
        &manifest,
        Shrink::Keep,
    ));
    let written = archive::write_tar_gz(&path, &archive::dir_name(&path), &parts, created)
        .map_err(crate::safeio::IoError::into_write_error)?;
    progress.finish();
    print_result(out, args, &path, written, &manifest, &redactions)?;
    Ok(Exit::Ok)
}

/// Probe the command or attach to the pid, saying on stderr what the user should know.
fn observe_target(
    out: &Output,
    args: &Options,
    interactive: bool,
) -> Result<collect::TargetRun, UserError> {
    if args.pid.is_none()
        && !out.quiet
        && let Some(note) = crate::output::window_note(args.timeout, args.window)
    {
        eprintln!("gohang: note: {note}");
    }
    let target = match args.pid {
        Some(pid) => Target::Attach(pid),
        None if args.command.is_empty() => {
            Target::Probe(vec!["go".to_string(), "version".to_string()])
        }
        None => Target::Probe(args.command.clone()),
    };
    let run = collect::target(&target, args.timeout, args.window, args.trace, interactive)?;
    for w in &run.warnings {
        if !out.quiet {
            eprintln!("gohang: {w}");
        }
    }
    Ok(run)
}

/// What the bundle says about the toolchain and the host.
struct Facts {
    env: Env,
    runs: collect::GoRuns,
    host: host::HostFacts,
    check: serde_json::Value,
    go_env: collect::GoEnvDoc,
    /// `go version` read from files, when running it did not succeed.
    version_static: Option<String>,
}

/// Run `go env -json` and `go version` (side by side, each time-boxed) while the host and
/// the toolchain are read from files. SIGINT, SIGTERM and SIGHUP are caught from before the
/// go runs start until they end: they stop the runs, and no bundle is written.
fn gather_facts(args: &Options, ev: &Evidence, progress: &Progress) -> Result<Facts, UserError> {
    progress.step(&format!(
        "running `go env -json` and `go version` ({} s at most) and inspecting the toolchain",
        args.timeout.as_secs_f64()
    ));
    let env = Env::from_process();
    let catcher = Catcher::install()
        .map_err(|e| UserError::internal(format!("installing signal handlers: {e}")))?;
    let (runs, (host_facts, check), signal) = std::thread::scope(|s| {
        let runs = s.spawn(|| collect::go_runs(args.timeout));
        let facts = s.spawn(|| {
            let host = timebox::run("hardware", CHECK_LIMIT, crate::toolchain::hardware::host)
                .unwrap_or_else(|_| ev.host.clone());
            let facts = host::gather(&host);
            let check = collect::check_json(&env);
            (facts, check)
        });
        let signal = catcher.wait_until(|| runs.is_finished());
        (
            runs.join().expect("go runs"),
            facts.join().expect("toolchain facts"),
            signal,
        )
    });
    drop(catcher);
    if let Some(sig) = signal {
        progress.finish();
        return Err(UserError::interrupted(
            sig,
            format!(
                "interrupted by {sig}: `go env` and `go version` were stopped and no bundle was written"
            ),
        ));
    }
    let from_files = collect::go_context_from_files(runs.go.as_deref(), &host_facts.os);
    let go_env = collect::go_env_doc(&runs.env, from_files);
    let version_static = if runs.version.succeeded() {
        None
    } else {
        runs.go.as_deref().map(collect::static_version)
    };
    Ok(Facts {
        env,
        runs,
        host: host_facts,
        check,
        go_env,
        version_static,
    })
}

/// A redactor that knows every secret gohang knows of: the environment (gohang's, the go
/// env file's, `go env`'s, and an attached process tree's), the owners' homes and names,
/// and secrets given on command lines.
fn redactor(args: &Options, ev: &Evidence, facts: &Facts) -> Redactor {
    let mut red = Redactor::new(!args.no_anonymize);
    red.add_env(std::env::vars_os().map(|(k, v)| {
        (
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        )
    }));
    let (e, os) = (facts.env.clone(), facts.host.os.clone());
    if let Ok(f) = timebox::run("go env file", CHECK_LIMIT, move || {
        crate::toolchain::goenv::findings(&e, &os)
    }) {
        red.add_env(f.file_values);
    }
    if let Some(obj) = facts.go_env.env.as_ref().and_then(|v| v.as_object()) {
        red.add_env(
            obj.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))),
        );
    }
    if ev.target.mode == Mode::Attach {
        add_attached_environs(&mut red, ev);
    }
    add_owners(&mut red, ev);
    add_argvs(&mut red, ev);
    for home in homes(&facts.env) {
        red.add_home(&home);
    }
    for user in users() {
        red.add_user(&user);
    }
    red
}

/// The environments of the attached processes, with their own HOME and user, which may be
/// another user's than gohang's.
fn add_attached_environs(red: &mut Redactor, ev: &Evidence) {
    let Some(last) = ev.last_sample() else { return };
    for p in &last.processes {
        let Some(raw) = environ::raw(p.pid) else {
            continue;
        };
        red.add_environ(&raw);
        for (k, v) in raw.split(|&b| b == 0).filter_map(|e| {
            let e = std::str::from_utf8(e).ok()?;
            e.split_once('=')
        }) {
            match k {
                "HOME" => red.add_home(v),
                "USER" | "LOGNAME" => red.add_user(v),
                _ => {}
            }
        }
    }
}

/// The owners of the processes in the evidence, from the password database: bundling
/// another user's process must anonymise their home and name too.
fn add_owners(red: &mut Redactor, ev: &Evidence) {
    let uids: std::collections::BTreeSet<u32> = ev
        .samples
        .iter()
        .flat_map(|s| s.processes.iter().filter_map(|p| p.uid))
        .collect();
    for uid in uids {
        if let Ok(Some(u)) = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
            red.add_home(&u.dir.display().to_string());
            red.add_user(&u.name);
        }
    }
}

/// Secrets given on command lines (`--password v`, `-u user:pw`, a header): also removed
/// where the command echoes them or passes them on.
fn add_argvs(red: &mut Redactor, ev: &Evidence) {
    let mut argvs: std::collections::BTreeSet<&[String]> = std::collections::BTreeSet::new();
    argvs.insert(&ev.target.command);
    for s in &ev.samples {
        argvs.extend(
            s.processes
                .iter()
                .filter_map(|p| p.argv.value().map(Vec::as_slice)),
        );
    }
    for argv in argvs {
        red.add_argv(argv);
    }
}

/// Every file of the bundle but `redactions.json` and `manifest.json`, not yet redacted;
/// `report.md` second.
fn files(
    args: &Options,
    ev: &Evidence,
    report: &Report,
    facts: &Facts,
    invocation: &str,
    created: u64,
) -> Vec<Part> {
    let mut parts = data_parts(args, ev, report, facts);
    let mut listed: Vec<(String, String)> = parts
        .iter()
        .map(|p| (p.name.clone(), p.description.clone()))
        .collect();
    listed.insert(
        1,
        (
            names::REPORT_MD.to_string(),
            names::describe(names::REPORT_MD).to_string(),
        ),
    );
    for n in [names::REDACTIONS, names::MANIFEST] {
        listed.push((n.to_string(), names::describe(n).to_string()));
    }
    let md = markdown::write(&markdown::MdInput {
        report,
        invocation,
        created: &clock::rfc3339(created),
        host: &facts.host,
        go_version: &facts.runs.version,
        go_version_static: facts.version_static.as_deref(),
        go_env: &facts.go_env,
        check: &facts.check,
        goroutines: ev.goroutines.as_ref(),
        files: &listed,
    });
    parts.insert(
        1,
        Part::text(
            names::REPORT_MD,
            names::describe(names::REPORT_MD),
            md,
            Shrink::Keep,
        ),
    );
    parts
}

/// The files made from the evidence and the facts as they are (JSON or text).
fn data_parts(args: &Options, ev: &Evidence, report: &Report, facts: &Facts) -> Vec<Part> {
    fn json<T: Serialize>(name: &str, value: &T, shrink: Shrink) -> Part {
        Part::json(name, names::describe(name), value, shrink)
    }
    fn text(name: &str, text: String, shrink: Shrink) -> Part {
        Part::text(name, names::describe(name), text, shrink)
    }
    let mut parts = vec![
        json(names::REPORT_JSON, report, Shrink::Json),
        json(names::SAMPLES, ev, Shrink::Json),
        json(names::CHECK, &facts.check, Shrink::Json),
        text(names::HOST_TXT, host::to_text(&facts.host), Shrink::Keep),
        json(names::HOST_JSON, &facts.host, Shrink::Keep),
        json(names::GO_ENV, &facts.go_env, Shrink::Json),
        text(
            names::GO_VERSION,
            go_version_text(&facts.runs.version, facts.version_static.as_deref()),
            Shrink::Text,
        ),
        text(names::OUTPUT_TAIL, output_tail_text(ev), Shrink::Text),
    ];
    if let Some(d) = &ev.goroutines {
        parts.push(text(
            names::GOROUTINES_TXT,
            collect::goroutines_text(d, &ev.output.stderr.tail),
            Shrink::Text,
        ));
        parts.push(json(names::GOROUTINES_JSON, d, Shrink::Json));
    }
    if let Some(n) = &ev.native_stacks {
        parts.push(json(names::NATIVE_STACKS, n, Shrink::Json));
    }
    if let Some(t) = trace_part(trace_file(ev), args.max_size) {
        parts.push(t);
    }
    parts
}

/// Cut the largest files to fit `max_size` (less [`RESERVE`]), then pass what was cut once
/// more (a cut adds a note of its own; the pass is a safety net and normally finds
/// nothing). Returns the manifest's notes.
fn fit_size(
    parts: &mut [Part],
    red: &mut Redactor,
    runs: &collect::GoRuns,
    max_size: u64,
) -> Vec<String> {
    let mut notes: Vec<String> = runs.notes.clone();
    for r in [&runs.env, &runs.version] {
        if r.timed_out() {
            notes.push(format!("`{}` {}", r.command, r.describe()));
        }
    }
    if let Some(n) = archive::bound(parts, max_size.saturating_sub(RESERVE)) {
        notes.push(n);
    }
    for p in parts.iter_mut().filter(|p| p.original_size.is_some()) {
        p.bytes = red.redact(&p.name, &p.bytes);
        notes.push(format!(
            "{} was cut from {} to {} bytes to fit --max-size",
            p.name,
            p.original_size.unwrap_or(0),
            p.bytes.len()
        ));
    }
    notes
}

/// `redactions.json`, itself redacted.
fn redactions_part(red: &mut Redactor, redactions: &[Redaction]) -> Part {
    let doc = RedactionsDoc {
        schema: "gohang.redactions/1",
        anonymized: red.anonymizes(),
        searched_for: red.known_names(),
        redacted: redactions,
        never_collected: NEVER_COLLECTED,
    };
    let mut rp = Part::json(
        names::REDACTIONS,
        names::describe(names::REDACTIONS),
        &doc,
        Shrink::Keep,
    );
    rp.bytes = red.redact(&rp.name, &rp.bytes);
    rp
}

/// Room kept under `--max-size` for `redactions.json` and `manifest.json`.
const RESERVE: u64 = 16 * 1024;

/// The syscall trace file, when one was taken (`--trace`; already redacted by `trace`).
fn trace_file(ev: &Evidence) -> Option<&Path> {
    ev.trace.as_ref()?.file.as_deref().map(Path::new)
}

/// `trace.txt` from a trace file: its last `cap` bytes when it is larger (the end is where
/// the command stopped), with a note.
pub fn trace_part(path: Option<&Path>, cap: u64) -> Option<Part> {
    let path = path?;
    // A trace file gohang wrote is a regular file; evidence could name anything else.
    let (tail, len) = crate::safeio::read_tail(path, cap).ok()?;
    let mut bytes = Vec::new();
    if len > cap {
        bytes.extend_from_slice(
            format!(
                "[gohang bundle: the first {} of {len} bytes of the trace are not included]\n",
                len - cap
            )
            .as_bytes(),
        );
    }
    bytes.extend_from_slice(&tail);
    let mut p = Part::new(
        names::TRACE,
        names::describe(names::TRACE),
        bytes,
        Shrink::Text,
    );
    if len > cap {
        p.original_size = Some(len);
    }
    Some(p)
}

/// `go-version.txt`.
fn go_version_text(run: &gorun::GoRun, from_files: Option<&str>) -> String {
    let mut s = format!("$ {}\n", run.command);
    s.push_str(&run.stdout_text());
    s.push_str(&run.stderr_text());
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&format!("# {}\n", run.describe()));
    if let Some(f) = from_files {
        s.push_str("# read from files instead:\n");
        for line in f.lines() {
            s.push_str(&format!("# {line}\n"));
        }
    }
    s
}

/// `output-tail.txt`.
fn output_tail_text(ev: &Evidence) -> String {
    if ev.target.mode == Mode::Attach {
        return format!(
            "gohang attached to pid {} and did not start it, so its output was not captured.\n",
            ev.target.pid.unwrap_or(0)
        );
    }
    let mut s = String::new();
    for (name, t) in [("stdout", &ev.output.stdout), ("stderr", &ev.output.stderr)] {
        let what = if t.truncated {
            format!("the last {} of {} bytes", t.tail.len(), t.total_bytes)
        } else {
            format!("{} bytes", t.total_bytes)
        };
        s.push_str(&format!("==> {name} ({what}) <==\n"));
        s.push_str(&t.tail);
        if !t.tail.is_empty() && !t.tail.ends_with('\n') {
            s.push('\n');
        }
        s.push('\n');
    }
    s
}

/// The home directories to hide: `$HOME` and the password database's, as given and with
/// symlinks resolved.
fn homes(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = env.home().map(str::to_string).into_iter().collect();
    if let Ok(Some(u)) = nix::unistd::User::from_uid(nix::unistd::geteuid()) {
        v.push(u.dir.display().to_string());
    }
    let resolved: Vec<String> = v
        .iter()
        .filter_map(|h| std::fs::canonicalize(h).ok())
        .map(|p| p.display().to_string())
        .collect();
    v.extend(resolved);
    v
}

/// The user names to hide: `$USER`, `$LOGNAME` and the password database's.
fn users() -> Vec<String> {
    let mut v: Vec<String> = ["USER", "LOGNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .collect();
    if let Ok(Some(u)) = nix::unistd::User::from_uid(nix::unistd::geteuid()) {
        v.push(u.name);
    }
    v
}

/// The command line that made the bundle, as a person would type it.
fn invocation() -> String {
    std::iter::once("gohang".to_string())
        .chain(
            std::env::args_os()
                .skip(1)
                .map(|a| crate::shell::quote(&a.to_string_lossy())),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where to write: `-o FILE`, `-o DIR` (the default name inside), or the default name in
/// the current directory. Checked before collecting, so a bad path fails at once.
fn output_path(given: Option<&Path>, created: u64) -> Result<PathBuf, UserError> {
    let nodename = nix::sys::utsname::uname()
        .map(|u| u.nodename().to_string_lossy().into_owned())
        .unwrap_or_default();
    let default = archive::default_name(&nodename, created);
    let path = match given {
        None => PathBuf::from(&default),
        Some(p) if p.is_dir() => p.join(&default),
        Some(p) => p.to_path_buf(),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(UserError::with(
            Exit::IoError,
            format!(
                "cannot write {}: {} is not a directory",
                path.display(),
                dir.display()
            ),
        ));
    }
    if nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_err() {
        return Err(UserError::no_permission(format!(
            "cannot write {}: no permission to create files in {}",
            path.display(),
            dir.display()
        )));
    }
    Ok(path)
}

/// `--json`: `{"path": …, "manifest": …}`; else a few lines for a person.
fn print_result(
    out: &Output,
    args: &Options,
    path: &Path,
    size: u64,
    manifest: &Manifest,
    redactions: &[Redaction],
) -> Result<(), UserError> {
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let shown = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let res = if args.json {
        #[derive(Serialize)]
        struct Printed<'a> {
            path: String,
            size: u64,
            manifest: &'a Manifest,
        }
        serde_json::to_writer_pretty(
            &mut w,
            &Printed {
                path: shown.display().to_string(),
                size,
                manifest,
            },
        )
        .map_err(std::io::Error::other)
        .and_then(|_| writeln!(w))
    } else if out.quiet {
        writeln!(w, "{}", path.display())
    } else {
        use crate::redact::RedactionKind;
        let removed: u64 = redactions
            .iter()
            .filter(|r| !matches!(r.kind, RedactionKind::HomeDir | RedactionKind::UserName))
            .map(|r| r.count)
            .sum();
        (|| {
            writeln!(
                w,
                "gohang bundle: wrote {} ({} files, {} KB)",
                path.display(),
                manifest.files.len() + 1,
                size.div_ceil(1024)
            )?;
            writeln!(w, "  {}: {}", manifest.verdict, manifest.summary)?;
            for n in &manifest.notes {
                writeln!(w, "  note: {n}")?;
            }
            writeln!(
                w,
                "  {removed} secret{} removed{}; redactions.json lists them by name",
                if removed == 1 { "" } else { "s" },
                if manifest.anonymized {
                    ", home directory and user name replaced by $HOME and $USER"
                } else {
                    ""
                }
            )?;
            writeln!(
                w,
                "  attach it to your bug report; report.md inside is ready to paste"
            )
        })()
    };
    match res {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(UserError::internal(format!("printing the result: {e}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_files_are_bounded_from_the_end() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("trace");
        std::fs::write(&f, "first line\nsecond line\nlast line\n").unwrap();
        let whole = trace_part(Some(&f), 1 << 20).unwrap();
        assert_eq!(whole.bytes, b"first line\nsecond line\nlast line\n");
        assert_eq!(whole.original_size, None);
        let cut = trace_part(Some(&f), 10).unwrap();
        let text = String::from_utf8(cut.bytes).unwrap();
        assert!(text.ends_with("last line\n"), "{text}");
        assert!(text.starts_with("[gohang bundle: the first 23 of 33 bytes"));
        assert_eq!(cut.original_size, Some(33));
        assert!(trace_part(None, 10).is_none());
        assert!(trace_part(Some(&t.path().join("missing")), 10).is_none());
    }

    #[test]
    fn go_version_text_says_when_go_hangs() {
        let mut r = gorun::not_found(
            collect::GO_VERSION_COMMAND,
            std::time::Duration::from_secs(2),
        );
        r.status = gorun::RunStatus::TimedOut;
        let t = go_version_text(&r, Some("/usr/bin/go: a Go binary built by go1.22.0"));
        assert!(t.starts_with("$ GOTOOLCHAIN=local go version\n"));
        assert!(t.contains("# did not finish within 2.00 s"), "{t}");
        assert!(t.contains(
            "# read from files instead:\n# /usr/bin/go: a Go binary built by go1.22.0\n"
        ));
    }

    #[test]
    fn every_file_is_described() {
        for n in [
            names::REPORT_JSON,
            names::REPORT_MD,
            names::SAMPLES,
            names::CHECK,
            names::HOST_TXT,
            names::HOST_JSON,
            names::GO_ENV,
            names::GO_VERSION,
            names::GOROUTINES_TXT,
            names::GOROUTINES_JSON,
            names::NATIVE_STACKS,
            names::TRACE,
            names::OUTPUT_TAIL,
            names::REDACTIONS,
            names::MANIFEST,
        ] {
            assert!(!names::describe(n).is_empty(), "{n}");
        }
    }
}
