//! The one signal catcher: SIGINT (Ctrl-C), SIGTERM and SIGHUP, remembered, never fatal.
//!
//! While a [`Catcher`] is held, these signals only set a flag; the work in progress polls
//! [`caught`] (a rebuild between "the original is moved aside" and "the original is put
//! back", a helper run by [`crate::sys::run`]) or waits for one ([`Catcher::next`] in async
//! code, [`Catcher::wait_until`] in blocking code) and unwinds in its own way. The handler
//! does nothing but an atomic store (async-signal-safe, `signal-safety(7)`). The previous
//! dispositions come back when the catcher is dropped, and the flag is cleared then: a
//! signal is reported only to the work that caught it. SIGKILL cannot be caught; the
//! commands say what is left behind in that case (the rebuild log starts with the manual
//! restore command).

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// The signals a catcher holds.
pub const CAUGHT: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// How often the waiting helpers look at the flag.
const POLL: Duration = Duration::from_millis(10);

static FIRST: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // The first signal is the one reported; later ones change nothing.
    let _ = FIRST.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
}

/// The first signal received since a [`Catcher`] was installed, while it is held.
pub fn caught() -> Option<Signal> {
    match FIRST.load(Ordering::SeqCst) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// Holds the handlers; restores the previous ones when dropped. One at a time.
pub struct Catcher {
    previous: Vec<(Signal, SigAction)>,
}

impl Catcher {
    /// Catch [`CAUGHT`] from now on, with no signal caught yet.
    pub fn install() -> std::io::Result<Catcher> {
        FIRST.store(0, Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        let mut catcher = Catcher {
            previous: Vec::new(),
        };
        for sig in CAUGHT {
            // SAFETY: the handler only performs an atomic compare-exchange.
            // On an error, dropping `catcher` restores the handlers already replaced.
            let old = unsafe { sigaction(sig, &action) }.map_err(std::io::Error::from)?;
            catcher.previous.push((sig, old));
        }
        Ok(catcher)
    }

    /// The first signal caught since [`Catcher::install`].
    pub fn caught(&self) -> Option<Signal> {
        caught()
    }

    /// Wait (in async code) until a signal is caught, and return it.
    pub async fn next(&self) -> Signal {
        loop {
            if let Some(sig) = caught() {
                return sig;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Wait (blocking) until `done()` or a signal: the signal, if one came first.
    pub fn wait_until(&self, done: impl Fn() -> bool) -> Option<Signal> {
        loop {
            if let Some(sig) = caught() {
                return Some(sig);
            }
            if done() {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Catcher {
    fn drop(&mut self) {
        for (sig, old) in self.previous.drain(..) {
            // SAFETY: restoring the disposition that was in place before install().
            let _ = unsafe { sigaction(sig, &old) };
        }
        FIRST.store(0, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signals are process-wide, and the other tests of this binary run helpers that stop
    /// on a caught signal: the catching is tried in a child, this test binary run again.
    const CHILD: &str = "GOHANG_TEST_SIGNALS_CHILD";

    #[test]
    fn a_caught_signal_is_remembered_and_the_old_disposition_restored() {
        if std::env::var_os(CHILD).is_some() {
            return in_child();
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sys::signals::tests::a_caught_signal_is_remembered_and_the_old_disposition_restored",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{:?}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }

    fn in_child() {
        // A known disposition to come back to: the test may run under nohup (SIGHUP ignored).
        let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        // SAFETY: SIG_DFL has no handler code.
        unsafe { sigaction(Signal::SIGHUP, &dfl) }.unwrap();
        let catcher = Catcher::install().unwrap();
        assert_eq!(catcher.caught(), None);
        nix::sys::signal::raise(Signal::SIGTERM).unwrap();
        nix::sys::signal::raise(Signal::SIGINT).unwrap();
        // The first one is reported.
        assert_eq!(catcher.caught(), Some(Signal::SIGTERM));
        assert_eq!(catcher.wait_until(|| false), Some(Signal::SIGTERM));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(catcher.next()), Signal::SIGTERM);
        drop(catcher);
        assert_eq!(caught(), None);
        // SIGHUP is back to its default: ignore it for a moment to see that it was.
        let ign = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        // SAFETY: SIG_IGN has no handler code.
        let old = unsafe { sigaction(Signal::SIGHUP, &ign) }.unwrap();
        assert!(matches!(old.handler(), SigHandler::SigDfl));
    }
}
