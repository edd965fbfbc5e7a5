//! Process plumbing shared by every command: finding programs, signalling and killing one
//! exact process, reaping, running helpers under a deadline, catching signals, the clock
//! and log files. It talks to the OS and decides nothing about a hang; it imports no
//! command module and nothing of the classifier.

pub mod clock;
pub mod logfile;
pub mod process;
pub mod run;
pub mod runtime;
pub mod signals;

/// Declares the OS backend of a seam (`observe`, `trace`) — the invoking module's `linux`,
/// `macos` or `unsupported` submodule, chosen by `target_os` — as `os`, and re-exports its
/// names. The choice of OS is written here once; each backend has the same names.
macro_rules! os_backend {
    () => {
        #[cfg(target_os = "linux")]
        mod linux;
        #[cfg(target_os = "linux")]
        use linux as os;

        #[cfg(target_os = "macos")]
        mod macos;
        #[cfg(target_os = "macos")]
        use macos as os;

        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        mod unsupported;
        #[cfg(not(any(target_os = "linux", target_os = "macos")))]
        use unsupported as os;

        #[allow(unused_imports)]
        pub use os::*;
    };
}
pub(crate) use os_backend;
