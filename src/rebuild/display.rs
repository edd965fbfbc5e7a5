//! What the user sees while a rebuild runs, on stderr: on a terminal a spinner with the
//! step or make.bash phase and the time spent; elsewhere one plain line per step. Nothing
//! with `--json` or `--quiet`. The log has everything either way.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

pub struct Display {
    bar: Option<ProgressBar>,
    lines: bool,
}

impl Display {
    /// `tty`: stderr is a terminal; `silent`: `--json` or `--quiet`.
    pub fn new(tty: bool, silent: bool) -> Display {
        if silent {
            return Display {
                bar: None,
                lines: false,
            };
        }
        if tty {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            return Display {
                bar: Some(bar),
                lines: false,
            };
        }
        Display {
            bar: None,
            lines: true,
        }
    }

    /// A new step: "moving /usr/local/go aside".
    pub fn step(&self, msg: &str) {
        if let Some(b) = &self.bar {
            b.set_message(msg.to_string());
        } else if self.lines {
            eprintln!("gohang: rebuild: {msg}");
        }
    }

    /// Copy progress (terminal only; too chatty for a log).
    pub fn copied(&self, done: u64, total: u64) {
        if let Some(b) = &self.bar {
            let pct = (done.min(total) * 100).checked_div(total).unwrap_or(100);
            b.set_message(format!("copying the GOROOT to build in: {pct}%"));
        }
    }

    /// make.bash started phase `i` (0-based) of `n`, printing `line`.
    pub fn phase(&self, i: usize, n: usize, line: &str) {
        self.step(&format!("make.bash [{}/{n}] {line}", i + 1));
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
