//! Slow is not stuck: one notion of progress that every wait rule asks before it calls a
//! process waiting, idle or waited for.
//!
//! A process asleep at every sample may still be moving bytes between samples. Each of
//! these counters, compared across the samples of the same process, says so:
//! - a regular file it has open for writing grows (`written_files`): the go command
//!   downloads a module zip into `GOMODCACHE/cache/download/<module>/@v/<version>.zip<N>.tmp`
//!   (`cmd/go/internal/modfetch/fetch.go`, `downloadZip`, through `tempFile` of cache.go)
//!   and writes objects into GOCACHE;
//! - a TCP connection's received bytes grow (`tcp_info.tcpi_bytes_received`);
//! - the process's `/proc/PID/io` `rchar` (bytes returned by read(2) and friends, pipes and
//!   sockets included) or `read_bytes` (bytes fetched from storage) grows (proc(5)).
//!
//! What grew, by how much, since which sample and at what rate is a [`Progress`]; the most
//! specific counter comes first (a named file, then a connection, then the process's
//! totals).

use super::{secs, tree::ProcView, tree::Tree};
use crate::evidence::{Mode, ProcessSnapshot};
use crate::verdict::{Confidence, Verdict, VerdictKind};

/// Which counter grew.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Grew {
    /// A file open for writing, by its descriptor and path.
    File { fd: i32, path: String },
    /// A TCP connection's received bytes.
    Socket { fd: i32, remote: String },
    /// `/proc/PID/io` `rchar`.
    Read,
    /// `/proc/PID/io` `read_bytes`.
    Storage,
}

/// One counter that grew over the window.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Progress {
    pub grew: Grew,
    /// Bytes it grew by, from the sample before its first growth to the last sample.
    pub bytes: u64,
    /// Its value at `since_ms`, before it grew (a file's size, the bytes read so far).
    pub base: u64,
    /// The sample (ms, the evidence's clock) before its first growth: progressing since then.
    pub since_ms: u64,
    /// It rose already between the first two samples it was seen in: it may have been
    /// rising before sampling began, so `since_ms` is the latest start, not the start.
    pub from_first: bool,
    /// The last sample.
    pub until_ms: u64,
}

impl Progress {
    /// Bytes per second over the time it was seen growing.
    pub fn rate(&self) -> f64 {
        self.bytes as f64 * 1000.0 / self.until_ms.saturating_sub(self.since_ms).max(1) as f64
    }

    pub fn rate_text(&self) -> String {
        super::waits::rate_text(self.rate())
    }

    /// Where a grown file lies: the module cache's download area, the build cache, or None.
    pub fn area(&self, p: &ProcessSnapshot) -> Option<&'static str> {
        let Grew::File { path, .. } = &self.grew else {
            return None;
        };
        let under = |var: &str| {
            p.env
                .get(var)
                .filter(|d| d.starts_with('/'))
                .is_some_and(|d| path.starts_with(&format!("{}/", d.trim_end_matches('/'))))
        };
        if path.contains("/cache/download/") && (under("GOMODCACHE") || path.contains("/pkg/mod/"))
        {
            Some("GOMODCACHE/cache/download")
        } else if under("GOMODCACHE") {
            Some("GOMODCACHE")
        } else if under("GOCACHE") || path.contains("/go-build/") {
            Some("GOCACHE")
        } else {
            None
        }
    }

    /// "the file F (fd 9, in the module cache …)", "its connection fd 7 to R", "its reads".
    pub fn what(&self, p: &ProcessSnapshot) -> String {
        match &self.grew {
            Grew::File { fd, path } => format!(
                "the file {path} (fd {fd}{})",
                self.area(p)
                    .map(|a| format!(", in {a}"))
                    .unwrap_or_default()
            ),
            Grew::Socket { fd, remote } => format!("its connection fd {fd} to {remote}"),
            Grew::Read => "the bytes it reads".to_string(),
            Grew::Storage => "the bytes it reads from storage".to_string(),
        }
    }

    /// The counter, as the evidence names it.
    pub fn counter(&self, pid: u32) -> String {
        match &self.grew {
            Grew::File { .. } => "its size".to_string(),
            Grew::Socket { .. } => "tcp_info bytes_received".to_string(),
            Grew::Read => format!("/proc/{pid}/io rchar"),
            Grew::Storage => format!("/proc/{pid}/io read_bytes"),
        }
    }

    /// Since when, on the evidence's clock: after the command started (probe), or into the
    /// sampling window (attach).
    pub fn since(&self, tree: &Tree) -> String {
        let at = match tree.ev.target.mode {
            Mode::Spawn => format!("{} after the command started", secs(self.since_ms)),
            Mode::Attach => format!("{} into the sampling", secs(self.since_ms)),
        };
        if self.from_first {
            format!("since the first sample ({at}) or earlier")
        } else {
            format!("since {at}")
        }
    }

    /// One evidence line: what grew, by how much, from when, at what rate.
    pub fn fact(&self, tree: &Tree, p: &ProcessSnapshot) -> String {
        format!(
            "{} grew: {} rose by {} bytes (from {} to {}) over {} ({}), {}",
            self.what(p),
            self.counter(p.pid),
            self.bytes,
            self.base,
            self.base + self.bytes,
            secs(self.until_ms.saturating_sub(self.since_ms)),
            self.rate_text(),
            self.since(tree)
        )
    }
}

/// The growth of a series of `(at_ms, value)`, oldest first: the bytes from the sample
/// before the first rise to the last sample, with those two times. None when it never rose.
fn growth(series: &[(u64, u64)]) -> Option<(u64, u64, u64, u64, bool)> {
    let start = series.windows(2).position(|w| w[1].1 > w[0].1)?;
    let (since, base) = series[start];
    let (until, last) = *series.last()?;
    (last > base).then_some((last - base, base, since, until, start == 0))
}

fn progress(grew: Grew, series: &[(u64, u64)]) -> Option<Progress> {
    let (bytes, base, since_ms, until_ms, from_first) = growth(series)?;
    Some(Progress {
        grew,
        bytes,
        base,
        since_ms,
        from_first,
        until_ms,
    })
}

/// Every counter of `p` that grew over the window, most specific first: the files it
/// writes (those in the module or build cache first), its connections, then its reads.
pub(crate) fn of(p: &ProcView) -> Vec<Progress> {
    let mut out = Vec::new();
    let h = &p.history;
    let mut files: Vec<Progress> = p
        .last
        .written_files
        .iter()
        .filter_map(|f| {
            let series: Vec<(u64, u64)> = h
                .iter()
                .filter_map(|(at, s)| {
                    s.written_files
                        .iter()
                        .find(|o| o.fd == f.fd && o.path == f.path)
                        .map(|o| (*at, o.size))
                })
                .collect();
            progress(
                Grew::File {
                    fd: f.fd,
                    path: f.path.clone(),
                },
                &series,
            )
        })
        .collect();
    files.sort_by_key(|g| g.area(p.last).is_none());
    out.extend(files);
    for s in p.last.sockets.iter().filter(|s| s.proto == "tcp") {
        let Some(remote) = s.remote.clone() else {
            continue;
        };
        let series: Vec<(u64, u64)> = h
            .iter()
            .filter_map(|(at, q)| {
                q.sockets
                    .iter()
                    .find(|o| o.fd == s.fd && o.remote == s.remote)
                    .and_then(|o| o.bytes_received)
                    .map(|b| (*at, b))
            })
            .collect();
        out.extend(progress(Grew::Socket { fd: s.fd, remote }, &series));
    }
    let io: Vec<(u64, crate::evidence::IoCounters)> =
        h.iter().filter_map(|(at, q)| Some((*at, q.io?))).collect();
    let rchar: Vec<(u64, u64)> = io.iter().map(|(at, c)| (*at, c.rchar)).collect();
    out.extend(progress(Grew::Read, &rchar));
    let disk: Vec<(u64, u64)> = io
        .iter()
        .filter_map(|(at, c)| Some((*at, c.read_bytes?)))
        .collect();
    out.extend(progress(Grew::Storage, &disk));
    out
}

/// The `progressing` verdict for `p`: `head` says what it looked like (asleep in a read,
/// connected to a peer), the first progress says why it is not stuck; every other counter
/// that grew joins the evidence.
pub(crate) fn verdict(tree: &Tree, p: &ProcView, all: &[Progress], head: &str) -> Option<Verdict> {
    let first = all.first()?;
    let confidence = match first.grew {
        Grew::File { .. } | Grew::Socket { .. } => Confidence::Medium,
        Grew::Read | Grew::Storage => Confidence::Low,
    };
    let v = Verdict::new(
        VerdictKind::Progressing,
        confidence,
        Some(p.pid()),
        format!(
            "{head}: {} grew by {} bytes in {} ({}), {}: it makes progress, nothing is stuck",
            first.what(p.last),
            first.bytes,
            secs(first.until_ms.saturating_sub(first.since_ms)),
            first.rate_text(),
            first.since(tree)
        ),
    );
    Some(all.iter().fold(v, |v, g| v.fact(g.fact(tree, p.last))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_starts_at_the_sample_before_the_first_rise() {
        assert_eq!(
            growth(&[(0, 5), (250, 5), (500, 9), (750, 20)]),
            Some((15, 5, 250, 750, false))
        );
        assert_eq!(growth(&[(0, 5), (250, 5)]), None);
        assert_eq!(growth(&[(0, 5)]), None);
        assert_eq!(growth(&[]), None);
        // A counter that went down (a reused descriptor) and back up: from the rise only.
        assert_eq!(
            growth(&[(0, 9), (250, 1), (500, 3)]),
            Some((2, 1, 250, 500, false))
        );
        assert_eq!(growth(&[(0, 1), (250, 3)]), Some((2, 1, 0, 250, true)));
    }

    #[test]
    fn rates_are_over_the_time_it_grew() {
        let p = Progress {
            grew: Grew::Read,
            bytes: 2048,
            base: 0,
            since_ms: 500,
            from_first: false,
            until_ms: 1500,
        };
        assert_eq!(p.rate_text(), "2.0 KiB/s");
    }
}
