//! A read-only view of the sampled process tree that the rules share: each process's
//! history across samples (matched by pid and start time, so a reused pid is a new
//! process), its depth below the root, and CPU deltas over the window.

use crate::evidence::{Evidence, ProcessSnapshot, RunState, ThreadSample};
use std::collections::HashMap;

pub(crate) struct ProcView<'a> {
    /// The newest snapshot of this process.
    pub last: &'a ProcessSnapshot,
    /// Every snapshot of this same process, oldest first (includes `last`).
    pub history: Vec<(u64, &'a ProcessSnapshot)>,
    /// 0 for the root; 1 for its children …; orphans found elsewhere get 1.
    pub depth: usize,
}

impl<'a> ProcView<'a> {
    pub fn pid(&self) -> u32 {
        self.last.pid
    }

    /// Milliseconds between the first and the last sample this process was seen in.
    pub fn span_ms(&self) -> u64 {
        match (self.history.first(), self.history.last()) {
            (Some((a, _)), Some((b, _))) => b.saturating_sub(*a),
            _ => 0,
        }
    }

    /// CPU time used over the span, in milliseconds.
    pub fn cpu_delta_ms(&self) -> u64 {
        let first = self.history.first().map(|(_, p)| p.cpu_ms).unwrap_or(0);
        self.last.cpu_ms.saturating_sub(first)
    }

    /// CPU used per wall-clock time over the span (1.0 = one core busy).
    pub fn cpu_share(&self) -> Option<f64> {
        let span = self.span_ms();
        (span > 0).then(|| self.cpu_delta_ms() as f64 / span as f64)
    }

    /// Per-thread CPU deltas over the span, busiest first: (thread, delta_ms).
    pub fn thread_deltas(&self) -> Vec<(&'a ThreadSample, u64)> {
        let first: HashMap<u32, u64> = self
            .history
            .first()
            .map(|(_, p)| p.threads.iter().map(|t| (t.tid, t.cpu_ms())).collect())
            .unwrap_or_default();
        let mut v: Vec<(&ThreadSample, u64)> = self
            .last
            .threads
            .iter()
            .map(|t| {
                let d = first
                    .get(&t.tid)
                    .map(|f| t.cpu_ms().saturating_sub(*f))
                    .unwrap_or(0);
                (t, d)
            })
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.tid.cmp(&b.0.tid)));
        v
    }

    /// The busiest thread's demand for a CPU over the span: its CPU time plus its time
    /// runnable but waiting for a CPU (`run_delay_ms`), per wall-clock time, with its tid.
    /// A thread that never sleeps is near 1.0 however loaded the machine is; None where the
    /// wait is not known (macOS, a single snapshot, a thread born during the window).
    pub fn busiest_demand(&self) -> Option<(u32, f64)> {
        let span = self.span_ms();
        let (_, first) = self.history.first()?;
        if span == 0 {
            return None;
        }
        let before: HashMap<u32, (u64, u64)> = first
            .threads
            .iter()
            .filter_map(|t| Some((t.tid, (t.cpu_ms(), t.run_delay_ms?))))
            .collect();
        self.last
            .threads
            .iter()
            .filter_map(|t| {
                let (cpu0, wait0) = before.get(&t.tid)?;
                let used = t.cpu_ms().saturating_sub(*cpu0);
                let waited = t.run_delay_ms?.saturating_sub(*wait0);
                Some((t.tid, (used + waited) as f64 / span as f64))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }

    /// The states of all threads in one snapshot (the process state when no threads were read).
    pub fn states_of(p: &ProcessSnapshot) -> Vec<RunState> {
        if p.threads.is_empty() {
            vec![p.state]
        } else {
            p.threads.iter().map(|t| t.state).collect()
        }
    }

    /// In how many snapshots every thread was in one of `states`.
    pub fn samples_where_all(&self, states: &[RunState]) -> usize {
        self.history
            .iter()
            .filter(|(_, p)| Self::states_of(p).iter().all(|s| states.contains(s)))
            .count()
    }

    /// In how many snapshots at least one thread was in `state`.
    pub fn samples_where_any(&self, state: RunState) -> usize {
        self.history
            .iter()
            .filter(|(_, p)| Self::states_of(p).contains(&state))
            .count()
    }

    pub fn samples(&self) -> usize {
        self.history.len()
    }

    /// "pid 123 (go)".
    pub fn label(&self) -> String {
        format!("pid {} ({})", self.last.pid, self.last.display_name())
    }
}

pub(crate) struct Tree<'a> {
    pub ev: &'a Evidence,
    /// Processes of the newest sample, in the order they appear there; gohang's own
    /// helpers (`own_pids`) left out.
    pub procs: Vec<ProcView<'a>>,
    pub root: Option<u32>,
}

impl<'a> Tree<'a> {
    pub fn new(ev: &'a Evidence) -> Tree<'a> {
        let root = ev.target.pid;
        let Some(last) = ev.samples.last() else {
            return Tree {
                ev,
                procs: Vec::new(),
                root,
            };
        };
        let parents: HashMap<u32, u32> = last.processes.iter().map(|p| (p.pid, p.ppid)).collect();
        let depth_of = |pid: u32| -> usize {
            let mut d = 0;
            let mut cur = pid;
            while Some(cur) != root {
                match parents.get(&cur) {
                    Some(pp) if d < 64 => {
                        cur = *pp;
                        d += 1;
                    }
                    _ => return 1,
                }
            }
            d
        };
        let procs = last
            .processes
            .iter()
            .filter(|p| !ev.own_pids.contains(&p.pid))
            .map(|p| {
                let history = ev
                    .samples
                    .iter()
                    .filter_map(|s| {
                        s.processes
                            .iter()
                            .find(|q| q.pid == p.pid && q.start_time == p.start_time)
                            .map(|q| (s.at_ms, q))
                    })
                    .collect();
                ProcView {
                    last: p,
                    history,
                    depth: depth_of(p.pid),
                }
            })
            .collect();
        Tree { ev, procs, root }
    }

    pub fn get(&self, pid: u32) -> Option<&ProcView<'a>> {
        self.procs.iter().find(|p| p.pid() == pid)
    }

    /// Pids from the root down to `pid`, following parent links of the newest sample.
    pub fn chain_to(&self, pid: u32) -> Vec<u32> {
        let mut chain = vec![pid];
        let mut cur = pid;
        while Some(cur) != self.root {
            let Some(p) = self.get(cur) else { break };
            if self.get(p.last.ppid).is_none() || chain.len() > 64 {
                break;
            }
            cur = p.last.ppid;
            chain.push(cur);
        }
        chain.reverse();
        chain
    }
}

impl<'a> Tree<'a> {
    /// Live children of `pid` in the newest sample (zombies left out).
    pub fn children_of(&self, pid: u32) -> Vec<&ProcView<'a>> {
        self.procs
            .iter()
            .filter(|p| p.last.ppid == pid && p.pid() != pid)
            .filter(|p| !matches!(p.last.state, RunState::Zombie | RunState::Dead))
            .collect()
    }

    /// The name of the syscall a thread sits in, resolving numbers the observer did not
    /// name (/proc shows host numbers, also for emulated processes).
    pub fn syscall_of<'t>(&self, t: &'t ThreadSample) -> Option<(String, &'t [u64; 6])> {
        match t.syscall.value()? {
            crate::evidence::SyscallState::InSyscall { nr, name, args } => {
                let name = name.clone().or_else(|| {
                    crate::syscalls::name(&self.ev.host.arch, *nr).map(str::to_string)
                })?;
                Some((name, args))
            }
            _ => None,
        }
    }
}
