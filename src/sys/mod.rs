//! Process plumbing shared by the commands: running helpers, catching signals, the clock
//! and log files. Nothing here imports a command.

pub mod clock;
pub mod logfile;
pub mod run;
pub mod runtime;
pub mod signals;
