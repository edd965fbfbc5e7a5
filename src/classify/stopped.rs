//! Processes that cannot run at all: a frozen cgroup, a signal stop, a job-control stop,
//! a tracer's hold.
//!
//! Signals read (see LINUX.md and `proc(5)`):
//! - `T` in every thread over the window: a signal stop. SIGSTOP, SIGTSTP, SIGTTIN and
//!   SIGTTOU all leave the same state behind (wchan `do_signal_stop`); a job-control stop is
//!   told by the terminal: the process has one and is not in its foreground group
//!   (`tpgid` ≠ `pgrp`; on macOS `e_tpgid` ≠ `pbi_pgid`).
//! - `t` with `TracerPid` ≠ 0 (macOS `P_TRACED`): a ptrace stop.
//! - cgroup v1 `freezer.state` FROZEN (tasks show `D` in `__refrigerator`) or v2
//!   `cgroup.events` `frozen 1` (tasks show plain `S`): only the cgroup tells these apart
//!   from an I/O wait or an idle sleep, so this rule runs first.

use super::{Findings, secs, tree::Tree};
use crate::classify::remedy;
use crate::evidence::{CgroupVersion, RunState};
use crate::verdict::{Confidence, Verdict, VerdictKind};

pub(super) fn rules(tree: &Tree, f: &mut Findings) {
    for p in &tree.procs {
        let last = p.last;

        if let Some(cg) = last.cgroup.value().filter(|c| c.frozen) {
            let threads_d = last
                .threads
                .iter()
                .filter(|t| t.state == RunState::DiskSleep)
                .count();
            let refrigerator = last.threads.iter().any(|t| {
                t.wchan
                    .as_deref()
                    .is_some_and(|w| w.contains("refrigerator"))
            });
            let version = match cg.version {
                CgroupVersion::V1 => "v1 freezer",
                CgroupVersion::V2 => "v2",
            };
            let mut v = Verdict::new(
                VerdictKind::Frozen,
                Confidence::High,
                Some(last.pid),
                format!(
                    "{} is in a frozen cgroup ({}): nothing in it can run until it is thawed",
                    p.label(),
                    cg.path
                ),
            )
            .fact(format!(
                "cgroup {version} {}: {}",
                cg.path,
                cg.state.as_deref().unwrap_or("frozen")
            ));
            if let Some(file) = &cg.state_file {
                v = v.fact(format!("read from {file}"));
            }
            if let Some(by) = cg.frozen_by.as_ref().filter(|b| b.path != cg.path) {
                v = v.fact(format!(
                    "frozen by its ancestor {}, the cgroup whose own freeze is set ({}); a cgroup \
                     stays frozen while any ancestor is",
                    by.path, by.control_file
                ));
            }
            if threads_d > 0 {
                v = v.fact(format!(
                    "{threads_d}/{} threads in uninterruptible sleep{}",
                    last.threads.len(),
                    if refrigerator {
                        " in __refrigerator"
                    } else {
                        ""
                    }
                ));
            }
            // v1 tasks sleep in __refrigerator and act on SIGKILL only once thawed; v2 lets
            // fatal signals through (cgroup-v2.rst, "cgroup.freeze").
            v = v.fact(match cg.version {
                CgroupVersion::V1 => {
                    "a task in a frozen v1 cgroup ignores even SIGKILL until thawed".to_string()
                }
                CgroupVersion::V2 => {
                    "SIGKILL still ends a task in a frozen v2 cgroup; nothing else runs".to_string()
                }
            });
            f.add(
                v.remedy(remedy::thaw(cg)),
                p.depth,
                format!("{}: cgroup {} frozen", p.label(), cg.path),
            );
            continue;
        }

        let n = p.samples();
        // Under gohang's own tracer (`--trace`) a signal stop shows as `t`: ptrace(2)
        // reports a group-stop of a tracee as a tracing stop until the tracer lets go.
        let ours = last
            .tracer_pid
            .is_some_and(|t| tree.ev.own_pids.contains(&t));
        let stop_states: &[RunState] = if ours {
            &[RunState::Stopped, RunState::TracingStop]
        } else {
            &[RunState::Stopped]
        };
        let stopped_in = p.samples_where_all(stop_states);
        let traced_in = p.samples_where_any(RunState::TracingStop);
        let tracer = last.tracer_pid.filter(|t| !tree.ev.own_pids.contains(t));

        if let Some(tracer_pid) = tracer {
            if traced_in > 0 || stopped_in == n {
                let conf = if traced_in == n && n >= 2 {
                    Confidence::High
                } else {
                    Confidence::Medium
                };
                let tracer_name = last
                    .tracer_comm
                    .clone()
                    .or_else(|| tree.get(tracer_pid).map(|t| t.last.comm.clone()));
                let v = Verdict::new(
                    VerdictKind::Traced,
                    conf,
                    Some(last.pid),
                    format!(
                        "{} is held by a debugger or tracer (pid {tracer_pid}{})",
                        p.label(),
                        tracer_name
                            .as_deref()
                            .map(|c| format!(", {c}"))
                            .unwrap_or_default()
                    ),
                )
                .fact(format!("TracerPid {tracer_pid}"))
                .fact(format!("in tracing stop in {traced_in}/{n} samples"))
                .remedy(remedy::traced(tracer_pid, tracer_name.as_deref()));
                f.add(
                    v,
                    p.depth,
                    format!(
                        "{}: tracer {tracer_pid}, tracing stop {traced_in}/{n}",
                        p.label()
                    ),
                );
                continue;
            }
            f.note(format!(
                "{}: traced by {tracer_pid} but running; not the cause",
                p.label()
            ));
        }

        if n == 0 || stopped_in < n {
            continue;
        }
        let conf = if n >= 2 && p.span_ms() >= 200 {
            Confidence::High
        } else {
            Confidence::Medium
        };
        let threads = last.threads.len().max(1);
        let wchan = last
            .threads
            .iter()
            .find_map(|t| t.wchan.clone())
            .map(|w| format!(", wchan {w}"))
            .unwrap_or_default();
        let state_fact = format!(
            "state T (stopped) in {stopped_in}/{n} samples over {}, in {threads}/{threads} threads{wchan}{}",
            secs(p.span_ms()),
            if ours && traced_in > 0 {
                " (shown as t, tracing stop, while gohang's tracer was attached)"
            } else {
                ""
            }
        );
        let cpu_fact = format!("CPU time used over the window: {} ms", p.cpu_delta_ms());

        let background_of_tty = last
            .tty
            .as_ref()
            .and_then(|t| t.foreground_pgrp.map(|fg| (t, fg)))
            .filter(|(_, fg)| *fg != last.pgrp && *fg > 0);
        if let Some((tty, fg)) = background_of_tty {
            let name = tty
                .name
                .clone()
                .unwrap_or_else(|| format!("tty {}", tty.dev));
            let v = Verdict::new(
                VerdictKind::TtyStopped,
                conf,
                Some(last.pid),
                format!(
                    "{} was stopped by its terminal (SIGTTIN or SIGTTOU): it is in background process group {} of {name} and touched the terminal",
                    p.label(),
                    last.pgrp
                ),
            )
            .fact(state_fact)
            .fact(format!("controlling terminal {name}, foreground process group {fg}, its own group {}", last.pgrp))
            .fact(cpu_fact)
            .remedy(remedy::tty_stopped(last.pgrp));
            f.add(
                v,
                p.depth,
                format!("{}: stopped, background group of {name}", p.label()),
            );
        } else {
            let whole_group = tree
                .procs
                .iter()
                .filter(|q| q.last.pgrp == last.pgrp)
                .all(|q| q.samples_where_all(stop_states) == q.samples());
            let v = Verdict::new(
                VerdictKind::Stopped,
                conf,
                Some(last.pid),
                format!(
                    "{} is stopped by a signal (SIGSTOP, SIGTSTP or similar) and did not run during the window",
                    p.label()
                ),
            )
            .fact(state_fact)
            .fact(cpu_fact)
            .remedy(remedy::resume(last.pid, whole_group.then_some(last.pgrp)));
            f.add(
                v,
                p.depth,
                format!("{}: all threads T in {stopped_in}/{n} samples", p.label()),
            );
        }
    }
}
