//! Systems without a backend: gohang builds, and says plainly that it cannot observe.

use crate::error::ObserveError;
use super::tree::ParentMap;
use crate::evidence::{HostInfo, ProcessSnapshot};
use std::collections::{HashMap, HashSet};

pub fn host_info() -> HostInfo {
    HostInfo::of_build()
}

/// Without a backend, no process is known to be a zombie.
pub fn is_zombie(_pid: u32) -> bool {
    false
}

/// No process table to read: every tree is its roots alone.
pub fn parent_map() -> ParentMap {
    ParentMap::Table(HashMap::new())
}

#[derive(Default)]
pub struct SampleCtx;

pub struct Backend;

impl Backend {
    pub fn new(_host: &HostInfo) -> Backend {
        Backend
    }
    pub fn snapshot_in(
        &mut self,
        pid: u32,
        _ctx: &mut SampleCtx,
    ) -> Result<ProcessSnapshot, ObserveError> {
        self.snapshot(pid)
    }
    pub fn complete(
        &mut self,
        _children: &ParentMap,
        _excluded: &HashSet<u32>,
        _seen: &mut HashSet<u32>,
        _processes: &mut Vec<ProcessSnapshot>,
        _ctx: &mut SampleCtx,
    ) {
    }
    pub fn retain_live(&mut self, _live: &HashSet<(u32, u64)>) {}
    pub fn snapshot(&mut self, _pid: u32) -> Result<ProcessSnapshot, ObserveError> {
        Err(ObserveError::Unsupported(format!(
            "gohang cannot observe processes on {}",
            std::env::consts::OS
        )))
    }
}

pub fn raw_environ(_pid: u32) -> Option<Vec<u8>> {
    None
}
