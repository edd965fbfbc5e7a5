//! Sampling above the backends: which processes a sample takes (the trees under the roots,
//! without gohang's own), and when the samples of a window are taken. A backend only reads
//! one process and the parent map (`Backend`, `parent_map`).

use super::os::{self, Backend, SampleCtx};
use super::tree::descendants;
use crate::error::ObserveError;
use crate::evidence::{HostInfo, ProcessSnapshot, Sample};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Interval between samples of the tree.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(250);

/// When the samples of a window are taken: one every `interval` from the start of the
/// window to its end, both ends included (one for a zero window). Each sample is stamped
/// with the time since `epoch` (the command's start, or the attach).
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    pub window: Duration,
    pub interval: Duration,
    pub epoch: Instant,
}

impl Schedule {
    /// A window sampled every [`SAMPLE_INTERVAL`].
    pub fn new(window: Duration, epoch: Instant) -> Schedule {
        Schedule {
            window,
            interval: SAMPLE_INTERVAL,
            epoch,
        }
    }

    /// Samples in the window.
    pub fn count(&self) -> u64 {
        (self.window.as_millis() / self.interval.as_millis()) as u64 + 1
    }

    /// Sample 0 taken on its own (attach takes it before a tracer attaches): the spacing
    /// of the samples, and the schedule of the others, which keeps the count and the
    /// spacing of the whole window. None when the window holds one sample.
    pub fn after_first(&self) -> Option<(Duration, Schedule)> {
        let n = self.count();
        if n < 2 {
            return None;
        }
        let step = self.window / (n - 1) as u32;
        Some((
            step,
            Schedule {
                window: self.window - step,
                ..*self
            },
        ))
    }

    /// When sample `i` of `n` is due, from the first one: spread evenly over the window.
    fn offset(&self, i: u64, n: u64) -> Duration {
        self.window.mul_f64(if n > 1 {
            i as f64 / (n - 1) as f64
        } else {
            0.0
        })
    }
}

/// Samples process trees through the OS backend, which keeps per-process facts between
/// samples.
pub struct Sampler {
    os: Backend,
}

impl Sampler {
    /// Cheap: no I/O until the first sample.
    pub fn new(host: &HostInfo) -> Sampler {
        Sampler {
            os: Backend::new(host),
        }
    }

    /// The roots and all their descendants, parents before children.
    pub fn tree_pids(&mut self, roots: &[u32]) -> Vec<u32> {
        descendants(&os::parent_map(), roots)
    }

    /// One sample of the trees under `roots`, leaving out `exclude` (gohang's own helpers)
    /// and their descendants. Processes that vanish mid-sample are skipped.
    pub fn sample(&mut self, roots: &[u32], exclude: &[u32], at_ms: u64) -> Sample {
        let map = os::parent_map();
        let excluded: HashSet<u32> = descendants(&map, exclude).into_iter().collect();
        let mut ctx = SampleCtx::default();
        let mut processes = Vec::new();
        let mut seen = HashSet::new();
        for pid in descendants(&map, roots) {
            if excluded.contains(&pid) || !seen.insert(pid) {
                continue;
            }
            if let Ok(p) = self.os.snapshot_in(pid, &mut ctx) {
                processes.push(p);
            }
        }
        self.os
            .complete(&map, &excluded, &mut seen, &mut processes, &mut ctx);
        let live: HashSet<(u32, u64)> = processes.iter().map(|p| (p.pid, p.start_time)).collect();
        self.os.retain_live(&live);
        Sample { at_ms, processes }
    }

    /// One process, all its threads.
    pub fn snapshot(&mut self, pid: u32) -> Result<ProcessSnapshot, ObserveError> {
        self.os.snapshot(pid)
    }

    /// Sample the trees under `roots` (without `exclude`) on `schedule`, calling `sampled`
    /// after each sample. Stops early when the roots are gone or `cancel` is set.
    pub fn sample_over(
        &mut self,
        roots: &[u32],
        exclude: &[u32],
        schedule: &Schedule,
        cancel: &AtomicBool,
        mut sampled: impl FnMut(),
    ) -> Vec<Sample> {
        let n = schedule.count();
        let begin = Instant::now();
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            let due = begin + schedule.offset(i, n);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let s = self.sample(roots, exclude, schedule.epoch.elapsed().as_millis() as u64);
            sampled();
            let gone = s.processes.is_empty();
            out.push(s);
            if gone {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_sample_alone_keeps_the_schedule_of_the_window() {
        let epoch = Instant::now();
        let mut w = Duration::ZERO;
        while w <= Duration::from_secs(12) {
            let whole = Schedule::new(w, epoch);
            let n = whole.count();
            match whole.after_first() {
                None => assert_eq!(n, 1, "window {w:?}"),
                Some((step, rest)) => {
                    assert_eq!(rest.count() + 1, n, "window {w:?}");
                    assert_eq!(step + rest.window, w);
                    if n > 2 {
                        // sample_over spreads its samples evenly over the rest.
                        let spacing = rest.window / (rest.count() - 1) as u32;
                        assert!(spacing.abs_diff(step) < Duration::from_micros(1), "{w:?}");
                    }
                }
            }
            w += Duration::from_micros(7_919);
        }
        let (step, rest) = Schedule::new(Duration::from_secs(1), epoch)
            .after_first()
            .unwrap();
        assert_eq!(
            (step, rest.window),
            (Duration::from_millis(250), Duration::from_millis(750))
        );
    }
}
