//! The async runtime the probe runs on: one thread, with timers and I/O (the supervisor
//! waits on the child, the clock and signals at once).

use crate::error::UserError;

pub fn runtime() -> Result<tokio::runtime::Runtime, UserError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| UserError::internal(format!("starting the runtime: {e}")))
}
