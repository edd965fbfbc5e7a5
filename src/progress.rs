//! Progress on the terminal: a spinner with elapsed and remaining time while the command
//! runs, a bar while the tree is sampled. Drawn on stderr, only on a terminal, never with
//! `--json` or `--quiet` (the caller decides; a hidden bar draws nothing).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A tracer's name and its call counter.
type TracerLine = Arc<Mutex<Option<(String, Arc<AtomicU64>)>>>;

#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
    enabled: bool,
    /// A bar drawn by elapsed time (the trace window): sample ticks do not move it.
    timed: Arc<AtomicBool>,
    /// The tracer running and its call counter, shown while the command runs.
    tracer: TracerLine,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        let bar = if enabled {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        Progress {
            bar,
            enabled,
            timed: Arc::new(AtomicBool::new(false)),
            tracer: Arc::new(Mutex::new(None)),
        }
    }

    /// A tracer runs under the command (spawn mode `--trace`): say so on the spinner.
    pub fn traced_by(&self, tool: &str, calls: Arc<AtomicU64>) {
        *self.tracer.lock().unwrap_or_else(|e| e.into_inner()) = Some((tool.to_string(), calls));
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
        let tracer = self.tracer.clone();
        let start = Instant::now();
        self.bar.enable_steady_tick(Duration::from_millis(100));
        std::thread::Builder::new()
            .name("gohang-progress".into())
            .spawn(move || {
                while !bar.is_finished() && bar.length().is_none() {
                    let e = start.elapsed();
                    let left = timeout.saturating_sub(e);
                    let traced = tracer
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .as_ref()
                        .map(|(tool, calls)| {
                            format!(" under {tool} ({} calls)", calls.load(Ordering::Relaxed))
                        })
                        .unwrap_or_default();
                    bar.set_message(format!(
                        "`{what}` running {:.1} s{traced}, deadline in {:.1} s",
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
        self.timed.store(false, Ordering::Relaxed);
        if self.enabled {
            self.bar
                .set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap());
            self.bar.set_message(text.to_string());
        }
    }

    /// A bar over the trace window, moved by the clock: "tracing with strace and sampling
    /// 1.2 s of 2.0 s, 340 calls".
    pub fn tracing(&self, tool: &str, window: Duration, calls: Arc<AtomicU64>) {
        self.timed.store(true, Ordering::Relaxed);
        let len = window.as_millis().max(1) as u64;
        self.bar.set_length(len);
        self.bar.set_position(0);
        if !self.enabled {
            return;
        }
        self.bar
            .set_style(ProgressStyle::with_template("{bar:30} {msg}").unwrap());
        let bar = self.bar.clone();
        let tool = tool.to_string();
        let timed = self.timed.clone();
        let start = Instant::now();
        std::thread::Builder::new()
            .name("gohang-progress".into())
            .spawn(move || {
                while !bar.is_finished() && timed.load(Ordering::Relaxed) {
                    let e = start.elapsed();
                    bar.set_position((e.as_millis() as u64).min(len));
                    bar.set_message(format!(
                        "tracing with {tool} and sampling {:.1} s of {:.1} s, {} calls",
                        e.as_secs_f64().min(window.as_secs_f64()),
                        window.as_secs_f64(),
                        calls.load(Ordering::Relaxed)
                    ));
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
            .ok();
    }

    /// A spinner with a message that ticks by itself, for a step with no progress to count.
    pub fn step(&self, text: &str) {
        self.timed.store(false, Ordering::Relaxed);
        if self.enabled {
            self.bar
                .set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap());
            self.bar.set_message(text.to_string());
            self.bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    pub fn sampled(&self) {
        if !self.timed.load(Ordering::Relaxed) {
            self.bar.inc(1);
        }
    }

    /// Run `f` (which writes to the terminal) with the progress line cleared.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
