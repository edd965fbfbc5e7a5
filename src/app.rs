//! Parse the command line, run the command, print, and decide the exit code once at the end.

use crate::classify::{Classification, classify};
use crate::cli::{AttachArgs, ClassifyArgs, Cli, Command, ProbeArgs};
use crate::error::{UserError, exit};
use crate::evidence::{Evidence, Outcome};
use crate::report::{Report, human};
use crate::supervisor::{self, ProbeOptions};
use crate::verdict::{Confidence, VerdictKind};
use clap::Parser;
use nix::sys::signal::Signal;
use std::io::{IsTerminal, Write};

/// Run gohang with the process's arguments; returns the exit code.
pub fn main() -> u8 {
    // `probe --keep` of a stopped tree runs gohang again as its keeper (see keep.rs).
    if let Some(code) = crate::keep::internal_entry() {
        return code;
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => exit::OK,
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => exit::USAGE,
                _ => exit::USAGE,
            };
            let _ = e.print();
            return code;
        }
    };
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            supervisor::end_streamed_lines();
            eprintln!("gohang: {e}");
            e.code
        }
    }
}

fn run(cli: &Cli) -> Result<u8, UserError> {
    match &cli.command {
        Command::Probe(args) => probe(cli, args),
        Command::Attach(args) => attach(cli, args),
        Command::Dump(args) => crate::dump::run(cli, args),
        Command::Classify(args) => classify_file(cli, args),
        Command::Completions(args) => completions(args.shell),
        Command::Man(args) => man_page(args.dir.as_deref()),
        Command::Rebuild(args) => crate::rebuild::run(cli, args),
        Command::Check(args) => crate::check::run(cli, args),
        Command::Scan(args) => crate::scan::run(cli, args),
        Command::Bundle(args) => crate::bundle::run(cli, args),
    }
}

/// Shell completions from the clap definition, so they never drift from the flags.
fn completions(shell: crate::cli::Shell) -> Result<u8, UserError> {
    use clap::CommandFactory;
    use clap_complete::{Shell as S, generate};
    let shell = match shell {
        crate::cli::Shell::Bash => S::Bash,
        crate::cli::Shell::Zsh => S::Zsh,
        crate::cli::Shell::Fish => S::Fish,
    };
    let mut cmd = Cli::command();
    generate(shell, &mut cmd, "gohang", &mut std::io::stdout());
    Ok(exit::OK)
}

/// The man pages, rendered from the clap definition: gohang.1 on stdout, or gohang.1 and
/// one gohang-<command>.1 per command into `dir`.
fn man_page(dir: Option<&std::path::Path>) -> Result<u8, UserError> {
    use clap::CommandFactory;
    let err =
        |e: std::io::Error| UserError::new(exit::INTERNAL, format!("writing the man page: {e}"));
    let cmd = Cli::command();
    let Some(dir) = dir else {
        // `gohang man | head` closes the pipe early; that is the reader's choice, not an error.
        return match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(err(e)),
            _ => Ok(exit::OK),
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
        .map_err(|e| UserError::new(exit::INTERNAL, format!("writing the man page: {e}")))
    };
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("gohang-{}", sub.get_name());
        page(sub.clone().name(name.clone()), format!("{name}.1"))?;
    }
    page(cmd, "gohang.1".to_string())?;
    Ok(exit::OK)
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, UserError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| UserError::new(exit::INTERNAL, format!("starting the runtime: {e}")))
}

/// `--save-evidence FILE` that cannot be written fails before the probe, not after it.
fn check_save_path(path: Option<&std::path::Path>) -> Result<(), UserError> {
    match path {
        Some(p) => crate::safeio::check_writable(p).map_err(|e| {
            let code = e.write_exit_code();
            UserError::new(code, format!("--save-evidence: {e}"))
        }),
        None => Ok(()),
    }
}

fn probe(cli: &Cli, args: &ProbeArgs) -> Result<u8, UserError> {
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
        stream_output: !args.json && !cli.quiet,
        progress: !args.json && !cli.quiet && std::io::stderr().is_terminal(),
    };
    if let Some(note) = crate::cli::window_note(args.timeout, args.window) {
        eprintln!("gohang: note: {note}");
    }
    let run = runtime()?.block_on(supervisor::probe(&opts))?;
    // The command's last line may have had no newline: the report starts on its own line.
    supervisor::end_streamed_lines();
    for w in &run.warnings {
        eprintln!("gohang: {w}");
    }

    if let Some(sig) = run.interrupted {
        let code = match sig {
            Signal::SIGINT => exit::INTERRUPTED,
            Signal::SIGTERM => exit::TERMINATED,
            other => 128 + other as u8,
        };
        eprintln!(
            "gohang: interrupted by {sig}; the probed command and its processes were {}",
            if args.keep { "left running" } else { "stopped" }
        );
        return Ok(code);
    }
    save_evidence(args.save_evidence.as_deref(), &run.evidence)?;
    let c = classify(&run.evidence);
    let code = exit_code(&run.evidence, &c);
    let report = Report::new("probe", &run.evidence, &c, run.kept, code);
    print(cli, args.json, &report)?;
    Ok(code)
}

fn attach(cli: &Cli, args: &AttachArgs) -> Result<u8, UserError> {
    check_save_path(args.save_evidence.as_deref())?;
    let opts = crate::attach::AttachOptions {
        pid: args.pid,
        window: args.window,
        goroutines: args.goroutines,
        trace: args.trace,
        progress: !args.json && !cli.quiet && std::io::stderr().is_terminal(),
    };
    let run = crate::attach::attach(&opts)?;
    for w in &run.warnings {
        eprintln!("gohang: {w}");
    }
    save_evidence(args.save_evidence.as_deref(), &run.evidence)?;
    let c = classify(&run.evidence);
    let code = exit_code(&run.evidence, &c);
    let report = Report::new("attach", &run.evidence, &c, Vec::new(), code);
    print(cli, args.json, &report)?;
    Ok(code)
}

fn classify_file(cli: &Cli, args: &ClassifyArgs) -> Result<u8, UserError> {
    let text = crate::safeio::read_text(&args.file, crate::safeio::EVIDENCE)
        .map_err(crate::safeio::IoError::into_read_error)?;
    let ev: Evidence = serde_json::from_str(&text).map_err(|e| {
        UserError::new(
            exit::USAGE,
            format!("{} is not a gohang evidence file: {e}", args.file.display()),
        )
    })?;
    let c = classify(&ev);
    let code = exit_code(&ev, &c);
    let mode = match ev.target.mode {
        crate::evidence::Mode::Spawn => "probe",
        crate::evidence::Mode::Attach => "attach",
    };
    let report = Report::new(mode, &ev, &c, Vec::new(), code);
    print(cli, args.json, &report)?;
    Ok(code)
}

fn save_evidence(path: Option<&std::path::Path>, ev: &Evidence) -> Result<(), UserError> {
    let Some(path) = path else { return Ok(()) };
    let text = serde_json::to_string_pretty(ev)
        .map_err(|e| UserError::new(exit::INTERNAL, format!("serializing the evidence: {e}")))?;
    crate::safeio::write(
        path,
        (text + "\n").as_bytes(),
        crate::safeio::WriteOptions::default(),
    )
    .map_err(|e| {
        let code = e.write_exit_code();
        UserError::new(code, format!("--save-evidence: {e}"))
    })
}

/// DESIGN.md: 0 finished / not stuck; 1 stall or failure diagnosed; 2 stalled, cause unknown.
pub fn exit_code(ev: &Evidence, c: &Classification) -> u8 {
    let p = &c.verdicts[0];
    match (&ev.outcome, p.kind) {
        (_, VerdictKind::Healthy) => exit::OK,
        (Outcome::TimedOut { .. } | Outcome::Attached, VerdictKind::Idle)
            if p.confidence == Confidence::Low =>
        {
            exit::UNIDENTIFIED
        }
        _ => exit::DIAGNOSED,
    }
}

fn print(cli: &Cli, json: bool, report: &Report) -> Result<(), UserError> {
    emit(cli, json, report, |w, color| {
        if cli.quiet {
            let p = report.primary();
            writeln!(w, "{}: {}", p.kind, p.summary)
        } else {
            let style = human::Style {
                verbose: cli.verbose > 0,
                color,
            };
            human::write(w, report, &style)
        }
    })
}

/// Write a command's result on stdout: one JSON document with `--json`, else the human
/// text (told whether to colour, per `--color` and NO_COLOR). A closed pipe is not an
/// error (`gohang … | head`).
pub fn emit<T: serde::Serialize>(
    cli: &Cli,
    json: bool,
    value: &T,
    human: impl FnOnce(&mut dyn Write, bool) -> std::io::Result<()>,
) -> Result<(), UserError> {
    let out = std::io::stdout();
    let mut w = std::io::BufWriter::new(out.lock());
    let res = if json {
        serde_json::to_writer_pretty(&mut w, value)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(w))
    } else {
        human(&mut w, cli.color.enabled(std::io::stdout().is_terminal()))
    }
    .and_then(|_| w.flush());
    match res {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(UserError::new(
            exit::INTERNAL,
            format!("writing the report: {e}"),
        )),
        _ => Ok(()),
    }
}
