//! The command line (clap derive). Parsing only: no syscalls here.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "gohang",
    version,
    about = "Find out why a `go` command hangs, and fix it",
    long_about = "gohang runs a Go command under a watchdog (probe) or looks at a stuck one, samples the \
                  process tree, and says why it is stuck: stopped by a signal, the wrong architecture, \
                  translated by Rosetta or qemu, waiting on the network, a lock, a prompt or a child, \
                  blocked writing output nobody reads, or spinning. Each verdict comes with its evidence and a fix.",
    propagate_version = true
)]
pub struct Cli {
    /// Show the decision trail: why each verdict was chosen.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only the verdict line (and errors).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour in the report: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command (default `go version`) under a watchdog; diagnose it if it hangs.
    Probe(ProbeArgs),
    /// Look at a process that is already stuck (read-only unless --goroutines or --trace).
    Attach(AttachArgs),
    /// Print every goroutine of a running Go program (Go 1.21–1.27), read from its memory:
    /// no signal, and the program keeps running.
    ///
    /// The output is the runtime's own SIGQUIT traceback format (status, wait reason,
    /// minutes waited, frames with inlined ones, `created by`), then a summary grouping
    /// identical stacks. Works on stripped and PIE binaries, amd64 and arm64 (also an
    /// arm64 program under qemu-user). Needs ptrace access to the process (same user, or
    /// root; see kernel.yama.ptrace_scope). Exit 0 dumped, 1 not a Go program or a Go
    /// release gohang does not know, 66 no such process, 77 permission denied.
    Dump(DumpArgs),
    /// Print a shell completion script (bash, zsh, fish) on stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, or write one page per command into a directory.
    Man(ManArgs),
    /// Classify a saved evidence file (from --save-evidence) again.
    Classify(ClassifyArgs),
    /// Rebuild a GOROOT with foreign binaries as a native toolchain (a plan unless --yes).
    Rebuild(RebuildArgs),
    /// Check the Go toolchain without running it (exit 0 native, 1 wrong arch or translated, 2 mixed).
    Check(CheckArgs),
    /// Architecture, platform, signature and Go version of binaries, or of a whole GOROOT.
    Scan(ScanArgs),
    /// Write one .tar.gz for a bug report: the report, the samples, the toolchain, the host,
    /// `go env` and `go version`, with secrets removed. Exit 0 once it is written.
    Bundle(BundleArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print one JSON report (schema gohang.check/1) on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files, directories, or GOROOTs (only bin/ and pkg/tool/*/ of a GOROOT are scanned).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print one JSON report (schema gohang.scan/1) on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// How long the command may run before it counts as stuck (e.g. 10s, 500ms, 2m).
    #[arg(long, default_value = "10s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// How long to sample the process tree after the deadline (0 = one snapshot).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub window: Duration,
    /// Leave the stuck processes as they are (their pids are printed; stopped ones stay
    /// stopped) instead of killing them.
    #[arg(long)]
    pub keep: bool,
    /// Send the stuck Go process SIGQUIT for a goroutine dump before stopping it: the Go
    /// runtime prints every goroutine and the process exits. Without it the goroutines are
    /// read from its memory (no signal; the program keeps running until it is stopped).
    #[arg(long, overrides_with = "no_goroutines")]
    pub goroutines: bool,
    /// Send no SIGQUIT (the default; the goroutines are read from memory).
    #[arg(long, overrides_with = "goroutines")]
    pub no_goroutines: bool,
    /// Run the command under a system call tracer (strace; dtruss on macOS as root when SIP
    /// allows it) and name the call each stuck thread sits in. Slows the command down.
    #[arg(long)]
    pub trace: bool,
    /// Print one JSON report on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
    /// Also write the raw evidence (samples of the process tree) to FILE as JSON.
    #[arg(long, value_name = "FILE")]
    pub save_evidence: Option<PathBuf>,
    /// The command to probe, after `--` (default: go version).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The stuck process (e.g. from `pgrep -a go`).
    pub pid: u32,
    /// How long to sample the process tree (0 = one snapshot).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub window: Duration,
    /// Send SIGQUIT for a goroutine dump. This ends the Go program, and the dump goes to
    /// its own stderr. Without it the goroutines are read from memory (no signal).
    #[arg(long)]
    pub goroutines: bool,
    /// Trace the tree's system calls over the window (strace -p; dtruss on macOS as root when
    /// SIP allows it) and name the call each stuck thread sits in. The tracer stops the
    /// target at each system call while attached, then detaches; the target runs on.
    #[arg(long)]
    pub trace: bool,
    /// Print one JSON report on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
    /// Also write the raw evidence (samples of the process tree) to FILE as JSON.
    #[arg(long, value_name = "FILE")]
    pub save_evidence: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The Go program's process id.
    pub pid: u32,
    /// Print one JSON document (schema gohang.dump/1) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Pause the program's threads while reading (ptrace interrupt, a few milliseconds;
    /// never SIGSTOP) for a consistent snapshot; they are always resumed.
    #[arg(long)]
    pub lock: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour output going to a stream that is (or is not) a terminal.
    /// NO_COLOR (any value) turns `auto` off (no-color.org).
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write gohang.1 and gohang-<command>.1 here instead of printing gohang.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// An evidence file written by --save-evidence.
    pub file: PathBuf,
    /// Print one JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// The GOROOT to rebuild (default: $GOROOT, else the one of the go on PATH).
    #[arg(long, value_name = "DIR")]
    pub goroot: Option<PathBuf>,
    /// A native Go tree to build with (default: the best one found on this machine).
    #[arg(long, value_name = "DIR")]
    pub bootstrap: Option<PathBuf>,
    /// Do it: move the original aside, rebuild, verify; put the original back on failure.
    /// Without it, only the plan is printed and nothing changes.
    #[arg(long)]
    pub yes: bool,
    /// Print one JSON document (schema gohang.rebuild/1) on stdout.
    #[arg(long)]
    pub json: bool,
    /// Delete the backups earlier rebuilds of this GOROOT left (lists them without --yes).
    #[arg(long)]
    pub prune_backup: bool,
    /// Write the log to FILE (default: ~/.local/state/gohang/rebuild-TIME.log).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Stop make.bash and roll back when it runs longer than this.
    #[arg(long, default_value = "60m", value_parser = parse_timeout)]
    pub build_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// Where to write the bundle (default: gohang-bundle-HOST-TIME.tar.gz in the current
    /// directory).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Bundle a process that is already stuck instead of probing a command.
    #[arg(long, value_name = "PID", conflicts_with = "command")]
    pub pid: Option<u32>,
    /// How long the probed command may run before it counts as stuck; also the limit for
    /// each of `go env -json` and `go version`.
    #[arg(long, default_value = "10s", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// How long to sample the process tree.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub window: Duration,
    /// Trace system calls while sampling (strace; dtruss on macOS as root when SIP allows
    /// it) and put the trace, with credentials removed, in the bundle as trace.txt.
    #[arg(long)]
    pub trace: bool,
    /// Keep the home directory and user name (secrets are removed regardless).
    #[arg(long)]
    pub no_anonymize: bool,
    /// Largest total size of the files in the bundle before compression (e.g. 4MB, 512KB);
    /// the largest files are cut, with a note, to fit.
    #[arg(long, default_value = "4MB", value_parser = parse_size, value_name = "SIZE")]
    pub max_size: u64,
    /// Print the bundle's path and manifest as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// The command to probe, after `--` (default: go version).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// The smallest `--max-size`: the report, the manifest and the host facts must fit.
pub const MIN_BUNDLE_SIZE: u64 = 64 * 1024;

/// "4MB", "512KB", "4M", "1MiB", "65536"; units are powers of 1024.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (try 4MB, 512KB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        u => return Err(format!("unknown unit `{u}` in `{s}` (use KB, MB or GB)")),
    };
    let bytes = n * mult as f64;
    if !bytes.is_finite() || bytes < MIN_BUNDLE_SIZE as f64 || bytes > (1u64 << 40) as f64 {
        return Err(format!(
            "`{s}` is out of range (at least {} KB)",
            MIN_BUNDLE_SIZE / 1024
        ));
    }
    Ok(bytes as u64)
}

/// "10s", "500ms", "2m", "1.5s", "1h"; a bare number is seconds.
/// A timeout: a duration of at least 1 ms. `0s` would count every command as stuck at
/// once and report a stall that is not there.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(1) {
        return Err(format!(
            "a timeout of `{}` leaves the command no time to run; give it at least 1ms (e.g. 10s)",
            s.trim()
        ));
    }
    Ok(d)
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 10s, 500ms, 2m)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" | "secs" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        u => return Err(format!("unknown unit `{u}` in `{s}` (use ms, s, m or h)")),
    };
    if !secs.is_finite() || !(0.0..=7.0 * 24.0 * 3600.0).contains(&secs) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn a_timeout_must_be_positive() {
        for z in ["0", "0s", "0ms", "0.0m", "0.0001ms"] {
            assert!(parse_timeout(z).is_err(), "{z}");
        }
        assert_eq!(parse_timeout("1ms").unwrap(), Duration::from_millis(1));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4MB").unwrap(), 4 << 20);
        assert_eq!(parse_size("512KB").unwrap(), 512 << 10);
        assert_eq!(parse_size("1.5m").unwrap(), 3 << 19);
        assert_eq!(parse_size("65536").unwrap(), 65536);
        assert!(parse_size("1KB").is_err(), "below the minimum");
        assert!(parse_size("4 parsecs").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn bundle_pid_and_command_exclude_each_other() {
        assert!(Cli::try_parse_from(["gohang", "bundle", "--pid", "1", "--", "go"]).is_err());
        let c =
            Cli::try_parse_from(["gohang", "bundle", "-o", "x.tgz", "--", "go", "env"]).unwrap();
        let Command::Bundle(b) = c.command else {
            panic!("not bundle")
        };
        assert_eq!(b.command, vec!["go", "env"]);
        assert_eq!(b.max_size, 4 << 20);
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
