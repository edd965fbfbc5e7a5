//! Progress on the terminal: a spinner with elapsed and remaining time while the command
//! runs, a bar while the tree is sampled. Drawn on stderr, only on a terminal, never with
//! `--json` or `--quiet` (the caller decides; a hidden bar draws nothing).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    enabled: bool,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        let bar = if enabled {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        Progress { bar, enabled }
    }

    /// A spinner: "⠋ `go version` running 3.1 s, deadline in 6.9 s".
    pub fn waiting(&self, what: &str, timeout: Duration) {
        if !self.enabled {
            return;
        }
        self.bar
            .set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap());
        let bar = self.bar.clone();
        let what = what.to_string();
        let start = Instant::now();
        self.bar.enable_steady_tick(Duration::from_millis(100));
        std::thread::Builder::new()
            .name("gohang-progress".into())
            .spawn(move || {
                while !bar.is_finished() && bar.length().is_none() {
                    let e = start.elapsed();
                    let left = timeout.saturating_sub(e);
                    bar.set_message(format!(
                        "`{what}` running {:.1} s, deadline in {:.1} s",
                        e.as_secs_f64(),
                        left.as_secs_f64()
                    ));
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
            .ok();
    }

    /// A bar over `n` samples of the process tree.
    pub fn sampling(&self, n: u64) {
        self.bar.set_length(n);
        self.bar.set_position(0);
        if self.enabled {
            self.bar.set_style(
                ProgressStyle::with_template("{bar:30} sampling the process tree {pos}/{len}")
                    .unwrap(),
            );
            self.bar.set_message("");
        }
    }

    /// A one-line status after sampling (e.g. while the goroutine dump is taken).
    pub fn message(&self, text: &str) {
        if self.enabled {
            self.bar
                .set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap());
            self.bar.set_message(text.to_string());
        }
    }

    /// A spinner with a message that ticks by itself, for a step with no progress to count.
    pub fn step(&self, text: &str) {
        if self.enabled {
            self.bar
                .set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap());
            self.bar.set_message(text.to_string());
            self.bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    pub fn sampled(&self) {
        self.bar.inc(1);
    }

    /// Run `f` (which writes to the terminal) with the progress line cleared.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
