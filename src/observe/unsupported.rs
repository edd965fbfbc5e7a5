//! Systems without a backend: gohang builds, and says plainly that it cannot observe.

use crate::error::ObserveError;
use crate::evidence::{HostInfo, ProcessSnapshot, Sample};

pub fn host_info() -> HostInfo {
    HostInfo::of_build()
}

/// Without a backend, no process is known to be a zombie.
pub fn is_zombie(_pid: u32) -> bool {
    false
}

pub struct Sampler;

impl Sampler {
    pub fn new(_host: &HostInfo) -> Sampler {
        Sampler
    }
    pub fn tree_pids(&mut self, roots: &[u32]) -> Vec<u32> {
        roots.to_vec()
    }
    pub fn sample(&mut self, _roots: &[u32], _exclude: &[u32], at_ms: u64) -> Sample {
        Sample {
            at_ms,
            processes: Vec::new(),
        }
    }
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
