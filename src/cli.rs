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
                  translated by Rosetta or qemu, waiting on the network, a lock, a prompt or a child, or \
                  spinning. Each verdict comes with its evidence and a fix.",
    propagate_version = true
)]
pub struct Cli {
    /// Show the decision trail: why each verdict was chosen.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Print only the verdict line (and errors).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command (default `go version`) under a watchdog; diagnose it if it hangs.
    Probe(ProbeArgs),
    /// Classify a saved evidence file (from --save-evidence) again.
    Classify(ClassifyArgs),
    /// Check the Go toolchain without running it (exit 0 native, 1 wrong arch or translated, 2 mixed).
    Check(CheckArgs),
    /// Architecture, platform, signature and Go version of binaries, or of a whole GOROOT.
    Scan(ScanArgs),
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
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// How long to sample the process tree after the deadline (0 = one snapshot).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub window: Duration,
    /// Leave the stuck processes running (their pids are printed) instead of killing them.
    #[arg(long)]
    pub keep: bool,
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
pub struct ClassifyArgs {
    /// An evidence file written by --save-evidence.
    pub file: PathBuf,
    /// Print one JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// "10s", "500ms", "2m", "1.5s", "1h"; a bare number is seconds.
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
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
