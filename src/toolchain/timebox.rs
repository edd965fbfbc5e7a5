//! Run a piece of I/O with a deadline. A `stat` on a dead NFS server or a FUSE mount that
//! does not answer blocks in the kernel and cannot be interrupted; gohang, a hang
//! investigator, must not hang on it. The work runs on a helper thread; if it misses the
//! deadline it is abandoned (the thread ends with the process) and the caller gets
//! [`TimedOut`] to report.

use std::sync::mpsc;
use std::time::Duration;

/// Deadline for one check's I/O.
pub const CHECK_LIMIT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} did not finish within {} s (a file system that does not answer?)", limit.as_secs_f64())]
pub struct TimedOut {
    pub what: String,
    pub limit: Duration,
}

/// Run `f` on a helper thread and wait at most `limit` for its result.
pub fn run<T, F>(what: &str, limit: Duration, f: F) -> Result<T, TimedOut>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name(format!("gohang-{what}"))
        .spawn(move || {
            let _ = tx.send(f());
        });
    let timed_out = || TimedOut {
        what: what.to_string(),
        limit,
    };
    if spawned.is_err() {
        return Err(timed_out());
    }
    rx.recv_timeout(limit).map_err(|_| timed_out())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_in_time_or_says_it_timed_out() {
        assert_eq!(run("quick", Duration::from_secs(5), || 7), Ok(7));
        let e = run("slow", Duration::from_millis(20), || {
            std::thread::sleep(Duration::from_secs(2));
        })
        .unwrap_err();
        assert_eq!(e.what, "slow");
        assert!(e.to_string().contains("did not finish"));
    }
}
