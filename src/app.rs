//! Parse the command line, run the command, print, and decide the exit code once at the end.

use crate::classify::classify;
use crate::cli::{AttachArgs, ClassifyArgs, Cli, Command, ProbeArgs};
use crate::error::{Exit, UserError};
use crate::evidence::Evidence;
use crate::output::{Output, emit, verdict_exit};
use crate::report::{Report, human};
use crate::supervisor::{self, ProbeOptions};
use clap::Parser;
use std::io::IsTerminal;

/// Run gohang with the process's arguments; returns the exit code.
pub fn main() -> u8 {
    // `probe --keep` of a stopped tree runs gohang again as its keeper (see keep.rs).
    if let Some(exit) = crate::keep::internal_entry() {
        return exit.code();
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let exit = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Exit::Ok,
                _ => Exit::Usage,
            };
            let _ = e.print();
            return exit.code();
        }
    };
    // The one place an outcome becomes the exit status.
    match run(&cli) {
        Ok(exit) => exit.code(),
        Err(e) => {
            supervisor::end_streamed_lines();
            eprintln!("gohang: {e}");
            e.code()
        }
    }
}

/// The global flags' effect on printing, decided once.
fn output(cli: &Cli) -> Output {
    Output {
        quiet: cli.quiet,
        verbose: cli.verbose > 0,
        color: cli.color.enabled(std::io::stdout().is_terminal()),
    }
}

/// Each command gets its own options, not the command line: the commands do not know the
/// dispatcher or the argument parser.
fn run(cli: &Cli) -> Result<Exit, UserError> {
    let out = output(cli);
    match &cli.command {
        Command::Probe(args) => probe(&out, args),
        Command::Attach(args) => attach(&out, args),
        Command::Dump(a) => crate::dump::run(
            &out,
            &crate::dump::Options {
                pid: a.pid,
                json: a.json,
                lock: a.lock,
            },
        ),
        Command::Classify(args) => classify_file(&out, args),
        Command::Completions(args) => completions(args.shell),
        Command::Man(args) => man_page(args.dir.as_deref()),
        Command::Rebuild(a) => crate::rebuild::run(
            &out,
            &crate::rebuild::Options {
                goroot: a.goroot.clone(),
                bootstrap: a.bootstrap.clone(),
                yes: a.yes,
                json: a.json,
                prune_backup: a.prune_backup,
                log: a.log.clone(),
                build_timeout: a.build_timeout,
            },
        ),
        Command::Check(a) => crate::check::run(&out, &crate::check::Options { json: a.json }),
        Command::Scan(a) => crate::scan::run(
            &out,
            &crate::scan::Options {
                paths: a.paths.clone(),
                json: a.json,
            },
        ),
        Command::Bundle(a) => crate::bundle::run(
            &out,
            &crate::bundle::Options {
                output: a.output.clone(),
                pid: a.pid,
                timeout: a.timeout,
                window: a.window,
                trace: a.trace,
                no_anonymize: a.no_anonymize,
                max_size: a.max_size,
                json: a.json,
                command: a.command.clone(),
            },
        ),
    }
}

/// Shell completions from the clap definition, so they never drift from the flags.
fn completions(shell: crate::cli::Shell) -> Result<Exit, UserError> {
    use clap::CommandFactory;
    use clap_complete::{Shell as S, generate};
    let shell = match shell {
        crate::cli::Shell::Bash => S::Bash,
        crate::cli::Shell::Zsh => S::Zsh,
        crate::cli::Shell::Fish => S::Fish,
    };
    let mut cmd = Cli::command();
    generate(shell, &mut cmd, "gohang", &mut std::io::stdout());
    Ok(Exit::Ok)
}

/// The man pages, rendered from the clap definition: gohang.1 on stdout, or gohang.1 and
/// one gohang-<command>.1 per command into `dir`.
fn man_page(dir: Option<&std::path::Path>) -> Result<Exit, UserError> {
    use clap::CommandFactory;
    let err = |e: std::io::Error| UserError::internal(format!("writing the man page: {e}"));
    let cmd = Cli::command();
    let Some(dir) = dir else {
        // `gohang man | head` closes the pipe early; that is the reader's choice, not an error.
        return match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(err(e)),
            _ => Ok(Exit::Ok),
        };
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let page = |c: clap::Command, file: String| -> Result<(), UserError> {
        let mut text = Vec::new();
        clap_mangen::Man::new(c).render(&mut text).map_err(err)?;
        crate::safeio::write(
            &dir.join(&file),
            &text,
            crate::safeio::WriteOptions::default(),
        )
        .map_err(|e| UserError::internal(format!("writing the man page: {e}")))
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("gohang-{}", sub.get_name());
        page(sub.clone().name(name.clone()), format!("{name}.1"))?;
    }
    page(cmd, "gohang.1".to_string())?;
    Ok(Exit::Ok)
}

/// `--save-evidence FILE` that cannot be written fails before the probe, not after it.
fn check_save_path(path: Option<&std::path::Path>) -> Result<(), UserError> {
    match path {
        Some(p) => crate::safeio::check_writable(p)
            .map_err(|e| UserError::with(e.write_exit(), format!("--save-evidence: {e}"))),
        None => Ok(()),
    }
}

fn probe(out: &Output, args: &ProbeArgs) -> Result<Exit, UserError> {
    check_save_path(args.save_evidence.as_deref())?;
    let command = if args.command.is_empty() {
        vec!["go".to_string(), "version".to_string()]
    } else {
        args.command.clone()
    };
    let opts = ProbeOptions {
        command,
        timeout: args.timeout,
        window: args.window,
        keep: args.keep,
        // SIGQUIT ends the process: only when asked. By default the goroutines are read
        // from memory (src/gomem/evidence.rs) and the program keeps running.
        goroutines: args.goroutines && !args.no_goroutines,
        trace: args.trace,
        stream_output: !args.json && !out.quiet,
        progress: !args.json && !out.quiet && std::io::stderr().is_terminal(),
    };
    if let Some(note) = crate::output::window_note(args.timeout, args.window) {
        eprintln!("gohang: note: {note}");
    }
    let run = crate::sys::runtime::runtime()?.block_on(supervisor::probe(&opts))?;
    // The command's last line may have had no newline: the report starts on its own line.
    supervisor::end_streamed_lines();
    for w in &run.warnings {
        eprintln!("gohang: {w}");
    }

    if let Some(sig) = run.interrupted {
        eprintln!(
            "gohang: interrupted by {sig}; the probed command and its processes were {}",
            if args.keep { "left running" } else { "stopped" }
        );
        return Ok(Exit::signal(sig));
    }
    save_evidence(args.save_evidence.as_deref(), &run.evidence)?;
    let c = classify(&run.evidence);
    let exit = verdict_exit(&run.evidence, &c);
    let report = Report::new("probe", &run.evidence, &c, run.kept, exit.code());
    print(out, args.json, &report)?;
    Ok(exit)
}

fn attach(out: &Output, args: &AttachArgs) -> Result<Exit, UserError> {
    check_save_path(args.save_evidence.as_deref())?;
    let opts = crate::attach::AttachOptions {
        pid: args.pid,
        window: args.window,
        goroutines: args.goroutines,
        trace: args.trace,
        progress: !args.json && !out.quiet && std::io::stderr().is_terminal(),
    };
    let run = crate::attach::attach(&opts)?;
    for w in &run.warnings {
        eprintln!("gohang: {w}");
    }
    save_evidence(args.save_evidence.as_deref(), &run.evidence)?;
    let c = classify(&run.evidence);
    let exit = verdict_exit(&run.evidence, &c);
    let report = Report::new("attach", &run.evidence, &c, Vec::new(), exit.code());
    print(out, args.json, &report)?;
    Ok(exit)
}

fn classify_file(out: &Output, args: &ClassifyArgs) -> Result<Exit, UserError> {
    let text = crate::safeio::read_text(&args.file, crate::safeio::EVIDENCE)
        .map_err(crate::safeio::IoError::into_read_error)?;
    let ev: Evidence = serde_json::from_str(&text).map_err(|e| {
        UserError::usage(format!(
            "{} is not a gohang evidence file: {e}",
            args.file.display()
        ))
    })?;
    let c = classify(&ev);
    let exit = verdict_exit(&ev, &c);
    let mode = match ev.target.mode {
        crate::evidence::Mode::Spawn => "probe",
        crate::evidence::Mode::Attach => "attach",
    };
    let report = Report::new(mode, &ev, &c, Vec::new(), exit.code());
    print(out, args.json, &report)?;
    Ok(exit)
}

fn save_evidence(path: Option<&std::path::Path>, ev: &Evidence) -> Result<(), UserError> {
    let Some(path) = path else { return Ok(()) };
    let text = serde_json::to_string_pretty(ev)
        .map_err(|e| UserError::internal(format!("serializing the evidence: {e}")))?;
    crate::safeio::write(
        path,
        (text + "\n").as_bytes(),
        crate::safeio::WriteOptions::default(),
    )
    .map_err(|e| UserError::with(e.write_exit(), format!("--save-evidence: {e}")))
}

fn print(out: &Output, json: bool, report: &Report) -> Result<(), UserError> {
    emit(out, json, report, |w, color| {
        if out.quiet {
            let p = report.primary();
            writeln!(w, "{}: {}", p.kind, p.summary)
        } else {
            let style = human::Style {
                verbose: out.verbose,
                color,
            };
            human::write(w, report, &style)
        }
    })
}
