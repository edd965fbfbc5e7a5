//! `gohang bundle`: one `.tar.gz` for a bug report about a hanging `go`.

pub mod archive;
pub mod gorun;
pub mod host;
