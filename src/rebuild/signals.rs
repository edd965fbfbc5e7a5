//! Ctrl-C, SIGTERM and SIGHUP during a rebuild: remembered, never fatal.
//!
//! A rebuild must not die between "the original is moved aside" and "the original is put
//! back". So while it runs, these signals only set a flag; every long step polls
//! [`caught`] and unwinds into the rollback. The handler does nothing but an atomic store
//! (async-signal-safe, `signal-safety(7)`). The previous dispositions come back on drop.
//! SIGKILL cannot be caught: for that case the log starts with the manual restore command.

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::sync::atomic::{AtomicI32, Ordering};

static CAUGHT: AtomicI32 = AtomicI32::new(0);

const WATCHED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

extern "C" fn on_signal(sig: libc::c_int) {
    // The first signal is the one reported; later ones change nothing.
    let _ = CAUGHT.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
}

/// The first watched signal received since [`SignalGuard::install`], if any.
pub fn caught() -> Option<Signal> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => None,
        n => Signal::try_from(n).ok(),
    }
}

/// Holds the handlers; restores the previous ones when dropped.
pub struct SignalGuard {
    previous: Vec<(Signal, SigAction)>,
}

impl SignalGuard {
    pub fn install() -> nix::Result<SignalGuard> {
        CAUGHT.store(0, Ordering::SeqCst);
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        let mut previous = Vec::new();
        for sig in WATCHED {
            // SAFETY: the handler only performs an atomic compare-exchange.
            let old = unsafe { sigaction(sig, &action) }?;
            previous.push((sig, old));
        }
        Ok(SignalGuard { previous })
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        for (sig, old) in self.previous.drain(..) {
            // SAFETY: restoring the disposition that was in place before install().
            let _ = unsafe { sigaction(sig, &old) };
        }
    }
}
