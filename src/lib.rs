//! gohang: a hang investigator for the Go toolchain.
//!
//! Data flows one way: a target (spawned or attached) is observed by an OS backend
//! (`observe`) into plain `evidence`, which the pure `classify` turns into `verdict`s,
//! which `report` prints. See DESIGN.md.

pub mod app;
pub mod attach;
pub mod binary;
pub mod bundle;
pub mod capture;
pub mod check;
pub mod classify;
pub mod cli;
pub mod darwin;
pub mod dump;
pub mod error;
pub mod evidence;
pub mod gitconfig;
pub mod gitstarted;
pub mod gocontext;
pub mod gomem;
pub mod goroutines;
pub mod gover;
pub mod guard;
pub mod inspect;
pub mod keep;
pub mod observe;
pub mod output;
pub mod progress;
pub mod rebuild;
pub mod redact;
pub mod remote;
pub mod report;
pub mod safeio;
pub mod scan;
pub mod shell;
pub mod sshconfig;
pub mod supervisor;
pub mod sys;
pub mod syscalls;
pub mod terminal;
pub mod toolchain;
pub mod trace;
pub mod verdict;
