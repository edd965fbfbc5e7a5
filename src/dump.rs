//! `gohang dump PID`: every goroutine of a running Go program, read from its memory
//! (src/gomem), printed like the runtime's SIGQUIT traceback or as JSON (gohang.dump/1).

use crate::cli::{Cli, DumpArgs};
use crate::error::{UserError, exit};
use crate::gomem::{self, DumpError};

pub fn run(cli: &Cli, args: &DumpArgs) -> Result<u8, UserError> {
    let dump = gomem::dump_pid(args.pid, args.lock).map_err(user_error)?;
    crate::app::emit(cli, args.json, &dump, |w, _color| {
        gomem::model::write_text(w, &dump)
    })?;
    Ok(exit::OK)
}

/// DumpError → exit code (docs/exit-codes.md): 66 no such process, 77 permission, 1 not
/// a Go program or an unknown release, 70 the rest.
pub fn user_error(e: DumpError) -> UserError {
    let code = match &e {
        DumpError::NoSuchProcess(_) => exit::NO_INPUT,
        DumpError::Denied(_) => exit::NO_PERMISSION,
        DumpError::NotGo(_) | DumpError::UnknownRelease(_) | DumpError::Unsupported(_) => {
            exit::DIAGNOSED
        }
        DumpError::Internal(_) => exit::INTERNAL,
    };
    UserError::new(code, e.to_string())
}
