//! `gohang dump PID`: every goroutine of a running Go program, read from its memory
//! (src/gomem), printed like the runtime's SIGQUIT traceback or as JSON (gohang.dump/1).

use crate::error::{Exit, UserError};
use crate::gomem::{self, DumpError};
use crate::output::{Output, emit};

/// What `gohang dump` was asked.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The Go program's process id.
    pub pid: u32,
    /// One JSON document (gohang.dump/1) on stdout.
    pub json: bool,
    /// Pause the program's threads while reading.
    pub lock: bool,
}

pub fn run(out: &Output, opts: &Options) -> Result<Exit, UserError> {
    let dump = gomem::dump_pid(opts.pid, opts.lock).map_err(user_error)?;
    emit(out, opts.json, &dump, |w, _color| {
        gomem::model::write_text(w, &dump)
    })?;
    Ok(Exit::Ok)
}

/// DumpError → exit code (docs/exit-codes.md): 66 no such process, 77 permission, 1 not
/// a Go program or an unknown release, 70 the rest.
pub fn user_error(e: DumpError) -> UserError {
    let exit = match &e {
        DumpError::NoSuchProcess(_) => Exit::NoInput,
        DumpError::Denied(_) => Exit::NoPermission,
        DumpError::NotGo(_) | DumpError::UnknownRelease(_) | DumpError::Unsupported(_) => {
            Exit::Diagnosed
        }
        DumpError::Internal(_) => Exit::Internal,
    };
    UserError::with(exit, e.to_string())
}
